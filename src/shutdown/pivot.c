/* Into the shutdown ramfs: the pivot systemd-shutdown makes before it runs an exitrd. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shutdown.h"
#include "util.h"

static int pivot_root_compat(const char *new_root, const char *put_old)
{
	return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int sd_pivot_and_exec(char *const argv[])
{
	static const char *const moved[] = { "/proc", "/sys", "/dev" };
	int r;

	/* pivot_root(2) wants the new root to be a mount point, and no shared mount on the
	 * way: what is unmounted below /oldroot must not be unmounted elsewhere too. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		r = -errno;
		sd_say("cannot make the mounts private: %s", strerror(-r));
		return r;
	}
	if (mount(SD_RAMFS, SD_RAMFS, NULL, MS_BIND | MS_REC, NULL) < 0) {
		r = -errno;
		sd_say("cannot bind %s to itself: %s", SD_RAMFS, strerror(-r));
		return r;
	}
	if (mkdir(SD_RAMFS "/oldroot", 0755) < 0 && errno != EEXIST) {
		r = -errno;
		sd_say("cannot make %s/oldroot: %s", SD_RAMFS, strerror(-r));
		return r;
	}
	if (chdir(SD_RAMFS) < 0 || pivot_root_compat(".", "oldroot") < 0) {
		r = -errno;
		sd_say("cannot pivot into %s: %s", SD_RAMFS, strerror(-r));
		return r;
	}
	if (chdir("/") < 0) {
		r = -errno;
		sd_say("cannot enter the new root: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < ELEMENTSOF(moved); i++) {
		_cleanup_free_ char *from = NULL;

		if (asprintf(&from, "/oldroot%s", moved[i]) < 0)
			return -ENOMEM;
		(void)mkdir(moved[i], 0755);
		if (mount(from, moved[i], NULL, MS_MOVE, NULL) < 0)
			sd_say("WARNING: cannot move %s to %s: %m", from, moved[i]);
	}
	execv("/shutdown", argv);
	r = -errno;
	sd_say("cannot execute /shutdown in the shutdown ramfs: %s", strerror(-r));
	return r;
}
