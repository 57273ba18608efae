/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vspace's own trace events, so perf and bpftrace users can watch it:
 *   vspace:sample     each group, each interval
 *   vspace:vm_sample  each managed VM, each interval
 *   vspace:decision   each interval in which the policy changed something
 *   vspace:work       each period: what the periodic work cost
 *   vspace:layout     each time the groups are laid out: their CPUs
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vspace

#if !defined(_VSPACE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VSPACE_TRACE_H

#include <linux/tracepoint.h>

#include "vspace.h"

TRACE_EVENT(sample,
	    TP_PROTO(int group, unsigned int cpus, unsigned int util_pct,
		     u64 p99_wait_ns, u64 preemptions, u64 migrations,
		     u64 interval_ns),
	    TP_ARGS(group, cpus, util_pct, p99_wait_ns, preemptions,
		    migrations, interval_ns),
	    TP_STRUCT__entry(__field(int, group)
			     __field(unsigned int, cpus)
			     __field(unsigned int, util_pct)
			     __field(u64, p99_wait_ns)
			     __field(u64, preemptions)
			     __field(u64, migrations)
			     __field(u64, interval_ns)),
	    TP_fast_assign(__entry->group = group;
			   __entry->cpus = cpus;
			   __entry->util_pct = util_pct;
			   __entry->p99_wait_ns = p99_wait_ns;
			   __entry->preemptions = preemptions;
			   __entry->migrations = migrations;
			   __entry->interval_ns = interval_ns;),
	    TP_printk("group=%s cpus=%u util_pct=%u p99_wait_ns=%llu preemptions=%llu migrations=%llu interval_ns=%llu",
		      __print_symbolic(__entry->group, { 0, "vm" }, { 1, "io" }),
		      __entry->cpus, __entry->util_pct, __entry->p99_wait_ns,
		      __entry->preemptions, __entry->migrations,
		      __entry->interval_ns)
);

TRACE_EVENT(layout,
	    TP_PROTO(const struct cpumask *vm_mask,
		     const struct cpumask *io_mask,
		     const struct cpumask *confined_mask),
	    TP_ARGS(vm_mask, io_mask, confined_mask),
	    TP_STRUCT__entry(__bitmask(vm, nr_cpumask_bits)
			     __bitmask(io, nr_cpumask_bits)
			     __bitmask(confined, nr_cpumask_bits)),
	    TP_fast_assign(__assign_bitmask(vm, cpumask_bits(vm_mask),
					    nr_cpumask_bits);
			   __assign_bitmask(io, cpumask_bits(io_mask),
					    nr_cpumask_bits);
			   __assign_bitmask(confined,
					    cpumask_bits(confined_mask),
					    nr_cpumask_bits);),
	    TP_printk("vm=%s io=%s confined=%s", __get_bitmask(vm),
		      __get_bitmask(io), __get_bitmask(confined))
);

TRACE_EVENT(work,
	    TP_PROTO(const struct vspace_work_ns *ns, unsigned int vms,
		     unsigned int threads, int cpu),
	    TP_ARGS(ns, vms, threads, cpu),
	    TP_STRUCT__entry(__field(u64, work_ns)
			     __field(unsigned int, vms)
			     __field(unsigned int, threads)
			     __field(int, cpu)
			     __field(u64, find_ns)
			     __field(u64, collect_ns)
			     __field(u64, decide_ns)
			     __field(u64, act_ns)),
	    TP_fast_assign(__entry->work_ns = ns->stage[VSPACE_STAGE_ALL];
			   __entry->vms = vms;
			   __entry->threads = threads;
			   __entry->cpu = cpu;
			   __entry->find_ns = ns->stage[VSPACE_STAGE_FIND];
			   __entry->collect_ns = ns->stage[VSPACE_STAGE_COLLECT];
			   __entry->decide_ns = ns->stage[VSPACE_STAGE_DECIDE];
			   __entry->act_ns = ns->stage[VSPACE_STAGE_ACT];),
	    TP_printk("work_ns=%llu vms=%u threads=%u cpu=%d find_ns=%llu collect_ns=%llu decide_ns=%llu act_ns=%llu",
		      __entry->work_ns, __entry->vms, __entry->threads,
		      __entry->cpu, __entry->find_ns, __entry->collect_ns,
		      __entry->decide_ns, __entry->act_ns)
);

TRACE_EVENT(vm_sample,
	    TP_PROTO(int pid, u64 runtime_ns, u64 io_runtime_ns,
		     u64 wait_ns, u64 p99_wait_ns, u64 preemptions,
		     u64 migrations),
	    TP_ARGS(pid, runtime_ns, io_runtime_ns, wait_ns, p99_wait_ns,
		    preemptions, migrations),
	    TP_STRUCT__entry(__field(int, pid)
			     __field(u64, runtime_ns)
			     __field(u64, io_runtime_ns)
			     __field(u64, wait_ns)
			     __field(u64, p99_wait_ns)
			     __field(u64, preemptions)
			     __field(u64, migrations)),
	    TP_fast_assign(__entry->pid = pid;
			   __entry->runtime_ns = runtime_ns;
			   __entry->io_runtime_ns = io_runtime_ns;
			   __entry->wait_ns = wait_ns;
			   __entry->p99_wait_ns = p99_wait_ns;
			   __entry->preemptions = preemptions;
			   __entry->migrations = migrations;),
	    TP_printk("pid=%d runtime_ns=%llu io_runtime_ns=%llu wait_ns=%llu p99_wait_ns=%llu preemptions=%llu migrations=%llu",
		      __entry->pid, __entry->runtime_ns,
		      __entry->io_runtime_ns, __entry->wait_ns,
		      __entry->p99_wait_ns, __entry->preemptions,
		      __entry->migrations)
);

TRACE_EVENT(decision,
	    TP_PROTO(unsigned int mode, unsigned int old_vm, unsigned int old_io,
		     unsigned int vm, unsigned int io, unsigned int free,
		     u64 vm_demand, u64 io_demand, unsigned int slo_missed,
		     unsigned int confined, unsigned int why),
	    TP_ARGS(mode, old_vm, old_io, vm, io, free, vm_demand, io_demand,
		    slo_missed, confined, why),
	    TP_STRUCT__entry(__field(unsigned int, mode)
			     __field(unsigned int, old_vm)
			     __field(unsigned int, old_io)
			     __field(unsigned int, vm)
			     __field(unsigned int, io)
			     __field(unsigned int, free)
			     __field(u64, vm_demand)
			     __field(u64, io_demand)
			     __field(unsigned int, slo_missed)
			     __field(unsigned int, confined)
			     __field(unsigned int, why)),
	    TP_fast_assign(__entry->mode = mode;
			   __entry->old_vm = old_vm;
			   __entry->old_io = old_io;
			   __entry->vm = vm;
			   __entry->io = io;
			   __entry->free = free;
			   __entry->vm_demand = vm_demand;
			   __entry->io_demand = io_demand;
			   __entry->slo_missed = slo_missed;
			   __entry->confined = confined;
			   __entry->why = why;),
	    TP_printk("mode=%s vm=%u->%u io=%u->%u free=%u vm_demand_mcpu=%llu io_demand_mcpu=%llu slo_missed=%u confined=%u reason=%s",
		      __print_symbolic(__entry->mode, { 0, "performance" },
				       { 1, "energy" }, { 2, "resource" }),
		      __entry->old_vm, __entry->vm, __entry->old_io,
		      __entry->io, __entry->free, __entry->vm_demand,
		      __entry->io_demand, __entry->slo_missed,
		      __entry->confined,
		      __print_flags(__entry->why, "+", { 1, "slo" },
				    { 2, "demand" }, { 4, "balance" },
				    { 8, "release" }, { 16, "mode" },
				    { 32, "bounds" }, { 64, "isolate" }))
);

#endif /* _VSPACE_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
