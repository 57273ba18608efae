#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A real KVM guest's packets, counted by vspace: a tiny guest boots with
# its virtio-net driver behind a real vhost-net worker; the host pings it
# through the tap. vspace's count of the frames that VM's vhost worker
# moved, each way, must be within 2% of the tap's own counters over the
# same span, and cover every echo request and reply ping saw.
# Exit 4 (skip) without root, vspace, /dev/kvm or QEMU.
cd "$(dirname "$0")" || exit 1
. ./tap.sh
. ./guests.sh

V=/sys/kernel/vspace
PINGS=${PINGS:-200}

[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -d $V ] || skip_all "vspace is not loaded"
guest_require

saved_enabled=$(cat $V/enabled) saved_interval=$(cat $V/interval_ms)
cleanup() {
	[ -n "${pid:-}" ] && echo "$pid" >$V/vms/remove 2>/dev/null
	guest_stop p1
	echo "$saved_interval" >$V/interval_ms
	echo "$saved_enabled" >$V/enabled
}
trap cleanup EXIT

# vm_stat NAME: one counter of the guest's vms/<pid>/stats.
vm_stat() { awk -v k="$1" '$1 == k { print $2 }' "$V/vms/$pid/stats"; }
tap_stat() { cat "/sys/class/net/$tap/statistics/$1"; }

# within2 WHAT A B: A and B differ by at most 2% of B (and B is not 0).
within2() {
	echo "# $1: vspace $2, tap $3"
	[ "$3" -gt 0 ] && [ $((100 * ($2 - $3))) -le $((2 * $3)) ] &&
		[ $((100 * ($3 - $2))) -le $((2 * $3)) ]
}

echo "TAP version 13"
echo "1..6"
echo 100 >$V/interval_ms
echo 1 >$V/enabled
GUEST_IP=10.99.0.2 pid=$(guest_start p1 -name p1,debug-threads=on) ||
	skip_all "QEMU could not start a KVM guest"
tap=$(guest_tap p1)
ip addr add 10.99.0.1/24 dev "$tap"
ip link set "$tap" up
start=$SECONDS
# Within the harness's limit (600 s, times LAB_SLOW), to say why not.
if guest_wait_up p1 480; then
	echo "# the guest booted in $((SECONDS - start)) s"
	ok guest_boots
else
	not_ok "guest_boots"
	echo "# not up after $((SECONDS - start)) s"
	guest_why p1 | sed 's/^/# qemu: /'
	sed 's/^/# guest: /' "$GUEST_DIR/p1.log" "$GUEST_DIR/p1.err" | tail -30
	exit 1
fi
echo "$pid" >$V/vms/add
check vm_has_vhost grep -q " vhost " "$V/vms/$pid/threads"

# Wait for the guest to answer, then count a span of pings. The counters
# are vspace's as of its last interval: read them 3 intervals after the
# traffic, with the tap's read at the same quiet moments.
busybox ping -c 1 -W 30 10.99.0.2 >/dev/null
sleep 0.5
tx0=$(vm_stat tx_packets) rx0=$(vm_stat rx_packets)
trx0=$(tap_stat rx_packets) ttx0=$(tap_stat tx_packets)
out=$(busybox ping -c "$PINGS" -i 0.05 -W 5 10.99.0.2)
sleep 0.5
tx1=$(vm_stat tx_packets) rx1=$(vm_stat rx_packets)
trx1=$(tap_stat rx_packets) ttx1=$(tap_stat tx_packets)
got=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' <<<"$out")
echo "# ping: ${got:-0} of $PINGS replies"

check pings_answered [ "${got:-0}" -ge $((PINGS * 9 / 10)) ]
# Guest to host: the replies (and whatever else the guest sent).
check guest_to_host_matches_tap within2 "frames guest to host" \
	$((tx1 - tx0)) $((trx1 - trx0))
# Host to guest: the requests (and ARP).
check host_to_guest_matches_tap within2 "frames host to guest" \
	$((rx1 - rx0)) $((ttx1 - ttx0))
covers() { [ $((tx1 - tx0)) -ge "${got:-0}" ] && [ $((rx1 - rx0)) -ge "$PINGS" ]; }
check covers_the_pings covers
exit $failed
