/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VSPACE_H
#define _VSPACE_H

#include <linux/cpumask.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/xarray.h>
#include <uapi/vspace.h>

#include "policy.h"

#define VSPACE_VERSION "0.1.0"

enum vspace_kind {
	VSPACE_KIND_VCPU,
	VSPACE_KIND_VHOST,
	VSPACE_KIND_OTHER,
	NR_VSPACE_KINDS
};

/**
 * struct vspace_config - the operator's settings
 * @enabled:       whether vspace binds threads at all.
 * @mode:          policy mode, enum vspace_mode.
 * @interval_ms:   period of the periodic work.
 * @io_cpus_min:   lower bound of the I/O group's size.
 * @io_cpus_max:   upper bound of the I/O group's size.
 * @auto_discover: manage every KVM VM found, without vms/add.
 * @isolation:     weighted I/O isolation between VMs (policy.c).
 * @smt_split:     a core's SMT siblings may go to different groups.
 * @io_node:       the NUMA node the I/O group fills first; -1: the last
 *                 node with usable CPUs (layout.c).
 * @cpus:          the CPUs vspace may manage; a non-empty subset of the
 *                 CPUs that were online when it was written.
 *
 * Locking: written only with vspace_lock held. Scalars may be read without
 * it through READ_ONCE(); @cpus is read with vspace_lock held.
 */
struct vspace_config {
	bool enabled;
	unsigned int mode;
	unsigned int interval_ms;
	unsigned int io_cpus_min;
	unsigned int io_cpus_max;
	bool auto_discover;
	bool isolation;
	bool smt_split;
	int io_node;
	cpumask_var_t cpus;
};

/**
 * struct vspace_groups - where managed threads go; under vspace_lock
 * @io:  the I/O group: vhost workers. Sits at the high end of the usable
 *       CPUs so that resizing moves its edge only. Empty when the usable
 *       CPUs leave no room, and vhost workers then share @vm.
 * @vm:  the VM group: vCPU threads. The low end of the usable CPUs.
 * @free: usable CPUs in neither group (energy and resource mode): no
 *       managed thread runs there.
 * @io_confined: while VMs are confined (weighted I/O isolation), the top
 *       CPUs of @io, where their vhost workers go; empty otherwise.
 * @io_open: @io without @io_confined: the other VMs' vhost workers.
 * @boost: VMs are confined and @io is too small to split: the other VMs'
 *       workers are raised instead.
 *
 * Their sizes are the policy's (alloc.c); placement.c lays them out.
 */
struct vspace_groups {
	cpumask_var_t io;
	cpumask_var_t vm;
	cpumask_var_t free;
	cpumask_var_t io_confined;
	cpumask_var_t io_open;
	bool boost;
};

/* Run-queue wait histogram: bucket i counts waits of 2^i to 2^(i+1) ns. */
#define VSPACE_HIST_BUCKETS	32

/**
 * struct vspace_counts - counters of a thread, a VM or a group, once: what
 * the probes count, and sums of differences of it
 * @runtime_ns:  time on a CPU.
 * @wait_ns:     time runnable but waiting for a CPU.
 * @preemptions: involuntary switches (preempted, or yielded still runnable).
 * @migrations:  moves to another CPU.
 * @wakeups:     times woken.
 * @tx_packets:  frames from the guest to the host (tap), and their bytes
 * @tx_bytes:    (as the tap counts them: without the virtio-net header).
 * @rx_packets:  frames from the host (tap) to the guest, and their bytes.
 * @rx_bytes:
 *
 * Only u64 counters: code walks it as an array.
 */
struct vspace_counts {
	u64 runtime_ns;
	u64 wait_ns;
	u64 preemptions;
	u64 migrations;
	u64 wakeups;
	u64 tx_packets;
	u64 tx_bytes;
	u64 rx_packets;
	u64 rx_bytes;
};

/**
 * struct vspace_tstat - what the scheduler probes count for one thread
 * @hnode:       in collect.c's hash table, keyed by @task: one node per
 *               generation of the table, so it can be in an old and a new
 *               one while the table is resized.
 * @task:        the key; compared, dereferenced only in probes that were
 *               handed this task by the scheduler.
 * @dead:        the task exited (sched_process_exit); probes ignore it.
 * @vhost:       a vhost worker: its packets are counted.
 * @run_start:   when it last went on a CPU, 0 while off.
 * @wait_start:  when it last became runnable, 0 while not waiting.
 * @c:           its counters.
 * @hist:        wait times, log2 buckets.
 * @rcu:         freeing after the probes are done with it.
 *
 * Written only by the probes (see collect.c for why each field has one
 * writer at a time); read by the periodic work with READ_ONCE().
 * Counters only grow: readers take differences.
 */
struct vspace_tstat {
	struct hlist_node hnode[2];
	struct task_struct *task;
	bool dead;
	bool vhost;
	u64 run_start;
	u64 wait_start;
	struct vspace_counts c;
	u32 hist[VSPACE_HIST_BUCKETS];
	struct rcu_head rcu;
};

/* Per interval: the counts and the wait histogram; percentiles in ns. */
struct vspace_sample {
	struct vspace_counts c;
	u32 hist[VSPACE_HIST_BUCKETS];
	u64 waits;
	u64 p50_ns;
	u64 p99_ns;
};

/*
 * What says a mask was set from outside even when it came out the same
 * as vspace's: the task's cpuset (its serial number: a cgroup move), and
 * from 6.2 the mask sched_setaffinity() records (a new one at every
 * call; compared only, never dereferenced).
 */
struct vspace_origin {
	u64 css;
	const void *user;
	u32 user_hash;
};

/* Why a managed thread is not on its group's CPUs (vms/<pid>/threads). */
enum vspace_unplaced {
	VSPACE_PLACED,
	VSPACE_UNPLACED_OUTSIDE,	/* its allowed CPUs miss its group */
	VSPACE_UNPLACED_NOGROUP,	/* its group has no usable CPU */
	VSPACE_UNPLACED_REFUSED,	/* the kernel refused the mask */
	NR_VSPACE_UNPLACED
};

/**
 * struct vspace_thread - one thread of a managed VM
 * @node:     in &vspace_vm.threads.
 * @pid:      reference to the thread's pid; never a bare task pointer, so
 *            an exited thread is simply not found.
 * @tid:      its number, for display.
 * @kind:     enum vspace_kind.
 * @kthread:  a vhost kernel thread (not in the VM's thread group).
 * @bound:    vspace set its affinity (@applied), and @allowed is what it
 *            gives back.
 * @narrowed: the kernel gave it less than vspace asked (a mask set through
 *            sched_setaffinity() is ANDed in on 6.2+); @asked is how many
 *            CPUs vspace asked for, so a wider target asks again.
 * @boosted:  vspace raised its priority (weighted I/O isolation: other
 *            VMs are confined); @orig_nice is the nice level to give back.
 * @seen:     scratch flag of the periodic rescan.
 * @rewritten: scratch flag: the kernel just rewrote its mask in its
 *            cpuset (see vspace_vm_infer_rewrites()).
 * @unplaced: enum vspace_unplaced: why it is not bound to its group.
 * @orig_nice:
 * @asked:
 * @drifts:   times something else changed its affinity while bound.
 * @bound_at: when vspace last bound it from unbound (ktime ns).
 * @allowed:  the CPUs the kernel and the operator last allowed it: its
 *            mask when first seen, or as changed since from outside (cpuset,
 *            taskset, hotplug fallback). vspace never binds it outside them
 *            and gives them back, whole, on release.
 * @applied:  the affinity the kernel gave it when vspace last bound it.
 * @origin:   and where it came from then.
 * @stat:     its probe counters (vCPU and vhost threads only), or NULL.
 * @last:     @stat's counters at the last interval.
 * @hist_last: @stat's histogram at the last interval.
 * @total:    counts since vspace found it.
 * @sample:   the last interval.
 *
 * Locking: all fields under vspace_lock (@stat's counters excepted).
 */
struct vspace_thread {
	struct list_head node;
	struct pid *pid;
	pid_t tid;
	u8 kind;
	bool kthread;
	bool bound;
	bool narrowed;
	bool boosted;
	bool seen;
	bool rewritten;
	u8 unplaced;
	int orig_nice;
	unsigned int asked;
	unsigned int drifts;
	u64 bound_at;
	cpumask_var_t allowed;
	cpumask_var_t applied;
	struct vspace_origin origin;
	struct vspace_tstat *stat;
	struct vspace_counts last;
	u32 hist_last[VSPACE_HIST_BUCKETS];
	struct vspace_counts total;
	struct vspace_sample sample;
};

/*
 * A file longer than a page is read a page per read(): its text is made
 * once, at offset 0, for the open file that reads it, and served from
 * here until that file reaches its end, so a reader never gets pages of
 * two different moments. A few open files may read at once, each with its
 * own text; the least recently read gives its place to another. Under
 * vspace_lock.
 */
enum vspace_snap_id {
	VSPACE_SNAP_THREADS,
	VSPACE_SNAP_THREAD_STATS,
	NR_VSPACE_SNAPS
};

#define VSPACE_SNAP_READERS	8

struct vspace_snap {
	const struct file *file;
	char *buf;
	size_t len;
	unsigned long read_at;
};

struct vspace_snaps {
	struct vspace_snap slot[VSPACE_SNAP_READERS];
	unsigned long reads;
};

/**
 * struct vspace_vm - a managed VM: one QEMU process
 * @node:    in vspace_vms.
 * @kobj:    its directory, /sys/kernel/vspace/vms/<pid>; its release frees
 *           the VM.
 * @pid:     reference to the QEMU process's pid.
 * @nr:      its number.
 * @threads: list of &struct vspace_thread.
 * @tids:    the same, indexed by thread number (global pid).
 * @mm:      its address space while vhost kernel threads are looked for
 *           (compared only), and @mm_node hashes it then.
 * @drifts:  sum of its threads' drifts, including forgotten threads.
 * @total:   counts of its vCPU and vhost threads since added, including
 *           threads that exited.
 * @io_ns:   of which its vhost workers' CPU time: the I/O CPU it consumed.
 * @io_sample_ns: the same, in the last interval.
 * @sample:  the last interval, over its vCPU and vhost threads.
 * @sample_moved: @sample is not empty (a thread did something in it).
 * @pol:     the policy's view: SLO, weight, per-group p99, confinement.
 * @latency_at: when latency_us was last written (ktime ns), 0 never.
 * @home_node: the node its vCPU threads are kept on while the VM group
 *             spans nodes, or NUMA_NO_NODE (placement.c).
 * @placed:  every thread is where the last placement pass left it, with
 *           nothing changed since (placement.c: the pass may skip it);
 *           @placed_confined and @placed_home as that pass saw them.
 * @placed_confined:
 * @placed_home:
 * @dead:    unlinked from vspace_vms; sysfs readers must not use it.
 * @snap:    the last text of its files longer than a page, per file.
 *
 * VMs are added and removed, with their directories, under
 * vspace_vms_lock, taken before vspace_lock: so a VM's directory is gone
 * before another VM of the same pid can be added.
 *
 * Locking: all fields but @kobj under vspace_lock. The directory is removed
 * outside vspace_lock (kernfs waits for readers, which take the lock).
 */
struct vspace_vm {
	struct list_head node;
	struct kobject kobj;
	struct pid *pid;
	pid_t nr;
	struct list_head threads;
	struct xarray tids;
	struct mm_struct *mm;
	struct hlist_node mm_node;
	unsigned long drifts;
	struct vspace_counts total;
	u64 io_ns;
	u64 io_sample_ns;
	struct vspace_sample sample;
	bool sample_moved;
	struct vspace_policy_vm pol;
	u64 latency_at;
	int home_node;
	int placed_home;
	bool placed_confined;
	bool placed;
	bool dead;
	struct vspace_snaps snap[NR_VSPACE_SNAPS];
};

/* The same numbering as policy.h's, so the two index the same arrays. */
enum vspace_group_id {
	VSPACE_GROUP_VM = VSPACE_PG_VM,
	VSPACE_GROUP_IO = VSPACE_PG_IO,
	NR_VSPACE_GROUPS = VSPACE_NR_PG
};

/**
 * struct vspace_group_stats - one group over the last interval
 * @sample:   its managed threads (vCPU for vm, vhost for io).
 * @util_pct: busy time of its CPUs, irq and softirq included, in percent
 *            of their capacity.
 */
struct vspace_group_stats {
	struct vspace_sample sample;
	unsigned int util_pct;
};

/**
 * struct vspace_stats - the last interval; under vspace_lock
 * @interval_ns: its real length.
 * @work_ns:     what the last period's work took (wall time, in the work).
 * @work_max_ns: the most any period's work took since vspace was loaded.
 * @group:       per group.
 */
struct vspace_stats {
	u64 interval_ns;
	u64 work_ns;
	u64 work_max_ns;
	struct vspace_group_stats group[NR_VSPACE_GROUPS];
};

/* The stages of a period (worker.c), and the whole of it. */
enum vspace_stage {
	VSPACE_STAGE_FIND,
	VSPACE_STAGE_COLLECT,
	VSPACE_STAGE_DECIDE,
	VSPACE_STAGE_ACT,
	VSPACE_STAGE_ALL,
	NR_VSPACE_STAGES
};

/* What each stage of a period took (wall time), for the vspace:work event. */
struct vspace_work_ns {
	u64 stage[NR_VSPACE_STAGES];
};

extern struct vspace_config vspace_config;
extern struct vspace_groups vspace_groups;
extern struct list_head vspace_vms;
extern struct vspace_stats vspace_stats;
extern struct vspace_policy vspace_policy;

/* Nice levels the vhost workers of unconfined VMs gain while any is. */
#define VSPACE_BOOST_NICE	10
extern struct mutex vspace_lock;
extern struct mutex vspace_vms_lock;
extern bool vspace_stopping;

/* QEMU's name for a vCPU thread (debug-threads=on): "CPU n/KVM". */
static inline bool vspace_comm_is_vcpu(const char *comm)
{
	size_t len = strnlen(comm, TASK_COMM_LEN);

	return !strncmp(comm, "CPU ", 4) && len > 8 &&
	       !strcmp(comm + len - 4, "/KVM");
}

extern const char * const vspace_mode_names[NR_VSPACE_MODES];
extern const char * const vspace_kind_names[NR_VSPACE_KINDS];
extern const char * const vspace_unplaced_names[NR_VSPACE_UNPLACED];

/*
 * Text of a size not known in advance (files longer than a page): written
 * with vspace_text_printf(), which counts what did not fit in @len, so the
 * writer can try again with a larger buffer.
 */
struct vspace_text {
	char *buf;
	size_t size;
	size_t len;
};

__printf(2, 3) void vspace_text_printf(struct vspace_text *t,
				       const char *fmt, ...);
ssize_t vspace_snaps_read(struct vspace_snaps *ss, const struct file *file,
			  char *buf, loff_t off, size_t count,
			  int (*take)(struct vspace_snap *s, void *arg),
			  void *arg);
void vspace_snaps_drop(struct vspace_snaps *ss);
ssize_t vspace_text_read(struct vspace_vm *vm, enum vspace_snap_id id,
			 const struct file *file, char *buf, loff_t off,
			 size_t count);

/* core.c: the settings, validated here so every interface shares the rules. */
int vspace_core_init(void);
void vspace_core_uninit(void);
int vspace_set_enabled(bool enabled);
int vspace_set_mode(unsigned int mode);
int vspace_set_interval_ms(unsigned int ms);
int vspace_set_cpus(const struct cpumask *cpus);
int vspace_set_io_bound(bool is_max, unsigned int val);
int vspace_set_auto_discover(bool on);
int vspace_set_isolation(bool on);
int vspace_set_smt_split(bool on);
int vspace_set_io_node(int node);
int vspace_vm_set_slo(struct vspace_vm *vm, u32 us);
int vspace_vm_set_weight(struct vspace_vm *vm, u32 weight);
int vspace_vm_set_latency(struct vspace_vm *vm, u32 us);

/* vm.c: the managed VMs and their threads. */
int vspace_vm_add(pid_t nr);
int vspace_vm_remove(pid_t nr);
void vspace_vms_rescan(struct list_head *gone);
void vspace_vms_reap(struct list_head *gone);
void vspace_vms_discover(void);
void vspace_vms_uninit(void);
void vspace_vm_release(struct vspace_vm *vm);
int vspace_vm_threads_render(struct vspace_vm *vm, struct vspace_text *t);

/* placement.c: the groups, and binding threads to them. */
int vspace_placement_init(void);
void vspace_cpu_going_down(unsigned int cpu);
void vspace_cpus_down_turn(void);
void vspace_placement_uninit(void);
unsigned int vspace_usable_cpus(void);
void vspace_groups_layout(unsigned int vm, unsigned int io,
			  unsigned int confined, bool confine);
void vspace_place_all(void);
void vspace_place_rescanned(void);
void vspace_restore_all(void);
void vspace_thread_first_sight(struct vspace_vm *vm, struct vspace_thread *t,
			       struct task_struct *task);
void vspace_thread_restore(struct vspace_vm *vm, struct vspace_thread *t);
bool vspace_thread_look(struct vspace_vm *vm, struct vspace_thread *t,
			struct task_struct *task);
void vspace_vm_infer_rewrites(struct vspace_vm *vm);
void vspace_vm_sync_masks(struct vspace_vm *vm);
void vspace_task_mask(struct task_struct *task, struct cpumask *mask);

/* collect.c: scheduler tracepoints. */
int vspace_collect_init(void);
void vspace_collect_uninit(void);
struct vspace_tstat *vspace_tstat_new(struct task_struct *task, bool vhost);
unsigned long vspace_vhost_kthreads_seq(void);
void vspace_collect_tune(void);
/* Processes that named a vCPU thread lately: at most this many per call. */
#define VSPACE_NAMED_RING	64
unsigned int vspace_named_vcpus(unsigned int *seen, pid_t *tgids);
void vspace_tstat_put(struct vspace_tstat *s);
u64 vspace_hist_percentile(const u32 *hist, u64 n, unsigned int pct);

/* stats.c: per-interval figures of threads, VMs and groups. */
int vspace_stats_init(void);
void vspace_stats_uninit(void);
void vspace_stats_update(void);
u64 vspace_stats_running_ns(void);
void vspace_stats_work(const struct vspace_work_ns *ns, int cpu);
void vspace_thread_stat_start(struct vspace_thread *t);
void vspace_thread_stat_stop(struct vspace_vm *vm, struct vspace_thread *t);
ssize_t vspace_vm_stats_show(struct vspace_vm *vm, char *buf);
int vspace_vm_thread_stats_render(struct vspace_vm *vm, struct vspace_text *t);
ssize_t vspace_stats_show(char *buf);

/*
 * alloc.c: the policy's state; run it each interval, hand its sizes to
 * placement, record its decisions.
 */
void vspace_alloc_init(void);
void vspace_alloc_uninit(void);
void vspace_alloc_fit(void);
void vspace_alloc_between(void);
void vspace_alloc_step(void);
ssize_t vspace_decisions_read(const struct file *file, char *buf, loff_t off,
			      size_t count);

/* worker.c: the periodic work, and CPU hotplug. */
int vspace_worker_init(void);
void vspace_worker_uninit(void);
void vspace_worker_kick(void);

/* sysfs.c: /sys/kernel/vspace */
int vspace_sysfs_init(void);
void vspace_sysfs_uninit(void);
int vspace_sysfs_vm_add(struct vspace_vm *vm);
void vspace_sysfs_vm_put(struct vspace_vm *vm);
void vspace_sysfs_vm_del(struct vspace_vm *vm);

#endif /* _VSPACE_H */
