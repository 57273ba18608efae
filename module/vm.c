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
 *
 * The cost of a period is in managed threads, not in host tasks: VMs are
 * indexed by pid and a VM's threads by thread number; the walk of every
 * task that finds vhost kernel threads runs only when one may have
 * appeared; discovery looks at a bounded number of pids per period.
 */
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/magic.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "vspace.h"

/*
 * One auto-discovery pass looks at this many pids at most, with a
 * reschedule point every VSPACE_DISCOVER_RESCHED, and adds at most
 * VSPACE_DISCOVER_BATCH new VMs; the next pass goes on from there.
 */
#define VSPACE_DISCOVER_SCAN	1024
#define VSPACE_DISCOVER_RESCHED	64
#define VSPACE_DISCOVER_BATCH	16

/* New vhost kernel threads one walk of the host's tasks takes at most. */
#define VSPACE_KTHREAD_BATCH	256

/*
 * Room beyond a VM's thread count when its threads are collected afresh:
 * threads appearing meanwhile, and vhost kthreads (one per queue pair on
 * 6.1); the collection grows the room when that was not enough.
 */
#define VSPACE_COLLECT_SLACK	64

/* The managed VMs by process number (global pid); under vspace_lock. */
static DEFINE_XARRAY(vspace_vm_index);

/*
 * When vhost kernel threads were last looked for, and whether they must be
 * again though no new one was announced (a VM was added, a worker was not
 * yet working on its mm, or the batch was full); under vspace_lock.
 */
static unsigned long vspace_kthreads_seen_seq;
static bool vspace_kthreads_due = true;
static DEFINE_HASHTABLE(vspace_mm_hash, 8);

/*
 * Where the next auto-discovery sweep goes on, and how far it has read the
 * ring of processes that named a vCPU thread; under vspace_vms_lock.
 */
static pid_t vspace_discover_next;
static unsigned int vspace_discover_named;

/*
 * VMs the operator removed (vms/remove), by process number: discovery
 * leaves them alone until they exit or are added again. The struct pid
 * held tells that process from a later one with its number. Written under
 * vspace_vms_lock, read under it or RCU.
 */
static DEFINE_XARRAY(vspace_vm_removed);

static bool vspace_removed_by_hand(struct task_struct *p)
{
	struct pid *pid = xa_load(&vspace_vm_removed, p->tgid);

	return pid && pid == task_tgid(p);
}

static void vspace_removed_forget(unsigned long nr)
{
	put_pid(xa_erase(&vspace_vm_removed, nr));
}

/* Forget the removed VMs that exited: their numbers may come back. */
static void vspace_removed_prune(void)
{
	struct pid *pid;
	unsigned long nr;

	xa_for_each(&vspace_vm_removed, nr, pid)
		if (!pid_has_task(pid, PIDTYPE_TGID))
			vspace_removed_forget(nr);
}

struct vspace_found {
	struct pid *pid;
	u8 kind;
};

/*
 * @t's name without its task_lock: periods read it for every thread they
 * look at again. A rename racing the read may tear it into a mix of the
 * two names (comm stays NUL-terminated); a thread so misread is read again
 * at the next rescan, and a vCPU's name needs both its start and its end.
 */
static void vspace_comm(char *comm, struct task_struct *t)
{
	/* Racy on purpose: see above. */
	data_race(memcpy(comm, t->comm, TASK_COMM_LEN));
	comm[TASK_COMM_LEN - 1] = '\0';
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

	vspace_comm(comm, t);
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
	vspace_comm(comm, p);
	return vspace_comm_is_vhost(comm);
}

/*
 * Take references to the threads of @leader and to the vhost kernel threads
 * of @vm that still work on its mm (new ones are found by
 * vspace_vms_find_kthreads()): at most @max of them. Returns how many, or
 * -E2BIG if there were more (the references taken are put).
 */
static int vspace_collect(struct vspace_vm *vm, struct task_struct *leader,
			  struct vspace_found *f, int max)
{
	struct mm_struct *mm = get_task_mm(leader);
	struct vspace_thread *kt;
	struct task_struct *t, *p;
	int n = 0;

	rcu_read_lock();
	for_each_thread(leader, t) {
		if (n == max)
			goto full;
		f[n].kind = vspace_classify(t);
		f[n++].pid = get_task_pid(t, PIDTYPE_PID);
	}
	list_for_each_entry(kt, &vm->threads, node) {
		if (!kt->kthread || !mm)
			continue;
		p = pid_task(kt->pid, PIDTYPE_PID);
		if (!p || !vspace_is_vhost_kthread(p, mm))
			continue;
		if (n == max)
			goto full;
		f[n].kind = VSPACE_KIND_VHOST;
		f[n++].pid = get_pid(kt->pid);
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

/*
 * @vm's thread for @pid. A thread number can be reused by a new thread
 * while the old one is still listed, so the pid itself must match.
 */
static struct vspace_thread *vspace_thread_find(struct vspace_vm *vm,
						struct pid *pid)
{
	struct vspace_thread *t = xa_load(&vm->tids, pid_nr(pid));

	return t && t->pid == pid ? t : NULL;
}

/*
 * List and index a new thread and start counting it; -ENOMEM (and @t
 * freed) if it cannot be indexed. It takes the place of a listed thread of
 * the same number, which is gone and leaves at the next sweep.
 */
static int vspace_thread_link(struct vspace_vm *vm, struct vspace_thread *t)
{
	vm->placed = false;
	if (xa_is_err(xa_store(&vm->tids, t->tid, t, GFP_KERNEL))) {
		vspace_thread_free(t);
		return -ENOMEM;
	}
	list_add_tail(&t->node, &vm->threads);
	vspace_thread_stat_start(t);
	return 0;
}

static void vspace_thread_unlink(struct vspace_vm *vm, struct vspace_thread *t)
{
	vm->placed = false;
	xa_cmpxchg(&vm->tids, t->tid, t, NULL, GFP_KERNEL);
	list_del(&t->node);
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
		t->kthread = task->flags & PF_KTHREAD;
		vspace_thread_first_sight(vm, t, task);
		put_task_struct(task);
	}
	return t;
}

/*
 * One pass over @vm's threads, under RCU: what was done to each from
 * outside is taken in (vspace_thread_look(); *@witness if a cpuset
 * rewrite is to be inferred), and whether the common case of a period
 * holds: its threads are those it lists (no thread started or exited: as
 * many in the group as listed, all alive, and its kernel threads still
 * its own). Then only the "other" threads are looked at again (an
 * unnamed vCPU shows itself by running guest code): a changed kind is
 * marked in ->seen and *@rekind set; the caller clears ->seen if this
 * says no.
 */
static bool vspace_vm_look(struct vspace_vm *vm, struct task_struct *leader,
			   bool *witness, bool *rekind)
{
	struct mm_struct *mm = READ_ONCE(leader->mm);
	struct vspace_thread *t;
	struct task_struct *p;
	bool same = true;
	int n = 0;

	list_for_each_entry(t, &vm->threads, node) {
		p = pid_task(t->pid, PIDTYPE_PID);
		*witness |= vspace_thread_look(vm, t, p);
		t->seen = false;
		if (!same)
			continue;
		if (!p) {
			same = false;
		} else if (t->kthread) {
			same = mm && vspace_is_vhost_kthread(p, mm);
		} else if (!same_thread_group(p, leader)) {
			same = false;
		} else {
			n++;
			if (t->kind == VSPACE_KIND_OTHER &&
			    vspace_classify(p) != VSPACE_KIND_OTHER)
				*rekind = t->seen = true;
		}
	}
	return same && n == get_nr_threads(leader);
}

/* Give @t its new kind @kind: as a thread vspace meets anew. */
static void vspace_thread_rekind(struct vspace_vm *vm, struct vspace_thread *t,
				 u8 kind)
{
	vspace_thread_restore(vm, t);
	vspace_thread_stat_stop(vm, t);
	t->kind = kind;
	vm->placed = false;
	vspace_thread_stat_start(t);
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
	struct task_struct *task;
	bool same, witness = false, rekind = false;
	int n, i, max, ret = 0;

	rcu_read_lock();
	same = vspace_vm_look(vm, leader, &witness, &rekind);
	rcu_read_unlock();
	/*
	 * What happened to the threads it has first: a new thread may take
	 * its creator's allowed mask (vspace_thread_first_sight()).
	 */
	if (witness)
		vspace_vm_infer_rewrites(vm);
	if (same) {
		if (!rekind)
			return 0;
		list_for_each_entry(t, &vm->threads, node) {
			if (!t->seen)
				continue;
			task = get_pid_task(t->pid, PIDTYPE_PID);
			if (!task)
				continue;
			vspace_thread_rekind(vm, t, vspace_classify(task));
			put_task_struct(task);
		}
		return 0;
	}
	/* A thread not collected would be forgotten while vspace held it. */
	max = get_nr_threads(leader) + VSPACE_COLLECT_SLACK;
	for (;;) {
		found = kvmalloc_array(max, sizeof(*found), GFP_KERNEL);
		if (!found)
			return -ENOMEM;
		n = vspace_collect(vm, leader, found, max);
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
			    t->kind != VSPACE_KIND_VCPU)
				vspace_thread_rekind(vm, t, found[i].kind);
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
		if (vspace_thread_link(vm, t))
			ret = -ENOMEM;
	}
	kvfree(found);

	list_for_each_entry_safe(t, tmp, &vm->threads, node) {
		if (t->seen)
			continue;
		vspace_thread_restore(vm, t);
		vspace_thread_stat_stop(vm, t);
		vspace_thread_unlink(vm, t);
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
	xa_erase(&vspace_vm_index, vm->nr);
	list_del(&vm->node);
	vm->dead = true;
}

void vspace_vm_release(struct vspace_vm *vm)
{
	struct vspace_thread *t, *tmp;
	int i;

	for (i = 0; i < NR_VSPACE_SNAPS; i++)
		vspace_snaps_drop(&vm->snap[i]);
	list_for_each_entry_safe(t, tmp, &vm->threads, node)
		vspace_thread_free(t);
	xa_destroy(&vm->tids);
	put_pid(vm->pid);
	kfree(vm);
}

/* The VM of process @nr (global pid); vspace_lock or RCU held. */
static struct vspace_vm *vspace_vm_find(pid_t nr)
{
	return xa_load(&vspace_vm_index, nr);
}

/*
 * The VM whose process is @nr in the writer's pid namespace. A list
 * search: vms/remove is the operator's, and must find a VM whose process
 * died before the periodic work noticed.
 */
static struct vspace_vm *vspace_vm_find_vnr(pid_t nr)
{
	struct vspace_vm *vm;

	list_for_each_entry(vm, &vspace_vms, node)
		if (pid_vnr(vm->pid) == nr)
			return vm;
	return NULL;
}

struct vspace_kthread_found {
	struct pid *pid;
	struct vspace_vm *vm;
};

/* The VM whose address space is @mm; under RCU or vspace_lock. */
static struct vspace_vm *vspace_vm_of_mm(struct mm_struct *mm)
{
	struct vspace_vm *vm;

	hash_for_each_possible(vspace_mm_hash, vm, mm_node, (unsigned long)mm)
		if (vm->mm == mm)
			return vm;
	return NULL;
}

/*
 * Under RCU: the vhost kernel threads working for a managed VM that it
 * does not list yet, at most VSPACE_KTHREAD_BATCH in @f. Sets *@again if
 * it had to leave some for the next walk.
 */
static int vspace_kthreads_walk(struct vspace_kthread_found *f, bool *again)
{
	char comm[TASK_COMM_LEN];
	struct task_struct *p;
	struct mm_struct *mm;
	struct vspace_vm *vm;
	int n = 0;

	for_each_process(p) {
		if (!(p->flags & PF_KTHREAD))
			continue;
		/*
		 * Under its lock: the rename that bumped the kthread count
		 * may be copying the name now, and a miss here is not retried.
		 */
		get_task_comm(comm, p);
		if (!vspace_comm_is_vhost(comm))
			continue;
		mm = READ_ONCE(p->mm);
		if (!mm) {
			/* Not working yet (or done): look again. */
			*again = true;
			continue;
		}
		vm = vspace_vm_of_mm(mm);
		if (!vm || vspace_thread_find(vm, task_pid(p)))
			continue;
		if (n == VSPACE_KTHREAD_BATCH) {
			*again = true;
			break;
		}
		f[n].pid = get_task_pid(p, PIDTYPE_PID);
		f[n++].vm = vm;
	}
	return n;
}

/*
 * Find the vhost kernel threads of the managed VMs (6.1, and 6.12's kthread
 * mode), with one walk of the host's tasks, and only when one may have
 * appeared since the last walk; vspace_lock held. Each VM's rescan keeps
 * them from then on (vspace_collect()).
 */
static void vspace_vms_find_kthreads(void)
{
	unsigned long seq = vspace_vhost_kthreads_seq();
	struct vspace_kthread_found *f;
	struct vspace_found found;
	struct task_struct *task;
	struct vspace_thread *t;
	struct vspace_vm *vm;
	bool again = false;
	int n, i;

	lockdep_assert_held(&vspace_lock);
	if (list_empty(&vspace_vms) ||
	    (!vspace_kthreads_due && seq == vspace_kthreads_seen_seq))
		return;
	f = kmalloc_array(VSPACE_KTHREAD_BATCH, sizeof(*f), GFP_KERNEL);
	if (!f)
		return;

	hash_init(vspace_mm_hash);
	list_for_each_entry(vm, &vspace_vms, node) {
		task = vspace_vm_task(vm);
		vm->mm = task ? get_task_mm(task) : NULL;
		if (task)
			put_task_struct(task);
		if (vm->mm)
			hash_add(vspace_mm_hash, &vm->mm_node,
				 (unsigned long)vm->mm);
	}
	rcu_read_lock();
	n = vspace_kthreads_walk(f, &again);
	rcu_read_unlock();
	list_for_each_entry(vm, &vspace_vms, node) {
		if (vm->mm)
			mmput(vm->mm);
		vm->mm = NULL;
	}

	for (i = 0; i < n; i++) {
		found.pid = f[i].pid;
		found.kind = VSPACE_KIND_VHOST;
		t = vspace_thread_new(f[i].vm, &found);
		if (!t) {
			put_pid(f[i].pid);
			again = true;
			continue;
		}
		t->seen = true;
		if (vspace_thread_link(f[i].vm, t))
			again = true;
	}
	kfree(f);
	vspace_kthreads_seen_seq = seq;
	vspace_kthreads_due = again;
}

static int vspace_fd_is_kvm_vm(const void *unused, struct file *file,
			       unsigned int fd)
{
	/*
	 * KVM's VM file is an anonymous inode named "kvm-vm"
	 * (anon_inode_getfile()); any user can open a file of that name.
	 */
	return file_inode(file)->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	       !strcmp(file_dentry(file)->d_name.name, "kvm-vm");
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
	xa_init(&vm->tids);
	vm->pid = get_task_pid(task, PIDTYPE_TGID);
	vm->nr = task->tgid;
	vm->pol.weight = VSPACE_WEIGHT_DEFAULT;
	vm->home_node = NUMA_NO_NODE;

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

	/* Its index slot first, so that nothing can fail once it is visible. */
	ret = xa_reserve(&vspace_vm_index, vm->nr, GFP_KERNEL);
	if (ret)
		goto out_free;
	/*
	 * Not under vspace_lock: a failing directory creation waits for
	 * readers of the files it made, and they take vspace_lock. Nothing
	 * else adds or removes VMs meanwhile (vspace_vms_lock).
	 */
	mutex_unlock(&vspace_lock);
	ret = vspace_sysfs_vm_add(vm);
	mutex_lock(&vspace_lock);
	if (ret) {
		xa_release(&vspace_vm_index, vm->nr);
		/* The probes must forget its threads before it is freed. */
		vspace_vm_stop_stats(vm);
		vspace_sysfs_vm_put(vm);
		return ret;
	}
	xa_store(&vspace_vm_index, vm->nr, vm, GFP_KERNEL);
	list_add_tail(&vm->node, &vspace_vms);
	/* Its vhost kernel threads may all predate it. */
	vspace_kthreads_due = true;
	pr_info("managing VM %d (%s)\n", vm->nr, task->comm);
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
	if (!ret) {
		vspace_vms_find_kthreads();
		vspace_place_all();
	}
	mutex_unlock(&vspace_lock);
	/* Added by hand: discovery may take it again once removed again. */
	if (!ret)
		vspace_removed_forget(task->tgid);
	mutex_unlock(&vspace_vms_lock);
out:
	put_task_struct(task);
	return ret;
}

/*
 * Remember that the operator removed @vm: discovery must not take it
 * back. Without memory for that (ENOMEM) it would; nothing else is lost.
 */
static void vspace_removed_remember(struct vspace_vm *vm)
{
	struct pid *old;

	old = xa_store(&vspace_vm_removed, vm->nr, get_pid(vm->pid),
		       GFP_KERNEL);
	if (xa_is_err(old))
		put_pid(vm->pid);
	else
		put_pid(old);
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
	if (vm) {
		vspace_vm_unlink(vm);
		/* The policy decides again without it (a split may end). */
		vspace_worker_kick();
	}
	mutex_unlock(&vspace_lock);
	if (vm) {
		vspace_removed_remember(vm);
		pr_info("released VM %d\n", vm->nr);
		vspace_sysfs_vm_del(vm);
	}
	mutex_unlock(&vspace_vms_lock);
	return vm ? 0 : -ENOENT;
}

/*
 * The periodic part: every VM's threads as they are now, new ones found
 * and classified, and its vhost kernel threads; VMs that exited are
 * unlinked onto @gone, for vspace_vms_reap().
 */
void vspace_vms_rescan(struct list_head *gone)
{
	struct vspace_vm *vm, *tmp;
	struct task_struct *task;

	lockdep_assert_held(&vspace_vms_lock);
	lockdep_assert_held(&vspace_lock);
	list_for_each_entry_safe(vm, tmp, &vspace_vms, node) {
		task = vspace_vm_task(vm);
		if (!task) {
			vspace_vm_unlink(vm);
			list_add(&vm->node, gone);
			continue;
		}
		vspace_vm_sync(vm, task);
		put_task_struct(task);
	}
	vspace_vms_find_kthreads();
}

/*
 * The directories of the VMs on @gone, outside vspace_lock (kernfs waits
 * for their readers, which take it) and before vspace_vms_lock is dropped.
 */
void vspace_vms_reap(struct list_head *gone)
{
	struct vspace_vm *vm, *tmp;

	lockdep_assert_held(&vspace_vms_lock);
	list_for_each_entry_safe(vm, tmp, gone, node) {
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

/* Under RCU: whether process @p is a VM to add. */
static bool vspace_discover_wants(struct task_struct *p)
{
	return p && !(p->flags & PF_KTHREAD) && !vspace_vm_find(p->tgid) &&
	       !vspace_process_exiting(p) && !vspace_removed_by_hand(p) &&
	       vspace_shows_vcpu(p) && vspace_has_kvm_vm(p);
}

/*
 * Under RCU: the processes that hold a KVM VM, show a vCPU thread and are
 * not managed, at most VSPACE_DISCOVER_BATCH: first those that named a
 * vCPU thread lately, then from the sweep, which looks at
 * VSPACE_DISCOVER_SCAN tasks at most from vspace_discover_next on.
 */
static int vspace_discover_scan(struct pid **cand)
{
	pid_t named[VSPACE_NAMED_RING];
	struct task_struct *p;
	struct pid *pid;
	int n = 0, seen = 0, i, j, nr;

	nr = vspace_named_vcpus(&vspace_discover_named, named);
	for (i = 0; i < nr && n < VSPACE_DISCOVER_BATCH; i++) {
		/* A process names several vCPUs (or itself, often): once. */
		for (j = 0; j < i && named[j] != named[i]; j++)
			;
		if (j < i)
			continue;
		if (i && !(i % 8)) {
			rcu_read_unlock();
			cond_resched();
			rcu_read_lock();
		}
		pid = find_pid_ns(named[i], &init_pid_ns);
		p = pid ? pid_task(pid, PIDTYPE_TGID) : NULL;
		if (vspace_discover_wants(p))
			cand[n++] = get_pid(pid);
	}

	while (seen < VSPACE_DISCOVER_SCAN && n < VSPACE_DISCOVER_BATCH) {
		if (seen && !(seen % VSPACE_DISCOVER_RESCHED)) {
			rcu_read_unlock();
			cond_resched();
			rcu_read_lock();
		}
		pid = find_ge_pid(vspace_discover_next, &init_pid_ns);
		if (!pid) {
			/* The end of the pids: the next pass starts over. */
			vspace_discover_next = 0;
			break;
		}
		vspace_discover_next = pid_nr(pid) + 1;
		seen++;
		p = pid_task(pid, PIDTYPE_TGID);
		if (!p || p->flags & PF_KTHREAD || vspace_vm_find(p->tgid))
			continue;
		seen += get_nr_threads(p);
		if (vspace_discover_wants(p))
			cand[n++] = get_pid(pid);
	}
	return n;
}

/*
 * auto_discover: manage every process that holds a KVM VM and shows a vCPU
 * thread (by name, or by having run guest code). Only such processes go
 * into a batch, so processes that merely look like one (threads named
 * "CPU n/KVM", no KVM) cannot fill every batch and hide a real VM. Each
 * period looks at the next VSPACE_DISCOVER_SCAN tasks, so its cost does
 * not grow with the host; a whole sweep takes (host's tasks / 1024)
 * periods. Adding a VM drops vspace_lock while its directory is made.
 */
void vspace_vms_discover(void)
{
	struct pid *cand[VSPACE_DISCOVER_BATCH];
	struct task_struct *p;
	int n, i;

	lockdep_assert_held(&vspace_vms_lock);
	lockdep_assert_held(&vspace_lock);
	vspace_removed_prune();
	if (!READ_ONCE(vspace_config.auto_discover))
		return;

	rcu_read_lock();
	n = vspace_discover_scan(cand);
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
	struct pid *pid;
	unsigned long nr;
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
	xa_destroy(&vspace_vm_index);
	xa_for_each(&vspace_vm_removed, nr, pid)
		vspace_removed_forget(nr);
	xa_destroy(&vspace_vm_removed);
	mutex_unlock(&vspace_vms_lock);
}
