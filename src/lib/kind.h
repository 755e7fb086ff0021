/* What a layer kind is, as the planner and the executor need it: one table entry per kind. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "graph.h"

/* The actions of plans: the planner puts them in steps, the executor runs their drivers. */
enum bs_action {
	BS_ACTION_NONE, /* no step */
	BS_ACTION_WAIT_DEVICE,
	BS_ACTION_WAIT_NETWORK,
	BS_ACTION_MD_ASSEMBLE,
	BS_ACTION_MD_STOP,
	BS_ACTION_CRYPT_OPEN,
	BS_ACTION_CRYPT_CLOSE,
	BS_ACTION_VG_ACTIVATE,
	BS_ACTION_VG_DEACTIVATE,
	BS_ACTION_LV_ACTIVATE,
	BS_ACTION_LV_DEACTIVATE,
	BS_ACTION_LOOP_ATTACH,
	BS_ACTION_LOOP_DETACH,
	BS_ACTION_BTRFS_SCAN,
	BS_ACTION_MOUNT,
	BS_ACTION_UMOUNT,
	BS_ACTION_REMOUNT_RO,
	BS_ACTION_SWAPON,
	BS_ACTION_SWAPOFF,
	BS_ACTION_NBD_CONNECT,
	BS_ACTION_NBD_DISCONNECT,
	BS_ACTION_ISCSI_LOGIN,
	BS_ACTION_ISCSI_LOGOUT,
	BS_ACTION_DRBD_UP,
	BS_ACTION_DRBD_DOWN,
	_BS_ACTION_MAX,
	_BS_ACTION_INVALID = -EINVAL,
};

/* "md-assemble", as plans name it; NULL for BS_ACTION_NONE and out of range. */
const char *bs_action_to_string(enum bs_action a);
enum bs_action bs_action_from_string(const char *s);

/*
 * A kind of node, as far as plans and runs depend on it: plain data, one entry per kind in
 * kind.c, read by the planner (which never reaches the drivers) and the executor. A kind's
 * driver is its file in layers/, which runs the actions named here.
 */
struct bs_kind {
	enum bs_node_kind kind;
	/* The action that brings a node up, while its state is below up_until; NONE: nothing
	 * does (it is only a join of what it needs). */
	enum bs_action up;
	enum bs_node_state up_until;
	/* The action that takes an open (active or mounted) node down; NONE: it stays (a disk),
	 * or goes with its holders (a multi-device btrfs). */
	enum bs_action down;
	/* What a teardown that keeps the root set does to a node of it: NONE (the node stays, for
	 * the shutdown ramfs to close), or an action that makes it safe (remount-ro). */
	enum bs_action keep_root;
	/* A configured node of this kind is brought up by "up --all" (and "up" without targets). */
	bool up_when_configured;
	/* A user of the stack (a filesystem, a swap area): taken down only when asked for, never
	 * because what it sits on closes or the last mount below it goes. */
	bool is_user;
	/* Discovery opens every closed node of this kind that the graph knows (the LVs of the
	 * visible VGs), not only the configured ones: what lies inside them is unknown. */
	bool discover_all;
	/* Holders of this kind (md arrays) decide themselves what to do without a member that did
	 * not appear in time (start degraded, if their driver's quorum rule allows), and their
	 * members wait as long as the holder's own timeout says. */
	bool may_lack_members;
	/*
	 * The device path of a node that is not live now (the executor uses /dev/NAME for a live
	 * one): from its id or its identities, e.g. /dev/mapper/NAME. NULL: only a live node has a
	 * device. Returns 0, -ENXIO if none can be named, or -ENOMEM.
	 */
	int (*device_path)(const struct bs_node *n, char **ret);
};

/* The entry of kind k; never NULL for a kind of enum bs_node_kind. */
const struct bs_kind *bs_kind_get(enum bs_node_kind k);

/* The action that brings n up now, or BS_ACTION_NONE if it is up (or nothing brings it up). */
enum bs_action bs_kind_up_action(const struct bs_node *n);
/* The action that takes n down now, or BS_ACTION_NONE if it is not open (or stays). */
enum bs_action bs_kind_down_action(const struct bs_node *n);
/* Whether n is open: active or mounted. */
bool bs_node_is_open(const struct bs_node *n);
