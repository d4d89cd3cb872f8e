/* backends.c: the table of backends, in presentation order. */
#include <string.h>

#include "backend.h"

const struct backend *const sl_backends[] = {
	&backend_fork, &backend_vfork, &backend_posix_spawn, &backend_clone3, &backend_pidfd_spawn, &backend_pdspawn,
	NULL,
};

const struct backend *backend_find(const char *name)
{
	for (size_t i = 0; sl_backends[i]; i++)
		if (strcmp(sl_backends[i]->name, name) == 0)
			return sl_backends[i];
	return NULL;
}

size_t backend_count(void)
{
	return sizeof sl_backends / sizeof *sl_backends - 1;
}

void spawn_req_stdio(struct spawn_req *req, const struct backend *be, const char *path, char *const *argv,
		     char *const *envp)
{
	memset(req, 0, sizeof *req);
	req->path = path;
	req->argv = argv;
	req->envp = envp;
	if (be == &backend_pdspawn)
		for (int fd = 0; fd < 3; fd++)
			req->map[req->nmap++] = (struct sl_fdmap){fd, fd};
}
