// SPDX-License-Identifier: GPL-2.0
/*
 * Load and unload vspace 20 times. Each load must come up with the
 * documented defaults, each unload must remove every file and the module,
 * and together they must not leak slab objects.
 *
 * The module is taken from $VSPACE_KO, or ../module/vspace.ko next to this
 * program. It must be loaded when the test starts and is loaded again when
 * it ends.
 */
#include <stdlib.h>

#include "kselftest_harness.h"
#include "vspace_test.h"

#define CYCLES 20

/* vspace's reference count from /proc/modules, or -1 if not loaded. */
static int refcount(void)
{
	char line[512], name[64];
	int ref = -1, r;
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %*u %d", name, &r) == 2 &&
		    !strcmp(name, "vspace"))
			ref = r;
	fclose(f);
	return ref;
}

/*
 * Live objects in the caches a module's kobjects, strings and cpumasks come
 * from. Exact only when SLUB debugging is on (no per-CPU slabs hide frees),
 * which the lab's kernel command line arranges. Unused dentries are dropped
 * first: the dcache may keep a removed sysfs directory's dentry, and with
 * it its kernfs node and name, until memory pressure, which is no leak.
 */
static long slab_objects(void)
{
	char line[512], name[128];
	long total = 0, active;
	FILE *f;

	sync();
	vs_write_file("/proc/sys/vm/drop_caches", "2", 1);
	sleep(1);
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %ld", name, &active) != 2)
			continue;
		if (!strncmp(name, "kmalloc-", 8) ||
		    !strcmp(name, "kernfs_node_cache"))
			total += active;
	}
	fclose(f);
	return total;
}

static int slab_exact(void)
{
	char cmdline[4096];

	return !vs_read_file("/proc/cmdline", cmdline, sizeof(cmdline)) &&
	       strstr(cmdline, "slub_debug");
}

static void expect_defaults(struct __test_metadata *_metadata)
{
	char val[256], online[256];

	ASSERT_EQ(0, vs_read("enabled", val, sizeof(val)));
	EXPECT_STREQ("0", val);
	ASSERT_EQ(0, vs_read("mode", val, sizeof(val)));
	EXPECT_STREQ("[performance] energy resource", val);
	ASSERT_EQ(0, vs_read("interval_ms", val, sizeof(val)));
	EXPECT_STREQ("100", val);
	ASSERT_EQ(0, vs_read("cpus", val, sizeof(val)));
	ASSERT_EQ(0, vs_default_cpus(online, sizeof(online)));
	EXPECT_STREQ(online, val);
}

/* One insmod/rmmod cycle that exercises the stores; 0 if both worked. */
static int load_unload_once(struct __test_metadata *_metadata,
			    const char *ko, int i)
{
	char buf[64];
	int fd;

	if (vs_load(ko)) {
		TH_LOG("load %d failed", i);
		return -1;
	}
	EXPECT_EQ(0, refcount());
	expect_defaults(_metadata);

	/* Exercise the stores, and hold a file open across unload. */
	EXPECT_EQ(0, vs_write("enabled", "1\n"));
	EXPECT_EQ(0, vs_write("mode", "energy\n"));
	EXPECT_EQ(0, vs_write("interval_ms", "10\n"));
	EXPECT_EQ(0, vs_write("cpus", "0\n"));
	EXPECT_EQ(-EINVAL, vs_write("cpus", "junk\n"));
	fd = open(VSPACE_SYSFS_DIR "/mode", O_RDONLY);
	EXPECT_LE(0, fd);

	if (vs_unload()) {
		TH_LOG("unload %d failed", i);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	EXPECT_EQ(-1, refcount());
	EXPECT_FALSE(vs_loaded());
	EXPECT_NE(0, access(VSPACE_SYSFS_DIR, F_OK));
	EXPECT_NE(0, access("/sys/module/vspace", F_OK));
	if (fd >= 0) {
		/* The stale file reads as gone, never as freed memory. */
		EXPECT_GT(0, read(fd, buf, sizeof(buf)));
		close(fd);
	}
	return 0;
}

/*
 * Two batches of cycles and their settling take over the harness's 30 s
 * on a slow guest, and then a leak would read as a timeout.
 */
FIXTURE(load) {};
FIXTURE_SETUP(load) {}
FIXTURE_TEARDOWN(load) {}

TEST_F_TIMEOUT(load, load_unload_cycles, 180)
{
	long before, after;
	char ko[PATH_MAX];
	int b, i;

	VS_REQUIRE_LOADED();
	if (vs_find_ko(ko, sizeof(ko)))
		SKIP(return, "no vspace.ko (set VSPACE_KO)");

	/* Nothing holds the module while it is idle. */
	ASSERT_EQ(0, refcount());
	ASSERT_EQ(0, vs_unload());
	ASSERT_EQ(-1, refcount());
	ASSERT_FALSE(vs_loaded());

	/* One warm-up cycle fills caches that are not ours. */
	ASSERT_EQ(0, vs_load(ko));
	ASSERT_EQ(0, vs_unload());

	/*
	 * A leak of even one object per cycle grows the caches by CYCLES in
	 * every batch; the rest of the host allocates too, now and then. A
	 * second batch runs only when the first grew that much, and a leak
	 * is reported only if both did.
	 */
	for (b = 0; b < 2; b++) {
		before = slab_objects();
		for (i = 0; i < CYCLES; i++)
			ASSERT_EQ(0, load_unload_once(_metadata, ko, i));
		/*
		 * Freed dentries, inodes and kernfs nodes go back to the
		 * slab after RCU grace periods; a leak never does. Give
		 * them up to 15 s.
		 */
		for (i = 0; i < 15; i++) {
			after = slab_objects();
			if (after - before < CYCLES)
				break;
		}
		TH_LOG("slab objects before %ld, after %d cycles %ld", before,
		       CYCLES, after);
		if (after - before < CYCLES)
			break;
	}
	/* b == 2: both batches grew by CYCLES or more. */
	if (slab_exact())
		EXPECT_GT(2, b);

	ASSERT_EQ(0, vs_load(ko));
	expect_defaults(_metadata);
}

VS_HARNESS_MAIN
