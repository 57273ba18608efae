/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference vspace cares about lives here, so the
 * rest of the module reads as code for one kernel. Force-included by
 * module/Kbuild.
 */
#ifndef _VSPACE_COMPAT_H
#define _VSPACE_COMPAT_H

#include <linux/version.h>

/* Tested on Debian's 6.1 and 6.12; the APIs used exist from 5.15 on. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 15, 0)
#error "vspace needs Linux 5.15 or newer"
#endif

#endif /* _VSPACE_COMPAT_H */
