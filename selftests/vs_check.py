#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""vs_check.py: check vspace against the kernel's own accounts.

  vs_check.py live           vspace's files agree with /proc and cgroups
  vs_check.py snap FILE      record every VM thread's affinity and nice
  vs_check.py same FILE [EXPECT]
                             every recorded thread still alive has the
                             recorded affinity and nice (or, for the tids
                             EXPECT lists as "tid cpulist nice", those)
  vs_check.py bound PID      the VM's placed vcpu and vhost threads are on
                             their groups' CPUs, and it has a vcpu
  vs_check.py nice TID       print the thread's nice level
  vs_check.py slab           live kmalloc and kernfs_node objects, after
                             dropping unused dentries
  vs_check.py layout SECS    sample vm_cpus and io_cpus for SECS against
                             sysfs's topology: no core split between the
                             groups (unless smt_split), each group fills
                             its node before it spills; prints
                             "samples layouts problems"
  vs_check.py layout-trace FILE
                             the same for every vspace:layout event in a
                             trace (every layout vspace made), against the
                             usable CPUs, smt_split and io_node of now
  vs_check.py cores          /proc: no core has a placed vCPU thread and a
                             placed vhost worker (unless smt_split)
  vs_check.py spread PID N   the VM's N vhost workers (/proc: threads
                             named vhost-PID) are spread over io_cpus
                             (/proc and sysfs topology): with 2 to as
                             many workers as io_cpus has cores, each on
                             a run of whole cores (its share, rounded
                             up), every core taken by one worker; else
                             each on all of io_cpus
  vs_check.py within A B     cpulist A is within cpulist B
  vs_check.py count A        how many CPUs cpulist A has

A "VM" is a process named vhost_vm or qemu-system-*; its threads are its
/proc/<pid>/task entries and, on kernels whose vhost workers are kernel
threads, the threads named vhost-<pid>.

live checks, for every vms/<pid>/threads line of a thread that exists:
its cpulist is /proc/<tid>/status's Cpus_allowed_list; a placed vcpu or
vhost thread is within its allowed CPUs and its group (vm_cpus, io_cpus);
no thread is outside the cpuset.cpus of a cgroup that sets them, unless
the kernel's own fallback moved it out (dmesg: "no longer affine"); the
thread belongs to the VM. And every thread of a managed VM older than a
second is listed. vspace rebinds every interval, so a difference counts
only if it survives a few re-reads. Problems go to stdout as "# " lines;
the exit code is 1 if there was one.
"""
import glob
import json
import os
import re
import subprocess
import sys
import time

V = "/sys/kernel/vspace"
CG = "/sys/fs/cgroup"
TRIES = 20     # 0.1 s apart: a few intervals even on a loaded TCG guest


def rd(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return None


def cpus(text):
    """A cpulist as a set of CPUs."""
    s = set()
    for part in (text or "").strip().split(","):
        if not part:
            continue
        a, _, b = part.partition("-")
        s.update(range(int(a), int(b or a) + 1))
    return s


def status_cpus(tid):
    st = rd("/proc/%s/status" % tid)
    if st is None:
        return None
    for line in st.splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return cpus(line.split(":", 1)[1])
    return None


def nice_of(tid):
    st = rd("/proc/%s/stat" % tid)
    if st is None:
        return None
    # comm may hold spaces ("CPU 0/KVM"): fields after the last ')'.
    return int(st.rsplit(")", 1)[1].split()[16])


def comm_of(tid):
    c = rd("/proc/%s/comm" % tid)
    return c.strip() if c is not None else None


_comms = None


def comms():
    """pid -> comm of every process, read once per run: a host has
    thousands, and under TCG each read costs."""
    global _comms
    if _comms is None:
        _comms = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                c = comm_of(d)
                if c is not None:
                    _comms[d] = c
    return _comms


_kcomms = None


def kthread_comms():
    """tid -> comm of the kernel's threads (kthreadd's children), where
    6.1's vhost workers are: hundreds to read, not the host's thousands."""
    global _kcomms
    if _kcomms is None:
        kids = rd("/proc/2/task/2/children")
        if kids is None:
            return comms()
        _kcomms = {}
        for t in kids.split():
            c = comm_of(t)
            if c is not None:
                _kcomms[t] = c
    return _kcomms


def vm_pids():
    return [p for p, c in comms().items()
            if c == "vhost_vm" or c.startswith("qemu-system")]


def vm_threads(pid):
    try:
        tids = os.listdir("/proc/%s/task" % pid)
    except OSError:
        tids = []
    want = "vhost-%s" % pid
    # Vhost kernel threads (6.1, kthread mode) are outside the process.
    tids += [t for t, c in kthread_comms().items()
             if c == want and t not in tids]
    return tids


_fell_back = None


def fell_back():
    """Threads the kernel itself moved out of their cpuset: when every CPU
    of a task's mask goes offline before its cpuset is updated, the
    scheduler's fallback gives it all possible CPUs and logs "process N
    (comm) no longer affine to cpuM" (seen on 6.12-rt). What the kernel
    last gave a thread is what vspace keeps and gives back."""
    global _fell_back
    if _fell_back is None:
        try:
            log = subprocess.run(["dmesg"], capture_output=True,
                                 text=True).stdout
        except OSError:
            log = ""
        _fell_back = set(re.findall(r"process (\d+) \(.*\) no longer "
                                    r"affine to cpu", log))
    return _fell_back


def cpuset_limit(tid):
    """The cpuset.cpus.effective of the nearest cgroup setting cpuset.cpus."""
    cg = rd("/proc/%s/cgroup" % tid)
    if cg is None:
        return None
    path = None
    for line in cg.splitlines():
        if line.startswith("0::"):
            path = line[3:]
    while path and path != "/":
        set_ = rd(CG + path + "/cpuset.cpus")
        if set_ and set_.strip():
            return cpus(rd(CG + path + "/cpuset.cpus.effective"))
        path = os.path.dirname(path)
    return None


def vm_groups():
    """Each kind's group; vhost shares the VM group when io_cpus is empty."""
    vm, io = cpus(rd(V + "/vm_cpus")), cpus(rd(V + "/io_cpus"))
    return {"vcpu": vm, "vhost": io or vm}


def parse_threads(text):
    rows = {}
    for line in (text or "").splitlines():
        f = line.split()
        if len(f) < 3:
            continue
        row = {"kind": f[1], "cpus": cpus(f[2]), "placed": True,
               "line": line}
        for tok in f[3:]:
            if tok.startswith("allowed="):
                row["allowed"] = cpus(tok[8:])
            elif tok.startswith("unplaced="):
                row["placed"] = False
        rows[f[0]] = row
    return rows


def cpuset_cpus(tid):
    """The cpuset.cpus (as written, offline CPUs included) of the nearest
    cgroup of @tid that sets them."""
    cg = rd("/proc/%s/cgroup" % tid)
    path = None
    for line in (cg or "").splitlines():
        if line.startswith("0::"):
            path = line[3:]
    while path and path != "/":
        set_ = rd(CG + path + "/cpuset.cpus")
        if set_ and set_.strip():
            return cpus(set_)
        path = os.path.dirname(path)
    return None


def is_vm(pid):
    c = comm_of(pid)
    return c is not None and (c == "vhost_vm" or c.startswith("qemu-system"))


def live_once(pid):
    """Problems of one VM now; None if the VM is gone."""
    text = rd("%s/vms/%s/threads" % (V, pid))
    if text is None:
        return None
    groups = vm_groups()
    if (rd(V + "/enabled") or "0").strip() != "1":
        groups = {}     # nothing is placed
    rows = parse_threads(text)
    probs = []
    try:
        mine = set(os.listdir("/proc/%s/task" % pid))
    except OSError:
        return None
    # Its vhost kernel threads (6.1): named after it, outside the process;
    # found once per run (a scan of every process), so only those are
    # checked for being listed.
    kthreads = set(vm_threads(pid)) - mine
    for tid, row in rows.items():
        real = status_cpus(tid)
        if real is None:
            continue
        if tid not in mine and comm_of(tid) != "vhost-%s" % pid:
            probs.append("vm %s lists %s (%s), not one of its threads"
                         % (pid, tid, comm_of(tid)))
        if real != row["cpus"]:
            probs.append("vm %s tid %s: vspace says %s, /proc %s"
                         % (pid, tid, sorted(row["cpus"]), sorted(real)))
        if row["kind"] in groups and row["placed"]:
            if "allowed" in row and not real <= row["allowed"]:
                probs.append("tid %s on %s outside allowed %s"
                             % (tid, sorted(real), sorted(row["allowed"])))
            if not real <= groups[row["kind"]]:
                probs.append("placed %s tid %s on %s outside its group %s"
                             ": '%s'"
                             % (row["kind"], tid, sorted(real),
                                sorted(groups[row["kind"]]), row["line"]))
        # A thread the kernel moved out of its cpuset stays out until the
        # cpuset is written again: vspace keeps what the kernel gave.
        lim = None if tid in fell_back() else cpuset_limit(tid)
        if lim is not None and lim and not real <= lim:
            probs.append("tid %s on %s outside its cpuset %s"
                         % (tid, sorted(real), sorted(lim)))
        # vspace's own belief, against the cgroup: what it would give
        # back must be within the cpuset (as written: offline CPUs stay),
        # or, while every CPU of it is offline, within the CPUs the kernel
        # falls back to (cgroup v2: the parent's effective CPUs).
        conf = None if tid in fell_back() else cpuset_cpus(tid)
        online = cpus(rd("/sys/devices/system/cpu/online") or "")
        fallback = conf and not conf & online and lim and \
            row.get("allowed", set()) <= lim
        if "allowed" in row and conf and not row["allowed"] <= conf and \
                not fallback:
            probs.append("tid %s allowed %s outside its cpuset.cpus %s"
                         % (tid, sorted(row["allowed"]), sorted(conf)))
        # Left out of its group for a reason that is not hotplug, it
        # sits at its allowed CPUs.
        if ("unplaced=outside" in row["line"] or
                "unplaced=nogroup" in row["line"]) and \
                real != row.get("allowed", real):
            probs.append("unplaced tid %s on %s, allowed %s"
                         % (tid, sorted(real), sorted(row["allowed"])))
    hz = os.sysconf("SC_CLK_TCK")
    up = float(rd("/proc/uptime").split()[0])
    for tid in mine | kthreads:
        st = rd("/proc/%s/stat" % tid)
        if st is None or tid in rows:
            continue
        f = st.rsplit(")", 1)[1].split()
        if f[0] in "ZX":
            continue
        if up - int(f[19]) / hz > 1.0:
            probs.append("vm %s: thread %s (%s) is not listed"
                         % (pid, tid, comm_of(tid)))
    return probs


def cmd_live():
    bad = 0
    for d in sorted(glob.glob(V + "/vms/[0-9]*")):
        pid = os.path.basename(d)
        probs = []
        for _ in range(TRIES):
            probs = live_once(pid)
            if not probs:
                break
            time.sleep(0.1)
        if not probs:
            continue
        # A VM that exited while we looked is vspace's to forget next
        # interval, not a problem.
        if not is_vm(pid):
            continue
        for p in probs[:10]:
            print("# live: " + p)
        bad = 1
    return bad


def cmd_snap(path):
    snap = {}
    for pid in vm_pids():
        for tid in vm_threads(pid):
            c, n = status_cpus(tid), nice_of(tid)
            if c is not None and n is not None:
                snap[tid] = {"pid": pid, "comm": comm_of(tid),
                             "cpus": sorted(c), "nice": n}
    with open(path, "w") as f:
        json.dump(snap, f)
    print("# snap: %d threads of %d VMs" % (len(snap), len(vm_pids())))
    return 0


def cmd_same(path, expect=None):
    with open(path) as f:
        snap = json.load(f)
    want = {}
    if expect:
        for line in open(expect):
            f = line.split()
            if len(f) == 3:
                want[f[0]] = (cpus(f[1]), int(f[2]))
    bad = seen = 0
    for tid, s in snap.items():
        real, n = status_cpus(tid), nice_of(tid)
        if real is None or n is None or comm_of(tid) != s["comm"]:
            continue
        seen += 1
        exp, exp_nice = want.get(tid, (set(s["cpus"]), s["nice"]))
        if real != exp or n != exp_nice:
            bad += 1
            if bad <= 10:
                print("# same: tid %s (%s): cpus %s nice %d, want %s nice %d"
                      % (tid, s["comm"], sorted(real), n, sorted(exp),
                         exp_nice))
    print("# same: %d threads checked, %d differ" % (seen, bad))
    return 1 if bad or not seen else 0


def cmd_bound(pid):
    rows = parse_threads(rd("%s/vms/%s/threads" % (V, pid)))
    groups = vm_groups()
    bad = vcpus = 0
    for tid, row in rows.items():
        real = status_cpus(tid)
        if row["kind"] not in groups or not row["placed"] or real is None:
            continue
        vcpus += row["kind"] == "vcpu"
        if not real <= groups[row["kind"]]:
            print("# bound: %s tid %s on %s, group %s"
                  % (row["kind"], tid, sorted(real),
                     sorted(groups[row["kind"]])))
            bad = 1
    if not vcpus:
        print("# bound: vm %s has no placed vcpu thread" % pid)
        bad = 1
    return bad


def topology():
    """Each online CPU's core (its SMT siblings) and node, from sysfs."""
    core, node = {}, {}
    for cpu in cpus(rd("/sys/devices/system/cpu/online")):
        sib = cpus(rd("/sys/devices/system/cpu/cpu%d/topology/"
                      "thread_siblings_list" % cpu) or str(cpu))
        core[cpu] = frozenset(sib)
        node[cpu] = 0
    for d in glob.glob("/sys/devices/system/node/node[0-9]*"):
        for cpu in cpus(rd(d + "/cpulist")):
            node[cpu] = int(os.path.basename(d)[4:])
    return core, node


def layout_once():
    """vm_cpus, io_cpus and the usable CPUs, read as one state: None if
    they changed while read."""
    names = ("cpus", "vm_cpus", "io_cpus", "smt_split", "io_node")
    a = [rd("%s/%s" % (V, n)) for n in names]
    b = [rd("%s/%s" % (V, n)) for n in names]
    if a != b or None in a:
        return None
    online = cpus(rd("/sys/devices/system/cpu/online"))
    return (cpus(a[0]) & online, cpus(a[1]), cpus(a[2]),
            a[3].strip() == "1", a[4].strip())


def layout_problems(core, node, st):
    """What is wrong with one layout: a core split between vm_cpus,
    io_cpus and the rest of the usable CPUs (unless smt_split), a group
    that spilled into another node before filling its own."""
    usable, vm, io, split, io_node = st
    probs = []
    if vm & io:
        probs.append("vm_cpus and io_cpus share %s" % sorted(vm & io))
    if not split:
        for cpu in sorted(usable):
            sib = core.get(cpu, frozenset([cpu])) & usable
            for g, name in ((vm, "vm"), (io, "io")):
                if (cpu in g) != (sib <= g):
                    probs.append("core %s split at the %s group's edge "
                                 "(vm %s io %s)" % (sorted(sib), name,
                                                    sorted(vm), sorted(io)))
                    break
    if usable and io:
        home = int(io_node) if io_node != "auto" else \
            max(node.get(c, 0) for c in usable)
        mine = {c for c in usable if node.get(c) == home}
        # The I/O group fills its node before it spills (if its node
        # has usable CPUs at all).
        if mine and io - mine and not mine <= io:
            probs.append("io_cpus %s spill off node %d before filling it"
                         % (sorted(io), home))
        # The VM group takes the other nodes before the I/O group's.
        others = usable - mine if mine else set()
        if vm & mine and others and not others <= vm | io:
            probs.append("vm_cpus %s on node %d with room elsewhere"
                         % (sorted(vm), home))
    return probs


def cmd_layout(seconds):
    """Sample the layout for SECONDS; print counts and problems."""
    core, node = topology()
    end = time.time() + float(seconds)
    n = skipped = bad = 0
    seen = set()
    while time.time() < end:
        st = layout_once()
        if st is None:
            skipped += 1
            continue
        n += 1
        seen.add((frozenset(st[1]), frozenset(st[2])))
        for p in layout_problems(core, node, st)[:3]:
            bad += 1
            if bad <= 10:
                print("# layout: " + p)
    print("# layout: %d samples (%d torn), %d distinct layouts, %d problems"
          % (n, skipped, len(seen), bad))
    print("%d %d %d" % (n, len(seen), bad))
    return 1 if bad else 0


def mask_cpus(hexmask):
    """A trace event's bitmask ("00000000,000000ff") as a set of CPUs."""
    v = int(hexmask.replace(",", "") or "0", 16)
    return {i for i in range(v.bit_length()) if v >> i & 1}


def cmd_layout_trace(path):
    """Every vspace:layout event in a trace file, checked like layout."""
    core, node = topology()
    st = layout_once()
    if st is None:
        print("# layout: vspace's files changed while read")
        return 1
    usable, _, _, split, io_node = st
    n = bad = 0
    seen = set()
    for line in open(path):
        if "layout:" not in line or " vm=" not in line:
            continue
        f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        vm, io = mask_cpus(f.get("vm", "")), mask_cpus(f.get("io", ""))
        conf = mask_cpus(f.get("confined", ""))
        n += 1
        seen.add((frozenset(vm), frozenset(io)))
        probs = layout_problems(core, node, (usable, vm, io, split, io_node))
        if conf - io:
            probs.append("confined %s outside io %s" % (sorted(conf),
                                                        sorted(io)))
        for p in probs[:3]:
            bad += 1
            if bad <= 10:
                print("# layout: " + p)
    print("# layout: %d events, %d distinct layouts, %d problems"
          % (n, len(seen), bad))
    print("%d %d %d" % (n, len(seen), bad))
    return 1 if bad or not n else 0


def retried(label, once):
    """0 once once() finds no problem, within TRIES re-reads (vspace
    rebinds every interval); else print the last problems, return 1."""
    probs = []
    for _ in range(TRIES):
        probs = once()
        if not probs:
            return 0
        time.sleep(0.1)
    for p in probs[:10]:
        print("# %s: %s" % (label, p))
    return 1


def cores_once(core):
    if (rd(V + "/smt_split") or "0").strip() == "1":
        return []
    usable = cpus(rd(V + "/cpus")) & cpus(
        rd("/sys/devices/system/cpu/online"))
    on = {"vcpu": set(), "vhost": set()}
    for d in glob.glob(V + "/vms/[0-9]*"):
        rows = parse_threads(rd(d + "/threads") or "")
        for tid, row in rows.items():
            real = status_cpus(tid)
            if real is not None and row["kind"] in on and row["placed"]:
                on[row["kind"]] |= real
    probs = []
    for cpu in sorted(on["vcpu"]):
        both = core.get(cpu, frozenset([cpu])) & usable & on["vhost"]
        if both:
            probs.append("core of CPU %d: vCPU threads on it, vhost "
                         "workers on %s" % (cpu, sorted(both)))
    return probs


def cmd_cores():
    """From /proc: no core has a placed vCPU thread and a placed vhost
    worker allowed on it (unless smt_split). Retried like live."""
    core, _ = topology()
    return retried("cores", lambda: cores_once(core))


def spread_once(core, pid, want):
    io = cpus(rd(V + "/io_cpus"))
    if cpus(rd(V + "/io_confined_cpus") or ""):
        return ["VMs are confined: io_cpus is split"]
    # The VM's vhost workers as the kernel names them, not as vspace
    # lists them.
    workers = sorted(t for t in vm_threads(pid)
                     if (comm_of(t) or "") == "vhost-%s" % pid)
    # The I/O group's units: its part of each core.
    units = sorted(set(frozenset(core.get(c, frozenset([c])) & io)
                       for c in io), key=min)
    per = dict((u, 0) for u in units)
    probs, n = [], 0
    whole = want < 2 or want > len(units)
    for tid in workers:
        real = status_cpus(tid)
        if real is None:
            continue
        n += 1
        if not real or not real <= io:
            probs.append("worker %s on %s, outside io_cpus %s"
                         % (tid, sorted(real), sorted(io)))
            continue
        if whole and real != io:
            probs.append("worker %s on %s, not all of io_cpus %s (%d "
                         "workers, %d cores)" % (tid, sorted(real),
                                                 sorted(io), want,
                                                 len(units)))
        mine = 0
        for u in units:
            if u & real and not u <= real:
                probs.append("worker %s on %s: part of core %s"
                             % (tid, sorted(real), sorted(u)))
            per[u] += bool(u & real)
            mine += bool(u & real)
        if not whole and mine > -(-len(units) // want):
            probs.append("worker %s on %s: %d of the %d cores for %d "
                         "workers" % (tid, sorted(real), mine, len(units),
                                      want))
    if n != want:
        probs.append("vm %s: %d vhost workers in /proc, want %d"
                     % (pid, n, want))
    if probs or not units:
        return probs or ["io_cpus empty"]
    counts = [per[u] for u in units]
    if not whole and counts != [1] * len(units):
        probs.append("%d workers on %d cores: a core shared or left out "
                     "(%s)" % (n, len(units), counts))
    return probs


def cmd_spread(pid, want):
    core, _ = topology()
    return retried("spread", lambda: spread_once(core, pid, int(want)))


def cmd_slab():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2")
    time.sleep(1)
    total = 0
    for line in open("/proc/slabinfo"):
        f = line.split()
        if len(f) > 1 and (f[0].startswith("kmalloc-") or
                           f[0] == "kernfs_node_cache"):
            total += int(f[1])
    print(total)
    return 0


def main():
    a = sys.argv[1:]
    if a[:1] == ["live"]:
        return cmd_live()
    if a[:1] == ["snap"] and len(a) == 2:
        return cmd_snap(a[1])
    if a[:1] == ["same"] and len(a) in (2, 3):
        return cmd_same(a[1], a[2] if len(a) == 3 else None)
    if a[:1] == ["bound"] and len(a) == 2:
        return cmd_bound(a[1])
    if a[:1] == ["nice"] and len(a) == 2:
        print(nice_of(a[1]))
        return 0
    if a[:1] == ["slab"]:
        return cmd_slab()
    if a[:1] == ["layout"] and len(a) == 2:
        return cmd_layout(a[1])
    if a[:1] == ["cores"]:
        return cmd_cores()
    if a[:1] == ["layout-trace"] and len(a) == 2:
        return cmd_layout_trace(a[1])
    if a[:1] == ["spread"] and len(a) == 3:
        return cmd_spread(a[1], a[2])
    if a[:1] == ["within"] and len(a) == 3:
        return 0 if cpus(a[1]) <= cpus(a[2]) else 1
    if a[:1] == ["count"] and len(a) == 2:
        print(len(cpus(a[1])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
