/* The real loop and btrfs ops: attaching and detaching loop devices, registering btrfs devices. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/loop.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libblkstack-private.h"
#include "real.h"
#include "util.h"

#define LOOP_CONTROL "/dev/loop-control"
#define BTRFS_CONTROL "/dev/btrfs-control"

/* LOOP_CTL_GET_FREE hands the same free device to everyone who asks until one of them binds
 * it; a process that loses that race asks again. Losing 64 times in a row means something
 * is binding loop devices in a tight loop: give up rather than spin. */
#define LOOP_ATTACH_TRIES 64

static struct bs_ctx *real_ctx(void *userdata)
{
	return ((struct bs_real_ops_data *)userdata)->ctx;
}

/* Logs what failed at debug level (the driver says it to the user) and returns error. errno
 * is taken by the caller before anything can change it. */
_printf_(3, 4) static int log_errno(struct bs_ctx *c, int error, const char *format, ...)
{
	char what[256];
	va_list ap;

	if (!bs_log_enabled(c, LOG_DEBUG))
		return error;
	va_start(ap, format);
	(void)vsnprintf(what, sizeof(what), format, ap);
	va_end(ap);
	bs_log_debug(c, "%s: %s", what, strerror(-error));
	return error;
}

static void loop_info_init(struct loop_info64 *info, const char *file,
			   const struct bs_loop_options *o)
{
	*info = (struct loop_info64){
		.lo_offset = o->offset,
		.lo_sizelimit = o->sizelimit,
		.lo_flags = (o->read_only ? LO_FLAGS_READ_ONLY : 0) |
			    (o->partscan ? LO_FLAGS_PARTSCAN : 0) |
			    (o->direct_io ? LO_FLAGS_DIRECT_IO : 0),
	};
	/* Only for LOOP_GET_STATUS readers such as losetup; sysfs backing_file comes from the
	 * open file itself, so a longer path cut here loses nothing. */
	strncpy((char *)info->lo_file_name, file, LO_NAME_SIZE - 1);
}

/* Kernels before 5.8 have no LOOP_CONFIGURE: bind first, then configure. Not atomic: a
 * failure after LOOP_SET_FD unbinds again. */
static int loop_configure_legacy(int loop_fd, int file_fd, const struct loop_info64 *info,
				 const struct bs_loop_options *o)
{
	struct loop_info64 status = *info;
	int r;

	if (ioctl(loop_fd, LOOP_SET_FD, file_fd) < 0)
		return -errno;
	/* The read-only flag follows the mode of file_fd here; LOOP_SET_STATUS64 sets only
	 * the flags it may change. */
	status.lo_flags &= LO_FLAGS_PARTSCAN | LO_FLAGS_AUTOCLEAR;
	if (ioctl(loop_fd, LOOP_SET_STATUS64, &status) < 0)
		goto fail;
	if (o->sector_size &&
	    ioctl(loop_fd, LOOP_SET_BLOCK_SIZE, (unsigned long)o->sector_size) < 0)
		goto fail;
	if (o->direct_io && ioctl(loop_fd, LOOP_SET_DIRECT_IO, 1UL) < 0)
		goto fail;
	return 0;

fail:
	r = -errno;
	(void)ioctl(loop_fd, LOOP_CLR_FD, 0);
	return r;
}

static int loop_configure(int loop_fd, int file_fd, const char *file,
			  const struct bs_loop_options *o)
{
	struct loop_config config = { .fd = (uint32_t)file_fd, .block_size = o->sector_size };

	loop_info_init(&config.info, file, o);
	if (ioctl(loop_fd, LOOP_CONFIGURE, &config) >= 0)
		return 0;
	/* EINVAL: a kernel that does not know the ioctl (loop's default case); ENOTTY: the
	 * same, from the block layer of some versions. */
	if (errno != EINVAL && errno != ENOTTY)
		return -errno;
	return loop_configure_legacy(loop_fd, file_fd, &config.info, o);
}

/* Attaches file with the options o to a free loop device. The ops table's loop_attach,
 * bs_real_loop_attach(), passes all of stack.conf's loop options here. */
static int loop_attach_with(struct bs_ctx *c, const char *file, const struct bs_loop_options *o,
			    char **ret_device)
{
	int mode = o->read_only ? O_RDONLY : O_RDWR;
	_cleanup_close_ int control_fd = -EBADF, file_fd = -EBADF;

	file_fd = open(file, mode | O_CLOEXEC);
	if (file_fd < 0)
		return log_errno(c, -errno, "cannot open '%s' for the loop device", file);
	control_fd = open(LOOP_CONTROL, O_RDWR | O_CLOEXEC);
	if (control_fd < 0)
		return log_errno(c, -errno, "cannot open '%s'", LOOP_CONTROL);

	for (unsigned i = 0; i < LOOP_ATTACH_TRIES; i++) {
		_cleanup_close_ int loop_fd = -EBADF;
		char device[32];
		int nr, r;

		nr = ioctl(control_fd, LOOP_CTL_GET_FREE);
		if (nr < 0)
			return -errno;
		(void)snprintf(device, sizeof(device), "/dev/loop%d", nr);

		/* devtmpfs creates the node before the ioctl returns; without devtmpfs there is
		 * no node, and nothing to wait for. */
		loop_fd = open(device, mode | O_CLOEXEC);
		if (loop_fd < 0)
			return log_errno(c, -errno, "cannot open '%s'", device);

		r = loop_configure(loop_fd, file_fd, file, o);
		if (r == -EBUSY) {
			bs_log_debug(c, "'%s' was taken by another process, asking for another",
				     device);
			continue;
		}
		if (r < 0)
			return log_errno(c, r, "cannot bind '%s' to '%s'", file, device);

		*ret_device = strdup(device);
		if (!*ret_device) {
			(void)ioctl(loop_fd, LOOP_CLR_FD, 0);
			return -ENOMEM;
		}
		bs_log_debug(c, "attached '%s' to '%s'%s", file, device,
			     o->read_only ? " read-only" : "");
		return 0;
	}
	return -EBUSY;
}

int bs_real_loop_attach(void *userdata, const char *file, const struct bs_loop_options *o,
			char **ret_device)
{
	if (!file || !o || !ret_device)
		return -EINVAL;
	return loop_attach_with(real_ctx(userdata), file, o, ret_device);
}

/*
 * LOOP_CLR_FD does not fail on a device that others have open: since Linux 2.6.x it sets
 * LO_FLAGS_AUTOCLEAR instead and returns 0, so the device detaches at the last close (6.1
 * does that when the device has other openers than the caller; newer kernels always defer
 * to the last close, which is the caller's own when nobody else has it open). So:
 *   - an exclusive holder (a mount, dm, md, swap) is found first by opening with O_EXCL,
 *     which fails with EBUSY; then nothing is changed and this returns -EBUSY;
 *   - a device that stays bound after LOOP_CLR_FD (LOOP_GET_STATUS64 still answers) is open
 *     in some process: it is marked to detach when that process closes it, and this returns
 *     -EBUSY, so the executor retries and reports it;
 *   - a device that is not bound (ENXIO) is detached already: 0. This is also how a retry
 *     ends once the deferred detach has happened.
 */
int bs_real_loop_detach(void *userdata, const char *device)
{
	struct bs_ctx *c = real_ctx(userdata);
	_cleanup_close_ int fd = -EBADF;
	struct loop_info64 info;

	if (!device)
		return -EINVAL;
	fd = open(device, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return log_errno(c, -errno, "cannot open '%s' exclusively", device);

	if (ioctl(fd, LOOP_CLR_FD, 0) < 0) {
		if (errno == ENXIO) {
			bs_log_debug(c, "'%s' is not bound to a file, nothing to detach", device);
			return 0;
		}
		return -errno;
	}
	if (ioctl(fd, LOOP_GET_STATUS64, &info) >= 0) {
		bs_log_debug(c, "'%s' is open in another process; it detaches when that closes it",
			     device);
		return -EBUSY;
	}
	return 0;
}

int bs_real_btrfs_scan(void *userdata, const char *device, bool *ret_complete)
{
	struct bs_ctx *c = real_ctx(userdata);
	_cleanup_free_ struct btrfs_ioctl_vol_args *args = NULL;
	_cleanup_close_ int fd = -EBADF;
	size_t len;
	int r;

	if (!device || !ret_complete)
		return -EINVAL;
	len = strlen(device);
	if (len > BTRFS_PATH_NAME_MAX)
		return -ENAMETOOLONG;

	/* 4 KiB: not on a worker thread's stack. */
	args = calloc(1, sizeof(*args));
	if (!args)
		return -ENOMEM;
	memcpy(args->name, device, len);

	fd = open(BTRFS_CONTROL, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return log_errno(c, -errno, "cannot open '%s'", BTRFS_CONTROL);
	if (ioctl(fd, BTRFS_IOC_SCAN_DEV, args) < 0)
		return log_errno(c, -errno, "registering '%s' with btrfs", device);
	/* 0 when every device of the filesystem is registered, 1 when some are not. */
	r = ioctl(fd, BTRFS_IOC_DEVICES_READY, args);
	if (r < 0)
		return log_errno(c, -errno, "asking btrfs whether '%s' is complete", device);
	*ret_complete = r == 0;
	return 0;
}
