/* The sources of the graph, as the loader (load.c) calls them, and what they share. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "graph.h"
#include "macro.h"

/*
 * The filesystem and partition identities of block devices, keyed by device name as libblkid
 * names them ("/dev/vdd", "/dev/md127", "/dev/mapper/vg0-srv"). bs_source_blkid() loads one
 * per graph into g->blkid; bs_source_sysfs() applies an entry to each device it finds.
 */
struct bs_blkid_table;
struct bs_blkid_entry;

/* The tags blkstack takes from libblkid, and the attribute each one becomes. */
enum bs_blkid_tag {
	BS_BLKID_TYPE, /* fstype */
	BS_BLKID_UUID, /* uuid */
	BS_BLKID_UUID_SUB, /* uuid_sub */
	BS_BLKID_LABEL, /* label */
	BS_BLKID_PARTUUID, /* partuuid */
	BS_BLKID_PARTLABEL, /* partlabel */
	_BS_BLKID_TAG_MAX,
	_BS_BLKID_TAG_INVALID = -EINVAL,
};

/*
 * Parses text in the format of libblkid's cache file ("blkid -c FILE" writes it): one
 * "<device TAG="value" ...>DEVNAME</device>" per line. Nothing is checked against devices:
 * the names need not exist on this host. Lines that cannot be parsed are logged as warnings
 * naming where:line and skipped; a later entry for the same name replaces an earlier one.
 * where names the file in messages (relative to the sysroot). Returns 0 or -ENOMEM.
 */
int bs_blkid_table_parse(struct bs_ctx *c, const char *where, const char *text,
			 struct bs_blkid_table **ret);

/* The number of devices in t (0 for NULL). */
size_t bs_blkid_table_size(const struct bs_blkid_table *t);

/* The entry for devname, or NULL (also when t is NULL). */
const struct bs_blkid_entry *bs_blkid_table_find(const struct bs_blkid_table *t,
						 const char *devname);

/* A tag's value in e, or NULL. */
const char *bs_blkid_entry_get(const struct bs_blkid_entry *e, enum bs_blkid_tag tag);

/* Sets the identities of e on n: fstype, uuid, uuid_sub, label, partuuid, partlabel, each
 * that e has. Returns 0 or -ENOMEM. */
int bs_blkid_entry_apply(const struct bs_blkid_entry *e, struct bs_node *n);

/* ---- the sources, as the loader calls them --------------------------------------------------
 *
 * Each adds what it reads, logs a warning for what it must skip, and fails only when nothing
 * of it could be read. */

/* The pseudo-node of the network that network layers need. */
#define BS_NETWORK_NODE_ID "net:online"

/*
 * The server that an nbd-client command line (/proc/PID/cmdline: size bytes of NUL-ended
 * words) connects to, as nbd://HOST:PORT/EXPORT (an IPv6 HOST in brackets, PORT 10809 when
 * it gives none): 1 with *ret newly allocated; 0 when it is no nbd-client's, names no host
 * (an nbdtab name, a -unix socket), or is malformed; -ENOMEM.
 */
int bs_nbd_cmdline_source(const char *cmdline, size_t size, char **ret);

/* How long the probe of a device that may stall (nbd, drbd, an iSCSI disk, a multipath
 * map) waits for its answer before the device is reported and passed over. */
#define BS_STALL_PROBE_TIMEOUT_USEC (3ULL * 1000000ULL)

/*
 * Runs probe(path, tags) in a forked child and takes its tags back through a pipe, waiting
 * up to timeout_usec: a read that never returns (a dead server) stalls the child only. On
 * success *ret_tags has the values (newly allocated; NULL where none). -ETIMEDOUT when the
 * child did not answer in time (it is killed, and ends when its I/O does), -EIO when it
 * failed, -ENOMEM. The probe must not log: the child is a fork of a program with threads.
 */
int bs_blkid_probe_guarded(const char *path, uint64_t timeout_usec,
			   int (*probe)(const char *path, char *tags[_BS_BLKID_TAG_MAX]),
			   char *ret_tags[_BS_BLKID_TAG_MAX]);

/* Identities: probed with libblkid on "/", else read from run/blkid/blkid.tab below the
 * sysroot. *ret is NULL when there are none (logged). Free with bs_blkid_table_free(). */
int bs_source_blkid(struct bs_graph *g, struct bs_blkid_table **ret);
void bs_blkid_table_free(struct bs_blkid_table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_blkid_table *, bs_blkid_table_free)
/* Block devices from sysfs, with the identities of bs_source_blkid() (may be NULL). */
int bs_source_sysfs(struct bs_graph *g, const struct bs_blkid_table *identities);
int bs_source_mountinfo(struct bs_graph *g);
int bs_source_swaps(struct bs_graph *g);
int bs_source_lvm_report(struct bs_graph *g);

/* The resume device (kernel.c): sys/power/resume, else resume= on the kernel's command line,
 * resolved against the whole graph, so read last. Sets g->resume (NULL if none). */
int bs_source_kernel(struct bs_graph *g);

/* Links that need several sources (derived.c): loop backing files to mounts, multi-device
 * btrfs, mounts under mounts. */
int bs_graph_link_derived(struct bs_graph *g);

/*
 * Finds the cycles of g (graph-check.c): one per strongly connected set of nodes, as
 * "a -> b -> a", each appended to problems at the configuration line of one of its edges
 * (the first edge of the cycle that has an origin; the cycle is printed from that edge's
 * holder). Iterative, linear in the nodes and edges. Sorts g. Returns the number of cycles,
 * or -ENOMEM.
 */
int bs_graph_find_cycles(struct bs_graph *g, struct bs_problem_list *problems);

/* The segment cipher of the LUKS header on block device kernel_name, below the sysroot, as
 * dm-crypt names it ("aes-xts-plain64"), read without a key (sources/luks.c). Returns 1 with
 * *ret, 0 when the device cannot be opened or holds no readable LUKS header, or -ENOMEM. */
int bs_luks_probe_cipher(struct bs_ctx *c, const char *kernel_name, char **ret);

/* What pins a LUKS header (pins.c): every field that says which volume it is and how it is
 * encrypted, and nothing that a keyslot change alters. */
enum bs_luks_field {
	BS_LUKS_UUID,
	BS_LUKS_VERSION, /* "LUKS1", "LUKS2" */
	BS_LUKS_CIPHER, /* the segment's: "aes" */
	BS_LUKS_CIPHER_MODE, /* "xts-plain64" */
	BS_LUKS_PAYLOAD_OFFSET, /* in 512-byte sectors */
	BS_LUKS_SECTOR_SIZE,
	BS_LUKS_INTEGRITY, /* "hmac(sha256)/32", or "none" */
	/* The volume key's digest: LUKS2's "digests" (each field of each digest joined with
	 * ','), LUKS1's mk-digest. A header another key opens has another digest. */
	BS_LUKS_DIGEST_TYPE,
	BS_LUKS_DIGEST_HASH,
	BS_LUKS_DIGEST_ITERATIONS,
	BS_LUKS_DIGEST_SALT,
	BS_LUKS_DIGEST,
	_BS_LUKS_FIELD_MAX,
	_BS_LUKS_FIELD_INVALID = -EINVAL,
};

const char *bs_luks_field_to_string(enum bs_luks_field f);

struct bs_luks_identity {
	char *fields[_BS_LUKS_FIELD_MAX];
	/* "SLOT:CIPHER" of each active keyslot ("0:aes-xts-plain64"), for cipher_null. */
	char **keyslot_ciphers;
};

void bs_luks_identity_done(struct bs_luks_identity *id);

/* The identity of the LUKS header on block device kernel_name below the sysroot, read without
 * a key. Returns 1 with *ret (free it with bs_luks_identity_done()), 0 when the device cannot
 * be opened or holds no readable LUKS header or digest (logged at debug level), or -ENOMEM. */
int bs_luks_read_identity(struct bs_ctx *c, const char *kernel_name, struct bs_luks_identity *ret);
