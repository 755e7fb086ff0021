/* The network that network layers (nbd, iscsi, drbd, _netdev entries) need: net:online. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "layers.h"
#include "sysroot.h"
#include "util.h"

/* A default route in /proc/net/route means the network is up enough to reach a server. */
static int run_wait_network(struct bs_step *s)
{
	_cleanup_free_ char *routes = NULL;
	char *line, *save = NULL;
	int r;

	r = bs_sysroot_read_file(bs_step_ctx(s), "proc/net/route", &routes, NULL);
	if (r < 0)
		return bs_step_fail(s, r, "cannot read /proc/net/route: %s", strerror(-r));
	for (line = strtok_r(routes, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char iface[64], dest[16];

		if (sscanf(line, "%63s %15s", iface, dest) == 2 && streq(dest, "00000000"))
			return 0;
	}
	return bs_step_fail(s, -ENETUNREACH,
			    "the network is not up (no default route); network layers (nbd, "
			    "iscsi, drbd, _netdev mounts) need it: start the network first");
}

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_WAIT_NETWORK, run_wait_network },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_network = { "network", NULL, actions };
