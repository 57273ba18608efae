// SPDX-License-Identifier: GPL-2.0
/*
 * Per-interval figures, made by the periodic work from the probe counters
 * of collect.c and from the CPUs' time accounting.
 *
 * A thread's counters only grow; each interval takes the difference from
 * the last one (@last, @hist_last) and adds it to the thread's, its VM's
 * and its group's figures. Percentiles come from the interval's log2 wait
 * histogram, so they are the middle of a power-of-two bucket: within 50%.
 * Group utilisation is the busy time of the group's CPUs, irq and softirq
 * included (kcpustat), over their capacity in the interval.
 *
 * Everything here runs under vspace_lock.
 */
#include <linux/kernel_stat.h>
#include <linux/pid.h>
#include <linux/sched/clock.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "vspace.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

struct vspace_stats vspace_stats;

static const char * const vspace_group_names[NR_VSPACE_GROUPS] = {
	[VSPACE_GROUP_VM] = "vm",
	[VSPACE_GROUP_IO] = "io",
};

/* Busy ns of each possible CPU at the last interval. */
static u64 *vspace_busy_last;
static u64 vspace_last_ns;

/* struct vspace_counts holds only u64 counters: walk it as an array. */
#define VSPACE_NR_COUNTS (sizeof(struct vspace_counts) / sizeof(u64))

static u64 *vspace_counts_u64(struct vspace_counts *c)
{
	BUILD_BUG_ON(sizeof(struct vspace_counts) % sizeof(u64));
	return (u64 *)c;
}

static void vspace_counts_add(struct vspace_counts *a,
			      struct vspace_counts *b)
{
	u64 *x = vspace_counts_u64(a), *y = vspace_counts_u64(b);
	unsigned int i;

	for (i = 0; i < VSPACE_NR_COUNTS; i++)
		x[i] += y[i];
}

/* Differences that can only grow; a racy read never makes one negative. */
static u64 vspace_delta(u64 now, u64 *last)
{
	u64 d = now > *last ? now - *last : 0;

	*last = max(now, *last);
	return d;
}

static void vspace_sample_add(struct vspace_sample *a,
			      struct vspace_sample *b)
{
	int i;

	vspace_counts_add(&a->c, &b->c);
	for (i = 0; i < VSPACE_HIST_BUCKETS; i++)
		a->hist[i] += b->hist[i];
	a->waits += b->waits;
}

static void vspace_sample_finish(struct vspace_sample *s)
{
	s->p50_ns = vspace_hist_percentile(s->hist, s->waits, 50);
	s->p99_ns = vspace_hist_percentile(s->hist, s->waits, 99);
}

/*
 * The counters now, including the run in progress. At a switch-out
 * run_start is cleared before runtime_ns grows (collect.c orders the two
 * stores): read runtime_ns, then run_start, again until runtime_ns did not
 * move in between. A reader that sees the grown runtime then sees the
 * cleared run_start, so a slice is never counted twice; at worst it is
 * missed for one read.
 */
static void vspace_tstat_read(const struct vspace_tstat *s,
			      struct vspace_counts *c)
{
	const u64 *from = (const u64 *)&s->c;
	u64 runtime, start, now, *to = vspace_counts_u64(c);
	unsigned int i;

	do {
		runtime = READ_ONCE(s->c.runtime_ns);
		smp_rmb();	/* pairs with the switch-out's smp_wmb() */
		start = READ_ONCE(s->run_start);
		now = local_clock();
		smp_rmb();	/* run_start before the second runtime_ns */
	} while (runtime != READ_ONCE(s->c.runtime_ns));

	/*
	 * Past its exit probe, which ended its run, a task's switches are
	 * not counted: a run still open is one begun as its entry was made
	 * (collect.c), never to end.
	 */
	if (start && READ_ONCE(s->dead))
		start = 0;
	for (i = 0; i < VSPACE_NR_COUNTS; i++)
		to[i] = READ_ONCE(from[i]);
	c->runtime_ns = runtime + (start && now > start ? now - start : 0);
}

/*
 * Whether @t did nothing since the last vspace_thread_fold(): off its CPU
 * and none of the counters below past what was taken then (counters only
 * grow; @last may be ahead by a run in progress read just before it
 * ended). The byte counters and the histogram move only with the packet
 * counters and wait_ns: they are not read. Racing a probe, this
 * may answer yes a moment early: what it did is taken at the next call,
 * as nothing is taken from @last before then.
 */
static bool vspace_thread_idle(const struct vspace_thread *t)
{
	const struct vspace_tstat *s = t->stat;

	BUILD_BUG_ON(VSPACE_NR_COUNTS != 9);	/* each one considered here */
	return !READ_ONCE(s->run_start) &&
	       READ_ONCE(s->c.runtime_ns) <= t->last.runtime_ns &&
	       READ_ONCE(s->c.wait_ns) <= t->last.wait_ns &&
	       READ_ONCE(s->c.preemptions) <= t->last.preemptions &&
	       READ_ONCE(s->c.migrations) <= t->last.migrations &&
	       READ_ONCE(s->c.wakeups) <= t->last.wakeups &&
	       READ_ONCE(s->c.tx_packets) <= t->last.tx_packets &&
	       READ_ONCE(s->c.rx_packets) <= t->last.rx_packets;
}

/*
 * Take what @t did since the last call into its and @vm's figures, and
 * into @t->sample. Returns false if it did nothing, and then only the
 * sample's waits are set (none: thread_stats' percentiles are of the last
 * interval).
 */
static bool vspace_thread_fold(struct vspace_vm *vm, struct vspace_thread *t)
{
	struct vspace_sample *s = &t->sample;
	struct vspace_counts now;
	bool moved = false;
	int i;

	vspace_tstat_read(t->stat, &now);
	for (i = 0; i < VSPACE_NR_COUNTS; i++) {
		u64 d = vspace_delta(vspace_counts_u64(&now)[i],
				     &vspace_counts_u64(&t->last)[i]);

		vspace_counts_u64(&s->c)[i] = d;
		moved |= d;
	}
	/* A wait goes into the histogram with wait_ns: no wait, no change. */
	if (!moved) {
		s->waits = 0;
		return false;
	}
	s->waits = 0;
	for (i = 0; i < VSPACE_HIST_BUCKETS; i++) {
		u32 h = READ_ONCE(t->stat->hist[i]);

		s->hist[i] = h - t->hist_last[i];
		t->hist_last[i] = h;
		s->waits += s->hist[i];
	}

	vspace_counts_add(&t->total, &s->c);
	vspace_counts_add(&vm->total, &s->c);
	if (t->kind == VSPACE_KIND_VHOST) {
		vm->io_ns += s->c.runtime_ns;
		/* Isolation acts on the I/O group: what runs there counts. */
		if (t->unplaced == VSPACE_PLACED)
			vm->io_sample_ns += s->c.runtime_ns;
	}
	return true;
}

void vspace_thread_stat_start(struct vspace_thread *t)
{
	struct task_struct *task;

	lockdep_assert_held(&vspace_lock);
	if (t->stat || t->kind == VSPACE_KIND_OTHER)
		return;
	task = get_pid_task(t->pid, PIDTYPE_PID);
	if (!task)
		return;
	t->stat = vspace_tstat_new(task, t->kind == VSPACE_KIND_VHOST);
	put_task_struct(task);
	if (t->stat)
		vspace_tstat_read(t->stat, &t->last);
}

/* Stop counting @t; what it did since the last interval still counts. */
void vspace_thread_stat_stop(struct vspace_vm *vm, struct vspace_thread *t)
{
	lockdep_assert_held(&vspace_lock);
	if (!t->stat)
		return;
	vspace_thread_fold(vm, t);
	vspace_tstat_put(t->stat);
	t->stat = NULL;
}

static u64 vspace_cpu_busy(int cpu)
{
	struct kernel_cpustat kcs;
	u64 *c = kcs.cpustat;

	/* Guest time is part of user time already. */
	kcpustat_cpu_fetch(&kcs, cpu);
	return c[CPUTIME_USER] + c[CPUTIME_NICE] + c[CPUTIME_SYSTEM] +
	       c[CPUTIME_IRQ] + c[CPUTIME_SOFTIRQ] + c[CPUTIME_STEAL];
}

static void vspace_groups_util(u64 interval)
{
	const struct cpumask *masks[NR_VSPACE_GROUPS] = {
		[VSPACE_GROUP_VM] = vspace_groups.vm,
		[VSPACE_GROUP_IO] = vspace_groups.io,
	};
	u64 busy[NR_VSPACE_GROUPS] = { 0 };
	int cpu, g;

	for_each_online_cpu(cpu) {
		u64 d = vspace_delta(vspace_cpu_busy(cpu), &vspace_busy_last[cpu]);

		for (g = 0; g < NR_VSPACE_GROUPS; g++)
			if (cpumask_test_cpu(cpu, masks[g]))
				busy[g] += d;
	}
	for (g = 0; g < NR_VSPACE_GROUPS; g++) {
		u64 cap = interval * cpumask_weight(masks[g]);

		vspace_stats.group[g].util_pct =
			cap ? min_t(u64, div64_u64(busy[g] * 100, cap), 100) : 0;
	}
}

/* Time since the last interval's figures were taken, ns; vspace_lock held. */
u64 vspace_stats_running_ns(void)
{
	lockdep_assert_held(&vspace_lock);
	return ktime_get_ns() - vspace_last_ns;
}

void vspace_stats_update(void)
{
	struct vspace_thread *t;
	struct vspace_vm *vm;
	u64 now = ktime_get_ns();
	int g;

	lockdep_assert_held(&vspace_lock);
	vspace_stats.interval_ns = now - vspace_last_ns;
	vspace_last_ns = now;
	for (g = 0; g < NR_VSPACE_GROUPS; g++)
		memset(&vspace_stats.group[g].sample, 0,
		       sizeof(vspace_stats.group[g].sample));

	list_for_each_entry(vm, &vspace_vms, node) {
		/* The VM's waits per group, for its SLO. */
		struct vspace_sample kind[NR_VSPACE_GROUPS];
		bool moved = false;

		vm->io_sample_ns = 0;
		list_for_each_entry(t, &vm->threads, node) {
			if (!t->stat) {
				/* Out of memory when it was found: try again. */
				vspace_thread_stat_start(t);
				continue;
			}
			/*
			 * Most managed threads of a big host sleep through
			 * most intervals: they cost a comparison, inline.
			 */
			if (vspace_thread_idle(t)) {
				t->sample.waits = 0;
				continue;
			}
			if (!vspace_thread_fold(vm, t))
				continue;
			/* Zeroed only for a VM of which a thread did something. */
			if (!moved) {
				memset(&vm->sample, 0, sizeof(vm->sample));
				memset(kind, 0, sizeof(kind));
				moved = true;
			}
			vspace_sample_add(&vm->sample, &t->sample);
			/*
			 * A thread left outside its group waits where no
			 * resize of the group can help: it does not drive
			 * the policy.
			 */
			if (t->unplaced != VSPACE_PLACED)
				continue;
			g = t->kind == VSPACE_KIND_VHOST ? VSPACE_GROUP_IO :
							   VSPACE_GROUP_VM;
			vspace_sample_add(&kind[g], &t->sample);
			vspace_sample_add(&vspace_stats.group[g].sample,
					  &t->sample);
		}
		if (moved) {
			vspace_sample_finish(&vm->sample);
			for (g = 0; g < NR_VSPACE_GROUPS; g++) {
				vspace_sample_finish(&kind[g]);
				vm->pol.p99_ns[g] = kind[g].p99_ns;
			}
			vm->sample_moved = true;
		} else if (vm->sample_moved) {
			/* Idle all interval: an empty sample, once. */
			memset(&vm->sample, 0, sizeof(vm->sample));
			memset(vm->pol.p99_ns, 0, sizeof(vm->pol.p99_ns));
			vm->sample_moved = false;
		}
		trace_vm_sample(vm->nr, vm->sample.c.runtime_ns,
				vm->io_sample_ns, vm->sample.c.wait_ns,
				vm->sample.p99_ns, vm->sample.c.preemptions,
				vm->sample.c.migrations);
	}
	for (g = 0; g < NR_VSPACE_GROUPS; g++)
		vspace_sample_finish(&vspace_stats.group[g].sample);
	vspace_groups_util(vspace_stats.interval_ns);
	for (g = 0; g < NR_VSPACE_GROUPS; g++) {
		const struct vspace_group_stats *gs = &vspace_stats.group[g];

		trace_sample(g, cpumask_weight(g == VSPACE_GROUP_IO ?
					       vspace_groups.io :
					       vspace_groups.vm),
			     gs->util_pct, gs->sample.p99_ns,
			     gs->sample.c.preemptions, gs->sample.c.migrations,
			     vspace_stats.interval_ns);
	}
}

/* The cost of one period's work; vspace_lock held. */
void vspace_stats_work(const struct vspace_work_ns *ns, int cpu)
{
	u64 work_ns = ns->stage[VSPACE_STAGE_ALL];
	struct vspace_thread *t;
	struct vspace_vm *vm;
	unsigned int vms = 0, threads = 0;

	lockdep_assert_held(&vspace_lock);
	vspace_stats.work_ns = work_ns;
	vspace_stats.work_max_ns = max(vspace_stats.work_max_ns, work_ns);
	if (!trace_work_enabled())
		return;
	list_for_each_entry(vm, &vspace_vms, node) {
		vms++;
		list_for_each_entry(t, &vm->threads, node)
			threads += t->kind != VSPACE_KIND_OTHER;
	}
	trace_work(ns, vms, threads, cpu);
}

/* @d per second over the last interval. */
static u64 vspace_per_s(u64 d)
{
	return vspace_stats.interval_ns ?
	       div64_u64(d * NSEC_PER_SEC, vspace_stats.interval_ns) : 0;
}

ssize_t vspace_stats_show(char *buf)
{
	int len = 0, g;

	mutex_lock(&vspace_lock);
	len += sysfs_emit_at(buf, len, "interval_ns %llu\nwork_ns %llu\nwork_max_ns %llu\n",
			     vspace_stats.interval_ns, vspace_stats.work_ns,
			     vspace_stats.work_max_ns);
	for (g = 0; g < NR_VSPACE_GROUPS; g++) {
		const struct vspace_group_stats *gs = &vspace_stats.group[g];
		const char *n = vspace_group_names[g];

		len += sysfs_emit_at(buf, len,
				     "%s_util_pct %u\n%s_p50_wait_ns %llu\n%s_p99_wait_ns %llu\n%s_preemptions_per_s %llu\n%s_migrations_per_s %llu\n%s_wakeups_per_s %llu\n%s_packets_per_s %llu\n",
				     n, gs->util_pct, n, gs->sample.p50_ns,
				     n, gs->sample.p99_ns,
				     n, vspace_per_s(gs->sample.c.preemptions),
				     n, vspace_per_s(gs->sample.c.migrations),
				     n, vspace_per_s(gs->sample.c.wakeups),
				     n, vspace_per_s(gs->sample.c.tx_packets +
						     gs->sample.c.rx_packets));
		len += sysfs_emit_at(buf, len, "%s_demand_mcpu %llu\n", n,
				     vspace_policy.demand[g]);
	}
	mutex_unlock(&vspace_lock);
	return len;
}

ssize_t vspace_vm_stats_show(struct vspace_vm *vm, char *buf)
{
	struct vspace_thread *t;
	unsigned int unplaced = 0;
	ssize_t len;

	mutex_lock(&vspace_lock);
	if (vm->dead) {
		mutex_unlock(&vspace_lock);
		return -ENODEV;
	}
	list_for_each_entry(t, &vm->threads, node)
		unplaced += t->unplaced != VSPACE_PLACED;
	len = sysfs_emit(buf,
			 "runtime_ns %llu\nwait_ns %llu\npreemptions %llu\nmigrations %llu\nwakeups %llu\nio_cpu_ns %llu\np50_wait_ns %llu\np99_wait_ns %llu\ntx_packets %llu\ntx_bytes %llu\nrx_packets %llu\nrx_bytes %llu\n",
			 vm->total.runtime_ns, vm->total.wait_ns,
			 vm->total.preemptions, vm->total.migrations,
			 vm->total.wakeups, vm->io_ns, vm->sample.p50_ns,
			 vm->sample.p99_ns, vm->total.tx_packets,
			 vm->total.tx_bytes, vm->total.rx_packets,
			 vm->total.rx_bytes);
	len += sysfs_emit_at(buf, len,
			     "vcpu_p99_wait_ns %llu\nvhost_p99_wait_ns %llu\nio_cpu_ns_last %llu\nslo_missed %d\nconfined %d\nunplaced %u\nhome_node %d\n",
			     vm->pol.p99_ns[VSPACE_PG_VM],
			     vm->pol.p99_ns[VSPACE_PG_IO], vm->io_sample_ns,
			     vm->pol.slo_missed, vm->pol.confined, unplaced,
			     vm->home_node);
	mutex_unlock(&vspace_lock);
	return len;
}

/*
 * One line per counted thread: totals up to this moment (not the last
 * interval), so they can be compared with /proc at any time.
 */
int vspace_vm_thread_stats_render(struct vspace_vm *vm, struct vspace_text *text)
{
	static const char * const cols[] = {
		"tid", "kind", "runtime_ns", "wait_ns", "preemptions",
		"migrations", "wakeups", "p50_wait_ns", "p99_wait_ns",
		"tx_packets", "tx_bytes", "rx_packets", "rx_bytes",
	};
	struct vspace_thread *t;
	unsigned int i;

	lockdep_assert_held(&vspace_lock);
	vspace_text_printf(text, "#");
	for (i = 0; i < ARRAY_SIZE(cols); i++)
		vspace_text_printf(text, " %s", cols[i]);
	vspace_text_printf(text, "\n");
	list_for_each_entry(t, &vm->threads, node) {
		struct vspace_counts now, c = t->total;
		u64 *n = vspace_counts_u64(&now), *l = vspace_counts_u64(&t->last);

		if (!t->stat)
			continue;
		/* The total, plus what happened since the last interval. */
		vspace_tstat_read(t->stat, &now);
		for (i = 0; i < VSPACE_NR_COUNTS; i++)
			vspace_counts_u64(&c)[i] += n[i] - min(n[i], l[i]);
		vspace_text_printf(text,
				   "%d %s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu\n",
				   t->tid, vspace_kind_names[t->kind],
				   c.runtime_ns, c.wait_ns, c.preemptions,
				   c.migrations, c.wakeups,
				   vspace_hist_percentile(t->sample.hist,
							  t->sample.waits, 50),
				   vspace_hist_percentile(t->sample.hist,
							  t->sample.waits, 99),
				   c.tx_packets, c.tx_bytes,
				   c.rx_packets, c.rx_bytes);
	}
	return 0;
}

int vspace_stats_init(void)
{
	vspace_busy_last = kcalloc(nr_cpu_ids, sizeof(*vspace_busy_last),
				   GFP_KERNEL);
	if (!vspace_busy_last)
		return -ENOMEM;
	vspace_last_ns = ktime_get_ns();
	return 0;
}

void vspace_stats_uninit(void)
{
	kfree(vspace_busy_last);
}
