#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dmesg-check.sh FILE: fail, and show the lines, if a kernel log holds a
# warning, bug, oops, lockdep, KASAN/UBSAN, hung-task, lockup or
# debug-objects report, or a checker (kmemleak, ODEBUG) that gave up.
set -u
# Lockdep's reports start with WARNING: or BUG: (or name a non-static
# key); the bare word is no report: a lockdep kernel names itself at boot.
pat='WARNING:|BUG:|Oops|general protection fault|kernel BUG|Call Trace|possible recursive locking|circular locking dependency|locking correctness validator|non-static key|KASAN|UBSAN|INFO: task .* blocked|rcu_.*stall|refcount_t:|list_(add|del) corruption|LOCKUP|ODEBUG|kmemleak: .*disabled'
# The command line is no report, whatever words a path or a parameter
# on it has. Text, whatever bytes a line holds (-a, C locale): a log
# grep took for binary would hide every line after its first odd byte.
# A log that cannot be read is no clean log.
if ! [ -f "${1:?usage: dmesg-check.sh FILE}" ] || ! [ -r "$1" ]; then
	echo "dmesg-check: cannot read $1" >&2
	exit 2
fi
LC_ALL=C grep -av 'ommand line:' "$1" | LC_ALL=C grep -aE "$pat"
st=("${PIPESTATUS[@]}")
case ${st[1]} in
# (141: killed writing a match to a reader that went away)
0 | 141)
	echo "dmesg-check: kernel reported a problem in $1" >&2
	exit 1 ;;
1) ;;
# The search itself failed: no verdict, so no clean log.
*)
	echo "dmesg-check: could not search $1 (grep exit ${st[1]})" >&2
	exit 2 ;;
esac
# Read part of the way only (an I/O error): no clean log either.
if [ "${st[0]}" -ge 2 ]; then
	echo "dmesg-check: cannot read all of $1" >&2
	exit 2
fi
exit 0
