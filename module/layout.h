/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Laying the groups out on a host's topology: which usable CPUs form the
 * VM group and the I/O group, in whole cores, one NUMA node before the
 * next. Plain C like policy.c (layout.c includes only this file), so the
 * unit tests run it without a kernel.
 */
#ifndef _VSPACE_LAYOUT_H
#define _VSPACE_LAYOUT_H

#include "policy.h"

#ifdef __KERNEL__
#include <linux/sort.h>
#define vspace_sort(base, n, size, cmp)	sort(base, n, size, cmp, NULL)
#else
#include <stdlib.h>
#define vspace_sort(base, n, size, cmp)	qsort(base, n, size, cmp)
#endif

/* Where a CPU went. */
enum {
	VSPACE_LG_FREE,
	VSPACE_LG_VM,
	VSPACE_LG_IO,		/* the I/O group, open to every VM */
	VSPACE_LG_IO_CONFINED,	/* the I/O group's part for confined VMs */
};

/* One usable CPU, as the layout sees it. */
struct vspace_lcpu {
	u32 cpu;	/* its number */
	u32 core;	/* its core: the lowest online CPU of its SMT siblings */
	u32 node;	/* its NUMA node */
	u32 group;	/* out: VSPACE_LG_* */
};

/*
 * The sizes the policy wants, in CPUs, and what the layout made of them.
 * Groups are whole cores (unless @split), so a size rounds to cores, in
 * the direction the policy last moved it.
 */
struct vspace_layout {
	u32 vm, io, confined;	/* in: CPUs wanted */
	u32 io_min, io_max;	/* in: the I/O group's bounds */
	int io_node;		/* in: the I/O group's node; < 0: the last */
	bool split;		/* in: a core may be split between groups */
	u32 want_vm, want_io;	/* kept: what was wanted last time */
	bool up_vm, up_io;	/* kept: rounding up */
	u32 got_vm, got_io;	/* out, kept: CPUs each group got */
	u32 got_confined;	/* out */
	u32 io_units;		/* out: units in the I/O group */
	u32 io_home;		/* out: the node the I/O group fills first */
};

/* Sort @c (@n usable CPUs) and set each one's group. */
void vspace_layout(struct vspace_layout *l, struct vspace_lcpu *c, u32 n);

/*
 * Multiqueue: the units (cores) [*first, *first + *count) of the @units of
 * its part of the I/O group that worker @idx of a VM's @n vhost workers
 * gets (all of them unless 2 <= @n <= @units); @salt staggers VMs.
 */
void vspace_spread(u32 units, u32 n, u32 idx, u32 salt, u32 *first,
		   u32 *count);

#endif
