/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vs_burn: the lab's parallel work (test-only; never shipped with vspace).
 *
 * ioctl(fd, VS_BURN_US, &us) on /dev/vs_burn occupies the calling thread's
 * CPU for @us microseconds of the thread's own on-CPU time without running
 * instructions, so that under TCG with -icount work on several vCPUs
 * overlaps in virtual time. Only a fatal signal cuts a burn short
 * (-EINTR).
 *
 * ioctl(fd, VS_BURN_TX_COST, &us) makes each frame the caller's vhost-net
 * workers send (workers named "vhost-<caller's pid>") burn @us
 * microseconds of the worker's CPU time first, until the file is closed
 * or @us is 0: a flood's cost to its worker, as on a real host (a call
 * that sends a batch burns for each frame, up to VS_BURN_MAX_US; tun must
 * not be reloaded while a cost is set). -EBUSY if another process set a
 * cost on this open file, -EOPNOTSUPP on a kernel without ftrace's
 * DYNAMIC_FTRACE_WITH_REGS.
 *
 * read() returns "burned_ns N calls N tx_burned_ns N tx_frames N\n": what
 * VS_BURN_US burnt, and what frames' costs burnt.
 */
#ifndef _VS_BURN_H
#define _VS_BURN_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VS_BURN_US	_IOW('b', 1, __u64)
#define VS_BURN_TX_COST	_IOW('b', 2, __u64)
/* Longest single burn, in microseconds. */
#define VS_BURN_MAX_US	1000000ULL
/* Highest cost per frame, in microseconds. */
#define VS_BURN_TX_MAX_US	100000ULL

#endif /* _VS_BURN_H */
