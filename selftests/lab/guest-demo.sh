#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's demo, inside a lab guest: load vspace, show its sysfs tree,
# change the mode live.
set -eu
ko=$LAB_CACHE/build/$LAB_KVER/module/vspace.ko
V=/sys/kernel/vspace
say() { printf '\n$ %s\n' "$*"; eval "$*"; }

echo "== vspace demo on $(uname -r), $(nproc) CPUs"
say insmod "$ko"
say 'dmesg | grep vspace'
say "ls -l $V"
say "grep . $V/*"
say "echo energy > $V/mode"
say "cat $V/mode"
say "echo 1 > $V/cpus; echo 1 > $V/enabled"
say "grep . $V/*"
say "echo 5 > $V/interval_ms || true"
say 'dmesg | tail -n 1'
say rmmod vspace
