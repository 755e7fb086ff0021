/* Running a standard tool as a child process and capturing what it prints. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.h"
#include "util.h"

/* Standard error is only for messages: a few KiB say what went wrong. */
#define STDERR_KEEP 4096

struct buffer {
	char *data;
	size_t size, allocated, max;
	bool truncated;
};

static int buffer_read(int fd, struct buffer *b)
{
	char chunk[16384];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	if (n == 0)
		return 0;
	if (b->size + (size_t)n > b->max) {
		b->truncated = true;
		n = (ssize_t)(b->max - b->size);
	}
	if (b->size + (size_t)n + 1 > b->allocated) {
		size_t want = MAX(b->allocated * 2, b->size + (size_t)n + 1);
		char *p = realloc(b->data, want);

		if (!p)
			return -ENOMEM;
		b->data = p;
		b->allocated = want;
	}
	memcpy(b->data + b->size, chunk, (size_t)n);
	b->size += (size_t)n;
	b->data[b->size] = '\0';
	return 1;
}

int bs_spawn_clean(const char *path, bool search, const char *const argv[],
		   const posix_spawn_file_actions_t *fa, pid_t *ret_pid)
{
	posix_spawnattr_t attr;
	sigset_t none, all;
	int r;

	r = posix_spawnattr_init(&attr);
	if (r != 0)
		return -r;
	/* The child starts with default signal handling and nothing blocked, whatever the
	 * caller's process and its threads did with their own. */
	sigemptyset(&none);
	sigfillset(&all);
	r = posix_spawnattr_setsigmask(&attr, &none);
	if (r == 0)
		r = posix_spawnattr_setsigdefault(&attr, &all);
	if (r == 0)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	/* posix_spawn() takes char *const[] for historical reasons; it does not write. */
	if (r == 0 && search)
		r = posix_spawnp(ret_pid, path, fa, &attr, (char *const *)argv, environ);
	else if (r == 0)
		r = posix_spawn(ret_pid, path, fa, &attr, (char *const *)argv, environ);
	posix_spawnattr_destroy(&attr);
	return -r;
}

/* The program to run: argv[0], or what follows its '@'. A daemon that root's storage needs
 * (nbd-client below root) is started as "@NAME", the mark that the shutdown's kill phase
 * spares (blkstack-shutdown(8)), as systemd's does: it is stopped in the shutdown ramfs,
 * once root is unmounted. */
static const char *spawn_path(const char *const argv[])
{
	return argv[0][0] == '@' && argv[0][1] ? argv[0] + 1 : argv[0];
}

static int spawn_child(const char *const argv[], int out_fd, int err_fd, pid_t *ret_pid)
{
	posix_spawn_file_actions_t fa;
	int r;

	r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return -r;
	r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
	r = r == 0 ? bs_spawn_clean(spawn_path(argv), true, argv, &fa, ret_pid) : -r;
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

int bs_spawn_capture(struct bs_ctx *c, const char *const argv[], size_t max_output, char **ret_out,
		     size_t *ret_size)
{
	struct buffer out = { .max = max_output }, err = { .max = STDERR_KEEP };
	int out_pipe[2] = { -EBADF, -EBADF }, err_pipe[2] = { -EBADF, -EBADF };
	bool out_open = true, err_open = true;
	int r, status;
	pid_t pid;

	if (!c || !argv || !argv[0] || !ret_out)
		return -EINVAL;

	if (pipe2(out_pipe, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err_pipe, O_CLOEXEC) < 0) {
		r = -errno;
		goto out_close;
	}

	r = spawn_child(argv, out_pipe[1], err_pipe[1], &pid);
	out_pipe[1] = safe_close(out_pipe[1]);
	err_pipe[1] = safe_close(err_pipe[1]);
	if (r == -ENOENT) {
		bs_log_err(c, "'%s' is not installed (not found in PATH)", spawn_path(argv));
		goto out_close;
	}
	if (r < 0) {
		bs_log_err(c, "Failed to run '%s': %s", spawn_path(argv), strerror(-r));
		goto out_close;
	}

	/* Both pipes are drained together, so that a child filling one cannot stall. */
	while (out_open || err_open) {
		struct pollfd p[2] = {
			{ .fd = out_open ? out_pipe[0] : -1, .events = POLLIN },
			{ .fd = err_open ? err_pipe[0] : -1, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (out_open && p[0].revents) {
			r = buffer_read(out_pipe[0], &out);
			if (r <= 0)
				out_open = false;
			if (r < 0)
				break;
		}
		if (err_open && p[1].revents) {
			r = buffer_read(err_pipe[0], &err);
			if (r <= 0)
				err_open = false;
			if (r < 0)
				break;
		}
		r = 0;
	}
	/* Reaped in every case, so no zombie is left, even after a read error. */
	out_pipe[0] = safe_close(out_pipe[0]);
	err_pipe[0] = safe_close(err_pipe[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			r = r < 0 ? r : -errno;
			goto out_close;
		}
	if (r < 0)
		goto out_close;

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			bs_log_err(c, "'%s' was killed by signal %d%s%s", argv[0], WTERMSIG(status),
				   err.size ? ": " : "", err.size ? strstrip(err.data) : "");
		else
			bs_log_err(c, "'%s' exited with status %d%s%s", argv[0],
				   WEXITSTATUS(status), err.size ? ": " : "",
				   err.size ? strstrip(err.data) : "");
		r = -EPROTO;
		goto out_close;
	}
	if (out.truncated) {
		bs_log_err(c, "'%s' printed more than %zu bytes, refusing to read it", argv[0],
			   max_output);
		r = -EFBIG;
		goto out_close;
	}
	if (!out.data) {
		out.data = strdup("");
		if (!out.data) {
			r = -ENOMEM;
			goto out_close;
		}
	}
	*ret_out = TAKE_PTR(out.data);
	if (ret_size)
		*ret_size = out.size;
	r = 0;
out_close:
	safe_close(out_pipe[0]);
	safe_close(out_pipe[1]);
	safe_close(err_pipe[0]);
	safe_close(err_pipe[1]);
	free(out.data);
	free(err.data);
	return r;
}
