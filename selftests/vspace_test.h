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
