#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hook overhead, inside a lab guest booted with -icount (time follows
# executed instructions): pingpong (two context switches per round trip,
# on one CPU) with vspace absent; loaded and enabled but managing nothing
# (idle: no probe is attached); and managing a VM (so every switch runs
# the probes and looks the tasks up), interleaved.
set -eu
ko=$LAB_CACHE/build/$LAB_KVER/module/vspace.ko
V=/sys/kernel/vspace
rounds=${BENCH_ROUNDS:-7}
n=${BENCH_N:-20000}
modprobe vhost_net
cd selftests
./vhost_vm -w 2 -c 2 >/tmp/vm.out &
sleep 1
vm=$(awk '/ready/ {print $2}' /tmp/vm.out)

absent=() idle=() loaded=()
for r in $(seq "$rounds"); do
	absent+=("$(./pingpong "$n" 0)")
	insmod "$ko"
	echo 1 >$V/enabled
	idle+=("$(./pingpong "$n" 0)")
	echo "$vm" >$V/vms/add
	loaded+=("$(./pingpong "$n" 0)")
	rmmod vspace
	echo "round $r: absent ${absent[-1]} ns, idle ${idle[-1]} ns, loaded ${loaded[-1]} ns per round trip"
done
kill "$vm"

python3 - "${absent[*]}" "${idle[*]}" "${loaded[*]}" <<'PY' | tee "$LAB_OUT/bench.txt"
import statistics, sys
a, i, l = ([float(x) for x in arg.split()] for arg in sys.argv[1:4])
ma, mi, ml = (statistics.median(x) for x in (a, i, l))
print(f"rounds: {len(a)} interleaved, pingpong round trips of 2 context switches")
print(f"absent: median {ma:.1f} ns  (min {min(a):.1f}, max {max(a):.1f})")
print(f"idle:   median {mi:.1f} ns  (min {min(i):.1f}, max {max(i):.1f})  loaded, enabled, no VM")
print(f"loaded: median {ml:.1f} ns  (min {min(l):.1f}, max {max(l):.1f})  managing a VM")
print(f"idle slowdown ratio: {mi / ma:.4f}  ({(mi / ma - 1) * 100:+.2f}%)")
print(f"slowdown ratio: {ml / ma:.4f}  ({(ml / ma - 1) * 100:+.2f}%)")
print(f"cost per context switch: {(ml - ma) / 2:.1f} ns (icount time: 1 ns per instruction)")
PY
