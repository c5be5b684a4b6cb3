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
