/* Links that need several sources at once: files to the mounts that hold them, multi-device
 * btrfs, and mounts below mounts. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "sources.h"
#include "util.h"

/* The mount point of a mount node (its id without "mnt:"), or NULL for any other node. */
static const char *mount_node_path(const struct bs_node *n)
{
	return n->kind == BS_NODE_MOUNT ? startswith(n->id, "mnt:") : NULL;
}

/* A loop device (or a swap file, or whatever else has a backing file) needs the mount that
 * holds its file. */
static int link_backing_files(struct bs_graph *g)
{
	for (size_t i = 0; i < g->n_nodes; i++) {
		struct bs_node *n = g->nodes[i], *mount;
		const char *file = bs_node_attr(n, BS_ATTR_BACKING_FILE);
		int r;

		if (!file)
			continue;
		if (file[0] != '/') {
			bs_log_debug(g->ctx, "'%s': backing file '%s' is not an absolute path",
				     n->id, file);
			continue;
		}

		mount = bs_graph_find_mount_holding(g, file, n, true);
		if (!mount) {
			bs_log_debug(g->ctx, "'%s': no mount holds its backing file '%s'", n->id,
				     file);
			continue;
		}

		r = bs_graph_add_edge(g, n, mount, "backing-file");
		if (r < 0)
			return r;
	}
	return 0;
}

static bool is_btrfs_device(const struct bs_node *n)
{
	const char *fstype = bs_node_attr(n, BS_ATTR_FSTYPE);

	/* Mount nodes carry the type of what they mount, and btrfs nodes their own. */
	if (n->kind == BS_NODE_MOUNT || n->kind == BS_NODE_SWAP || n->kind == BS_NODE_BTRFS)
		return false;
	return fstype && streq(fstype, "btrfs") && bs_node_attr(n, BS_ATTR_UUID);
}

static int cmp_by_uuid(const void *a, const void *b)
{
	const struct bs_node *x = *(struct bs_node *const *)a, *y = *(struct bs_node *const *)b;
	int c = strcmp(x->attrs[BS_ATTR_UUID], y->attrs[BS_ATTR_UUID]);

	return c ? c : strcmp(x->id, y->id);
}

/* The mounts of one member device, the way mountinfo linked them: role "device". */
static int collect_device_mounts(const struct bs_node *member, struct bs_node ***mounts,
				 size_t *n_mounts)
{
	for (size_t i = 0; i < member->n_holders; i++) {
		struct bs_edge *e = member->holders[i];
		struct bs_node **p;

		if (e->holder->kind != BS_NODE_MOUNT || !streq(e->role, "device"))
			continue;

		p = reallocarray(*mounts, *n_mounts + 1, sizeof(**mounts));
		if (!p)
			return -ENOMEM;
		*mounts = p;
		(*mounts)[(*n_mounts)++] = e->holder;
	}
	return 0;
}

/* A block device the running kernel has now. Not a member known only to the recorded graph
 * (a mapping still closed), nor a live LV that is not active: it has no device, and its
 * filesystem type comes from the record. */
static bool is_live_device(const struct bs_node *n)
{
	return (n->sources & BS_SOURCE_LIVE) && n->devno != 0 && n->state >= BS_STATE_PRESENT;
}

/* members share one btrfs UUID; there are at least two of them. */
static int link_btrfs_group(struct bs_graph *g, struct bs_node *const *members, size_t n_members)
{
	_cleanup_free_ struct bs_node **mounts = NULL;
	_cleanup_free_ char *id = NULL;
	const char *uuid = bs_node_attr(members[0], BS_ATTR_UUID);
	size_t n_mounts = 0, n_live = 0;
	struct bs_node *fs;
	int r;

	if (strextend(&id, "btrfs:", uuid, NULL) < 0)
		return -ENOMEM;
	r = bs_graph_ensure_node(g, BS_NODE_BTRFS, id, &fs);
	if (r == -EEXIST) {
		bs_log_warn(g->ctx, "'%s' exists as another kind of node, ignoring", id);
		return 0;
	}
	if (r < 0)
		return r;

	/* The filesystem is there when two of its devices or more are, as the live graph
	 * alone finds it (or when it is mounted, below). Once the recorded graph is merged, the
	 * group also holds members that only the record knows: they are linked as members, but
	 * do not make the filesystem live. */
	for (size_t i = 0; i < n_members; i++)
		if (is_live_device(members[i]))
			n_live++;
	if (n_live >= 2) {
		bs_node_add_source(fs, BS_SOURCE_LIVE);
		bs_node_raise_state(fs, BS_STATE_PRESENT);
	}
	r = bs_node_set_attr(fs, BS_ATTR_UUID, uuid);
	if (r >= 0)
		r = bs_node_set_attr(fs, BS_ATTR_FSTYPE, "btrfs");
	if (r >= 0 && !bs_node_attr(fs, BS_ATTR_LABEL))
		r = bs_node_set_attr(fs, BS_ATTR_LABEL, bs_node_attr(members[0], BS_ATTR_LABEL));
	if (r < 0)
		return r;

	for (size_t i = 0; i < n_members; i++) {
		r = bs_graph_add_edge(g, fs, members[i], "member");
		if (r < 0)
			return r;
		r = collect_device_mounts(members[i], &mounts, &n_mounts);
		if (r < 0)
			return r;
	}

	/* A mount of any one member mounts the whole filesystem: it needs every device. A live
	 * one says that the kernel has the filesystem, even with a device missing (mounted
	 * degraded); a configured or recorded one says nothing of its state. */
	for (size_t i = 0; i < n_mounts; i++) {
		bs_graph_remove_needs(g, mounts[i], "device");
		r = bs_graph_add_edge(g, mounts[i], fs, "device");
		if (r < 0)
			return r;
		if (!(mounts[i]->sources & BS_SOURCE_LIVE))
			continue;
		bs_node_add_source(fs, BS_SOURCE_LIVE);
		bs_node_raise_state(fs, BS_STATE_ACTIVE);
		for (char *const *m = bs_node_get_mountpoints(mounts[i]); *m; m++) {
			r = bs_node_add_mountpoint(fs, *m);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int link_btrfs(struct bs_graph *g)
{
	_cleanup_free_ struct bs_node **devices = NULL;
	size_t n_devices = 0;
	int r;

	/* A copy: creating btrfs nodes grows g->nodes. */
	devices = calloc(g->n_nodes ? g->n_nodes : 1, sizeof(*devices));
	if (!devices)
		return -ENOMEM;
	for (size_t i = 0; i < g->n_nodes; i++)
		if (is_btrfs_device(g->nodes[i]))
			devices[n_devices++] = g->nodes[i];
	qsort(devices, n_devices, sizeof(*devices), cmp_by_uuid);

	for (size_t start = 0, end; start < n_devices; start = end) {
		const char *uuid = bs_node_attr(devices[start], BS_ATTR_UUID);

		end = start + 1;
		while (end < n_devices && streq(bs_node_attr(devices[end], BS_ATTR_UUID), uuid))
			end++;
		if (end - start < 2)
			continue;

		r = link_btrfs_group(g, devices + start, end - start);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Each mount needs the mount its mount point lies on: /data/loop needs /data, /data needs /. */
static int link_nested_mounts(struct bs_graph *g)
{
	for (size_t i = 0; i < g->n_nodes; i++) {
		struct bs_node *n = g->nodes[i], *parent;
		const char *mp = mount_node_path(n);
		int r;

		if (!mp || streq(mp, "/"))
			continue;

		parent = bs_graph_find_mount_holding(g, mp, n, true);
		if (!parent)
			continue;

		r = bs_graph_add_edge(g, n, parent, "mountpoint");
		if (r < 0)
			return r;
	}
	return 0;
}

int bs_graph_link_derived(struct bs_graph *g)
{
	int r;

	if (!g)
		return -EINVAL;

	/* btrfs first: it moves mounts from their device to the filesystem node. */
	r = link_btrfs(g);
	if (r < 0)
		return r;
	r = link_backing_files(g);
	if (r < 0)
		return r;
	return link_nested_mounts(g);
}
