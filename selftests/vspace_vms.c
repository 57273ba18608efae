// SPDX-License-Identifier: GPL-2.0
/*
 * Managing VMs: vms/add binds vCPU threads to vm_cpus and vhost workers to
 * io_cpus and leaves other threads alone; every thread gets exactly its
 * original affinity back on vms/remove, enabled=0 and rmmod; a change from
 * outside is kept, counted and given back; an exited VM's directory goes; bad input is refused.
 *
 * The VM is vhost_vm (next to this program): real vhost-net workers, threads
 * named "CPU n/KVM" and optionally a real KVM VM. Every affinity is read
 * from /proc, never from vspace.
 */
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vspace_test.h"

#define INTERVAL_MS	100
/* "Within two intervals", plus room for a slow TCG guest... */
#define WITHIN_MS	(2 * INTERVAL_MS + 400)
/* ...and for a debug kernel, where what is not measured may wait longer. */
#define WAIT_MS		(WITHIN_MS * vs_slow())
#define MAX_THREADS	64

enum { VCPU, VHOST, OTHER };
static const char * const kind_names[] = { "vcpu", "vhost", "other" };

struct th {
	pid_t tid;
	int kind;
	char cpus[128];
};

static int kind_of_comm(const char *comm, pid_t qemu)
{
	char vhost[32];

	snprintf(vhost, sizeof(vhost), "vhost-%d", qemu);
	if (!strncmp(comm, "CPU ", 4) && strstr(comm, "/KVM"))
		return VCPU;
	return strcmp(comm, vhost) ? OTHER : VHOST;
}

static int add_th(struct th *t, int n, pid_t tid, pid_t qemu)
{
	char comm[32];

	if (n == MAX_THREADS || comm_of(tid, comm, sizeof(comm)))
		return n;
	t[n].tid = tid;
	t[n].kind = kind_of_comm(comm, qemu);
	if (proc_status(tid, "Cpus_allowed_list", t[n].cpus, sizeof(t[n].cpus)))
		return n;
	return n + 1;
}

/*
 * The VM's threads as /proc shows them: its own, plus vhost kernel threads
 * (6.1, kthread mode) named after it, which live outside its thread group.
 */
static int snapshot(pid_t qemu, struct th *t)
{
	char path[64], comm[32], vhost[32];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", qemu);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir)))
		if (atoi(d->d_name) > 0)
			n = add_th(t, n, atoi(d->d_name), qemu);
	closedir(dir);

	snprintf(vhost, sizeof(vhost), "vhost-%d", qemu);
	dir = opendir("/proc");
	while (dir && (d = readdir(dir))) {
		pid_t pid = atoi(d->d_name);

		if (pid > 0 && pid != qemu && !comm_of(pid, comm, sizeof(comm)) &&
		    !strcmp(comm, vhost))
			n = add_th(t, n, pid, qemu);
	}
	if (dir)
		closedir(dir);
	return n;
}

static int count_kind(const struct th *t, int n, int kind)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		c += t[i].kind == kind;
	return c;
}

FIXTURE(vms) {
	pid_t child, qemu;
	char enabled[8], interval[16], cpus[128], io_min[16];
	struct th orig[MAX_THREADS];
	int norig;
};

/* Start a VM from @args and record every thread's affinity. */
static void start_vm(struct __test_metadata *_metadata,
		     FIXTURE_DATA(vms) *self, const char *args)
{
	int rc;

	self->qemu = spawn_vm(args, &self->child, &rc);
	if (!self->qemu && rc == 4)
		SKIP(return, "vhost_vm %s: not supported on this kernel", args);
	ASSERT_NE(0, self->qemu);
	self->norig = snapshot(self->qemu, self->orig);
	ASSERT_LT(0, self->norig);
}

/* Start the VM; a SKIP or failure inside ends the test here. */
#define START_VM(args)							\
	do {								\
		start_vm(_metadata, self, args);			\
		if (!self->qemu)					\
			return;						\
	} while (0)

FIXTURE_SETUP(vms)
{
	VS_REQUIRE_LOADED();
	if (access("/dev/vhost-net", R_OK | W_OK))
		SKIP(return, "no /dev/vhost-net (modprobe vhost_net)");
	ASSERT_EQ(0, vs_read("enabled", self->enabled, sizeof(self->enabled)));
	ASSERT_EQ(0, vs_read("interval_ms", self->interval, sizeof(self->interval)));
	ASSERT_EQ(0, vs_read("cpus", self->cpus, sizeof(self->cpus)));
	ASSERT_EQ(0, vs_read("io_cpus_min", self->io_min, sizeof(self->io_min)));
	ASSERT_EQ(0, vs_write("interval_ms", "100"));
	self->child = 0;
	self->qemu = 0;
}

FIXTURE_TEARDOWN(vms)
{
	if (self->qemu)
		vm_op("vms/remove", self->qemu);
	kill_vm(self->child);
	if (vs_loaded()) {
		vs_write("enabled", self->enabled);
		vs_write("interval_ms", self->interval);
		vs_write("cpus", self->cpus);
		vs_write("io_cpus_min", self->io_min);
	}
}

/*
 * Where the kernel keeps a thread vspace leaves alone: @orig, or, in a
 * cgroup with a cpuset (a machine.slice scope), that cpuset's CPUs, which
 * hotplug narrows and widens.
 */
static const char *kernel_keeps(pid_t tid, const char *orig, char *buf,
				size_t len)
{
	char path[PATH_MAX], line[PATH_MAX - 64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", tid);
	f = fopen(path, "r");
	if (!f)
		return orig;
	if (!fgets(line, sizeof(line), f) || strncmp(line, "0::/", 4) ||
	    line[4] == '\n') {
		fclose(f);
		return orig;
	}
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpuset.cpus.effective",
		 line + 3);
	return vs_read_file(path, buf, len) ? orig : buf;
}

/* Each thread's /proc affinity is what its kind calls for. */
static void expect_bound(struct __test_metadata *_metadata,
			 FIXTURE_DATA(vms) *self)
{
	char vm[128], io[128], eff[128];
	struct th now[MAX_THREADS];
	int n, i, j;

	ASSERT_EQ(0, vs_read("vm_cpus", vm, sizeof(vm)));
	ASSERT_EQ(0, vs_read("io_cpus", io, sizeof(io)));
	n = snapshot(self->qemu, now);
	for (i = 0; i < n; i++) {
		const char *want = now[i].kind == VCPU ? vm :
				   now[i].kind == VHOST ? (*io ? io : vm) : NULL;

		for (j = 0; !want && j < self->norig; j++)
			if (self->orig[j].tid == now[i].tid)
				want = kernel_keeps(now[i].tid,
						    self->orig[j].cpus, eff,
						    sizeof(eff));
		ASSERT_NE(NULL, want);
		/*
		 * A VM's vhost workers may share the group out (multiqueue);
		 * one alone has all of it.
		 */
		if (now[i].kind == VHOST && count_kind(now, n, VHOST) > 1) {
			EXPECT_TRUE(vs_cpulist_within(now[i].cpus, want)) {
				TH_LOG("vhost tid %d has %s, wants within %s",
				       now[i].tid, now[i].cpus, want);
			}
			continue;
		}
		EXPECT_STREQ(want, now[i].cpus) {
			TH_LOG("tid %d (%s) has %s, wants %s", now[i].tid,
			       kind_names[now[i].kind], now[i].cpus, want);
		}
	}
}

/* Every thread has exactly the affinity it had before vspace. */
static void expect_restored(struct __test_metadata *_metadata,
			    FIXTURE_DATA(vms) *self)
{
	char cpus[128];
	int i;

	for (i = 0; i < self->norig; i++) {
		ASSERT_EQ(0, proc_status(self->orig[i].tid, "Cpus_allowed_list",
					 cpus, sizeof(cpus)));
		EXPECT_STREQ(self->orig[i].cpus, cpus) {
			TH_LOG("tid %d (%s) not restored: %s, was %s",
			       self->orig[i].tid, kind_names[self->orig[i].kind],
			       cpus, self->orig[i].cpus);
		}
	}
}

/* vms/<pid>/threads lists each thread with its kind and real affinity. */
static void expect_threads_file(struct __test_metadata *_metadata,
				FIXTURE_DATA(vms) *self)
{
	char buf[4096], *line, *save = NULL, kind[16], cpus[128];
	struct th now[MAX_THREADS];
	int n, i, tid, listed = 0;

	n = snapshot(self->qemu, now);
	ASSERT_EQ(0, vm_file(self->qemu, "threads", buf, sizeof(buf)));
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		ASSERT_EQ(3, sscanf(line, "%d %15s %127s", &tid, kind, cpus));
		for (i = 0; i < n; i++) {
			if (now[i].tid != tid)
				continue;
			EXPECT_STREQ(kind_names[now[i].kind], kind);
			EXPECT_STREQ(now[i].cpus, cpus);
			listed++;
		}
	}
	EXPECT_EQ(n, listed);
}

/* Also used by the kthread-mode variant below. */
static void add_and_check(struct __test_metadata *_metadata,
			  FIXTURE_DATA(vms) *self)
{
	ASSERT_EQ(2, count_kind(self->orig, self->norig, VCPU));
	ASSERT_EQ(2, count_kind(self->orig, self->norig, VHOST));
	ASSERT_EQ(0, vs_write("enabled", "1"));
	ASSERT_EQ(0, vm_op("vms/add", self->qemu));
	expect_bound(_metadata, self);
	expect_threads_file(_metadata, self);
}

TEST_F(vms, add_binds_by_kind)
{
	int i;

	START_VM("-w 2 -c 2");
	add_and_check(_metadata, self);
	EXPECT_EQ(-EEXIST, vm_op("vms/add", self->qemu));
	/* A thread of the VM is not a VM. */
	for (i = 0; i < self->norig; i++)
		if (self->orig[i].kind == VCPU)
			EXPECT_EQ(-EINVAL, vm_op("vms/add", self->orig[i].tid));
}

/* Many VMs' worth of vhost workers at once, all bound. */
TEST_F(vms, many_workers)
{
	struct th now[MAX_THREADS];
	int n;

	START_VM("-w 32 -c 4");
	ASSERT_EQ(0, vs_write("enabled", "1"));
	ASSERT_EQ(0, vm_op("vms/add", self->qemu));
	n = snapshot(self->qemu, now);
	EXPECT_EQ(32, count_kind(now, n, VHOST));
	EXPECT_EQ(4, count_kind(now, n, VCPU));
	expect_bound(_metadata, self);
	expect_threads_file(_metadata, self);
}

/*
 * A vCPU pinned with sched_setaffinity() before vspace is bound within its
 * pin, never outside it: /proc shows vm_cpus AND the pin, threads says the
 * pin is its allowed mask, and release gives the pin back.
 */
TEST_F(vms, bound_within_pinned)
{
	char vm[128], cpus[128], line[256];
	pid_t tid = 0;
	cpu_set_t one;
	int i;

	ASSERT_EQ(0, vs_write("io_cpus_min", "0"));
	START_VM("-w 1 -c 2");
	for (i = 0; i < self->norig && !tid; i++)
		if (self->orig[i].kind == VCPU)
			tid = self->orig[i].tid;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	ASSERT_EQ(0, sched_setaffinity(tid, sizeof(one), &one));
	ASSERT_EQ(0, vs_write("enabled", "1"));
	ASSERT_EQ(0, vm_op("vms/add", self->qemu));

	ASSERT_EQ(0, vs_read("vm_cpus", vm, sizeof(vm)));
	ASSERT_EQ(0, proc_status(tid, "Cpus_allowed_list", cpus, sizeof(cpus)));
	ASSERT_EQ(0, threads_line(self->qemu, tid, line, sizeof(line)));
	TH_LOG("pinned to 0, vm_cpus %s: /proc %s (%s)", vm, cpus, line);
	/* vm_cpus always starts at the lowest usable CPU, 0 here. */
	EXPECT_STREQ("0", cpus);
	EXPECT_NE(NULL, strstr(line, " allowed=0"));
	EXPECT_EQ(NULL, strstr(line, " narrowed"));
	EXPECT_EQ(NULL, strstr(line, " unplaced"));
	ASSERT_EQ(0, vm_op("vms/remove", self->qemu));
	ASSERT_EQ(0, proc_status(tid, "Cpus_allowed_list", cpus, sizeof(cpus)));
	EXPECT_STREQ("0", cpus);
	self->qemu = 0;
}

/* 6.12.42+ can still make vhost workers kernel threads, as 6.1 does. */
TEST_F(vms, kthread_workers)
{
	char state[8];
	struct th now[MAX_THREADS];
	int n, i;

	START_VM("-k -w 2 -c 2");
	add_and_check(_metadata, self);
	/* They really are kernel threads: outside the QEMU thread group. */
	n = snapshot(self->qemu, now);
	for (i = 0; i < n; i++) {
		if (now[i].kind != VHOST)
			continue;
		ASSERT_EQ(0, proc_status(now[i].tid, "Tgid", state, sizeof(state)));
		EXPECT_NE(self->qemu, atoi(state));
	}
}

TEST_F(vms, restore_on_remove)
{
	char path[128];
	cpu_set_t one;
	int i;

	/* An operator pinned a vCPU before vspace came: that is kept. */
	START_VM("-w 1 -c 2");
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	for (i = 0; i < self->norig && self->orig[i].kind != VCPU; i++)
		;
	ASSERT_LT(i, self->norig);
	ASSERT_EQ(0, sched_setaffinity(self->orig[i].tid, sizeof(one), &one));
	self->norig = snapshot(self->qemu, self->orig);

	ASSERT_EQ(0, vs_write("enabled", "1"));
	ASSERT_EQ(0, vm_op("vms/add", self->qemu));
	ASSERT_EQ(0, vm_op("vms/remove", self->qemu));
	expect_restored(_metadata, self);
	snprintf(path, sizeof(path), VSPACE_SYSFS_DIR "/vms/%d", self->qemu);
	EXPECT_NE(0, access(path, F_OK));
	EXPECT_EQ(-ENOENT, vm_op("vms/remove", self->qemu));
	self->qemu = 0;
}

TEST_F(vms, restore_on_disable)
{
	START_VM("-w 1 -c 2");
	ASSERT_EQ(0, vs_write("enabled", "1"));
	ASSERT_EQ(0, vm_op("vms/add", self->qemu));
	expect_bound(_metadata, self);
	ASSERT_EQ(0, vs_write("enabled", "0"));
	expect_restored(_metadata, self);
	/* And bound again when turned back on. */
	ASSERT_EQ(0, vs_write("enabled", "1"));
	expect_bound(_metadata, self);
}

TEST_F(vms, restore_on_rmmod)
{
	char ko[PATH_MAX];

	if (vs_find_ko(ko, sizeof(ko)))
		SKIP(return, "no vspace.ko (set VSPACE_KO)");
	START_VM("-w 1 -c 2");
	ASSERT_EQ(0, vs_write("enabled", "1"));
	ASSERT_EQ(0, vm_op("vms/add", self->qemu));
	expect_bound(_metadata, self);
	ASSERT_EQ(0, vs_unload());
	expect_restored(_metadata, self);
	ASSERT_EQ(0, vs_load(ko));
	self->qemu = 0;
}

/*
 * The operator moves a bound vCPU where vspace would never put one: that
 * stands (it is not undone), is counted, reported as unplaced, and is what
 * release gives back.
 */
TEST_F(vms, outside_change_is_kept)
{
	char vm[128], drifts[32], buf[4096], want[16];
	cpu_set_t set;
	pid_t tid = 0;
	long long deadline;
	int i, cpu;

	START_VM("-w 1 -c 2");
	ASSERT_EQ(0, vs_write("enabled", "1"));
	ASSERT_EQ(0, vm_op("vms/add", self->qemu));
	ASSERT_EQ(0, vs_read("vm_cpus", vm, sizeof(vm)));
	for (i = 0; i < self->norig && !tid; i++)
		if (self->orig[i].kind == VCPU)
			tid = self->orig[i].tid;
	ASSERT_NE(0, tid);

	/* The last online CPU: vm_cpus starts at the first. */
	CPU_ZERO(&set);
	cpu = sysconf(_SC_NPROCESSORS_ONLN) - 1;
	snprintf(want, sizeof(want), "%d", cpu);
	if (!cpu || strstr(vm, want))
		SKIP(return, "no CPU outside vm_cpus %s to move to", vm);
	CPU_SET(cpu, &set);
	ASSERT_EQ(0, sched_setaffinity(tid, sizeof(set), &set));

	/* Two intervals: vspace has looked at it and left it there. */
	deadline = now_ms() + WAIT_MS;
	do {
		usleep(20000);
		ASSERT_EQ(0, vm_file(self->qemu, "drifts", drifts, sizeof(drifts)));
	} while (atoi(drifts) < 1 && now_ms() < deadline);
	usleep(2 * INTERVAL_MS * 1000);
	ASSERT_EQ(0, proc_status(tid, "Cpus_allowed_list", buf, sizeof(buf)));
	EXPECT_STREQ(want, buf);
	ASSERT_EQ(0, vm_file(self->qemu, "drifts", drifts, sizeof(drifts)));
	EXPECT_EQ(1, atoi(drifts));
	ASSERT_EQ(0, threads_line(self->qemu, tid, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "drifted=1"));
	EXPECT_NE(NULL, strstr(buf, "unplaced=outside"));
	ASSERT_EQ(0, vm_file(self->qemu, "stats", buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "\nunplaced 1"));

	ASSERT_EQ(0, vm_op("vms/remove", self->qemu));
	ASSERT_EQ(0, proc_status(tid, "Cpus_allowed_list", buf, sizeof(buf)));
	EXPECT_STREQ(want, buf);
	self->qemu = 0;
}

TEST_F(vms, exited_vm_is_forgotten)
{
	char path[128];
	long long deadline;

	START_VM("-w 2 -c 2");
	ASSERT_EQ(0, vs_write("enabled", "1"));
	ASSERT_EQ(0, vm_op("vms/add", self->qemu));
	snprintf(path, sizeof(path), VSPACE_SYSFS_DIR "/vms/%d", self->qemu);
	ASSERT_EQ(0, access(path, F_OK));
	kill_vm(self->child);
	self->child = 0;
	deadline = now_ms() + WAIT_MS;
	while (!access(path, F_OK) && now_ms() < deadline)
		usleep(20000);
	EXPECT_NE(0, access(path, F_OK));
	EXPECT_EQ(-ENOENT, vm_op("vms/remove", self->qemu));
	self->qemu = 0;
}

TEST_F(vms, auto_discover)
{
	char path[128], was[8];
	long long deadline;

	if (access("/dev/kvm", R_OK | W_OK))
		SKIP(return, "no /dev/kvm");
	START_VM("-K -w 1 -c 2");
	ASSERT_EQ(0, vs_read("auto_discover", was, sizeof(was)));
	ASSERT_EQ(0, vs_write("auto_discover", "1"));
	snprintf(path, sizeof(path), VSPACE_SYSFS_DIR "/vms/%d", self->qemu);
	deadline = now_ms() + WAIT_MS;
	while (access(path, F_OK) && now_ms() < deadline)
		usleep(20000);
	EXPECT_EQ(0, access(path, F_OK));
	ASSERT_EQ(0, vs_write("auto_discover", was));
}

/*
 * A VM the operator removed stays removed while auto_discover is on (ten
 * periods), until it is added by hand again; a removal after that holds
 * too.
 */
TEST_F(vms, removed_not_rediscovered)
{
	char path[128], was[8];
	long long deadline;
	int i, seen = 0;

	if (access("/dev/kvm", R_OK | W_OK))
		SKIP(return, "no /dev/kvm");
	START_VM("-K -w 1 -c 2");
	ASSERT_EQ(0, vs_read("auto_discover", was, sizeof(was)));
	ASSERT_EQ(0, vs_write("interval_ms", "50"));
	ASSERT_EQ(0, vs_write("auto_discover", "1"));
	snprintf(path, sizeof(path), VSPACE_SYSFS_DIR "/vms/%d", self->qemu);
	deadline = now_ms() + WAIT_MS;
	while (access(path, F_OK) && now_ms() < deadline)
		usleep(20000);
	ASSERT_EQ(0, access(path, F_OK));
	ASSERT_EQ(0, vm_op("vms/remove", self->qemu));
	for (i = 0; i < 20; i++, usleep(25000))
		seen += !access(path, F_OK);
	EXPECT_EQ(0, seen)
		TH_LOG("rediscovered in %d of 20 looks over ten periods", seen);
	ASSERT_EQ(0, vm_op("vms/add", self->qemu));
	EXPECT_EQ(0, access(path, F_OK));
	ASSERT_EQ(0, vm_op("vms/remove", self->qemu));
	for (i = 0, seen = 0; i < 20; i++, usleep(25000))
		seen += !access(path, F_OK);
	EXPECT_EQ(0, seen);
	ASSERT_EQ(0, vs_write("auto_discover", was));
}

/*
 * A VM that starts while auto_discover is on is managed at the next
 * period: QEMU names its vCPU threads as it makes them, and vspace looks
 * at such processes first, before its sweep of every pid (1,024 tasks a
 * period) comes by. Long periods, so that the sweep alone would be late.
 */
TEST_F(vms, auto_discover_new_vm)
{
	char path[128], was[8];
	long long start, deadline;

	if (access("/dev/kvm", R_OK | W_OK))
		SKIP(return, "no /dev/kvm");
	ASSERT_EQ(0, vs_read("auto_discover", was, sizeof(was)));
	ASSERT_EQ(0, vs_write("interval_ms", "1500"));
	ASSERT_EQ(0, vs_write("auto_discover", "1"));
	/* Past the period the write above ran at once. */
	usleep(300000);
	START_VM("-K -w 1 -c 2");
	start = now_ms();
	snprintf(path, sizeof(path), VSPACE_SYSFS_DIR "/vms/%d", self->qemu);
	/* Measured, so never scaled. */
	deadline = start + 2 * 1500 + WITHIN_MS;
	while (access(path, F_OK) && now_ms() < deadline)
		usleep(20000);
	TH_LOG("managed after %lld ms", now_ms() - start);
	EXPECT_EQ(0, access(path, F_OK));
	ASSERT_EQ(0, vs_write("auto_discover", was));
}

/* Poll until every thread is bound as expected, or WAIT_MS passes. */
static void wait_bound(struct __test_metadata *_metadata,
		       FIXTURE_DATA(vms) *self)
{
	long long deadline = now_ms() + WAIT_MS;
	char vm[128], io[128];
	struct th now[MAX_THREADS];
	int n, i, ok;

	do {
		usleep(20000);
		ASSERT_EQ(0, vs_read("vm_cpus", vm, sizeof(vm)));
		ASSERT_EQ(0, vs_read("io_cpus", io, sizeof(io)));
		n = snapshot(self->qemu, now);
		for (ok = 1, i = 0; i < n; i++) {
			const char *grp = now[i].kind == VCPU || !*io ? vm : io;

			if (now[i].kind == VHOST ?
			    !vs_cpulist_within(now[i].cpus, grp) :
			    now[i].kind != OTHER && strcmp(now[i].cpus, grp))
				ok = 0;
		}
	} while (!ok && now_ms() < deadline);
	expect_bound(_metadata, self);
}

/*
 * vhost workers that start after vms/add are bound within an interval.
 * Kernel threads (6.1, kthread mode) are outside the VM's thread group:
 * vspace finds them because it watches for new ones (collect.c).
 */
static void late_workers(struct __test_metadata *_metadata,
			 FIXTURE_DATA(vms) *self, const char *args)
{
	struct th now[MAX_THREADS];
	char with_delay[128];
	long long deadline;
	int n;

	/*
	 * Later than START_VM's look at the threads takes: on a host with
	 * thousands of processes, under TCG, that alone can take a second
	 * (on the debug kernel several).
	 */
	snprintf(with_delay, sizeof(with_delay), "%s -d %d", args,
		 3000 * vs_slow());
	START_VM(with_delay);
	ASSERT_EQ(0, count_kind(self->orig, self->norig, VHOST));
	ASSERT_EQ(0, vs_write("enabled", "1"));
	ASSERT_EQ(0, vm_op("vms/add", self->qemu));
	deadline = now_ms() + 10000 * vs_slow();
	do {
		usleep(20000);
		n = snapshot(self->qemu, now);
	} while (count_kind(now, n, VHOST) < 2 && now_ms() < deadline);
	ASSERT_EQ(2, count_kind(now, n, VHOST));
	wait_bound(_metadata, self);
}

TEST_F(vms, late_threads)
{
	late_workers(_metadata, self, "-w 2 -c 2");
}

TEST_F(vms, late_kthread_workers)
{
	/* vhost_vm asks for them only after "ready": check first. */
	if (access("/sys/module/vhost/parameters/fork_from_owner_default",
		   F_OK))
		SKIP(return, "no kthread mode (before 6.12.42; 6.1's workers are kthreads: late_threads)");
	late_workers(_metadata, self, "-k -w 2 -c 2");
}

/* Changing cpus moves the threads to the new groups at once. */
TEST_F(vms, cpus_change)
{
	char online[128], io[128];

	START_VM("-w 1 -c 2");
	ASSERT_EQ(0, vs_online_cpus(online, sizeof(online)));
	ASSERT_EQ(0, vs_write("enabled", "1"));
	ASSERT_EQ(0, vm_op("vms/add", self->qemu));
	ASSERT_EQ(0, vs_write("cpus", "0"));
	ASSERT_EQ(0, vs_read("io_cpus", io, sizeof(io)));
	EXPECT_STREQ("", io);
	expect_bound(_metadata, self);
	ASSERT_EQ(0, vs_write("cpus", online));
	expect_bound(_metadata, self);
	ASSERT_EQ(0, vm_op("vms/remove", self->qemu));
	expect_restored(_metadata, self);
	self->qemu = 0;
}

/* Wait up to WAIT_MS for io_cpus to hold CPU 1 (or not); whether it does. */
static bool wait_io_has_cpu1(bool want)
{
	long long deadline = now_ms() + WAIT_MS;
	char io[128];
	bool has;

	do {
		usleep(20000);
		if (vs_read("io_cpus", io, sizeof(io)))
			return !want;
		has = strchr(io, '1');
	} while (has != want && now_ms() < deadline);
	return has;
}

/*
 * Taking the I/O group's CPU offline folds vhost into the VM group; bringing
 * it back restores the split; release still restores the original masks.
 */
TEST_F(vms, cpu_hotplug)
{
	const char *online1 = "/sys/devices/system/cpu/cpu1/online";
	char state[8];

	if (vs_read_file(online1, state, sizeof(state)) || strcmp(state, "1"))
		SKIP(return, "cpu1 cannot be taken offline here");
	START_VM("-w 1 -c 2");
	ASSERT_EQ(0, vs_write("enabled", "1"));
	ASSERT_EQ(0, vm_op("vms/add", self->qemu));
	expect_bound(_metadata, self);

	ASSERT_EQ(0, vs_write_file(online1, "0", 1));
	EXPECT_FALSE(wait_io_has_cpu1(false));
	wait_bound(_metadata, self);

	ASSERT_EQ(0, vs_write_file(online1, "1", 1));
	EXPECT_TRUE(wait_io_has_cpu1(true));
	wait_bound(_metadata, self);
	ASSERT_EQ(0, vm_op("vms/remove", self->qemu));
	expect_restored(_metadata, self);
	self->qemu = 0;
}

TEST_F(vms, bad_input)
{
	pid_t sleeper, me = getpid();
	char buf[32];
	int status;

	/* A process that is not a VM. */
	sleeper = fork();
	if (!sleeper) {
		pause();
		_exit(0);
	}
	EXPECT_EQ(-EINVAL, vm_op("vms/add", sleeper));
	kill(sleeper, SIGKILL);
	waitpid(sleeper, &status, 0);
	/* Gone now: no such process. */
	EXPECT_EQ(-ESRCH, vm_op("vms/add", sleeper));
	EXPECT_EQ(-EINVAL, vm_op("vms/add", 2));	/* kthreadd */
	EXPECT_EQ(-EINVAL, vm_op("vms/add", me));
	EXPECT_EQ(-ENOENT, vm_op("vms/remove", me));
	EXPECT_EQ(-EINVAL, vs_write("vms/add", "abc\n"));
	EXPECT_EQ(-EINVAL, vs_write("vms/add", "-1\n"));
	EXPECT_EQ(-EINVAL, vs_write("vms/add", "0\n"));
	EXPECT_EQ(-EINVAL, vs_write("vms/add", "12x\n"));
	EXPECT_EQ(-EINVAL, vs_write("vms/add", "\n"));
	EXPECT_EQ(-EINVAL, vs_write("vms/remove", "junk\n"));
	EXPECT_EQ(-EINVAL, vs_write("vms/add", "99999999999999999999\n"));
	/* Reading the write-only files is refused by their mode. */
	EXPECT_EQ(-EACCES, vs_read("vms/add", buf, sizeof(buf)));
}

VS_HARNESS_MAIN
