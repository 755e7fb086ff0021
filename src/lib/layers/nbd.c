/* The nbd driver: connects network block devices with nbd-client, and disconnects them. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "spawn-util.h"
#include "strv.h"
#include "util.h"

#define NBD_DEFAULT_PORT 10809

/* stack.conf's nbd options (see stack.conf(5)) as nbd-client's; noauto and nofail are the
 * planner's. */
static const struct {
	const char *option;
	const char *flag;
	bool has_value;
} nbd_options[] = {
	{ "ro", "--readonly", false },		{ "connections", "--connections", true },
	{ "block-size", "--block-size", true }, { "tls", "--enable-tls", false },
	{ "certfile", "--certfile", true },	{ "keyfile", "--keyfile", true },
	{ "cacertfile", "--cacertfile", true }, { "tlshostname", "--tlshostname", true },
	{ "persist", "--persist", false },	{ "swap", "--swap", false },
};

static int add_options(struct bs_step *s, const struct bs_node *n, struct bs_argv *a)
{
	const char *opts = n->attrs[BS_ATTR_OPTIONS];
	_cleanup_free_ char *timeout = NULL;
	uint64_t usec;
	int r;

	for (size_t i = 0; i < ELEMENTSOF(nbd_options); i++) {
		_cleanup_free_ char *value = NULL;

		r = bs_options_get(opts, nbd_options[i].option, &value);
		if (r < 0)
			return bs_step_fail(s, r, "out of memory");
		if (r == 0)
			continue;
		if (nbd_options[i].has_value != !!value)
			return bs_step_fail(
				s, -EINVAL,
				"bad nbd option '%s' in '%s'; check its line in stack.conf",
				nbd_options[i].option, opts);
		bs_argv_add(a, nbd_options[i].flag);
		if (value)
			bs_argv_add(a, value);
	}

	/* nbd-client takes whole seconds. */
	r = bs_options_get(opts, "timeout", &timeout);
	if (r < 0)
		return bs_step_fail(s, r, "out of memory");
	if (r > 0) {
		if (!timeout || parse_timespan(timeout, &usec) < 0 || usec == 0)
			return bs_step_fail(
				s, -EINVAL,
				"bad nbd option 'timeout=%s'; check its line in stack.conf",
				strempty(timeout));
		bs_argv_add(a, "--timeout");
		bs_argv_addf(a, "%llu", (unsigned long long)((usec + 999999) / 1000000));
	}
	return 0;
}

/* The kernel name of the node's nbd device when the configuration names one ("blk:nbd0"),
 * else NULL: "nbd:NAME" lets the kernel pick a free device. */
static const char *configured_device(const struct bs_node *n)
{
	const char *name = n->name ? n->name : startswith(n->id, "blk:");

	return name && startswith(name, "nbd") ? name : NULL;
}

/* Whether the root filesystem (mnt:/) needs n, directly or through the layers above it. */
static bool holds_root(const struct bs_node *n)
{
	if (streq(n->id, "mnt:/"))
		return true;
	for (size_t i = 0; i < n->n_holders; i++)
		if (holds_root(n->holders[i]->holder))
			return true;
	return false;
}

static int nbd_connect(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	const char *source = n->attrs[BS_ATTR_SOURCE], *kname = configured_device(n);
	_cleanup_free_ char *host = NULL, *export = NULL, *out = NULL, *picked = NULL;
	_cleanup_(bs_argv_done) struct bs_argv a = {};
	uint16_t port;
	bool root;
	int r;

	r = bs_remote_uri_parse(source, "nbd", &host, &port, &export);
	if (r == -ENOMEM)
		return bs_step_fail(s, r, "out of memory");
	if (r < 0)
		return bs_step_fail(s, -EINVAL,
				    "no server to connect to ('%s' is not "
				    "nbd://HOST:PORT/EXPORT); check its line in stack.conf",
				    strna(source));

	/* HOST PORT [DEVICE]: the port always, since nbd-client takes a second word that is no
	 * number for the device. Netlink (the default) wants the device as /dev/nbdN. */
	/* Below root, the client is a root-storage daemon: "@" keeps it through the shutdown's
	 * kill phase until root is unmounted, and -persist reconnects it if the server
	 * restarts, since root cannot wait for anyone to do it. */
	root = holds_root(n);
	bs_argv_add(&a, root ? "@nbd-client" : "nbd-client");
	bs_argv_add(&a, host);
	bs_argv_addf(&a, "%u", port ? port : NBD_DEFAULT_PORT);
	if (kname)
		bs_argv_addf(&a, "/dev/%s", kname);
	if (*export) {
		bs_argv_add(&a, "--name");
		bs_argv_add(&a, export);
	}
	r = add_options(s, n, &a);
	if (r < 0)
		return r;
	if (root && !strv_contains(a.args, "--persist"))
		bs_argv_add(&a, "--persist");

	r = bs_argv_spawn(s, &a, &out);
	if (r < 0)
		return bs_spawn_fail(s, r,
				     "'nbd-client %s %u' failed (see its message); is the "
				     "server up, and the 'nbd' module loaded?",
				     host, port ? port : NBD_DEFAULT_PORT);
	if (kname)
		return bs_step_set_device(s, kname);

	r = bs_nbd_parse_connected(out, &picked);
	if (r < 0)
		return bs_step_fail(s, r, "out of memory");
	if (r == 0)
		return bs_step_fail(s, -ENXIO,
				    "nbd-client connected but did not say which device it used "
				    "(it picks one only through netlink); name the device in "
				    "stack.conf ('nbd nbd0 ...')");
	bs_log_info(bs_step_ctx(s), "%s: connected as /dev/%s", n->id, picked);
	return bs_step_set_device(s, picked);
}

static int nbd_disconnect(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	_cleanup_(bs_argv_done) struct bs_argv a = {};
	_cleanup_free_ char *path = NULL;
	int r;

	r = bs_step_device(s, n, &path);
	if (r < 0)
		return r;
	/* nbd-client -d does not refuse an open device: it cuts it off under its user. */
	if (bs_step_device_busy(s, path) > 0)
		return bs_step_fail(s, -EBUSY, "%s (%s) is busy", path, n->id);

	bs_argv_add(&a, "nbd-client");
	bs_argv_add(&a, "-d");
	bs_argv_add(&a, path);
	r = bs_argv_spawn(s, &a, NULL);
	if (r < 0)
		return bs_spawn_fail(s, r, "'nbd-client -d %s' failed (see its message)", path);
	return 0;
}

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_NBD_CONNECT, nbd_connect },
	{ BS_ACTION_NBD_DISCONNECT, nbd_disconnect },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_nbd = { "nbd", "nbd-client", actions };
