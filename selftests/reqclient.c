// SPDX-License-Identifier: GPL-2.0
/*
 * reqclient: the clients of latency-critical servers (vhost_vm -S), on the
 * host side of their taps. For each tap named, send requests for a while
 * at RATE per second, take each reply's latency, and print:
 *
 *	reqclient -r RATE -d SECONDS [-w MS] [-p] [-s SEED] [-W US] [-i MS] TAP...
 *	-> sent replied p50_ns p99_ns                 (all taps together)
 *	   tap I sent replied p50_ns p99_ns p999_ns max_lag_ns   (per tap)
 *
 * -p   open loop as the field measures it: Poisson arrivals (exponential
 *      gaps of mean 1/RATE, from SEED), and latency taken from each
 *      request's intended send time, so a client that falls behind does
 *      not hide the delay (coordinated omission). Without -p, arrivals are
 *      evenly paced and latency is taken from the actual send.
 * -s   the seed (default 1): the same seed gives every run the same
 *      arrivals and work, so policies are compared on the same load.
 * -W   each request asks the server for a service time drawn uniformly
 *      between half and one and a half times US microseconds: varied, and
 *      bounded, so that a tail beyond 1.5 x US is queueing, not the
 *      draw; without -W the server's own -S value applies.
 * -i   every MS milliseconds, print to stderr each tap's p99 over the
 *      last second: the replies that came in it, and every request still
 *      unanswered at its age so far (lost ones are the worst latency):
 *      "lat I p99_ns count", an application's own latency for vspace's
 *      latency_us. Lines that a slow reader leaves no room for are
 *      dropped, never waited for.
 * Percentiles are nearest-rank over every request due in the run; one
 * without a reply within the grace period (-w, default 500 ms) after it
 * counts as infinitely late, so a percentile is "inf" when it falls among
 * the lost. max_lag_ns is the longest a request left after it was due:
 * large, and the client, not the server, was the bottleneck.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>

#include "vnet.h"

#define MAX_TAPS	16

#define RING_MAX	4096
#define RECENT_NS	1000000000ULL

struct tap {
	int sock, ifidx;
	uint64_t n, next_seq, sent, replied, rng, max_lag;
	uint64_t *due, *lat;
	uint32_t *work;
	uint64_t first_open;		/* no unanswered request before it */
	uint64_t ring_t[RING_MAX], ring_lat[RING_MAX];	/* recent replies */
	unsigned int ring_n;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* xorshift64*: small, and the same sequence on every machine. */
static double uniform(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return ((*s * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

static double exponential(uint64_t *s, double mean)
{
	return -mean * log(1.0 - uniform(s));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The @per_mille'th latency (nearest rank) of @n sorted ones. */
static void pct(const uint64_t *sorted, uint64_t n, unsigned int per_mille)
{
	uint64_t rank = (n * per_mille + 999) / 1000;
	uint64_t v = n ? sorted[rank ? rank - 1 : 0] : UINT64_MAX;

	if (v == UINT64_MAX)
		printf(" inf");
	else
		printf(" %llu", (unsigned long long)v);
}

static void report(const char *head, uint64_t *lat, uint64_t n, uint64_t sent,
		   uint64_t replied, const uint64_t *max_lag)
{
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("%s%llu %llu", head, (unsigned long long)sent,
	       (unsigned long long)replied);
	pct(lat, n, 500);
	pct(lat, n, 990);
	if (max_lag) {
		pct(lat, n, 999);
		printf(" %llu", (unsigned long long)*max_lag);
	}
	printf("\n");
}

/*
 * Print tap @i's p99 over the last second: replies that came in it, and
 * requests still unanswered at their age so far.
 */
static void recent_p99(struct tap *t, int i, uint64_t start, uint64_t now,
		       uint64_t *buf)
{
	unsigned int k, nring = t->ring_n < RING_MAX ? t->ring_n : RING_MAX;
	uint64_t n = 0, seq;
	char line[64];
	int len;

	for (k = 0; k < nring; k++)
		if (now - t->ring_t[k] <= RECENT_NS)
			buf[n++] = t->ring_lat[k];
	while (t->first_open < t->next_seq && t->lat[t->first_open])
		t->first_open++;
	for (seq = t->first_open; seq < t->next_seq; seq++)
		if (!t->lat[seq])
			buf[n++] = now - (start + t->due[seq]);
	if (!n)
		return;
	qsort(buf, n, sizeof(*buf), cmp_u64);
	len = snprintf(line, sizeof(line), "lat %d %llu %llu\n", i,
		       (unsigned long long)buf[(n * 99 + 99) / 100 - 1],
		       (unsigned long long)n);
	/* A pipe takes a short line whole or not at all: a full one drops it. */
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}

int main(int argc, char **argv)
{
	double rate = 100, secs = 2, work_us = 0;
	uint64_t grace = 500000000ULL, seed = 1, start, end, total = 0;
	uint64_t sent = 0, replied = 0, *all;
	struct pollfd pfd[MAX_TAPS];
	struct tap taps[MAX_TAPS];
	int ntaps, poisson = 0, one = 1, c, i;
	uint64_t window = 0, next_window, *scratch = NULL, maxn = 0;

	while ((c = getopt(argc, argv, "r:d:w:ps:W:i:")) != -1) {
		switch (c) {
		case 'r': rate = atof(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'w': grace = atoll(optarg) * 1000000ULL; break;
		case 'p': poisson = 1; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'W': work_us = atof(optarg); break;
		case 'i': window = atoll(optarg) * 1000000ULL; break;
		default:
			fprintf(stderr, "usage: reqclient -r RATE -d SECONDS [-w MS] [-p] [-s SEED] [-W US] [-i MS] TAP...\n");
			return 2;
		}
	}
	ntaps = argc - optind;
	if (ntaps < 1 || ntaps > MAX_TAPS || rate <= 0 || secs <= 0 ||
	    work_us < 0 || work_us > 1000000) {
		fprintf(stderr, "reqclient: 1..%d taps, a positive rate and time, -W up to 1 s\n",
			MAX_TAPS);
		return 2;
	}

	/* Every request's intended send time and work, decided up front. */
	for (i = 0; i < ntaps; i++) {
		struct tap *t = &taps[i];
		uint64_t cap = (uint64_t)(rate * secs * 2) + 64, due = 0;

		memset(t, 0, sizeof(*t));
		/* A different stream per tap; never a zero state. */
		t->rng = (seed + 1) * 0x9e3779b97f4a7c15ULL + i * 0xbf58476d1ce4e5b9ULL;
		if (!t->rng)
			t->rng = 1;
		t->due = calloc(cap, sizeof(*t->due));
		t->lat = calloc(cap, sizeof(*t->lat));
		t->work = calloc(cap, sizeof(*t->work));
		if (!t->due || !t->lat || !t->work)
			return 1;
		for (;;) {
			/* A Poisson process has no arrival pinned at 0. */
			if (poisson)
				due += (uint64_t)exponential(&t->rng, 1e9 / rate);
			else if (t->n)
				due += (uint64_t)(1e9 / rate);
			if (due >= secs * 1e9)
				break;
			if (t->n == cap) {
				fprintf(stderr, "reqclient: too many arrivals\n");
				return 1;
			}
			t->due[t->n] = due;
			if (work_us)
				t->work[t->n] = work_us * (0.5 + uniform(&t->rng)) + 0.5;
			t->n++;
		}
		total += t->n;
	}

	for (i = 0; i < ntaps; i++) {
		struct sockaddr_ll sll = {
			.sll_family = AF_PACKET,
			.sll_protocol = htons(VNET_ETH_P),
		};
		struct tap *t = &taps[i];

		t->ifidx = if_nametoindex(argv[optind + i]);
		t->sock = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(VNET_ETH_P));
		sll.sll_ifindex = t->ifidx;
		if (!t->ifidx || t->sock < 0 ||
		    bind(t->sock, (void *)&sll, sizeof(sll)) ||
		    /* Its own requests would only fill the receive buffer. */
		    setsockopt(t->sock, SOL_PACKET, PACKET_IGNORE_OUTGOING,
			       &one, sizeof(one))) {
			fprintf(stderr, "reqclient: %s: %s\n", argv[optind + i],
				strerror(errno));
			return 1;
		}
		pfd[i] = (struct pollfd){ .fd = t->sock, .events = POLLIN };
	}

	for (i = 0; i < ntaps; i++)
		maxn = taps[i].n > maxn ? taps[i].n : maxn;
	scratch = calloc(RING_MAX + maxn + 1, sizeof(*scratch));
	if (!scratch)
		return 1;
	/*
	 * The reader of -i's lines may be slow; the client must never wait
	 * for it. (Only with -i: stderr may be shared with the caller.)
	 */
	if (window)
		fcntl(STDERR_FILENO, F_SETFL, fcntl(STDERR_FILENO, F_GETFL) | O_NONBLOCK);
	start = now_ns();
	end = start + (uint64_t)(secs * 1e9);
	next_window = start + window;
	for (;;) {
		uint64_t now = now_ns(), wake = end;
		struct timespec ts;
		int more = 0;

		/* Send what is due, on every tap. */
		for (i = 0; i < ntaps; i++) {
			struct tap *t = &taps[i];

			while (t->next_seq < t->n && start + t->due[t->next_seq] <= now) {
				unsigned char f[64] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
				uint64_t s = t->next_seq++, sent_ns = now_ns();
				struct vnet_req r = {
					.magic = VNET_MAGIC, .tap = i, .seq = s,
					.due_ns = sent_ns, .work_us = t->work[s],
				};
				struct sockaddr_ll to = {
					.sll_family = AF_PACKET,
					.sll_ifindex = t->ifidx,
					.sll_halen = ETH_ALEN,
					.sll_addr = { 2, 0, 0, 0, 0, 1 },
				};

				*(uint16_t *)(f + 12) = htons(VNET_ETH_P);
				memcpy(f + ETH_HLEN, &r, sizeof(r));
				if (sent_ns - (start + t->due[s]) > t->max_lag)
					t->max_lag = sent_ns - (start + t->due[s]);
				if (sendto(t->sock, f, sizeof(f), 0, (void *)&to,
					   sizeof(to)) == sizeof(f)) {
					t->sent++;
					sent++;
				}
			}
			if (t->next_seq < t->n) {
				more = 1;
				if (start + t->due[t->next_seq] < wake)
					wake = start + t->due[t->next_seq];
			}
		}
		if (now >= end + grace || (!more && replied == sent))
			break;
		if (window && now >= next_window) {
			for (i = 0; i < ntaps; i++)
				recent_p99(&taps[i], i, start, now, scratch);
			next_window = now + window;
		}
		if (window && next_window < wake)
			wake = next_window;
		/*
		 * Take replies; sleep until the next send is due or one comes,
		 * to the nanosecond: a client that polls in a loop would be
		 * instruction-bound work (the lab's validity figure).
		 */
		if (!more)
			wake = now + 10000000;
		ts.tv_sec = wake > now ? (wake - now) / 1000000000 : 0;
		ts.tv_nsec = wake > now ? (wake - now) % 1000000000 : 0;
		if (ppoll(pfd, ntaps, &ts, NULL) <= 0)
			continue;
		for (i = 0; i < ntaps; i++) {
			unsigned char f[2048];
			struct sockaddr_ll from;
			socklen_t flen = sizeof(from);
			struct vnet_req r;
			ssize_t n;

			while ((n = recvfrom(taps[i].sock, f, sizeof(f), 0,
					     (void *)&from, &flen)) > 0) {
				struct tap *t = &taps[i];

				flen = sizeof(from);
				if (from.sll_pkttype == PACKET_OUTGOING ||
				    n < (ssize_t)(ETH_HLEN + sizeof(r)))
					continue;
				memcpy(&r, f + ETH_HLEN, sizeof(r));
				if (r.magic != VNET_MAGIC || r.tap != (uint32_t)i ||
				    r.seq >= t->next_seq || t->lat[r.seq])
					continue;
				/* Open loop: the delay before sending counts. */
				t->lat[r.seq] = now_ns() -
					(poisson ? start + t->due[r.seq] : r.due_ns);
				if (!t->lat[r.seq])
					t->lat[r.seq] = 1;
				t->ring_t[t->ring_n % RING_MAX] = now_ns();
				t->ring_lat[t->ring_n % RING_MAX] = t->lat[r.seq];
				t->ring_n++;
				t->replied++;
				replied++;
			}
		}
	}

	/* Lost requests sort last, as infinitely late. */
	all = calloc(total + 1, sizeof(*all));
	if (!all)
		return 1;
	for (c = 0, i = 0; i < ntaps; i++) {
		uint64_t k;

		for (k = 0; k < taps[i].n; k++) {
			if (!taps[i].lat[k])
				taps[i].lat[k] = UINT64_MAX;
			all[c++] = taps[i].lat[k];
		}
	}
	report("", all, total, sent, replied, NULL);
	for (i = 0; i < ntaps; i++) {
		char head[32];

		snprintf(head, sizeof(head), "tap %d ", i);
		report(head, taps[i].lat, taps[i].n, taps[i].sent, taps[i].replied,
		       &taps[i].max_lag);
	}
	return 0;
}
