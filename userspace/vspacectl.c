// SPDX-License-Identifier: GPL-2.0
/*
 * vspacectl: the operator's tool for vspace.
 *
 *   vspacectl [-j|--json] COMMAND [ARGS]
 *
 * Commands are a table (name, handler, arguments, needs root, usage); each
 * reads or writes /sys/kernel/vspace through libvspace and describes its
 * result through format.c, so text and JSON come from the same code. A VM
 * is named by its QEMU pid or by its "-name guest=NAME". See
 * Documentation/vspacectl.rst.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "format.h"
#include "libvspace.h"
#include <uapi/vspace.h>

#define MAX_VMS 4096

static int fail(int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), ": %s",
			 strerror(-err));
	out_error(msg);
	return 1;
}

/* Write one setting; on EINVAL the kernel log says why. */
static int set(const char *file, const char *val)
{
	int ret = vspace_write(file, val);

	if (ret == -EINVAL)
		return fail(0, "%s: invalid value '%s' (see dmesg)", file, val);
	if (ret == -ENODEV || ret == -ENOENT)
		return fail(0, "%s: gone (the VM exited?)", file);
	if (ret)
		return fail(ret, "cannot write %s", file);
	if (out_json()) {
		out_begin();
		out_val(file, val);
		out_end();
	}
	return 0;
}

/* A VM argument: its pid, or a message and -1. */
static int vm_arg(const char *arg, bool managed)
{
	int pid = vspace_vm_resolve(arg, managed);
	char file[64], buf[8];

	snprintf(file, sizeof(file), "vms/%d/weight", pid);
	if (pid > 0 && (!managed || !vspace_read(file, buf, sizeof(buf))))
		return pid;
	if (pid > 0)
		pid = -ENOENT;	/* a pid, but not a managed VM's */
	if (pid == -EEXIST)
		fail(0, "more than one VM is named '%s': use its pid", arg);
	else if (pid == -EINVAL)
		fail(0, "'%s' is neither a process id nor a VM name", arg);
	else if (managed)
		fail(0, "no managed VM '%s'", arg);
	else
		fail(0, "no VM '%s' is running", arg);
	return -1;
}

/* The text form of one VM: a line of settings, then its threads. */
static int vm_text(int pid, const char *name, char *threads, bool all)
{
	static const char * const files[] = { "slo_us", "weight", "drifts" };
	char file[64], val[64], stats[4096], *p;
	unsigned int i;

	printf("VM %d%s%s%s", pid, *name ? " (" : "", name, *name ? ")" : "");
	for (i = 0; i < 3; i++) {
		snprintf(file, sizeof(file), "vms/%d/%s", pid, files[i]);
		if (!vspace_read(file, val, sizeof(val)))
			printf(" %s %s", files[i], val);
	}
	snprintf(file, sizeof(file), "vms/%d/stats", pid);
	if (!vspace_read(file, stats, sizeof(stats))) {
		p = strstr(stats, "slo_missed ");
		if (p && (p == stats || p[-1] == '\n'))
			printf(" slo %s", atoi(p + 11) ? "missed" : "met");
		p = strstr(stats, "confined ");
		if (p && atoi(p + 9))
			printf(" confined");
	}
	printf("\n");
	if (all)
		for (p = strtok(threads, "\n"); p; p = strtok(NULL, "\n"))
			printf("  %s\n", p);
	return 0;
}

/* One VM: identity, SLO state and, with @threads, its threads. */
static int vm_describe(int pid, bool threads)
{
	static const char * const stat_keys[] = { "slo_missed", "confined" };
	static char buf[1 << 20];
	char file[64], name[256], *line, *save = NULL;
	unsigned int i;
	int ret;

	snprintf(file, sizeof(file), "vms/%d/threads", pid);
	ret = vspace_read(file, buf, sizeof(buf));
	if (ret)
		return ret;	/* exited while listing: not shown */
	if (vspace_vm_name(pid, name, sizeof(name)))
		name[0] = '\0';
	if (!out_json())
		return vm_text(pid, name, buf, threads);
	out_obj(NULL);
	out_int("pid", pid);
	out_str("name", name);
	for (i = 0; i < 3; i++) {
		static const char * const files[] = { "slo_us", "weight", "drifts" };
		char val[64];

		snprintf(file, sizeof(file), "vms/%d/%s", pid, files[i]);
		if (!vspace_read(file, val, sizeof(val)))
			out_val(files[i], val);
	}
	{
		char stats[4096], *l, *s2 = NULL;

		snprintf(file, sizeof(file), "vms/%d/stats", pid);
		if (!vspace_read(file, stats, sizeof(stats)))
			for (l = strtok_r(stats, "\n", &s2); l; l = strtok_r(NULL, "\n", &s2))
				for (i = 0; i < 2; i++)
					if (!strncmp(l, stat_keys[i], strlen(stat_keys[i])) &&
					    l[strlen(stat_keys[i])] == ' ')
						out_val(stat_keys[i], l + strlen(stat_keys[i]) + 1);
	}
	if (threads) {
		out_arr("threads");
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char kind[16], cpus[4096];
			int tid, rest = 0;

			if (sscanf(line, "%d %15s %4095s%n", &tid, kind, cpus, &rest) != 3)
				continue;
			out_obj(NULL);
			out_int("tid", tid);
			out_str("kind", kind);
			out_str("cpus", cpus);
			out_str("flags", line + rest + strspn(line + rest, " "));
			out_obj_end();
		}
		out_arr_end();
	}
	out_obj_end();
	return 0;
}

static int vms_describe(bool threads)
{
	int *pids = calloc(MAX_VMS, sizeof(*pids)), n, i;

	if (!pids)
		return -ENOMEM;
	n = vspace_vm_pids(pids, MAX_VMS);
	if (!out_json() && n <= 0)
		printf("no VMs managed\n");
	if (out_json())
		out_arr("vms");
	for (i = 0; i < n; i++)
		vm_describe(pids[i], threads);
	if (out_json())
		out_arr_end();
	free(pids);
	return n < 0 ? n : 0;
}

static const char * const status_files[] = {
	"version", "enabled", "mode", "interval_ms", "cpus", "vm_cpus",
	"io_cpus", "free_cpus", "io_cpus_min", "io_cpus_max", "isolation",
	"io_confined_cpus", "auto_discover",
};

static int cmd_status(int argc, char **argv)
{
	char val[4096];
	unsigned int i;
	int ret;

	/*
	 * Read everything first: a failure prints an error, not half. A
	 * module older than this tool lacks the newer files: shown as "?".
	 */
	for (i = 0; i < sizeof(status_files) / sizeof(status_files[0]); i++) {
		ret = vspace_read(status_files[i], val, sizeof(val));
		if (ret && !(ret == -ENOENT &&
			     !strcmp(status_files[i], "io_confined_cpus")))
			return fail(ret, "cannot read %s", status_files[i]);
	}
	out_begin();
	for (i = 0; i < sizeof(status_files) / sizeof(status_files[0]); i++) {
		const char *f = status_files[i];

		if (!strcmp(f, "mode"))
			ret = vspace_active_mode(val, sizeof(val));
		else
			ret = vspace_read(f, val, sizeof(val));
		out_val(f, ret ? "?" : val);
	}
	vms_describe(true);
	out_end();
	return 0;
}

static int cmd_enable(int argc, char **argv)
{
	return set("enabled", "1");
}

static int cmd_disable(int argc, char **argv)
{
	return set("enabled", "0");
}

static int cmd_mode(int argc, char **argv)
{
	static const char * const modes[] = VSPACE_MODE_NAMES;
	unsigned int i;

	for (i = 0; i < NR_VSPACE_MODES; i++)
		if (!strcmp(argv[1], modes[i]))
			return set("mode", argv[1]);
	return fail(0, "unknown mode '%s': performance, energy or resource",
		    argv[1]);
}

static int cmd_cpus(int argc, char **argv)
{
	if (!config_cpulist_ok(argv[1]))
		return fail(0, "'%s' is not a cpulist (e.g. 2-7,10)", argv[1]);
	return set("cpus", argv[1]);
}

static int cmd_interval(int argc, char **argv)
{
	if (config_number(argv[1], VSPACE_INTERVAL_MS_MIN,
			  VSPACE_INTERVAL_MS_MAX) < 0)
		return fail(0, "interval must be %u..%u ms, not '%s'",
			    VSPACE_INTERVAL_MS_MIN, VSPACE_INTERVAL_MS_MAX,
			    argv[1]);
	return set("interval_ms", argv[1]);
}

static int vm_op(const char *op, int pid)
{
	char val[32];
	int ret;

	snprintf(val, sizeof(val), "%d", pid);
	ret = vspace_write(op, val);
	if (ret == -ESRCH)
		return fail(0, "no process %d", pid);
	if (ret == -EEXIST)
		return fail(0, "VM %d is already managed", pid);
	if (ret == -EINVAL)
		return fail(0, "process %d is not a VM (see dmesg)", pid);
	if (ret == -ENOENT)
		return fail(0, "VM %d is not managed", pid);
	if (ret)
		return fail(ret, "cannot write %s", op);
	if (out_json()) {
		out_begin();
		out_int(!strcmp(op, "vms/add") ? "added" : "removed", pid);
		out_end();
	}
	return 0;
}

static int cmd_vm(int argc, char **argv)
{
	int pid;

	if (argc == 3 && geteuid() != 0)
		return fail(0, "'vm %s' needs root", argv[1]);
	if (argc == 3 && !strcmp(argv[1], "add")) {
		pid = vm_arg(argv[2], false);
		return pid < 0 ? 1 : vm_op("vms/add", pid);
	}
	if (argc == 3 && !strcmp(argv[1], "remove")) {
		pid = vm_arg(argv[2], true);
		return pid < 0 ? 1 : vm_op("vms/remove", pid);
	}
	if (argc == 2 && !strcmp(argv[1], "list")) {
		out_begin();
		vms_describe(true);
		out_end();
		return 0;
	}
	return fail(0, "usage: vspacectl vm add VM | vm remove VM | vm list");
}

/* Write a per-VM file @file of VM @arg, checking @val against lo..hi. */
static int vm_set(const char *arg, const char *file, const char *val,
		  long lo, long hi)
{
	char path[64];
	int pid;

	if (config_number(val, lo, hi) < 0)
		return fail(0, "%s must be a number %ld..%ld, not '%s'", file,
			    lo, hi, val);
	pid = vm_arg(arg, true);
	if (pid < 0)
		return 1;
	snprintf(path, sizeof(path), "vms/%d/%s", pid, file);
	return set(path, val);
}

static int cmd_slo(int argc, char **argv)
{
	return vm_set(argv[1], "slo_us", argv[2], 0, VSPACE_SLO_US_MAX);
}

static int cmd_weight(int argc, char **argv)
{
	return vm_set(argv[1], "weight", argv[2], VSPACE_WEIGHT_MIN,
		      VSPACE_WEIGHT_MAX);
}

static int cmd_latency(int argc, char **argv)
{
	return vm_set(argv[1], "latency_us", argv[2], 0, VSPACE_SLO_US_MAX);
}

#define MAX_KEYS 64

/* "name value" lines, split in place; how many (at most @max). */
static int split_kv(char *text, char **keys, char **vals, int max)
{
	char *line, *save = NULL, *sp;
	int n = 0;

	for (line = strtok_r(text, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		keys[n] = line;
		vals[n++] = sp + 1;
	}
	return n;
}

/* "name value" lines of @text as members. */
static void kv_lines(char *text)
{
	char *keys[MAX_KEYS], *vals[MAX_KEYS];
	int i, n = split_kv(text, keys, vals, MAX_KEYS);

	for (i = 0; i < n; i++)
		out_val(keys[i], vals[i]);
}

static int stats_once(void)
{
	char buf[8192], file[64], name[256];
	int *pids = calloc(MAX_VMS, sizeof(*pids)), n, i, ret;

	if (!pids)
		return fail(-ENOMEM, "stats");
	ret = vspace_read("stats", buf, sizeof(buf));
	if (ret) {
		free(pids);
		return fail(ret, "cannot read stats");
	}
	out_begin();
	out_int("time", (long long)time(NULL));
	out_obj("groups");
	kv_lines(buf);
	out_obj_end();
	n = vspace_vm_pids(pids, MAX_VMS);
	out_arr("vms");
	for (i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "vms/%d/stats", pids[i]);
		if (vspace_read(file, buf, sizeof(buf)))
			continue;
		out_obj(NULL);
		out_int("pid", pids[i]);
		out_str("name", vspace_vm_name(pids[i], name, sizeof(name)) ? "" : name);
		kv_lines(buf);
		out_obj_end();
	}
	out_arr_end();
	out_end();
	free(pids);
	return 0;
}

/* Per-VM figures that only grow: Prometheus counters, named *_total. */
static bool vm_counter(const char *key)
{
	static const char * const counters[] = {
		"runtime_ns", "wait_ns", "preemptions", "migrations", "wakeups",
		"io_cpu_ns", "tx_packets", "tx_bytes", "rx_packets", "rx_bytes",
	};
	unsigned int i;

	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		if (!strcmp(key, counters[i]))
			return true;
	return false;
}

/*
 * Prometheus text format: group figures as vspace_group_<name>{group=...},
 * per-VM figures as vspace_vm_<name>{pid=...,name=...}, each family once
 * with its HELP and TYPE.
 */
static int stats_prometheus(FILE *f)
{
	char buf[8192], file[64], name[256], metric[160], labels[512];
	char *keys[MAX_KEYS], *vals[MAX_KEYS];
	char **vk = NULL, **vv = NULL, **texts = NULL;
	int *pids = calloc(MAX_VMS, sizeof(*pids)), *nk = NULL;
	int n, nvm, i, j, k, ret;

	if (!pids)
		return fail(-ENOMEM, "stats");
	ret = vspace_read("stats", buf, sizeof(buf));
	if (ret) {
		free(pids);
		return fail(ret, "cannot read stats");
	}
	n = split_kv(buf, keys, vals, MAX_KEYS);
	for (i = 0; i < n; i++) {
		const char *grp = !strncmp(keys[i], "vm_", 3) ? "vm" :
				  !strncmp(keys[i], "io_", 3) ? "io" : NULL;

		if (!grp) {
			snprintf(metric, sizeof(metric), "vspace_%s", keys[i]);
			prom_family(f, metric, "gauge", "vspace: the last interval's length");
			prom_sample(f, metric, "", vals[i]);
			continue;
		}
		/* Each vm_<x> is followed later by io_<x>: one family for both. */
		if (!strcmp(grp, "io"))
			continue;
		snprintf(metric, sizeof(metric), "vspace_group_%s", keys[i] + 3);
		prom_family(f, metric, "gauge",
			    "vspace: a group over the last interval (sysfs-kernel-vspace, stats)");
		prom_sample(f, metric, "group=\"vm\"", vals[i]);
		for (j = 0; j < n; j++)
			if (!strncmp(keys[j], "io_", 3) && !strcmp(keys[j] + 3, keys[i] + 3))
				prom_sample(f, metric, "group=\"io\"", vals[j]);
	}

	nvm = vspace_vm_pids(pids, MAX_VMS);
	if (nvm > 0) {
		texts = calloc(nvm, sizeof(*texts));
		vk = calloc((size_t)nvm * MAX_KEYS, sizeof(*vk));
		vv = calloc((size_t)nvm * MAX_KEYS, sizeof(*vv));
		nk = calloc(nvm, sizeof(*nk));
		if (!texts || !vk || !vv || !nk)
			nvm = 0;
	}
	for (i = 0; i < nvm; i++) {
		snprintf(file, sizeof(file), "vms/%d/stats", pids[i]);
		texts[i] = malloc(8192);
		if (!texts[i] || vspace_read(file, texts[i], 8192))
			continue;	/* exited meanwhile */
		nk[i] = split_kv(texts[i], vk + i * MAX_KEYS, vv + i * MAX_KEYS,
				 MAX_KEYS);
	}
	/* Families in the order of the first VM that has figures. */
	for (i = 0; i < nvm && !nk[i]; i++)
		;
	for (k = 0; i < nvm && k < nk[i]; k++) {
		const char *key = vk[i * MAX_KEYS + k];
		bool counter = vm_counter(key);

		snprintf(metric, sizeof(metric), "vspace_vm_%s%s", key,
			 counter ? "_total" : "");
		prom_family(f, metric, counter ? "counter" : "gauge",
			    "vspace: per-VM figure (sysfs-kernel-vspace, vms/<pid>/stats)");
		for (j = 0; j < nvm; j++) {
			int m;

			if (vspace_vm_name(pids[j], name, sizeof(name)))
				name[0] = '\0';
			snprintf(labels, sizeof(labels), "pid=\"%d\",name=\"%s\"",
				 pids[j], name);
			for (m = 0; m < nk[j]; m++)
				if (!strcmp(vk[j * MAX_KEYS + m], key))
					prom_sample(f, metric, labels, vv[j * MAX_KEYS + m]);
		}
	}
	for (i = 0; texts && i < nvm; i++)
		free(texts[i]);
	free(texts);
	free(vk);
	free(vv);
	free(nk);
	free(pids);
	return 0;
}

/* Write the Prometheus text to @path whole: a scraper never sees half. */
static int prometheus_to(const char *path)
{
	char tmp[4096];
	FILE *f;
	int ret;

	if (!path)
		return stats_prometheus(stdout);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return fail(-errno, "cannot write %s", tmp);
	ret = stats_prometheus(f);
	if (fclose(f) || ret || rename(tmp, path)) {
		unlink(tmp);
		return ret ? ret : fail(-errno, "cannot write %s", path);
	}
	return 0;
}

static int cmd_stats(int argc, char **argv)
{
	const char *outfile = NULL;
	bool prom = false;
	long watch = 0;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--prometheus")) {
			prom = true;
		} else if (!strcmp(argv[i], "--watch") && i + 1 < argc) {
			watch = config_number(argv[++i], 1, 86400);
			if (watch < 0)
				return fail(0, "--watch needs seconds, 1..86400");
		} else if (!strcmp(argv[i], "--output") && i + 1 < argc) {
			outfile = argv[++i];
		} else {
			return fail(0, "usage: vspacectl stats [--watch SEC] [--prometheus [--output FILE]]");
		}
	}
	if (outfile && !prom)
		return fail(0, "--output is for --prometheus");
	for (;;) {
		ret = prom ? prometheus_to(outfile) : stats_once();
		if (ret || !watch)
			return ret;
		fflush(stdout);
		sleep(watch);
		if (!prom && !out_json())
			printf("\n");
	}
}

static int cmd_decisions(int argc, char **argv)
{
	char *text, *line, *save = NULL, *cols[32], *hdr;
	int err, ncols = 0;

	text = vspace_read_all("decisions", &err);
	if (!text)
		return fail(err, "cannot read decisions");
	if (!out_json()) {
		fputs(text, stdout);
		free(text);
		return 0;
	}
	hdr = strtok_r(text, "\n", &save);
	if (hdr && hdr[0] == '#') {
		char *c, *s2 = NULL;

		for (c = strtok_r(hdr + 1, " ", &s2); c && ncols < 32;
		     c = strtok_r(NULL, " ", &s2))
			cols[ncols++] = c;
	}
	out_begin();
	out_arr("decisions");
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *v, *s3 = NULL;
		int i = 0;

		out_obj(NULL);
		for (v = strtok_r(line, " ", &s3); v && i < ncols;
		     v = strtok_r(NULL, " ", &s3))
			out_val(cols[i++], v);
		out_obj_end();
	}
	out_arr_end();
	out_end();
	free(text);
	return 0;
}

static int cmd_apply(int argc, char **argv)
{
	const char *file = NULL, *only = NULL;
	bool dry = false;
	char err[512];
	struct config *c;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dry-run"))
			dry = true;
		else if (!strcmp(argv[i], "--vm") && i + 1 < argc)
			only = argv[++i];
		else if (!file && argv[i][0] != '-')
			file = argv[i];
		else
			return fail(0, "usage: vspacectl apply [--dry-run] [--vm NAME] FILE");
	}
	if (!file)
		return fail(0, "usage: vspacectl apply [--dry-run] [--vm NAME] FILE");
	c = config_load(file, err, sizeof(err));
	if (!c)
		return fail(0, "%s", err);
	if (only && config_only_vm(c, only)) {
		config_free(c);
		return fail(0, "%s: no 'vm %s' line", file, only);
	}
	ret = config_apply(c, dry, err, sizeof(err));
	if (ret) {
		config_free(c);
		return fail(0, "%s", err);
	}
	config_report(c, dry);
	config_free(c);
	return 0;
}

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	int nargs;		/* arguments after the command name; -1: any */
	bool needs_root;
	const char *usage;
};

static const struct cmd cmds[] = {
	{ "status", cmd_status, 0, false, "status" },
	{ "enable", cmd_enable, 0, true, "enable" },
	{ "disable", cmd_disable, 0, true, "disable" },
	{ "mode", cmd_mode, 1, true, "mode performance|energy|resource" },
	{ "cpus", cmd_cpus, 1, true, "cpus CPULIST" },
	{ "interval", cmd_interval, 1, true, "interval MS" },
	{ "vm", cmd_vm, -1, false, "vm add VM | vm remove VM | vm list" },
	{ "slo", cmd_slo, 2, true, "slo VM US" },
	{ "weight", cmd_weight, 2, true, "weight VM WEIGHT" },
	{ "latency", cmd_latency, 2, true, "latency VM US" },
	{ "stats", cmd_stats, -1, false,
	  "stats [--watch SEC] [--prometheus [--output FILE]]" },
	{ "decisions", cmd_decisions, 0, false, "decisions" },
	{ "apply", cmd_apply, -1, true, "apply [--dry-run] [--vm NAME] FILE" },
};

#define NR_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	unsigned int i;

	fprintf(f, "usage: vspacectl [-j|--json] COMMAND [ARGS]\n"
		"VM is a QEMU pid or its -name guest=NAME\ncommands:\n");
	for (i = 0; i < NR_CMDS; i++)
		fprintf(f, "  %s\n", cmds[i].usage);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *cmd = NULL;
	bool json = false;
	unsigned int i;
	int c;

	/* Other trees than /sys/kernel/vspace and /proc: for tests. */
	if (getenv("VSPACE_SYSFS"))
		vspace_root = getenv("VSPACE_SYSFS");
	if (getenv("VSPACE_PROC"))
		vspace_proc = getenv("VSPACE_PROC");

	while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	out_init(stdout, json);
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < NR_CMDS; i++)
		if (!strcmp(argv[0], cmds[i].name))
			cmd = &cmds[i];
	if (!cmd)
		return fail(0, "unknown command '%s' (try --help)", argv[0]);
	if (cmd->nargs >= 0 && argc - 1 != cmd->nargs)
		return fail(0, "usage: vspacectl %s", cmd->usage);
	if (!vspace_loaded())
		return fail(0, "vspace is not loaded (%s missing)", vspace_root);
	if (cmd->needs_root && geteuid() != 0 && !getenv("VSPACE_SYSFS"))
		return fail(0, "'%s' needs root", cmd->name);
	return cmd->fn(argc, argv);
}
