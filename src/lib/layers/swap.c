/* The swap driver: swapon and swapoff of swap devices and swap files. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/swap.h>

#include "graph.h"
#include "layers.h"
#include "parse.h"
#include "strv.h"
#include "util.h"

/* The swap area's path: its device, or the swap file (a file on a configured filesystem is
 * below the mount root; proc/swaps names it without). */
static int swap_path(struct bs_step *s, const struct bs_node *n, char **ret)
{
	const char *file = bs_node_attr(n, BS_ATTR_BACKING_FILE);
	struct bs_node *dev = bs_node_need_with_role(n, "device");
	int r;

	if (dev)
		return bs_step_device(s, dev, ret);
	if (!file)
		return bs_step_fail(s, -ENXIO,
				    "no device is known for '%s'; if it is inside a layer "
				    "that is still closed, open that layer first",
				    strna(bs_node_attr(n, BS_ATTR_SOURCE)));
	r = bs_step_target_path(s, file, ret);
	if (r < 0)
		return bs_step_fail(s, r, "cannot locate the swap file '%s': %s", file,
				    strerror(-r));
	return 0;
}

static int run_swapon(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	/* The flags were taken from fstab's options when the graph was loaded. */
	int flags = n->config && n->config->has_swap_flags ? n->config->swap_flags : 0, r;
	_cleanup_free_ char *path = NULL;

	r = swap_path(s, n, &path);
	if (r < 0)
		return r;

	r = bs_step_swapon(s, path, flags);
	if (r == -EBUSY)
		return bs_step_fail(s, r,
				    "swapon '%s' failed: it is in use already (as swap, or by "
				    "another layer)",
				    path);
	if (r == -EINVAL)
		return bs_step_fail(s, r,
				    "swapon '%s' failed: no swap signature (run mkswap on it), or "
				    "a swap file with holes",
				    path);
	if (r < 0)
		return bs_step_fail(s, r, "swapon '%s' failed: %s", path, strerror(-r));
	return 0;
}

static int run_swapoff(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	_cleanup_free_ char *path = NULL;
	int r;

	r = swap_path(s, n, &path);
	if (r < 0)
		return r;

	r = bs_step_swapoff(s, path);
	if (r == -ENOMEM)
		return bs_step_fail(s, r,
				    "swapoff '%s' failed: not enough free memory to take its pages "
				    "back",
				    path);
	if (r == -EINVAL)
		return bs_step_fail(s, r, "swapoff '%s' failed: it is not a swap area in use",
				    path);
	if (r < 0)
		return bs_step_fail(s, r, "swapoff '%s' failed: %s", path, strerror(-r));
	return 0;
}

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_SWAPON, run_swapon },
	{ BS_ACTION_SWAPOFF, run_swapoff },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_swap = { "swap", NULL, actions };
