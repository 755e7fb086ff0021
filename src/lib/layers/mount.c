/* The mount driver: mounts filesystems where fstab says, unmounts them, remounts read-only. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <libmount/libmount.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "graph.h"
#include "layers.h"
#include "util.h"

/* ---- the device to mount ----------------------------------------------------------------- */

/* Any device of a multi-device btrfs names the whole filesystem to mount(2); the kernel
 * finds the others among the devices btrfs-scan registered. */
static int btrfs_member_device(struct bs_step *s, const struct bs_node *fs, char **ret)
{
	for (size_t i = 0; i < fs->n_needs; i++) {
		const struct bs_edge *e = fs->needs[i];

		if (!streq(e->role, "member") || bs_step_is_missing(s, e->needs))
			continue;
		if (bs_step_device(s, e->needs, ret) >= 0)
			return 0;
	}
	return bs_step_fail(s, -ENXIO, "no device of '%s' is there to mount it from", fs->id);
}

/* The filesystem type on path when the configuration says "auto" or gives a list: the
 * device's own as the graph knows it, else probed. NULL if neither tells. */
static int probe_fstype(struct bs_step *s, const struct bs_node *dev, const char *path, char **ret)
{
	const char *known = dev ? bs_node_attr(dev, BS_ATTR_FSTYPE) : NULL;
	int r;

	if (dev && dev->kind == BS_NODE_BTRFS)
		known = "btrfs";
	if (known) {
		*ret = strdup(known);
		return *ret ? 0 : -ENOMEM;
	}
	*ret = NULL;
	r = bs_step_probe_fstype(s, path, ret);
	return r < 0 ? r : 0;
}

static bool is_auto_fstype(const char *fstype)
{
	return !fstype || streq(fstype, "auto") || strchr(fstype, ',');
}

/* Why mount(2) failed, in words a user can act on. */
static const char *mount_hint(int error)
{
	switch (error) {
	case -ENOENT:
		return "; the mount point or the device does not exist (blkstack creates no mount "
		       "points: create the directory)";
	case -ENOTDIR:
		return "; the mount point is not a directory";
	case -ENODEV:
		return "; the kernel does not know this filesystem type (is its module loaded?)";
	case -EINVAL:
		return "; wrong filesystem type, bad option, or a damaged filesystem (see the "
		       "kernel log)";
	case -EBUSY:
		return "; the device is in use or something is mounted there already";
	case -EROFS:
	case -EACCES:
		return "; the device is read-only: add 'ro' to its options";
	default:
		return "";
	}
}

/* Sets the propagation of the fresh mount at target; on failure the mount is undone, so
 * that a failed step leaves nothing behind. */
static int set_propagation(struct bs_step *s, const char *target, unsigned long propagation)
{
	int r;

	if (!propagation)
		return 0;
	r = bs_step_mount(s, NULL, target, NULL, propagation, NULL);
	if (r >= 0)
		return 0;
	(void)bs_step_umount(s, target, 0);
	return bs_step_fail(s, r, "setting the propagation of '%s' failed: %s", target,
			    strerror(-r));
}

static int mount_bind(struct bs_step *s, const struct bs_node *n, const char *target,
		      const struct bs_mount_options *o)
{
	const char *source = bs_node_attr(n, BS_ATTR_SOURCE);
	/* The per-mount flags: a bind mount takes them only in a remount of its own. */
	unsigned long extra = o->flags & ~(unsigned long)(MS_BIND | MS_REC);
	_cleanup_free_ char *path = NULL;
	int r;

	if (!source || source[0] != '/')
		return bs_step_fail(s, -EINVAL,
				    "'%s' is a bind mount of '%s', which is not an absolute path",
				    n->id, strna(source));
	r = bs_step_target_path(s, source, &path);
	if (r < 0)
		return bs_step_fail(s, r, "cannot locate '%s': %s", source, strerror(-r));

	r = bs_step_mount(s, path, target, NULL, o->flags & (MS_BIND | MS_REC), NULL);
	if (r < 0)
		return bs_step_fail(s, r, "bind mounting '%s' on '%s' failed: %s%s", path, target,
				    strerror(-r), mount_hint(r));
	if (extra) {
		r = bs_step_mount(s, NULL, target, NULL, MS_REMOUNT | MS_BIND | extra, NULL);
		if (r < 0) {
			(void)bs_step_umount(s, target, 0);
			return bs_step_fail(s, r,
					    "bind mount '%s': applying its options to '%s' "
					    "failed: %s",
					    n->id, target, strerror(-r));
		}
	}
	return set_propagation(s, target, o->propagation);
}

/* A network filesystem: its mount helper (mount.nfs, mount.cifs) resolves the server and
 * speaks the protocol; mount(8) calls it the same way. */
static int mount_with_helper(struct bs_step *s, const struct bs_node *n, const char *target,
			     const char *fstype, const struct bs_mount_options *o)
{
	const char *source = bs_node_attr(n, BS_ATTR_SOURCE);
	_cleanup_free_ char *helper = NULL;
	const char *argv[] = { NULL, source, target, o->helper ? "-o" : NULL, o->helper, NULL };
	int r;

	if (!source)
		return bs_step_fail(s, -EINVAL, "'%s' has no source to mount", n->id);
	if (strextend(&helper, "mount.", fstype, NULL) < 0)
		return -ENOMEM;
	argv[0] = helper;
	r = bs_step_spawn(s, argv, NULL);
	if (r == -ENOENT)
		return bs_step_fail(s, r,
				    "'%s' is not installed; '%s' (%s) cannot be mounted without it",
				    helper, source, fstype);
	if (r < 0)
		return bs_step_fail(s, r, "'%s' could not mount '%s' on '%s'", helper, source,
				    target);
	return set_propagation(s, target, o->propagation);
}

/* Mounts path (a device, or a loop device over an image) on target. */
static int mount_device_path(struct bs_step *s, const struct bs_node *n, const struct bs_node *dev,
			     const char *path, const char *target, const struct bs_mount_options *o)
{
	const char *fstype = bs_node_attr(n, BS_ATTR_FSTYPE);
	_cleanup_free_ char *probed = NULL;
	int r;

	if (is_auto_fstype(fstype)) {
		r = probe_fstype(s, dev, path, &probed);
		if (r < 0)
			return r;
		if (!probed)
			return bs_step_fail(s, -EINVAL,
					    "cannot tell the filesystem type of '%s'; give it "
					    "in fstab's third field",
					    path);
		fstype = probed;
	}

	/* The kernel's own request for "fs-TYPE" needs a modprobe, which a system without
	 * udev or an initramfs may lack. */
	if (fstype && !strchr(fstype, ',')) {
		_cleanup_free_ char *alias = NULL;

		if (asprintf(&alias, "fs-%s", fstype) < 0)
			return -ENOMEM;
		bs_step_load_module(s, alias);
	}
	r = bs_step_mount(s, path, target, fstype, o->flags, o->data);
	if (r < 0)
		return bs_step_fail(s, r, "mounting '%s' (%s) on '%s' failed: %s%s", path, fstype,
				    target, strerror(-r), mount_hint(r));
	return set_propagation(s, target, o->propagation);
}

/* An image file: mount(8) would put it on a loop device, and so does this. The loop device
 * stays when the filesystem is unmounted; the live graph then shows it under the mount, and
 * taking the mount down detaches it. */
static int mount_image(struct bs_step *s, const struct bs_node *n, const char *file,
		       const char *target, const struct bs_mount_options *o)
{
	_cleanup_free_ char *path = NULL, *device = NULL;
	int r;

	if (o->loop_unsupported)
		return bs_step_fail(s, -EOPNOTSUPP,
				    "loop option '%s' is not supported; declare the image "
				    "in stack.conf ('loop %s OPTIONS') and mount the loop device",
				    o->loop_unsupported, file);
	r = bs_step_target_path(s, file, &path);
	if (r < 0)
		return bs_step_fail(s, r, "cannot locate '%s': %s", file, strerror(-r));
	bs_step_load_module(s, "loop");
	r = bs_step_loop_attach(
		s, path, &(const struct bs_loop_options){ .read_only = o->flags & MS_RDONLY },
		&device);
	if (r < 0)
		return bs_step_fail(s, r,
				    "attaching the image '%s' of '%s' to a loop device failed: %s",
				    path, n->id, strerror(-r));
	r = mount_device_path(s, n, NULL, device, target, o);
	if (r < 0)
		(void)bs_step_loop_detach(s, device);
	return r;
}

/*
 * The mount point must exist: blkstack creates no directories. A missing one fails with
 * ENOENT and says so. systemd creates missing mount points, mount(8) only with X-mount.mkdir;
 * here a directory made on the parent filesystem would be a write to the user's filesystem
 * (in an initramfs, often a root still mounted read-only), and a side effect outside the ops
 * table that tests record.
 */
static int run_mount(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s), *dev;
	const char *fstype = bs_node_attr(n, BS_ATTR_FSTYPE),
		   *source = bs_node_attr(n, BS_ATTR_SOURCE);
	/* Options were split when the graph was loaded (a bad one is a problem of fstab). */
	const struct bs_mount_options *o = n->config && n->config->mount ?
						   n->config->mount :
						   &(const struct bs_mount_options){};
	_cleanup_free_ char *target = NULL, *path = NULL;
	int r;

	r = bs_step_mount_point(s, n, &target);
	if (r < 0)
		return bs_step_fail(s, r, "cannot tell where to mount it: %s", strerror(-r));

	if (o->flags & MS_BIND)
		return mount_bind(s, n, target, o);
	if (fstype && mnt_fstype_is_netfs(fstype))
		return mount_with_helper(s, n, target, fstype, o);

	dev = bs_node_need_with_role(n, "device");
	if (!dev) {
		if (source && source[0] == '/' && !startswith(source, "/dev/"))
			return mount_image(s, n, source, target, o);
		return bs_step_fail(s, -ENXIO,
				    "no device is known for '%s'; if it is inside a layer "
				    "that is still closed, open that layer first",
				    strna(source));
	}

	if (dev->kind == BS_NODE_BTRFS)
		r = btrfs_member_device(s, dev, &path);
	else
		r = bs_step_device(s, dev, &path);
	if (r < 0)
		return r;
	return mount_device_path(s, n, dev, path, target, o);
}

/* ---- down -------------------------------------------------------------------------------- */

static int run_umount(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	_cleanup_free_ char *path = NULL;
	int r;

	/* Live mounts are named as the system sees them (without the mount root), like
	 * configured ones: both are mounted at the same place. */
	r = bs_step_mount_point(s, n, &path);
	if (r < 0)
		return bs_step_fail(s, r, "cannot tell where it is mounted: %s", strerror(-r));

	/* Never lazy, never forced: a filesystem that is still used stays, and says so. */
	r = bs_step_umount(s, path, 0);
	if (r == -EBUSY)
		return bs_step_fail(s, r,
				    "'%s' is busy: a process uses a file on it, or something is "
				    "still mounted below it",
				    path);
	if (r == -EINVAL)
		return bs_step_fail(s, r, "'%s' is not a mount point (unmounted already?)", path);
	if (r < 0)
		return bs_step_fail(s, r, "unmounting '%s' failed: %s", path, strerror(-r));
	return 0;
}

static int run_remount_ro(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	_cleanup_free_ char *path = NULL;
	int r;

	/* Live mounts are named as the system sees them (without the mount root), like
	 * configured ones: both are mounted at the same place. */
	r = bs_step_mount_point(s, n, &path);
	if (r < 0)
		return bs_step_fail(s, r, "cannot tell where it is mounted: %s", strerror(-r));

	r = bs_step_mount(s, NULL, path, NULL, MS_REMOUNT | MS_RDONLY, NULL);
	if (r == -EBUSY)
		return bs_step_fail(s, r,
				    "'%s' cannot be made read-only: a process has a file on it "
				    "open for writing",
				    path);
	if (r < 0)
		return bs_step_fail(s, r, "remounting '%s' read-only failed: %s", path,
				    strerror(-r));
	return 0;
}

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_MOUNT, run_mount },
	{ BS_ACTION_UMOUNT, run_umount },
	{ BS_ACTION_REMOUNT_RO, run_remount_ro },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_mount = { "mount", NULL, actions };
