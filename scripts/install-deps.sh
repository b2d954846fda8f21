#!/usr/bin/env bash
# Installs the Debian packages kvmbox needs to build, to build its default guest and to run
# its tests — only those missing. Safe to run again; does nothing when all are present.
set -euo pipefail

packages=(
	# building kvmbox and its unit tests
	gcc make libc6-dev libcmocka-dev libseccomp-dev clang-format
	# building the default guest kernel (guest/build-kernel.sh) and initramfs
	linux-source-6.1 bc bison flex libelf-dev libssl-dev lz4 xz-utils cpio gzip
	# end-to-end tests
	python3 python3-pytest e2fsprogs iproute2 iputils-ping
	# benchmarks beside QEMU (bench/run.py; make test runs a short smoke of them)
	qemu-system-x86 python3-matplotlib
	# fuzzing (scripts/run-fuzz.sh): clang and its libFuzzer runtime
	clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "kvmbox: installing missing packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "kvmbox: need root to install packages; run: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
