#!/usr/bin/env bash
# Build the guest kernel (bzImage + the C baseline modules) once per kernel source version
# and config fragment. Prints the build directory on its last line of stdout.
#   FLAVOUR=debug (default): scripts/guest.config, with lockdep, DMA-API debug, KFENCE, KUnit.
#   FLAVOUR=release: the same fragment without the debug options (for `make bench`).
#   FLAVOUR=release-llvm: release built with LLVM=1 (clang, lld and llvm of rustc's own
#     LLVM major version, RN_LLVM_MAJOR in env.sh: Debian's clang-N, lld-N, llvm-N) and the
#     C helpers inlined into Rust (RUST_INLINE_HELPERS, which needs that match);
#     `make bench BENCH_ARGS=--llvm`.
# Modules must be built with the kernel's make flags: KDIR/.rust-nvme-make-flags holds them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
FLAVOUR=${FLAVOUR:-debug}

frag=$(mktemp); trap 'rm -f "$frag"' EXIT
make_flags=()
case "$FLAVOUR" in
debug)   cp "$here/guest.config" "$frag" ;;
release|release-llvm) grep -vE '^CONFIG_(DEBUG_|PROVE_LOCKING|DMA_API_DEBUG|KFENCE|RUST_DEBUG_ASSERTIONS|FAULT_INJECTION|FAIL_IO_TIMEOUT|KUNIT)' \
		"$here/guest.config" > "$frag"
	# null_blk (the benchmark's block-layer ceiling) needs configfs. tinyconfig builds
	# with -Os (CC_OPTIMIZE_FOR_SIZE, which gives rustc opt-level=s) and the slab
	# allocator without per-CPU caches (SLUB_TINY): a distribution kernel has neither,
	# and both would tax the fast paths being measured (-O2 and opt-level=2 instead).
	cat >> "$frag" <<-'EOF'
	CONFIG_CONFIGFS_FS=y
	CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=y
	# CONFIG_CC_OPTIMIZE_FOR_SIZE is not set
	# CONFIG_SLUB_TINY is not set
	EOF
	if [ "$FLAVOUR" = release-llvm ]; then
		[ -n "$RN_LLVM_MAJOR" ] || { echo "build-kernel: cannot tell rustc's LLVM version" >&2; exit 1; }
		command -v "clang-$RN_LLVM_MAJOR" >/dev/null || {
			echo "build-kernel: no clang-$RN_LLVM_MAJOR (run scripts/setup.sh --llvm)" >&2; exit 1; }
		echo CONFIG_RUST_INLINE_HELPERS=y >> "$frag"
		make_flags=(LLVM="-$RN_LLVM_MAJOR")
		# bindgen parses the kernel's headers with clang's flags: that clang's library.
		export LIBCLANG_PATH=/usr/lib/llvm-$RN_LLVM_MAJOR/lib
	fi
	;;
*) echo "build-kernel: unknown FLAVOUR=$FLAVOUR" >&2; exit 1 ;;
esac

[ -f "$KSRC/Makefile" ] || { echo "build-kernel: no kernel source in $KSRC (run scripts/setup.sh)" >&2; exit 1; }
kver=$(make -s -C "$KSRC" kernelversion)
# Bump BUILD_RECIPE when the way the kernel is built changes.
BUILD_RECIPE=2
key=$( (cat "$frag"; echo "recipe $BUILD_RECIPE"; [ ${#make_flags[@]} = 0 ] || echo "${make_flags[*]}") \
	| sha256sum | cut -c1-12)
KDIR="$RN_CACHE/kernel-$kver-$FLAVOUR-$key"

# The stamp alone is not enough: the C baseline modules must still be there (a kbuild
# "clean" run with M= pointing at a directory above the build tree deletes them).
if [ -f "$KDIR/.rust-nvme-built" ] && [ -f "$KDIR/drivers/nvme/host/nvme.ko" ] \
	&& [ -f "$KDIR/drivers/block/null_blk/null_blk.ko" ] && [ -f "$KDIR/arch/x86/boot/bzImage" ]; then
	echo "$KDIR"; exit 0
fi

KMAKE=(make -C "$KSRC" O="$KDIR" ARCH=x86_64 RUSTC="$RUSTC" RUSTDOC="$RUSTDOC" BINDGEN="$BINDGEN"
       HOSTRUSTC="$RUSTC" "${make_flags[@]}")
echo "build-kernel: building Linux $kver ($FLAVOUR) in $KDIR; this takes several minutes" >&2
mkdir -p "$KDIR"
"${KMAKE[@]}" -s tinyconfig >&2
(cd "$KDIR" && "$KSRC/scripts/kconfig/merge_config.sh" -m .config "$frag" >/dev/null)
"${KMAKE[@]}" -s olddefconfig >&2
# merge_config does not fail on dropped options; check the ones we cannot live without.
need="RUST MODULES PCI_MSI BLK_DEV_NVME BLOCK"
[ "$FLAVOUR" = debug ] || need="$need CC_OPTIMIZE_FOR_PERFORMANCE CONFIGFS_FS BLK_DEV_NULL_BLK"
[ "$FLAVOUR" != release-llvm ] || need="$need CC_IS_CLANG RUST_INLINE_HELPERS"
for opt in $need; do
	grep -qE "^CONFIG_$opt=(y|m)" "$KDIR/.config" || {
		echo "build-kernel: CONFIG_$opt did not survive olddefconfig (is 'make rustavailable' happy?)" >&2
		"${KMAKE[@]}" rustavailable >&2 || true
		exit 1; }
done
"${KMAKE[@]}" -s -j"$(nproc)" bzImage modules >&2
echo "${make_flags[*]}" > "$KDIR/.rust-nvme-make-flags"
touch "$KDIR/.rust-nvme-built"
echo "$KDIR"
