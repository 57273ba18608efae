// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_vm: a process that looks like a QEMU VM to vspace, built from real
 * kernel parts and nothing else:
 *   -w N  N real vhost-net workers (open /dev/vhost-net, VHOST_SET_OWNER);
 *   -k    ask for kthread workers (VHOST_SET_FORK_FROM_OWNER, 6.12.42+);
 *   -c N  N threads named "CPU n/KVM";
 *   -K    hold a real KVM VM (KVM_CREATE_VM on /dev/kvm);
 *   -b P  vCPU threads burn P% of each cycle (default 0: they sleep);
 *   -p MS the vCPU threads' cycle: they wake every MS ms (default 10);
 *   -B    work (-b's and -S's) is the thread's own CPU time, burnt through
 *         /dev/vs_burn when loaded (the parallel lab, selftests/burn), not
 *         time on the clock (vnet_work());
 *   -I    vCPU threads never wake (pause()), as halted vCPUs of an idle
 *         guest: nothing but vspace's own work runs (make scale);
 *   -e MS on SIGUSR1, each vCPU thread burns MS ms of its own CPU time and
 *         exits while running, as a vCPU QEMU unplugs (not with -t);
 *   -d MS create the vhost workers MS ms after saying ready, as QEMU does
 *         when the guest's driver comes up;
 *   -t N  also drive a real virtio-net device (vnet.c): a vhost-net worker
 *         on a tap named by -i (default vsvnet0) with an echo peer; on
 *         SIGUSR1 send N frames of -l bytes at -r per second (0: as fast as
 *         possible) and write "sent received rtt_p50_ns rtt_p99_ns
 *         elapsed_ns" to the file named by -o. The frames are sent from
 *         one more thread named "CPU n/KVM", as a guest's driver runs on a
 *         vCPU; SIGUSR2 ends the traffic early.
 *   -N US with -t and -r, nap US microseconds (default 20) while echoes
 *         are out: far fewer wakeups on a slow kernel, coarser round trips;
 *   -S US also drive a virtio-net device, as a server: each frame that
 *         comes in from the tap (selftests/reqclient) is a request that
 *         costs US microseconds of CPU in a "CPU n/KVM" thread and is sent
 *         back. No echo peer; runs until killed.
 *   -q N  with -t or -S, a multiqueue NIC of N queue pairs: N devices, one
 *         vhost-net worker each, each with its own tap (-i's name, then
 *         that name with "q1", "q2"... appended), echo peer and driver or
 *         server thread ("CPU n/KVM"). Queue i sends (i + 1) times -t's
 *         count (tests tell the workers apart by their counts) and, for
 *         i > 0, writes its result to the -o file's name with ".i"
 *         appended.
 *   -g DIR before anything else, join the cgroup DIR (DIR/cgroup.procs),
 *         as libvirt puts QEMU in its machine-qemu-N-NAME.scope: threads
 *         start in their creator's cgroup, and 6.1's vhost kthreads join
 *         their owner's at VHOST_SET_OWNER;
 *   -s    before anything else, setsid(): QEMU runs in a session of its
 *         own (autogroup separates sessions where no cpu controller does).
 *   -O    with -t, send one way, as a VM flooding out: no echo peer, the
 *         frames go to the host's stack (which drops them), a frame is
 *         received once vhost has taken it, no round trips; with the
 *         window full, the driver sleeps until vhost signals frames used
 *         (the guest's interrupt) or 100 ms pass;
 *   -R FILE with -t (one queue pair, not -O), also write every round trip
 *         in nanoseconds, sorted, one per line, to FILE before -o's
 *         result: percentiles over several runs;
 *   -C US each frame this VM's vhost workers send costs them US
 *         microseconds of their own CPU time, burnt (/dev/vs_burn's
 *         VS_BURN_TX_COST): a flood's cost as on a real host, which under
 *         TCG instructions cannot show. Exits 4 without the burn module
 *         or without ftrace to hook with.
 * It prints "ready <pid>" once everything (but delayed workers) exists,
 * then runs until killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <net/if.h>
#include <linux/kvm.h>
#include <linux/vhost.h>

#include "vnet.h"
#include "burn/vs_burn.h"

#ifndef VHOST_SET_FORK_FROM_OWNER
#define VHOST_SET_FORK_FROM_OWNER _IOW(VHOST_VIRTIO, 0x84, __u8)
#endif
#define VHOST_FORK_OWNER_KTHREAD 0

static int duty, idle, exit_ms, cycle_ms = 10;
static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	go = 1;
}

static void on_usr2(int sig)
{
	vnet_stop = 1;
}

struct traffic {
	struct vnet *net;
	long long count;
	unsigned int len, pps, work;
	int vcpu;
	char out[256];
};

/* The guest's network driver: on its own vCPU thread. */
static void *driver(void *arg)
{
	struct traffic *tr = arg;
	struct vnet_result r = { 0 };
	char tmp[4096], name[16];
	FILE *f;
	int c;

	snprintf(name, sizeof(name), "CPU %d/KVM", tr->vcpu);
	pthread_setname_np(pthread_self(), name);
	while (!go)
		usleep(10000);
	c = vnet_run(tr->net, tr->count, tr->len, tr->pps, &r);
	if (c)
		fprintf(stderr, "vhost_vm: traffic: %s\n", strerror(-c));
	/* Written whole, then renamed: a reader never sees half. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", tr->out);
	f = *tr->out ? fopen(tmp, "w") : stdout;
	if (f) {
		fprintf(f, "%llu %llu %llu %llu %llu\n",
			(unsigned long long)r.sent,
			(unsigned long long)r.received,
			(unsigned long long)r.rtt_p50_ns,
			(unsigned long long)r.rtt_p99_ns,
			(unsigned long long)r.elapsed_ns);
		if (*tr->out) {
			fclose(f);
			rename(tmp, tr->out);
		} else {
			fflush(f);
		}
	}
	return NULL;
}

/* The guest's server: on its own vCPU thread. */
static void *server(void *arg)
{
	struct traffic *tr = arg;
	char name[16];

	snprintf(name, sizeof(name), "CPU %d/KVM", tr->vcpu);
	pthread_setname_np(pthread_self(), name);
	vnet_serve(tr->net, tr->work);
	return NULL;
}

/*
 * The NIC's @queues queue pairs, each driven by a thread of its own (vCPU
 * @vcpu on): @fn is driver or server. Returns 0, 4 (no kthread workers
 * here) or 1 with a message.
 */
static int start_nic(int queues, const char *ifname, int kthread,
		     struct traffic *proto, const char *out, int vcpu,
		     void *(*fn)(void *))
{
	int q, c;

	for (q = 0; q < queues; q++) {
		struct traffic *tr = malloc(sizeof(*tr));
		char name[IFNAMSIZ];
		pthread_t t;

		if (!tr)
			return 1;
		*tr = *proto;
		tr->count *= q + 1;
		tr->vcpu = vcpu + q;
		if (q)
			snprintf(name, sizeof(name), "%sq%d", ifname, q);
		else
			snprintf(name, sizeof(name), "%s", ifname);
		if (!out)
			tr->out[0] = '\0';
		else if (q)
			snprintf(tr->out, sizeof(tr->out), "%s.%d", out, q);
		else
			snprintf(tr->out, sizeof(tr->out), "%s", out);
		c = vnet_open(&tr->net, name, kthread);
		if (c == -EOPNOTSUPP)
			return 4;
		if (!c && fn == driver && !vnet_oneway)
			c = vnet_start_peer(tr->net);
		if (c) {
			fprintf(stderr, "vhost_vm: virtio-net setup on %s: %s\n",
				name, strerror(-c));
			return 1;
		}
		if (pthread_create(&t, NULL, fn, tr)) {
			perror("vhost_vm: pthread_create");
			return 1;
		}
	}
	return 0;
}

/* The calling thread's CPU time, in ms. */
static long long thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void *vcpu(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "CPU %ld/KVM", (long)arg);
	pthread_setname_np(pthread_self(), name);
	while (idle)
		pause();
	if (exit_ms) {
		/* Burn @exit_ms of its own CPU time, then end while running. */
		long long end;

		while (!go)
			usleep(1000);
		end = thread_cpu_ms() + exit_ms;
		while (thread_cpu_ms() < end)
			;
		pthread_exit(NULL);
	}
	for (;;) {
		if (duty)
			vnet_work(duty * cycle_ms * 10);
		usleep((100 - duty) * cycle_ms * 10);
	}
	return NULL;
}

/* Move this process into the cgroup @dir; 0, or 1 with a message. */
static int join_cgroup(const char *dir)
{
	char path[4096], pid[32];
	int fd, n, ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	fd = open(path, O_WRONLY);
	ok = fd >= 0 && write(fd, pid, n) == n;
	if (!ok)
		fprintf(stderr, "vhost_vm: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return !ok;
}

static int make_workers(int workers, int kthread)
{
	int i;

	for (i = 0; i < workers; i++) {
		int fd = open("/dev/vhost-net", O_RDWR);

		if (fd < 0) {
			perror("vhost_vm: /dev/vhost-net");
			return 4;
		}
		if (kthread) {
			__u8 mode = VHOST_FORK_OWNER_KTHREAD;

			if (ioctl(fd, VHOST_SET_FORK_FROM_OWNER, &mode)) {
				perror("vhost_vm: VHOST_SET_FORK_FROM_OWNER");
				return 4;	/* this kernel has no kthread mode */
			}
		}
		if (ioctl(fd, VHOST_SET_OWNER)) {
			perror("vhost_vm: VHOST_SET_OWNER");
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int workers = 1, vcpus = 1, kthread = 0, kvm = 0, delay = 0, c, i;
	int serve = -1, queues = 1, burn_fd = -1;
	unsigned long long tx_cost = 0;
	char *end;
	unsigned int len = 64, pps = 0;
	const char *ifname = "vsvnet0", *out = NULL, *cgroup = NULL;
	long long traffic = 0;
	int session = 0;

	while ((c = getopt(argc, argv, "w:c:kKb:p:BIe:d:t:l:r:N:i:o:R:S:g:sq:C:O")) != -1) {
		switch (c) {
		case 'w': workers = atoi(optarg); break;
		case 'c': vcpus = atoi(optarg); break;
		case 'k': kthread = 1; break;
		case 'K': kvm = 1; break;
		case 'b': duty = atoi(optarg); break;
		case 'p': cycle_ms = atoi(optarg); break;
		case 'B': vnet_cpu_work = 1; break;
		case 'I': idle = 1; break;
		case 'e': exit_ms = atoi(optarg); break;
		case 'd': delay = atoi(optarg); break;
		case 't': traffic = atoll(optarg); break;
		case 'l': len = atoi(optarg); break;
		case 'r': pps = atoi(optarg); break;
		case 'N': vnet_nap_us = atoi(optarg); break;
		case 'i': ifname = optarg; break;
		case 'o': out = optarg; break;
		case 'S': serve = atoi(optarg); break;
		case 'g': cgroup = optarg; break;
		case 's': session = 1; break;
		case 'q': queues = atoi(optarg); break;
		case 'C':
			tx_cost = strtoull(optarg, &end, 10);
			if (!*optarg || *end || !tx_cost) {
				fprintf(stderr, "vhost_vm: -C needs microseconds above 0\n");
				return 2;
			}
			break;
		case 'O': vnet_oneway = 1; break;
		case 'R': vnet_rtt_file = optarg; break;
		default:
			fprintf(stderr, "usage: vhost_vm [-w N] [-c N] [-k] [-K] [-b PCT] [-p MS] [-B] [-I] [-e MS] [-d MS]\n"
				"       [-t N [-l LEN] [-r PPS [-N US]] [-i IFNAME] [-o FILE] [-R FILE]] [-S US]\n"
				"       [-q QUEUES] [-g CGROUP] [-s] [-C US] [-O]\n");
			return 2;
		}
	}

	if (cycle_ms < 1 || cycle_ms > 10000) {
		fprintf(stderr, "vhost_vm: -p needs 1-10000 ms\n");
		return 2;
	}
	if (queues < 1 || queues > 64 || (queues > 1 && !traffic && serve < 0) ||
	    (traffic && serve >= 0) || (traffic && exit_ms) ||
	    (queues > 1 && strlen(ifname) + 2 + (queues > 10) >= IFNAMSIZ)) {
		fprintf(stderr, "vhost_vm: -q needs 1-64 and -t or -S, -t mixes with neither -S nor -e, and -i's name must leave room for \"q<N>\"\n");
		return 2;
	}

	if ((tx_cost && !traffic && serve < 0) || (vnet_oneway && !traffic)) {
		fprintf(stderr, "vhost_vm: -C needs -t or -S, -O needs -t\n");
		return 2;
	}
	if (vnet_rtt_file && (!traffic || vnet_oneway || queues > 1)) {
		fprintf(stderr, "vhost_vm: -R needs -t, one queue pair and round trips (not -O)\n");
		return 2;
	}

	/* Before anything that creates a thread or a vhost worker. */
	if (session && setsid() < 0 && getsid(0) != getpid()) {
		perror("vhost_vm: setsid");
		return 1;
	}
	if (cgroup && join_cgroup(cgroup))
		return 1;
	/* Held open for the process's life: closing it ends the cost. */
	if (tx_cost) {
		burn_fd = open("/dev/vs_burn", O_RDONLY | O_CLOEXEC);
		if (burn_fd < 0) {
			perror("vhost_vm: /dev/vs_burn");
			return 4;
		}
	}
	if (exit_ms)
		signal(SIGUSR1, on_usr1);

	if (kvm) {
		int sys = open("/dev/kvm", O_RDWR);

		if (sys < 0 || ioctl(sys, KVM_CREATE_VM, 0) < 0) {
			perror("vhost_vm: KVM_CREATE_VM");
			return 4;
		}
	}
	for (i = 0; i < vcpus; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, vcpu, (void *)(long)i)) {
			perror("vhost_vm: pthread_create");
			return 1;
		}
	}
	if (!delay) {
		c = make_workers(workers, kthread);
		if (c)
			return c;
	}
	if (traffic || serve >= 0) {
		struct traffic proto = {
			.count = traffic, .len = len, .pps = pps, .work = serve,
		};

		if (traffic) {
			signal(SIGUSR1, on_usr1);
			signal(SIGUSR2, on_usr2);
			/* The result may go to a pipe nobody reads any more. */
			signal(SIGPIPE, SIG_IGN);
		}
		c = start_nic(queues, ifname, kthread, &proto, out, vcpus,
			      traffic ? driver : server);
		if (c)
			return c;
		/* tun is loaded now: the module hooks its send. */
		if (tx_cost && ioctl(burn_fd, VS_BURN_TX_COST, &tx_cost)) {
			int e = errno;

			perror("vhost_vm: VS_BURN_TX_COST");
			/* No ftrace to hook with: cannot here. */
			return e == EOPNOTSUPP ? 4 : 1;
		}
	}
	/* Let the threads name themselves before saying ready. */
	usleep(100000);
	printf("ready %d\n", getpid());
	fflush(stdout);
	if (delay) {
		usleep(delay * 1000);
		c = make_workers(workers, kthread);
		if (c)
			return c;
	}
	for (;;)
		pause();
}
