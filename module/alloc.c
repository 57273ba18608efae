// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation: the policy's state between intervals. Each interval, hand
 * the measured figures to the policy (policy.c), hand what it decides to
 * placement (group sizes, the I/O CPUs the confined VMs get), and keep the
 * last decisions where the operator can see them: the decisions file and
 * the vspace:decision trace event. Only intervals that changed something
 * are recorded.
 *
 * Everything here runs under vspace_lock.
 */
#include <linux/cpu.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "vspace.h"
#include "trace.h"

#define VSPACE_DECISIONS	64
/* An application latency fed through latency_us counts this many intervals. */
#define VSPACE_LATENCY_FRESH	3

/**
 * struct vspace_decision - one recorded decision
 * @time_ms: boot time, ms.
 * @mode:    the mode it was made in.
 * @out:     sizes before and after, demand, reasons.
 * @util:    utilisation of each group's CPUs, percent.
 * @p99_us:  p99 wait of each group's managed threads.
 * @missed:  VMs that missed their SLO.
 * @confined: VMs whose I/O is confined after it.
 */
struct vspace_decision {
	u64 time_ms;
	u32 mode;
	struct vspace_policy_out out;
	u32 util[VSPACE_NR_PG];
	u64 p99_us[VSPACE_NR_PG];
	u32 missed;
	u32 confined;
};

/* The heuristic's state (stats shows its demand); under vspace_lock. */
struct vspace_policy vspace_policy;
/* VMs whose I/O is confined now, and the I/O CPUs they get; vspace_lock. */
static unsigned int vspace_nr_confined;
static unsigned int vspace_confined_cpus;

static struct vspace_decision vspace_decisions[VSPACE_DECISIONS];
static unsigned long vspace_nr_decisions;

static const char * const vspace_why_names[VSPACE_NR_WHY] = VSPACE_WHY_NAMES;

static void vspace_decision_log(const struct vspace_policy_out *out,
				const struct vspace_policy_in *in)
{
	struct vspace_decision *d;
	struct vspace_vm *vm;
	int g;

	lockdep_assert_held(&vspace_lock);
	d = &vspace_decisions[vspace_nr_decisions++ % VSPACE_DECISIONS];
	memset(d, 0, sizeof(*d));
	d->time_ms = div_u64(ktime_get_boottime_ns(), NSEC_PER_MSEC);
	d->mode = vspace_policy.mode;
	d->out = *out;
	list_for_each_entry(vm, &vspace_vms, node) {
		d->missed += vm->pol.slo_missed;
		d->confined += vm->pol.confined;
	}
	if (in) {
		for (g = 0; g < VSPACE_NR_PG; g++) {
			d->util[g] = in->g[g].util_pct;
			d->p99_us[g] = div_u64(in->g[g].p99_ns, NSEC_PER_USEC);
		}
	}
	trace_decision(d->mode, out->old_vm, out->old_io, out->vm, out->io,
		       out->free, out->demand[VSPACE_PG_VM],
		       out->demand[VSPACE_PG_IO], d->missed, d->confined,
		       out->why);
}

static int vspace_decision_emit(char *buf, size_t size,
				const struct vspace_decision *d)
{
	const struct vspace_policy_out *o = &d->out;
	int len, i, n = 0;

	len = scnprintf(buf, size,
			"%llu %s %u %u %u %u %u %u %u %u %llu %llu %llu %llu %u %u ",
			d->time_ms, vspace_mode_names[d->mode], o->old_vm,
			o->old_io, o->old_free, o->vm, o->io, o->free,
			d->util[VSPACE_PG_VM], d->util[VSPACE_PG_IO],
			o->demand[VSPACE_PG_VM], o->demand[VSPACE_PG_IO],
			d->p99_us[VSPACE_PG_VM], d->p99_us[VSPACE_PG_IO],
			d->missed, d->confined);
	for (i = 0; i < VSPACE_NR_WHY; i++)
		if (o->why & BIT(i))
			len += scnprintf(buf + len, size - len, "%s%s",
					 n++ ? "+" : "", vspace_why_names[i]);
	len += scnprintf(buf + len, size - len, "\n");
	return len;
}

#define VSPACE_DECISION_LINE	192

/* Texts of the decisions file being read; under vspace_lock. */
static struct vspace_snaps vspace_decision_snaps;

/* A header and the last decisions, oldest first, into @s. */
static int vspace_decision_take(struct vspace_snap *s, void *arg)
{
	size_t size = (VSPACE_DECISIONS + 1) * VSPACE_DECISION_LINE;
	unsigned long i, first;
	int len;

	s->buf = kvmalloc(size, GFP_KERNEL);
	if (!s->buf)
		return -ENOMEM;
	len = scnprintf(s->buf, size,
			"# time_ms mode old_vm old_io old_free vm io free vm_util_pct io_util_pct vm_demand_mcpu io_demand_mcpu vm_p99_wait_us io_p99_wait_us slo_missed confined reason\n");
	first = vspace_nr_decisions > VSPACE_DECISIONS ?
		vspace_nr_decisions - VSPACE_DECISIONS : 0;
	for (i = first; i < vspace_nr_decisions; i++)
		len += vspace_decision_emit(s->buf + len, size - len,
					    &vspace_decisions[i % VSPACE_DECISIONS]);
	s->len = len;
	return 0;
}

/* The decisions file: more than a page, so a binary attribute. */
ssize_t vspace_decisions_read(const struct file *file, char *buf, loff_t off,
			      size_t count)
{
	ssize_t ret;

	mutex_lock(&vspace_lock);
	ret = vspace_snaps_read(&vspace_decision_snaps, file, buf, off, count,
				vspace_decision_take, NULL);
	mutex_unlock(&vspace_lock);
	return ret;
}

void vspace_alloc_uninit(void)
{
	vspace_snaps_drop(&vspace_decision_snaps);
}

/* Count the managed threads of each group that still exist. */
static void vspace_count_threads(struct vspace_policy_in *in)
{
	struct vspace_thread *t;
	struct vspace_vm *vm;

	list_for_each_entry(vm, &vspace_vms, node)
		list_for_each_entry(t, &vm->threads, node)
			if (t->stat && t->kind != VSPACE_KIND_OTHER &&
			    t->unplaced == VSPACE_PLACED)
				in->g[t->kind == VSPACE_KIND_VHOST ?
				      VSPACE_PG_IO : VSPACE_PG_VM].threads++;
}

/* Hand the policy's sizes to placement. */
static void vspace_alloc_apply(void)
{
	/* Priority only where the I/O group cannot be split. */
	vspace_groups_layout(vspace_policy.vm, vspace_policy.io,
			     vspace_confined_cpus, vspace_nr_confined);
}

/*
 * Fit the sizes to the usable CPUs and bounds of now (hotplug, cpus or
 * io_cpus_min/max changed) between decisions, and lay the groups out.
 */
void vspace_alloc_fit(void)
{
	struct vspace_policy_out out = {
		.old_vm = vspace_policy.vm,
		.old_io = vspace_policy.io,
		.old_free = vspace_policy.ncpus - vspace_policy.vm -
			    vspace_policy.io,
		.why = VSPACE_WHY_BOUNDS,
	};
	unsigned int n = vspace_usable_cpus();

	lockdep_assert_held(&vspace_lock);
	if (vspace_policy_clamp(&vspace_policy, n, vspace_config.io_cpus_min,
				vspace_config.io_cpus_max, vspace_policy.mode)) {
		out.vm = vspace_policy.vm;
		out.io = vspace_policy.io;
		out.free = n - out.vm - out.io;
		vspace_decision_log(&out, NULL);
	}
	vspace_confined_cpus = min(vspace_confined_cpus,
				   vspace_policy.io ? vspace_policy.io - 1 : 0);
	vspace_alloc_apply();
}

/*
 * A period before the interval is up (a setting written, a VM removed, a
 * CPU gone): what changed is acted on, and the decision waits for the
 * interval to end, as the policy judges whole intervals and its holds
 * count them. A VM gone or let go (a new weight) is no longer confined.
 */
void vspace_alloc_between(void)
{
	bool on = vspace_config.enabled && vspace_config.isolation;
	struct vspace_policy_out out = {
		.old_vm = vspace_policy.vm, .vm = vspace_policy.vm,
		.old_io = vspace_policy.io, .io = vspace_policy.io,
		.why = VSPACE_WHY_ISOLATE,
	};
	struct vspace_vm *vm;
	unsigned int n = 0, was = vspace_nr_confined;

	lockdep_assert_held(&vspace_lock);
	list_for_each_entry(vm, &vspace_vms, node) {
		/* Isolation off (or vspace): let go at once, as documented. */
		if (!on) {
			vm->pol.confined = false;
			vm->pol.calm = 0;
		}
		n += vm->pol.confined;
	}
	vspace_nr_confined = n;
	if (!n)
		vspace_confined_cpus = 0;
	if (n != was && vspace_config.enabled) {
		out.old_free = vspace_policy.ncpus - out.vm - out.io;
		out.free = out.old_free;
		memcpy(out.demand, vspace_policy.demand, sizeof(out.demand));
		vspace_decision_log(&out, NULL);
	}
	vspace_alloc_fit();
}

void vspace_alloc_init(void)
{
	mutex_lock(&vspace_lock);
	cpus_read_lock();
	vspace_policy_init(&vspace_policy, vspace_usable_cpus(),
			   vspace_config.io_cpus_min, vspace_config.io_cpus_max,
			   vspace_config.mode);
	vspace_alloc_apply();
	cpus_read_unlock();
	mutex_unlock(&vspace_lock);
}

/*
 * One interval of the policy, after vspace_stats_update(): decide on the
 * CPUs online now (the hotplug lock held) and lay the groups out again;
 * the caller then places the threads.
 */
void vspace_alloc_step(void)
{
	u64 now = ktime_get_ns(), fresh, open_io_ns = 0;
	unsigned int was_split = vspace_confined_cpus;
	struct vspace_policy_in in = {};
	struct vspace_policy_out out;
	struct vspace_vm *vm;
	bool isolate = false;
	int g;

	lockdep_assert_held(&vspace_lock);
	if (!vspace_config.enabled) {
		/* Nobody confined when it is enabled again. */
		vspace_alloc_between();
		return;
	}
	fresh = (u64)VSPACE_LATENCY_FRESH * vspace_config.interval_ms *
		NSEC_PER_MSEC;
	in.mode = vspace_config.mode;
	in.ncpus = vspace_usable_cpus();
	in.io_min = vspace_config.io_cpus_min;
	in.io_max = vspace_config.io_cpus_max;
	in.interval_ns = vspace_stats.interval_ns;
	in.isolation = vspace_config.isolation;
	for (g = 0; g < VSPACE_NR_PG; g++) {
		const struct vspace_group_stats *gs = &vspace_stats.group[g];

		in.g[g].util_pct = gs->util_pct;
		in.g[g].cpus = cpumask_weight(g == VSPACE_PG_VM ?
					      vspace_groups.vm :
					      vspace_groups.io);
		in.g[g].wait_ns = gs->sample.c.wait_ns;
		in.g[g].p99_ns = gs->sample.p99_ns;
	}
	vspace_count_threads(&in);
	list_for_each_entry(vm, &vspace_vms, node) {
		vm->pol.latency_fresh = vm->latency_at &&
					now - vm->latency_at <= fresh;
		vm->pol.io_ns = vm->io_sample_ns;
		vspace_policy_account(&in, &vm->pol);
	}
	vspace_policy_decide(&vspace_policy, &in, &out);
	in.confined = vspace_nr_confined;
	vspace_nr_confined = 0;
	list_for_each_entry(vm, &vspace_vms, node) {
		isolate |= vspace_policy_isolate(&vspace_policy, &in, &vm->pol);
		vspace_nr_confined += vm->pol.confined;
		if (!vm->pol.confined)
			open_io_ns += vm->pol.io_avg;
	}
	vspace_confined_cpus = vspace_nr_confined ?
		vspace_policy_confined_cpus(&vspace_policy, &in, open_io_ns,
					    was_split) : 0;
	if (isolate || vspace_confined_cpus != was_split)
		out.why |= VSPACE_WHY_ISOLATE;
	if (out.why)
		vspace_decision_log(&out, &in);
	vspace_alloc_apply();
}
