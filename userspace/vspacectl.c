// SPDX-License-Identifier: GPL-2.0
/*
 * vspacectl: the operator's tool for vspace.
 *
 *   vspacectl [-j|--json] COMMAND [ARGS]
 *
 * Commands are a table (name, handler, needs root, usage); each one reads
 * or writes /sys/kernel/vspace through libvspace. With --json every result,
 * and every error, is one JSON object on stdout.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvspace.h"
#include <uapi/vspace.h>

static bool json;

/* Print a JSON string literal, escaped. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

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
	if (json) {
		printf("{\"error\": ");
		json_str(msg);
		printf("}\n");
	} else {
		fprintf(stderr, "vspacectl: %s\n", msg);
	}
	return 1;
}

/* Write one setting; on EINVAL the kernel log says why. */
static int set(const char *file, const char *val)
{
	int ret = vspace_write(file, val);

	if (ret == -EINVAL)
		return fail(0, "%s: invalid value '%s' (see dmesg)", file, val);
	if (ret)
		return fail(ret, "cannot write %s", file);
	if (json)
		printf("{\"%s\": \"%s\"}\n", file, val);
	return 0;
}

static const char * const status_files[] = {
	"version", "enabled", "mode", "interval_ms", "cpus", "io_cpus",
	"vm_cpus", "io_cpus_min", "io_cpus_max", "auto_discover",
};

static int cmd_status(int argc, char **argv)
{
	char val[4096];
	unsigned int i;
	int ret;

	if (json)
		printf("{");
	for (i = 0; i < sizeof(status_files) / sizeof(status_files[0]); i++) {
		const char *f = status_files[i];

		ret = !strcmp(f, "mode") ? vspace_active_mode(val, sizeof(val)) :
					   vspace_read(f, val, sizeof(val));
		if (ret) {
			if (json)
				printf("}\n");
			return fail(ret, "cannot read %s", f);
		}
		if (json) {
			printf("%s\"%s\": ", i ? ", " : "", f);
			json_str(val);
		} else {
			printf("%-12s %s\n", f, val);
		}
	}
	if (json)
		printf("}\n");
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
	return set("mode", argv[1]);
}

static int cmd_cpus(int argc, char **argv)
{
	return set("cpus", argv[1]);
}

static int cmd_interval(int argc, char **argv)
{
	return set("interval_ms", argv[1]);
}

/* A pid argument: digits only, so junk never reaches the kernel. */
static int parse_pid(const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);

	return *arg && !*end && v > 0 && v <= 0x3fffffff ? (int)v : -1;
}

static int vm_add(const char *arg)
{
	char val[32];
	int pid = parse_pid(arg), ret;

	if (pid < 0)
		return fail(0, "'%s' is not a process id", arg);
	snprintf(val, sizeof(val), "%d", pid);
	ret = vspace_write("vms/add", val);
	if (ret == -ESRCH)
		return fail(0, "no process %d", pid);
	if (ret == -EEXIST)
		return fail(0, "VM %d is already managed", pid);
	if (ret == -EINVAL)
		return fail(0, "process %d is not a VM (see dmesg)", pid);
	if (ret)
		return fail(ret, "cannot add VM %d", pid);
	if (json)
		printf("{\"added\": %d}\n", pid);
	return 0;
}

static int vm_remove(const char *arg)
{
	char val[32];
	int pid = parse_pid(arg), ret;

	if (pid < 0)
		return fail(0, "'%s' is not a process id", arg);
	snprintf(val, sizeof(val), "%d", pid);
	ret = vspace_write("vms/remove", val);
	if (ret == -ENOENT)
		return fail(0, "VM %d is not managed", pid);
	if (ret)
		return fail(ret, "cannot remove VM %d", pid);
	if (json)
		printf("{\"removed\": %d}\n", pid);
	return 0;
}

/* One VM: its threads ("tid kind cpus [flags]") and drift count. */
static int vm_print(int pid, bool first)
{
	char file[64], threads[16384], drifts[32], *line, *save = NULL;
	int ret, n = 0;

	snprintf(file, sizeof(file), "vms/%d/threads", pid);
	ret = vspace_read(file, threads, sizeof(threads));
	snprintf(file, sizeof(file), "vms/%d/drifts", pid);
	if (!ret)
		ret = vspace_read(file, drifts, sizeof(drifts));
	if (ret)
		return ret;
	if (json)
		printf("%s{\"pid\": %d, \"drifts\": %s, \"threads\": [",
		       first ? "" : ", ", pid, drifts);
	else
		printf("VM %d (drifts %s)\n", pid, drifts);
	for (line = strtok_r(threads, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char kind[16], cpus[4096];
		int tid, rest = 0;
		const char *flags;

		if (sscanf(line, "%d %15s %4095s%n", &tid, kind, cpus, &rest) != 3)
			continue;
		flags = line + rest + strspn(line + rest, " ");
		if (!json) {
			printf("  %s\n", line);
			continue;
		}
		printf("%s{\"tid\": %d, \"kind\": \"%s\", \"cpus\": ",
		       n++ ? ", " : "", tid, kind);
		json_str(cpus);
		printf(", \"flags\": ");
		json_str(flags);
		printf("}");
	}
	if (json)
		printf("]}");
	return 0;
}

static int vm_list(void)
{
	char path[512];
	struct dirent *d;
	bool first = true;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/vms", vspace_root);
	dir = opendir(path);
	if (!dir)
		return fail(-errno, "cannot list %s", path);
	if (json)
		printf("{\"vms\": [");
	while ((d = readdir(dir))) {
		int pid = parse_pid(d->d_name);

		/* A VM that exits while listing is simply not shown. */
		if (pid > 0 && !vm_print(pid, first))
			first = false;
	}
	closedir(dir);
	if (json)
		printf("]}\n");
	return 0;
}

static int cmd_vm(int argc, char **argv)
{
	if (argc == 3 && geteuid() != 0)
		return fail(0, "'vm %s' needs root", argv[1]);
	if (argc == 3 && !strcmp(argv[1], "add"))
		return vm_add(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "remove"))
		return vm_remove(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "list"))
		return vm_list();
	return fail(0, "usage: vspacectl vm add PID | vm remove PID | vm list");
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
	{ "vm", cmd_vm, -1, false, "vm add PID | vm remove PID | vm list" },
};

#define NR_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	unsigned int i;

	fprintf(f, "usage: vspacectl [-j|--json] COMMAND [ARGS]\ncommands:\n");
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
	unsigned int i;
	int c;

	/* Another tree than /sys/kernel/vspace: for tests of the tool itself. */
	if (getenv("VSPACE_SYSFS"))
		vspace_root = getenv("VSPACE_SYSFS");

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
	if (cmd->needs_root && geteuid() != 0)
		return fail(0, "'%s' needs root", cmd->name);
	return cmd->fn(argc, argv);
}
