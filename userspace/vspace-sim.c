// SPDX-License-Identifier: GPL-2.0
/*
 * vspace-sim: replay a demand trace through vspace's policy (the module's
 * own module/policy.c) and print every decision it makes.
 *
 *   vspace-sim [-n CPUS] [-m MODE] [-i MS] [-s SLO_US] [-c VCPUS]
 *              [-w WORKERS] [--io-min N] [--io-max N] [FILE.csv]
 *
 * The CSV (stdin without FILE) has one row per interval:
 *	vm_demand,io_demand[,vm_p99_us,io_p99_us]
 * demands in CPUs (decimals allowed), the optional p99 waits of one VM
 * whose SLO is -s. Lines starting with '#' or a letter are skipped. The
 * trace is turned into what the module would measure: a group of size s
 * with demand d is min(d, s) / s busy and its threads wait max(0, d - s)
 * CPU-intervals.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../module/policy.h"

static const char * const mode_names[NR_VSPACE_MODES] = VSPACE_MODE_NAMES;
static const char * const why_names[VSPACE_NR_WHY] = VSPACE_WHY_NAMES;

static void usage(void)
{
	fprintf(stderr,
		"usage: vspace-sim [-n CPUS] [-m performance|energy|resource] [-i MS]\n"
		"                  [-s SLO_US] [-c VCPUS] [-w WORKERS] [--io-min N]\n"
		"                  [--io-max N] [FILE.csv]\n");
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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "io-min", required_argument, NULL, 'I' },
		{ "io-max", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	unsigned int ncpus = 8, mode = 0, ms = 100, slo = 0, vcpus = 8, workers = 4;
	unsigned int io_min = 1, io_max = ~0U, decisions = 0, line = 0, i;
	unsigned long long busy = 0, rows = 0;
	struct vspace_policy_vm vm = { .weight = VSPACE_WEIGHT_DEFAULT };
	struct vspace_policy_out out;
	struct vspace_policy p;
	char buf[256];
	FILE *f = stdin;
	int c;

	while ((c = getopt_long(argc, argv, "n:m:i:s:c:w:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': ncpus = num(optarg, 4096); break;
		case 'i': ms = num(optarg, VSPACE_INTERVAL_MS_MAX); break;
		case 's': slo = num(optarg, 10000000); break;
		case 'c': vcpus = num(optarg, 4096); break;
		case 'w': workers = num(optarg, 4096); break;
		case 'I': io_min = num(optarg, 4096); break;
		case 'X': io_max = num(optarg, 4096); break;
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
	if (io_max == ~0U)
		io_max = ncpus ? ncpus - 1 : 0;
	if (io_min > io_max || (ncpus && io_max > ncpus - 1)) {
		fprintf(stderr, "vspace-sim: need io-min <= io-max <= CPUS - 1\n");
		return 2;
	}
	vm.slo_us = slo;
	vspace_policy_init(&p, ncpus, io_min, io_max, mode);

	printf("# interval vm io free <- vm io free  vm_demand io_demand  reason\n");
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
		measure(&in.g[VSPACE_PG_VM], dvm, p.vm, in.interval_ns);
		measure(&in.g[VSPACE_PG_IO], dio, p.io, in.interval_ns);
		vm.p99_ns[VSPACE_PG_VM] = (u64)(p99vm * 1000);
		vm.p99_ns[VSPACE_PG_IO] = (u64)(p99io * 1000);
		vspace_policy_account(&in, &vm);
		vspace_policy_decide(&p, &in, &out);
		rows++;
		busy += out.vm + out.io;
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
		putchar('\n');
	}
	printf("# %llu intervals, %u decisions, %.2f CPUs in groups on average\n",
	       rows, decisions, rows ? (double)busy / rows : 0.0);
	return 0;
}
