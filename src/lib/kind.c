/* The actions of plans, and what a node's kind says about them. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "kind.h"
#include "util.h"

static const char *const action_names[_BS_ACTION_MAX] = {
	[BS_ACTION_WAIT_DEVICE] = "wait-device",
	[BS_ACTION_WAIT_NETWORK] = "wait-network",
	[BS_ACTION_MD_ASSEMBLE] = "md-assemble",
	[BS_ACTION_MD_STOP] = "md-stop",
	[BS_ACTION_CRYPT_OPEN] = "crypt-open",
	[BS_ACTION_CRYPT_CLOSE] = "crypt-close",
	[BS_ACTION_VG_ACTIVATE] = "vg-activate",
	[BS_ACTION_VG_DEACTIVATE] = "vg-deactivate",
	[BS_ACTION_LV_ACTIVATE] = "lv-activate",
	[BS_ACTION_LV_DEACTIVATE] = "lv-deactivate",
	[BS_ACTION_LOOP_ATTACH] = "loop-attach",
	[BS_ACTION_LOOP_DETACH] = "loop-detach",
	[BS_ACTION_BTRFS_SCAN] = "btrfs-scan",
	[BS_ACTION_MOUNT] = "mount",
	[BS_ACTION_UMOUNT] = "umount",
	[BS_ACTION_REMOUNT_RO] = "remount-ro",
	[BS_ACTION_SWAPON] = "swapon",
	[BS_ACTION_SWAPOFF] = "swapoff",
	[BS_ACTION_NBD_CONNECT] = "nbd-connect",
	[BS_ACTION_NBD_DISCONNECT] = "nbd-disconnect",
	[BS_ACTION_ISCSI_LOGIN] = "iscsi-login",
	[BS_ACTION_ISCSI_LOGOUT] = "iscsi-logout",
	[BS_ACTION_DRBD_UP] = "drbd-up",
	[BS_ACTION_DRBD_DOWN] = "drbd-down",
};

const char *bs_action_to_string(enum bs_action a)
{
	return a > BS_ACTION_NONE && a < _BS_ACTION_MAX ? action_names[a] : NULL;
}

enum bs_action bs_action_from_string(const char *s)
{
	for (int a = BS_ACTION_NONE + 1; s && a < _BS_ACTION_MAX; a++)
		if (action_names[a] && streq(action_names[a], s))
			return a;
	return _BS_ACTION_INVALID;
}

bool bs_node_is_open(const struct bs_node *n)
{
	return n->state == BS_STATE_ACTIVE || n->state == BS_STATE_MOUNTED;
}

enum bs_action bs_kind_up_action(const struct bs_node *n)
{
	const struct bs_kind *k = bs_kind_get(n->kind);

	return k && n->state < k->up_until ? k->up : BS_ACTION_NONE;
}

enum bs_action bs_kind_down_action(const struct bs_node *n)
{
	const struct bs_kind *k = bs_kind_get(n->kind);

	return k && bs_node_is_open(n) ? k->down : BS_ACTION_NONE;
}
