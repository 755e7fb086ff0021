/* Live source: what a LUKS header says (its cipher; its identity for pins), read with
 * libcryptsetup and no key. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libcryptsetup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sources.h"
#include "strv.h"
#include "sysroot.h"
#include "util.h"

static void log_quietly(int level, const char *msg, void *userdata)
{
	struct bs_ctx *c = userdata;

	(void)level;
	bs_log_debug(c, "libcryptsetup: %s", msg);
}

/* Opens the LUKS header on block device kernel_name below the sysroot: only the header is
 * read, no key, no mapping, nothing written. A device that cannot be opened (a captured tree
 * has no device nodes) has no header to tell; asked first, since libcryptsetup would print
 * that as an error of its own. Returns 1 with *ret_cd (and *ret_fd, open on the device, if
 * not NULL), 0 when there is no readable header (logged at debug level), or -ENOMEM. */
static int luks_open(struct bs_ctx *c, const char *kernel_name, struct crypt_device **ret_cd,
		     int *ret_fd)
{
	_cleanup_free_ char *devname = NULL, *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct crypt_device *cd = NULL;
	int r;

	assert(c);
	assert(kernel_name);
	assert(ret_cd);

	devname = bs_dev_path_dup(kernel_name);
	path = devname ? bs_sysroot_path_dup(c, devname) : NULL;
	if (!path)
		return -ENOMEM;
	fd = bs_sysroot_open(c, devname, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		bs_log_debug(c, "cannot open '%s' to read its LUKS header: %s, ignoring", path,
			     strerror(-fd));
		return 0;
	}
	r = crypt_init(&cd, path);
	if (r < 0) {
		bs_log_debug(c, "cannot open '%s' to read its LUKS header: %s, ignoring", path,
			     strerror(-r));
		return 0;
	}
	crypt_set_log_callback(cd, log_quietly, c);
	r = crypt_load(cd, CRYPT_LUKS, NULL);
	if (r < 0) {
		bs_log_debug(c, "'%s': no readable LUKS header (%s), ignoring", path, strerror(-r));
		crypt_free(cd);
		return 0;
	}
	*ret_cd = cd;
	if (ret_fd)
		*ret_fd = TAKE_FD(fd);
	return 1;
}

int bs_luks_probe_cipher(struct bs_ctx *c, const char *kernel_name, char **ret)
{
	struct crypt_device *cd = NULL;
	const char *cipher, *mode;
	int r;

	assert(ret);

	r = luks_open(c, kernel_name, &cd, NULL);
	if (r <= 0)
		return r;
	cipher = crypt_get_cipher(cd);
	mode = crypt_get_cipher_mode(cd);
	r = !cipher || !mode ? 0 : asprintf(ret, "%s-%s", cipher, mode) < 0 ? -ENOMEM : 1;
	crypt_free(cd);
	return r;
}

/* ---- the identity of a header, for pins ---------------------------------------------------- */

static const char *const luks_field_names[_BS_LUKS_FIELD_MAX] = {
	[BS_LUKS_UUID] = "uuid",
	[BS_LUKS_VERSION] = "version",
	[BS_LUKS_CIPHER] = "cipher",
	[BS_LUKS_CIPHER_MODE] = "cipher_mode",
	[BS_LUKS_PAYLOAD_OFFSET] = "payload_offset",
	[BS_LUKS_SECTOR_SIZE] = "sector_size",
	[BS_LUKS_INTEGRITY] = "integrity",
	[BS_LUKS_DIGEST_TYPE] = "digest_type",
	[BS_LUKS_DIGEST_HASH] = "digest_hash",
	[BS_LUKS_DIGEST_ITERATIONS] = "digest_iterations",
	[BS_LUKS_DIGEST_SALT] = "digest_salt",
	[BS_LUKS_DIGEST] = "digest",
};

const char *bs_luks_field_to_string(enum bs_luks_field f)
{
	return f >= 0 && f < _BS_LUKS_FIELD_MAX ? luks_field_names[f] : NULL;
}

void bs_luks_identity_done(struct bs_luks_identity *id)
{
	if (!id)
		return;
	for (size_t i = 0; i < _BS_LUKS_FIELD_MAX; i++)
		id->fields[i] = mfree(id->fields[i]);
	id->keyslot_ciphers = strv_free(id->keyslot_ciphers);
}

static int hex_dup(const uint8_t *p, size_t n, char **ret)
{
	char *s = malloc(2 * n + 1);

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * n] = '\0';
	*ret = s;
	return 0;
}

static int set_field(struct bs_luks_identity *id, enum bs_luks_field f, const char *v)
{
	if (!v)
		return 0;
	return free_and_strdup(&id->fields[f], v);
}

static int set_field_u64(struct bs_luks_identity *id, enum bs_luks_field f, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return set_field(id, f, buf);
}

/* The fixed part of a LUKS1 header (cryptsetup's docs/on-disk-format.pdf): the volume key's
 * digest is read from the bytes, since libcryptsetup has no getter for it. Big-endian. */
#define LUKS1_DIGEST_OFFSET 112
#define LUKS1_DIGEST_SIZE 20
#define LUKS1_SALT_SIZE 32
#define LUKS1_PHDR_READ 168

static int luks1_digest(int fd, struct bs_luks_identity *id)
{
	uint8_t h[LUKS1_PHDR_READ];
	const uint8_t *it;
	ssize_t k;
	int r;

	k = pread(fd, h, sizeof(h), 0);
	if (k < 0)
		return -errno;
	if ((size_t)k < sizeof(h) || memcmp(h, "LUKS\xba\xbe", 6) != 0)
		return -EBADMSG;
	it = h + LUKS1_DIGEST_OFFSET + LUKS1_DIGEST_SIZE + LUKS1_SALT_SIZE;
	if ((r = set_field(id, BS_LUKS_DIGEST_TYPE, "pbkdf2")) < 0 ||
	    (r = set_field(id, BS_LUKS_DIGEST_HASH, (const char *)h + 72)) < 0 ||
	    (r = set_field_u64(id, BS_LUKS_DIGEST_ITERATIONS,
			       (uint32_t)it[0] << 24 | (uint32_t)it[1] << 16 |
				       (uint32_t)it[2] << 8 | it[3])) < 0 ||
	    (r = hex_dup(h + LUKS1_DIGEST_OFFSET + LUKS1_DIGEST_SIZE, LUKS1_SALT_SIZE,
			 &id->fields[BS_LUKS_DIGEST_SALT])) < 0 ||
	    (r = hex_dup(h + LUKS1_DIGEST_OFFSET, LUKS1_DIGEST_SIZE, &id->fields[BS_LUKS_DIGEST])) <
		    0)
		return r;
	return 0;
}

/* A member of a digest object of the LUKS2 metadata, as a string ("iterations" is a
 * number). */
static const char *digest_member(json_object *d, const char *key, char buf[static 32])
{
	json_object *v;

	if (!json_object_object_get_ex(d, key, &v))
		return NULL;
	if (json_object_is_type(v, json_type_int)) {
		snprintf(buf, 32, "%" PRId64, json_object_get_int64(v));
		return buf;
	}
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Every digest of the LUKS2 metadata ("digests" of crypt_dump_json()), in the order of their
 * ids, each field joined with ','. A header has one in practice. */
static int luks2_digests(struct crypt_device *cd, struct bs_luks_identity *id)
{
	static const struct {
		enum bs_luks_field field;
		const char *key;
	} map[] = {
		{ BS_LUKS_DIGEST_TYPE, "type" },
		{ BS_LUKS_DIGEST_HASH, "hash" },
		{ BS_LUKS_DIGEST_ITERATIONS, "iterations" },
		{ BS_LUKS_DIGEST_SALT, "salt" },
		{ BS_LUKS_DIGEST, "digest" },
	};
	json_object *root = NULL, *digests;
	const char *text = NULL;
	int r;

	r = crypt_dump_json(cd, &text, 0);
	if (r < 0 || !text)
		return r < 0 ? r : -EBADMSG;
	root = json_tokener_parse(text);
	if (!root)
		return -EBADMSG;
	if (!json_object_object_get_ex(root, "digests", &digests) ||
	    !json_object_is_type(digests, json_type_object)) {
		json_object_put(root);
		return -EBADMSG;
	}
	r = 0;
	for (int k = 0; r >= 0 && k < 32; k++) {
		char key[16], buf[32];
		json_object *d;

		snprintf(key, sizeof(key), "%d", k);
		if (!json_object_object_get_ex(digests, key, &d))
			continue;
		for (size_t i = 0; r >= 0 && i < ELEMENTSOF(map); i++) {
			const char *v = digest_member(d, map[i].key, buf);

			r = strextend(&id->fields[map[i].field],
				      id->fields[map[i].field] ? "," : "", v ? v : "-", NULL);
		}
	}
	json_object_put(root);
	if (r >= 0 && !id->fields[BS_LUKS_DIGEST])
		r = -EBADMSG;
	return r;
}

static int keyslot_ciphers(struct crypt_device *cd, const char *type, struct bs_luks_identity *id)
{
	int max = crypt_keyslot_max(type);

	for (int k = 0; k < max; k++) {
		crypt_keyslot_info st = crypt_keyslot_status(cd, k);
		const char *cipher;
		size_t key_size = 0;
		char buf[160];

		if (st != CRYPT_SLOT_ACTIVE && st != CRYPT_SLOT_ACTIVE_LAST)
			continue;
		cipher = crypt_keyslot_get_encryption(cd, k, &key_size);
		snprintf(buf, sizeof(buf), "%d:%s", k, cipher ? cipher : "unknown");
		if (strv_extend(&id->keyslot_ciphers, buf) < 0)
			return -ENOMEM;
	}
	return 0;
}

int bs_luks_read_identity(struct bs_ctx *c, const char *kernel_name, struct bs_luks_identity *ret)
{
	_cleanup_close_ int fd = -EBADF;
	struct bs_luks_identity id = {};
	struct crypt_params_integrity ip = {};
	struct crypt_device *cd = NULL;
	const char *type;
	int r;

	assert(ret);

	r = luks_open(c, kernel_name, &cd, &fd);
	if (r <= 0)
		return r;
	type = crypt_get_type(cd);
	if ((r = set_field(&id, BS_LUKS_UUID, crypt_get_uuid(cd))) < 0 ||
	    (r = set_field(&id, BS_LUKS_VERSION, type)) < 0 ||
	    (r = set_field(&id, BS_LUKS_CIPHER, crypt_get_cipher(cd))) < 0 ||
	    (r = set_field(&id, BS_LUKS_CIPHER_MODE, crypt_get_cipher_mode(cd))) < 0 ||
	    (r = set_field_u64(&id, BS_LUKS_PAYLOAD_OFFSET, crypt_get_data_offset(cd))) < 0 ||
	    (r = set_field_u64(&id, BS_LUKS_SECTOR_SIZE, (uint64_t)crypt_get_sector_size(cd))) < 0)
		goto out;
	if (crypt_get_integrity_info(cd, &ip) >= 0 && ip.integrity) {
		char buf[96];

		snprintf(buf, sizeof(buf), "%s/%u", ip.integrity, ip.tag_size);
		r = set_field(&id, BS_LUKS_INTEGRITY, buf);
	} else
		r = set_field(&id, BS_LUKS_INTEGRITY, "none");
	if (r < 0)
		goto out;
	r = type && streq(type, CRYPT_LUKS1) ? luks1_digest(fd, &id) : luks2_digests(cd, &id);
	if (r == -EBADMSG) {
		bs_log_debug(c, "'/dev/%s': the LUKS header's volume key digest cannot be read",
			     kernel_name);
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	r = keyslot_ciphers(cd, type, &id);
	if (r < 0)
		goto out;
	*ret = id;
	id = (struct bs_luks_identity){};
	r = 1;
out:
	crypt_free(cd);
	bs_luks_identity_done(&id);
	return r;
}
