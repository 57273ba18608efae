# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# cpulist helpers for vspace's shell selftests; source this file.
#   cpu_words LIST    the CPUs of a cpulist ("0-2,5"), one per word

cpu_words() {
	local part a b IFS=,
	for part in $1; do
		a=${part%-*} b=${part#*-}
		while [ "$a" -le "$b" ]; do echo -n "$a "; a=$((a + 1)); done
	done
}
