/* The btrfs driver: registers the devices of a multi-device btrfs so that it can be mounted. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "layers.h"
#include "strv.h"
#include "util.h"

/*
 * The kernel assembles a btrfs from the devices registered with it (BTRFS_IOC_SCAN_DEV);
 * udev does that on every uevent, and this step does it when there is no udev. After the
 * last device, BTRFS_IOC_DEVICES_READY says whether every device of the filesystem is
 * known. The members are the edges of role "member" (derived.c, and the recorded graph).
 */
static int run_btrfs_scan(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	_cleanup_strv_free_ char **scanned = NULL;
	_cleanup_free_ char *list = NULL;
	bool complete = false, any_member = false;
	int r;

	/* /dev/btrfs-control is the module's. */
	bs_step_load_module(s, "btrfs");
	for (size_t i = 0; i < n->n_needs; i++) {
		const struct bs_edge *e = n->needs[i];
		_cleanup_free_ char *path = NULL;

		if (!streq(e->role, "member"))
			continue;
		any_member = true;
		/* A member that timed out cannot be scanned; the check below says what is
		 * missing. */
		if (bs_step_is_missing(s, e->needs))
			continue;
		r = bs_step_device(s, e->needs, &path);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			continue;

		r = bs_step_btrfs_scan(s, path, &complete);
		if (r < 0)
			return bs_step_fail(s, r, "registering '%s' with btrfs failed: %s%s", path,
					    strerror(-r),
					    r == -ENOENT ? " (no /dev/btrfs-control: load the "
							   "'btrfs' module)" :
							   "");
		if (!scanned) {
			r = bs_step_set_device(s, path);
			if (r < 0)
				return r;
		}
		r = strv_push(&scanned, path);
		if (r < 0)
			return r;
		TAKE_PTR(path);
	}

	if (!any_member)
		return bs_step_fail(s, -ENXIO, "'%s' has no member devices to register", n->id);
	if (!scanned)
		return bs_step_fail(s, -ENXIO, "none of its devices is there");
	if (complete)
		return 0;

	r = strv_join(scanned, ", ", &list);
	if (r < 0)
		return r;
	return bs_step_fail(s, -ENXIO,
			    "'%s' is incomplete after scanning %s: a device of it is missing; "
			    "bring that device up, or mount it by hand with -o degraded",
			    n->id, list);
}

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_BTRFS_SCAN, run_btrfs_scan },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_btrfs = { "btrfs", NULL, actions };
