#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Golden-output tests of vspacectl, on the host: a stand-in sysfs tree and
# /proc (mktree.sh) through VSPACE_SYSFS and VSPACE_PROC. Text, JSON and
# Prometheus output must equal the files in golden/; JSON must parse;
# errors must be one clear message with a non-zero exit; "apply" must
# change exactly what a good file says and nothing when a file is bad or
# a write fails. Prints TAP. UPDATE=1 rewrites the golden files.
cd "$(dirname "$0")" || exit 1
ctl=$(pwd)/../../userspace/vspacectl
golden=$(pwd)/golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export VSPACE_SYSFS=$tmp/t/sys VSPACE_PROC=$tmp/t/proc
n=0 failed=0

result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n vspacectl.$2"
	else
		echo "not ok $n vspacectl.$2"
		failed=$((failed + 1))
	fi
}

fresh() {
	rm -rf "$tmp/t"
	./mktree.sh "$tmp/t"
}

# golden NAME ARGS...: stdout must equal golden/NAME ("time" lines masked).
golden() {
	local name=$1 rc
	shift
	fresh
	"$ctl" "$@" 2>&1 | sed -E 's/("time": |^time )[0-9]+/\10/' >"$tmp/out"
	rc=${PIPESTATUS[0]}
	if [ -n "${UPDATE:-}" ]; then
		cp "$tmp/out" "$golden/$name"
	fi
	if [ "$rc" != 0 ] || ! diff -u "$golden/$name" "$tmp/out"; then
		result 1 "golden.$name"
		return
	fi
	case $name in
	*.json) python3 -m json.tool <"$tmp/out" >/dev/null; result $? "golden.$name" ;;
	*) result 0 "golden.$name" ;;
	esac
}

# fails NAME PATTERN ARGS...: non-zero exit, PATTERN in the message,
# nothing written (the tree is unchanged).
fails() {
	local name=$1 pattern=$2 rc
	shift 2
	fresh
	cp -a "$tmp/t" "$tmp/before"
	"$ctl" "$@" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc != 0 ] && grep -q -- "$pattern" "$tmp/out" &&
	   diff -r "$tmp/before" "$tmp/t" >/dev/null; then
		result 0 "error.$name"
	else
		echo "# exit $rc: $(cat "$tmp/out")"
		result 1 "error.$name"
	fi
	rm -rf "$tmp/before"
}

golden status.txt status
golden status.json -j status
golden vm-list.txt vm list
golden stats.txt stats
golden stats.json --json stats
golden stats.prom stats --prometheus
golden decisions.txt decisions
golden decisions.json -j decisions

fails unknown-command "unknown command 'frob'" frob
fails unknown-command-json '{"error": "unknown command' -j frob
fails bad-mode "unknown mode 'fast'" mode fast
fails bad-cpus "not a cpulist" cpus 3-1
fails bad-interval "interval must be" interval 5
fails wrong-vm "no managed VM 'nosuch'" slo nosuch 100
fails ambiguous-vm "more than one VM is named 'twin'" vm add twin
fails slo-range "slo_us must be a number" slo web1 10000001
fails weight-range "weight must be a number" weight 4242 0
fails latency-junk "latency_us must be a number" latency web1 1e3
fails stats-usage "usage: vspacectl stats" stats --watch
fails bad-config-key "unknown setting 'moed'" apply "$(pwd)/bad-key.conf"
fails bad-config-vm "weight must be 1..10000" apply "$(pwd)/bad-vm.conf"
fails config-missing "cannot read" apply /nonexistent.conf

# A good file changes what it says, by name.
fresh
if "$ctl" apply ../../userspace/vspace.conf.example >"$tmp/out" 2>&1 &&
   [ "$(cat "$VSPACE_SYSFS/mode")" = energy ] &&
   [ "$(cat "$VSPACE_SYSFS/cpus")" = 2-15 ] &&
   [ "$(cat "$VSPACE_SYSFS/vms/4242/weight")" = 400 ] &&
   [ "$(cat "$VSPACE_SYSFS/vms/4242/slo_us")" = 500 ] &&
   grep -q "batch" "$tmp/out"; then
	result 0 apply.good
else
	cat "$tmp/out"
	result 1 apply.good
fi

# A write that fails half-way (the VM's weight cannot be written, after
# every host setting) undoes the rest.
# Compared as the operator sees it: a stand-in file keeps what was written,
# "energy", where sysfs would show "performance [energy] resource".
fresh
rm "$VSPACE_SYSFS/vms/4242/weight"
mkdir "$VSPACE_SYSFS/vms/4242/weight"
"$ctl" -j status >"$tmp/before.json"
if grep -q '"mode": "energy"' "$tmp/before.json" &&
   ! "$ctl" apply ../../userspace/vspace.conf.example >"$tmp/out" 2>&1 &&
   grep -q "writing vms/4242/weight failed.*nothing was changed" "$tmp/out" &&
   "$ctl" -j status | diff "$tmp/before.json" -; then
	result 0 apply.rollback
else
	cat "$tmp/out"
	result 1 apply.rollback
fi

# Only one VM's line (the libvirt hook).
fresh
if "$ctl" apply --vm web1 ../../userspace/vspace.conf.example >/dev/null &&
   [ "$(cat "$VSPACE_SYSFS/vms/4242/weight")" = 400 ] &&
   [ "$(cat "$VSPACE_SYSFS/mode")" = "performance [energy] resource" ] &&
   [ "$(cat "$VSPACE_SYSFS/cpus")" = 0-7 ]; then
	result 0 apply.one-vm
else
	result 1 apply.one-vm
fi

# vspace-sim lays the groups out on a host of two nodes of four cores of
# two threads (siblings 8 apart): every decision's vm_cpus and io_cpus are
# whole cores, the VM group on node 0 (CPUs 0-3,8-11) and the I/O group
# on node 1 while each fits; with --smt-split the sizes are exact.
sim=../../userspace/vspace-sim
sim_cores() {
	python3 -c '
import sys
def cpus(t):
    s = set()
    for p in t.split(","):
        if p and p != "-":
            a, _, b = p.partition("-")
            s.update(range(int(a), int(b or a) + 1))
    return s
split = sys.argv[1] == "1"
bad = lines = 0
for line in sys.stdin:
    f = line.split()
    if line.startswith("#") or len(f) < 11:
        continue
    lines += 1
    vm, io = cpus(f[-2]), cpus(f[-1])
    node = lambda c: (c % 8) // 4
    ok = not vm & io and len(vm) + len(io) <= 16
    if split:
        ok = ok and len(vm) == int(f[1]) and len(io) == int(f[2])
    else:
        ok = ok and all((c ^ 8) in g for g in (vm, io) for c in g)
        if len(io) <= 8:
            ok = ok and all(node(c) == 1 for c in io)
        if len(vm) <= 8 and len(io) <= 8:
            ok = ok and all(node(c) == 0 for c in vm)
    if not ok:
        bad += 1
        print("# " + line.strip())
sys.exit(1 if bad or not lines else 0)' "$1"
}
if [ -x $sim ] &&
   $sim -t 2x4x2 -m energy ../../Documentation/examples/burst.csv | sim_cores 0 &&
   $sim -t 2x4x2 ../../Documentation/examples/burst.csv | sim_cores 0 &&
   $sim -t 2x4x2 --smt-split -m energy ../../Documentation/examples/burst.csv | sim_cores 1; then
	result 0 sim.topology
else
	result 1 sim.topology
fi

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ $failed = 0 ]
