// SPDX-License-Identifier: GPL-2.0
/*
 * Collection: what managed threads do, from scheduler tracepoints.
 *
 * Every managed thread has a struct vspace_tstat, found from a task pointer
 * through an RCU hash table. The probes run with preemption disabled (an
 * RCU read-side section), take no lock and allocate nothing; for a task
 * vspace does not manage they cost one hash lookup, and nothing at all
 * while no thread is managed.
 *
 * Each counter has one writer at a time, which the scheduler's own locking
 * guarantees, so plain stores suffice and readers use READ_ONCE():
 *  - switch fields (runtime, preemptions, wait end, histogram): a task is
 *    switched in or out under its runqueue's lock, on one CPU at a time;
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
 * both run in the vhost worker. Those tracepoints fire system-wide, so
 * sched_switch keeps a per-CPU flag "a managed vhost worker is running
 * here" and the net probes return at once when it is clear.
 *
 * A task's memory outlives sched_process_exit by an RCU grace period; the
 * exit probe marks its entry dead first, so a new task at the same address
 * is never counted. The periodic work unhashes dead and released entries
 * and frees them after a grace period.
 */
#include <linux/hashtable.h>
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

#include "vspace.h"

static DEFINE_HASHTABLE(vspace_thash, 10);
/* A managed vhost worker may be running on this CPU (a hint: see above). */
static DEFINE_PER_CPU(bool, vspace_vhost_running);
/* Entries in vspace_thash; probes return at once while it is 0. */
static atomic_t vspace_nr_tstats = ATOMIC_INIT(0);

/* The live entry for @p, or NULL; in a probe (RCU read side). */
static struct vspace_tstat *vspace_tstat_find(struct task_struct *p)
{
	struct vspace_tstat *s;

	hash_for_each_possible_rcu_notrace(vspace_thash, s, hnode,
					   (unsigned long)p) {
		if (s->task == p)
			return READ_ONCE(s->dead) ? NULL : s;
	}
	return NULL;
}

static void vspace_probe_switch(void *data, VSPACE_SWITCH_PROTO)
{
	struct vspace_tstat *s;
	u64 now = 0, d;
	int b;

	if (!atomic_read(&vspace_nr_tstats))
		return;

	/* The clock is read only when a managed thread is involved. */
	s = vspace_tstat_find(prev);
	if (s) {
		now = local_clock();
		if (s->run_start)
			WRITE_ONCE(s->runtime_ns, s->runtime_ns + now - s->run_start);
		/* The periodic work reads it to count a run in progress. */
		WRITE_ONCE(s->run_start, 0);
		/* Counted as the kernel counts nivcsw: still runnable. */
		if (preempt || VSPACE_PREV_STATE == TASK_RUNNING) {
			WRITE_ONCE(s->preemptions, s->preemptions + 1);
			WRITE_ONCE(s->wait_start, now);
		} else {
			WRITE_ONCE(s->wait_start, 0);
		}
	}

	s = vspace_tstat_find(next);
	if (s) {
		u64 start = READ_ONCE(s->wait_start);

		if (!now)
			now = local_clock();
		if (start && now > start) {
			d = now - start;
			b = min_t(int, ilog2(d), VSPACE_HIST_BUCKETS - 1);
			WRITE_ONCE(s->wait_ns, s->wait_ns + d);
			WRITE_ONCE(s->hist[b], s->hist[b] + 1);
		}
		WRITE_ONCE(s->wait_start, 0);
		WRITE_ONCE(s->run_start, now);
	}
	this_cpu_write(vspace_vhost_running, s && s->vhost);
}

static void vspace_probe_wakeup(void *data, struct task_struct *p)
{
	struct vspace_tstat *s;

	if (!atomic_read(&vspace_nr_tstats))
		return;
	s = vspace_tstat_find(p);
	if (!s)
		return;
	WRITE_ONCE(s->wakeups, s->wakeups + 1);
	/*
	 * A task woken before it got off its CPU, or while still queued
	 * after a preemption, is not starting to wait now.
	 */
	if (!s->run_start && !s->wait_start)
		WRITE_ONCE(s->wait_start, local_clock());
}

static void vspace_probe_migrate(void *data, struct task_struct *p,
				 int dest_cpu)
{
	struct vspace_tstat *s;

	if (!atomic_read(&vspace_nr_tstats))
		return;
	/* The kernel counts a migration only when the CPU changes. */
	if (task_cpu(p) == dest_cpu)
		return;
	s = vspace_tstat_find(p);
	if (s)
		WRITE_ONCE(s->migrations, s->migrations + 1);
}

static void vspace_probe_exit(void *data, struct task_struct *p)
{
	struct vspace_tstat *s;

	if (!atomic_read(&vspace_nr_tstats))
		return;
	s = vspace_tstat_find(p);
	if (s)
		WRITE_ONCE(s->dead, true);
}

static bool vspace_dev_is_tun(const struct net_device *dev)
{
	return dev && dev->rtnl_link_ops &&
	       !strcmp(dev->rtnl_link_ops->kind, "tun");
}

/* The running vhost worker's entry, if @skb is on one of its taps. */
static struct vspace_tstat *vspace_vhost_skb(const struct sk_buff *skb)
{
	struct vspace_tstat *s;

	if (!atomic_read(&vspace_nr_tstats) ||
	    !this_cpu_read(vspace_vhost_running) ||
	    !vspace_dev_is_tun(skb->dev))
		return NULL;
	s = vspace_tstat_find(current);
	return s && s->vhost ? s : NULL;
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
	WRITE_ONCE(s->tx_packets, s->tx_packets + 1);
	WRITE_ONCE(s->tx_bytes, s->tx_bytes + len);
}

/* Host to guest: the worker copies a frame from the tap to the guest. */
static void vspace_probe_rx(void *data, const struct sk_buff *skb, int len)
{
	struct vspace_tstat *s = vspace_vhost_skb(skb);

	if (!s)
		return;
	WRITE_ONCE(s->rx_packets, s->rx_packets + 1);
	WRITE_ONCE(s->rx_bytes, s->rx_bytes + len);
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
}

/* The scheduler's tracepoints are not exported: find them by name. */
static void vspace_find_tracepoint(struct tracepoint *tp, void *priv)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vspace_probes); i++)
		if (!strcmp(tp->name, vspace_probes[i].name))
			vspace_probes[i].tp = tp;
}

static void vspace_tstat_free_rcu(struct rcu_head *rcu)
{
	kfree(container_of(rcu, struct vspace_tstat, rcu));
}

/* Start counting for @task; vspace_lock held. NULL on allocation failure. */
struct vspace_tstat *vspace_tstat_new(struct task_struct *task, bool vhost)
{
	struct vspace_tstat *s = kzalloc(sizeof(*s), GFP_KERNEL);

	lockdep_assert_held(&vspace_lock);
	if (!s)
		return NULL;
	s->task = task;
	s->vhost = vhost;
	/* Already running: count from now. */
	if (READ_ONCE(task->on_cpu))
		s->run_start = local_clock();
	hash_add_rcu(vspace_thash, &s->hnode, (unsigned long)task);
	atomic_inc(&vspace_nr_tstats);
	return s;
}

/* Stop counting; freed after every probe that may see it has finished. */
void vspace_tstat_put(struct vspace_tstat *s)
{
	lockdep_assert_held(&vspace_lock);
	hash_del_rcu(&s->hnode);
	atomic_dec(&vspace_nr_tstats);
	call_rcu(&s->rcu, vspace_tstat_free_rcu);
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

int vspace_collect_init(void)
{
	unsigned int i;
	int ret;

	for_each_kernel_tracepoint(vspace_find_tracepoint, NULL);
	for (i = 0; i < ARRAY_SIZE(vspace_probes); i++) {
		if (!vspace_probes[i].tp) {
			pr_err("tracepoint %s not found\n", vspace_probes[i].name);
			ret = -ENOENT;
			goto out_unregister;
		}
		ret = tracepoint_probe_register(vspace_probes[i].tp,
						vspace_probes[i].fn, NULL);
		if (ret)
			goto out_unregister;
	}
	return 0;

out_unregister:
	while (i--)
		tracepoint_probe_unregister(vspace_probes[i].tp,
					    vspace_probes[i].fn, NULL);
	tracepoint_synchronize_unregister();
	return ret;
}

/* After vspace_vms_uninit(): no entry is left; wait for the probes. */
void vspace_collect_uninit(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vspace_probes); i++)
		tracepoint_probe_unregister(vspace_probes[i].tp,
					    vspace_probes[i].fn, NULL);
	tracepoint_synchronize_unregister();
	/* Entries freed through call_rcu() must be gone before unload. */
	rcu_barrier();
}
