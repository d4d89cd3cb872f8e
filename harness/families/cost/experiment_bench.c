/* experiment_bench.c: what a spawn costs through a backend as the parent
 * grows ("A fork() in the road", HotOS 2019), against the floor: a bare
 * vfork + execve of the same static child, measured in the same loop,
 * sample for sample, so both see the same machine.
 *
 * Per sample: the time from the spawn call until the child has exited and
 * been reaped ("reaped"), and until the child's first instruction in main
 * ("exec"; the child, build/tiny, writes its CLOCK_MONOTONIC time to fd 3).
 * The parent's memory is RSS_MIB of touched anonymous pages, either one
 * mapping ("touched") or alternating read-only and writable chunks
 * ("fragmented": as many VMAs as vm.max_map_count comfortably allows).
 * mode=throughput measures spawns per second with THREADS spawning
 * threads instead, in windows paired with the floor's (throughput()).
 * pdspawn_ignored=inherit passes PDSPAWN_INHERIT_IGNORED to pdspawn (the
 * other backends keep ignored signals anyway): the difference to the
 * default unit is what resetting the ignored signals costs.
 * A unit stops after RUNS samples or BUDGET_MS, whichever comes first
 * (fork of a 1 GiB fragmented parent takes hundreds of milliseconds), and
 * records how many samples it took. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "families/experiments.h"
#include "sys/sys.h"
#include "lib/util.h"

#define PAGE 4096UL
#define WARMUP 5
/* Samples taken past the budget when it ran out before them (a loaded
 * machine): the cases ask for at least this many (expect num.samples). */
#define MIN_SAMPLES 10

struct sample_env {
	const struct backend *be;
	char *path;
	int inherit_ignored; /* pdspawn_ignored=inherit: PDSPAWN_INHERIT_IGNORED */
};

/* A pipe whose write end the child gets as fd 3; both ends close-on-exec
 * and above the low numbers, so no backend sees an identity map entry. */
static int timing_pipe(int p[2])
{
	int raw[2];
	if (pipe2(raw, O_CLOEXEC) < 0)
		return -1;
	p[0] = fcntl(raw[0], F_DUPFD_CLOEXEC, 10);
	p[1] = fcntl(raw[1], F_DUPFD_CLOEXEC, 10);
	close(raw[0]);
	close(raw[1]);
	return p[0] < 0 || p[1] < 0 ? -1 : 0;
}

static double exec_time_us(int rfd, uint64_t t0_us)
{
	uint64_t ns = 0;
	if (read(rfd, &ns, sizeof ns) != (ssize_t)sizeof ns)
		return -1;
	return (double)(ns / 1000) - (double)t0_us;
}

/* The floor: vfork, dup2 the timing fd to 3, execve, reap. */
static int floor_sample(const struct sample_env *e, double *reaped, double *exec)
{
	int p[2];
	char *argv[] = {e->path, NULL}, *envp[] = {NULL};
	if (timing_pipe(p) < 0)
		return -1;
	uint64_t t0 = mono_us();
	pid_t pid = vfork();
	if (pid == 0) {
		if (dup2(p[1], 3) == 3)
			execve(e->path, argv, envp);
		_exit(127);
	}
	int st = 0;
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	uint64_t t2 = mono_us();
	close(p[1]);
	*reaped = (double)(t2 - t0);
	*exec = exec_time_us(p[0], t0);
	close(p[0]);
	return pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && *exec >= 0 ? 0 : -1;
}

/* Reap a backend's child as the floor reaps its own: one blocking wait,
 * through the pidfd when the backend gives one (waitid P_PIDFD, 5.4+),
 * else by pid.  The harness's child_wait() would add a poll with a
 * deadline, which the floor does not pay.  The wait is bounded all the
 * same: the unit runs in a sandbox that is killed at the case's timeout.
 * 0 if the child exited with status 0. */
static int reap(const struct spawn_res *res)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	idtype_t how = res->pidfd >= 0 ? (idtype_t)P_PIDFD : P_PID;
	id_t id = res->pidfd >= 0 ? (id_t)res->pidfd : (id_t)res->pid;
	int r;
	while ((r = waitid(how, id, &si, WEXITED | __WALL)) < 0 && errno == EINTR)
		;
	return r == 0 && si.si_code == CLD_EXITED && si.si_status == 0 ? 0 : -1;
}

static int backend_sample(const struct sample_env *e, double *reaped, double *exec)
{
	int p[2];
	char *argv[] = {e->path, NULL}, *envp[] = {NULL};
	if (timing_pipe(p) < 0)
		return -1;
	struct spawn_req req;
	memset(&req, 0, sizeof req);
	req.path = e->path;
	req.argv = argv;
	req.envp = envp;
	req.map[0] = (struct sl_fdmap){p[1], 3};
	req.nmap = 1;
	req.inherit_ignored = e->inherit_ignored;
	struct spawn_res res = {-1, -1, 0, 0};
	uint64_t t0 = mono_us();
	int r = e->be->spawn(&req, &res);
	int exited0 = r == 0 && res.err == 0 && reap(&res) == 0;
	uint64_t t2 = mono_us();
	if (res.pidfd >= 0)
		close(res.pidfd);
	close(p[1]);
	*reaped = (double)(t2 - t0);
	*exec = exec_time_us(p[0], t0);
	close(p[0]);
	return exited0 && *exec >= 0 ? 0 : -1;
}

static long max_map_count(void)
{
	char *s = read_file("/proc/sys/vm/max_map_count", 64, NULL);
	long v = s ? strtol(s, NULL, 10) : 65530;
	free(s);
	return v > 0 ? v : 65530;
}

static long count_vmas(void)
{
	size_t len = 0;
	char *s = read_file("/proc/self/maps", 64u << 20, &len);
	long n = 0;
	for (size_t i = 0; s && i < len; i++)
		n += s[i] == '\n';
	free(s);
	return n;
}

/* RSS_MIB of touched pages; fragmented: every other chunk read-only.
 * MAP_POPULATE faults the pages in for writing in one call (mm/gup.c
 * populate_vma_page_range: FOLL_WRITE on a writable private mapping, so
 * they are the mapping's own anonymous pages, not the zero page), which
 * on a guest where every page fault is a trip through the hypervisor
 * takes a third less time than a fault per page from memset; the memset
 * then writes every page as before. */
static void *grow_parent(size_t mib, int fragmented, size_t *len)
{
	*len = mib << 20;
	if (*len == 0)
		return NULL;
	char *m = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m == MAP_FAILED)
		return MAP_FAILED;
	memset(m, 1, *len);
	if (fragmented) {
		long budget = max_map_count() / 2 - 1000;
		size_t chunks = budget > 2 ? (size_t)budget : 2;
		size_t chunk = (*len / chunks + PAGE - 1) & ~(PAGE - 1);
		if (chunk < PAGE)
			chunk = PAGE;
		for (size_t off = chunk; off + chunk <= *len; off += 2 * chunk)
			if (mprotect(m + off, chunk, PROT_READ) < 0)
				break;
	}
	return m;
}

/* Throughput, paired like the latency samples: windows of WINDOW_MS in
 * which every thread spawns through the floor (vfork+execve), then
 * windows in which every thread spawns through the backend, in
 * alternating order, so that both see the same machine; the ratio of
 * each pair's rates (backend / floor) is summarised like the latency
 * ratios.  A machine shared with other work changes both rates of a pair
 * alike, so the ratio stays readable where the rates are not. */
#define WINDOW_MS 100

struct thr {
	const struct sample_env *e;
	int floor;
	uint64_t end_us;
	long ok;
	pthread_t t;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	while (mono_us() < t->end_us) {
		double r, x;
		if ((t->floor ? floor_sample(t->e, &r, &x) : backend_sample(t->e, &r, &x)) == 0)
			t->ok++;
	}
	return NULL;
}

/* CPU time this process and its reaped children have used, in us.  The
 * children's share comes in as they are reaped. */
static double cpu_us(void)
{
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	double us = 0;
	const struct timeval *tv[] = {&self.ru_utime, &self.ru_stime, &kids.ru_utime, &kids.ru_stime};
	for (size_t i = 0; i < sizeof tv / sizeof *tv; i++)
		us += (double)tv[i]->tv_sec * 1e6 + (double)tv[i]->tv_usec;
	return us;
}

/* One window: THREADS threads spawning through the floor or the backend;
 * spawns per second, or -1 if a thread could not start.  *CPU gets the
 * CPU time per spawn, parent and child together: unlike the rate, it
 * hardly moves when other work shares the machine. */
static double window(const struct sample_env *e, int threads, int floor, long *spawns, double *cpu)
{
	struct thr t[2];
	double c0 = cpu_us();
	uint64_t t0 = mono_us();
	int started = 0;
	for (int i = 0; i < threads; i++) {
		t[i] = (struct thr){e, floor, t0 + WINDOW_MS * 1000, 0, 0};
		if (pthread_create(&t[i].t, NULL, thr_main, &t[i]) != 0)
			break;
		started++;
	}
	long ok = 0;
	for (int i = 0; i < started; i++) {
		pthread_join(t[i].t, NULL);
		ok += t[i].ok;
	}
	double secs = (double)(mono_us() - t0) / 1e6;
	*spawns += ok;
	*cpu = ok > 0 ? (cpu_us() - c0) / (double)ok : 0;
	return started < threads ? -1 : secs > 0 ? (double)ok / secs : 0;
}

static void ratio_summary(struct step_ctx *ctx, const char *name, double *r, size_t n);
static double round3(double v);

static int throughput(struct step_ctx *ctx, struct sample_env *e, long runs, int threads, uint64_t budget_end,
		      char *err, size_t errlen)
{
	size_t max_pairs = (size_t)(runs / 2 + 1), n = 0;
	double *q = xcalloc(max_pairs, sizeof *q), *qc = xcalloc(max_pairs, sizeof *qc);
	double rate_b = 0, rate_f = 0, cpu_b = 0, cpu_f = 0;
	long spawns = 0, floor_spawns = 0;
	for (; n < max_pairs && mono_ms() + 2 * WINDOW_MS < budget_end && spawns < runs; n++) {
		double rb, rf, cb, cf;
		if (n & 1) {
			rb = window(e, threads, 0, &spawns, &cb);
			rf = window(e, threads, 1, &floor_spawns, &cf);
		} else {
			rf = window(e, threads, 1, &floor_spawns, &cf);
			rb = window(e, threads, 0, &spawns, &cb);
		}
		if (rb < 0 || rf < 0) {
			snprintf(err, errlen, "pthread_create failed");
			free(q);
			free(qc);
			return -1;
		}
		q[n] = rf > 0 ? rb / rf : 0;
		qc[n] = cf > 0 ? cb / cf : 0;
		rate_b += rb;
		rate_f += rf;
		cpu_b += cb;
		cpu_f += cf;
	}
	obs_num(ctx, "threads", threads);
	obs_num(ctx, "spawns", (double)spawns);
	obs_num(ctx, "windows", (double)n);
	obs_num(ctx, "throughput_per_s", n ? (double)(long)(rate_b / (double)n) : 0);
	obs_num(ctx, "floor_throughput_per_s", n ? (double)(long)(rate_f / (double)n) : 0);
	obs_num(ctx, "cpu_us_per_spawn", n ? round3(cpu_b / (double)n) : 0);
	obs_num(ctx, "floor_cpu_us_per_spawn", n ? round3(cpu_f / (double)n) : 0);
	if (n) {
		ratio_summary(ctx, "ratio_throughput", q, n);
		ratio_summary(ctx, "ratio_cpu", qc, n);
	}
	free(q);
	free(qc);
	return 0;
}

static int cmp_ratio(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double round3(double v)
{
	return (double)(long long)(v * 1000 + 0.5) / 1000;
}

/* The median of the per-sample ratios backend/floor, each sample paired
 * with the floor measured next to it, so that drift in the machine's
 * speed during the unit cancels; and the distribution-free 95% confidence
 * interval of that median (the order statistics n/2 -+ 0.98 sqrt(n),
 * rounded outwards), so that a reader can tell whether a goal such as
 * 1.1x is met or only met by luck.  Sorts R. */
static void ratio_summary(struct step_ctx *ctx, const char *name, double *r, size_t n)
{
	char key[64];
	qsort(r, n, sizeof *r, cmp_ratio);
	double root = n > 1 ? (double)n : 1; /* sqrt(n) by Newton: no libm for one call */
	for (int i = 0; i < 64; i++)
		root = (root + (double)n / root) / 2;
	double half = 0.98 * root;
	long lo = (long)((double)n / 2 - half), hi = (long)((double)n / 2 + half) + 1;
	if (lo < 0)
		lo = 0;
	if (hi > (long)n - 1)
		hi = (long)n - 1;
	obs_num(ctx, name, round3(r[(n + 1) / 2 - 1]));
	snprintf(key, sizeof key, "%s_ci_lo", name);
	obs_num(ctx, key, round3(r[lo]));
	snprintf(key, sizeof key, "%s_ci_hi", name);
	obs_num(ctx, key, round3(r[hi]));
}

/* The arguments of `run spawn_bench`, named where the spec below declares them. */
enum { SPAWN_BENCH_RSS_MIB, SPAWN_BENCH_LAYOUT, SPAWN_BENCH_CHILD, SPAWN_BENCH_RUNS, SPAWN_BENCH_THREADS, SPAWN_BENCH_MODE, SPAWN_BENCH_BUDGET_MS, SPAWN_BENCH_PDSPAWN_IGNORED };

static int exp_spawn_bench(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	size_t mib = (size_t)iv[SPAWN_BENCH_RSS_MIB];
	long runs = iv[SPAWN_BENCH_RUNS], threads = iv[SPAWN_BENCH_THREADS];
	if (mib > 4096 || runs < 10 || runs > 100000 || threads < 1 || threads > 2) {
		snprintf(err, errlen, "rss_mib 0..4096, runs 10..100000, threads 1..2");
		return -1;
	}
	struct sample_env e = {ctx->be, exp_program(ctx, iv[SPAWN_BENCH_CHILD] ? "tiny-dyn" : "tiny"),
			       iv[SPAWN_BENCH_PDSPAWN_IGNORED] == 1};
	if (access(e.path, X_OK) < 0) {
		snprintf(err, errlen, "%s: %s (is it built?)", e.path, strerror(errno));
		free(e.path);
		return -1;
	}
	size_t len;
	void *mem = grow_parent(mib, iv[SPAWN_BENCH_LAYOUT] == 1, &len);
	if (mem == MAP_FAILED) {
		snprintf(err, errlen, "mmap %zu MiB: %s", mib, strerror(errno));
		free(e.path);
		return -1;
	}
	obs_num(ctx, "rss_mib", (double)mib);
	obs_num(ctx, "vmas", (double)count_vmas());
	/* The budget decides when to stop starting samples, from here (not
	 * counting the parent's growth, which a loaded machine slows most);
	 * a sample already started may wait for its child until the unit's
	 * own deadline (a fork of a 1 GiB fragmented parent takes a few
	 * hundred milliseconds).  The hard end leaves the unit 2 s to report:
	 * past the budget, samples go on only until MIN_SAMPLES, up to it. */
	uint64_t hard_end = ctx->deadline_ms > 2000 ? ctx->deadline_ms - 2000 : 0;
	uint64_t budget_end = mono_ms() + (uint64_t)iv[SPAWN_BENCH_BUDGET_MS];
	if (budget_end > hard_end)
		budget_end = hard_end;
	int rc = 0;
	if (threads > 1 || iv[SPAWN_BENCH_MODE]) {
		rc = throughput(ctx, &e, runs, (int)threads, budget_end, err, errlen);
	} else {
		double *rb = xcalloc((size_t)runs, sizeof *rb), *xb = xcalloc((size_t)runs, sizeof *xb);
		double *rf = xcalloc((size_t)runs, sizeof *rf), *xf = xcalloc((size_t)runs, sizeof *xf);
		double *qr = xcalloc((size_t)runs, sizeof *qr), *qx = xcalloc((size_t)runs, sizeof *qx);
		long n = 0, failed = 0;
		for (long i = -WARMUP; i < runs; i++) {
			uint64_t now = mono_ms();
			if (now >= hard_end || (now >= budget_end && n >= MIN_SAMPLES))
				break;
			double a, b, c, d;
			/* Alternate which goes first, so neither always follows the
			 * other's page-cache and scheduler state. */
			int f1 = (i & 1) ? floor_sample(&e, &a, &b) : 0, s = backend_sample(&e, &c, &d);
			int f2 = (i & 1) ? 0 : floor_sample(&e, &a, &b);
			if (f1 < 0 || f2 < 0 || s < 0) {
				failed++;
				continue;
			}
			if (i < 0)
				continue;
			rf[n] = a;
			xf[n] = b;
			rb[n] = c;
			xb[n] = d;
			qr[n] = a > 0 ? c / a : 0;
			qx[n] = b > 0 ? d / b : 0;
			n++;
		}
		obs_num(ctx, "samples", (double)n);
		obs_num(ctx, "failed", (double)failed);
		exp_summarise(ctx, "reaped", rb, (size_t)n);
		exp_summarise(ctx, "exec", xb, (size_t)n);
		exp_summarise(ctx, "floor_reaped", rf, (size_t)n);
		exp_summarise(ctx, "floor_exec", xf, (size_t)n);
		if (n) {
			ratio_summary(ctx, "ratio_reaped", qr, (size_t)n);
			ratio_summary(ctx, "ratio_exec", qx, (size_t)n);
		}
		free(qr);
		free(qx);
		free(rb);
		free(xb);
		free(rf);
		free(xf);
		if (n == 0) {
			snprintf(err, errlen, "no sample succeeded (%ld failed)", failed);
			rc = -1;
		}
	}
	if (mem)
		munmap(mem, len);
	free(e.path);
	return rc;
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind bench_kinds[] = {
	{.name = "spawn_bench",
	 .summary = "spawn cost against parent size, each sample paired with the floor (bare vfork+execve)",
	 .args = {[SPAWN_BENCH_RSS_MIB] = {"rss_mib", ARG_INT, 0, "1", NULL},
		  [SPAWN_BENCH_LAYOUT] = {"layout", ARG_CHOICE, 0, "touched", "touched|fragmented"},
		  [SPAWN_BENCH_CHILD] = {"child", ARG_CHOICE, 0, "static", "static|dynamic"},
		  [SPAWN_BENCH_RUNS] = {"runs", ARG_INT, 0, "200", NULL},
		  [SPAWN_BENCH_THREADS] = {"threads", ARG_INT, 0, "1", NULL},
		  [SPAWN_BENCH_MODE] = {"mode", ARG_CHOICE, 0, "latency", "latency|throughput"},
		  [SPAWN_BENCH_BUDGET_MS] = {"budget_ms", ARG_INT, 0, "10000", NULL},
		  [SPAWN_BENCH_PDSPAWN_IGNORED] = {"pdspawn_ignored", ARG_CHOICE, 0, "reset", "reset|inherit"}},
	 .run = exp_spawn_bench,
	 .flags = KIND_ALONE,
	 .keys = "num.{floor_,}{exec,reaped}_{iqr,max,mean,median,min,p99}_us "
		 "num.ratio_{exec,reaped,throughput,cpu}{,_ci_lo,_ci_hi} num.{failed,rss_mib,samples,vmas} "
		 "num.{threads,spawns,windows} num.{floor_,}{throughput_per_s,cpu_us_per_spawn}"},
	{0},
};
