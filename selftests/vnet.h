/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vnet: a minimal userspace virtio-net driver on a real vhost-net worker,
 * with a tap device as its backend, plus an echo peer on the tap side.
 * Frames the driver sends cross vhost's TX path into the tap; the peer
 * sends each back, and they cross vhost's RX path into the driver.
 */
#ifndef _VNET_H
#define _VNET_H

#include <stdint.h>

struct vnet_result {
	uint64_t sent, received;
	uint64_t rtt_p50_ns, rtt_p99_ns;
	uint64_t elapsed_ns;
};

/* One device: a tap, a vhost-net device (one worker) and its two rings. */
struct vnet;

/*
 * Open a tap named @ifname (up) and a vhost-net device with @kthread
 * workers if asked, wire them together into *@vp. Returns 0 or -errno;
 * 4-style "unsupported" is -EOPNOTSUPP. Several devices make a multiqueue
 * NIC as QEMU's vhost backend sees it: one vhost-net device and one
 * worker per queue pair (here each on a tap of its own, so every worker's
 * packets can be read from its tap's counters).
 */
int vnet_open(struct vnet **vp, const char *ifname, int kthread);

/* Start the echo peer (a child process) on the tap. */
int vnet_start_peer(struct vnet *v);

/*
 * Send @count frames of @len bytes, at most @pps per second (0: as fast as
 * possible) with up to 64 in flight, and wait for their echoes.
 */
int vnet_run(struct vnet *v, uint64_t count, unsigned int len,
	     unsigned int pps, struct vnet_result *res);

void vnet_stop_peer(struct vnet *v);

#define VNET_ETH_P	0x88b5		/* IEEE local experimental */
#define VNET_MAGIC	0x76737063u	/* "vspc" */

/* A request from reqclient to a server, after the Ethernet header. */
struct vnet_req {
	uint32_t magic;
	uint32_t tap;
	uint64_t seq;
	uint64_t due_ns;	/* when it was meant to leave (open loop) */
	uint32_t work_us;	/* its service time; 0: the server's own */
	uint32_t pad;
};

/*
 * Serve requests from the tap side (reqclient): each frame costs its
 * work_us (or @work_us) of CPU and is sent back. Until vnet_stop.
 */
int vnet_serve(struct vnet *v, unsigned int work_us);

/*
 * How requests' work is done: 0 (default) spins until @us have passed on
 * the clock; 1 takes @us of the thread's own CPU time, by burning through
 * /dev/vs_burn (selftests/burn: the parallel lab) when that module is
 * loaded, else by spinning on the thread's CPU clock. A preempted request
 * then takes longer, as on a real machine.
 */
extern int vnet_cpu_work;
void vnet_work(unsigned int us);

/*
 * How long vnet_run() naps, in microseconds, while echoes are out at a set
 * rate (default 20: round trips measured to a few tens of microseconds).
 * A longer nap costs a slow kernel far fewer wakeups.
 */
extern unsigned int vnet_nap_us;

/*
 * 1: vnet_run() sends one way, as a VM flooding out to the world: no echo
 * peer is needed, a frame counts as received once vhost has taken it (the
 * host's stack drops it), and there are no round trips.
 */
extern int vnet_oneway;

/*
 * Set: vnet_run() also writes every round trip it measured to this file,
 * in nanoseconds, sorted, one per line (written whole, then renamed), so
 * that a caller can take percentiles over several runs.
 */
extern const char *vnet_rtt_file;

/* Set (from a signal handler) to end vnet_run() early. */
extern volatile int vnet_stop;

#endif /* _VNET_H */
