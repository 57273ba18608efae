#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-check-test.sh: kernel-check.sh's verdicts on kernel logs and
# states in the formats 6.1 and 6.12 print them (a host check: the lab
# trusts this checker for every boot, so it is tested to fail too).
set -u
lab=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

# Lines a clean boot of the debug kernel and of Debian's print.
clean_boot='[    0.000000] Linux version 6.12.118-vsdebug (root@lab) (gcc (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC
[    0.000000] Command line: console=ttyS0 lab.top=/tmp/KASAN-UBSAN-LOCKUP rcupdate.rcu_cpu_stall_timeout=300
[    1.091635] kasan: KernelAddressSanitizer initialized
[    2.412899] rcu: 	RCU lockdep checking is enabled.
[    2.600000] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar
[    2.673423] ... MAX_LOCKDEP_SUBCLASSES:  8
[    3.000000] NMI watchdog: Perf NMI watchdog permanently disabled
[   81.291002] kmemleak: Kernel memory leak detector initialized (mem pool available: 14528)
[   90.000000] vspace: loading out-of-tree module taints kernel.'
ok_health='tainted 4096
debug_locks 1'

# case NAME WANT(pass|fail) BOOT-LOG TEST-LOG HEALTH ("none": no file)
# [b: TEST-LOG's backslash escapes are bytes, as printf %b makes them]
case_() {
	local name=$1 want=$2 dir=$tmp/$1 got=pass
	mkdir -p "$dir"
	[ "$3" = none ] || printf '%s\n' "$3" >"$dir/boot-dmesg.log"
	printf "%${6:-s}\\n" "$4" >"$dir/dmesg.log"
	# init writes the end log with health (NO_END: only health).
	[ "$5" = none ] || printf '%s\n' "$5" >"$dir/health"
	if [ "$5" != none ] && [ -z "${NO_END:-}" ]; then
		cp "$dir/dmesg.log" "$dir/end-dmesg.log"
		# init's mark (CUT_END: the log cut short before it)
		[ -n "${CUT_END:-}" ] ||
			echo "[ 999.0] vspace-lab: end of the run" >>"$dir/end-dmesg.log"
	fi
	[ -z "${END_ADD:-}" ] || echo "$END_ADD" >>"$dir/end-dmesg.log"
	"$lab/kernel-check.sh" "$dir" >/dev/null 2>&1 || got=fail
	n=$((n + 1))
	if [ "$got" = "$want" ]; then
		echo "ok $n kernel_check.$name"
	else
		echo "not ok $n kernel_check.$name # wanted $want, got $got"
		failed=$((failed + 1))
	fi
}

# One real report line per kind the checker must catch, in the tests'
# log: each must fail on its own.
reports=(
	'WARNING: CPU: 1 PID: 812 at kernel/sched/core.c:3100 set_task_cpu+0x1a/0x2b0'
	'BUG: KASAN: slab-use-after-free in vspace_place+0x1c4/0x2a0 [vspace]'
	'BUG: kernel NULL pointer dereference, address: 0000000000000010'
	'Oops: 0000 [#1] PREEMPT SMP KASAN NOPTI'
	'general protection fault, probably for non-canonical address 0xdffffc0000000002: 0000 [#1] SMP KASAN'
	'kernel BUG at mm/slub.c:441!'
	'Call Trace:'
	'WARNING: possible circular locking dependency detected'
	'WARNING: possible recursive locking detected'
	'turning off the locking correctness validator.'
	'INFO: trying to register non-static key.'
	'WARNING: suspicious RCU usage'
	'BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580'
	'UBSAN: shift-out-of-bounds in module/policy.c:120:15'
	'INFO: task kworker/u8:2:95 blocked for more than 480 seconds.'
	'rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:'
	'rcu: INFO: rcu_sched self-detected stall on CPU'
	'watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [vhost-812:815]'
	'refcount_t: underflow; use-after-free.'
	'list_del corruption. next->prev should be ffff888003c1e0a8'
	'ODEBUG: Out of memory. ODEBUG disabled'
	'kmemleak: Kernel memory leak detector disabled'
)

echo "TAP version 13"
echo "1..$((16 + ${#reports[@]}))"
case_ clean pass "$clean_boot" "[  50.1] vspace: loaded" "$ok_health"
case_ stock_no_lockdep pass "[    0.0] Linux version 6.1.0-57-amd64" "" "tainted 12288"
case_ no_health fail "$clean_boot" "" none
case_ no_boot_log fail none "" "$ok_health"
NO_END=1 case_ no_end_log fail "$clean_boot" "" "$ok_health"
CUT_END=1 case_ end_log_cut fail "$clean_boot" "[  80.0] vspace: unloaded" "$ok_health"
# The script's last words, after the tests' log was saved.
END_ADD='[ 990.0] BUG: KASAN: use-after-free in vspace_exit+0x20/0x90 [vspace]' \
	case_ report_at_end fail "$clean_boot" "" "$ok_health"
case_ warn_in_boot fail "$clean_boot
[    3.1] WARNING: CPU: 0 PID: 1 at kernel/irq/manage.c:2036 request_threaded_irq+0x1a/0x180" "" "$ok_health"
case_ lockdep_off fail "$clean_boot" "" "tainted 4096
debug_locks 0"
case_ lockdep_unknown fail "$clean_boot" "" "tainted 4096"
case_ taint_warn fail "$clean_boot" "" "tainted 4608
debug_locks 1"
case_ taint_garbage fail "$clean_boot" "" "tainted"
# A line with bytes grep takes for binary (a NUL, a control byte, one
# that is no UTF-8) before a report: the report is read all the same.
case_ report_after_odd_bytes fail "$clean_boot" \
	'[  60.0] noisy: wrote "\x00\001\341\x1b[7m"\n[  70.0] BUG: KASAN: slab-out-of-bounds in vspace_reject+0x4c/0xa0 [vspace]' \
	"$ok_health" b
case_ odd_bytes pass "$clean_boot" '[  60.0] noisy: wrote "\x00\001\341\x1b[7m"' \
	"$ok_health" b
for i in "${!reports[@]}"; do
	case_ "report_$i" fail "$clean_boot" "[  70.0] ${reports[$i]}" "$ok_health"
done
# A log that is not there is no clean log.
n=$((n + 1))
"$lab/dmesg-check.sh" "$tmp/no-such.log" >/dev/null 2>&1
r=$?
if [ $r = 2 ]; then
	echo "ok $n dmesg_check.missing_log"
else
	echo "not ok $n dmesg_check.missing_log # exit $r, not 2"
	failed=$((failed + 1))
fi
# Its verdict read through a pipe that closes early (grep killed by
# SIGPIPE) is still no clean log.
for ((i = 0; i < 700; i++)); do
	echo "[ 70.$i] BUG: KASAN: slab-out-of-bounds in vs_x+0x$i/0x90 [vspace]"
done >"$tmp/many.log"
n=$((n + 1))
"$lab/dmesg-check.sh" "$tmp/many.log" 2>/dev/null | head -1 >/dev/null
r=${PIPESTATUS[0]}
if [ "$r" != 0 ]; then
	echo "ok $n dmesg_check.report_through_pipe"
else
	echo "not ok $n dmesg_check.report_through_pipe # exit 0"
	failed=$((failed + 1))
fi
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
