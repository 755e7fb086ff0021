/* Reads of system state below the context's system root; the only way libblkstack reads
 * sys/, proc/, etc/ and run/. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

#include "libblkstack-private.h"

/* Cap of bs_sysroot_read_file(): far above any mountinfo, config file or lvm report this
 * tool reads, and low enough that a corrupt or hostile file cannot exhaust memory. */
#define BS_SYSROOT_READ_MAX ((size_t)64 * 1024 * 1024)

/* Cap of bs_sysroot_read_attr(): a sysfs attribute is at most one page, and 64 KiB is the
 * largest page size Linux uses. */
#define BS_SYSROOT_ATTR_MAX ((size_t)64 * 1024)

/*
 * relpath names a file below the system root. A leading '/' is ignored, so "/sys/block" and
 * "sys/block" are the same; "" and "/" are the root itself. Paths resolve with openat()
 * from the root's descriptor, so the relative symlinks of a captured sysfs stay inside the
 * tree. All functions return a negative errno on failure and leave their ret_ untouched.
 */

/* Opens relpath with flags (O_CLOEXEC is always added) and returns the descriptor. Creating
 * files is not supported: O_CREAT and O_TMPFILE give -EINVAL. */
int bs_sysroot_open(struct bs_ctx *c, const char *relpath, int flags);

/* Reads a whole file into a NUL-terminated buffer. ret_size, if not NULL, gets the length
 * without the NUL. Returns -EFBIG if the file is longer than BS_SYSROOT_READ_MAX. */
int bs_sysroot_read_file(struct bs_ctx *c, const char *relpath, char **ret_contents,
			 size_t *ret_size);

/* The same with an explicit cap of max_size bytes. */
int bs_sysroot_read_file_max(struct bs_ctx *c, const char *relpath, size_t max_size,
			     char **ret_contents, size_t *ret_size);

/* Reads the whole file at path as the caller names it (relative to the working directory, not
 * the system root: a file given on the command line), as bs_sysroot_read_file_max() does. */
int bs_read_file_path(const char *path, size_t max_size, char **ret_contents, size_t *ret_size);

/* Reads a one-line sysfs-style attribute (at most BS_SYSROOT_ATTR_MAX bytes) and strips its
 * trailing newlines. */
int bs_sysroot_read_attr(struct bs_ctx *c, const char *relpath, char **ret);

/* Returns the target of the symlink relpath, as stored (sysfs targets are relative). */
int bs_sysroot_readlink(struct bs_ctx *c, const char *relpath, char **ret);

int bs_sysroot_opendir(struct bs_ctx *c, const char *relpath, DIR **ret);

/* Returns the absolute path of relpath below the system root, for libraries that take
 * paths (libmount, libblkid), or NULL when out of memory. */
char *bs_sysroot_path_dup(struct bs_ctx *c, const char *relpath);

/* The device node of a kernel name: "vda1" is "/dev/vda1"; kernel names spell '/' as '!'
 * (cciss!c0d0 is /dev/cciss/c0d0). NULL when out of memory. */
char *bs_dev_path_dup(const char *kernel_name);

/* Replaces relpath below the system root with the size bytes at data, atomically (see
 * write_file_atomic_at() in fileio.h), after creating its missing parent directories with
 * mode 0755. The one way libblkstack writes below the system root, for the recorded graph
 * (blkstack record); everything else only reads. */
int bs_sysroot_write_file_atomic(struct bs_ctx *c, const char *relpath, const void *data,
				 size_t size, mode_t mode);

/* A block device's serial as sysfs gives it (its "serial", else its device's,
 * blanks stripped), through read_attr, which reads a sysfs attribute of that device by
 * relative path. Returns 1 with *ret, 0 if it has none, or -ENOMEM. Shared with the uevent
 * matcher, so that a device waited for by serial is recognized by the same rule. */
typedef int (*bs_attr_reader_fn)(void *userdata, const char *relpath, char **ret);
int bs_sysfs_serial(bs_attr_reader_fn read_attr, void *userdata, char **ret);

/* The modaliases of block device kernel_name and of each device above it in sys/devices,
 * from the block device up (its driver's, its controller's, its bus's): what a kernel must
 * load to see the device, in the form modprobe resolves ("virtio:d00000002v00001AF4").
 * Returns the number found, with *ret a NULL-terminated list (never NULL); -ENOENT (or the
 * error of the link) when sys/class/block/kernel_name is no link, -EINVAL when it points
 * outside sys/devices or the name is not a kernel name, or -ENOMEM. */
int bs_sysfs_modalias_chain(struct bs_ctx *c, const char *kernel_name, char ***ret);
/* The same for a device of another class: "net" for a network interface. */
int bs_sysfs_class_modalias_chain(struct bs_ctx *c, const char *class, const char *kernel_name,
				  char ***ret);
