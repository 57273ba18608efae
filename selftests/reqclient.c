// SPDX-License-Identifier: GPL-2.0
/*
 * reqclient: the clients of latency-critical servers (vhost_vm -S), on the
 * host side of their taps. For each tap named, send requests at a fixed
 * rate for a while, take each reply's round trip, and print one line:
 *
 *	reqclient -r RATE -d SECONDS [-w MS] TAP...
 *	-> sent replied p50_ns p99_ns    (all taps together)
 *
 * RATE is requests per second per tap, paced evenly. A request without a
 * reply within the grace period (-w, default 500 ms) after the run counts
 * as infinitely late: p99 is "inf" when more than 1% are lost.
 */
#include <arpa/inet.h>
#include <errno.h>
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

#define ETH_P_VNET	0x88b5
#define MAGIC		0x76737063u
#define MAX_TAPS	16

struct payload {
	uint32_t magic;
	uint32_t tap;
	uint64_t seq;
	uint64_t sent_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int socks[MAX_TAPS], ifidx[MAX_TAPS], ntaps, c, i;
	double rate = 100, secs = 2;
	uint64_t grace = 500000000ULL, start, end, total, sent = 0, replied = 0;
	uint64_t *rtt, *seqs;
	struct pollfd pfd[MAX_TAPS];

	while ((c = getopt(argc, argv, "r:d:w:")) != -1) {
		switch (c) {
		case 'r': rate = atof(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'w': grace = atoll(optarg) * 1000000ULL; break;
		default:
			fprintf(stderr, "usage: reqclient -r RATE -d SECONDS [-w MS] TAP...\n");
			return 2;
		}
	}
	ntaps = argc - optind;
	if (ntaps < 1 || ntaps > MAX_TAPS || rate <= 0 || secs <= 0) {
		fprintf(stderr, "reqclient: 1..%d taps, a positive rate and time\n",
			MAX_TAPS);
		return 2;
	}
	total = (uint64_t)(rate * secs);
	rtt = calloc(total * ntaps + 1, sizeof(*rtt));
	seqs = calloc(ntaps, sizeof(*seqs));
	if (!rtt || !seqs)
		return 1;
	for (i = 0; i < ntaps; i++) {
		struct sockaddr_ll sll = {
			.sll_family = AF_PACKET,
			.sll_protocol = htons(ETH_P_VNET),
		};

		ifidx[i] = if_nametoindex(argv[optind + i]);
		socks[i] = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_VNET));
		sll.sll_ifindex = ifidx[i];
		if (!ifidx[i] || socks[i] < 0 ||
		    bind(socks[i], (void *)&sll, sizeof(sll))) {
			fprintf(stderr, "reqclient: %s: %s\n", argv[optind + i],
				strerror(errno));
			return 1;
		}
		pfd[i] = (struct pollfd){ .fd = socks[i], .events = POLLIN };
	}

	start = now_ns();
	end = start + (uint64_t)(secs * 1e9);
	for (;;) {
		uint64_t now = now_ns();
		int more = 0;

		/* Send what is due, on every tap. */
		for (i = 0; i < ntaps && now < end; i++) {
			while (seqs[i] < total &&
			       start + (uint64_t)(seqs[i] * 1e9 / rate) <= now) {
				unsigned char f[64] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
				struct payload p = { MAGIC, i, seqs[i], now_ns() };
				struct sockaddr_ll to = {
					.sll_family = AF_PACKET,
					.sll_ifindex = ifidx[i],
					.sll_halen = ETH_ALEN,
					.sll_addr = { 2, 0, 0, 0, 0, 1 },
				};

				*(uint16_t *)(f + 12) = htons(ETH_P_VNET);
				memcpy(f + ETH_HLEN, &p, sizeof(p));
				if (sendto(socks[i], f, sizeof(f), 0, (void *)&to,
					   sizeof(to)) == sizeof(f))
					sent++;
				seqs[i]++;
			}
			more |= seqs[i] < total;
		}
		if (now >= end + grace || (!more && replied == sent))
			break;
		/* Take replies; sleep until the next send is due or one comes. */
		if (poll(pfd, ntaps, 1) > 0) {
			for (i = 0; i < ntaps; i++) {
				unsigned char f[2048];
				struct sockaddr_ll from;
				socklen_t flen = sizeof(from);
				struct payload p;
				ssize_t n;

				while ((n = recvfrom(socks[i], f, sizeof(f), 0,
						     (void *)&from, &flen)) > 0) {
					flen = sizeof(from);
					if (from.sll_pkttype == PACKET_OUTGOING ||
					    n < (ssize_t)(ETH_HLEN + sizeof(p)))
						continue;
					memcpy(&p, f + ETH_HLEN, sizeof(p));
					if (p.magic != MAGIC || p.tap != (uint32_t)i ||
					    p.seq >= total)
						continue;
					if (!rtt[p.tap * total + p.seq]) {
						rtt[p.tap * total + p.seq] = now_ns() - p.sent_ns;
						replied++;
					}
				}
			}
		}
	}
	/* Lost requests sort last, as infinitely late. */
	for (i = 0; (uint64_t)i < total * ntaps; i++)
		if (!rtt[i])
			rtt[i] = UINT64_MAX;
	qsort(rtt, total * ntaps, sizeof(*rtt), cmp_u64);
	printf("%llu %llu %llu ", (unsigned long long)sent,
	       (unsigned long long)replied,
	       (unsigned long long)rtt[total * ntaps / 2]);
	if (rtt[total * ntaps * 99 / 100] == UINT64_MAX)
		printf("inf\n");
	else
		printf("%llu\n", (unsigned long long)rtt[total * ntaps * 99 / 100]);
	return 0;
}
