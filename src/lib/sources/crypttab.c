/* Configuration source: the parser of crypttab(5), Debian's format with systemd's options. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hashmap.h"
#include "parse.h"
#include "strv.h"
#include "util.h"

/* The dm name limit of the kernel (DM_NAME_LEN, with its NUL). */
#define DM_NAME_MAX 127
/* LUKS2 has 32 key slots (LUKS1 has 8). */
#define KEYSLOT_MAX 31

enum opt_kind {
	OPT_FLAG, /* no value */
	OPT_VALUE, /* a value is required */
	OPT_OPTIONAL, /* a value may follow */
};

enum opt_id {
	O_FLAG, /* sets .flag */
	O_TYPE, /* sets the type to .flag */
	O_CIPHER,
	O_HASH,
	O_SIZE,
	O_SECTOR_SIZE,
	O_OFFSET,
	O_SKIP,
	O_KEYFILE_OFFSET,
	O_KEYFILE_SIZE,
	O_KEYSLOT,
	O_HEADER,
	O_TRIES,
	O_TIMEOUT,
	O_TMP,
	O_CHECK,
	O_CHECKARGS,
	O_KEYSCRIPT,
	O_VERACRYPT_PIM,
	O_KEYFILE_TIMEOUT,
	O_TCRYPT_KEYFILE,
	O_FLAG_BOOLEAN, /* sets .flag, or with =BOOL clears it for "no" */
	O_BOOLEAN, /* systemd's [=BOOL] options this tool does not use */
	O_ACCEPTED, /* options of systemd's that only its own tools use */
};

struct crypt_option {
	const char *name;
	enum opt_kind kind;
	enum opt_id id;
	unsigned flag;
};

/* Every option of Debian's crypttab(5), then systemd's (crypttab(5) of systemd), which
 * Debian's systemd reads from the same file. x-systemd.* options are accepted too. */
static const struct crypt_option options[] = {
	{ "cipher", OPT_VALUE, O_CIPHER, 0 },
	{ "size", OPT_VALUE, O_SIZE, 0 },
	{ "sector-size", OPT_VALUE, O_SECTOR_SIZE, 0 },
	{ "hash", OPT_VALUE, O_HASH, 0 },
	{ "offset", OPT_VALUE, O_OFFSET, 0 },
	{ "skip", OPT_VALUE, O_SKIP, 0 },
	{ "keyfile-offset", OPT_VALUE, O_KEYFILE_OFFSET, 0 },
	{ "keyfile-size", OPT_VALUE, O_KEYFILE_SIZE, 0 },
	{ "keyslot", OPT_VALUE, O_KEYSLOT, 0 },
	{ "key-slot", OPT_VALUE, O_KEYSLOT, 0 },
	{ "header", OPT_VALUE, O_HEADER, 0 },
	{ "verify", OPT_FLAG, O_FLAG, BS_CRYPTTAB_VERIFY },
	{ "readonly", OPT_FLAG, O_FLAG, BS_CRYPTTAB_READONLY },
	{ "read-only", OPT_FLAG, O_FLAG, BS_CRYPTTAB_READONLY },
	{ "tries", OPT_VALUE, O_TRIES, 0 },
	{ "discard", OPT_FLAG, O_FLAG, BS_CRYPTTAB_DISCARD },
	{ "allow-discards", OPT_FLAG, O_FLAG, BS_CRYPTTAB_DISCARD }, /* systemd's alias */
	{ "luks", OPT_FLAG, O_TYPE, BS_CRYPT_TYPE_LUKS },
	{ "plain", OPT_FLAG, O_TYPE, BS_CRYPT_TYPE_PLAIN },
	{ "bitlk", OPT_FLAG, O_TYPE, BS_CRYPT_TYPE_BITLK },
	{ "tcrypt", OPT_FLAG, O_TYPE, BS_CRYPT_TYPE_TCRYPT },
	{ "veracrypt", OPT_FLAG, O_FLAG, BS_CRYPTTAB_VERACRYPT },
	{ "tcrypt-veracrypt", OPT_FLAG, O_FLAG, BS_CRYPTTAB_VERACRYPT },
	{ "tcrypthidden", OPT_FLAG, O_FLAG, BS_CRYPTTAB_TCRYPT_HIDDEN },
	{ "tcrypt-hidden", OPT_FLAG, O_FLAG, BS_CRYPTTAB_TCRYPT_HIDDEN },
	{ "same-cpu-crypt", OPT_FLAG, O_FLAG, BS_CRYPTTAB_SAME_CPU_CRYPT },
	{ "submit-from-crypt-cpus", OPT_FLAG, O_FLAG, BS_CRYPTTAB_SUBMIT_FROM_CRYPT_CPUS },
	{ "no-read-workqueue", OPT_FLAG, O_FLAG, BS_CRYPTTAB_NO_READ_WORKQUEUE },
	{ "no-write-workqueue", OPT_FLAG, O_FLAG, BS_CRYPTTAB_NO_WRITE_WORKQUEUE },
	{ "swap", OPT_FLAG, O_FLAG, BS_CRYPTTAB_SWAP },
	{ "tmp", OPT_OPTIONAL, O_TMP, 0 },
	{ "check", OPT_OPTIONAL, O_CHECK, 0 },
	{ "checkargs", OPT_VALUE, O_CHECKARGS, 0 },
	{ "initramfs", OPT_FLAG, O_FLAG, BS_CRYPTTAB_INITRAMFS },
	{ "noearly", OPT_FLAG, O_FLAG, BS_CRYPTTAB_NOEARLY },
	{ "noauto", OPT_FLAG, O_FLAG, BS_CRYPTTAB_NOAUTO },
	{ "loud", OPT_FLAG, O_FLAG, BS_CRYPTTAB_LOUD },
	{ "quiet", OPT_FLAG, O_FLAG, BS_CRYPTTAB_QUIET },
	{ "keyscript", OPT_VALUE, O_KEYSCRIPT, 0 },
	/* systemd */
	{ "nofail", OPT_FLAG, O_FLAG, BS_CRYPTTAB_NOFAIL },
	{ "_netdev", OPT_FLAG, O_FLAG, BS_CRYPTTAB_NETDEV },
	{ "timeout", OPT_VALUE, O_TIMEOUT, 0 },
	{ "tcrypt-system", OPT_FLAG, O_FLAG, BS_CRYPTTAB_TCRYPT_SYSTEM },
	{ "veracrypt-pim", OPT_VALUE, O_VERACRYPT_PIM, 0 },
	{ "keyfile-erase", OPT_OPTIONAL, O_FLAG_BOOLEAN, BS_CRYPTTAB_KEYFILE_ERASE },
	{ "keyfile-timeout", OPT_OPTIONAL, O_KEYFILE_TIMEOUT, BS_CRYPTTAB_KEYFILE_TIMEOUT },
	{ "tcrypt-keyfile", OPT_VALUE, O_TCRYPT_KEYFILE, 0 },
	{ "x-initrd.attach", OPT_FLAG, O_FLAG, BS_CRYPTTAB_INITRD_ATTACH },
	{ "headless", OPT_OPTIONAL, O_BOOLEAN, 0 },
	{ "try-empty-password", OPT_OPTIONAL, O_BOOLEAN, 0 },
	{ "tpm2-pin", OPT_OPTIONAL, O_BOOLEAN, 0 },
	{ "fido2-pin", OPT_OPTIONAL, O_BOOLEAN, 0 },
	{ "fido2-up", OPT_OPTIONAL, O_BOOLEAN, 0 },
	{ "fido2-uv", OPT_OPTIONAL, O_BOOLEAN, 0 },
	{ "password-echo", OPT_VALUE, O_ACCEPTED, 0 },
	{ "password-cache", OPT_VALUE, O_ACCEPTED, 0 },
	{ "pkcs11-uri", OPT_VALUE, O_ACCEPTED, 0 },
	{ "fido2-device", OPT_VALUE, O_ACCEPTED, 0 },
	{ "fido2-cid", OPT_VALUE, O_ACCEPTED, 0 },
	{ "fido2-rp", OPT_VALUE, O_ACCEPTED, 0 },
	{ "tpm2-device", OPT_VALUE, O_ACCEPTED, 0 },
	{ "tpm2-pcrs", OPT_VALUE, O_ACCEPTED, 0 },
	{ "tpm2-signature", OPT_VALUE, O_ACCEPTED, 0 },
	{ "tpm2-public-key", OPT_VALUE, O_ACCEPTED, 0 },
	{ "tpm2-public-key-pcrs", OPT_VALUE, O_ACCEPTED, 0 },
	{ "tpm2-pcrlock", OPT_VALUE, O_ACCEPTED, 0 },
	{ "tpm2-measure-pcr", OPT_VALUE, O_ACCEPTED, 0 },
	{ "tpm2-measure-bank", OPT_VALUE, O_ACCEPTED, 0 },
	{ "token-timeout", OPT_VALUE, O_ACCEPTED, 0 },
	{ "link-volume-key", OPT_VALUE, O_ACCEPTED, 0 },
	{ "tpm2-measure-keyslot-nvpcr", OPT_OPTIONAL, O_ACCEPTED, 0 },
	{ "fixate-volume-key", OPT_VALUE, O_ACCEPTED, 0 },
};

static const char *const type_names[] = {
	[BS_CRYPT_TYPE_AUTO] = NULL,	   [BS_CRYPT_TYPE_LUKS] = "luks",
	[BS_CRYPT_TYPE_PLAIN] = "plain",   [BS_CRYPT_TYPE_BITLK] = "bitlk",
	[BS_CRYPT_TYPE_TCRYPT] = "tcrypt",
};

static const struct crypt_option *find_option(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(options); i++)
		if (streq(options[i].name, name))
			return &options[i];
	return NULL;
}

static void entry_done(struct bs_crypttab_entry *e)
{
	free(e->name);
	free(e->source);
	free(e->key_file);
	free(e->key_device);
	free(e->key_device_path);
	free(e->options);
	free(e->cipher);
	free(e->hash);
	free(e->header);
	free(e->keyscript);
	free(e->tmp_fstype);
	free(e->check);
	free(e->checkargs);
	strv_free(e->tcrypt_keyfiles);
}

struct bs_crypttab *bs_crypttab_free(struct bs_crypttab *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_entries; i++)
		entry_done(&t->entries[i]);
	free(t->entries);
	free(t);
	return NULL;
}

struct parser {
	const char *file;
	unsigned line;
	struct bs_problem_list *problems;
};

#define problem(p, ...) bs_problem_add((p)->problems, (p)->file, (p)->line, __VA_ARGS__)
#define warning(p, ...) bs_problem_warn((p)->problems, (p)->file, (p)->line, __VA_ARGS__)
#define duplicate(p, ref, ...)                                                                     \
	bs_problem_add_full((p)->problems, BS_PROBLEM_DUPLICATE, BS_PROBLEM_ERROR, (p)->file,      \
			    (p)->line, (ref), __VA_ARGS__)

static int set_string(char **field, const char *value)
{
	return free_and_strdup(field, value) < 0 ? -ENOMEM : 0;
}

/* A number; a bad one is a problem saying what is wanted. Returns 1 if parsed, 0 if not. */
static int parse_number(struct parser *p, const char *name, const char *value, uint64_t min,
			uint64_t max, const char *what, uint64_t *ret)
{
	uint64_t v;

	if (safe_atou64(value, &v) < 0 || v < min || v > max) {
		int r = problem(p, "option '%s' needs %s, got '%s'", name, what, value);

		return r < 0 ? r : 0;
	}
	*ret = v;
	return 1;
}

static int apply_option(struct parser *p, struct bs_crypttab_entry *e, const char *name,
			const char *value, const char **type_option)
{
	const struct crypt_option *o;
	uint64_t v;
	int r;

	if (startswith(name, "x-systemd."))
		return 0;

	o = find_option(name);
	if (!o) {
		const char *names[ELEMENTSOF(options) + 1], *s;

		for (size_t i = 0; i < ELEMENTSOF(options); i++)
			names[i] = options[i].name;
		names[ELEMENTSOF(options)] = NULL;
		s = bs_config_suggest(name, names);

		/* Debian's scripts skip an option they do not know, systemd warns and goes on:
		 * so does blkstack, with the rest of the line. */
		if (s)
			return warning(p, "unknown option '%s' (did you mean '%s'?)", name, s);
		return warning(p, "unknown option '%s'", name);
	}
	if (o->kind == OPT_FLAG && value)
		return problem(p, "option '%s' takes no value, got '%s=%s'", name, name, value);
	if (o->kind == OPT_VALUE && (!value || !*value))
		return problem(p, "option '%s' needs a value ('%s=...')", name, name);

	switch (o->id) {
	case O_FLAG:
		e->flags |= o->flag;
		return 0;
	case O_TYPE:
		if (e->type != BS_CRYPT_TYPE_AUTO && e->type != (enum bs_crypt_type)o->flag)
			return problem(p, "options '%s' and '%s' conflict", *type_option, name);
		e->type = (enum bs_crypt_type)o->flag;
		*type_option = type_names[e->type];
		return 0;
	case O_CIPHER:
		return set_string(&e->cipher, value);
	case O_HASH:
		return set_string(&e->hash, value);
	case O_HEADER:
		if (!bs_config_is_device_spec(value))
			return problem(p,
				       "option 'header' needs an absolute path or a device (UUID=, "
				       "LABEL=, ...), got '%s'",
				       value);
		return set_string(&e->header, value);
	case O_KEYSCRIPT:
		return set_string(&e->keyscript, value);
	case O_CHECKARGS:
		return set_string(&e->checkargs, value);
	case O_TMP:
		e->flags |= BS_CRYPTTAB_TMP;
		return set_string(&e->tmp_fstype, value && *value ? value : "ext4");
	case O_CHECK:
		e->flags |= BS_CRYPTTAB_CHECK;
		return value && *value ? set_string(&e->check, value) : 0;
	case O_SIZE:
		r = parse_number(p, name, value, 8, UINT32_MAX, "a key size in bits", &v);
		if (r > 0 && v % 8 != 0)
			return problem(p, "option 'size' needs a multiple of 8 bits, got '%s'",
				       value);
		if (r > 0)
			e->key_size = v;
		return r < 0 ? r : 0;
	case O_SECTOR_SIZE:
		r = parse_number(p, name, value, 512, 4096, "a power of two from 512 to 4096", &v);
		if (r > 0 && (v & (v - 1)) != 0)
			return problem(p,
				       "option 'sector-size' needs a power of two from 512 to "
				       "4096, got '%s'",
				       value);
		if (r > 0)
			e->sector_size = v;
		return r < 0 ? r : 0;
	case O_OFFSET:
		r = parse_number(p, name, value, 0, UINT64_MAX, "a number of sectors", &e->offset);
		return r < 0 ? r : 0;
	case O_SKIP:
		r = parse_number(p, name, value, 0, UINT64_MAX, "a number of sectors", &e->skip);
		return r < 0 ? r : 0;
	case O_KEYFILE_OFFSET:
		r = parse_number(p, name, value, 0, UINT64_MAX, "a number of bytes",
				 &e->keyfile_offset);
		return r < 0 ? r : 0;
	case O_KEYFILE_SIZE:
		r = parse_number(p, name, value, 1, UINT64_MAX, "a number of bytes above 0",
				 &e->keyfile_size);
		return r < 0 ? r : 0;
	case O_KEYSLOT:
		r = parse_number(p, name, value, 0, KEYSLOT_MAX, "a key slot from 0 to 31", &v);
		if (r > 0)
			e->keyslot = (int)v;
		return r < 0 ? r : 0;
	case O_TRIES:
		r = parse_number(p, name, value, 0, INT_MAX, "a number of tries (0: no limit)", &v);
		if (r > 0)
			e->tries = (int)v;
		return r < 0 ? r : 0;
	case O_VERACRYPT_PIM:
		r = parse_number(p, name, value, 0, UINT32_MAX, "a number", &v);
		if (r > 0)
			e->veracrypt_pim = (uint32_t)v;
		return r < 0 ? r : 0;
	case O_TIMEOUT:
		if (bs_config_parse_timespan(value, &e->timeout_usec) < 0)
			return problem(p,
				       "option 'timeout' needs a time span such as '90', '30s' or "
				       "'2min', got '%s'",
				       value);
		return 0;
	case O_KEYFILE_TIMEOUT:
		/* systemd: the key device may fail to appear within it; bare, with no time. */
		e->flags |= o->flag;
		if (value && *value &&
		    bs_config_parse_timespan(value, &e->keyfile_timeout_usec) < 0)
			return problem(p,
				       "option 'keyfile-timeout' needs a time span such as '90', "
				       "'30s' or '2min', got '%s'",
				       value);
		return 0;
	case O_TCRYPT_KEYFILE:
		/* systemd: one more key file of a TrueCrypt volume, which makes it one. */
		if (value[0] != '/')
			return problem(p,
				       "option 'tcrypt-keyfile' needs an absolute path, got '%s'",
				       value);
		if (e->type != BS_CRYPT_TYPE_AUTO && e->type != BS_CRYPT_TYPE_TCRYPT)
			return problem(p, "options '%s' and '%s' conflict", *type_option, name);
		if (e->type == BS_CRYPT_TYPE_AUTO)
			*type_option = "tcrypt-keyfile";
		e->type = BS_CRYPT_TYPE_TCRYPT;
		return strv_extend(&e->tcrypt_keyfiles, value);
	case O_FLAG_BOOLEAN:
		r = value ? parse_boolean(value) : 1;
		if (r < 0)
			return problem(p, "option '%s' needs a boolean (yes or no), got '%s'", name,
				       value);
		if (r > 0)
			e->flags |= o->flag;
		else
			e->flags &= ~o->flag;
		return 0;
	case O_BOOLEAN:
		if (value && parse_boolean(value) < 0)
			return problem(p, "option '%s' needs a boolean (yes or no), got '%s'", name,
				       value);
		return 0;
	case O_ACCEPTED:
		return 0;
	}
	return 0;
}

static int parse_options(struct parser *p, struct bs_crypttab_entry *e, const char *field)
{
	_cleanup_strv_free_ char **opts = NULL;
	const char *type_option = NULL;
	int r;

	r = strv_split(field, ",", &opts);
	if (r < 0)
		return r;
	for (char **o = opts; o && *o; o++) {
		char *eq = strchr(*o, '=');

		if (eq)
			*eq = '\0';
		r = apply_option(p, e, *o, eq ? eq + 1 : NULL, &type_option);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Escapes. Debian's crypttab(5): "Octal sequences \0num within a field are decoded", and "a
 * backslash which doesn't start an octal sequence yields undefined behavior"; its scripts
 * decode each of the four fields with printf '%b' (CRYPTTAB_NAME, _SOURCE, _KEY and _OPTIONS
 * are the fields "after octal sequence decoding"). systemd documents no escapes in crypttab,
 * but it passes all four fields quoted on the ExecStart= line of systemd-cryptsetup@.service,
 * where C escapes are decoded (\NNN with exactly three octal digits). Both decode all four
 * fields, so blkstack reads every field the same way, taking what both read as one byte:
 *
 *   \0N, \0NN, \0NNN  the octal number after the \0, Debian's \0num. With two digits
 *                     (\040, \011) it is C's \0NN too, as systemd reads it. With three
 *                     (test0\0045crypt is test0%crypt) systemd would read \004 and a '5':
 *                     the documented syntax wins over a side effect of quoting
 *   \NNN              (first digit 1 to 3, three digits, the \134 of fstab): the octal
 *                     number for printf %b (dash's and busybox's, the shells Debian's scripts
 *                     run in) and for systemd alike
 *   \\ \a \b \f \n \r \t \v   the C character, for printf %b and C escapes alike
 *
 * Anything else is an error, as the peers read it differently or not at all: an escape that
 * gives a NUL byte (\0 alone, \000) or none (\0777), \x (hex for busybox and systemd, not for
 * dash), another letter, \1 or \12 without a third digit, a backslash at the end. The options
 * field is decoded as a whole before it is split at commas, as systemd-cryptsetup gets it.
 */
static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/* Decodes s in place. Returns 1, or 0 with the bad escape (its first len bytes) in *ret_bad
 * and s untouched. */
static int unescape(char *s, const char **ret_bad, size_t *ret_len)
{
	static const char letters[] = "\\\\a\ab\bf\fn\nr\rt\tv\v";
	_cleanup_free_ char *out = malloc(strlen(s) + 1);
	char *w = out;

	if (!out)
		return -ENOMEM;
	for (const char *p = s; *p;) {
		const char *esc = p, *l;
		unsigned v = 0;
		size_t n = 0;

		if (*p != '\\') {
			*w++ = *p++;
			continue;
		}
		p++;
		if (*p == '0') {
			p++;
			while (n < 3 && is_octal(p[n]))
				v = v * 8 + (unsigned)(p[n++] - '0');
			p += n;
		} else if (*p >= '1' && *p <= '3' && is_octal(p[1]) && is_octal(p[2])) {
			v = (unsigned)(p[0] - '0') * 64 + (unsigned)(p[1] - '0') * 8 +
			    (unsigned)(p[2] - '0');
			p += 3;
		} else if (*p && (l = strchr(letters, *p)) && (l - letters) % 2 == 0) {
			*w++ = l[1];
			p++;
			continue;
		} else {
			*ret_bad = esc;
			*ret_len = *p ? 2 : 1;
			return 0;
		}
		if (v == 0 || v > 255) {
			*ret_bad = esc;
			*ret_len = (size_t)(p - esc);
			return 0;
		}
		*w++ = (char)v;
	}
	*w = '\0';
	strcpy(s, out);
	return 1;
}

static bool name_is_valid(const char *s)
{
	return *s && !strchr(s, '/') && !streq(s, ".") && !streq(s, "..");
}

static bool is_none(const char *s)
{
	return streq(s, "none") || streq(s, "-");
}

/* The key file field, without a keyscript (which takes anything as its argument): an
 * absolute path (a file, or a device such as /dev/urandom), or systemd's PATH:DEVICE, a key
 * file at PATH inside the filesystem on DEVICE, which systemd mounts for it alone. As
 * systemd's split_locationspec() does, the DEVICE is what follows the last ':' when it is a
 * device (an absolute path or a tag); PATH is then taken inside that filesystem, relative or
 * not. */
static int parse_key_file(struct parser *p, struct bs_crypttab_entry *e)
{
	const char *colon = strrchr(e->key_file, ':');

	if (colon) {
		_cleanup_free_ char *device = strdup(colon + 1);

		if (!device)
			return -ENOMEM;
		if (bs_config_is_device_spec(bs_config_unquote_tag(device))) {
			if (colon == e->key_file)
				return problem(
					p, "key file '%s' names the device '%s' but no file on it",
					e->key_file, device);
			e->key_device_path = strndup(e->key_file, (size_t)(colon - e->key_file));
			if (!e->key_device_path)
				return -ENOMEM;
			e->key_device = TAKE_PTR(device);
			return 0;
		}
	}
	if (e->key_file[0] != '/')
		return problem(
			p,
			"key file '%s' is not an absolute path (or 'none', or PATH:DEVICE for a "
			"file on a device)",
			e->key_file);
	return 0;
}

static int parse_line(struct parser *p, char **fields, int n_fields, struct bs_crypttab_entry *e,
		      bool *ret_ok)
{
	static const char *const field_names[] = { "mapping name", "source device", "key file",
						   "options" };
	size_t before;
	char ord[16];
	int r;

	*ret_ok = false;
	if (n_fields < 2)
		return problem(p,
			       "expected at least 2 fields (name and source device), got only "
			       "'%s'",
			       fields[0]);
	/* systemd reads four fields and ignores the rest; Debian's "read" puts the rest into the
	 * options. A fifth field means two different lines to them. */
	if (n_fields > 4)
		return problem(p,
			       "unexpected %s field '%s' (the fields are name, source device, key "
			       "file and options; a comment must be on a line of its own)",
			       bs_config_ordinal(5, ord), fields[4]);

	for (int i = 0; i < n_fields; i++) {
		_cleanup_free_ char *raw = strdup(fields[i]);
		const char *bad;
		size_t len;

		if (!raw)
			return -ENOMEM;
		r = unescape(fields[i], &bad, &len);
		if (r < 0)
			return r;
		if (r == 0)
			return problem(
				p,
				"%s '%s': '%.*s' is no escape that both Debian and systemd read "
				"(write a byte as \\0 and three octal digits, \\0040 for a "
				"space)",
				field_names[i], raw, (int)len, bad);
	}

	if (!name_is_valid(fields[0]))
		return problem(p, "mapping name '%s' must be a plain file name", fields[0]);
	if (strlen(fields[0]) > DM_NAME_MAX)
		return problem(p, "mapping name '%s' is longer than %d characters", fields[0],
			       DM_NAME_MAX);

	/* The name first: a line that is wrong otherwise still claims it. */
	*e = (struct bs_crypttab_entry){ .line = p->line, .keyslot = -1, .tries = -1 };
	e->name = strdup(fields[0]);
	if (!e->name)
		return -ENOMEM;
	bs_config_unquote_tag(fields[1]);
	if (!bs_config_is_device_spec(fields[1]))
		return problem(p,
			       "source device '%s' is neither an absolute path nor UUID=, LABEL=, "
			       "PARTUUID= or PARTLABEL=",
			       fields[1]);
	e->source = strdup(fields[1]);
	if (!e->source)
		return -ENOMEM;
	if (n_fields > 2 && !is_none(fields[2])) {
		e->key_file = strdup(fields[2]);
		if (!e->key_file)
			return -ENOMEM;
	}
	/* systemd takes "-" and "none" for no options too; Debian skips what it does not know. */
	if (n_fields > 3 && !is_none(fields[3])) {
		e->options = strdup(fields[3]);
		if (!e->options)
			return -ENOMEM;
	}

	before = p->problems->n_problems;
	if (e->options) {
		r = parse_options(p, e, e->options);
		if (r < 0)
			return r;
	}
	/* Checked after the options: with a keyscript, the field is only its argument. */
	if (e->key_file && !e->keyscript) {
		r = parse_key_file(p, e);
		if (r < 0)
			return r;
	}
	*ret_ok = bs_config_errors_since(p->problems, before) == 0;
	return 0;
}

int bs_crypttab_parse(const char *file, const char *text, size_t size, struct bs_crypttab **ret,
		      struct bs_problem_list *problems)
{
	_cleanup_(bs_crypttab_freep) struct bs_crypttab *t = NULL;
	struct bs_config_lines it;
	struct hashmap *names = NULL;
	struct bs_string_pool taken = {}; /* names of lines not merged, still claimed */
	struct parser p = { .file = file, .problems = problems };
	size_t allocated = 0;
	char *line;
	const char *bad;
	int r;

	if (!ret || !problems || (!text && size > 0))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = hashmap_new(HASHMAP_STRING, &names);
	if (r < 0)
		return r;

	bs_config_lines_init(&it, text, size);
	while ((r = bs_config_lines_next(&it, &line, &bad)) > 0) {
		_cleanup_strv_free_ char **fields = NULL;
		struct bs_crypttab_entry e = {};
		unsigned other;
		bool ok;
		int n;

		p.line = it.line;
		if (bad) {
			r = problem(&p, "%s", bad);
			if (r < 0)
				break;
			continue;
		}
		if (bs_config_line_is_blank(line))
			continue;
		n = bs_config_split_raw(line, &fields);
		if (n < 0) {
			r = n;
			break;
		}
		r = parse_line(&p, fields, n, &e, &ok);
		if (r < 0 || !e.name) {
			entry_done(&e);
			if (r < 0)
				break;
			continue;
		}

		/* Names map to their line numbers: the entries array moves as it grows. */
		other = (unsigned)(uintptr_t)hashmap_get_str(names, e.name);
		if (other > 0) {
			r = duplicate(&p, e.name, "mapping name '%s' is already used by line %u",
				      e.name, other);
			entry_done(&e);
			if (r < 0)
				break;
			continue;
		}
		if (!ok) {
			/* Kept in the map only: its name is taken, the line is not merged. The
			 * key must outlive the map, so the name moves to the map's list. */
			char *name = TAKE_PTR(e.name);

			entry_done(&e);
			r = bs_string_pool_take(&taken, name);
			if (r >= 0)
				r = hashmap_put_str(names, name, (void *)(uintptr_t)e.line);
			if (r < 0)
				break;
			continue;
		}

		if (ARRAY_RESERVE(t->entries, allocated, t->n_entries) < 0) {
			entry_done(&e);
			r = -ENOMEM;
			break;
		}
		t->entries[t->n_entries++] = e;
		/* The key is the entry's name, which stays where it is when the array moves. */
		r = hashmap_put_str(names, e.name, (void *)(uintptr_t)e.line);
		if (r < 0)
			break;
	}
	bs_config_lines_done(&it);
	hashmap_free(names);
	bs_string_pool_done(&taken);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(t);
	return 0;
}
