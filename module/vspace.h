/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VSPACE_H
#define _VSPACE_H

#include <linux/cpumask.h>
#include <linux/mutex.h>
#include <uapi/vspace.h>

#define VSPACE_VERSION "0.1.0"

/**
 * struct vspace_config - the operator's settings
 * @enabled:     whether vspace manages threads at all.
 * @mode:        policy mode, enum vspace_mode.
 * @interval_ms: policy period.
 * @cpus:        the CPUs vspace may manage; always a non-empty subset of
 *               the CPUs that were online when it was written.
 *
 * Locking: written only with vspace_lock held. @enabled, @mode and
 * @interval_ms may be read without it through READ_ONCE(); @cpus is read
 * with vspace_lock held.
 */
struct vspace_config {
	bool enabled;
	unsigned int mode;
	unsigned int interval_ms;
	cpumask_var_t cpus;
};

extern struct vspace_config vspace_config;
extern struct mutex vspace_lock;

extern const char * const vspace_mode_names[NR_VSPACE_MODES];

/* core.c: the settings, validated here so every interface shares the rules. */
int vspace_core_init(void);
void vspace_core_uninit(void);
int vspace_set_enabled(bool enabled);
int vspace_set_mode(unsigned int mode);
int vspace_set_interval_ms(unsigned int ms);
int vspace_set_cpus(const struct cpumask *cpus);

/* sysfs.c: /sys/kernel/vspace */
int vspace_sysfs_init(void);
void vspace_sysfs_uninit(void);

#endif /* _VSPACE_H */
