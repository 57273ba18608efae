#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# plot.sh DIR: PNG plots of DIR/eval.json with gnuplot:
#   latency.png  the worst VM's p99 against the offered load, per arm: the
#                median over seeds, with a band from the lowest to the
#                highest seed
#   cores.png    managed CPUs some VM thread may use, over the fixed-rate
#                run of the first seed, per arm
#   decisions.png the sizes vspace's policy gave the VM and I/O groups over
#                the first seed's whole measurement (sweep, bisection,
#                fixed rate), per arm vspace places, each change marked
#                with its reason
set -eu
dir=$1
rm -f "$dir/decisions.png"	# drawn again only if an arm has decisions
read -r n managed slo ndec < <(python3 - "$dir" <<'PY'
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
dec = []
with open(os.path.join(d, "decisions.dat"), "w") as f, \
     open(os.path.join(d, "rates.dat"), "w") as g:
    for a in arms:
        run = min((x for x in r["runs"] if x["arm"] == a), key=lambda x: x["seed"])
        if "decisions" not in run:
            continue
        dec.append(a)
        now = run["groups_at_start"]
        f.write(f'0 {now["vm"]} {now["io"]} -\n')
        for x in run["decisions"]:
            f.write(f'{x["t"]} {x["vm"]} {x["io"]} {x["reason"]}\n')
            now = x
        end = max([run["seconds"]] + [x["t"] for x in run["decisions"]])
        f.write(f'{end} {now["vm"]} {now["io"]} -\n\n\n')
        for p in run["probes"] + [dict(run["fixed"], rate=f'{run["fixed"]["rate"]}*')]:
            g.write(f'{p["t"][0]} {p["rate"]}\n')
        g.write("\n\n")
with open(os.path.join(d, "decisions.arms"), "w") as f:
    f.write(" ".join(dec))
print(len(arms), len(r["managed_cpus"]), r["config"]["slo_us"] / 1000, len(dec))
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
if [ "$ndec" -gt 0 ]; then
	gnuplot <<GP
set terminal pngcairo size 900,$((200 + 180 * ndec)) font ",11"
set output "$dir/decisions.png"
set termoption noenhanced
arms = '$(cat "$dir/decisions.arms")'
set multiplot layout $ndec,1 title "vspace's groups over the first seed's measurement, each change with its reason\\n(grey: the rate probed from there, per VM per s; *: the fixed rate)"
set yrange [0:$managed + 1]
set ylabel "CPUs"
set key outside right top vertical
do for [i=0:$((ndec - 1))] {
	set title word(arms, i + 1)
	if (i == $((ndec - 1))) { set xlabel "seconds" }
	plot "$dir/decisions.dat" index i using 1:2 with steps lw 2 title "VM group", \
	     "" index i using 1:3 with steps lw 2 dt 2 title "I/O group", \
	     "" index i using 1:(\$2 + 0.35):(stringcolumn(4) eq "-" ? "" : stringcolumn(4)) with labels font ",8" notitle, \
	     "$dir/rates.dat" index i using 1:($managed + 0.6):(stringcolumn(2)) with labels left font ",7" tc rgb "gray40" notitle, \
	     "" index i using 1:($managed + 0.6) with impulses lc rgb "gray80" notitle
}
unset multiplot
GP
fi
rm -f "$dir/latency.dat" "$dir/cores.dat" "$dir/decisions.dat" "$dir/decisions.arms" "$dir/rates.dat"
