// SPDX-License-Identifier: GPL-2.0
/*
 * vspace: dynamic core groups for KVM vCPU and vhost-net threads.
 *
 * This file only brings the parts up and down, in matched pairs.
 */
#include <linux/module.h>

#include "vspace.h"

static int __init vspace_init(void)
{
	int ret;

	ret = vspace_core_init();
	if (ret)
		return ret;

	ret = vspace_placement_init();
	if (ret)
		goto out_core;
	/* Its uninit frees what readers of the decisions file left. */
	vspace_alloc_init();

	ret = vspace_stats_init();
	if (ret)
		goto out_placement;

	ret = vspace_collect_init();
	if (ret)
		goto out_stats;

	ret = vspace_worker_init();
	if (ret)
		goto out_collect;

	/* The interface last: nothing can ask for anything before this. */
	ret = vspace_sysfs_init();
	if (ret)
		goto out_worker;

	pr_info("version %s loaded\n", VSPACE_VERSION);
	return 0;

out_worker:
	vspace_worker_uninit();
	vspace_vms_uninit();
out_collect:
	vspace_collect_uninit();
out_stats:
	vspace_stats_uninit();
out_placement:
	vspace_alloc_uninit();
	vspace_placement_uninit();
out_core:
	vspace_core_uninit();
	return ret;
}

/*
 * The reverse of init: the interface first, so no store runs or starts;
 * then the work, so nothing binds behind our back; then every thread gets
 * its affinity back and the VMs go (their directories with them); the
 * probes go after the VMs stopped counting, and wait for each other.
 */
static void __exit vspace_exit(void)
{
	vspace_sysfs_uninit();
	vspace_worker_uninit();
	vspace_vms_uninit();
	vspace_collect_uninit();
	vspace_stats_uninit();
	vspace_alloc_uninit();
	vspace_placement_uninit();
	vspace_core_uninit();
	pr_info("unloaded\n");
}

module_init(vspace_init);
module_exit(vspace_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Dynamic core groups for KVM vCPU and vhost-net threads");
MODULE_VERSION(VSPACE_VERSION);
