/* The swap driver: swapon and swapoff of swap devices and swap files. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/swap.h>

#include "graph.h"
#include "layers-fs.h"
#include "layers.h"
#include "parse.h"
#include "strv.h"
#include "util.h"

/* Not in every libc's <sys/swap.h>: the kernel's values (linux/swap.h). */
#ifndef SWAP_FLAG_DISCARD_ONCE
#define SWAP_FLAG_DISCARD_ONCE 0x20000
#endif
#ifndef SWAP_FLAG_DISCARD_PAGES
#define SWAP_FLAG_DISCARD_PAGES 0x40000
#endif

/* The kernel's highest priority: SWAP_FLAG_PRIO_MASK >> SWAP_FLAG_PRIO_SHIFT. */
#define SWAP_PRIO_MAX 32767

static int bad_option(const char *opt, char **ret_bad)
{
	if (ret_bad) {
		*ret_bad = strdup(opt);
		if (!*ret_bad)
			return -ENOMEM;
	}
	return -EINVAL;
}

int bs_swap_flags_from_options(const char *options, int *ret_flags, char **ret_bad)
{
	_cleanup_strv_free_ char **opts = NULL;
	int flags = 0, r;

	if (!ret_flags)
		return -EINVAL;
	r = options ? strv_split(options, ",", &opts) : 0;
	if (r < 0)
		return r;
	for (char **o = opts; o && *o; o++) {
		const char *v;

		if ((v = startswith(*o, "pri="))) {
			int prio;

			if (safe_atoi(v, &prio) < 0 || prio < -1 || prio > SWAP_PRIO_MAX)
				return bad_option(*o, ret_bad);
			flags &= ~(SWAP_FLAG_PREFER | SWAP_FLAG_PRIO_MASK);
			/* -1 is what swapon(8) documents as the kernel's own choice. */
			if (prio >= 0)
				flags |= SWAP_FLAG_PREFER |
					 ((prio << SWAP_FLAG_PRIO_SHIFT) & SWAP_FLAG_PRIO_MASK);
		} else if (streq(*o, "discard")) {
			flags &= ~(SWAP_FLAG_DISCARD_ONCE | SWAP_FLAG_DISCARD_PAGES);
			flags |= SWAP_FLAG_DISCARD;
		} else if ((v = startswith(*o, "discard="))) {
			flags &= ~(SWAP_FLAG_DISCARD_ONCE | SWAP_FLAG_DISCARD_PAGES);
			if (streq(v, "once"))
				flags |= SWAP_FLAG_DISCARD | SWAP_FLAG_DISCARD_ONCE;
			else if (streq(v, "pages"))
				flags |= SWAP_FLAG_DISCARD | SWAP_FLAG_DISCARD_PAGES;
			else
				return bad_option(*o, ret_bad);
		}
		/* sw, defaults, noauto, nofail, x-systemd.*: not swapon's. */
	}
	*ret_flags = flags;
	return 0;
}

/* The swap area's path: its device, or the swap file (a file on a configured filesystem is
 * below the mount root; proc/swaps names it without). */
static int swap_path(struct bs_step *s, const struct bs_node *n, char **ret)
{
	const char *file = bs_node_attr(n, BS_ATTR_BACKING_FILE);
	struct bs_node *dev = bs_layer_need_with_role(n, "device");
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
	const char *options = bs_node_attr(n, BS_ATTR_OPTIONS);
	_cleanup_free_ char *path = NULL, *bad = NULL;
	int flags, r;

	r = bs_swap_flags_from_options(options, &flags, &bad);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return bs_step_fail(s, r,
				    "bad swap option '%s' (pri= takes -1 to 32767, discard= "
				    "takes once or pages)",
				    strna(bad));

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

static const struct bs_kind kind_swap = {
	.kind = BS_NODE_SWAP,
	.up = BS_ACTION_SWAPON,
	.up_until = BS_STATE_ACTIVE,
	.down = BS_ACTION_SWAPOFF,
	.is_user = true,
	.up_when_configured = true,
};

static const struct bs_kind *const kinds[] = { &kind_swap, NULL };

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_SWAPON, run_swapon },
	{ BS_ACTION_SWAPOFF, run_swapoff },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_swap = { "swap", NULL, kinds, actions };
