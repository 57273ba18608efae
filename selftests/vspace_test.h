/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by vspace's selftests: read and write sysfs files the way
 * an operator's echo and cat do, and skip cleanly where vspace is absent.
 */
#ifndef _VSPACE_TEST_H
#define _VSPACE_TEST_H

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uapi/vspace.h>

static inline int vs_path(char *path, size_t len, const char *name)
{
	return snprintf(path, len, "%s/%s", VSPACE_SYSFS_DIR, name);
}

/* Read a file into buf without its trailing newline; 0 or -errno. */
static inline int vs_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static inline int vs_read(const char *name, char *buf, size_t len)
{
	char path[256];

	vs_path(path, sizeof(path), name);
	return vs_read_file(path, buf, len);
}

/* Write exactly len bytes in one write(2); 0 or -errno. */
static inline int vs_write_file(const char *path, const char *val, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	return n == (ssize_t)len ? 0 : -EIO;
}

static inline int vs_write_len(const char *name, const char *val, size_t len)
{
	char path[256];

	vs_path(path, sizeof(path), name);
	return vs_write_file(path, val, len);
}

static inline int vs_write(const char *name, const char *val)
{
	return vs_write_len(name, val, strlen(val));
}

static inline int vs_loaded(void)
{
	return access(VSPACE_SYSFS_DIR "/version", F_OK) == 0;
}

/* Skip the test (exit code 4 for the program) unless root with vspace. */
#define VS_REQUIRE_LOADED()						\
	do {								\
		if (geteuid() != 0)					\
			SKIP(return, "needs root");			\
		if (!vs_loaded())					\
			SKIP(return, "vspace is not loaded");		\
	} while (0)

/* The online CPUs, as the kernel prints them. */
static inline int vs_online_cpus(char *buf, size_t len)
{
	return vs_read_file("/sys/devices/system/cpu/online", buf, len);
}

#define VS_MAX_CPUS 8192

/* Set @set's bits for cpulist @list. */
static inline void vs_cpulist_parse(const char *list, unsigned char *set)
{
	const char *s;
	int a, b;

	for (s = list; *s; ) {
		if (sscanf(s, "%d-%d", &a, &b) != 2) {
			if (sscanf(s, "%d", &a) != 1)
				break;
			b = a;
		}
		for (; a <= b && a < VS_MAX_CPUS; a++)
			if (a >= 0)
				set[a] = 1;
		s += strcspn(s, ",");
		if (*s == ',')
			s++;
	}
}

/* Set @set's bits for the cpulist in file @path; missing file: none. */
static inline void vs_cpulist_bits(const char *path, unsigned char *set)
{
	char buf[4096];

	if (!vs_read_file(path, buf, sizeof(buf)))
		vs_cpulist_parse(buf, set);
}

/* Whether cpulist @a has a CPU and all of them are in cpulist @b. */
static inline int vs_cpulist_within(const char *a, const char *b)
{
	static unsigned char x[VS_MAX_CPUS], y[VS_MAX_CPUS];
	int i, n = 0;

	memset(x, 0, sizeof(x));
	memset(y, 0, sizeof(y));
	vs_cpulist_parse(a, x);
	vs_cpulist_parse(b, y);
	for (i = 0; i < VS_MAX_CPUS; i++) {
		if (x[i] && !y[i])
			return 0;
		n += x[i];
	}
	return n > 0;
}

/*
 * What vspace takes for cpus when loaded: the online CPUs the kernel did
 * not isolate (isolcpus=, nohz_full=, isolated cpuset partitions), or all
 * online CPUs if none is left; as the kernel prints a cpulist.
 */
static inline int vs_default_cpus(char *buf, size_t len)
{
	static unsigned char on[VS_MAX_CPUS], iso[VS_MAX_CPUS];
	int cpu, start = -1, n = 0, any = 0;
	size_t used = 0;

	memset(on, 0, sizeof(on));
	memset(iso, 0, sizeof(iso));
	vs_cpulist_bits("/sys/devices/system/cpu/online", on);
	vs_cpulist_bits("/sys/devices/system/cpu/isolated", iso);
	vs_cpulist_bits("/sys/devices/system/cpu/nohz_full", iso);
	vs_cpulist_bits("/sys/fs/cgroup/cpuset.cpus.isolated", iso);
	for (cpu = 0; cpu < VS_MAX_CPUS; cpu++)
		any |= on[cpu] && !iso[cpu];
	buf[0] = '\0';
	for (cpu = 0; cpu <= VS_MAX_CPUS; cpu++) {
		int in = cpu < VS_MAX_CPUS && on[cpu] && (!any || !iso[cpu]);

		if (in && start < 0)
			start = cpu;
		if (in || start < 0)
			continue;
		if (start == cpu - 1)
			used += snprintf(buf + used, used < len ? len - used : 0,
					 "%s%d", n++ ? "," : "", start);
		else
			used += snprintf(buf + used, used < len ? len - used : 0,
					 "%s%d-%d", n++ ? "," : "", start, cpu - 1);
		start = -1;
	}
	return used < len ? 0 : -1;
}

/*
 * The module file: $VSPACE_KO, or ../module/vspace.ko next to the test.
 */
static inline int vs_find_ko(char *path, size_t len)
{
	char self[PATH_MAX];
	const char *env = getenv("VSPACE_KO");
	ssize_t n;

	if (env) {
		snprintf(path, len, "%s", env);
		return access(path, R_OK);
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -1;
	self[n] = '\0';
	snprintf(path, len, "%s/../module/vspace.ko", dirname(self));
	return access(path, R_OK);
}

static inline int vs_load(const char *ko)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static inline int vs_unload(void)
{
	return syscall(SYS_delete_module, "vspace", O_NONBLOCK) ? -errno : 0;
}

/* Helpers for tests that run a VM (selftests/vhost_vm). */

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}


/*
 * @tid's time on a CPU and waiting for one, from /proc/<tid>/schedstat;
 * 0 or -1.
 */
static inline int proc_sched_ns(pid_t tid, long long *run, long long *delay)
{
	char path[64], buf[128];

	snprintf(path, sizeof(path), "/proc/%d/schedstat", tid);
	if (vs_read_file(path, buf, sizeof(buf)) ||
	    sscanf(buf, "%lld %lld", run, delay) != 2)
		return -1;
	return 0;
}

/* @tid's time on a CPU from /proc/<tid>/schedstat, in ns; -1 if gone. */
static inline long long proc_run_ns(pid_t tid)
{
	long long run, delay;

	return proc_sched_ns(tid, &run, &delay) ? -1 : run;
}

/* A status field of /proc/<tid>/status, e.g. "Cpus_allowed_list". */
static inline int proc_status(pid_t tid, const char *key, char *val, size_t len)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;
	int ret = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			snprintf(val, len, "%s", line + klen + 2);
			val[strcspn(val, "\n")] = '\0';
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

static inline int comm_of(pid_t tid, char *comm, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", tid);
	return vs_read_file(path, comm, len);
}

/*
 * With $VS_MACHINE_SLICE set (e.g. /sys/fs/cgroup/machine.slice, from
 * hostshape.sh), each VM gets a libvirt-style scope there, named after its
 * pid: its path in @path, 0; -1 when unset.
 */
static inline int vm_scope(pid_t pid, char *path, size_t len)
{
	const char *slice = getenv("VS_MACHINE_SLICE");

	if (!slice || !*slice)
		return -1;
	return snprintf(path, len, "%s/machine-qemu-%d-vs.scope", slice, pid) <
	       (int)len ? 0 : -1;
}

/*
 * Remove the scope of the VM that was @child, once it is reaped. 6.1's
 * vhost kthreads may still be leaving it for a moment (EBUSY); a child
 * that had no scope gives ENOENT at once.
 */
static inline void kill_vm_scope(pid_t child)
{
	char scope[PATH_MAX];
	int i;

	if (vm_scope(child, scope, sizeof(scope)))
		return;
	for (i = 0; i < 100 && rmdir(scope) && errno == EBUSY; i++)
		usleep(10000);
}

/*
 * Start vhost_vm with @args; its pid, or 0 with errno-like status in *rc.
 * The pid is *child's: sh execs vhost_vm in the forked child. Under
 * $VS_MACHINE_SLICE, vhost_vm runs as QEMU does on a production host: in
 * a scope of its own and a session of its own (-g, -s).
 */
static inline pid_t spawn_vm(const char *args, pid_t *child, int *rc)
{
	char self[PATH_MAX], cmd[2 * PATH_MAX + 128], line[64];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int fds[2], pid = 0;
	FILE *f;

	*rc = 0;
	if (len < 0 || pipe(fds))
		return 0;
	self[len] = '\0';
	*child = fork();
	if (*child == 0) {
		char scope[PATH_MAX], opts[PATH_MAX + 16] = "";

		/* Made here, so it exists before vhost_vm joins it. */
		if (!vm_scope(getpid(), scope, sizeof(scope))) {
			if (mkdir(scope, 0755) && errno != EEXIST) {
				fprintf(stderr, "spawn_vm: mkdir %s: %s\n",
					scope, strerror(errno));
				_exit(1);
			}
			snprintf(opts, sizeof(opts), "-g '%s' -s ", scope);
		}
		snprintf(cmd, sizeof(cmd), "exec %s/vhost_vm %s%s",
			 dirname(self), opts, args);
		dup2(fds[1], 1);
		close(fds[0]);
		execl("/bin/sh", "sh", "-c", cmd, NULL);
		_exit(1);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (f && fgets(line, sizeof(line), f))
		sscanf(line, "ready %d", &pid);
	if (f)
		fclose(f);
	if (!pid) {
		int status;

		waitpid(*child, &status, 0);
		*rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		kill_vm_scope(*child);
	}
	return pid;
}

static inline void kill_vm(pid_t child)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		kill_vm_scope(child);
	}
}

static inline int vm_file(pid_t qemu, const char *file, char *buf, size_t len)
{
	char name[64];

	snprintf(name, sizeof(name), "vms/%d/%s", qemu, file);
	return vs_read(name, buf, len);
}

/* The line of vms/<qemu>/threads about @tid. */
static inline int threads_line(pid_t qemu, pid_t tid, char *out, size_t len)
{
	char buf[8192], *line, *save = NULL;
	int ret = vm_file(qemu, "threads", buf, sizeof(buf));

	if (ret)
		return ret;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (atoi(line) == tid) {
			snprintf(out, len, "%s", line);
			return 0;
		}
	}
	return -ENOENT;
}

static inline int vm_op(const char *op, pid_t pid)
{
	char val[32];

	snprintf(val, sizeof(val), "%d\n", pid);
	return vs_write(op, val);
}

/*
 * main() for a harness program: as kselftests do, exit with the skip code
 * (4) before running anything when not root or vspace is not loaded.
 * Include after kselftest_harness.h.
 */
#define VS_HARNESS_MAIN							\
	int main(int argc, char **argv)					\
	{								\
		if (geteuid() != 0 || !vs_loaded()) {			\
			ksft_print_header();				\
			ksft_exit_skip("%s\n", geteuid() ?		\
				       "needs root" :			\
				       "vspace is not loaded");		\
		}							\
		return test_harness_run(argc, argv);			\
	}

#endif /* _VSPACE_TEST_H */
