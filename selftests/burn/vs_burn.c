// SPDX-License-Identifier: GPL-2.0
/*
 * vs_burn: work that occupies a CPU without executing instructions, for the
 * evaluation lab (selftests only; never built into vspace).
 *
 * Under TCG, guest vCPUs take turns on one host thread, and with -icount
 * virtual time is the sum of every vCPU's instructions: spinning on two
 * vCPUs takes twice as long as on one, so "dedicated cores" can never give
 * the guest more compute. A vCPU in hlt executes nothing, and its virtual
 * time still passes. So a burning thread sits in "sti; hlt" on its CPU
 * until an hrtimer pinned there says its share is done: the guest's
 * scheduler sees a running task (run-queue waits, preemptions, migrations
 * are real), and burns on different vCPUs overlap.
 *
 * Only the thread's own on-CPU time counts: whenever a reschedule is due
 * the burn stops its clock and calls schedule(), so a preempted request
 * takes longer, as it would on a real machine. Interrupts that land on a
 * burning CPU count as burn: the validity figure (evaluation.rst) is a
 * lower bound for them.
 *
 * Only a fatal signal ends a burn early: other signals wait for its end,
 * so a caller never has to redo or guess at a partial burn.
 */
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "vs_burn.h"

/*
 * Preemption is off while a slice halts (its timer is pinned). With
 * preemptible RCU a burning CPU reports no quiescent state until RCU asks
 * it to reschedule (which ends the slice), so grace periods stretch by a
 * few ticks, no more; VS_BURN_MAX_US bounds what tasks-RCU may wait for.
 * Slices end every 10 ms at most: shorter ones would wake the CPU, and
 * run instructions, for nothing (the tick already wakes it more often).
 */
#define BURN_SLICE_NS	(10 * NSEC_PER_MSEC)

static atomic64_t burned_ns = ATOMIC64_INIT(0);
static atomic64_t burn_calls = ATOMIC64_INIT(0);

struct burn_timer {
	struct hrtimer timer;
	bool fired;
};

static enum hrtimer_restart burn_timer_fn(struct hrtimer *t)
{
	WRITE_ONCE(container_of(t, struct burn_timer, timer)->fired, true);
	return HRTIMER_NORESTART;
}

/*
 * A reschedule is due. PREEMPT_RT marks one for a fair task lazily (no
 * IPI, not seen by need_resched()): a burn yields to it too, as a user
 * thread would at its next return from an interrupt.
 */
static bool burn_resched(void)
{
#ifdef TIF_NEED_RESCHED_LAZY
	if (test_thread_flag(TIF_NEED_RESCHED_LAZY))
		return true;
#endif
	return need_resched();
}

static bool burn_stop(struct burn_timer *bt)
{
	return READ_ONCE(bt->fired) || burn_resched() ||
	       fatal_signal_pending(current);
}

/* Halt this CPU until the timer, a reschedule or a fatal signal. */
static void burn_wait(struct burn_timer *bt)
{
	while (!burn_stop(bt)) {
		raw_local_irq_disable();
		/* Checked again with interrupts off: no wakeup is lost. */
		if (burn_stop(bt)) {
			raw_local_irq_enable();
			break;
		}
		/* sti's shadow covers hlt: no interrupt slips in between. */
		asm volatile("sti; hlt" ::: "memory");
	}
}

static long burn(u64 us)
{
	u64 want = us * NSEC_PER_USEC, done = 0;
	struct burn_timer bt;
	long ret = 0;

	hrtimer_init_on_stack(&bt.timer, CLOCK_MONOTONIC,
			      HRTIMER_MODE_REL_PINNED_HARD);
	bt.timer.function = burn_timer_fn;
	while (done < want) {
		u64 start;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		/* The timer must fire on the CPU that halts for it. */
		preempt_disable();
		bt.fired = false;
		start = ktime_get_ns();
		hrtimer_start(&bt.timer,
			      ns_to_ktime(min_t(u64, want - done, BURN_SLICE_NS)),
			      HRTIMER_MODE_REL_PINNED_HARD);
		burn_wait(&bt);
		hrtimer_cancel(&bt.timer);
		done += ktime_get_ns() - start;
		preempt_enable();
		/* cond_resched() is a no-op on RT and ignores the lazy flag. */
		if (burn_resched())
			schedule();
	}
	destroy_hrtimer_on_stack(&bt.timer);
	atomic64_add(min(done, want), &burned_ns);
	atomic64_inc(&burn_calls);
	return ret;
}

static long vs_burn_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	u64 us;

	if (cmd != VS_BURN_US)
		return -ENOTTY;
	if (copy_from_user(&us, (void __user *)arg, sizeof(us)))
		return -EFAULT;
	if (us > VS_BURN_MAX_US)
		return -EINVAL;
	return burn(us);
}

static ssize_t vs_burn_read(struct file *file, char __user *buf, size_t len,
			    loff_t *ppos)
{
	char s[64];
	int n;

	n = scnprintf(s, sizeof(s), "burned_ns %lld calls %lld\n",
		      atomic64_read(&burned_ns), atomic64_read(&burn_calls));
	return simple_read_from_buffer(buf, len, ppos, s, n);
}

static const struct file_operations vs_burn_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = vs_burn_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.read = vs_burn_read,
	.llseek = default_llseek,
};

static struct miscdevice vs_burn_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vs_burn",
	.fops = &vs_burn_fops,
	.mode = 0666,
};

module_misc_device(vs_burn_dev);
MODULE_DESCRIPTION("vspace lab: on-CPU work that runs no instructions (test-only)");
MODULE_LICENSE("GPL");
