// SPDX-License-Identifier: GPL-2.0
/*
 * The managed VMs and their threads.
 *
 * A VM is a QEMU process. Its threads are found afresh every period:
 *  - vCPU threads: named "CPU n/KVM" (QEMU with debug-threads=on), or,
 *    when unnamed, any thread of the process that has run guest code
 *    (gtime > 0) or is inside KVM_RUN; once a vCPU, always a vCPU;
 *  - vhost workers: named "vhost-<tid>", either a vhost_task inside the
 *    process (PF_USER_WORKER, 6.4+) or a kernel thread that works on the
 *    process's mm (6.1, and the kthread mode of 6.12);
 *  - every other thread is "other" and left alone.
 *
 * Threads and VMs are held by struct pid references, so a thread or VM that
 * exits is simply not found again and is forgotten; nothing dereferences a
 * task that may be gone. All of this runs in process context under
 * vspace_lock.
 */
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "vspace.h"

/* How many new VMs one auto-discovery pass adds at most. */
#define VSPACE_DISCOVER_BATCH	16

struct vspace_found {
	struct pid *pid;
	u8 kind;
};

static bool vspace_comm_is_vcpu(const char *comm)
{
	size_t len = strlen(comm);

	return !strncmp(comm, "CPU ", 4) && len > 8 &&
	       !strcmp(comm + len - 4, "/KVM");
}

static bool vspace_comm_is_vhost(const char *comm)
{
	return !strncmp(comm, "vhost-", 6);
}

/*
 * KVM keeps a preempt notifier registered on a thread for as long as it is
 * inside KVM_RUN (vcpu_load() to vcpu_put()), even while the vCPU halts, and
 * nothing else in a QEMU process registers one.
 */
static bool vspace_in_kvm_run(struct task_struct *t)
{
#ifdef CONFIG_PREEMPT_NOTIFIERS
	return READ_ONCE(t->preempt_notifiers.first);
#else
	return false;
#endif
}

/* Kind of a thread of the QEMU process; under rcu_read_lock(). */
static u8 vspace_classify(struct task_struct *t)
{
	char comm[TASK_COMM_LEN];

	get_task_comm(comm, t);
	if (vspace_comm_is_vhost(comm) && vspace_is_user_worker(t))
		return VSPACE_KIND_VHOST;
	if (vspace_comm_is_vcpu(comm) || t->gtime || vspace_in_kvm_run(t))
		return VSPACE_KIND_VCPU;
	return VSPACE_KIND_OTHER;
}

/* A vhost kernel thread working for @mm; under rcu_read_lock(). */
static bool vspace_is_vhost_kthread(struct task_struct *p,
				    struct mm_struct *mm)
{
	char comm[TASK_COMM_LEN];

	if (!(p->flags & PF_KTHREAD) || READ_ONCE(p->mm) != mm)
		return false;
	get_task_comm(comm, p);
	return vspace_comm_is_vhost(comm);
}

/*
 * Take references to the threads of @leader and to the vhost kernel threads
 * working on its mm: at most @max of them. Returns how many, or -E2BIG if
 * there were more (the references taken are put).
 */
static int vspace_collect(struct task_struct *leader, struct vspace_found *f,
			  int max)
{
	struct mm_struct *mm = get_task_mm(leader);
	struct task_struct *t, *p;
	int n = 0;

	rcu_read_lock();
	for_each_thread(leader, t) {
		if (n == max)
			goto full;
		f[n].kind = vspace_classify(t);
		f[n++].pid = get_task_pid(t, PIDTYPE_PID);
	}
	if (mm) {
		for_each_process(p) {
			if (!vspace_is_vhost_kthread(p, mm))
				continue;
			if (n == max)
				goto full;
			f[n].kind = VSPACE_KIND_VHOST;
			f[n++].pid = get_task_pid(p, PIDTYPE_PID);
		}
	}
	rcu_read_unlock();
	if (mm)
		mmput(mm);
	return n;

full:
	rcu_read_unlock();
	if (mm)
		mmput(mm);
	while (n--)
		put_pid(f[n].pid);
	return -E2BIG;
}

static void vspace_thread_free(struct vspace_thread *t)
{
	put_pid(t->pid);
	free_cpumask_var(t->allowed);
	free_cpumask_var(t->applied);
	kfree(t);
}

static struct vspace_thread *vspace_thread_find(struct vspace_vm *vm,
						struct pid *pid)
{
	struct vspace_thread *t;

	list_for_each_entry(t, &vm->threads, node)
		if (t->pid == pid)
			return t;
	return NULL;
}

/* A new thread of @vm, for @pid (whose reference it takes); NULL if no memory. */
static struct vspace_thread *vspace_thread_new(struct vspace_vm *vm,
					       struct vspace_found *f)
{
	struct vspace_thread *t;
	struct task_struct *task;

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return NULL;
	if (!zalloc_cpumask_var(&t->allowed, GFP_KERNEL) ||
	    !zalloc_cpumask_var(&t->applied, GFP_KERNEL)) {
		free_cpumask_var(t->allowed);
		kfree(t);
		return NULL;
	}
	t->pid = f->pid;
	t->tid = pid_nr(t->pid);
	t->kind = f->kind;
	task = get_pid_task(t->pid, PIDTYPE_PID);
	if (task) {
		vspace_thread_first_sight(vm, t, task);
		put_task_struct(task);
	}
	return t;
}

/*
 * Bring @vm's thread list up to date with @leader: add new threads,
 * reclassify (an unnamed vCPU shows itself by running guest code) and
 * forget, after giving it back, each thread that is gone. Returns -ENOMEM
 * if a thread could not be added; the next rescan tries again.
 */
static int vspace_vm_sync(struct vspace_vm *vm, struct task_struct *leader)
{
	struct vspace_thread *t, *tmp;
	struct vspace_found *found;
	int n, i, max, ret = 0;

	/*
	 * What happened to the threads it has first: a new thread may take
	 * its creator's allowed mask (vspace_thread_first_sight()).
	 */
	vspace_vm_sync_masks(vm);
	/*
	 * Room for threads appearing meanwhile, and for vhost kthreads (one
	 * per queue pair on 6.1); more if that was not enough. A thread not
	 * collected would be forgotten while vspace still held it.
	 */
	max = get_nr_threads(leader) + 64;
	for (;;) {
		found = kvmalloc_array(max, sizeof(*found), GFP_KERNEL);
		if (!found)
			return -ENOMEM;
		n = vspace_collect(leader, found, max);
		if (n != -E2BIG)
			break;
		kvfree(found);
		max *= 2;
	}

	list_for_each_entry(t, &vm->threads, node)
		t->seen = false;
	for (i = 0; i < n; i++) {
		t = vspace_thread_find(vm, found[i].pid);
		if (t) {
			/*
			 * A vCPU stays one: between KVM_RUN calls it may look
			 * like any other thread for a moment.
			 */
			if (t->kind != found[i].kind &&
			    t->kind != VSPACE_KIND_VCPU) {
				vspace_thread_restore(vm, t);
				vspace_thread_stat_stop(vm, t);
				t->kind = found[i].kind;
				vspace_thread_stat_start(t);
			}
			t->seen = true;
			put_pid(found[i].pid);
			continue;
		}
		t = vspace_thread_new(vm, &found[i]);
		if (!t) {
			put_pid(found[i].pid);
			ret = -ENOMEM;
			continue;
		}
		t->seen = true;
		list_add_tail(&t->node, &vm->threads);
		vspace_thread_stat_start(t);
	}
	kvfree(found);

	list_for_each_entry_safe(t, tmp, &vm->threads, node) {
		if (t->seen)
			continue;
		vspace_thread_restore(vm, t);
		vspace_thread_stat_stop(vm, t);
		list_del(&t->node);
		vspace_thread_free(t);
	}
	return ret;
}

/* Whether the process of @task is on its way out: never (re)add it. */
static bool vspace_process_exiting(struct task_struct *task)
{
	return READ_ONCE(task->signal->flags) & SIGNAL_GROUP_EXIT ||
	       (READ_ONCE(task->exit_state) && thread_group_empty(task));
}

/* The QEMU process of @vm if it is still alive; a reference the caller puts. */
static struct task_struct *vspace_vm_task(struct vspace_vm *vm)
{
	struct task_struct *task = get_pid_task(vm->pid, PIDTYPE_TGID);

	if (task && vspace_process_exiting(task)) {
		put_task_struct(task);
		task = NULL;
	}
	return task;
}

/* Stop counting @vm's threads; the probes forget them. */
static void vspace_vm_stop_stats(struct vspace_vm *vm)
{
	struct vspace_thread *t;

	list_for_each_entry(t, &vm->threads, node)
		vspace_thread_stat_stop(vm, t);
}

/* Give every thread back, unlink @vm; the caller deletes its directory. */
static void vspace_vm_unlink(struct vspace_vm *vm)
{
	struct vspace_thread *t;

	lockdep_assert_held(&vspace_lock);
	vspace_vm_sync_masks(vm);
	list_for_each_entry(t, &vm->threads, node)
		vspace_thread_restore(vm, t);
	vspace_vm_stop_stats(vm);
	list_del(&vm->node);
	vm->dead = true;
}

void vspace_vm_release(struct vspace_vm *vm)
{
	struct vspace_thread *t, *tmp;
	int i;

	for (i = 0; i < NR_VSPACE_SNAPS; i++)
		kvfree(vm->snap[i].buf);
	list_for_each_entry_safe(t, tmp, &vm->threads, node)
		vspace_thread_free(t);
	put_pid(vm->pid);
	kfree(vm);
}

static struct vspace_vm *vspace_vm_find(pid_t nr)
{
	struct vspace_vm *vm;

	list_for_each_entry(vm, &vspace_vms, node)
		if (vm->nr == nr)
			return vm;
	return NULL;
}

/* The VM whose process is @nr in the writer's pid namespace. */
static struct vspace_vm *vspace_vm_find_vnr(pid_t nr)
{
	struct vspace_vm *vm;

	list_for_each_entry(vm, &vspace_vms, node)
		if (pid_vnr(vm->pid) == nr)
			return vm;
	return NULL;
}

static int vspace_fd_is_kvm_vm(const void *unused, struct file *file,
			       unsigned int fd)
{
	/* KVM names its VM file "kvm-vm" (anon_inode_getfile()). */
	return !strcmp(file_dentry(file)->d_name.name, "kvm-vm");
}

/* Whether @task holds a KVM VM file descriptor. */
static bool vspace_has_kvm_vm(struct task_struct *task)
{
	bool found = false;

	task_lock(task);
	if (task->files)
		found = iterate_fd(task->files, 0, vspace_fd_is_kvm_vm, NULL);
	task_unlock(task);
	return found;
}

static bool vspace_vm_has_kind(struct vspace_vm *vm, u8 kind)
{
	struct vspace_thread *t;

	list_for_each_entry(t, &vm->threads, node)
		if (t->kind == kind)
			return true;
	return false;
}

/* Add the QEMU process @task; vspace_vms_lock and vspace_lock held. */
static int vspace_vm_add_task(struct task_struct *task)
{
	struct vspace_vm *vm;
	int ret;

	lockdep_assert_held(&vspace_vms_lock);
	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	if (!vm)
		return -ENOMEM;
	INIT_LIST_HEAD(&vm->threads);
	vm->pid = get_task_pid(task, PIDTYPE_TGID);
	vm->nr = task->tgid;
	vm->pol.weight = VSPACE_WEIGHT_DEFAULT;

	ret = vspace_vm_sync(vm, task);
	if (ret)
		goto out_free;
	if (!vspace_vm_has_kind(vm, VSPACE_KIND_VCPU) &&
	    !vspace_vm_has_kind(vm, VSPACE_KIND_VHOST) &&
	    !vspace_has_kvm_vm(task)) {
		pr_notice_ratelimited("pid %d (%s) is not a VM: no KVM VM, no vhost worker, no vCPU thread\n",
				      vm->nr, task->comm);
		ret = -EINVAL;
		goto out_free;
	}

	/*
	 * Not under vspace_lock: a failing directory creation waits for
	 * readers of the files it made, and they take vspace_lock. Nothing
	 * else adds or removes VMs meanwhile (vspace_vms_lock).
	 */
	mutex_unlock(&vspace_lock);
	ret = vspace_sysfs_vm_add(vm);
	mutex_lock(&vspace_lock);
	if (ret) {
		/* The probes must forget its threads before it is freed. */
		vspace_vm_stop_stats(vm);
		vspace_sysfs_vm_put(vm);
		return ret;
	}
	list_add_tail(&vm->node, &vspace_vms);
	pr_info("managing VM %d (%s)\n", vm->nr, task->comm);
	vspace_place_all();
	return 0;

out_free:
	vspace_vm_stop_stats(vm);
	vspace_vm_release(vm);
	return ret;
}

/* @nr is a pid in the writer's namespace; VMs are known by global pid. */
int vspace_vm_add(pid_t nr)
{
	struct task_struct *task;
	struct pid *pid;
	int ret;

	pid = find_get_pid(nr);
	task = pid ? get_pid_task(pid, PIDTYPE_PID) : NULL;
	put_pid(pid);
	if (!task)
		return -ESRCH;

	if (task->flags & PF_KTHREAD || !thread_group_leader(task)) {
		pr_notice_ratelimited("pid %d is %s, not a QEMU process\n", nr,
				      task->flags & PF_KTHREAD ?
				      "a kernel thread" : "a thread");
		ret = -EINVAL;
		goto out;
	}
	if (vspace_process_exiting(task)) {
		ret = -ESRCH;
		goto out;
	}

	mutex_lock(&vspace_vms_lock);
	mutex_lock(&vspace_lock);
	if (vspace_stopping)
		ret = -ENODEV;
	else if (vspace_vm_find(task->tgid))
		ret = -EEXIST;
	else
		ret = vspace_vm_add_task(task);
	mutex_unlock(&vspace_lock);
	mutex_unlock(&vspace_vms_lock);
out:
	put_task_struct(task);
	return ret;
}

/*
 * The directory goes before vspace_vms_lock is dropped, so an add of the
 * same pid cannot meet it.
 */
int vspace_vm_remove(pid_t nr)
{
	struct vspace_vm *vm;

	mutex_lock(&vspace_vms_lock);
	mutex_lock(&vspace_lock);
	vm = vspace_vm_find_vnr(nr);
	if (vm)
		vspace_vm_unlink(vm);
	mutex_unlock(&vspace_lock);
	if (vm) {
		pr_info("released VM %d\n", vm->nr);
		vspace_sysfs_vm_del(vm);
	}
	mutex_unlock(&vspace_vms_lock);
	return vm ? 0 : -ENOENT;
}

/*
 * The periodic part: forget VMs that exited, pick up new threads, and bind
 * what needs binding.
 */
void vspace_vms_rescan(void)
{
	struct vspace_vm *vm, *tmp;
	struct task_struct *task;
	LIST_HEAD(gone);

	lockdep_assert_held(&vspace_vms_lock);
	mutex_lock(&vspace_lock);
	list_for_each_entry_safe(vm, tmp, &vspace_vms, node) {
		task = vspace_vm_task(vm);
		if (!task) {
			vspace_vm_unlink(vm);
			list_add(&vm->node, &gone);
			continue;
		}
		vspace_vm_sync(vm, task);
		put_task_struct(task);
	}
	vspace_stats_update();
	vspace_alloc_step();
	vspace_place_all();
	mutex_unlock(&vspace_lock);

	list_for_each_entry_safe(vm, tmp, &gone, node) {
		pr_info("VM %d exited\n", vm->nr);
		vspace_sysfs_vm_del(vm);
	}
}

/* Whether a thread of @p is a vCPU; under rcu_read_lock(). */
static bool vspace_shows_vcpu(struct task_struct *p)
{
	struct task_struct *t;

	for_each_thread(p, t)
		if (vspace_classify(t) == VSPACE_KIND_VCPU)
			return true;
	return false;
}

/*
 * auto_discover: manage every process that holds a KVM VM and shows a vCPU
 * thread (by name, or by having run guest code). Only such processes go
 * into a batch, so processes that merely look like one (threads named
 * "CPU n/KVM", no KVM) cannot fill every batch and hide a real VM.
 */
void vspace_vms_discover(void)
{
	struct pid *cand[VSPACE_DISCOVER_BATCH];
	struct task_struct *p;
	int n = 0, i;

	lockdep_assert_held(&vspace_vms_lock);
	if (!READ_ONCE(vspace_config.auto_discover))
		return;

	mutex_lock(&vspace_lock);
	rcu_read_lock();
	for_each_process(p) {
		if (p->flags & PF_KTHREAD || vspace_vm_find(p->tgid) ||
		    vspace_process_exiting(p) || !vspace_shows_vcpu(p) ||
		    !vspace_has_kvm_vm(p))
			continue;
		cand[n++] = get_task_pid(p, PIDTYPE_TGID);
		if (n == VSPACE_DISCOVER_BATCH)
			break;
	}
	rcu_read_unlock();

	for (i = 0; i < n; i++) {
		p = get_pid_task(cand[i], PIDTYPE_TGID);
		put_pid(cand[i]);
		if (!p)
			continue;
		if (!vspace_stopping && !vspace_process_exiting(p) &&
		    !vspace_vm_find(p->tgid))
			vspace_vm_add_task(p);
		put_task_struct(p);
	}
	mutex_unlock(&vspace_lock);
}

/* vms/<pid>/threads: one line per thread that still exists. */
int vspace_vm_threads_render(struct vspace_vm *vm, struct vspace_text *text)
{
	struct vspace_thread *t;
	struct task_struct *task;
	cpumask_var_t now;

	lockdep_assert_held(&vspace_lock);
	if (!alloc_cpumask_var(&now, GFP_KERNEL))
		return -ENOMEM;
	list_for_each_entry(t, &vm->threads, node) {
		task = get_pid_task(t->pid, PIDTYPE_PID);
		if (!task)
			continue;
		vspace_task_mask(task, now);
		put_task_struct(task);
		vspace_text_printf(text, "%d %s %*pbl", t->tid,
				   vspace_kind_names[t->kind],
				   cpumask_pr_args(now));
		if (t->kind != VSPACE_KIND_OTHER)
			vspace_text_printf(text, " allowed=%*pbl",
					   cpumask_pr_args(t->allowed));
		if (t->narrowed)
			vspace_text_printf(text, " narrowed");
		if (t->drifts)
			vspace_text_printf(text, " drifted=%u", t->drifts);
		if (t->unplaced)
			vspace_text_printf(text, " unplaced=%s",
					   vspace_unplaced_names[t->unplaced]);
		vspace_text_printf(text, "\n");
	}
	free_cpumask_var(now);
	return 0;
}

/* Unload: give every thread back and remove every VM. */
void vspace_vms_uninit(void)
{
	struct vspace_vm *vm, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&vspace_vms_lock);
	mutex_lock(&vspace_lock);
	list_for_each_entry_safe(vm, tmp, &vspace_vms, node) {
		vspace_vm_unlink(vm);
		list_add(&vm->node, &gone);
	}
	mutex_unlock(&vspace_lock);

	list_for_each_entry_safe(vm, tmp, &gone, node)
		vspace_sysfs_vm_del(vm);
	mutex_unlock(&vspace_vms_lock);
}
