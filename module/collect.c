// SPDX-License-Identifier: GPL-2.0
/*
 * Collection: what managed threads do, from scheduler tracepoints.
 *
 * Every managed thread has a struct vspace_tstat, found from a task pointer
 * through an RCU hash table sized to the managed threads (about four
 * buckets per entry), so a lookup costs the same with 10 or 10,000 of them. The
 * probes run with preemption disabled, take no lock and allocate nothing;
 * for a task vspace does not manage they cost one hash lookup. They are
 * attached only while some thread is managed, so an idle vspace costs
 * nothing.
 *
 * The table is resized by the side that adds and removes entries (under
 * vspace_lock), never by a probe: each entry has two chain nodes, the new
 * table is chained through the node the old one does not use, and is
 * published whole. Probes still in the old table walk its chains, which
 * nothing touches until a grace period later, when the next resize may
 * reuse those nodes. (An rhltable did the same with twice the cost per
 * lookup: a jhash and the RCU read lock its lockdep checks want.)
 *
 * A context switch is the hottest path: sched_switch looks up prev only if
 * the thread switched in last on this CPU (which is prev) was managed, a
 * per-CPU hint written only by this CPU's own sched_switch. A thread that
 * becomes managed while it runs is counted from its next switch-in; until
 * then its hint may be clear, which only leaves that slice uncounted.
 *
 * Each counter has one writer at a time, which the scheduler's own locking
 * guarantees, so plain stores suffice and readers use READ_ONCE():
 *  - switch fields (runtime, preemptions, wait end, histogram): a task is
 *    switched in or out under its runqueue's lock, on one CPU at a time,
 *    and its exit probe, which ends its last run, runs as current;
 *  - wait start and wakeups: sched_wakeup fires under the task's runqueue
 *    lock too, so it is serialised with switching;
 *  - migrations: set_task_cpu() runs for one task at a time.
 *
 *  - packets: a vhost worker counts its own, in its own context (vhost
 *    runs tun's sendmsg and recvmsg in the worker thread).
 *
 * Packets: guest->host frames enter the host through netif_receive_skb()
 * on the tap (net:netif_receive_skb_entry), host->guest frames are copied
 * out of the tap into the guest's buffers (skb:skb_copy_datagram_iovec);
 * both run in the vhost worker. Those tracepoints fire for every skb on the
 * host, and an skb's fields are not always what their names say (a UDP
 * socket keeps dev_scratch where dev is). So a net probe first proves that
 * current is a managed vhost worker in its own process context, by its own
 * lookup, and only then reads the skb. The hint only saves that lookup on
 * CPUs that did not last switch to a vhost worker.
 *
 * A task's memory outlives sched_process_exit by an RCU grace period; the
 * exit probe marks its entry dead first, so a new task at the same address
 * is never counted, and an entry made for a task already past that probe
 * is marked dead when it is made. The periodic work unhashes dead and
 * released entries and frees them after a grace period.
 */
#include <linux/hash.h>
#include <linux/if_vlan.h>
#include <linux/log2.h>
#include <linux/netdevice.h>
#include <net/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/tracepoint.h>
#include <trace/events/net.h>
#include <trace/events/sched.h>
#include <trace/events/skb.h>
#include <trace/events/task.h>

#include "vspace.h"

/**
 * struct vspace_ttable - the probes' hash table
 * @bits: log2 of its buckets.
 * @gen:  which of an entry's two nodes (&vspace_tstat.hnode) chains it here.
 * @rcu:  freeing after the probes are done with it.
 * @buckets: chains of entries, by hash_ptr() of the task.
 *
 * A task that exited may still have its dead entry when a new task at the
 * same address gets one: lookups skip dead entries.
 */
struct vspace_ttable {
	unsigned int bits;
	unsigned int gen;
	struct rcu_head rcu;
	struct hlist_head buckets[];
};

#define VSPACE_TTABLE_MIN_BITS	6
#define VSPACE_TTABLE_MAX_BITS	20

/* Written under vspace_lock; never NULL while vspace is loaded. */
static struct vspace_ttable __rcu *vspace_ttable;
/* When the table before it is no longer read (an RCU cookie). */
static unsigned long vspace_ttable_gp;

/* What may be running on this CPU (a hint: see above). */
#define VSPACE_RUNNING_MANAGED	BIT(0)
#define VSPACE_RUNNING_VHOST	BIT(1)
static DEFINE_PER_CPU(u8, vspace_running);

static u8 vspace_running_hint(const struct vspace_tstat *s)
{
	return !s ? 0 : VSPACE_RUNNING_MANAGED |
			(s->vhost ? VSPACE_RUNNING_VHOST : 0);
}

/* Entries in vspace_ttable, under vspace_lock; the probes are on while > 0. */
static unsigned int vspace_nr_tstats;
static bool vspace_probes_on;

/*
 * The live entry for @p, or NULL; in a probe (preemption disabled). Inline:
 * a call and its return thunk would cost as much as the lookup.
 */
static __always_inline struct vspace_tstat *
vspace_tstat_find(struct task_struct *p)
{
	struct vspace_ttable *tbl = rcu_dereference_raw(vspace_ttable);
	struct hlist_head *b = &tbl->buckets[hash_ptr(p, tbl->bits)];
	struct hlist_node *n;
	struct vspace_tstat *s;

	for (n = rcu_dereference_raw(hlist_first_rcu(b)); n;
	     n = rcu_dereference_raw(hlist_next_rcu(n))) {
		/* n is hnode[tbl->gen] of its entry. */
		s = container_of(n - tbl->gen, struct vspace_tstat, hnode[0]);
		if (s->task == p && !READ_ONCE(s->dead))
			return s;
	}
	return NULL;
}

/*
 * A switch in or out of a managed thread, or one that clears the hint;
 * @runnable: @sp's thread leaves its CPU still runnable. Kept out of line
 * so that the probe's common path, no managed thread involved, is short.
 */
static noinline void vspace_account_switch(struct vspace_tstat *sp,
					   struct vspace_tstat *sn,
					   bool runnable)
{
	u64 now, start, d;
	int b;

	if (!sp && !sn) {
		this_cpu_write(vspace_running, 0);
		return;
	}
	/* The clock is read only when a managed thread is involved. */
	now = local_clock();
	if (sp) {
		start = sp->run_start;
		/*
		 * The periodic work adds a run in progress from run_start:
		 * it must see it end before it sees the runtime that holds
		 * it, or it would count the slice twice (stats.c).
		 */
		WRITE_ONCE(sp->run_start, 0);
		smp_wmb();	/* pairs with vspace_tstat_read()'s smp_rmb() */
		if (start)
			WRITE_ONCE(sp->c.runtime_ns, sp->c.runtime_ns + now - start);
		/* Counted as the kernel counts nivcsw: still runnable. */
		if (runnable) {
			WRITE_ONCE(sp->c.preemptions, sp->c.preemptions + 1);
			WRITE_ONCE(sp->wait_start, now);
		} else {
			WRITE_ONCE(sp->wait_start, 0);
		}
	}

	if (sn) {
		start = READ_ONCE(sn->wait_start);
		if (start && now > start) {
			d = now - start;
			b = min_t(int, ilog2(d), VSPACE_HIST_BUCKETS - 1);
			WRITE_ONCE(sn->c.wait_ns, sn->c.wait_ns + d);
			WRITE_ONCE(sn->hist[b], sn->hist[b] + 1);
		}
		WRITE_ONCE(sn->wait_start, 0);
		WRITE_ONCE(sn->run_start, now);
	}
	this_cpu_write(vspace_running, vspace_running_hint(sn));
}

static void vspace_probe_switch(void *data, VSPACE_SWITCH_PROTO)
{
	struct vspace_tstat *sp = NULL, *sn = vspace_tstat_find(next);

	if (unlikely(this_cpu_read(vspace_running)))
		sp = vspace_tstat_find(prev);
	else if (likely(!sn))
		return;		/* the hint stays clear */
	vspace_account_switch(sp, sn,
			      preempt || VSPACE_PREV_STATE == TASK_RUNNING);
}

static noinline void vspace_account_wakeup(struct vspace_tstat *s)
{
	WRITE_ONCE(s->c.wakeups, s->c.wakeups + 1);
	/*
	 * A task woken before it got off its CPU, or while still queued
	 * after a preemption, is not starting to wait now.
	 */
	if (!s->run_start && !s->wait_start)
		WRITE_ONCE(s->wait_start, local_clock());
}

static void vspace_probe_wakeup(void *data, struct task_struct *p)
{
	struct vspace_tstat *s = vspace_tstat_find(p);

	if (unlikely(s))
		vspace_account_wakeup(s);
}

static void vspace_probe_migrate(void *data, struct task_struct *p,
				 int dest_cpu)
{
	struct vspace_tstat *s;

	/* The kernel counts a migration only when the CPU changes. */
	if (task_cpu(p) == dest_cpu)
		return;
	s = vspace_tstat_find(p);
	if (s)
		WRITE_ONCE(s->c.migrations, s->c.migrations + 1);
}

/*
 * A task exits as current, on its CPU: its run ends here for vspace, as
 * its later switches find no live entry. Left open, every read would add
 * the time since to it until the periodic work forgets the thread.
 */
static void vspace_probe_exit(void *data, struct task_struct *p)
{
	struct vspace_tstat *s = vspace_tstat_find(p);
	u64 start;

	if (!s)
		return;
	start = s->run_start;
	if (start && p == current) {
		u64 now = local_clock();

		WRITE_ONCE(s->run_start, 0);
		smp_wmb();	/* as at a switch-out (see there) */
		if (now > start)
			WRITE_ONCE(s->c.runtime_ns, s->c.runtime_ns + now - start);
	}
	WRITE_ONCE(s->dead, true);
}

static bool vspace_dev_is_tun(const struct net_device *dev)
{
	return dev && dev->rtnl_link_ops &&
	       !strcmp(dev->rtnl_link_ops->kind, "tun");
}

/*
 * The running vhost worker's entry, if @skb is on one of its taps. Nothing
 * of @skb is read before current is proven to be a managed vhost worker in
 * process context: only then is it an skb of the worker's own tun calls.
 */
static struct vspace_tstat *vspace_vhost_skb(const struct sk_buff *skb)
{
	struct vspace_tstat *s;

	if (!(this_cpu_read(vspace_running) & VSPACE_RUNNING_VHOST) ||
	    !in_task())
		return NULL;
	s = vspace_tstat_find(current);
	if (!s || !s->vhost || !vspace_dev_is_tun(skb->dev))
		return NULL;
	return s;
}

/* Guest to host: the worker hands a frame from the guest to the tap. */
static void vspace_probe_tx(void *data, const struct sk_buff *skb)
{
	struct vspace_tstat *s = vspace_vhost_skb(skb);
	unsigned int len;

	if (!s)
		return;
	/* The tap counts the whole frame; the Ethernet header is pulled. */
	len = skb->len;
	if (skb_mac_header_was_set(skb))
		len += skb->data - skb_mac_header(skb);
	WRITE_ONCE(s->c.tx_packets, s->c.tx_packets + 1);
	WRITE_ONCE(s->c.tx_bytes, s->c.tx_bytes + len);
}

/*
 * Host to guest: the worker copies a frame from the tap to the guest. A
 * VLAN tag the tap took out of the frame (tun offloads it) is put back
 * between two copies, the first of the two addresses: that one counts
 * the tag's bytes, as the tap does, and the frame only once.
 */
static void vspace_probe_rx(void *data, const struct sk_buff *skb, int len)
{
	struct vspace_tstat *s = vspace_vhost_skb(skb);

	if (!s)
		return;
	if (skb_vlan_tag_present(skb) && len == 2 * ETH_ALEN) {
		WRITE_ONCE(s->c.rx_bytes, s->c.rx_bytes + len + VLAN_HLEN);
		return;
	}
	WRITE_ONCE(s->c.rx_packets, s->c.rx_packets + 1);
	WRITE_ONCE(s->c.rx_bytes, s->c.rx_bytes + len);
}

/*
 * Vhost kernel threads (6.1, and 6.12's kthread mode) are not in their
 * VM's thread group: only a walk of every task on the host finds them. So
 * that the periodic work walks only when one may have appeared, these two
 * probes count kernel threads with a vhost name as they are first woken
 * (6.12 names a kthread before that) or named (6.1 names it after). They
 * stay attached while vspace is loaded; for other tasks they cost a flag
 * test (and a rename, a string compare).
 */
static atomic_long_t vspace_kthreads_seq;

static void vspace_kthread_seen(struct task_struct *p, const char *comm)
{
	if (unlikely(p->flags & PF_KTHREAD) && !strncmp(comm, "vhost-", 6))
		atomic_long_inc(&vspace_kthreads_seq);
}

static void vspace_probe_kthread_new(void *data, struct task_struct *p)
{
	vspace_kthread_seen(p, p->comm);
}

/*
 * QEMU names each vCPU thread as it creates it, after the VM exists: the
 * processes that do are kept in a ring, so that auto-discovery looks at a
 * new VM in the next period instead of when its sweep of all pids comes
 * by. A writer may overwrite a slot being read: the sweep finds what the
 * ring loses.
 */
static pid_t vspace_named[VSPACE_NAMED_RING];
static atomic_t vspace_named_head;

static void vspace_probe_rename(void *data, struct task_struct *p,
				const char *comm)
{
	unsigned int i;

	vspace_kthread_seen(p, comm);
	if (unlikely(vspace_comm_is_vcpu(comm))) {
		i = atomic_inc_return(&vspace_named_head);
		WRITE_ONCE(vspace_named[i % VSPACE_NAMED_RING], p->tgid);
	}
}

/*
 * The processes (global tgids) that named a vCPU thread since *@seen, at
 * most VSPACE_NAMED_RING of them, into @tgids; advances *@seen.
 */
unsigned int vspace_named_vcpus(unsigned int *seen, pid_t *tgids)
{
	unsigned int head = atomic_read(&vspace_named_head), n = 0;

	if (head - *seen > VSPACE_NAMED_RING)
		*seen = head - VSPACE_NAMED_RING;
	while (*seen != head)
		tgids[n++] = READ_ONCE(vspace_named[++*seen % VSPACE_NAMED_RING]);
	return n;
}

/* Changes whenever a vhost kernel thread may have appeared. */
unsigned long vspace_vhost_kthreads_seq(void)
{
	return atomic_long_read(&vspace_kthreads_seq);
}

struct vspace_probe {
	const char *name;
	void *fn;
	struct tracepoint *tp;
};

static struct vspace_probe vspace_probes[] = {
	{ "sched_switch", vspace_probe_switch },
	{ "sched_wakeup", vspace_probe_wakeup },
	{ "sched_wakeup_new", vspace_probe_wakeup },
	{ "sched_migrate_task", vspace_probe_migrate },
	{ "sched_process_exit", vspace_probe_exit },
	{ "netif_receive_skb_entry", vspace_probe_tx },
	{ "skb_copy_datagram_iovec", vspace_probe_rx },
};

/* Attached from load to unload. */
static struct vspace_probe vspace_kthread_probes[] = {
	{ "sched_wakeup_new", vspace_probe_kthread_new },
	{ "task_rename", vspace_probe_rename },
};

/* The probes must match the tracepoints' prototypes, checked here. */
static void __maybe_unused vspace_check_probes(void)
{
	check_trace_callback_type_sched_switch(vspace_probe_switch);
	check_trace_callback_type_sched_wakeup(vspace_probe_wakeup);
	check_trace_callback_type_sched_wakeup_new(vspace_probe_wakeup);
	check_trace_callback_type_sched_migrate_task(vspace_probe_migrate);
	check_trace_callback_type_sched_process_exit(vspace_probe_exit);
	check_trace_callback_type_netif_receive_skb_entry(vspace_probe_tx);
	check_trace_callback_type_skb_copy_datagram_iovec(vspace_probe_rx);
	check_trace_callback_type_sched_wakeup_new(vspace_probe_kthread_new);
	check_trace_callback_type_task_rename(vspace_probe_rename);
}

/* The scheduler's tracepoints are not exported: find them by name. */
static void vspace_find_tracepoint(struct tracepoint *tp, void *priv)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vspace_probes); i++)
		if (!strcmp(tp->name, vspace_probes[i].name))
			vspace_probes[i].tp = tp;
	for (i = 0; i < ARRAY_SIZE(vspace_kthread_probes); i++)
		if (!strcmp(tp->name, vspace_kthread_probes[i].name))
			vspace_kthread_probes[i].tp = tp;
}

static void vspace_tstat_free_rcu(struct rcu_head *rcu)
{
	kfree(container_of(rcu, struct vspace_tstat, rcu));
}

static struct vspace_ttable *vspace_ttable_alloc(unsigned int bits,
						 unsigned int gen)
{
	struct vspace_ttable *tbl;

	tbl = kvzalloc(struct_size(tbl, buckets, 1U << bits), GFP_KERNEL);
	if (tbl) {
		tbl->bits = bits;
		tbl->gen = gen;
	}
	return tbl;
}

static void vspace_ttable_free_rcu(struct rcu_head *rcu)
{
	kvfree(container_of(rcu, struct vspace_ttable, rcu));
}

static struct vspace_ttable *vspace_ttable_now(void)
{
	return rcu_dereference_protected(vspace_ttable,
					 lockdep_is_held(&vspace_lock));
}

/*
 * Keep about one entry per four buckets, so that the lookup of a task
 * vspace does not manage (nearly every lookup) mostly meets an empty
 * bucket: grow past one per two buckets, shrink under one per 32. Not
 * while the table before is still read (its chains use the nodes a new
 * table would); failing, the table stays as it is, and the periodic work
 * tries again.
 */
static void vspace_ttable_resize(void)
{
	struct vspace_ttable *old = vspace_ttable_now(), *tbl;
	unsigned int bits, i;
	struct vspace_tstat *s;
	struct hlist_node *n;

	bits = clamp_t(unsigned int, order_base_2(vspace_nr_tstats + 1) + 2,
		       VSPACE_TTABLE_MIN_BITS, VSPACE_TTABLE_MAX_BITS);
	if (vspace_nr_tstats <= 1U << old->bits >> 1 &&
	    (vspace_nr_tstats >= 1U << old->bits >> 5 || bits >= old->bits))
		return;
	if (bits == old->bits || !poll_state_synchronize_rcu(vspace_ttable_gp))
		return;
	tbl = vspace_ttable_alloc(bits, !old->gen);
	if (!tbl)
		return;
	for (i = 0; i < 1U << old->bits; i++) {
		hlist_for_each(n, &old->buckets[i]) {
			s = container_of(n - old->gen, struct vspace_tstat,
					 hnode[0]);
			hlist_add_head_rcu(&s->hnode[tbl->gen],
					   &tbl->buckets[hash_ptr(s->task, bits)]);
		}
	}
	rcu_assign_pointer(vspace_ttable, tbl);
	vspace_ttable_gp = get_state_synchronize_rcu();
	call_rcu(&old->rcu, vspace_ttable_free_rcu);
}

/* Detach the first @n probes; they may still be running until a grace period. */
static void vspace_probes_detach(unsigned int n)
{
	while (n--)
		tracepoint_probe_unregister(vspace_probes[n].tp,
					    vspace_probes[n].fn, NULL);
	vspace_probes_on = false;
}

static int vspace_probes_attach(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(vspace_probes); i++) {
		ret = tracepoint_probe_register(vspace_probes[i].tp,
						vspace_probes[i].fn, NULL);
		if (ret) {
			pr_err_ratelimited("cannot attach to tracepoint %s: %d\n",
					   vspace_probes[i].name, ret);
			vspace_probes_detach(i);
			return ret;
		}
	}
	vspace_probes_on = true;
	return 0;
}

/*
 * Each period: a resize refused (the last one's grace period not over, as
 * in a burst of adds) is tried again. vspace_lock held.
 */
void vspace_collect_tune(void)
{
	lockdep_assert_held(&vspace_lock);
	vspace_ttable_resize();
}

/*
 * Start counting for @task; vspace_lock held. NULL if out of memory or the
 * probes cannot be attached. The entry is complete before the probes can
 * find it, and from then on only they write it.
 */
struct vspace_tstat *vspace_tstat_new(struct task_struct *task, bool vhost)
{
	struct vspace_ttable *tbl;
	struct vspace_tstat *s;

	lockdep_assert_held(&vspace_lock);
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return NULL;
	if (!vspace_probes_on && vspace_probes_attach()) {
		kfree(s);
		return NULL;
	}
	s->task = task;
	s->vhost = vhost;
	tbl = vspace_ttable_now();
	hlist_add_head_rcu(&s->hnode[tbl->gen],
			   &tbl->buckets[hash_ptr(task, tbl->bits)]);
	vspace_nr_tstats++;
	/*
	 * A task already past its exit probe is never marked dead by it. It
	 * sets PF_EXITING before that probe runs, with a full barrier in
	 * between (do_exit's atomic_dec_and_test()): either the probe finds
	 * this entry or this sees the flag. A run it began meanwhile is
	 * never ended: readers leave out the run of a dead entry.
	 */
	smp_mb();
	if (READ_ONCE(task->flags) & PF_EXITING)
		WRITE_ONCE(s->dead, true);
	vspace_ttable_resize();
	return s;
}

/*
 * Stop counting; freed after every probe that may see it has finished.
 * The last one detaches the probes.
 */
void vspace_tstat_put(struct vspace_tstat *s)
{
	lockdep_assert_held(&vspace_lock);
	hlist_del_rcu(&s->hnode[vspace_ttable_now()->gen]);
	call_rcu(&s->rcu, vspace_tstat_free_rcu);
	if (!--vspace_nr_tstats)
		vspace_probes_detach(ARRAY_SIZE(vspace_probes));
	vspace_ttable_resize();
}

/* The wait histogram's value at fraction @pct of @n samples, in ns. */
u64 vspace_hist_percentile(const u32 *hist, u64 n, unsigned int pct)
{
	u64 seen = 0, want = div_u64(n * pct + 99, 100);
	int i;

	if (!n)
		return 0;
	for (i = 0; i < VSPACE_HIST_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= want)
			return i ? 3ULL << (i - 1) : 1;	/* bucket middle */
	}
	return 1ULL << (VSPACE_HIST_BUCKETS - 1);
}

static int vspace_probes_find(struct vspace_probe *probes, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!probes[i].tp) {
			pr_err("tracepoint %s not found\n", probes[i].name);
			return -ENOENT;
		}
	}
	return 0;
}

/*
 * The counting probes attach when the first thread is counted; find them
 * now. The kthread probes attach now.
 */
int vspace_collect_init(void)
{
	unsigned int i;
	int ret;

	for_each_kernel_tracepoint(vspace_find_tracepoint, NULL);
	ret = vspace_probes_find(vspace_probes, ARRAY_SIZE(vspace_probes));
	if (!ret)
		ret = vspace_probes_find(vspace_kthread_probes,
					 ARRAY_SIZE(vspace_kthread_probes));
	if (ret)
		return ret;
	RCU_INIT_POINTER(vspace_ttable,
			 vspace_ttable_alloc(VSPACE_TTABLE_MIN_BITS, 0));
	if (!rcu_access_pointer(vspace_ttable))
		return -ENOMEM;
	vspace_ttable_gp = get_state_synchronize_rcu();
	for (i = 0; i < ARRAY_SIZE(vspace_kthread_probes); i++) {
		ret = tracepoint_probe_register(vspace_kthread_probes[i].tp,
						vspace_kthread_probes[i].fn,
						NULL);
		if (ret) {
			pr_err("cannot attach to tracepoint %s: %d\n",
			       vspace_kthread_probes[i].name, ret);
			while (i--)
				tracepoint_probe_unregister(vspace_kthread_probes[i].tp,
							    vspace_kthread_probes[i].fn,
							    NULL);
			tracepoint_synchronize_unregister();
			kvfree(rcu_access_pointer(vspace_ttable));
			return ret;
		}
	}
	return 0;
}

/* After vspace_vms_uninit(): no entry is left, so the probes are detached. */
void vspace_collect_uninit(void)
{
	unsigned int i;

	if (vspace_probes_on)
		vspace_probes_detach(ARRAY_SIZE(vspace_probes));
	for (i = 0; i < ARRAY_SIZE(vspace_kthread_probes); i++)
		tracepoint_probe_unregister(vspace_kthread_probes[i].tp,
					    vspace_kthread_probes[i].fn, NULL);
	/* No probe may still be running module code or using an entry. */
	tracepoint_synchronize_unregister();
	/* Entries freed through call_rcu() must be gone before unload. */
	rcu_barrier();
	/* Empty: every VM is gone, and its threads with it. */
	kvfree(rcu_access_pointer(vspace_ttable));
}
