#!/bin/bash
# Build the kvmbox default guest kernel (Linux 6.1 from Debian's linux-source-6.1)
# and copy vmlinux, bzImage and the final .config (as config) to OUTDIR.
#
#   guest/build-kernel.sh OUTDIR
#
# The result is cached under ${KVMBOX_CACHE:-$HOME/.cache/kvmbox}/guest/kernel-<hash>/,
# where <hash> covers kernel.config, the patches and this script; a cache hit only copies.
# EXTRA_PATCHES="a.patch b.patch" applies further patches after guest/patches/*.patch
# (for local experiments; they are part of the hash). See guest/README.md.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
outdir=$1
cache=${KVMBOX_CACHE:-$HOME/.cache/kvmbox}/guest
tarball=/usr/src/linux-source-6.1.tar.xz
fragment=$here/kernel.config

log() { echo "build-kernel: $*"; }
die() { echo "build-kernel: error: $*" >&2; exit 1; }
# apt-get download as root warns that its sandbox user cannot write to our cache.
apt_sandbox=
[ "$(id -u)" != 0 ] || apt_sandbox="-o APT::Sandbox::User=root"

patches=("$here"/patches/*.patch)
[ -e "${patches[0]}" ] || patches=()
for p in ${EXTRA_PATCHES:-}; do
	[ -f "$p" ] || die "EXTRA_PATCHES: $p: no such file"
	patches+=("$(cd "$(dirname "$p")" && pwd)/$(basename "$p")")
done

hash=$(cat "$fragment" "${patches[@]}" "$here/$(basename "$0")" | sha256sum | cut -c1-16)
work=$cache/kernel-$hash
mkdir -p "$outdir" "$work"

install_outputs() {
	cp "$work/vmlinux" "$work/bzImage" "$outdir/"
	cp "$work/config" "$outdir/config"
	log "$outdir/vmlinux $(stat -c %s "$outdir/vmlinux") bytes," \
		"$outdir/bzImage $(stat -c %s "$outdir/bzImage") bytes (kernel-$hash)"
}

if [ -f "$work/vmlinux" ] && [ -f "$work/bzImage" ] && [ -f "$work/config" ]; then
	install_outputs
	exit 0
fi

# One build at a time per cache: a second caller waits, then finds the result.
exec 9>"$work/.lock"
flock 9
if [ -f "$work/vmlinux" ] && [ -f "$work/bzImage" ] && [ -f "$work/config" ]; then
	install_outputs
	exit 0
fi

# --- build tools ---
need=()
for pkg in gcc make libc6-dev bc bison flex libelf-dev libssl-dev lz4 xz-utils patch; do
	dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${need[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; } ||
		die "apt-get install ${need[*]} failed"
fi

# --- kernel source: the installed linux-source-6.1, else the .deb unpacked in the cache ---
if [ ! -f "$tarball" ]; then
	debdir=$cache/linux-source-deb
	if [ ! -f "$debdir/root/usr/src/linux-source-6.1.tar.xz" ]; then
		log "downloading linux-source-6.1"
		rm -rf "$debdir" && mkdir -p "$debdir"
		(cd "$debdir" && { apt-get download -q $apt_sandbox linux-source-6.1 ||
			{ apt-get update -q && apt-get download -q $apt_sandbox linux-source-6.1; }; } \
			>/dev/null) || die "apt-get download linux-source-6.1 failed"
		dpkg-deb -x "$debdir"/linux-source-6.1_*.deb "$debdir/root"
		rm -f "$debdir"/linux-source-6.1_*.deb
	fi
	tarball=$debdir/root/usr/src/linux-source-6.1.tar.xz
fi

src=$work/linux-source-6.1
if [ ! -f "$work/.unpacked" ]; then
	log "unpacking $(basename "$tarball")"
	rm -rf "$src" "$work/unpack"
	mkdir -p "$work/unpack"
	tar -xf "$tarball" -C "$work/unpack"
	mv "$work/unpack/linux-source-6.1" "$src"
	rmdir "$work/unpack"
	for p in "${patches[@]}"; do
		log "applying $(basename "$p")"
		patch -p1 -s -d "$src" <"$p" || die "patch $p does not apply"
	done
	touch "$work/.unpacked"
fi

# --- configuration: tinyconfig + our fragment, then check nothing was dropped ---
log "configuring (tinyconfig + kernel.config)"
export ARCH=x86_64
export KBUILD_BUILD_USER=kvmbox KBUILD_BUILD_HOST=kvmbox
export KBUILD_BUILD_TIMESTAMP="1970-01-01 00:00:00 UTC"
makelog=$work/make.log
: >"$makelog"
run_make() {
	if ! make -C "$src" "$@" >>"$makelog" 2>&1; then
		tail -n 40 "$makelog" >&2
		die "make $* failed; full log: $makelog"
	fi
}
run_make tinyconfig
(cd "$src" && scripts/kconfig/merge_config.sh -m .config "$fragment") >>"$makelog" 2>&1 ||
	die "merge_config.sh failed; see $makelog"
run_make olddefconfig

missing=()
while IFS= read -r line; do
	grep -qxF "$line" "$src/.config" || missing+=("$line")
done < <(grep -E '^CONFIG_[A-Za-z0-9_]+=' "$fragment")
if [ ${#missing[@]} -gt 0 ]; then
	echo "build-kernel: error: kernel.config options not in the final .config" \
		"(unmet dependencies?):" >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 1
fi
while IFS= read -r opt; do
	grep -q "^$opt=" "$src/.config" && log "warning: $opt is still set (forced by another option)"
done < <(sed -nE 's/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1/p' "$fragment")

# --- build ---
log "building vmlinux and bzImage with $(nproc) jobs (a few minutes)"
start=$SECONDS
run_make -j"$(nproc)" vmlinux bzImage
log "built in $((SECONDS - start)) s"

cp "$src/vmlinux" "$work/vmlinux.tmp"
cp "$src/arch/x86/boot/bzImage" "$work/bzImage.tmp"
cp "$src/.config" "$work/config"
mv "$work/bzImage.tmp" "$work/bzImage"
mv "$work/vmlinux.tmp" "$work/vmlinux"
# The tree is ~1.5 GB and any change to the inputs gives a new hash: drop it, in the
# background since that takes minutes on a slow disk (a leftover goes on the next run).
rm -f "$work/.unpacked"
mv "$src" "$cache/.trash-$hash-$$"
install_outputs
nohup rm -rf "$cache"/.trash-* >/dev/null 2>&1 &
