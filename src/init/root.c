/* What the switch to the root filesystem needs that is worth testing on its own. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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
