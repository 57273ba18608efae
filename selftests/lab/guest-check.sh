#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a lab guest (see lab.sh): give it a production KVM host's
# shape (selftests/hostshape.sh), load vspace, run the selftests with every
# VM in a machine.slice scope of its own, unload it, and leave ktap.log and
# dmesg.log in $LAB_OUT.
set -u
ko=$LAB_CACHE/build/$LAB_KVER/module/vspace.ko
ktap=$LAB_OUT/ktap.log

echo "== $(uname -r): $(nproc) CPUs"
# Real vhost-net and KVM (emulated SVM under -cpu max) for the VM tests.
modprobe vhost_net
modprobe kvm_amd 2>/dev/null || true
. selftests/hostshape.sh
. selftests/lab/kmemleak.sh
# What setup printed (modules loaded under TCG) is read too (kernel-check.sh).
dmesg -c >"$LAB_OUT/boot-dmesg.log"
kmemleak_start
{
	# The host's shape is a result too: tests that ran without it would
	# pass for the wrong reason. Thousands of processes, loopback traffic,
	# cpu and cpuset controllers down to machine.slice.
	if hostshape_cgroups && hostshape_start 2000 && hostshape_check; then
		echo "# ok 1 lab.hostshape"
	else
		echo "# not ok 1 lab.hostshape"
	fi
	free -m | sed 's/^/# /'
	# VMs go to machine.slice scopes (spawn_vm, guest_start) if it is there.
	[ -d "$HOSTSHAPE_CG/machine.slice" ] &&
		export VS_MACHINE_SLICE=$HOSTSHAPE_CG/machine.slice
	# Loading and unloading are results too: a module that does not load
	# must fail the run, not skip every test.
	if insmod "$ko"; then
		echo "# ok 1 lab.insmod"
	else
		echo "# not ok 1 lab.insmod"
	fi
	VSPACE_BPFTRACE=${LAB_BPFTRACE:-1} VSPACE_KO=$ko GUEST_KERNEL=$LAB_GUEST_KERNEL \
		./selftests/run_tests.sh vspace_sysfs vspace_vms vspace_host vspace_stats \
		vspace_guests.sh vspace_guest_net.sh vspace_nx.sh vspacectl.sh vspace_load
	if rmmod vspace; then
		echo "# ok 1 lab.rmmod"
	else
		echo "# not ok 1 lab.rmmod"
	fi
	hostshape_stop
	kmemleak_check lab.kmemleak
} 2>&1 | tee "$ktap"
dmesg >"$LAB_OUT/dmesg.log"
exit 0
