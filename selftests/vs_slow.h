/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Included first in every selftest program (-include, see the Makefile):
 * on the debug lab kernel (KASAN, lockdep, kmemleak under TCG) everything
 * runs several times slower, and the lab says how much in LAB_SLOW. The
 * kselftest harness arms alarm() with each test's timeout; scale it, so a
 * slow kernel is not mistaken for a hung test. Tests scale the longest
 * they wait for something with vs_slow() too; never what they measure.
 */
#ifndef _VS_SLOW_H
#define _VS_SLOW_H

#include <stdlib.h>
#include <unistd.h>

/* How many times slower than a stock kernel: 1 to 10. */
static inline int vs_slow(void)
{
	const char *slow = getenv("LAB_SLOW");
	int k = slow ? atoi(slow) : 1;

	return k > 1 && k <= 10 ? k : 1;
}

static inline unsigned int vs_slow_alarm(unsigned int seconds)
{
	return alarm(seconds * vs_slow());
}
#define alarm(seconds) vs_slow_alarm(seconds)

#endif /* _VS_SLOW_H */
