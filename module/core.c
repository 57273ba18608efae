// SPDX-License-Identifier: GPL-2.0
/*
 * The operator's settings and the rules they must obey. Interfaces (sysfs,
 * later others) parse text and call the setters here; a setter either
 * applies a valid value whole or returns -EINVAL and changes nothing.
 */
#include <linux/cpu.h>
#include <linux/sched/isolation.h>
#include <linux/slab.h>

#include "vspace.h"

/* Serialises every change of vspace's state; may be held while sleeping. */
DEFINE_MUTEX(vspace_lock);
/* Serialises adding and removing VMs with their directories (vm.c). */
DEFINE_MUTEX(vspace_vms_lock);

struct vspace_config vspace_config;
LIST_HEAD(vspace_vms);
/* Set on unload, under vspace_lock: nothing may be added or queued after. */
bool vspace_stopping;

const char * const vspace_mode_names[NR_VSPACE_MODES] = VSPACE_MODE_NAMES;
const char * const vspace_kind_names[NR_VSPACE_KINDS] = {
	[VSPACE_KIND_VCPU] = "vcpu",
	[VSPACE_KIND_VHOST] = "vhost",
	[VSPACE_KIND_OTHER] = "other",
};

const char * const vspace_unplaced_names[NR_VSPACE_UNPLACED] = {
	[VSPACE_PLACED] = "",
	[VSPACE_UNPLACED_OUTSIDE] = "outside",
	[VSPACE_UNPLACED_NOGROUP] = "nogroup",
	[VSPACE_UNPLACED_REFUSED] = "refused",
};

/*
 * Turning vspace off gives every thread its original affinity back at
 * once; turning it on binds at once rather than at the next period.
 */
int vspace_set_enabled(bool enabled)
{
	mutex_lock(&vspace_lock);
	if (enabled != vspace_config.enabled) {
		WRITE_ONCE(vspace_config.enabled, enabled);
		if (enabled)
			vspace_place_all();
		else
			vspace_restore_all();
	}
	mutex_unlock(&vspace_lock);
	return 0;
}

int vspace_set_mode(unsigned int mode)
{
	if (mode >= NR_VSPACE_MODES)
		return -EINVAL;

	mutex_lock(&vspace_lock);
	WRITE_ONCE(vspace_config.mode, mode);
	/* The work acts on it now; the policy adapts at the interval's end. */
	vspace_worker_kick();
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
	vspace_worker_kick();
	mutex_unlock(&vspace_lock);
	return 0;
}

/* The most CPUs the I/O group may take: the VM group keeps at least one. */
static unsigned int vspace_io_room(void)
{
	unsigned int n = cpumask_weight(vspace_config.cpus);

	return n ? n - 1 : 0;
}

/*
 * Set io_cpus_min (@is_max false) or io_cpus_max, keeping min <= max. Only
 * the value written must fit the room cpus leaves: a smaller cpus written
 * since leaves the other bound as it is, and the groups take it as the
 * room (policy.c clamps), so no write is refused for the other's sake.
 */
int vspace_set_io_bound(bool is_max, unsigned int val)
{
	unsigned int min, max;
	int ret = 0;

	mutex_lock(&vspace_lock);
	min = is_max ? vspace_config.io_cpus_min : val;
	max = is_max ? val : vspace_config.io_cpus_max;
	if (min > max || val > vspace_io_room()) {
		pr_notice_ratelimited("io_cpus_min %u and io_cpus_max %u must satisfy min <= max, and %u <= %u (what cpus leaves room for)\n",
				      min, max, val, vspace_io_room());
		ret = -EINVAL;
	} else {
		WRITE_ONCE(vspace_config.io_cpus_min, min);
		WRITE_ONCE(vspace_config.io_cpus_max, max);
		vspace_alloc_fit();
		vspace_place_all();
	}
	mutex_unlock(&vspace_lock);
	return ret;
}

/* A 0/1 setting read by the periodic work: it acts on it now. */
static int vspace_set_flag(bool *flag, bool on)
{
	mutex_lock(&vspace_lock);
	WRITE_ONCE(*flag, on);
	vspace_worker_kick();
	mutex_unlock(&vspace_lock);
	return 0;
}

int vspace_set_auto_discover(bool on)
{
	return vspace_set_flag(&vspace_config.auto_discover, on);
}

int vspace_set_isolation(bool on)
{
	return vspace_set_flag(&vspace_config.isolation, on);
}

int vspace_set_smt_split(bool on)
{
	return vspace_set_flag(&vspace_config.smt_split, on);
}

/* A node the I/O group can be put on, or NUMA_NO_NODE: automatic. */
int vspace_set_io_node(int node)
{
	if (node != NUMA_NO_NODE &&
	    (node < 0 || node >= nr_node_ids || !node_state(node, N_CPU))) {
		pr_notice_ratelimited("io_node: node %d has no CPUs\n", node);
		return -EINVAL;
	}
	mutex_lock(&vspace_lock);
	WRITE_ONCE(vspace_config.io_node, node);
	vspace_worker_kick();
	mutex_unlock(&vspace_lock);
	return 0;
}

/*
 * Per-VM settings. -ENODEV once the VM is gone (its directory may still be
 * open); the work acts on a change now, the policy at the interval's end.
 * vspace_vm_lock() takes vspace_lock for a VM that is still managed.
 */
static int vspace_vm_lock(struct vspace_vm *vm)
{
	mutex_lock(&vspace_lock);
	if (!vm->dead)
		return 0;
	mutex_unlock(&vspace_lock);
	return -ENODEV;
}

int vspace_vm_set_slo(struct vspace_vm *vm, u32 us)
{
	int ret;

	if (us > VSPACE_SLO_US_MAX) {
		pr_notice_ratelimited("slo_us must be 0..%u, not %u\n",
				      VSPACE_SLO_US_MAX, us);
		return -EINVAL;
	}
	ret = vspace_vm_lock(vm);
	if (ret)
		return ret;
	vm->pol.slo_us = us;
	vspace_worker_kick();
	mutex_unlock(&vspace_lock);
	return 0;
}

int vspace_vm_set_weight(struct vspace_vm *vm, u32 weight)
{
	int ret;

	if (weight < VSPACE_WEIGHT_MIN || weight > VSPACE_WEIGHT_MAX) {
		pr_notice_ratelimited("weight must be %u..%u, not %u\n",
				      VSPACE_WEIGHT_MIN, VSPACE_WEIGHT_MAX,
				      weight);
		return -EINVAL;
	}
	ret = vspace_vm_lock(vm);
	if (ret)
		return ret;
	vm->pol.weight = weight;
	/* Judge the VM afresh by its new share at once. */
	vm->pol.confined = false;
	vm->pol.calm = 0;
	vspace_worker_kick();
	mutex_unlock(&vspace_lock);
	return 0;
}

/* An application-level p99 latency, trusted for a few intervals. */
int vspace_vm_set_latency(struct vspace_vm *vm, u32 us)
{
	int ret;

	if (us > VSPACE_SLO_US_MAX) {
		pr_notice_ratelimited("latency_us must be 0..%u, not %u\n",
				      VSPACE_SLO_US_MAX, us);
		return -EINVAL;
	}
	ret = vspace_vm_lock(vm);
	if (ret)
		return ret;
	vm->pol.latency_us = us;
	vm->latency_at = ktime_get_ns();
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
	if (!ret) {
		vspace_alloc_fit();
		vspace_place_all();
	}
	mutex_unlock(&vspace_lock);
	return ret;
}

/*
 * The default cpus: the online CPUs the kernel did not isolate (isolcpus=,
 * nohz_full=, isolated cpuset partitions on 6.12). Operators isolate CPUs
 * to keep the scheduler's balancing and ticks off them, usually for
 * pinned real-time vCPUs; vspace moving threads there would undo that.
 * They can still be chosen by writing cpus. All online CPUs if every one
 * is isolated.
 */
static void vspace_default_cpus(struct cpumask *mask)
{
	unsigned int cpu;

	cpumask_copy(mask, cpu_online_mask);
	for_each_cpu(cpu, cpu_online_mask)
		if (cpu_is_isolated(cpu))
			cpumask_clear_cpu(cpu, mask);
	if (cpumask_empty(mask))
		cpumask_copy(mask, cpu_online_mask);
	else if (!cpumask_equal(mask, cpu_online_mask))
		pr_info("cpus %*pbl of the online %*pbl: isolated CPUs left out (write cpus to use them)\n",
			cpumask_pr_args(mask), cpumask_pr_args(cpu_online_mask));
}

int vspace_core_init(void)
{
	if (!zalloc_cpumask_var(&vspace_config.cpus, GFP_KERNEL))
		return -ENOMEM;

	vspace_config.enabled = false;
	vspace_config.mode = VSPACE_MODE_PERFORMANCE;
	vspace_config.interval_ms = VSPACE_INTERVAL_MS_DEFAULT;
	cpus_read_lock();
	vspace_default_cpus(vspace_config.cpus);
	cpus_read_unlock();
	vspace_config.io_cpus_max = vspace_io_room();
	vspace_config.io_cpus_min = min(1U, vspace_config.io_cpus_max);
	vspace_config.auto_discover = false;
	vspace_config.isolation = true;
	vspace_config.io_node = NUMA_NO_NODE;
	return 0;
}

void vspace_core_uninit(void)
{
	free_cpumask_var(vspace_config.cpus);
}
