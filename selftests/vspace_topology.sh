#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vspace and the host's CPU topology, as /sys/devices/system/cpu shows it:
#   - the default cpus leave out the CPUs the kernel isolated (isolcpus=,
#     nohz_full=), and the kernel log says so;
#   - no group lands on one, and a VM's vCPU and vhost threads are placed
#     (an I/O group on an isolated CPU would leave vhost workers unplaced:
#     isolcpus= keeps those CPUs out of every task's default mask);
#   - the operator can still choose them by writing cpus;
#   - while the VM group spans NUMA nodes, each VM's vCPU threads stay on
#     one node (/proc against /sys/devices/system/node), the node its
#     home_node says.
# Loads vspace itself (VSPACE_KO) and leaves it loaded with its defaults.
# Exit 4 (skip) without root, vspace.ko or isolated CPUs.
cd "$(dirname "$0")" || exit 1
. ./tap.sh

V=/sys/kernel/vspace
S=/sys/devices/system/cpu
ko=${VSPACE_KO:-}
[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -f "$ko" ] || skip_all "no vspace.ko (set VSPACE_KO)"
online=$(cat $S/online)

# cpus LIST: its CPU numbers, one per line, sorted.
cpus() {
	local part
	for part in ${1//,/ }; do
		[[ $part =~ ^[0-9]+(-[0-9]+)?$ ]] || continue
		seq "${part%-*}" "${part#*-}"
	done | sort -n
}
# What the kernel isolated: isolcpus=, nohz_full=, cpuset partitions.
iso=$( { cpus "$(cat $S/isolated)"
	cpus "$(cat $S/nohz_full 2>/dev/null)"
	cpus "$(cat /sys/fs/cgroup/cpuset.cpus.isolated 2>/dev/null)"
	} | sort -nu | paste -sd,)
[ -n "$iso" ] || skip_all "no isolated CPUs (boot with isolcpus=)"
# same LIST LIST: the same CPUs.
same() { [ "$(cpus "$1")" = "$(cpus "$2")" ]; }
# meet LIST LIST: a CPU in both.
meet() { [ -n "$(comm -12 <(cpus "$1" | sort) <(cpus "$2" | sort))" ]; }

tmp=$(mktemp -d)
cleanup() {
	[ -n "${vmpid:-}" ] && kill "$vmpid" 2>/dev/null
	[ -n "${vm2:-}" ] && kill "$vm2" 2>/dev/null
	wait 2>/dev/null
	rmmod vspace 2>/dev/null
	insmod "$ko"
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "TAP version 13"
echo "1..6"
rmmod vspace 2>/dev/null
insmod "$ko" || { not_ok insmod; exit 1; }
want=$(comm -23 <(cpus "$online" | sort) <(cpus "$iso" | sort) | sort -n)
defcpus=$(cat $V/cpus)
check default_cpus_leave_out_isolated [ "$(cpus "$(cat $V/cpus)")" = "$want" ]
check kernel_log_says_so eval "dmesg | tail -20 | grep -q 'isolated CPUs left out'"

./vhost_vm -w 2 -c 2 >"$tmp/vm.out" &
for _ in $(seq $((50 * $(vs_slow)))); do grep -q ready "$tmp/vm.out" && break; sleep 0.1; done
vmpid=$(awk '/ready/ { print $2 }' "$tmp/vm.out")
[ -n "$vmpid" ] || { not_ok vhost_vm_started; exit 1; }
echo 1 >$V/enabled
echo "$vmpid" >$V/vms/add

# placed: the VM's vCPU and vhost threads all placed (vspace's word),
# and within their groups (/proc's; vCPU threads may be on one NUMA
# node's part of theirs).
placed() {
	local line tid kind got want bad=0 n=0
	while read -r line; do
		read -r tid kind _ <<<"$line"
		got=$(awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$tid/status")
		case $kind in
		vcpu) want=$(cat $V/vm_cpus) ;;
		vhost) want=$(cat $V/io_cpus) ;;
		*) continue ;;
		esac
		n=$((n + 1))
		if [[ $line == *unplaced* ]] || ! ./vs_check.py within "$got" "$want"; then
			echo "# $line (group $want)"
			bad=1
		fi
	done <"$V/vms/$vmpid/threads"
	[ $n = 4 ] && [ $bad = 0 ]
}
check groups_avoid_isolated eval "! meet \"\$(cat $V/vm_cpus),\$(cat $V/io_cpus)\" '$iso'"
# soon CHECK: CHECK holds within a few intervals (a slow kernel binds
# late); its complaints are printed only from the last try.
soon() {
	local t
	for t in $(seq 20); do
		"$1" >/dev/null && return 0
		sleep 0.2
	done
	"$1"
}
check threads_placed soon placed

# The operator's choice stands: all online CPUs, the isolated ones too.
echo "$online" >$V/cpus
check isolated_cpus_by_choice eval "same \"\$(cat $V/cpus)\" '$online' && meet \"\$(cat $V/vm_cpus),\$(cat $V/io_cpus)\" '$iso'"

# Home nodes. The I/O group on node 0 leaves the VM group on both nodes;
# a second VM of two vCPUs, and each VM's vCPU threads must sit within
# one node's CPUs, the one its home_node names.
node_cpus() { cat /sys/devices/system/node/node"$1"/cpulist; }
homed() {
	local p tid kind got home bad=0 n=0
	for p in $vmpid $vm2; do
		home=$(awk '$1 == "home_node" { print $2 }' $V/vms/"$p"/stats)
		if [ -z "$home" ] || [ "$home" -lt 0 ]; then
			echo "# VM $p: home_node ${home:-missing}"
			bad=1
			continue
		fi
		while read -r tid kind _; do
			[ "$kind" = vcpu ] || continue
			n=$((n + 1))
			got=$(awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$tid/status")
			./vs_check.py within "$got" "$(node_cpus "$home")" &&
				./vs_check.py within "$got" "$(cat $V/vm_cpus)" && continue
			echo "# VM $p vCPU $tid on $got, home node $home ($(node_cpus "$home")), vm_cpus $(cat $V/vm_cpus)"
			bad=1
		done <$V/vms/"$p"/threads
	done
	[ $n = 4 ] && [ $bad = 0 ]
}
if [ -d /sys/devices/system/node/node1 ]; then
	# The default cpus again: a home part with an isolated CPU in it is
	# no subset of a thread's mask, and is not used.
	echo "$defcpus" >$V/cpus
	echo 0 >$V/io_node
	./vhost_vm -w 1 -c 2 >"$tmp/vm2.out" &
	for _ in $(seq $((50 * $(vs_slow)))); do grep -q ready "$tmp/vm2.out" && break; sleep 0.1; done
	vm2=$(awk '/ready/ { print $2 }' "$tmp/vm2.out")
	[ -n "$vm2" ] && echo "$vm2" >$V/vms/add
	echo "# io_cpus $(cat $V/io_cpus), vm_cpus $(cat $V/vm_cpus)"
	check vcpus_stay_on_home_node soon homed
	echo auto >$V/io_node
else
	skip vcpus_stay_on_home_node "one NUMA node"
fi
exit $failed
