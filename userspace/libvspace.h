/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvspace: the only code in userspace that touches /sys/kernel/vspace.
 * Every call returns 0 or a negative errno, and keeps the kernel's error.
 */
#ifndef _LIBVSPACE_H
#define _LIBVSPACE_H

#include <stddef.h>

/* Root of the sysfs tree; tests may point it elsewhere. */
extern const char *vspace_root;

int vspace_read(const char *file, char *buf, size_t len);
int vspace_write(const char *file, const char *val);
int vspace_loaded(void);

/* The active mode's name from the "mode" file ("[energy]" -> "energy"). */
int vspace_active_mode(char *buf, size_t len);

#endif /* _LIBVSPACE_H */
