// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/vspace: a thin text interface over core.c. Each store parses
 * its input strictly and hands a value to a core setter; anything that does
 * not parse is -EINVAL with a line in dmesg saying what was wrong.
 */
#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "vspace.h"

static struct kobject *vspace_kobj;

/* Say which file refused what, without echoing a huge or multi-line write. */
static int vspace_reject(const struct kobj_attribute *attr, const char *buf,
			 const char *why)
{
	pr_notice_ratelimited("%s: rejected \"%.*s\": %s\n", attr->attr.name,
			      (int)min_t(size_t, strcspn(buf, "\n"), 32), buf,
			      why);
	return -EINVAL;
}

static ssize_t version_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", VSPACE_VERSION);
}

static ssize_t enabled_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(vspace_config.enabled));
}

static ssize_t enabled_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	unsigned int val;
	int ret;

	if (kstrtouint(buf, 10, &val) || val > 1)
		return vspace_reject(attr, buf, "expected 0 or 1");
	ret = vspace_set_enabled(val);
	return ret ?: count;
}

static ssize_t mode_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	unsigned int cur = READ_ONCE(vspace_config.mode);
	int len = 0;
	int i;

	for (i = 0; i < NR_VSPACE_MODES; i++)
		len += sysfs_emit_at(buf, len, i == cur ? "%s[%s]" : "%s%s",
				     i ? " " : "", vspace_mode_names[i]);
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}

static ssize_t mode_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t count)
{
	int mode = sysfs_match_string(vspace_mode_names, buf);
	int ret;

	if (mode < 0)
		return vspace_reject(attr, buf,
				     "expected performance, energy or resource");
	ret = vspace_set_mode(mode);
	return ret ?: count;
}

static ssize_t interval_ms_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(vspace_config.interval_ms));
}

static ssize_t interval_ms_store(struct kobject *kobj,
				 struct kobj_attribute *attr, const char *buf,
				 size_t count)
{
	unsigned int val;
	int ret;

	if (kstrtouint(buf, 10, &val))
		return vspace_reject(attr, buf, "expected a number of ms");
	ret = vspace_set_interval_ms(val);
	return ret ?: count;
}

static ssize_t cpus_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	ssize_t len;

	mutex_lock(&vspace_lock);
	len = sysfs_emit(buf, "%*pbl\n", cpumask_pr_args(vspace_config.cpus));
	mutex_unlock(&vspace_lock);
	return len;
}

static ssize_t cpus_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t count)
{
	cpumask_var_t mask;
	char *str;
	int ret;

	str = kstrndup(buf, count, GFP_KERNEL);
	if (!str)
		return -ENOMEM;
	if (!alloc_cpumask_var(&mask, GFP_KERNEL)) {
		kfree(str);
		return -ENOMEM;
	}

	/*
	 * strim() so "2-3\n" from echo parses; an empty list is refused here
	 * because cpulist_parse() takes it as an empty mask.
	 */
	if (!*strim(str) || cpulist_parse(strim(str), mask))
		ret = vspace_reject(attr, buf, "expected a cpulist, e.g. 2-7,10");
	else
		ret = vspace_set_cpus(mask);

	free_cpumask_var(mask);
	kfree(str);
	return ret ?: count;
}

static struct kobj_attribute version_attr = __ATTR_RO(version);
static struct kobj_attribute enabled_attr = __ATTR_RW(enabled);
static struct kobj_attribute mode_attr = __ATTR_RW(mode);
static struct kobj_attribute interval_ms_attr = __ATTR_RW(interval_ms);
static struct kobj_attribute cpus_attr = __ATTR_RW(cpus);

static struct attribute *vspace_attrs[] = {
	&version_attr.attr,
	&enabled_attr.attr,
	&mode_attr.attr,
	&interval_ms_attr.attr,
	&cpus_attr.attr,
	NULL
};

static const struct attribute_group vspace_group = {
	.attrs = vspace_attrs,
};

int vspace_sysfs_init(void)
{
	int ret;

	vspace_kobj = kobject_create_and_add("vspace", kernel_kobj);
	if (!vspace_kobj)
		return -ENOMEM;

	ret = sysfs_create_group(vspace_kobj, &vspace_group);
	if (ret)
		goto out_put;
	return 0;

out_put:
	kobject_put(vspace_kobj);
	return ret;
}

void vspace_sysfs_uninit(void)
{
	sysfs_remove_group(vspace_kobj, &vspace_group);
	kobject_put(vspace_kobj);
}
