/* Block devices that appear rather than being opened: disks, partitions, and the device-mapper
 * devices no driver opens; a step waits for them. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "layers.h"
#include "util.h"

/* A device known only from the configuration or the record has to appear; it is never
 * closed. */
static int run_wait_device(struct bs_step *s)
{
	const struct bs_node *n = bs_step_node(s);
	struct bs_device_match m = {
		.id = n->id,
		.serial = bs_node_attr(n, BS_ATTR_SERIAL),
		.partuuid = bs_node_attr(n, BS_ATTR_PARTUUID),
		.uuid_sub = bs_node_attr(n, BS_ATTR_UUID_SUB),
		.uuid = bs_node_attr(n, BS_ATTR_UUID),
		.name = n->name,
	};
	uint64_t timeout = bs_step_timeout_usec(s, n);
	_cleanup_free_ char *name = NULL;
	int r;

	if (m.serial)
		m.partuuid = m.uuid_sub = m.uuid = NULL;
	r = bs_step_wait_device(s, &m, timeout, &name);
	if (r == -ETIMEDOUT)
		return bs_step_fail(s, r,
				    "'%s' did not appear within %llu s (%s%s); is the disk "
				    "connected? ('timeout %s SECONDS' in stack.conf waits longer)",
				    n->id, (unsigned long long)(timeout / 1000000),
				    m.serial   ? "serial " :
				    m.partuuid ? "PARTUUID " :
				    m.uuid_sub ? "UUID_SUB " :
				    m.uuid     ? "UUID " :
						 "kernel name ",
				    m.serial   ? m.serial :
				    m.partuuid ? m.partuuid :
				    m.uuid_sub ? m.uuid_sub :
				    m.uuid     ? m.uuid :
						 strna(m.name),
				    n->id);
	if (r < 0)
		return bs_step_fail(s, r, "waiting for '%s' failed: %s", n->id, strerror(-r));
	r = bs_step_set_device(s, name);
	return r < 0 ? bs_step_fail(s, r, "cannot record '%s': %s", name, strerror(-r)) : 0;
}

static const struct bs_kind kind_disk = {
	.kind = BS_NODE_DISK,
	.up = BS_ACTION_WAIT_DEVICE,
	.up_until = BS_STATE_PRESENT,
};

static const struct bs_kind kind_part = {
	.kind = BS_NODE_PART,
	.up = BS_ACTION_WAIT_DEVICE,
	.up_until = BS_STATE_PRESENT,
};

/* No driver opens these yet: one that is not open is waited for, like a device. */
static const struct bs_kind kind_dm = {
	.kind = BS_NODE_DM,
	.up = BS_ACTION_WAIT_DEVICE,
	.up_until = BS_STATE_ACTIVE,
	.device_path = bs_layer_dm_device_path,
};

static const struct bs_kind kind_mpath = {
	.kind = BS_NODE_MPATH,
	.up = BS_ACTION_WAIT_DEVICE,
	.up_until = BS_STATE_ACTIVE,
};

static const struct bs_kind *const kinds[] = {
	&kind_disk, &kind_part, &kind_dm, &kind_mpath, NULL,
};

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_WAIT_DEVICE, run_wait_device },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_block = { "block", NULL, kinds, actions };
