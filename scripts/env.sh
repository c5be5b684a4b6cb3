# Shared settings for rust_nvme's scripts; sourced, not run. All can be overridden.
RN_TOP=${RN_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# Build outputs live outside the tracked files (ignored by .gitignore).
RN_CACHE=${RN_CACHE:-$RN_TOP/build}
TOOLS_DIR=${TOOLS_DIR:-$RN_CACHE/tools}
KSRC=${KSRC:-$RN_CACHE/linux-src}
RUSTC=${RUSTC:-/usr/bin/rustc}
RUSTDOC=${RUSTDOC:-/usr/bin/rustdoc}
BINDGEN_VERSION=0.72.1
BINDGEN=${BINDGEN:-$TOOLS_DIR/bin/bindgen}
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}
# The LLVM major version rustc is built with: the clang of an LLVM=1 kernel (the
# release-llvm flavour) must match it for the C helpers to be inlined into Rust.
# (Empty before rustc is installed; never fails, for scripts under `set -e`.)
RN_LLVM_MAJOR=${RN_LLVM_MAJOR:-$({ "$RUSTC" -vV 2>/dev/null || true; } | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')}
