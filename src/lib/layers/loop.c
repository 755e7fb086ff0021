/* The loop driver: attaches the files of stack.conf's loop lines and detaches loop devices. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "layers.h"
#include "strv.h"
#include "util.h"

static int run_loop_attach(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	const char *file = bs_node_attr(n, BS_ATTR_BACKING_FILE);
	_cleanup_free_ char *path = NULL, *device = NULL;
	/* A loop device no stack.conf line describes shows its whole file, read-write. */
	const struct bs_loop_options *o =
		n->config && n->config->loop ? n->config->loop : &(struct bs_loop_options){};
	int r;

	if (!file || file[0] != '/')
		return bs_step_fail(s, -EINVAL, "'%s' has no backing file to attach", n->id);

	r = bs_step_target_path(s, file, &path);
	if (r < 0)
		return bs_step_fail(s, r, "cannot locate '%s': %s", file, strerror(-r));

	bs_step_load_module(s, "loop");
	r = bs_step_loop_attach(s, path, o, &device);
	if (r == -EROFS || r == -EACCES)
		return bs_step_fail(s, r,
				    "'%s' cannot be opened for writing (%s); add 'ro' to its "
				    "stack.conf line to attach it read-only",
				    path, strerror(-r));
	if (r == -ENOENT)
		return bs_step_fail(s, r,
				    "attaching '%s' failed: it does not exist, or the loop driver "
				    "is missing (no /dev/loop-control: load the 'loop' module)",
				    path);
	if (r == -EBUSY)
		return bs_step_fail(s, r,
				    "attaching '%s' failed: no free loop device (others kept "
				    "taking them)",
				    path);
	if (r < 0)
		return bs_step_fail(s, r, "attaching '%s' to a loop device failed: %s", path,
				    strerror(-r));

	return bs_step_set_device(s, device);
}

static int run_loop_detach(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	_cleanup_free_ char *device = NULL;
	int r;

	r = bs_step_device(s, n, &device);
	if (r < 0)
		return r;

	r = bs_step_loop_detach(s, device);
	if (r == -EBUSY)
		return bs_step_fail(s, r,
				    "'%s' is in use: mounted, held by another layer, or open in a "
				    "process (then it detaches when that closes it)",
				    device);
	if (r < 0)
		return bs_step_fail(s, r, "detaching '%s' failed: %s", device, strerror(-r));
	return 0;
}

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_LOOP_ATTACH, run_loop_attach },
	{ BS_ACTION_LOOP_DETACH, run_loop_detach },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_loop = { "loop", NULL, actions };
