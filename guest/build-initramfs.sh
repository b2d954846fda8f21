#!/bin/bash
# Build the kvmbox default guest initramfs: Debian's busybox-static plus an /init that
# mounts the usual filesystems, prints "kvmbox-guest: init reached" and runs a shell
# on the console; when the shell exits the guest powers off.
#
#   guest/build-initramfs.sh OUT.cpio.gz     (gzip-compressed newc archive)
#   guest/build-initramfs.sh OUT.cpio        (uncompressed; the kernel accepts both)
#   guest/build-initramfs.sh --tree DIR      (just the root tree, for guest/build-rootfs.sh)
#
# Nothing is installed: the busybox-static .deb is downloaded to and unpacked in
# ${KVMBOX_CACHE:-$HOME/.cache/kvmbox}/guest/, where the archive is also cached (keyed by
# this script, the .deb version and the options). No root, mknod or mounts are needed.
#
# APPLET_LINKS=all adds a symlink for every applet (from `busybox --list-full`). The
# default, APPLET_LINKS=sh, adds only /bin/sh: Debian's busybox shell runs its applets
# itself (FEATURE_SH_STANDALONE), and on hosts that emulate guest ring 0 every cpio entry
# costs the kernel ~30 ms to unpack, ~8 s for all 269 applets.
#
# Prefer the uncompressed OUT.cpio on such hosts: inflating the gzip archive in emulated
# ring 0 made the boot ~70 s longer than copying the 2 MB uncompressed one (QEMU).
set -euo pipefail

tree_out=
if [ $# -eq 2 ] && [ "$1" = --tree ]; then
	tree_out=$2
	set -- "$2"
fi
if [ $# -ne 1 ]; then
	echo "usage: $0 OUT.cpio[.gz] | --tree DIR" >&2
	exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
out=$1
cache=${KVMBOX_CACHE:-$HOME/.cache/kvmbox}/guest

log() { echo "build-initramfs: $*"; }
die() { echo "build-initramfs: error: $*" >&2; exit 1; }
# apt-get download as root warns that its sandbox user cannot write to our cache.
apt_sandbox=
[ "$(id -u)" != 0 ] || apt_sandbox="-o APT::Sandbox::User=root"

need=()
for pkg in cpio gzip; do
	dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${need[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; } ||
		die "apt-get install ${need[*]} failed"
fi

# --- busybox-static: the candidate version's .deb, unpacked in the cache ---
candidate() { apt-cache policy busybox-static 2>/dev/null | awk '/Candidate:/ { print $2 }'; }
version=$(candidate)
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
	log "apt-get update (busybox-static unknown to apt)"
	apt-get update -q >/dev/null || die "apt-get update failed"
	version=$(candidate)
	[ -n "$version" ] && [ "$version" != "(none)" ] || die "no busybox-static package available"
fi
bbdir=$cache/busybox-static-${version//:/_}
busybox=$bbdir/root/bin/busybox
mkdir -p "$cache"
if [ ! -x "$busybox" ]; then
	log "downloading busybox-static $version"
	rm -rf "$bbdir" && mkdir -p "$bbdir"
	(cd "$bbdir" && apt-get download -q $apt_sandbox "busybox-static=$version" >/dev/null) ||
		die "apt-get download busybox-static=$version failed"
	dpkg-deb -x "$bbdir"/busybox-static_*.deb "$bbdir/root"
	rm -f "$bbdir"/busybox-static_*.deb
	[ -x "$busybox" ] || die "$busybox missing from the busybox-static package"
fi

case $out in
*.gz) compress=gzip ;;
*) compress=none ;;
esac
links=${APPLET_LINKS:-sh}
case $links in
sh | all) ;;
*) die "APPLET_LINKS=$links: expected sh or all" ;;
esac
key=$( (cat "$here/$(basename "$0")"; echo "$version $compress $links") | sha256sum | cut -c1-16)
cached=$cache/initramfs-$key.cpio$([ $compress = gzip ] && echo .gz || true)
if [ -f "$cached" ] && [ -z "$tree_out" ]; then
	mkdir -p "$(dirname "$out")"
	cp "$cached" "$out"
	log "$out $(stat -c %s "$out") bytes (cached, busybox $version)"
	exit 0
fi

# --- the root tree ---
stage=$(mktemp -d "$cache/initramfs-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc,mnt}
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
"$busybox" --list | grep -qx sh || die "busybox has no sh applet"
ln -s busybox "$root/bin/sh"
if [ "$links" = all ]; then
	# One symlink per applet, where busybox itself would install it.
	"$busybox" --list-full | while read -r path; do
		[ -e "$root/$path" ] || [ -L "$root/$path" ] && continue
		mkdir -p "$root/$(dirname "$path")"
		ln -s /bin/busybox "$root/$path"
	done
fi

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
EOF
# All mounts in one `mount -a`: every fork and exec is expensive in this guest.
cat >"$root/etc/fstab" <<'EOF'
proc     /proc  proc      nosuid,nodev,noexec  0 0
sysfs    /sys   sysfs     nosuid,nodev,noexec  0 0
devtmpfs /dev   devtmpfs  nosuid               0 0
tmpfs    /tmp   tmpfs     nosuid,nodev         0 0
tmpfs    /run   tmpfs     nosuid,nodev         0 0
EOF
# /init is busybox's init: it handles `poweroff`, `reboot` and `halt` (which signal PID 1)
# the way a real system does, and gives the console shell ordinary signal handling.
ln -s bin/busybox "$root/init"
mkdir -p "$root/etc/init.d"
cat >"$root/etc/inittab" <<'EOF'
::sysinit:/etc/init.d/rcS
::once:/etc/init.d/console
::ctrlaltdel:/bin/busybox reboot
EOF
cat >"$root/etc/init.d/rcS" <<'EOF'
#!/bin/busybox sh
# /proc first, by full path: the shell runs busybox applets through /proc/self/exe.
/bin/busybox mount -a
echo "kvmbox-guest: init reached"
EOF
cat >"$root/etc/init.d/console" <<'EOF'
#!/bin/busybox sh
# The console shell. cttyhack finds the real console device (ttyS0, hvc0, ...) and makes
# it the controlling terminal, which gives the shell job control; that needs a session
# leader, hence setsid (init made this script one, not its children).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
cd /root
setsid cttyhack sh -l
# The shell exited: power off through ACPI where the machine has it, else reset.
if [ -d /sys/firmware/acpi ]; then poweroff; else reboot; fi
EOF
chmod 755 "$root/etc/init.d/rcS" "$root/etc/init.d/console"
find "$root" -exec touch -h -d @0 {} +
if [ -n "$tree_out" ]; then
	rm -rf "$tree_out" && mkdir -p "$(dirname "$tree_out")"
	cp -a "$root" "$tree_out"
	log "$tree_out: root tree (busybox $version, applet links: $links)"
	exit 0
fi

# --- the archive: the tree, then a second archive holding /dev/console (which the
# kernel opens before running /init), so no mknod is needed. The kernel reads
# concatenated newc archives. ---
newc_entry() { # NAME MODE RDEVMAJOR RDEVMINOR INO
	local namesize=$((${#1} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$5" "$2" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
	printf '%s\0' "$1"
	head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
}
cpio_file=$stage/initramfs.cpio
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) >"$cpio_file"
{
	newc_entry dev/console $((0020600)) 5 1 1
	newc_entry TRAILER!!! 0 0 0 0
} >>"$cpio_file"

if [ $compress = gzip ]; then
	gzip -9 -n <"$cpio_file" >"$cached.tmp"
else
	cp "$cpio_file" "$cached.tmp"
fi
mv "$cached.tmp" "$cached"
mkdir -p "$(dirname "$out")"
cp "$cached" "$out"
log "$out $(stat -c %s "$out") bytes (busybox $version, applet links: $links)"
