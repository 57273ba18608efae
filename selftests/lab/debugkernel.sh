#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debugkernel.sh CACHE: build the debug lab kernel from Debian's
# linux-source-6.12 with selftests/lab/debug.config (KASAN, lockdep,
# kmemleak, UBSAN, debug objects, hung-task detection), install it into
# CACHE/kernels/<release>/ the way lab.sh unpacks Debian's images, and
# print the release. The build is keyed by the source package's version,
# the config fragment and this script: a second run with the same key
# prints the release at once.
set -euo pipefail
cache=${1:?usage: debugkernel.sh CACHE}
lab=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tarball=/usr/src/linux-source-6.12.tar.xz
dir=$cache/debug
src=$dir/linux-source-6.12

log() { printf '[debugkernel] %s\n' "$*" >&2; }

[ -f "$tarball" ] || { log "$tarball is missing: apt-get install linux-source-6.12"; exit 1; }
key=$( { dpkg-query -W -f='${Version}' linux-source-6.12; cat "$lab/debug.config" "$0"; } |
      sha256sum | cut -c1-16)
if [ -f "$dir/key" ] && [ "$(cat "$dir/key")" = "$key" ]; then
	kver=$(cat "$dir/release")
	if [ -f "$cache/kernels/$kver/boot/vmlinuz-$kver" ]; then
		echo "$kver"
		exit 0
	fi
fi

start=$SECONDS
mkdir -p "$dir"
rm -f "$dir/key"
# The tree is unpacked once per source version; a changed config
# rebuilds incrementally.
if [ "$(cat "$dir/source" 2>/dev/null)" != "$(dpkg-query -W -f='${Version}' linux-source-6.12)" ]; then
	log "unpacking $tarball"
	rm -rf "$src"
	tar -xJf "$tarball" -C "$dir"
	dpkg-query -W -f='${Version}' linux-source-6.12 >"$dir/source"
fi
cd "$src"
log "configuring"
make -s x86_64_defconfig >/dev/null
scripts/kconfig/merge_config.sh -m .config kernel/configs/kvm_guest.config \
	"$lab/debug.config" >/dev/null
make -s olddefconfig >/dev/null
# A fragment line the kernel dropped (a dependency not met) would give a
# kernel without that checker: fail instead.
missing=0
while read -r line; do
	case $line in
	CONFIG_*=*) grep -qxF "$line" .config || { log "not in .config: $line"; missing=1; } ;;
	esac
done <"$lab/debug.config"
[ $missing = 0 ] || exit 1
log "building with $(nproc) jobs (log: $dir/build.log)"
make -s -j"$(nproc)" bzImage modules >"$dir/build.log" 2>&1 ||
	{ tail -40 "$dir/build.log" >&2; exit 1; }
# Known only once the build has synced the config (CONFIG_LOCALVERSION).
kver=$(make -s kernelrelease)
rm -rf "${cache:?}/kernels/$kver"
mkdir -p "$cache/kernels/$kver/boot"
cp arch/x86/boot/bzImage "$cache/kernels/$kver/boot/vmlinuz-$kver"
make -s modules_install INSTALL_MOD_PATH="$cache/kernels/$kver" INSTALL_MOD_STRIP=1 \
	DEPMOD=true >/dev/null
depmod -b "$cache/kernels/$kver" "$kver"
echo "$kver" >"$dir/release"
echo "$key" >"$dir/key"
echo "$((SECONDS - start))" >"$dir/build-seconds"
log "built $kver in $((SECONDS - start)) s"
echo "$kver"
