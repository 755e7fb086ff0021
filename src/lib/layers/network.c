/* The network that network layers (nbd, iscsi, drbd, _netdev entries) need: net:online. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "spawn-util.h"
#include "strv.h"
#include "util.h"

/* The URI scheme of a kind whose "source" attribute names its server. */
static const char *server_scheme(enum bs_node_kind kind)
{
	switch (kind) {
	case BS_NODE_NBD:
		return "nbd";
	case BS_NODE_ISCSI:
		return "iscsi";
	default:
		return NULL;
	}
}

/* The servers of the layers on net:online that this run brings up, each once, with the
 * first layer that names it. */
static int servers_of(struct bs_step *s, const struct bs_node *net, char ***ret_hosts,
		      char ***ret_layers)
{
	_cleanup_strv_free_ char **hosts = NULL, **layers = NULL;

	for (size_t i = 0; i < net->n_holders; i++) {
		const struct bs_node *h = net->holders[i]->holder;
		const char *scheme = server_scheme(h->kind);
		_cleanup_free_ char *host = NULL, *rest = NULL;
		uint16_t port;
		int r;

		if (!scheme || !bs_step_round_acts_on(s, h))
			continue;
		r = bs_remote_uri_parse(h->attrs[BS_ATTR_SOURCE], scheme, &host, &port, &rest);
		if (r == -ENOMEM)
			return r;
		/* No server to look for: the layer's own step says what is wrong with it. */
		if (r < 0 || strv_contains(hosts, host))
			continue;
		if (strv_push(&hosts, host) < 0)
			return -ENOMEM;
		TAKE_PTR(host);
		if (strv_extend(&layers, h->id) < 0)
			return -ENOMEM;
	}
	*ret_hosts = TAKE_PTR(hosts);
	*ret_layers = TAKE_PTR(layers);
	return 0;
}

/*
 * blkstack does not configure the network of a running system; it waits for it: for a route
 * to each server that the layers brought up name (nbd, iscsi), or, when none names one
 * (drbd, a _netdev entry), for a default route. Up to the node's timeout, all servers
 * together.
 */
static int run_wait_network(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	_cleanup_strv_free_ char **hosts = NULL, **layers = NULL;
	uint64_t timeout = bs_step_timeout_usec(s, n), deadline = now_usec() + timeout;
	unsigned secs = (unsigned)(timeout / 1000000);
	int r;

	r = servers_of(s, n, &hosts, &layers);
	if (r < 0)
		return bs_step_fail(s, r, "out of memory");
	if (!hosts || !hosts[0]) {
		r = bs_step_wait_route(s, NULL, timeout);
		if (r == -ETIMEDOUT)
			return bs_step_fail(
				s, -ENETUNREACH,
				"the network is not up (no default route after %us); "
				"network layers (nbd, iscsi, drbd, _netdev mounts) need "
				"it: start the network first ('timeout %s SECONDS' in "
				"stack.conf waits longer)",
				secs, n->id);
		if (r < 0)
			return bs_step_fail(s, r, "cannot look for a default route: %s",
					    strerror(-r));
		return 0;
	}
	for (size_t i = 0; hosts[i]; i++) {
		uint64_t t = now_usec();

		/* The first server has the whole timeout; the others what is left of it. */
		r = bs_step_wait_route(s, hosts[i],
				       i == 0	    ? timeout :
				       t < deadline ? deadline - t :
						      0);
		if (r == -ENXIO)
			return bs_step_fail(
				s, -EHOSTUNREACH,
				"the server '%s' of %s does not resolve after %us: is the "
				"network up, and the name in /etc/hosts or DNS?",
				hosts[i], layers[i], secs);
		if (r == -ETIMEDOUT)
			return bs_step_fail(
				s, -ENETUNREACH,
				"the network is not up: no route to '%s' (the server of "
				"%s) after %us; start the network first ('timeout %s "
				"SECONDS' in stack.conf waits longer)",
				hosts[i], layers[i], secs, n->id);
		if (r < 0)
			return bs_step_fail(s, r, "cannot look for a route to '%s': %s", hosts[i],
					    strerror(-r));
	}
	return 0;
}

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_WAIT_NETWORK, run_wait_network },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_network = { "network", NULL, actions };
