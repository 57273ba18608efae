// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
	int fd = vspace_open(file, O_RDONLY), ret;
	ssize_t n;

	if (fd < 0)
		return fd;
	n = read(fd, buf, len - 1);
	ret = n < 0 ? -errno : 0;
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
	int fd = vspace_open(file, O_WRONLY), ret;
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
	if (!end)
		return -EPROTO;
	*end = '\0';
	snprintf(buf, len, "%s", start + 1);
	return 0;
}
