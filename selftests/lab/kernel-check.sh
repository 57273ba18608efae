#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-check.sh OUT: fail, and say why, if a lab guest's kernel reported
# a problem or lost a checker. The guest scripts clear the log before
# their tests, so the boot's own log (boot-dmesg.log: init saves it, the
# scripts again with what their setup printed) is read too: one report
# there would leave lockdep off, or KASAN silent without
# kasan_multi_shot, for the whole run. init also records what
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

# The boot's log (and what the script's setup printed), the tests', and
# the whole log since the script cleared it, as init saw it at the end.
for log in "$out/boot-dmesg.log" "$out/dmesg.log" "$out/end-dmesg.log"; do
	[ -f "$log" ] || continue
	"$lab/dmesg-check.sh" "$log" || rc=1
done
# A check that read nothing passes nothing. (init writes the end log,
# up to a mark it logs first, with health: a boot without it, or with
# the log cut short, did not end as it should.)
if ! grep -q 'Linux version' "$out/boot-dmesg.log" 2>/dev/null; then
	echo "kernel-check: no boot log in $out" >&2
	rc=1
fi
if ! grep -aq 'vspace-lab: end of the run' "$out/end-dmesg.log" 2>/dev/null; then
	echo "kernel-check: no whole end log in $out" >&2
	rc=1
fi
tainted=$(awk '$1 == "tainted" { print $2 }' "$out/health" 2>/dev/null)
locks=$(awk '$1 == "debug_locks" { print $2 }' "$out/health" 2>/dev/null)
if ! [ "${tainted:-x}" -ge 0 ] 2>/dev/null; then
	echo "kernel-check: no taint value in $out/health" >&2
	rc=1
elif [ $((tainted & ~allowed)) -ne 0 ]; then
	echo "kernel-check: the kernel is tainted $tainted (allowed: O, E)" >&2
	rc=1
fi
if grep -q 'Lock dependency validator' "$out/boot-dmesg.log" 2>/dev/null &&
   [ "$locks" != 1 ]; then
	echo "kernel-check: lockdep turned itself off (debug_locks ${locks:-unknown})" >&2
	rc=1
fi
exit $rc
