/* exec_modes.h: the executor's two modes (exec_clone.c, exec_fd.c). */
#ifndef SPAWNLAB_EXEC_MODES_H
#define SPAWNLAB_EXEC_MODES_H

#include <stddef.h>

#include "executor.h"

/* Set up, fill the mode's part of the hello; 0, or -1 with ERR. */
int exec_clone_init(struct exec_hello *h, char *err, size_t errlen);
int exec_fd_init(const char *observer, struct exec_hello *h, char *err, size_t errlen);

/* Run one request; the answer is always filled. */
void exec_clone_run(const struct exec_clone_req *q, struct exec_clone_res *a, struct exec_stats *st);
void exec_fd_run(const struct exec_fd_req *q, struct exec_fd_res *a, struct exec_stats *st);

/* Remove the fd mode's scratch folder. */
void exec_fd_fini(void);

#endif
