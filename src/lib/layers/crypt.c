/* The crypt driver: opens and closes dm-crypt mappings as crypttab(5) describes them. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypt.h"
#include "layers.h"
#include "util.h"

/* ---- from the configuration to a request (pure) ------------------------------------------ */

int bs_crypt_request_from_config(const struct bs_crypt_config *c, const char *name,
				 const char *device, const char *header, const char *key_file,
				 bool as_plain, struct bs_crypt_request *ret)
{
	struct bs_crypt_request req = {
		.name = name,
		.device = device,
		.header = header,
		.key_file = key_file,
		.keyslot = -1,
	};
	bool plain;

	if (!name || !device || !ret)
		return -EINVAL;
	if (c && c->unsupported)
		return -EOPNOTSUPP;

	plain = as_plain || (c && c->mode == BS_CRYPT_MODE_PLAIN);
	req.type = plain ? "plain" : "luks";
	if (plain) {
		req.cipher = c && c->cipher ? c->cipher : BS_CRYPT_PLAIN_DEFAULT_CIPHER;
		req.key_bits = c && c->key_bits ? c->key_bits : BS_CRYPT_PLAIN_DEFAULT_KEY_BITS;
		/* The hash makes a key of a passphrase; a key file is the key already. */
		req.hash = key_file ? NULL : c && c->hash ? c->hash : BS_CRYPT_PLAIN_DEFAULT_HASH;
	}
	if (!c) {
		*ret = req;
		return 0;
	}

	if (key_file) {
		if (c->keyfile_size > SIZE_MAX)
			return -ERANGE;
		req.key_file_offset = c->keyfile_offset;
		/* A plain key file gives exactly the key's bytes (cryptsetup ignores
		 * keyfile-size= there too): 0 says so. */
		req.key_file_size = plain ? 0 : (size_t)c->keyfile_size;
	}
	if (plain) {
		req.offset_sectors = c->offset;
		req.skip_sectors = c->skip;
		/* LUKS2 keeps its sector size in its header; crypttab's is for plain only. */
		req.sector_size = c->sector_size;
	} else
		req.keyslot = c->keyslot;

	req.read_only = c->read_only;
	req.discard = c->discard;
	req.same_cpu_crypt = c->same_cpu_crypt;
	req.submit_from_crypt_cpus = c->submit_from_crypt_cpus;
	req.no_read_workqueue = c->no_read_workqueue;
	req.no_write_workqueue = c->no_write_workqueue;
	*ret = req;
	return 0;
}

/* ---- the driver -------------------------------------------------------------------------- */

/* Node ids are "crypt:" and the mapping name (crypttab's first field). */
static const char *mapping_name(const struct bs_node *n)
{
	const char *name = startswith(n->id, "crypt:");

	return name && *name ? name : bs_node_attr(n, BS_ATTR_DM_NAME);
}

/* Whether n's key file is one that the initramfs carries (see struct bs_edge). */
static bool key_file_is_carried(const struct bs_node *n)
{
	for (size_t i = 0; i < n->n_needs; i++)
		if (streq(n->needs[i]->role, "key-file") && n->needs[i]->carried)
			return true;
	return false;
}

/* The path of the encrypted device: the node's backing device, or a file that
 * libcryptsetup puts on a loop device itself. */
static int find_backing(struct bs_step *s, const struct bs_node *n, const struct bs_crypt_config *e,
			char **ret)
{
	struct bs_node *backing = bs_node_need_with_role(n, "backing");
	int r;

	if (backing) {
		/* bs_step_device() says itself why it knows no device. */
		r = bs_step_device(s, backing, ret);
		if (r == -ENOMEM)
			return bs_step_fail(s, r, "out of memory");
		return r < 0 ? r : 0;
	}
	if (e && startswith(e->source, "/") && !startswith(e->source, "/dev/")) {
		r = bs_step_target_path(s, e->source, ret);
		if (r < 0)
			return bs_step_fail(s, r, "cannot find its file '%s': %s", e->source,
					    strerror(-r));
		return 0;
	}
	if (e)
		return bs_step_fail(s, -ENXIO,
				    "its device '%s' was not found; check crypttab line %u",
				    e->source, e->line);
	return bs_step_fail(s, -ENXIO,
			    "no device is known for it, and crypttab has no line for it");
}

/* The detached header of e, if it has one: a device, or a file on a mounted filesystem. */
static int find_header(struct bs_step *s, const struct bs_node *n, const struct bs_crypt_config *e,
		       char **ret)
{
	struct bs_node *dev;
	int r;

	*ret = NULL;
	if (!e || !e->header)
		return 0;
	if (startswith(e->header, "/") && !startswith(e->header, "/dev/")) {
		r = bs_step_target_path(s, e->header, ret);
		if (r < 0)
			return bs_step_fail(s, r, "cannot find its header '%s': %s", e->header,
					    strerror(-r));
		return 0;
	}
	dev = bs_node_need_with_role(n, "header");
	if (!dev)
		return bs_step_fail(s, -ENXIO,
				    "its header device '%s' was not found; check 'header=' in "
				    "crypttab line %u",
				    e->header, e->line);
	r = bs_step_device(s, dev, ret);
	if (r == -ENOMEM)
		return bs_step_fail(s, r, "out of memory");
	return r < 0 ? r : 0;
}

/* A plain line that leaves the cipher, key size or hash to cryptsetup's defaults depends on
 * which cryptsetup made the mapping; said once, loudly, since it opens without complaint
 * even when the guess is wrong. */
static void warn_plain_defaults(struct bs_step *s, const struct bs_crypt_config *e,
				const struct bs_crypt_request *req)
{
	char missing[64] = "";

	if (!e->cipher)
		strcat(missing, ", 'cipher='");
	if (!e->key_bits)
		strcat(missing, ", 'size='");
	if (!e->hash && !req->key_file)
		strcat(missing, ", 'hash='");
	if (!missing[0])
		return;
	bs_step_warn(s,
		     "crypttab line %u names no %s for this plain mapping; using %s, %u bits%s%s, "
		     "cryptsetup 2.6's defaults (2.7 changed them): name them in crypttab",
		     e->line, missing + 2, req->cipher, req->key_bits, req->hash ? ", hash " : "",
		     strempty(req->hash));
}

/*
 * One attempt with the key in req. An entry that names no type is LUKS if the device has a
 * LUKS header and plain otherwise (crypttab(5)): when the LUKS attempt finds no header, req
 * becomes the plain request, for this attempt and the ones after it.
 */
static int open_once(struct bs_step *s, const struct bs_crypt_config *e,
		     const struct bs_node *backing, struct bs_crypt_request *req)
{
	struct bs_crypt_request plain;
	const char *fstype = backing ? bs_node_attr(backing, BS_ATTR_FSTYPE) : NULL;
	int r;

	r = bs_step_crypt_open(s, req);
	if (r != -EINVAL || !e || e->mode != BS_CRYPT_MODE_AUTO || streq(req->type, "plain") ||
	    req->header || (fstype && streq(fstype, "crypto_LUKS")))
		return r;

	r = bs_crypt_request_from_config(e, req->name, req->device, NULL, req->key_file, true,
					 &plain);
	if (r < 0)
		return r;
	plain.key = req->key;
	plain.key_size = req->key_size;
	*req = plain;
	bs_step_warn(s,
		     "'%s' has no LUKS header, so it is opened as plain dm-crypt (crypttab "
		     "line %u names neither 'luks' nor 'plain')",
		     req->device, e->line);
	warn_plain_defaults(s, e, req);
	return bs_step_crypt_open(s, req);
}

/* Says why opening failed, for the errors other than a wrong key. */
static int fail_open(struct bs_step *s, const struct bs_crypt_request *req, int r)
{
	if (r == -EKEYREJECTED)
		return bs_step_fail(s, r,
				    "the key that opened %s is not the pinned volume key (a forged "
				    "header?); it was wiped, and no mapping was made",
				    req->header ? req->header : req->device);
	if (r == -EEXIST)
		return bs_step_fail(s, r,
				    "a mapping named '%s' exists already; close it first, or "
				    "rename this one in crypttab",
				    req->name);
	if (r == -EINVAL && !streq(req->type, "plain"))
		return bs_step_fail(s, r,
				    "'%s' is not a LUKS device, or its header cannot be used; "
				    "check its source in crypttab (BLKSTACK_DEBUG=1 shows more)",
				    req->header ? req->header : req->device);
	if (r == -EINVAL)
		return bs_step_fail(s, r,
				    "cannot set up plain dm-crypt on '%s' with cipher '%s' and a "
				    "%u-bit key; check 'cipher=' and 'size=' in crypttab, and that "
				    "the kernel has the cipher",
				    req->device, req->cipher, req->key_bits);
	if (req->key_file)
		return bs_step_fail(s, r, "cannot open '%s' with key file '%s': %s", req->device,
				    req->key_file, strerror(-r));
	return bs_step_fail(s, r, "cannot open '%s': %s", req->device, strerror(-r));
}

static int open_with_key_file(struct bs_step *s, const struct bs_crypt_config *e,
			      const struct bs_node *backing, struct bs_crypt_request *req)
{
	int r = open_once(s, e, backing, req);

	/* A key file does not get better by trying again. */
	if (r == -EPERM)
		return bs_step_fail(s, r,
				    "key file '%s' opens no key slot of '%s'; check the key file "
				    "(and keyfile-offset=, keyfile-size=, keyslot=) in crypttab",
				    req->key_file, req->device);
	if (r < 0)
		return fail_open(s, req, r);
	return 0;
}

static int fail_asking(struct bs_step *s, unsigned n_wrong, int r)
{
	if (r == -ENXIO)
		return bs_step_fail(
			s, r,
			"needs a passphrase and there is nobody to ask (no terminal, "
			"no key descriptor, no askpass socket); run it on a terminal or "
			"give the passphrase with --key-fd");
	if (r == -ECANCELED && n_wrong > 0)
		return bs_step_fail(s, r, "no more passphrases after %u wrong one%s", n_wrong,
				    n_wrong == 1 ? "" : "s");
	if (r == -ECANCELED)
		return bs_step_fail(s, r, "no passphrase was given");
	if (r == -EMSGSIZE)
		return bs_step_fail(s, r, "the passphrase given is too long (limit 8 KiB)");
	return bs_step_fail(s, r, "cannot ask for a passphrase: %s", strerror(-r));
}

static int open_with_passphrase(struct bs_step *s, const struct bs_node *n,
				const struct bs_crypt_config *e, const struct bs_node *backing,
				struct bs_crypt_request *req)
{
	_cleanup_free_ char *prompt = NULL;
	unsigned max = e ? e->tries : BS_CRYPT_DEFAULT_TRIES, n_wrong = 0;
	size_t tried = 0;
	int r;

	if (asprintf(&prompt, "Passphrase for %s (%s): ", n->id, req->device) < 0)
		return bs_step_fail(s, -ENOMEM, "out of memory");

	for (;;) {
		char *secret = NULL;
		size_t size = 0;
		bool asked = false;

		r = bs_step_next_passphrase(s, prompt, &tried, &secret, &size, &asked);
		if (r < 0)
			return fail_asking(s, n_wrong, r);

		req->key = secret;
		req->key_size = size;
		r = open_once(s, e, backing, req);
		req->key = NULL;
		req->key_size = 0;
		bs_secret_free(secret);

		if (r >= 0)
			return 0;
		if (r != -EPERM)
			return fail_open(s, req, r);
		/* A passphrase another mapping was opened with is not one the user got wrong. */
		if (!asked)
			continue;

		n_wrong++;
		if (max > 0 && n_wrong >= max)
			return bs_step_fail(s, -EPERM, "no valid passphrase after %u tries",
					    n_wrong);
		if (max > 0)
			bs_log_warn(bs_step_ctx(s), "%s: wrong passphrase (try %u of %u)", n->id,
				    n_wrong, max);
		else
			bs_log_warn(bs_step_ctx(s), "%s: wrong passphrase (try %u)", n->id,
				    n_wrong);
	}
}

static int crypt_open(struct bs_step *s)
{
	_cleanup_free_ char *device = NULL, *header = NULL, *key_file = NULL, *mapper = NULL;
	const struct bs_node *n = bs_step_node(s);
	const struct bs_crypt_config *e = n->config ? n->config->crypt : NULL;
	struct bs_crypt_request req;
	struct bs_crypt_digest digest;
	const char *name = mapping_name(n);
	int r;

	if (!name)
		return bs_step_fail(s, -EINVAL, "no mapping name is known for it");
	if (!e)
		bs_log_debug(bs_step_ctx(s),
			     "%s: no crypttab line; opening it as LUKS with a "
			     "passphrase",
			     n->id);
	if (e && e->unsupported)
		return bs_step_fail(s, -EOPNOTSUPP, "%s", e->unsupported);

	r = find_backing(s, n, e, &device);
	if (r < 0)
		return r;
	r = find_header(s, n, e, &header);
	if (r < 0)
		return r;
	/* The cipher's modules the kernel requests itself, when it opens the mapping. */
	bs_step_load_module(s, "dm_crypt");
	if (e && e->key_file && key_file_is_carried(n)) {
		/* On the root set, for a layer below root: the initramfs has it at that path, and
		 * the running system's own root is where it is read, not the mount root. */
		key_file = strdup(e->key_file);
		if (!key_file)
			return bs_step_fail(s, -ENOMEM, "out of memory");
	} else if (e && e->key_file) {
		r = bs_step_target_path(s, e->key_file, &key_file);
		if (r < 0)
			return bs_step_fail(s, r, "cannot find its key file '%s': %s", e->key_file,
					    strerror(-r));
	}

	r = bs_crypt_request_from_config(e, name, device, header, key_file, false, &req);
	if (r < 0)
		return bs_step_fail(s, r, "crypttab line %u cannot be used: %s", e ? e->line : 0,
				    strerror(-r));
	if (e && e->mode == BS_CRYPT_MODE_PLAIN)
		warn_plain_defaults(s, e, &req);
	/* With pins: the volume key the header gives must be the pinned one, checked by the
	 * helper before it makes the mapping. */
	if (!streq(req.type, "plain") &&
	    bs_step_pinned_digest(s,
				  bs_node_need_with_role(n, e && e->header ? "header" : "backing"),
				  &digest) > 0)
		req.pinned_digest = &digest;

	if (key_file)
		r = open_with_key_file(s, e, bs_node_need_with_role(n, "backing"), &req);
	else
		r = open_with_passphrase(s, n, e, bs_node_need_with_role(n, "backing"), &req);
	if (r < 0)
		return r;

	if (asprintf(&mapper, "/dev/mapper/%s", name) < 0)
		return bs_step_fail(s, -ENOMEM, "out of memory");
	r = bs_step_set_device(s, mapper);
	if (r < 0)
		return bs_step_fail(s, r, "opened, but cannot record '%s': %s", mapper,
				    strerror(-r));
	return 0;
}

static int crypt_close(struct bs_step *s)
{
	const struct bs_node *n = bs_step_node(s);
	const char *name = mapping_name(n);
	int r;

	if (!name)
		return bs_step_fail(s, -EINVAL, "no mapping name is known for it");

	r = bs_step_crypt_close(s, name);
	if (r == -ENODEV) {
		/* What the step is for is done: someone closed it before us. */
		bs_log_info(bs_step_ctx(s), "%s: '/dev/mapper/%s' is closed already", n->id, name);
		return 0;
	}
	if (r == -EBUSY && bs_step_last_resort(s)) {
		/* It cannot be closed, and nothing will close it before the machine goes
		 * down: at least its key leaves the kernel. */
		int w = bs_step_crypt_wipe(s, name);

		if (w < 0)
			return bs_step_fail(s, r,
					    "'/dev/mapper/%s' is in use, and its key could not be "
					    "wiped: %s",
					    name, strerror(-w));
		return bs_step_fail(s, r, "'/dev/mapper/%s' is in use: suspended, key wiped",
				    name);
	}
	if (r == -EBUSY)
		return bs_step_fail(s, r,
				    "'/dev/mapper/%s' is in use; unmount or close what holds it "
				    "first",
				    name);
	if (r < 0)
		return bs_step_fail(s, r, "cannot close '/dev/mapper/%s': %s", name, strerror(-r));
	return 0;
}

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_CRYPT_OPEN, crypt_open },
	{ BS_ACTION_CRYPT_CLOSE, crypt_close },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_crypt = { "crypt", NULL, actions };
