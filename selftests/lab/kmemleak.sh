# SPDX-License-Identifier: GPL-2.0
#
# kmemleak in the lab guests; source this file. On kernels without
# kmemleak (Debian's) both functions do nothing and add no result.
#   kmemleak_start        forget what boot leaked, before vspace loads
#   kmemleak_check NAME   after the last rmmod: scan, and a result NAME
#                         that fails if anything is reported (the report
#                         goes to $LAB_OUT/kmemleak.log)
KMEMLEAK=/sys/kernel/debug/kmemleak

# Whether this kernel has kmemleak; then it must work, or the check
# would pass having looked at nothing.
kmemleak_built() {
	zcat /proc/config.gz 2>/dev/null | grep -qx 'CONFIG_DEBUG_KMEMLEAK=y'
}

kmemleak_start() {
	kmemleak_built || return 0
	echo scan >$KMEMLEAK
	echo clear >$KMEMLEAK
}

kmemleak_check() {
	local log=$LAB_OUT/kmemleak.log
	kmemleak_built || return 0
	# One that gave up refuses the scan below (EPERM), whenever it did;
	# kernel-check.sh also finds its message in the boot's log.
	if [ ! -w $KMEMLEAK ]; then
		echo "# not ok 1 $1 # kmemleak is built in but not working"
		return
	fi
	# An object is reported once it has been unreferenced through a
	# scan and is older than 5 s: scan twice, 6 s apart. A scan or a
	# read that fails has looked at nothing.
	if ! echo scan >$KMEMLEAK || ! sleep 6 || ! echo scan >$KMEMLEAK ||
	   ! cat $KMEMLEAK >"$log"; then
		echo "# not ok 1 $1 # the kmemleak scan failed"
		return
	fi
	if [ -s "$log" ]; then
		echo "# not ok 1 $1"
		grep -cE '^unreferenced object' "$log" | sed 's/^/# objects: /'
		head -60 "$log" | sed 's/^/# /'
	else
		echo "# ok 1 $1"
	fi
}
