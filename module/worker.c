// SPDX-License-Identifier: GPL-2.0
/*
 * The periodic work: every interval_ms, one period (vspace_period()):
 * find the VMs and their threads, collect the interval's figures, decide
 * the groups, bind. It is a delayed work item, not a timer, because
 * binding (set_cpus_allowed_ptr) may sleep.
 *
 * CPU hotplug only kicks the work; the work recomputes the groups from the
 * CPUs then online. Hotplug callbacks run with the hotplug lock held, so
 * they must not take vspace_lock (see Documentation/design.rst).
 *
 * The work is vspace's own cost, so it is measured (stats work_ns, the
 * vspace:work event). It has an unbound workqueue of its own: a work item
 * is kept from running twice at once only within one workqueue, and
 * destroying it at unload waits for the last run. Its CPUs are the
 * unbound workqueues' (/sys/devices/virtual/workqueue/cpumask), which is
 * how an operator keeps it off the managed CPUs.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/ktime.h>
#include <linux/workqueue.h>

#include "vspace.h"

static void vspace_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(vspace_work, vspace_work_fn);
static struct workqueue_struct *vspace_wq;
static int vspace_cpuhp_state;

/*
 * Queue the work @delay_ms from now, or (@kick) run it at once even if it
 * is queued for later; vspace_lock held. Requeueing itself, the work
 * must not push back a kick that came while it ran: no @kick.
 */
static void vspace_work_queue(bool kick, unsigned long delay_ms)
{
	if (kick)
		mod_delayed_work(vspace_wq, &vspace_work, 0);
	else
		queue_delayed_work(vspace_wq, &vspace_work,
				   msecs_to_jiffies(delay_ms));
}

/*
 * Whether this period ends the interval; if not, *@left_ms is what is
 * left of it. A kick makes a period early: it acts on what changed, but
 * the policy decides on whole intervals (a wait counted when it ends
 * would read as many CPUs over a few microseconds, and the policy's holds
 * count intervals), so an interval half run or less goes on to its end.
 */
static bool vspace_interval_done(unsigned long *left_ms)
{
	u64 len = (u64)vspace_config.interval_ms * NSEC_PER_MSEC;
	u64 ran = vspace_stats_running_ns();

	*left_ms = vspace_config.interval_ms;
	if (ran >= len / 2)
		return true;
	*left_ms = div_u64(len - ran + NSEC_PER_MSEC - 1, NSEC_PER_MSEC);
	return false;
}

/* Stage @s of a period ends: it began at *@at; the next begins now. */
static void vspace_stage_done(struct vspace_work_ns *ns, enum vspace_stage s,
			      u64 *at)
{
	u64 now = ktime_get_ns();

	ns->stage[s] = now - *at;
	*at = now;
}

/*
 * One period, in one section under vspace_lock (vspace_vms_lock around it,
 * as VMs come and go): find, collect, decide, act; collect and decide
 * only at the end of an interval. Only the directories of VMs that exited
 * go after it: their readers take vspace_lock.
 */
static void vspace_period(void)
{
	struct vspace_work_ns ns;
	unsigned long left_ms;
	u64 start, at;
	bool done;
	LIST_HEAD(gone);

	mutex_lock(&vspace_vms_lock);
	mutex_lock(&vspace_lock);
	start = ktime_get_ns();
	at = start;
	vspace_cpus_down_turn();
	done = vspace_interval_done(&left_ms);

	/* Find: new VMs (auto_discover), every VM's threads, exited VMs. */
	vspace_vms_discover();
	vspace_vms_rescan(&gone);
	vspace_stage_done(&ns, VSPACE_STAGE_FIND, &at);

	/* Collect: the interval's figures from the probes. */
	if (done) {
		vspace_collect_tune();
		vspace_stats_update();
	}
	vspace_stage_done(&ns, VSPACE_STAGE_COLLECT, &at);

	/* Decide: on the CPUs online, not one a hotplug takes down meanwhile. */
	cpus_read_lock();
	if (done)
		vspace_alloc_step();
	else
		vspace_alloc_between();
	cpus_read_unlock();
	vspace_stage_done(&ns, VSPACE_STAGE_DECIDE, &at);

	/* Act: every thread where it belongs. */
	vspace_place_rescanned();
	vspace_stage_done(&ns, VSPACE_STAGE_ACT, &at);

	ns.stage[VSPACE_STAGE_ALL] = at - start;
	vspace_stats_work(&ns, raw_smp_processor_id());
	if (!vspace_stopping)
		vspace_work_queue(false, left_ms);
	mutex_unlock(&vspace_lock);

	vspace_vms_reap(&gone);
	mutex_unlock(&vspace_vms_lock);
}

static void vspace_work_fn(struct work_struct *work)
{
	vspace_period();
}

/* Run the periodic work now; vspace_lock held. */
void vspace_worker_kick(void)
{
	lockdep_assert_held(&vspace_lock);
	if (!vspace_stopping)
		vspace_work_queue(true, 0);
}

/* Not vspace_worker_kick(): no vspace_lock under the hotplug lock. */
static int vspace_cpu_changed(unsigned int cpu)
{
	if (!READ_ONCE(vspace_stopping))
		mod_delayed_work(vspace_wq, &vspace_work, 0);
	return 0;
}

/* Before any task falls back from @cpu: placement must know it went. */
static int vspace_cpu_going_offline(unsigned int cpu)
{
	vspace_cpu_going_down(cpu);
	return vspace_cpu_changed(cpu);
}

int vspace_worker_init(void)
{
	int ret;

	vspace_wq = alloc_workqueue("vspace", WQ_UNBOUND, 1);
	if (!vspace_wq)
		return -ENOMEM;
	ret = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "vspace:online",
					vspace_cpu_changed,
					vspace_cpu_going_offline);
	if (ret < 0) {
		destroy_workqueue(vspace_wq);
		return ret;
	}
	vspace_cpuhp_state = ret;

	mutex_lock(&vspace_lock);
	vspace_worker_kick();
	mutex_unlock(&vspace_lock);
	return 0;
}

/*
 * Stop the work for good: once vspace_stopping is set nothing queues it
 * again, so after the cancel it neither runs nor is queued.
 */
void vspace_worker_uninit(void)
{
	cpuhp_remove_state_nocalls(vspace_cpuhp_state);
	mutex_lock(&vspace_lock);
	WRITE_ONCE(vspace_stopping, true);
	mutex_unlock(&vspace_lock);
	cancel_delayed_work_sync(&vspace_work);
	destroy_workqueue(vspace_wq);
}
