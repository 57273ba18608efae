#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# plot.sh DIR: PNG plots of DIR/eval.json with gnuplot:
#   latency.png  the worst VM's p99 against the offered load, per arm: the
#                median over seeds, with a band from the lowest to the
#                highest seed
#   cores.png    managed CPUs some VM thread may use, over the fixed-rate
#                run of the first seed, per arm
set -eu
dir=$1
read -r n managed slo < <(python3 - "$dir" <<'PY'
import json, os, statistics, sys
d = sys.argv[1]
r = json.load(open(os.path.join(d, "eval.json")))
arms = list(r["summary"]["arms"])
lost = 1e4  # ms: where lost requests are drawn
with open(os.path.join(d, "latency.dat"), "w") as f:
    for a in arms:
        by = {}
        for run in r["runs"]:
            if run["arm"] != a:
                continue
            for p in run["probes"]:
                v = p["worst_p99_us"]
                by.setdefault(p["rate"], []).append(lost if v is None else v / 1000)
        f.write(f'"{a}"\n')
        for rate in sorted(by):
            xs = by[rate]
            f.write(f"{rate} {statistics.median(xs)} {min(xs)} {max(xs)}\n")
        f.write("\n\n")
with open(os.path.join(d, "cores.dat"), "w") as f:
    for a in arms:
        run = min((x for x in r["runs"] if x["arm"] == a), key=lambda x: x["seed"])
        f.write(f'"{a}"\n')
        for s in run["fixed"]["samples"]:
            f.write(f'{s["t"]} {len(s["allowed"])}\n')
        f.write("\n\n")
print(len(arms), len(r["managed_cpus"]), r["config"]["slo_us"] / 1000)
PY
)
gnuplot <<GP
set terminal pngcairo size 900,560 font ",11"
set output "$dir/latency.png"
set title "worst VM's p99 against load (median over seeds, band: min to max)"
set xlabel "requests per second per VM (Poisson)"
set ylabel "p99 from the intended send, ms (log; lost at 10 s)"
set logscale y
set key outside right
set style fill transparent solid 0.15 noborder
set arrow from graph 0, first $slo to graph 1, first $slo nohead dt 2 lc rgb "red"
set label "SLO" at graph 0.01, first $slo * 1.15 tc rgb "red"
plot for [i=0:$((n - 1))] "$dir/latency.dat" index i using 1:3:4 with filledcurves notitle lc i + 1, \
     for [i=0:$((n - 1))] "$dir/latency.dat" index i using 1:2 with linespoints lc i + 1 title columnheader(1)
set output "$dir/cores.png"
unset logscale y
unset arrow
unset label
set title "managed CPUs some VM thread may use, at the fixed rate (first seed)"
set xlabel "seconds"
set ylabel "CPUs"
set yrange [0:$managed + 0.5]
set key title "(offset 0.05 apart)"
plot for [i=0:$((n - 1))] "$dir/cores.dat" index i using 1:(\$2 + 0.05 * i) with steps lw 2 title columnheader(1)
GP
rm -f "$dir/latency.dat" "$dir/cores.dat"
