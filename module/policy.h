/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The allocation heuristic's interface. policy.c includes only this file,
 * so the same policy.c builds into the module and, unchanged, into the
 * userspace unit tests and the replay simulator (userspace/vspace-sim).
 */
#ifndef _VSPACE_POLICY_H
#define _VSPACE_POLICY_H

#ifdef __KERNEL__
#include <linux/math64.h>
#include <linux/types.h>
#define vspace_div64(a, b)	div64_u64(a, b)
#else
#include <linux/types.h>
#include <stdbool.h>
typedef __u8 u8;
typedef __u32 u32;
typedef __u64 u64;
#define vspace_div64(a, b)	((a) / (b))
#endif

#include <uapi/vspace.h>

enum { VSPACE_PG_VM, VSPACE_PG_IO, VSPACE_NR_PG };

/*
 * Why the sizes changed, once: a bit each (a decision may have several)
 * and its name in the decisions file.
 *   slo      a VM missed its SLO
 *   demand   load above the grow threshold
 *   balance  both groups short: split by demand
 *   release  load low and every SLO has margin
 *   mode     the mode changed
 *   bounds   CPUs or io_cpus_min/max changed
 *   isolate  a VM's I/O was (un)confined
 */
#define VSPACE_REASONS(X)					\
	X(SLO, "slo")						\
	X(DEMAND, "demand")					\
	X(BALANCE, "balance")					\
	X(RELEASE, "release")					\
	X(MODE, "mode")						\
	X(BOUNDS, "bounds")					\
	X(ISOLATE, "isolate")

#define VSPACE_WHY_BIT_(id, name)	VSPACE_WHY_BIT_##id,
enum { VSPACE_REASONS(VSPACE_WHY_BIT_) VSPACE_NR_WHY };
#define VSPACE_WHY_(id, name)	VSPACE_WHY_##id = 1 << VSPACE_WHY_BIT_##id,
enum vspace_reason { VSPACE_REASONS(VSPACE_WHY_) };
/* Indexed by bit number. */
#define VSPACE_WHY_NAME_(id, name)	name,
#define VSPACE_WHY_NAMES { VSPACE_REASONS(VSPACE_WHY_NAME_) }

/* One group over the last interval. */
struct vspace_pgroup {
	u32 threads;	/* managed threads that belong to it */
	u32 cpus;	/* CPUs it had (whole cores); 0: the policy's size */
	u32 util_pct;	/* its CPUs' busy time, irq and softirq included */
	u64 wait_ns;	/* its managed threads' run-queue wait, summed */
	u64 p99_ns;	/* their p99 wakeup-to-run delay */
};

/**
 * struct vspace_policy_in - what the heuristic sees each interval
 * @mode:        enum vspace_mode.
 * @ncpus:       usable CPUs: vspace's cpus that are online.
 * @io_min:      io_cpus_min, io_cpus_max.
 * @io_max:
 * @interval_ns: the interval's real length.
 * @isolation:   weighted I/O isolation is on.
 * @confined:    VMs confined at the end of the last interval.
 * @g:           per group (VSPACE_PG_VM, VSPACE_PG_IO).
 * The rest is summed by vspace_policy_account() over the VMs:
 * @slo_miss:    VMs missing their SLO, by the group to grow.
 * @slo_tight:   VMs without margin (above 3/4 of their SLO), by group.
 * @weight_sum:  weights of the VMs whose vhost workers ran lately.
 * @io_ns:       their smoothed vhost CPU time: what shares are taken of.
 */
struct vspace_policy_in {
	u32 mode;
	u32 ncpus;
	u32 io_min;
	u32 io_max;
	u64 interval_ns;
	bool isolation;
	u32 confined;
	struct vspace_pgroup g[VSPACE_NR_PG];
	u32 slo_miss[VSPACE_NR_PG];
	u32 slo_tight[VSPACE_NR_PG];
	u64 weight_sum;
	u64 io_ns;
};

/**
 * struct vspace_policy_vm - one VM's inputs and its isolation state
 * @slo_us:      target p99 wakeup-to-run delay, 0 for none.
 * @latency_us:  the application's p99 latency, used instead of the wait
 *               while @latency_fresh.
 * @latency_fresh:
 * @weight:      1..10000.
 * @p99_ns:      p99 wait of its vCPU (VSPACE_PG_VM) and vhost threads.
 * @io_ns:       CPU time of its vhost workers in the interval.
 * @io_avg:      @io_ns smoothed over about four intervals: shares are
 *               judged on it, as one interval of round-robin is noise.
 * @slo_missed:  out: it missed its SLO this interval.
 * @confined:    out: its vhost workers yield to the other VMs' (isolation).
 * @calm:        intervals in a row it was within its share while confined.
 */
struct vspace_policy_vm {
	u32 slo_us;
	u64 latency_us;
	bool latency_fresh;
	u32 weight;
	u64 p99_ns[VSPACE_NR_PG];
	u64 io_ns;
	u64 io_avg;
	bool slo_missed;
	bool confined;
	u32 calm;
};

/**
 * struct vspace_policy - the heuristic's state between intervals
 * @vm:      size of the VM group.
 * @io:      size of the I/O group. The free CPUs are ncpus - vm - io.
 * @ncpus:   usable CPUs at the last decision.
 * @mode:    the mode of the last decision.
 * @tick:    intervals decided so far.
 * @demand:  smoothed demand per group, in milli-CPUs.
 * @calm:    intervals in a row the group could have given a CPU back.
 * @hold:    calm intervals needed before it does; grows when a release is
 *           soon undone, so steady noise cannot make the groups oscillate.
 * @shrunk:  tick of the group's last release, 0 for none.
 * @bal_dir: the group the last move between the groups (a split by demand
 *           or growth) gave a CPU to, -1 for none.
 * @bal_tick: tick of that move.
 * @bal_calm: how often the split has asked for the opposite move since
 *           (up one for each interval that asks, down one for each that
 *           does not).
 * @bal_asked: tick at which it began to ask.
 * @bal_hold: how much it must ask before that move: moving the CPU moves
 *           the waits that make up demand, so without it a split can swing
 *           back and forth every interval.
 */
struct vspace_policy {
	u32 vm;
	u32 io;
	u32 ncpus;
	u32 mode;
	u64 tick;
	u64 demand[VSPACE_NR_PG];
	u32 calm[VSPACE_NR_PG];
	u32 hold[VSPACE_NR_PG];
	u64 shrunk[VSPACE_NR_PG];
	int bal_dir;
	u64 bal_tick;
	u32 bal_calm;
	u64 bal_asked;
	u32 bal_hold;
};

/* What one interval decided; @why is 0 when nothing changed. */
struct vspace_policy_out {
	u32 old_vm, old_io, old_free;
	u32 vm, io, free;
	u64 demand[VSPACE_NR_PG];
	u32 why;
};

/* The constants of the model; see policy.c. */
#define VSPACE_HOLD_MIN		20	/* intervals */
#define VSPACE_HOLD_MAX		5000	/* intervals */
#define VSPACE_HOLD_BACKOFF	4	/* hold x this after a hasty release */
#define VSPACE_REVERT_WINDOW	100	/* intervals */
/* An SLO is tight (no margin to give CPUs away) above this share of it. */
#define VSPACE_SLO_TIGHT_PCT	75
/* Demand vs the split, in milli-CPUs, before a balancing move. */
#define VSPACE_BALANCE_MCPU	750
/*
 * Intervals the opposite of the last move between the groups must be asked
 * for, when asked for within VSPACE_BALANCE_ECHO intervals of that move
 * (its echo: the waits it moved).
 */
#define VSPACE_BALANCE_HOLD_MIN	2
#define VSPACE_BALANCE_HOLD_MAX	320
#define VSPACE_BALANCE_ECHO	8
/* I/O group saturated: demand of its CPUs, to confine and to stay so. */
#define VSPACE_SATURATED_PCT	90
#define VSPACE_UNSATURATED_PCT	75
/* Confined above this share of its weighted share of the I/O time. */
#define VSPACE_OVER_SHARE_PCT	110
/* Intervals within its share before a confined VM is let go. */
#define VSPACE_CONFINE_CALM	5

void vspace_policy_init(struct vspace_policy *p, u32 ncpus, u32 io_min,
			u32 io_max, u32 mode);
u32 vspace_policy_clamp(struct vspace_policy *p, u32 ncpus, u32 io_min,
			u32 io_max, u32 mode);
void vspace_policy_account(struct vspace_policy_in *in,
			   struct vspace_policy_vm *v);
void vspace_policy_decide(struct vspace_policy *p,
			  const struct vspace_policy_in *in,
			  struct vspace_policy_out *out);
bool vspace_policy_isolate(const struct vspace_policy *p,
			   const struct vspace_policy_in *in,
			   struct vspace_policy_vm *v);
u32 vspace_policy_confined_cpus(const struct vspace_policy *p,
				const struct vspace_policy_in *in,
				u64 open_io_ns, u32 prev);

#endif /* _VSPACE_POLICY_H */
