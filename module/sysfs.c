// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/vspace: a thin text interface over core.c. Each store parses
 * its input strictly and hands a value to a core setter; anything that does
 * not parse is -EINVAL with a line in dmesg saying what was wrong.
 */
#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/string_helpers.h>
#include <linux/sysfs.h>

#include "vspace.h"

/* How much of a rejected write the log shows. */
#define VSPACE_REJECT_SHOWN	32

static struct kobject *vspace_kobj;

/*
 * Say which file refused what, without echoing a huge or multi-line write,
 * and with the writer's bytes but printable ASCII as \xHH, quote and
 * backslash included: no control or stray byte of theirs gets into the
 * log, and no byte of theirs can pass for one of ours.
 */
static int vspace_reject(const struct kobj_attribute *attr, const char *buf,
			 const char *why)
{
	char shown[VSPACE_REJECT_SHOWN * 4 + 1];
	size_t len = min_t(size_t, strcspn(buf, "\n"), VSPACE_REJECT_SHOWN);
	int n;

	n = string_escape_mem(buf, len, shown, sizeof(shown) - 1,
			      ESCAPE_HEX | ESCAPE_NAP | ESCAPE_APPEND, "\\\"");
	shown[min_t(int, n, sizeof(shown) - 1)] = '\0';
	pr_notice_ratelimited("%s: rejected \"%s\": %s\n", attr->attr.name,
			      shown, why);
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

static ssize_t cpumask_show(char *buf, const struct cpumask *mask)
{
	ssize_t len;

	mutex_lock(&vspace_lock);
	len = sysfs_emit(buf, "%*pbl\n", cpumask_pr_args(mask));
	mutex_unlock(&vspace_lock);
	return len;
}

static ssize_t io_cpus_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return cpumask_show(buf, vspace_groups.io);
}

static ssize_t vm_cpus_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return cpumask_show(buf, vspace_groups.vm);
}

static ssize_t io_cpus_min_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(vspace_config.io_cpus_min));
}

static ssize_t io_cpus_max_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(vspace_config.io_cpus_max));
}

static ssize_t io_bound_store(struct kobj_attribute *attr, const char *buf,
			      size_t count, bool is_max)
{
	unsigned int val;
	int ret;

	if (kstrtouint(buf, 10, &val))
		return vspace_reject(attr, buf, "expected a number of CPUs");
	ret = vspace_set_io_bound(is_max, val);
	return ret ?: count;
}

static ssize_t io_cpus_min_store(struct kobject *kobj,
				 struct kobj_attribute *attr, const char *buf,
				 size_t count)
{
	return io_bound_store(attr, buf, count, false);
}

static ssize_t io_cpus_max_store(struct kobject *kobj,
				 struct kobj_attribute *attr, const char *buf,
				 size_t count)
{
	return io_bound_store(attr, buf, count, true);
}

/* A 0/1 file: parsed here, set by its setter in core.c. */
static ssize_t vspace_bool_store(struct kobj_attribute *attr, const char *buf,
				 size_t count, int (*set)(bool on))
{
	unsigned int val;
	int ret;

	if (kstrtouint(buf, 10, &val) || val > 1)
		return vspace_reject(attr, buf, "expected 0 or 1");
	ret = set(val);
	return ret ?: count;
}

#define VSPACE_BOOL_ATTR(name)						\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%d\n", READ_ONCE(vspace_config.name));	\
}									\
static ssize_t name##_store(struct kobject *kobj,			\
			    struct kobj_attribute *attr,		\
			    const char *buf, size_t count)		\
{									\
	return vspace_bool_store(attr, buf, count, vspace_set_##name);	\
}

VSPACE_BOOL_ATTR(auto_discover)
VSPACE_BOOL_ATTR(isolation)
VSPACE_BOOL_ATTR(smt_split)

static ssize_t io_node_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	int node = READ_ONCE(vspace_config.io_node);

	if (node == NUMA_NO_NODE)
		return sysfs_emit(buf, "auto\n");
	return sysfs_emit(buf, "%d\n", node);
}

static ssize_t io_node_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	unsigned int val;
	int ret;

	if (sysfs_streq(buf, "auto")) {
		ret = vspace_set_io_node(NUMA_NO_NODE);
	} else {
		if (kstrtouint(buf, 10, &val) || val > INT_MAX)
			return vspace_reject(attr, buf,
					     "expected auto or a node number");
		ret = vspace_set_io_node(val);
	}
	return ret ?: count;
}

static ssize_t io_confined_cpus_show(struct kobject *kobj,
				     struct kobj_attribute *attr, char *buf)
{
	return cpumask_show(buf, vspace_groups.io_confined);
}

static ssize_t free_cpus_show(struct kobject *kobj,
			      struct kobj_attribute *attr, char *buf)
{
	return cpumask_show(buf, vspace_groups.free);
}

static ssize_t stats_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return vspace_stats_show(buf);
}

static ssize_t decisions_read(struct file *file, struct kobject *kobj,
			      struct bin_attribute *attr, char *buf,
			      loff_t off, size_t count)
{
	return vspace_decisions_read(file, buf, off, count);
}

static struct kobj_attribute version_attr = __ATTR_RO(version);
static struct kobj_attribute enabled_attr = __ATTR_RW(enabled);
static struct kobj_attribute mode_attr = __ATTR_RW(mode);
static struct kobj_attribute interval_ms_attr = __ATTR_RW(interval_ms);
static struct kobj_attribute cpus_attr = __ATTR_RW(cpus);
static struct kobj_attribute io_cpus_attr = __ATTR_RO(io_cpus);
static struct kobj_attribute vm_cpus_attr = __ATTR_RO(vm_cpus);
static struct kobj_attribute io_cpus_min_attr = __ATTR_RW(io_cpus_min);
static struct kobj_attribute io_cpus_max_attr = __ATTR_RW(io_cpus_max);
static struct kobj_attribute auto_discover_attr = __ATTR_RW(auto_discover);
static struct kobj_attribute isolation_attr = __ATTR_RW(isolation);
static struct kobj_attribute smt_split_attr = __ATTR_RW(smt_split);
static struct kobj_attribute io_node_attr = __ATTR_RW(io_node);
static struct kobj_attribute free_cpus_attr = __ATTR_RO(free_cpus);
static struct kobj_attribute io_confined_cpus_attr = __ATTR_RO(io_confined_cpus);
static struct kobj_attribute stats_attr = __ATTR_RO(stats);
/* Size 0: longer than a page, and its length changes. */
static BIN_ATTR_RO(decisions, 0);

static struct attribute *vspace_attrs[] = {
	&version_attr.attr,
	&enabled_attr.attr,
	&mode_attr.attr,
	&interval_ms_attr.attr,
	&cpus_attr.attr,
	&io_cpus_attr.attr,
	&vm_cpus_attr.attr,
	&io_cpus_min_attr.attr,
	&io_cpus_max_attr.attr,
	&auto_discover_attr.attr,
	&isolation_attr.attr,
	&smt_split_attr.attr,
	&io_node_attr.attr,
	&free_cpus_attr.attr,
	&io_confined_cpus_attr.attr,
	&stats_attr.attr,
	NULL
};

static struct bin_attribute *vspace_bin_attrs[] = {
	&bin_attr_decisions,
	NULL
};

static const struct attribute_group vspace_group = {
	.attrs = vspace_attrs,
	.bin_attrs = vspace_bin_attrs,
};

/* vms/: add and remove VMs by QEMU pid. */
static struct kobject *vspace_vms_kobj;

static int vspace_parse_pid(const struct kobj_attribute *attr,
			    const char *buf, pid_t *nr)
{
	int val;

	if (kstrtoint(buf, 10, &val) || val <= 0)
		return vspace_reject(attr, buf, "expected a process id");
	*nr = val;
	return 0;
}

static ssize_t add_store(struct kobject *kobj, struct kobj_attribute *attr,
			 const char *buf, size_t count)
{
	pid_t nr;
	int ret;

	ret = vspace_parse_pid(attr, buf, &nr);
	if (!ret)
		ret = vspace_vm_add(nr);
	return ret ?: count;
}

static ssize_t remove_store(struct kobject *kobj, struct kobj_attribute *attr,
			    const char *buf, size_t count)
{
	pid_t nr;
	int ret;

	ret = vspace_parse_pid(attr, buf, &nr);
	if (!ret)
		ret = vspace_vm_remove(nr);
	return ret ?: count;
}

static struct kobj_attribute add_attr = __ATTR_WO(add);
static struct kobj_attribute remove_attr = __ATTR_WO(remove);

static struct attribute *vspace_vms_attrs[] = {
	&add_attr.attr,
	&remove_attr.attr,
	NULL
};

static const struct attribute_group vspace_vms_group = {
	.attrs = vspace_vms_attrs,
};

/* vms/<pid>/: one directory per managed VM. */
static inline struct vspace_vm *to_vm(struct kobject *kobj)
{
	return container_of(kobj, struct vspace_vm, kobj);
}

void vspace_text_printf(struct vspace_text *t, const char *fmt, ...)
{
	size_t at = min(t->len, t->size);
	va_list args;

	va_start(args, fmt);
	t->len += vsnprintf(t->buf + at, t->size - at, fmt, args);
	va_end(args);
}

/* The largest text a file longer than a page may have. */
#define VSPACE_TEXT_MAX	(64 << 20)

static int (* const vspace_snap_render[NR_VSPACE_SNAPS])(struct vspace_vm *vm,
							   struct vspace_text *t) = {
	[VSPACE_SNAP_THREADS] = vspace_vm_threads_render,
	[VSPACE_SNAP_THREAD_STATS] = vspace_vm_thread_stats_render,
};

/*
 * Read @count bytes at @off of the text @file reads from @ss: made by
 * @take(@arg) at offset 0 (or if another file took its place since), kept
 * until @file reaches its end. vspace_lock held.
 */
ssize_t vspace_snaps_read(struct vspace_snaps *ss, const struct file *file,
			  char *buf, loff_t off, size_t count,
			  int (*take)(struct vspace_snap *s, void *arg),
			  void *arg)
{
	struct vspace_snap *s = NULL, *lru = &ss->slot[0];
	ssize_t ret = 0;
	int i;

	lockdep_assert_held(&vspace_lock);
	for (i = 0; i < VSPACE_SNAP_READERS; i++) {
		if (ss->slot[i].buf && ss->slot[i].file == file) {
			s = &ss->slot[i];
			break;
		}
		if (ss->slot[i].read_at < lru->read_at)
			lru = &ss->slot[i];
	}
	if (!s || !off) {
		s = s ?: lru;
		kvfree(s->buf);
		*s = (struct vspace_snap){};
		ret = take(s, arg);
		if (ret)
			return ret;
		s->file = file;
	}
	s->read_at = ++ss->reads;
	if (off < s->len) {
		ret = min_t(size_t, count, s->len - off);
		memcpy(buf, s->buf + off, ret);
	} else {
		kvfree(s->buf);
		*s = (struct vspace_snap){};
	}
	return ret;
}

void vspace_snaps_drop(struct vspace_snaps *ss)
{
	int i;

	for (i = 0; i < VSPACE_SNAP_READERS; i++) {
		kvfree(ss->slot[i].buf);
		ss->slot[i] = (struct vspace_snap){};
	}
}

struct vspace_text_arg {
	struct vspace_vm *vm;
	enum vspace_snap_id id;
};

/* Make a VM's text into @s: a page, or again with the length it took. */
static int vspace_text_take(struct vspace_snap *s, void *arg)
{
	const struct vspace_text_arg *a = arg;
	struct vspace_text t = { .size = PAGE_SIZE };
	int ret;

	for (;;) {
		t.buf = kvmalloc(t.size, GFP_KERNEL);
		if (!t.buf)
			return -ENOMEM;
		t.len = 0;
		ret = vspace_snap_render[a->id](a->vm, &t);
		if (ret || t.len < t.size)
			break;
		kvfree(t.buf);
		if (t.len >= VSPACE_TEXT_MAX)
			return -EFBIG;
		/* Room to spare: masks and counts may change meanwhile. */
		t.size = min_t(size_t, t.len + t.len / 8 + PAGE_SIZE,
			       VSPACE_TEXT_MAX);
	}
	if (ret) {
		kvfree(t.buf);
		return ret;
	}
	s->buf = t.buf;
	s->len = t.len;
	return 0;
}

/* Read @count bytes at @off of @vm's text @id, for @file. */
ssize_t vspace_text_read(struct vspace_vm *vm, enum vspace_snap_id id,
			 const struct file *file, char *buf, loff_t off,
			 size_t count)
{
	struct vspace_text_arg arg = { .vm = vm, .id = id };
	ssize_t ret;

	mutex_lock(&vspace_lock);
	ret = vm->dead ? -ENODEV :
	      vspace_snaps_read(&vm->snap[id], file, buf, off, count,
				vspace_text_take, &arg);
	mutex_unlock(&vspace_lock);
	return ret;
}

static ssize_t threads_read(struct file *file, struct kobject *kobj,
			    struct bin_attribute *attr, char *buf,
			    loff_t off, size_t count)
{
	return vspace_text_read(to_vm(kobj), VSPACE_SNAP_THREADS, file, buf,
				off, count);
}

static ssize_t drifts_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	struct vspace_vm *vm = to_vm(kobj);
	ssize_t len;

	mutex_lock(&vspace_lock);
	len = vm->dead ? -ENODEV : sysfs_emit(buf, "%lu\n", vm->drifts);
	mutex_unlock(&vspace_lock);
	return len;
}

static ssize_t vm_stats_show(struct kobject *kobj,
			     struct kobj_attribute *attr, char *buf)
{
	return vspace_vm_stats_show(to_vm(kobj), buf);
}

static ssize_t thread_stats_read(struct file *file, struct kobject *kobj,
				 struct bin_attribute *attr, char *buf,
				 loff_t off, size_t count)
{
	return vspace_text_read(to_vm(kobj), VSPACE_SNAP_THREAD_STATS, file,
				buf, off, count);
}

/* A u32 setting of a VM's policy state, under vspace_lock. */
static ssize_t vm_u32_show(struct vspace_vm *vm, const u32 *val, char *buf)
{
	ssize_t len;

	mutex_lock(&vspace_lock);
	len = vm->dead ? -ENODEV : sysfs_emit(buf, "%u\n", *val);
	mutex_unlock(&vspace_lock);
	return len;
}

static ssize_t slo_us_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return vm_u32_show(to_vm(kobj), &to_vm(kobj)->pol.slo_us, buf);
}

static ssize_t slo_us_store(struct kobject *kobj, struct kobj_attribute *attr,
			    const char *buf, size_t count)
{
	unsigned int val;
	int ret;

	if (kstrtouint(buf, 10, &val))
		return vspace_reject(attr, buf, "expected microseconds");
	ret = vspace_vm_set_slo(to_vm(kobj), val);
	return ret ?: count;
}

static ssize_t latency_us_store(struct kobject *kobj,
				struct kobj_attribute *attr, const char *buf,
				size_t count)
{
	unsigned int val;
	int ret;

	if (kstrtouint(buf, 10, &val))
		return vspace_reject(attr, buf, "expected microseconds");
	ret = vspace_vm_set_latency(to_vm(kobj), val);
	return ret ?: count;
}

static ssize_t weight_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return vm_u32_show(to_vm(kobj), &to_vm(kobj)->pol.weight, buf);
}

static ssize_t weight_store(struct kobject *kobj, struct kobj_attribute *attr,
			    const char *buf, size_t count)
{
	unsigned int val;
	int ret;

	if (kstrtouint(buf, 10, &val))
		return vspace_reject(attr, buf, "expected a weight, 1..10000");
	ret = vspace_vm_set_weight(to_vm(kobj), val);
	return ret ?: count;
}

static struct kobj_attribute slo_us_attr = __ATTR_RW(slo_us);
static struct kobj_attribute latency_us_attr = __ATTR_WO(latency_us);
static struct kobj_attribute weight_attr = __ATTR_RW(weight);
static struct kobj_attribute drifts_attr = __ATTR_RO(drifts);
static struct kobj_attribute vm_stats_attr = __ATTR(stats, 0444, vm_stats_show, NULL);
/* Size 0: one line per thread, longer than a page for a large VM. */
static BIN_ATTR_RO(threads, 0);
static BIN_ATTR_RO(thread_stats, 0);

static struct attribute *vspace_vm_attrs[] = {
	&drifts_attr.attr,
	&vm_stats_attr.attr,
	&slo_us_attr.attr,
	&latency_us_attr.attr,
	&weight_attr.attr,
	NULL
};

static struct bin_attribute *vspace_vm_bin_attrs[] = {
	&bin_attr_threads,
	&bin_attr_thread_stats,
	NULL
};

static const struct attribute_group vspace_vm_group = {
	.attrs = vspace_vm_attrs,
	.bin_attrs = vspace_vm_bin_attrs,
};

static const struct attribute_group *vspace_vm_groups[] = {
	&vspace_vm_group,
	NULL
};

static void vspace_vm_kobj_release(struct kobject *kobj)
{
	vspace_vm_release(to_vm(kobj));
}

static const struct kobj_type vspace_vm_ktype = {
	.release = vspace_vm_kobj_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = vspace_vm_groups,
};

/*
 * On failure the caller stops the VM's counting, then frees it with
 * vspace_sysfs_vm_put().
 */
int vspace_sysfs_vm_add(struct vspace_vm *vm)
{
	lockdep_assert_held(&vspace_vms_lock);
	kobject_init(&vm->kobj, &vspace_vm_ktype);
	/* Unloading: vms/ is going, no directory may be made under it. */
	if (!vspace_vms_kobj)
		return -ENODEV;
	return kobject_add(&vm->kobj, vspace_vms_kobj, "%d", vm->nr);
}

void vspace_sysfs_vm_put(struct vspace_vm *vm)
{
	kobject_put(&vm->kobj);
}

/* Not under vspace_lock: kernfs waits here for readers, which take it. */
void vspace_sysfs_vm_del(struct vspace_vm *vm)
{
	kobject_del(&vm->kobj);
	kobject_put(&vm->kobj);
}

int vspace_sysfs_init(void)
{
	int ret;

	vspace_kobj = kobject_create_and_add("vspace", kernel_kobj);
	if (!vspace_kobj)
		return -ENOMEM;

	ret = sysfs_create_group(vspace_kobj, &vspace_group);
	if (ret)
		goto out_put;

	vspace_vms_kobj = kobject_create_and_add("vms", vspace_kobj);
	if (!vspace_vms_kobj) {
		ret = -ENOMEM;
		goto out_group;
	}
	ret = sysfs_create_group(vspace_vms_kobj, &vspace_vms_group);
	if (ret)
		goto out_vms;
	return 0;

out_vms:
	kobject_put(vspace_vms_kobj);
out_group:
	sysfs_remove_group(vspace_kobj, &vspace_group);
out_put:
	kobject_put(vspace_kobj);
	return ret;
}

/*
 * The interface goes first on unload: once the files are removed no store
 * runs or can start. A VM's directory, still under vms/, keeps vms/ and
 * vspace/ until vspace_vms_uninit() removes it; the last one takes them.
 */
void vspace_sysfs_uninit(void)
{
	struct kobject *vms = vspace_vms_kobj;

	sysfs_remove_group(vms, &vspace_vms_group);
	sysfs_remove_group(vspace_kobj, &vspace_group);
	/* The periodic work may still add a VM until it stops: not here. */
	mutex_lock(&vspace_vms_lock);
	vspace_vms_kobj = NULL;
	mutex_unlock(&vspace_vms_lock);
	kobject_put(vms);
	kobject_put(vspace_kobj);
}
