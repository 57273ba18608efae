#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh PROG...: run vspace's selftest programs the way kselftest's
# runner does (TAP 13, each program's output prefixed with "# "), with one
# addition: a program that fails or skips without printing a result of its
# own gets one, so a crash is never counted as nothing.
cd "$(dirname "$0")" || exit 1
timeout=${VSPACE_TEST_TIMEOUT:-$((600 * ${LAB_SLOW:-1}))}
# Where the CPUs' online files are (a copy, for run_tests-test.sh).
cpu_dir=${VS_CPU_DIR:-/sys/devices/system/cpu}
n=0
rc_all=0
pid=
out=
# Stopped, stop the program too (it runs in the background, in its own
# process group: timeout passes the signal on), and leave no file.
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; exit 130' INT TERM HUP
trap 'rm -f "$out"' EXIT
# shellcheck source=cpulist.sh
. ./cpulist.sh
echo "TAP version 13"
echo "1..$#"
for prog in "$@"; do
	n=$((n + 1))
	out=$(mktemp)
	start=$SECONDS
	online=$(cat "$cpu_dir/online" 2>/dev/null)
	# -k: a program whose cleanup hangs after the timeout is killed.
	# Its lines go out as they come (a long program's early results are
	# on the console even if its time runs out), read from $out until it
	# exits: not through a pipe, which a process it left behind would
	# hold open.
	timeout -k 60 "$timeout" "./$prog" >"$out" 2>&1 &
	pid=$!
	tail -n +1 -s 0.5 -f --pid="$pid" "$out" | sed -u 's/^/# /'
	wait "$pid"
	rc=$?
	# What it left running ends too (timeout leads a process group of
	# its own), before the CPUs are looked at: a hotplug loop's last
	# write lands first.
	for ((t = 0; t < 40; t++)); do
		kill -0 -- "-$pid" 2>/dev/null || break
		[ "$t" = 10 ] && kill -KILL -- "-$pid" 2>/dev/null
		sleep 0.5
	done
	pid=
	echo "# $prog took $((SECONDS - start)) s"
	# A program killed by its timeout had no cleanup: a CPU it took
	# offline would stay so for every later program. (Those offline
	# before it stay: the caller's.) One that ended on its own and left
	# one offline failed its cleanup.
	for c in $(cpu_words "$online"); do
		f=$cpu_dir/cpu$c/online
		if ! [ -w "$f" ] || [ "$(cat "$f")" != 0 ]; then
			continue
		fi
		if echo 1 >"$f" 2>/dev/null; then
			echo "# $prog left cpu$c offline: back online"
		else
			echo "# $prog left cpu$c offline, and it does not come back"
		fi
		# (reported below, as a program that failed without a result)
		[ $rc -eq 0 ] && rc=1
	done
	if [ $rc -eq 4 ] && ! grep -qE '^(not )?ok ' "$out"; then
		echo "# ok 0 $prog # SKIP (whole program)"
	elif [ $rc -ne 0 ] && [ $rc -ne 4 ] && ! grep -q '^not ok ' "$out"; then
		echo "# not ok 0 $prog # exit=$rc"
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
exit $rc_all
