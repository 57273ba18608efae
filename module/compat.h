/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference vspace cares about lives here, so the
 * rest of the module reads as code for one kernel. Force-included by
 * module/Kbuild.
 */
#ifndef _VSPACE_COMPAT_H
#define _VSPACE_COMPAT_H

#include <linux/version.h>

/* Tested on Debian's 6.1 and 6.12; the APIs used exist from 5.15 on. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 15, 0)
#error "vspace needs Linux 5.15 or newer"
#endif

#include <linux/sched.h>

/*
 * A vhost_task (6.4+) is a user worker thread inside the QEMU process;
 * io_uring workers are user workers too but also PF_IO_WORKER. Before 6.4
 * vhost workers are kernel threads only.
 */
#ifdef PF_USER_WORKER
static inline bool vspace_is_user_worker(struct task_struct *t)
{
	return (t->flags & (PF_USER_WORKER | PF_IO_WORKER)) == PF_USER_WORKER;
}
#else
static inline bool vspace_is_user_worker(struct task_struct *t)
{
	return false;
}
#endif

/*
 * sched_switch gained prev_state, as its last argument, in 5.18. Inside a
 * probe declared with VSPACE_SWITCH_PROTO, VSPACE_PREV_STATE is prev's state.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 18, 0)
#define VSPACE_SWITCH_PROTO bool preempt, struct task_struct *prev,	\
			    struct task_struct *next, unsigned int prev_state
#define VSPACE_PREV_STATE prev_state
#else
#define VSPACE_SWITCH_PROTO bool preempt, struct task_struct *prev,	\
			    struct task_struct *next
#define VSPACE_PREV_STATE READ_ONCE(prev->__state)
#endif

#endif /* _VSPACE_COMPAT_H */
