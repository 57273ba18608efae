#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The groups on a host with SMT siblings and NUMA nodes, checked against
# /sys/devices/system/cpu and /proc (vs_check.py layout and cores):
#   - while the policy resizes the groups every interval (io_cpus_min and
#     io_cpus_max rewritten at random, modes switched, busy VMs), no core
#     is ever split between vm_cpus, io_cpus and the free CPUs, and each
#     group fills its node before it spills into another: in every
#     layout (the vspace:layout trace event) and in sysfs as sampled;
#   - the placed vCPU threads and vhost workers never share a core (/proc);
#   - io_node moves the I/O group to the node asked for, and refuses a
#     node without CPUs; smt_split 1 gives exact sizes.
# Needs vspace loaded (as vspace_topology.sh leaves it); leaves it with
# its defaults. Exit 4 (skip) without root, vspace, SMT or two nodes.
cd "$(dirname "$0")" || exit 1
. ./tap.sh

V=/sys/kernel/vspace
S=/sys/devices/system/cpu
[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -d $V ] || skip_all "vspace not loaded"
smt=$(cat $S/cpu*/topology/thread_siblings_list | grep -c '[,-]')
nodes=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
[ "$smt" -gt 0 ] || [ "$nodes" -gt 1 ] ||
	skip_all "no SMT siblings and one NUMA node"

saved=()
for f in interval_ms io_cpus_min io_cpus_max mode enabled smt_split io_node; do
	saved+=("$f=$(cat $V/$f)")
done
vms=()
cleanup() {
	local s
	[ -n "${rpid:-}" ] && kill "$rpid" 2>/dev/null
	for p in "${vms[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for s in "${saved[@]}"; do
		# io_cpus_min before max may be refused; try both orders.
		echo "${s#*=}" >"$V/${s%%=*}" 2>/dev/null
	done
	for s in "${saved[@]}"; do echo "${s#*=}" >"$V/${s%%=*}" 2>/dev/null; done
	rm -rf "$tmp"
}
tmp=$(mktemp -d)
trap cleanup EXIT

echo "TAP version 13"
echo "1..5"
echo "# $(nproc) CPUs, $nodes nodes, cores: $(sort -u $S/cpu*/topology/thread_siblings_list | paste -sd' ')"

# Busy VMs: vCPU threads 20% on, two vhost workers each.
for i in 1 2; do
	./vhost_vm -w 2 -c 3 -b 20 >"$tmp/vm$i.out" 2>&1 &
	for _ in $(seq $((100 * $(vs_slow)))); do grep -q ready "$tmp/vm$i.out" && break; sleep 0.1; done
	p=$(awk '/ready/ { print $2 }' "$tmp/vm$i.out")
	[ -n "$p" ] || { not_ok vms_started; exit 1; }
	vms+=("$p")
	echo "$p" >$V/vms/add
done
usable=$(cat $V/cpus)
nusable=$(awk -F, '{ n = 0; for (i = 1; i <= NF; i++) { split($i, r, "-"); n += (r[2] == "" ? 1 : r[2] - r[1] + 1) } print n }' <<<"$usable")
echo 10 >$V/interval_ms
echo 1 >$V/enabled

# The resizer: bounds and modes at random, every 50..150 ms.
(while :; do
	lo=$((RANDOM % (nusable - 1))) hi=$((RANDOM % (nusable - 1) + 1))
	[ $lo -le $hi ] || { t=$lo; lo=$hi; hi=$t; }
	echo 0 >$V/io_cpus_min
	echo "$hi" >$V/io_cpus_max
	echo "$lo" >$V/io_cpus_min
	case $((RANDOM % 4)) in
	0) echo energy >$V/mode ;;
	1) echo resource >$V/mode ;;
	*) echo performance >$V/mode ;;
	esac
	sleep "0.$((RANDOM % 10 + 5))"
done) 2>/dev/null &
rpid=$!
# Every layout vspace makes, from its vspace:layout event (the sampler
# below can read sysfs only every few intervals under TCG).
T=/sys/kernel/tracing
if [ -d $T/events/vspace/layout ]; then
	echo 0 >$T/tracing_on
	echo >$T/trace
	echo 1 >$T/events/vspace/layout/enable
	echo 1 >$T/tracing_on
fi
d0=$(grep -c . $V/decisions)
# 30 s of samples, longer on a slow kernel, where each read of the
# groups and every thread's mask takes that much longer (35 samples in
# 30 s on the debug kernel).
./vs_check.py layout $((30 * $(vs_slow))) >"$tmp/layout" 2>&1
lrc=$?
kill "$rpid"
wait "$rpid" 2>/dev/null
rpid=
trc=1
if [ -d $T/events/vspace/layout ]; then
	echo 0 >$T/events/vspace/layout/enable
	cat $T/trace >"$tmp/trace"
	echo >$T/trace
	./vs_check.py layout-trace "$tmp/trace" >"$tmp/layout-trace" 2>&1
	trc=$?
	sed -n '/^#/p' "$tmp/layout-trace"
	read -r events tlayouts _ < <(tail -1 "$tmp/layout-trace")
fi
sed -n '/^#/p' "$tmp/layout"
read -r samples layouts _ < <(tail -1 "$tmp/layout")
echo "# decisions logged meanwhile: up to $(( $(grep -c . $V/decisions) - d0 )) new (the log keeps 64)"
check no_core_split_while_resizing [ $lrc = 0 -a $trc = 0 -a "${samples:-0}" -ge 50 \
	-a "${events:-0}" -ge 500 -a "${tlayouts:-0}" -ge 3 ]

# Settled: the threads themselves, from /proc.
echo 0 >$V/io_cpus_min
echo 2 >$V/io_cpus_max
echo 2 >$V/io_cpus_min
echo performance >$V/mode
sleep 1
check threads_never_share_a_core ./vs_check.py cores

# io_node: the I/O group on the node asked for, the VMs off it.
if [ "$nodes" -gt 1 ]; then
	echo 0 >$V/io_node
	sleep 0.5
	n0=$(cat /sys/devices/system/node/node0/cpulist)
	io=$(cat $V/io_cpus)
	echo "# io_node 0: io_cpus $io, vm_cpus $(cat $V/vm_cpus), node 0 $n0"
	check io_node_chosen eval "[ -n '$io' ] && ./vs_check.py within '$io' '$n0' && ./vs_check.py layout 2 >/dev/null"
	old=$(cat $V/io_node)
	bad=0
	for v in "$nodes" 99 -1 x "" "0 1"; do
		echo "$v" >$V/io_node 2>/dev/null && { echo "# io_node '$v' taken"; bad=1; }
	done
	check io_node_refuses_bad [ $bad = 0 -a "$(cat $V/io_node)" = "$old" ]
	echo auto >$V/io_node
else
	skip io_node_chosen "one node"
	skip io_node_refuses_bad "one node"
fi

# smt_split 1: exact sizes (an I/O group of one CPU), cores may split.
if [ "$smt" -gt 0 ]; then
	echo 1 >$V/smt_split
	echo 1 >$V/io_cpus_min
	echo 1 >$V/io_cpus_max
	sleep 0.5
	a=$(cat $V/io_cpus)
	echo 0 >$V/smt_split
	sleep 0.5
	b=$(cat $V/io_cpus)
	echo "# io_cpus_max 1: $a with smt_split 1, $b with 0"
	check smt_split_exact eval "[ \"\$(./vs_check.py count '$a')\" = 1 ] && ./vs_check.py layout 1 >/dev/null"
else
	skip smt_split_exact "no SMT"
fi
exit $failed
