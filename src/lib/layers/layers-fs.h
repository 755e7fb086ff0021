/* What the mount, swap and loop drivers compute without touching the system, for unit tests. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"
#include "ops.h"
#include "macro.h"
#include "util.h"

/* The first node that n needs in role, or NULL. It reads the edge arrays directly: the
 * getters sort the graph lazily, and the graph is shared by the steps running at once. */
static inline struct bs_node *bs_layer_need_with_role(const struct bs_node *n, const char *role)
{
	for (size_t i = 0; i < n->n_needs; i++)
		if (streq(n->needs[i]->role, role))
			return n->needs[i]->needs;
	return NULL;
}

/* ---- mount.c ------------------------------------------------------------------------------ */

/* fstab's options field, split the way mount(2) takes it. */
struct bs_mount_options {
	/* MS_* flags for the mount itself, without propagation flags or MS_REMOUNT. */
	unsigned long flags;
	/* MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE, with MS_REC for the r* forms:
	 * mount(2) sets them in a call of their own, after the mount. 0 for none. */
	unsigned long propagation;
	/* The filesystem's own options ("subvol=@,compress=zstd"), mount(2)'s data; NULL if
	 * none. Userspace options (noauto, nofail, _netdev, x-*, comment=, loop, ...) are
	 * dropped. */
	char *data;
	/* The options a mount helper (mount.nfs) gets: the filesystem's and the kernel's,
	 * without the userspace ones; NULL if none. */
	char *helper;
	/* Options of the 'loop' mount of an image file that the loop driver cannot honour
	 * (offset=, sizelimit=, encryption=), as written; NULL if none. */
	char *loop_unsupported;
};

/* Splits options (NULL or "" for defaults) with libmount's option maps. "user", "users",
 * "owner" and "group" imply nosuid,nodev(,noexec) as fstab(5) says. Returns 0 or -ENOMEM
 * (or -EINVAL for a string libmount cannot parse); ret is filled only on success. */
int bs_mount_options_split(const char *options, struct bs_mount_options *ret);
void bs_mount_options_done(struct bs_mount_options *o);

/* ---- swap.c ------------------------------------------------------------------------------- */

/* swapon(2)'s flags from fstab options: pri=N (0 to 32767; -1 is the default and sets
 * nothing) and discard, discard=once, discard=pages. Other options are not swapon's and are
 * passed over. Returns 0, -EINVAL for a bad pri= or discard= (*ret_bad, if not NULL, gets a
 * copy of that option), or -ENOMEM. */
int bs_swap_flags_from_options(const char *options, int *ret_flags, char **ret_bad);

/* ---- loop.c ------------------------------------------------------------------------------- */

/* The options of a stack.conf loop line (stack.conf(5)). */

/* Parses options (NULL for none). Options that are not the loop device's own (noauto,
 * nofail) are passed over. Returns 0, -EINVAL for a bad value (*ret_bad, if not NULL, gets
 * a copy of that option) or -ENOMEM. */
int bs_loop_options_parse(const char *options, struct bs_loop_options *ret, char **ret_bad);
