#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make scale's report: the rows of guest-scale.sh (one per kernel,
managed threads and host processes), the ratios the targets name, and a
least-squares fit of the work per period to

    work_ns = a + b * managed_threads + c * host_tasks

Under -icount shift=0 one guest ns is one instruction, so b is the
instructions of the periodic work per managed thread and c per host task.
The same fit of each stage of the period (find, collect, decide, act; the
vspace:work event's *_ns) says where the per-thread instructions go.
"""
import sys

INTERVAL_NS = 100_000_000       # the default interval_ms, 100
STAGES = ("find", "collect", "decide", "act")


def solve(xs, ys):
    """Least squares by the normal equations; None if singular."""
    n = len(xs[0])
    m = [[sum(x[i] * x[j] for x in xs) for j in range(n)] for i in range(n)]
    v = [sum(x[i] * y for x, y in zip(xs, ys)) for i in range(n)]
    # Gaussian elimination with partial pivoting.
    for i in range(n):
        p = max(range(i, n), key=lambda k: abs(m[k][i]))
        m[i], m[p], v[i], v[p] = m[p], m[i], v[p], v[i]
        if abs(m[i][i]) < 1e-9 * max(1.0, abs(m[0][0])):
            return None
        for k in range(i + 1, n):
            f = m[k][i] / m[i][i]
            m[k] = [a - f * b for a, b in zip(m[k], m[i])]
            v[k] -= f * v[i]
    sol = [0.0] * n
    for i in reversed(range(n)):
        sol[i] = (v[i] - sum(m[i][j] * sol[j] for j in range(i + 1, n))) / m[i][i]
    return sol


def fit(rows, key="work"):
    """(a, b, c) of rows' key; with one number of host processes (tasks
    then follow the managed threads), c is 0 and a, b are fitted alone."""
    ys = [r[key] for r in rows]
    if len({r["procs"] for r in rows}) > 1:
        sol = solve([(1.0, r["managed"], r["tasks"]) for r in rows], ys)
        if sol:
            return sol
    sol = solve([(1.0, r["managed"]) for r in rows], ys)
    return sol + [0.0] if sol else None


def main():
    rows = []
    for line in open(sys.argv[1]):
        f = line.rstrip("\n").split("\t")
        if len(f) < 11 or f[0] == "kernel":
            continue
        rows.append(dict(kernel=f[0], threads=int(f[1]), procs=int(f[2]),
                         tasks=int(f[3]), vms=int(f[4]), managed=int(f[5]),
                         periods=int(f[6]), work=int(f[7]), p90=int(f[8]),
                         absent=float(f[9]), loaded=float(f[10]),
                         **{s: int(v) for s, v in zip(STAGES, f[11:15])}))
    for kernel in sorted({r["kernel"] for r in rows}):
        rs = [r for r in rows if r["kernel"] == kernel]
        print(f"== {kernel}")
        print(f"{'threads':>8} {'procs':>6} {'tasks':>6} {'VMs':>5} {'managed':>7} "
              f"{'periods':>7} {'work us':>9} {'p90 us':>9} {'hooks':>7}")
        for r in rs:
            print(f"{r['threads']:>8} {r['procs']:>6} {r['tasks']:>6} {r['vms']:>5} "
                  f"{r['managed']:>7} {r['periods']:>7} {r['work'] / 1e3:>9.1f} "
                  f"{r['p90'] / 1e3:>9.1f} {(r['loaded'] / r['absent'] - 1) * 100:>+6.2f}%")
        for t in sorted({r["threads"] for r in rs}):
            by = sorted((r for r in rs if r["threads"] == t), key=lambda r: r["procs"])
            if len(by) > 1 and by[0]["work"]:
                print(f"{t} threads: x{by[-1]['procs'] / by[0]['procs']:.0f} processes "
                      f"-> work x{by[-1]['work'] / by[0]['work']:.2f}")
        sol = fit(rs) if len(rs) >= 3 else None
        if sol:
            a, b, c = sol
            est = a + b * 4000 + c * 20000
            print(f"fit: work_ns = {a:.0f} + {b:.0f} * managed + {c:.1f} * tasks "
                  f"(instructions per managed thread {b:.0f}, per host task {c:.1f})")
            print(f"500 VMs x 8 threads beside 20,000 tasks: {est / 1e6:.2f} ms per "
                  f"period, {est / INTERVAL_NS * 100:.2f}% of one CPU at 100 ms "
                  f"(1 instruction per ns)")
            per = []
            for s in STAGES:
                st = fit(rs, s) if all(s in r for r in rs) else None
                if st:
                    per.append(f"{s} {st[1]:.0f}")
            if per:
                print("per managed thread, by stage: " + ", ".join(per))
        print()


if __name__ == "__main__":
    main()
