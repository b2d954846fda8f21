#!/bin/bash
# Build an ext4 root filesystem image of the default guest (the same busybox system as the
# initramfs), without root privileges, loop devices or mounts: `mkfs.ext4 -d` copies the
# tree into the new filesystem.
#
#   guest/build-rootfs.sh OUT.ext4 [SIZE]      (SIZE for mkfs.ext4, default 64M)
#
# Boot it as / with:
#   kvmbox run --kernel vmlinux --disk path=OUT.ext4 --cmdline "console=ttyS0 root=/dev/vda rw"
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 OUT.ext4 [SIZE]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
out=$1
size=${2:-64M}

log() { echo "build-rootfs: $*"; }
die() { echo "build-rootfs: error: $*" >&2; exit 1; }

if ! command -v mkfs.ext4 >/dev/null; then
	log "installing e2fsprogs"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q e2fsprogs >/dev/null ||
		die "apt-get install e2fsprogs failed"
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/kvmbox-rootfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
"$here/build-initramfs.sh" --tree "$stage/root" >/dev/null
root=$stage/root
# On a disk the kernel runs /sbin/init (an initramfs runs /init); devtmpfs is mounted on
# /dev by the kernel itself (DEVTMPFS_MOUNT), so fstab must not mount it again.
mkdir -p "$root/sbin"
ln -sf /bin/busybox "$root/sbin/init"
sed -i '/^devtmpfs/d' "$root/etc/fstab"
# Leave the filesystem clean at poweroff/reboot: busybox init runs this before the end.
echo '::shutdown:/bin/busybox umount -a -r' >>"$root/etc/inittab"
mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
: >"$out.tmp"
# Fixed UUID and hash seed: the same tree gives the same image.
mkfs.ext4 -q -F -L kvmbox-root -U 6b766d62-6f78-4000-8000-000000000001 \
	-E root_owner=0:0,hash_seed=6b766d62-6f78-4000-8000-000000000002 \
	-d "$root" "$out.tmp" "$size" || die "mkfs.ext4 failed"
mv "$out.tmp" "$out"
log "$out ($size ext4, busybox system; boot with root=/dev/vda rw)"
