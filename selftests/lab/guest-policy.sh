#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a lab guest with 6 vCPUs (see lab.sh): the policy tests,
# which need CPUs to move between the groups, and the evaluation's smoke
# test, on a guest with a production KVM host's shape (see guest-check.sh),
# with 4 of them online; then a nested KVM guest with a 4-queue NIC on
# all 6. Leaves ktap.log and dmesg.log in $LAB_OUT.
set -u
ko=$LAB_CACHE/build/$LAB_KVER/module/vspace.ko
ktap=$LAB_OUT/ktap.log

echo "== $(uname -r): $(nproc) CPUs"
# in_cpulist CPU LIST: whether CPU is in the cpulist LIST.
in_cpulist() {
	local part
	for part in ${2//,/ }; do
		[ "$1" -ge "${part%-*}" ] && [ "$1" -le "${part#*-}" ] && return 0
	done
	return 1
}

extra=$(seq 4 $(($(nproc --all) - 1)))
modprobe vhost_net
modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null || true
. selftests/hostshape.sh
. selftests/lab/kmemleak.sh
# What setup printed (modules loaded under TCG) is read too (kernel-check.sh).
dmesg -c >"$LAB_OUT/boot-dmesg.log"
kmemleak_start
{
	# The policy tests and the smoke test were measured on 4 CPUs: the
	# rest wait offline (before vspace loads: its cpus are the online
	# ones).
	ok=1
	for c in $extra; do
		echo 0 >/sys/devices/system/cpu/cpu"$c"/online || ok=
	done
	if [ -n "$ok" ]; then
		echo "# ok 1 lab.policy.cpus_offline"
	else
		echo "# not ok 1 lab.policy.cpus_offline"
	fi
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
	# These tests size the groups to the VMs' own demand and expect it
	# to fill the CPUs, and the evaluation is a benchmark: both run with
	# the cgroup layout (the VMs in their scopes) but without the host's
	# services, which under TCG share the one emulation thread with the
	# VMs (and on 6.1 vspace's per-VM walk of every host task, issue 14,
	# grows with them).
	hostshape_stop
	# The burn module gives isolation_at_cost its frames' cost.
	burn_ko=$LAB_CACHE/build/$LAB_KVER/burn/vs_burn.ko
	if insmod "$burn_ko"; then
		echo "# ok 1 lab.policy.burn_insmod"
	else
		echo "# not ok 1 lab.policy.burn_insmod"
	fi
	./selftests/run_tests.sh vspace_policy
	# Unhooked with no sender left (eval_smoke loads it again); the
	# runner has ended what the tests left, which may still be exiting.
	for _ in 1 2 3 4 5 6 7 8 9; do
		rmmod vs_burn 2>/dev/null && break
		sleep 1
	done
	if ! lsmod | grep -q '^vs_burn ' || rmmod vs_burn; then
		echo "# ok 1 lab.policy.burn_rmmod"
	else
		echo "# not ok 1 lab.policy.burn_rmmod"
	fi
	machine_slice=${VS_MACHINE_SLICE:-}
	unset VS_MACHINE_SLICE
	./selftests/run_tests.sh eval_smoke.sh
	# All CPUs, for a KVM guest with a multiqueue NIC in its scope: an
	# I/O group of 4 cores to spread its 4 queue pairs' workers over.
	# vspace's cpus gain them, but for isolcpus= ones (the lab has no
	# nohz_full= or isolated partitions, which its default leaves out
	# too).
	cpus=$(cat /sys/kernel/vspace/cpus) ok=1
	for c in $extra; do
		echo 1 >/sys/devices/system/cpu/cpu"$c"/online || ok=
		in_cpulist "$c" "$(cat /sys/devices/system/cpu/isolated)" ||
			cpus+=",$c"
	done
	echo "$cpus" >/sys/kernel/vspace/cpus || ok=
	echo "# online $(cat /sys/devices/system/cpu/online), vspace cpus $(cat /sys/kernel/vspace/cpus)"
	if [ -n "$ok" ]; then
		echo "# ok 1 lab.policy.cpus_online"
	else
		echo "# not ok 1 lab.policy.cpus_online"
	fi
	[ -n "$machine_slice" ] && export VS_MACHINE_SLICE=$machine_slice
	GUEST_KERNEL=$LAB_GUEST_KERNEL \
		./selftests/run_tests.sh vspace_multiqueue.sh
	if rmmod vspace; then
		echo "# ok 1 lab.policy.rmmod"
	else
		echo "# not ok 1 lab.policy.rmmod"
	fi
	kmemleak_check lab.policy.kmemleak
} 2>&1 | tee "$ktap"
dmesg >"$LAB_OUT/dmesg.log"
exit 0
