// SPDX-License-Identifier: GPL-2.0
/*
 * Placement: compute the two core groups and bind threads to them.
 *
 * The usable CPUs are vspace_config.cpus that are online. The policy
 * (policy.c, run by alloc.c) sizes the groups; here the VM group is laid
 * out from the low end of the usable CPUs and the I/O group from the high
 * end, with the free CPUs between them. A resize moves one edge, so only
 * threads on the CPUs at that edge have to move: the kernel migrates a
 * thread only when its CPU leaves its mask.
 *
 * Binding: the first time vspace binds a thread it records the thread's
 * affinity (@orig) and gives it back on release. After each bind it keeps
 * what the kernel actually granted (@applied); a later difference between
 * the thread's mask and @applied is drift: someone else (taskset, cpuset,
 * libvirt) changed it, so vspace counts it and binds again.
 *
 * Weighted I/O isolation: while the policy confines a VM (it used more
 * than its share of a saturated I/O group), the vhost workers of every
 * other VM run 10 nice levels above their own, about 9 times the weight:
 * they preempt the confined VM's workers when they wake, and it still gets
 * every cycle they leave. Only SCHED_NORMAL workers are touched, and their
 * nice level is given back with their affinity.
 *
 * Everything here runs in process context with vspace_lock held, because
 * set_cpus_allowed_ptr() may sleep.
 */
#include <linux/cpu.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "vspace.h"

struct vspace_groups vspace_groups;
struct vspace_policy vspace_policy;
/* VMs whose I/O is confined now; under vspace_lock. */
unsigned int vspace_nr_confined;

/* Scratch mask for binding; under vspace_lock. */
static cpumask_var_t vspace_scratch;

/* Usable CPUs now: vspace's cpus that are online. */
unsigned int vspace_usable_cpus(void)
{
	lockdep_assert_held(&vspace_lock);
	cpumask_and(vspace_scratch, vspace_config.cpus, cpu_online_mask);
	return cpumask_weight(vspace_scratch);
}

/*
 * Lay the groups out at the policy's sizes, first fitting those to the CPUs
 * and bounds of now (hotplug, cpus or io_cpus_min/max changed).
 */
void vspace_groups_update(void)
{
	struct vspace_policy_out out = {
		.old_vm = vspace_policy.vm,
		.old_io = vspace_policy.io,
		.old_free = vspace_policy.ncpus - vspace_policy.vm -
			    vspace_policy.io,
		.why = VSPACE_WHY_BOUNDS,
	};
	unsigned int n = vspace_usable_cpus(), vm, io, cpu;

	if (vspace_policy_clamp(&vspace_policy, n, vspace_config.io_cpus_min,
				vspace_config.io_cpus_max, vspace_policy.mode)) {
		out.vm = vspace_policy.vm;
		out.io = vspace_policy.io;
		out.free = n - out.vm - out.io;
		vspace_decision_log(&out, NULL);
	}
	vm = vspace_policy.vm;
	io = vspace_policy.io;
	cpumask_clear(vspace_groups.vm);
	cpumask_clear(vspace_groups.io);
	cpumask_copy(vspace_groups.free, vspace_scratch);
	for_each_cpu(cpu, vspace_scratch) {
		if (!vm--)
			break;
		cpumask_set_cpu(cpu, vspace_groups.vm);
		cpumask_clear_cpu(cpu, vspace_groups.free);
	}
	for (cpu = nr_cpu_ids; io && cpu-- > 0; ) {
		if (cpumask_test_cpu(cpu, vspace_groups.free)) {
			cpumask_clear_cpu(cpu, vspace_groups.free);
			cpumask_set_cpu(cpu, vspace_groups.io);
			io--;
		}
	}
}

/*
 * Serve @task ahead of confined VMs' workers (@boost: nice -10 from its own
 * level), or give it back its nice level. Raising the others rather than
 * lowering the confined VM keeps the I/O CPUs' load as it is: a CPU whose
 * tasks all run at nice 19 or SCHED_IDLE looks idle to the scheduler,
 * which then moves other work there, ahead of the very workers isolation
 * protects.
 */
static void vspace_thread_boost(struct vspace_thread *t,
				struct task_struct *task, bool boost)
{
	int want;

	if (boost == t->boosted)
		return;
	if (!boost) {
		t->boosted = false;
		/* Someone changed it since: theirs stands. */
		want = max(t->orig_nice - VSPACE_BOOST_NICE, MIN_NICE);
		if (task_nice(task) == want)
			set_user_nice(task, t->orig_nice);
		return;
	}
	/* Real-time or batch workers were set up so on purpose: leave them. */
	if (task->policy != SCHED_NORMAL)
		return;
	t->orig_nice = task_nice(task);
	set_user_nice(task, max(t->orig_nice - VSPACE_BOOST_NICE, MIN_NICE));
	t->boosted = true;
}

static const struct cpumask *vspace_target(const struct vspace_thread *t)
{
	switch (t->kind) {
	case VSPACE_KIND_VCPU:
		return vspace_groups.vm;
	case VSPACE_KIND_VHOST:
		/* With no room for an I/O group, vhost shares the VM group. */
		return cpumask_empty(vspace_groups.io) ? vspace_groups.vm :
							 vspace_groups.io;
	default:
		return NULL;
	}
}

/* Bind one thread to its group, recording and checking as described above. */
static void vspace_thread_place(struct vspace_vm *vm, struct vspace_thread *t)
{
	const struct cpumask *target = vspace_target(t);
	struct task_struct *task;

	if (!target)
		return;
	/* No usable CPU left for its group (cpus offline): let it go. */
	if (cpumask_empty(target)) {
		vspace_thread_restore(t);
		return;
	}
	task = get_pid_task(t->pid, PIDTYPE_PID);
	if (!task)
		return;		/* exited; the next rescan forgets it */

	if (!t->bound) {
		cpumask_copy(t->orig, &task->cpus_mask);
	} else if (!cpumask_equal(&task->cpus_mask, t->applied)) {
		t->drifts++;
		vm->drifts++;
		pr_debug("tid %d: affinity drifted to %*pbl\n", t->tid,
			 cpumask_pr_args(&task->cpus_mask));
	} else if (cpumask_equal(t->applied, target) ||
		   (t->narrowed && cpumask_subset(t->applied, target))) {
		goto out;	/* as placed last time */
	}

	if (set_cpus_allowed_ptr(task, target)) {
		/* Exiting, or the mask holds no usable CPU; try next period. */
		goto out;
	}
	t->bound = true;
	cpumask_copy(t->applied, &task->cpus_mask);
	t->narrowed = !cpumask_equal(t->applied, target);
out:
	if (t->kind == VSPACE_KIND_VHOST && t->bound)
		vspace_thread_boost(t, task, vspace_nr_confined &&
				    !vm->pol.confined);
	put_task_struct(task);
}

void vspace_thread_restore(struct vspace_thread *t)
{
	struct task_struct *task;

	lockdep_assert_held(&vspace_lock);
	if (!t->bound)
		return;
	t->bound = false;
	t->narrowed = false;
	task = get_pid_task(t->pid, PIDTYPE_PID);
	if (!task) {
		t->boosted = false;
		return;
	}
	vspace_thread_boost(t, task, false);
	/* Only CPUs still online can be given back; the kernel says which. */
	cpumask_and(vspace_scratch, t->orig, cpu_online_mask);
	if (cpumask_empty(vspace_scratch) ||
	    set_cpus_allowed_ptr(task, vspace_scratch))
		pr_notice("tid %d: could not restore affinity %*pbl\n", t->tid,
			  cpumask_pr_args(t->orig));
	put_task_struct(task);
}

void vspace_place_all(void)
{
	struct vspace_thread *t;
	struct vspace_vm *vm;

	lockdep_assert_held(&vspace_lock);
	if (!vspace_config.enabled)
		return;
	list_for_each_entry(vm, &vspace_vms, node)
		list_for_each_entry(t, &vm->threads, node)
			vspace_thread_place(vm, t);
}

void vspace_restore_all(void)
{
	struct vspace_thread *t;
	struct vspace_vm *vm;

	lockdep_assert_held(&vspace_lock);
	list_for_each_entry(vm, &vspace_vms, node)
		list_for_each_entry(t, &vm->threads, node)
			vspace_thread_restore(t);
}

int vspace_placement_init(void)
{
	if (!zalloc_cpumask_var(&vspace_groups.io, GFP_KERNEL))
		return -ENOMEM;
	if (!zalloc_cpumask_var(&vspace_groups.vm, GFP_KERNEL))
		goto out_io;
	if (!zalloc_cpumask_var(&vspace_groups.free, GFP_KERNEL))
		goto out_vm;
	if (!zalloc_cpumask_var(&vspace_scratch, GFP_KERNEL))
		goto out_free;

	mutex_lock(&vspace_lock);
	cpus_read_lock();
	vspace_policy_init(&vspace_policy, vspace_usable_cpus(),
			   vspace_config.io_cpus_min, vspace_config.io_cpus_max,
			   vspace_config.mode);
	vspace_groups_update();
	cpus_read_unlock();
	mutex_unlock(&vspace_lock);
	return 0;

out_free:
	free_cpumask_var(vspace_groups.free);
out_vm:
	free_cpumask_var(vspace_groups.vm);
out_io:
	free_cpumask_var(vspace_groups.io);
	return -ENOMEM;
}

void vspace_placement_uninit(void)
{
	free_cpumask_var(vspace_scratch);
	free_cpumask_var(vspace_groups.free);
	free_cpumask_var(vspace_groups.vm);
	free_cpumask_var(vspace_groups.io);
}
