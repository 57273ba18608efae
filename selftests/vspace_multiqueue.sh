#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Multiqueue vhost: a VM's vhost workers, one per queue pair, are spread
# over the I/O group's cores, not left to stack on one (from /proc and
# /sys/devices/system/cpu, vs_check.py spread):
#   - 2 real vhost-net workers (vhost_vm) on an I/O group of 2 cores or
#     more: each on a run of whole cores of its own, every core taken;
#   - the same masks for 100 intervals: not bound afresh at each;
#   - again after the I/O group grew to 3 cores (runs of 1 and 2);
#   - a worker tasksetted onto a CPU of the other's run: placed there,
#     within its new mask, and it stays;
#   - a VM of more workers than the group has cores: each on all of it
#     (pinned, two busy ones on one core could not move to an idle one);
#   - a VM of one worker: the whole group;
#   - a real KVM guest whose virtio-net NIC has 4 queue pairs (QEMU,
#     queues=4, vhost=on) on an I/O group of 4 cores (the policy boot's
#     6 CPUs; as many as the group has where it cannot have 4): its
#     workers spread the same way;
#   - vms/remove gives every worker back the mask it had.
# Needs vspace loaded; leaves its settings as it found them. Exit 4 (skip)
# without root, vspace or 3 usable CPUs.
cd "$(dirname "$0")" || exit 1
. ./tap.sh
. ./guests.sh

V=/sys/kernel/vspace
[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -d $V ] || skip_all "vspace not loaded"
usable=$(./vs_check.py count "$(cat $V/cpus)")
[ "$usable" -ge 3 ] || skip_all "$usable usable CPUs: no I/O group of 2"

saved=()
for f in enabled interval_ms io_cpus_max io_cpus_min; do
	saved+=("$f=$(cat $V/$f)")
done
# mode reads "performance [energy] resource": keep the bracketed one.
mode=$(sed 's/.*\[\(.*\)\].*/\1/' $V/mode)
saved+=("mode=$mode")
pids=()
cleanup() {
	local s p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	guest_stop mq
	wait 2>/dev/null
	for s in "${saved[@]}" "${saved[@]}"; do
		echo "${s#*=}" >"$V/${s%%=*}" 2>/dev/null
	done
	rm -rf "$tmp"
}
tmp=$(mktemp -d)
trap cleanup EXIT

# start_vm VAR ARGS: a vhost_vm, its pid in VAR (empty if it failed).
start_vm() {
	local out var=$1
	shift
	out=$(mktemp -p "$tmp")
	./vhost_vm "$@" >"$out" 2>&1 &
	pids+=("$!")
	for _ in $(seq $((100 * $(vs_slow)))); do grep -q ready "$out" && break; sleep 0.1; done
	printf -v "$var" %s "$(awk '/ready/ { print $2 }' "$out")"
}
# set FILE VALUE: write a setting, or fail the test.
set_() {
	echo "$2" >"$V/$1" || { not_ok "set_$1_$2"; exit 1; }
}
# expand LIST: cpulist LIST's CPUs, one per line.
expand() {
	local part
	for part in ${1//,/ }; do
		seq "${part%-*}" "${part#*-}"
	done
}
# allowed TID: its Cpus_allowed_list (/proc).
allowed() { grep Cpus_allowed_list: /proc/"$1"/status | cut -f2; }
# units LIST: the cores LIST's CPUs are on.
units() {
	expand "$1" | while read -r c; do
		cat /sys/devices/system/cpu/cpu"$c"/topology/thread_siblings_list
	done | sort -u | wc -l
}
# io_units: the I/O group's cores (its part of each).
io_units() { units "$(cat $V/io_cpus)"; }
# cpus_of TID: its CPUs from /proc, one per line.
cpus_of() { expand "$(allowed "$1")"; }
# masks PID: "tid cpus" of its vhost workers, from /proc.
masks() {
	local tid
	for tid in $(awk '$2 == "vhost" { print $1 }' $V/vms/"$1"/threads); do
		echo "$tid $(allowed "$tid")"
	done
}
# stable PID: its workers' masks the same for 1 s (100 intervals).
stable() {
	local first now
	first=$(masks "$1")
	[ -n "$first" ] || { echo "# VM $1 lists no vhost worker"; return 1; }
	for _ in $(seq 10); do
		sleep 0.1
		now=$(masks "$1")
		[ "$now" = "$first" ] && continue
		echo "# masks changed: $(echo $first) -> $(echo $now)"
		return 1
	done
}
# soon CHECK: CHECK holds within 4 s.
soon() {
	for _ in $(seq 20); do
		"$1" && return 0
		sleep 0.2
	done
	return 1
}
# grow_to N: raise io_cpus_min until the I/O group has N cores.
grow_to() {
	local m
	[ "$(io_units)" -ge "$1" ] && return 0
	for ((m = $(cat $V/io_cpus_min) + 1; m < usable; m++)); do
		set_ io_cpus_min $m
		sleep 0.3
		[ "$(io_units)" -ge "$1" ] && return 0
	done
	return 1
}
# vhost_count PID: its vhost workers vspace lists.
vhost_count() { awk '$2 == "vhost"' $V/vms/"$1"/threads 2>/dev/null | wc -l; }

echo "TAP version 13"
# The layout these checks expect is performance mode's: the I/O group
# holds the cores io_cpus_min asks for.
set_ mode performance
set_ enabled 1
set_ interval_ms 10
# An I/O group of 2 cores, whatever the load.
set_ io_cpus_max $((usable - 1))
grow_to 2 || skip_all "no I/O group of 2 cores here"
echo "1..8"
echo "# io_cpus $(cat $V/io_cpus): $(io_units) cores"

start_vm vm -w 2 -c 2
[ -n "$vm" ] || { not_ok vhost_vm_started; exit 1; }
./vs_check.py snap "$tmp/before"
echo "$vm" >$V/vms/add
check workers_spread ./vs_check.py spread "$vm" 2
awk '$2 == "vhost" { print "# " $0 }' $V/vms/"$vm"/threads
# And they stay: the same masks for 100 intervals, not bound afresh at
# each.
check workers_stay stable "$vm"

# A larger group: the runs follow it, one of them two cores long.
if grow_to 3; then
	echo "# io_cpus $(cat $V/io_cpus): $(io_units) cores"
	check spread_after_resize ./vs_check.py spread "$vm" 2
	awk '$2 == "vhost" { print "# " $0 }' $V/vms/"$vm"/threads
	# A worker tasksetted into the other's run: its run is not in its
	# mask, so it gets the part within it, placed, and keeps it.
	w1=$(awk '$2 == "vhost" { print $1; exit }' $V/vms/"$vm"/threads)
	w2=$(awk '$2 == "vhost" { n++ } n == 2 { print $1; exit }' $V/vms/"$vm"/threads)
	c=$(cpus_of "$w2" | head -1)
	taskset -pc "$c" "$w1" >/dev/null
	echo "$w1 $c $(./vs_check.py nice "$w1")" >"$tmp/expect"
	pinned() {
		grep "^$w1 vhost $c allowed=$c\( \|\$\)" $V/vms/"$vm"/threads |
			grep -qv unplaced &&
			[ "$(allowed "$w1")" = "$c" ]
	}
	check taskset_into_other_run eval "soon pinned && stable $vm"
	grep "^$w1 " $V/vms/"$vm"/threads | sed 's/^/# /'
else
	skip spread_after_resize "no I/O group of 3 cores here"
	skip taskset_into_other_run "no I/O group of 3 cores here"
	: >"$tmp/expect"
fi

# More workers than cores: each on the whole group.
many=$(($(io_units) + 1))
start_vm big -w $many -c 1
[ -n "$big" ] && echo "$big" >$V/vms/add
check more_workers_than_cores ./vs_check.py spread "${big:-0}" $many

start_vm one -w 1 -c 1
[ -n "$one" ] && echo "$one" >$V/vms/add
check single_worker_whole_group ./vs_check.py spread "${one:-0}" 1

# QEMU's own: a KVM guest with a multiqueue NIC of 4 queue pairs where
# the I/O group can have 4 cores beside the VM group, else as many as it
# has.
if [ ! -c /dev/kvm ] || [ ! -f "$GUEST_KERNEL" ] ||
   ! command -v qemu-system-x86_64 >/dev/null; then
	skip qemu_multiqueue_spread "no KVM guest here (/dev/kvm, $GUEST_KERNEL)"
else
	# 5 cores or more: 4 for the I/O group, one for the VM group.
	cores=$(units "$(cat $V/cpus)")
	q=$(io_units)
	if [ "$cores" -ge 5 ]; then
		grow_to 4 && q=4
	fi
	q=$((q > 4 ? 4 : q))
	if [ "$cores" -ge 5 ] && [ "$q" != 4 ]; then
		echo "# $cores usable cores, but no I/O group of 4: $(cat $V/io_cpus)"
		not_ok qemu_multiqueue_spread
	elif ! gpid=$(GUEST_QUEUES=$q guest_start mq -name mq,debug-threads=on); then
		sed 's/^/# /' "$GUEST_DIR/mq.err"
		not_ok qemu_multiqueue_spread
	else
		echo "# a guest with $q queue pairs on $(cat $V/io_cpus)"
		echo "$gpid" >$V/vms/add
		for _ in $(seq 100); do
			[ "$(vhost_count "$gpid")" -ge "$q" ] && break
			sleep 0.2
		done
		check qemu_multiqueue_spread ./vs_check.py spread "$gpid" "$q"
		awk '$2 == "vhost" { print "# " $0 }' $V/vms/"$gpid"/threads
		echo "$gpid" >$V/vms/remove
	fi
fi

echo "$vm" >$V/vms/remove
check remove_gives_back ./vs_check.py same "$tmp/before" "$tmp/expect"
exit $failed
