// SPDX-License-Identifier: GPL-2.0
/*
 * vspace.conf: one setting per line, "#" starts a comment.
 *
 *	mode energy
 *	cpus 2-15
 *	interval_ms 100
 *	io_cpus_min 1
 *	io_cpus_max 4
 *	isolation 1
 *	auto_discover 0
 *	enabled 1
 *	vm NAME [slo_us=US] [weight=W]
 *
 * Top-level names are the sysfs files'. A "vm" line names a VM by its
 * QEMU -name (or pid); a VM not running now is left for later (the libvirt
 * hook applies its line when it starts). Each setting may appear once.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "format.h"
#include "libvspace.h"
#include <uapi/vspace.h>

#define MAX_ENTRIES 1024

struct vm_entry {
	char name[128];
	long slo_us;		/* -1: not set */
	long weight;
	int pid;		/* 0: not running */
	bool added;		/* apply added it */
	int line;
};

/* A written sysfs file and what it held before, for rollback. */
struct undo {
	char file[96];
	char old[4096];
};

struct config {
	char mode[32];
	char cpus[1024];
	long interval_ms, io_cpus_min, io_cpus_max, isolation, auto_discover,
	     enabled;
	struct vm_entry vms[MAX_ENTRIES];
	int nr_vms;
	struct undo undo[MAX_ENTRIES];
	int nr_undo;
};

long config_number(const char *s, long lo, long hi)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v < lo || v > hi ? -1 : v;
}

bool config_cpulist_ok(const char *s)
{
	long a, b;
	char *end;

	if (!*s)
		return false;
	for (;;) {
		if (!isdigit((unsigned char)*s))
			return false;
		a = strtol(s, &end, 10);
		b = a;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return false;
			b = strtol(end + 1, &end, 10);
		}
		if (a > b || b > 8191)
			return false;
		if (!*end)
			return true;
		if (*end != ',')
			return false;
		s = end + 1;
	}
}

static int bad(char *err, size_t len, const char *path, int line,
	       const char *fmt, const char *what)
{
	int n = snprintf(err, len, "%s:%d: ", path, line);

	snprintf(err + n, len - n, fmt, what);
	return -EINVAL;
}

static int parse_vm(struct config *c, char *args, const char *path, int line,
		    char *err, size_t len)
{
	struct vm_entry *v = &c->vms[c->nr_vms];
	char *tok, *save = NULL;
	int i;

	if (c->nr_vms == MAX_ENTRIES)
		return bad(err, len, path, line, "too many VMs%s", "");
	tok = strtok_r(args, " \t", &save);
	if (!tok || strlen(tok) >= sizeof(v->name) || strchr(tok, '='))
		return bad(err, len, path, line, "'vm' needs a VM name first%s", "");
	for (i = 0; i < c->nr_vms; i++)
		if (!strcmp(c->vms[i].name, tok))
			return bad(err, len, path, line, "VM '%s' appears twice", tok);
	snprintf(v->name, sizeof(v->name), "%s", tok);
	v->slo_us = -1;
	v->weight = -1;
	v->line = line;
	while ((tok = strtok_r(NULL, " \t", &save))) {
		if (!strncmp(tok, "slo_us=", 7) && v->slo_us < 0) {
			v->slo_us = config_number(tok + 7, 0, VSPACE_SLO_US_MAX);
			if (v->slo_us < 0)
				return bad(err, len, path, line,
					   "slo_us must be 0..10000000, not '%s'", tok + 7);
		} else if (!strncmp(tok, "weight=", 7) && v->weight < 0) {
			v->weight = config_number(tok + 7, VSPACE_WEIGHT_MIN,
						  VSPACE_WEIGHT_MAX);
			if (v->weight < 0)
				return bad(err, len, path, line,
					   "weight must be 1..10000, not '%s'", tok + 7);
		} else {
			return bad(err, len, path, line,
				   "unknown or repeated VM setting '%s'", tok);
		}
	}
	c->nr_vms++;
	return 0;
}

struct number_key {
	const char *name;
	size_t off;
	long lo, hi;
};

static const struct number_key number_keys[] = {
	{ "interval_ms", offsetof(struct config, interval_ms),
	  VSPACE_INTERVAL_MS_MIN, VSPACE_INTERVAL_MS_MAX },
	{ "io_cpus_min", offsetof(struct config, io_cpus_min), 0, 8191 },
	{ "io_cpus_max", offsetof(struct config, io_cpus_max), 0, 8191 },
	{ "isolation", offsetof(struct config, isolation), 0, 1 },
	{ "auto_discover", offsetof(struct config, auto_discover), 0, 1 },
	{ "enabled", offsetof(struct config, enabled), 0, 1 },
};

#define NR_NUMBER_KEYS (sizeof(number_keys) / sizeof(number_keys[0]))

static long *number_at(struct config *c, unsigned int i)
{
	return (long *)((char *)c + number_keys[i].off);
}

static int parse_line(struct config *c, char *s, const char *path, int line,
		      char *err, size_t len)
{
	static const char * const modes[] = VSPACE_MODE_NAMES;
	char *key, *val, *save = NULL;
	unsigned int i;

	key = strtok_r(s, " \t", &save);
	if (!key)
		return 0;
	if (!strcmp(key, "vm"))
		return parse_vm(c, save, path, line, err, len);
	val = strtok_r(NULL, " \t", &save);
	if (!val)
		return bad(err, len, path, line, "'%s' needs a value", key);
	if (strtok_r(NULL, " \t", &save))
		return bad(err, len, path, line, "'%s' takes one value", key);
	if (!strcmp(key, "mode")) {
		if (*c->mode)
			return bad(err, len, path, line, "'%s' appears twice", key);
		for (i = 0; i < NR_VSPACE_MODES; i++)
			if (!strcmp(val, modes[i]))
				break;
		if (i == NR_VSPACE_MODES)
			return bad(err, len, path, line,
				   "mode must be performance, energy or resource, not '%s'", val);
		snprintf(c->mode, sizeof(c->mode), "%s", val);
		return 0;
	}
	if (!strcmp(key, "cpus")) {
		if (*c->cpus)
			return bad(err, len, path, line, "'%s' appears twice", key);
		if (!config_cpulist_ok(val) || strlen(val) >= sizeof(c->cpus))
			return bad(err, len, path, line, "'%s' is not a cpulist", val);
		snprintf(c->cpus, sizeof(c->cpus), "%s", val);
		return 0;
	}
	for (i = 0; i < NR_NUMBER_KEYS; i++) {
		if (strcmp(key, number_keys[i].name))
			continue;
		if (*number_at(c, i) >= 0)
			return bad(err, len, path, line, "'%s' appears twice", key);
		*number_at(c, i) = config_number(val, number_keys[i].lo,
						 number_keys[i].hi);
		if (*number_at(c, i) < 0) {
			int n = snprintf(err, len, "%s:%d: %s must be %ld..%ld, not '", path,
					 line, key, number_keys[i].lo, number_keys[i].hi);

			snprintf(err + n, len - n, "%s'", val);
			return -EINVAL;
		}
		return 0;
	}
	return bad(err, len, path, line, "unknown setting '%s'", key);
}

struct config *config_load(const char *path, char *err, size_t len)
{
	struct config *c = calloc(1, sizeof(*c));
	char buf[4096];
	unsigned int i;
	int line = 0;
	FILE *f;

	if (!c) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	for (i = 0; i < NR_NUMBER_KEYS; i++)
		*number_at(c, i) = -1;
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, len, "cannot read %s: %s", path, strerror(errno));
		free(c);
		return NULL;
	}
	while (fgets(buf, sizeof(buf), f)) {
		line++;
		buf[strcspn(buf, "#\n")] = '\0';
		if (parse_line(c, buf, path, line, err, len)) {
			fclose(f);
			free(c);
			return NULL;
		}
	}
	fclose(f);
	if (c->io_cpus_min >= 0 && c->io_cpus_max >= 0 &&
	    c->io_cpus_min > c->io_cpus_max) {
		snprintf(err, len, "%s: io_cpus_min %ld > io_cpus_max %ld", path,
			 c->io_cpus_min, c->io_cpus_max);
		free(c);
		return NULL;
	}
	return c;
}

int config_only_vm(struct config *c, const char *name)
{
	int i;

	for (i = 0; i < c->nr_vms; i++) {
		if (!strcmp(c->vms[i].name, name)) {
			struct vm_entry v = c->vms[i];
			unsigned int k;

			/* Only this VM's line: the host settings stay. */
			memset(c, 0, sizeof(*c));
			for (k = 0; k < NR_NUMBER_KEYS; k++)
				*number_at(c, k) = -1;
			c->vms[0] = v;
			c->nr_vms = 1;
			return 0;
		}
	}
	return -ENOENT;
}

/* Write @val to @file, keeping the old value; 0 or -errno. */
static int apply_write(struct config *c, const char *file, const char *val)
{
	struct undo *u = &c->undo[c->nr_undo];
	int ret;

	if (c->nr_undo == MAX_ENTRIES)
		return -E2BIG;
	snprintf(u->file, sizeof(u->file), "%s", file);
	ret = !strcmp(file, "mode") ? vspace_active_mode(u->old, sizeof(u->old)) :
				      vspace_read(file, u->old, sizeof(u->old));
	if (ret)
		return ret;
	ret = vspace_write(file, val);
	if (!ret)
		c->nr_undo++;
	return ret;
}

/* What @file held before the first write of it, or NULL if not written. */
static const char *undo_old(const struct config *c, const char *file)
{
	int i;

	for (i = 0; i < c->nr_undo; i++)
		if (!strcmp(c->undo[i].file, file))
			return c->undo[i].old;
	return NULL;
}

/* Write @val back to @file; the first file that failed goes to @bad. */
static void restore(const char *file, const char *val, char *bad, size_t len)
{
	if (vspace_write(file, val) && !*bad)
		snprintf(bad, len, "%s", file);
}

/*
 * Put back what apply wrote, in an order in which each old value fits
 * again: cpus first (the bounds' room), then the bounds opened and set
 * (min as it was, even if only max was written), then the rest, and the
 * VMs it added removed. Returns 0, or -1 with the first file not put
 * back in @bad.
 */
static int rollback(struct config *c, char *bad, size_t len)
{
	const char *cpus = undo_old(c, "cpus");
	const char *min = undo_old(c, "io_cpus_min");
	const char *max = undo_old(c, "io_cpus_max");
	char min_now[32], val[32];
	int i, ret;

	*bad = '\0';
	if (cpus)
		restore("cpus", cpus, bad, len);
	if (min || max) {
		if (!min && !vspace_read("io_cpus_min", min_now, sizeof(min_now)))
			min = min_now;
		if (!min) {
			/* Not known: not opened, so as not to lose it. */
			snprintf(bad, len, "io_cpus_min");
		} else {
			restore("io_cpus_min", "0", bad, len);
			if (max)
				restore("io_cpus_max", max, bad, len);
			restore("io_cpus_min", min, bad, len);
		}
	}
	while (c->nr_undo--) {
		struct undo *u = &c->undo[c->nr_undo];

		if (strcmp(u->file, "cpus") && strncmp(u->file, "io_cpus_m", 9))
			restore(u->file, u->old, bad, len);
	}
	for (i = 0; i < c->nr_vms; i++) {
		if (!c->vms[i].added)
			continue;
		snprintf(val, sizeof(val), "%d", c->vms[i].pid);
		/* Gone already (it exited) is as good as removed. */
		ret = vspace_write("vms/remove", val);
		if (ret && ret != -ENOENT && !*bad)
			snprintf(bad, len, "vms/remove");
	}
	return *bad ? -1 : 0;
}

/* The I/O bounds in an order that keeps min <= max at every step. */
static int apply_bounds(struct config *c)
{
	char cur[32], val[32];
	long min = c->io_cpus_min, max = c->io_cpus_max, cur_min;
	int ret = 0;

	if (vspace_read("io_cpus_min", cur, sizeof(cur)))
		return -EIO;
	cur_min = atol(cur);
	if (max >= 0 && max < cur_min) {
		snprintf(val, sizeof(val), "%ld", min >= 0 ? min : max);
		ret = apply_write(c, "io_cpus_min", val);
		min = -1;
	}
	if (!ret && max >= 0) {
		snprintf(val, sizeof(val), "%ld", max);
		ret = apply_write(c, "io_cpus_max", val);
	}
	if (!ret && min >= 0) {
		snprintf(val, sizeof(val), "%ld", min);
		ret = apply_write(c, "io_cpus_min", val);
	}
	return ret;
}

int config_apply(struct config *c, bool dry_run, char *err, size_t len)
{
	const char *failed = NULL;
	char val[64], file[96];
	int i, ret = 0;

	/* Find the VMs first: an ambiguous name is an error before writing. */
	for (i = 0; i < c->nr_vms; i++) {
		int pid = vspace_vm_resolve(c->vms[i].name, 0);

		if (pid == -EEXIST) {
			snprintf(err, len, "line %d: more than one VM is named '%s'",
				 c->vms[i].line, c->vms[i].name);
			return -EINVAL;
		}
		c->vms[i].pid = pid > 0 ? pid : 0;
	}
	if (dry_run)
		return 0;

	if (*c->mode && !ret)
		ret = apply_write(c, failed = "mode", c->mode);
	if (c->interval_ms >= 0 && !ret) {
		snprintf(val, sizeof(val), "%ld", c->interval_ms);
		ret = apply_write(c, failed = "interval_ms", val);
	}
	if (*c->cpus && !ret)
		ret = apply_write(c, failed = "cpus", c->cpus);
	if ((c->io_cpus_min >= 0 || c->io_cpus_max >= 0) && !ret) {
		failed = "io_cpus_min/io_cpus_max";
		ret = apply_bounds(c);
	}
	if (c->isolation >= 0 && !ret) {
		snprintf(val, sizeof(val), "%ld", c->isolation);
		ret = apply_write(c, failed = "isolation", val);
	}
	if (c->auto_discover >= 0 && !ret) {
		snprintf(val, sizeof(val), "%ld", c->auto_discover);
		ret = apply_write(c, failed = "auto_discover", val);
	}
	for (i = 0; i < c->nr_vms && !ret; i++) {
		struct vm_entry *v = &c->vms[i];

		if (!v->pid)
			continue;
		snprintf(file, sizeof(file), "vms/%d/slo_us", v->pid);
		if (vspace_read(file, val, sizeof(val))) {
			snprintf(val, sizeof(val), "%d", v->pid);
			ret = vspace_write(failed = "vms/add", val);
			v->added = !ret;
		}
		if (!ret && v->slo_us >= 0) {
			snprintf(val, sizeof(val), "%ld", v->slo_us);
			ret = apply_write(c, failed = file, val);
		}
		if (!ret && v->weight >= 0) {
			snprintf(file, sizeof(file), "vms/%d/weight", v->pid);
			snprintf(val, sizeof(val), "%ld", v->weight);
			ret = apply_write(c, failed = file, val);
		}
	}
	if (c->enabled >= 0 && !ret) {
		snprintf(val, sizeof(val), "%ld", c->enabled);
		ret = apply_write(c, failed = "enabled", val);
	}
	if (ret) {
		char bad[96];

		if (rollback(c, bad, sizeof(bad)))
			snprintf(err, len,
				 "writing %s failed (%s%s), and so did putting %s back: "
				 "the settings are partly changed",
				 failed, strerror(-ret),
				 ret == -EINVAL ? ", see dmesg" : "", bad);
		else
			snprintf(err, len, "writing %s failed (%s%s); nothing was changed",
				 failed, strerror(-ret),
				 ret == -EINVAL ? ", see dmesg" : "");
	}
	return ret;
}

void config_report(struct config *c, bool dry_run)
{
	int i;

	out_begin();
	out_str("result", dry_run ? "valid" : "applied");
	out_int("settings", c->nr_undo);
	out_arr("vms");
	for (i = 0; i < c->nr_vms; i++) {
		out_obj(NULL);
		out_str("name", c->vms[i].name);
		out_int("pid", c->vms[i].pid);
		out_str("state", !c->vms[i].pid ? "not running" :
			c->vms[i].added ? "added" : dry_run ? "found" : "updated");
		out_obj_end();
	}
	out_arr_end();
	out_end();
}

void config_free(struct config *c)
{
	free(c);
}
