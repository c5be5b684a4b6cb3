#!/usr/bin/env bash
# Build the guest's base initramfs (busybox, fio, nvme-cli, e2fsprogs and their shared
# libraries, and /init). Cached by the content of this script, the guest init and the tool
# versions; prints the path of the cpio archive on its last line.
# Modules, tests and the script to run are added per run by scripts/vm.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

TOOLS=(busybox fio nvme mkfs.ext4 e2fsck dumpe2fs blkdiscard fstrim sha256sum blkzone mkfs.btrfs)
paths=()
for t in "${TOOLS[@]}"; do
	p=$(command -v "$t" || true)
	[ -n "$p" ] || { [ "$t" = blkdiscard ] || [ "$t" = fstrim ] || [ "$t" = sha256sum ] && continue; \
		echo "mkinitramfs: $t is missing (run scripts/setup.sh)" >&2; exit 1; }
	paths+=("$(readlink -f "$p")")
done
key=$( (cat "$here/mkinitramfs.sh" "$here/guest-init.sh"; ls -l "${paths[@]}") | sha256sum | cut -c1-12)
out="$RN_CACHE/initramfs-$key.cpio"
if [ -f "$out" ]; then echo "$out"; exit 0; fi

root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,mnt,root,lib,lib64,usr/bin,usr/sbin,var,run}
cp "$(readlink -f "$(command -v busybox)")" "$root/bin/busybox"
for a in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done
copy_with_libs() {
	local bin=$1 dst=$2
	cp "$(readlink -f "$bin")" "$root/$dst"
	ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
		mkdir -p "$root/$(dirname "$lib")"
		cp -L "$lib" "$root/$lib"
	done
}
for t in fio nvme mkfs.ext4 e2fsck dumpe2fs blkzone mkfs.btrfs; do
	rm -f "$root/usr/bin/$t" "$root/bin/$t"
	copy_with_libs "$(command -v "$t")" "usr/bin/$t"
done
for t in blkdiscard fstrim sha256sum; do
	p=$(command -v "$t" || true); [ -n "$p" ] && { rm -f "$root/bin/$t"; copy_with_libs "$p" "usr/bin/$t"; }
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >> "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
touch "$root/etc/fstab"
install -m 0755 "$here/guest-init.sh" "$root/init"
mkdir -p "$RN_CACHE"
(cd "$root" && find . | cpio -o -H newc --quiet) > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
