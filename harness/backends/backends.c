/* backends.c: the table of backends, in presentation order. */
#include <errno.h>
#include <string.h>

#include "backends/backend.h"

const struct backend *const sl_backends[] = {
	&backend_fork, &backend_vfork, &backend_posix_spawn, &backend_clone3, &backend_pidfd_spawn, &backend_pdspawn,
	NULL,
};

const struct backend_trait_name sl_trait_names[] = {
	{"exact_fds", BT_EXACT_FDS},
	{"pidfd", BT_PIDFD},
	{"exit_signal_0", BT_EXIT_SIGNAL_0},
	{"file_actions", BT_FILE_ACTIONS},
	{"shares_memory", BT_SHARES_MEMORY},
	{NULL, 0},
};

static int none_available(char *why, size_t len)
{
	(void)why;
	(void)len;
	return 1;
}

static int none_spawn(const struct spawn_req *req, struct spawn_res *res)
{
	(void)req;
	(void)res;
	errno = ENOSYS; /* a case with `backends none` spawns through no backend */
	return -1;
}

const struct backend backend_none = {
	.name = "none",
	.summary = "no backend: the case's experiment makes its own children",
	.traits = 0,
	.available = none_available,
	.spawn = none_spawn,
};

const struct backend *backend_at(size_t b)
{
	return b < backend_count() ? sl_backends[b] : &backend_none;
}

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
	if (backend_has(be, BT_EXACT_FDS))
		for (int fd = 0; fd < 3; fd++)
			req->map[req->nmap++] = (struct sl_fdmap){fd, fd};
}

int backend_has(const struct backend *be, unsigned traits)
{
	return (be->traits & traits) == traits;
}

/* Add SRC:DST to REQ's map, replacing an entry for the same DST. */
static void map_put(struct spawn_req *req, struct sl_fdmap m)
{
	for (size_t j = 0; j < req->nmap; j++)
		if (req->map[j].dst == m.dst) {
			req->map[j] = m;
			return;
		}
	if (req->nmap < SL_MAX_FDMAP)
		req->map[req->nmap++] = m;
}

void backend_request(struct spawn_req *req, const struct backend *be, const struct sl_fdplan *plan)
{
	int exact = backend_has(be, BT_EXACT_FDS);
	if (exact && plan->stdio)
		for (int fd = 0; fd < 3; fd++)
			map_put(req, (struct sl_fdmap){fd, fd});
	for (size_t i = 0; i < plan->nmap; i++)
		if (exact || plan->map[i].src != plan->map[i].dst)
			map_put(req, plan->map[i]);
	for (size_t i = 0; i < plan->nkeep; i++) {
		if (exact)
			map_put(req, (struct sl_fdmap){plan->keep[i], plan->keep[i]});
		else
			req->keep[req->nkeep++] = plan->keep[i];
	}
	if (!exact) {
		memcpy(req->close, plan->close, plan->nclose * sizeof *req->close);
		req->nclose = plan->nclose;
		req->closefrom = plan->closefrom;
	}
}
