#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vspacectl, the libvirt hook and the bpftrace scripts against the real
# module:
#   - every command, in text and JSON, and its effect read back from sysfs;
#   - bad input (unknown command, wrong VM, out-of-range value, a cpulist
#     the kernel refuses), non-root and module not loaded: a clear message,
#     a non-zero exit, nothing written;
#   - apply: a good file takes effect; one bad entry, or a value the kernel
#     refuses half-way, changes nothing;
#   - the libvirt hook, called as libvirt calls it, registers a real nested
#     KVM guest and applies its metadata or its vspace.conf line;
#   - the bpftrace scripts run, and the placement map shows the managed
#     tids only on their group's CPUs.
# Exit 4 (skip) without root or vspace.
cd "$(dirname "$0")" || exit 1
. ./tap.sh
. ./guests.sh

V=/sys/kernel/vspace
ctl=$(pwd)/../userspace/vspacectl
hook=$(pwd)/../userspace/libvirt/vspace-hook
bt=$(pwd)/../userspace/bpftrace

[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -d $V ] || skip_all "vspace is not loaded"
[ -x "$ctl" ] || skip_all "build userspace/vspacectl first"

slow=$(vs_slow)
tmp=$(mktemp -d)
saved=()
for f in enabled interval_ms cpus io_cpus_max io_cpus_min isolation; do
	saved+=("$f=$(cat $V/$f)")
done
saved_mode=$(sed 's/.*\[\(.*\)\].*/\1/' $V/mode)
vmpid= vmchild= vmscope=
cleanup() {
	local j
	# (Reaped here, so that bash does not report it killed.)
	[ -n "$vmchild" ] && { kill -9 "$vmchild"; wait "$vmchild"; } 2>/dev/null
	# A bpftrace still attached (a timeout ended us) would hold vspace.
	# Its timeout leads a process group of its own: after 10 s, the
	# group is killed.
	j=$(jobs -rp)
	if [ -n "$j" ]; then
		# shellcheck disable=SC2086
		kill $j 2>/dev/null
		for _ in $(seq 50); do
			[ -z "$(jobs -rp)" ] && break
			sleep 0.2
		done
		for j in $(jobs -rp); do kill -KILL -- "-$j" "$j"; done 2>/dev/null
		wait
	fi
	if [ -n "$vmscope" ]; then
		for _ in $(seq 50); do rmdir "$vmscope" 2>/dev/null || [ ! -d "$vmscope" ] && break; sleep 0.1; done
	fi
	guest_stop h1
	guest_stop h2
	echo 0 >$V/io_cpus_min 2>/dev/null
	for kv in "${saved[@]}"; do echo "${kv#*=}" >"$V/${kv%%=*}" 2>/dev/null; done
	echo "$saved_mode" >$V/mode 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "TAP version 13"

# runs NAME CMD...: exit 0; the output is kept in $tmp/out.
runs() {
	local name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		ok "$name"
	else
		echo "# $(head -c 300 "$tmp/out")"
		not_ok "$name"
	fi
}

# The settings and VMs, without what the policy changes on its own.
settings() {
	"$ctl" -j status | python3 -c '
import json, sys
s = json.load(sys.stdin)
for k in ("vm_cpus", "io_cpus", "free_cpus"):
    s.pop(k)
for v in s["vms"]:
    for k in ("slo_missed", "confined", "drifts", "threads"):
        v.pop(k, None)
print(json.dumps(s, sort_keys=True))'
}

# refused NAME PATTERN CMD...: non-zero exit, PATTERN in the message, and
# the settings and VMs as they were.
refused() {
	local name=$1 pattern=$2 rc
	shift 2
	settings >"$tmp/before"
	"$@" >"$tmp/out" 2>&1
	rc=$?
	settings >"$tmp/after"
	if [ $rc != 0 ] && grep -q -- "$pattern" "$tmp/out" &&
	   diff -q "$tmp/before" "$tmp/after" >/dev/null; then
		ok "$name"
	else
		echo "# exit $rc: $(head -c 300 "$tmp/out")"
		diff "$tmp/before" "$tmp/after" | head -5 | sed 's/^/# /'
		not_ok "$name"
	fi
}

json_ok() { python3 -m json.tool <"$tmp/out" >/dev/null; }

# A VM with a name (QEMU's -name guest=...), 2 vCPUs and a vhost worker;
# on a production-shaped host (hostshape.sh) in a scope and session of its own.
shape=()
if [ -n "${VS_MACHINE_SLICE:-}" ]; then
	vmscope=$VS_MACHINE_SLICE/machine-qemu-1-lab-vm1.scope
	mkdir -p "$vmscope"
	shape=(-g "$vmscope" -s)
fi
./vhost_vm -w 1 -c 2 "${shape[@]}" -- -name guest=lab-vm1,debug-threads=on >"$tmp/vm.out" &
vmchild=$!
for _ in $(seq $((50 * slow))); do grep -q ready "$tmp/vm.out" && break; sleep 0.1; done
vmpid=$(awk '/ready/ { print $2 }' "$tmp/vm.out")
[ -n "$vmpid" ] || { not_ok "vhost_vm started"; echo "1..$n"; exit 1; }

echo performance >$V/mode
runs status "$ctl" status
check status.text grep -q "^mode performance" "$tmp/out"
runs status.json "$ctl" -j status
check status.json.parses json_ok
runs enable "$ctl" enable
check enable.effect [ "$(cat $V/enabled)" = 1 ]
runs mode "$ctl" mode energy
check mode.effect grep -q '\[energy\]' $V/mode
runs interval "$ctl" -j interval 50
check interval.effect [ "$(cat $V/interval_ms)" = 50 ]
runs cpus "$ctl" cpus "$(cat /sys/devices/system/cpu/online)"
runs vm.add.by-name "$ctl" vm add lab-vm1
check vm.add.effect [ -d "$V/vms/$vmpid" ]
runs vm.list "$ctl" -j vm list
check vm.list.shows grep -q "\"pid\": $vmpid, \"name\": \"lab-vm1\"" "$tmp/out"
runs slo "$ctl" slo lab-vm1 500
check slo.effect [ "$(cat "$V/vms/$vmpid/slo_us")" = 500 ]
runs weight "$ctl" weight "$vmpid" 300
check weight.effect [ "$(cat "$V/vms/$vmpid/weight")" = 300 ]
runs latency "$ctl" latency lab-vm1 800
runs stats "$ctl" stats
check stats.text grep -q "vm_util_pct" "$tmp/out"
runs stats.json "$ctl" -j stats
check stats.json.parses json_ok
runs stats.prometheus "$ctl" stats --prometheus
check stats.prometheus.families grep -q "^# TYPE vspace_group_util_pct gauge" "$tmp/out"
check stats.prometheus.vm grep -q "^vspace_vm_runtime_ns_total{pid=\"$vmpid\",name=\"lab-vm1\"} [0-9]" "$tmp/out"
runs stats.prometheus.file "$ctl" stats --prometheus --output "$tmp/vspace.prom"
check stats.prometheus.file.whole grep -q "vspace_vm_confined" "$tmp/vspace.prom"
timeout $((2 * slow)).5 "$ctl" -j stats --watch 1 >"$tmp/out"
check stats.watch [ "$(grep -c '"groups"' "$tmp/out")" -ge 2 ]
runs decisions "$ctl" -j decisions
check decisions.json json_ok
check decisions.has-mode grep -q '"reason": "[a-z+]*mode' "$tmp/out"

refused unknown-command "unknown command" "$ctl" frobnicate
refused wrong-vm "no managed VM" "$ctl" slo no-such-vm 100
refused dead-pid "no managed VM '999999'" "$ctl" weight 999999 100
refused out-of-range "weight must be" "$ctl" weight lab-vm1 10001
refused bad-mode "unknown mode" "$ctl" -j mode turbo
refused kernel-refuses "invalid value" "$ctl" cpus 0-4095
refused vm-add-not-a-vm "not a VM" "$ctl" vm add $$
refused non-root "needs root" setpriv --reuid=65534 --regid=65534 --clear-groups "$ctl" mode performance

# apply: good, one bad entry, and a value only the kernel can refuse.
online=$(cat /sys/devices/system/cpu/online)
cat >"$tmp/good.conf" <<EOF
mode resource
cpus $online
interval_ms 100
isolation 1
vm lab-vm1 slo_us=900 weight=120
vm not-running-now weight=5
enabled 1
EOF
runs apply.good "$ctl" apply "$tmp/good.conf"
check apply.good.effect [ "$(cat "$V/vms/$vmpid/weight")" = 120 ] && grep -q '\[resource\]' $V/mode
sed 's/^mode resource/mode performance/; s/weight=120/weight=0/' "$tmp/good.conf" >"$tmp/bad.conf"
refused apply.bad-entry "weight must be 1..10000" "$ctl" apply "$tmp/bad.conf"
sed 's/^mode resource/mode energy/; s/^cpus .*/cpus 0-4095/' "$tmp/good.conf" >"$tmp/refused.conf"
refused apply.kernel-refuses "nothing was changed" "$ctl" apply "$tmp/refused.conf"
# A refusal after the bounds were written (this shell is not a VM): the
# bound not in the file (io_cpus_min) must be as it was too.
old_min=$(cat $V/io_cpus_min)
if echo 1 >$V/io_cpus_min 2>/dev/null; then
	printf 'io_cpus_max %s\nvm %s weight=5\n' "$(cat $V/io_cpus_max)" $$ >"$tmp/late.conf"
	refused apply.late-refusal "nothing was changed" "$ctl" apply "$tmp/late.conf"
	echo "$old_min" >$V/io_cpus_min
else
	skip apply.late-refusal "io_cpus_min 1 refused here"
fi

# bpftrace: the placement map shows managed tids only on their group's CPUs.
# The scripts read vspace's and the scheduler's tracepoints, the same on
# every kernel; each takes a minute or more to compile under TCG, so make
# check runs them on one kernel (VSPACE_BPFTRACE=0 on the others).
if [ "${VSPACE_BPFTRACE:-1}" = 0 ]; then
	skip bpftrace VSPACE_BPFTRACE=0
elif command -v bpftrace >/dev/null; then
	"$ctl" mode performance >/dev/null
	sleep 0.5
	# bt_start SCRIPT OUT SECONDS: run a copy of SCRIPT that exits by
	# itself SECONDS after its probes are attached; back once they are,
	# which bpftrace 0.17 says only when asked (its "Attaching" line
	# comes first). No SIGINT: 0.17 loses one that comes before it waits
	# for events, and a script that prints nothing then ran on (a 6.1
	# run). Compiling takes a minute or more under TCG. bt_wait: until it
	# has printed its maps; -k: killed if it hangs.
	bt_start() {
		{ cat "$1"; printf '\ninterval:s:%d { exit(); }\n' "$3"; } >"$tmp/run.bt"
		__BPFTRACE_NOTIFY_PROBES_ATTACHED=1 \
			timeout -k 30 -s INT $((240 * slow)) bpftrace "$tmp/run.bt" >"$2" 2>&1 &
		btpid=$!
		for _ in $(seq $((600 * slow))); do
			grep -q "^__BPFTRACE_NOTIFY_PROBES_ATTACHED" "$2" && return 0
			kill -0 $btpid 2>/dev/null || return 1
			sleep 0.3
		done
	}
	bt_wait() { wait $btpid; }
	bt() { bt_start "$@"; bt_wait; }
	bt "$bt/vspace-placement.bt" "$tmp/place" 4
	bad=0 seen=0
	while read -r tid kind _; do
		case $kind in
		vcpu) group=$(cat $V/vm_cpus) ;;
		vhost) group=$(cat $V/io_cpus) ;;
		*) continue ;;
		esac
		allowed=0
		for c in $(echo "$group" | tr ',' ' '); do
			case $c in
			*-*) for x in $(seq "${c%-*}" "${c#*-}"); do allowed=$((allowed | 1 << x)); done ;;
			*) allowed=$((allowed | 1 << c)) ;;
			esac
		done
		for mask in $(sed -n "s/^@cpus\[$tid, .*\]: \([0-9]*\)$/\1/p" "$tmp/place"); do
			seen=$((seen + 1))
			[ $((mask & ~allowed)) = 0 ] || { bad=$((bad + 1)); echo "# tid $tid ($kind) ran on mask $mask, group $group"; }
		done
	done <"$V/vms/$vmpid/threads"
	[ $seen -gt 0 ] || { echo "# bpftrace printed:"; head -5 "$tmp/place" | sed 's/^/# /'; }
	check bpftrace.placement [ $((seen > 0 && bad == 0)) = 1 ]

	bt "$bt/vspace-runqlat.bt" "$tmp/lat" 4
	check bpftrace.runqlat grep -q "^@vcpu_wait_us:" "$tmp/lat"

	bt_start "$bt/vspace-decisions.bt" "$tmp/dec" 10
	"$ctl" mode energy >/dev/null
	sleep 0.5
	"$ctl" mode performance >/dev/null
	bt_wait
	check bpftrace.decisions grep -qE "^[0-9:]+ (energy|performance) " "$tmp/dec"
	grep -qE "^[0-9:]+ (energy|performance) " "$tmp/dec" || head -5 "$tmp/dec" | sed 's/^/# /'
else
	not_ok "bpftrace is installed"
fi

# The libvirt hook, as libvirt calls it, on real nested KVM guests.
modprobe -q kvm_amd 2>/dev/null || modprobe -q kvm_intel 2>/dev/null
if [ -c /dev/kvm ] && command -v qemu-system-x86_64 >/dev/null && [ -f "$GUEST_KERNEL" ]; then
	p1=$(guest_start h1 -name guest=h1,debug-threads=on)
	p2=$(guest_start h2 -name guest=h2,debug-threads=on)
	cat >"$tmp/domain.xml" <<EOF
<domain type='kvm'>
  <name>h1</name>
  <metadata>
    <vspace:vspace xmlns:vspace="https://vspace.dev/xmlns/1.0">
      <vspace:slo_us>700</vspace:slo_us>
      <vspace:weight>250</vspace:weight>
    </vspace:vspace>
  </metadata>
</domain>
EOF
	echo "vm h2 slo_us=1200 weight=40" >"$tmp/vspace.conf"
	export LIBVIRT_QEMU_RUN=$GUEST_DIR VSPACE_CONF=$tmp/vspace.conf VSPACECTL=$ctl
	"$hook" h1 prepare begin - </dev/null
	check hook.ignores-prepare [ ! -d "$V/vms/$p1" ]
	"$hook" h1 started begin - <"$tmp/domain.xml" 2>"$tmp/out"
	check hook.metadata [ "$(cat "$V/vms/$p1/slo_us" 2>/dev/null)" = 700 ] &&
		[ "$(cat "$V/vms/$p1/weight")" = 250 ]
	echo "<domain><name>h2</name></domain>" | "$hook" h2 started begin - 2>>"$tmp/out"
	check hook.config [ "$(cat "$V/vms/$p2/slo_us" 2>/dev/null)" = 1200 ] &&
		[ "$(cat "$V/vms/$p2/weight")" = 40 ]
	check hook.threads grep -q " vcpu " "$V/vms/$p1/threads"
	echo "<domain/>" | "$hook" nosuch started begin - 2>>"$tmp/out"
	check hook.never-fails [ $? = 0 ]
	echo "$p1" >$V/vms/remove
	echo "$p2" >$V/vms/remove
	unset LIBVIRT_QEMU_RUN VSPACE_CONF VSPACECTL
else
	skip hook "no /dev/kvm, QEMU or guest kernel"
fi

# The module gone: a clear message, non-zero, for reads and writes.
echo "$vmpid" >$V/vms/remove 2>/dev/null
if [ -n "${VSPACE_KO:-}" ] && rmmod vspace; then
	"$ctl" status >"$tmp/out" 2>&1
	check not-loaded.status [ $? != 0 ] && grep -q "vspace is not loaded" "$tmp/out"
	"$ctl" -j mode energy >"$tmp/out" 2>&1
	check not-loaded.json [ $? != 0 ] && grep -q '{"error": "vspace is not loaded' "$tmp/out"
	insmod "$VSPACE_KO"
	check reloaded [ -d $V ]
	saved_mode=performance
fi

echo "1..$n"
exit $failed
