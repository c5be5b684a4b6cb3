#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Generates the Rust declarations of abstractions/c_abi.h (see there) with the C flags
# the kernel's own bindings were generated with, read from the kernel build's record of
# that command (rust/bindings/.bindings_generated.rs.cmd), so that bindgen sees the
# headers exactly as the kernel's bindings did (same config, same compiler flags).
#
# Usage: c-abi-bindgen.sh BINDGEN KERNEL_OBJTREE HEADER OUTPUT (Kbuild runs it).
set -eu
bindgen=$1 objtree=$(realpath "$2") header=$(realpath "$3") out=$(realpath -m "$4")
record=$objtree/rust/bindings/.bindings_generated.rs.cmd
[ -r "$record" ] || { echo "c-abi-bindgen: no $record (a kernel built with Rust?)" >&2; exit 1; }
# The recorded command is 'bindgen HEADER OPTIONS -o FILE -- CFLAGS ; sed ...': keep
# CFLAGS, without the dependency-file option.
cflags=$(sed -n 's/^savedcmd_rust\/bindings\/bindings_generated\.rs := .* -- \(.*\)$/\1/p' "$record" \
	| sed 's/ ; .*$//; s/-Wp,-MMD,[^ ]*//')
[ -n "$cflags" ] || { echo "c-abi-bindgen: no C flags in $record" >&2; exit 1; }
# A kernel built with clang gets that clang's flags, which an older libclang refuses:
# parse with the library of the kernel's clang, as the kernel's own bindgen run did
# (scripts/build-kernel.sh).
clang_version=$(sed -n 's/^CONFIG_CLANG_VERSION=//p' "$objtree/include/config/auto.conf")
if [ "${clang_version:-0}" -gt 0 ] && [ -d "/usr/lib/llvm-$((clang_version / 10000))/lib" ]; then
	export LIBCLANG_PATH=/usr/lib/llvm-$((clang_version / 10000))/lib
fi
# The recorded flags name some include directories relative to the kernel's objtree.
cd "$objtree"
# Only the items named here; the types they mention that the kernel's bindings have
# (struct device, struct attribute_group) are taken from there by the including module.
eval "\"$bindgen\" \"$header\" --use-core --ctypes-prefix ffi --no-layout-tests \
	--no-doc-comments --no-recursive-allowlist --rust-target 1.85 \
	--allowlist-type 'hwmon_(ops|channel_info|chip_info|sensor_types|temp_attributes)' \
	--allowlist-type 'umode_t|blk_features_t' \
	--allowlist-function 'hwmon_device_(register_with_info|unregister)' \
	--allowlist-var 'RUST_NVME_.*' \
	-o \"$out.tmp\" -- $cflags"
mv "$out.tmp" "$out"
