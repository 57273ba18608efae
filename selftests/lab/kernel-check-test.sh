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

clean_boot='[    0.000000] Linux version 6.12.118-vsdebug (root@lab) (gcc (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC
[    0.000000] kasan: KernelAddressSanitizer initialized (generic)
[    0.412345] kmemleak: Kernel memory leak detector initialized (mem pool available: 15679)
[    0.412400] kmemleak: Automatic memory scanning thread ended
[    2.412899] rcu: 	RCU lockdep checking is enabled.
[    2.673423] ... MAX_LOCKDEP_SUBCLASSES:  8
[    2.000000] vhost_net: loading out-of-tree module taints kernel.'

# case NAME WANT(pass|fail) BOOT-LOG TEST-LOG HEALTH
case_() {
	local name=$1 want=$2 dir=$tmp/$1 got=pass
	mkdir -p "$dir"
	printf '%s\n' "$3" >"$dir/boot-dmesg.log"
	printf '%s\n' "$4" >"$dir/dmesg.log"
	[ "$5" = none ] || printf '%s\n' "$5" >"$dir/health"
	"$lab/kernel-check.sh" "$dir" >/dev/null 2>&1 || got=fail
	n=$((n + 1))
	if [ "$got" = "$want" ]; then
		echo "ok $n kernel_check.$name"
	else
		echo "not ok $n kernel_check.$name # wanted $want, got $got"
		failed=$((failed + 1))
	fi
}

echo "TAP version 13"
echo "1..12"
case_ clean pass "$clean_boot" "[  50.1] vspace: loaded" "tainted 12288
debug_locks 1"
case_ stock_no_lockdep pass "$clean_boot" "" "tainted 4096"
case_ no_health pass "$clean_boot" "" none
case_ warn_in_boot fail "$clean_boot
[    3.1] WARNING: CPU: 0 PID: 1 at kernel/irq/manage.c:2036 request_threaded_irq+0x1a/0x180" "" "tainted 12288"
case_ kasan_in_boot fail "$clean_boot
[    3.2] BUG: KASAN: slab-out-of-bounds in _raw_spin_lock+0x2c/0x50" "" "tainted 12288"
case_ lockdep_in_tests fail "$clean_boot" "[  60.0] WARNING: possible circular locking dependency detected" "tainted 12288
debug_locks 0"
case_ lockdep_key fail "$clean_boot" "[  61.0] INFO: trying to register non-static key." "tainted 12288
debug_locks 1"
case_ lockdep_off fail "$clean_boot" "" "tainted 12288
debug_locks 0"
case_ taint_warn fail "$clean_boot" "" "tainted 12800"
case_ taint_garbage fail "$clean_boot" "" "tainted"
case_ kmemleak_gave_up fail "$clean_boot
[    0.5] kmemleak: Kernel memory leak detector disabled" "" "tainted 12288"
case_ odebug_gave_up fail "$clean_boot" "[  70.0] ODEBUG: Out of memory. ODEBUG disabled" "tainted 12288"
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
