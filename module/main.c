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

	ret = vspace_stats_init();
	if (ret)
		goto out_placement;

	ret = vspace_collect_init();
	if (ret)
		goto out_stats;

	ret = vspace_sysfs_init();
	if (ret)
		goto out_collect;

	ret = vspace_worker_init();
	if (ret)
		goto out_sysfs;

	pr_info("version %s loaded\n", VSPACE_VERSION);
	return 0;

out_sysfs:
	vspace_sysfs_uninit();
out_collect:
	vspace_collect_uninit();
out_stats:
	vspace_stats_uninit();
out_placement:
	vspace_placement_uninit();
out_core:
	vspace_core_uninit();
	return ret;
}

/*
 * Stop the work first so nothing binds behind our back, then give every
 * thread its affinity back and remove the VMs, then the files; the probes
 * go after the VMs stopped counting, and wait for each other.
 */
static void __exit vspace_exit(void)
{
	vspace_worker_uninit();
	vspace_vms_uninit();
	vspace_sysfs_uninit();
	vspace_collect_uninit();
	vspace_stats_uninit();
	vspace_placement_uninit();
	vspace_core_uninit();
	pr_info("unloaded\n");
}

module_init(vspace_init);
module_exit(vspace_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Dynamic core groups for KVM vCPU and vhost-net threads");
MODULE_VERSION(VSPACE_VERSION);
