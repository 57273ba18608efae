/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Output of vspacectl: one emitter, two shapes. Commands describe their
 * result as nested objects, arrays and key/value pairs; in text mode that
 * becomes indented "key value" lines, in JSON one object on one line.
 * Prometheus text format has its own writer, for metrics only.
 */
#ifndef _VSPACE_FORMAT_H
#define _VSPACE_FORMAT_H

#include <stdbool.h>
#include <stdio.h>

void out_init(FILE *f, bool json);
bool out_json(void);

/* The result: one object. */
void out_begin(void);
void out_end(void);

/* Members; @key is NULL inside an array. */
void out_obj(const char *key);
void out_obj_end(void);
void out_arr(const char *key);
void out_arr_end(void);
void out_str(const char *key, const char *val);
void out_int(const char *key, long long val);
/* A value read from sysfs: a number when it is one, else a string. */
void out_val(const char *key, const char *val);

/* An error: {"error": msg} in JSON, "vspacectl: msg" on stderr else. */
void out_error(const char *msg);

/* Prometheus text exposition format (node_exporter textfile collector). */
void prom_family(FILE *f, const char *name, const char *type,
		 const char *help);
void prom_sample(FILE *f, const char *name, const char *labels,
		 const char *val);

#endif /* _VSPACE_FORMAT_H */
