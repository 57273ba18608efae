#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a lab guest with 4 vCPUs (see lab.sh): the policy tests,
# which need CPUs to move between the groups, and the evaluation's smoke
# test, on a guest with a production KVM host's shape (see guest-check.sh).
# Leaves ktap.log and dmesg.log in $LAB_OUT.
set -u
ko=$LAB_CACHE/build/$LAB_KVER/module/vspace.ko
ktap=$LAB_OUT/ktap.log

echo "== $(uname -r): $(nproc) CPUs"
modprobe vhost_net
. selftests/hostshape.sh
dmesg -C
{
	# The host's services at half the check boot's rate: these
	# tests size the groups to the VMs' own demand and expect it to
	# dominate the CPUs, as it does on a host whose services run on
	# housekeeping CPUs outside vspace's cpus.
	if hostshape_cgroups &&
	   HOSTSHAPE_UDP=25 HOSTSHAPE_TCP=32 hostshape_start 2000 &&
	   hostshape_check; then
		echo "# ok 1 lab.policy.hostshape"
	else
		echo "# not ok 1 lab.policy.hostshape"
	fi
	free -m | sed 's/^/# /'
	# VMs go to machine.slice scopes (spawn_vm, guest_start) if it is there.
	[ -d "$HOSTSHAPE_CG/machine.slice" ] &&
		export VS_MACHINE_SLICE=$HOSTSHAPE_CG/machine.slice
	if insmod "$ko"; then
		echo "# ok 1 lab.policy.insmod"
	else
		echo "# not ok 1 lab.policy.insmod"
	fi
	./selftests/run_tests.sh vspace_policy eval_smoke.sh
	if rmmod vspace; then
		echo "# ok 1 lab.policy.rmmod"
	else
		echo "# not ok 1 lab.policy.rmmod"
	fi
	hostshape_stop
} 2>&1 | tee "$ktap"
dmesg >"$LAB_OUT/dmesg.log"
exit 0
