/* The loop driver: attaches the files of stack.conf's loop lines and detaches loop devices. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "layers-fs.h"
#include "layers.h"
#include "parse.h"
#include "sources/config.h"
#include "strv.h"
#include "util.h"

static int bad_option(const char *opt, char **ret_bad)
{
	if (ret_bad) {
		*ret_bad = strdup(opt);
		if (!*ret_bad)
			return -ENOMEM;
	}
	return -EINVAL;
}

int bs_loop_options_parse(const char *options, struct bs_loop_options *ret, char **ret_bad)
{
	_cleanup_strv_free_ char **opts = NULL;
	struct bs_loop_options o = {};
	int r;

	if (!ret)
		return -EINVAL;
	r = options ? strv_split(options, ",", &opts) : 0;
	if (r < 0)
		return r;
	for (char **p = opts; p && *p; p++) {
		const char *v;
		uint64_t n;

		if (streq(*p, "ro"))
			o.read_only = true;
		else if (streq(*p, "partscan"))
			o.partscan = true;
		else if (streq(*p, "direct-io"))
			o.direct_io = true;
		else if (streq(*p, "noauto") || streq(*p, "nofail"))
			continue; /* the planner's */
		else if ((v = startswith(*p, "offset="))) {
			if (bs_config_parse_size(v, &o.offset) < 0)
				return bad_option(*p, ret_bad);
		} else if ((v = startswith(*p, "sizelimit="))) {
			if (bs_config_parse_size(v, &o.sizelimit) < 0)
				return bad_option(*p, ret_bad);
		} else if ((v = startswith(*p, "sector-size="))) {
			if (safe_atou64(v, &n) < 0 || n < 512 || n > 4096 || (n & (n - 1)) != 0)
				return bad_option(*p, ret_bad);
			o.sector_size = (uint32_t)n;
		} else
			/* stack.conf rejects unknown options; one that gets here is newer than this
			 * driver, and ignoring it could expose the wrong bytes. */
			return bad_option(*p, ret_bad);
	}
	*ret = o;
	return 0;
}

static int run_loop_attach(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	const char *file = bs_node_attr(n, BS_ATTR_BACKING_FILE);
	_cleanup_free_ char *bad = NULL, *path = NULL, *device = NULL;
	struct bs_loop_options o;
	int r;

	if (!file || file[0] != '/')
		return bs_step_fail(s, -EINVAL, "'%s' has no backing file to attach", n->id);

	r = bs_loop_options_parse(bs_node_attr(n, BS_ATTR_OPTIONS), &o, &bad);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return bs_step_fail(s, r, "bad loop option '%s' (see stack.conf(5))", strna(bad));

	r = bs_step_target_path(s, file, &path);
	if (r < 0)
		return bs_step_fail(s, r, "cannot locate '%s': %s", file,
				    strerror(-r));

	r = bs_step_loop_attach(s, path, &o, &device);
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

static const struct bs_kind kind_loop = {
	.kind = BS_NODE_LOOP,
	.up = BS_ACTION_LOOP_ATTACH,
	.up_until = BS_STATE_ACTIVE,
	.down = BS_ACTION_LOOP_DETACH,
	.up_when_configured = true,
};

static const struct bs_kind *const kinds[] = { &kind_loop, NULL };

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_LOOP_ATTACH, run_loop_attach },
	{ BS_ACTION_LOOP_DETACH, run_loop_detach },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_loop = { "loop", NULL, kinds, actions };
