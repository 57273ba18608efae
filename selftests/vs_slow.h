/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Included first in every selftest program (-include, see the Makefile):
 * on the debug lab kernel (KASAN, lockdep, kmemleak under TCG) everything
 * runs several times slower, and the lab says how much in LAB_SLOW. The
 * kselftest harness arms alarm() with each test's timeout; scale it, so a
 * slow kernel is not mistaken for a hung test.
 */
#ifndef _VS_SLOW_H
#define _VS_SLOW_H

#include <stdlib.h>
#include <unistd.h>

static inline unsigned int vs_slow_alarm(unsigned int seconds)
{
	const char *slow = getenv("LAB_SLOW");
	int k = slow ? atoi(slow) : 1;

	return alarm(seconds && k > 1 && k <= 10 ? seconds * k : seconds);
}
#define alarm(seconds) vs_slow_alarm(seconds)

#endif /* _VS_SLOW_H */
