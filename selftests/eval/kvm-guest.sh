#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The evaluation's real KVM guests (eval.py --kvm), through guests.sh:
#   kvm-guest.sh start NAME   boot a guest whose reqserver answers on its
#                             NIC (vhost=on); prints "PID TAP" once it is up
#   kvm-guest.sh stop NAME
# The environment says how (guests.sh): GUEST_SERVER, GUEST_SERVE,
# GUEST_SMP, GUEST_KERNEL, GUEST_IP (the nested lab's shape),
# VS_MACHINE_SLICE.
set -u
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../guests.sh
. "$here/../guests.sh"
case ${1:-} in
start)
	pid=$(guest_start "$2" -name "$2,debug-threads=on") || exit 1
	# Up, or failed (no reqserver): either ends the wait.
	for ((t = 0; t < ${GUEST_BOOT_WAIT:-300}; t++)); do
		grep -q 'tiny guest \(up\|failed\)' "$GUEST_DIR/$2.log" 2>/dev/null && break
		sleep 1
	done
	grep -q 'tiny guest up' "$GUEST_DIR/$2.log" 2>/dev/null || {
		tail -20 "$GUEST_DIR/$2.log" >&2
		guest_stop "$2"
		exit 1
	}
	# QEMU leaves its tap down (script=no); reqclient sends on it.
	tap=$(guest_tap "$2")
	ip link set dev "$tap" up || { guest_stop "$2"; exit 1; }
	echo "$pid $tap"
	;;
stop) guest_stop "$2" ;;
*) echo "usage: kvm-guest.sh start|stop NAME" >&2; exit 2 ;;
esac
