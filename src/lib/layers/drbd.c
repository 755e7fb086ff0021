/* The drbd driver: brings DRBD resources up with drbdadm (and promotes them), and down. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawn-util.h"
#include "util.h"

/*
 * A resource is defined in drbd.conf (/etc/drbd.d/), which blkstack does not read: its
 * stack.conf line ('drbd RESOURCE device=/dev/drbdN', sources/stack-conf.c) names it and its
 * minor, and the node carries that as its typed configuration. A live drbdN that no line
 * names is blk:drbdN, whose resource is unknown.
 */
static const struct bs_drbd_config *drbd_config(const struct bs_node *n)
{
	return n->config ? n->config->drbd : NULL;
}

static int no_resource(struct bs_step *s, const struct bs_node *n)
{
	return bs_step_fail(s, -ENXIO,
			    "which DRBD resource '%s' is, the kernel does not say; name it in "
			    "stack.conf ('drbd RESOURCE device=/dev/%s')",
			    n->id, n->name ? n->name : "drbdN");
}

/* drbdadm COMMAND RESOURCE. */
static int drbdadm(struct bs_step *s, const char *command, const char *resource)
{
	_cleanup_(bs_argv_done) struct bs_argv a = {};

	bs_argv_add(&a, "drbdadm");
	bs_argv_add(&a, command);
	bs_argv_add(&a, resource);
	return bs_argv_spawn(s, &a, NULL);
}

static int drbd_up(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	const struct bs_drbd_config *c = drbd_config(n);
	char kname[32];
	int r;

	if (!c)
		return no_resource(s, n);
	/* attach, connect: the peer may come later, DRBD waits for it in the background. */
	r = drbdadm(s, "up", c->resource);
	if (r < 0)
		return bs_spawn_fail(s, r,
				     "'drbdadm up %s' failed (see its message); is the resource "
				     "defined in /etc/drbd.d/, its disk there, and the 'drbd' "
				     "module loaded?",
				     c->resource);
	if (c->primary) {
		r = drbdadm(s, "primary", c->resource);
		if (r < 0)
			return bs_spawn_fail(s, r,
					     "'drbdadm primary %s' failed (see its message); it "
					     "is up but Secondary: is the peer Primary, or the "
					     "local disk not UpToDate?",
					     c->resource);
	}
	snprintf(kname, sizeof(kname), "drbd%u", (unsigned)c->minor);
	return bs_step_set_device(s, kname);
}

static int drbd_down(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	const struct bs_drbd_config *c = drbd_config(n);
	_cleanup_free_ char *path = NULL;
	int r;

	if (!c)
		return no_resource(s, n);
	r = bs_step_device(s, n, &path);
	if (r < 0)
		return r;

	/* Both refuse a device that is held open ("Device is held open by someone"). */
	r = drbdadm(s, "secondary", c->resource);
	if (r == -EPROTO && bs_step_device_busy(s, path) > 0)
		return bs_step_fail(s, -EBUSY, "%s (%s) is busy", path, n->id);
	if (r < 0)
		return bs_spawn_fail(s, r, "'drbdadm secondary %s' failed (see its message)",
				     c->resource);
	r = drbdadm(s, "down", c->resource);
	if (r == -EPROTO && bs_step_device_busy(s, path) > 0)
		return bs_step_fail(s, -EBUSY, "%s (%s) is busy", path, n->id);
	if (r < 0)
		return bs_spawn_fail(s, r, "'drbdadm down %s' failed (see its message)",
				     c->resource);
	return 0;
}

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_DRBD_UP, drbd_up },
	{ BS_ACTION_DRBD_DOWN, drbd_down },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_drbd = { "drbd", "drbdadm", actions };
