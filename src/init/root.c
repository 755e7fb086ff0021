/* What the switch to the root filesystem needs that is worth testing on its own. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "root.h"
#include "util.h"

bool init_is_executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) >= 0 && S_ISREG(st.st_mode) && access(path, X_OK) >= 0;
}

/*
 * Whether path is an executable file as a process chrooted to root would see it: an absolute
 * symbolic link (/sbin/init -> /lib/systemd/systemd) resolves inside root, not in the
 * initramfs. Kernels before openat2() (5.6) get the plain path below root.
 */
bool init_is_executable_in_root(const char *root, const char *path)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -EBADF;
	_cleanup_free_ char *plain = NULL;
	struct stat st;

	if (rfd < 0)
		return false;
	fd = (int)syscall(SYS_openat2, rfd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) {
		if (asprintf(&plain, "%s%s", root, path) < 0)
			return false;
		return init_is_executable_file(plain);
	}
	return fd >= 0 && fstat(fd, &st) >= 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

/* Removes what dirfd holds, never leaving its filesystem (dev): an initramfs's files, not
 * what is mounted in it. Closes dirfd. */
void init_remove_tree(int dirfd, dev_t dev)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;

	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				struct stat sst;

				/* A mount point shows the mounted filesystem's device here. */
				if (fstat(sub, &sst) < 0 || sst.st_dev != dev) {
					close(sub);
					continue;
				}
				init_remove_tree(sub, dev);
			}
			(void)unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
		} else
			(void)unlinkat(dirfd, de->d_name, 0);
	}
	closedir(d);
}

/* Copies the regular file name of sfd to dfd, with mode; returns its size, or a negative errno. */
static int64_t copy_file_at(int sfd, int dfd, const char *name, mode_t mode)
{
	char buf[64 * 1024];
	int64_t total = 0;
	int in, out, r = 0;

	in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		r = loop_write(out, buf, (size_t)n);
		if (r < 0)
			break;
		total += n;
	}
	/* The umask had its say at creation; the image's mode is what counts. */
	if (r >= 0 && fchmod(out, mode & 07777) < 0)
		r = -errno;
	close(in);
	if (close(out) < 0 && r >= 0)
		r = -errno;
	return r < 0 ? r : total;
}

static bool skipped(const char *rel, char *const *skip)
{
	for (char *const *s = skip; s && *s; s++)
		if (streq(rel, *s))
			return true;
	return false;
}

static int copy_tree(int sfd, int dfd, const char *rel, dev_t dev, char *const *skip,
		     uint64_t *bytes)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	d = fdopendir(sfd);
	if (!d) {
		r = -errno;
		close(sfd);
		return r;
	}
	while (r >= 0 && (de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;
		struct stat st;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (asprintf(&sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name) < 0)
			r = -ENOMEM;
		else if (skipped(sub, skip) ||
			 fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			 st.st_dev != dev)
			continue;
		else if (S_ISDIR(st.st_mode)) {
			int s, t;

			s = openat(dirfd(d), de->d_name,
				   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s < 0)
				continue;
			if (mkdirat(dfd, de->d_name, st.st_mode & 07777) < 0 && errno != EEXIST) {
				r = -errno;
				close(s);
				break;
			}
			t = openat(dfd, de->d_name,
				   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (t < 0) {
				r = -errno;
				close(s);
				break;
			}
			r = copy_tree(s, t, sub, dev, skip, bytes);
			close(t);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);

			if (n < 0)
				continue;
			target[n] = '\0';
			if (symlinkat(target, dfd, de->d_name) < 0 && errno != EEXIST)
				r = -errno;
		} else if (S_ISREG(st.st_mode)) {
			int64_t n = copy_file_at(dirfd(d), dfd, de->d_name, st.st_mode);

			if (n < 0)
				r = (int)n;
			else
				*bytes += (uint64_t)n;
		}
		/* Device nodes and the like: the ramfs gets the running system's /dev. */
	}
	closedir(d);
	return r;
}

int init_copy_tree(const char *source, const char *dest, char *const *skip, uint64_t *ret_bytes)
{
	struct stat st;
	uint64_t bytes = 0;
	int sfd, dfd, r;

	sfd = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return -errno;
	if (fstat(sfd, &st) < 0) {
		r = -errno;
		close(sfd);
		return r;
	}
	r = mkdir_p_at(AT_FDCWD, dest, 0755);
	if (r < 0) {
		close(sfd);
		return r;
	}
	dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		close(sfd);
		return r;
	}
	r = copy_tree(sfd, dfd, "", st.st_dev, skip, &bytes);
	close(dfd);
	if (ret_bytes)
		*ret_bytes = bytes;
	return r;
}
