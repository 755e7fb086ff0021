/* Live source: the active swap areas of proc/swaps, as swap nodes on their devices or files. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "graph.h"
#include "libmount-util.h"
#include "sources.h"
#include "sysroot.h"
#include "util.h"

#define SWAPS_PATH "proc/swaps"

/* A swap area on a block device: "swap:" and the device's id. */
static int add_device_swap(struct bs_graph *g, struct bs_node *dev, const char *source,
			   struct bs_node **ret)
{
	_cleanup_free_ char *id = NULL;
	struct bs_node *s;
	int r;

	if (strextend(&id, "swap:", dev->id, NULL) < 0)
		return -ENOMEM;
	r = bs_graph_ensure_node(g, BS_NODE_SWAP, id, &s);
	if (r < 0)
		return r;
	r = bs_node_set_attr(s, BS_ATTR_SOURCE, source);
	if (r >= 0)
		r = bs_graph_add_edge(g, s, dev, "device");
	if (r < 0)
		return r;

	*ret = s;
	return 0;
}

/* A swap file has no device of its own: "swap:" and its path. It needs the mount holding the
 * file, which bs_graph_link_derived() finds from the backing file, as for a loop device. */
static int add_file_swap(struct bs_graph *g, const char *path, struct bs_node **ret)
{
	_cleanup_free_ char *id = NULL;
	struct bs_node *s;
	int r;

	path = bs_ctx_target_path(g->ctx, path);
	if (strextend(&id, "swap:", path, NULL) < 0)
		return -ENOMEM;
	r = bs_graph_ensure_node(g, BS_NODE_SWAP, id, &s);
	if (r < 0)
		return r;
	r = bs_node_set_attr(s, BS_ATTR_SOURCE, path);
	if (r >= 0)
		r = bs_node_set_attr(s, BS_ATTR_BACKING_FILE, path);
	if (r < 0)
		return r;

	*ret = s;
	return 0;
}

static int add_swap(struct bs_graph *g, const char *file, struct libmnt_fs *fs)
{
	const char *source = mnt_fs_get_source(fs), *type = mnt_fs_get_swaptype(fs);
	struct bs_node *dev, *s = NULL;
	int r;

	if (!source || source[0] != '/') {
		bs_log_warn(g->ctx, "%s: swap area '%s' is not an absolute path, ignoring", file,
			    strna(source));
		return 0;
	}

	dev = bs_graph_find_dev_path(g, source);
	if (dev)
		r = add_device_swap(g, dev, source, &s);
	else if ((type && streq(type, "file")) || !startswith(source, "/dev/"))
		r = add_file_swap(g, source, &s);
	else {
		bs_log_warn(g->ctx, "%s: swap device '%s' is not a known block device, ignoring",
			    file, source);
		return 0;
	}
	if (r == -EEXIST) {
		bs_log_warn(g->ctx,
			    "%s: swap on '%s': its id exists as another kind of node, ignoring",
			    file, source);
		return 0;
	}
	if (r < 0)
		return r;

	bs_node_raise_state(s, BS_STATE_ACTIVE);
	bs_node_add_source(s, BS_SOURCE_LIVE);
	return 1;
}

int bs_source_swaps(struct bs_graph *g)
{
	_cleanup_(mnt_unref_tablep) struct libmnt_table *tb = NULL;
	_cleanup_(mnt_free_iterp) struct libmnt_iter *it = NULL;
	_cleanup_free_ char *path = NULL;
	struct libmnt_fs *fs;
	int r, n = 0;

	if (!g)
		return -EINVAL;

	path = bs_sysroot_path_dup(g->ctx, SWAPS_PATH);
	if (!path)
		return -ENOMEM;
	r = bs_mnt_table_new(g->ctx, &tb);
	if (r < 0)
		return r;
	it = mnt_new_iter(MNT_ITER_FORWARD);
	if (!it)
		return -ENOMEM;

	/* libmount skips the header line of the kernel's table and unescapes the paths. */
	r = mnt_table_parse_swaps(tb, path);
	if (r == -ENOENT) {
		bs_log_debug(g->ctx, "'%s' does not exist, no swap areas", path);
		return 0;
	}
	if (r < 0) {
		bs_log_warn(g->ctx, "%s: cannot read: %s, ignoring", path, strerror(-r));
		return r;
	}

	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		r = add_swap(g, path, fs);
		if (r < 0)
			return r;
		n += r;
	}

	bs_log_debug(g->ctx, "%s: %d swap areas", path, n);
	return n;
}
