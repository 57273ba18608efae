// SPDX-License-Identifier: GPL-2.0
/*
 * vnet: see vnet.h. Written from the vhost-net ioctl interface
 * (linux/vhost.h) and the virtio 1.0 split ring; the sequence is that of
 * tools/virtio/vhost_net_test.c: tap with a vnet header, SET_OWNER, one
 * identity-mapped memory region, features, rings, backend.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "vnet.h"
#include "vs_slow.h"
#include "burn/vs_burn.h"

#define RING		256		/* descriptors per queue */
#define BUF		2048		/* bytes per buffer */
#define HDR		sizeof(struct virtio_net_hdr_mrg_rxbuf)
#define INFLIGHT	64

enum { RXQ, TXQ };

struct vq {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx, last_used;
	int kick;
	int call;	/* vhost signals used buffers here: the guest's interrupt */
	char *bufs;
};

struct payload {
	uint32_t magic;
	uint32_t pad;
	uint64_t seq;
	uint64_t sent_ns;
};

struct vnet {
	int vhost_fd, tap_fd, ifindex;
	struct vq vqs[2];
	pid_t peer;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int vnet_cpu_work;
int vnet_oneway;
unsigned int vnet_nap_us = 20;
const char *vnet_rtt_file;

void vnet_work(unsigned int us)
{
	static __thread int burn_fd = -2;
	uint64_t left = us, until;
	struct timespec ts;

	if (!vnet_cpu_work) {
		until = now_ns() + us * 1000ULL;
		while (now_ns() < until)
			;
		return;
	}
	if (burn_fd == -2)
		burn_fd = open("/dev/vs_burn", O_RDONLY | O_CLOEXEC);
	while (burn_fd >= 0 && left) {
		uint64_t part = left < VS_BURN_MAX_US ? left : VS_BURN_MAX_US;

		if (ioctl(burn_fd, VS_BURN_US, &part))
			break;
		left -= part;
	}
	if (!left)
		return;
	us = left;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	until = ts.tv_sec * 1000000000ULL + ts.tv_nsec + us * 1000ULL;
	do {
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	} while (ts.tv_sec * 1000000000ULL + ts.tv_nsec < until);
}

static int tap_open(struct vnet *v, const char *ifname)
{
	struct ifreq ifr = { 0 };
	int hdr = HDR, s;

	v->tap_fd = open("/dev/net/tun", O_RDWR);
	if (v->tap_fd < 0)
		return -errno;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	/* A tap of the same name from a process just killed may linger. */
	for (s = 0; ioctl(v->tap_fd, TUNSETIFF, &ifr); s++) {
		if (errno != EBUSY || s == 50)
			return -errno;
		usleep(100000);
	}
	if (ioctl(v->tap_fd, TUNSETVNETHDRSZ, &hdr))
		return -errno;

	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr))
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) || ioctl(s, SIOCGIFINDEX, &ifr))
		return -errno;
	v->ifindex = ifr.ifr_ifindex;
	close(s);
	return 0;
}

/* One queue's ring and buffers, carved from @mem. */
static char *vq_layout(struct vq *q, char *mem)
{
	q->desc = (void *)mem;
	mem += 16 * RING;
	q->avail = (void *)mem;
	mem += 4096;
	q->used = (void *)mem;
	mem += 4096 + 8 * RING;
	q->bufs = mem;
	return mem + (size_t)RING * BUF;
}

static int vq_setup(struct vnet *v, int idx, struct vq *q)
{
	struct vhost_vring_state num = { .index = idx, .num = RING };
	struct vhost_vring_state base = { .index = idx, .num = 0 };
	struct vhost_vring_addr addr = {
		.index = idx,
		.desc_user_addr = (uintptr_t)q->desc,
		.avail_user_addr = (uintptr_t)q->avail,
		.used_user_addr = (uintptr_t)q->used,
	};
	struct vhost_vring_file kick = { .index = idx };
	struct vhost_vring_file backend = { .index = idx, .fd = v->tap_fd };

	q->kick = eventfd(0, EFD_NONBLOCK);
	q->call = -1;
	kick.fd = q->kick;
	if (ioctl(v->vhost_fd, VHOST_SET_VRING_NUM, &num) ||
	    ioctl(v->vhost_fd, VHOST_SET_VRING_BASE, &base) ||
	    ioctl(v->vhost_fd, VHOST_SET_VRING_ADDR, &addr) ||
	    ioctl(v->vhost_fd, VHOST_SET_VRING_KICK, &kick) ||
	    ioctl(v->vhost_fd, VHOST_NET_SET_BACKEND, &backend))
		return -errno;
	return 0;
}

/* Have vhost signal used buffers on queue @idx: the guest's interrupt. */
static int vq_want_call(struct vnet *v, int idx)
{
	struct vhost_vring_file call = { .index = idx };

	if (v->vqs[idx].call >= 0)
		return 0;
	call.fd = eventfd(0, EFD_NONBLOCK);
	if (call.fd < 0)
		return -errno;
	if (ioctl(v->vhost_fd, VHOST_SET_VRING_CALL, &call)) {
		int err = -errno;

		close(call.fd);
		return err;
	}
	v->vqs[idx].call = call.fd;
	return 0;
}

/* Sleep until vhost signals @q, a signal comes, or @ms pass. */
static int vq_wait_call(struct vq *q, int ms)
{
	struct pollfd pfd = { .fd = q->call, .events = POLLIN };
	uint64_t n;

	if (poll(&pfd, 1, ms) > 0 && read(q->call, &n, sizeof(n)) < 0)
		return -errno;
	return 0;
}

static void vq_kick(struct vq *q)
{
	uint64_t one = 1;

	if (write(q->kick, &one, sizeof(one)) != sizeof(one))
		abort();
}

/* Make descriptor @id available with @len bytes, writable or not. */
static void vq_post(struct vq *q, uint16_t id, uint32_t len, int writable)
{
	q->desc[id].addr = (uintptr_t)(q->bufs + (size_t)id * BUF);
	q->desc[id].len = len;
	q->desc[id].flags = writable ? VRING_DESC_F_WRITE : 0;
	q->desc[id].next = 0;
	q->avail->ring[q->avail_idx % RING] = id;
	__atomic_store_n(&q->avail->idx, ++q->avail_idx, __ATOMIC_RELEASE);
}

/* The next used descriptor, or -1; its length in *len. */
static int vq_get(struct vq *q, uint32_t *len)
{
	struct vring_used_elem *e;

	if (__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) == q->last_used)
		return -1;
	e = &q->used->ring[q->last_used++ % RING];
	*len = e->len;
	return e->id;
}

static int vnet_setup(struct vnet *v, const char *ifname, int kthread)
{
	struct vhost_memory *mt;
	uint64_t features;
	size_t size = 2 * (16 * RING + 8192 + 8 * RING + (size_t)RING * BUF);
	char *mem;
	int ret;

	ret = tap_open(v, ifname);
	if (ret)
		return ret;
	v->vhost_fd = open("/dev/vhost-net", O_RDWR);
	if (v->vhost_fd < 0)
		return -errno;
	if (kthread) {
		__u8 mode = 0;	/* VHOST_FORK_OWNER_KTHREAD */

		if (ioctl(v->vhost_fd, _IOW(VHOST_VIRTIO, 0x84, __u8), &mode))
			return -EOPNOTSUPP;
	}
	if (ioctl(v->vhost_fd, VHOST_SET_OWNER))
		return -errno;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	vq_layout(&v->vqs[TXQ], vq_layout(&v->vqs[RXQ], mem));

	mt = calloc(1, sizeof(*mt) + sizeof(mt->regions[0]));
	if (!mt)
		return -ENOMEM;
	mt->nregions = 1;
	mt->regions[0].guest_phys_addr = (uintptr_t)mem;
	mt->regions[0].userspace_addr = (uintptr_t)mem;
	mt->regions[0].memory_size = size;
	ret = ioctl(v->vhost_fd, VHOST_SET_MEM_TABLE, mt) ? -errno : 0;
	free(mt);
	if (ret)
		return ret;

	if (ioctl(v->vhost_fd, VHOST_GET_FEATURES, &features))
		return -errno;
	features &= 1ULL << VIRTIO_F_VERSION_1;
	if (ioctl(v->vhost_fd, VHOST_SET_FEATURES, &features))
		return -errno;

	ret = vq_setup(v, RXQ, &v->vqs[RXQ]);
	if (!ret)
		ret = vq_setup(v, TXQ, &v->vqs[TXQ]);
	/*
	 * One way, a driver that cannot send sleeps until vhost signals
	 * frames used (vnet_run()): polling would be the lab's work on the
	 * VM group's CPUs, which TCG takes from every guest CPU.
	 */
	if (!ret && vnet_oneway)
		ret = vq_want_call(v, TXQ);
	return ret;
}

int vnet_open(struct vnet **vp, const char *ifname, int kthread)
{
	struct vnet *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return -ENOMEM;
	v->vhost_fd = -1;
	v->tap_fd = -1;
	v->peer = -1;
	ret = vnet_setup(v, ifname, kthread);
	if (ret) {
		/* The rings stay mapped: the caller exits on this error. */
		if (v->vhost_fd >= 0)
			close(v->vhost_fd);
		if (v->tap_fd >= 0)
			close(v->tap_fd);
		free(v);
		return ret;
	}
	*vp = v;
	return 0;
}

/* The peer: send every frame of ours that leaves the driver back to it. */
static void peer_loop(int s)
{
	struct sockaddr_ll from;
	socklen_t flen;
	unsigned char buf[BUF], mac[ETH_ALEN];
	ssize_t n;

	for (;;) {
		flen = sizeof(from);
		n = recvfrom(s, buf, sizeof(buf), 0, (void *)&from, &flen);
		if (n < ETH_HLEN || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		memcpy(mac, buf, ETH_ALEN);
		memcpy(buf, buf + ETH_ALEN, ETH_ALEN);
		memcpy(buf + ETH_ALEN, mac, ETH_ALEN);
		from.sll_halen = ETH_ALEN;
		memcpy(from.sll_addr, buf, ETH_ALEN);
		sendto(s, buf, n, 0, (void *)&from, sizeof(from));
	}
}

int vnet_start_peer(struct vnet *v)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(VNET_ETH_P),
		.sll_ifindex = v->ifindex,
	};
	int s = socket(AF_PACKET, SOCK_RAW, htons(VNET_ETH_P));
	pid_t parent = getpid();

	if (s < 0 || bind(s, (void *)&sll, sizeof(sll)))
		return -errno;
	v->peer = fork();
	if (v->peer == 0) {
		int fd;

		/*
		 * Hold nothing of the driver's (the tap must go when the
		 * driver does, so its name can be used again) and die with it.
		 */
		for (fd = 3; fd < 1024; fd++)
			if (fd != s)
				close(fd);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The driver may have died before the line above. */
		if (getppid() != parent)
			_exit(0);
		peer_loop(s);
		_exit(0);
	}
	close(s);
	return v->peer < 0 ? -errno : 0;
}

void vnet_stop_peer(struct vnet *v)
{
	if (v->peer > 0) {
		kill(v->peer, SIGKILL);
		waitpid(v->peer, NULL, 0);
		v->peer = -1;
	}
}

volatile int vnet_stop;

#define RTT_MAX (1 << 20)

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* @n round trips to @path, one per line: whole, or not at all. */
static int write_rtts(const char *path, const uint64_t *rtt, uint64_t n)
{
	char tmp[4096];
	uint64_t i;
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	for (i = 0; i < n; i++)
		fprintf(f, "%llu\n", (unsigned long long)rtt[i]);
	ok = !ferror(f);
	if (fclose(f) || !ok || rename(tmp, path)) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

int vnet_run(struct vnet *v, uint64_t count, unsigned int len,
	     unsigned int pps, struct vnet_result *res)
{
	static const unsigned char dst[ETH_ALEN] = { 2, 0, 0, 0, 0, 2 };
	static const unsigned char src[ETH_ALEN] = { 2, 0, 0, 0, 0, 1 };
	uint16_t free_tx[RING], nfree = 0;
	/* Round trips of the first RTT_MAX frames: enough for percentiles. */
	uint64_t nrtt = count < RTT_MAX ? count : RTT_MAX;
	uint64_t *rtt = calloc(nrtt, sizeof(*rtt));
	uint64_t start = now_ns(), last_progress = start, seq = 0;
	/* Longer on a slow kernel, where a loaded guest stalls. */
	const uint64_t idle_ns = 2000000000ULL * vs_slow();
	uint32_t ulen;
	int id, i;

	if (!rtt)
		return -ENOMEM;
	if (len < ETH_HLEN + sizeof(struct payload))
		len = ETH_HLEN + sizeof(struct payload);
	if (len > BUF - HDR)
		len = BUF - HDR;
	memset(res, 0, sizeof(*res));
	for (i = 0; i < RING; i++)
		vq_post(&v->vqs[RXQ], i, BUF, 1);
	vq_kick(&v->vqs[RXQ]);
	for (i = RING - 1; i >= 0; i--)
		free_tx[nfree++] = i;

	while (res->received < count && !vnet_stop) {
		uint64_t now = now_ns(), before = seq + res->received;
		int posted = 0;

		/* Send while the window and the rate allow. */
		while (seq < count && seq - res->received < INFLIGHT && nfree &&
		       (!pps || seq * 1000000000ULL / pps <= now - start)) {
			char *b;
			struct payload p = { VNET_MAGIC, 0, seq, now_ns() };

			id = free_tx[--nfree];
			b = v->vqs[TXQ].bufs + (size_t)id * BUF;
			memset(b, 0, HDR + len);
			memcpy(b + HDR, dst, ETH_ALEN);
			memcpy(b + HDR + ETH_ALEN, src, ETH_ALEN);
			*(uint16_t *)(b + HDR + 2 * ETH_ALEN) = htons(VNET_ETH_P);
			memcpy(b + HDR + ETH_HLEN, &p, sizeof(p));
			vq_post(&v->vqs[TXQ], id, HDR + len, 0);
			seq++;
			posted = 1;
		}
		if (posted)
			vq_kick(&v->vqs[TXQ]);
		while ((id = vq_get(&v->vqs[TXQ], &ulen)) >= 0) {
			free_tx[nfree++] = id;
			if (vnet_oneway) {
				res->received++;
				last_progress = now_ns();
			}
		}
		posted = 0;
		while ((id = vq_get(&v->vqs[RXQ], &ulen)) >= 0) {
			struct payload p;
			char *b = v->vqs[RXQ].bufs + (size_t)id * BUF;

			memcpy(&p, b + HDR + ETH_HLEN, sizeof(p));
			if (!vnet_oneway &&
			    ulen >= HDR + ETH_HLEN + sizeof(p) && p.magic == VNET_MAGIC &&
			    p.seq < count && (p.seq >= nrtt || !rtt[p.seq])) {
				if (p.seq < nrtt)
					rtt[p.seq] = now_ns() - p.sent_ns;
				res->received++;
				last_progress = now_ns();
			}
			vq_post(&v->vqs[RXQ], id, BUF, 1);
			posted = 1;
		}
		if (posted)
			vq_kick(&v->vqs[RXQ]);
		/*
		 * At a set rate, nap while there is nothing to do, as an idle
		 * guest would: until the next frame is due, or briefly while
		 * echoes are outstanding. One way, with no frame able to go
		 * until vhost takes some (all sent, or the window full), until
		 * vhost signals it did (a batch of up to 64 at a time), as a
		 * guest's driver stops its queue until the used-buffer
		 * interrupt.
		 */
		if (pps && seq + res->received == before) {
			uint64_t next = start + seq * 1000000000ULL / pps;
			int blocked = seq == count || !nfree ||
				      seq - res->received >= INFLIGHT;

			now = now_ns();
			if (vnet_oneway && blocked)
				vq_wait_call(&v->vqs[TXQ], 100);
			else if ((seq == res->received || vnet_oneway) && next > now)
				usleep((next - now + 999) / 1000);
			else if (!vnet_oneway)
				usleep(vnet_nap_us);
		}
		/* Frames can be lost (full queues): give up after idle_ns. */
		if (now_ns() - last_progress > idle_ns)
			break;
	}
	res->sent = seq;
	res->elapsed_ns = now_ns() - start;
	for (i = 0, seq = 0; (uint64_t)i < nrtt; i++)
		if (rtt[i])
			rtt[seq++] = rtt[i];
	qsort(rtt, seq, sizeof(*rtt), cmp_u64);
	if (seq) {
		res->rtt_p50_ns = rtt[seq / 2];
		res->rtt_p99_ns = rtt[seq * 99 / 100];
	}
	i = vnet_rtt_file ? write_rtts(vnet_rtt_file, rtt, seq) : 0;
	free(rtt);
	return i;
}

/*
 * A server on the guest side: every frame that arrives is a request; burn
 * @work_us of CPU (the request's work, in this vCPU thread) and send the
 * frame back with the addresses swapped. Nap while nothing arrives, as an
 * idle guest halts. Runs until vnet_stop.
 */
int vnet_serve(struct vnet *v, unsigned int work_us)
{
	uint16_t free_tx[RING], nfree = 0;
	uint32_t ulen;
	int id, i;

	/* The server sleeps until vhost signals a request: the guest's IRQ. */
	i = vq_want_call(v, RXQ);
	if (i)
		return i;
	for (i = 0; i < RING; i++)
		vq_post(&v->vqs[RXQ], i, BUF, 1);
	vq_kick(&v->vqs[RXQ]);
	for (i = RING - 1; i >= 0; i--)
		free_tx[nfree++] = i;

	while (!vnet_stop) {
		int got = 0;

		while ((id = vq_get(&v->vqs[TXQ], &ulen)) >= 0)
			free_tx[nfree++] = id;
		while (nfree && (id = vq_get(&v->vqs[RXQ], &ulen)) >= 0) {
			char *in = v->vqs[RXQ].bufs + (size_t)id * BUF, *out;
			struct vnet_req req;
			unsigned char mac[ETH_ALEN];
			uint16_t tid;

			got = 1;
			/* Requests only: not what the host's stack sends. */
			if (ulen > HDR + ETH_HLEN && ulen <= BUF &&
			    *(uint16_t *)(in + HDR + 2 * ETH_ALEN) == htons(VNET_ETH_P)) {
				if (ulen >= HDR + ETH_HLEN + sizeof(req))
					memcpy(&req, in + HDR + ETH_HLEN, sizeof(req));
				else
					req.magic = 0;
				vnet_work(req.magic == VNET_MAGIC && req.work_us ?
					  req.work_us : work_us);
				tid = free_tx[--nfree];
				out = v->vqs[TXQ].bufs + (size_t)tid * BUF;
				memcpy(out, in, ulen);
				memset(out, 0, HDR);
				memcpy(mac, out + HDR, ETH_ALEN);
				memcpy(out + HDR, out + HDR + ETH_ALEN, ETH_ALEN);
				memcpy(out + HDR + ETH_ALEN, mac, ETH_ALEN);
				vq_post(&v->vqs[TXQ], tid, ulen, 0);
				/*
				 * Each reply leaves as soon as it is ready: a
				 * batched kick would hold it until the queue
				 * drained, and latency would measure that.
				 */
				vq_kick(&v->vqs[TXQ]);
			}
			vq_post(&v->vqs[RXQ], id, BUF, 1);
		}
		if (got) {
			vq_kick(&v->vqs[RXQ]);
			continue;
		}
		/* Idle: sleep until vhost signals a request, as a guest halts. */
		i = vq_wait_call(&v->vqs[RXQ], 100);
		if (i)
			return i;
	}
	return 0;
}
