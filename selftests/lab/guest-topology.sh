#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a lab guest of two NUMA nodes of two cores of two SMT
# threads (8 vCPUs), booted with its last CPU isolated (isolcpus=, see
# lab.sh): the tests of how vspace takes the host's CPU topology. vspace_topology.sh loads vspace itself. Leaves ktap.log and
# dmesg.log in $LAB_OUT.
set -u
ko=$LAB_CACHE/build/$LAB_KVER/module/vspace.ko
ktap=$LAB_OUT/ktap.log

echo "== $(uname -r): $(nproc) CPUs, isolated: $(cat /sys/devices/system/cpu/isolated)"
modprobe vhost_net
. selftests/lab/kmemleak.sh
# What setup printed (modules loaded under TCG) is read too (kernel-check.sh).
dmesg -c >"$LAB_OUT/boot-dmesg.log"
kmemleak_start
{
	# vspace_topology.sh leaves vspace loaded, vspace_layout.sh and
	# vspace_multiqueue.sh use it;
	# vspace_load checks the defaults at every load, isolated CPUs left
	# out.
	VSPACE_KO=$ko ./selftests/run_tests.sh vspace_topology.sh vspace_layout.sh \
		vspace_multiqueue.sh vspace_load
	rmmod vspace
	kmemleak_check lab.topology.kmemleak
} 2>&1 | tee "$ktap"
dmesg >"$LAB_OUT/dmesg.log"
exit 0
