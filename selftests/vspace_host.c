// SPDX-License-Identifier: GPL-2.0
/*
 * vspace on a host as it really is: VMs in libvirt-style cgroup scopes with
 * a cpuset, operators who pin threads, CPUs going offline, big VMs, pid
 * namespaces, other processes that look like VMs, host network traffic, and
 * concurrent writers. Each managed thread has an "allowed" mask: what the
 * kernel and the operator last gave it. vspace binds a vCPU thread to
 * vm_cpus & allowed and a vhost worker to io_cpus & allowed (vm_cpus when
 * io_cpus is empty), leaves a thread whose intersection is empty alone at
 * allowed (" unplaced=outside" in vms/<pid>/threads, counted in
 * vms/<pid>/stats "unplaced"), follows outside changes as the new allowed
 * mask, and gives the whole allowed mask back on release.
 *
 * Every expectation is computed at run time from vm_cpus, io_cpus and the
 * cgroup's cpuset.cpus.effective, and every affinity is read from
 * /proc/<tid>/status; kernel problems are read from /dev/kmsg.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/vhost.h>

#include "kselftest_harness.h"
#include "vspace_test.h"

#define INTERVAL_MS	100
/*
 * Two intervals, plus room for a slow TCG guest (and a debug kernel:
 * vs_slow()); polls end when satisfied.
 */
#define WAIT_MS		(2000 * vs_slow())
#define MAX_TH		1024
/* Big enough for any vms/<pid> file of the VMs here. */
#define BIG		(1 << 20)
#define CG_ROOT		"/sys/fs/cgroup"
#define CG_SLICE	CG_ROOT "/machine.slice"
#define MAX_FAKES	32

enum { VCPU, VHOST, OTHER };
static const char * const kind_names[] = { "vcpu", "vhost", "other" };

/* cpulists, as the kernel prints them ("0-3,6"). */

static int cl_parse(const char *s, cpu_set_t *set)
{
	char *end;
	long a, b;

	CPU_ZERO(set);
	while (*s && *s != '\n') {
		a = strtol(s, &end, 10);
		if (end == s || a < 0)
			return -1;
		b = a;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a)
				return -1;
		}
		if (b >= CPU_SETSIZE)
			return -1;
		for (; a <= b; a++)
			CPU_SET(a, set);
		s = end;
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -1;
	}
	return 0;
}

static char *cl_fmt(const cpu_set_t *set, char *buf, size_t len)
{
	size_t at = 0;
	int a, b;

	buf[0] = '\0';
	for (a = 0; a < CPU_SETSIZE && at < len; a++) {
		if (!CPU_ISSET(a, set))
			continue;
		for (b = a; b + 1 < CPU_SETSIZE && CPU_ISSET(b + 1, set); b++)
			;
		at += snprintf(buf + at, len - at, a == b ? "%s%d" : "%s%d-%d",
			       at ? "," : "", a, b);
		a = b;
	}
	return buf;
}

/* A cpulist for a log line; valid until the end of the enclosing block. */
#define CL(set) cl_fmt(set, (char[256]){ 0 }, 256)

static int cpus_of(pid_t tid, cpu_set_t *set)
{
	char buf[256];

	if (proc_status(tid, "Cpus_allowed_list", buf, sizeof(buf)))
		return -1;
	return cl_parse(buf, set);
}

static int read_cpus(const char *path, cpu_set_t *set)
{
	char buf[256];
	int ret = vs_read_file(path, buf, sizeof(buf));

	return ret ? ret : cl_parse(buf, set);
}

static int online_cpus(cpu_set_t *set)
{
	return read_cpus("/sys/devices/system/cpu/online", set);
}

/*
 * The CPUs of @tid's cpuset: cpuset.cpus.effective of its cgroup or, where
 * the cpuset controller is not enabled, of its nearest ancestor.
 */
static int cpuset_of(pid_t tid, cpu_set_t *set)
{
	char path[PATH_MAX], text[PATH_MAX - 64], *cg, *slash;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", tid);
	if (vs_read_file(path, text, sizeof(text)))
		return -1;
	/* The unified hierarchy's line; v1 ones may come first. */
	cg = strstr(text, "\n0::/");
	if (!strncmp(text, "0::/", 4))
		cg = text + 3;
	else if (cg)
		cg += 4;
	else
		return -1;
	cg[strcspn(cg, "\n")] = '\0';
	for (;;) {
		snprintf(path, sizeof(path), CG_ROOT "%s/cpuset.cpus.effective",
			 strcmp(cg, "/") ? cg : "");
		ret = read_cpus(path, set);
		if (ret != -ENOENT)
			return ret;
		slash = strrchr(cg, '/');
		if (!slash || slash == cg)
			break;
		*slash = '\0';
	}
	return read_cpus(CG_ROOT "/cpuset.cpus.effective", set);
}

static int highest_cpu(const cpu_set_t *set)
{
	int cpu;

	for (cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--)
		if (CPU_ISSET(cpu, set))
			return cpu;
	return -1;
}

/* A whole file, read until read() returns 0; its length or -errno. */
static ssize_t read_all(const char *path, char *buf, size_t len)
{
	size_t at = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	while (at < len - 1) {
		n = read(fd, buf + at, len - 1 - at);
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
		at += n;
	}
	close(fd);
	buf[at] = '\0';
	return at;
}

static ssize_t read_vm_file(pid_t vm, const char *file, char *buf, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), VSPACE_SYSFS_DIR "/vms/%d/%s", vm, file);
	return read_all(path, buf, len);
}

static bool vm_dir_exists(pid_t vm)
{
	char path[128];

	snprintf(path, sizeof(path), VSPACE_SYSFS_DIR "/vms/%d", vm);
	return !access(path, F_OK);
}

/* A "name value" line of vms/<vm>/stats; -1 if missing. */
static long vm_stat(pid_t vm, const char *key)
{
	char buf[4096], *line, *save = NULL, name[64];
	long val;

	if (read_vm_file(vm, "stats", buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%63s %ld", name, &val) == 2 &&
		    !strcmp(name, key))
			return val;
	return -1;
}

static long vm_drifts(pid_t vm)
{
	char buf[32];

	if (read_vm_file(vm, "drifts", buf, sizeof(buf)) < 0)
		return -1;
	return atol(buf);
}

/*
 * One line of vms/<pid>/threads:
 * "<tid> <kind> <cpulist>[ allowed=<cpulist>][ narrowed][ drifted=N]
 * [ unplaced=<reason>]".
 */
struct tline {
	pid_t tid;
	char kind[8];
	cpu_set_t cur, allowed;
	bool has_allowed, narrowed;
	int drifted;
	char unplaced[16];
};

static int parse_tline(char *line, struct tline *t)
{
	char *tok, *save = NULL;

	memset(t, 0, sizeof(*t));
	tok = strtok_r(line, " ", &save);
	if (!tok)
		return -1;
	t->tid = atoi(tok);
	if (t->tid <= 0)
		return -1;
	tok = strtok_r(NULL, " ", &save);
	if (!tok)
		return -1;
	snprintf(t->kind, sizeof(t->kind), "%s", tok);
	tok = strtok_r(NULL, " ", &save);
	if (!tok || cl_parse(tok, &t->cur))
		return -1;
	while ((tok = strtok_r(NULL, " ", &save))) {
		if (!strncmp(tok, "allowed=", 8)) {
			if (cl_parse(tok + 8, &t->allowed))
				return -1;
			t->has_allowed = true;
		} else if (!strcmp(tok, "narrowed")) {
			t->narrowed = true;
		} else if (!strncmp(tok, "drifted=", 8)) {
			t->drifted = atoi(tok + 8);
		} else if (!strncmp(tok, "unplaced=", 9)) {
			snprintf(t->unplaced, sizeof(t->unplaced), "%s", tok + 9);
		}	/* anything else is for a later version */
	}
	return 0;
}

/* Every line of vms/<vm>/threads: how many, or -errno (-EPROTO: junk). */
static int threads_file(pid_t vm, struct tline *t, int max)
{
	char *buf = malloc(BIG), *line, *save = NULL;
	ssize_t len;
	int n = 0;

	if (!buf)
		return -ENOMEM;
	len = read_vm_file(vm, "threads", buf, BIG);
	if (len < 0) {
		free(buf);
		return len;
	}
	for (line = strtok_r(buf, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		if (parse_tline(line, &t[n])) {
			free(buf);
			return -EPROTO;
		}
		n++;
	}
	free(buf);
	return n;
}

static struct tline *tline_find(struct tline *t, int n, pid_t tid)
{
	int i;

	for (i = 0; i < n; i++)
		if (t[i].tid == tid)
			return &t[i];
	return NULL;
}

/* The VM's threads as /proc shows them. */
struct th {
	pid_t tid;
	int kind;
	cpu_set_t orig;		/* before vspace */
	cpu_set_t allowed;	/* what the kernel and the operator gave it */
};

static int kind_of(pid_t tid, pid_t vm)
{
	char comm[32], vhost[32];

	if (comm_of(tid, comm, sizeof(comm)))
		return -1;
	snprintf(vhost, sizeof(vhost), "vhost-%d", vm);
	if (!strncmp(comm, "CPU ", 4) && strstr(comm, "/KVM"))
		return VCPU;
	return strcmp(comm, vhost) ? OTHER : VHOST;
}

static int add_th(struct th *t, int n, int max, pid_t tid, pid_t vm)
{
	int kind = kind_of(tid, vm);

	if (n == max || kind < 0 || cpus_of(tid, &t[n].orig))
		return n;
	t[n].tid = tid;
	t[n].kind = kind;
	t[n].allowed = t[n].orig;
	return n + 1;
}

/*
 * The VM's own threads, plus vhost kernel threads named after it (6.1,
 * kthread mode), which live outside its thread group.
 */
static int snapshot(pid_t vm, struct th *t, int max)
{
	char path[64], comm[32], vhost[32];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", vm);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir)))
		if (atoi(d->d_name) > 0)
			n = add_th(t, n, max, atoi(d->d_name), vm);
	closedir(dir);

	snprintf(vhost, sizeof(vhost), "vhost-%d", vm);
	dir = opendir("/proc");
	while (dir && (d = readdir(dir))) {
		pid_t pid = atoi(d->d_name);

		if (pid > 0 && pid != vm && !comm_of(pid, comm, sizeof(comm)) &&
		    !strcmp(comm, vhost))
			n = add_th(t, n, max, pid, vm);
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

static struct th *first_of(struct th *t, int n, int kind)
{
	int i;

	for (i = 0; i < n; i++)
		if (t[i].kind == kind)
			return &t[i];
	return NULL;
}

struct groups {
	cpu_set_t vm, io;
};

static int read_groups(struct groups *g)
{
	return read_cpus(VSPACE_SYSFS_DIR "/vm_cpus", &g->vm) ||
	       read_cpus(VSPACE_SYSFS_DIR "/io_cpus", &g->io) ? -1 : 0;
}

/*
 * Where a thread of @kind allowed @allowed must be: its group & allowed;
 * false (and @allowed) if that is empty: it is to be left alone there.
 */
static bool placed_mask(int kind, const cpu_set_t *allowed,
			const struct groups *g, cpu_set_t *want)
{
	const cpu_set_t *grp = kind == VCPU || !CPU_COUNT(&g->io) ?
			       &g->vm : &g->io;

	if (kind == OTHER) {
		*want = *allowed;
		return true;
	}
	CPU_AND(want, grp, allowed);
	if (CPU_COUNT(want))
		return true;
	*want = *allowed;
	return false;
}

/* Send SIGKILL to @pid and reap it; the caller forgets it. */
static void kill_reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/*
 * A process vspace takes for a VM: @nvcpu threads named "CPU n/KVM" that
 * sleep as idle vCPUs do; no KVM VM, no vhost worker. With @cmd, its vCPU
 * 0 serves requests: each byte makes it start a thread named "worker" (as
 * KVM starts its NX recovery thread from the first vCPU that runs), whose
 * tid it writes to @reply. It writes one byte to @reply once every thread
 * has its name.
 */
struct fake {
	int cmd, reply, nvcpu;
	int named;
	pthread_mutex_t lock;
};

static struct fake fake;

/*
 * A vhost-net worker made by the calling thread: on 6.4+ a vhost_task
 * inside this process, forked from the caller with its mask (as KVM's NX
 * recovery worker is forked from the first vCPU in KVM_RUN); on 6.1 a
 * kernel thread. Reports the caller's tid: the worker is "vhost-<tid>".
 */
static void fake_worker(void)
{
	int tid = syscall(SYS_gettid);
	int fd = open("/dev/vhost-net", O_RDWR);

	if (fd < 0 || ioctl(fd, VHOST_SET_OWNER))
		tid = -1;
	if (write(fake.reply, &tid, sizeof(tid)) != sizeof(tid))
		_exit(1);
}

static void *fake_vcpu(void *arg)
{
	char name[16], c;
	long i = (long)arg;

	snprintf(name, sizeof(name), "CPU %ld/KVM", i);
	prctl(PR_SET_NAME, name);
	pthread_mutex_lock(&fake.lock);
	fake.named++;
	pthread_mutex_unlock(&fake.lock);
	while (i == 0 && fake.cmd >= 0 && read(fake.cmd, &c, 1) == 1)
		fake_worker();
	for (;;)
		pause();
	return NULL;
}

/* Start a fake VM; its pid, or 0. @cmd, @reply: the test's ends, or NULL. */
static pid_t fake_vm(int nvcpu, int *cmd, int *reply)
{
	int c[2], r[2];
	pid_t pid;
	char ok;

	if (pipe(c) || pipe(r))
		return 0;
	pid = fork();
	if (pid < 0)
		return 0;
	if (!pid) {
		pthread_attr_t attr;
		pthread_t t;
		long i;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(c[1]);
		close(r[0]);
		fake.cmd = cmd ? c[0] : -1;
		fake.reply = r[1];
		fake.nvcpu = nvcpu;
		pthread_mutex_init(&fake.lock, NULL);
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 << 10);
		for (i = 0; i < nvcpu; i++)
			if (pthread_create(&t, &attr, fake_vcpu, (void *)i))
				_exit(1);
		for (;;) {
			pthread_mutex_lock(&fake.lock);
			i = fake.named;
			pthread_mutex_unlock(&fake.lock);
			if (i == nvcpu)
				break;
			usleep(1000);
		}
		ok = 1;
		if (write(r[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(c[0]);
	close(r[1]);
	if (read(r[0], &ok, 1) != 1) {
		kill_reap(pid);
		close(c[1]);
		close(r[0]);
		return 0;
	}
	if (cmd)
		*cmd = c[1];
	else
		close(c[1]);
	if (reply)
		*reply = r[0];
	else
		close(r[0]);
	return pid;
}

/* /dev/kmsg from now on: what the kernel says while the test runs. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Records since kmsg_open() that show a kernel problem; the first in @first. */
static int kmsg_problems(int fd, char *first, size_t len)
{
	static const char * const signs[] = {
		"WARNING:", "BUG:", "Oops", "general protection fault",
		"Call Trace", "cannot create duplicate filename",
		"kobject_add_internal failed", "refcount_t:",
		"list_add corruption", "list_del corruption", "KASAN",
		"UBSAN", "scheduling while atomic",
	};
	char rec[8192], *msg;
	unsigned int i;
	ssize_t n;
	int bad = 0;

	*first = '\0';
	if (fd < 0)
		return 0;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten meanwhile: go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		msg[strcspn(msg, "\n")] = '\0';
		for (i = 0; i < sizeof(signs) / sizeof(signs[0]); i++) {
			if (!strstr(msg, signs[i]))
				continue;
			if (!bad++)
				snprintf(first, len, "%s", msg);
			break;
		}
	}
	return bad;
}

/* Set lo up or down; 1 if that changed it, 0 if it was so, or -errno. */
static int lo_set(bool up)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM, 0), ret = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ret = -errno;
	} else if (!(ifr.ifr_flags & IFF_UP) != !up) {
		ifr.ifr_flags = up ? ifr.ifr_flags | IFF_UP :
				     ifr.ifr_flags & ~IFF_UP;
		ret = ioctl(s, SIOCSIFFLAGS, &ifr) ? -errno : 1;
	}
	close(s);
	return ret;
}

FIXTURE(host) {
	pid_t child, vm;		/* spawn_vm's child; the VM's pid */
	pid_t fakes[MAX_FAKES];
	int nfakes;
	pid_t procs[4];			/* other helper processes */
	char enabled[8], interval[16], cpus[256], io_min[16], auto_disc[8];
	char mode[64];
	struct th *th;
	int nth;
	char scope[PATH_MAX];
	bool made_slice, root_cpuset, root_cpu, slice_cpuset, slice_cpu;
	bool cpu1_off, lo_raised;
	int kmsg;
};

FIXTURE_SETUP(host)
{
	VS_REQUIRE_LOADED();
	self->kmsg = -1;
	ASSERT_EQ(0, vs_read("enabled", self->enabled, sizeof(self->enabled)));
	ASSERT_EQ(0, vs_read("interval_ms", self->interval, sizeof(self->interval)));
	ASSERT_EQ(0, vs_read("cpus", self->cpus, sizeof(self->cpus)));
	ASSERT_EQ(0, vs_read("io_cpus_min", self->io_min, sizeof(self->io_min)));
	ASSERT_EQ(0, vs_read("auto_discover", self->auto_disc, sizeof(self->auto_disc)));
	ASSERT_EQ(0, vs_read("mode", self->mode, sizeof(self->mode)));
	self->th = calloc(MAX_TH, sizeof(*self->th));
	ASSERT_NE(NULL, self->th);
	ASSERT_EQ(0, vs_write("interval_ms", "100"));
}

static void cg_cleanup(FIXTURE_DATA(host) *self)
{
	bool slice_gone = !self->made_slice;
	int i;

	if (*self->scope) {
		for (i = 0; i < 200 && rmdir(self->scope) && errno == EBUSY; i++)
			usleep(10000);
	}
	if (self->made_slice)
		slice_gone = !rmdir(CG_SLICE);
	if (!slice_gone) {
		if (self->slice_cpu)
			vs_write_file(CG_SLICE "/cgroup.subtree_control", "-cpu", 4);
		if (self->slice_cpuset)
			vs_write_file(CG_SLICE "/cgroup.subtree_control", "-cpuset", 7);
	}
	/* Only what this test turned on, and only if nothing else uses it. */
	if (self->root_cpu)
		vs_write_file(CG_ROOT "/cgroup.subtree_control", "-cpu", 4);
	if (self->root_cpuset)
		vs_write_file(CG_ROOT "/cgroup.subtree_control", "-cpuset", 7);
}

FIXTURE_TEARDOWN(host)
{
	int i;

	if (vs_loaded())
		vs_write("auto_discover", self->auto_disc);
	if (self->vm && vs_loaded())
		vm_op("vms/remove", self->vm);
	kill_vm(self->child);
	for (i = 0; i < self->nfakes; i++)
		kill_reap(self->fakes[i]);
	for (i = 0; i < 4; i++)
		kill_reap(self->procs[i]);
	cg_cleanup(self);
	if (self->cpu1_off)
		vs_write_file("/sys/devices/system/cpu/cpu1/online", "1", 1);
	if (self->lo_raised)
		lo_set(false);
	if (vs_loaded()) {
		vs_write("cpus", self->cpus);
		vs_write("io_cpus_min", self->io_min);
		vs_write("interval_ms", self->interval);
		/* "mode" reads as a list: the bracketed one. */
		if (strchr(self->mode, '[') && strchr(self->mode, ']')) {
			*strchr(self->mode, ']') = '\0';
			vs_write("mode", strchr(self->mode, '[') + 1);
		}
		vs_write("enabled", self->enabled);
	}
	if (self->kmsg >= 0)
		close(self->kmsg);
	free(self->th);
}

/* Whether @ctrl is a word of the file @path. */
static bool cg_has(const char *path, const char *ctrl)
{
	char buf[512], *tok, *save = NULL;

	if (vs_read_file(path, buf, sizeof(buf)))
		return false;
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (!strcmp(tok, ctrl))
			return true;
	return false;
}

/* Enable @ctrl for @dir's children unless it is; *@did if this did it. */
static int cg_enable(const char *dir, const char *ctrl, bool *did)
{
	char path[PATH_MAX], val[32];
	int ret;

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	if (cg_has(path, ctrl))
		return 0;
	snprintf(val, sizeof(val), "+%s", ctrl);
	ret = vs_write_file(path, val, strlen(val));
	if (!ret)
		*did = true;
	return ret;
}

/*
 * A libvirt-style scope, machine.slice/machine-qemu-N-@name.scope, with
 * cpuset.cpus @cpus; VMs started after this run in it. Returns nonzero
 * if the test is over (skipped or failed).
 */
static int make_scope(struct __test_metadata *_metadata,
		      FIXTURE_DATA(host) *self, const char *name,
		      const cpu_set_t *cpus)
{
	const char *ctl = CG_ROOT "/cgroup.controllers";
	char path[PATH_MAX + 32];
	const char *list = CL(cpus);

	if (access(ctl, R_OK))
		SKIP(return 1, "no cgroup v2 at " CG_ROOT);
	if (!cg_has(ctl, "cpuset"))
		SKIP(return 1, "no cgroup v2 cpuset controller");
	ASSERT_EQ(0, cg_enable(CG_ROOT, "cpuset", &self->root_cpuset));
	if (cg_has(ctl, "cpu"))
		cg_enable(CG_ROOT, "cpu", &self->root_cpu);
	if (!mkdir(CG_SLICE, 0755))
		self->made_slice = true;
	ASSERT_EQ(0, access(CG_SLICE, F_OK));
	ASSERT_EQ(0, cg_enable(CG_SLICE, "cpuset", &self->slice_cpuset));
	if (cg_has(ctl, "cpu"))
		cg_enable(CG_SLICE, "cpu", &self->slice_cpu);
	snprintf(self->scope, sizeof(self->scope),
		 CG_SLICE "/machine-qemu-%d-%s.scope", getpid(), name);
	if (mkdir(self->scope, 0755)) {
		ASSERT_EQ(EEXIST, errno);
	}
	snprintf(path, sizeof(path), "%s/cpuset.cpus", self->scope);
	ASSERT_EQ(0, vs_write_file(path, list, strlen(list))) {
		TH_LOG("cpuset.cpus %s", list);
	}
	return 0;
}

#define MAKE_SCOPE(name, cpus)						\
	do {								\
		if (make_scope(_metadata, self, name, cpus))		\
			return;						\
	} while (0)

static int scope_write_cpus(FIXTURE_DATA(host) *self, const cpu_set_t *cpus)
{
	char path[PATH_MAX + 32];
	const char *list = CL(cpus);

	snprintf(path, sizeof(path), "%s/cpuset.cpus", self->scope);
	return vs_write_file(path, list, strlen(list));
}

static int scope_effective(FIXTURE_DATA(host) *self, cpu_set_t *eff)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/cpuset.cpus.effective", self->scope);
	return read_cpus(path, eff);
}

/*
 * Start vhost_vm with @args (in the test's scope, if it made one) and
 * record its threads. 0, or vhost_vm's exit code (4: not on this kernel).
 */
static int start_vm(FIXTURE_DATA(host) *self, const char *args)
{
	char full[PATH_MAX + 256];
	int rc;

	if (*self->scope)
		snprintf(full, sizeof(full), "-g %s -s %s", self->scope, args);
	else
		snprintf(full, sizeof(full), "%s", args);
	self->vm = spawn_vm(full, &self->child, &rc);
	if (!self->vm) {
		self->child = 0;
		return rc ? rc : -1;
	}
	self->nth = snapshot(self->vm, self->th, MAX_TH);
	return 0;
}

#define START_VM(args)							\
	do {								\
		int __rc = start_vm(self, args);			\
									\
		if (__rc == 4)						\
			SKIP(return, "vhost_vm %s: not supported on this kernel", args); \
		ASSERT_EQ(0, __rc);					\
		ASSERT_LT(0, self->nth);				\
	} while (0)

#define NEED_VHOST()							\
	do {								\
		if (access("/dev/vhost-net", R_OK | W_OK))		\
			SKIP(return, "no /dev/vhost-net (modprobe vhost_net)"); \
	} while (0)

/*
 * Check every recorded thread against /proc, vms/<vm>/threads and the
 * "unplaced" count of vms/<vm>/stats; the number of problems. The first
 * where /proc shows a thread in the wrong place goes to @where, the first
 * where vspace's files say something wrong to @said.
 */
struct why {
	char where[384], said[384];
};

static int check_all(FIXTURE_DATA(host) *self, struct why *why)
{
	struct tline *tl = calloc(MAX_TH, sizeof(*tl)), *l;
	int i, nl, bad = 0, unplaced = 0;
	struct groups g;
	long stat;

#define PROBLEM(what, ...)						\
	do {								\
		if (!*why->what)					\
			snprintf(why->what, sizeof(why->what), __VA_ARGS__); \
		bad++;							\
	} while (0)

	*why->where = *why->said = '\0';
	if (!tl)
		return 1;
	nl = threads_file(self->vm, tl, MAX_TH);
	if (read_groups(&g) || nl < 0) {
		PROBLEM(said, "cannot read the groups or threads (%d)", nl);
		free(tl);
		return 1;
	}
	for (i = 0; i < self->nth; i++) {
		struct th *t = &self->th[i];
		cpu_set_t cur, want;
		bool placed;

		if (cpus_of(t->tid, &cur))
			continue;	/* exited */
		placed = placed_mask(t->kind, &t->allowed, &g, &want);
		unplaced += !placed;
		if (!CPU_EQUAL(&cur, &want))
			PROBLEM(where, "tid %d (%s) is on %s, wants %s (allowed %s, vm_cpus %s, io_cpus %s)",
				t->tid, kind_names[t->kind], CL(&cur), CL(&want),
				CL(&t->allowed), CL(&g.vm), CL(&g.io));
		l = tline_find(tl, nl, t->tid);
		if (!l) {
			PROBLEM(said, "tid %d (%s) is not in threads (%d lines)",
				t->tid, kind_names[t->kind], nl);
			continue;
		}
		if (strcmp(l->kind, kind_names[t->kind]))
			PROBLEM(said, "tid %d: threads says %s, is %s", t->tid,
				l->kind, kind_names[t->kind]);
		if (!CPU_EQUAL(&l->cur, &cur))
			PROBLEM(said, "tid %d: threads says on %s, /proc says %s",
				t->tid, CL(&l->cur), CL(&cur));
		if (t->kind == OTHER)
			continue;
		if (!l->has_allowed || !CPU_EQUAL(&l->allowed, &t->allowed))
			PROBLEM(said, "tid %d (%s): threads says allowed=%s, wants %s",
				t->tid, kind_names[t->kind],
				l->has_allowed ? CL(&l->allowed) : "(none)",
				CL(&t->allowed));
		if (strcmp(l->unplaced, placed ? "" : "outside"))
			PROBLEM(said, "tid %d (%s): threads says unplaced=%s, wants %s",
				t->tid, kind_names[t->kind],
				*l->unplaced ? l->unplaced : "(none)",
				placed ? "(none)" : "outside");
	}
	stat = vm_stat(self->vm, "unplaced");
	if (stat != unplaced)
		PROBLEM(said, "stats says unplaced %ld, wants %d", stat, unplaced);
#undef PROBLEM
	free(tl);
	return bad;
}

/* Poll until check_all() is happy or @ms pass; then it must be. */
static void wait_all(struct __test_metadata *_metadata,
		     FIXTURE_DATA(host) *self, int ms)
{
	long long deadline = now_ms() + ms;
	struct why why;
	int bad;

	while ((bad = check_all(self, &why)) && now_ms() < deadline)
		usleep(50000);
	EXPECT_EQ(0, bad) {
		if (*why.where)
			TH_LOG("/proc: %s", why.where);
		if (*why.said)
			TH_LOG("vspace: %s", why.said);
	}
}

/* After release: every thread has exactly its allowed mask. */
static void expect_released(struct __test_metadata *_metadata,
			    FIXTURE_DATA(host) *self)
{
	cpu_set_t cur;
	int i;

	for (i = 0; i < self->nth; i++) {
		if (cpus_of(self->th[i].tid, &cur))
			continue;
		EXPECT_TRUE(CPU_EQUAL(&cur, &self->th[i].allowed)) {
			TH_LOG("tid %d (%s) has %s after release, was allowed %s",
			       self->th[i].tid, kind_names[self->th[i].kind],
			       CL(&cur), CL(&self->th[i].allowed));
		}
	}
}

static void add_vm(struct __test_metadata *_metadata, FIXTURE_DATA(host) *self)
{
	ASSERT_EQ(0, vs_write("enabled", "1"));
	ASSERT_EQ(0, vm_op("vms/add", self->vm));
}

static void remove_vm(struct __test_metadata *_metadata,
		      FIXTURE_DATA(host) *self)
{
	ASSERT_EQ(0, vm_op("vms/remove", self->vm));
	EXPECT_FALSE(vm_dir_exists(self->vm));
}

/* Every recorded thread that still exists runs within @eff; @when: "" or a note. */
static void expect_inside(struct __test_metadata *_metadata,
			  FIXTURE_DATA(host) *self, const cpu_set_t *eff,
			  const char *when)
{
	cpu_set_t cur, both;
	int i;

	for (i = 0; i < self->nth; i++) {
		if (cpus_of(self->th[i].tid, &cur))
			continue;
		CPU_OR(&both, &cur, eff);
		EXPECT_TRUE(CPU_EQUAL(&both, eff)) {
			TH_LOG("tid %d (%s) is on %s%s, outside its cpuset %s",
			       self->th[i].tid, kind_names[self->th[i].kind],
			       CL(&cur), when, CL(eff));
		}
	}
}

/*
 * A VM in a cpuset that holds only the highest online CPU: a vCPU whose
 * cpuset misses vm_cpus stays where its cpuset puts it and is reported
 * unplaced; a vhost worker gets io_cpus & cpuset. Nothing is ever bound
 * outside cpuset.cpus.effective.
 */
TEST_F(host, cpuset_bounds_binding)
{
	cpu_set_t online, set, eff;
	int i;

	NEED_VHOST();
	ASSERT_EQ(0, online_cpus(&online));
	if (CPU_COUNT(&online) < 2)
		SKIP(return, "needs 2 CPUs");
	ASSERT_EQ(0, vs_write("io_cpus_min", "1"));
	CPU_ZERO(&set);
	CPU_SET(highest_cpu(&online), &set);
	MAKE_SCOPE("bounds", &set);
	ASSERT_EQ(0, scope_effective(self, &eff));
	START_VM("-w 1 -c 2");
	for (i = 0; i < self->nth; i++) {
		ASSERT_TRUE(CPU_EQUAL(&self->th[i].orig, &eff)) {
			TH_LOG("tid %d starts on %s, not its cpuset's %s",
			       self->th[i].tid, CL(&self->th[i].orig), CL(&eff));
		}
	}
	add_vm(_metadata, self);
	wait_all(_metadata, self, WAIT_MS);
	expect_inside(_metadata, self, &eff, "");
	remove_vm(_metadata, self);
	expect_released(_metadata, self);
}

/*
 * cpuset.cpus of the VM's scope changes while vspace has it bound: the
 * kernel's new mask is each thread's new allowed mask, vspace re-places
 * within it (never back outside), counts the change as drift, and gives
 * the last cpuset mask back on release.
 */
TEST_F(host, cpuset_change_is_followed)
{
	cpu_set_t online, set, eff, cur;
	long changed = 0, drifts;
	struct tline *tl, *l;
	char *moved;
	int i, nl;

	NEED_VHOST();
	ASSERT_EQ(0, online_cpus(&online));
	if (CPU_COUNT(&online) < 2)
		SKIP(return, "needs 2 CPUs");
	ASSERT_EQ(0, vs_write("io_cpus_min", "1"));
	MAKE_SCOPE("follow", &online);
	START_VM("-w 1 -c 2");
	add_vm(_metadata, self);
	wait_all(_metadata, self, WAIT_MS);

	/* Narrow the cpuset to the highest CPU: the vCPUs' group is gone. */
	CPU_ZERO(&set);
	CPU_SET(highest_cpu(&online), &set);
	moved = calloc(self->nth, 1);
	tl = calloc(MAX_TH, sizeof(*tl));
	ASSERT_NE(NULL, moved);
	ASSERT_NE(NULL, tl);
	for (i = 0; i < self->nth; i++) {
		ASSERT_EQ(0, cpus_of(self->th[i].tid, &cur));
		moved[i] = self->th[i].kind != OTHER && !CPU_EQUAL(&cur, &set);
		changed += moved[i];
	}
	ASSERT_EQ(0, scope_write_cpus(self, &set));
	ASSERT_EQ(0, scope_effective(self, &eff));
	for (i = 0; i < self->nth; i++)
		self->th[i].allowed = eff;
	wait_all(_metadata, self, WAIT_MS);
	drifts = vm_drifts(self->vm);
	EXPECT_LE(changed, drifts) {
		TH_LOG("the cpuset moved %ld bound threads, drifts says %ld",
		       changed, drifts);
	}
	nl = threads_file(self->vm, tl, MAX_TH);
	for (i = 0; i < self->nth; i++) {
		if (!moved[i])
			continue;
		l = tline_find(tl, nl, self->th[i].tid);
		EXPECT_TRUE(l && l->drifted >= 1) {
			TH_LOG("tid %d (%s) was moved by the cpuset: drifted=%d",
			       self->th[i].tid, kind_names[self->th[i].kind],
			       l ? l->drifted : -1);
		}
	}
	free(tl);
	free(moved);

	/* Widen it again: they go back to their groups. */
	ASSERT_EQ(0, scope_write_cpus(self, &online));
	ASSERT_EQ(0, scope_effective(self, &eff));
	for (i = 0; i < self->nth; i++)
		self->th[i].allowed = eff;
	wait_all(_metadata, self, WAIT_MS);

	/*
	 * Narrow it once more and release: every thread gets the cpuset's
	 * mask, even one whose vspace mask the cpuset write left as it was
	 * (a vhost worker already on that CPU): nothing ends up outside it.
	 */
	ASSERT_EQ(0, scope_write_cpus(self, &set));
	ASSERT_EQ(0, scope_effective(self, &eff));
	for (i = 0; i < self->nth; i++)
		self->th[i].allowed = eff;
	wait_all(_metadata, self, WAIT_MS);
	remove_vm(_metadata, self);
	expect_released(_metadata, self);
	expect_inside(_metadata, self, &eff, " after release");
}

/*
 * As libvirt runs QEMU, every thread has a user mask (it sets QEMU's
 * affinity at start, which 6.2+ keeps as the thread's user_cpus_ptr).
 * The scope's cpuset is then narrowed to exactly vm_cpus: the kernel
 * rewrites the vCPUs' masks to what vspace had (no change to see) and
 * moves the vhost worker. vspace must take the vCPUs' allowed mask in as
 * the cpuset's, and give nothing outside it back on release.
 */
TEST_F(host, cpuset_narrowed_under_user_masks)
{
	cpu_set_t online, eff;
	struct groups g;
	int i;

	NEED_VHOST();
	ASSERT_EQ(0, online_cpus(&online));
	if (CPU_COUNT(&online) < 2)
		SKIP(return, "needs 2 CPUs");
	ASSERT_EQ(0, vs_write("io_cpus_min", "1"));
	MAKE_SCOPE("usermask", &online);
	START_VM("-w 1 -c 2");
	for (i = 0; i < self->nth; i++)
		ASSERT_EQ(0, sched_setaffinity(self->th[i].tid, sizeof(online),
					       &online));
	add_vm(_metadata, self);
	wait_all(_metadata, self, WAIT_MS);
	ASSERT_EQ(0, read_groups(&g));
	ASSERT_EQ(0, scope_write_cpus(self, &g.vm));
	ASSERT_EQ(0, scope_effective(self, &eff));
	ASSERT_TRUE(CPU_EQUAL(&eff, &g.vm));
	for (i = 0; i < self->nth; i++)
		self->th[i].allowed = eff;
	wait_all(_metadata, self, WAIT_MS);
	remove_vm(_metadata, self);
	expect_released(_metadata, self);
	expect_inside(_metadata, self, &eff, " after release");
}

/*
 * An operator pins bound threads with sched_setaffinity() (taskset,
 * libvirt vcpupin): one vCPU to a CPU outside vm_cpus, another to every
 * online CPU. vspace keeps their choice (the first stays put, unplaced;
 * the second goes back to vm_cpus within its new mask), counts one drift
 * each, and release gives them the operator's masks.
 */
TEST_F(host, operator_taskset_is_kept)
{
	cpu_set_t online, out, cur;
	struct th *a = NULL, *b = NULL;
	struct tline *line;
	struct groups g;
	int i, nl;

	NEED_VHOST();
	ASSERT_EQ(0, online_cpus(&online));
	if (CPU_COUNT(&online) < 2)
		SKIP(return, "needs 2 CPUs");
	ASSERT_EQ(0, vs_write("io_cpus_min", "1"));
	START_VM("-w 1 -c 2");
	for (i = 0; i < self->nth; i++) {
		if (self->th[i].kind != VCPU)
			continue;
		if (!a)
			a = &self->th[i];
		else if (!b)
			b = &self->th[i];
	}
	ASSERT_NE(NULL, b);
	add_vm(_metadata, self);
	wait_all(_metadata, self, WAIT_MS);
	ASSERT_EQ(0, read_groups(&g));
	/*
	 * What the kernel grants is the request within the thread's cpuset
	 * (every online CPU on a host without a cgroup v2 cpuset). It is not
	 * read back: vspace may already have placed b again.
	 */
	if (cpuset_of(a->tid, &cur))
		cur = online;
	CPU_AND(&cur, &cur, &online);
	CPU_ZERO(&out);
	CPU_SET(highest_cpu(&cur), &out);
	if (CPU_ISSET(highest_cpu(&cur), &g.vm))
		SKIP(return, "vm_cpus %s holds every CPU of the cpuset %s",
		     CL(&g.vm), CL(&cur));
	ASSERT_EQ(0, sched_setaffinity(a->tid, sizeof(out), &out));
	a->allowed = out;
	if (cpuset_of(b->tid, &cur))
		cur = online;
	ASSERT_EQ(0, sched_setaffinity(b->tid, sizeof(online), &online));
	CPU_AND(&b->allowed, &online, &cur);
	/* Let vspace see it, then check it left the operator's choice. */
	usleep(3 * INTERVAL_MS * 1000);
	wait_all(_metadata, self, WAIT_MS);
	line = calloc(MAX_TH, sizeof(*line));
	ASSERT_NE(NULL, line);
	nl = threads_file(self->vm, line, MAX_TH);
	for (i = 0; i < nl; i++) {
		if (line[i].tid != a->tid && line[i].tid != b->tid)
			continue;
		EXPECT_EQ(1, line[i].drifted) {
			TH_LOG("tid %d: drifted=%d after one taskset",
			       line[i].tid, line[i].drifted);
		}
	}
	free(line);
	EXPECT_EQ(2, vm_drifts(self->vm));
	remove_vm(_metadata, self);
	expect_released(_metadata, self);
	ASSERT_EQ(0, cpus_of(a->tid, &cur));
	EXPECT_TRUE(CPU_EQUAL(&cur, &out));
}

/*
 * Both vCPUs tasksetted to the vhost worker's CPU: no cpuset was rewritten
 * (the main thread is where it was), so the worker's allowed mask, which
 * it still sits within, must not be narrowed to it, and it gets its whole
 * mask back on release.
 */
TEST_F(host, taskset_is_no_cpuset_rewrite)
{
	cpu_set_t online, io;
	struct groups g;
	struct th *v;
	int i;

	NEED_VHOST();
	ASSERT_EQ(0, online_cpus(&online));
	if (CPU_COUNT(&online) < 2)
		SKIP(return, "needs 2 CPUs");
	ASSERT_EQ(0, vs_write("io_cpus_min", "1"));
	START_VM("-w 1 -c 2");
	add_vm(_metadata, self);
	wait_all(_metadata, self, WAIT_MS);
	ASSERT_EQ(0, read_groups(&g));
	v = first_of(self->th, self->nth, VHOST);
	ASSERT_NE(NULL, v);
	if (CPU_EQUAL(&v->allowed, &g.io))
		SKIP(return, "the worker is allowed only io_cpus %s", CL(&g.io));
	io = g.io;
	for (i = 0; i < self->nth; i++) {
		if (self->th[i].kind != VCPU)
			continue;
		ASSERT_EQ(0, sched_setaffinity(self->th[i].tid, sizeof(io), &io));
		self->th[i].allowed = io;
	}
	usleep(3 * INTERVAL_MS * 1000);
	wait_all(_metadata, self, WAIT_MS);
	remove_vm(_metadata, self);
	expect_released(_metadata, self);
}

/*
 * The VM moves to another scope with the same CPUs (as libvirt's sub-
 * cgroups, or enabling cpuset above it, do): the kernel leaves every mask
 * as it is, and release must still give the masks from before, not
 * vspace's own.
 */
TEST_F(host, cgroup_move_same_cpus)
{
	char path[PATH_MAX + 32], pid[16], other[PATH_MAX];
	cpu_set_t online;
	int i;

	NEED_VHOST();
	ASSERT_EQ(0, online_cpus(&online));
	if (CPU_COUNT(&online) < 2)
		SKIP(return, "needs 2 CPUs");
	MAKE_SCOPE("move", &online);
	START_VM("-w 1 -c 2");
	add_vm(_metadata, self);
	wait_all(_metadata, self, WAIT_MS);

	snprintf(other, sizeof(other), "%s.moved", self->scope);
	other[strlen(self->scope) - strlen(".scope")] = '\0';
	strcat(other, "-b.scope");
	ASSERT_EQ(0, mkdir(other, 0755));
	snprintf(path, sizeof(path), "%s/cpuset.cpus", other);
	ASSERT_EQ(0, vs_write_file(path, CL(&online), strlen(CL(&online))));
	snprintf(path, sizeof(path), "%s/cgroup.procs", other);
	snprintf(pid, sizeof(pid), "%d", self->vm);
	EXPECT_EQ(0, vs_write_file(path, pid, strlen(pid)));
	/* 6.1's vhost kthreads are processes of their own. */
	for (i = 0; i < self->nth; i++) {
		snprintf(pid, sizeof(pid), "%d", self->th[i].tid);
		if (self->th[i].kind == VHOST)
			vs_write_file(path, pid, strlen(pid));
	}
	usleep(3 * INTERVAL_MS * 1000);
	wait_all(_metadata, self, WAIT_MS);
	remove_vm(_metadata, self);
	expect_released(_metadata, self);
	/* Back, so the scope can go. */
	snprintf(path, sizeof(path), "%s/cgroup.procs", self->scope);
	snprintf(pid, sizeof(pid), "%d", self->vm);
	vs_write_file(path, pid, strlen(pid));
	for (i = 0; i < self->nth; i++) {
		snprintf(pid, sizeof(pid), "%d", self->th[i].tid);
		if (self->th[i].kind == VHOST)
			vs_write_file(path, pid, strlen(pid));
	}
	kill_vm(self->child);
	self->child = 0;
	self->vm = 0;
	for (i = 0; i < 200 && rmdir(other) && errno == EBUSY; i++)
		usleep(10000);
}

static const char *const cpu1_online = "/sys/devices/system/cpu/cpu1/online";

/* Wait until neither group holds CPU 1 (or both could again); whether so. */
static bool wait_groups_cpu1(bool want)
{
	long long deadline = now_ms() + WAIT_MS;
	struct groups g;
	bool has;

	do {
		usleep(20000);
		if (read_groups(&g))
			return false;
		has = CPU_ISSET(1, &g.vm) || CPU_ISSET(1, &g.io);
	} while (has != want && now_ms() < deadline);
	return has == want;
}

/*
 * A vCPU allowed CPUs 0-1 is released while CPU 1 is offline: it gets
 * 0-1 back, not 0, and still has 0-1 once CPU 1 is back. This is a
 * thread the kernel itself leaves alone on hotplug: one in the root
 * cgroup (a thread in a cpuset is the kernel's to narrow and widen; see
 * hotplug_in_cpuset).
 */
TEST_F_TIMEOUT(host, restore_keeps_offline_cpu, 60)
{
	cpu_set_t pair, cur, possible, want;
	struct th *a, *t = NULL;
	long long deadline;
	struct groups g;
	char state[8];
	int i, bad;

	NEED_VHOST();
	if (vs_read_file(cpu1_online, state, sizeof(state)) || strcmp(state, "1"))
		SKIP(return, "cpu1 cannot be taken offline here");
	/* Not in a machine.slice scope (spawn_vm's default in the lab). */
	unsetenv("VS_MACHINE_SLICE");
	START_VM("-w 1 -c 2");
	{
		char cg[PATH_MAX], path[64];

		snprintf(path, sizeof(path), "/proc/%d/cgroup", self->vm);
		if (!vs_read_file(path, cg, sizeof(cg)) && strcmp(cg, "0::/"))
			SKIP(return, "the VM is in %s, not the root cgroup", cg);
	}
	a = first_of(self->th, self->nth, VCPU);
	ASSERT_NE(NULL, a);
	CPU_ZERO(&pair);
	CPU_SET(0, &pair);
	CPU_SET(1, &pair);
	ASSERT_EQ(0, sched_setaffinity(a->tid, sizeof(pair), &pair));
	ASSERT_EQ(0, cpus_of(a->tid, &a->allowed));
	ASSERT_TRUE(CPU_EQUAL(&a->allowed, &pair));
	add_vm(_metadata, self);
	wait_all(_metadata, self, WAIT_MS);

	if (vs_write_file(cpu1_online, "0", 1))
		SKIP(return, "cpu1 cannot be taken offline here");
	self->cpu1_off = true;
	ASSERT_TRUE(wait_groups_cpu1(false));
	/* The vCPUs are still bound, within their allowed masks. */
	deadline = now_ms() + WAIT_MS;
	do {
		usleep(50000);
		ASSERT_EQ(0, read_groups(&g));
		for (bad = 0, i = 0; i < self->nth && !bad; i++) {
			t = &self->th[i];
			if (t->kind != VCPU)
				continue;
			ASSERT_EQ(0, cpus_of(t->tid, &cur));
			placed_mask(VCPU, &t->allowed, &g, &want);
			bad = !CPU_EQUAL(&cur, &want);
		}
	} while (bad && now_ms() < deadline);
	EXPECT_FALSE(bad) {
		TH_LOG("tid %d on %s with cpu1 offline, wants %s", t->tid,
		       CL(&cur), CL(&want));
	}

	remove_vm(_metadata, self);
	ASSERT_EQ(0, read_cpus("/sys/devices/system/cpu/possible", &possible));
	for (i = 0; i < self->nth; i++) {
		t = &self->th[i];
		ASSERT_EQ(0, cpus_of(t->tid, &cur));
		/*
		 * A vhost worker on CPU 1 alone may have been moved by the
		 * kernel's hotplug fallback (to every possible CPU) before
		 * vspace moved it: that became its allowed mask.
		 */
		if (t->kind == VHOST && CPU_EQUAL(&cur, &possible))
			continue;
		EXPECT_TRUE(CPU_EQUAL(&cur, &t->allowed)) {
			TH_LOG("tid %d (%s) got %s back with cpu1 offline, was allowed %s",
			       t->tid, kind_names[t->kind], CL(&cur),
			       CL(&t->allowed));
		}
	}

	ASSERT_EQ(0, vs_write_file(cpu1_online, "1", 1));
	self->cpu1_off = false;
	usleep(3 * INTERVAL_MS * 1000);
	ASSERT_EQ(0, cpus_of(a->tid, &cur));
	EXPECT_TRUE(CPU_EQUAL(&cur, &pair)) {
		TH_LOG("tid %d has %s once cpu1 is back, wants %s", a->tid,
		       CL(&cur), CL(&pair));
	}
}

/* The decisions file whole into @text; its length, or -1. */
static ssize_t read_decisions(char *text, size_t len)
{
	ssize_t got = 0, r;
	int fd;

	*text = '\0';
	fd = open(VSPACE_SYSFS_DIR "/decisions", O_RDONLY);
	if (fd < 0)
		return -1;
	while ((r = read(fd, text + got, len - 1 - got)) > 0)
		got += r;
	close(fd);
	text[got] = '\0';
	return r < 0 ? -1 : got;
}

/* Field @i (from 0) of a space-separated @line, or NULL. */
static const char *field(const char *line, int i)
{
	for (; i > 0 && line; i--) {
		line = strchr(line, ' ');
		if (line)
			line++;
	}
	return line;
}

/*
 * A decision taken with no usable CPU (every CPU of "cpus" offline) is
 * logged whole: a mode change then records no demand, not what a period
 * with busy vCPUs before it left on the worker's stack.
 */
TEST_F_TIMEOUT(host, decision_without_cpus, 60)
{
	char text[32768], want[16], state[8], *line, *save;
	unsigned long long t, vd, iod, since;
	struct timespec ts;
	int found = 0;
	ssize_t got;

	NEED_VHOST();
	if (vs_read_file(cpu1_online, state, sizeof(state)) || strcmp(state, "1"))
		SKIP(return, "cpu1 cannot be taken offline here");
	START_VM("-w 1 -c 2");
	add_vm(_metadata, self);
	wait_all(_metadata, self, WAIT_MS);
	/* Periods with busy vCPUs: a demand for the stack to keep. */
	usleep(5 * INTERVAL_MS * 1000);
	snprintf(want, sizeof(want), "%s",
		 strstr(self->mode, "[performance]") ? "energy" : "performance");
	ASSERT_EQ(0, vs_write("io_cpus_min", "0"));
	ASSERT_EQ(0, vs_write("cpus", "1"));
	usleep(3 * INTERVAL_MS * 1000);
	if (vs_write_file(cpu1_online, "0", 1))
		SKIP(return, "cpu1 cannot be taken offline here");
	self->cpu1_off = true;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	since = ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
	EXPECT_EQ(0, vs_write("mode", want));
	usleep(5 * INTERVAL_MS * 1000);
	got = read_decisions(text, sizeof(text));
	ASSERT_EQ(0, vs_write_file(cpu1_online, "1", 1));
	self->cpu1_off = false;
	ASSERT_LT(0, got);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *m = field(line, 1), *why = field(line, 16);

		t = strtoull(line, NULL, 10);
		if (!why || t < since || strncmp(m, want, strlen(want)) ||
		    m[strlen(want)] != ' ' || !strstr(why, "mode"))
			continue;
		vd = strtoull(field(line, 10), NULL, 10);
		iod = strtoull(field(line, 11), NULL, 10);
		found++;
		EXPECT_TRUE(!vd && !iod) {
			TH_LOG("with no usable CPU: %s", line);
		}
	}
	EXPECT_LT(0, found) {
		TH_LOG("no decision with reason mode to %s", want);
	}
}

/*
 * The same in a VM's cpuset scope: CPU 1 going offline is the kernel's
 * rewrite of every thread of the scope to CPU 0, and vspace takes it in;
 * released while it is offline, every thread keeps what the kernel gave
 * it (never CPU 1 alone, never outside the cpuset), and when CPU 1 comes
 * back the kernel gives every thread the whole scope again.
 */
TEST_F_TIMEOUT(host, hotplug_in_cpuset, 60)
{
	cpu_set_t pair, cur, eff;
	char state[8];
	int i;

	NEED_VHOST();
	if (vs_read_file(cpu1_online, state, sizeof(state)) || strcmp(state, "1"))
		SKIP(return, "cpu1 cannot be taken offline here");
	CPU_ZERO(&pair);
	CPU_SET(0, &pair);
	CPU_SET(1, &pair);
	MAKE_SCOPE("hotplug", &pair);
	START_VM("-w 1 -c 2");
	add_vm(_metadata, self);
	wait_all(_metadata, self, WAIT_MS);

	if (vs_write_file(cpu1_online, "0", 1))
		SKIP(return, "cpu1 cannot be taken offline here");
	self->cpu1_off = true;
	ASSERT_TRUE(wait_groups_cpu1(false));
	remove_vm(_metadata, self);
	ASSERT_EQ(0, scope_effective(self, &eff));
	for (i = 0; i < self->nth; i++) {
		ASSERT_EQ(0, cpus_of(self->th[i].tid, &cur));
		EXPECT_TRUE(CPU_EQUAL(&cur, &eff)) {
			TH_LOG("tid %d (%s) has %s released with cpu1 offline, its cpuset %s",
			       self->th[i].tid, kind_names[self->th[i].kind],
			       CL(&cur), CL(&eff));
		}
	}
	ASSERT_EQ(0, vs_write_file(cpu1_online, "1", 1));
	self->cpu1_off = false;
	usleep(3 * INTERVAL_MS * 1000);
	for (i = 0; i < self->nth; i++) {
		ASSERT_EQ(0, cpus_of(self->th[i].tid, &cur));
		EXPECT_TRUE(CPU_EQUAL(&cur, &pair)) {
			TH_LOG("tid %d (%s) has %s once cpu1 is back, wants %s",
			       self->th[i].tid, kind_names[self->th[i].kind],
			       CL(&cur), CL(&pair));
		}
	}
}

#define MANY_WORKERS	80

/*
 * More than 64 vhost kernel-thread workers (6.1; kthread mode on 6.12):
 * every one is bound, listed, and given back.
 */
TEST_F_TIMEOUT(host, many_kthread_workers, 90)
{
	char args[64], tgid[16];
	struct th *w;
	int rc;

	NEED_VHOST();
	snprintf(args, sizeof(args), "-k -w %d -c 2", MANY_WORKERS);
	rc = start_vm(self, args);
	if (rc == 4) {
		/* No kthread mode: 6.1's workers are kernel threads anyway. */
		snprintf(args, sizeof(args), "-w %d -c 2", MANY_WORKERS);
		rc = start_vm(self, args);
	}
	ASSERT_EQ(0, rc);
	w = first_of(self->th, self->nth, VHOST);
	ASSERT_NE(NULL, w);
	ASSERT_EQ(0, proc_status(w->tid, "Tgid", tgid, sizeof(tgid)));
	if (atoi(tgid) == self->vm)
		SKIP(return, "vhost workers are not kernel threads on this kernel");
	ASSERT_EQ(MANY_WORKERS, count_kind(self->th, self->nth, VHOST));
	add_vm(_metadata, self);
	wait_all(_metadata, self, 3 * WAIT_MS);
	remove_vm(_metadata, self);
	expect_released(_metadata, self);
}

#define BIG_VM_VCPUS	400

/*
 * A VM with hundreds of vCPU threads: vms/<pid>/threads and thread_stats
 * are longer than a page, and list every thread, read to the end.
 */
TEST_F_TIMEOUT(host, thread_files_not_cut, 60)
{
	char *buf, *line, *save = NULL;
	int i, seen, header = 0, lines = 0;
	ssize_t len;
	char *count;

	self->fakes[0] = fake_vm(BIG_VM_VCPUS, NULL, NULL);
	ASSERT_NE(0, self->fakes[0]);
	self->nfakes = 1;
	self->vm = self->fakes[0];
	self->nth = snapshot(self->vm, self->th, MAX_TH);
	ASSERT_EQ(BIG_VM_VCPUS, count_kind(self->th, self->nth, VCPU));
	add_vm(_metadata, self);
	wait_all(_metadata, self, 3 * WAIT_MS);

	buf = malloc(BIG);
	count = calloc(self->nth, 1);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, count);
	len = read_vm_file(self->vm, "threads", buf, BIG);
	ASSERT_LT(0, len);
	TH_LOG("threads: %zd bytes", len);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		for (i = 0; i < self->nth; i++)
			if (self->th[i].tid == atoi(line))
				count[i]++;
		lines++;
	}
	EXPECT_EQ(self->nth, lines);
	for (i = 0, seen = 0; i < self->nth; i++)
		seen += count[i] == 1;
	EXPECT_EQ(self->nth, seen);

	len = read_vm_file(self->vm, "thread_stats", buf, BIG);
	ASSERT_LT(0, len);
	TH_LOG("thread_stats: %zd bytes", len);
	memset(count, 0, self->nth);
	lines = 0;
	save = NULL;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (*line == '#') {
			header++;
			continue;
		}
		for (i = 0; i < self->nth; i++)
			if (self->th[i].tid == atoi(line))
				count[i]++;
		lines++;
	}
	EXPECT_EQ(1, header);
	EXPECT_EQ(BIG_VM_VCPUS, lines);
	for (i = 0, seen = 0; i < self->nth; i++)
		seen += self->th[i].kind == VCPU && count[i] == 1;
	EXPECT_EQ(BIG_VM_VCPUS, seen);
	free(count);
	free(buf);
	remove_vm(_metadata, self);
	expect_released(_metadata, self);
}

static int countlines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Read @fd from @off to its end, a page per read(); the length, or -1. */
static ssize_t read_rest(int fd, char *buf, size_t len, off_t off)
{
	ssize_t r = 0;

	while ((size_t)off < len &&
	       (r = pread(fd, buf + off, len - off < 4096 ? len - off : 4096,
			  off)) > 0)
		off += r;
	return r < 0 ? -1 : off;
}

/* Whether line-leading tid @tid is in @text (a threads file). */
static bool lists_tid(const char *text, pid_t tid)
{
	const char *p;

	for (p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
		if (atoi(p) == tid)
			return true;
	return false;
}

/*
 * Two readers of vms/<pid>/threads at once, a page each in turn, while a
 * thread is added: each gets the whole text of the moment it started,
 * not the end of another's: every thread the VM had then, once, and not
 * the new worker, which a reader that starts after it does see.
 */
TEST_F_TIMEOUT(host, thread_file_readers_apart, 60)
{
	int cmd = -1, reply = -1, creator, fd[2], i, j;
	char *buf[3], path[128];
	long long deadline;
	const char *p;
	pid_t worker = 0;
	ssize_t len;
	char c = 's';

	NEED_VHOST();
	self->fakes[0] = fake_vm(BIG_VM_VCPUS, &cmd, &reply);
	ASSERT_NE(0, self->fakes[0]);
	self->nfakes = 1;
	self->vm = self->fakes[0];
	self->nth = snapshot(self->vm, self->th, MAX_TH);
	add_vm(_metadata, self);
	wait_all(_metadata, self, 3 * WAIT_MS);
	for (i = 0; i < 3; i++) {
		buf[i] = calloc(1, BIG);
		ASSERT_NE(NULL, buf[i]);
	}
	snprintf(path, sizeof(path), VSPACE_SYSFS_DIR "/vms/%d/threads",
		 self->vm);
	for (i = 0; i < 2; i++) {
		fd[i] = open(path, O_RDONLY);
		ASSERT_LE(0, fd[i]);
		ASSERT_EQ(4096, pread(fd[i], buf[i], 4096, 0));
	}
	/* A new vhost worker, listed once vspace has seen it. */
	ASSERT_EQ(1, write(cmd, &c, 1));
	ASSERT_EQ((ssize_t)sizeof(creator), read(reply, &creator, sizeof(creator)));
	ASSERT_LT(0, creator);
	deadline = now_ms() + WAIT_MS;
	do {
		usleep(50000);
		ASSERT_LT(0, read_vm_file(self->vm, "threads", buf[2], BIG));
	} while (countlines(buf[2]) <= self->nth && now_ms() < deadline);
	ASSERT_LT(self->nth, countlines(buf[2]))
		TH_LOG("the new worker is not listed within %d ms", WAIT_MS);
	for (p = buf[2]; *p && !worker; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
		for (i = 0; i < self->nth && self->th[i].tid != atoi(p); i++)
			;
		if (i == self->nth)
			worker = atoi(p);
	}
	ASSERT_LT(0, worker);
	for (i = 0; i < 2; i++) {
		len = read_rest(fd[i], buf[i], BIG - 1, 4096);
		close(fd[i]);
		ASSERT_LT(4096, len);
		EXPECT_EQ(self->nth, countlines(buf[i]))
			TH_LOG("reader %d: %d lines, the VM had %d threads when it began",
			       i, countlines(buf[i]), self->nth);
		for (j = 0; j < self->nth; j++)
			EXPECT_TRUE(lists_tid(buf[i], self->th[j].tid))
				TH_LOG("reader %d: tid %d missing", i,
				       self->th[j].tid);
		EXPECT_FALSE(lists_tid(buf[i], worker))
			TH_LOG("reader %d got the later worker %d", i, worker);
	}
	for (i = 0; i < 3; i++)
		free(buf[i]);
	close(cmd);
	close(reply);
}

/*
 * vms/add and vms/remove from inside a child pid namespace take the pid
 * as the writer sees it; the directory is named by the global pid.
 */
static void ns_init_main(int up, int down)
{
	FILE *in = fdopen(down, "r");
	char line[64], op[16];
	pid_t child = 0, vm;
	int rc, pid;

	vm = spawn_vm("-w 1 -c 2", &child, &rc);
	dprintf(up, "vm %d %d\n", vm, rc);
	while (in && fgets(line, sizeof(line), in) &&
	       sscanf(line, "%15s %d", op, &pid) == 2)
		dprintf(up, "%d\n", vm_op(strcmp(op, "add") ? "vms/remove" :
					  "vms/add", pid));
	kill_vm(child);
	_exit(0);
}

/* The only child of @parent, from /proc. */
static pid_t child_of(pid_t parent)
{
	char ppid[16];
	struct dirent *d;
	pid_t found = 0;
	DIR *dir = opendir("/proc");

	while (dir && (d = readdir(dir))) {
		pid_t pid = atoi(d->d_name);

		if (pid > 0 && !proc_status(pid, "PPid", ppid, sizeof(ppid)) &&
		    atoi(ppid) == parent)
			found = pid;
	}
	if (dir)
		closedir(dir);
	return found;
}

TEST_F(host, add_in_pid_namespace)
{
	int up[2], down[2], init = 0, nsvm = 0, rc = 0, err, i, v;
	char line[64], nspid[64];
	FILE *from;
	pid_t outer;

	NEED_VHOST();
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	outer = fork();
	ASSERT_LE(0, outer);
	if (!outer) {
		pid_t pid;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(up[0]);
		close(down[1]);
		if (unshare(CLONE_NEWPID)) {
			dprintf(up[1], "init 0 %d\n", errno);
			_exit(1);
		}
		pid = fork();
		if (!pid) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			ns_init_main(up[1], down[0]);
		}
		dprintf(up[1], "init %d 0\n", pid);
		waitpid(pid, NULL, 0);
		_exit(0);
	}
	self->procs[0] = outer;
	close(up[1]);
	close(down[0]);
	from = fdopen(up[0], "r");
	ASSERT_NE(NULL, from);
	/* Two lines, in either order: the init's pid, and the VM's. */
	for (i = 0; i < 2 && fgets(line, sizeof(line), from); i++) {
		if (sscanf(line, "init %d %d", &v, &err) == 2) {
			init = v;
			ASSERT_EQ(0, err);
		} else {
			ASSERT_EQ(2, sscanf(line, "vm %d %d", &nsvm, &rc));
		}
	}
	if (!nsvm && rc == 4)
		SKIP(return, "vhost_vm cannot run here");
	ASSERT_NE(0, init);
	ASSERT_NE(0, nsvm);
	self->procs[1] = init;
	self->vm = child_of(init);
	ASSERT_NE(0, self->vm);
	/* It is the same process: its pid in the namespace is nsvm. */
	ASSERT_EQ(0, proc_status(self->vm, "NSpid", nspid, sizeof(nspid)));
	ASSERT_EQ(nsvm, atoi(strrchr(nspid, '\t') ? strrchr(nspid, '\t') + 1 :
				 nspid));
	ASSERT_NE(nsvm, self->vm);
	self->nth = snapshot(self->vm, self->th, MAX_TH);
	ASSERT_LT(0, self->nth);
	ASSERT_EQ(0, vs_write("enabled", "1"));

	dprintf(down[1], "add %d\n", nsvm);
	ASSERT_NE(NULL, fgets(line, sizeof(line), from));
	EXPECT_EQ(0, atoi(line)) {
		TH_LOG("vms/add %d in the namespace (pid %d outside): %s",
		       nsvm, self->vm, strerror(-atoi(line)));
	}
	EXPECT_TRUE(vm_dir_exists(self->vm));
	EXPECT_FALSE(vm_dir_exists(nsvm));
	wait_all(_metadata, self, WAIT_MS);

	/* The global pid means nothing inside the namespace. */
	dprintf(down[1], "add %d\n", self->vm);
	ASSERT_NE(NULL, fgets(line, sizeof(line), from));
	EXPECT_EQ(-ESRCH, atoi(line));

	dprintf(down[1], "remove %d\n", nsvm);
	ASSERT_NE(NULL, fgets(line, sizeof(line), from));
	EXPECT_EQ(0, atoi(line));
	EXPECT_FALSE(vm_dir_exists(self->vm));
	expect_released(_metadata, self);
	close(down[1]);
	fclose(from);
}

#define NON_VMS		24	/* more than the old 16-entry batch */

/*
 * auto_discover finds a real KVM VM started after many processes that have
 * "CPU n/KVM" threads but no KVM VM; those are never managed. Any user
 * can make such a process, and give it an open file named "kvm-vm" as
 * KVM's VM file is: half of them have one.
 */
TEST_F(host, discover_past_non_vms)
{
	char dir[] = "/tmp/vs-kvm-XXXXXX", path[64];
	long long deadline;
	int i, fd;

	NEED_VHOST();
	if (access("/dev/kvm", R_OK | W_OK))
		SKIP(return, "no /dev/kvm");
	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kvm-vm", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	for (i = 0; i < NON_VMS; i++) {
		/* The fakes are forks: the first half keep the file open. */
		if (i == NON_VMS / 2) {
			close(fd);
			unlink(path);
			rmdir(dir);
		}
		self->fakes[i] = fake_vm(1, NULL, NULL);
		ASSERT_NE(0, self->fakes[i]);
		self->nfakes++;
	}
	START_VM("-K -w 1 -c 2");
	ASSERT_EQ(0, vs_write("enabled", "1"));
	ASSERT_EQ(0, vs_write("auto_discover", "1"));
	deadline = now_ms() + 3 * WAIT_MS;
	while (!vm_dir_exists(self->vm) && now_ms() < deadline)
		usleep(20000);
	EXPECT_TRUE(vm_dir_exists(self->vm)) {
		TH_LOG("VM %d not discovered within %d ms behind %d non-VMs",
		       self->vm, 3 * WAIT_MS, NON_VMS);
	}
	for (i = 0; i < self->nfakes; i++) {
		EXPECT_FALSE(vm_dir_exists(self->fakes[i])) {
			TH_LOG("non-VM %d is managed", self->fakes[i]);
		}
	}
	if (vm_dir_exists(self->vm))
		wait_all(_metadata, self, WAIT_MS);
	ASSERT_EQ(0, vs_write("auto_discover", "0"));
}

/* The tid of the thread of @vm (or kernel thread) named @comm; 0 if none. */
static pid_t find_comm(pid_t vm, const char *comm)
{
	char path[64], c[32];
	struct dirent *d;
	pid_t tid = 0;
	DIR *dir;
	int pass;

	/* Its threads first (vhost_task), then every process (kthread). */
	for (pass = 0; pass < 2 && !tid; pass++) {
		if (pass)
			snprintf(path, sizeof(path), "/proc");
		else
			snprintf(path, sizeof(path), "/proc/%d/task", vm);
		dir = opendir(path);
		while (dir && !tid && (d = readdir(dir)))
			if (atoi(d->d_name) > 0 &&
			    !comm_of(atoi(d->d_name), c, sizeof(c)) &&
			    !strcmp(c, comm))
				tid = atoi(d->d_name);
		if (dir)
			closedir(dir);
	}
	return tid;
}

/*
 * A kernel worker a bound vCPU makes inside the VM (KVM's NX recovery
 * worker on 6.12; here a vhost worker, made the same way) starts with the
 * vCPU's vspace mask. It gets the vCPU's allowed mask, not vspace's:
 * placed within it and given it on release. On 6.1 the worker is a
 * kernel thread that never had the vCPU's mask, and the same holds.
 */
TEST_F(host, inherited_mask_is_given_back)
{
	int cmd = -1, reply = -1, creator;
	char comm[32];
	cpu_set_t born;
	struct groups g;
	struct th *a;
	char c = 's';
	pid_t tid;

	NEED_VHOST();
	self->fakes[0] = fake_vm(2, &cmd, &reply);
	ASSERT_NE(0, self->fakes[0]);
	self->nfakes = 1;
	self->vm = self->fakes[0];
	self->nth = snapshot(self->vm, self->th, MAX_TH);
	a = first_of(self->th, self->nth, VCPU);
	ASSERT_NE(NULL, a);
	add_vm(_metadata, self);
	wait_all(_metadata, self, WAIT_MS);
	ASSERT_EQ(0, read_groups(&g));
	if (CPU_EQUAL(&g.vm, &a->allowed))
		SKIP(return, "vm_cpus %s is all the vCPU is allowed", CL(&g.vm));

	ASSERT_EQ(1, write(cmd, &c, 1));
	ASSERT_EQ((ssize_t)sizeof(creator), read(reply, &creator, sizeof(creator)));
	ASSERT_LT(0, creator);
	snprintf(comm, sizeof(comm), "vhost-%d", creator);
	tid = find_comm(self->vm, comm);
	ASSERT_LT(0, tid);
	ASSERT_EQ(0, cpus_of(tid, &born));
	TH_LOG("worker %d started on %s (vm_cpus %s, vCPU allowed %s)", tid,
	       CL(&born), CL(&g.vm), CL(&a->allowed));
	ASSERT_LT(self->nth, MAX_TH);
	self->th[self->nth].tid = tid;
	self->th[self->nth].kind = VHOST;
	self->th[self->nth].orig = born;
	self->th[self->nth].allowed = a->allowed;
	self->nth++;
	/* Placed within the vCPU's allowed mask: io_cpus AND it. */
	wait_all(_metadata, self, WAIT_MS);
	remove_vm(_metadata, self);
	expect_released(_metadata, self);
	close(cmd);
	close(reply);
}

struct race {
	pid_t vm;
	volatile int stop;
	pthread_mutex_t lock;
	int bad;
	char what[160];
	long adds, removes, reads;
};

static void race_bad(struct race *r, const char *op, long err)
{
	pthread_mutex_lock(&r->lock);
	if (!r->bad++)
		snprintf(r->what, sizeof(r->what), "%s: %s", op, strerror(-err));
	pthread_mutex_unlock(&r->lock);
}

static bool race_result_ok(int err)
{
	return !err || err == -EEXIST || err == -ENOENT || err == -ENODEV ||
	       err == -EBUSY;
}

static void *race_adder(void *arg)
{
	struct race *r = arg;
	int err;

	while (!r->stop) {
		err = vm_op("vms/add", r->vm);
		if (!race_result_ok(err))
			race_bad(r, "vms/add", err);
		else if (!err)
			__atomic_add_fetch(&r->adds, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *race_remover(void *arg)
{
	struct race *r = arg;
	int err;

	while (!r->stop) {
		err = vm_op("vms/remove", r->vm);
		if (!race_result_ok(err))
			race_bad(r, "vms/remove", err);
		else if (!err)
			__atomic_add_fetch(&r->removes, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *race_reader(void *arg)
{
	static const char * const files[] = {
		"threads", "thread_stats", "stats", "drifts", "slo_us", "weight",
	};
	struct race *r = arg;
	char *buf = malloc(BIG);
	unsigned int i;
	ssize_t n;

	while (buf && !r->stop) {
		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			n = read_vm_file(r->vm, files[i], buf, BIG);
			if (n < 0 && n != -ENOENT && n != -ENODEV)
				race_bad(r, files[i], n);
			else if (n >= 0)
				__atomic_add_fetch(&r->reads, 1, __ATOMIC_RELAXED);
		}
	}
	free(buf);
	return NULL;
}

/*
 * vms/add and vms/remove of the same VM race while readers read its files:
 * every result is 0, EEXIST, ENOENT, ENODEV or EBUSY; the kernel says
 * nothing (no duplicate sysfs name, no warning); afterwards the VM can be
 * added and removed cleanly and every thread has its mask back.
 */
TEST_F(host, remove_add_race)
{
	struct race r = { .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[5];
	char first[512];
	int i, problems;

	NEED_VHOST();
	START_VM("-w 1 -c 2");
	ASSERT_EQ(0, vs_write("enabled", "1"));
	self->kmsg = kmsg_open();
	r.vm = self->vm;
	ASSERT_EQ(0, pthread_create(&t[0], NULL, race_adder, &r));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, race_adder, &r));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, race_remover, &r));
	ASSERT_EQ(0, pthread_create(&t[3], NULL, race_reader, &r));
	ASSERT_EQ(0, pthread_create(&t[4], NULL, race_reader, &r));
	usleep(5 * 1000 * 1000);
	r.stop = 1;
	for (i = 0; i < 5; i++)
		pthread_join(t[i], NULL);
	TH_LOG("%ld adds, %ld removes, %ld reads", r.adds, r.removes, r.reads);
	EXPECT_EQ(0, r.bad) {
		TH_LOG("%d unexpected results, first %s", r.bad, r.what);
	}
	EXPECT_LT(0, r.adds);
	EXPECT_LT(0, r.removes);

	/* Whatever state it ended in, it is a consistent one. */
	if (vm_dir_exists(self->vm)) {
		EXPECT_EQ(0, vm_op("vms/remove", self->vm));
	} else {
		EXPECT_EQ(-ENOENT, vm_op("vms/remove", self->vm));
	}
	EXPECT_FALSE(vm_dir_exists(self->vm));
	expect_released(_metadata, self);
	add_vm(_metadata, self);
	wait_all(_metadata, self, WAIT_MS);
	remove_vm(_metadata, self);
	expect_released(_metadata, self);

	problems = kmsg_problems(self->kmsg, first, sizeof(first));
	EXPECT_EQ(0, problems) {
		TH_LOG("kernel log: %s", first);
	}
}

struct udp_shared {
	volatile int port, err;
	volatile long received;
};

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* A host process receiving 32 KB datagrams without ever blocking. */
static void udp_receiver(struct udp_shared *sh, int cpu)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int s, size = 4 << 20;
	static char buf[65536];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pin_to(cpu);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(s, (struct sockaddr *)&a, &alen)) {
		sh->err = errno;
		_exit(1);
	}
	sh->port = ntohs(a.sin_port);
	for (;;)
		if (recv(s, buf, sizeof(buf), 0) > 0)
			sh->received++;
}

/* Bursts of 32 KB datagrams, leaving its CPU time to spare. */
static void udp_sender(struct udp_shared *sh, int cpu)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	static char buf[32768];
	int s, i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pin_to(cpu);
	while (!sh->port)
		usleep(1000);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(sh->port);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a))) {
		sh->err = errno;
		_exit(1);
	}
	for (;;) {
		for (i = 0; i < 4; i++)
			send(s, buf, sizeof(buf), 0);
		usleep(1000);
	}
}

/*
 * Host traffic vspace has nothing to do with: a process receiving 32 KB UDP
 * datagrams on loopback in a non-blocking loop, alone on its CPU, while a
 * VM is added and removed again and again (each add of the only VM
 * attaches vspace's probes; the VM's threads sleep, so nothing else runs
 * on the receiver's CPU). The receiver lives and the kernel reports
 * nothing.
 */
TEST_F_TIMEOUT(host, udp_host_traffic, 60)
{
	struct udp_shared *sh;
	cpu_set_t online;
	int cycles = 0, fails = 0, status, rcpu, problems, i;
	long long deadline;
	char first[512];
	pid_t dead = 0;

	ASSERT_EQ(0, online_cpus(&online));
	rcpu = highest_cpu(&online);
	/* A bare host (the lab's guest) may not have brought lo up. */
	i = lo_set(true);
	ASSERT_LE(0, i);
	self->lo_raised = i;
	self->fakes[0] = fake_vm(2, NULL, NULL);
	ASSERT_NE(0, self->fakes[0]);
	self->nfakes = 1;
	self->vm = self->fakes[0];
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	self->procs[0] = fork();
	ASSERT_LE(0, self->procs[0]);
	if (!self->procs[0])
		udp_receiver(sh, rcpu);
	self->procs[1] = fork();
	ASSERT_LE(0, self->procs[1]);
	if (!self->procs[1])
		udp_sender(sh, 0);
	/* This process keeps off the receiver's CPU too. */
	if (rcpu)
		pin_to(0);
	deadline = now_ms() + 5000 * vs_slow();
	while (!sh->received && now_ms() < deadline)
		usleep(10000);
	ASSERT_LT(0, sh->received) {
		TH_LOG("no datagram arrived (%s): the test would prove nothing",
		       sh->err ? strerror(sh->err) : "no error");
	}

	self->kmsg = kmsg_open();
	ASSERT_EQ(0, vs_write("enabled", "1"));
	/*
	 * Stay added long enough for datagrams to arrive, and removed long
	 * enough for an RCU grace period to pass, so that attaching the
	 * probes again waits for nothing that would run on the receiver's
	 * CPU.
	 */
	deadline = now_ms() + 10000;
	while (now_ms() < deadline) {
		fails += vm_op("vms/add", self->vm) != 0;
		usleep(100000);
		fails += vm_op("vms/remove", self->vm) != 0;
		usleep(300000);
		cycles++;
		if (waitpid(self->procs[0], &status, WNOHANG) == self->procs[0]) {
			dead = self->procs[0];
			self->procs[0] = 0;
			break;
		}
	}
	TH_LOG("%d add/remove cycles, %ld datagrams received", cycles,
	       sh->received);
	EXPECT_EQ(0, dead) {
		TH_LOG("the receiver died: %s %d",
		       WIFSIGNALED(status) ? "signal" : "exit",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	EXPECT_EQ(0, fails);
	problems = kmsg_problems(self->kmsg, first, sizeof(first));
	EXPECT_EQ(0, problems) {
		TH_LOG("kernel log: %s", first);
	}
	munmap(sh, sizeof(*sh));
}

VS_HARNESS_MAIN
