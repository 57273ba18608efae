/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The declarative configuration of "vspacectl apply" (/etc/vspace.conf):
 * parsed and validated whole before anything is written, then written
 * with the old values kept, so that a write the kernel refuses rolls
 * everything back. See userspace/vspace.conf.example.
 */
#ifndef _VSPACE_CONFIG_H
#define _VSPACE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config;

/* A number lo..hi in decimal, or -1. */
long config_number(const char *s, long lo, long hi);
/* Whether @s is a cpulist: "2-7,10". */
bool config_cpulist_ok(const char *s);

struct config *config_load(const char *path, char *err, size_t len);
/* Keep only the VM named @name (the libvirt hook); 0 or -ENOENT. */
int config_only_vm(struct config *c, const char *name);
/* 0, or -errno with @err saying why; then nothing has changed. */
int config_apply(struct config *c, bool dry_run, char *err, size_t len);
/* What apply did (or would do), through format.c. */
void config_report(struct config *c, bool dry_run);
void config_free(struct config *c);

#endif /* _VSPACE_CONFIG_H */
