#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# plot.sh DIR: PNG plots of DIR/eval.json with gnuplot:
#   latency.png  p99 round trip against the offered load, per policy
#   cores.png    managed CPUs in use over the light-load run, per policy
set -eu
dir=$1
python3 - "$dir" <<'PY'
import json, sys, os
d = sys.argv[1]
r = json.load(open(os.path.join(d, "eval.json")))
first = {}
for run in r["runs"]:
    first.setdefault(run["policy"], run)
with open(os.path.join(d, "latency.dat"), "w") as f:
    for p, run in first.items():
        f.write(f'"{p}"\n')
        for s in run["sweep"]:
            p99 = s["p99_us"] if s["p99_us"] is not None else 1e7
            f.write(f'{s["rate"]} {p99 / 1000}\n')
        f.write("\n\n")
with open(os.path.join(d, "cores.dat"), "w") as f:
    for p, run in first.items():
        f.write(f'"{p}"\n')
        for s in run["light"]["cores_over_time"]:
            f.write(f'{s["t"]} {s["cpus_used"]}\n')
        f.write("\n\n")
print(len(first))
PY
n=$(python3 -c "import json;print(len({x['policy'] for x in json.load(open('$dir/eval.json'))['runs']}))")
managed=$(python3 -c "import json;print(max(s['cpus_used'] for x in json.load(open('$dir/eval.json'))['runs'] for s in x['light']['cores_over_time']))")
slo=$(python3 -c "import json;print(json.load(open('$dir/eval.json'))['config']['slo_us'] / 1000)")
gnuplot <<GP
set terminal pngcairo size 900,560 font ",11"
set output "$dir/latency.png"
set title "p99 round trip against load (TCG lab: ratios matter, not absolute values)"
set xlabel "requests per second per VM"
set ylabel "p99 round trip, ms (log)"
set logscale y
set key outside right
set arrow from graph 0, first $slo to graph 1, first $slo nohead dt 2 lc rgb "red"
set label "SLO" at graph 0.01, first $slo * 1.15 tc rgb "red"
plot for [i=0:$((n - 1))] "$dir/latency.dat" index i using 1:2 with linespoints title columnheader(1)
set output "$dir/cores.png"
unset logscale y
unset arrow
unset label
set title "managed CPUs in a group during the light-load run"
set xlabel "seconds"
set ylabel "CPUs in the VM and I/O groups"
set yrange [0:$managed + 0.5]
set key title "(offset 0.05 apart)"
plot for [i=0:$((n - 1))] "$dir/cores.dat" index i using 1:(\$2 + 0.05 * i) with steps lw 2 title columnheader(1)
GP
rm -f "$dir/latency.dat" "$dir/cores.dat"
