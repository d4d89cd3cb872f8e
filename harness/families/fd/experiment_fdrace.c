/* experiment_fdrace.c: the close-on-exec race, measured.
 *
 * THREADS helper threads create fds in a loop while this thread spawns
 * `probe --count-fds` SPAWNS times through the backend; each child exits
 * with the number of fds it has beyond 0, 1 and 2, so every child that
 * exits non-zero caught a helper's fd.  The modes:
 *   nonatomic  create without the flag, then fcntl(F_SETFD, FD_CLOEXEC):
 *              a spawn between the two leaks the fd into the child;
 *   atomic     create with O_CLOEXEC / SOCK_CLOEXEC: nothing can leak;
 *   plain      never set the flag: built to leak.  Each thread creates its
 *              next fd before it closes the previous one, and the first
 *              spawn waits until every thread holds one, so every classic
 *              child sees at least one: leaky_children = spawns exactly.
 * pdspawn closes everything it does not map, so it expects 0 in every mode.
 * The helpers keep running while the spawner is inside vfork or a
 * CLONE_VM|CLONE_VFORK clone: that is the point.  The child only execs, and
 * the helpers never touch the spawner's stack. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/child_wait.h"
#include "families/experiments.h"
#include "lib/util.h"

#define MAX_SPAWNS 1000000
#define MAX_THREADS 16

enum race_mode { MODE_NONATOMIC, MODE_ATOMIC, MODE_PLAIN };
enum race_create { CREATE_OPEN, CREATE_PIPE, CREATE_SOCKET };

struct race {
	enum race_mode mode;
	enum race_create create;
	atomic_int stop;
	atomic_int ready;   /* threads holding their first fd */
	atomic_long made;   /* fds created by all helpers */
	atomic_int err;     /* first errno a helper hit */
};

/* One creation: up to two fds in OUT, -1 for none. */
static int create_fds(const struct race *r, int out[2])
{
	int cx = r->mode == MODE_ATOMIC;
	out[1] = -1;
	switch (r->create) {
	case CREATE_OPEN:
		out[0] = open("/dev/null", O_RDONLY | (cx ? O_CLOEXEC : 0));
		return out[0] < 0 ? -1 : 0;
	case CREATE_PIPE:
		return cx ? pipe2(out, O_CLOEXEC) : pipe(out);
	case CREATE_SOCKET:
		out[0] = socket(AF_UNIX, SOCK_STREAM | (cx ? SOCK_CLOEXEC : 0), 0);
		return out[0] < 0 ? -1 : 0;
	}
	return -1;
}

static void close_fds(int fds[2])
{
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void *helper(void *arg)
{
	struct race *r = arg;
	int held[2] = {-1, -1}, first = 1;
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		int fds[2];
		if (create_fds(r, fds) < 0) {
			int zero = 0;
			atomic_compare_exchange_strong(&r->err, &zero, errno);
			break;
		}
		/* The window: between the creation above and this fcntl, a
		 * spawn copies the fd table with the flag still clear. */
		if (r->mode == MODE_NONATOMIC)
			for (int i = 0; i < 2; i++)
				if (fds[i] >= 0)
					fcntl(fds[i], F_SETFD, FD_CLOEXEC);
		close_fds(held);
		held[0] = fds[0];
		held[1] = fds[1];
		atomic_fetch_add_explicit(&r->made, fds[1] >= 0 ? 2 : 1, memory_order_relaxed);
		if (first) {
			atomic_fetch_add(&r->ready, 1);
			first = 0;
		}
	}
	close_fds(held);
	return NULL;
}

/* The arguments of `run fd_race`, named where the spec below declares them. */
enum { FD_RACE_SPAWNS, FD_RACE_THREADS, FD_RACE_MODE, FD_RACE_CREATE };

static int exp_fd_race(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	long spawns = iv[FD_RACE_SPAWNS], nthreads = iv[FD_RACE_THREADS];
	if (spawns < 1 || spawns > MAX_SPAWNS || nthreads < 1 || nthreads > MAX_THREADS) {
		snprintf(err, errlen, "spawns must be 1..%d and threads 1..%d", MAX_SPAWNS, MAX_THREADS);
		return -1;
	}
	static struct race r;
	r.mode = (enum race_mode)iv[FD_RACE_MODE];
	r.create = (enum race_create)iv[FD_RACE_CREATE];
	char *argv[] = {(char *)ctx->probe, "--count-fds", NULL};
	char *envp[] = {NULL};
	struct spawn_req req;
	spawn_req_stdio(&req, ctx->be, ctx->probe, argv, envp);

	pthread_t th[MAX_THREADS];
	long started = 0;
	for (; started < nthreads; started++) {
		int e = pthread_create(&th[started], NULL, helper, &r);
		if (e) {
			snprintf(err, errlen, "pthread_create: %s", strerror(e));
			break;
		}
	}
	/* Every helper holds an fd before the first spawn (bounded). */
	while (started == nthreads && atomic_load(&r.ready) < nthreads && !atomic_load(&r.err) &&
	       mono_ms() + 100 < ctx->deadline_ms)
		sched_yield();

	long done = 0, failed = 0, leaky = 0, leaked = 0;
	uint64_t t0 = mono_us();
	for (; started == nthreads && done < spawns && !atomic_load(&r.err); done++) {
		if (mono_ms() + 200 >= ctx->deadline_ms)
			break;
		struct spawn_res res = {-1, -1, 0, 0};
		if (ctx->be->spawn(&req, &res) < 0 || res.err) {
			snprintf(err, errlen, "spawn failed: %s", strerror(res.err ? res.err : errno));
			failed++;
			break;
		}
		struct child_status st;
		child_wait(&res, (int)(ctx->deadline_ms - mono_ms()), &st);
		if (res.pidfd >= 0)
			close(res.pidfd);
		if (st.end != CHILD_EXITED || st.code > 250) {
			failed++;
			continue;
		}
		leaky += st.code > 0;
		leaked += st.code;
	}
	uint64_t t1 = mono_us();
	atomic_store(&r.stop, 1);
	for (long i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (started < nthreads)
		return -1;
	int herr = atomic_load(&r.err);
	if (herr) {
		snprintf(err, errlen, "a helper thread could not create an fd: %s", strerror(herr));
		return -1;
	}
	obs_put(ctx, "race.mode", "%s", sv[FD_RACE_MODE] ? sv[FD_RACE_MODE] : "nonatomic");
	obs_put(ctx, "race.create", "%s", sv[FD_RACE_CREATE] ? sv[FD_RACE_CREATE] : "open");
	obs_put(ctx, "race.complete", "%s", done == spawns ? "yes" : "no");
	obs_num(ctx, "spawns", (double)done);
	obs_num(ctx, "failed", (double)failed);
	obs_num(ctx, "threads", (double)nthreads);
	obs_num(ctx, "helper_fds", (double)atomic_load(&r.made));
	obs_num(ctx, "leaky_children", (double)leaky);
	obs_num(ctx, "leaked_fds", (double)leaked);
	obs_num(ctx, "leak_rate_ppm", done ? (double)(leaky * 1000000 / done) : 0);
	obs_num(ctx, "spawn_loop_ms", (double)((t1 - t0) / 1000));
	return failed && done == 0 ? -1 : 0;
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind fdrace_kinds[] = {
	{.name = "fd_race",
	 .summary = "helper threads create fds while SPAWNS children are spawned; count the children that caught one",
	 .args = {[FD_RACE_SPAWNS] = {"spawns", ARG_INT, 0, "10000", NULL},
		  [FD_RACE_THREADS] = {"threads", ARG_INT, 0, "2", NULL},
		  [FD_RACE_MODE] = {"mode", ARG_CHOICE, 0, "nonatomic", "nonatomic|atomic|plain"},
		  [FD_RACE_CREATE] = {"create", ARG_CHOICE, 0, "open", "open|pipe|socket"}},
	 .run = exp_fd_race,
	 .flags = KIND_ALONE,
	 .keys = "num.{failed,helper_fds,leak_rate_ppm,leaked_fds,leaky_children,spawn_loop_ms,spawns,threads} "
		 "race.{complete,create,mode}"},
	{0},
};
