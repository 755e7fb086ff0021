/* Live source: the mounted filesystems of proc/self/mountinfo, as mount nodes on their devices. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "graph.h"
#include "libmount-util.h"
#include "mountinfo.h"
#include "sources.h"
#include "sysroot.h"
#include "util.h"

#define MOUNTINFO_PATH "proc/self/mountinfo"

/* The block node a mount is on, or NULL for proc, tmpfs and the like. */
static struct bs_node *mount_device(struct bs_graph *g, struct libmnt_fs *fs)
{
	dev_t devno = mnt_fs_get_devno(fs);
	struct bs_node *n;
	const char *source;

	n = bs_graph_find_devno(g, devno);
	if (n)
		return n;

	/* btrfs reports an anonymous device number (0:N) for its mounts, which no block device
	 * has; the source it was mounted from names one of its devices. Non-block filesystems
	 * have no /dev source, so they fall through here too. */
	source = mnt_fs_get_source(fs);
	return source ? bs_graph_find_dev_path(g, source) : NULL;
}

static int add_mount(struct bs_graph *g, struct libmnt_fs *fs)
{
	_cleanup_free_ char *id = NULL;
	struct bs_node *dev, *m;
	const char *target;
	int r;

	target = mnt_fs_get_target(fs);
	if (!target || target[0] != '/')
		return 0;
	/* Below a mount root (an initramfs's /sysroot), mounts are named as the system being
	 * brought up will see them. */
	target = bs_ctx_target_path(g->ctx, target);

	dev = mount_device(g, fs);
	if (!dev) {
		bs_log_debug(g->ctx, "mount '%s' (%s) is not on a known block device", target,
			     strna(mnt_fs_get_fstype(fs)));
		return 0;
	}

	if (strextend(&id, "mnt:", target, NULL) < 0)
		return -ENOMEM;
	r = bs_graph_ensure_node(g, BS_NODE_MOUNT, id, &m);
	if (r == -EEXIST) {
		bs_log_warn(g->ctx, "'%s' exists as another kind of node, ignoring", id);
		return 0;
	}
	if (r < 0)
		return r;

	/* A later line for the same mount point is mounted over the earlier one, and hides
	 * it: the node describes the top mount. */
	if (m->sources & BS_SOURCE_LIVE)
		bs_graph_remove_needs(g, m, "device");

	r = bs_node_set_attr(m, BS_ATTR_FSTYPE, mnt_fs_get_fstype(fs));
	if (r >= 0)
		r = bs_node_set_attr(m, BS_ATTR_SOURCE, mnt_fs_get_source(fs));
	if (r >= 0)
		r = bs_node_set_attr(m, BS_ATTR_OPTIONS, mnt_fs_get_options(fs));
	if (r >= 0)
		r = bs_node_add_mountpoint(m, target);
	if (r >= 0)
		r = bs_graph_add_edge(g, m, dev, "device");
	if (r >= 0)
		r = bs_node_add_mountpoint(dev, target);
	if (r < 0)
		return r;

	bs_node_raise_state(m, BS_STATE_MOUNTED);
	bs_node_add_source(m, BS_SOURCE_LIVE);
	return 1;
}

int bs_mountinfo_parse_file(struct bs_graph *g, const char *path)
{
	_cleanup_(mnt_unref_tablep) struct libmnt_table *tb = NULL;
	_cleanup_(mnt_free_iterp) struct libmnt_iter *it = NULL;
	struct libmnt_fs *fs;
	int r, n = 0;

	if (!g || !path)
		return -EINVAL;

	r = bs_mnt_table_new(g->ctx, &tb);
	if (r < 0)
		return r;
	it = mnt_new_iter(MNT_ITER_FORWARD);
	if (!it)
		return -ENOMEM;

	r = mnt_table_parse_file(tb, path);
	if (r == -ENOENT) {
		bs_log_debug(g->ctx, "'%s' does not exist, no mounts", path);
		return 0;
	}
	if (r < 0) {
		bs_log_warn(g->ctx, "%s: cannot read: %s, ignoring", path, strerror(-r));
		return r;
	}

	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		r = add_mount(g, fs);
		if (r < 0)
			return r;
		n += r;
	}

	bs_log_debug(g->ctx, "%s: %d mounts of block devices", path, n);
	return n;
}

int bs_source_mountinfo(struct bs_graph *g)
{
	_cleanup_free_ char *path = NULL;

	if (!g)
		return -EINVAL;

	path = bs_sysroot_path_dup(g->ctx, MOUNTINFO_PATH);
	if (!path)
		return -ENOMEM;
	return bs_mountinfo_parse_file(g, path);
}
