#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's demo, inside a lab guest: load vspace, start two tiny KVM
# guests, manage them with vspacectl (by name and by pid), show their
# threads before and after vspace binds them, set an SLO and a weight,
# change the mode live, show the policy's decisions, and give everything
# back.
set -eu
ko=$LAB_CACHE/build/$LAB_KVER/module/vspace.ko
export GUEST_KERNEL=$LAB_GUEST_KERNEL
export PATH=$LAB_TOP/userspace:$PATH
. selftests/guests.sh
V=/sys/kernel/vspace
say() { printf '\n$ %s\n' "$*"; eval "$*"; }

# tid, name and allowed CPUs of every thread of a guest, as /proc says.
show_threads() {
	local name=$1 pid=$2 tid comm
	echo "  $name (QEMU pid $pid): tid, thread name, Cpus_allowed_list"
	while read -r tid comm; do
		printf '    %-6s %-16s %s\n' "$tid" "$comm" "$(cpus_allowed "$tid")"
	done < <(guest_threads "$pid")
}

echo "== vspace demo on $(uname -r), $(nproc) CPUs"
modprobe kvm_amd
# What setup printed (modules loaded under TCG) is read too (kernel-check.sh).
dmesg -c >"$LAB_OUT/boot-dmesg.log"
say insmod "$ko"
say "grep -s . $V/* || true"

echo
echo "== two tiny KVM guests, each with 2 vCPUs and a vhost-net NIC;"
echo "   g1 names its threads (debug-threads=on), g2 does not"
p1=$(guest_start g1 -name guest=g1,debug-threads=on)
p2=$(guest_start g2)
guest_wait_vcpus "$p1"
guest_wait_vcpus "$p2"
echo
echo "== before vspace: every thread may run anywhere"
show_threads g1 "$p1"
show_threads g2 "$p2"

say vspacectl enable
say vspacectl vm add g1
say "echo $p2 > $V/vms/add"
say vspacectl slo g1 2000
say vspacectl weight "$p2" 300
say vspacectl status
echo
echo "== after: vCPUs on vm_cpus, vhost workers on io_cpus, the rest untouched"
show_threads g1 "$p1"
show_threads g2 "$p2"

say vspacectl mode energy
sleep 3
say vspacectl decisions
say "vspacectl stats --prometheus | grep -E '^vspace_(group_util_pct|vm_slo_missed)'"
say "vspacectl interval 5 || true"
say "echo 5 > $V/interval_ms || true"
say 'dmesg | grep vspace | tail -n 1'

say vspacectl disable
echo
echo "== disabled: every thread has its original affinity back"
show_threads g1 "$p1"
show_threads g2 "$p2"
say rmmod vspace
guest_stop g1
guest_stop g2
dmesg >"$LAB_OUT/dmesg.log"
