#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Smoke test of the evaluation (selftests/eval/eval.py, "make eval"): one
# short sweep over three policies must complete and produce sane output
# (every policy measured, requests answered, latencies and busy time
# positive, JSON and table written). Not the ratios: those need the full
# run. Exit 4 (skip) without root, vspace or 4 CPUs.
cd "$(dirname "$0")" || exit 1
. ./tap.sh

[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -d /sys/kernel/vspace ] || skip_all "vspace is not loaded"
[ "$(nproc)" -ge 4 ] || skip_all "needs 4 CPUs"
modprobe -q vhost_net
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "TAP version 13"
python3 eval/eval.py --out "$out" --reps 1 --rates 50,150 --fixed-rate 100 \
	--seconds 1 --warmup 0.5 --settle 0.5 --policies default,static-pinning,energy \
	2>&1 | sed 's/^/# /'
check eval.completes [ "${PIPESTATUS[0]}" = 0 ]
check eval.table [ -s "$out/eval.txt" ]
check eval.json python3 - "$out/eval.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
assert set(s) == {"default", "static-pinning", "energy"}, s.keys()
for p, v in s.items():
    for point in ("fixed", "light"):
        assert v[point]["busy_core_s"] > 0, (p, v)
        assert v[point]["p50_us"] > 0, (p, v)
        assert 0 < v[point]["allocated_core_s"], (p, v)
for run in r["runs"]:
    for point in ("fixed", "light"):
        f = run[point]
        assert f["sent"] > 0 and f["replied"] > 0.5 * f["sent"], f
        assert f["cores_over_time"], f
    assert len(run["sweep"]) == 2, run["sweep"]
    assert all(x["replied"] > 0 for x in run["sweep"]), run["sweep"]
print("# sane:", {p: v["throughput_at_slo"] for p, v in s.items()})
PY
echo "1..$n"
exit $failed
