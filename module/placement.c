// SPDX-License-Identifier: GPL-2.0
/*
 * Placement: compute the two core groups and bind threads to them.
 *
 * The usable CPUs are vspace_config.cpus that are online. The I/O group is
 * the highest-numbered io_cpus_min of them (the policy will size it between
 * the bounds later); the VM group is the rest. Because the I/O group grows
 * and shrinks at the top edge only, a resize moves the threads of the CPUs
 * at that edge and no others.
 *
 * Binding: the first time vspace binds a thread it records the thread's
 * affinity (@orig) and gives it back on release. After each bind it keeps
 * what the kernel actually granted (@applied); a later difference between
 * the thread's mask and @applied is drift: someone else (taskset, cpuset,
 * libvirt) changed it, so vspace counts it and binds again.
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

/* Scratch mask for binding; under vspace_lock. */
static cpumask_var_t vspace_scratch;

void vspace_groups_update(void)
{
	unsigned int n, io, cpu;

	lockdep_assert_held(&vspace_lock);
	cpumask_and(vspace_groups.vm, vspace_config.cpus, cpu_online_mask);
	cpumask_clear(vspace_groups.io);
	n = cpumask_weight(vspace_groups.vm);
	io = min(vspace_config.io_cpus_min, n ? n - 1 : 0);

	/* Take the I/O group from the top end of the usable CPUs. */
	for (cpu = nr_cpu_ids; io && cpu-- > 0; ) {
		if (cpumask_test_cpu(cpu, vspace_groups.vm)) {
			cpumask_clear_cpu(cpu, vspace_groups.vm);
			cpumask_set_cpu(cpu, vspace_groups.io);
			io--;
		}
	}
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
	if (!task)
		return;
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
	if (!zalloc_cpumask_var(&vspace_scratch, GFP_KERNEL))
		goto out_vm;

	mutex_lock(&vspace_lock);
	cpus_read_lock();
	vspace_groups_update();
	cpus_read_unlock();
	mutex_unlock(&vspace_lock);
	return 0;

out_vm:
	free_cpumask_var(vspace_groups.vm);
out_io:
	free_cpumask_var(vspace_groups.io);
	return -ENOMEM;
}

void vspace_placement_uninit(void)
{
	free_cpumask_var(vspace_scratch);
	free_cpumask_var(vspace_groups.vm);
	free_cpumask_var(vspace_groups.io);
}
