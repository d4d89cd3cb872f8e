/* backend_child.c: see backend_child.h. */
#include "backends/backend_child.h"

#include <errno.h>
#include <unistd.h>

#include "sys/libc_ext.h"
#include "sys/sys.h"

void backend_child_exec(const struct spawn_req *req)
{
	for (size_t i = 0; i < req->nmap; i++)
		if (req->map[i].src != req->map[i].dst && dup2(req->map[i].src, req->map[i].dst) < 0)
			_exit(127);
	/* dup2(fd, fd) only checks that fd is open: FD_CLOEXEC stays. */
	for (size_t i = 0; i < req->nkeep; i++)
		if (dup2(req->keep[i], req->keep[i]) < 0)
			_exit(127);
	for (size_t i = 0; i < req->nclose; i++)
		if (close(req->close[i]) < 0)
			_exit(127);
	if (req->closefrom > 0 && sl_close_range((unsigned)req->closefrom, ~0U, 0) < 0) {
		if (errno != ENOSYS)
			_exit(127);
		for (int fd = req->closefrom; fd < 65536; fd++)
			close(fd);
	}
	execve(req->path, req->argv, req->envp);
	_exit(127);
}

int backend_file_actions(const struct spawn_req *req, posix_spawn_file_actions_t *fa)
{
	int r = posix_spawn_file_actions_init(fa);
	if (r)
		return r;
	for (size_t i = 0; i < req->nmap && !r; i++)
		if (req->map[i].src != req->map[i].dst)
			r = posix_spawn_file_actions_adddup2(fa, req->map[i].src, req->map[i].dst);
	for (size_t i = 0; i < req->nkeep && !r; i++)
		r = posix_spawn_file_actions_adddup2(fa, req->keep[i], req->keep[i]);
	for (size_t i = 0; i < req->nclose && !r; i++)
		r = posix_spawn_file_actions_addclose(fa, req->close[i]);
	if (!r && req->closefrom > 0) {
		/* glibc 2.34+, where the libc has it (libc_ext.h). */
		addclosefrom_fn fn = libc_addclosefrom_np();
		r = fn ? fn(fa, req->closefrom) : ENOSYS;
	}
	if (r)
		posix_spawn_file_actions_destroy(fa);
	return r;
}
