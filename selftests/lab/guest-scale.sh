#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make scale, inside a lab guest booted with -icount (1 ns of guest time
# per instruction; see lab.sh): what vspace's periodic work and its hooks
# cost as managed threads and host processes grow. For each number of
# managed threads (SCALE_THREADS) fake VMs are started (vhost_vm: one real
# vhost-net worker and 7 threads named "CPU n/KVM" each, so 8 managed
# threads per VM; the vCPU threads never wake, as in idle guests: under
# -icount guest time is the sum of every vCPU's instructions, so anything
# else running would count in the work's time), and for each number of
# host processes (SCALE_PROCS)
# hostload forks that many ordinary processes beside them. Then, with
# vspace managing every VM at the default interval:
#  - the work of each period, from the vspace:work trace event (its
#    work_ns, and the number of VMs and threads it says it managed);
#  - pingpong's round trip (2 context switches) with vspace absent and
#    loaded, interleaved, on a CPU no VM thread uses, with the interval
#    at its longest meanwhile (the work's instructions would count).
# One line per configuration goes to $LAB_OUT/scale.tsv.
set -eu
ko=$LAB_CACHE/build/$LAB_KVER/module/vspace.ko
V=/sys/kernel/vspace
T=/sys/kernel/tracing
# make scale's SCALE_* settings (the guest's environment is its own).
[ -f "$LAB_CACHE/scale-env" ] && . "$LAB_CACHE/scale-env"
threads_list=${SCALE_THREADS:-10 1000 2000 10000}
procs_list=${SCALE_PROCS:-1000 20000}
rounds=${SCALE_ROUNDS:-3}
pp_n=${SCALE_PINGPONG:-20000}
secs=${SCALE_SECS:-5}
out=$LAB_OUT/scale.tsv

# The last CPU runs pingpong; vspace manages all but CPU 0, the host's;
# the VMs' threads only sleep. On one CPU (6.1, which does not bring up a
# second one under -icount) all of it shares that CPU.
ncpu=$(nproc)
last=$((ncpu - 1))
managed=1-$last
[ "$ncpu" = 1 ] && managed=0
echo "== $(uname -r): $ncpu CPUs, scale: threads $threads_list, processes $procs_list"
modprobe vhost_net
# 20,000 processes and 10,000 threads need more than 32,768 pids.
echo 4194304 >/proc/sys/kernel/pid_max
ulimit -n 65536
# Binaries from tmpfs: 9p replies arrive on the host's time, not icount's.
bin=/tmp/scale-bin
mkdir -p $bin
cp selftests/vhost_vm selftests/hostload selftests/pingpong $bin/

vms=() filler=''
# Top the VMs up to $1 managed threads: VMs of 8 (one vhost worker, 7
# vCPU threads); the first VM has the remainder, so 10 is 2 + 8.
start_vms() {
	local want=$1 i n per rdy have=${#vms[@]}
	n=$(((want + 7) / 8))
	for ((i = have; i < n; i++)); do
		per=7
		[ "$i" = 0 ] && [ $((want % 8)) != 0 ] && per=$((want % 8 - 1))
		[ "$per" -lt 1 ] && per=1
		$bin/vhost_vm -I -w 1 -c "$per" >/tmp/scale-vm.$i 2>&1 &
	done
	for ((i = have; i < n; i++)); do
		for ((t = 0; t < 600; t++)); do
			rdy=$(awk '/^ready/ {print $2}' /tmp/scale-vm.$i)
			[ -n "$rdy" ] && break
			sleep 0.1
		done
		[ -n "$rdy" ] || { echo "# vm $i did not start: $(cat /tmp/scale-vm.$i)"; exit 1; }
		vms+=("$rdy")
	done
}
stop_vms() {
	[ ${#vms[@]} -gt 0 ] && kill -9 "${vms[@]}" 2>/dev/null
	wait 2>/dev/null || true
	vms=()
}
start_filler() {
	local want=$1 t n
	$bin/hostload -p "$want" &
	filler=$!
	for ((t = 0; t < 1200; t++)); do
		n=$(pgrep -cx hostproc || true)
		[ "$n" -ge "$want" ] && return 0
		sleep 0.5
	done
	echo "# only $n of $want processes started"
	exit 1
}
stop_filler() {
	kill "$filler" 2>/dev/null
	wait "$filler" 2>/dev/null || true
	# Its children die with it (PDEATHSIG); wait until they are gone.
	while pgrep -x hostproc >/dev/null; do sleep 0.2; done
}

load() {
	local p
	insmod "$ko"
	echo "$managed" >$V/cpus
	echo 1 >$V/enabled
	for p in "${vms[@]}"; do echo "$p" >$V/vms/add; done
}

# The vspace:work events of $secs seconds: "work_ns vms threads find_ns
# collect_ns decide_ns act_ns" lines (the period and its four stages).
work_samples() {
	echo >$T/trace
	echo 1 >$T/events/vspace/work/enable
	sleep "$secs"
	echo 0 >$T/events/vspace/work/enable
	sed -n 's/.* work: work_ns=\([0-9]*\) vms=\([0-9]*\) threads=\([0-9]*\) cpu=[-0-9]* find_ns=\([0-9]*\) collect_ns=\([0-9]*\) decide_ns=\([0-9]*\) act_ns=\([0-9]*\).*/\1 \2 \3 \4 \5 \6 \7/p' $T/trace
}

printf 'kernel\tthreads\tprocs\ttasks\tvms\tmanaged\tperiods\twork_ns_median\twork_ns_p90\tpp_absent_ns\tpp_loaded_ns\tfind_ns\tcollect_ns\tdecide_ns\tact_ns\n' >"$out"
for m in $threads_list; do
	start_vms "$m"
	for p in $procs_list; do
		start_filler "$p"
		tasks=$(ls -d /proc/[0-9]*/task/[0-9]* | wc -l)
		absent=() loaded=() samples=''
		for ((r = 0; r < rounds; r++)); do
			absent+=("$($bin/pingpong "$pp_n" "$last")")
			load
			# Every VM's threads found and bound: a few periods.
			sleep 2
			[ $r = 0 ] && samples=$(work_samples)
			# The hooks alone: under -icount the periodic work's
			# instructions count in every CPU's time, so it runs
			# once in the 10 s (default) it waits meanwhile.
			echo 10000 >$V/interval_ms
			sleep 0.2
			loaded+=("$($bin/pingpong "$pp_n" "$last")")
			rmmod vspace
		done
		python3 - "$LAB_KVER" "$m" "$p" "$tasks" "${absent[*]}" "${loaded[*]}" "$samples" >>"$out" <<'PY'
import statistics, sys
kver, m, p, tasks = sys.argv[1:5]
a = [float(x) for x in sys.argv[5].split()]
l = [float(x) for x in sys.argv[6].split()]
rows = [list(map(int, s.split())) for s in sys.argv[7].splitlines() if s.strip()]
w = sorted(r[0] for r in rows) or [0]
vms = max((r[1] for r in rows), default=0)
th = max((r[2] for r in rows), default=0)
p90 = w[min(len(w) - 1, int(0.9 * len(w)))]
# Each stage's median over the periods (they need not add up to the
# whole's median).
stages = [int(statistics.median([r[i] for r in rows] or [0])) for i in range(3, 7)]
print("\t".join(map(str, [kver, m, p, tasks, vms, th, len(rows),
                          int(statistics.median(w)), p90,
                          round(statistics.median(a), 1),
                          round(statistics.median(l), 1)] + stages)))
PY
		tail -1 "$out" | sed 's/^/# /'
		stop_filler
	done
done
stop_vms
dmesg >"$LAB_OUT/dmesg.log"
echo "# done"
