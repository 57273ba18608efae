#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""vspace against the default scheduler and static pinning, measured as the
field measures it (Documentation/evaluation.rst).

VMs (vhost_vm -S -B) pose as latency-critical servers: a vCPU thread does
each request's work, a real vhost-net worker moves its packets, more vCPU
threads burn in the background. With the lab's burn module loaded
(selftests/burn, "make eval" loads it) all that work is on-CPU burn that
runs in parallel in virtual time; elsewhere it spins on the thread's CPU
clock. reqclient, on the host side of the taps, sends open-loop Poisson
arrivals from a seed, each asking for a service time drawn uniformly
around a mean, and takes latency from the intended send time. CPU 0 is the
clients' and the harness's; the VMs get the others (the managed CPUs).

For every seed, every arm runs, in an order shuffled by the seed:

  default         no vspace; the VMs may run on any managed CPU
  static-pinning  as libvirt users pin: vCPUs on all managed CPUs but the
                  last, vhost workers and QEMU's other threads on the last
  static-pinning-aa  the same again: the A/A arm, which must agree
  static-split    vspace binding with a fixed I/O group of one CPU
  performance, energy, resource   vspace's modes

and measures: throughput at the SLO (per-VM p99 from the intended send,
the verdict on the worst VM, under 1% lost: the highest rate below the
first failing one, by a coarse sweep then bisection), then a fixed rate:
per-VM p50/p99/p99.9, busy and allowed core-seconds per CPU, a modelled
energy, preemptions and migrations, and the validity figure (the share of
the single instruction stream used by instruction-bound work: vhost, the
network stack, clients). Every VM's slo_us is set in the vspace arms.
Ratios against default and static pinning are paired by seed, with 95%
bootstrap intervals; a verdict only where the interval excludes 1.
Writes eval.json and eval.txt to the output directory.
"""
import argparse
import glob
import json
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

V = "/sys/kernel/vspace"
BURN = "/dev/vs_burn"
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
ARMS = ["default", "static-pinning", "static-pinning-aa", "static-split",
        "performance", "energy", "resource"]
BASELINES = ["default", "static-pinning"]
# The lab is valid while instruction-bound work takes under this share of
# the single stream every vCPU shares (lab-notes: burn runs in parallel,
# instructions do not).
VALID_INSN_SHARE = 0.10


def wr(name, val):
    with open(os.path.join(V, name), "w") as f:
        f.write(str(val))


def rd(name):
    with open(os.path.join(V, name)) as f:
        return f.read().strip()


def cpulist(s):
    out = []
    for part in filter(None, s.split(",")):
        a, _, b = part.partition("-")
        out += range(int(a), int(b or a) + 1)
    return out


def fmt_cpus(cpus):
    return ",".join(str(c) for c in cpus)


def vspace_binds(arm):
    return arm not in ("default", "static-pinning", "static-pinning-aa")


DECISION_FIELDS = ("time_ms mode old_vm old_io old_free vm io free vm_util_pct "
                   "io_util_pct vm_demand_mcpu io_demand_mcpu vm_p99_wait_us "
                   "io_p99_wait_us slo_missed confined reason").split()
DECISIONS_KEPT = 64     # what vspace's decisions file holds


def boot_ms():
    """The decisions file's clock."""
    return time.clock_gettime(time.CLOCK_BOOTTIME) * 1000


class DecisionLog:
    """vspace's decisions over one measurement, taken from the decisions
    file after each step (it keeps the last 64, oldest first), times in s
    from the start; the group sizes at the start, as the policy had them;
    and whether a step may have outrun the file."""

    def __init__(self):
        self.t0 = math.floor(boot_ms())
        self.decisions, self.truncated = [], False
        # What the file held before: the start, and what a read lines up
        # with (a line has no sequence number; a whole run of lines does).
        self.prev = self.lines()
        last = self.fields(self.prev[-1]) if self.prev else None
        self.start = {"vm": int(last["vm"]), "io": int(last["io"])} if last else None

    @staticmethod
    def lines():
        return [ln for ln in rd("decisions").splitlines() if ln and not ln.startswith("#")]

    @staticmethod
    def fields(line):
        f = line.split()
        assert len(f) == len(DECISION_FIELDS), line
        return dict(zip(DECISION_FIELDS, f))

    def read(self):
        cur = self.lines()
        # The longest tail of the last read that the file now starts with:
        # what is after it is new. None means the file moved on by all of
        # it: when it is full, some may have been lost.
        k = min(len(self.prev), len(cur))
        while k and self.prev[len(self.prev) - k:] != cur[:k]:
            k -= 1
        if self.prev and not k and len(cur) >= DECISIONS_KEPT:
            self.truncated = True
        for ln in cur[k:]:
            d = self.fields(ln)
            self.decisions.append({
                "t": round(max(0, int(d["time_ms"]) - self.t0) / 1000, 3),
                "old_vm": int(d["old_vm"]), "old_io": int(d["old_io"]),
                "vm": int(d["vm"]), "io": int(d["io"]), "free": int(d["free"]),
                "reason": d["reason"], "slo_missed": int(d["slo_missed"])})
        self.prev = cur
        if self.start is None and self.decisions:
            self.start = {"vm": self.decisions[0]["old_vm"], "io": self.decisions[0]["old_io"]}

    def now(self):
        return round((boot_ms() - self.t0) / 1000, 3)

    def result(self):
        start = self.start or {"vm": len(cpulist(rd("vm_cpus"))),
                               "io": len(cpulist(rd("io_cpus"))), "from_masks": True}
        return {"groups_at_start": start, "decisions": self.decisions,
                "decisions_truncated": self.truncated}


def setaff(tid, cpus):
    try:
        os.sched_setaffinity(tid, cpus)
    except OSError:
        pass  # exited


def vm_threads(pid):
    """(tid, comm) of a VM's threads, and its vhost kthreads (6.1)."""
    out = []
    for t in glob.glob(f"/proc/{pid}/task/*"):
        try:
            out.append((int(os.path.basename(t)), open(t + "/comm").read().strip()))
        except OSError:
            pass
    for p in glob.glob("/proc/[0-9]*"):
        try:
            comm = open(p + "/comm").read().strip()
        except OSError:
            continue
        if comm == f"vhost-{pid}" and int(os.path.basename(p)) != pid:
            out.append((int(os.path.basename(p)), comm))
    return out


def sched_counts(pid):
    pre = mig = 0
    for tid, _ in vm_threads(pid):
        try:
            for line in open(f"/proc/{tid}/sched"):
                k, _, v = line.partition(":")
                k = k.strip()
                if k == "nr_involuntary_switches":
                    pre += int(float(v))
                elif k == "se.nr_migrations":
                    mig += int(float(v))
        except OSError:
            pass
    return pre, mig


def cpu_idle_ns():
    """Idle (and iowait) time per CPU from /proc/stat, in ns. Busy time is
    taken as elapsed time less this: with NO_HZ the kernel measures idle
    exactly, while user and system time are sampled by the tick."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for line in open("/proc/stat"):
        f = line.split()
        if f[0].startswith("cpu") and f[0] != "cpu":
            out[int(f[0][3:])] = (int(f[4]) + int(f[5])) * 1e9 / tick
    return out


def busy_s(idle0, idle1, dt):
    """Busy seconds per CPU between two cpu_idle_ns() readings dt apart."""
    return {c: min(dt, max(0.0, dt - (idle1[c] - idle0[c]) / 1e9)) for c in idle1 if c in idle0}


def online_cpus():
    return cpulist(open("/sys/devices/system/cpu/online").read().strip())


def burn_counters():
    """The burn module's counters: burned_ns (requests and background),
    tx_burned_ns and tx_frames (the vhost workers' cost per frame); all 0
    without it."""
    try:
        f = open(BURN).read().split()
        return {k: int(v) for k, v in zip(f[::2], f[1::2])}
    except (OSError, ValueError):
        return {}


def burned_ns(c=None):
    """What the burn module has burnt so far (@c: counters already read),
    by vCPU threads and vhost workers alike: none of it is the single
    stream's."""
    c = burn_counters() if c is None else c
    return c.get("burned_ns", 0) + c.get("tx_burned_ns", 0)


def insn_share(busy, burn_s, dt):
    """The share of the single instruction stream that busy time which was
    not burn used: busy time of every CPU, less what was burnt, over the
    time elapsed. Interrupts on a burning CPU count as burn, so this is a
    lower bound for them; a vCPU waiting for its turn in TCG looks busy,
    which errs the other way."""
    return round(max(0.0, sum(busy.values()) - burn_s) / dt, 4)


def measure_insn_share(seconds):
    i0, burn0, t0 = cpu_idle_ns(), burned_ns(), time.monotonic()
    time.sleep(seconds)
    i1, burn1, dt = cpu_idle_ns(), burned_ns(), time.monotonic() - t0
    return insn_share(busy_s(i0, i1, dt), (burn1 - burn0) / 1e9, dt)


def geomean(xs):
    return math.exp(statistics.mean(math.log(x) for x in xs))


def host_record():
    """What the results depend on (the --kvm preflight; recorded always)."""
    def sh(*cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    def cat(path):
        try:
            return open(path).read().strip()
        except OSError:
            return None

    states = [{"name": cat(d + "/name"), "latency_us": cat(d + "/latency"),
               "disabled": cat(d + "/disable")}
              for d in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cpuidle/state*"))]
    return {"kernel": os.uname().release, "lscpu": sh("lscpu"),
            "online": cat("/sys/devices/system/cpu/online"),
            "smt_active": cat("/sys/devices/system/cpu/smt/active"),
            "governor": cat("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
            "cpuidle_driver": cat("/sys/devices/system/cpu/cpuidle/current_driver"),
            "cstates": states, "qemu": sh("qemu-system-x86_64", "--version"),
            "vspace": rd("version"), "rapl": bool(rapl_uj())}


def rapl_uj():
    """RAPL package energy counters (powercap), where the host has them."""
    out = {}
    for d in glob.glob("/sys/class/powercap/intel-rapl:*"):
        try:
            # Packages only: their subzones are inside their count, and
            # a platform (psys) zone contains the packages.
            if not open(d + "/name").read().startswith("package"):
                continue
            out[d] = (int(open(d + "/energy_uj").read()),
                      int(open(d + "/max_energy_range_uj").read()))
        except (OSError, ValueError):
            pass
    return out


def rapl_joules(before, after):
    total = 0
    for zone, (e0, wrap) in before.items():
        if zone in after:
            e1 = after[zone][0]
            total += e1 - e0 if e1 >= e0 else e1 + wrap - e0
    return round(total / 1e6, 2) if before else None


def bootstrap_ci(xs, seed=12345, n=2000):
    """95% percentile-bootstrap interval of the geometric mean of ratios
    @xs (resampling in logs, so A/B and B/A are mirror images)."""
    rng = random.Random(seed)
    logs = [math.log(x) for x in xs]
    means = sorted(statistics.mean(rng.choice(logs) for _ in logs) for _ in range(n))
    return math.exp(means[int(0.025 * n)]), math.exp(means[int(0.975 * n) - 1])


class Lab:
    def __init__(self, args):
        self.a = args
        self.online = online_cpus()
        self.ncpu = len(self.online)
        self.managed = [c for c in self.online if c != 0]
        self.vms = []   # (pid, Popen or None for a KVM guest, tap)
        self.scopes = []
        self.guests = []
        self.clients = set()
        self.fed = 0
        self.declog = None
        self.bin = args.bin or os.path.join(TOP, "selftests")

    def start_kvm_guests(self):
        """Real KVM guests (--kvm): QEMU with a vhost=on virtio-net NIC on a
        tap, reqserver inside doing each request's work; guests.sh runs
        them as libvirt does when VS_MACHINE_SLICE is set."""
        env = dict(os.environ,
                   GUEST_SERVER=os.path.join(self.bin, "reqserver"),
                   GUEST_SERVE=f"-b,{self.a.background},-c,{max(0, self.a.vcpus - 1)}")
        if self.a.guest_shape == "lab":
            # Nested under TCG: guests.sh's lab shape (1 vCPU, QEMU's irqchip).
            env["GUEST_IP"] = "10.99.0.1"
        else:
            env["GUEST_SMP"] = str(self.a.vcpus)
        if self.a.guest_kernel:
            env["GUEST_KERNEL"] = self.a.guest_kernel
        for i in range(self.a.vms):
            name = f"ev{i}"
            # Known before it exists: stopping one never started is a no-op.
            self.guests.append(name)
            out = subprocess.run([os.path.join(HERE, "kvm-guest.sh"), "start", name],
                                 env=env, capture_output=True, text=True,
                                 preexec_fn=lambda: os.sched_setaffinity(0, self.online))
            if out.returncode:
                raise RuntimeError(f"guest {name} did not come up: {out.stderr[-2000:]}")
            pid, tap = out.stdout.split()
            self.vms.append((int(pid), None, tap))

    def start_vms(self):
        if self.a.kvm:
            self.start_kvm_guests()
            return
        # On a production-shaped host (hostshape.sh), each VM in a
        # machine.slice scope and a session of its own, as libvirt runs QEMU.
        slice_ = os.environ.get("VS_MACHINE_SLICE")
        for i in range(self.a.vms):
            tap = f"evtap{i}"
            shape = []
            if slice_:
                scope = os.path.join(slice_, f"machine-qemu-{i + 1}-ev{i}.scope")
                os.makedirs(scope, exist_ok=True)
                self.scopes.append(scope)
                shape = ["-g", scope, "-s"]
            # -c: background vCPUs; the server is one more vCPU thread.
            # -C: each reply costs the VM's vhost worker burnt CPU time.
            cost = ["-C", str(self.a.io_cost_us)] if self.a.io_cost_us else []
            p = subprocess.Popen(
                [os.path.join(self.bin, "vhost_vm"), "-B", "-w", "0",
                 "-c", str(self.a.vcpus - 1), "-b", str(self.a.background),
                 "-S", str(self.a.work_us), "-i", tap] + cost + shape,
                stdout=subprocess.PIPE, text=True,
                # The VMs start on every CPU, not on the harness's.
                preexec_fn=lambda: os.sched_setaffinity(0, self.online))
            line = p.stdout.readline()
            if not line.startswith("ready"):
                # 4: the burn module, or its hook of the tap's send, is
                # not there (-C); 1: it could not be set (its slots full).
                sys.exit(f"vhost_vm did not start (exit {p.wait()}): {line!r}")
            self.vms.append((int(line.split()[1]), p, tap))
        time.sleep(0.5)

    def stop_vms(self):
        for name in self.guests:
            subprocess.run([os.path.join(HERE, "kvm-guest.sh"), "stop", name])
        for _, p, _ in self.vms:
            if p:
                p.kill()
                p.wait()
        for scope in self.scopes:
            # 6.1's vhost kthreads may take a moment to leave it.
            for _ in range(100):
                try:
                    os.rmdir(scope)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)

    def release(self):
        """Back to no policy: vspace off and every thread on every CPU."""
        wr("enabled", 0)
        for pid, _, _ in self.vms:
            try:
                wr("vms/remove", pid)
            except OSError:
                pass
            for tid, _ in vm_threads(pid):
                setaff(tid, self.online)

    def apply(self, arm):
        self.release()
        last = self.managed[-1]
        if arm == "default":
            for pid, _, _ in self.vms:
                for tid, _ in vm_threads(pid):
                    setaff(tid, self.managed)
            return
        if arm.startswith("static-pinning"):
            for pid, _, _ in self.vms:
                for tid, comm in vm_threads(pid):
                    vcpu = comm.startswith("CPU ") and comm.endswith("/KVM")
                    setaff(tid, self.managed[:-1] if vcpu else [last])
            return
        wr("io_cpus_min", 0)
        wr("cpus", fmt_cpus(self.managed))
        if arm == "static-split":
            wr("mode", "performance")
            wr("io_cpus_max", 1)
            wr("io_cpus_min", 1)
        else:
            wr("mode", arm)
            wr("io_cpus_max", max(1, len(self.managed) // 2))
            wr("io_cpus_min", 1)
        for pid, _, _ in self.vms:
            wr("vms/add", pid)
            # The SLO path of the policy runs in every vspace arm.
            wr(f"vms/{pid}/slo_us", self.vm_slo_us())
        wr("enabled", 1)

    def client_cmd(self, rate, secs, seed):
        return ["taskset", "-c", "0", os.path.join(self.bin, "reqclient"), "-p",
                "-s", str(seed), "-W", str(self.a.work_us), "-r", str(rate),
                "-d", str(secs)] + [t for _, _, t in self.vms]

    @staticmethod
    def parse(text, rate):
        """reqclient's output: per VM sent, replied, p50/p99/p99.9 (us)."""
        vms = []
        for line in text.splitlines():
            f = line.split()
            if f and f[0] == "tap":
                us = [None if x == "inf" else int(x) / 1000 for x in f[4:7]]
                vms.append({"sent": int(f[2]), "replied": int(f[3]),
                            "p50_us": us[0], "p99_us": us[1], "p999_us": us[2],
                            # How late the client itself sent (its CPU).
                            "max_send_lag_us": int(f[7]) / 1000})
        return {"rate": rate, "vms": vms,
                "worst_p99_us": None if any(v["p99_us"] is None for v in vms)
                else max(v["p99_us"] for v in vms)}

    def vm_slo_us(self):
        """What each VM's slo_us is set to. It bounds the p99 wakeup-to-run
        delay of the VM's threads, unless the application's own latency is
        fed through latency_us: then it bounds that, the request SLO."""
        return self.a.slo_us if self.a.latency_feed else self.a.wait_slo_us

    def start_client(self, arm, rate, secs, seed):
        """reqclient, printing each VM's p99 every 100 ms in every arm
        alike (so every arm's client costs the same); with --latency-feed
        in a vspace arm, those go to the VMs' latency_us."""
        feed = self.a.latency_feed and vspace_binds(arm)
        proc = subprocess.Popen(self.client_cmd(rate, secs, seed) + ["-i", "100"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        self.clients.add(proc)
        proc.feed = threading.Thread(target=self.feed, args=(proc, feed), daemon=True)
        proc.feed.start()
        return proc

    def feed(self, proc, write):
        """Drain the client's lines whatever happens, so it never blocks."""
        for line in proc.stderr:
            f = line.split()
            if not write or len(f) != 4 or f[0] != "lat":
                continue
            try:
                pid = self.vms[int(f[1])][0]
                wr(f"vms/{pid}/latency_us", min(int(f[2]) // 1000, 10000000))
                self.fed += 1
            except (OSError, ValueError, IndexError):
                pass

    def finish_client(self, proc, rate):
        out = proc.stdout.read()
        if proc.wait(timeout=60):
            raise RuntimeError(f"reqclient failed ({proc.returncode})")
        self.clients.discard(proc)
        proc.feed.join(timeout=10)
        r = self.parse(out, rate)
        # No request leaving at all is a broken setup (a tap down), not a
        # missed SLO. (One VM may draw no arrival in a short warm-up.)
        if len(r["vms"]) != len(self.vms) or not any(v["sent"] for v in r["vms"]):
            raise RuntimeError(f"requests could not be sent: {out!r}")
        return r

    def client(self, rate, secs, seed, arm="default"):
        return self.finish_client(self.start_client(arm, rate, secs, seed), rate)

    def meets(self, r):
        """The SLO verdict: every VM's p99 within it, under 1% lost."""
        return all(v["p99_us"] is not None and v["p99_us"] <= self.a.slo_us
                   and v["replied"] >= 0.99 * v["sent"] for v in r["vms"])

    def seconds(self, rate):
        """Long enough for every VM to have --min-samples requests."""
        return max(self.a.seconds, self.a.min_samples / rate)

    def check_vms(self):
        for pid, p, _ in self.vms:
            if p and p.poll() is not None:
                raise RuntimeError(f"VM {pid} died (exit {p.returncode})")
            if not p and not os.path.exists(f"/proc/{pid}"):
                raise RuntimeError(f"guest {pid} died")

    def probe(self, arm, rate, seed, log):
        t = self.declog.now() if self.declog else None
        self.client(rate, self.a.warmup, seed + 1000, arm)   # the policy adapts
        r = self.client(rate, self.seconds(rate), seed, arm)
        if self.declog:
            # What the policy did at this rate, warm-up included.
            self.declog.read()
            r["t"] = [t, self.declog.now()]
        self.check_vms()
        r["meets"] = self.meets(r)
        log.append(r)
        return r["meets"]

    def throughput_at_slo(self, arm, seed):
        """The highest rate below the first failing one: up the coarse
        sweep to the first failure, then bisection between."""
        log, lo, hi = [], 0, None
        for rate in self.a.rates:
            if self.probe(arm, rate, seed, log):
                lo = rate
            else:
                hi = rate
                break
        if hi is not None:
            for _ in range(self.a.bisect):
                mid = (lo + hi) // 2
                if mid <= lo or hi - lo <= self.a.resolution:
                    break
                if self.probe(arm, mid, seed, log):
                    lo = mid
                else:
                    hi = mid
        return lo, hi, log

    def sample_allowed(self, tids):
        """Managed CPUs some vCPU or vhost thread may run on: the others can
        sleep deep. (QEMU's other threads are not vspace's to place.)"""
        allowed = set()
        for tid in tids:
            try:
                allowed |= os.sched_getaffinity(tid)
            except OSError:
                pass
        return sorted(allowed & set(self.managed))

    def at_rate(self, arm, rate, seed):
        """The fixed rate: latency per VM, CPU time and allowed cores per
        CPU, modelled energy, validity, preemptions and migrations."""
        a = self.a
        t_settle = self.declog.now() if self.declog else None
        self.client(rate, a.settle, seed + 2000, arm)
        # The threads do not change during a run: found once, outside the
        # window, so the harness's instructions stay few (validity).
        tids = [tid for pid, _, _ in self.vms for tid, comm in vm_threads(pid)
                if (comm.startswith("CPU ") and comm.endswith("/KVM"))
                or comm.startswith("vhost-")]
        before = [sched_counts(pid) for pid, _, _ in self.vms]
        io0 = burn_counters()
        i0, burn0, t0 = cpu_idle_ns(), burned_ns(io0), time.monotonic()
        rapl0 = rapl_uj()
        samples = []
        proc = self.start_client(arm, rate, self.seconds(rate), seed)
        while proc.poll() is None:
            # Every arm samples alike, so the sampler costs each the same.
            samples.append({"t": round(time.monotonic() - t0, 2),
                            "allowed": self.sample_allowed(tids),
                            "free": len(cpulist(rd("free_cpus")))})
            time.sleep(0.25)
        r = self.finish_client(proc, rate)
        r["meets"] = self.meets(r)
        dt = time.monotonic() - t0
        io1 = burn_counters()
        i1, burn1 = cpu_idle_ns(), burned_ns(io1)
        rapl = rapl_joules(rapl0, rapl_uj())
        after = [sched_counts(pid) for pid, _, _ in self.vms]
        if self.declog:
            self.declog.read()
            r["t"] = [t_settle, self.declog.now()]   # settling included
        self.check_vms()
        busy = busy_s(i0, i1, dt)
        burn_s = (burn1 - burn0) / 1e9
        allowed_s = {c: dt * sum(c in s["allowed"] for s in samples) / max(1, len(samples))
                     for c in self.managed}
        joules = 0.0
        for c in self.managed:
            active = busy[c]
            idle = dt - active
            # Idle on a core some VM thread may use is shallow (it may be
            # woken any moment); the time it was allowed but busy is not.
            shallow = min(idle, max(0.0, allowed_s[c] - active))
            joules += (active * a.watts_active + shallow * a.watts_shallow
                       + (idle - shallow) * a.watts_deep)
        r.update({
            "seconds": round(dt, 3),
            "busy_core_s": round(sum(busy[c] for c in self.managed), 3),
            "busy_core_s_per_cpu": {c: round(busy[c], 3) for c in sorted(busy)},
            "allowed_core_s": round(sum(allowed_s.values()), 3),
            "model_joules": round(joules, 2),
            # Measured, on a host with RAPL: the whole package, not only
            # the managed CPUs.
            "rapl_joules": rapl,
            "burn_s": round(burn_s, 3),
            # --io-cost-us: what the vhost workers burnt, and for how many
            # frames (part of burn_s).
            "io_burn_s": round((io1.get("tx_burned_ns", 0) - io0.get("tx_burned_ns", 0)) / 1e9, 3),
            "io_frames": io1.get("tx_frames", 0) - io0.get("tx_frames", 0),
            "insn_share": insn_share(busy, burn_s, dt),
            "preemptions_per_s": round(sum(x[0] - y[0] for x, y in zip(after, before)) / dt, 1),
            "migrations_per_s": round(sum(x[1] - y[1] for x, y in zip(after, before)) / dt, 1),
            "samples": samples,
        })
        return r

    def measure(self, arm, seed):
        res = {"arm": arm, "seed": seed}
        if vspace_binds(arm):
            # What the policy was told, read back from vspace.
            res["slo_us_read"] = [int(rd(f"vms/{pid}/slo_us")) for pid, _, _ in self.vms]
        self.fed = 0
        # What vspace's policy changes while measured, and why.
        self.declog = DecisionLog() if vspace_binds(arm) else None
        lo, hi, log = self.throughput_at_slo(arm, seed)
        res.update({"throughput_at_slo": lo, "first_failing": hi, "probes": log})
        res["fixed"] = self.at_rate(arm, self.a.fixed_rate, seed)
        res["latency_us_writes"] = self.fed
        if self.declog:
            res.update(self.declog.result())
            res["seconds"] = self.declog.now()
        return res


def ratios(runs, arm, base, key, slo_met_only):
    """Per seed, @arm's @key over @base's (both on the same seed); how many
    seeds had no ratio (a lost p99, a zero or a capped value); and, for
    what costs energy or cores, seeds left out because an arm missed the
    SLO at the fixed rate (saving by missing it is no saving)."""
    by = {(r["arm"], r["seed"]): r for r in runs}
    out, dropped, excluded = [], 0, 0
    for (a, s), r in sorted(by.items()):
        b = by.get((base, s))
        if a != arm or not b:
            continue
        if slo_met_only and not (r["fixed"]["meets"] and b["fixed"]["meets"]):
            excluded += 1
            continue
        x, y = key(r), key(b)
        if x and y:
            out.append(x / y)
        else:
            dropped += 1
    return out, dropped, excluded


def capped_or(value, run):
    """A throughput no sweep rate failed at is a lower bound, not a value."""
    return None if run["first_failing"] is None else value


# name: (value of a run, only over seeds where both arms met the SLO)
KEYS = {
    "throughput_at_slo": (lambda r: capped_or(r["throughput_at_slo"], r), False),
    "worst_p99_at_fixed": (lambda r: r["fixed"]["worst_p99_us"], False),
    "model_joules_at_fixed": (lambda r: r["fixed"]["model_joules"], True),
    "allowed_core_s_at_fixed": (lambda r: r["fixed"]["allowed_core_s"], True),
}
# Fewer paired seeds than this give an interval but no verdict.
MIN_SEEDS_FOR_VERDICT = 5


def summarize(runs, arms):
    out = {"arms": {}, "ratios": {}}
    for arm in arms:
        rs = [r for r in runs if r["arm"] == arm]
        if not rs:
            continue
        f = [r["fixed"] for r in rs]
        p99 = [x["worst_p99_us"] for x in f if x["worst_p99_us"] is not None]
        out["arms"][arm] = {
            "seeds": len(rs),
            "throughput_at_slo_mean": round(statistics.mean(r["throughput_at_slo"] for r in rs), 1),
            "throughput_capped": sum(r["first_failing"] is None for r in rs),
            "worst_p99_us_median": round(statistics.median(p99), 1) if p99 else None,
            "lost_runs": len(f) - len(p99),
            "busy_core_s_mean": round(statistics.mean(x["busy_core_s"] for x in f), 3),
            "allowed_core_s_mean": round(statistics.mean(x["allowed_core_s"] for x in f), 3),
            "model_joules_mean": round(statistics.mean(x["model_joules"] for x in f), 2),
            "insn_share_max": max(x["insn_share"] for x in f),
            "io_burn_s_mean": round(statistics.mean(x.get("io_burn_s", 0) for x in f), 3),
        }
        if all("decisions" in r for r in rs):
            reasons = {}
            for r in rs:
                for d in r["decisions"]:
                    for why in d["reason"].split("+"):
                        reasons[why] = reasons.get(why, 0) + 1
            out["arms"][arm].update({
                "decisions_per_min": round(60 * sum(len(r["decisions"]) for r in rs)
                                           / sum(r["seconds"] for r in rs), 1),
                "decision_reasons": dict(sorted(reasons.items())),
                "decisions_truncated": sum(r["decisions_truncated"] for r in rs)})
    for base in BASELINES:
        for arm in arms:
            if arm == base:
                continue
            for name, (key, slo_only) in KEYS.items():
                xs, dropped, excluded = ratios(runs, arm, base, key, slo_only)
                if not xs:
                    continue
                lo, hi = bootstrap_ci(xs)
                if dropped:
                    # A seed where one arm lost or hit zero is a result the
                    # ratios cannot hold: no verdict rather than a biased one.
                    verdict = "lost on some seeds"
                elif len(xs) < MIN_SEEDS_FOR_VERDICT:
                    verdict = "too few seeds"
                else:
                    verdict = ("not separable" if lo <= 1 <= hi else
                               "higher" if lo > 1 else "lower")
                out["ratios"][f"{arm}/{base}:{name}"] = {
                    "n": len(xs), "dropped": dropped, "slo_missed": excluded,
                    "geomean": round(geomean(xs), 3),
                    "ci95": [round(lo, 3), round(hi, 3)], "verdict": verdict}
    aa = out["ratios"].get("static-pinning-aa/static-pinning:throughput_at_slo")
    if aa:
        aa["agrees_within_2pct"] = 0.98 <= aa["geomean"] <= 1.02
    shares = [r["fixed"]["insn_share"] for r in runs]
    out["validity"] = {"insn_share_max": max(shares) if shares else None,
                       "limit": VALID_INSN_SHARE,
                       "valid": bool(shares) and max(shares) <= VALID_INSN_SHARE}
    return out


def table(summary, args, burn):
    v = summary["validity"]
    lines = [
        f"{args.vms} {'KVM guests' if args.kvm else 'VMs'} of {args.vcpus} vCPU threads "
        f"on {args.managed} managed CPUs; "
        f"requests: Poisson, work uniform in [0.5, 1.5] x {args.work_us} us "
        f"({'a calibrated loop in the guests' if args.kvm else 'burn' if burn else 'spin on the thread CPU clock'}); "
        f"background vCPUs at {args.background}%",
        f"SLO: every VM's p99 <= {args.slo_us} us (from the intended send), "
        f"under 1% lost; fixed rate {args.fixed_rate}/s per VM; seeds: {args.seeds}",
        ("slo_us: the request SLO, against each VM's p99 fed to latency_us every 100 ms"
         if args.latency_feed else
         f"slo_us: {args.wait_slo_us} us of p99 wakeup-to-run delay (no latency feed)"),
        ("validity: real KVM guests (--kvm), no single stream to share"
         if args.kvm else
         f"validity: instruction-bound work took at most {v['insn_share_max']} of "
         f"the single stream (limit {v['limit']}): "
         f"{'valid' if v['valid'] else 'NOT VALID'} "
         f"({v.get('insn_share_no_requests')} with no requests)"),
        "energy: a model (active {0} W, shallow idle {1} W, deep idle {2} W per core), "
        "not a measurement".format(args.watts_active, args.watts_shallow, args.watts_deep),
    ]
    if args.io_cost_us:
        io = [a["io_burn_s_mean"] for a in summary["arms"].values()]
        lines.append(f"vhost: each reply costs its VM's vhost worker {args.io_cost_us} us "
                     f"(burn); at the fixed rate the workers burnt {min(io)} to "
                     f"{max(io)} core-s per arm (mean over seeds)")
    lines += [
        "",
        f"{'arm':<18} {'thr@SLO':>8} {'p99 us':>9} {'busy c-s':>9} {'allowed c-s':>11} "
        f"{'model J':>8} {'insn':>6}"]
    for arm, s in summary["arms"].items():
        p99 = "lost" if s["worst_p99_us_median"] is None else f"{s['worst_p99_us_median']:.0f}"
        thr = ("≥" if s["throughput_capped"] else "") + str(s["throughput_at_slo_mean"])
        lines.append(f"{arm:<18} {thr:>8} {p99:>9} "
                     f"{s['busy_core_s_mean']:>9.2f} {s['allowed_core_s_mean']:>11.2f} "
                     f"{s['model_joules_mean']:>8.1f} {s['insn_share_max']:>6.3f}")
    dec = [f"  {arm:<16} {s['decisions_per_min']:>5}/min  "
           + (" ".join(f"{k} {v}" for k, v in s["decision_reasons"].items()) or "none")
           + (f"  (at least: {s['decisions_truncated']} runs outran the file's 64)"
              if s["decisions_truncated"] else "")
           for arm, s in summary["arms"].items() if "decisions_per_min" in s]
    if dec:
        lines += ["", "vspace's decisions while measured, sweep and fixed rate "
                  "(all seeds; reason counts):"] + dec
    lines += ["", "paired ratios (geometric mean over seeds, 95% bootstrap interval; "
              "throughput only where a sweep rate failed):"]
    for k, r in summary["ratios"].items():
        extra = ""
        if "agrees_within_2pct" in r:
            extra = "  A/A " + ("agrees" if r["agrees_within_2pct"] else "DISAGREES")
        drop = f" ({r['dropped']} seeds without a ratio)" if r["dropped"] else ""
        if r["slo_missed"]:
            drop += f" ({r['slo_missed']} seeds left out: SLO missed)"
        lines.append(f"  {k:<58} {r['geomean']:>6} [{r['ci95'][0]}, {r['ci95'][1]}] "
                     f"{r['verdict']}{extra}{drop}")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--bin", help="where vhost_vm and reqclient are "
                    "(default: selftests/; the lab copies them to tmpfs)")
    ap.add_argument("--vms", type=int, default=5)
    ap.add_argument("--vcpus", type=int, default=3, help="vCPU threads per VM")
    ap.add_argument("--work-us", type=int, default=3000,
                    help="mean service time of a request")
    ap.add_argument("--background", type=int, default=40,
                    help="%% duty of the background vCPUs")
    ap.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")],
                    default=[25, 50, 100, 150, 200, 250, 300])
    ap.add_argument("--bisect", type=int, default=3)
    ap.add_argument("--resolution", type=int, default=10)
    ap.add_argument("--fixed-rate", type=int, default=50)
    ap.add_argument("--slo-us", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--settle", type=float, default=3,
                    help="seconds at the fixed rate before measuring")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--arms", default=",".join(ARMS), help="any of " + ",".join(ARMS))
    ap.add_argument("--interval-ms", type=int, default=100,
                    help="vspace's interval_ms during the run")
    ap.add_argument("--watts-active", type=float, default=8.0)
    ap.add_argument("--watts-shallow", type=float, default=2.0)
    ap.add_argument("--watts-deep", type=float, default=0.3)
    ap.add_argument("--quick", action="store_true",
                    help="development: 2 seeds, short runs, one bisection step")
    ap.add_argument("--kvm", action="store_true",
                    help="real KVM guests (QEMU, virtio-net vhost=on, reqserver "
                    "inside) instead of vhost_vm: a real host")
    ap.add_argument("--guest-shape", choices=("host", "lab"), default="host",
                    help="--kvm guests: -cpu host with --vcpus vCPUs, or the "
                    "nested lab's 1-vCPU shape (guests.sh)")
    ap.add_argument("--guest-kernel", help="--kvm guests' kernel "
                    "(default: guests.sh's, the running one)")
    ap.add_argument("--wait-slo-us", type=int,
                    help="each VM's slo_us (its threads' p99 wakeup-to-run delay) "
                    "in the vspace arms, without --latency-feed (default: a "
                    "tenth of --slo-us)")
    ap.add_argument("--latency-feed", action="store_true",
                    help="the second setting: each VM's p99 of every 100 ms is "
                    "written to its latency_us, and slo_us is the request SLO")
    ap.add_argument("--io-cost-us", type=int, default=0,
                    help="the third setting: each reply costs its VM's vhost "
                    "worker this many us of burnt CPU time (the packets of a "
                    "large response; the burn module's VS_BURN_TX_COST), so "
                    "vhost work takes CPU time from what shares its CPUs")
    ap.add_argument("--min-samples", type=int, default=200,
                    help="requests per VM a measurement takes at least "
                    "(a low rate runs longer)")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.seconds, args.warmup, args.settle = 2, 1.5, 0.5, 1
        args.bisect, args.min_samples = 1, 50
    args.rates = sorted(set(args.rates))
    if args.wait_slo_us is None:
        args.wait_slo_us = args.slo_us // 10
    # The burn module keeps a cost for at most 16 processes.
    if args.io_cost_us and (args.kvm or not os.path.exists(BURN) or args.vms > 16
                            or not 0 < args.io_cost_us <= 100000):
        sys.exit("--io-cost-us needs the burn module, no --kvm, at most 16 VMs "
                 "and 1 to 100000 us")
    arms = args.arms.split(",")
    if any(a not in ARMS for a in arms):
        sys.exit(f"arms are {','.join(ARMS)}")
    # A timeout's SIGTERM must still restore vspace and stop the VMs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("eval.py: terminated"))
    # The harness runs on the clients' CPU, off the managed ones.
    os.sched_setaffinity(0, [0])

    os.makedirs(args.out, exist_ok=True)
    lab = Lab(args)
    if len(lab.managed) < 3:
        sys.exit("the evaluation needs 4 CPUs or more")
    args.managed = len(lab.managed)
    burn = os.path.exists(BURN) and not args.kvm
    host = host_record()
    saved = {k: rd(k) for k in ("enabled", "cpus", "io_cpus_min", "io_cpus_max",
                                "interval_ms", "mode")}
    # mode reads "performance [energy] resource": the bracketed one.
    saved["mode"] = re.search(r"\[(\w+)\]", saved["mode"]).group(1)
    runs, idle_share = [], None

    def write(final):
        summary = summarize(runs, arms) if runs else {}
        if summary:
            summary["validity"]["insn_share_no_requests"] = idle_share
            if args.kvm:
                # Real guests on real CPUs: there is no single stream.
                summary["validity"]["valid"] = None
        result = {"config": {k: v for k, v in vars(args).items() if k not in ("out", "bin")},
                  "kernel": os.uname().release, "cpus": lab.online, "burn": burn,
                  "kvm": args.kvm, "host": host, "taps": [t for _, _, t in lab.vms],
                  "complete": final, "managed_cpus": lab.managed,
                  "summary": summary, "runs": runs}
        with open(os.path.join(args.out, "eval.json"), "w") as f:
            json.dump(result, f, indent=1)
        return summary

    try:
        wr("interval_ms", args.interval_ms)
        lab.start_vms()
        # What the lab costs in instructions with no requests: the VMs'
        # background, the ticks, the harness asleep.
        lab.apply("default")
        idle_share = measure_insn_share(2)
        print(f"# no requests: insn share {idle_share}", flush=True)
        for seed in range(1, args.seeds + 1):
            order = arms[:]
            random.Random(seed).shuffle(order)
            for arm in order:
                lab.apply(arm)
                time.sleep(1)
                r = lab.measure(arm, seed)
                runs.append(r)
                write(False)   # a later failure keeps what was measured
                f = r["fixed"]
                print(f"# seed {seed} {arm}: thr@SLO {r['throughput_at_slo']}/s "
                      f"(fails at {r['first_failing']}), fixed: worst p99 "
                      f"{f['worst_p99_us']} us, busy {f['busy_core_s']} core-s, "
                      f"allowed {f['allowed_core_s']} core-s, insn share {f['insn_share']}",
                      flush=True)
    finally:
        # Cleanup runs to the end: a second SIGTERM must not cut it short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for proc in list(lab.clients):
            proc.kill()
        # Each step on its own: one failing must not skip the others.
        for step in (lab.release, lab.stop_vms, lambda: wr("io_cpus_min", 0)):
            try:
                step()
            except OSError as e:
                print(f"# cleanup: {e}", file=sys.stderr)
        for k in ("cpus", "io_cpus_max", "io_cpus_min", "interval_ms", "mode",
                  "enabled"):
            try:
                wr(k, saved[k])
            except OSError as e:
                print(f"# restoring {k}: {e}", file=sys.stderr)
    summary = write(True)
    text = table(summary, args, burn)
    with open(os.path.join(args.out, "eval.txt"), "w") as f:
        f.write(text)
    print(text, end="")


if __name__ == "__main__":
    main()
