// SPDX-License-Identifier: GPL-2.0
/*
 * The allocation heuristic: how many of the usable CPUs the VM group and
 * the I/O group get, and which VMs' I/O is confined. Plain C on purpose:
 * it includes only policy.h, so the module, the unit tests and the replay
 * simulator run the very same code.
 *
 * Model
 * -----
 * Inputs, each interval (struct vspace_policy_in): the mode; the usable
 * CPUs n; io_cpus_min/max; per group its managed threads, utilisation of
 * its CPUs u (percent, irq and softirq included) and the run-queue wait W
 * its threads suffered; per VM its p99 wait per group (or the application
 * latency it was fed), its SLO, weight and vhost CPU time.
 *
 * Outputs: the group sizes vm and io; free = n - vm - io CPUs get no
 * managed thread. The VM group is the low end of the usable CPUs, the I/O
 * group the high end, free CPUs lie between: every resize moves one edge.
 *
 * Demand of a group, in milli-CPUs: what ran on its CPUs plus what its
 * threads wanted and could not get,
 *	D = u * size * 10 + W * 1000 / interval
 * (size: the CPUs it had, which whole cores may round up or down),
 * smoothed as Ds = (Ds + D) / 2.
 *
 * Per mode, three utilisation thresholds in milli-CPUs per CPU:
 *			hi	mid	lo
 *	performance	800	650	500
 *	energy		900	800	700
 *	resource	850	750	650
 * A group grows when Ds > size * hi, to ceil(Ds / mid) CPUs, or by one CPU
 * when one of its VMs misses its SLO. It takes free CPUs first (energy,
 * resource), then CPUs the other group can spare (keeping ceil(Ds' / lo)
 * and every SLO of its own with margin), then, for an SLO miss only, one
 * CPU from the other group if none of its VMs is near its SLO. A group
 * never grows past its threads (one thread uses at most one CPU).
 * If the CPUs cannot hold both groups at mid and nothing was spared, they
 * are split in proportion to demand, one CPU per interval, once the split
 * is off by VSPACE_BALANCE_MCPU (3/4 of a CPU) or more. The CPU carries
 * its waits to the group it joins, so the group that lost it looks the
 * needier next interval: a move back asked for within VSPACE_BALANCE_ECHO
 * (8) intervals of the last move between the groups (by a split or by
 * growth) is its echo (demand is smoothed: an echo may take a few
 * intervals to cross the line), and waits until asked for bal_hold times
 * more than not (VSPACE_BALANCE_HOLD_MIN, 2, at first; x4 after each echo, up to
 * VSPACE_BALANCE_HOLD_MAX, 320; halved by a move that lasted, reset by a
 * change of mode, or of bounds or CPUs that changes the sizes). A move
 * back first asked for later is made.
 * A split that undoes a release backs off that group's release hold.
 *
 * A group gives a CPU back when, for @hold intervals in a row, every VM
 * is at most VSPACE_SLO_TIGHT_PCT (75%) of its SLO and
 * Ds <= (size - 1) * lo: to the free CPUs
 * in energy and resource mode, to the VM group in performance mode (which
 * always uses all n CPUs). hold starts at VSPACE_HOLD_MIN; when a group
 * has to grow again within VSPACE_REVERT_WINDOW intervals of a release,
 * hold is multiplied by VSPACE_HOLD_BACKOFF, 4 (up to VSPACE_HOLD_MAX),
 * and it halves after a
 * release that lasted. hi/lo and hold are the hysteresis: a steady load,
 * however noisy, settles on one size.
 *
 * Bounds: vm >= 1; io_min <= io <= io_max, io <= n - 1, and io >= 1 when
 * there are vhost workers and io_max allows it. With n = 1 the single CPU
 * is the VM group and vhost workers share it.
 *
 * Isolation (Virtuoso's per-VM accounting): while the I/O group is
 * saturated (Ds >= VSPACE_SATURATED_PCT, 90%, of its CPUs: busy, or threads
 * waiting for them), a VM whose vhost workers used more than
 * VSPACE_OVER_SHARE_PCT (110%) of its weighted share of the I/O CPU time
 * all VMs used, io * weight / (sum of the weights of the VMs that did
 * I/O), is confined: the I/O group is split, the other VMs' workers get
 * the CPUs they need at the mode's mid utilisation (at least one), the
 * confined VMs' workers all the rest (vspace_policy_confined_cpus()), so
 * the flood cannot delay the others, whatever cgroups they run in, and
 * nothing they leave idles; as the others are within their shares, the
 * confined VMs keep at least theirs. A group that cannot be split (one
 * CPU, or the others need all of it) serves the other VMs' workers first
 * instead (placement raises their priority), which works only among
 * tasks of one run-queue group. It is let go after
 * VSPACE_CONFINE_CALM (5) intervals within its share or without
 * saturation (then: Ds below VSPACE_UNSATURATED_PCT, 75%, so that
 * confining, which changes the load, does not end itself). A VM's I/O
 * time io is smoothed, io' = (3 io' + io_ns) / 4: in one interval two
 * flooders may take turns on the CPU, or barely run while a quiet VM's
 * few packets make up most of what ran.
 *
 * Worked example (performance, n = 4, io_min = 1): vm = 3, io = 1. Two
 * VMs' vhost workers both busy: the I/O CPU is 100% busy and they waited
 * 600 ms in a 1 s interval, so D = 100 * 1 * 10 + 600 = 1600 milli-CPUs.
 * Ds goes 1000 -> 1300 (> 1 * 800: grow to ceil(1300 / 650) = 2). The VM
 * group's Ds is 900 on 3 CPUs; it keeps ceil(900 / 500) = 2 and spares
 * one, so io = 2, vm = 2. When the traffic stops, Ds of I/O falls below
 * (2 - 1) * 500 and after 20 calm intervals the CPU goes back: io = 1.
 */
#include "policy.h"

struct vspace_thresholds {
	u32 hi;
	u32 mid;
	u32 lo;
};

static const struct vspace_thresholds vspace_thresholds[NR_VSPACE_MODES] = {
	[VSPACE_MODE_PERFORMANCE] = { 800, 650, 500 },
	[VSPACE_MODE_ENERGY] = { 900, 800, 700 },
	[VSPACE_MODE_RESOURCE] = { 850, 750, 650 },
};

static u32 vspace_min(u32 a, u32 b)
{
	return a < b ? a : b;
}

static u32 vspace_max(u32 a, u32 b)
{
	return a > b ? a : b;
}

static u32 vspace_div_up(u64 a, u32 b)
{
	return (u32)vspace_div64(a + b - 1, b);
}

static u32 vspace_io_cap(u32 ncpus, u32 io_max)
{
	return ncpus ? vspace_min(io_max, ncpus - 1) : 0;
}

/* Forget the last move between the groups, and the hold on its echo. */
static void vspace_balance_reset(struct vspace_policy *p)
{
	p->bal_dir = -1;
	p->bal_calm = 0;
	p->bal_hold = VSPACE_BALANCE_HOLD_MIN;
}

void vspace_policy_init(struct vspace_policy *p, u32 ncpus, u32 io_min,
			u32 io_max, u32 mode)
{
	int g;

	*p = (struct vspace_policy){ .mode = mode };
	for (g = 0; g < VSPACE_NR_PG; g++)
		p->hold[g] = VSPACE_HOLD_MIN;
	vspace_balance_reset(p);
	p->io = io_min;
	p->vm = ncpus;
	vspace_policy_clamp(p, ncpus, io_min, io_max, mode);
}

/*
 * Fit the sizes to @ncpus and the bounds, changing as little as possible:
 * used when CPUs come or go between decisions. Returns whether they changed.
 */
u32 vspace_policy_clamp(struct vspace_policy *p, u32 ncpus, u32 io_min,
			u32 io_max, u32 mode)
{
	u32 hi = vspace_io_cap(ncpus, io_max);
	u32 lo = vspace_min(io_min, hi);
	u32 io = vspace_min(vspace_max(p->io, lo), hi);
	u32 vm = ncpus ? vspace_min(vspace_max(p->vm, 1), ncpus - io) : 0;
	bool changed;

	if (mode == VSPACE_MODE_PERFORMANCE)
		vm = ncpus - io;
	changed = vm != p->vm || io != p->io || ncpus != p->ncpus;
	/* New CPUs or bounds: no echo of the old split to hold. */
	if (changed)
		vspace_balance_reset(p);
	p->vm = vm;
	p->io = io;
	p->ncpus = ncpus;
	return changed;
}

/* Take one VM's SLO status and I/O use into the interval's sums. */
void vspace_policy_account(struct vspace_policy_in *in,
			   struct vspace_policy_vm *v)
{
	u64 slo = (u64)v->slo_us * 1000;
	int g;

	v->slo_missed = false;
	v->io_avg = (3 * v->io_avg + v->io_ns) / 4;
	if (v->io_avg) {
		in->weight_sum += v->weight;
		in->io_ns += v->io_avg;
	}
	if (!slo)
		return;
	if (v->latency_fresh) {
		u64 lat = v->latency_us * 1000;

		/* The application's view: blame the group that waits longer. */
		g = v->p99_ns[VSPACE_PG_IO] >= v->p99_ns[VSPACE_PG_VM] ?
		    VSPACE_PG_IO : VSPACE_PG_VM;
		v->slo_missed = lat > slo;
		in->slo_miss[g] += v->slo_missed;
		in->slo_tight[g] += lat * 100 > slo * VSPACE_SLO_TIGHT_PCT;
		return;
	}
	for (g = 0; g < VSPACE_NR_PG; g++) {
		bool miss = v->p99_ns[g] > slo;

		v->slo_missed |= miss;
		in->slo_miss[g] += miss;
		in->slo_tight[g] += v->p99_ns[g] * 100 >
				    slo * VSPACE_SLO_TIGHT_PCT;
	}
}

/* The working state of one decision. */
struct vspace_step {
	const struct vspace_thresholds *t;
	u32 cur[VSPACE_NR_PG];
	u32 floor[VSPACE_NR_PG];
	u32 cap[VSPACE_NR_PG];
	u32 free;
};

/* CPUs group @g could hand to the other group now without suffering. */
static u32 vspace_spare(const struct vspace_policy *p,
			const struct vspace_policy_in *in,
			const struct vspace_step *s, int g)
{
	u32 keep = vspace_div_up(p->demand[g], s->t->lo);

	if (in->slo_miss[g] || in->slo_tight[g])
		keep = s->cap[g];	/* near an SLO: give up only idle room */
	keep = vspace_max(s->floor[g], vspace_min(keep, s->cap[g]));
	return s->cur[g] > keep ? s->cur[g] - keep : 0;
}

/* A group had to grow: was its last release too hasty? */
static void vspace_grew(struct vspace_policy *p, int g)
{
	if (p->shrunk[g]) {
		if (p->tick - p->shrunk[g] <= VSPACE_REVERT_WINDOW)
			p->hold[g] = vspace_min(p->hold[g] *
						VSPACE_HOLD_BACKOFF,
						VSPACE_HOLD_MAX);
		else
			p->hold[g] = vspace_max(p->hold[g] / 2, VSPACE_HOLD_MIN);
	}
	p->shrunk[g] = 0;
	p->calm[g] = 0;
}

/* A CPU went from one group to group @to: what a split must not echo. */
static void vspace_moved(struct vspace_policy *p, int to)
{
	/* The last move lasted: a shorter hold for the next echo. */
	if (p->bal_dir >= 0 &&
	    p->tick - p->bal_tick > p->bal_hold + VSPACE_REVERT_WINDOW)
		p->bal_hold = vspace_max(p->bal_hold / 2, VSPACE_BALANCE_HOLD_MIN);
	p->bal_dir = to;
	p->bal_tick = p->tick;
	p->bal_calm = 0;
}

/* Move one CPU to group @to: from the free CPUs if @from < 0. */
static void vspace_move(struct vspace_step *s, int from, int to)
{
	if (from < 0)
		s->free--;
	else
		s->cur[from]--;
	s->cur[to]++;
}

/* Grow group @g towards what it needs; returns the reasons, 0 if none. */
static u32 vspace_grow(struct vspace_policy *p,
		       const struct vspace_policy_in *in,
		       struct vspace_step *s, int g, bool *stole)
{
	bool miss = in->slo_miss[g];
	int o = !g;
	u32 target = s->cur[g], old = s->cur[g];

	if (p->demand[g] > (u64)s->cur[g] * s->t->hi)
		target = vspace_div_up(p->demand[g], s->t->mid);
	if (miss)
		target = vspace_max(target, s->cur[g] + 1);
	target = vspace_min(target, s->cap[g]);

	while (s->cur[g] < target) {
		if (in->mode != VSPACE_MODE_PERFORMANCE && s->free) {
			vspace_move(s, -1, g);
		} else if (vspace_spare(p, in, s, o)) {
			vspace_move(s, o, g);
			vspace_moved(p, g);
		} else if (miss && !*stole && !in->slo_tight[o] &&
			   s->cur[o] > s->floor[o]) {
			vspace_move(s, o, g);
			vspace_moved(p, g);
			*stole = true;
		} else {
			break;
		}
	}
	if (s->cur[g] == old)
		return 0;
	vspace_grew(p, g);
	return miss ? VSPACE_WHY_SLO : VSPACE_WHY_DEMAND;
}

/*
 * The group a split by demand would give a CPU to, -1 for none. Only when
 * the CPUs cannot hold both groups at the target (mid) and none are free.
 */
static int vspace_balance_to(const struct vspace_policy *p,
			     const struct vspace_step *s)
{
	u64 dvm = p->demand[VSPACE_PG_VM], dio = p->demand[VSPACE_PG_IO];
	u64 n = s->cur[VSPACE_PG_VM] + s->cur[VSPACE_PG_IO];
	u64 ideal, now = (u64)s->cur[VSPACE_PG_IO] * 1000, need = 0;
	int g;

	if (s->free)
		return -1;
	for (g = 0; g < VSPACE_NR_PG; g++)
		need += vspace_max(s->floor[g],
				   vspace_min(s->cap[g],
					      vspace_div_up(p->demand[g], s->t->mid)));
	if (need <= n)
		return -1;
	ideal = vspace_div64(n * 1000 * dio, dvm + dio);
	if (ideal >= now + VSPACE_BALANCE_MCPU &&
	    s->cur[VSPACE_PG_IO] < s->cap[VSPACE_PG_IO] &&
	    s->cur[VSPACE_PG_VM] > s->floor[VSPACE_PG_VM])
		return VSPACE_PG_IO;
	if (ideal + VSPACE_BALANCE_MCPU <= now &&
	    s->cur[VSPACE_PG_IO] > s->floor[VSPACE_PG_IO])
		return VSPACE_PG_VM;
	return -1;
}

/*
 * Split by demand, one CPU per interval. A CPU that moves takes its waits
 * with it: the group that lost it waits more and looks the needier. So a
 * move back asked for at once (within VSPACE_BALANCE_ECHO intervals of
 * the last move between the groups) is that move's echo: it waits until
 * asked for @bal_hold times more than not, and the next echo waits four
 * times as long. A move back asked for later is a change of load: made at
 * once.
 */
static u32 vspace_balance(struct vspace_policy *p, struct vspace_step *s)
{
	int to = vspace_balance_to(p, s);

	if (to < 0) {
		if (p->bal_calm)
			p->bal_calm--;
		return 0;
	}
	if (p->bal_dir >= 0 && to != p->bal_dir) {
		/*
		 * The first ask since the move, or one after an ask that came
		 * too late to be an echo died out; an echo stays one until the
		 * next move, even if noise lets its count fall to 0.
		 */
		if (p->bal_asked <= p->bal_tick ||
		    (!p->bal_calm &&
		     p->bal_asked - p->bal_tick > VSPACE_BALANCE_ECHO))
			p->bal_asked = p->tick;
		if (p->bal_asked - p->bal_tick <= VSPACE_BALANCE_ECHO) {
			if (++p->bal_calm < p->bal_hold)
				return 0;
			p->bal_hold = vspace_min(p->bal_hold * VSPACE_HOLD_BACKOFF,
						 VSPACE_BALANCE_HOLD_MAX);
		}
	}
	vspace_move(s, !to, to);
	vspace_moved(p, to);
	/* It undid a release: that was hasty (the release hold backs off). */
	if (p->shrunk[to])
		vspace_grew(p, to);
	return VSPACE_WHY_BALANCE;
}

/* Give back one CPU of a group that has been calm long enough. */
static u32 vspace_release(struct vspace_policy *p,
			  const struct vspace_policy_in *in,
			  struct vspace_step *s, int g)
{
	bool calm = !in->slo_tight[VSPACE_PG_VM] && !in->slo_tight[VSPACE_PG_IO] &&
		    s->cur[g] > s->floor[g] &&
		    (p->demand[g] <= (u64)(s->cur[g] - 1) * s->t->lo ||
		     s->cur[g] > s->cap[g]);

	/* In performance mode all CPUs are used: only I/O gives, to VM. */
	if (in->mode == VSPACE_MODE_PERFORMANCE && g == VSPACE_PG_VM)
		calm = false;
	if (!calm) {
		p->calm[g] = 0;
		return 0;
	}
	if (++p->calm[g] < p->hold[g])
		return 0;
	if (in->mode == VSPACE_MODE_PERFORMANCE) {
		vspace_move(s, g, VSPACE_PG_VM);
	} else {
		s->cur[g]--;
		s->free++;
	}
	/* The last release lasted: be a little quicker next time. */
	if (p->shrunk[g])
		p->hold[g] = vspace_max(p->hold[g] / 2, VSPACE_HOLD_MIN);
	p->shrunk[g] = p->tick;
	p->calm[g] = 0;
	return VSPACE_WHY_RELEASE;
}

void vspace_policy_decide(struct vspace_policy *p,
			  const struct vspace_policy_in *in,
			  struct vspace_policy_out *out)
{
	u32 n = in->ncpus, mode = in->mode < NR_VSPACE_MODES ? in->mode : 0;
	struct vspace_step s = { .t = &vspace_thresholds[mode] };
	bool stole = false;
	u32 why = 0, io_hi, cap;
	int g, first;

	/* Whole: a decision with no CPU or no interval has no demand. */
	*out = (struct vspace_policy_out){
		.old_vm = p->vm,
		.old_io = p->io,
		.old_free = p->ncpus - p->vm - p->io,
	};
	p->tick++;
	if (vspace_policy_clamp(p, n, in->io_min, in->io_max, mode))
		why |= VSPACE_WHY_BOUNDS;
	if (mode != p->mode)
		why |= VSPACE_WHY_MODE;
	p->mode = mode;
	/* New thresholds: no echo of the old split to hold. */
	if (why & VSPACE_WHY_MODE)
		vspace_balance_reset(p);
	if (!n || !in->interval_ns)
		goto out;

	s.cur[VSPACE_PG_VM] = p->vm;
	s.cur[VSPACE_PG_IO] = p->io;
	s.free = n - p->vm - p->io;
	io_hi = vspace_io_cap(n, in->io_max);
	s.floor[VSPACE_PG_VM] = 1;
	s.floor[VSPACE_PG_IO] = vspace_min(in->io_min, io_hi);
	if (in->g[VSPACE_PG_IO].threads && io_hi)
		s.floor[VSPACE_PG_IO] = vspace_max(s.floor[VSPACE_PG_IO], 1);
	cap = vspace_max(s.floor[VSPACE_PG_IO], in->g[VSPACE_PG_IO].threads);
	s.cap[VSPACE_PG_IO] = vspace_min(cap, io_hi);
	cap = vspace_max(1, in->g[VSPACE_PG_VM].threads);
	s.cap[VSPACE_PG_VM] = vspace_min(cap, n - s.floor[VSPACE_PG_IO]);

	for (g = 0; g < VSPACE_NR_PG; g++) {
		const struct vspace_pgroup *pg = &in->g[g];
		/* Busy on the CPUs it had, which whole cores may round. */
		u64 d = (u64)pg->util_pct * (pg->cpus ? pg->cpus : s.cur[g]) * 10 +
			vspace_div64(pg->wait_ns * 1000, in->interval_ns);

		p->demand[g] = p->tick == 1 ? d : (p->demand[g] + d) / 2;
		out->demand[g] = p->demand[g];
	}

	/* A group below its floor (vhost workers appeared) gets it first. */
	for (g = 0; g < VSPACE_NR_PG; g++) {
		while (s.cur[g] < s.floor[g]) {
			if (s.free)
				vspace_move(&s, -1, g);
			else if (s.cur[!g] > s.floor[!g])
				vspace_move(&s, !g, g);
			else
				break;
			why |= VSPACE_WHY_BOUNDS;
		}
	}

	/* The group with more SLO misses first, then the other. */
	first = in->slo_miss[VSPACE_PG_IO] >= in->slo_miss[VSPACE_PG_VM] ?
		VSPACE_PG_IO : VSPACE_PG_VM;
	why |= vspace_grow(p, in, &s, first, &stole);
	why |= vspace_grow(p, in, &s, !first, &stole);
	if (!(why & (VSPACE_WHY_SLO | VSPACE_WHY_DEMAND)))
		why |= vspace_balance(p, &s);
	if (!(why & (VSPACE_WHY_SLO | VSPACE_WHY_DEMAND | VSPACE_WHY_BALANCE))) {
		why |= vspace_release(p, in, &s, VSPACE_PG_IO);
		why |= vspace_release(p, in, &s, VSPACE_PG_VM);
	} else {
		p->calm[VSPACE_PG_VM] = 0;
		p->calm[VSPACE_PG_IO] = 0;
	}
	p->vm = s.cur[VSPACE_PG_VM];
	p->io = s.cur[VSPACE_PG_IO];
out:
	out->vm = p->vm;
	out->io = p->io;
	out->free = n - p->vm - p->io;
	if (out->vm == out->old_vm && out->io == out->old_io &&
	    out->free == out->old_free)
		why &= ~(VSPACE_WHY_BOUNDS | VSPACE_WHY_RELEASE);
	out->why = why;
}

/* Decide whether VM @v's I/O is confined; returns whether that changed. */
bool vspace_policy_isolate(const struct vspace_policy *p,
			   const struct vspace_policy_in *in,
			   struct vspace_policy_vm *v)
{
	bool was = v->confined, saturated, over = false;
	u32 sat_pct, io;
	u64 share;

	/*
	 * Busy plus waiting: threads that wait on an idle-looking CPU count.
	 * Once isolating, until demand falls well below: no flapping.
	 */
	sat_pct = in->confined ? VSPACE_UNSATURATED_PCT : VSPACE_SATURATED_PCT;
	/* Its size, or the CPUs it had if whole cores rounded it up. */
	io = vspace_max(p->io, in->g[VSPACE_PG_IO].cpus);
	saturated = in->isolation && p->io &&
		    p->demand[VSPACE_PG_IO] >= (u64)io * sat_pct * 10;
	/* Only when someone else did I/O too: alone, a VM has it all. */
	if (saturated && v->io_avg && in->weight_sum > v->weight) {
		share = vspace_div64(in->io_ns * v->weight, in->weight_sum);
		over = v->io_avg * 100 > share * VSPACE_OVER_SHARE_PCT;
	}
	if (!in->isolation) {
		v->confined = false;
	} else if (over) {
		v->confined = true;
		v->calm = 0;
	} else if (v->confined && ++v->calm >= VSPACE_CONFINE_CALM) {
		v->confined = false;
		v->calm = 0;
	}
	return v->confined != was;
}

/*
 * The I/O CPUs the confined VMs get to themselves (@prev until now, 0 for
 * none), when the others' vhost workers used @open_io_ns of CPU time
 * (smoothed) in an interval: all but what those need (at least one), so
 * nothing the others leave idles. The others' part grows at once when
 * they need more than it at the mode's mid utilisation, and shrinks only
 * when they would stay below lo on fewer CPUs, so their noise does not
 * move the split every interval. The others are within their shares, so
 * the confined VMs get at least theirs. None when the group cannot be
 * split: one CPU, or the others need all of it (then priority is what is
 * left).
 */
u32 vspace_policy_confined_cpus(const struct vspace_policy *p,
				const struct vspace_policy_in *in,
				u64 open_io_ns, u32 prev)
{
	u32 mode = in->mode < NR_VSPACE_MODES ? in->mode : 0;
	const struct vspace_thresholds *t = &vspace_thresholds[mode];
	u32 open, need_mid, need_lo;
	u64 mcpu;

	if (p->io < 2 || !in->interval_ns)
		return 0;
	mcpu = vspace_div64(open_io_ns * 1000, in->interval_ns);
	need_mid = vspace_max(1, vspace_div_up(mcpu, t->mid));
	need_lo = vspace_max(1, vspace_div_up(mcpu, t->lo));
	open = prev && prev < p->io ? p->io - prev : need_mid;
	if (need_mid > open)
		open = need_mid;
	else if (need_lo < open)
		open = need_lo;
	return open < p->io ? p->io - open : 0;
}
