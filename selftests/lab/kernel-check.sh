#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-check.sh OUT: fail, and say why, if a lab guest's kernel reported
# a problem or lost a checker. The guest scripts clear the log before
# their tests, so the boot's own log (boot-dmesg.log, saved by init) is
# read too: one report there would leave lockdep off, or KASAN silent
# without kasan_multi_shot, for the whole run. init also records what
# the kernel says of itself once the script is done (health):
#   tainted      only O (out-of-tree) and E (unsigned module) may be set:
#                a WARN, an oops or a lockup leaves a taint bit even if
#                its report scrolled out of the log;
#   debug_locks  1 on a lockdep kernel: lockdep is still checking.
set -u
out=${1:?usage: kernel-check.sh OUT}
lab=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rc=0
# Taint bits a lab boot may carry: O (4096) and E (8192) for vspace and
# the test modules.
allowed=$((4096 | 8192))

for log in "$out/boot-dmesg.log" "$out/dmesg.log"; do
	[ -f "$log" ] || continue
	"$lab/dmesg-check.sh" "$log" || rc=1
done
if [ -f "$out/health" ]; then
	tainted=$(awk '$1 == "tainted" { print $2 }' "$out/health")
	locks=$(awk '$1 == "debug_locks" { print $2 }' "$out/health")
	if ! [ "${tainted:-x}" -ge 0 ] 2>/dev/null; then
		echo "kernel-check: no taint value in $out/health" >&2
		rc=1
	elif [ $((tainted & ~allowed)) -ne 0 ]; then
		echo "kernel-check: the kernel is tainted $tainted (allowed: O, E)" >&2
		rc=1
	fi
	if [ -n "$locks" ] && [ "$locks" != 1 ]; then
		echo "kernel-check: lockdep turned itself off (debug_locks $locks)" >&2
		rc=1
	fi
fi
exit $rc
