/* cgroup_tmp.h: a scratch cgroup v2 directory below the caller's own
 * cgroup, for placing one child (CLONE_INTO_CGROUP, POSIX_SPAWN_SETCGROUP),
 * removed again once that child is reaped.  It is created empty, with no
 * controllers, and holds only the children the caller puts in it. */
#ifndef SPAWNLAB_CGROUP_TMP_H
#define SPAWNLAB_CGROUP_TMP_H

#include <stddef.h>

struct cgroup_tmp {
	char dir[4096];  /* the directory in the cgroup2 mount */
	char path[4096]; /* the same cgroup as /proc/PID/cgroup shows it ("/a/b") */
	char own[4096];  /* the caller's cgroup, as /proc/self/cgroup shows it */
	int fd;          /* O_DIRECTORY fd of dir, or -1 */
};

/* Create one.  0; -1 with ERR when making it failed; -2 (STEP_UNSUPPORTED)
 * with the reason when there is no cgroup2 mount to make it in. */
int cgroup_tmp_make(struct cgroup_tmp *cg, char *err, size_t errlen);
/* Close its fd and remove it, retrying for up to a second while the kernel
 * still counts an exited child in it.  0, or -1 (errno). */
int cgroup_tmp_remove(struct cgroup_tmp *cg);

#endif
