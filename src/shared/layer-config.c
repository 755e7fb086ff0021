/* The typed configuration of a node: freeing what the sources attach. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>

#include "layer-config.h"
#include "util.h"

void bs_mount_options_done(struct bs_mount_options *o)
{
	if (!o)
		return;
	o->data = mfree(o->data);
	o->helper = mfree(o->helper);
	o->loop_unsupported = mfree(o->loop_unsupported);
}

void bs_crypt_config_free(struct bs_crypt_config *c)
{
	if (!c)
		return;
	free(c->source);
	free(c->key_file);
	free(c->header);
	free(c->cipher);
	free(c->hash);
	free(c->unsupported);
	free(c);
}

struct bs_layer_config *bs_layer_config_free(struct bs_layer_config *c)
{
	if (!c)
		return NULL;
	free(c->file);
	bs_crypt_config_free(c->crypt);
	free(c->loop);
	bs_mount_options_done(c->mount);
	free(c->mount);
	if (c->drbd)
		free(c->drbd->resource);
	free(c->drbd);
	free(c);
	return NULL;
}
