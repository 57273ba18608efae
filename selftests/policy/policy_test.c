// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of module/policy.c, built from the very file the module uses
 * and run on the host: every test drives the heuristic interval by interval
 * with a synthetic load and checks what it decides. A load is described in
 * CPUs of demand per group; the model turns it into what the module would
 * measure: utilisation min(demand, size) / size and run-queue wait
 * max(0, demand - size) per interval.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define INTERVAL_NS 100000000ULL	/* 100 ms */

static int failures, passes, checks_failed;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		printf("#   %s:%d: %s: ", __FILE__, __LINE__, #cond);	\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		checks_failed++;					\
	}								\
} while (0)

/* A simulated host: the policy, its configuration and the VMs. */
struct sim {
	struct vspace_policy p;
	struct vspace_policy_in in;
	struct vspace_policy_out out;
	u32 ncpus, io_min, io_max, mode;
	u32 vm_threads, io_threads;
	bool isolation;
	struct vspace_policy_vm vms[4];
	int nr_vms;
	int resizes;
	u64 tick;
};

static void sim_init(struct sim *s, u32 ncpus, u32 mode)
{
	memset(s, 0, sizeof(*s));
	s->ncpus = ncpus;
	s->io_min = ncpus > 1 ? 1 : 0;
	s->io_max = ncpus ? ncpus - 1 : 0;
	s->mode = mode;
	s->vm_threads = 8;
	s->io_threads = 4;
	s->isolation = true;
	vspace_policy_init(&s->p, ncpus, s->io_min, s->io_max, mode);
}

static struct vspace_policy_vm *sim_vm(struct sim *s, u32 slo_us, u32 weight)
{
	struct vspace_policy_vm *v = &s->vms[s->nr_vms++];

	v->slo_us = slo_us;
	v->weight = weight;
	return v;
}

/* Utilisation in percent and wait of @d milli-CPUs on @size CPUs. */
static void load(struct vspace_pgroup *g, u64 d, u32 size)
{
	u64 cap = (u64)size * 1000;
	u64 ran = d < cap ? d : cap;

	g->util_pct = size ? (u32)(ran * 100 / cap) : 0;
	g->wait_ns = (d - ran) * INTERVAL_NS / 1000;
}

/*
 * One interval with @dvm and @dio milli-CPUs of demand; each VM's p99 is
 * what the caller set. Returns whether the sizes changed.
 */
static bool step(struct sim *s, u64 dvm, u64 dio)
{
	struct vspace_policy_in *in = &s->in;
	int i;

	memset(in, 0, sizeof(*in));
	in->mode = s->mode;
	in->ncpus = s->ncpus;
	in->io_min = s->io_min;
	in->io_max = s->io_max;
	in->interval_ns = INTERVAL_NS;
	in->isolation = s->isolation;
	in->g[VSPACE_PG_VM].threads = s->vm_threads;
	in->g[VSPACE_PG_IO].threads = s->io_threads;
	load(&in->g[VSPACE_PG_VM], dvm, s->p.vm);
	load(&in->g[VSPACE_PG_IO], dio, s->p.io);
	for (i = 0; i < s->nr_vms; i++)
		vspace_policy_account(in, &s->vms[i]);
	vspace_policy_decide(&s->p, in, &s->out);
	for (i = 0; i < s->nr_vms; i++)
		in->confined += s->vms[i].confined;
	for (i = 0; i < s->nr_vms; i++)
		vspace_policy_isolate(&s->p, in, &s->vms[i]);
	s->tick++;
	if (s->out.vm != s->out.old_vm || s->out.io != s->out.old_io) {
		s->resizes++;
		return true;
	}
	return false;
}

static void run(struct sim *s, int n, u64 dvm, u64 dio)
{
	while (n--)
		step(s, dvm, dio);
}

/* Deterministic noise: a value within +-pct% of @v. */
static u64 noisy(u64 v, int pct)
{
	static unsigned long long x = 88172645463325252ULL;
	long long r;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	r = (long long)(x % (2 * pct + 1)) - pct;
	return (u64)((long long)v + (long long)v * r / 100);
}

static void check_bounds(struct sim *s)
{
	CHECK(s->p.vm + s->p.io <= s->ncpus, "vm %u + io %u > %u",
	      s->p.vm, s->p.io, s->ncpus);
	if (s->ncpus) {
		CHECK(s->p.vm >= 1, "vm group empty");
		CHECK(s->p.io <= s->io_max, "io %u > io_max %u", s->p.io, s->io_max);
	}
	if (s->ncpus > 1)
		CHECK(s->p.io >= s->io_min, "io %u < io_min %u", s->p.io, s->io_min);
	if (s->mode == VSPACE_MODE_PERFORMANCE)
		CHECK(s->p.vm + s->p.io == s->ncpus, "performance left %u free",
		      s->ncpus - s->p.vm - s->p.io);
}

static void test_step_up_down(void)
{
	static const u32 modes[] = { VSPACE_MODE_PERFORMANCE, VSPACE_MODE_ENERGY,
				     VSPACE_MODE_RESOURCE };
	struct sim s;
	int m, i;

	for (m = 0; m < 3; m++) {
		sim_init(&s, 8, modes[m]);
		run(&s, 50, 2000, 500);
		CHECK(s.p.io == 1, "mode %u: io %u at light I/O", modes[m], s.p.io);
		for (i = 0; i < 3 && s.p.io < 3; i++)
			step(&s, 2000, 2600);
		CHECK(s.p.io >= 3, "mode %u: io %u after 3 intervals of 2.6 CPUs",
		      modes[m], s.p.io);
		check_bounds(&s);
		run(&s, 300, 2000, 300);
		CHECK(s.p.io == 1, "mode %u: io %u after the load left", modes[m],
		      s.p.io);
		check_bounds(&s);
	}
}

/*
 * Performance mode, every CPU in use: the VM group is half busy (it would
 * keep its CPUs at the low threshold) while two vhost workers overload
 * the single I/O CPU. The CPUs cannot hold both at the target, so they
 * are split by demand: the I/O group gets a second CPU.
 */
static void test_split_by_demand(void)
{
	struct sim s;
	int i;

	sim_init(&s, 4, VSPACE_MODE_PERFORMANCE);
	s.vm_threads = 4;
	s.io_threads = 2;
	for (i = 0; i < 5 && s.p.io < 2; i++)
		step(&s, 1455, 1545);
	CHECK(s.p.io == 2 && s.p.vm == 2, "vm %u io %u", s.p.vm, s.p.io);
	s.resizes = 0;
	run(&s, 1000, 1455, 1545);
	CHECK(s.resizes == 0, "%d resizes at steady load", s.resizes);
}

static void test_ramp(void)
{
	struct sim s;
	u32 last = 0;
	int i;

	sim_init(&s, 8, VSPACE_MODE_ENERGY);
	for (i = 0; i <= 400; i++) {
		step(&s, 1000, 100 + i * 10);		/* 0.1 -> 4.1 CPUs */
		CHECK(s.p.io >= last, "io shrank from %u to %u on a rising ramp",
		      last, s.p.io);
		last = s.p.io;
		check_bounds(&s);
	}
	CHECK(s.p.io == 4, "io %u at the top of the ramp (4 workers)", s.p.io);
	/* Enough for the load at the grow threshold. */
	CHECK((u64)s.p.io * 900 >= 4100 || s.p.io == 4, "io %u too small", s.p.io);
}

static void test_steady_noise(void)
{
	static const u32 modes[] = { VSPACE_MODE_PERFORMANCE, VSPACE_MODE_ENERGY,
				     VSPACE_MODE_RESOURCE };
	u64 level;
	struct sim s;
	int m, worst = 0;

	for (m = 0; m < 3; m++) {
		for (level = 200; level <= 3800; level += 150) {
			sim_init(&s, 8, modes[m]);
			run(&s, 1000, noisy(2000, 25) * 0 + 2000, 0);
			s.resizes = 0;
			{
				int i;

				for (i = 0; i < 1000; i++)
					step(&s, noisy(2000, 25), noisy(level, 25));
			}
			if (s.resizes > worst)
				worst = s.resizes;
			CHECK(s.resizes <= 10, "mode %u, I/O load %llu +-25%%: %d resizes in 1000 intervals",
			      modes[m], (unsigned long long)level, s.resizes);
		}
	}
	/* Waits that wander around an SLO, sometimes over it. */
	for (m = 0; m < 3; m++) {
		struct vspace_policy_vm *v;
		int i;

		sim_init(&s, 8, modes[m]);
		v = sim_vm(&s, 1000, 100);
		for (i = 0; i < 1000; i++) {
			v->p99_ns[VSPACE_PG_IO] = noisy(850000, 25);
			step(&s, noisy(2000, 25), noisy(1200, 25));
		}
		if (s.resizes > worst)
			worst = s.resizes;
		CHECK(s.resizes <= 10, "mode %u, p99 850 us +-25%% against 1 ms: %d resizes",
		      modes[m], s.resizes);
	}
	printf("# steady noise: at most %d resizes per 1000 intervals\n", worst);
}

static void test_slo_miss_grows(void)
{
	static const u32 modes[] = { VSPACE_MODE_PERFORMANCE, VSPACE_MODE_ENERGY,
				     VSPACE_MODE_RESOURCE };
	struct vspace_policy_vm *v;
	struct sim s;
	u32 before;
	int m, i;

	for (m = 0; m < 3; m++) {
		sim_init(&s, 8, modes[m]);
		v = sim_vm(&s, 500, 100);
		run(&s, 300, 1500, 500);
		before = s.p.io;
		v->p99_ns[VSPACE_PG_IO] = 2000000;	/* 2 ms against 500 us */
		for (i = 0; i < 2 && s.p.io == before; i++)
			step(&s, 1500, 500);
		CHECK(s.p.io > before, "mode %u: io %u -> %u after 2 intervals of SLO miss",
		      modes[m], before, s.p.io);
		CHECK(s.out.why & VSPACE_WHY_SLO, "reason %#x", s.out.why);
		/* The VM side too. */
		v->p99_ns[VSPACE_PG_IO] = 0;
		before = s.p.vm;
		v->p99_ns[VSPACE_PG_VM] = 2000000;
		for (i = 0; i < 2 && s.p.vm == before; i++)
			step(&s, 1500, 500);
		if (modes[m] != VSPACE_MODE_PERFORMANCE || before < s.ncpus - s.p.io)
			CHECK(s.p.vm > before || s.p.vm == 8 - s.p.io,
			      "mode %u: vm %u -> %u after 2 intervals of SLO miss",
			      modes[m], before, s.p.vm);
		check_bounds(&s);
	}
}

static void test_release_needs_margin(void)
{
	struct vspace_policy_vm *v;
	struct sim s;

	sim_init(&s, 8, VSPACE_MODE_ENERGY);
	v = sim_vm(&s, 1000, 100);
	s.p.io = 4;
	s.p.vm = 4;
	v->p99_ns[VSPACE_PG_IO] = 900000;	/* met, but within 3/4..1 */
	run(&s, 1000, 200, 200);
	CHECK(s.p.io == 4 && s.p.vm == 4, "released without margin: vm %u io %u",
	      s.p.vm, s.p.io);
	v->p99_ns[VSPACE_PG_IO] = 100000;	/* margin */
	run(&s, 1000, 200, 200);
	CHECK(s.p.io == 1 && s.p.vm == 1, "no release with margin: vm %u io %u",
	      s.p.vm, s.p.io);
	/* A fed latency without margin holds the CPUs too. */
	s.p.io = 4;
	s.p.vm = 4;
	v->latency_fresh = true;
	v->latency_us = 800;
	run(&s, 1000, 200, 200);
	CHECK(s.p.io == 4 && s.p.vm == 4, "released with fed latency 800/1000 us");
	v->latency_us = 100;
	run(&s, 1000, 200, 200);
	CHECK(s.p.io == 1 && s.p.vm == 1, "no release with fed latency 100/1000 us");
	/* The latency feed, while fresh, overrides the wait. */
	v->latency_fresh = true;
	v->latency_us = 1500;
	step(&s, 200, 200);
	step(&s, 200, 200);
	CHECK(s.p.io + s.p.vm > 2, "fed latency 1.5 ms > 1 ms SLO: no growth");
}

static void test_bounds(void)
{
	struct sim s;

	sim_init(&s, 8, VSPACE_MODE_PERFORMANCE);
	s.io_min = 2;
	s.io_max = 3;
	run(&s, 200, 100, 8000);
	CHECK(s.p.io == 3, "io %u under huge I/O load with io_max 3", s.p.io);
	check_bounds(&s);
	run(&s, 2000, 100, 0);
	CHECK(s.p.io == 2, "io %u idle with io_min 2", s.p.io);
	check_bounds(&s);
	/* io_max 0: vhost shares the VM group. */
	s.io_min = 0;
	s.io_max = 0;
	run(&s, 5, 100, 3000);
	CHECK(s.p.io == 0 && s.p.vm == 8, "io_max 0: vm %u io %u", s.p.vm, s.p.io);
	/* Fewer CPUs (hotplug): the sizes fit at once. */
	s.io_max = 7;
	run(&s, 50, 8000, 8000);
	s.ncpus = 3;
	s.io_max = 2;
	step(&s, 8000, 8000);
	check_bounds(&s);
	CHECK(s.out.why, "hotplug: no reason given");
	/* A group never grows past its threads. */
	sim_init(&s, 8, VSPACE_MODE_PERFORMANCE);
	s.io_threads = 1;
	run(&s, 100, 500, 5000);
	CHECK(s.p.io == 1, "io %u with one vhost worker", s.p.io);
}

static void test_modes(void)
{
	struct vspace_policy_vm *v;
	struct sim perf, energy, res;

	sim_init(&perf, 8, VSPACE_MODE_PERFORMANCE);
	sim_init(&energy, 8, VSPACE_MODE_ENERGY);
	sim_init(&res, 8, VSPACE_MODE_RESOURCE);
	v = sim_vm(&perf, 1000, 100);
	v = sim_vm(&energy, 1000, 100);
	v = sim_vm(&res, 1000, 100);
	(void)v;
	run(&perf, 500, 1500, 900);
	run(&energy, 500, 1500, 900);
	run(&res, 500, 1500, 900);
	CHECK(perf.p.vm + perf.p.io == 8, "performance uses %u of 8",
	      perf.p.vm + perf.p.io);
	CHECK(energy.p.vm + energy.p.io < 8, "energy uses all 8");
	CHECK(energy.p.vm + energy.p.io <= res.p.vm + res.p.io,
	      "energy %u > resource %u", energy.p.vm + energy.p.io,
	      res.p.vm + res.p.io);
	/* Energy still fits the load under its grow threshold. */
	CHECK((u64)energy.p.vm * 900 >= 1500 && (u64)energy.p.io * 900 >= 900,
	      "energy too small: vm %u io %u", energy.p.vm, energy.p.io);
	CHECK(res.out.free == 8 - res.p.vm - res.p.io, "free %u", res.out.free);

	/* Switching to performance takes every CPU at once... */
	energy.mode = VSPACE_MODE_PERFORMANCE;
	step(&energy, 1500, 900);
	CHECK(energy.p.vm + energy.p.io == 8, "after switch: %u",
	      energy.p.vm + energy.p.io);
	CHECK(energy.out.why & VSPACE_WHY_MODE, "reason %#x", energy.out.why);
	/* ...and back to energy releases them again. */
	energy.mode = VSPACE_MODE_ENERGY;
	run(&energy, 500, 1500, 900);
	CHECK(energy.p.vm + energy.p.io < 8, "energy again uses all 8");
}

static void test_weights(void)
{
	struct vspace_policy_vm *a, *b;
	struct sim s;

	sim_init(&s, 4, VSPACE_MODE_PERFORMANCE);
	s.io_max = 1;
	a = sim_vm(&s, 0, 100);
	b = sim_vm(&s, 500, 100);
	/* A floods: 95% of the I/O CPU; B does a little. */
	a->io_ns = INTERVAL_NS * 95 / 100;
	b->io_ns = INTERVAL_NS * 5 / 100;
	step(&s, 500, 1600);
	CHECK(a->confined && !b->confined, "equal weights: A %d B %d",
	      a->confined, b->confined);
	/* Weight 100:5 gives A a share of 95%: no longer over it. */
	a->weight = 2000;
	run(&s, 4, 500, 1600);
	CHECK(a->confined, "A let go before 5 intervals within its share");
	run(&s, 1, 500, 1600);
	CHECK(!a->confined, "A within a 95%% share still confined");
	/* Without saturation nobody is confined. */
	a->weight = 100;
	step(&s, 500, 1600);
	CHECK(a->confined, "A over its share not confined");
	a->io_ns = INTERVAL_NS / 2;
	run(&s, 10, 500, 600);
	CHECK(!a->confined, "A still confined without saturation");
	/* Alone (once B's smoothed I/O time has died out), a VM has it all. */
	a->io_ns = INTERVAL_NS;
	b->io_ns = 0;
	run(&s, 100, 500, 2000);
	CHECK(!a->confined, "A confined while alone");
	/* Confined, demand between 75% and 90%: it stays (no flapping). */
	a->io_ns = INTERVAL_NS * 95 / 100;
	b->io_ns = INTERVAL_NS / 20;
	run(&s, 5, 500, 2000);
	CHECK(a->confined, "A not confined under a flood");
	run(&s, 20, 500, 820);
	CHECK(a->confined, "A let go at 82%% demand while isolating");
	run(&s, 20, 500, 600);
	CHECK(!a->confined, "A still confined at 60%% demand");
	/* Isolation off: nothing is confined. */
	b->io_ns = INTERVAL_NS / 20;
	step(&s, 500, 2000);
	CHECK(a->confined, "A not confined again");
	s.isolation = false;
	step(&s, 500, 2000);
	CHECK(!a->confined, "isolation off, A still confined");
}

/*
 * Two flooders taking turns on a saturated I/O CPU (80/20, then 20/80 of
 * an interval) and a quiet VM with 2%; now and then an interval in which
 * the flooders barely ran and the quiet VM's packets were most of the
 * I/O. Shares are judged on smoothed I/O time:
 * both flooders stay confined and the quiet VM never is.
 */
static void test_weights_turns(void)
{
	struct vspace_policy_vm *a, *b, *c;
	int i, both = 0, quiet = 0;
	struct sim s;

	sim_init(&s, 4, VSPACE_MODE_PERFORMANCE);
	s.io_max = 1;
	a = sim_vm(&s, 0, 100);
	b = sim_vm(&s, 0, 100);
	c = sim_vm(&s, 500, 100);
	for (i = 0; i < 300; i++) {
		bool gap = i % 7 == 6;

		a->io_ns = INTERVAL_NS * (gap ? 1 : i % 2 ? 80 : 20) / 100;
		b->io_ns = gap ? 0 : INTERVAL_NS * (i % 2 ? 20 : 80) / 100;
		c->io_ns = INTERVAL_NS * 2 / 100;
		step(&s, 500, 1600);
		if (i < 10)
			continue;
		both += a->confined && b->confined;
		quiet += c->confined;
	}
	CHECK(both == 290, "flooders both confined in %d of 290 intervals", both);
	CHECK(quiet == 0, "quiet VM confined in %d intervals", quiet);
}

/* The confined VMs' I/O CPUs when the others used @open_ms per interval. */
static u32 confined_cpus(struct sim *s, u64 open_ms, u32 prev)
{
	return vspace_policy_confined_cpus(&s->p, &s->in, open_ms * 1000000,
					   prev);
}

/*
 * The split of a saturated I/O group (performance: mid 650, lo 500
 * milli-CPUs per CPU): the confined VMs get every CPU the others do not
 * need, at least one left to those; the others' part grows at once and
 * shrinks only below lo; no split with one I/O CPU or when the others need
 * it all.
 */
static void test_confined_split(void)
{
	struct vspace_policy_vm *a, *b;
	struct sim s;

	sim_init(&s, 4, VSPACE_MODE_PERFORMANCE);
	s.io_min = s.io_max = 2;
	a = sim_vm(&s, 0, 100);
	b = sim_vm(&s, 0, 100);
	a->io_ns = INTERVAL_NS * 19 / 10;
	b->io_ns = INTERVAL_NS / 10;
	run(&s, 5, 500, 2500);
	CHECK(s.p.io == 2 && a->confined && !b->confined,
	      "io %u A %d B %d", s.p.io, a->confined, b->confined);
	/* B used 10 ms of 100: one CPU is plenty, A gets the other. */
	CHECK(confined_cpus(&s, 10, 0) == 1, "2 CPUs: %u",
	      confined_cpus(&s, 10, 0));
	/* B needs both at mid (0.7 CPU > 0.65 on one): no split. */
	CHECK(confined_cpus(&s, 70, 0) == 0, "others need all: %u",
	      confined_cpus(&s, 70, 0));

	sim_init(&s, 8, VSPACE_MODE_PERFORMANCE);
	s.io_min = s.io_max = 4;
	a = sim_vm(&s, 0, 100);
	b = sim_vm(&s, 0, 100);
	a->io_ns = INTERVAL_NS * 38 / 10;
	b->io_ns = INTERVAL_NS / 10;
	run(&s, 5, 500, 5000);
	CHECK(s.p.io == 4 && a->confined, "io %u A %d", s.p.io, a->confined);
	CHECK(confined_cpus(&s, 10, 0) == 3, "4 CPUs, others 0.1: %u",
	      confined_cpus(&s, 10, 0));
	/* The others grow to 0.9 CPU: their part grows to 2 at once... */
	CHECK(confined_cpus(&s, 90, 3) == 2, "others 0.9: %u",
	      confined_cpus(&s, 90, 3));
	/* ...and stays at 0.6 (above lo on one CPU)... */
	CHECK(confined_cpus(&s, 60, 2) == 2, "others 0.6: %u",
	      confined_cpus(&s, 60, 2));
	/* ...and shrinks back at 0.4. */
	CHECK(confined_cpus(&s, 40, 2) == 3, "others 0.4: %u",
	      confined_cpus(&s, 40, 2));

	sim_init(&s, 4, VSPACE_MODE_PERFORMANCE);
	s.io_max = 1;
	a = sim_vm(&s, 0, 100);
	b = sim_vm(&s, 0, 100);
	a->io_ns = INTERVAL_NS * 95 / 100;
	b->io_ns = INTERVAL_NS / 20;
	run(&s, 5, 500, 1600);
	CHECK(a->confined, "one I/O CPU: A not confined");
	CHECK(confined_cpus(&s, 5, 0) == 0, "one I/O CPU split: %u",
	      confined_cpus(&s, 5, 0));
}

static void test_degenerate(void)
{
	struct sim s;

	sim_init(&s, 0, VSPACE_MODE_PERFORMANCE);
	run(&s, 10, 1000, 1000);
	CHECK(s.p.vm == 0 && s.p.io == 0, "0 CPUs: vm %u io %u", s.p.vm, s.p.io);

	sim_init(&s, 1, VSPACE_MODE_ENERGY);
	run(&s, 100, 3000, 3000);
	CHECK(s.p.vm == 1 && s.p.io == 0, "1 CPU: vm %u io %u", s.p.vm, s.p.io);

	/* No VMs, no threads. */
	sim_init(&s, 8, VSPACE_MODE_RESOURCE);
	s.vm_threads = 0;
	s.io_threads = 0;
	run(&s, 500, 0, 0);
	CHECK(s.p.vm == 1 && s.p.io == 1, "no VMs: vm %u io %u", s.p.vm, s.p.io);

	/* A VM without vhost and io_min 0: no I/O group at all. */
	sim_init(&s, 8, VSPACE_MODE_ENERGY);
	s.io_min = 0;
	s.io_threads = 0;
	run(&s, 500, 2000, 0);
	CHECK(s.p.io == 0, "no vhost, io_min 0: io %u", s.p.io);
	/* Then its vhost worker shows up: the I/O group comes back. */
	s.io_threads = 1;
	step(&s, 2000, 500);
	CHECK(s.p.io == 1, "vhost appeared: io %u", s.p.io);
	check_bounds(&s);

	/* A zero-length interval changes nothing. */
	sim_init(&s, 4, VSPACE_MODE_PERFORMANCE);
	memset(&s.in, 0, sizeof(s.in));
	s.in.ncpus = 4;
	s.in.io_min = 1;
	s.in.io_max = 3;
	vspace_policy_decide(&s.p, &s.in, &s.out);
	CHECK(!s.out.why, "zero interval: reason %#x", s.out.why);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "step_up_down", test_step_up_down },
	{ "ramp", test_ramp },
	{ "split_by_demand", test_split_by_demand },
	{ "steady_noise", test_steady_noise },
	{ "slo_miss_grows", test_slo_miss_grows },
	{ "release_needs_margin", test_release_needs_margin },
	{ "bounds", test_bounds },
	{ "modes", test_modes },
	{ "weights", test_weights },
	{ "weights_turns", test_weights_turns },
	{ "confined_split", test_confined_split },
	{ "degenerate", test_degenerate },
};

int main(void)
{
	unsigned int i, n = sizeof(tests) / sizeof(tests[0]);

	printf("TAP version 13\n1..%u\n", n);
	for (i = 0; i < n; i++) {
		checks_failed = 0;
		tests[i].fn();
		if (checks_failed) {
			failures++;
			printf("not ok %u policy.%s\n", i + 1, tests[i].name);
		} else {
			passes++;
			printf("ok %u policy.%s\n", i + 1, tests[i].name);
		}
	}
	printf("# %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
