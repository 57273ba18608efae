// SPDX-License-Identifier: GPL-2.0
/*
 * reqserver: the server inside a real KVM guest for "make eval --kvm"
 * (selftests/eval), the counterpart of vhost_vm -S: it answers
 * reqclient's requests that arrive on a network interface, each after
 * the work it asks for, done as instructions: a loop calibrated at start
 * to the microsecond. Not the thread's CPU clock: a guest kernel without
 * steal-time accounting charges it the time its vCPU was descheduled by
 * the host, and a request the host preempted would still end on time.
 *
 *	reqserver [-b PCT] [-c N] IFNAME
 *	-b PCT  N background threads spin PCT% of every 10 ms (default 0)
 *	-c N    how many background threads (default 1, with -b)
 *
 * Built static: the guest is a busybox initramfs (selftests/guests.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>

#include "vnet.h"

static int duty;
static double loops_per_us;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void spin(uint64_t loops)
{
	volatile uint64_t x = 0;

	while (loops--)
		x++;
}

/* The fastest of several tries: a try the host preempted runs slow. */
static void calibrate(void)
{
	int i;

	for (i = 0; i < 20; i++) {
		uint64_t t0 = now_ns(), dt;
		double rate;

		spin(1000000);
		dt = now_ns() - t0;
		rate = dt ? 1000000 * 1000.0 / dt : 0;
		if (rate > loops_per_us)
			loops_per_us = rate;
	}
}

static void work(uint64_t us)
{
	spin((uint64_t)(us * loops_per_us));
}

static void *background(void *arg)
{
	for (;;) {
		work(duty * 100);
		usleep((100 - duty) * 100);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(VNET_ETH_P),
	};
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	int c, i, nbg = 1, s;
	unsigned long send_errors = 0;

	while ((c = getopt(argc, argv, "b:c:")) != -1) {
		switch (c) {
		case 'b': duty = atoi(optarg); break;
		case 'c': nbg = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: reqserver [-b PCT] [-c N] IFNAME\n");
			return 2;
		}
	}
	if (optind != argc - 1 || duty < 0 || duty > 100 || nbg < 0) {
		fprintf(stderr, "usage: reqserver [-b PCT] [-c N] IFNAME\n");
		return 2;
	}
	sll.sll_ifindex = if_nametoindex(argv[optind]);
	mr.mr_ifindex = sll.sll_ifindex;
	s = socket(AF_PACKET, SOCK_RAW, htons(VNET_ETH_P));
	/* reqclient addresses a MAC of its own choosing: listen to all. */
	if (!sll.sll_ifindex || s < 0 || bind(s, (void *)&sll, sizeof(sll)) ||
	    setsockopt(s, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
		fprintf(stderr, "reqserver: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	calibrate();	/* before the background threads compete with it */
	for (i = 0; duty && i < nbg; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, background, NULL))
			return 1;
	}
	printf("reqserver up on %s (%.0f loops/us)\n", argv[optind], loops_per_us);
	fflush(stdout);
	for (;;) {
		unsigned char f[2048], mac[ETH_ALEN];
		struct sockaddr_ll from;
		socklen_t flen = sizeof(from);
		struct vnet_req r;
		ssize_t n;

		n = recvfrom(s, f, sizeof(f), 0, (void *)&from, &flen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		if (from.sll_pkttype == PACKET_OUTGOING ||
		    n < (ssize_t)(ETH_HLEN + sizeof(r)))
			continue;
		memcpy(&r, f + ETH_HLEN, sizeof(r));
		if (r.magic != VNET_MAGIC)
			continue;
		work(r.work_us);
		memcpy(mac, f, ETH_ALEN);
		memcpy(f, f + ETH_ALEN, ETH_ALEN);
		memcpy(f + ETH_ALEN, mac, ETH_ALEN);
		/* The client counts the reply lost: that is the report. */
		if (send(s, f, n, 0) != n && !send_errors++)
			fprintf(stderr, "reqserver: send: %s\n", strerror(errno));
	}
}
