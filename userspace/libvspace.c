// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvspace.h"
#include <uapi/vspace.h>

const char *vspace_root = VSPACE_SYSFS_DIR;

static int vspace_path(char *path, size_t len, const char *file)
{
	int n = snprintf(path, len, "%s/%s", vspace_root, file);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Open a file under vspace_root; an fd, or -errno. */
static int vspace_open(const char *file, int flags)
{
	char path[512];
	int fd, ret;

	ret = vspace_path(path, sizeof(path), file);
	if (ret)
		return ret;
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int vspace_read(const char *file, char *buf, size_t len)
{
	int fd = vspace_open(file, O_RDONLY), ret = 0;
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return fd;
	/* Files longer than a page come a page per read(): read to the end. */
	while (n < len - 1) {
		r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : 0;
			break;
		}
		n += r;
	}
	close(fd);
	if (ret)
		return ret;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

int vspace_write(const char *file, const char *val)
{
	/* O_TRUNC as a shell's ">" does: sysfs ignores it, plain files need it. */
	int fd = vspace_open(file, O_WRONLY | O_TRUNC), ret;
	size_t len = strlen(val);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = write(fd, val, len);
	ret = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
	close(fd);
	return ret;
}

int vspace_loaded(void)
{
	char path[512];

	return !vspace_path(path, sizeof(path), "version") &&
	       access(path, F_OK) == 0;
}

int vspace_active_mode(char *buf, size_t len)
{
	char modes[256], *start, *end;
	int ret = vspace_read("mode", modes, sizeof(modes));

	if (ret)
		return ret;
	start = strchr(modes, '[');
	end = start ? strchr(start, ']') : NULL;
	/* A lone name (a stand-in tree written by tests) is the mode too. */
	if (!start && *modes && !strchr(modes, ' ')) {
		snprintf(buf, len, "%s", modes);
		return 0;
	}
	if (!end)
		return -EPROTO;
	*end = '\0';
	snprintf(buf, len, "%s", start + 1);
	return 0;
}

char *vspace_read_all(const char *file, int *err)
{
	int fd = vspace_open(file, O_RDONLY);
	size_t size = 4096, got = 0;
	char *buf = NULL, *nbuf;
	ssize_t n;

	*err = 0;
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	for (;;) {
		if (!buf || got + 1 >= size) {
			nbuf = realloc(buf, size *= 2);
			if (!nbuf) {
				*err = -ENOMEM;
				break;
			}
			buf = nbuf;
		}
		n = read(fd, buf + got, size - got - 1);
		if (n < 0) {
			*err = -errno;
			break;
		}
		if (!n)
			break;
		got += n;
	}
	close(fd);
	if (*err) {
		free(buf);
		return NULL;
	}
	buf[got] = '\0';
	return buf;
}

const char *vspace_proc = "/proc";

int vspace_vm_name(int pid, char *buf, size_t len)
{
	char path[512], cmd[8192], *p, *end, *val = NULL;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/cmdline", vspace_proc, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	cmd[n] = '\0';
	end = cmd + n;
	/* Arguments are NUL-separated; "-name" (or "--name") then its value. */
	for (p = cmd; p < end; p += strlen(p) + 1) {
		if ((!strcmp(p, "-name") || !strcmp(p, "--name")) &&
		    p + strlen(p) + 1 < end) {
			val = p + strlen(p) + 1;
			break;
		}
	}
	if (!val)
		return -ENOENT;
	p = strstr(val, "guest=");
	if (p && (p == val || p[-1] == ','))
		val = p + 6;
	else if (memchr(val, '=', strcspn(val, ",")))
		return -ENOENT;	/* only other key=value options */
	snprintf(buf, len, "%.*s", (int)strcspn(val, ","), val);
	return *buf ? 0 : -ENOENT;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int pid_of(const char *name)
{
	char *end;
	long v = strtol(name, &end, 10);

	return *name && !*end && v > 0 && v <= 0x3fffffff ? (int)v : -1;
}

static int list_pids(const char *dirpath, int *pids, int max)
{
	struct dirent *d;
	DIR *dir = opendir(dirpath);
	int n = 0, pid;

	if (!dir)
		return -errno;
	while ((d = readdir(dir)) && n < max)
		if ((pid = pid_of(d->d_name)) > 0)
			pids[n++] = pid;
	closedir(dir);
	qsort(pids, n, sizeof(*pids), cmp_int);
	return n;
}

int vspace_vm_pids(int *pids, int max)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/vms", vspace_root);
	return list_pids(path, pids, max);
}

int vspace_vm_resolve(const char *arg, int managed)
{
	char path[512], name[256];
	int *pids, n, i, found = -ENOENT;

	if (pid_of(arg) > 0)
		return pid_of(arg);
	if (!*arg || strchr(arg, '/') || strchr(arg, ','))
		return -EINVAL;
	pids = calloc(65536, sizeof(*pids));
	if (!pids)
		return -ENOMEM;
	if (managed) {
		n = vspace_vm_pids(pids, 65536);
	} else {
		snprintf(path, sizeof(path), "%s", vspace_proc);
		n = list_pids(path, pids, 65536);
	}
	for (i = 0; i < n; i++) {
		if (vspace_vm_name(pids[i], name, sizeof(name)) ||
		    strcmp(name, arg))
			continue;
		if (found > 0) {
			found = -EEXIST;
			break;
		}
		found = pids[i];
	}
	free(pids);
	return n < 0 ? n : found;
}
