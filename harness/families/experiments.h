/* experiments.h: the experiments' entry points and their table rows. */
#ifndef SPAWNLAB_EXPERIMENTS_H
#define SPAWNLAB_EXPERIMENTS_H

#include "core/case.h"
#include "core/step_ctx.h"

int exp_spawn_latency(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_SPAWN_LATENCY                                                                              \
	{"spawn_latency",                                                                                     \
	 "spawn COUNT children through the backend, each waited for before the next: latency per spawn",     \
	 {{"count", ARG_INT, 0, "200", NULL}, {"program", ARG_CHOICE, 0, "probe", "probe|true"}},            \
	 exp_spawn_latency}

int exp_spawn_bench(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_SPAWN_BENCH                                                                                \
	{"spawn_bench",                                                                                       \
	 "spawn cost against parent size, each sample paired with the floor (bare vfork+execve)",             \
	 {{"rss_mib", ARG_INT, 0, "1", NULL},                                                                 \
	  {"layout", ARG_CHOICE, 0, "touched", "touched|fragmented"},                                        \
	  {"child", ARG_CHOICE, 0, "static", "static|dynamic"},                                              \
	  {"runs", ARG_INT, 0, "200", NULL},                                                                  \
	  {"threads", ARG_INT, 0, "1", NULL},                                                                 \
	  {"mode", ARG_CHOICE, 0, "latency", "latency|throughput"},                                          \
	  {"budget_ms", ARG_INT, 0, "10000", NULL},                                                           \
	  {"pdspawn_ignored", ARG_CHOICE, 0, "reset", "reset|inherit"}},                                     \
	 exp_spawn_bench}

/* libc-level experiments (experiment_libc.c). */
int exp_libc_spawn(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
int exp_libc_system(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
int exp_libc_popen(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
int exp_libc_spawn_signals(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENTS_LIBC                                                                                      \
	{"libc_spawn",                                                                                        \
	 "posix_spawn called directly with file actions and SETSIGDEF/SETSIGMASK attributes",                 \
	 {{"program", ARG_CHOICE, 0, "probe", "probe|missing|noexec"},                                        \
	  {"actions", ARG_CHOICE, 0, "none",                                                                  \
	   "none|open_missing|dup2_badfd|dup2_then_close|close_then_dup2"},                                   \
	  {"sigdef", ARG_SIG, 0, NULL, NULL},                                                                 \
	  {"sigmask", ARG_SIG, 0, NULL, NULL}},                                                               \
	 exp_libc_spawn},                                                                                     \
	{"libc_system",                                                                                       \
	 "system() of a shell that copies the caller's signal state, then execs the probe",                   \
	 {{0}},                                                                                               \
	 exp_libc_system},                                                                                    \
	{"libc_popen",                                                                                        \
	 "an open popen() stream's fd in a second popen() child and in a backend's child",                    \
	 {{"mode", ARG_CHOICE, 0, "r", "r|re"}},                                                              \
	 exp_libc_popen},                                                                                     \
	{"libc_spawn_signals",                                                                                \
	 "spawn COUNT children while a thread signals the process group: where the caller's handler ran",     \
	 {{"count", ARG_INT, 0, "200", NULL}},                                                                \
	 exp_libc_spawn_signals}

/* Argument lists the runner cannot make (experiment_execargs.c). */
int exp_exec_args(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_EXEC_ARGS                                                                                  \
	{"exec_args",                                                                                         \
	 "spawn the probe with an empty argv, or argument lists at and over the kernel's limits",             \
	 {{"argv", ARG_CHOICE, 1, NULL, "empty|long_string|longest_string|over_limit|under_limit"}},          \
	 exp_exec_args}

/* What the libc does with an ENOEXEC file per calling function (experiment_execsearch.c). */
int exp_exec_search(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_EXEC_SEARCH                                                                                \
	{"exec_search",                                                                                       \
	 "a script without #! through posix_spawn, posix_spawnp, execv or execvp: ENOEXEC or the shell",      \
	 {{"call", ARG_CHOICE, 1, NULL, "posix_spawn|posix_spawnp|execv|execvp"},                             \
	  {"name", ARG_CHOICE, 0, "path", "path|bare"}},                                                      \
	 exp_exec_search}

/* posix_spawn attributes and file actions (experiment_spawnattr.c). */
int exp_spawn_attr(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_SPAWN_ATTR                                                                                 \
	{"spawn_attr",                                                                                        \
	 "posix_spawn or pidfd_spawn with one row of attributes and file actions (clone3: CLONE_INTO_CGROUP)", \
	 {{"row", ARG_CHOICE, 1, NULL,                                                                        \
	   "setsid|setpgroup_zero|setpgroup_join|setpgroup_missing|setsid_setpgroup|tcsetpgrp|"               \
	   "tcsetpgrp_setsid|chdir|chdir_missing|chdir_then_open|open_then_chdir|chdir_relative_chdir|"       \
	   "fchdir|fchdir_closed|chdir_relative_program|relative_program|setcgroup|setcgroup_not_cgroup"}},  \
	 exp_spawn_attr}

/* A CLONE_FILES-shared fd table under close_range and exec (experiment_fdshare.c). */
int exp_fd_share(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_FD_SHARE                                                                                   \
	{"fd_share",                                                                                          \
	 "a clone3(CLONE_FILES) child calls close_range (or, CLONE_VFORK too, execs): both sides' fds",       \
	 {{"row", ARG_CHOICE, 1, NULL,                                                                        \
	   "shared_close|unshare_close|shared_cloexec|unshare_cloexec|sparse_close|sparse_unshare|"           \
	   "rlimit_close|rlimit_cloexec|rlimit_unshare_cloexec|bad_flags|first_after_last|vfork_files_exec"}}, \
	 exp_fd_share}

/* What clone(2) flags share, and CLONE_VFORK's hold on the parent (experiment_cloneshare.c). */
int exp_clone_share(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_CLONE_SHARE                                                                                \
	{"clone_share",                                                                                       \
	 "a clone() child changes one thing (with the sharing flag or without), or execs/exits under CLONE_VFORK", \
	 {{"row", ARG_CHOICE, 1, NULL,                                                                        \
	   "vm|fs_cwd|fs_umask|files|sighand|sigmask|vfork_exec|vfork_vm_exec|vfork_exit|no_vfork|"           \
	   "sighand_without_vm|thread_without_sighand|fs_with_newns|newuser_with_fs|newpid_with_thread"},     \
	  {"share", ARG_CHOICE, 0, "yes", "yes|no"}},                                                         \
	 exp_clone_share}

/* pid namespaces nested in a private one (experiment_pidns.c). */
int exp_pid_ns(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_PID_NS                                                                                     \
	{"pid_ns",                                                                                            \
	 "set_tid at several levels and its capabilities, nested pid_max, fork after init, pid reuse",        \
	 {{"scenario", ARG_CHOICE, 1, NULL,                                                                   \
	   "set_tid_levels|set_tid_outer|set_tid_eexist|set_tid_invalid|caps_checkpoint_restore|"             \
	   "caps_sys_admin|caps_none|pid_max_outer|init_gone|reuse"}},                                        \
	 exp_pid_ns}

int exp_pidwrap(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_PIDWRAP                                                                                    \
	{"pidwrap",                                                                                           \
	 "force a pid to come round again in a private pid namespace; what a stale pid or pidfd reaches",    \
	 {{"scenario", ARG_CHOICE, 1, NULL,                                                                   \
	   "wrap|zombie|stale_kill|pidfd_open_race|waitpid_stale|proc_stale|pdspawn_api"},                   \
	  {"pid_max", ARG_INT, 0, "400", NULL},                                                               \
	  {"method", ARG_CHOICE, 0, "auto", "auto|pid_max|ns_last_pid|set_tid"}},                            \
	 exp_pidwrap}

int exp_fd_race(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_FD_RACE                                                                                    \
	{"fd_race",                                                                                           \
	 "helper threads create fds while SPAWNS children are spawned; count the children that caught one",   \
	 {{"spawns", ARG_INT, 0, "10000", NULL},                                                              \
	  {"threads", ARG_INT, 0, "2", NULL},                                                                 \
	  {"mode", ARG_CHOICE, 0, "nonatomic", "nonatomic|atomic|plain"},                                    \
	  {"create", ARG_CHOICE, 0, "open", "open|pipe|socket"}},                                            \
	 exp_fd_race}

/* SIGCHLD coalescing (experiment_sigchld.c, sigchld_*.c). */
extern const char sc_method_names[];
int exp_sigchld(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_SIGCHLD                                                                                    \
	{"sigchld",                                                                                           \
	 "CHILDREN exit (barrier, staggered, busy parent): what one notification method tells the parent",    \
	 {{"children", ARG_INT, 0, "10", NULL},                                                               \
	  {"pattern", ARG_CHOICE, 0, "barrier", "barrier|staggered|busy"},                                   \
	  {"method", ARG_CHOICE, 1, NULL, sc_method_names},                                                   \
	  {"child", ARG_CHOICE, 0, "direct", "direct|exec"},                                                 \
	  {"step_us", ARG_INT, 0, "100", NULL},                                                               \
	  {"release", ARG_CHOICE, 0, "helper", "helper|parent"}},                                            \
	 exp_sigchld}

/* The EINTR interruption matrix (experiment_eintr.c, eintr_*.c). */
extern const char eintr_call_names[];
int exp_eintr(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_EINTR                                                                                      \
	{"eintr",                                                                                             \
	 "a process blocked in CALL (verified in /proc) is interrupted per MODE; what the call returns",      \
	 {{"call", ARG_CHOICE, 1, NULL, eintr_call_names},                                                    \
	  {"mode", ARG_CHOICE, 1, NULL, "handler|restart|stopcont|sigchld"},                                 \
	  {"parent", ARG_CHOICE, 0, "classic", "classic|descriptor"}},                                     \
	 exp_eintr}

/* The pidfd API's details (experiment_pidfd_*.c, experiment_threads.c,
 * experiment_clone_flags.c; their child is build/pidfd-child, pidfd_kid.h). */
extern const char pidfd_info_scenarios[], pidfd_wait_scenarios[], pidfd_signal_scenarios[],
	threads_scenarios[], clone_flag_names[];
int exp_pidfd_info(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
int exp_pidfd_wait(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
int exp_pidfd_signal(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
int exp_threads(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
int exp_clone_flag(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENTS_PIDFD                                                                                     \
	{"pidfd_info",                                                                                        \
	 "ioctl(PIDFD_GET_INFO) and fdinfo of a backend's child: running, exited, reaped; sizes, non-pidfds",  \
	 {{"scenario", ARG_CHOICE, 1, NULL, pidfd_info_scenarios}},                                           \
	 exp_pidfd_info},                                                                                     \
	{"pidfd_wait",                                                                                        \
	 "waitid(P_PIDFD) on a backend's child: stopped, continued, killed, dumped; WNOHANG, O_NONBLOCK",      \
	 {{"scenario", ARG_CHOICE, 1, NULL, pidfd_wait_scenarios}},                                           \
	 exp_pidfd_wait},                                                                                     \
	{"pidfd_signal",                                                                                      \
	 "pidfd_send_signal and pidfd_getfd on a backend's child: siginfo, errors, exit signals",              \
	 {{"scenario", ARG_CHOICE, 1, NULL, pidfd_signal_scenarios}},                                         \
	 exp_pidfd_signal},                                                                                   \
	{"threads",                                                                                           \
	 "a multi-threaded child of the backend: leader exits first, a thread execs, PIDFD_THREAD",            \
	 {{"scenario", ARG_CHOICE, 1, NULL, threads_scenarios}},                                              \
	 exp_threads},                                                                                        \
	{"clone_flag",                                                                                        \
	 "one clone3 flag: known to this kernel or refused, and what it does where known",                     \
	 {{"flag", ARG_CHOICE, 1, NULL, clone_flag_names}},                                                   \
	 exp_clone_flag}

/* Helpers for experiments (experiment_util.c). */
/* Sort and summarise microsecond samples into num.<prefix>_{min,median,p99,max,iqr,mean}_us. */
void exp_summarise(struct step_ctx *ctx, const char *prefix, double *us, size_t n);
/* A set-up call of an experiment failed: that is a broken unit, not a
 * kernel observation (LTP's TBROK).  Writes "FILE:LINE: WHAT: strerror" to
 * ERR and returns -1, so `return EXP_BROKE(err, errlen, "pipe2");` reads as
 * the scenario.  errno is taken as it was on entry. */
int exp_broke_at(const char *file, int line, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#define EXP_BROKE(err, errlen, ...) exp_broke_at(__FILE__, __LINE__, (err), (errlen), __VA_ARGS__)

#endif
