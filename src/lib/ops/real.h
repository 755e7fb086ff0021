/* The real ops, each in the file of what it touches; ops-real.c puts them in one table. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ops.h"

/* userdata is a struct bs_real_ops_data * for all of them. */

/* real.c: spawn through bs_spawn_capture(), mount, umount, swapon, swapoff, reboot */
int bs_real_spawn(void *userdata, const char *const argv[], char **ret_stdout);
int bs_real_mount(void *userdata, const char *source, const char *target, const char *fstype,
		  unsigned long flags, const char *data);
int bs_real_umount(void *userdata, const char *target, int flags);
int bs_real_swapon(void *userdata, const char *path, int flags);
int bs_real_swapoff(void *userdata, const char *path);
int bs_real_reboot(void *userdata, int how);
int bs_real_device_busy(void *userdata, const char *path);
int bs_real_watch_uevents(void *userdata);
int bs_real_probe_fstype(void *userdata, const char *path, char **ret_type);
int bs_real_remove_node(void *userdata, const char *path);

/* ops-loop.c: loop ioctls; btrfs device scan ioctls */
int bs_real_loop_attach(void *userdata, const char *file, const struct bs_loop_options *o,
			char **ret_device);
int bs_real_loop_detach(void *userdata, const char *device);
int bs_real_btrfs_scan(void *userdata, const char *device, bool *ret_complete);

/* ops-crypt.c: libcryptsetup */
int bs_real_crypt_open(void *userdata, const struct bs_crypt_request *req);
int bs_real_crypt_close(void *userdata, const char *name);
int bs_real_crypt_wipe(void *userdata, const char *name);
int bs_real_crypt_suspend(void *userdata, const char *name);
int bs_real_crypt_resume(void *userdata, const char *name, const char *key, size_t key_size);
/* What the crypt helper does before it activates a mapping with req->pinned_digest, in this
 * process and without device-mapper, for tests: loads the header, unlocks the volume key with
 * req's key or key file and checks it against the pinned digest. 0, -EPERM (no key slot
 * takes the key), -EKEYREJECTED (not the pinned volume key), -EINVAL or another error. */
struct bs_ctx;
int bs_crypt_check_volume_key(struct bs_ctx *c, const struct bs_crypt_request *req);

/* ask-password.c: --key-fd, an askpass socket, or the console */
int bs_real_ask_password(void *userdata, const char *prompt, char **ret_secret,
			 size_t *ret_size);

/* uevent.c: netlink uevents, sysfs and libblkid */
int bs_real_wait_device(void *userdata, const struct bs_device_match *m, uint64_t timeout_usec,
			char **ret_name);
int bs_real_wait_uevent(void *userdata, uint64_t timeout_usec);

/* kmod.c: libkmod */
int bs_real_load_module(void *userdata, const char *name);
/* route.c */
int bs_real_wait_route(void *userdata, const char *host, uint64_t timeout_usec);
