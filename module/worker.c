// SPDX-License-Identifier: GPL-2.0
/*
 * The periodic work: every interval_ms, find new VMs (auto_discover),
 * rescan the managed ones and bind their threads. It is a delayed work item,
 * not a timer, because binding (set_cpus_allowed_ptr) may sleep.
 *
 * CPU hotplug only kicks the work; the work recomputes the groups from the
 * CPUs then online. Hotplug callbacks run with the hotplug lock held, so
 * they must not take vspace_lock (see Documentation/design.rst).
 *
 * The work is vspace's own cost, so it is measured (stats work_ns, the
 * vspace:work event) and kept off the CPUs it manages where it can be: it
 * runs bound to a housekeeping CPU (not isolated by isolcpus= or
 * nohz_full=), preferably one outside cpus; else one of the I/O group
 * rather than of the VM group, whose vCPUs are the latency that matters,
 * or the free CPUs, which energy and resource mode keep idle.
 *
 * It has a workqueue of its own: a work item is kept from running twice at
 * once only within one workqueue, and destroying it at unload waits for
 * the last run. CPU-intensive, because one period may take milliseconds.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/ktime.h>
#include <linux/sched/isolation.h>
#include <linux/workqueue.h>

#include "vspace.h"

static void vspace_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(vspace_work, vspace_work_fn);
static struct workqueue_struct *vspace_wq;
static int vspace_cpuhp_state;

/* Whether @cpu may run the work: active, and not isolated. */
static bool vspace_work_may_run(int cpu)
{
	return cpu_active(cpu) && !vspace_cpu_isolated(cpu) &&
	       cpumask_test_cpu(cpu, housekeeping_cpumask(HK_TYPE_WQ)) &&
	       cpumask_test_cpu(cpu, housekeeping_cpumask(HK_TYPE_DOMAIN));
}

/*
 * The CPU for the work, in the order above; WORK_CPU_UNBOUND if none may
 * run it. vspace_lock and the hotplug read lock held.
 */
static int vspace_work_cpu(void)
{
	int cpu, io = -1, any = -1;

	lockdep_assert_held(&vspace_lock);
	for_each_online_cpu(cpu) {
		if (!vspace_work_may_run(cpu))
			continue;
		if (!cpumask_test_cpu(cpu, vspace_config.cpus))
			return cpu;
		if (io < 0 && cpumask_test_cpu(cpu, vspace_groups.io))
			io = cpu;
		if (any < 0 && !cpumask_test_cpu(cpu, vspace_groups.vm))
			any = cpu;
	}
	if (io >= 0)
		return io;
	if (any >= 0)
		return any;
	for_each_online_cpu(cpu)
		if (vspace_work_may_run(cpu))
			return cpu;
	return WORK_CPU_UNBOUND;
}

/*
 * Queue the work an interval from now, or (@kick) run it at once even if
 * it is queued for later; vspace_lock held. The hotplug lock keeps the
 * chosen CPU from going away before its timer is set. Requeueing itself,
 * the work must not push back a kick that came while it ran: no @kick.
 */
static void vspace_work_queue(bool kick)
{
	int cpu;

	cpus_read_lock();
	cpu = vspace_work_cpu();
	if (kick)
		mod_delayed_work_on(cpu, vspace_wq, &vspace_work, 0);
	else
		queue_delayed_work_on(cpu, vspace_wq, &vspace_work,
				      msecs_to_jiffies(vspace_config.interval_ms));
	cpus_read_unlock();
}

static void vspace_work_fn(struct work_struct *work)
{
	u64 start = ktime_get_ns();

	mutex_lock(&vspace_vms_lock);
	vspace_vms_discover();

	/* The CPUs online, not one a hotplug is taking down meanwhile. */
	mutex_lock(&vspace_lock);
	cpus_read_lock();
	vspace_groups_update();
	cpus_read_unlock();
	mutex_unlock(&vspace_lock);

	vspace_vms_rescan();
	mutex_unlock(&vspace_vms_lock);

	mutex_lock(&vspace_lock);
	vspace_stats_work(ktime_get_ns() - start, raw_smp_processor_id());
	if (!vspace_stopping)
		vspace_work_queue(false);
	mutex_unlock(&vspace_lock);
}

/* Run the periodic work now; vspace_lock held. */
void vspace_worker_kick(void)
{
	lockdep_assert_held(&vspace_lock);
	if (!vspace_stopping)
		vspace_work_queue(true);
}

/*
 * Not vspace_worker_kick(): no vspace_lock under the hotplug lock. Queued
 * at once, so no timer is armed on a CPU going down; the work then moves
 * itself back to its CPU.
 */
static int vspace_cpu_changed(unsigned int cpu)
{
	if (!READ_ONCE(vspace_stopping))
		mod_delayed_work(vspace_wq, &vspace_work, 0);
	return 0;
}

int vspace_worker_init(void)
{
	int ret;

	vspace_wq = alloc_workqueue("vspace", WQ_CPU_INTENSIVE, 1);
	if (!vspace_wq)
		return -ENOMEM;
	ret = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "vspace:online",
					vspace_cpu_changed, vspace_cpu_changed);
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
