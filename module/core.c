// SPDX-License-Identifier: GPL-2.0
/*
 * The operator's settings and the rules they must obey. Interfaces (sysfs,
 * later others) parse text and call the setters here; a setter either
 * applies a valid value whole or returns -EINVAL and changes nothing.
 */
#include <linux/cpu.h>
#include <linux/slab.h>

#include "vspace.h"

/* Serialises every change of vspace's state; may be held while sleeping. */
DEFINE_MUTEX(vspace_lock);

struct vspace_config vspace_config;

const char * const vspace_mode_names[NR_VSPACE_MODES] = VSPACE_MODE_NAMES;

int vspace_set_enabled(bool enabled)
{
	mutex_lock(&vspace_lock);
	WRITE_ONCE(vspace_config.enabled, enabled);
	mutex_unlock(&vspace_lock);
	return 0;
}

int vspace_set_mode(unsigned int mode)
{
	if (mode >= NR_VSPACE_MODES)
		return -EINVAL;

	mutex_lock(&vspace_lock);
	WRITE_ONCE(vspace_config.mode, mode);
	mutex_unlock(&vspace_lock);
	return 0;
}

int vspace_set_interval_ms(unsigned int ms)
{
	if (ms < VSPACE_INTERVAL_MS_MIN || ms > VSPACE_INTERVAL_MS_MAX) {
		pr_notice_ratelimited("interval_ms must be %u..%u, not %u\n",
				      VSPACE_INTERVAL_MS_MIN,
				      VSPACE_INTERVAL_MS_MAX, ms);
		return -EINVAL;
	}

	mutex_lock(&vspace_lock);
	WRITE_ONCE(vspace_config.interval_ms, ms);
	mutex_unlock(&vspace_lock);
	return 0;
}

int vspace_set_cpus(const struct cpumask *cpus)
{
	int ret = 0;

	mutex_lock(&vspace_lock);
	/* Hold off hotplug so "online" cannot change under the check. */
	cpus_read_lock();
	if (cpumask_empty(cpus) || !cpumask_subset(cpus, cpu_online_mask)) {
		pr_notice_ratelimited("cpus must be a non-empty subset of the online CPUs (%*pbl)\n",
				      cpumask_pr_args(cpu_online_mask));
		ret = -EINVAL;
	} else {
		cpumask_copy(vspace_config.cpus, cpus);
	}
	cpus_read_unlock();
	mutex_unlock(&vspace_lock);
	return ret;
}

int vspace_core_init(void)
{
	if (!zalloc_cpumask_var(&vspace_config.cpus, GFP_KERNEL))
		return -ENOMEM;

	vspace_config.enabled = false;
	vspace_config.mode = VSPACE_MODE_PERFORMANCE;
	vspace_config.interval_ms = VSPACE_INTERVAL_MS_DEFAULT;
	cpus_read_lock();
	cpumask_copy(vspace_config.cpus, cpu_online_mask);
	cpus_read_unlock();
	return 0;
}

void vspace_core_uninit(void)
{
	free_cpumask_var(vspace_config.cpus);
}
