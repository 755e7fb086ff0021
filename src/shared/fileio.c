/* Writing files: whole and atomic replacement, and creating directory trees. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "util.h"

/* Attempts at a free temporary name before giving up: each is 64 random bits, so a clash
 * means someone else's files with our pattern, not bad luck. */
#define TEMP_NAME_ATTEMPTS 16

int mkdir_p_at(int dirfd, const char *path, mode_t mode)
{
	_cleanup_free_ char *p = NULL;
	struct stat st;

	assert(path);

	p = strdup(path);
	if (!p)
		return -ENOMEM;

	/* Each prefix that ends before a '/', then the whole path. */
	for (char *s = p + strspn(p, "/");; s += strspn(s, "/")) {
		char *end = s + strcspn(s, "/");
		char saved = *end;

		if (end == s)
			break;
		*end = '\0';
		if (mkdirat(dirfd, p, mode) < 0) {
			if (errno != EEXIST)
				return -errno;
			if (fstatat(dirfd, p, &st, 0) < 0)
				return -errno;
			if (!S_ISDIR(st.st_mode))
				return -ENOTDIR;
		}
		*end = saved;
		s = end;
	}
	return 0;
}

static uint64_t random_u64(void)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	/* Only before the kernel's pool is ready, in early boot: unique enough for a name
	 * that O_EXCL guards anyway. */
	return ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&v;
}

int loop_write(int fd, const void *data, size_t size)
{
	const char *p = data;

	while (size > 0) {
		ssize_t k = write(fd, p, size);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		p += k;
		size -= (size_t)k;
	}
	return 0;
}

int loop_read_exact(int fd, void *buf, size_t size)
{
	char *p = buf;

	while (size > 0) {
		ssize_t k = read(fd, p, size);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		p += k;
		size -= (size_t)k;
	}
	return 0;
}

int read_fd_all(int fd, size_t max, char **ret, size_t *ret_size)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, allocated = 0;

	for (;;) {
		ssize_t k;

		if (size + 4096 + 1 > allocated) {
			char *p = realloc(buf, allocated + 65536);

			if (!p)
				return -ENOMEM;
			buf = p;
			allocated += 65536;
		}
		k = read(fd, buf + size, allocated - size - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		size += (size_t)k;
		if (size > max)
			return -EFBIG;
	}
	buf[size] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_size)
		*ret_size = size;
	return 0;
}

int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t size, mode_t mode)
{
	_cleanup_close_ int dir_fd = -EBADF, fd = -EBADF;
	_cleanup_free_ char *dir = NULL;
	char temp[NAME_MAX + 1];
	const char *base, *slash;
	int r;

	assert(data || size == 0);

	if (!path || !*path)
		return -EINVAL;
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (!*base || streq(base, ".") || streq(base, ".."))
		return -EINVAL;
	dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return -ENOMEM;

	/* Readable, not O_PATH, so that it can be flushed after the rename. */
	dir_fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return -errno;

	/* A dot file next to the target: on the same filesystem, so rename() is atomic, and
	 * hidden from globs. The name is cut to fit NAME_MAX. */
	for (int attempt = 0;; attempt++) {
		snprintf(temp, sizeof(temp), ".#%.200s.%016" PRIx64, base, random_u64());
		fd = openat(dir_fd, temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, mode);
		if (fd >= 0)
			break;
		if (errno != EEXIST || attempt + 1 >= TEMP_NAME_ATTEMPTS)
			return -errno;
	}

	r = loop_write(fd, data, size);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	/* close() reports the write errors that some filesystems (NFS) only see then. */
	if (r >= 0 && close(TAKE_FD(fd)) < 0)
		r = -errno;
	if (r >= 0 && renameat(dir_fd, temp, dir_fd, base) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dir_fd, temp, 0);
		return r;
	}

	/* The rename is durable only once the directory is. */
	if (fsync(dir_fd) < 0)
		return -errno;
	return 0;
}

void stdio_on_console(const char *path)
{
	int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fd != i)
			(void)dup2(fd, i);
	if (fd > 2)
		close(fd);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

int read_small_at(int dirfd, const char *name, char *buf, size_t size, bool cut_line)
{
	ssize_t n;
	int fd;

	if (size == 0)
		return -EINVAL;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (cut_line)
		buf[strcspn(buf, "\n")] = '\0';
	return (int)strlen(buf);
}
