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

/* Read a whole file of any length (decisions); malloc'd text or NULL. */
char *vspace_read_all(const char *file, int *err);

/* Root of /proc, for VM names; tests may point it elsewhere. */
extern const char *vspace_proc;

/*
 * A VM's name: QEMU's "-name guest=NAME,..." or "-name NAME,...". 0, or
 * -ENOENT when the process has no -name.
 */
int vspace_vm_name(int pid, char *buf, size_t len);

/* Managed VMs' pids, ascending; how many (at most @max), or -errno. */
int vspace_vm_pids(int *pids, int max);

/*
 * A VM given as a pid or a name. With @managed, only managed VMs are
 * searched; else every process. The pid, or -ENOENT (none), -EEXIST (the
 * name is ambiguous), -EINVAL (not a pid and not a name).
 */
int vspace_vm_resolve(const char *arg, int managed);

#endif /* _LIBVSPACE_H */
