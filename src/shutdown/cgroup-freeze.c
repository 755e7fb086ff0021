/* Freezing and thawing a cgroup v2 subtree (cgroup.freeze), for the suspend stage. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "shutdown.h"
#include "util.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

static int cgroup_path(const char *cgroup, const char *file, char **ret)
{
	while (*cgroup == '/')
		cgroup++;
	return asprintf(ret, CGROUP_ROOT "/%s%s%s", cgroup, *cgroup ? "/" : "", file) < 0 ?
		       -ENOMEM :
		       0;
}

/* Whether cgroup.events says "frozen want". */
static int events_frozen(int fd, bool want)
{
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	const char *p;

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	p = strstr(buf, "frozen ");
	if (!p)
		return -EOPNOTSUPP;
	return (p[7] == '1') == want;
}

int sd_cgroup_freeze(const char *cgroup, bool freeze, uint64_t timeout_usec)
{
	_cleanup_free_ char *ctl = NULL, *events = NULL;
	_cleanup_close_ int fd = -EBADF, efd = -EBADF;
	uint64_t deadline = now_usec() + timeout_usec;
	int r;

	if (!cgroup || strstr(cgroup, ".."))
		return -EINVAL;
	if (cgroup_path(cgroup, "cgroup.freeze", &ctl) < 0 ||
	    cgroup_path(cgroup, "cgroup.events", &events) < 0)
		return -ENOMEM;
	fd = open(ctl, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	efd = open(events, O_RDONLY | O_CLOEXEC);
	if (efd < 0)
		return -errno;
	if (write(fd, freeze ? "1" : "0", 1) != 1)
		return -errno;
	/* The kernel notifies a change of cgroup.events with POLLPRI. */
	for (;;) {
		struct pollfd p = { .fd = efd, .events = POLLPRI };
		uint64_t now = now_usec();

		r = events_frozen(efd, freeze);
		if (r != 0)
			return r < 0 ? r : 0;
		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)((deadline - now + 999) / 1000)) < 0 && errno != EINTR)
			return -errno;
	}
}

int sd_cgroup_leave(const char *cgroup)
{
	char self[4096];
	const char *mine, *c = cgroup;
	size_t l;
	int fd, r = 0;

	/* "0::/user.slice/user-0.slice/session-1.scope" */
	if (read_small_at(AT_FDCWD, "/proc/self/cgroup", self, sizeof(self), false) < 0)
		return 0;
	mine = strstr(self, "0::");
	if (!mine)
		return 0;
	mine += 3;
	while (*c == '/')
		c++;
	while (*mine == '/')
		mine++;
	l = strlen(c);
	if (strncmp(mine, c, l) != 0 || !(mine[l] == '/' || mine[l] == '\n' || mine[l] == '\0'))
		return 0;
	fd = open(CGROUP_ROOT "/cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "0", 1) != 1)
		r = -errno;
	close(fd);
	return r < 0 ? r : 1;
}
