/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vspace: names and limits shared by the kernel module and its userspace
 * tools, so both sides agree on what the sysfs files accept.
 */
#ifndef _UAPI_VSPACE_H
#define _UAPI_VSPACE_H

#define VSPACE_SYSFS_DIR	"/sys/kernel/vspace"

/* Policy period, in milliseconds. */
#define VSPACE_INTERVAL_MS_MIN		10
#define VSPACE_INTERVAL_MS_MAX		10000
#define VSPACE_INTERVAL_MS_DEFAULT	100

/* Per-VM SLO (vms/<pid>/slo_us) and fed latency (latency_us), in us. */
#define VSPACE_SLO_US_MAX		10000000

/* Per-VM weight for I/O isolation (vms/<pid>/weight). */
#define VSPACE_WEIGHT_MIN		1
#define VSPACE_WEIGHT_MAX		10000
#define VSPACE_WEIGHT_DEFAULT		100

/* The modes, once: their enum and their spelling in the "mode" file. */
#define VSPACE_MODES(X)						\
	X(PERFORMANCE, "performance")				\
	X(ENERGY, "energy")					\
	X(RESOURCE, "resource")

#define VSPACE_MODE_ID_(id, name)	VSPACE_MODE_##id,
enum vspace_mode {
	VSPACE_MODES(VSPACE_MODE_ID_)
	NR_VSPACE_MODES
};

/* Indexed by enum vspace_mode. */
#define VSPACE_MODE_NAME_(id, name)	name,
#define VSPACE_MODE_NAMES { VSPACE_MODES(VSPACE_MODE_NAME_) }

#endif /* _UAPI_VSPACE_H */
