// SPDX-License-Identifier: GPL-2.0
/*
 * Placement: compute the two core groups and bind threads to them.
 *
 * The usable CPUs are vspace_config.cpus that are online. The policy
 * (policy.c, run by alloc.c) sizes the groups; layout.c lays them out on
 * the topology: whole cores, the VM group from the low end of the usable
 * CPUs and the I/O group from the high end (of its node first), with the
 * free CPUs between them. A resize moves one edge, so only threads on the
 * CPUs at that edge have to move: the kernel migrates a thread only when
 * its CPU leaves its mask. Placement decides nothing: it lays out what
 * alloc.c hands it and binds.
 *
 * Binding: every managed thread has an allowed mask, the CPUs the kernel
 * and the operator last gave it (its cpuset, taskset, libvirt's vcpupin).
 * vspace binds it to its group AND that mask, never outside it: a module's
 * set_cpus_allowed_ptr() is not held to the cpuset the way the
 * sched_setaffinity() system call is. When the two do not meet, the thread
 * is left at its allowed mask and reported unplaced. After each bind vspace
 * keeps what the kernel granted (@applied); a later difference is a change
 * from outside (cpuset write or attach, taskset, hotplug fallback). It is
 * not undone: it becomes the allowed mask, the thread is placed within it,
 * and release gives it back. Release gives back the whole allowed mask,
 * offline CPUs included, because the kernel never widens a mask again
 * when a CPU comes back.
 *
 * Weighted I/O isolation: while the policy confines VMs (they used more
 * than their share of a saturated I/O group), the I/O group is split: the
 * confined VMs' vhost workers get the top CPUs of it, as many as their
 * weighted share, the other VMs' workers the rest. Being spatial, it holds
 * whatever cgroups the VMs run in (libvirt gives each VM its own, with the
 * cpu controller, and priorities do not reach across those). A one-CPU
 * I/O group cannot be split: then the other VMs' workers run 10 nice
 * levels above their own instead, which orders them only against workers
 * in the same run-queue group. Only SCHED_NORMAL workers are touched, and
 * their nice level is given back with their affinity.
 *
 * Everything here runs in process context with vspace_lock held, because
 * set_cpus_allowed_ptr() may sleep.
 */
#include <linux/cgroup.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/jhash.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/topology.h>

#include "layout.h"
#include "trace.h"
#include "vspace.h"

struct vspace_groups vspace_groups;

/* The usable CPUs as layout.c sees them, and its state; under vspace_lock. */
static struct vspace_lcpu *vspace_lcpus;
static unsigned int vspace_nlcpus;
static struct vspace_layout vspace_lay;

/* Scratch masks for binding; under vspace_lock. */
static cpumask_var_t vspace_scratch, vspace_cur, vspace_tmp;

/*
 * The VM group's CPUs on the home node of the VM being placed, and each
 * node's VM-group CPUs and vCPU threads homed there; under vspace_lock.
 */
static cpumask_var_t vspace_home;
static unsigned int *vspace_node_cpus, *vspace_node_vcpus;

/*
 * The VM being placed: its vhost workers that may use the I/O group, the
 * next one's index, and that one's slice of the group (vspace_spread());
 * the part last cut, its active CPUs, and its cores (their first CPUs in
 * it) in the order the layout took them; under vspace_lock.
 */
static unsigned int vspace_workers, vspace_worker;
static cpumask_var_t vspace_slice, vspace_cut_cpus;
static const struct cpumask *vspace_cut;
static unsigned int *vspace_unit_cpu;
static unsigned int vspace_units;

/* Usable CPUs now: vspace's cpus that are online. */
unsigned int vspace_usable_cpus(void)
{
	lockdep_assert_held(&vspace_lock);
	cpumask_and(vspace_scratch, vspace_config.cpus, cpu_online_mask);
	return cpumask_weight(vspace_scratch);
}

/*
 * Lay the groups out: @vm and @io of the usable CPUs (sizes the policy
 * fitted to them, which layout.c rounds to whole cores), the top
 * @confined CPUs of the I/O group for the confined VMs' workers while
 * @confine (VMs are confined); where the I/O group gets no confined
 * part (one unit, a CPU or a core; whole cores that cannot give what was
 * asked; none asked), raise the others' workers instead (@boost).
 */
void vspace_groups_layout(unsigned int vm, unsigned int io,
			  unsigned int confined, bool confine)
{
	struct cpumask *to[] = {
		[VSPACE_LG_FREE] = vspace_groups.free,
		[VSPACE_LG_VM] = vspace_groups.vm,
		[VSPACE_LG_IO] = vspace_groups.io_open,
		[VSPACE_LG_IO_CONFINED] = vspace_groups.io_confined,
	};
	unsigned int cpu, i, n = 0;

	vspace_usable_cpus();
	for_each_cpu(cpu, vspace_scratch)
		vspace_lcpus[n++] = (struct vspace_lcpu){
			.cpu = cpu,
			.core = cpumask_first(topology_sibling_cpumask(cpu)),
			.node = cpu_to_node(cpu),
		};
	vspace_lay.vm = vm;
	vspace_lay.io = io;
	vspace_lay.confined = confine ? confined : 0;
	vspace_lay.io_min = vspace_config.io_cpus_min;
	vspace_lay.io_max = vspace_config.io_cpus_max;
	vspace_lay.io_node = READ_ONCE(vspace_config.io_node);
	vspace_lay.split = READ_ONCE(vspace_config.smt_split);
	vspace_layout(&vspace_lay, vspace_lcpus, n);
	vspace_nlcpus = n;

	for (i = 0; i < ARRAY_SIZE(to); i++)
		cpumask_clear(to[i]);
	for (i = 0; i < n; i++)
		cpumask_set_cpu(vspace_lcpus[i].cpu, to[vspace_lcpus[i].group]);
	cpumask_or(vspace_groups.io, vspace_groups.io_open,
		   vspace_groups.io_confined);
	/*
	 * No confined part (one unit; whole SMT cores that cannot give the
	 * confined CPUs asked for; or the others need every CPU): priority.
	 */
	vspace_groups.boost = confine && !cpumask_empty(vspace_groups.io) &&
			      cpumask_empty(vspace_groups.io_confined);
	trace_layout(vspace_groups.vm, vspace_groups.io,
		     vspace_groups.io_confined);
}

/*
 * Serve @task ahead of confined VMs' workers (@boost: nice -10 from its own
 * level), or give it back its nice level. Raising the others rather than
 * lowering the confined VM keeps the I/O CPUs' load as it is: a CPU whose
 * tasks all run at nice 19 or SCHED_IDLE looks idle to the scheduler,
 * which then moves other work there, ahead of the very workers isolation
 * protects. A renice that lands between task_nice() and set_user_nice()
 * here, either way, is lost: the kernel has no compare-and-set of a nice
 * level, and the window is those two calls. So is an operator's renice
 * to exactly the boosted level, which cannot be told from the boost.
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

/*
 * Cut @part into its cores, in the order the layout took them for the I/O
 * group (its home node first, each node from the top down), so that a
 * resize, which adds or removes cores at the end of that order, moves the
 * last runs only. Active CPUs only: a CPU going down is no slice.
 */
static void vspace_cut_part(const struct cpumask *part)
{
	const struct vspace_lcpu *c;
	unsigned int i, pass;
	bool home;

	cpumask_and(vspace_cut_cpus, part, cpu_active_mask);
	vspace_units = 0;
	for (pass = 0; pass < 2; pass++) {
		for (i = vspace_nlcpus; i-- > 0; ) {
			c = &vspace_lcpus[i];
			home = c->node == vspace_lay.io_home;
			if (home == !!pass ||
			    !cpumask_test_cpu(c->cpu, vspace_cut_cpus))
				continue;
			/* Its core's first CPU in the part stands for it. */
			cpumask_and(vspace_slice, topology_sibling_cpumask(c->cpu),
				    vspace_cut_cpus);
			if (c->cpu == cpumask_first(vspace_slice))
				vspace_unit_cpu[vspace_units++] = c->cpu;
		}
	}
	vspace_cut = part;
}

/*
 * The slice of @part for the vhost worker vspace_worker of @vm, whose
 * @allowed mask it must meet; @part itself for a VM of one worker, or of
 * more workers than @part has cores (see vspace_spread()).
 */
static const struct cpumask *vspace_worker_part(const struct vspace_vm *vm,
						const struct cpumask *part,
						const struct cpumask *allowed)
{
	unsigned int u, first, count;

	if (vspace_workers < 2)
		return part;
	if (part != vspace_cut)
		vspace_cut_part(part);
	vspace_spread(vspace_units, vspace_workers, vspace_worker, vm->nr,
		      &first, &count);
	if (count == vspace_units)
		return part;
	cpumask_clear(vspace_slice);
	for (u = first; u < first + count; u++)
		cpumask_or(vspace_slice, vspace_slice,
			   topology_sibling_cpumask(vspace_unit_cpu[u]));
	cpumask_and(vspace_slice, vspace_slice, vspace_cut_cpus);
	/* Its cpuset or taskset leaves it nothing there: the whole part. */
	return cpumask_intersects(vspace_slice, allowed) ? vspace_slice : part;
}

static const struct cpumask *vspace_target(const struct vspace_vm *vm,
					   const struct vspace_thread *t)
{
	const struct cpumask *part;

	switch (t->kind) {
	case VSPACE_KIND_VCPU:
		/*
		 * Its home node's part, unless it is pinned narrower (a
		 * cpuset or vcpupin): then the operator's pins decide.
		 */
		if (vm->home_node != NUMA_NO_NODE &&
		    cpumask_subset(vspace_home, t->allowed))
			return vspace_home;
		return vspace_groups.vm;
	case VSPACE_KIND_VHOST:
		/* With no room for an I/O group, vhost shares the VM group. */
		if (cpumask_empty(vspace_groups.io))
			return vspace_groups.vm;
		/*
		 * Its VM's part of a split group; the whole group if its
		 * cpuset or taskset leaves it nothing there.
		 */
		part = vm->pol.confined ? vspace_groups.io_confined :
					  vspace_groups.io_open;
		if (!cpumask_intersects(part, t->allowed))
			part = vspace_groups.io;
		return vspace_worker_part(vm, part, t->allowed);
	default:
		return NULL;
	}
}

/* Whether @t is a worker to raise above the confined VMs' (one I/O CPU). */
static bool vspace_wants_boost(const struct vspace_vm *vm,
			       const struct vspace_thread *t)
{
	return t->bound && t->kind == VSPACE_KIND_VHOST &&
	       vspace_groups.boost && !vm->pol.confined;
}

/*
 * @task's affinity, read whole (it is written under pi_lock), with its
 * origin if @o; under pi_lock, @check also runs on it. Returns @check's
 * answer.
 */
static bool vspace_task_read(struct task_struct *task, struct cpumask *mask,
			     struct vspace_origin *o,
			     bool (*check)(struct task_struct *task,
					   const struct cpumask *mask))
{
	unsigned long flags;
	bool ret = false;

	raw_spin_lock_irqsave(&task->pi_lock, flags);
	cpumask_copy(mask, &task->cpus_mask);
	if (o) {
		o->user = task->user_cpus_ptr;
		/* Its contents too: a freed user mask's memory is reused. */
		o->user_hash = o->user ? jhash(cpumask_bits(task->user_cpus_ptr),
					       cpumask_size(), 0) : 0;
		rcu_read_lock();
		o->css = task_css(task, cpuset_cgrp_id)->serial_nr;
		rcu_read_unlock();
	}
	if (check)
		ret = check(task, mask);
	raw_spin_unlock_irqrestore(&task->pi_lock, flags);
	return ret;
}

void vspace_task_mask(struct task_struct *task, struct cpumask *mask)
{
	vspace_task_read(task, mask, NULL, NULL);
}

/*
 * Under @task's pi_lock, right after vspace asked for vspace_scratch:
 * whether @got is what the kernel makes of that (6.2+ ANDs in the mask
 * sched_setaffinity() recorded, when they meet), and not a change from
 * outside that landed in between.
 */
static bool vspace_got_what_asked(struct task_struct *task,
				  const struct cpumask *got)
{
	const struct cpumask *user = task->user_cpus_ptr;

	if (cpumask_equal(got, vspace_scratch))
		return true;
	return user && cpumask_and(vspace_cur, vspace_scratch, user) &&
	       cpumask_equal(got, vspace_cur);
}

/*
 * CPUs that went offline lately. The hotplug callback, which must not take
 * vspace_lock, sets them in VSPACE_DOWN_NOW under vspace_down_lock; under
 * vspace_lock they are taken into VSPACE_DOWN_NEW, and each period moves
 * those to VSPACE_DOWN_OLD. A thread falls back when it wakes after its
 * CPUs went offline, and they may be back before vspace looks, in the next
 * period at the latest: so a CPU counts as gone for two periods after.
 */
enum { VSPACE_DOWN_NOW, VSPACE_DOWN_NEW, VSPACE_DOWN_OLD, NR_VSPACE_DOWN };
static cpumask_var_t vspace_down[NR_VSPACE_DOWN];
static DEFINE_SPINLOCK(vspace_down_lock);

/* @cpu is going offline; from the hotplug callback. */
void vspace_cpu_going_down(unsigned int cpu)
{
	spin_lock(&vspace_down_lock);
	cpumask_set_cpu(cpu, vspace_down[VSPACE_DOWN_NOW]);
	spin_unlock(&vspace_down_lock);
}

static void vspace_cpus_down_take(void)
{
	lockdep_assert_held(&vspace_lock);
	spin_lock(&vspace_down_lock);
	cpumask_or(vspace_down[VSPACE_DOWN_NEW], vspace_down[VSPACE_DOWN_NEW],
		   vspace_down[VSPACE_DOWN_NOW]);
	cpumask_clear(vspace_down[VSPACE_DOWN_NOW]);
	spin_unlock(&vspace_down_lock);
}

/* A new period: what went offline since the last one's start is older. */
void vspace_cpus_down_turn(void)
{
	cpumask_copy(vspace_down[VSPACE_DOWN_OLD], vspace_down[VSPACE_DOWN_NEW]);
	cpumask_clear(vspace_down[VSPACE_DOWN_NEW]);
	vspace_cpus_down_take();
}

/*
 * Whether every CPU of @applied is offline or went offline lately: a
 * change of a thread vspace held there is the kernel's fallback.
 * vspace_tmp is clobbered.
 */
static bool vspace_fell_back(const struct cpumask *applied)
{
	vspace_cpus_down_take();
	cpumask_andnot(vspace_tmp, applied, vspace_down[VSPACE_DOWN_NEW]);
	cpumask_andnot(vspace_tmp, vspace_tmp, vspace_down[VSPACE_DOWN_OLD]);
	return !cpumask_intersects(vspace_tmp, cpu_active_mask);
}

/*
 * Under RCU: whether @task's mask, user mask and cpuset are as @t last
 * had them, read without @task's pi_lock, so torn by a change landing
 * meanwhile. Only "yes" is trusted: a read torn into what vspace had
 * leaves that change to the next look, as one landing just after it would
 * be; anything else is read again under the lock.
 */
static bool vspace_thread_same(const struct vspace_thread *t,
			       struct task_struct *task)
{
	/* Racy on purpose: only an equal read is taken (see above). */
	return data_race(cpumask_equal(&task->cpus_mask,
				       t->bound ? t->applied : t->allowed)) &&
	       READ_ONCE(task->user_cpus_ptr) == t->origin.user &&
	       task_css(task, cpuset_cgrp_id)->serial_nr == t->origin.css;
}

/* Whether @a and @b have the same user mask (none, or one not set again). */
static bool vspace_same_user(const struct vspace_origin *a,
			     const struct vspace_origin *b)
{
	return a->user == b->user && a->user_hash == b->user_hash;
}

/*
 * Take in what was done to @task's mask from outside since vspace last
 * looked; its mask is in vspace_cur afterwards. Unbound, its mask is its
 * allowed mask. Bound, a mask, or a user mask, other than those vspace
 * left was set by the kernel or the operator (cpuset write or cgroup
 * move, taskset, hotplug fallback): it becomes the allowed mask and vspace
 * no longer holds the thread; vspace_vm_infer_rewrites() explains the
 * rest.
 * Returns whether the kernel, not a taskset, rewrote the mask: a witness
 * of a cpuset rewrite. A taskset installs a new user mask (6.2+: a new
 * allocation, made before the old one is freed, so told apart by address
 * and, as two tasksets may reuse an address, by contents: only tasksets
 * that end at the address and mask it had pass for a rewrite); a cpuset
 * rewrite keeps it, and libvirt gives every QEMU thread one, so a user
 * mask does not rule a witness out.
 */
static bool vspace_thread_sync_mask(struct vspace_vm *vm,
				    struct vspace_thread *t,
				    struct task_struct *task)
{
	struct vspace_origin o;
	bool witness;

	vspace_task_read(task, vspace_cur, &o, NULL);
	if (!t->bound) {
		witness = !cpumask_equal(vspace_cur, t->allowed) &&
			  vspace_same_user(&o, &t->origin);
		cpumask_copy(t->allowed, vspace_cur);
		t->origin = o;
		return witness;
	}
	if (cpumask_equal(vspace_cur, t->applied) &&
	    vspace_same_user(&o, &t->origin)) {
		/*
		 * A cgroup move to a cpuset with the same CPUs leaves the
		 * mask alone (cpuset_attach() skips it): nothing to take in,
		 * unless vspace_vm_infer_rewrites() finds the move rewrote
		 * it.
		 */
		t->origin.css = o.css;
		return false;
	}
	witness = vspace_same_user(&o, &t->origin);
	t->bound = false;
	t->narrowed = false;
	t->drifts++;
	vm->drifts++;
	pr_debug("tid %d: affinity set to %*pbl from outside\n", t->tid,
		 cpumask_pr_args(vspace_cur));
	if (vspace_fell_back(t->applied)) {
		/*
		 * Every CPU vspace gave it went offline (some may be back):
		 * this is the kernel's fallback (or its cpuset's hotplug
		 * rewrite). If what the thread is allowed within the new mask
		 * has a CPU online, vspace's narrowing made it necessary:
		 * that stays allowed, and vspace holds the thread at the new
		 * mask, its doing, so that the next look does not take it
		 * for the allowed one. If not, the kernel would have fallen
		 * back from the allowed mask too: the new mask is allowed.
		 */
		cpumask_and(vspace_tmp, t->allowed, vspace_cur);
		if (cpumask_intersects(vspace_tmp, cpu_active_mask)) {
			cpumask_copy(t->allowed, vspace_tmp);
			t->bound = true;
			cpumask_copy(t->applied, vspace_cur);
			t->origin = o;
			return false;
		}
	}
	cpumask_copy(t->allowed, vspace_cur);
	t->origin = o;
	return witness;
}

/*
 * Under @task's pi_lock: whether @mask is what a cpuset rewrite to
 * vspace_scratch gives @task (6.2+ ANDs in its user mask, when they meet).
 */
static bool vspace_rewritten_to(struct task_struct *task,
				const struct cpumask *mask)
{
	const struct cpumask *user = task->user_cpus_ptr;

	if (!user || !cpumask_and(vspace_tmp, vspace_scratch, user))
		cpumask_copy(vspace_tmp, vspace_scratch);
	return cpumask_equal(mask, vspace_tmp);
}

/*
 * Whether every live thread of @vm in cpuset @css sits where a rewrite to
 * vspace_scratch puts it.
 */
static bool vspace_css_rewritten(struct vspace_vm *vm, u64 css)
{
	struct vspace_thread *t;
	struct task_struct *task;
	bool ok = true;

	list_for_each_entry(t, &vm->threads, node) {
		if (t->origin.css != css)
			continue;
		task = get_pid_task(t->pid, PIDTYPE_PID);
		if (!task)
			continue;
		ok = vspace_task_read(task, vspace_cur, NULL,
				      vspace_rewritten_to);
		put_task_struct(task);
		if (!ok)
			break;
	}
	return ok;
}

/*
 * Under RCU: take in what was done from outside to @t's task @task (NULL
 * if gone) since the last look. Returns whether the kernel rewrote its
 * mask, a witness for vspace_vm_infer_rewrites(), which must then run.
 * Every managed thread, every period: no reference taken, and no lock
 * unless something changed.
 */
bool vspace_thread_look(struct vspace_vm *vm, struct vspace_thread *t,
			struct task_struct *task)
{
	if (!task || vspace_thread_same(t, task)) {
		t->rewritten = false;
		return false;
	}
	vm->placed = false;
	t->rewritten = vspace_thread_sync_mask(vm, t, task);
	return t->rewritten;
}

/*
 * After vspace_thread_look() of each of @vm's threads found a witness. A
 * cpuset write, a move to another cpuset, or hotplug rewrites the mask of
 * every task in the cpuset, but one whose mask it leaves as vspace set it
 * shows nothing, and release would give back CPUs the cpuset no longer
 * has. A module cannot read the cpuset, so it is inferred: when the
 * kernel (not a taskset) set a thread of the VM to M since the last look,
 * and every thread of the VM in that cpuset now sits exactly where a
 * rewrite to M puts it (a taskset of some threads fails that), the cpuset
 * was rewritten to M, and so were the held threads vspace had at that
 * very mask. The inference only ever narrows a thread's allowed mask to
 * where it is.
 */
void vspace_vm_infer_rewrites(struct vspace_vm *vm)
{
	struct vspace_thread *t, *e;

	lockdep_assert_held(&vspace_lock);
	list_for_each_entry(e, &vm->threads, node) {
		if (!e->rewritten)
			continue;
		cpumask_copy(vspace_scratch, e->allowed);
		if (!vspace_css_rewritten(vm, e->origin.css))
			continue;
		list_for_each_entry(t, &vm->threads, node) {
			if (t->origin.css != e->origin.css)
				continue;
			/* One witness per rewrite is enough. */
			if (cpumask_equal(t->allowed, e->allowed))
				t->rewritten = false;
			if (!t->bound)
				continue;
			/*
			 * It sits where the rewrite puts it (checked above).
			 * Only narrow: one held at a hotplug fallback keeps
			 * its allowed CPUs within it.
			 */
			t->bound = false;
			t->narrowed = false;
			t->drifts++;
			vm->drifts++;
			if (!cpumask_and(t->allowed, t->allowed, t->applied))
				cpumask_copy(t->allowed, t->applied);
			pr_debug("tid %d: its cpuset was rewritten to %*pbl\n",
				 t->tid, cpumask_pr_args(vspace_scratch));
		}
	}
}

/* Take in every change from outside to @vm's threads. */
void vspace_vm_sync_masks(struct vspace_vm *vm)
{
	struct vspace_thread *t;
	bool witness = false;

	lockdep_assert_held(&vspace_lock);
	rcu_read_lock();
	list_for_each_entry(t, &vm->threads, node)
		witness |= vspace_thread_look(vm, t,
					      pid_task(t->pid, PIDTYPE_PID));
	rcu_read_unlock();
	if (witness)
		vspace_vm_infer_rewrites(vm);
}

/*
 * @w, about to be placed, shows a cpuset rewrite that landed since the
 * period's look. Before it or a later thread is bound again (then it
 * would not sit where the rewrite put it), take in the others' changes
 * and infer, as the look would have: those it left as vspace had them
 * are not to be given the old cpuset's CPUs. (A thread this pass already
 * bound again is missed: the inference then finds no rewrite.)
 * vspace_cur is clobbered.
 */
static void vspace_vm_witnessed(struct vspace_vm *vm, struct vspace_thread *w)
{
	struct vspace_thread *t;

	rcu_read_lock();
	list_for_each_entry(t, &vm->threads, node)
		if (t != w)
			vspace_thread_look(vm, t, pid_task(t->pid, PIDTYPE_PID));
	rcu_read_unlock();
	w->rewritten = true;
	vspace_vm_infer_rewrites(vm);
}

/* Give @task its allowed mask back, if vspace holds it. */
static void vspace_thread_unbind(struct vspace_vm *vm, struct vspace_thread *t,
				 struct task_struct *task)
{
	vspace_thread_sync_mask(vm, t, task);
	if (!t->bound)
		return;
	/*
	 * The whole mask: set_cpus_allowed_ptr() keeps offline CPUs in it.
	 * If refused (none of them active), vspace keeps holding the thread
	 * and tries again, rather than take its own mask for the allowed one.
	 */
	if (set_cpus_allowed_ptr(task, t->allowed)) {
		pr_notice_ratelimited("tid %d: cannot give back affinity %*pbl yet: none of its CPUs is active\n",
				      t->tid, cpumask_pr_args(t->allowed));
		return;
	}
	t->bound = false;
	t->narrowed = false;
}

/* Whether @t's isolation boost is to change. */
static bool vspace_boost_changes(struct vspace_vm *vm, struct vspace_thread *t)
{
	return t->boosted != vspace_wants_boost(vm, t);
}

/*
 * Whether bound @t has what vspace would ask for now, vspace_scratch; a
 * narrowed thread, if vspace would ask for the same CPUs as last time
 * (a grown target, as when a split of the I/O group ends, asks again).
 */
static bool vspace_has_scratch(const struct vspace_thread *t)
{
	return t->bound &&
	       (cpumask_equal(t->applied, vspace_scratch) ||
		(t->narrowed && cpumask_subset(t->applied, vspace_scratch) &&
		 cpumask_weight(vspace_scratch) == t->asked));
}

/* Whether @t is placed in @group as last time; vspace_scratch is clobbered. */
static bool vspace_placed_as_before(const struct vspace_thread *t,
				    const struct cpumask *group)
{
	return t->bound && t->unplaced == VSPACE_PLACED &&
	       cpumask_and(vspace_scratch, group, t->allowed) &&
	       vspace_has_scratch(t);
}

/*
 * Bind one thread to its group within its allowed mask, or leave it at
 * that mask and say why; vhost workers also get their isolation boost.
 * @synced: its mask was taken in this period (vspace_thread_look()), so
 * a thread placed as before is left alone without a look at it; anything
 * else looks again first, right before it would set the mask, so as not
 * to undo a change from outside that just landed.
 */
static void vspace_thread_place(struct vspace_vm *vm, struct vspace_thread *t,
				bool synced)
{
	const struct cpumask *group = vspace_target(vm, t);
	struct task_struct *task;
	u8 why = VSPACE_PLACED;

	if (!group)
		return;
	if (synced && !cpumask_empty(group) && vspace_placed_as_before(t, group) &&
	    !vspace_boost_changes(vm, t))
		return;
	task = get_pid_task(t->pid, PIDTYPE_PID);
	if (!task)
		return;		/* exited; the next rescan forgets it */

	if (vspace_thread_sync_mask(vm, t, task)) {
		vspace_vm_witnessed(vm, t);
		/* Its mask again: the others' looks used vspace_cur. */
		vspace_task_mask(task, vspace_cur);
	}
	/* Its target depends on its allowed mask, which may have changed. */
	group = vspace_target(vm, t);
	if (cpumask_empty(group))
		why = VSPACE_UNPLACED_NOGROUP;
	else if (!cpumask_and(vspace_scratch, group, t->allowed))
		why = VSPACE_UNPLACED_OUTSIDE;
	if (why) {
		vspace_thread_unbind(vm, t, task);
		goto out;
	}
	if (vspace_has_scratch(t))
		goto out;	/* as placed last time */
	if (!t->bound && cpumask_equal(vspace_cur, vspace_scratch)) {
		/*
		 * Already where vspace would put it (a change from outside
		 * just left it there): hold it as it is. A set now could
		 * undo a cpuset write that is landing.
		 */
		t->bound = true;
		t->bound_at = t->bound_at ?: ktime_get_ns();
		cpumask_copy(t->applied, vspace_cur);
		goto out;
	}

	if (set_cpus_allowed_ptr(task, vspace_scratch)) {
		/* No CPU of it is active (hotplug under way): as it is. */
		why = VSPACE_UNPLACED_REFUSED;
		vspace_thread_unbind(vm, t, task);
		goto out;
	}
	if (!t->bound)
		t->bound_at = ktime_get_ns();
	t->bound = true;
	if (!vspace_task_read(task, t->applied, &t->origin,
			      vspace_got_what_asked)) {
		/*
		 * Changed from outside between vspace's read and its set:
		 * that stands (see sync_mask), and the next interval places
		 * the thread within it.
		 */
		t->bound = false;
		t->drifts++;
		vm->drifts++;
		cpumask_copy(t->allowed, t->applied);
	}
	t->narrowed = t->bound && !cpumask_equal(t->applied, vspace_scratch);
	t->asked = cpumask_weight(vspace_scratch);
out:
	t->unplaced = why;
	vspace_thread_boost(t, task, vspace_wants_boost(vm, t));
	put_task_struct(task);
}

/*
 * A thread's allowed mask is its mask when vspace first sees it, unless
 * it inherited a binding: it is a worker the kernel made inside the QEMU
 * process (a vhost_task), started after vspace bound a sibling, and
 * carries that sibling's mask (KVM's NX huge page recovery vhost_task on
 * 6.12 is forked from the vCPU thread that first enters KVM_RUN). Then its
 * allowed mask is what those siblings are allowed, all of them (its
 * creator is one of them, and which is unknown); vspace holds it as if it
 * had bound it, and gives a thread it does not place that mask at once.
 * If an unbound thread has the same mask, it may be the creator, and the
 * mask is the thread's own: it is never widened on a guess.
 */
void vspace_thread_first_sight(struct vspace_vm *vm, struct vspace_thread *t,
			       struct task_struct *task)
{
	struct vspace_thread *p;
	struct task_struct *q;
	bool inherited = false;

	lockdep_assert_held(&vspace_lock);
	vspace_task_read(task, t->applied, &t->origin, NULL);
	cpumask_copy(t->allowed, t->applied);
	/* Only the kernel's workers are made with their creator's mask. */
	if (!vspace_is_user_worker(task))
		return;
	list_for_each_entry(p, &vm->threads, node) {
		if (!p->bound || task->start_time < p->bound_at ||
		    !cpumask_equal(t->applied, p->applied))
			continue;
		if (inherited)
			cpumask_and(t->allowed, t->allowed, p->allowed);
		else
			cpumask_copy(t->allowed, p->allowed);
		inherited = true;
	}
	if (!inherited)
		return;
	list_for_each_entry(p, &vm->threads, node) {
		if (p->bound)
			continue;
		q = get_pid_task(p->pid, PIDTYPE_PID);
		if (!q)
			continue;
		vspace_task_mask(q, vspace_cur);
		put_task_struct(q);
		if (cpumask_equal(vspace_cur, t->applied)) {
			cpumask_copy(t->allowed, t->applied);
			return;
		}
	}
	t->bound = true;
	t->bound_at = ktime_get_ns();
	pr_debug("tid %d inherited a binding; allowed %*pbl\n", t->tid,
		 cpumask_pr_args(t->allowed));
	if (t->kind != VSPACE_KIND_VCPU && t->kind != VSPACE_KIND_VHOST)
		vspace_thread_unbind(vm, t, task);
}

void vspace_thread_restore(struct vspace_vm *vm, struct vspace_thread *t)
{
	struct task_struct *task;

	lockdep_assert_held(&vspace_lock);
	vm->placed = false;
	t->unplaced = VSPACE_PLACED;
	task = get_pid_task(t->pid, PIDTYPE_PID);
	if (!task) {
		t->bound = false;
		t->boosted = false;
		return;
	}
	vspace_thread_boost(t, task, false);
	vspace_thread_unbind(vm, t, task);
	put_task_struct(task);
}

/*
 * For the stress tests only: hold every pass of binds this long after its
 * decision, so a test can kill a VM inside that window on purpose rather
 * than by luck (selftests/vspace_stress.sh). 0, the default, costs a load.
 */
static unsigned int bind_delay_ms;
module_param(bind_delay_ms, uint, 0644);
MODULE_PARM_DESC(bind_delay_ms,
		 "testing only: ms (at most 1000) between a decision and its binds");

static unsigned int vspace_vm_vcpus(const struct vspace_vm *vm)
{
	const struct vspace_thread *t;
	unsigned int n = 0;

	list_for_each_entry(t, &vm->threads, node)
		n += t->kind == VSPACE_KIND_VCPU;
	return n;
}

/*
 * Whether @t is a vhost worker that gets a slice of the I/O group: one
 * pinned away from all of it (unplaced, or in the VM group) has none.
 */
static bool vspace_spreads(const struct vspace_thread *t)
{
	return t->kind == VSPACE_KIND_VHOST &&
	       cpumask_intersects(t->allowed, vspace_groups.io);
}

/*
 * Home nodes: while the VM group spans NUMA nodes, each VM whose vCPU
 * threads fit in one node's part of it, beside those homed there already
 * (no more vCPU threads than CPUs), is kept there: its memory is likely
 * there too, and its vCPUs share caches. A VM keeps its node while it
 * fits; otherwise it goes to the node least crowded after it. Those that
 * fit nowhere get the whole group, so no CPU of it is left unused while
 * others are crowded.
 */
static void vspace_homes(void)
{
	unsigned int n, spans = 0;
	struct vspace_vm *vm;
	int node, best;

	for (node = 0; node < nr_node_ids; node++) {
		cpumask_and(vspace_home, vspace_groups.vm, cpumask_of_node(node));
		vspace_node_cpus[node] = cpumask_weight(vspace_home);
		vspace_node_vcpus[node] = 0;
		spans += !!vspace_node_cpus[node];
	}
	list_for_each_entry(vm, &vspace_vms, node) {
		node = vm->home_node;
		vm->home_node = NUMA_NO_NODE;
		if (spans < 2)
			continue;
		n = vspace_vm_vcpus(vm);
		if (!n)
			continue;
		if (node != NUMA_NO_NODE &&
		    vspace_node_vcpus[node] + n <= vspace_node_cpus[node]) {
			best = node;
		} else {
			/* The least crowded after it: fewest vCPUs per CPU. */
			for (best = NUMA_NO_NODE, node = 0; node < nr_node_ids;
			     node++) {
				if (vspace_node_vcpus[node] + n >
				    vspace_node_cpus[node])
					continue;
				if (best == NUMA_NO_NODE ||
				    (u64)(vspace_node_vcpus[node] + n) *
				    vspace_node_cpus[best] <
				    (u64)(vspace_node_vcpus[best] + n) *
				    vspace_node_cpus[node])
					best = node;
			}
			if (best == NUMA_NO_NODE)
				continue;
		}
		vm->home_node = best;
		vspace_node_vcpus[best] += n;
	}
}

/*
 * What placement reads besides a VM's own state, as the last pass had it:
 * the groups, the split of the I/O group, the boost and the active CPUs.
 */
enum {
	VSPACE_SEEN_VM,
	VSPACE_SEEN_IO,
	VSPACE_SEEN_IO_CONFINED,
	VSPACE_SEEN_ACTIVE,
	NR_VSPACE_SEEN
};

static cpumask_var_t vspace_seen[NR_VSPACE_SEEN];
static bool vspace_seen_boost;
static u32 vspace_seen_io_home;

/* Whether what placement reads is as the last pass had it; it is now. */
static bool vspace_seen_same(void)
{
	const struct cpumask *now[NR_VSPACE_SEEN] = {
		[VSPACE_SEEN_VM] = vspace_groups.vm,
		[VSPACE_SEEN_IO] = vspace_groups.io,
		[VSPACE_SEEN_IO_CONFINED] = vspace_groups.io_confined,
		[VSPACE_SEEN_ACTIVE] = cpu_active_mask,
	};
	bool same = vspace_seen_boost == vspace_groups.boost &&
		    vspace_seen_io_home == vspace_lay.io_home;
	int i;

	for (i = 0; i < NR_VSPACE_SEEN; i++) {
		if (cpumask_equal(vspace_seen[i], now[i]))
			continue;
		cpumask_copy(vspace_seen[i], now[i]);
		same = false;
	}
	vspace_seen_boost = vspace_groups.boost;
	vspace_seen_io_home = vspace_lay.io_home;
	return same;
}

/*
 * Whether every thread of @vm is where the last pass left it, and nothing
 * of @vm placement reads has changed since: no thread came, went, changed
 * kind or was changed from outside (vspace_thread_look()), nor was given
 * back, and its confinement and home node are the same. A thread the last
 * pass could not bind or give back, or whose boost is still to change, has
 * it looked at again.
 */
static bool vspace_vm_placed(const struct vspace_vm *vm)
{
	return vm->placed && vm->placed_confined == vm->pol.confined &&
	       vm->placed_home == vm->home_node;
}

/* Whether the next pass may leave @t of @vm as this one left it. */
static bool vspace_thread_settled(struct vspace_vm *vm, struct vspace_thread *t)
{
	if (t->kind == VSPACE_KIND_OTHER)
		return true;
	if (vspace_boost_changes(vm, t))
		return false;
	switch (t->unplaced) {
	case VSPACE_PLACED:
		return t->bound;
	case VSPACE_UNPLACED_OUTSIDE:
	case VSPACE_UNPLACED_NOGROUP:
		/* Left at its allowed mask, if it could be given back. */
		return !t->bound;
	default:
		return false;	/* refused: tried again */
	}
}

/* After a pass over @vm: whether the next may skip it. */
static void vspace_vm_settle(struct vspace_vm *vm)
{
	struct vspace_thread *t;

	vm->placed_confined = vm->pol.confined;
	vm->placed_home = vm->home_node;
	vm->placed = true;
	list_for_each_entry(t, &vm->threads, node) {
		if (!vspace_thread_settled(vm, t)) {
			vm->placed = false;
			return;
		}
	}
}

/*
 * Bind every managed thread where it belongs now. @synced: the periodic
 * work has just taken in the changes from outside (vspace_thread_look()),
 * and each thread's own are taken in again as it is placed; then a VM
 * whose threads are all placed as before, with nothing changed, is
 * skipped: most of a big host's VMs, most periods.
 */
static void vspace_place(bool synced)
{
	unsigned int delay = READ_ONCE(bind_delay_ms);
	struct vspace_thread *t;
	struct vspace_vm *vm;
	bool same;

	lockdep_assert_held(&vspace_lock);
	if (!vspace_config.enabled)
		return;
	if (unlikely(delay))
		msleep(min(delay, 1000U));
	vspace_homes();
	vspace_cut = NULL;	/* the parts may have changed since */
	same = vspace_seen_same() && synced;
	list_for_each_entry(vm, &vspace_vms, node) {
		if (same && vspace_vm_placed(vm))
			continue;
		if (vm->home_node != NUMA_NO_NODE)
			cpumask_and(vspace_home, vspace_groups.vm,
				    cpumask_of_node(vm->home_node));
		if (!synced)
			vspace_vm_sync_masks(vm);
		vspace_workers = 0;
		list_for_each_entry(t, &vm->threads, node)
			vspace_workers += vspace_spreads(t);
		vspace_worker = 0;
		list_for_each_entry(t, &vm->threads, node) {
			vspace_thread_place(vm, t, synced);
			vspace_worker += vspace_spreads(t);
		}
		vspace_vm_settle(vm);
	}
	vspace_workers = 0;
}

void vspace_place_all(void)
{
	vspace_place(false);
}

void vspace_place_rescanned(void)
{
	vspace_place(true);
}

void vspace_restore_all(void)
{
	struct vspace_thread *t;
	struct vspace_vm *vm;

	lockdep_assert_held(&vspace_lock);
	list_for_each_entry(vm, &vspace_vms, node) {
		vspace_vm_sync_masks(vm);
		list_for_each_entry(t, &vm->threads, node)
			vspace_thread_restore(vm, t);
	}
}

int vspace_placement_init(void)
{
	int i;

	vspace_lcpus = kvcalloc(nr_cpu_ids, sizeof(*vspace_lcpus), GFP_KERNEL);
	vspace_unit_cpu = kvcalloc(nr_cpu_ids, sizeof(*vspace_unit_cpu),
				   GFP_KERNEL);
	vspace_node_cpus = kcalloc(nr_node_ids, sizeof(unsigned int), GFP_KERNEL);
	vspace_node_vcpus = kcalloc(nr_node_ids, sizeof(unsigned int),
				    GFP_KERNEL);
	if (!vspace_lcpus || !vspace_unit_cpu || !vspace_node_cpus ||
	    !vspace_node_vcpus)
		goto out_lcpus;
	if (!zalloc_cpumask_var(&vspace_home, GFP_KERNEL))
		goto out_lcpus;
	if (!zalloc_cpumask_var(&vspace_groups.io, GFP_KERNEL))
		goto out_home;
	if (!zalloc_cpumask_var(&vspace_groups.vm, GFP_KERNEL))
		goto out_io;
	if (!zalloc_cpumask_var(&vspace_groups.free, GFP_KERNEL))
		goto out_vm;
	if (!zalloc_cpumask_var(&vspace_scratch, GFP_KERNEL))
		goto out_free;
	if (!zalloc_cpumask_var(&vspace_cur, GFP_KERNEL))
		goto out_scratch;
	if (!zalloc_cpumask_var(&vspace_tmp, GFP_KERNEL))
		goto out_cur;
	if (!zalloc_cpumask_var(&vspace_groups.io_confined, GFP_KERNEL))
		goto out_tmp;
	if (!zalloc_cpumask_var(&vspace_groups.io_open, GFP_KERNEL))
		goto out_confined;
	if (!zalloc_cpumask_var(&vspace_slice, GFP_KERNEL))
		goto out_open;
	if (!zalloc_cpumask_var(&vspace_cut_cpus, GFP_KERNEL))
		goto out_slice;
	for (i = 0; i < NR_VSPACE_SEEN; i++)
		if (!zalloc_cpumask_var(&vspace_seen[i], GFP_KERNEL))
			goto out_seen;
	for (i = 0; i < NR_VSPACE_DOWN; i++)
		if (!zalloc_cpumask_var(&vspace_down[i], GFP_KERNEL))
			goto out_down;
	return 0;

out_down:
	while (i--)
		free_cpumask_var(vspace_down[i]);
	i = NR_VSPACE_SEEN;
out_seen:
	while (i--)
		free_cpumask_var(vspace_seen[i]);
	free_cpumask_var(vspace_cut_cpus);
out_slice:
	free_cpumask_var(vspace_slice);
out_open:
	free_cpumask_var(vspace_groups.io_open);
out_confined:
	free_cpumask_var(vspace_groups.io_confined);
out_tmp:
	free_cpumask_var(vspace_tmp);
out_cur:
	free_cpumask_var(vspace_cur);
out_scratch:
	free_cpumask_var(vspace_scratch);
out_free:
	free_cpumask_var(vspace_groups.free);
out_vm:
	free_cpumask_var(vspace_groups.vm);
out_io:
	free_cpumask_var(vspace_groups.io);
out_home:
	free_cpumask_var(vspace_home);
out_lcpus:
	kfree(vspace_node_vcpus);
	kfree(vspace_node_cpus);
	kvfree(vspace_unit_cpu);
	kvfree(vspace_lcpus);
	return -ENOMEM;
}

void vspace_placement_uninit(void)
{
	int i;

	for (i = 0; i < NR_VSPACE_DOWN; i++)
		free_cpumask_var(vspace_down[i]);
	for (i = 0; i < NR_VSPACE_SEEN; i++)
		free_cpumask_var(vspace_seen[i]);
	free_cpumask_var(vspace_cut_cpus);
	free_cpumask_var(vspace_slice);
	free_cpumask_var(vspace_groups.io_open);
	free_cpumask_var(vspace_groups.io_confined);
	free_cpumask_var(vspace_tmp);
	free_cpumask_var(vspace_cur);
	free_cpumask_var(vspace_scratch);
	free_cpumask_var(vspace_groups.free);
	free_cpumask_var(vspace_groups.vm);
	free_cpumask_var(vspace_groups.io);
	free_cpumask_var(vspace_home);
	kfree(vspace_node_vcpus);
	kfree(vspace_node_cpus);
	kvfree(vspace_unit_cpu);
	kvfree(vspace_lcpus);
}
