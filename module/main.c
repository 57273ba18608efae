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

	ret = vspace_sysfs_init();
	if (ret)
		goto out_core;

	pr_info("version %s loaded\n", VSPACE_VERSION);
	return 0;

out_core:
	vspace_core_uninit();
	return ret;
}

static void __exit vspace_exit(void)
{
	vspace_sysfs_uninit();
	vspace_core_uninit();
	pr_info("unloaded\n");
}

module_init(vspace_init);
module_exit(vspace_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Dynamic core groups for KVM vCPU and vhost-net threads");
MODULE_VERSION(VSPACE_VERSION);
