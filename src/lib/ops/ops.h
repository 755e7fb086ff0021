/* The ops table: every side effect of the executor and its drivers goes through it. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layer-config.h"

/*
 * The executor never calls mount(2), an ioctl, libcryptsetup or a tool directly: it calls
 * these functions. bs_ops_real() does the real thing; unit tests install a recorder that
 * writes a transcript and scripts failures (EBUSY, timeouts, a wrong key). Every function
 * gets the userdata given with the table, may be called from several worker threads at
 * once, and returns 0 (or what it says) or a negative errno.
 */

/* The volume key digest of a LUKS header as a pin holds it (bs_pins): fields as the header
 * shows them, salt and digest in hex for LUKS1 and base64 for LUKS2, several digests of a
 * LUKS2 header joined with ','. A digest and a salt, no secret. */
struct bs_crypt_digest {
	const char *version; /* "LUKS1" or "LUKS2" */
	const char *type; /* "pbkdf2" */
	const char *hash;
	const char *iterations;
	const char *salt;
	const char *digest;
};

/* What crypt_open needs: one mapping as crypttab(5) describes it. Strings are borrowed. */
struct bs_crypt_request {
	const char *name;   /* the mapping name, crypttab's first field */
	const char *device; /* the backing device's path */
	const char *type;   /* "luks" (LUKS1 or LUKS2, whichever the header is), "luks1",
			     * "luks2" or "plain" */
	const char *header; /* detached header path, or NULL */
	/* The key: a key file (with offset and size; size 0 means the whole file, or the key
	 * size for plain) or, if key_file is NULL, key_size bytes at key (a passphrase), in
	 * locked memory owned by the caller. */
	const char *key_file;
	uint64_t key_file_offset;
	size_t key_file_size;
	const char *key;
	size_t key_size;
	int keyslot; /* -1: any */
	/* plain only; NULL/0 for cryptsetup's defaults */
	const char *cipher;
	unsigned key_bits;
	const char *hash;
	uint64_t offset_sectors;
	uint64_t skip_sectors;
	unsigned sector_size; /* 0: default */
	bool read_only;
	bool discard;
	bool same_cpu_crypt;
	bool submit_from_crypt_cpus;
	bool no_read_workqueue;
	bool no_write_workqueue;
	/* With pins: the pinned volume key digest of the header. After the unlock and before
	 * the mapping exists, the volume key must match it (computed from the pinned
	 * parameters, compared in constant time); a key that does not is -EKEYREJECTED, wiped,
	 * and no mapping is made. NULL: no check. */
	const struct bs_crypt_digest *pinned_digest;
};

/* What identifies a block device that has to appear. The first field set decides; a device
 * matches when it has that value. */
struct bs_device_match {
	const char *id;       /* the node id, for messages and transcripts */
	const char *serial;   /* sysfs device/serial, or the disk's by-id serial */
	const char *partuuid;
	const char *uuid_sub; /* a member of a multi-device filesystem or an md array */
	const char *uuid;     /* a filesystem or LUKS UUID */
	const char *name;     /* a kernel name, when nothing else is known */
};

struct bs_ops {
	/* Runs argv[0] from PATH with argv; its standard output goes to *ret_stdout (may be
	 * NULL to discard it). 0 if it exits 0; -ENOENT if it is not installed; -EPROTO if it
	 * fails (its standard error has been logged). */
	int (*spawn)(void *userdata, const char *const argv[], char **ret_stdout);
	/* mount(2); flags and data as libmount split them from the fstab options. */
	int (*mount)(void *userdata, const char *source, const char *target, const char *fstype,
		     unsigned long flags, const char *data);
	/* umount2(2). */
	int (*umount)(void *userdata, const char *target, int flags);
	/* swapon(2) / swapoff(2) on a path. */
	int (*swapon)(void *userdata, const char *path, int flags);
	int (*swapoff)(void *userdata, const char *path);
	/* Attaches a free loop device to file with the options o (LOOP_CONFIGURE, or LOOP_SET_FD
	 * on older kernels); *ret_device is its path (/dev/loopN), newly allocated. */
	int (*loop_attach)(void *userdata, const char *file, const struct bs_loop_options *o,
			   char **ret_device);
	int (*loop_detach)(void *userdata, const char *device);
	/* Registers device with btrfs (BTRFS_IOC_SCAN_DEV); then *ret_complete says whether
	 * every device of its filesystem is registered (BTRFS_IOC_DEVICES_READY). */
	int (*btrfs_scan)(void *userdata, const char *device, bool *ret_complete);
	/* Opens a dm-crypt mapping (libcryptsetup). A key that opens no key slot is
	 * -EPERM; a device that is not what req->type says is -EINVAL; a volume key that is
	 * not req->pinned_digest's is -EKEYREJECTED. */
	int (*crypt_open)(void *userdata, const struct bs_crypt_request *req);
	/* Closes the mapping name; its key leaves the kernel with it. */
	int (*crypt_close)(void *userdata, const char *name);
	/* The last resort for a mapping that cannot be closed: suspends the mapping name
	 * (its I/O waits from then on) and wipes its key from the kernel (dm-crypt's "key
	 * wipe" message), as luksSuspend does. -ENODEV if no such mapping is active, -EINVAL
	 * if it is no dm-crypt mapping. */
	int (*crypt_wipe)(void *userdata, const char *name);
	/* luksSuspend of the mapping name (libcryptsetup): its I/O waits from then on, and its
	 * key is wiped from dm-crypt and from the kernel keyring. 0 for one suspended already;
	 * -ENODEV if no such mapping is active. */
	int (*crypt_suspend)(void *userdata, const char *name);
	/* luksResume of the suspended mapping name with key_size bytes of passphrase at key
	 * (locked memory owned by the caller). -EPERM for a passphrase that opens no key slot
	 * (the mapping stays suspended); -EALREADY if it is not suspended. */
	int (*crypt_resume)(void *userdata, const char *name, const char *key, size_t key_size);
	/* Asks for a passphrase with prompt, echoing nothing. *ret_secret is allocated by
	 * bs_secret_new() (locked memory, NUL-terminated) and freed with bs_secret_free(). -ENXIO
	 * when there is nobody to ask (no terminal, no --key-fd, no askpass socket); -ECANCELED
	 * if the user gave up (end of input). */
	int (*ask_password)(void *userdata, const char *prompt, char **ret_secret,
			    size_t *ret_size);
	/* Waits until a block device matching m exists, through kernel uevents (netlink),
	 * up to timeout_usec. *ret_name is its kernel name ("vdb1"), newly allocated.
	 * -ETIMEDOUT if none appeared in time. */
	int (*wait_device)(void *userdata, const struct bs_device_match *m, uint64_t timeout_usec,
			   char **ret_name);
	/* Starts listening for block device uevents, once for the whole run, before the
	 * graph is read the first time: a device that appears while the graph is read, or
	 * between two rounds, is then seen by wait_uevent(). Calling it again changes
	 * nothing. */
	int (*watch_uevents)(void *userdata);
	/* Waits for a block device uevent, up to timeout_usec: 0 when one came (at once if one
	 * came since watch_uevents() or the last wait; the ones queued with it are taken
	 * too), -ETIMEDOUT if none did. */
	int (*wait_uevent)(void *userdata, uint64_t timeout_usec);
	/* Removes a device node or symlink below /dev that a tool made and left behind when its
	 * device went away: what udev does on "remove", for systems without udev. A path that
	 * is not there is 0. */
	int (*remove_node)(void *userdata, const char *path);
	/* Whether the block device at path is in use (an O_EXCL open fails with EBUSY): 1 if
	 * so, 0 if not or it cannot be told. */
	int (*device_busy)(void *userdata, const char *path);
	/* The filesystem type on the block device at path, probed read-only (libblkid): 1 with
	 * *ret_type newly allocated, 0 if no filesystem is recognized, or a negative errno. */
	int (*probe_fstype)(void *userdata, const char *path, char **ret_type);
	/* reboot(2) with one of the RB_* commands. */
	int (*reboot)(void *userdata, int how);
	/* Loads the kernel module that provides name (a module name or an alias the kernel
	 * asks for: "loop", "md-raid6", "fs-ext4", "dm-crypt"), with its dependencies, as
	 * modprobe(8) would, from the running kernel's /lib/modules/RELEASE: 0 when it is
	 * loaded or built in now, -ENOENT when no module provides it (it may be built in
	 * under another name, or loaded ahead by an initramfs that has no module index: the
	 * step goes on and finds out), else the error of loading it. */
	int (*load_module)(void *userdata, const char *name);
	/* Waits until the kernel has a route to host (a name or an address; NULL: a default
	 * route, IPv4 or IPv6), through rtnetlink's route and address events, up to
	 * timeout_usec. It configures nothing. 0 once there is one; -ETIMEDOUT if there was
	 * none in time; -ENXIO if host still did not resolve then. */
	int (*wait_route)(void *userdata, const char *host, uint64_t timeout_usec);
};

/* The real ops, acting on the running system. userdata is the context (struct bs_ctx *),
 * for logging; real_opts for how passphrases are asked. */
struct bs_real_ops_opts {
	int key_fd;                 /* read passphrases from this descriptor, one a line; -1: no */
	const char *askpass_socket; /* ask through this AF_UNIX socket; NULL: no */
	const char *console;        /* terminal to prompt on; NULL: /dev/tty, then /dev/console */
};
struct bs_ctx;
const struct bs_ops *bs_ops_real(void);
/* The userdata the real ops take. */
struct bs_real_ops_data {
	struct bs_ctx *ctx;
	struct bs_real_ops_opts opts;
	/* watch_uevents()'s socket, open while watching (a zeroed struct is not watching). */
	bool watching;
	int monitor_fd;
};
/* Closes what the real ops opened for data (the uevent monitor). */
void bs_real_ops_data_done(struct bs_real_ops_data *data);

/* Secrets: locked (mlock), never swapped or dumped, wiped before they are freed. */
int bs_secret_new(size_t size, char **ret);
/* size usable bytes, zeroed, plus a NUL after them. Returns 0, or 1 when the pages could not be
 * locked (RLIMIT_MEMLOCK): the memory is usable but may be swapped; or a negative errno. */
/* Wipes the whole allocation and frees it. Accepts NULL. */
void bs_secret_free(char *p);
