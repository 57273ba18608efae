#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh PROG...: run vspace's selftest programs the way kselftest's
# runner does (TAP 13, each program's output prefixed with "# "), with one
# addition: a program that fails or skips without printing a result of its
# own gets one, so a crash is never counted as nothing.
cd "$(dirname "$0")" || exit 1
# (POSIXLY_CORRECT would make bash forget a reaped program's status)
set +o posix
# How many times slower than Debian's the kernel is (1 to 10).
slow=${LAB_SLOW:-1}
[[ $slow =~ ^([1-9]|10)$ ]] || slow=1
timeout=${VSPACE_TEST_TIMEOUT:-$((600 * slow))}
# Where the CPUs' online files are (a copy, for run_tests-test.sh).
cpu_dir=${VS_CPU_DIR:-/sys/devices/system/cpu}
n=0
rc_all=0
pid=
pgid=
out=
stop=
stop_t=
# Stopped (INT, TERM, HUP, or our output closed: PIPE, seen at our next
# write), the program is told to stop too (timeout passes the TERM on
# to it), and the runner goes on as when a program ends: it waits for
# the program's own cleanup, ends what it left, puts the CPUs back,
# reports it, and exits with the signal's status. Not at once: a CPU the
# program took offline would stay so. A second signal, 2 s or more
# after the first (one stop often comes twice: to the runner and to its
# group), kills what is left of the program. (A signal ignored when the
# runner started, as INT is for a job that a script put in the
# background, stays ignored.)
# shellcheck disable=SC2317 # called by the traps
on_stop() {
	if [ -n "$stop" ]; then
		[ "$1" != 141 ] && [ $((SECONDS - stop_t)) -ge 2 ] &&
			[ -n "$pgid" ] && kill -KILL -- "-$pgid" 2>/dev/null
		return 0
	fi
	stop=$1 stop_t=$SECONDS
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
}
trap 'on_stop 130' INT
trap 'on_stop 143' TERM
trap 'on_stop 129' HUP
trap 'on_stop 141' PIPE
trap 'rm -f "$out"' EXIT
word=(offline online)
# cpu_states: "STATE FILE" for every CPU that has an online file.
cpu_states() {
	local f
	for f in "$cpu_dir"/cpu[0-9]*/online; do
		[ -f "$f" ] && echo "$(cat "$f") $f"
	done
}
echo "TAP version 13"
echo "1..$#"
for prog in "$@"; do
	[ -n "$stop" ] && break
	n=$((n + 1))
	out=$(mktemp) || break
	start=$SECONDS
	states=$(cpu_states)
	# (a stop that came while the states were read)
	[ -n "$stop" ] && break
	# -k: a program whose cleanup hangs after the timeout is killed
	# (a minute, longer on a slow kernel, where 2,000 processes take
	# that long to exit). Its lines go out as they come (a long program's early results are
	# on the console even if its time runs out), read from $out until it
	# exits: not through a pipe, which a process it left behind would
	# hold open.
	timeout -k $((60 * slow)) "$timeout" "./$prog" >"$out" 2>&1 &
	pid=$!
	pgid=$pid
	# (a signal that came before pid was set)
	[ -n "$stop" ] && kill -TERM "$pid" 2>/dev/null
	# In the background, waited for: a TERM to the runner is handled at
	# once, not when the program ends.
	tail -n +1 -s 0.5 -f --pid="$pid" "$out" | sed -u 's/^/# /' &
	tp=$!
	wait "$pid"
	rc=$?
	# A signal to the runner ends wait early: wait for the program's end
	# and take its own status (bash keeps it, even once it reaped it).
	if [ -n "$stop" ]; then
		while kill -0 "$pid" 2>/dev/null; do
			wait "$pid"
		done
		wait "$pid"
		rc=$?
	fi
	pid=
	while kill -0 "$tp" 2>/dev/null; do
		wait "$tp"
	done
	# What it left running in its process group (timeout leads one of
	# its own) ends too, before the CPUs are looked at: a hotplug loop's
	# last write lands first. TERM first, so that their own cleanup
	# runs; KILL after 5 s; what is still there after 20 s (longer on
	# a slow kernel: stuck in the kernel) fails the program.
	left=1
	for ((t = 0; t < 40 * slow; t++)); do
		kill -0 -- "-$pgid" 2>/dev/null || { left=0; break; }
		[ "$t" = 0 ] && kill -TERM -- "-$pgid" 2>/dev/null
		[ "$t" = 10 ] && kill -KILL -- "-$pgid" 2>/dev/null
		sleep 0.5
	done
	# (what ended during the last half second)
	kill -0 -- "-$pgid" 2>/dev/null || left=0
	if [ $left = 1 ]; then
		echo "# $prog left processes that do not end: $(pgrep -g "$pgid" | tr '\n' ' ')"
		[ $rc -eq 0 ] || [ $rc -eq 4 ] && rc=1
	fi
	pgid=
	echo "# $prog took $((SECONDS - start)) s"
	# A program killed by its timeout had no cleanup: a CPU it took
	# offline would stay so for every later program, one it brought
	# online would undo the caller's choice. Each CPU goes back to
	# what it was before the program, online ones first (the last
	# online CPU cannot go); one that ended on its own (or skipped)
	# and left one changed failed its cleanup. Not while something of
	# its own is left: a hotplug write stuck in the kernel would hold
	# the restore's too, and land after it.
	if [ $left = 1 ]; then
		echo "# $prog: the CPUs' states are left as they are"
		states=
	fi
	for want in 1 0; do
		while read -r s f; do
			# (read, not cat: a Ctrl-C to our group would kill a cat)
			if [ "$s" != "$want" ] || ! read -r cur <"$f" ||
			   [ "$cur" = "$s" ]; then
				continue
			fi
			c=${f%/online}
			c=${c##*/}
			if echo "$s" >"$f" 2>/dev/null; then
				echo "# $prog left $c ${word[1 - s]}: ${word[s]} again"
			else
				echo "# $prog left $c ${word[1 - s]}, and it stays so"
			fi
			# (reported below, as a program that failed without a result)
			[ $rc -eq 0 ] || [ $rc -eq 4 ] && rc=1
		done <<<"$states"
	done
	if [ $rc -eq 4 ] && ! grep -qE '^(not )?ok ' "$out"; then
		echo "# ok 0 $prog # SKIP (whole program)"
	elif [ $rc -ne 0 ] && [ $rc -ne 4 ] && ! grep -q '^not ok ' "$out"; then
		echo "# not ok 0 $prog # exit=$rc"
	fi
	if [ -n "$stop" ] && [ $rc -ne 0 ] && [ $rc -ne 4 ]; then
		echo "not ok $n selftests: vspace: $prog # stopped, exit=$rc"
		rc_all=1
		rm -f "$out"
		continue
	fi
	case $rc in
	0) echo "ok $n selftests: vspace: $prog" ;;
	4) echo "ok $n selftests: vspace: $prog # SKIP" ;;
	# 137: killed (-k) when its cleanup hung after the timeout.
	124|137) echo "not ok $n selftests: vspace: $prog # TIMEOUT $timeout seconds"; rc_all=1 ;;
	*) echo "not ok $n selftests: vspace: $prog # exit=$rc"; rc_all=1 ;;
	esac
	rm -f "$out"
done
[ -z "$stop" ] || exit "$stop"
exit $rc_all
