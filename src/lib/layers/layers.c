/* The table of layer drivers: adding a kind is one file and one line here. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "layers.h"
#include "macro.h"
#include "util.h"

static const struct bs_layer *const layers[] = {
	&bs_layer_block, &bs_layer_network, &bs_layer_md,    &bs_layer_crypt,
	&bs_layer_lvm,	 &bs_layer_loop,    &bs_layer_btrfs, &bs_layer_mount,
	&bs_layer_swap,	 &bs_layer_nbd,	    &bs_layer_iscsi, &bs_layer_drbd,
};

/* A kind no driver names: nothing brings it up or takes it down. */
static const struct bs_kind no_driver = { .up_until = BS_STATE_ABSENT };

const struct bs_kind *bs_kind_get(enum bs_node_kind k)
{
	for (size_t i = 0; i < ELEMENTSOF(layers); i++)
		for (const struct bs_kind *const *kind = layers[i]->kinds; kind && *kind; kind++)
			if ((*kind)->kind == k)
				return *kind;
	return k >= 0 && k < _BS_NODE_KIND_MAX ? &no_driver : NULL;
}

const struct bs_layer_action *bs_layer_find_action(enum bs_action action,
						   const struct bs_layer **ret_layer)
{
	for (size_t i = 0; i < ELEMENTSOF(layers); i++)
		for (const struct bs_layer_action *a = layers[i]->actions; a->run; a++)
			if (a->action == action) {
				if (ret_layer)
					*ret_layer = layers[i];
				return a;
			}
	return NULL;
}

int bs_layer_dm_device_path(const struct bs_node *n, char **ret)
{
	const char *name = bs_node_attr(n, BS_ATTR_DM_NAME), *colon = strchr(n->id, ':');

	if (!name)
		name = colon ? colon + 1 : n->id;
	if (!*name)
		return -ENXIO;
	return asprintf(ret, "/dev/mapper/%s", name) < 0 ? -ENOMEM : 0;
}
