// SPDX-License-Identifier: GPL-2.0
/*
 * The sysfs contract of /sys/kernel/vspace: every file exists with its
 * mode, every valid write takes and reads back, every invalid write fails
 * with EINVAL and changes nothing, and only root may write.
 */
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/klog.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vspace_test.h"

/* In restore order: the I/O bounds depend on cpus. */
static const char * const rw_files[] = {
	"enabled", "mode", "interval_ms", "cpus", "io_cpus_max", "io_cpus_min",
	"auto_discover", "isolation",
};

#define NR_RW ARRAY_SIZE(rw_files)

/* Save every writable value, and put it back after each test. */
FIXTURE(vspace) {
	char saved[NR_RW][256];
};

FIXTURE_SETUP(vspace)
{
	unsigned int i;

	VS_REQUIRE_LOADED();
	for (i = 0; i < NR_RW; i++)
		ASSERT_EQ(0, vs_read(rw_files[i], self->saved[i],
				     sizeof(self->saved[i])));
}

FIXTURE_TEARDOWN(vspace)
{
	char mode[64];
	unsigned int i;

	for (i = 0; i < NR_RW; i++) {
		const char *val = self->saved[i];

		/* "mode" reads as a list; write back the bracketed name. */
		if (!strcmp(rw_files[i], "mode") && strchr(val, '[')) {
			snprintf(mode, sizeof(mode), "%s", strchr(val, '[') + 1);
			*strchr(mode, ']') = '\0';
			val = mode;
		}
		if (*val)
			EXPECT_EQ(0, vs_write(rw_files[i], val));
	}
}

/*
 * Each invalid write must fail with EINVAL and leave the value as it was.
 * Writes are exact bytes, so "\n" is what `echo > file` sends.
 */
static void expect_rejected(struct __test_metadata *_metadata,
			    const char *file, const char * const *bad, int n)
{
	char before[256], after[256];
	int i;

	ASSERT_EQ(0, vs_read(file, before, sizeof(before)));
	for (i = 0; i < n; i++) {
		int ret = vs_write(file, bad[i]);

		EXPECT_EQ(-EINVAL, ret) {
			TH_LOG("%s accepted \"%s\" (ret %d)", file, bad[i], ret);
		}
		ASSERT_EQ(0, vs_read(file, after, sizeof(after)));
		EXPECT_STREQ(before, after) {
			TH_LOG("%s changed after invalid \"%s\"", file, bad[i]);
		}
	}
}

#define EXPECT_REJECTED(file, ...)					\
	do {								\
		const char * const bad_[] = { __VA_ARGS__ };		\
		expect_rejected(_metadata, file, bad_, ARRAY_SIZE(bad_)); \
	} while (0)

static void expect_takes(struct __test_metadata *_metadata, const char *file,
			 const char *val, const char *want)
{
	char got[256];

	ASSERT_EQ(0, vs_write(file, val)) {
		TH_LOG("%s refused \"%s\"", file, val);
	}
	ASSERT_EQ(0, vs_read(file, got, sizeof(got)));
	EXPECT_STREQ(want, got);
}

TEST_F(vspace, files_and_modes)
{
	static const struct { const char *name; mode_t mode; } files[] = {
		{ "version", 0444 },
		{ "enabled", 0644 },
		{ "mode", 0644 },
		{ "interval_ms", 0644 },
		{ "cpus", 0644 },
		{ "io_cpus", 0444 },
		{ "vm_cpus", 0444 },
		{ "io_cpus_min", 0644 },
		{ "io_cpus_max", 0644 },
		{ "auto_discover", 0644 },
		{ "isolation", 0644 },
		{ "free_cpus", 0444 },
		{ "io_confined_cpus", 0444 },
		{ "decisions", 0444 },
		{ "stats", 0444 },
		{ "vms/add", 0200 },
		{ "vms/remove", 0200 },
	};
	char path[256];
	struct stat st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		vs_path(path, sizeof(path), files[i].name);
		ASSERT_EQ(0, stat(path, &st)) {
			TH_LOG("%s is missing", path);
		}
		EXPECT_TRUE(S_ISREG(st.st_mode));
		EXPECT_EQ(files[i].mode, st.st_mode & 07777) {
			TH_LOG("%s has mode %o", path, st.st_mode & 07777);
		}
	}
}

TEST_F(vspace, version)
{
	char ver[64], modver[64];

	ASSERT_EQ(0, vs_read("version", ver, sizeof(ver)));
	/* The module loader's own record of MODULE_VERSION. */
	ASSERT_EQ(0, vs_read_file("/sys/module/vspace/version", modver,
				  sizeof(modver)));
	EXPECT_STREQ(modver, ver);
	EXPECT_EQ(-EACCES, vs_write("version", "9.9.9\n"));
}

TEST_F(vspace, enabled)
{
	expect_takes(_metadata, "enabled", "1\n", "1");
	expect_takes(_metadata, "enabled", "0\n", "0");
	expect_takes(_metadata, "enabled", "1", "1");
	EXPECT_REJECTED("enabled", "\n", " ", "2\n", "-1\n", "abc\n", "1x\n",
			"1 1\n", "0x1\n", "on\n", "99999999999999999999\n",
			"1\n\n");
}

TEST_F(vspace, mode)
{
	expect_takes(_metadata, "mode", "energy\n", "performance [energy] resource");
	expect_takes(_metadata, "mode", "resource\n", "performance energy [resource]");
	expect_takes(_metadata, "mode", "performance", "[performance] energy resource");
	EXPECT_REJECTED("mode", "\n", "perf\n", "performancex\n",
			"PERFORMANCE\n", "energy resource\n", "[energy]\n",
			" energy\n", "0\n");
}

TEST_F(vspace, interval_ms)
{
	expect_takes(_metadata, "interval_ms", "10\n", "10");
	expect_takes(_metadata, "interval_ms", "10000\n", "10000");
	expect_takes(_metadata, "interval_ms", "250", "250");
	EXPECT_REJECTED("interval_ms", "\n", "9\n", "10001\n", "0\n", "-1\n",
			"-100\n", "abc\n", "100ms\n", "100 \n", "1e3\n",
			"4294967296\n", "99999999999999999999\n", "0x64\n");
}

TEST_F(vspace, cpus)
{
	char online[256], bad[3][32];
	int last = -1;
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);

	ASSERT_EQ(0, vs_online_cpus(online, sizeof(online)));
	expect_takes(_metadata, "cpus", "0\n", "0");
	expect_takes(_metadata, "cpus", online, online);
	if (sscanf(strrchr(online, '-') ? strrchr(online, '-') + 1 : online,
		   "%d", &last) == 1 && last > 0) {
		char list[32], want[32];

		snprintf(list, sizeof(list), "0,%d\n", last);
		snprintf(want, sizeof(want), last == 1 ? "0-1" : "0,%d", last);
		expect_takes(_metadata, "cpus", list, want);
	}
	/* The first CPU number the machine does not have, and beyond. */
	snprintf(bad[0], sizeof(bad[0]), "%ld\n", ncpus);
	snprintf(bad[1], sizeof(bad[1]), "0-%ld\n", ncpus);
	snprintf(bad[2], sizeof(bad[2]), "%ld\n", ncpus + 4096);
	EXPECT_REJECTED("cpus", "\n", " \n", "abc\n", "0-\n", "-1\n", "1-0\n",
			"0,,1x\n", "0 junk\n", "0-99999999999999999999\n",
			"99999999999999999999\n", bad[0], bad[1], bad[2]);
}

/* A CPU that is offline may not be managed. */
TEST_F(vspace, cpus_offline)
{
	const char *online = "/sys/devices/system/cpu/cpu1/online";
	char state[8];
	int ret;

	if (vs_read_file(online, state, sizeof(state)) || strcmp(state, "1"))
		SKIP(return, "cpu1 cannot be taken offline here");
	ASSERT_EQ(0, vs_write("cpus", "0\n"));
	ret = vs_write_file(online, "0", 1);
	if (ret)
		SKIP(return, "cpu1 refused to go offline (%d)", ret);
	EXPECT_REJECTED("cpus", "1\n", "0-1\n");
	ASSERT_EQ(0, vs_write_file(online, "1", 1));
	expect_takes(_metadata, "cpus", "0-1\n", "0-1");
}

TEST_F(vspace, auto_discover)
{
	expect_takes(_metadata, "auto_discover", "1\n", "1");
	expect_takes(_metadata, "auto_discover", "0\n", "0");
	EXPECT_REJECTED("auto_discover", "\n", "2\n", "-1\n", "yes\n", "1x\n",
			"99999999999999999999\n");
}

TEST_F(vspace, isolation)
{
	expect_takes(_metadata, "isolation", "0\n", "0");
	expect_takes(_metadata, "isolation", "1\n", "1");
	EXPECT_REJECTED("isolation", "\n", "2\n", "-1\n", "on\n", "1x\n");
}

/* Parse a cpulist into a CPU count; -1 on junk. */
static int cpulist_count(const char *list)
{
	int a, b, n = 0, used;

	while (*list) {
		if (sscanf(list, "%d%n", &a, &used) != 1)
			return -1;
		list += used;
		b = a;
		if (*list == '-') {
			if (sscanf(list + 1, "%d%n", &b, &used) != 1)
				return -1;
			list += used + 1;
		}
		n += b - a + 1;
		if (*list == ',')
			list++;
	}
	return n;
}

/*
 * io_cpus and vm_cpus split the usable CPUs (performance mode): disjoint,
 * the I/O group at the top end within its bounds, the VM group the rest.
 */
TEST_F(vspace, groups_and_bounds)
{
	char online[256], io[256], vm[256], val[32], want[32], bad[2][32];
	int n;

	ASSERT_EQ(0, vs_online_cpus(online, sizeof(online)));
	n = cpulist_count(online);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, vs_write("cpus", online));
	if (n < 2)
		SKIP(return, "needs 2 CPUs");

	/* max first, so that min <= max holds at every step. */
	snprintf(val, sizeof(val), "%d\n", n - 1);
	snprintf(want, sizeof(want), "%d", n - 1);
	expect_takes(_metadata, "io_cpus_max", val, want);
	expect_takes(_metadata, "io_cpus_min", "1\n", "1");
	ASSERT_EQ(0, vs_read("io_cpus", io, sizeof(io)));
	ASSERT_EQ(0, vs_read("vm_cpus", vm, sizeof(vm)));
	EXPECT_EQ(1, cpulist_count(io));
	EXPECT_EQ(n - 1, cpulist_count(vm));
	/* The top CPU is the I/O group's. */
	EXPECT_STREQ(strrchr(online, '-') ? strrchr(online, '-') + 1 : online, io);

	/*
	 * A lower minimum lets the policy shrink the group later; a lower
	 * maximum shrinks it at once.
	 */
	expect_takes(_metadata, "io_cpus_min", "0\n", "0");
	expect_takes(_metadata, "io_cpus_max", "0\n", "0");
	ASSERT_EQ(0, vs_read("io_cpus", io, sizeof(io)));
	EXPECT_STREQ("", io);
	ASSERT_EQ(0, vs_read("vm_cpus", vm, sizeof(vm)));
	EXPECT_STREQ(online, vm);
	expect_takes(_metadata, "io_cpus_max", val, want);

	/* min > max, max beyond what cpus leaves room for (one VM CPU). */
	snprintf(bad[0], sizeof(bad[0]), "%d\n", n);
	snprintf(bad[1], sizeof(bad[1]), "%d\n", n + 100);
	EXPECT_REJECTED("io_cpus_max", bad[0], bad[1], "-1\n", "abc\n", "\n",
			"1.5\n", "99999999999999999999\n");
	expect_takes(_metadata, "io_cpus_max", "1\n", "1");
	EXPECT_REJECTED("io_cpus_min", "2\n", bad[0], "-1\n", "x\n", "\n");
	expect_takes(_metadata, "io_cpus_min", "1\n", "1");
	EXPECT_REJECTED("io_cpus_max", "0\n");
}

/*
 * A smaller cpus leaves io_cpus_max above the room it leaves; that must
 * not block writing the other bound, and the I/O group comes back whole
 * with cpus.
 */
TEST_F(vspace, bounds_after_smaller_cpus)
{
	char online[256], first[16], io[256], val[32];
	int n;

	ASSERT_EQ(0, vs_online_cpus(online, sizeof(online)));
	n = cpulist_count(online);
	if (n < 2)
		SKIP(return, "needs 2 CPUs");
	ASSERT_EQ(0, vs_write("cpus", online));
	snprintf(val, sizeof(val), "%d\n", n - 1);
	ASSERT_EQ(0, vs_write("io_cpus_max", val));
	ASSERT_EQ(0, vs_write("io_cpus_min", "1\n"));
	snprintf(first, sizeof(first), "%d", atoi(online));
	ASSERT_EQ(0, vs_write("cpus", first));
	ASSERT_EQ(0, vs_read("io_cpus", io, sizeof(io)));
	EXPECT_STREQ("", io);
	/* No room now: 0 fits, whatever the other bound says. */
	EXPECT_EQ(0, vs_write("io_cpus_min", "0\n"));
	EXPECT_EQ(-EINVAL, vs_write("io_cpus_max", val));
	ASSERT_EQ(0, vs_write("cpus", online));
	ASSERT_EQ(0, vs_write("io_cpus_min", "1\n"));
	ASSERT_EQ(0, vs_read("io_cpus", io, sizeof(io)));
	EXPECT_EQ(1, cpulist_count(io));
}

/* A zero-byte write never reaches the module; it must change nothing. */
/*
 * The decisions file read in small pieces while decisions keep coming in
 * (a child resizes the I/O group back and forth): every read is one
 * whole text, lines complete, at most the header and 64 decisions. 300
 * reads; on the debug kernel as many as 20 s allow (300 reads of some
 * 1,000 pieces each, against the writer, did not fit in 120 s).
 */
TEST_F(vspace, decisions_read_while_changing)
{
	char text[32768];
	int i, fd, torn = 0, reads = 0;
	long long deadline;
	ssize_t got, r;
	pid_t child;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 CPUs");
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		for (;;) {
			vs_write("io_cpus_min", "0");
			vs_write("io_cpus_max", "0");
			vs_write("io_cpus_max", "1");
			vs_write("io_cpus_min", "1");
		}
	}
	deadline = vs_slow() > 1 ? now_ms() + 20000 : LLONG_MAX;
	for (i = 0; i < 300 && now_ms() < deadline; i++) {
		int lines = 0;
		char *p;

		fd = open(VSPACE_SYSFS_DIR "/decisions", O_RDONLY);
		ASSERT_LE(0, fd);
		got = 0;
		while ((r = read(fd, text + got, 7)) > 0 &&
		       got + r < (ssize_t)sizeof(text) - 8)
			got += r;
		close(fd);
		text[got] = '\0';
		for (p = text; *p; p++)
			lines += *p == '\n';
		reads++;
		if (!got || text[got - 1] != '\n' || lines > 65 ||
		    strncmp(text, "# time_ms", 9)) {
			if (!torn++)
				TH_LOG("read %d: %zd bytes, %d lines, ends '%s'",
				       i, got, lines, text + (got > 40 ? got - 40 : 0));
		}
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	TH_LOG("%d reads", reads);
	/* The debug kernel managed 20 in its 20 s. */
	EXPECT_LE(5, reads);
	EXPECT_EQ(0, torn)
		TH_LOG("%d of %d reads torn", torn, reads);
}

/*
 * Settings written back to back (a tool applying a config, a hook at every
 * VM start) are acted on at once but do not cut the interval short: the
 * policy judges whole intervals (stats interval_ns), as its figures and
 * holds assume.
 */
TEST_F(vspace, writes_keep_the_interval)
{
	long long shortest = LLONG_MAX, longest = 0, ns, end;
	char stats[4096], *p;
	int writes = 0;

	ASSERT_EQ(0, vs_write("interval_ms", "200"));
	/* Past the last interval of the old length. */
	usleep(1000000);
	end = now_ms() + 3000;
	while (now_ms() < end) {
		ASSERT_EQ(0, vs_write("mode", "performance"));
		ASSERT_EQ(0, vs_write("isolation", "1"));
		writes += 2;
		usleep(10000);
		ASSERT_EQ(0, vs_read("stats", stats, sizeof(stats)));
		p = strstr(stats, "interval_ns ");
		ASSERT_NE(NULL, p);
		ns = atoll(p + strlen("interval_ns "));
		shortest = ns < shortest ? ns : shortest;
		longest = ns > longest ? ns : longest;
	}
	TH_LOG("%d writes, intervals %lld to %lld us", writes, shortest / 1000,
	       longest / 1000);
	/* A period ends an interval only once half of it has run... */
	EXPECT_LE(100000000LL, shortest);
	/* ...and the writes do not put it off (slack for a slow guest). */
	EXPECT_GE(600000000LL, longest);
}

TEST_F(vspace, empty_write)
{
	char before[256], after[256];
	unsigned int i;

	for (i = 0; i < NR_RW; i++) {
		ASSERT_EQ(0, vs_read(rw_files[i], before, sizeof(before)));
		EXPECT_EQ(0, vs_write_len(rw_files[i], "", 0));
		ASSERT_EQ(0, vs_read(rw_files[i], after, sizeof(after)));
		EXPECT_STREQ(before, after);
	}
}

/* Every writable file refuses a write from a user that is not root. */
TEST_F(vspace, non_root_refused)
{
	unsigned int i;

	for (i = 0; i < NR_RW; i++) {
		char before[256], after[256];
		int status;
		pid_t pid;

		ASSERT_EQ(0, vs_read(rw_files[i], before, sizeof(before)));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			/* nobody */
			if (setgid(65534) || setuid(65534))
				_exit(2);
			_exit(vs_write(rw_files[i], "1\n") == -EACCES ? 0 : 1);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			TH_LOG("a non-root write to %s was not refused",
			       rw_files[i]);
		}
		ASSERT_EQ(0, vs_read(rw_files[i], after, sizeof(after)));
		EXPECT_STREQ(before, after);
	}
}

/*
 * How many times @want is in the kernel's log, read raw (through
 * syslog(2); /dev/kmsg escapes on its own); -1 if it cannot be read.
 */
static int log_count(char *log, int size, const char *want)
{
	int n = klogctl(3, log, size);	/* SYSLOG_ACTION_READ_ALL */
	const char *p;
	int count = 0;

	if (n < 0)
		return -1;
	log[n] = '\0';
	for (p = log; (p = strstr(p, want)); p++)
		count++;
	return count;
}

/*
 * A refused write is logged with the writer's bytes, but for printable
 * ASCII (and quote and backslash) as \xHH, and 32 of them at most: the
 * kernel's log holds no control or stray byte of theirs, nor a quote that
 * would end the value early. Each line must be new (one more than before
 * the write), not one an earlier run left.
 */
TEST_F(vspace, rejected_logged_escaped)
{
	char val[2][64], want[2][192], *log;
	int size, i, k, try, before;
	bool found;

	snprintf(val[0], sizeof(val[0]), "x\x1b[7m\xe1\x01\"\\%d\n", getpid());
	snprintf(want[0], sizeof(want[0]),
		 "isolation: rejected \"x\\x1b[7m\\xe1\\x01\\x22\\x5c%d\": ",
		 getpid());
	/* The longest a value can be logged: 32 bytes of four characters. */
	memset(val[1], 0xff, 40);
	strcpy(val[1] + 40, "\n");
	k = snprintf(want[1], sizeof(want[1]), "isolation: rejected \"");
	for (i = 0; i < 32; i++)
		k += snprintf(want[1] + k, sizeof(want[1]) - k, "\\xff");
	snprintf(want[1] + k, sizeof(want[1]) - k, "\": ");

	size = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	ASSERT_LT(0, size);
	log = malloc(size + 1);
	ASSERT_NE(NULL, log);
	for (i = 0; i < 2; i++) {
		found = false;
		/* The line is rate limited: the tests before may have used it up. */
		for (try = 0; try < 8 && !found; try++) {
			if (try)
				sleep(1);
			before = log_count(log, size, want[i]);
			ASSERT_LE(0, before);
			ASSERT_EQ(-EINVAL, vs_write("isolation", val[i]));
			found = log_count(log, size, want[i]) > before;
		}
		EXPECT_TRUE(found)
			TH_LOG("no new line \"%s\" in the kernel's log", want[i]);
	}
	free(log);
}

VS_HARNESS_MAIN
