// SPDX-License-Identifier: GPL-2.0
/*
 * The groups' layout on the host's topology (see layout.h).
 *
 * The usable CPUs are sorted by node, then core. The I/O group is taken
 * first, from the top of its node down, then from the other nodes' tops;
 * the VM group from the bottom of the other nodes up, then the I/O
 * node's. So each group fills one node before it spills into another,
 * and resizing moves the groups' inner edges only.
 *
 * A unit is a core: all of its usable SMT siblings together (a core with a
 * sibling offline or outside cpus is a smaller unit). With @split every
 * CPU is a unit of its own, still in core order. Whole units make a size
 * round: up when the policy grew the group, down (to one unit at least)
 * when it shrank it, and the same way as last time when it did not change,
 * so that the rounding does not move the group by itself. The I/O group
 * rounds within the operator's bounds where whole units allow.
 */
#include "layout.h"

static int vspace_lcpu_cmp(const void *a, const void *b)
{
	const struct vspace_lcpu *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->core != y->core)
		return x->core < y->core ? -1 : 1;
	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	return 0;
}

/* The unit that starts at @i: its length. */
static u32 vspace_unit_len(const struct vspace_lcpu *c, u32 n, u32 i,
			   bool split)
{
	u32 j = i + 1;

	if (!split)
		while (j < n && c[j].node == c[i].node &&
		       c[j].core == c[i].core)
			j++;
	return j - i;
}

/* The unit that ends at @i (inclusive): its first index. */
static u32 vspace_unit_first(const struct vspace_lcpu *c, u32 i, bool split)
{
	if (!split)
		while (i && c[i - 1].node == c[i].node &&
		       c[i - 1].core == c[i].core)
			i--;
	return i;
}

/* A pass over the units: of node @node (@on) or of the others. */
struct vspace_take {
	u32 from, to;		/* the group taken from, and given */
	u32 target;		/* CPUs wanted */
	bool up;		/* round up to whole units, else down */
	bool empty_ok;		/* rounding down may leave it empty */
	u32 lo, hi;		/* rounding stays within, where it can */
	u32 limit;		/* units at most */
	u32 got, units;
};

/* Take the unit [@i, @i + @len) if it helps; false when done. */
static bool vspace_take_unit(struct vspace_take *t, struct vspace_lcpu *c,
			     u32 i, u32 len)
{
	u32 k;

	if (t->got >= t->target || t->units >= t->limit)
		return false;
	if (c[i].group != t->from)
		return true;
	/*
	 * Past the target: round down, or up no further than @hi; never
	 * below @lo (a bound wins over the other only where whole units
	 * cannot meet both), nor to nothing unless @empty_ok.
	 */
	if (t->got + len > t->target && (t->got || t->empty_ok) &&
	    t->got >= t->lo && (!t->up || t->got + len > t->hi))
		return false;
	for (k = i; k < i + len; k++)
		c[k].group = t->to;
	t->got += len;
	t->units++;
	return true;
}

/*
 * Walk the units, those of node @node first (@node_first) or last; from
 * the top (@down) or from the bottom.
 */
static void vspace_take(struct vspace_take *t, struct vspace_lcpu *c, u32 n,
			u32 node, bool node_first, bool down, bool split)
{
	u32 pass, i, first, len;
	bool home;

	for (pass = 0; pass < 2; pass++) {
		bool on = node_first == !pass;

		if (down) {
			for (i = n; i > 0; i = first) {
				first = vspace_unit_first(c, i - 1, split);
				home = c[first].node == node;
				if (home != on)
					continue;
				if (!vspace_take_unit(t, c, first, i - first))
					return;
			}
		} else {
			for (i = 0; i < n; i += len) {
				len = vspace_unit_len(c, n, i, split);
				home = c[i].node == node;
				if (home != on)
					continue;
				if (!vspace_take_unit(t, c, i, len))
					return;
			}
		}
	}
}

/*
 * Which way a group wanting @want rounds to whole units: up when the
 * policy grew it, down when it shrank it, as last time when it did not
 * change, so that the rounding does not move the group by itself.
 */
static bool vspace_round_up(u32 want, u32 *last, bool *up)
{
	if (want != *last || !want)
		*up = want > *last;
	*last = want;
	return *up;
}

void vspace_layout(struct vspace_layout *l, struct vspace_lcpu *c, u32 n)
{
	struct vspace_take t;
	u32 i, node, units = 0;
	bool split = l->split, up_io, up_vm;

	vspace_sort(c, n, sizeof(*c), vspace_lcpu_cmp);
	for (i = 0; i < n; i++)
		c[i].group = VSPACE_LG_FREE;
	l->got_vm = 0;
	l->got_io = 0;
	l->got_confined = 0;
	l->io_units = 0;
	up_io = vspace_round_up(l->io, &l->want_io, &l->up_io);
	up_vm = vspace_round_up(l->vm, &l->want_vm, &l->up_vm);
	if (!n)
		return;
	for (i = 0; i < n; i += vspace_unit_len(c, n, i, false))
		units++;
	/* One core for both groups: only its threads can tell them apart. */
	if (units < 2)
		split = true;
	if (split)
		units = n;
	node = l->io_node >= 0 ? (u32)l->io_node : c[n - 1].node;
	l->io_home = node;

	/* The I/O group, one unit at least left for the VM group. */
	t = (struct vspace_take){
		.from = VSPACE_LG_FREE, .to = VSPACE_LG_IO, .target = l->io,
		.up = up_io || split, .lo = l->io_min, .hi = l->io_max,
		.limit = l->vm ? units - 1 : units,
	};
	vspace_take(&t, c, n, node, true, true, split);
	l->got_io = t.got;
	l->io_units = t.units;

	/*
	 * The confined part: the I/O group's top units, what is left of it
	 * once the others have what they need (the policy's size less its
	 * confined part), rounded down; none if that is all of it.
	 */
	if (l->confined && t.units > 1) {
		u32 open = l->io > l->confined ? l->io - l->confined : 1;

		t = (struct vspace_take){
			.from = VSPACE_LG_IO, .to = VSPACE_LG_IO_CONFINED,
			.target = l->got_io > open ? l->got_io - open : 0,
			.empty_ok = true, .limit = t.units - 1,
		};
		vspace_take(&t, c, n, node, true, true, split);
		l->got_confined = t.got;
	}

	/*
	 * The VM group from the bottom, the I/O group's node last; all that
	 * is left when the policy gave every CPU away (performance mode),
	 * so that rounding leaves no CPU out.
	 */
	t = (struct vspace_take){
		.from = VSPACE_LG_FREE, .to = VSPACE_LG_VM, .target = l->vm,
		.up = up_vm || split, .hi = ~0u, .limit = ~0u,
	};
	if (l->vm + l->io >= n)
		t.target = n;
	vspace_take(&t, c, n, node, false, false, split);
	l->got_vm = t.got;
}

/*
 * A VM with several vhost workers (one per queue pair) has them spread
 * when it has no more of them than its part has units: a run of whole
 * units each, worker i in run (i + @salt) mod n, so no two of its workers
 * share a core. Left to the whole part, the scheduler wakes a VM's
 * workers near their last CPU and the guest's kicks, and they can stack
 * on one core while the others idle. With more workers than units, two
 * would share a core whatever was done, and pinned there a pair of busy
 * ones could not move to an idle core: the whole part, where the
 * scheduler balances them. The salt (the VM's pid) keeps the VMs' first
 * workers off the same run, and does not change while the VM lives, so
 * neither do the runs.
 */
void vspace_spread(u32 units, u32 n, u32 idx, u32 salt, u32 *first,
		   u32 *count)
{
	u32 j;

	if (n < 2 || n > units) {
		*first = 0;
		*count = units;
		return;
	}
	j = (idx % n + salt % n) % n;
	*first = j * units / n;
	*count = (j + 1) * units / n - *first;
}
