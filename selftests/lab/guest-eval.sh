#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a lab guest booted with -icount and 8 vCPUs (lab.sh eval):
# the evaluation, selftests/eval/eval.py, with its results in $LAB_OUT.
# The burn module makes the VMs' work overlap in virtual time (the
# parallel lab); the programs run from tmpfs, since 9p replies arrive on
# the host's time, not the guest's.
set -u
build=$LAB_CACHE/build/$LAB_KVER
echo "== $(uname -r): $(nproc) CPUs"
modprobe vhost_net
# What setup printed (modules loaded under TCG) is read too (kernel-check.sh).
dmesg -c >"$LAB_OUT/boot-dmesg.log"
insmod "$build/burn/vs_burn.ko" || exit 1
insmod "$build/module/vspace.ko" || exit 1
bin=$(mktemp -d /dev/shm/eval.XXXXXX)
cp selftests/vhost_vm selftests/reqclient "$bin/"
# Options from lab.sh (EVAL_ARGS on the host).
args=$(cat "$LAB_CACHE/eval-args" 2>/dev/null)
# shellcheck disable=SC2086
python3 selftests/eval/eval.py --out "$LAB_OUT" --bin "$bin" $args
rc=$?
rmmod vspace
rmmod vs_burn
dmesg >"$LAB_OUT/dmesg.log"
exit $rc
