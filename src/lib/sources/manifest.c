/* The initramfs manifest: the root set's closure with every driver's parameters, and its reader. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "manifest.h"
#include "pins.h"
#include "recorded.h"
#include "sources.h"
#include "strv.h"
#include "sysroot.h"
#include "util.h"

/*
 * Version 1:
 *   {"version": 1,
 *    "root_set": ["mnt:/", ...],
 *    "graph": {the closure in the show --json format, without the edges the image carries},
 *    "config": [{"node": ID, "file": PATH, "line": N,    (no file: options a record gave)
 *                "crypt": {...} | "loop": {...} | "mount": {...} | "swap_flags": N |
 *                "drbd": {...}}, ...],
 *    "modules": [RELPATH, ...],     the kernel modules in load order (may be empty), below
 *                                   lib/modules/KERNEL: no absolute path, no ".."
 *    "kernel": VERSION | null,      the kernel it was built for ("6.1.0-57-amd64")
 *    "resume": ID | null,           the resume device: a node of the graph and of root_set
 *    "key_files": [PATH, ...],      files the image carries for a mapping below root
 *    "pins": [{pin}, ...]}          the pins of the closure, as in the pins file (pins.c)
 * "kernel" and "resume" may be missing (as null), and "pins" (added later in version 1, so
 * that manifests without it stay readable) may be missing for an image built without pins;
 * the others are as described.
 * Everything /init needs to bring the root set up: it reads no other configuration.
 */

#define MANIFEST_DEPTH 16

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free)

/* ---- writing ----------------------------------------------------------------------------- */

/* A kernel release as uname -r gives it, fit to be a directory of lib/modules. */
static bool kernel_version_is_valid(const char *v)
{
	if (!v || !*v || strlen(v) > 64 || streq(v, ".") || streq(v, ".."))
		return false;
	for (const char *p = v; *p; p++)
		if (*p == '/' || (unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* A module's path below lib/modules/VERSION: relative, without "." or ".." components. */
static bool module_path_is_valid(const char *m)
{
	if (!m || !*m || m[0] == '/')
		return false;
	for (const char *p = m; *p;) {
		size_t l = strcspn(p, "/");

		if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += l;
		if (*p == '/')
			p++;
		else
			break;
	}
	return m[strlen(m) - 1] != '/';
}

static int add_u64(json_object *o, const char *key, uint64_t v)
{
	return bs_json_add(o, key, json_object_new_uint64(v));
}

static int add_bool(json_object *o, const char *key, bool v)
{
	return bs_json_add(o, key, json_object_new_boolean(v));
}

static const char *const mode_names[] = {
	[BS_CRYPT_MODE_AUTO] = "auto",
	[BS_CRYPT_MODE_LUKS] = "luks",
	[BS_CRYPT_MODE_PLAIN] = "plain",
};

static int crypt_json(const struct bs_crypt_config *c, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	if ((r = bs_json_add_string(o, "source", c->source, false)) < 0 ||
	    (r = bs_json_add_string(o, "key_file", c->key_file, false)) < 0 ||
	    (r = bs_json_add_string(o, "header", c->header, false)) < 0 ||
	    (r = bs_json_add_string(o, "mode", mode_names[c->mode], false)) < 0 ||
	    (r = bs_json_add_string(o, "cipher", c->cipher, false)) < 0 ||
	    (r = bs_json_add_string(o, "hash", c->hash, false)) < 0 ||
	    (r = add_u64(o, "key_bits", c->key_bits)) < 0 ||
	    (r = add_u64(o, "offset", c->offset)) < 0 || (r = add_u64(o, "skip", c->skip)) < 0 ||
	    (r = add_u64(o, "sector_size", c->sector_size)) < 0 ||
	    (r = add_u64(o, "keyfile_offset", c->keyfile_offset)) < 0 ||
	    (r = add_u64(o, "keyfile_size", c->keyfile_size)) < 0 ||
	    (r = bs_json_add(o, "keyslot", json_object_new_int(c->keyslot))) < 0 ||
	    (r = add_u64(o, "tries", c->tries)) < 0 ||
	    (r = add_bool(o, "read_only", c->read_only)) < 0 ||
	    (r = add_bool(o, "discard", c->discard)) < 0 ||
	    (r = add_bool(o, "same_cpu_crypt", c->same_cpu_crypt)) < 0 ||
	    (r = add_bool(o, "submit_from_crypt_cpus", c->submit_from_crypt_cpus)) < 0 ||
	    (r = add_bool(o, "no_read_workqueue", c->no_read_workqueue)) < 0 ||
	    (r = add_bool(o, "no_write_workqueue", c->no_write_workqueue)) < 0 ||
	    (r = bs_json_add_string(o, "unsupported", c->unsupported, false)) < 0)
		return r;
	*ret = TAKE_PTR(o);
	return 0;
}

static int config_json(const struct bs_node *n, json_object **ret)
{
	const struct bs_layer_config *c = n->config;
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object *sub = NULL;
	int r;

	if (!o)
		return -ENOMEM;
	if ((r = bs_json_add_string(o, "node", n->id, false)) < 0 ||
	    (r = bs_json_add_string(o, "file", c->file, false)) < 0 ||
	    (r = add_u64(o, "line", c->line)) < 0)
		return r;
	if (c->crypt) {
		r = crypt_json(c->crypt, &sub);
		if (r < 0 || (r = bs_json_add(o, "crypt", sub)) < 0)
			return r;
	}
	if (c->loop) {
		sub = json_object_new_object();
		if ((r = bs_json_add(o, "loop", sub)) < 0 ||
		    (r = add_bool(sub, "read_only", c->loop->read_only)) < 0 ||
		    (r = add_u64(sub, "offset", c->loop->offset)) < 0 ||
		    (r = add_u64(sub, "sizelimit", c->loop->sizelimit)) < 0 ||
		    (r = add_u64(sub, "sector_size", c->loop->sector_size)) < 0 ||
		    (r = add_bool(sub, "partscan", c->loop->partscan)) < 0 ||
		    (r = add_bool(sub, "direct_io", c->loop->direct_io)) < 0)
			return r;
	}
	if (c->mount) {
		sub = json_object_new_object();
		if ((r = bs_json_add(o, "mount", sub)) < 0 ||
		    (r = add_u64(sub, "flags", c->mount->flags)) < 0 ||
		    (r = add_u64(sub, "propagation", c->mount->propagation)) < 0 ||
		    (r = bs_json_add_string(sub, "data", c->mount->data, false)) < 0 ||
		    (r = bs_json_add_string(sub, "helper", c->mount->helper, false)) < 0 ||
		    (r = bs_json_add_string(sub, "loop_unsupported", c->mount->loop_unsupported,
					    false)) < 0)
			return r;
	}
	if (c->has_swap_flags &&
	    (r = bs_json_add(o, "swap_flags", json_object_new_int(c->swap_flags))) < 0)
		return r;
	if (c->drbd) {
		sub = json_object_new_object();
		if ((r = bs_json_add(o, "drbd", sub)) < 0 ||
		    (r = bs_json_add_string(sub, "resource", c->drbd->resource, false)) < 0 ||
		    (r = add_u64(sub, "minor", c->drbd->minor)) < 0 ||
		    (r = add_bool(sub, "primary", c->drbd->primary)) < 0)
			return r;
	}
	*ret = TAKE_PTR(o);
	return 0;
}

static int string_array(char *const *list, json_object **ret)
{
	json_object *a = json_object_new_array();

	for (char *const *s = list; a && s && *s; s++)
		if (json_object_array_add(a, json_object_new_string(*s)) < 0) {
			json_object_put(a);
			return -ENOMEM;
		}
	*ret = a;
	return a ? 0 : -ENOMEM;
}

_public_ int bs_needs_to_manifest(const struct bs_needs *needs, const char *kernel,
				  char *const *modules, char **ret)
{
	return bs_needs_to_manifest_pinned(needs, kernel, modules, NULL, ret);
}

_public_ int bs_needs_to_manifest_pinned(const struct bs_needs *needs, const char *kernel,
					 char *const *modules, const struct bs_pins *pins,
					 char **ret)
{
	const struct bs_node *resume;
	_cleanup_(json_object_putp) json_object *root = json_object_new_object();
	_cleanup_free_ bool *keep = NULL;
	_cleanup_strv_free_ char **root_set = NULL, **keys = NULL;
	struct bs_graph *g;
	json_object *graph = NULL, *config, *list;
	int r;

	if (!needs || !ret || (kernel && !kernel_version_is_valid(kernel)))
		return -EINVAL;
	for (char *const *m = modules; m && *m; m++)
		if (!module_path_is_valid(*m))
			return -EINVAL;
	if (!root)
		return -ENOMEM;
	g = bs_needs_get_graph(needs);
	resume = bs_needs_get_resume(needs);
	bs_graph_sort(g);
	keep = calloc(g->n_nodes ? g->n_nodes : 1, sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	for (size_t i = 0; i < bs_needs_get_n_nodes(needs); i++) {
		const struct bs_node *n = bs_needs_get_node(needs, i);

		keep[n->index] = true;
		/* A key file that only the image meets: its path, for the image to carry. */
		for (size_t k = 0; k < n->n_needs; k++)
			if (n->needs[k]->carried && n->config && n->config->crypt &&
			    n->config->crypt->key_file &&
			    strv_extend(&keys, n->config->crypt->key_file) < 0)
				return -ENOMEM;
	}
	for (size_t i = 0; i < bs_needs_get_n_root_set(needs); i++)
		if (strv_extend(&root_set, bs_node_get_id(bs_needs_get_root_set(needs, i))) < 0)
			return -ENOMEM;

	r = bs_json_add(root, "version", json_object_new_int(1));
	if (r >= 0 && (r = string_array(root_set, &list)) >= 0)
		r = bs_json_add(root, "root_set", list);
	if (r >= 0 && (r = bs_graph_to_json_object(g, keep, &graph)) >= 0)
		r = bs_json_add(root, "graph", graph);
	if (r >= 0) {
		config = json_object_new_array();
		r = bs_json_add(root, "config", config);
		for (size_t i = 0; r >= 0 && i < bs_needs_get_n_nodes(needs); i++) {
			const struct bs_node *n = bs_needs_get_node(needs, i);
			json_object *o;

			if (!n->config)
				continue;
			r = config_json(n, &o);
			if (r >= 0 && json_object_array_add(config, o) < 0) {
				json_object_put(o);
				r = -ENOMEM;
			}
		}
	}
	if (r >= 0 && (r = string_array(modules, &list)) >= 0)
		r = bs_json_add(root, "modules", list);
	/* null, not missing, when unknown: the reader of a manifest sees what it was told. */
	if (r >= 0)
		r = bs_json_add_string(root, "kernel", kernel, true);
	if (r >= 0)
		r = bs_json_add_string(root, "resume", resume ? resume->id : NULL, true);
	if (r >= 0 && (r = string_array(keys, &list)) >= 0)
		r = bs_json_add(root, "key_files", list);
	if (r >= 0 && pins && (r = bs_pins_to_json_list(pins, &list)) >= 0)
		r = bs_json_add(root, "pins", list);
	if (r < 0)
		return r;
	return bs_json_format(root, ret);
}

/* ---- reading ----------------------------------------------------------------------------- */

struct reader {
	struct bs_ctx *c;
	const char *origin;
};

_printf_(2, 3) static int damaged(const struct reader *rd, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = bs_log_refusal(rd->c, rd->origin, "refusing the manifest", format, ap);
	va_end(ap);
	return r;
}

/* Every member of o is one of the NULL-terminated names. */
static int only_members(const struct reader *rd, json_object *o, const char *where,
			const char *const *names)
{
	json_object_object_foreach(o, key, v)
	{
		bool known = false;

		(void)v;
		for (const char *const *n = names; *n && !known; n++)
			known = streq(*n, key);
		if (!known)
			return damaged(rd, "%s: unknown member '%s'", where, key);
	}
	return 0;
}

static int get_str(const struct reader *rd, json_object *o, const char *where, const char *key,
		   bool required, char **ret)
{
	json_object *v;

	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return required ? damaged(rd, "%s: no '%s'", where, key) : 0;
	if (!json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v) ||
	    json_object_get_string_len(v) == 0)
		return damaged(rd, "%s: '%s' is not a non-empty string", where, key);
	*ret = strdup(json_object_get_string(v));
	return *ret ? 0 : -ENOMEM;
}

static int get_u64(const struct reader *rd, json_object *o, const char *where, const char *key,
		   uint64_t max, uint64_t *ret)
{
	json_object *v;
	int64_t i;

	*ret = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return damaged(rd, "%s: '%s' is not a number", where, key);
	i = json_object_get_int64(v);
	if (i < 0 || (uint64_t)i > max || (i == INT64_MAX && json_object_get_uint64(v) > max))
		return damaged(rd, "%s: '%s' is out of range", where, key);
	*ret = (uint64_t)i;
	return 0;
}

static int get_bool(const struct reader *rd, json_object *o, const char *where, const char *key,
		    bool *ret)
{
	json_object *v;

	*ret = false;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return damaged(rd, "%s: '%s' is not true or false", where, key);
	*ret = json_object_get_boolean(v);
	return 0;
}

static int read_crypt(const struct reader *rd, json_object *o, const char *where,
		      struct bs_crypt_config **ret)
{
	static const char *const names[] = {
		"source",
		"key_file",
		"header",
		"mode",
		"cipher",
		"hash",
		"key_bits",
		"offset",
		"skip",
		"sector_size",
		"keyfile_offset",
		"keyfile_size",
		"keyslot",
		"tries",
		"read_only",
		"discard",
		"same_cpu_crypt",
		"submit_from_crypt_cpus",
		"no_read_workqueue",
		"no_write_workqueue",
		"unsupported",
		NULL,
	};
	struct bs_crypt_config *c;
	_cleanup_free_ char *mode = NULL;
	uint64_t v;
	json_object *slot;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return damaged(rd, "%s: 'crypt' is not an object", where);
	r = only_members(rd, o, where, names);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->keyslot = -1;
	if ((r = get_str(rd, o, where, "source", false, &c->source)) < 0 ||
	    (r = get_str(rd, o, where, "key_file", false, &c->key_file)) < 0 ||
	    (r = get_str(rd, o, where, "header", false, &c->header)) < 0 ||
	    (r = get_str(rd, o, where, "mode", true, &mode)) < 0 ||
	    (r = get_str(rd, o, where, "cipher", false, &c->cipher)) < 0 ||
	    (r = get_str(rd, o, where, "hash", false, &c->hash)) < 0 ||
	    (r = get_str(rd, o, where, "unsupported", false, &c->unsupported)) < 0)
		goto fail;
	if (streq(mode, "auto"))
		c->mode = BS_CRYPT_MODE_AUTO;
	else if (streq(mode, "luks"))
		c->mode = BS_CRYPT_MODE_LUKS;
	else if (streq(mode, "plain"))
		c->mode = BS_CRYPT_MODE_PLAIN;
	else {
		r = damaged(rd, "%s: mode '%s' is not auto, luks or plain", where, mode);
		goto fail;
	}
	if ((r = get_u64(rd, o, where, "key_bits", UINT_MAX, &v)) < 0)
		goto fail;
	c->key_bits = (unsigned)v;
	if ((r = get_u64(rd, o, where, "offset", UINT64_MAX, &c->offset)) < 0 ||
	    (r = get_u64(rd, o, where, "skip", UINT64_MAX, &c->skip)) < 0 ||
	    (r = get_u64(rd, o, where, "keyfile_offset", UINT64_MAX, &c->keyfile_offset)) < 0 ||
	    (r = get_u64(rd, o, where, "keyfile_size", UINT64_MAX, &c->keyfile_size)) < 0)
		goto fail;
	if ((r = get_u64(rd, o, where, "sector_size", 65536, &v)) < 0)
		goto fail;
	c->sector_size = (unsigned)v;
	if ((r = get_u64(rd, o, where, "tries", UINT_MAX, &v)) < 0)
		goto fail;
	c->tries = (unsigned)v;
	if (json_object_object_get_ex(o, "keyslot", &slot)) {
		int64_t k = json_object_get_int64(slot);

		if (!json_object_is_type(slot, json_type_int) || k < -1 || k > 1024) {
			r = damaged(rd, "%s: 'keyslot' is not -1 or a key slot number", where);
			goto fail;
		}
		c->keyslot = (int)k;
	}
	if ((r = get_bool(rd, o, where, "read_only", &c->read_only)) < 0 ||
	    (r = get_bool(rd, o, where, "discard", &c->discard)) < 0 ||
	    (r = get_bool(rd, o, where, "same_cpu_crypt", &c->same_cpu_crypt)) < 0 ||
	    (r = get_bool(rd, o, where, "submit_from_crypt_cpus", &c->submit_from_crypt_cpus)) <
		    0 ||
	    (r = get_bool(rd, o, where, "no_read_workqueue", &c->no_read_workqueue)) < 0 ||
	    (r = get_bool(rd, o, where, "no_write_workqueue", &c->no_write_workqueue)) < 0)
		goto fail;
	*ret = c;
	return 0;
fail:
	bs_crypt_config_free(c);
	return r;
}

static int read_config(const struct reader *rd, json_object *o, size_t i,
		       struct bs_layer_config **ret_config, char **ret_node)
{
	static const char *const names[] = { "node",  "file",	    "line", "crypt", "loop",
					     "mount", "swap_flags", "drbd", NULL };
	static const char *const loop_names[] = { "read_only",	 "offset",   "sizelimit",
						  "sector_size", "partscan", "direct_io",
						  NULL };
	static const char *const mount_names[] = { "flags",  "propagation",	 "data",
						   "helper", "loop_unsupported", NULL };
	static const char *const drbd_names[] = { "resource", "minor", "primary", NULL };
	struct bs_layer_config *c = NULL;
	_cleanup_free_ char *node = NULL;
	char where[64];
	json_object *sub;
	uint64_t v;
	int r;

	snprintf(where, sizeof(where), "config[%zu]", i);
	if (!json_object_is_type(o, json_type_object))
		return damaged(rd, "%s is not an object", where);
	r = only_members(rd, o, where, names);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if ((r = get_str(rd, o, where, "node", true, &node)) < 0 ||
	    (r = get_str(rd, o, where, "file", false, &c->file)) < 0 ||
	    (r = get_u64(rd, o, where, "line", UINT_MAX, &v)) < 0)
		goto fail;
	c->line = (unsigned)v;
	if (json_object_object_get_ex(o, "crypt", &sub) &&
	    (r = read_crypt(rd, sub, where, &c->crypt)) < 0)
		goto fail;
	if (json_object_object_get_ex(o, "loop", &sub)) {
		if (!json_object_is_type(sub, json_type_object)) {
			r = damaged(rd, "%s: 'loop' is not an object", where);
			goto fail;
		}
		c->loop = calloc(1, sizeof(*c->loop));
		if (!c->loop) {
			r = -ENOMEM;
			goto fail;
		}
		if ((r = only_members(rd, sub, where, loop_names)) < 0 ||
		    (r = get_bool(rd, sub, where, "read_only", &c->loop->read_only)) < 0 ||
		    (r = get_u64(rd, sub, where, "offset", UINT64_MAX, &c->loop->offset)) < 0 ||
		    (r = get_u64(rd, sub, where, "sizelimit", UINT64_MAX, &c->loop->sizelimit)) <
			    0 ||
		    (r = get_u64(rd, sub, where, "sector_size", 4096, &v)) < 0)
			goto fail;
		c->loop->sector_size = (uint32_t)v;
		if ((r = get_bool(rd, sub, where, "partscan", &c->loop->partscan)) < 0 ||
		    (r = get_bool(rd, sub, where, "direct_io", &c->loop->direct_io)) < 0)
			goto fail;
	}
	if (json_object_object_get_ex(o, "mount", &sub)) {
		if (!json_object_is_type(sub, json_type_object)) {
			r = damaged(rd, "%s: 'mount' is not an object", where);
			goto fail;
		}
		c->mount = calloc(1, sizeof(*c->mount));
		if (!c->mount) {
			r = -ENOMEM;
			goto fail;
		}
		if ((r = only_members(rd, sub, where, mount_names)) < 0 ||
		    (r = get_u64(rd, sub, where, "flags", ULONG_MAX, &v)) < 0)
			goto fail;
		c->mount->flags = (unsigned long)v;
		if ((r = get_u64(rd, sub, where, "propagation", ULONG_MAX, &v)) < 0)
			goto fail;
		c->mount->propagation = (unsigned long)v;
		if ((r = get_str(rd, sub, where, "data", false, &c->mount->data)) < 0 ||
		    (r = get_str(rd, sub, where, "helper", false, &c->mount->helper)) < 0 ||
		    (r = get_str(rd, sub, where, "loop_unsupported", false,
				 &c->mount->loop_unsupported)) < 0)
			goto fail;
	}
	if (json_object_object_get_ex(o, "swap_flags", &sub)) {
		if ((r = get_u64(rd, o, where, "swap_flags", INT_MAX, &v)) < 0)
			goto fail;
		c->has_swap_flags = true;
		c->swap_flags = (int)v;
	}
	if (json_object_object_get_ex(o, "drbd", &sub)) {
		if (!json_object_is_type(sub, json_type_object)) {
			r = damaged(rd, "%s: 'drbd' is not an object", where);
			goto fail;
		}
		c->drbd = calloc(1, sizeof(*c->drbd));
		if (!c->drbd) {
			r = -ENOMEM;
			goto fail;
		}
		if ((r = only_members(rd, sub, where, drbd_names)) < 0 ||
		    (r = get_str(rd, sub, where, "resource", true, &c->drbd->resource)) < 0 ||
		    (r = get_u64(rd, sub, where, "minor", UINT32_MAX, &v)) < 0)
			goto fail;
		c->drbd->minor = (uint32_t)v;
		if ((r = get_bool(rd, sub, where, "primary", &c->drbd->primary)) < 0)
			goto fail;
	}
	*ret_config = c;
	*ret_node = TAKE_PTR(node);
	return 0;
fail:
	bs_layer_config_free(c);
	return r;
}

/* Whether the graph object lists a node with id. */
static bool graph_has_node(json_object *graph, const char *id)
{
	json_object *nodes, *v;

	if (!json_object_object_get_ex(graph, "nodes", &nodes) ||
	    !json_object_is_type(nodes, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(nodes); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(nodes, i), "id", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    streq(json_object_get_string(v), id))
			return true;
	return false;
}

static int check_strings(const struct reader *rd, json_object *root, const char *key, bool required)
{
	json_object *v;

	if (!json_object_object_get_ex(root, key, &v))
		return required ? damaged(rd, "no '%s'", key) : 0;
	if (!json_object_is_type(v, json_type_array))
		return damaged(rd, "'%s' is not a list", key);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string) ||
		    json_object_get_string_len(e) == 0 ||
		    strlen(json_object_get_string(e)) != (size_t)json_object_get_string_len(e))
			return damaged(rd, "'%s'[%zu] is not a non-empty string", key, i);
	}
	return 0;
}

/* Whether id is one of the strings of the list key of root. */
static bool list_has(json_object *root, const char *key, const char *id)
{
	json_object *v;

	if (!json_object_object_get_ex(root, key, &v))
		return false;
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (streq(json_object_get_string(json_object_array_get_idx(v, i)), id))
			return true;
	return false;
}

/* A member that is a non-empty string or null (or missing: NULL). */
static int get_str_or_null(const struct reader *rd, json_object *root, const char *key,
			   const char **ret)
{
	json_object *v;

	*ret = NULL;
	if (!json_object_object_get_ex(root, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0 ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return damaged(rd, "'%s' is not a non-empty string or null", key);
	*ret = json_object_get_string(v);
	return 0;
}

static int strings_dup(json_object *root, const char *key, char ***ret)
{
	char **l = NULL;
	json_object *v;

	if (json_object_object_get_ex(root, key, &v))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (strv_extend(&l, json_object_get_string(
						    json_object_array_get_idx(v, i))) < 0) {
				strv_free(l);
				return -ENOMEM;
			}
	if (!l && !(l = calloc(1, sizeof(*l))))
		return -ENOMEM;
	*ret = l;
	return 0;
}

static int info_new(json_object *root, const char *kernel, const char *resume, struct bs_pins *pins,
		    struct bs_manifest_info **ret)
{
	struct bs_manifest_info *info = calloc(1, sizeof(*info));

	if (!info)
		return -ENOMEM;
	if ((kernel && !(info->kernel = strdup(kernel))) ||
	    (resume && !(info->resume = strdup(resume))) ||
	    strings_dup(root, "root_set", &info->root_set) < 0 ||
	    strings_dup(root, "modules", &info->modules) < 0 ||
	    strings_dup(root, "key_files", &info->key_files) < 0) {
		bs_manifest_info_free(info);
		return -ENOMEM;
	}
	info->pins = bs_pins_ref(pins);
	*ret = info;
	return 0;
}

static int manifest_merge(struct bs_graph *g, const char *origin, const char *text, size_t size,
			  struct bs_manifest_info **ret_info)
{
	static const char *const top[] = { "version", "root_set", "graph",     "config", "modules",
					   "kernel",  "resume",	  "key_files", "pins",	 NULL };
	_cleanup_(json_tokener_freep) json_tokener *tok = NULL;
	_cleanup_(json_object_putp) json_object *root = NULL;
	struct reader rd = { .origin = origin };
	struct bs_layer_config **configs = NULL;
	struct bs_pins *pins = NULL;
	char **ids = NULL;
	json_object *v, *graph, *config = NULL;
	const char *kernel, *resume;
	size_t n_config = 0, end;
	const char *graph_text;
	int r, merged;

	if (!g || !origin || !text)
		return -EINVAL;
	rd.c = g->ctx;
	if (size > BS_SYSROOT_READ_MAX) {
		bs_log_warn(rd.c, "%s: larger than %zu bytes, refusing the manifest", origin,
			    (size_t)BS_SYSROOT_READ_MAX);
		return -EFBIG;
	}
	tok = json_tokener_new_ex(MANIFEST_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, (int)size + 1);
	end = json_tokener_get_parse_end(tok);
	if (json_tokener_get_error(tok) != json_tokener_success)
		return damaged(&rd, "byte %zu: %s", end > size ? size : end,
			       json_tokener_error_desc(json_tokener_get_error(tok)));
	for (size_t i = end; i < size; i++)
		if (!strchr(" \t\r\n", text[i]))
			return damaged(&rd, "byte %zu: data after the manifest", i);
	if (!json_object_is_type(root, json_type_object))
		return damaged(&rd, "not a JSON object");
	r = only_members(&rd, root, "the manifest", top);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(root, "version", &v) ||
	    !json_object_is_type(v, json_type_int))
		return damaged(&rd, "no 'version'");
	if (json_object_get_int64(v) != 1)
		return damaged(&rd, "version %" PRId64 " is not supported, only 1",
			       json_object_get_int64(v));
	if ((r = check_strings(&rd, root, "root_set", true)) < 0 ||
	    (r = check_strings(&rd, root, "modules", false)) < 0 ||
	    (r = check_strings(&rd, root, "key_files", false)) < 0)
		return r;
	if (!json_object_object_get_ex(root, "graph", &graph) ||
	    !json_object_is_type(graph, json_type_object))
		return damaged(&rd, "no 'graph' object");
	if (json_object_object_get_ex(root, "modules", &v))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (!module_path_is_valid(
				    json_object_get_string(json_object_array_get_idx(v, i))))
				return damaged(
					&rd,
					"'modules'[%zu] is not a path below lib/modules/VERSION",
					i);
	json_object_object_get_ex(root, "root_set", &v);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(v, i));

		if (!graph_has_node(graph, id))
			return damaged(&rd, "'root_set'[%zu]: no node '%s' in the graph", i, id);
	}
	if ((r = get_str_or_null(&rd, root, "kernel", &kernel)) < 0 ||
	    (r = get_str_or_null(&rd, root, "resume", &resume)) < 0)
		return r;
	if (kernel && !kernel_version_is_valid(kernel))
		return damaged(&rd, "'kernel' is not a kernel release");
	if (resume && !(graph_has_node(graph, resume) && list_has(root, "root_set", resume)))
		return damaged(&rd, "'resume': '%s' is no node of the graph and the root set",
			       resume);

	/* All of it is checked before anything is merged: a damaged manifest adds nothing. */
	if (json_object_object_get_ex(root, "pins", &v)) {
		r = bs_pins_from_json_list(rd.c, origin, v, &pins);
		if (r < 0)
			return r == -EBADMSG ? damaged(&rd, "'pins' is no list of pins") : r;
	}
	if (json_object_object_get_ex(root, "config", &config)) {
		if (!json_object_is_type(config, json_type_array))
			return damaged(&rd, "'config' is not a list");
		n_config = json_object_array_length(config);
		configs = calloc(n_config ? n_config : 1, sizeof(*configs));
		ids = calloc(n_config + 1, sizeof(*ids));
		if (!configs || !ids) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < n_config; i++) {
		r = read_config(&rd, json_object_array_get_idx(config, i), i, &configs[i], &ids[i]);
		if (r < 0)
			goto out;
		if (!graph_has_node(graph, ids[i])) {
			r = damaged(&rd, "config[%zu]: no node '%s' in the graph", i, ids[i]);
			goto out;
		}
	}
	graph_text = json_object_to_json_string_ext(graph, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE);
	merged = bs_recorded_merge(g, origin, graph_text, strlen(graph_text));
	if (merged < 0) {
		r = merged;
		goto out;
	}
	for (size_t i = 0; i < n_config; i++) {
		struct bs_node *n = bs_graph_find_node(g, ids[i]);

		/* A node the merge mapped onto a live one of another id keeps its own. */
		if (!n || n->config)
			continue;
		bs_node_add_source(n, BS_SOURCE_MANIFEST);
		n->config = TAKE_PTR(configs[i]);
	}
	r = merged;
	if (ret_info) {
		int k = info_new(root, kernel, resume, pins, ret_info);

		if (k < 0)
			r = k;
	}
out:
	for (size_t i = 0; configs && i < n_config; i++)
		bs_layer_config_free(configs[i]);
	free(configs);
	strv_free(ids);
	bs_pins_unref(pins);
	return r;
}

int bs_manifest_merge(struct bs_graph *g, const char *origin, const char *text, size_t size)
{
	return manifest_merge(g, origin, text, size, NULL);
}

/* ---- what /init reads of it ---------------------------------------------------------------- */

_public_ struct bs_manifest_info *bs_manifest_info_free(struct bs_manifest_info *info)
{
	if (!info)
		return NULL;
	free(info->kernel);
	free(info->resume);
	strv_free(info->root_set);
	strv_free(info->modules);
	strv_free(info->key_files);
	bs_pins_unref(info->pins);
	free(info);
	return NULL;
}

_public_ int bs_manifest_get_info(struct bs_ctx *c, const char *path, struct bs_manifest_info **ret)
{
	_cleanup_free_ char *text = NULL;
	struct bs_graph *g = NULL;
	struct bs_manifest_info *info = NULL;
	size_t size;
	int r;

	if (!c || !path || !ret)
		return -EINVAL;
	r = bs_sysroot_read_file_max(c, path, BS_SYSROOT_READ_MAX, &text, &size);
	if (r < 0)
		return r;
	/* The whole manifest is checked as a load would check it: what /init reads first is
	 * no less checked than what the executor reads later. */
	r = bs_graph_new(c, &g);
	if (r < 0)
		return r;
	r = manifest_merge(g, path, text, size, &info);
	bs_graph_unref(g);
	if (r < 0)
		return r;
	*ret = info;
	return 0;
}

_public_ int bs_manifest_get_modules(struct bs_ctx *c, const char *path, char ***ret)
{
	struct bs_manifest_info *info = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	r = bs_manifest_get_info(c, path, &info);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(info->modules);
	bs_manifest_info_free(info);
	return 0;
}

_public_ struct bs_node *bs_graph_find_device(const struct bs_graph *g, const char *spec)
{
	struct bs_node *n;

	if (!g || !spec || !*spec)
		return NULL;
	n = bs_graph_find_node(g, spec);
	return n ? n : bs_graph_find_spec(g, spec);
}
