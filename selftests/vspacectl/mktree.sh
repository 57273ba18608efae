#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mktree.sh DIR: a stand-in for /sys/kernel/vspace and /proc with fixed
# contents (one managed VM, 4242, named web1), for golden-output tests of
# vspacectl on a machine without vspace.
set -e
d=$1
mkdir -p "$d/sys/vms/4242" "$d/proc/4242" "$d/proc/5151" "$d/proc/6161" "$d/proc/6262"
cd "$d/sys"
echo 0.1.0 >version
echo 1 >enabled
echo "performance [energy] resource" >mode
echo 100 >interval_ms
echo 0-7 >cpus
echo 0-2 >vm_cpus
echo 6-7 >io_cpus
echo 3-5 >free_cpus
echo >io_confined_cpus
echo 1 >io_cpus_min
echo 4 >io_cpus_max
echo 1 >isolation
echo 0 >auto_discover
: >vms/add
: >vms/remove
cat >stats <<'E'
interval_ns 100012345
vm_util_pct 61
vm_p50_wait_ns 24576
vm_p99_wait_ns 393216
vm_preemptions_per_s 12
vm_migrations_per_s 3
vm_wakeups_per_s 840
vm_packets_per_s 0
vm_demand_mcpu 1870
io_util_pct 47
io_p50_wait_ns 12288
io_p99_wait_ns 98304
io_preemptions_per_s 2
io_migrations_per_s 0
io_wakeups_per_s 2210
io_packets_per_s 41000
io_demand_mcpu 960
E
cat >decisions <<'E'
# time_ms mode old_vm old_io old_free vm io free vm_util_pct io_util_pct vm_demand_mcpu io_demand_mcpu vm_p99_wait_us io_p99_wait_us slo_missed confined reason
15382 performance 7 1 0 7 1 0 24 0 640 125 98 49 0 0 mode
17376 energy 7 1 0 3 1 4 30 11 864 136 786 98 0 0 release
19410 energy 3 1 4 3 2 3 61 93 1870 1410 393 25165 1 0 slo+demand
E
cd vms/4242
cat >threads <<'E'
4243 vcpu 0-2
4244 vcpu 0-2
4250 vhost 6-7 drifted=1
4242 other 0-7
E
echo 1 >drifts
echo 500 >slo_us
echo 200 >weight
: >latency_us
cat >stats <<'E'
runtime_ns 123456789
wait_ns 2345678
preemptions 12
migrations 3
wakeups 4567
io_cpu_ns 34567890
p50_wait_ns 24576
p99_wait_ns 393216
tx_packets 100000
tx_bytes 6400000
rx_packets 99990
rx_bytes 6399360
vcpu_p99_wait_ns 393216
vhost_p99_wait_ns 98304
io_cpu_ns_last 4500000
slo_missed 0
confined 0
E
cd "$d/proc"
printf 'qemu-system-x86_64\0-name\0guest=web1,debug-threads=on\0-m\0512\0' >4242/cmdline
printf 'qemu-system-x86_64\0-name\0db\0' >5151/cmdline
printf 'qemu-system-x86_64\0-name\0guest=twin\0' >6161/cmdline
printf 'qemu-system-x86_64\0-name\0twin,debug-threads=on\0' >6262/cmdline
