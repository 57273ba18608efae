# SPDX-License-Identifier: GPL-2.0
#
# Give a machine the shape of a production KVM host, so vspace's tests run
# in it (see "A production-shaped guest" in the lab notes); source this
# file. Works in a lab guest and on a real host (as root).
#
#   hostshape_cgroups            cgroup v2 with the cpu and cpuset
#                                controllers, down to machine.slice
#   hostshape_scope NAME [CPUS]  a libvirt-style scope for one VM,
#                                machine.slice/machine-qemu-N-NAME.scope
#                                (optionally with cpuset.cpus); prints it
#   hostshape_start [NPROCS]     host services: hostload with NPROCS
#                                (default 2000) processes and UDP and TCP
#                                loopback traffic, in
#                                system.slice/hostload.service
#   hostshape_check              verify all that from the outside; prints
#                                "# " lines, non-zero if something is off
#   hostshape_stop               stop hostload (and its processes)
#
# Then export VS_MACHINE_SLICE=$HOSTSHAPE_CG/machine.slice: spawn_vm()
# (vspace_test.h) and guest_start (guests.sh) put each VM in a scope of
# its own there, in a session of its own.
#
# HOSTSHAPE_CG: the cgroup v2 mount (default /sys/fs/cgroup).
# HOSTSHAPE_RUN: state (pid, counters, log; default /run/hostshape).
# HOSTSHAPE_UDP, HOSTSHAPE_TCP: hostload's 32 KB datagrams per second
# (default 50) and TCP KB per second (default 64); bounded, so that a
# TCG guest's single host thread is not eaten by them.
# HOSTLOAD: the hostload binary (default: next to this file).

HOSTSHAPE_CG=${HOSTSHAPE_CG:-/sys/fs/cgroup}
HOSTSHAPE_RUN=${HOSTSHAPE_RUN:-/run/hostshape}
HOSTSHAPE_UDP=${HOSTSHAPE_UDP:-50}
HOSTSHAPE_TCP=${HOSTSHAPE_TCP:-64}
HOSTLOAD=${HOSTLOAD:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/hostload}

hostshape_msg() { echo "# hostshape: $*" >&2; }

# Enable the cpu and cpuset controllers for the children of cgroup $1.
hostshape_enable() {
	local dir=$1 c
	for c in cpu cpuset; do
		grep -qw "$c" "$dir/cgroup.subtree_control" && continue
		if ! grep -qw "$c" "$dir/cgroup.controllers"; then
			hostshape_msg "no $c controller in $dir"
			return 1
		fi
		echo "+$c" >"$dir/cgroup.subtree_control" || {
			hostshape_msg "cannot enable $c in $dir"
			return 1
		}
	done
}

hostshape_cgroups() {
	local cg=$HOSTSHAPE_CG
	if [ "$(stat -fc %T "$cg" 2>/dev/null)" != cgroup2fs ]; then
		# Never over a v1 or hybrid hierarchy: that host is not ours.
		if mountpoint -q "$cg"; then
			hostshape_msg "$cg is not cgroup v2"
			return 1
		fi
		if ! mkdir -p "$cg" || ! mount -t cgroup2 none "$cg"; then
			hostshape_msg "cannot mount cgroup2 on $cg"
			return 1
		fi
	fi
	hostshape_enable "$cg" || return 1
	mkdir -p "$cg/machine.slice" "$cg/system.slice" || return 1
	hostshape_enable "$cg/machine.slice"
}

# hostshape_scope NAME [CPUS]: N counts up per call, as libvirt's domain ids.
hostshape_scope() {
	local name=$1 cpus=${2:-} n dir
	mkdir -p "$HOSTSHAPE_RUN" || return 1
	n=$(cat "$HOSTSHAPE_RUN/scopes" 2>/dev/null || echo 0)
	n=$((n + 1))
	echo "$n" >"$HOSTSHAPE_RUN/scopes"
	dir=$HOSTSHAPE_CG/machine.slice/machine-qemu-$n-$name.scope
	mkdir -p "$dir" || return 1
	if [ -n "$cpus" ]; then
		echo "$cpus" >"$dir/cpuset.cpus" || {
			hostshape_msg "cannot set cpuset.cpus $cpus in $dir"
			return 1
		}
	fi
	echo "$dir"
}

hostshape_start() {
	local nprocs=${1:-2000} svc=$HOSTSHAPE_CG/system.slice/hostload.service
	local stats=$HOSTSHAPE_RUN/hostload.stats pid t
	[ -x "$HOSTLOAD" ] || { hostshape_msg "no $HOSTLOAD (make -C selftests)"; return 1; }
	hostshape_stop
	mkdir -p "$HOSTSHAPE_RUN" "$svc" || return 1
	ip link set lo up || return 1
	rm -f "$stats"
	# Into its service's cgroup before it starts, as systemd does; the
	# subshell's pid becomes hostload's.
	(
		echo "$BASHPID" >"$svc/cgroup.procs" || exit 1
		exec "$HOSTLOAD" -p "$nprocs" -u "$HOSTSHAPE_UDP" -t "$HOSTSHAPE_TCP" -s "$stats"
	) </dev/null >"$HOSTSHAPE_RUN/hostload.log" 2>&1 &
	pid=$!
	echo "$pid" >"$HOSTSHAPE_RUN/hostload.pid"
	echo "$nprocs" >"$HOSTSHAPE_RUN/nprocs"
	# Counters are first written once every process exists.
	for ((t = 0; t < 1200; t++)); do
		[ -s "$stats" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	hostshape_msg "hostload did not start: $(cat "$HOSTSHAPE_RUN/hostload.log" 2>/dev/null)"
	hostshape_stop
	return 1
}

hostshape_stop() {
	local pid t svc=$HOSTSHAPE_CG/system.slice/hostload.service
	pid=$(cat "$HOSTSHAPE_RUN/hostload.pid" 2>/dev/null) || return 0
	rm -f "$HOSTSHAPE_RUN/hostload.pid"
	# Not some later process that got its pid.
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = hostload ] && kill "$pid"
	# Its processes die with it (PR_SET_PDEATHSIG); wait for them all.
	for ((t = 0; t < 300; t++)); do
		kill -0 "$pid" 2>/dev/null ||
			[ -n "$(cat "$svc/cgroup.procs" 2>/dev/null)" ] || break
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
	rmdir "$svc" 2>/dev/null
	return 0
}

# The value of counter $2 in the counters line $1 (name value ...).
hostshape_counter() {
	local want=$2
	# shellcheck disable=SC2086
	set -- $1
	while [ $# -ge 2 ]; do
		[ "$1" = "$want" ] && echo "$2" && return 0
		shift 2
	done
	echo 0
}

# The counters line, fresh: ask hostload for it and wait for a new seq.
hostshape_stats() {
	local pid=$1 stats=$HOSTSHAPE_RUN/hostload.stats old new t
	old=$(cat "$stats" 2>/dev/null)
	kill -USR1 "$pid" 2>/dev/null || return 1
	for ((t = 0; t < 50; t++)); do
		new=$(cat "$stats" 2>/dev/null)
		[ "$(hostshape_counter "$new" seq)" != "$(hostshape_counter "$old" seq)" ] &&
			break
		sleep 0.1
	done
	echo "$new"
}

hostshape_check() {
	local cg=$HOSTSHAPE_CG bad=0 pid nprocs n incg c dir a b t0 t1 all
	for dir in "$cg" "$cg/machine.slice"; do
		for c in cpu cpuset; do
			grep -qw "$c" "$dir/cgroup.subtree_control" 2>/dev/null || {
				hostshape_msg "$c is not enabled in $dir/cgroup.subtree_control"
				bad=1
			}
		done
	done
	pid=$(cat "$HOSTSHAPE_RUN/hostload.pid" 2>/dev/null)
	if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
		hostshape_msg "hostload is not running"
		return 1
	fi
	c=$(cat "/proc/$pid/cgroup")
	[ "$c" = "0::/system.slice/hostload.service" ] || {
		hostshape_msg "hostload is in '$c', not system.slice/hostload.service"
		bad=1
	}
	nprocs=$(cat "$HOSTSHAPE_RUN/nprocs")
	# Counted by name from /proc, not from hostload's word.
	n=$(pgrep -cx hostproc)
	incg=$(wc -l <"$cg/system.slice/hostload.service/cgroup.procs")
	if [ "$n" -lt "$nprocs" ] || [ "$incg" -le "$nprocs" ]; then
		hostshape_msg "$n hostproc processes, $incg in hostload.service, want $nprocs"
		bad=1
	fi
	t0=$(date +%s.%N)
	a=$(hostshape_stats "$pid")
	sleep 1
	b=$(hostshape_stats "$pid")
	t1=$(date +%s.%N)
	for c in udp_rx tcp_rx_bytes; do
		[ "$(hostshape_counter "$b" $c)" -gt "$(hostshape_counter "$a" $c)" ] || {
			hostshape_msg "$c did not grow ($a -> $b)"
			bad=1
		}
	done
	all=(/proc/[0-9]*)
	hostshape_msg "$n hostproc processes (${#all[@]} in all);" \
		"in $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s" \
		"udp_rx +$(($(hostshape_counter "$b" udp_rx) - $(hostshape_counter "$a" udp_rx)))" \
		"tcp_rx_bytes +$(($(hostshape_counter "$b" tcp_rx_bytes) - $(hostshape_counter "$a" tcp_rx_bytes)))"
	return $bad
}
