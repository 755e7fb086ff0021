/* Configuration sources: the parsers of fstab, crypttab, mdadm.conf and stack.conf, and the
 * problems they report. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "layer-config.h"
#include "md-uuid.h"
#include "problems.h"

/*
 * Each parser is a pure function over a text buffer: it reads nothing else, logs nothing and
 * keeps no state, so that a libFuzzer target can call it with any bytes. text need not be
 * NUL-terminated; size bytes of it are read. file names the file in problems (blkstack passes
 * the absolute path below the sysroot). A parser returns 0 with *ret set (possibly with no
 * entries) or -ENOMEM; everything wrong with the text is a problem appended to problems,
 * naming file and line, and the rest of the text is still read. Lines are at most
 * BS_CONFIG_LINE_MAX bytes; a longer one is a problem.
 */
#define BS_CONFIG_LINE_MAX ((size_t)64 * 1024)

/* ---- crypttab(5) -------------------------------------------------------------------------- */

enum bs_crypt_type {
	BS_CRYPT_TYPE_AUTO, /* none given: LUKS if the device has a LUKS header, else plain */
	BS_CRYPT_TYPE_LUKS,
	BS_CRYPT_TYPE_PLAIN,
	BS_CRYPT_TYPE_BITLK,
	BS_CRYPT_TYPE_TCRYPT,
};

enum bs_crypttab_flag {
	BS_CRYPTTAB_READONLY = 1u << 0,
	BS_CRYPTTAB_DISCARD = 1u << 1,
	BS_CRYPTTAB_VERIFY = 1u << 2,
	BS_CRYPTTAB_SAME_CPU_CRYPT = 1u << 3,
	BS_CRYPTTAB_SUBMIT_FROM_CRYPT_CPUS = 1u << 4,
	BS_CRYPTTAB_NO_READ_WORKQUEUE = 1u << 5,
	BS_CRYPTTAB_NO_WRITE_WORKQUEUE = 1u << 6,
	BS_CRYPTTAB_SWAP = 1u << 7,
	BS_CRYPTTAB_TMP = 1u << 8,
	BS_CRYPTTAB_CHECK = 1u << 9,
	BS_CRYPTTAB_INITRAMFS = 1u << 10,
	BS_CRYPTTAB_NOEARLY = 1u << 11,
	BS_CRYPTTAB_NOAUTO = 1u << 12,
	BS_CRYPTTAB_NOFAIL = 1u << 13,
	BS_CRYPTTAB_NETDEV = 1u << 14,
	BS_CRYPTTAB_LOUD = 1u << 15,
	BS_CRYPTTAB_QUIET = 1u << 16,
	BS_CRYPTTAB_VERACRYPT = 1u << 17,
	BS_CRYPTTAB_TCRYPT_HIDDEN = 1u << 18,
	BS_CRYPTTAB_TCRYPT_SYSTEM = 1u << 19,
	BS_CRYPTTAB_KEYFILE_ERASE = 1u << 20,
	BS_CRYPTTAB_INITRD_ATTACH = 1u << 21, /* systemd's x-initrd.attach */
	BS_CRYPTTAB_KEYFILE_TIMEOUT = 1u << 22, /* systemd's keyfile-timeout[=TIME] */
};

/* One line: "NAME SOURCE [KEY-FILE [OPTIONS]]", each field with its escapes decoded (see
 * crypttab.c). Numbers are 0 when not given unless noted. */
struct bs_crypttab_entry {
	unsigned line;
	char *name; /* the mapping's name, /dev/mapper/NAME */
	char *source; /* UUID=, LABEL=, PARTUUID=, PARTLABEL= (unquoted), or an absolute path */
	/* The third field; NULL for none, "-" or a missing field: ask for a passphrase. systemd's
	 * PATH:DEVICE (a key file on a filesystem that is mounted for it alone) stays whole here,
	 * so that a reader that knows nothing of key_device never takes PATH for a file on the
	 * mounted filesystems; key_device and key_device_path hold its parts. */
	char *key_file;
	char *key_device; /* PATH:DEVICE's DEVICE, a device spec (unquoted); NULL if none */
	char *key_device_path; /* PATH:DEVICE's PATH, inside that filesystem (may be relative) */
	char *options; /* the fourth field, NULL if none, "-" or "none" */
	enum bs_crypt_type type;
	unsigned flags; /* enum bs_crypttab_flag */
	char *cipher, *hash, *header, *keyscript, *tmp_fstype, *check, *checkargs;
	uint64_t key_size; /* size=, bits */
	uint64_t sector_size, offset, skip, keyfile_offset, keyfile_size;
	int keyslot; /* -1: any */
	int tries; /* -1: the default (3); 0: no limit */
	uint64_t timeout_usec; /* timeout=, 0: none */
	uint64_t keyfile_timeout_usec; /* keyfile-timeout=, 0: none given */
	uint32_t veracrypt_pim;
	char **tcrypt_keyfiles; /* tcrypt-keyfile= values, in order; NULL if none */
};

struct bs_crypttab {
	struct bs_crypttab_entry *entries;
	size_t n_entries;
};

int bs_crypttab_parse(const char *file, const char *text, size_t size, struct bs_crypttab **ret,
		      struct bs_problem_list *problems);

/* What the crypt driver needs of entry e (config.c), newly allocated: its mode, the plain
 * parameters, the key file's part, tries (3 by default), flags, and why blkstack does not
 * open it (keyscript=, random keys, bitlk, tcrypt, PATH:DEVICE key files). Returns 0,
 * -ERANGE for a number that does not fit, -EINVAL or -ENOMEM. */
int bs_crypt_config_from_entry(const struct bs_crypttab_entry *e, struct bs_crypt_config **ret);
struct bs_crypttab *bs_crypttab_free(struct bs_crypttab *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_crypttab *, bs_crypttab_free)

/* ---- fstab(5), through libmount ---------------------------------------------------------- */

enum bs_fstab_flag {
	BS_FSTAB_NOAUTO = 1u << 0,
	BS_FSTAB_NOFAIL = 1u << 1,
	BS_FSTAB_NETDEV = 1u << 2, /* _netdev */
	BS_FSTAB_SWAP = 1u << 3, /* a swap area, not a mount */
	BS_FSTAB_BIND = 1u << 4, /* bind or rbind */
	BS_FSTAB_LOOP = 1u << 5, /* loop[=DEV]: the source is a file */
	BS_FSTAB_NETFS = 1u << 6, /* nfs, cifs, ...: libmount's mnt_fs_is_netfs() */
	BS_FSTAB_PSEUDOFS = 1u << 7, /* proc, tmpfs, ...: libmount's mnt_fs_is_pseudofs() */
	BS_FSTAB_READONLY = 1u << 8, /* ro */
};

struct bs_fstab_entry {
	unsigned line;
	char *source; /* as libmount reads it, unescaped: "UUID=...", "/dev/...", "srv:/x" */
	char *target; /* the mount point with redundant slashes removed; "none" for swap */
	char *fstype;
	char *options; /* NULL if none */
	unsigned flags; /* enum bs_fstab_flag */
	char **requires; /* x-systemd.requires= values, in order; NULL if none */
	char **requires_mounts_for; /* x-systemd.requires-mounts-for= values */
};

struct bs_fstab {
	struct bs_fstab_entry *entries;
	size_t n_entries;
};

/* Each line is parsed by libmount (mnt_table_parse_stream()); the lines libmount rejects are
 * problems, with a reason worked out from the line. */
int bs_fstab_parse(const char *file, const char *text, size_t size, struct bs_fstab **ret,
		   struct bs_problem_list *problems);
struct bs_fstab *bs_fstab_free(struct bs_fstab *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_fstab *, bs_fstab_free)

/* ---- mdadm.conf(5) ----------------------------------------------------------------------- */

/* An ARRAY line (with its continuation lines). Numbers are -1 when not given. */
struct bs_mdadm_array {
	unsigned line;
	char *device; /* "/dev/md/NAME", "/dev/mdN", a bare name, or NULL ("<ignore>") */
	char *uuid; /* uuid=, normalized to the kernel's 8-4-4-4-12 lowercase form */
	char *name; /* name=, as written ("host:name" or "name") */
	char **devices; /* devices=, split at commas; may hold shell patterns */
	char *metadata; /* metadata= */
	char *level; /* level= */
	char *container; /* container=: a device path or a uuid */
	char *member; /* member= */
	int num_devices, spares, super_minor;
};

struct bs_mdadm_conf {
	struct bs_mdadm_array *arrays;
	size_t n_arrays;
	char *homehost; /* HOMEHOST, NULL if none */
};

int bs_mdadm_conf_parse(const char *file, const char *text, size_t size, struct bs_mdadm_conf **ret,
			struct bs_problem_list *problems);
struct bs_mdadm_conf *bs_mdadm_conf_free(struct bs_mdadm_conf *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_mdadm_conf *, bs_mdadm_conf_free)


/* The array's name without its homehost prefix ("host:sys" gives "sys"), from name= or from
 * a /dev/md/NAME device; NULL if it has neither. */
const char *bs_mdadm_array_short_name(const struct bs_mdadm_array *a);

/* ---- stack.conf(5) ----------------------------------------------------------------------- */

enum bs_stack_kind {
	BS_STACK_LOOP,
	BS_STACK_NBD,
	BS_STACK_ISCSI,
	BS_STACK_DRBD,
	BS_STACK_AFTER,
	BS_STACK_TIMEOUT,
	_BS_STACK_KIND_MAX,
	_BS_STACK_KIND_INVALID = -EINVAL,
};

enum bs_stack_flag {
	BS_STACK_READONLY = 1u << 0,
	BS_STACK_NOAUTO = 1u << 1,
	BS_STACK_NOFAIL = 1u << 2,
	BS_STACK_PARTSCAN = 1u << 3,
	BS_STACK_DIRECT_IO = 1u << 4,
	BS_STACK_TLS = 1u << 5,
	BS_STACK_PERSIST = 1u << 6,
	BS_STACK_SWAP = 1u << 7,
	BS_STACK_PRIMARY = 1u << 8, /* drbd: promote after up */
};

struct bs_stack_entry {
	unsigned line;
	enum bs_stack_kind kind;
	char *name; /* nbd, iscsi: NAME; drbd: RESOURCE */
	char *path; /* loop: the backing file */
	char *host; /* nbd: HOST; iscsi: the portal's host */
	uint16_t port; /* 0: the default (10809 for nbd, 3260 for iscsi) */
	char *target; /* nbd: EXPORT (NULL: the default export); iscsi: TARGET-IQN */
	char *first, *second; /* after FIRST SECOND: FIRST needs SECOND; timeout FIRST SEC */
	char *options; /* as written, NULL if none */
	unsigned flags; /* enum bs_stack_flag */
	uint64_t offset, sizelimit, sector_size; /* loop */
	uint64_t timeout_sec; /* nbd, iscsi, timeout */
	uint32_t connections, block_size, lun; /* nbd, nbd, iscsi */
	char *iface; /* iscsi */
	char **files; /* files the options name (nbd TLS keys and certificates) */
	uint32_t minor; /* drbd: device=/dev/drbdN or minor=N, always given */
	char **disks; /* drbd: the disk= device specs, in order; NULL if none */
};

struct bs_stack_conf {
	struct bs_stack_entry *entries;
	size_t n_entries;
};

const char *bs_stack_kind_to_string(enum bs_stack_kind k);

int bs_stack_conf_parse(const char *file, const char *text, size_t size, struct bs_stack_conf **ret,
			struct bs_problem_list *problems);
struct bs_stack_conf *bs_stack_conf_free(struct bs_stack_conf *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_stack_conf *, bs_stack_conf_free)

/* ---- helpers shared by the parsers (config-util.c) --------------------------------------- */

/* Walks text line by line. Each line is handed out NUL-terminated without its newline (and a
 * trailing '\r'), in a buffer that the next call reuses. */
struct bs_config_lines {
	const char *p, *end;
	unsigned line;
	char *buf;
	size_t allocated;
};

void bs_config_lines_init(struct bs_config_lines *it, const char *text, size_t size);
void bs_config_lines_done(struct bs_config_lines *it);
/* Returns 1 with the next line in *ret, 0 at the end, or -ENOMEM. *ret_bad is set when the
 * line holds a NUL byte or is longer than BS_CONFIG_LINE_MAX (then *ret is ""). */
int bs_config_lines_next(struct bs_config_lines *it, char **ret, const char **ret_bad);

/* Strings kept alive for hash maps that borrow them as keys, taken in constant time. */
struct bs_string_pool {
	char **strings;
	size_t n, allocated;
};

/* Takes s into the pool (and frees it on failure). Returns 0 or -ENOMEM. */
int bs_string_pool_take(struct bs_string_pool *p, char *s);
void bs_string_pool_done(struct bs_string_pool *p);

/* Whether line is empty, blank or a comment (its first non-blank character is '#'). */
bool bs_config_line_is_blank(const char *line);

/* Splits line at blanks (spaces and tabs) into fields, each with fstab's octal escapes
 * (\040 for a space) decoded. With stop_at_comment, a field starting with '#' ends the line.
 * Returns the number of fields, or -ENOMEM. */
int bs_config_split(const char *line, bool stop_at_comment, char ***ret);
/* The same, with the fields as written: nothing decoded, no comment recognized. */
int bs_config_split_raw(const char *line, char ***ret);

/* How many of the problems of l from index from on are errors: what a parser counts to tell
 * whether a line is usable (a warning leaves it usable). */
size_t bs_config_errors_since(const struct bs_problem_list *l, size_t from);

/* The candidate closest to word by edit distance (with adjacent transpositions), if it is
 * close enough to be a likely typo; else NULL. candidates is NULL-terminated. */
const char *bs_config_suggest(const char *word, const char *const *candidates);

/* "1st", "2nd", "3rd", "4th", ... in buf. */
const char *bs_config_ordinal(unsigned n, char buf[static 16]);

/* The value of the device tag s starts with (UUID=, LABEL=, PARTUUID=, PARTLABEL=, ID=), or
 * NULL if s is no tag. */
char *bs_config_tag_value(const char *s);
/* A device specification as crypttab(5) and fstab(5) take it: a tag (UUID=, LABEL=,
 * PARTUUID=, PARTLABEL=, ID=) with a non-empty value, or an absolute path. */
bool bs_config_is_device_spec(const char *s);

/* Removes the quotes around the value of a tag, in place, as libblkid and systemd's
 * fstab_node_to_udev_node() do: UUID="..." and LABEL='...' become UUID=... and LABEL=....
 * Only a value that starts and ends with the same quote character is unquoted; anything else
 * (a path, a value with one quote) is left as it is. Returns s. */
char *bs_config_unquote_tag(char *s);

/* Removes repeated and trailing slashes from an absolute path, in place ("//a/b/" -> "/a/b",
 * "/" stays). */
char *bs_config_path_simplify(char *path);

/* Parses a non-negative decimal number with an optional size suffix (K, M, G, T, each a
 * power of 1024; KiB and KB accepted as well). Returns 0 or -EINVAL/-ERANGE. */
int bs_config_parse_size(const char *s, uint64_t *ret);

/* Parses a systemd time span of one unit: "30", "30s", "500ms", "2min", "1h" (seconds
 * without a unit). Returns 0 or -EINVAL/-ERANGE. */
int bs_config_parse_timespan(const char *s, uint64_t *ret_usec);
