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
#include <linux/delay.h>
#include <linux/ftrace.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/if_tun.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/rcupdate.h>
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

/* What burn() has burnt for VS_BURN_US, and for frames (VS_BURN_TX_COST). */
static atomic64_t burned_ns = ATOMIC64_INIT(0);
static atomic64_t burn_calls = ATOMIC64_INIT(0);
static atomic64_t tx_burned_ns = ATOMIC64_INIT(0);
static atomic64_t tx_frames = ATOMIC64_INIT(0);

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

/* Burns @us; returns the ns burnt, or -EINTR if a fatal signal cut it. */
static long burn(u64 us, u64 *burnt)
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
	*burnt = min(done, want);
	return ret;
}

/*
 * The cost of a frame to a vhost worker (VS_BURN_TX_COST). On a real host
 * a flood costs its worker CPU time, which a worker that shares the CPU
 * waits for; under TCG that time is instructions, which every vCPU waits
 * for, wherever it runs. So the lab makes a frame's cost burn: vhost-net
 * hands what a guest queued to the tap's socket with sendmsg()
 * (tun_sendmsg: one frame, or a batch of them, TUN_MSG_PTR), which ftrace
 * turns to tx_costly() for the workers of owners that asked, and
 * tx_costly() burns the cost of every frame in it before it sends.
 *
 * An owner is a process that set a cost on its open /dev/vs_burn; its
 * workers are the tasks named "vhost-<its pid>" (the thread that sets
 * VHOST_SET_OWNER must be its main thread). Closing the file ends it, and
 * the hook goes with the last owner.
 */
#ifdef CONFIG_DYNAMIC_FTRACE_WITH_REGS
#define TX_COST_SLOTS	16

static struct tx_cost {
	pid_t tgid;
	u32 us;
} tx_cost[TX_COST_SLOTS];
static DEFINE_MUTEX(tx_cost_lock);	/* slot changes, the hook's setup */
static bool tx_hooked;
static bool tx_filtered;	/* tx_cost_ops has a filter to free */
/* Workers sent into tx_costly() and not yet out: unhooking waits for them. */
static atomic_t tx_inflight = ATOMIC_INIT(0);

/* The current task's cost per frame if it is an owner's vhost worker. */
static u32 tx_cost_us(void)
{
	int i, pid;

	if (strncmp(current->comm, "vhost-", 6) ||
	    kstrtoint(current->comm + 6, 10, &pid))
		return 0;
	for (i = 0; i < TX_COST_SLOTS; i++)
		if (READ_ONCE(tx_cost[i].tgid) == pid)
			return READ_ONCE(tx_cost[i].us);
	return 0;
}

static int tx_costly(struct socket *sock, struct msghdr *m, size_t len)
{
	struct tun_msg_ctl *ctl = m->msg_control;
	u64 frames = 1, us = tx_cost_us(), burnt;
	int ret;

	/* vhost_tx_batch(): one call for the frames of a batch. */
	if (ctl && m->msg_controllen == sizeof(*ctl) &&
	    ctl->type == TUN_MSG_PTR)
		frames = ctl->num;
	/* VS_BURN_MAX_US bounds a burn, and so what tasks-RCU waits for. */
	if (us && !burn(min(us * frames, VS_BURN_MAX_US), &burnt)) {
		atomic64_add(burnt, &tx_burned_ns);
		atomic64_add(frames, &tx_frames);
	}
	/*
	 * Back through tun_sendmsg(): the call's return address is in this
	 * module, so it is not turned again. It must stay a call (the count
	 * below keeps it from becoming a tail jump).
	 */
	ret = sock->ops->sendmsg(sock, m, len);
	atomic_dec(&tx_inflight);
	return ret;
}

static void tx_cost_hook(unsigned long ip, unsigned long parent_ip,
			 struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);

	if (!regs || within_module(parent_ip, THIS_MODULE) || !tx_cost_us())
		return;
	atomic_inc(&tx_inflight);
	instruction_pointer_set(regs, (unsigned long)tx_costly);
}

static struct ftrace_ops tx_cost_ops = {
	.func = tx_cost_hook,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY |
		 FTRACE_OPS_FL_RECURSION,
};

static int tx_cost_hook_on(void)
{
	static const char fn[] = "tun_sendmsg";
	int ret;

	if (tx_hooked)
		return 0;
	/*
	 * The name is tun's: it must be loaded (the owner opened a tap). Set
	 * again each time (reset), in case tun was reloaded elsewhere; the
	 * filter itself is freed only at module exit: ftrace_free_filter()
	 * leaves the ops pointing at what it freed.
	 */
	ret = ftrace_set_filter(&tx_cost_ops, (unsigned char *)fn,
				sizeof(fn) - 1, 1);
	if (!ret) {
		tx_filtered = true;
		ret = register_ftrace_function(&tx_cost_ops);
	}
	if (ret) {
		pr_err("vs_burn: cannot hook %s: %d\n", fn, ret);
		return ret;
	}
	tx_hooked = true;
	return 0;
}

/* Called with tx_cost_lock held, or at module exit. */
static void tx_cost_hook_off(void)
{
	if (!tx_hooked)
		return;
	/* No worker is turned after this; wait for those that were. */
	unregister_ftrace_function(&tx_cost_ops);
	while (atomic_read(&tx_inflight))
		msleep(20);
	/*
	 * One out of the count may still be on its last instructions here;
	 * it is not in a voluntary sleep there, so tasks-RCU waits for it.
	 */
	synchronize_rcu_tasks();
	tx_hooked = false;
}

static bool tx_cost_none(void)
{
	int i;

	for (i = 0; i < TX_COST_SLOTS; i++)
		if (tx_cost[i].tgid)
			return false;
	return true;
}

/* Set (us > 0) or end (0) the caller's cost per frame. */
static long tx_cost_set(struct file *file, u64 us)
{
	pid_t owner = (long)file->private_data;
	int i, slot = -1;
	long ret = 0;

	if (us > VS_BURN_TX_MAX_US)
		return -EINVAL;
	/* One owner per open file: its close ends that owner's cost. */
	if (owner && owner != current->tgid)
		return -EBUSY;
	mutex_lock(&tx_cost_lock);
	for (i = 0; i < TX_COST_SLOTS; i++) {
		if (tx_cost[i].tgid == current->tgid) {
			slot = i;
			break;
		}
		if (slot < 0 && !tx_cost[i].tgid)
			slot = i;
	}
	if (!us) {
		/* Only through the file that set it. */
		if (owner == current->tgid && slot >= 0 &&
		    tx_cost[slot].tgid == current->tgid)
			WRITE_ONCE(tx_cost[slot].tgid, 0);
		if (tx_cost_none())
			tx_cost_hook_off();
		goto out;
	}
	if (slot < 0) {
		ret = -ENOSPC;
		goto out;
	}
	ret = tx_cost_hook_on();
	if (ret)
		goto out;
	WRITE_ONCE(tx_cost[slot].us, us);
	WRITE_ONCE(tx_cost[slot].tgid, current->tgid);
	file->private_data = (void *)(long)current->tgid;
out:
	mutex_unlock(&tx_cost_lock);
	return ret;
}

/* private_data: the tgid whose cost this file set (misc_open put ours). */
static int vs_burn_open(struct inode *inode, struct file *file)
{
	file->private_data = NULL;
	return 0;
}

static int vs_burn_release(struct inode *inode, struct file *file)
{
	pid_t owner = (long)file->private_data;
	int i;

	if (!owner)
		return 0;
	mutex_lock(&tx_cost_lock);
	for (i = 0; i < TX_COST_SLOTS; i++)
		if (tx_cost[i].tgid == owner)
			WRITE_ONCE(tx_cost[i].tgid, 0);
	if (tx_cost_none())
		tx_cost_hook_off();
	mutex_unlock(&tx_cost_lock);
	return 0;
}

/* No file is open: no owner is left, and the hook is off already. */
static void tx_cost_exit(void)
{
	tx_cost_hook_off();
	if (tx_filtered)
		ftrace_free_filter(&tx_cost_ops);
}
#else
/* No ftrace to hook with (the lab's debug kernel): no cost per frame. */
static long tx_cost_set(struct file *file, u64 us)
{
	return -EOPNOTSUPP;
}

static int vs_burn_open(struct inode *inode, struct file *file)
{
	return 0;
}

static int vs_burn_release(struct inode *inode, struct file *file)
{
	return 0;
}

static void tx_cost_exit(void)
{
}
#endif

static long vs_burn_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	u64 us, burnt;
	long ret;

	if (cmd != VS_BURN_US && cmd != VS_BURN_TX_COST)
		return -ENOTTY;
	if (copy_from_user(&us, (void __user *)arg, sizeof(us)))
		return -EFAULT;
	if (cmd == VS_BURN_TX_COST)
		return tx_cost_set(file, us);
	if (us > VS_BURN_MAX_US)
		return -EINVAL;
	ret = burn(us, &burnt);
	atomic64_add(burnt, &burned_ns);
	atomic64_inc(&burn_calls);
	return ret;
}

static ssize_t vs_burn_read(struct file *file, char __user *buf, size_t len,
			    loff_t *ppos)
{
	char s[128];
	int n;

	n = scnprintf(s, sizeof(s),
		      "burned_ns %lld calls %lld tx_burned_ns %lld tx_frames %lld\n",
		      atomic64_read(&burned_ns), atomic64_read(&burn_calls),
		      atomic64_read(&tx_burned_ns), atomic64_read(&tx_frames));
	return simple_read_from_buffer(buf, len, ppos, s, n);
}

static const struct file_operations vs_burn_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = vs_burn_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.read = vs_burn_read,
	.open = vs_burn_open,
	.release = vs_burn_release,
	.llseek = default_llseek,
};

static struct miscdevice vs_burn_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vs_burn",
	.fops = &vs_burn_fops,
	.mode = 0666,
};

static int __init vs_burn_init(void)
{
	return misc_register(&vs_burn_dev);
}
module_init(vs_burn_init);

static void __exit vs_burn_exit(void)
{
	misc_deregister(&vs_burn_dev);
	tx_cost_exit();
}
module_exit(vs_burn_exit);
MODULE_DESCRIPTION("vspace lab: on-CPU work that runs no instructions (test-only)");
MODULE_LICENSE("GPL");
