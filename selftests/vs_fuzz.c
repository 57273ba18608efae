// SPDX-License-Identifier: GPL-2.0
/*
 * vs_fuzz: hammer vspace's sysfs files from several threads at once and
 * check that every failure is one the ABI document names.
 *   vs_fuzz [-r ROOT] [-t SECONDS] [-j THREADS] [-s SEED] [-v] [-x FILE...]
 *   -r  the tree (default /sys/kernel/vspace): the regular files of ROOT,
 *       ROOT/vms and every ROOT/vms/<pid>/, listed anew every 100 ms;
 *   -t  run that long (default 10 s);
 *   -j  that many threads (default 4), each doing one operation at a time
 *       on a random file: read it whole in random sizes, then pread at a
 *       random offset; write 0..64 random bytes; write 4..8 KB of almost
 *       valid text; write a plausible value (number, cpulist, mode, pid)
 *       in two write()s, then pwrite it at an offset; or in one write();
 *   -s  thread i's generator starts from SEED and i (printed), to repeat;
 *   -v  also print documented errors and changes of the file list;
 *   -x  leave FILE alone: a basename ("enabled") or the end of a path
 *       ("vms/add"); repeatable, and more FILEs may follow the options.
 * Unexpected: an errno the ABI document does not name for that file, text
 * not ending in '\n', a read of over 1 MiB, a thread still in a syscall
 * 5 s after the end, an fd left open; the first 20 are printed. Exit 0
 * if none, 1 if any, 2 on a usage or setup error. As root the writes are
 * real: reload the module after.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES	4096
#define MAX_VMS		256
#define MAX_EXCL	64
#define MAX_THREADS	256
#define MAX_ERRNO	256
#define MAX_REPORTS	20
#define REL_LEN		128
#define ESC_MAX		48
#define READ_LIMIT	(1 << 20)
#define NSEC		1000000000LL
#define LIST_NS		(NSEC / 10)
#define INC(c)		__atomic_add_fetch(&(c), 1, __ATOMIC_RELAXED)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define PICK(w, a)	((a)[below(w, ARRAY_SIZE(a))])

enum op { OP_READ, OP_RANDOM, OP_LONG, OP_SPLIT, OP_VALUE, NR_OPS };
static const char *const op_name[NR_OPS] = {
	"read", "random", "overlong", "split", "value",
};

/* One listing; replaced whole under list_lock, never changed in place. */
struct list {
	int nfiles, nvms;
	int vms[MAX_VMS];		/* pids of the vms/<pid>/ dirs */
	char files[MAX_FILES][REL_LEN];	/* relative to root */
};

struct worker {
	pthread_t th;
	unsigned long long rng;
	enum op op;
	char rel[REL_LEN];		/* the file it is on, for reports */
};

static const char *root = "/sys/kernel/vspace";
static const char *excl[MAX_EXCL];
static int nexcl, verbose, dead_pid;
static long long deadline;
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct list *cur;
/* errs: per errno; bad_errs: of those, the ones not documented there */
static unsigned long ops[NR_OPS], errs[MAX_ERRNO], bad_errs[MAX_ERRNO];
static unsigned long unexpected;
static int maxfiles, maxvms;

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * NSEC + t.tv_nsec;
}

/* xorshift64*: cheap, per thread, and the same run for the same seed */
static unsigned int below(struct worker *w, unsigned int n)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return (w->rng * 0x2545F4914F6CDD1DULL >> 16) % n;
}

static const char *base_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);	/* glibc 2.32 */

	return s ? s : "E?";
}

/*
 * What the ABI document names for file @rel: EINVAL, EACCES and ENODEV
 * on any; ENOENT on a VM's files (its directory went away under us) and
 * vms/remove; ESRCH and EEXIST on vms/add; EFBIG on a VM's threads and
 * thread_stats.
 */
static bool documented(int e, const char *rel)
{
	bool vm_file = !strncmp(rel, "vms/", 4) && strchr(rel + 4, '/');
	const char *b = base_of(rel);

	switch (e) {
	case EINVAL: case ENODEV: case EACCES:
		return true;
	case ENOENT:
		return vm_file || !strcmp(rel, "vms/remove");
	case ESRCH: case EEXIST:
		return !strcmp(rel, "vms/add");
	case EFBIG:
		return vm_file && (!strcmp(b, "threads") ||
				   !strcmp(b, "thread_stats"));
	}
	return false;
}

/* One line in one stdio call, so that threads do not interleave. */
static void report(bool bad, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (bad ? INC(unexpected) > MAX_REPORTS : !verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("%s%s\n", bad ? "unexpected: " : "  ", line);
}

/* Count a failed syscall; report it when its errno is not documented. */
static void failed(struct worker *w, const char *call, const char *buf,
		   size_t len)
{
	char esc[ESC_MAX * 4 + 32], *p = esc;
	size_t i, n = len < ESC_MAX ? len : ESC_MAX;
	int e = errno;

	INC(errs[e > 0 && e < MAX_ERRNO ? e : 0]);
	if (!documented(e, w->rel))
		INC(bad_errs[e > 0 && e < MAX_ERRNO ? e : 0]);
	/* C-style escapes, so that NULs and newlines stay visible */
	for (i = 0; buf && i < n; i++) {
		unsigned char c = buf[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			*p++ = c;
		else
			p += sprintf(p, "\\x%02x", c);
	}
	if (n < len)
		p += sprintf(p, "...(%zu bytes)", len);
	*p = 0;
	report(!documented(e, w->rel), "%s: %s %s: %s%s%s%s", w->rel, op_name[w->op],
	       call, errname(e), buf ? " wrote \"" : "", esc, buf ? "\"" : "");
}

/* -x matches a basename, or the end of a path at a '/' */
static bool excluded(const char *path)
{
	size_t pl = strlen(path), xl;
	int i;

	for (i = 0; i < nexcl; i++) {
		xl = strlen(excl[i]);
		if (!strcmp(base_of(path), excl[i]) ||
		    (xl <= pl && !strcmp(path + pl - xl, excl[i]) &&
		     (xl == pl || excl[i][0] == '/' || path[pl - xl - 1] == '/')))
			return true;
	}
	return false;
}

/*
 * Add the regular files of ROOT/sub to @l. Depth 0 is ROOT, of whose dirs
 * only vms/ is entered; depth 1 is vms/, each dir of which is a VM's.
 * What vanishes meanwhile is left out.
 */
static void list_dir(struct list *l, const char *sub, int depth)
{
	char path[PATH_MAX + REL_LEN], rel[REL_LEN];
	struct dirent *de;
	struct stat st;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", root, sub);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    snprintf(rel, sizeof(rel), "%s%s%s", sub, *sub ? "/" : "",
			     de->d_name) >= (int)sizeof(rel) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, rel);
		if (S_ISREG(st.st_mode) && l->nfiles < MAX_FILES && !excluded(path))
			strcpy(l->files[l->nfiles++], rel);
		if (!S_ISDIR(st.st_mode) || depth == 2 ||
		    (!depth && strcmp(de->d_name, "vms")))
			continue;
		if (depth == 1 && l->nvms < MAX_VMS)
			l->vms[l->nvms++] = atoi(de->d_name);
		list_dir(l, rel, depth + 1);
	}
	if (d)
		closedir(d);
}

/* Only main() lists; workers copy what they need under the lock. */
static struct list *relist(void)
{
	struct list *l = calloc(1, sizeof(*l)), *old;

	if (!l)
		return NULL;
	list_dir(l, "", 0);
	pthread_mutex_lock(&list_lock);
	old = cur;
	cur = l;
	pthread_mutex_unlock(&list_lock);
	maxfiles = l->nfiles > maxfiles ? l->nfiles : maxfiles;
	maxvms = l->nvms > maxvms ? l->nvms : maxvms;
	if (old && (old->nfiles != l->nfiles || old->nvms != l->nvms))
		report(false, "list: %d files, %d VM dirs", l->nfiles, l->nvms);
	free(old);
	return l;
}

/* A pid for vms/add or vms/remove, whatever the ABI says of the result. */
static long long pick_pid(struct worker *w)
{
	char proc[32];
	int i, pid = 0;

	switch (below(w, 10)) {
	case 0: return getpid();
	case 1: return syscall(SYS_gettid);	/* a tid, not a pid */
	case 2: return 1;
	case 3: return 0;
	case 4: return dead_pid;
	case 5: return -1;
	case 6: return 4194305;			/* above any pid_max */
	case 7:					/* a managed VM */
		pthread_mutex_lock(&list_lock);
		if (cur->nvms)
			pid = cur->vms[below(w, cur->nvms)];
		pthread_mutex_unlock(&list_lock);
		return pid;
	}
	/* a live one (most are older); 16 draws always, to keep the sequence */
	for (i = 0; i < 16; i++) {
		snprintf(proc, sizeof(proc), "/proc/%u", 2 + below(w, getpid()));
		if (!pid && !access(proc, F_OK))
			pid = atoi(proc + 6);
	}
	return pid;
}

static const char *const numbers[] = {
	"0", "1", "-1", "2", "10", "100", "9999", "10000", "10001", "10000000",
	"10000001", "4294967295", "4294967296", "18446744073709551615",
	"18446744073709551616", "999999999999999999999999999999", "0x10",
	"0X1", "010", "+1", " 1", "1 ", "1\n\n", "\n", "1a", "0.5", "",
};

static const char *const cpulists[] = {
	"0", "0-1", "1,3", "0-1000", "3-1", "", ",", "0-", "-1", "0,,1", "0-0",
	"1-1", "0-3:2", "0-3\n", "4095", "8192", "all", "2-7,10", " 0", "0 ",
};

static const char *const modes[] = {
	"performance", "energy", "resource", "PERFORMANCE", "perf",
	"[performance]", "energy resource", "performanc", "resourcex",
};

/* A value that looks right for the file; one time in 4, for another file. */
static size_t plausible(struct worker *w, char *out, size_t size)
{
	const char *base = base_of(w->rel);
	size_t bl = strlen(base);
	int kind = 3, len;

	if (bl >= 4 && !strcmp(base + bl - 4, "cpus"))
		kind = 0;
	else if (!strcmp(base, "mode"))
		kind = 1;
	else if (!strcmp(base, "add") || !strcmp(base, "remove"))
		kind = 2;
	if (!below(w, 4))
		kind = below(w, 4);
	if (kind == 2)
		len = snprintf(out, size, "%lld", pick_pid(w));
	else
		len = snprintf(out, size, "%s", kind == 0 ? PICK(w, cpulists) :
			       kind == 1 ? PICK(w, modes) : PICK(w, numbers));
	if (below(w, 2) && len + 1 < (int)size)
		out[len++] = '\n';
	return len;
}

/* To EOF in random sizes (a seq_file and a bin file cut differently). */
static void do_read(struct worker *w, const char *path)
{
	char buf[8192], last = '\n';
	size_t total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		failed(w, "open", NULL, 0);
		return;
	}
	while ((n = read(fd, buf, 1 + below(w, sizeof(buf)))) > 0) {
		total += n;
		last = buf[n - 1];
		if (total > READ_LIMIT) {
			report(true, "%s: read: more than 1 MiB", w->rel);
			break;
		}
	}
	if (n < 0)
		failed(w, "read", NULL, 0);
	else if (!n && last != '\n' && strcmp(base_of(w->rel), "threads") &&
		 strcmp(base_of(w->rel), "thread_stats"))
		report(true, "%s: read: %zu bytes, the last 0x%02x, not '\\n'",
		       w->rel, total, (unsigned char)last);
	if (pread(fd, buf, 1 + below(w, sizeof(buf)), below(w, 2 * total + 64)) < 0)
		failed(w, "pread", NULL, 0);
	close(fd);
}

/* The bytes for a write operation. */
static size_t fill(struct worker *w, char *buf)
{
	static const char tokens[] = "0123456789-,+ x\n";	/* and NUL */
	static const char *const pats[] = { "1", "1,", "0-1,", " ", "9" };
	const char *p;
	size_t i, len;

	switch (w->op) {
	case OP_RANDOM:		/* half of them ones a parser looks at */
		len = below(w, 65);
		for (i = 0; i < len; i++)
			buf[i] = below(w, 2) ? PICK(w, tokens) : (char)below(w, 256);
		return len;
	case OP_LONG:		/* over a page, nearly valid: a length check */
		p = PICK(w, pats);
		len = 4096 + below(w, 4097);
		for (i = 0; i < len; i++)
			buf[i] = p[i % strlen(p)];
		if (below(w, 2))
			buf[len - 1] = '\n';
		return len;
	default:
		return plausible(w, buf, 64);
	}
}

/* Split: in two write()s on one fd ("0-", "3\n"), then a pwrite past 0. */
static void do_write(struct worker *w, const char *path)
{
	char buf[8192];
	size_t len = fill(w, buf), k = w->op == OP_SPLIT ? below(w, len + 1) : len;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0) {
		failed(w, "open", buf, len);
		return;
	}
	if (write(fd, buf, k) < 0)
		failed(w, w->op == OP_SPLIT ? "write1" : "write", buf, k);
	if (w->op == OP_SPLIT && write(fd, buf + k, len - k) < 0)
		failed(w, "write2", buf + k, len - k);
	if (w->op == OP_SPLIT && pwrite(fd, buf, len, 1 + below(w, 8192)) < 0)
		failed(w, "pwrite", buf, len);
	close(fd);
}

static void *worker(void *arg)
{
	char path[PATH_MAX + REL_LEN];
	struct worker *w = arg;
	bool any;

	while (now_ns() < deadline) {
		pthread_mutex_lock(&list_lock);
		any = cur->nfiles;
		if (any)
			strcpy(w->rel, cur->files[below(w, cur->nfiles)]);
		pthread_mutex_unlock(&list_lock);
		if (!any) {			/* ROOT gone (rmmod) */
			usleep(10000);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", root, w->rel);
		w->op = below(w, NR_OPS);
		if (w->op == OP_READ)
			do_read(w, path);
		else
			do_write(w, path);
		INC(ops[w->op]);
	}
	return NULL;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return d ? n : -1;
}

static void summary(int nthreads)
{
	unsigned long total = 0;
	int i;

	for (i = 0; i < NR_OPS; i++)
		total += ops[i];
	printf("vs_fuzz: %lu ops by %d threads:", total, nthreads);
	for (i = 0; i < NR_OPS; i++)
		printf(" %s %lu", op_name[i], ops[i]);
	printf("\nvs_fuzz: up to %d files, %d VM dirs\nvs_fuzz: errors:",
	       maxfiles, maxvms);
	for (i = 0; i < MAX_ERRNO; i++)
		if (errs[i])
			printf(" %s %lu%s", i ? errname(i) : "other", errs[i],
			       bad_errs[i] ? "(!)" : "");
	printf("\nvs_fuzz: %lu unexpected\n", unexpected);
}

static int usage(void)
{
	fprintf(stderr, "usage: vs_fuzz [-r ROOT] [-t SECONDS] [-j THREADS] "
		"[-s SEED] [-v] [-x FILE...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct worker ws[MAX_THREADS];
	unsigned long long z, seed = time(NULL) ^ (unsigned long long)getpid() << 32;
	int secs = 10, nthreads = 4, stuck = 0;
	int fds, i, c;
	struct timespec stop;
	struct stat st;
	long long left;

	while ((c = getopt(argc, argv, "r:t:j:s:vx:")) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 't': secs = atoi(optarg); break;
		case 'j': nthreads = atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'v': verbose = 1; break;
		case 'x':
			if (nexcl == MAX_EXCL)
				return usage();
			excl[nexcl++] = optarg;
			break;
		default: return usage();
		}
	}
	/* "-x a b": the FILEs after the options are more of -x's */
	for (; optind < argc && nexcl && nexcl < MAX_EXCL; optind++)
		excl[nexcl++] = argv[optind];
	if (optind < argc || secs <= 0 || nthreads <= 0 || nthreads > MAX_THREADS)
		return usage();
	errno = 0;
	if (stat(root, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "vs_fuzz: %s: %s\n", root,
			strerror(errno ? errno : ENOTDIR));
		return 2;
	}
	if (!relist() || !cur->nfiles) {
		fprintf(stderr, "vs_fuzz: %s: no files to fuzz\n", root);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("vs_fuzz: root %s, %d s, %d threads, seed %llu, %d files\n",
	       root, secs, nthreads, seed, cur->nfiles);
	dead_pid = fork();		/* a pid surely free: our child, reaped */
	if (!dead_pid)
		_exit(0);
	waitpid(dead_pid, NULL, 0);
	fds = count_fds();
	deadline = now_ns() + secs * NSEC;
	for (i = 0; i < nthreads; i++) {
		/* splitmix64 of seed and i: distinct streams, never zero */
		z = seed + (i + 1) * 0x9E3779B97F4A7C15ULL;
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		ws[i].rng = (z ^ (z >> 31)) | 1;
		if (pthread_create(&ws[i].th, NULL, worker, &ws[i])) {
			fprintf(stderr, "vs_fuzz: cannot start threads\n");
			return 2;
		}
	}
	/* This thread is the lister. */
	while ((left = deadline - now_ns()) > 0) {
		usleep((left < LIST_NS ? left : LIST_NS) / 1000);
		relist();
	}
	/* A thread stuck in the kernel is a finding, not a reason to hang. */
	clock_gettime(CLOCK_REALTIME, &stop);
	stop.tv_sec += 5;
	for (i = 0; i < nthreads; i++) {
		if (!pthread_timedjoin_np(ws[i].th, NULL, &stop))
			continue;
		report(true, "%s: %s: thread %d still blocked 5 s after the end",
		       ws[i].rel, op_name[ws[i].op], i);
		stuck++;
	}
	/* Only with every worker gone is the fd count meaningful. */
	c = stuck ? fds : count_fds();
	if (fds >= 0 && c != fds)
		report(true, "%d fds open at the start, %d at the end", fds, c);
	summary(nthreads);
	return unexpected ? 1 : 0;
}
