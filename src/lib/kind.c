/* The kind table: what each kind of node means to plans and runs, and the actions' names. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kind.h"
#include "lvm-name.h"
#include "macro.h"
#include "util.h"

static const char *const action_names[_BS_ACTION_MAX] = {
	[BS_ACTION_WAIT_DEVICE] = "wait-device", [BS_ACTION_WAIT_NETWORK] = "wait-network",
	[BS_ACTION_MD_ASSEMBLE] = "md-assemble", [BS_ACTION_MD_STOP] = "md-stop",
	[BS_ACTION_CRYPT_OPEN] = "crypt-open",	 [BS_ACTION_CRYPT_CLOSE] = "crypt-close",
	[BS_ACTION_VG_ACTIVATE] = "vg-activate", [BS_ACTION_VG_DEACTIVATE] = "vg-deactivate",
	[BS_ACTION_LV_ACTIVATE] = "lv-activate", [BS_ACTION_LV_DEACTIVATE] = "lv-deactivate",
	[BS_ACTION_LOOP_ATTACH] = "loop-attach", [BS_ACTION_LOOP_DETACH] = "loop-detach",
	[BS_ACTION_BTRFS_SCAN] = "btrfs-scan",	 [BS_ACTION_MOUNT] = "mount",
	[BS_ACTION_UMOUNT] = "umount",		 [BS_ACTION_REMOUNT_RO] = "remount-ro",
	[BS_ACTION_SWAPON] = "swapon",		 [BS_ACTION_SWAPOFF] = "swapoff",
	[BS_ACTION_NBD_CONNECT] = "nbd-connect", [BS_ACTION_NBD_DISCONNECT] = "nbd-disconnect",
	[BS_ACTION_ISCSI_LOGIN] = "iscsi-login", [BS_ACTION_ISCSI_LOGOUT] = "iscsi-logout",
	[BS_ACTION_DRBD_UP] = "drbd-up",	 [BS_ACTION_DRBD_DOWN] = "drbd-down",
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

/* ---- the kinds ----------------------------------------------------------------------------- */

/* For kinds whose device is a device-mapper mapping named after the node: /dev/mapper/ and
 * its dm name, or the part of its id after the colon. */
static int dm_device_path(const struct bs_node *n, char **ret)
{
	const char *name = bs_node_attr(n, BS_ATTR_DM_NAME), *colon = strchr(n->id, ':');

	if (!name)
		name = colon ? colon + 1 : n->id;
	if (!*name)
		return -ENXIO;
	return asprintf(ret, "/dev/mapper/%s", name) < 0 ? -ENOMEM : 0;
}

/* /dev/mapper/VG-LV of an LV that is not live, from its id "lv:VG/LV". */
static int lv_device_path(const struct bs_node *n, char **ret)
{
	_cleanup_free_ char *vg = NULL, *dm = NULL;
	const char *vg_lv = startswith(n->id, "lv:"), *slash = vg_lv ? strchr(vg_lv, '/') : NULL;

	if (!slash)
		return -ENXIO;
	vg = strndup(vg_lv, (size_t)(slash - vg_lv));
	if (!vg || lvm_dm_name_join(vg, slash + 1, &dm) < 0)
		return -ENOMEM;
	return asprintf(ret, "/dev/mapper/%s", dm) < 0 ? -ENOMEM : 0;
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
	.device_path = dm_device_path,
};

static const struct bs_kind kind_mpath = {
	.kind = BS_NODE_MPATH,
	.up = BS_ACTION_WAIT_DEVICE,
	.up_until = BS_STATE_ACTIVE,
};

static const struct bs_kind kind_btrfs = {
	.kind = BS_NODE_BTRFS, .up = BS_ACTION_BTRFS_SCAN, .up_until = BS_STATE_ACTIVE,
	/* It closes with the last of its mounts; its devices go down with their own layers. */
};

static const struct bs_kind kind_crypt = {
	.kind = BS_NODE_CRYPT,
	.up = BS_ACTION_CRYPT_OPEN,
	.up_until = BS_STATE_ACTIVE,
	.down = BS_ACTION_CRYPT_CLOSE,
	.device_path = dm_device_path,
	.up_when_configured = true,
};

static const struct bs_kind kind_iscsi = {
	.kind = BS_NODE_ISCSI,
	.up = BS_ACTION_ISCSI_LOGIN,
	.up_until = BS_STATE_ACTIVE,
	.down = BS_ACTION_ISCSI_LOGOUT,
	.up_when_configured = true,
};

static const struct bs_kind kind_loop = {
	.kind = BS_NODE_LOOP,
	.up = BS_ACTION_LOOP_ATTACH,
	.up_until = BS_STATE_ACTIVE,
	.down = BS_ACTION_LOOP_DETACH,
	.up_when_configured = true,
};

/* The VG's step is the point where all its PVs are there; it activates no LV. */
static const struct bs_kind kind_vg = {
	.kind = BS_NODE_VG,
	.up = BS_ACTION_VG_ACTIVATE,
	.up_until = BS_STATE_ACTIVE,
	.down = BS_ACTION_VG_DEACTIVATE,
};

static const struct bs_kind kind_lv = {
	.kind = BS_NODE_LV,
	.up = BS_ACTION_LV_ACTIVATE,
	.up_until = BS_STATE_ACTIVE,
	.down = BS_ACTION_LV_DEACTIVATE,
	.discover_all = true,
	.device_path = lv_device_path,
};

static const struct bs_kind kind_md = {
	.kind = BS_NODE_MD,
	.up = BS_ACTION_MD_ASSEMBLE,
	.up_until = BS_STATE_ACTIVE,
	.down = BS_ACTION_MD_STOP,
	/* check_quorum() decides whether it starts without a member. */
	.may_lack_members = true,
	.up_when_configured = true,
};

static const struct bs_kind kind_mount = {
	.kind = BS_NODE_MOUNT,
	.up = BS_ACTION_MOUNT,
	.up_until = BS_STATE_MOUNTED,
	.down = BS_ACTION_UMOUNT,
	.keep_root = BS_ACTION_REMOUNT_RO,
	.is_user = true,
	.up_when_configured = true,
};

static const struct bs_kind kind_nbd = {
	.kind = BS_NODE_NBD,
	.up = BS_ACTION_NBD_CONNECT,
	.up_until = BS_STATE_ACTIVE,
	.down = BS_ACTION_NBD_DISCONNECT,
	.up_when_configured = true,
};

static const struct bs_kind kind_network = {
	.kind = BS_NODE_NETWORK,
	.up = BS_ACTION_WAIT_NETWORK,
	.up_until = BS_STATE_ACTIVE,
};

static const struct bs_kind kind_swap = {
	.kind = BS_NODE_SWAP,
	.up = BS_ACTION_SWAPON,
	.up_until = BS_STATE_ACTIVE,
	.down = BS_ACTION_SWAPOFF,
	.is_user = true,
	.up_when_configured = true,
};

/* /dev/drbdMINOR, from the configuration or a blk:drbdN id. */
static int drbd_device_path(const struct bs_node *n, char **ret)
{
	const struct bs_drbd_config *c = n->config ? n->config->drbd : NULL;
	const char *kname = startswith(n->id, "blk:");

	if (c)
		return asprintf(ret, "/dev/drbd%u", (unsigned)c->minor) < 0 ? -ENOMEM : 0;
	if (kname && startswith(kname, "drbd") && !strchr(kname, '/'))
		return asprintf(ret, "/dev/%s", kname) < 0 ? -ENOMEM : 0;
	return -ENXIO;
}

static const struct bs_kind kind_drbd = {
	.kind = BS_NODE_DRBD,
	.up = BS_ACTION_DRBD_UP,
	.up_until = BS_STATE_ACTIVE,
	.down = BS_ACTION_DRBD_DOWN,
	.up_when_configured = true,
	.device_path = drbd_device_path,
};

/* A kind no entry names: nothing brings it up or takes it down. */
static const struct bs_kind no_action = { .up_until = BS_STATE_ABSENT };

static const struct bs_kind *const kinds[_BS_NODE_KIND_MAX] = {
	[BS_NODE_BTRFS] = &kind_btrfs,	   [BS_NODE_CRYPT] = &kind_crypt,
	[BS_NODE_DISK] = &kind_disk,	   [BS_NODE_DM] = &kind_dm,
	[BS_NODE_DRBD] = &kind_drbd,	   [BS_NODE_ISCSI] = &kind_iscsi,
	[BS_NODE_LOOP] = &kind_loop,	   [BS_NODE_LV] = &kind_lv,
	[BS_NODE_MD] = &kind_md,	   [BS_NODE_MOUNT] = &kind_mount,
	[BS_NODE_MPATH] = &kind_mpath,	   [BS_NODE_NBD] = &kind_nbd,
	[BS_NODE_NETWORK] = &kind_network, [BS_NODE_PART] = &kind_part,
	[BS_NODE_SWAP] = &kind_swap,	   [BS_NODE_VG] = &kind_vg,
};

const struct bs_kind *bs_kind_get(enum bs_node_kind k)
{
	if (k < 0 || k >= _BS_NODE_KIND_MAX)
		return NULL;
	return kinds[k] ?: &no_action;
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
