# SPDX-License-Identifier: GPL-2.0
#
# vs_slow: how many times slower than a stock kernel this one is (the
# lab's LAB_SLOW, 1 to 10; vs_slow.h is the C side). Waits for something
# to happen are scaled by it, never what a test measures. Sourced by
# tap.sh and guests.sh.
vs_slow() { case ${LAB_SLOW:-1} in [1-9] | 10) echo "${LAB_SLOW:-1}" ;; *) echo 1 ;; esac; }
