/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vs_burn: the lab's parallel work (test-only; never shipped with vspace).
 *
 * ioctl(fd, VS_BURN_US, &us) on /dev/vs_burn occupies the calling thread's
 * CPU for @us microseconds of the thread's own on-CPU time without running
 * instructions, so that under TCG with -icount work on several vCPUs
 * overlaps in virtual time; read() returns "burned_ns N calls N\n". Only
 * a fatal signal cuts a burn short (-EINTR).
 */
#ifndef _VS_BURN_H
#define _VS_BURN_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VS_BURN_US	_IOW('b', 1, __u64)
/* Longest single burn, in microseconds. */
#define VS_BURN_MAX_US	1000000ULL

#endif /* _VS_BURN_H */
