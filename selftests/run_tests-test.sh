#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run_tests-test.sh: run_tests.sh's verdicts on what a program leaves
# behind, on a copy of the CPUs' online files (VS_CPU_DIR): a CPU it
# took offline comes back, one it brought online goes back offline, and
# either fails a program that ended on its own, passed or skipped; what
# it left running is ended first, even if it ignores TERM.
# A host check: no root or module needed.
# shellcheck disable=SC2016 # the programs expand their own variables
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

# cpus ONLINE-LIST STATES: a copy with one online file per CPU (CPU 0 has
# none, as on x86), STATES the contents of cpu1's, cpu2's... (the list
# is the kernel's summary; the runner reads the files)
cpus() {
	local c=1 s
	rm -rf "$tmp/cpu" && mkdir -p "$tmp/cpu"
	echo "$1" >"$tmp/cpu/online"
	shift
	for s in "$@"; do
		mkdir -p "$tmp/cpu/cpu$c"
		echo "$s" >"$tmp/cpu/cpu$c/online"
		c=$((c + 1))
	done
}
# prog NAME BODY: a program for run_tests.sh
prog() {
	printf '#!/bin/bash\n%s\n' "$2" >"$tmp/$1"
	chmod +x "$tmp/$1"
}
# expect NAME WANT-RESULT WANT-STATES: run program NAME, then its TAP
# line must match WANT-RESULT and cpu1.. hold WANT-STATES
expect() {
	local name=$1 want=$2 states got c=1 s
	shift 2
	cp "$here/run_tests.sh" "$tmp/"
	got=$(VS_CPU_DIR=$tmp/cpu VSPACE_TEST_TIMEOUT=${T:-20} \
		bash "$tmp/run_tests.sh" "$name" 2>&1 | grep -E '^(not )?ok 1 ')
	states=
	for s in "$@"; do
		states+="$(cat "$tmp/cpu/cpu$c/online") "
		c=$((c + 1))
	done
	n=$((n + 1))
	if [[ $got == $want* ]] && [ "$states" = "$* " ]; then
		echo "ok $n run_tests.$name"
	else
		echo "not ok $n run_tests.$name # got \"$got\", cpus $states"
		failed=$((failed + 1))
	fi
}

echo "TAP version 13"
echo "1..15"
prog clean 'echo "ok 1 x"'
cpus 0-2 1 1
expect clean "ok 1" 1 1
prog leaves_offline 'echo 0 >"$VS_CPU_DIR/cpu2/online"; echo "ok 1 x"'
cpus 0-2 1 1
expect leaves_offline "not ok 1" 1 1
# The caller's offline CPU 2 is none of the program's doing.
prog callers_offline 'echo "ok 1 x"'
cpus 0-1 1 0
expect callers_offline "ok 1" 1 0
# Killed by its timeout with CPU 1 offline: back, and the timeout is
# the failure.
prog timed_out 'echo 0 >"$VS_CPU_DIR/cpu1/online"; sleep 60'
cpus 0-2 1 1
T=2 expect timed_out "not ok 1" 1 1
# A loop it left behind takes CPU 2 offline after it exited: ended
# first, its write undone.
prog leftover 'trap "" TERM; (sleep 1; echo 0 >"$VS_CPU_DIR/cpu2/online") & echo "ok 1 x"'
cpus 0-2 1 1
expect leftover "not ok 1" 1 1
# The caller's offline CPU 2, brought online: offline again.
prog brings_online 'echo 1 >"$VS_CPU_DIR/cpu2/online"; echo "ok 1 x"'
cpus 0-1 1 0
expect brings_online "not ok 1" 1 0
# A skip does not hide a CPU left offline.
prog skips_offline 'echo 0 >"$VS_CPU_DIR/cpu1/online"; exit 4'
cpus 0-2 1 1
expect skips_offline "not ok 1" 1 1
# What ignores TERM is killed (5 s on): the runner does not wait for it.
prog deaf_leftover '(trap "" TERM; exec sleep 60) & echo $! >"$VS_CPU_DIR/deaf"; echo "ok 1 x"'
cpus 0-2 1 1
t0=$SECONDS
expect deaf_leftover "ok 1" 1 1
n=$((n + 1))
if [ $((SECONDS - t0)) -le 15 ] && ! kill -0 "$(cat "$tmp/cpu/deaf")" 2>/dev/null; then
	echo "ok $n run_tests.deaf_leftover_gone"
else
	echo "not ok $n run_tests.deaf_leftover_gone # $((SECONDS - t0)) s"
	failed=$((failed + 1))
	kill -9 "$(cat "$tmp/cpu/deaf")" 2>/dev/null
fi
# stopped NAME WANT-STATES: start the runner on program NAME, TERM it
# once the program is ready; it must end within 8 s with status 143, the
# program's pid (in $tmp/cpu/pid) gone and cpu1.. holding WANT-STATES.
# (PIPE_DIES: the reader of the runner's output goes first, as a tee
# does on a Ctrl-C; TWICE: a second TERM 10 ms after the first, as when
# both the runner and its group are sent one.)
stopped() {
	local name=$1 r t0 rc states="" c=1 s reader
	shift
	cp "$here/run_tests.sh" "$tmp/"
	rm -f "$tmp/cpu/pid" "$tmp/fifo"
	mkfifo "$tmp/fifo"
	cat "$tmp/fifo" >"$tmp/log" &
	reader=$!
	VS_CPU_DIR=$tmp/cpu bash "$tmp/run_tests.sh" "$name" >"$tmp/fifo" 2>&1 &
	r=$!
	# (the program writes its pid once it is ready for the TERM)
	for ((t0 = 0; t0 < 100; t0++)); do
		[ -s "$tmp/cpu/pid" ] && break
		sleep 0.1
	done
	[ -z "${PIPE_DIES:-}" ] || { kill "$reader"; wait "$reader"; }
	t0=$SECONDS
	kill -TERM "$r"
	[ -z "${TWICE:-}" ] || { sleep 0.01; kill -TERM "$r"; }
	wait "$r"
	rc=$?
	[ -n "${PIPE_DIES:-}" ] || wait "$reader"
	for s in "$@"; do
		states+="$(cat "$tmp/cpu/cpu$c/online") "
		c=$((c + 1))
	done
	n=$((n + 1))
	if [ $((SECONDS - t0)) -le 8 ] && [ $rc = 143 ] &&
	   [ -s "$tmp/cpu/pid" ] && ! kill -0 "$(cat "$tmp/cpu/pid")" 2>/dev/null &&
	   [ "$states" = "$* " ]; then
		echo "ok $n run_tests.$name"
	else
		echo "not ok $n run_tests.$name # $((SECONDS - t0)) s, exit $rc, cpus $states"
		failed=$((failed + 1))
		kill -9 "$(cat "$tmp/cpu/pid")" 2>/dev/null
	fi
}
# A TERM to the runner ends it and its program soon, not when the
# program ends, and the CPU the program took offline comes back.
prog stopped_plain 'echo 0 >"$VS_CPU_DIR/cpu1/online"; echo $$ >"$VS_CPU_DIR/pid"; exec sleep 60'
cpus 0-2 1 1
stopped stopped_plain 1 1
# One with a cleanup of its own gets to run it (2 s), and only then are
# the CPUs looked at.
prog stopped_cleanup 'echo 0 >"$VS_CPU_DIR/cpu1/online"
trap "sleep 2; echo 1 >\"\$VS_CPU_DIR/cpu1/online\"; echo cleaned >\"\$VS_CPU_DIR/cleaned\"; exit 0" TERM
echo $$ >"$VS_CPU_DIR/pid"
sleep 60 &
wait'
cpus 0-2 1 1
rm -f "$tmp/cpu/cleaned"
stopped stopped_cleanup 1 1
n=$((n + 1))
if [ -f "$tmp/cpu/cleaned" ] && ! grep -q 'left cpu1' "$tmp/log" &&
   grep -q '^ok 1 ' "$tmp/log"; then
	echo "ok $n run_tests.stopped_cleanup_ran"
else
	echo "not ok $n run_tests.stopped_cleanup_ran # $(grep -c 'left cpu1' "$tmp/log") restores by the runner; $(grep -E '^(not )?ok 1' "$tmp/log")"
	failed=$((failed + 1))
fi
# A stop sent twice at once is one stop: the cleanup still runs.
cpus 0-2 1 1
rm -f "$tmp/cpu/cleaned"
TWICE=1 stopped stopped_cleanup 1 1
n=$((n + 1))
if [ -f "$tmp/cpu/cleaned" ] && grep -q '^ok 1 ' "$tmp/log"; then
	echo "ok $n run_tests.stopped_twice_cleanup_ran"
else
	echo "not ok $n run_tests.stopped_twice_cleanup_ran # $(grep -E '^(not )?ok 1' "$tmp/log")"
	failed=$((failed + 1))
fi
# With no one to read its output any more, it still puts the CPU back.
prog stopped_unread 'echo 0 >"$VS_CPU_DIR/cpu1/online"; echo $$ >"$VS_CPU_DIR/pid"; exec sleep 60'
cpus 0-2 1 1
PIPE_DIES=1 stopped stopped_unread 1 1
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
