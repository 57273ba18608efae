#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ksrc.sh CACHE: unpack from Debian's linux-source-6.12 the few files vspace
# builds and checks with (kselftest headers, checkpatch) into
# CACHE/linux-source-6.12, once, and print that path. They are read at
# build time and never copied into the project.
set -euo pipefail
cache=${1:?usage: ksrc.sh CACHE}
dst=$cache/linux-source-6.12
stamp=$dst/.vspace-unpacked
tarball=/usr/src/linux-source-6.12.tar.xz

if [ ! -f "$stamp" ]; then
	[ -f "$tarball" ] || {
		echo "ksrc.sh: $tarball is missing: apt-get install linux-source-6.12" >&2
		exit 1
	}
	mkdir -p "$cache"
	tar -xJf "$tarball" -C "$cache" --wildcards \
		'linux-source-6.12/tools/testing/selftests/kselftest*' \
		'linux-source-6.12/scripts/checkpatch.pl' \
		'linux-source-6.12/scripts/spelling.txt' \
		'linux-source-6.12/scripts/const_structs.checkpatch'
	touch "$stamp"
fi
echo "$dst"
