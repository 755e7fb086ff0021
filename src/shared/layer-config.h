/* What the configuration says about one node that its driver needs: plain data, parsed once. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * The configuration sources fill these in when the graph is loaded and attach them to the
 * node; the drivers read them and nothing else, so that they run the same where there is no
 * /etc to read (an initramfs has only its manifest; the shutdown ramfs runs after the old root
 * is gone). Plain data shared by the library's model, its sources and the ops table.
 */

/* How a loop device shows its file (stack.conf's loop options). */
struct bs_loop_options {
	bool read_only;
	uint64_t offset; /* bytes; 0: from the start */
	uint64_t sizelimit; /* bytes; 0: to the end of the file */
	uint32_t sector_size; /* 0: the default (512) */
	bool partscan;
	bool direct_io;
};

/* fstab's options field, split the way mount(2) takes it. */
struct bs_mount_options {
	/* MS_* flags for the mount itself, without propagation flags or MS_REMOUNT. */
	unsigned long flags;
	/* MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE, with MS_REC for the r* forms:
	 * mount(2) sets them in a call of their own, after the mount. 0 for none. */
	unsigned long propagation;
	/* The filesystem's own options ("subvol=@,compress=zstd"), mount(2)'s data; NULL if
	 * none. Userspace options (noauto, nofail, _netdev, x-*, comment=, loop, ...) are
	 * dropped. */
	char *data;
	/* The options a mount helper (mount.nfs) gets: the filesystem's and the kernel's,
	 * without the userspace ones; NULL if none. */
	char *helper;
	/* Options of the 'loop' mount of an image file that the loop driver cannot honour
	 * (offset=, sizelimit=, encryption=), as written; NULL if none. */
	char *loop_unsupported;
};

/*
 * What a plain mapping gets for what its crypttab line leaves out: cryptsetup's compiled-in
 * defaults up to 2.6 (Debian 12), the ones crypttab(5) refers to. cryptsetup 2.7 changed
 * them (aes-xts-plain64, sha256), so a plain line should name all three; the driver warns
 * when one is missing.
 */
#define BS_CRYPT_PLAIN_DEFAULT_CIPHER "aes-cbc-essiv:sha256"
#define BS_CRYPT_PLAIN_DEFAULT_KEY_BITS 256u
#define BS_CRYPT_PLAIN_DEFAULT_HASH "ripemd160"

/* The tries a passphrase gets when crypttab says nothing (tries=). */
#define BS_CRYPT_DEFAULT_TRIES 3u

enum bs_crypt_mode {
	BS_CRYPT_MODE_AUTO, /* no type given: LUKS if the device has a LUKS header, else plain */
	BS_CRYPT_MODE_LUKS,
	BS_CRYPT_MODE_PLAIN,
};

/* One dm-crypt mapping as crypttab(5) describes it. */
struct bs_crypt_config {
	unsigned line; /* its crypttab line, for messages */
	char *source; /* the backing device or file as written (UUID=..., /dev/..., /path) */
	char *key_file; /* NULL: ask for a passphrase */
	char *header; /* a detached header (a device spec or a file), or NULL */
	enum bs_crypt_mode mode;
	/* Plain mode: as written, NULL or 0 where the line says nothing. */
	char *cipher, *hash;
	unsigned key_bits;
	uint64_t offset, skip; /* sectors */
	unsigned sector_size;
	/* The key file's part that is the key: keyfile-offset=, keyfile-size= (0: all). */
	uint64_t keyfile_offset, keyfile_size;
	int keyslot; /* -1: any */
	unsigned tries; /* passphrases that may be wrong; 0: no limit */
	bool read_only, discard, same_cpu_crypt, submit_from_crypt_cpus, no_read_workqueue,
		no_write_workqueue;
	/* Why blkstack does not open this mapping, as a message that says what to do instead
	 * (keyscript=, a random key, bitlk, tcrypt, ...); NULL if it does. */
	char *unsupported;
};

/* A DRBD resource as its stack.conf line names it; the resource itself is drbd.conf's. */
struct bs_drbd_config {
	char *resource; /* drbdadm's name of it */
	uint32_t minor; /* its device, /dev/drbdMINOR */
	bool primary; /* promote it after it is up */
};

struct bs_layer_config {
	/* The line that describes the node: the file's path below the sysroot, 1-based. */
	char *file;
	unsigned line;
	struct bs_crypt_config *crypt; /* crypt nodes (crypttab) */
	struct bs_loop_options *loop; /* loop nodes (stack.conf) */
	struct bs_mount_options *mount; /* mount nodes (fstab) */
	struct bs_drbd_config *drbd; /* drbd nodes (stack.conf) */
	bool has_swap_flags; /* swap nodes (fstab): swapon(2)'s flags */
	int swap_flags;
};

void bs_mount_options_done(struct bs_mount_options *o);
void bs_crypt_config_free(struct bs_crypt_config *c);
/* Frees c and what it holds. Accepts NULL. Returns NULL. */
struct bs_layer_config *bs_layer_config_free(struct bs_layer_config *c);
