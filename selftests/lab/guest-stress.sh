#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a lab guest with 4 vCPUs (see lab.sh): the stress tests
# (selftests/vspace_stress.sh; it loads and unloads vspace itself, and
# starts the host's services) on a guest with a production KVM host's
# shape. $LAB_STRESS is short (make check, make check-debug) or long
# (make check-full). Leaves ktap.log, dmesg.log and, on a kernel with
# kmemleak, kmemleak.log in $LAB_OUT.
set -u
ko=$LAB_CACHE/build/$LAB_KVER/module/vspace.ko
ktap=$LAB_OUT/ktap.log

echo "== $(uname -r): $(nproc) CPUs, $LAB_STRESS stress"
modprobe vhost_net
modprobe kvm_amd 2>/dev/null || true
. selftests/hostshape.sh
. selftests/lab/kmemleak.sh
# What setup printed (modules loaded under TCG) is read too (kernel-check.sh).
dmesg -c >"$LAB_OUT/boot-dmesg.log"
kmemleak_start
{
	if hostshape_cgroups; then
		echo "# ok 1 lab.stress.cgroups"
	else
		echo "# not ok 1 lab.stress.cgroups"
	fi
	[ -d "$HOSTSHAPE_CG/machine.slice" ] &&
		export VS_MACHINE_SLICE=$HOSTSHAPE_CG/machine.slice
	# The short stress takes about 700 s on 6.1 alone on a core; room
	# for a slower or shared host.
	limit=1500
	[ "$LAB_STRESS" = long ] && limit=5400
	VSPACE_KO=$ko GUEST_KERNEL=$LAB_GUEST_KERNEL \
		VSPACE_TEST_TIMEOUT=$((limit * LAB_SLOW)) VS_STRESS_REQUIRE=1 \
		./selftests/run_tests.sh vspace_stress.sh
	kmemleak_check lab.stress.kmemleak
} 2>&1 | tee "$ktap"
dmesg >"$LAB_OUT/dmesg.log"
exit 0
