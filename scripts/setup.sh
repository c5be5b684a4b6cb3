#!/usr/bin/env bash
# Install the toolchain rust_nvme needs: Debian packages, bindgen-cli and the Linux 7.3
# source from trixie-backports (pinned so nothing else comes from that suite).
# Idempotent: when everything is present it only checks and returns in seconds.
#   scripts/setup.sh --bench   also what only `make bench` needs (matplotlib for the chart,
#                              under the system Python /usr/bin/python3)
#   scripts/setup.sh --llvm    also clang, lld and llvm of rustc's LLVM version (and that
#                              libclang for bindgen), for the LLVM=1 kernel of `bench.py --llvm`
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
die() { echo "setup: $*" >&2; exit 1; }

bench=0 llvm=0
for a in "$@"; do
	case $a in
	--bench) bench=1 ;;
	--llvm) llvm=1 ;;
	*) die "unknown option $a" ;;
	esac
done

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

PKGS=(rustc-web rust-web-src libclang-19-dev gcc libc6-dev make flex bison bc libelf-dev libssl-dev
      cpio kmod busybox-static fio nvme-cli e2fsprogs btrfs-progs util-linux qemu-system-x86 xz-utils python3)
[ $bench = 0 ] || PKGS+=(python3-matplotlib)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# Linux 7.3 source: trixie-backports, pinned to this one package family.
SRC_LIST=/etc/apt/sources.list.d/rust-nvme-trixie-backports.sources
PIN=/etc/apt/preferences.d/rust-nvme-linux-source
if [ ! -f "$SRC_LIST" ] || [ ! -f "$PIN" ]; then
	$SUDO tee "$SRC_LIST" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	$SUDO tee "$PIN" >/dev/null <<'PINEOF'
Package: *
Pin: release n=trixie-backports
Pin-Priority: -1

Package: linux-source-7.3
Pin: release n=trixie-backports
Pin-Priority: 500
PINEOF
	need_update=1
fi
dpkg-query -W -f='${Status}' linux-source-7.3 2>/dev/null | grep -q 'install ok installed' || missing+=(linux-source-7.3)

if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	$SUDO apt-get update -qq || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		|| die "could not install: ${missing[*]}"
fi

# LLVM of rustc's own major version (known once rustc is installed).
if [ $llvm = 1 ]; then
	major=$("$RUSTC" -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
	[ -n "$major" ] || die "cannot tell rustc's LLVM version ($RUSTC -vV)"
	missing=()
	for p in "clang-$major" "lld-$major" "llvm-$major" "libclang1-$major"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "setup: installing ${missing[*]}"
		$SUDO apt-get update -qq || die "apt-get update failed"
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
			|| die "could not install: ${missing[*]} (an LLVM=1 kernel needs clang of rustc's LLVM $major)"
	fi
fi

# bindgen-cli from crates.io (the kernel's Rust build needs it).
if ! "$BINDGEN" --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
	command -v cargo >/dev/null || die "cargo is missing: needed to install bindgen-cli $BINDGEN_VERSION"
	echo "setup: installing bindgen-cli $BINDGEN_VERSION"
	LIBCLANG_PATH=/usr/lib/llvm-19/lib cargo install -q bindgen-cli --version "$BINDGEN_VERSION" --locked \
		--root "$TOOLS_DIR" || die "cargo install bindgen-cli failed"
fi

# Unpack the kernel source once per Debian source version.
tarball=$(ls /usr/src/linux-source-7.3*.tar.xz 2>/dev/null | head -1)
[ -n "$tarball" ] || die "linux-source-7.3 is installed but /usr/src/linux-source-7.3*.tar.xz is missing"
ver=$(dpkg-query -W -f='${Version}' linux-source-7.3)
if [ ! -f "$KSRC/.rust-nvme-unpacked-$ver" ]; then
	echo "setup: unpacking $tarball"
	rm -rf "$KSRC"; mkdir -p "$KSRC"
	tar -xf "$tarball" -C "$KSRC" --strip-components=1 || die "unpacking $tarball failed"
	touch "$KSRC/.rust-nvme-unpacked-$ver"
fi

for t in "$RUSTC" "$RUSTDOC" "$BINDGEN" qemu-system-x86_64 fio nvme busybox mkfs.ext4 mkfs.btrfs blkzone; do
	command -v "$t" >/dev/null || [ -x "$t" ] || die "$t is missing after set-up"
done
[ $bench = 0 ] || /usr/bin/python3 -c 'import matplotlib' 2>/dev/null \
	|| die "/usr/bin/python3 cannot import matplotlib after set-up"
echo "setup: toolchain ready (linux-source-7.3 $ver, $("$RUSTC" --version))"
