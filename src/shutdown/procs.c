/* Stopping the processes that would keep a filesystem busy at shutdown. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "shutdown.h"
#include "strv.h"
#include "util.h"

/* The kernel's PF_KTHREAD, in the flags field of /proc/PID/stat. */
#define SD_PF_KTHREAD 0x00200000u
/* How long processes get to go after SIGKILL; one in uninterruptible sleep may never. */
#define SD_KILL_WAIT_USEC (5 * 1000000ull)

struct proc {
	pid_t pid;
	char comm[64];
	bool root_daemon; /* argv[0][0] == '@' */
	const char *holds; /* the mount point it holds, for SD_KILL_HOLDERS */
	int pidfd;
	bool gone;
};

struct mount_dev {
	const char *path;
	dev_t dev;
	bool have_dev;
};


/* comm and whether it is a kernel thread, from /proc/PID/stat. */
static int read_stat(int pfd, struct proc *p, bool *ret_kthread)
{
	char buf[1024], *open_paren, *close_paren;
	unsigned flags = 0;

	if (read_small_at(pfd, "stat", buf, sizeof(buf), false) < 0)
		return -ESRCH;
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EINVAL;
	*close_paren = '\0';
	(void)snprintf(p->comm, sizeof(p->comm), "%s", open_paren + 1);
	/* After the command: state ppid pgrp session tty_nr tpgid flags. */
	if (sscanf(close_paren + 1, " %*c %*d %*d %*d %*d %*d %u", &flags) != 1)
		return -EINVAL;
	*ret_kthread = flags & SD_PF_KTHREAD;
	return 0;
}

static bool path_on(const char *path, const char *mp)
{
	const char *rest = startswith(path, mp);

	return rest && (*rest == '\0' || *rest == '/');
}

/* The mount point among m that the file at link (below pfd) lies on, or NULL. */
static const char *link_on(int pfd, const char *link, const struct mount_dev *m, size_t n)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t l;
	bool have_st = fstatat(pfd, link, &st, 0) >= 0;

	l = readlinkat(pfd, link, target, sizeof(target) - 1);
	if (l >= 0)
		target[l] = '\0';
	for (size_t i = 0; i < n; i++) {
		/* The device says it even when the path is one of another namespace. */
		if (have_st && m[i].have_dev && st.st_dev == m[i].dev)
			return m[i].path;
		if (l > 0 && target[0] == '/' && path_on(target, m[i].path))
			return m[i].path;
	}
	return NULL;
}

/* A mapped file's device, from /proc/PID/maps ("… fd:01 1234 /path"). */
static const char *maps_on(int pfd, const struct mount_dev *m, size_t n)
{
	char line[PATH_MAX + 128];
	const char *found = NULL;
	FILE *f;
	int fd = openat(pfd, "maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return NULL;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long long inode;

		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &inode) != 3 || inode == 0)
			continue;
		for (size_t i = 0; i < n && !found; i++)
			if (m[i].have_dev && makedev(maj, min) == m[i].dev)
				found = m[i].path;
	}
	fclose(f);
	return found;
}

static const char *holds_one(int pfd, const struct mount_dev *m, size_t n)
{
	static const char *const links[] = { "cwd", "root", "exe" };
	const char *found = NULL;
	DIR *d;
	struct dirent *de;
	int fdfd;

	for (size_t i = 0; i < ELEMENTSOF(links); i++)
		if ((found = link_on(pfd, links[i], m, n)))
			return found;
	fdfd = openat(pfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdfd >= 0) {
		d = fdopendir(fdfd);
		if (!d)
			close(fdfd);
		while (d && !found && (de = readdir(d)))
			if (de->d_name[0] != '.')
				found = link_on(dirfd(d), de->d_name, m, n);
		if (d)
			closedir(d);
	}
	return found ? found : maps_on(pfd, m, n);
}

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* The processes of the scope, read from /proc. */
static int collect(const struct sd_kill_opts *o, struct proc **ret, size_t *ret_n)
{
	const char *proc = o->proc ? o->proc : "/proc";
	_cleanup_free_ struct mount_dev *m = NULL;
	struct proc *ps = NULL;
	size_t n = 0, n_m = strv_length(o->mount_points);
	pid_t self = getpid();
	struct dirent *de;
	DIR *d;

	m = calloc(n_m + 1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < n_m; i++) {
		struct stat st;

		m[i].path = o->mount_points[i];
		m[i].have_dev = stat(m[i].path, &st) >= 0;
		m[i].dev = m[i].have_dev ? st.st_dev : 0;
	}
	d = opendir(proc);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char cmdline[2];
		struct proc p = { .pidfd = -1 };
		bool kthread = false;
		char *end;
		long pid;
		int pfd;

		errno = 0;
		pid = strtol(de->d_name, &end, 10);
		if (errno || *end || pid <= 1 || pid == self)
			continue;
		pfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0)
			continue;
		p.pid = (pid_t)pid;
		if (read_stat(pfd, &p, &kthread) < 0 || kthread) {
			close(pfd);
			continue;
		}
		/* A zombie has an empty command line: nothing to keep, nothing it holds. */
		p.root_daemon = read_small_at(pfd, "cmdline", cmdline, sizeof(cmdline), false) >= 0 &&
				cmdline[0] == '@';
		if (o->scope == SD_KILL_HOLDERS) {
			p.holds = holds_one(pfd, m, n_m);
			/* A root-storage daemon is named as kept whatever it holds. */
			if (!p.holds && !p.root_daemon) {
				close(pfd);
				continue;
			}
		}
		close(pfd);
		if (o->scope == SD_KILL_ROOT_DAEMONS && !p.root_daemon)
			continue;
		{
			/* A few hundred processes at most: one more each time will do. */
			struct proc *grown = realloc(ps, (n + 1) * sizeof(*ps));

			if (!grown) {
				free(ps);
				closedir(d);
				return -ENOMEM;
			}
			ps = grown;
		}
		ps[n++] = p;
	}
	closedir(d);
	*ret = ps;
	*ret_n = n;
	return 0;
}

/* Reaps whatever has exited among this process's children (all orphans, for PID 1). */
static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* Waits until every process of ps not gone has exited, or until timeout_usec. Returns the
 * number still there. */
static size_t wait_gone(struct proc *ps, size_t n, uint64_t timeout_usec)
{
	uint64_t deadline = now_usec() + timeout_usec;
	_cleanup_free_ struct pollfd *fds = calloc(n ? n : 1, sizeof(*fds));
	size_t left;

	for (;;) {
		size_t k = 0;
		uint64_t now;

		reap();
		left = 0;
		for (size_t i = 0; i < n; i++) {
			if (ps[i].gone)
				continue;
			if (ps[i].pidfd < 0) {
				/* No pidfd (kernel before 5.3): kill(pid, 0) tells, ESRCH once
				 * reaped. */
				if (kill(ps[i].pid, 0) < 0 && errno == ESRCH) {
					ps[i].gone = true;
					continue;
				}
			}
			left++;
			if (fds && ps[i].pidfd >= 0)
				fds[k++] = (struct pollfd){ .fd = ps[i].pidfd, .events = POLLIN };
		}
		now = now_usec();
		if (left == 0 || now >= deadline)
			return left;
		if (k == 0) {
			/* Only processes without pidfds: look again in a while. */
			(void)poll(NULL, 0, 50);
			continue;
		}
		if (poll(fds, k, (int)MIN((deadline - now + 999) / 1000, (uint64_t)INT_MAX)) < 0 &&
		    errno != EINTR)
			return left;
		for (size_t j = 0; j < k; j++)
			if (fds[j].revents)
				for (size_t i = 0; i < n; i++)
					if (ps[i].pidfd == fds[j].fd) {
						ps[i].gone = true;
						close(ps[i].pidfd);
						ps[i].pidfd = -1;
					}
	}
}

int sd_kill(const struct sd_kill_opts *o)
{
	_cleanup_free_ struct proc *ps = NULL;
	size_t n = 0, n_signalled = 0, left;
	int r;

	r = collect(o, &ps, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct proc *p = &ps[i];
		const char *what = p->holds ? ", which holds " : "";
		const char *where = p->holds ? p->holds : "";

		if (p->root_daemon && o->scope != SD_KILL_ROOT_DAEMONS) {
			if (!o->quiet_kept)
				sd_say("keeping %d (%s)%s%s: a root-storage daemon ('@')", p->pid,
				       p->comm, what, where);
			p->gone = true;
			continue;
		}
		if (o->dry_run) {
			sd_say("would stop %d (%s)%s%s", p->pid, p->comm, what, where);
			p->gone = true;
			continue;
		}
		/* Opened before the signal, so that its exit cannot be missed, and no other
		 * process that gets the number later is ever waited for. */
		p->pidfd = pidfd_open_compat(p->pid);
		if (p->pidfd < 0 && errno == ESRCH) {
			p->gone = true;
			continue;
		}
		sd_say("stopping %d (%s)%s%s: SIGTERM", p->pid, p->comm, what, where);
		if (kill(p->pid, SIGTERM) < 0 && errno == ESRCH) {
			p->gone = true;
			continue;
		}
		/* A stopped process must run to act on SIGTERM. */
		(void)kill(p->pid, SIGCONT);
		n_signalled++;
	}
	if (o->ret_signalled)
		*o->ret_signalled = (unsigned)n_signalled;
	if (n_signalled == 0)
		return 0;

	left = wait_gone(ps, n, o->grace_usec);
	if (left > 0) {
		for (size_t i = 0; i < n; i++) {
			if (ps[i].gone)
				continue;
			sd_say("%d (%s) still runs after %" PRIu64 " s: SIGKILL", ps[i].pid,
			       ps[i].comm, o->grace_usec / 1000000);
			(void)kill(ps[i].pid, SIGKILL);
		}
		left = wait_gone(ps, n, SD_KILL_WAIT_USEC);
		for (size_t i = 0; i < n; i++)
			if (!ps[i].gone)
				sd_say("%d (%s) is still there after SIGKILL (in uninterruptible "
				       "sleep, waiting for a device?)",
				       ps[i].pid, ps[i].comm);
	}
	for (size_t i = 0; i < n; i++)
		if (ps[i].pidfd >= 0)
			close(ps[i].pidfd);
	return (int)left;
}
