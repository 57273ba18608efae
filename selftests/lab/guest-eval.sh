#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a lab guest with 4 or more vCPUs (lab.sh eval): the
# evaluation, selftests/eval/eval.py, with its results in $LAB_OUT.
set -u
ko=$LAB_CACHE/build/$LAB_KVER/module/vspace.ko
echo "== $(uname -r): $(nproc) CPUs"
modprobe vhost_net
dmesg -C
insmod "$ko" || exit 1
# Options from lab.sh (EVAL_ARGS on the host).
args=$(cat "$LAB_CACHE/eval-args" 2>/dev/null)
# shellcheck disable=SC2086
python3 selftests/eval/eval.py --out "$LAB_OUT" $args
rc=$?
rmmod vspace
dmesg >"$LAB_OUT/dmesg.log"
exit $rc
