#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# KVM's NX huge page recovery thread and vspace, with a real KVM guest.
# On 6.12 KVM starts "kvm-nx-lpage-recovery" as a vhost_task of the QEMU
# process from the vCPU thread that first enters KVM_RUN, so it inherits
# that vCPU's mask: vm_cpus, if vspace already bound it. It is an "other"
# thread, and its allowed mask is the vCPU's: what QEMU's main thread had.
# Checks, from /proc and KVM's debugfs record of its vCPU threads:
#   - a guest started stopped (-S, vCPU threads created but not run):
#     vms/add binds its vCPU threads to vm_cpus & their mask;
#   - after "cont" on its monitor, KVM runs both vCPUs;
#   - the recovery thread has the main thread's original mask (not
#     vm_cpus) within 2 s of appearing, and still after vms/remove;
#   - after vms/remove every thread has its original mask.
# The recovery checks skip where no such thread appears in the QEMU
# process (6.1 runs it as a kernel thread of its own). Exit 4 (skip)
# without root, vspace, /dev/kvm or QEMU.
cd "$(dirname "$0")" || exit 1
. ./tap.sh
. ./guests.sh

V=/sys/kernel/vspace

[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -d $V ] || skip_all "vspace is not loaded"
guest_require
command -v python3 >/dev/null || skip_all "no python3"
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug

saved_enabled=$(cat $V/enabled) saved_auto=$(cat $V/auto_discover)
saved_interval=$(cat $V/interval_ms)
pid=
cleanup() {
	[ -n "$pid" ] && echo "$pid" >$V/vms/remove 2>/dev/null
	guest_stop nx
	echo "$saved_auto" >$V/auto_discover
	echo "$saved_interval" >$V/interval_ms
	echo "$saved_enabled" >$V/enabled
}
trap cleanup EXIT

# A cpulist as a bit mask (CPUs 0-62), so lists compare as sets.
mask_of() {
	local m=0 part a b IFS=,
	for part in $1; do
		a=${part%-*} b=${part#*-}
		while [ "$a" -le "$b" ]; do
			m=$((m | 1 << a))
			a=$((a + 1))
		done
	done
	echo $m
}

# "HUMAN COMMAND" on the guest's monitor.
monitor() {
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
time.sleep(0.3)
try:
    s.recv(65536)
except OSError:
    pass
s.sendall(sys.argv[2].encode() + b"\n")
time.sleep(0.5)
try:
    s.recv(65536)
except OSError:
    pass
s.close()
' "$GUEST_DIR/nx.mon" "$1"
}

vcpu_tids() {
	local t comm
	for t in /proc/"$pid"/task/*; do
		read -r comm <"$t/comm" 2>/dev/null || continue
		case $comm in "CPU "*/KVM) echo "${t##*/}" ;; esac
	done
}

nx_tid() {
	local t comm
	for t in /proc/"$pid"/task/*; do
		read -r comm <"$t/comm" 2>/dev/null || continue
		case $comm in kvm-nx-lpage-re*) echo "${t##*/}"; return 0 ;; esac
	done
	return 1
}

# Every vCPU thread on vm_cpus & its original mask (its mask if that is
# empty).
vcpus_bound() {
	local vm tid want got bad=0 nv=0
	vm=$(mask_of "$(cat $V/vm_cpus)")
	for tid in $(vcpu_tids); do
		nv=$((nv + 1))
		want=$((vm & $(mask_of "${orig[$tid]}")))
		[ $want = 0 ] && want=$(mask_of "${orig[$tid]}")
		got=$(mask_of "$(cpus_allowed "$tid")")
		if [ "$got" != "$want" ]; then
			echo "# vCPU $tid on $(cpus_allowed "$tid"), vm_cpus $(cat $V/vm_cpus), was ${orig[$tid]}"
			bad=1
		fi
	done
	[ $nv = 2 ] || { echo "# $nv vCPU threads"; bad=1; }
	return $bad
}

# The recovery thread has the main thread's original mask, within $1 s.
nx_has_main_mask() {
	local t=$(($1 * 10)) got
	while :; do
		got=$(cpus_allowed "$nx")
		[ "$(mask_of "$got")" = "$(mask_of "$main_mask")" ] && return 0
		[ $t -le 0 ] && break
		sleep 0.1
		t=$((t - 1))
	done
	echo "# $(cat /proc/$pid/task/$nx/comm) ($nx) on $got, wants $main_mask (vm_cpus $(cat $V/vm_cpus))"
	grep "^$nx " $V/vms/$pid/threads 2>/dev/null | sed 's/^/# threads: /'
	return 1
}

restored() {
	local tid bad=0
	for tid in "${!orig[@]}"; do
		[ -d /proc/$pid/task/$tid ] || continue
		if [ "$(cpus_allowed "$tid")" != "${orig[$tid]}" ]; then
			echo "# tid $tid ($(cat /proc/$pid/task/$tid/comm)) on $(cpus_allowed "$tid"), was ${orig[$tid]}"
			bad=1
		fi
	done
	return $bad
}

echo "TAP version 13"
echo "1..5"
echo 0 >$V/auto_discover
echo 100 >$V/interval_ms
echo 1 >$V/enabled
pid=$(guest_start nx -name nx,debug-threads=on -S \
	-monitor unix:"$GUEST_DIR"/nx.mon,server,nowait) ||
	skip_all "QEMU could not start a KVM guest"
for i in $(seq 50); do
	[ "$(vcpu_tids | wc -l)" -ge 2 ] && break
	sleep 0.2
done
declare -A orig
main_mask=$(cpus_allowed "$pid")
for t in /proc/"$pid"/task/*; do
	orig[${t##*/}]=$(cpus_allowed "${t##*/}")
done

echo "$pid" >$V/vms/add
check vcpus_bound_before_run vcpus_bound
monitor cont
check guest_runs guest_wait_vcpus "$pid" 120

nx=
for i in $(seq 50); do
	nx=$(nx_tid) && break
	sleep 0.2
done
if [ -z "$nx" ]; then
	skip nx_thread_gets_allowed_mask "no kvm-nx-lpage-recovery thread in the QEMU process"
	skip nx_thread_kept_after_remove "no kvm-nx-lpage-recovery thread in the QEMU process"
	echo "$pid" >$V/vms/remove
else
	echo "# recovery thread $nx started on $(cpus_allowed "$nx"); main thread $main_mask, vm_cpus $(cat $V/vm_cpus)"
	check nx_thread_gets_allowed_mask nx_has_main_mask 2
	echo "$pid" >$V/vms/remove
	check nx_thread_kept_after_remove nx_has_main_mask 0
fi
check restored_after_remove restored
exit $failed
