/* Pins: the identities of the crypt, md, LVM and filesystem layers, recorded and verified. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "graph.h"
#include "md-uuid.h"
#include "ops.h"
#include "pins.h"
#include "sources/sources.h"
#include "strv.h"
#include "sysroot.h"
#include "util.h"

/*
 * A pin says what a layer is, in the fields that an attacker who swaps the device cannot
 * keep without the user's secrets: a LUKS header's UUID, cipher, layout and volume key
 * digest (so that a header which another key opens differs), an md array's and a VG's
 * members, a filesystem's UUID and type, and for each whether a crypt layer lies below it
 * (so that a plaintext device carrying the right identity differs too). Never a hash of a
 * whole header: a keyslot added or changed leaves every pinned field as it was.
 *
 * The file, BS_PINS_PATH, and the manifest's "pins" member:
 *   {"version": 1,
 *    "pins": [{"kind": "luks" | "md" | "vg" | "fs",
 *              "node": ID,                  the node when pinned ("blk:vda2", "md:sys")
 *              "device": NAME,              its kernel name then, for messages (optional)
 *              "encrypted": BOOL,           a crypt layer lies below it
 *              "at": {ATTR: VALUE, ...},    luks: what names the device holding the header
 *                                           across boots (partuuid, serial, md_uuid, lv_uuid)
 *              "fields": {NAME: VALUE, ...},        every value a non-empty string
 *              "members": [{"uuid": U, "encrypted": BOOL}, ...]}]}  md: UUID_SUBs, vg: PVs
 */

#define PINS_MODE 0644
#define PINS_DEPTH 16

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free)

enum pin_kind {
	PIN_LUKS,
	PIN_MD,
	PIN_VG,
	PIN_FS,
	_PIN_KIND_MAX,
	_PIN_KIND_INVALID = -EINVAL,
};

static const char *const pin_kind_names[_PIN_KIND_MAX] = {
	[PIN_LUKS] = "luks",
	[PIN_MD] = "md",
	[PIN_VG] = "vg",
	[PIN_FS] = "fs",
};

/* What a message calls the layer of a kind. */
static const char *const pin_kind_what[_PIN_KIND_MAX] = {
	[PIN_LUKS] = "LUKS header",
	[PIN_MD] = "md array",
	[PIN_VG] = "LVM volume group",
	[PIN_FS] = "filesystem",
};

struct pin_member {
	char *uuid;
	bool encrypted;
};

struct pin {
	enum pin_kind kind;
	char *node, *device;
	bool encrypted;
	bool recorded; /* taken from a pins file, not read live */
	char **at; /* name, value, name, value, ... */
	char **fields; /* the same */
	struct pin_member *members;
	size_t n_members;
};

struct unpinned {
	char *node, *reason;
};

struct bs_pins {
	unsigned n_ref;
	struct bs_ctx *ctx;
	struct pin *pins;
	size_t n_pins, allocated_pins;
	struct unpinned *unpinned;
	size_t n_unpinned, allocated_unpinned;
};

/* The attributes that name the device holding a LUKS header across boots. */
static const enum bs_attr at_attrs[] = { BS_ATTR_PARTUUID, BS_ATTR_SERIAL, BS_ATTR_MD_UUID,
					 BS_ATTR_LV_UUID };

/* Types of what is no filesystem: the layers with pins of their own, or none. */
static const char *const member_types[] = { "crypto_LUKS", "LVM2_member", "linux_raid_member",
					    NULL };

/* ---- the object --------------------------------------------------------------------------- */

static void pin_done(struct pin *p)
{
	free(p->node);
	free(p->device);
	strv_free(p->at);
	strv_free(p->fields);
	for (size_t i = 0; i < p->n_members; i++)
		free(p->members[i].uuid);
	free(p->members);
}

static int pins_alloc(struct bs_ctx *c, struct bs_pins **ret)
{
	struct bs_pins *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->n_ref = 1;
	p->ctx = bs_ctx_ref(c);
	*ret = p;
	return 0;
}

_public_ struct bs_pins *bs_pins_ref(struct bs_pins *p)
{
	if (p)
		p->n_ref++;
	return p;
}

_public_ struct bs_pins *bs_pins_unref(struct bs_pins *p)
{
	if (!p || --p->n_ref > 0)
		return NULL;
	for (size_t i = 0; i < p->n_pins; i++)
		pin_done(&p->pins[i]);
	free(p->pins);
	for (size_t i = 0; i < p->n_unpinned; i++) {
		free(p->unpinned[i].node);
		free(p->unpinned[i].reason);
	}
	free(p->unpinned);
	bs_ctx_unref(p->ctx);
	free(p);
	return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_pins *, bs_pins_unref)

static const char *pairs_get(char *const *l, const char *name)
{
	for (size_t i = 0; l && l[i] && l[i + 1]; i += 2)
		if (streq(l[i], name))
			return l[i + 1];
	return NULL;
}

static int pairs_add(char ***l, const char *name, const char *value)
{
	if (!value || !*value)
		return 0;
	if (strv_extend(l, name) < 0 || strv_extend(l, value) < 0)
		return -ENOMEM;
	return 0;
}

static struct pin *pin_new(struct bs_pins *p, enum pin_kind kind, const struct bs_node *x)
{
	struct pin *pin;

	if (ARRAY_RESERVE(p->pins, p->allocated_pins, p->n_pins) < 0)
		return NULL;
	pin = &p->pins[p->n_pins];
	*pin = (struct pin){ .kind = kind };
	if (!(pin->node = strdup(x->id)) || (x->name && !(pin->device = strdup(x->name)))) {
		pin_done(pin);
		return NULL;
	}
	p->n_pins++;
	return pin;
}

static int pin_add_member(struct pin *pin, const char *uuid, bool encrypted)
{
	struct pin_member *m;

	m = reallocarray(pin->members, pin->n_members + 1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pin->members = m;
	m[pin->n_members] = (struct pin_member){ .uuid = strdup(uuid), .encrypted = encrypted };
	if (!m[pin->n_members].uuid)
		return -ENOMEM;
	pin->n_members++;
	return 0;
}

static int cmp_members(const void *a, const void *b)
{
	return strcmp(((const struct pin_member *)a)->uuid, ((const struct pin_member *)b)->uuid);
}

static int pin_copy(struct bs_pins *p, const struct pin *from)
{
	struct pin *pin;
	int r = -ENOMEM;

	if (ARRAY_RESERVE(p->pins, p->allocated_pins, p->n_pins) < 0)
		return -ENOMEM;
	pin = &p->pins[p->n_pins];
	*pin = (struct pin){ .kind = from->kind, .encrypted = from->encrypted, .recorded = true };
	if (!(pin->node = strdup(from->node)) ||
	    (from->device && !(pin->device = strdup(from->device))))
		goto fail;
	for (char **l = from->at; l && *l; l++)
		if (strv_extend(&pin->at, *l) < 0)
			goto fail;
	for (char **l = from->fields; l && *l; l++)
		if (strv_extend(&pin->fields, *l) < 0)
			goto fail;
	for (size_t i = 0; i < from->n_members; i++)
		if (pin_add_member(pin, from->members[i].uuid, from->members[i].encrypted) < 0)
			goto fail;
	p->n_pins++;
	return 0;
fail:
	pin_done(pin);
	return r;
}

static int add_unpinned(struct bs_pins *p, const struct bs_node *x, const char *reason)
{
	struct unpinned *u;

	if (ARRAY_RESERVE(p->unpinned, p->allocated_unpinned, p->n_unpinned) < 0)
		return -ENOMEM;
	u = &p->unpinned[p->n_unpinned];
	u->node = strdup(x->id);
	u->reason = strdup(reason);
	if (!u->node || !u->reason) {
		free(u->node);
		free(u->reason);
		return -ENOMEM;
	}
	p->n_unpinned++;
	return 0;
}

/* ---- what a node is ------------------------------------------------------------------------ */

/* The edges along which a device is made of what it needs: a crypt layer anywhere down them
 * encrypts it. Key files, detached headers, mount points and ordering edges are no part of
 * the device. */
static bool role_is_part(const char *role)
{
	static const char *const roles[] = { "parent",	     "member",	  "spare",   "faulty",
					     "pv",	     "vg",	  "backing", "device",
					     "backing-file", "container", NULL };

	return role && strv_contains((char *const *)roles, role);
}

static bool encrypted_below(const struct bs_graph *g, const struct bs_node *x)
{
	_cleanup_free_ const struct bs_node **stack = calloc(g->n_nodes + 1, sizeof(*stack));
	_cleanup_free_ bool *seen = calloc(g->n_nodes + 1, sizeof(bool));
	size_t depth = 0;

	/* Out of memory: say encrypted, so that nothing is refused for it. */
	if (!stack || !seen)
		return true;
	stack[depth++] = x;
	while (depth > 0) {
		const struct bs_node *y = stack[--depth];

		for (size_t i = 0; i < y->n_needs; i++) {
			const struct bs_edge *e = y->needs[i];

			if (e->carried || !role_is_part(e->role) || seen[e->needs->index])
				continue;
			if (e->needs->kind == BS_NODE_CRYPT)
				return true;
			seen[e->needs->index] = true;
			stack[depth++] = e->needs;
		}
	}
	return false;
}

static bool is_live_device(const struct bs_node *x)
{
	return x->name && (x->sources & BS_SOURCE_LIVE) && x->state != BS_STATE_ABSENT;
}

static const char *md_uuid_of(const char *s, char buf[static 37])
{
	const char *u = s ? bs_md_uuid_normalize(s, buf) : NULL;

	return u ? u : s;
}

/* The pin of the same layer in recorded, by its identity: a LUKS or filesystem UUID, an md
 * array's or a VG's uuid. */
static const struct pin *find_recorded(const struct bs_pins *recorded, enum pin_kind kind,
				       const char *uuid)
{
	char a[37], b[37];

	for (size_t i = 0; recorded && uuid && i < recorded->n_pins; i++) {
		const struct pin *r = &recorded->pins[i];
		const char *ru = pairs_get(r->fields, "uuid");

		if (r->kind != kind || !ru)
			continue;
		if (kind == PIN_MD ? streq(md_uuid_of(ru, a), md_uuid_of(uuid, b)) :
				     streq(ru, uuid))
			return r;
	}
	return NULL;
}

static int pin_luks(struct bs_pins *p, struct bs_graph *g, const struct bs_node *x)
{
	struct bs_luks_identity id = {};
	struct pin *pin;
	int r = 0;

	if (is_live_device(x)) {
		r = bs_luks_read_identity(g->ctx, x->name, &id);
		if (r < 0)
			return r;
	}
	if (r == 0)
		return 0;
	pin = pin_new(p, PIN_LUKS, x);
	if (!pin) {
		bs_luks_identity_done(&id);
		return -ENOMEM;
	}
	pin->encrypted = encrypted_below(g, x);
	for (int f = 0; r >= 0 && f < _BS_LUKS_FIELD_MAX; f++)
		r = pairs_add(&pin->fields, bs_luks_field_to_string(f), id.fields[f]);
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(at_attrs); i++)
		r = pairs_add(&pin->at, bs_attr_to_string(at_attrs[i]), x->attrs[at_attrs[i]]);
	if (r >= 0 && id.fields[BS_LUKS_CIPHER] && streq(id.fields[BS_LUKS_CIPHER], "cipher_null"))
		bs_log_warn(
			g->ctx,
			"'/dev/%s': the LUKS header's segment uses cipher_null (no encryption); "
			"'blkstack verify' refuses it",
			x->name);
	bs_luks_identity_done(&id);
	return r < 0 ? r : 1;
}

/* Whether the edge e joins an array or a VG (of pin kind k) to one of its members. */
static bool is_member_edge(const struct bs_edge *e, enum pin_kind k)
{
	if (!e->role)
		return false;
	return k == PIN_MD ? streq(e->role, "member") || streq(e->role, "spare") :
			     streq(e->role, "pv");
}

/* An md array (its uuid, level, and each member's UUID_SUB) or a VG (its uuid and each PV's
 * UUID), each member with whether a crypt layer lies below it. */
static int pin_with_members(struct bs_pins *p, struct bs_graph *g, const struct bs_node *x,
			    enum pin_kind k)
{
	const char *uuid = x->attrs[k == PIN_MD ? BS_ATTR_MD_UUID : BS_ATTR_VG_UUID];
	enum bs_attr member_attr = k == PIN_MD ? BS_ATTR_UUID_SUB : BS_ATTR_UUID;
	char buf[37];
	struct pin *pin;
	int r;

	if (!uuid)
		return 0;
	pin = pin_new(p, k, x);
	if (!pin)
		return -ENOMEM;
	pin->encrypted = encrypted_below(g, x);
	r = pairs_add(&pin->fields, "uuid", k == PIN_MD ? md_uuid_of(uuid, buf) : uuid);
	if (r >= 0 && k == PIN_MD)
		r = pairs_add(&pin->fields, "level", x->attrs[BS_ATTR_MD_LEVEL]);
	for (size_t i = 0; r >= 0 && i < x->n_needs; i++) {
		const struct bs_node *m = x->needs[i]->needs;
		const char *v = m->attrs[member_attr];

		if (!is_member_edge(x->needs[i], k))
			continue;
		if (!v) {
			bs_log_warn(g->ctx, "'%s': %s '%s' has no UUID, not pinned", x->id,
				    k == PIN_MD ? "member" : "PV", m->id);
			continue;
		}
		r = pin_add_member(pin, k == PIN_MD ? md_uuid_of(v, buf) : v,
				   m->kind == BS_NODE_CRYPT || encrypted_below(g, m));
	}
	if (r >= 0 && pin->n_members > 1)
		qsort(pin->members, pin->n_members, sizeof(*pin->members), cmp_members);
	return r < 0 ? r : 1;
}

static int pin_fs(struct bs_pins *p, struct bs_graph *g, const struct bs_node *x)
{
	struct pin *pin;
	int r;

	pin = pin_new(p, PIN_FS, x);
	if (!pin)
		return -ENOMEM;
	/* A mapping is its own crypt layer. */
	pin->encrypted = x->kind == BS_NODE_CRYPT || encrypted_below(g, x);
	r = pairs_add(&pin->fields, "uuid", x->attrs[BS_ATTR_UUID]);
	if (r >= 0)
		r = pairs_add(&pin->fields, "type", x->attrs[BS_ATTR_FSTYPE]);
	return r < 0 ? r : 1;
}

/* The kind of pin of x, or _PIN_KIND_INVALID for a node that gets none. */
static enum pin_kind kind_of(const struct bs_node *x)
{
	const char *type = x->attrs[BS_ATTR_FSTYPE];

	if (x->kind == BS_NODE_MD)
		return PIN_MD;
	if (x->kind == BS_NODE_VG)
		return PIN_VG;
	if (!x->name && x->kind != BS_NODE_DISK && x->kind != BS_NODE_PART &&
	    x->kind != BS_NODE_CRYPT && x->kind != BS_NODE_LV)
		return _PIN_KIND_INVALID;
	if (type && streq(type, "crypto_LUKS"))
		return PIN_LUKS;
	if (type && x->attrs[BS_ATTR_UUID] && !strv_contains((char *const *)member_types, type))
		return PIN_FS;
	return _PIN_KIND_INVALID;
}

static const char *pin_uuid_of(const struct bs_node *x, enum pin_kind k)
{
	return k == PIN_MD ? x->attrs[BS_ATTR_MD_UUID] :
	       k == PIN_VG ? x->attrs[BS_ATTR_VG_UUID] :
			     x->attrs[BS_ATTR_UUID];
}

static int pin_node(struct bs_pins *p, struct bs_graph *g, const struct bs_node *x,
		    const struct bs_pins *recorded)
{
	enum pin_kind k = kind_of(x);
	const struct pin *rec;
	int r = 0;

	if (k < 0)
		return 0;
	/* Live, from what the device says now; else from the pins file. */
	if (k == PIN_LUKS)
		r = pin_luks(p, g, x);
	else if (is_live_device(x) || ((x->kind == BS_NODE_VG || x->kind == BS_NODE_MD) &&
				       (x->sources & BS_SOURCE_LIVE)))
		r = k == PIN_FS ? pin_fs(p, g, x) : pin_with_members(p, g, x, k);
	if (r != 0)
		return r;
	rec = find_recorded(recorded, k, pin_uuid_of(x, k));
	if (rec)
		return pin_copy(p, rec);
	return add_unpinned(p, x,
			    k == PIN_LUKS ?
				    (is_live_device(x) ? "its LUKS header cannot be read" :
							 "its device is not present and no pins "
							 "file names it") :
				    "it is not present and no pins file names it");
}

static int pins_of(struct bs_graph *g, struct bs_node *const *nodes, size_t n,
		   const struct bs_pins *recorded, struct bs_pins **ret)
{
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = NULL;
	int r;

	r = pins_alloc(g->ctx, &p);
	if (r < 0)
		return r;
	bs_graph_sort(g);
	for (size_t i = 0; i < n; i++) {
		r = pin_node(p, g, nodes[i], recorded);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(p);
	return 0;
}

_public_ int bs_pins_new(struct bs_graph *g, const struct bs_pins *recorded, struct bs_pins **ret)
{
	if (!g || !ret)
		return -EINVAL;
	bs_graph_sort(g);
	return pins_of(g, g->nodes, g->n_nodes, recorded, ret);
}

_public_ int bs_pins_new_for_needs(const struct bs_needs *n, const struct bs_pins *recorded,
				   struct bs_pins **ret)
{
	_cleanup_free_ struct bs_node **nodes = NULL;
	size_t k = bs_needs_get_n_nodes(n);

	if (!n || !ret)
		return -EINVAL;
	nodes = calloc(k ? k : 1, sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	for (size_t i = 0; i < k; i++)
		nodes[i] = bs_needs_get_node(n, i);
	return pins_of(bs_needs_get_graph(n), nodes, k, recorded, ret);
}

/* ---- getters ------------------------------------------------------------------------------- */

_public_ size_t bs_pins_get_n(const struct bs_pins *p)
{
	return p ? p->n_pins : 0;
}

_public_ const char *bs_pins_get_kind(const struct bs_pins *p, size_t i)
{
	return p && i < p->n_pins ? pin_kind_names[p->pins[i].kind] : NULL;
}

_public_ const char *bs_pins_get_node(const struct bs_pins *p, size_t i)
{
	return p && i < p->n_pins ? p->pins[i].node : NULL;
}

_public_ const char *bs_pins_get_device(const struct bs_pins *p, size_t i)
{
	return p && i < p->n_pins ? p->pins[i].device : NULL;
}

_public_ const char *bs_pins_get_field(const struct bs_pins *p, size_t i, const char *name)
{
	return p && name && i < p->n_pins ? pairs_get(p->pins[i].fields, name) : NULL;
}

_public_ bool bs_pins_get_recorded(const struct bs_pins *p, size_t i)
{
	return p && i < p->n_pins && p->pins[i].recorded;
}

_public_ size_t bs_pins_get_n_unpinned(const struct bs_pins *p)
{
	return p ? p->n_unpinned : 0;
}

_public_ const char *bs_pins_get_unpinned_node(const struct bs_pins *p, size_t i)
{
	return p && i < p->n_unpinned ? p->unpinned[i].node : NULL;
}

_public_ const char *bs_pins_get_unpinned_reason(const struct bs_pins *p, size_t i)
{
	return p && i < p->n_unpinned ? p->unpinned[i].reason : NULL;
}

_public_ bool bs_pins_is_crypt_unpinned(const struct bs_pins *p, const struct bs_graph *g, size_t i)
{
	const struct bs_node *x;

	if (!p || !g || i >= p->n_unpinned)
		return false;
	x = bs_graph_find_node(g, p->unpinned[i].node);
	return x && kind_of(x) == PIN_LUKS;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static int pairs_json(char *const *l, json_object **ret)
{
	json_object *o = json_object_new_object();
	int r = 0;

	if (!o)
		return -ENOMEM;
	for (size_t i = 0; r >= 0 && l && l[i] && l[i + 1]; i += 2)
		r = bs_json_add_string(o, l[i], l[i + 1], false);
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*ret = o;
	return 0;
}

static int pin_json(const struct pin *pin, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object *sub = NULL, *members;
	int r;

	if (!o)
		return -ENOMEM;
	if ((r = bs_json_add_string(o, "kind", pin_kind_names[pin->kind], false)) < 0 ||
	    (r = bs_json_add_string(o, "node", pin->node, false)) < 0 ||
	    (r = bs_json_add_string(o, "device", pin->device, false)) < 0 ||
	    (r = bs_json_add(o, "encrypted", json_object_new_boolean(pin->encrypted))) < 0)
		return r;
	if (pin->at) {
		if ((r = pairs_json(pin->at, &sub)) < 0 || (r = bs_json_add(o, "at", sub)) < 0)
			return r;
	}
	if ((r = pairs_json(pin->fields, &sub)) < 0 || (r = bs_json_add(o, "fields", sub)) < 0)
		return r;
	if (pin->kind == PIN_MD || pin->kind == PIN_VG) {
		members = json_object_new_array();
		if ((r = bs_json_add(o, "members", members)) < 0)
			return r;
		for (size_t i = 0; i < pin->n_members; i++) {
			json_object *m = json_object_new_object();

			if (!m || json_object_array_add(members, m) < 0) {
				json_object_put(m);
				return -ENOMEM;
			}
			if ((r = bs_json_add_string(m, "uuid", pin->members[i].uuid, false)) < 0 ||
			    (r = bs_json_add(m, "encrypted",
					     json_object_new_boolean(pin->members[i].encrypted))) <
				    0)
				return r;
		}
	}
	*ret = TAKE_PTR(o);
	return 0;
}

int bs_pins_to_json_list(const struct bs_pins *p, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *list = json_object_new_array();

	if (!list)
		return -ENOMEM;
	for (size_t i = 0; p && i < p->n_pins; i++) {
		json_object *o = NULL;
		int r = pin_json(&p->pins[i], &o);

		if (r < 0)
			return r;
		if (json_object_array_add(list, o) < 0) {
			json_object_put(o);
			return -ENOMEM;
		}
	}
	*ret = TAKE_PTR(list);
	return 0;
}

_public_ int bs_pins_to_json(const struct bs_pins *p, char **ret)
{
	_cleanup_(json_object_putp) json_object *root = json_object_new_object();
	json_object *list = NULL;
	int r;

	if (!p || !ret)
		return -EINVAL;
	if (!root)
		return -ENOMEM;
	r = bs_json_add(root, "version", json_object_new_int(1));
	if (r >= 0 && (r = bs_pins_to_json_list(p, &list)) >= 0)
		r = bs_json_add(root, "pins", list);
	if (r < 0)
		return r;
	return bs_json_format(root, ret);
}

_printf_(3, 4) static int damaged(struct bs_ctx *c, const char *origin, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = bs_log_refusal(c, origin, "refusing the pins", format, ap);
	va_end(ap);
	return r;
}

static bool is_nonempty_string(json_object *v)
{
	return json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0 &&
	       strlen(json_object_get_string(v)) == (size_t)json_object_get_string_len(v);
}

static int read_pairs(struct bs_ctx *c, const char *origin, const char *where, json_object *o,
		      char ***ret)
{
	if (!json_object_is_type(o, json_type_object))
		return damaged(c, origin, "%s is not an object", where);
	json_object_object_foreach(o, key, v)
	{
		if (!*key || !is_nonempty_string(v))
			return damaged(c, origin, "%s: '%s' is not a non-empty string", where, key);
		if (strv_extend(ret, key) < 0 || strv_extend(ret, json_object_get_string(v)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int read_pin(struct bs_ctx *c, const char *origin, size_t i, json_object *o, struct pin *pin)
{
	static const char *const names[] = { "kind", "node",   "device",  "encrypted",
					     "at",   "fields", "members", NULL };
	char where[64], mwhere[96];
	json_object *v, *members;
	int r;

	snprintf(where, sizeof(where), "pins[%zu]", i);
	if (!json_object_is_type(o, json_type_object))
		return damaged(c, origin, "%s is not an object", where);
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		if (!strv_contains((char *const *)names, key))
			return damaged(c, origin, "%s: unknown member '%s'", where, key);
	}
	if (!json_object_object_get_ex(o, "kind", &v) || !is_nonempty_string(v))
		return damaged(c, origin, "%s: no 'kind'", where);
	pin->kind = _PIN_KIND_INVALID;
	for (int k = 0; k < _PIN_KIND_MAX; k++)
		if (streq(pin_kind_names[k], json_object_get_string(v)))
			pin->kind = k;
	if (pin->kind < 0)
		return damaged(c, origin, "%s: kind '%s' is not luks, md, vg or fs", where,
			       json_object_get_string(v));
	if (!json_object_object_get_ex(o, "node", &v) || !is_nonempty_string(v))
		return damaged(c, origin, "%s: no 'node'", where);
	if (!(pin->node = strdup(json_object_get_string(v))))
		return -ENOMEM;
	if (json_object_object_get_ex(o, "device", &v)) {
		if (!is_nonempty_string(v))
			return damaged(c, origin, "%s: 'device' is not a non-empty string", where);
		if (!(pin->device = strdup(json_object_get_string(v))))
			return -ENOMEM;
	}
	if (json_object_object_get_ex(o, "encrypted", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return damaged(c, origin, "%s: 'encrypted' is not true or false", where);
		pin->encrypted = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(o, "at", &v)) {
		snprintf(mwhere, sizeof(mwhere), "%s.at", where);
		r = read_pairs(c, origin, mwhere, v, &pin->at);
		if (r < 0)
			return r;
	}
	if (!json_object_object_get_ex(o, "fields", &v))
		return damaged(c, origin, "%s: no 'fields'", where);
	snprintf(mwhere, sizeof(mwhere), "%s.fields", where);
	r = read_pairs(c, origin, mwhere, v, &pin->fields);
	if (r < 0)
		return r;
	if (!pairs_get(pin->fields, "uuid"))
		return damaged(c, origin, "%s: no 'uuid' in 'fields'", where);
	if (!json_object_object_get_ex(o, "members", &members))
		return 0;
	if (!json_object_is_type(members, json_type_array))
		return damaged(c, origin, "%s: 'members' is not a list", where);
	for (size_t k = 0; k < json_object_array_length(members); k++) {
		json_object *m = json_object_array_get_idx(members, k), *u, *e = NULL;

		if (!json_object_is_type(m, json_type_object) ||
		    !json_object_object_get_ex(m, "uuid", &u) || !is_nonempty_string(u) ||
		    json_object_object_length(m) !=
			    (json_object_object_get_ex(m, "encrypted", &e) ? 2 : 1) ||
		    (e && !json_object_is_type(e, json_type_boolean)))
			return damaged(
				c, origin,
				"%s: members[%zu] is not {\"uuid\": ..., \"encrypted\": ...}",
				where, k);
		r = pin_add_member(pin, json_object_get_string(u), e && json_object_get_boolean(e));
		if (r < 0)
			return r;
	}
	return 0;
}

int bs_pins_from_json_list(struct bs_ctx *c, const char *origin, json_object *list,
			   struct bs_pins **ret)
{
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = NULL;
	int r;

	if (!json_object_is_type(list, json_type_array))
		return damaged(c, origin, "'pins' is not a list");
	r = pins_alloc(c, &p);
	if (r < 0)
		return r;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		if (ARRAY_RESERVE(p->pins, p->allocated_pins, p->n_pins) < 0)
			return -ENOMEM;
		p->pins[p->n_pins] = (struct pin){};
		r = read_pin(c, origin, i, json_object_array_get_idx(list, i), &p->pins[p->n_pins]);
		if (r < 0) {
			pin_done(&p->pins[p->n_pins]);
			return r;
		}
		p->pins[p->n_pins++].recorded = true;
	}
	*ret = TAKE_PTR(p);
	return 0;
}

static int pins_parse(struct bs_ctx *c, const char *origin, const char *text, size_t size,
		      struct bs_pins **ret)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = json_tokener_new_ex(PINS_DEPTH);
	_cleanup_(json_object_putp) json_object *root = NULL;
	json_object *v, *list;
	size_t end;

	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, (int)size + 1);
	end = json_tokener_get_parse_end(tok);
	if (json_tokener_get_error(tok) != json_tokener_success)
		return damaged(c, origin, "byte %zu: %s", end > size ? size : end,
			       json_tokener_error_desc(json_tokener_get_error(tok)));
	if (!json_object_is_type(root, json_type_object))
		return damaged(c, origin, "not a JSON object");
	json_object_object_foreach(root, key, val)
	{
		(void)val;
		if (!streq(key, "version") && !streq(key, "pins"))
			return damaged(c, origin, "unknown member '%s'", key);
	}
	if (!json_object_object_get_ex(root, "version", &v) ||
	    !json_object_is_type(v, json_type_int))
		return damaged(c, origin, "no 'version'");
	if (json_object_get_int64(v) != 1)
		return damaged(c, origin, "version %" PRId64 " is not supported, only 1",
			       json_object_get_int64(v));
	if (!json_object_object_get_ex(root, "pins", &list))
		return damaged(c, origin, "no 'pins'");
	return bs_pins_from_json_list(c, origin, list, ret);
}

_public_ int bs_pins_read(struct bs_ctx *c, const char *path, struct bs_pins **ret)
{
	_cleanup_free_ char *text = NULL, *shown = NULL;
	size_t size;
	int r;

	if (!c || !ret || (path && !*path))
		return -EINVAL;
	r = path ? bs_read_file_path(path, BS_SYSROOT_READ_MAX, &text, &size) :
		   bs_sysroot_read_file(c, BS_PINS_PATH, &text, &size);
	if (r < 0)
		return r;
	shown = path ? strdup(path) : bs_sysroot_path_dup(c, BS_PINS_PATH);
	if (!shown)
		return -ENOMEM;
	return pins_parse(c, shown, text, size, ret);
}

_public_ int bs_pins_write(const struct bs_pins *p, const char *path)
{
	_cleanup_free_ char *json = NULL;
	int r;

	if (!p || (path && !*path))
		return -EINVAL;
	r = bs_pins_to_json(p, &json);
	if (r >= 0)
		r = strextend(&json, "\n", NULL);
	if (r < 0)
		return r;
	/* World-readable, as the header it comes from: a digest and a salt, no secret. */
	if (path)
		return write_file_atomic_at(AT_FDCWD, path, json, strlen(json), PINS_MODE);
	return bs_sysroot_write_file_atomic(p->ctx, BS_PINS_PATH, json, strlen(json), PINS_MODE);
}

/* ---- verification -------------------------------------------------------------------------- */

struct mismatch {
	char *device, *node, *field, *expected, *found, *message;
};

struct bs_verify {
	unsigned n_ref;
	struct mismatch *mismatches;
	size_t n_mismatches, allocated_mismatches;
	size_t n_checked, n_absent;
};

struct check {
	struct bs_graph *g;
	struct bs_verify *v;
};

_public_ struct bs_verify *bs_verify_unref(struct bs_verify *v)
{
	if (!v || --v->n_ref > 0)
		return NULL;
	for (size_t i = 0; i < v->n_mismatches; i++) {
		struct mismatch *m = &v->mismatches[i];

		free(m->device);
		free(m->node);
		free(m->field);
		free(m->expected);
		free(m->found);
		free(m->message);
	}
	free(v->mismatches);
	free(v);
	return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_verify *, bs_verify_unref)

/* Refuses x: field was expected, and found; why says what that means. */
_printf_(7, 8) static int refuse(struct check *ck, const struct bs_node *x, const struct pin *pin,
				 const char *field, const char *expected, const char *found,
				 const char *why, ...)
{
	struct mismatch *m;
	_cleanup_free_ char *text = NULL, *device = NULL;
	va_list ap;
	int k;

	if (ARRAY_RESERVE(ck->v->mismatches, ck->v->allocated_mismatches, ck->v->n_mismatches) < 0)
		return -ENOMEM;
	va_start(ap, why);
	k = vasprintf(&text, why, ap);
	va_end(ap);
	if (k < 0)
		return -ENOMEM;
	if (x && x->name ? asprintf(&device, "/dev/%s", x->name) < 0 :
			   !(device = strdup(x ? x->id : pin->node)))
		return -ENOMEM;
	m = &ck->v->mismatches[ck->v->n_mismatches];
	*m = (struct mismatch){};
	if (!(m->device = TAKE_PTR(device)) || !(m->node = strdup(x ? x->id : pin->node)) ||
	    !(m->field = strdup(field)) || !(m->expected = strdup(strempty(expected))) ||
	    !(m->found = strdup(found ? found : "nothing")) ||
	    asprintf(&m->message,
		     "'%s' (%s): %s: %s '%s' pinned (%s of %s), '%s' found; refusing it. If you "
		     "changed the stack on purpose, run 'blkstack pin' again",
		     m->device, m->node, text, m->field, m->expected, pin_kind_what[pin->kind],
		     pin->node, m->found) < 0) {
		m->message = NULL;
		free(m->device);
		free(m->node);
		free(m->field);
		free(m->expected);
		free(m->found);
		return -ENOMEM;
	}
	bs_log_debug(ck->g->ctx, "%s", m->message);
	ck->v->n_mismatches++;
	return 0;
}

/* The live devices of the graph whose attr is value, in node order; md uuids (md_form, and
 * always for the md attributes) in any of their forms. */
static size_t find_devices_as(const struct bs_graph *g, enum bs_attr attr, const char *value,
			      bool md_form, const struct bs_node **out, size_t max)
{
	char a[37], b[37];
	size_t n = 0;

	for (size_t i = 0; value && i < g->n_nodes; i++) {
		const struct bs_node *x = g->nodes[i];
		const char *v = x->attrs[attr];

		if (!v || !(is_live_device(x) || x->kind == BS_NODE_VG))
			continue;
		if (md_form || attr == BS_ATTR_MD_UUID || attr == BS_ATTR_UUID_SUB ?
			    streq(md_uuid_of(v, a), md_uuid_of(value, b)) :
			    streq(v, value)) {
			if (n < max)
				out[n] = x;
			n++;
		}
	}
	return n;
}

static size_t find_devices(const struct bs_graph *g, enum bs_attr attr, const char *value,
			   const struct bs_node **out, size_t max)
{
	return find_devices_as(g, attr, value, false, out, max);
}

/* Two devices with one pinned identity: which one is genuine cannot be told. */
static int refuse_duplicate(struct check *ck, const struct pin *pin, const char *field,
			    const char *value, const struct bs_node *const *devs, size_t n)
{
	_cleanup_free_ char *found = NULL;

	for (size_t i = 0; i < n && i < 8; i++)
		if (strextend(&found, i ? ", " : "", devs[i]->name ? "/dev/" : "",
			      devs[i]->name ? devs[i]->name : devs[i]->id, NULL) < 0)
			return -ENOMEM;
	return refuse(ck, devs[0], pin, field, value, found,
		      "%zu devices carry one pinned identity", n);
}

static int check_encrypted(struct check *ck, const struct pin *pin, const struct bs_node *x,
			   bool pinned_encrypted)
{
	if (!pinned_encrypted || x->kind == BS_NODE_CRYPT || encrypted_below(ck->g, x))
		return 0;
	return refuse(ck, x, pin, "encrypted", "a crypt layer below", "a plaintext device",
		      "a plaintext device where a crypt layer was pinned");
}

static bool is_cipher_null(const char *c)
{
	return c && startswith(c, "cipher_null");
}

static int check_luks_header(struct check *ck, const struct pin *pin, const struct bs_node *x)
{
	struct bs_luks_identity id = {};
	int r;

	r = bs_luks_read_identity(ck->g->ctx, x->name, &id);
	if (r < 0)
		return r;
	if (r == 0)
		return refuse(ck, x, pin, "header", "a readable LUKS header", "none",
			      "no LUKS header with a volume key digest can be read");
	for (int f = 0; r >= 0 && f < _BS_LUKS_FIELD_MAX; f++) {
		const char *name = bs_luks_field_to_string(f);
		const char *want = pairs_get(pin->fields, name), *have = id.fields[f];

		if (!want)
			continue;
		if (!have || !streq(want, have))
			r = refuse(ck, x, pin, name, want, have, "the LUKS header differs");
	}
	if (r >= 0 && is_cipher_null(id.fields[BS_LUKS_CIPHER]))
		r = refuse(ck, x, pin, "cipher", "a cipher", id.fields[BS_LUKS_CIPHER],
			   "the segment is not encrypted (any passphrase opens it)");
	for (char **s = id.keyslot_ciphers; r >= 0 && s && *s; s++) {
		const char *colon = strchr(*s, ':');

		if (colon && is_cipher_null(colon + 1)) {
			char field[32];

			snprintf(field, sizeof(field), "keyslot %.*s", (int)(colon - *s), *s);
			r = refuse(ck, x, pin, field, "a cipher", colon + 1,
				   "a keyslot is not encrypted (any passphrase opens it)");
		}
	}
	bs_luks_identity_done(&id);
	return r;
}

#define MAX_SEEN 64

static int verify_luks(struct check *ck, const struct pin *pin)
{
	const char *uuid = pairs_get(pin->fields, "uuid");
	const struct bs_node *devs[MAX_SEEN];
	size_t n = find_devices(ck->g, BS_ATTR_UUID, uuid, devs, MAX_SEEN);
	int r = 0;

	if (n > 1)
		return refuse_duplicate(ck, pin, "uuid", uuid, devs, n);
	if (n == 1) {
		const char *type = devs[0]->attrs[BS_ATTR_FSTYPE];

		ck->v->n_checked++;
		if (!type || !streq(type, "crypto_LUKS"))
			return refuse(ck, devs[0], pin, "type", "crypto_LUKS", type,
				      "a plaintext device where a crypt layer was pinned");
		r = check_luks_header(ck, pin, devs[0]);
		if (r < 0)
			return r;
		return check_encrypted(ck, pin, devs[0], pin->encrypted);
	}
	/* The pinned UUID is gone: is the device that held the header there, with another? */
	for (size_t i = 0; pin->at && pin->at[i] && pin->at[i + 1]; i += 2) {
		enum bs_attr a = bs_attr_from_string(pin->at[i]);
		const struct bs_node *x;
		_cleanup_free_ char *found = NULL;

		if (a < 0 || find_devices(ck->g, a, pin->at[i + 1], devs, MAX_SEEN) == 0)
			continue;
		x = devs[0];
		if (a == BS_ATTR_MD_UUID && x->kind != BS_NODE_MD)
			continue;
		ck->v->n_checked++;
		if (asprintf(&found, "%s%s%s", strna(x->attrs[BS_ATTR_FSTYPE]),
			     x->attrs[BS_ATTR_UUID] ? " UUID " : "",
			     strempty(x->attrs[BS_ATTR_UUID])) < 0)
			return -ENOMEM;
		return refuse(ck, x, pin, "uuid", uuid, found,
			      "the device that held the pinned LUKS header (%s %s) holds another "
			      "thing",
			      pin->at[i], pin->at[i + 1]);
	}
	ck->v->n_absent++;
	return 0;
}

static const struct pin_member *find_member(const struct pin *pin, const char *uuid)
{
	char a[37], b[37];

	for (size_t i = 0; uuid && i < pin->n_members; i++)
		if (pin->kind == PIN_MD ?
			    streq(md_uuid_of(pin->members[i].uuid, a), md_uuid_of(uuid, b)) :
			    streq(pin->members[i].uuid, uuid))
			return &pin->members[i];
	return NULL;
}

static int verify_md(struct check *ck, const struct pin *pin)
{
	const char *uuid = pairs_get(pin->fields, "uuid"), *level = pairs_get(pin->fields, "level");
	const struct bs_node *devs[MAX_SEEN], *subs[MAX_SEEN];
	size_t n, seen = 0;
	int r = 0;

	/* The arrays. */
	n = find_devices(ck->g, BS_ATTR_MD_UUID, uuid, devs, MAX_SEEN);
	if (n > 1)
		return refuse_duplicate(ck, pin, "uuid", uuid, devs, n);
	if (n == 1) {
		ck->v->n_checked++;
		seen++;
		if (level && devs[0]->attrs[BS_ATTR_MD_LEVEL] &&
		    !streq(level, devs[0]->attrs[BS_ATTR_MD_LEVEL]) &&
		    (r = refuse(ck, devs[0], pin, "level", level, devs[0]->attrs[BS_ATTR_MD_LEVEL],
				"the md array differs")) < 0)
			return r;
		if ((r = check_encrypted(ck, pin, devs[0], pin->encrypted)) < 0)
			return r;
	}
	/* Their members, assembled or not: what carries the array's superblock. */
	n = find_devices_as(ck->g, BS_ATTR_UUID, uuid, true, devs, MAX_SEEN);
	for (size_t i = 0; i < n && i < MAX_SEEN; i++) {
		const struct bs_node *x = devs[i];
		const char *type = x->attrs[BS_ATTR_FSTYPE], *sub = x->attrs[BS_ATTR_UUID_SUB];
		const struct pin_member *m;
		size_t k;

		if (!type || !streq(type, "linux_raid_member"))
			continue;
		ck->v->n_checked++;
		seen++;
		m = find_member(pin, sub);
		if (!m) {
			r = refuse(ck, x, pin, "member", "one of the pinned members", sub,
				   "an unexpected member of the md array");
			if (r < 0)
				return r;
			continue;
		}
		k = find_devices(ck->g, BS_ATTR_UUID_SUB, sub, subs, MAX_SEEN);
		if (k > 1 && subs[0] == x &&
		    (r = refuse_duplicate(ck, pin, "member", sub, subs, k)) < 0)
			return r;
		if ((r = check_encrypted(ck, pin, x, m->encrypted)) < 0)
			return r;
	}
	if (seen == 0)
		ck->v->n_absent++;
	return 0;
}

static int verify_vg(struct check *ck, const struct pin *pin)
{
	const char *uuid = pairs_get(pin->fields, "uuid");
	const struct bs_node *devs[MAX_SEEN];
	size_t n;
	int r;

	n = find_devices(ck->g, BS_ATTR_VG_UUID, uuid, devs, MAX_SEEN);
	if (n > 1)
		return refuse_duplicate(ck, pin, "uuid", uuid, devs, n);
	if (n == 0)
		ck->v->n_absent++;
	for (size_t i = 0; n == 1 && i < devs[0]->n_needs; i++) {
		const struct bs_edge *e = devs[0]->needs[i];
		const char *pv = e->needs->attrs[BS_ATTR_UUID];

		if (!is_member_edge(e, PIN_VG) || !is_live_device(e->needs))
			continue;
		if (!find_member(pin, pv) &&
		    (r = refuse(ck, e->needs, pin, "pv", "one of the pinned PVs", pv,
				"an unexpected physical volume of the volume group")) < 0)
			return r;
	}
	/* Every pinned PV once, and where it was: inside a crypt layer or not. */
	for (size_t i = 0; i < pin->n_members; i++) {
		const struct bs_node *pvs[MAX_SEEN];
		size_t k = find_devices(ck->g, BS_ATTR_UUID, pin->members[i].uuid, pvs, MAX_SEEN);

		if (k == 0)
			continue;
		ck->v->n_checked++;
		if (k > 1) {
			r = refuse_duplicate(ck, pin, "pv", pin->members[i].uuid, pvs, k);
			if (r < 0)
				return r;
			continue;
		}
		r = check_encrypted(ck, pin, pvs[0], pin->members[i].encrypted);
		if (r < 0)
			return r;
	}
	return 0;
}

static int verify_fs(struct check *ck, const struct pin *pin)
{
	const char *uuid = pairs_get(pin->fields, "uuid"), *type = pairs_get(pin->fields, "type");
	const struct bs_node *devs[MAX_SEEN];
	size_t n = find_devices(ck->g, BS_ATTR_UUID, uuid, devs, MAX_SEEN);
	int r;

	if (n == 0)
		ck->v->n_absent++;
	/* The devices of one multi-device btrfs share its UUID. */
	if (n > 1 && !(type && streq(type, "btrfs")))
		return refuse_duplicate(ck, pin, "uuid", uuid, devs, n);
	for (size_t i = 0; i < n && i < MAX_SEEN; i++) {
		const char *have = devs[i]->attrs[BS_ATTR_FSTYPE];

		ck->v->n_checked++;
		if (type && (!have || !streq(have, type)) &&
		    (r = refuse(ck, devs[i], pin, "type", type, have, "the filesystem differs")) <
			    0)
			return r;
		r = check_encrypted(ck, pin, devs[i], pin->encrypted);
		if (r < 0)
			return r;
	}
	return 0;
}

_public_ int bs_pins_verify(const struct bs_pins *p, struct bs_graph *g, struct bs_verify **ret)
{
	_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL;
	struct check ck;
	int r = 0;

	if (!p || !g || !ret)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->n_ref = 1;
	bs_graph_sort(g);
	ck = (struct check){ .g = g, .v = v };
	for (size_t i = 0; r >= 0 && i < p->n_pins; i++) {
		const struct pin *pin = &p->pins[i];

		switch (pin->kind) {
		case PIN_LUKS:
			r = verify_luks(&ck, pin);
			break;
		case PIN_MD:
			r = verify_md(&ck, pin);
			break;
		case PIN_VG:
			r = verify_vg(&ck, pin);
			break;
		case PIN_FS:
			r = verify_fs(&ck, pin);
			break;
		default:
			r = -EINVAL;
		}
	}
	if (r < 0)
		return r;
	r = v->n_mismatches > 0 ? -EKEYREJECTED : 0;
	*ret = TAKE_PTR(v);
	return r;
}

_public_ size_t bs_verify_get_n_checked(const struct bs_verify *v)
{
	return v ? v->n_checked : 0;
}

_public_ size_t bs_verify_get_n_absent(const struct bs_verify *v)
{
	return v ? v->n_absent : 0;
}

_public_ size_t bs_verify_get_n_mismatches(const struct bs_verify *v)
{
	return v ? v->n_mismatches : 0;
}

static const struct mismatch *mismatch_get(const struct bs_verify *v, size_t i)
{
	return v && i < v->n_mismatches ? &v->mismatches[i] : NULL;
}

_public_ const char *bs_verify_get_device(const struct bs_verify *v, size_t i)
{
	return mismatch_get(v, i) ? mismatch_get(v, i)->device : NULL;
}

_public_ const char *bs_verify_get_field(const struct bs_verify *v, size_t i)
{
	return mismatch_get(v, i) ? mismatch_get(v, i)->field : NULL;
}

_public_ const char *bs_verify_get_expected(const struct bs_verify *v, size_t i)
{
	return mismatch_get(v, i) ? mismatch_get(v, i)->expected : NULL;
}

_public_ const char *bs_verify_get_found(const struct bs_verify *v, size_t i)
{
	return mismatch_get(v, i) ? mismatch_get(v, i)->found : NULL;
}

_public_ const char *bs_verify_get_message(const struct bs_verify *v, size_t i)
{
	return mismatch_get(v, i) ? mismatch_get(v, i)->message : NULL;
}

_public_ int bs_verify_to_json(const struct bs_verify *v, char **ret)
{
	_cleanup_(json_object_putp) json_object *root = NULL;
	json_object *list;
	int r;

	if (!v || !ret)
		return -EINVAL;
	root = json_object_new_object();
	if (!root)
		return -ENOMEM;
	list = json_object_new_array();
	if ((r = bs_json_add(root, "mismatches", list)) < 0 ||
	    (r = bs_json_add(root, "version", json_object_new_int(1))) < 0 ||
	    (r = bs_json_add(root, "checked", json_object_new_uint64(v->n_checked))) < 0 ||
	    (r = bs_json_add(root, "absent", json_object_new_uint64(v->n_absent))) < 0)
		return r;
	for (size_t i = 0; i < v->n_mismatches; i++) {
		const struct mismatch *m = &v->mismatches[i];
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(list, o) < 0) {
			json_object_put(o);
			return -ENOMEM;
		}
		if ((r = bs_json_add_string(o, "device", m->device, false)) < 0 ||
		    (r = bs_json_add_string(o, "node", m->node, false)) < 0 ||
		    (r = bs_json_add_string(o, "field", m->field, false)) < 0 ||
		    (r = bs_json_add_string(o, "expected", m->expected, false)) < 0 ||
		    (r = bs_json_add_string(o, "found", m->found, false)) < 0 ||
		    (r = bs_json_add_string(o, "message", m->message, false)) < 0)
			return r;
	}
	return bs_json_format(root, ret);
}

/* ---- what the executor asks of the pins ------------------------------------------------------ */

int bs_pins_luks_digest(const struct bs_pins *p, const char *uuid, const char *node,
			struct bs_crypt_digest *ret)
{
	const struct pin *found = NULL;

	for (size_t i = 0; p && !found && uuid && i < p->n_pins; i++) {
		const char *u = pairs_get(p->pins[i].fields, "uuid");

		if (p->pins[i].kind == PIN_LUKS && u && streq(u, uuid))
			found = &p->pins[i];
	}
	for (size_t i = 0; p && !found && node && i < p->n_pins; i++)
		if (p->pins[i].kind == PIN_LUKS && streq(p->pins[i].node, node))
			found = &p->pins[i];
	if (!found || !pairs_get(found->fields, "digest"))
		return 0;
	*ret = (struct bs_crypt_digest){
		.version = pairs_get(found->fields, "version"),
		.type = pairs_get(found->fields, "digest_type"),
		.hash = pairs_get(found->fields, "digest_hash"),
		.iterations = pairs_get(found->fields, "digest_iterations"),
		.salt = pairs_get(found->fields, "digest_salt"),
		.digest = pairs_get(found->fields, "digest"),
	};
	return 1;
}

/* The md (md true) or VG pin with uuid, or NULL. */
static const struct pin *find_pin_with_members(const struct bs_pins *p, bool md, const char *uuid)
{
	char a[37], b[37];

	for (size_t i = 0; p && uuid && i < p->n_pins; i++) {
		const struct pin *pin = &p->pins[i];
		const char *u = pairs_get(pin->fields, "uuid");

		if (pin->kind != (md ? PIN_MD : PIN_VG) || !u)
			continue;
		if (md ? streq(md_uuid_of(u, a), md_uuid_of(uuid, b)) : streq(u, uuid))
			return pin;
	}
	return NULL;
}

int bs_pins_has_member(const struct bs_pins *p, bool md, const char *uuid, const char *member_uuid)
{
	const struct pin *pin = find_pin_with_members(p, md, uuid);

	if (!pin)
		return -ENOENT;
	return find_member(pin, member_uuid) ? 1 : 0;
}

int bs_pins_member_paths(const struct bs_pins *p, const struct bs_graph *g, bool md,
			 const char *uuid, char ***ret)
{
	const struct pin *pin = find_pin_with_members(p, md, uuid);
	char **paths = NULL;
	size_t n = 0;

	if (!pin)
		return -ENOENT;
	for (size_t i = 0; g && i < g->n_nodes; i++) {
		const struct bs_node *x = g->nodes[i];
		const char *v = x->attrs[md ? BS_ATTR_UUID_SUB : BS_ATTR_UUID];
		char *path = NULL;

		if (!v || !is_live_device(x) || !find_member(pin, v))
			continue;
		/* A mapping by its name, as lvm itself names it. */
		if ((x->attrs[BS_ATTR_DM_NAME] ?
			     asprintf(&path, "/dev/mapper/%s", x->attrs[BS_ATTR_DM_NAME]) :
			     asprintf(&path, "/dev/%s", x->name)) < 0 ||
		    strv_push(&paths, path) < 0) {
			free(path);
			strv_free(paths);
			return -ENOMEM;
		}
		n++;
	}
	if (!paths && !(paths = calloc(1, sizeof(char *))))
		return -ENOMEM;
	*ret = paths;
	return (int)n;
}
