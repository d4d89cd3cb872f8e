/* eintr.h: the EINTR interruption matrix (experiment_eintr.c).
 *
 * A row is one blocking call in one state (eintr_calls.c): the controller
 * (the spawner) sets it up, a forked "blocked party" process enters the
 * call, the controller checks in /proc that it really is asleep in the
 * expected system call, interrupts it in one of four ways (eintr_modes.c),
 * then makes the call completable ("wake") and records what the call
 * returned.  The blocked party is a separate process so that SIGSTOP stops
 * it and not the controller. */
#ifndef SPAWNLAB_EINTR_H
#define SPAWNLAB_EINTR_H

#include <mqueue.h>
#include <semaphore.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/step_ctx.h"

/* The rows, in table order; the experiment's call= choices. */
#define EINTR_CALLS(X)                                                                                        \
	X(pipe_read) X(pipe_readv) X(pipe_write) X(pipe_writev) X(pipe_write_partial)                         \
	X(sock_read) X(sock_readv) X(sock_write) X(sock_writev) X(sock_write_partial)                         \
	X(pty_read) X(pty_readv) X(pty_write) X(pty_writev)                                                   \
	X(fifo_open)                                                                                          \
	X(wait) X(wait4) X(waitpid) X(waitid)                                                                 \
	X(accept) X(accept_rcvtimeo) X(connect) X(connect_sndtimeo)                                           \
	X(recv) X(recv_rcvtimeo) X(recvfrom) X(recvfrom_rcvtimeo) X(recvmsg) X(recvmsg_rcvtimeo)              \
	X(recvmmsg) X(recvmmsg_rcvtimeo)                                                                      \
	X(send) X(send_sndtimeo) X(sendto) X(sendto_sndtimeo) X(sendmsg) X(sendmsg_sndtimeo)                  \
	X(flock) X(fcntl_setlkw) X(fcntl_ofd_setlkw)                                                          \
	X(mq_receive) X(mq_timedreceive) X(mq_send) X(mq_timedsend)                                           \
	X(futex_wait) X(futex_wait_timeout) X(sem_wait) X(sem_timedwait)                                      \
	X(inotify_read) X(getrandom)                                                                          \
	X(pause) X(sigsuspend) X(sigtimedwait) X(sigwaitinfo)                                                 \
	X(epoll_wait) X(epoll_pwait) X(poll) X(ppoll) X(select) X(pselect)                                    \
	X(msgrcv) X(msgsnd) X(semop) X(semtimedop)                                                            \
	X(nanosleep) X(clock_nanosleep_rel) X(clock_nanosleep_abs) X(usleep) X(sleep)                         \
	X(io_getevents) X(eventfd_read) X(pidfd_poll)

#define EINTR_ENUM(n) EC_##n,
enum eintr_call_id { EINTR_CALLS(EINTR_ENUM) EC_COUNT };
#define EINTR_CHOICE(n) #n "|"
#define EINTR_CALL_CHOICES EINTR_CALLS(EINTR_CHOICE) "all"

/* What the blocked party reports, in a MAP_SHARED page. */
struct eintr_shared {
	volatile int handled;    /* handler runs of the interrupting signal */
	volatile int woken;      /* handler runs of the wake signal (pause rows) */
	volatile int entered;    /* about to enter the call */
	volatile int returned;   /* the call returned; the fields below are set */
	long ret;
	int err;
	long rem_ns;             /* remaining time the call reported, or -1 */
	long elapsed_us;
	pid_t grandchild;        /* G: a child of the blocked party (wait rows) */
	pid_t sigchild;          /* C: the child whose exit raises SIGCHLD */
	int prep_err;            /* errno of a failed preparation in the blocked party */
	char prep_what[64];
	uint32_t futex;
	sem_t sem;
};

/* Everything a row's set-up made; the controller owns it, the blocked
 * party inherits it across fork. */
struct eintr_env {
	struct eintr_shared *sh;
	int fd[4];          /* row-specific; -1 when unused */
	int gate[2];        /* G reads gate[0] and exits at EOF */
	int ipc;            /* SysV message queue id, -1 */
	int semset;         /* SysV semaphore set id, -1 */
	mqd_t mq;
	char mqname[48];
	char path[256];     /* a file, FIFO or socket in $tmp */
	char *buf;
	size_t len;         /* bytes the call transfers */
	uint64_t aio;       /* aio_context_t of the blocked party */
	long timeout_ms;    /* sleep rows: how long the call sleeps */
};

enum eintr_want {
	W_VAL,   /* the call returns `want` */
	W_LEN,   /* the call returns e->len (a whole transfer) */
	W_NONNEG, /* the call returns a descriptor or count >= 0 */
	W_PID,   /* the call returns G's pid */
	W_EINTR, /* -1/EINTR from the wake signal's handler (pause, sigsuspend) */
};

#define EF_PARTIAL 1u   /* a transfer that can return a partial count */
#define EF_SLEEP3 2u    /* sleep(3): returns the seconds left */
#define EF_REM 4u       /* reports the remaining time (rem_ns) */

struct eintr_call {
	const char *name;
	int nr[2];          /* the system call it sleeps in (/proc/.../syscall); 0 if unused */
	unsigned flags;
	/* Controller, before the fork.  0, -1 (set-up broke) or
	 * STEP_UNSUPPORTED, with the reason in err. */
	int (*setup)(struct eintr_env *e, char *err, size_t errlen);
	/* Blocked party, right before the call; -1 with errno on failure. */
	int (*prep)(struct eintr_env *e);
	long (*call)(struct eintr_env *e);
	/* Controller: make the call completable.  -1 with errno on failure. */
	int (*wake)(struct eintr_env *e, pid_t party);
	enum eintr_want want_kind;
	long want;
};

extern const struct eintr_call eintr_calls[EC_COUNT];
void eintr_env_init(struct eintr_env *e, struct eintr_shared *sh);
void eintr_env_cleanup(struct eintr_env *e);

/* Interruption modes (eintr_modes.c); the order is the experiment's mode= choices. */
enum eintr_mode { EM_HANDLER, EM_RESTART, EM_STOPCONT, EM_SIGCHLD };
extern const char *const eintr_mode_names[];

#define EINTR_SIG SIGUSR1  /* the interrupting signal in handler/restart modes */
#define EINTR_WAKESIG SIGUSR2

/* In the blocked party: install the mode's dispositions.  classic_parent:
 * sigchld mode with a SIGCHLD handler (else SIG_DFL, as a pidfd parent). */
int eintr_mode_arm(enum eintr_mode m, int classic_parent, struct eintr_shared *sh);
/* In the blocked party, sigchld mode: spawn C (`WAITER --wait-eof`, the
 * build's waiter) through the backend; it exits when gate_r reaches EOF.
 * Returns its pid, or -1 with errno. */
pid_t eintr_spawn_sigchild(const struct backend *be, const char *waiter, int gate_r);

/* /proc/PID/task/PID: the state letter and the syscall number (-1 when
 * running); 0, or -1 if the task is gone. */
int eintr_proc(pid_t pid, char *state, long *nr);
/* The pause between two looks of a bounded poll (200 us): short next to a
 * handler's or a state change's latency, long enough not to take a core. */
void eintr_nap(void);
/* Poll until PID sleeps ('S') in one of NR[] (or restart_syscall when
 * allow_restart), the call returned, or DEADLINE.  1 blocked, 0 returned,
 * -1 time is up. */
int eintr_wait_blocked(pid_t pid, const int nr[2], int allow_restart, struct eintr_shared *sh, uint64_t deadline_ms);
/* Poll for a state letter ('T', or 'Z' for a zombie; gone counts as 'Z'). */
int eintr_wait_state(pid_t pid, char want, uint64_t deadline_ms);

#endif
