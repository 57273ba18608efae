// SPDX-License-Identifier: GPL-2.0
/*
 * vspace-sim: replay a demand trace through vspace's policy (the module's
 * own module/policy.c) and print every decision it makes.
 *
 *   vspace-sim [-n CPUS] [-m MODE] [-i MS] [-s SLO_US] [-c VCPUS]
 *              [-w WORKERS] [--io-min N] [--io-max N]
 *              [-t NODESxCORESxTHREADS [--smt-split] [--io-node N]]
 *              [FILE.csv]
 *
 * The CSV (stdin without FILE) has one row per interval:
 *	vm_demand,io_demand[,vm_p99_us,io_p99_us]
 * demands in CPUs (decimals allowed), the optional p99 waits of one VM
 * whose SLO is -s. Lines starting with '#' or a letter are skipped. The
 * trace is turned into what the module would measure: a group of size s
 * with demand d is min(d, s) / s busy and its threads wait max(0, d - s)
 * CPU-intervals.
 *
 * With -t the groups are also laid out, by the module's module/layout.c,
 * on a host of that shape numbered as Linux numbers most servers (a core's
 * SMT siblings a core count apart, node by node), and each decision shows
 * the CPUs each group got; the next interval is measured on those.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../module/layout.h"
#include "../module/policy.h"

static const char * const mode_names[NR_VSPACE_MODES] = VSPACE_MODE_NAMES;
static const char * const why_names[VSPACE_NR_WHY] = VSPACE_WHY_NAMES;

static void usage(void)
{
	fprintf(stderr,
		"usage: vspace-sim [-n CPUS] [-m performance|energy|resource] [-i MS]\n"
		"                  [-s SLO_US] [-c VCPUS] [-w WORKERS] [--io-min N]\n"
		"                  [--io-max N] [-t NODESxCORESxTHREADS [--smt-split]\n"
		"                  [--io-node N]] [FILE.csv]\n");
	exit(2);
}

static unsigned long num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v > max) {
		fprintf(stderr, "vspace-sim: bad number '%s' (0..%lu)\n", s, max);
		exit(2);
	}
	return v;
}

static void measure(struct vspace_pgroup *g, double d, unsigned int size,
		    unsigned long long interval_ns)
{
	double ran = d < size ? d : size;

	g->util_pct = size ? (u32)(ran * 100 / size + 0.5) : 0;
	g->wait_ns = (u64)((d - ran) * interval_ns);
}

/* The host of -t: CPU numbers, cores and nodes as Linux gives them. */
static unsigned int topology(struct vspace_lcpu *c, const char *shape)
{
	unsigned int nodes, cores, threads, n = 0, node, core, t;
	char extra;

	if (sscanf(shape, "%ux%ux%u%c", &nodes, &cores, &threads, &extra) != 3 ||
	    !nodes || !cores || !threads || nodes * cores * threads > 4096) {
		fprintf(stderr, "vspace-sim: -t wants NODESxCORESxTHREADS, e.g. 2x8x2\n");
		exit(2);
	}
	for (t = 0; t < threads; t++)
		for (node = 0; node < nodes; node++)
			for (core = 0; core < cores; core++) {
				unsigned int id = node * cores + core;

				c[n].cpu = t * nodes * cores + id;
				c[n].core = id;
				c[n].node = node;
				n++;
			}
	return n;
}

/* The CPUs of group @g as a cpulist. */
static void print_group(const struct vspace_lcpu *c, unsigned int n,
			unsigned int g, unsigned int g2)
{
	static unsigned char in[4096];
	unsigned int i, a, any = 0;

	memset(in, 0, sizeof(in));
	for (i = 0; i < n; i++)
		in[c[i].cpu] = c[i].group == g || c[i].group == g2;
	for (i = 0; i < n; i++) {
		if (!in[i])
			continue;
		for (a = i; i + 1 < n && in[i + 1]; i++)
			;
		printf(a == i ? "%s%u" : "%s%u-%u", any++ ? "," : "", a, i);
	}
	if (!any)
		putchar('-');
}

/* The CPUs each group gets: the sizes, or their layout on the host. */
static void lay_out(struct vspace_layout *lay, struct vspace_lcpu *c,
		    unsigned int n, unsigned int vm, unsigned int io,
		    unsigned int *got_vm, unsigned int *got_io)
{
	*got_vm = vm;
	*got_io = io;
	if (!lay)
		return;
	lay->vm = vm;
	lay->io = io;
	vspace_layout(lay, c, n);
	*got_vm = lay->got_vm;
	*got_io = lay->got_io;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "io-min", required_argument, NULL, 'I' },
		{ "io-max", required_argument, NULL, 'X' },
		{ "smt-split", no_argument, NULL, 'S' },
		{ "io-node", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	unsigned int ncpus = 8, mode = 0, ms = 100, slo = 0, vcpus = 8, workers = 4;
	unsigned int io_min = 1, io_max = ~0U, decisions = 0, line = 0, i;
	unsigned long long busy = 0, rows = 0;
	struct vspace_policy_vm vm = { .weight = VSPACE_WEIGHT_DEFAULT };
	struct vspace_policy_out out;
	struct vspace_layout lay = { .io_node = -1 };
	static struct vspace_lcpu cpu[4096];
	unsigned int ncpu = 0, got_vm, got_io;
	const char *shape = NULL;
	struct vspace_policy p;
	char buf[256];
	FILE *f = stdin;
	int c;

	while ((c = getopt_long(argc, argv, "n:m:i:s:c:w:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': ncpus = num(optarg, 4096); break;
		case 'i': ms = num(optarg, VSPACE_INTERVAL_MS_MAX); break;
		case 's': slo = num(optarg, 10000000); break;
		case 'c': vcpus = num(optarg, 4096); break;
		case 'w': workers = num(optarg, 4096); break;
		case 'I': io_min = num(optarg, 4096); break;
		case 'X': io_max = num(optarg, 4096); break;
		case 't': shape = optarg; break;
		case 'S': lay.split = true; break;
		case 'N': lay.io_node = num(optarg, 4095); break;
		case 'm':
			for (mode = 0; mode < NR_VSPACE_MODES; mode++)
				if (!strcmp(optarg, mode_names[mode]))
					break;
			if (mode == NR_VSPACE_MODES)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind + 1 < argc)
		usage();
	if (optind < argc && !(f = fopen(argv[optind], "r"))) {
		perror(argv[optind]);
		return 1;
	}
	if (shape) {
		ncpu = topology(cpu, shape);
		ncpus = ncpu;
	}
	if (io_max == ~0U)
		io_max = ncpus ? ncpus - 1 : 0;
	if (io_min > io_max || (ncpus && io_max > ncpus - 1)) {
		fprintf(stderr, "vspace-sim: need io-min <= io-max <= CPUS - 1\n");
		return 2;
	}
	vm.slo_us = slo;
	vspace_policy_init(&p, ncpus, io_min, io_max, mode);
	lay.io_min = io_min;
	lay.io_max = io_max;
	lay_out(shape ? &lay : NULL, cpu, ncpu, p.vm, p.io, &got_vm, &got_io);

	printf("# interval vm io free <- vm io free  vm_demand io_demand  reason%s\n",
	       shape ? "  vm_cpus io_cpus" : "");
	while (fgets(buf, sizeof(buf), f)) {
		struct vspace_policy_in in = {
			.mode = mode, .ncpus = ncpus, .io_min = io_min,
			.io_max = io_max, .interval_ns = ms * 1000000ULL,
			.isolation = true,
		};
		double dvm, dio, p99vm = 0, p99io = 0;
		int n;

		line++;
		if (buf[0] == '#' || isalpha((unsigned char)buf[0]) || buf[0] == '\n')
			continue;
		n = sscanf(buf, "%lf,%lf,%lf,%lf", &dvm, &dio, &p99vm, &p99io);
		if (n != 2 && n != 4) {
			fprintf(stderr, "vspace-sim: line %u: want vm,io[,vm_p99_us,io_p99_us]\n",
				line);
			return 1;
		}
		in.g[VSPACE_PG_VM].threads = vcpus;
		in.g[VSPACE_PG_IO].threads = workers;
		in.g[VSPACE_PG_VM].cpus = got_vm;
		in.g[VSPACE_PG_IO].cpus = got_io;
		measure(&in.g[VSPACE_PG_VM], dvm, got_vm, in.interval_ns);
		measure(&in.g[VSPACE_PG_IO], dio, got_io, in.interval_ns);
		vm.p99_ns[VSPACE_PG_VM] = (u64)(p99vm * 1000);
		vm.p99_ns[VSPACE_PG_IO] = (u64)(p99io * 1000);
		vspace_policy_account(&in, &vm);
		vspace_policy_decide(&p, &in, &out);
		rows++;
		lay_out(shape ? &lay : NULL, cpu, ncpu, out.vm, out.io, &got_vm,
			&got_io);
		busy += got_vm + got_io;
		if (!out.why)
			continue;
		decisions++;
		printf("%llu %u %u %u <- %u %u %u  %.2f %.2f  ", rows, out.vm,
		       out.io, out.free, out.old_vm, out.old_io, out.old_free,
		       out.demand[VSPACE_PG_VM] / 1000.0,
		       out.demand[VSPACE_PG_IO] / 1000.0);
		for (i = 0, c = 0; i < VSPACE_NR_WHY; i++)
			if (out.why & (1U << i))
				printf("%s%s", c++ ? "+" : "", why_names[i]);
		if (shape) {
			putchar(' ');
			putchar(' ');
			print_group(cpu, ncpu, VSPACE_LG_VM, VSPACE_LG_VM);
			putchar(' ');
			print_group(cpu, ncpu, VSPACE_LG_IO, VSPACE_LG_IO_CONFINED);
		}
		putchar('\n');
	}
	printf("# %llu intervals, %u decisions, %.2f CPUs in groups on average\n",
	       rows, decisions, rows ? (double)busy / rows : 0.0);
	return 0;
}
