/* The drivers: one file per layer kind, each bringing its kind up and taking it down. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"
#include "kind.h"
#include "ops.h"

/*
 * A driver runs one step of a plan: one action on one node. It reads the node and its edges
 * (the graph is read-only while steps run), finds the devices below it with
 * bs_step_device(), acts only through the bs_step_* wrappers of the ops table, and returns 0
 * or a negative errno, after saying why with bs_step_fail(). It never waits by sleeping:
 * devices are waited for by the executor (wait-device steps) or with bs_step_wait_device().
 */
struct bs_step;

struct bs_layer_action {
	enum bs_action action;
	int (*run)(struct bs_step *s);
};

/* One driver: the actions that bring its kinds of node up and take them down (what a kind is
 * to plans is the kind table's, kind.c). */
struct bs_layer {
	const char *name; /* "md" */
	const char *tool; /* the program its actions spawn, or NULL */
	const struct bs_layer_action *actions; /* ends with { BS_ACTION_NONE, NULL } */
};

extern const struct bs_layer bs_layer_block;   /* block.c: disks, partitions, other dm devices
						* (wait-device) */
extern const struct bs_layer bs_layer_network; /* network.c: net:online (wait-network) */
extern const struct bs_layer bs_layer_md;      /* md.c: md-assemble, md-stop */
extern const struct bs_layer bs_layer_crypt;   /* crypt.c: crypt-open, crypt-close */
extern const struct bs_layer bs_layer_lvm;     /* lvm.c: vg-activate, lv-activate,
						* lv-deactivate, vg-deactivate */
extern const struct bs_layer bs_layer_loop;    /* loop.c: loop-attach, loop-detach */
extern const struct bs_layer bs_layer_btrfs;   /* btrfs.c: btrfs-scan */
extern const struct bs_layer bs_layer_mount;   /* mount.c: mount, umount, remount-ro */
extern const struct bs_layer bs_layer_swap;    /* swap.c: swapon, swapoff */
extern const struct bs_layer bs_layer_nbd;     /* nbd.c: nbd-connect, nbd-disconnect */
extern const struct bs_layer bs_layer_iscsi;   /* iscsi.c: iscsi-login, iscsi-logout */
extern const struct bs_layer bs_layer_drbd;    /* drbd.c: drbd-up, drbd-down */

/* The driver function of action and its layer, or NULL. */
const struct bs_layer_action *bs_layer_find_action(enum bs_action action,
						   const struct bs_layer **ret_layer);


/* ---- what a driver may ask of the step it runs (exec.c) ---------------------------------- */

struct bs_ctx *bs_step_ctx(const struct bs_step *s);
struct bs_node *bs_step_node(const struct bs_step *s);
const char *bs_step_action(const struct bs_step *s);

/*
 * The path of node n's block device as it is now: the device a step of this run made or
 * found for n, else /dev/NAME for a live device, /dev/mapper/NAME for a crypt or dm
 * mapping, /dev/mapper/VG-LV for an LV. -ENXIO (with a message) if n has no device.
 */
int bs_step_device(struct bs_step *s, const struct bs_node *n, char **ret_path);
/* Tells the executor which device this step made or found for its node: a kernel name
 * ("md127") or a path ("/dev/loop3"), for the steps that need the node. */
int bs_step_set_device(struct bs_step *s, const char *name_or_path);
/* The wait for devices of this node: its own timeout (stack.conf "timeout ID SECONDS") or
 * the run's (default 90 s). */
uint64_t bs_step_timeout_usec(const struct bs_step *s, const struct bs_node *n);
/* Whether member n of this step's node timed out without appearing (md: start degraded). */
bool bs_step_is_missing(const struct bs_step *s, const struct bs_node *n);
/* A path of the system being brought up, as the executor must open it: below the mount
 * root (--mount-root, as /sysroot in an initramfs) when it lies on one of the configured
 * filesystems, else unchanged. Newly allocated. */
int bs_step_target_path(struct bs_step *s, const char *path, char **ret);
/* The mount point where a mount node's filesystem goes: its path below the mount root. */
int bs_step_mount_point(struct bs_step *s, const struct bs_node *mount, char **ret);

/* Records why the step failed, for the summary (and logs it); returns error. The summary and
 * the events name the action and the node: the message does not repeat them. */
int bs_step_fail(struct bs_step *s, int error, const char *format, ...) _printf_(3, 4);
/* A loud warning that does not fail the step (a degraded start); kept for the summary. */
void bs_step_warn(struct bs_step *s, const char *format, ...) _printf_(2, 3);

/* The ops, with the step's userdata. Prompts are serialized across steps: two questions
 * never interleave. */
int bs_step_spawn(struct bs_step *s, const char *const argv[], char **ret_stdout);
int bs_step_mount(struct bs_step *s, const char *source, const char *target, const char *fstype,
		  unsigned long flags, const char *data);
int bs_step_umount(struct bs_step *s, const char *target, int flags);
int bs_step_swapon(struct bs_step *s, const char *path, int flags);
int bs_step_swapoff(struct bs_step *s, const char *path);
int bs_step_loop_attach(struct bs_step *s, const char *file, const struct bs_loop_options *o,
			char **ret_device);
int bs_step_loop_detach(struct bs_step *s, const char *device);
int bs_step_btrfs_scan(struct bs_step *s, const char *device, bool *ret_complete);
int bs_step_crypt_open(struct bs_step *s, const struct bs_crypt_request *req);
int bs_step_crypt_close(struct bs_step *s, const char *name);
/* Down, in the last pass of a run with bs_exec_opts.last_resort: a mapping that is still
 * busy is to be suspended and its key wiped (bs_step_crypt_wipe()) before the step fails. */
bool bs_step_last_resort(const struct bs_step *s);
int bs_step_crypt_wipe(struct bs_step *s, const char *name);
/*
 * The next passphrase for this step to try: one that another step of this run was given
 * and this step has not tried yet (*tried counts those it has; start it at 0), else one
 * asked now with prompt (*ret_asked true; it is kept for the other steps). Prompts are
 * serialized: two questions never interleave, and a step waiting to ask gets the answer the
 * step before it received instead of asking again. *ret_secret is locked memory, freed with
 * bs_secret_free(). Errors as ops->ask_password.
 */
int bs_step_next_passphrase(struct bs_step *s, const char *prompt, size_t *tried,
			    char **ret_secret, size_t *ret_size, bool *ret_asked);
/* Whether the block device at path is in use (an O_EXCL open fails with EBUSY): 1 if so,
 * 0 if not or it cannot be told. Drivers use it to tell "busy" from other failures of a
 * tool that takes a device down. */
int bs_step_device_busy(struct bs_step *s, const char *path);
/* The filesystem type on the device at path, probed read-only, as ops->probe_fstype. */
int bs_step_probe_fstype(struct bs_step *s, const char *path, char **ret_type);
/* Loads the kernel module that provides name (a module or an alias: "loop", "md-raid6",
 * "fs-ext4"), as ops->load_module, before an action that needs it: on a system without udev,
 * or in an initramfs, nothing else loads it. A module that is not found is no failure (it
 * may be built in, or loaded ahead); one that fails to load is warned about, and the action
 * then says what the kernel could not do. */
void bs_step_load_module(struct bs_step *s, const char *name);
int bs_step_wait_device(struct bs_step *s, const struct bs_device_match *m,
			uint64_t timeout_usec, char **ret_name);
int bs_step_wait_uevent(struct bs_step *s, uint64_t timeout_usec);
/* Waits up to timeout_usec for a route to host (NULL: a default route), as ops->wait_route. */
int bs_step_wait_route(struct bs_step *s, const char *host, uint64_t timeout_usec);
/* Whether the run's current plan has a step on node n. */
bool bs_step_round_acts_on(const struct bs_step *s, const struct bs_node *n);
int bs_step_remove_node(struct bs_step *s, const char *path);
/*
 * With pins (bs_exec_opts.pins), up: the paths ("/dev/NAME", "/dev/mapper/NAME" for a dm
 * device) of the present devices that carry a pinned member of n, an md array (members by
 * UUID_SUB) or a VG or an LV (its VG's PVs by their UUID), as the step's verification saw
 * them. Returns the count with *ret (NULL-terminated, never NULL), or -ENOENT when there is
 * nothing to restrict to (no pins, or none of n).
 */
int bs_step_pinned_paths(struct bs_step *s, const struct bs_node *n, char ***ret);
/* With pins, up: the pinned volume key digest of the LUKS header on backing (by its LUKS
 * UUID, or its node): 1 with *ret (borrowed from the pins), 0 when none is pinned. */
int bs_step_pinned_digest(struct bs_step *s, const struct bs_node *backing,
			  struct bs_crypt_digest *ret);
/* Whether udev runs on the system (run/udev/control below the sysroot): without it, tools
 * that make device nodes leave them behind, and drivers clean up as udev would. */
bool bs_step_udev_running(struct bs_step *s);
