#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make scale's report: the rows of guest-scale.sh (one per kernel,
managed threads and host processes), the ratios the targets name, and a
least-squares fit of the work per period to

    work_ns = a + b * managed_threads + c * host_tasks

Under -icount shift=0 one guest ns is one instruction, so b is the
instructions of the periodic work per managed thread and c per host task.
"""
import sys

INTERVAL_NS = 100_000_000       # the default interval_ms, 100


def fit(rows):
    """Least squares for (a, b, c) by the normal equations."""
    xs = [(1.0, r["managed"], r["tasks"]) for r in rows]
    ys = [r["work"] for r in rows]
    m = [[sum(x[i] * x[j] for x in xs) for j in range(3)] for i in range(3)]
    v = [sum(x[i] * y for x, y in zip(xs, ys)) for i in range(3)]
    # Gaussian elimination with partial pivoting.
    for i in range(3):
        p = max(range(i, 3), key=lambda k: abs(m[k][i]))
        m[i], m[p], v[i], v[p] = m[p], m[i], v[p], v[i]
        if abs(m[i][i]) < 1e-12:
            return None
        for k in range(i + 1, 3):
            f = m[k][i] / m[i][i]
            m[k] = [a - f * b for a, b in zip(m[k], m[i])]
            v[k] -= f * v[i]
    sol = [0.0] * 3
    for i in reversed(range(3)):
        sol[i] = (v[i] - sum(m[i][j] * sol[j] for j in range(i + 1, 3))) / m[i][i]
    return sol


def main():
    rows = []
    for line in open(sys.argv[1]):
        f = line.rstrip("\n").split("\t")
        if len(f) < 11 or f[0] == "kernel":
            continue
        rows.append(dict(kernel=f[0], threads=int(f[1]), procs=int(f[2]),
                         tasks=int(f[3]), vms=int(f[4]), managed=int(f[5]),
                         periods=int(f[6]), work=int(f[7]), p90=int(f[8]),
                         absent=float(f[9]), loaded=float(f[10])))
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
        print()


if __name__ == "__main__":
    main()
