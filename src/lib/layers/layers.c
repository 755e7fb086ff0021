/* The table of layer drivers: a new kind's driver is one file and one line here. */
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
