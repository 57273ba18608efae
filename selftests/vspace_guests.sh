#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vspace with real KVM guests: two tiny guests with a vhost-net NIC each,
# g1 with -name g1,debug-threads=on (vCPU threads named "CPU n/KVM") and
# g2 without (every thread named qemu-system-x86). Checks, from /proc and
# KVM's own debugfs record of its vCPU threads:
#   - auto_discover finds both;
#   - after vms/add, every vCPU thread is on vm_cpus, every vhost worker on
#     io_cpus, every other thread untouched, and vms/<pid>/threads agrees;
#   - after vms/remove, every thread has its original affinity.
# Exit 4 (skip) without root, vspace, /dev/kvm or QEMU.
cd "$(dirname "$0")" || exit 1
. ./tap.sh
. ./guests.sh

V=/sys/kernel/vspace

[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -d $V ] || skip_all "vspace is not loaded"
guest_require
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug

saved_enabled=$(cat $V/enabled) saved_auto=$(cat $V/auto_discover)
cleanup() {
	for g in g1 g2; do
		[ -n "${pid[$g]:-}" ] && echo "${pid[$g]}" >$V/vms/remove 2>/dev/null
		guest_stop $g
	done
	echo "$saved_auto" >$V/auto_discover
	echo "$saved_enabled" >$V/enabled
}
trap cleanup EXIT
declare -A pid orig

echo "TAP version 13"
echo "1..7"
echo 0 >$V/enabled
echo 0 >$V/auto_discover
pid[g1]=$(guest_start g1 -name g1,debug-threads=on) || skip_all "QEMU could not start a KVM guest"
pid[g2]=$(guest_start g2) || skip_all "QEMU could not start a KVM guest"
# Every vCPU has entered the guest (KVM's own record says so).
check guests_run eval "guest_wait_vcpus ${pid[g1]} && guest_wait_vcpus ${pid[g2]}"

for g in g1 g2; do
	while read -r tid comm; do
		orig[$tid]=$(cpus_allowed "$tid")
	done < <(guest_threads "${pid[$g]}")
done

in_vms() { [ -d "$V/vms/$1" ]; }
wait_vms() {
	local t=50
	while [ $t -gt 0 ]; do
		in_vms "${pid[g1]}" && in_vms "${pid[g2]}" && return 0
		sleep 0.1
		t=$((t - 1))
	done
	return 1
}
echo 1 >$V/auto_discover
check auto_discover_finds_both wait_vms
echo 0 >$V/auto_discover
echo "${pid[g1]}" >$V/vms/remove
echo "${pid[g2]}" >$V/vms/remove

# kind_of COMM TID VCPU_TIDS: what the thread is, from its name and KVM's
# record only.
kind_of() {
	case $1 in
	vhost-*) echo vhost ;;
	*) if grep -qx "$2" <<<"$3"; then echo vcpu; else echo other; fi ;;
	esac
}

# bound GUEST: each thread where its kind belongs, and threads agrees.
bound() {
	local g=$1 vm io tid comm kind want got line bad=0 nv=0 nh=0 vcpus
	vm=$(cat $V/vm_cpus) io=$(cat $V/io_cpus)
	[ -n "$io" ] || io=$vm
	vcpus=$(kvm_vcpu_tids "${pid[$g]}")
	while read -r tid comm; do
		kind=$(kind_of "$comm" "$tid" "$vcpus")
		case $kind in
		vcpu) want=$vm; nv=$((nv + 1)) ;;
		vhost) want=$io; nh=$((nh + 1)) ;;
		*) want=${orig[$tid]} ;;
		esac
		got=$(cpus_allowed "$tid")
		if [ "$got" != "$want" ]; then
			echo "# $g: tid $tid ($comm, $kind) on $got, wants $want"
			bad=1
		fi
		line=$(grep "^$tid " "$V/vms/${pid[$g]}/threads")
		# Bound within what it had before: all of it is allowed.
		want="$tid $kind $got"
		[ "$kind" = other ] || want+=" allowed=${orig[$tid]}"
		if [ "$line" != "$want" ]; then
			echo "# $g: threads says '$line', /proc and before say '$want'"
			bad=1
		fi
	done < <(guest_threads "${pid[$g]}")
	[ $nv = 2 ] && [ $nh = 1 ] || { echo "# $g: $nv vCPUs, $nh vhost"; bad=1; }
	return $bad
}

# A mask as it settles: /proc shows a preempted migrate_disable()d task's
# one CPU for a moment, so a difference counts if it lasts.
settled() {
	local t
	for t in 1 2 3 4 5; do
		[ "$(cpus_allowed "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

restored() {
	local g=$1 tid comm bad=0
	while read -r tid comm; do
		if ! settled "$tid" "${orig[$tid]}"; then
			echo "# $g: tid $tid ($comm) on $(cpus_allowed "$tid"), was ${orig[$tid]}"
			bad=1
		fi
	done < <(guest_threads "${pid[$1]}")
	return $bad
}

echo 1 >$V/enabled
for g in g1 g2; do
	echo "${pid[$g]}" >$V/vms/add
	check "${g}_bound_by_kind" bound $g
done
for g in g1 g2; do
	echo "${pid[$g]}" >$V/vms/remove
	check "${g}_restored" restored $g
done
check vms_dirs_gone eval "! in_vms ${pid[g1]} && ! in_vms ${pid[g2]}"
exit $failed
