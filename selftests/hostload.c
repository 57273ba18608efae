// SPDX-License-Identifier: GPL-2.0
/*
 * hostload: what else runs on a production KVM host, so that vspace's
 * tests meet it (see hostshape.sh). Runs until killed; its children die
 * with it.
 *   -p N     N ordinary processes ("hostproc") that only pause(): forked,
 *            not exec'ed, so thousands start quickly even under TCG;
 *   -u RATE  UDP on loopback: one thread sends 32 KB datagrams at RATE
 *            per second, another receives them with non-blocking recv()
 *            (32 KB datagrams arrive as non-linear skbs, the kind that
 *            reach skb_copy_datagram_msg() from udp_recvmsg());
 *   -C CPU   pin that receiver to CPU;
 *   -t RATE  TCP on loopback: a client sends RATE KB per second to a
 *            listener, which echoes it back;
 *   -s FILE  every second and on SIGUSR1, write the counters to FILE
 *            (written whole, then renamed) as one line of name/value pairs:
 *            "udp_rx N tcp_rx_bytes N udp_tx N udp_rx_other N
 *            tcp_echo_bytes N procs N seq N". The first write comes once
 *            all the processes exist.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DGRAM_LEN	32768
#define TCP_CHUNK	16384

static unsigned long long udp_tx, udp_rx, udp_rx_other, tcp_rx, tcp_echo;
static int rx_cpu = -1;

static void count(unsigned long long *c, unsigned long long n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static unsigned long long get(unsigned long long *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void die(const char *what)
{
	fprintf(stderr, "hostload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void ns_add(struct timespec *t, long long ns)
{
	ns += t->tv_nsec;
	t->tv_sec += ns / 1000000000LL;
	t->tv_nsec = ns % 1000000000LL;
}

/*
 * Sleep until *next, then move it on by @ns. A pacer that fell more than
 * a second behind (a loaded TCG guest) starts afresh instead of bursting.
 */
static void pace(struct timespec *next, long long ns)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > next->tv_sec + 1)
		*next = now;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR)
		;
	ns_add(next, ns);
}

/* A socket of @type bound to 127.0.0.1 on a free port; *addr is filled. */
static int loopback_socket(int type, struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, type, 0), one = 1;

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) ||
	    getsockname(fd, (struct sockaddr *)addr, &len))
		die("bind 127.0.0.1 (is lo up?)");
	return fd;
}

struct udp {
	int fd;
	long long interval_ns;
	struct sockaddr_in to;
};

static void *udp_sender(void *arg)
{
	static char buf[DGRAM_LEN];
	struct udp *u = arg;
	struct timespec next;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	pthread_setname_np(pthread_self(), "hl-udp-tx");
	if (fd < 0 || connect(fd, (struct sockaddr *)&u->to, sizeof(u->to)))
		die("udp connect");
	memset(buf, 0x5a, sizeof(buf));
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		pace(&next, u->interval_ns);
		/* A full receive queue drops; the sender does not care. */
		if (send(fd, buf, sizeof(buf), 0) == sizeof(buf))
			count(&udp_tx, 1);
	}
	return NULL;
}

static void *udp_receiver(void *arg)
{
	static char buf[65536];
	struct udp *u = arg;
	struct pollfd p = { .fd = u->fd, .events = POLLIN };
	ssize_t n;

	pthread_setname_np(pthread_self(), "hl-udp-rx");
	if (rx_cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(rx_cpu, &set);
		errno = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		if (errno)
			die("pinning the UDP receiver");
	}
	for (;;) {
		/* Non-blocking, as event-loop daemons read: a real recv() per datagram. */
		n = recv(u->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n == DGRAM_LEN)
			count(&udp_rx, 1);
		else if (n >= 0)
			count(&udp_rx_other, 1);
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			poll(&p, 1, 1000);
		else if (errno != EINTR)
			die("udp recv");
	}
	return NULL;
}

static int io_all(int fd, char *buf, size_t len, int wr)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = wr ? write(fd, buf + done, len - done) :
			 read(fd, buf + done, len - done);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		done += n;
	}
	return 0;
}

struct tcp {
	int listen_fd;
	long long interval_ns;
	size_t chunk;
	struct sockaddr_in to;
};

/* The service: echo whatever a client sends. */
static void *tcp_server(void *arg)
{
	static char buf[65536];
	struct tcp *t = arg;
	ssize_t n;
	int fd;

	pthread_setname_np(pthread_self(), "hl-tcp-srv");
	for (;;) {
		fd = accept(t->listen_fd, NULL, NULL);
		if (fd < 0) {
			if (errno != EINTR)
				sleep(1);
			continue;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
			if (n < 0)
				continue;
			count(&tcp_rx, n);
			if (io_all(fd, buf, n, 1))
				break;
		}
		close(fd);
	}
	return NULL;
}

static void *tcp_client(void *arg)
{
	static char buf[TCP_CHUNK];
	struct tcp *t = arg;
	struct timespec next;
	int fd;

	pthread_setname_np(pthread_self(), "hl-tcp-cli");
	memset(buf, 0xa5, sizeof(buf));
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&t->to, sizeof(t->to))) {
			if (fd >= 0)
				close(fd);
			sleep(1);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &next);
		for (;;) {
			pace(&next, t->interval_ns);
			if (io_all(fd, buf, t->chunk, 1) || io_all(fd, buf, t->chunk, 0))
				break;
			count(&tcp_echo, t->chunk);
		}
		close(fd);
	}
	return NULL;
}

static void start(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	errno = pthread_create(&t, NULL, fn, arg);
	if (errno)
		die("pthread_create");
}

/* Fork @n processes that pause until hostload dies. */
static void fork_procs(int n)
{
	pid_t parent = getpid();
	int i;

	/* Nobody waits for them: let the kernel reap any that get killed. */
	signal(SIGCHLD, SIG_IGN);
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid)
			continue;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The parent may have died before the line above. */
		if (getppid() != parent)
			_exit(0);
		prctl(PR_SET_NAME, "hostproc");
		for (;;)
			pause();
	}
}

static void write_stats(const char *file, int procs, unsigned long long seq)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	f = fopen(tmp, "w");
	if (!f)
		die(tmp);
	fprintf(f, "udp_rx %llu tcp_rx_bytes %llu udp_tx %llu udp_rx_other %llu",
		get(&udp_rx), get(&tcp_rx), get(&udp_tx), get(&udp_rx_other));
	fprintf(f, " tcp_echo_bytes %llu procs %d seq %llu\n", get(&tcp_echo), procs, seq);
	if (fclose(f) || rename(tmp, file))
		die(file);
}

int main(int argc, char **argv)
{
	static struct udp u;
	static struct tcp t;
	int procs = 0, udp_rate = 0, tcp_rate = 0, c;
	const char *stats = NULL;
	unsigned long long seq = 0;
	struct timespec second = { 1, 0 };
	sigset_t usr1;

	while ((c = getopt(argc, argv, "p:u:C:t:s:")) != -1) {
		switch (c) {
		case 'p': procs = atoi(optarg); break;
		case 'u': udp_rate = atoi(optarg); break;
		case 'C': rx_cpu = atoi(optarg); break;
		case 't': tcp_rate = atoi(optarg); break;
		case 's': stats = optarg; break;
		default:
			fprintf(stderr,
				"usage: hostload [-p N] [-u RATE [-C CPU]] [-t KBPS] [-s FILE]\n");
			return 2;
		}
	}

	/* Fork first, while the process is small and has one thread. */
	fork_procs(procs);
	signal(SIGPIPE, SIG_IGN);
	/* Only the main thread takes SIGUSR1, in sigtimedwait(). */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);

	if (udp_rate > 0) {
		int size = 1 << 20;

		u.fd = loopback_socket(SOCK_DGRAM, &u.to);
		setsockopt(u.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		u.interval_ns = 1000000000LL / udp_rate;
		start(udp_receiver, &u);
		start(udp_sender, &u);
	}
	if (tcp_rate > 0) {
		t.listen_fd = loopback_socket(SOCK_STREAM, &t.to);
		if (listen(t.listen_fd, 4))
			die("listen");
		/* A chunk at a time, echoed back, tcp_rate KB/s each way. */
		t.chunk = tcp_rate * 1024LL < TCP_CHUNK ? tcp_rate * 1024LL : TCP_CHUNK;
		t.interval_ns = 1000000000LL * t.chunk / (tcp_rate * 1024LL);
		start(tcp_server, &t);
		start(tcp_client, &t);
	}
	for (;;) {
		if (stats)
			write_stats(stats, procs, seq++);
		if (sigtimedwait(&usr1, NULL, &second) < 0 && errno != EAGAIN &&
		    errno != EINTR)
			die("sigtimedwait");
	}
}
