#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VM churn, as on a busy KVM host: fake VMs (vhost_vm) come and go, so
# that vspace's discovery, binding and teardown race with VMs that die at
# any moment: before vspace sees them, while it binds them, or later.
#
#   vs_churn.sh [-n TOTAL] [-p PARALLEL] [-t SECONDS] [-g GUESTS]
#               [-w MAXWORKERS] [-c MAXVCPUS] [-s SEED] [-l LOG]
#
# Keeps about PARALLEL (6) VMs alive: 1..MAXWORKERS (2) vhost-net workers,
# 1..MAXVCPUS (2) vCPU threads, mostly a real KVM VM (-K, if /dev/kvm
# exists), delayed workers (-d) or burning vCPUs (-b), a session of their
# own (-s). Each lives 50 ms .. 3 s, then gets SIGKILL, or SIGTERM one time
# in five. After TOTAL (300) VMs no more start and the rest die at their
# time; after SECONDS (-t) all are killed at once. -g: also GUESTS real
# nested KVM guests (guests.sh) at random times, each killed -9 2..15 s
# later, if they can run. SEED (default: random, printed) replays a run's
# VMs, options, lifetimes and signals.
#
# LOG (default stdout) gets one line per event:
#   <ms since start> start <pid> <vhost_vm args> | guest <name>
#   <ms> kill <pid> KILL|TERM
#   <ms> exit <pid> <exit status> | guest
# and stdout "# churn:" lines, the last "started N, killed N, guests N,
# leftover N". Exit 0 when no VM or guest died on its own (a failed
# start) and all of them and their scopes are gone at the end; 1
# otherwise, 2 on bad usage, 130/143 on SIGINT/SIGTERM (after cleaning up).
#
# VHOST_VM: the binary (default: vhost_vm next to this file).
# VS_MACHINE_SLICE: when set (see hostshape.sh), each VM gets a scope of its
# own there, machine-qemu-N-churn.scope, removed once the VM is gone.
# VS_CHURN_KTHREAD=1: sometimes ask for kthread workers (-k); vhost_vm
# fails on kernels without them (before 6.12.42), so not by default.
# GUEST_KERNEL, GUEST_DIR: as in guests.sh.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VHOST_VM=${VHOST_VM:-$here/vhost_vm}
total=300 parallel=6 secs=0 nguests=0 maxw=2 maxc=2 seed=$RANDOM log=''

usage() {
	echo "usage: vs_churn.sh [-n TOTAL] [-p PARALLEL] [-t SECONDS] [-g GUESTS]" \
	     "[-w MAXWORKERS] [-c MAXVCPUS] [-s SEED] [-l LOG]" >&2
	exit 2
}
declare -A opt=([n]=total [p]=parallel [t]=secs [g]=nguests [w]=maxw [c]=maxc
		[s]=seed [l]=log)
while getopts n:p:t:g:w:c:s:l: o; do
	[ -n "${opt[$o]:-}" ] || usage
	printf -v "${opt[$o]}" %s "$OPTARG"
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
# Decimal only: a leading 0 would be octal in $((...)).
for v in "$total" "$parallel" "$secs" "$nguests" "$maxw" "$maxc" "$seed"; do
	[[ $v =~ ^(0|[1-9][0-9]{0,8})$ ]] || usage
done
((total && parallel && maxw && maxc)) || usage

msg() { echo "# churn: $*"; }

[ -x "$VHOST_VM" ] || { msg "no $VHOST_VM (make -C selftests)"; exit 1; }
[ -z "${VS_MACHINE_SLICE:-}" ] || [ -f "$VS_MACHINE_SLICE/cgroup.procs" ] ||
	{ msg "VS_MACHINE_SLICE=$VS_MACHINE_SLICE is not a cgroup"; exit 1; }

started=0 live=0 killed=0 guests=0 failed=0 stop=0 nsig=0 finished='' scope_n=0 gnext=0 gwhy=''
# Fake VMs and guests by pid: start time (from /proc), stderr file, guest
# name, when to kill it, with what, what it got, its scope.
declare -A vm_start=() vm_err=() vm_name=() vm_until=() vm_sig=() vm_killed=() vm_scope=()
scopes=() g_at=() g_life=()

# Milliseconds since the start, into $now (no subshell: called a lot).
now_ms() { now=$((${EPOCHREALTIME//[.,]/} / 1000 - t0)); }
t0=0; now_ms; t0=$now

event() { now_ms; echo "$now $*" >&3; }

# True one time in $1. Callers draw before testing the host, so that a
# seed gives the same VMs with and without /dev/kvm.
chance() { ((RANDOM % $1 == 0)); }

# State and start time (stat fields 3 and 22) of pid $1 into $state and
# $st; 1 when it is gone.
proc_stat() {
	local s='' i
	state='' st=''
	# A trapped signal cuts read short: only a missing file means gone.
	for ((i = 0; i < 5; i++)); do
		read -r s 2>/dev/null <"/proc/$1/stat" && break
		[ -e "/proc/$1/stat" ] || return 1
	done
	[ -n "$s" ] || return 1
	# shellcheck disable=SC2086 # split into fields, comm cut off
	set -- ${s##*) }
	state=$1 st=${20}
}

# Process $1, started at $2, has died: a zombie, gone, or its pid reused
# (bash reaps its children on its own and keeps their status for wait).
gone() {
	proc_stat "$1" || return 0
	[ "$state" = Z ] || [ "$state" = X ] || [ "$st" != "$2" ]
}

# A new scope into $scope; N counts up as libvirt's, past any left over.
new_scope() {
	scope=''
	while [ -z "$scope" ] || [ -e "$scope" ]; do
		scope_n=$((scope_n + 1))
		scope=$VS_MACHINE_SLICE/machine-qemu-$scope_n-churn.scope
	done
	mkdir "$scope" || { msg "cannot make $scope"; return 1; }
}

start_vm() {
	local args life sig=KILL pid err=$tmp/$started.err scope=''
	args=(-w $((RANDOM % maxw + 1)) -c $((RANDOM % maxc + 1)))
	# Most hold a real KVM VM: auto_discover manages only those; the
	# rest are VMs it must leave alone.
	chance 4 || { [ -c /dev/kvm ] && args+=(-K); }
	chance 3 && args+=(-d $((50 + RANDOM % 451)))
	chance 4 && args+=(-b $((10 + RANDOM % 41)))
	chance 4 && [ "${VS_CHURN_KTHREAD:-0}" = 1 ] && args+=(-k)
	# A third each short, middling and long: some die before discovery.
	case $((RANDOM % 3)) in
	0) life=$((50 + RANDOM % 250)) ;;
	1) life=$((300 + RANDOM % 700)) ;;
	*) life=$((1000 + RANDOM % 2001)) ;;
	esac
	chance 5 && sig=TERM
	if [ -n "${VS_MACHINE_SLICE:-}" ]; then
		new_scope || { failed=$((failed + 1)); return 1; }
		args+=(-g "$scope")
	fi
	args+=(-s)
	"$VHOST_VM" "${args[@]}" </dev/null >/dev/null 2>"$err" &
	pid=$!
	started=$((started + 1)) live=$((live + 1))
	vm_err[$pid]=$err
	track "$pid" "$sig" "$life" "$scope" "${args[*]}"
}

# Record VM $1, to get signal $2 in $3 ms, in scope $4, started with $5.
track() {
	proc_stat "$1"
	vm_start[$1]=$st vm_sig[$1]=$2 vm_scope[$1]=$4
	event start "$1" "$5"
	vm_until[$1]=$((now + $3))
}

# VM $1 is no longer to be killed: one fewer of the PARALLEL alive.
unschedule() {
	[ -n "${vm_until[$1]:-}" ] && [ -z "${vm_name[$1]:-}" ] && live=$((live - 1))
	unset "vm_until[$1]"
}

# Signal $2 to VM $1, unless it died on its own (and its pid may be reused).
kill_vm() {
	unschedule "$1"
	gone "$1" "${vm_start[$1]}" && return
	kill -"$2" "$1" 2>/dev/null
	vm_killed[$1]=$2
	killed=$((killed + 1))
	event kill "$1" "$2"
}

# Reap the VMs that died; one that was not killed failed to start. A
# guest's QEMU is not our child (it daemonized): just gone from /proc.
reap_vms() {
	local pid rc name n why
	for pid in "${!vm_start[@]}"; do
		gone "$pid" "${vm_start[$pid]}" || continue
		unschedule "$pid"
		name=${vm_name[$pid]:-} rc=guest
		# A trapped signal cuts wait short too (status > 128), even for a
		# zombie: then ask again, bash keeps the status.
		while [ -z "$name" ]; do
			n=$nsig
			wait "$pid"
			rc=$?
			((n == nsig)) && break
		done
		event exit "$pid" "$rc"
		if [ -z "${vm_killed[$pid]:-}" ] || [[ ! $rc =~ ^(137|143|guest)$ ]]; then
			failed=$((failed + 1))
			if [ -n "$name" ]; then why=$(tail -n 3 "$GUEST_DIR/$name.log" 2>/dev/null)
			else why=$(head -c 300 "${vm_err[$pid]}"); fi
			msg "$pid died on its own ($rc): $why"
		fi
		[ -n "${vm_scope[$pid]}" ] && scopes+=("${vm_scope[$pid]}")
		[ -n "$name" ] && rm -f "$GUEST_DIR/$name".{pid,tap,scope}
		unset "vm_start[$pid]" "vm_err[$pid]" "vm_name[$pid]" "vm_sig[$pid]" \
		      "vm_killed[$pid]" "vm_scope[$pid]"
	done
}

# A scope can stay busy while 6.1's vhost kthreads leave it: retried.
reap_scopes() {
	local s left=()
	for s in "${scopes[@]}"; do
		rmdir "$s" 2>/dev/null || [ ! -d "$s" ] || left+=("$s")
	done
	scopes=("${left[@]}")
}

# When guests start (in % of the run) and how long they live; whether
# they can run here, and why not into $gwhy.
guests_init() {
	local i
	for ((i = 0; i < nguests; i++)); do
		g_at+=($((i * 70 / nguests + RANDOM % (70 / nguests + 1))))
		g_life+=($((2000 + RANDOM % 13001)))
	done
	((nguests)) || return 0
	if [ "$(id -u)" != 0 ]; then gwhy="needs root"
	elif [ ! -c /dev/kvm ]; then gwhy="no /dev/kvm"
	elif ! command -v qemu-system-x86_64 >/dev/null; then gwhy="no qemu-system-x86_64"
	elif ! command -v busybox >/dev/null; then gwhy="no busybox"
	else
		# shellcheck disable=SC1091 # checked on its own
		. "$here/guests.sh"
		[ -f "$GUEST_KERNEL" ] || gwhy="no guest kernel $GUEST_KERNEL (set GUEST_KERNEL)"
	fi
	[ -z "$gwhy" ] || msg "no real guests: $gwhy"
}

# Guest number $gnext, killed -9 at its time, its files removed as
# guest_stop does; on the first that cannot start, no more.
start_guest() {
	local name=churn$gnext pid scope=''
	gnext=$((gnext + 1))
	pid=$(guest_start "$name")
	[ -f "$GUEST_DIR/$name.scope" ] && scope=$(cat "$GUEST_DIR/$name.scope")
	if [ -n "$pid" ]; then
		vm_name[$pid]=$name
		guests=$((guests + 1))
		track "$pid" KILL "${g_life[gnext - 1]}" "$scope" "guest $name"
		return
	fi
	gwhy="QEMU could not start: $(tail -n 1 "$GUEST_DIR/$name.err" 2>/dev/null)"
	msg "no real guests: $gwhy"
	[ -n "$scope" ] && scopes+=("$scope")
	rm -f "$GUEST_DIR/$name".{pid,tap,scope}
}

# Kill all that is left, wait up to 30 s for it and its scopes to go.
finish() {
	local pid s nleft=0 since
	# Not in a child still between fork and exec: bash runs the EXIT
	# trap there when a signal kills it.
	[ -z "$finished" ] && [ "$BASHPID" = $$ ] || return 0
	finished=1
	trap '' INT TERM
	now_ms
	since=$now
	while ((now - since < 30000)); do
		# SIGKILL for the rest; one that got SIGTERM has a second first.
		for pid in "${!vm_start[@]}"; do
			case ${vm_killed[$pid]:-}:$((now - since >= 1000)) in
			KILL:* | TERM:0) ;;
			*) kill_vm "$pid" KILL ;;
			esac
		done
		reap_vms; reap_scopes
		((${#vm_start[@]} + ${#scopes[@]})) || break
		sleep 0.05
		now_ms
	done
	for pid in "${!vm_start[@]}"; do
		proc_stat "$pid"
		msg "leftover: pid $pid state $state wchan $(cat "/proc/$pid/wchan" 2>/dev/null)"
		nleft=$((nleft + 1))
	done
	for s in "${scopes[@]}"; do
		msg "leftover: $s: $(tr '\n' ' ' <"$s/cgroup.procs" 2>/dev/null)"
		nleft=$((nleft + 1))
	done
	rm -rf "$tmp"
	msg "started $started, killed $killed, guests $guests, leftover $nleft"
	exec 2>&5 5>&-
	wait "$filter"
	((stop)) && return "$stop"
	((nleft == 0 && failed == 0))
}

if [ -n "$log" ]; then exec 3>"$log" || exit 1; else exec 3>&1; fi
tmp=$(mktemp -d) || exit 1
# Bash reports each child it reaps that died of SIGKILL ("line N: PID
# Killed ..."): no news, we killed it. Anything else goes through. The
# filter outlives a signal to our process group (timeout(1) sends one),
# or our cleanup's writes to stderr would die of SIGPIPE.
# shellcheck disable=SC2016 # the command as bash prints it
exec 5>&2 2> >(trap '' INT TERM HUP; exec grep --line-buffered -v 'Killed  *"$VHOST_VM"' >&5)
filter=$!
trap finish EXIT
# Stop at the next tick, not between a VM's start and its record.
trap 'stop=130 nsig=$((nsig + 1))' INT
trap 'stop=143 nsig=$((nsig + 1))' TERM
RANDOM=$seed
msg "seed $seed"

guests_init
while ((!stop)); do
	reap_vms; reap_scopes
	now_ms
	((secs && now >= secs * 1000)) && break
	for pid in "${!vm_until[@]}"; do
		((now >= vm_until[$pid])) && kill_vm "$pid" "${vm_sig[$pid]}"
	done
	while ((live < parallel && started < total)); do
		start_vm || break 2
	done
	# Progress in %, by VMs or by time: guests start at theirs.
	p=$((started * 100 / total))
	((secs && now / (secs * 10) > p)) && p=$((now / (secs * 10)))
	[ -z "$gwhy" ] && ((gnext < nguests && p >= g_at[gnext])) && start_guest
	((started >= total && live == 0)) && break
	sleep 0.05
done
finish
