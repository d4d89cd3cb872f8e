/* backend_child.c: see backend_child.h. */
#include "backend_child.h"

#include <unistd.h>

void backend_child_exec(const struct spawn_req *req)
{
	for (size_t i = 0; i < req->nmap; i++)
		if (req->map[i].src != req->map[i].dst && dup2(req->map[i].src, req->map[i].dst) < 0)
			_exit(127);
	execve(req->path, req->argv, req->envp);
	_exit(127);
}
