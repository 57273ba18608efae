#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a lab guest (see lab.sh): load vspace, run the selftests,
# unload it, and leave ktap.log and dmesg.log in $LAB_OUT.
set -u
ko=$LAB_CACHE/build/$LAB_KVER/module/vspace.ko
ktap=$LAB_OUT/ktap.log

echo "== $(uname -r): $(nproc) CPUs"
# Real vhost-net and KVM (emulated SVM under -cpu max) for the VM tests.
modprobe vhost_net
modprobe kvm_amd 2>/dev/null || true
dmesg -C
{
	# Loading and unloading are results too: a module that does not load
	# must fail the run, not skip every test.
	if insmod "$ko"; then
		echo "# ok 1 lab.insmod"
	else
		echo "# not ok 1 lab.insmod"
	fi
	VSPACE_KO=$ko GUEST_KERNEL=$LAB_CACHE/kernels/$LAB_KVER/boot/vmlinuz-$LAB_KVER \
		./selftests/run_tests.sh vspace_sysfs vspace_vms vspace_stats vspace_guests.sh \
		vspace_guest_net.sh vspacectl.sh vspace_load
	if rmmod vspace; then
		echo "# ok 1 lab.rmmod"
	else
		echo "# not ok 1 lab.rmmod"
	fi
} 2>&1 | tee "$ktap"
dmesg >"$LAB_OUT/dmesg.log"
exit 0
