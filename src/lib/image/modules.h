/* The kernel modules a stack needs, resolved with libkmod against the target kernel's
 * indexes (modules.dep, modules.alias, modules.softdep, modules.builtin) below the
 * context's system root, with their dependencies, in load order. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libblkstack-private.h"

struct bs_modules;

/* One module of the load order. Strings are borrowed from the set and stay valid until the
 * next request (bs_modules_want_*) or bs_modules_free(). */
struct bs_module {
	/* As the kernel names it: "dm_crypt", "raid456". */
	const char *name;
	/* The file, relative to lib/modules/VERSION ("kernel/drivers/md/dm-crypt.ko", maybe
	 * with .xz or .zst), and absolute below the system root; NULL when built in. */
	const char *relpath;
	const char *path;
	bool builtin;
	/* Why it is there: the requests that named it ("fs-ext4 (filesystem of /)"), or the
	 * module that needs it ("needed by raid456", "softdep of ext4"). */
	const char *why;
	/* Size of the file in bytes, 0 when built in. */
	uint64_t size;
};

/*
 * Opens the modules of the kernel kernel_version below the system root,
 * lib/modules/VERSION, which must hold depmod's binary indexes. A NULL kernel_version means
 * the running kernel's (uname -r) when the system root is "/", and otherwise the only
 * version below lib/modules: none gives -ENOENT, several -EINVAL, each with a message that
 * names what it found. Configuration (softdeps, aliases) is read from the system root's
 * modprobe.d directories, never the host's.
 */
int bs_modules_new(struct bs_ctx *c, const char *kernel_version, struct bs_modules **ret);
struct bs_modules *bs_modules_free(struct bs_modules *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_modules *, bs_modules_free)
#define _cleanup_modules_free_ _cleanup_(bs_modules_freep)

const char *bs_modules_kernel_version(const struct bs_modules *m);

/*
 * Requests, as the kernel or udev makes them. why says what wanted it, for the messages
 * and bs_module.why. Each returns the number of modules the request added or matched (a
 * request satisfied by a built-in module counts), or -ENOENT, with a message naming the
 * request and why, when the kernel has nothing for it, -ENOMEM, -EINVAL.
 */

/* An alias or a module name as modprobe takes it: "virtio:d00000002v00001AF4",
 * "pci:v00001AF4d00001001sv...", "dm-crypt", "crypto-aes", "fs-ext4", "md-raid6". Every
 * module that matches is wanted, as modprobe loads them all. */
int bs_modules_want_alias(struct bs_modules *m, const char *alias, const char *why);

/* A module by name only ("dm-mod" and "dm_mod" are the same), no alias. */
int bs_modules_want_name(struct bs_modules *m, const char *name, const char *why);

/* The filesystem type as mount(2) takes it: the kernel asks for "fs-TYPE". "swap" and the
 * types of no block filesystem the kernel always has ("tmpfs", "proc"...) want nothing. */
int bs_modules_want_filesystem(struct bs_modules *m, const char *fstype, const char *why);

/* An md level as mdadm and sysfs name it ("raid6", "6", "linear", "container"): md-mod and
 * the personality, which the kernel requests as "md-raid6", else "md-level-6". */
int bs_modules_want_md_level(struct bs_modules *m, const char *level, const char *why);

/* A device-mapper target as a table names it ("crypt", "linear", "thin-pool"): dm-mod and
 * the target's module, "dm-TARGET"; linear, striped and error are part of dm-mod. */
int bs_modules_want_dm_target(struct bs_modules *m, const char *target, const char *why);

/* A dm-crypt cipher specification as a LUKS header or crypttab names it, "aes-xts-plain64",
 * "aes-cbc-essiv:sha256", "aes" (cbc-plain), "capi:xts(aes)-plain64": the crypto modules
 * of the cipher, the chaining mode and what the IV generator needs ("crypto-aes",
 * "crypto-xts"; plain64 is part of dm-crypt, essiv:sha256 wants "crypto-essiv" and
 * "crypto-sha256"). Not dm-crypt itself: that is the "crypt" target. */
int bs_modules_want_cipher(struct bs_modules *m, const char *spec, const char *why);

/* A hash the kernel computes ("sha256" is "crypto-sha256"). Password-based key derivation
 * functions (argon2i, argon2id, pbkdf2) run in user space and want nothing. */
int bs_modules_want_hash(struct bs_modules *m, const char *hash, const char *why);

/* The drivers of a block device, by kernel name ("vda", "sda2", "nvme0n1"): the module of
 * each device from the block device's up to the root of sys/devices that has a modalias
 * (virtio_blk for the virtio device, virtio_pci for its PCI function; sd_mod, ahci), read
 * below the system root. Aliases the kernel has no module for (buses built in) are
 * skipped. Returns the number of modules, or -ENOENT when the device is not in sys/. */
int bs_modules_want_device(struct bs_modules *m, const char *kernel_name, const char *why);

/*
 * The load order: dependencies (modules.dep) and pre: softdeps before the module, post:
 * softdeps after it, each module once. The order is deterministic, whatever the order of
 * the requests: the requested modules by name, each after what it needs, taken in the
 * order libkmod lists a module's dependencies and softdeps. Computed on the
 * first call after a request; returns the number of modules, or a negative errno.
 */
int bs_modules_resolve(struct bs_modules *m);

/* The i-th module of the load order (i < bs_modules_resolve()), or NULL. */
const struct bs_module *bs_modules_get(struct bs_modules *m, size_t i);

/*
 * The files an image needs so that these modules load there, through the kernel's
 * request_module() and libkmod or modprobe: the module files in load order, then the
 * indexes of lib/modules/VERSION that exist (modules.dep(.bin), modules.alias(.bin),
 * modules.softdep, modules.builtin(.bin, .alias.bin, .modinfo), modules.order,
 * modules.symbols(.bin), modules.devname), each relative to the system root
 * ("lib/modules/6.1.0-57-amd64/kernel/fs/ext4/ext4.ko"). The indexes are the full ones;
 * an image builder that carries a subset may rebuild them with depmod.
 */
int bs_modules_files(struct bs_modules *m, char ***ret);

/* One modalias of a device that is not live, as the record keeps them (a word of its
 * "modalias" attribute), as bs_modules_want_device() takes each of the chain it reads in
 * sys/: the modules that match, or none (0) for a bus the kernel has built in. */
int bs_modules_want_modalias(struct bs_modules *m, const char *alias, const char *why);
