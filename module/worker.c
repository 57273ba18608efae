// SPDX-License-Identifier: GPL-2.0
/*
 * The periodic work: every interval_ms, find new VMs (auto_discover),
 * rescan the managed ones and bind their threads. It is a delayed work item,
 * not a timer, because binding (set_cpus_allowed_ptr) may sleep.
 *
 * CPU hotplug only kicks the work; the work recomputes the groups from the
 * CPUs then online. Hotplug callbacks run with the hotplug lock held, so
 * they must not take vspace_lock (see Documentation/design.rst).
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/workqueue.h>

#include "vspace.h"

static void vspace_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(vspace_work, vspace_work_fn);
static int vspace_cpuhp_state;

static void vspace_work_fn(struct work_struct *work)
{
	mutex_lock(&vspace_vms_lock);
	vspace_vms_discover();

	mutex_lock(&vspace_lock);
	vspace_groups_update();
	mutex_unlock(&vspace_lock);

	vspace_vms_rescan();
	mutex_unlock(&vspace_vms_lock);

	mutex_lock(&vspace_lock);
	if (!vspace_stopping)
		queue_delayed_work(system_unbound_wq, &vspace_work,
				   msecs_to_jiffies(vspace_config.interval_ms));
	mutex_unlock(&vspace_lock);
}

/* Run the periodic work now; vspace_lock held. */
void vspace_worker_kick(void)
{
	lockdep_assert_held(&vspace_lock);
	if (!vspace_stopping)
		mod_delayed_work(system_unbound_wq, &vspace_work, 0);
}

static int vspace_cpu_changed(unsigned int cpu)
{
	/* Not vspace_worker_kick(): no vspace_lock under the hotplug lock. */
	if (!READ_ONCE(vspace_stopping))
		mod_delayed_work(system_unbound_wq, &vspace_work, 0);
	return 0;
}

int vspace_worker_init(void)
{
	int ret;

	ret = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "vspace:online",
					vspace_cpu_changed, vspace_cpu_changed);
	if (ret < 0)
		return ret;
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
}
