/* sys.c: raw system call wrappers; see sys.h. */
#include "sys/sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int sl_pidfd_open(pid_t pid, unsigned flags)
{
	return (int)syscall(__NR_pidfd_open, pid, flags);
}

int sl_pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned flags)
{
	return (int)syscall(__NR_pidfd_send_signal, pidfd, sig, info, flags);
}

int sl_pidfd_getfd(int pidfd, int fd, unsigned flags)
{
	return (int)syscall(__NR_pidfd_getfd, pidfd, fd, flags);
}

int sl_close_range(unsigned first, unsigned last, unsigned flags)
{
	return (int)syscall(__NR_close_range, first, last, flags);
}

long sl_clone3(struct sl_clone_args *args, size_t size)
{
	return syscall(__NR_clone3, args, size);
}

static pid_t pid_from_fdinfo(int pidfd)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	pid_t pid = -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "Pid:", 4) == 0) {
			pid = (pid_t)strtol(line + 4, NULL, 10);
			break;
		}
	fclose(f);
	return pid > 0 ? pid : -1;
}

pid_t sl_pidfd_pid(int pidfd)
{
	struct sl_pidfd_info info;
	int saved = errno;
	memset(&info, 0, sizeof info);
	info.mask = SL_PIDFD_INFO_PID;
	if (ioctl(pidfd, SL_PIDFD_GET_INFO, &info) == 0 && (info.mask & SL_PIDFD_INFO_PID) && info.pid > 0) {
		errno = saved;
		return (pid_t)info.pid;
	}
	pid_t pid = pid_from_fdinfo(pidfd);
	errno = saved;
	return pid;
}
