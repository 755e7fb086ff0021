/* The recorded graph, var/lib/blkstack/graph.json: merging it into a graph, and writing it. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "graph.h"
#include "hashmap.h"
#include "recorded.h"
#include "sysroot.h"
#include "util.h"

/* show --json takes some 600 bytes a node, so the sysroot's cap holds about 100 000
 * devices; json-c takes the length as an int. */
#define RECORDED_MAX BS_SYSROOT_READ_MAX
_Static_assert(RECORDED_MAX < INT_MAX, "json_tokener_parse_ex() takes an int length");

/* The format nests four deep (the graph, its lists, a node or edge, a node's lists); the
 * cap bounds json-c's recursion on anything else. */
#define RECORDED_DEPTH 16

/* The file is world-readable, as the system's fstab and crypttab are: it names devices and
 * their UUIDs, no secret. */
#define RECORDED_MODE 0644

DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free)

/* One node of the file. Strings are borrowed from the parsed JSON. */
struct rec_node {
	const char *id;
	enum bs_node_kind kind;
	const char *attrs[_BS_ATTR_MAX];
	uint64_t size;
	json_object *mountpoints; /* an array of strings, or NULL */

	/* Where it goes: decided once, target NULL when it is left out. */
	bool decided;
	struct bs_node *target;
};

struct rec_edge {
	struct rec_node *holder, *needs;
	const char *role;
};

struct record {
	struct bs_graph *g;
	struct bs_ctx *c;
	const char *origin;

	json_object *root;
	struct rec_node *nodes;
	size_t n_nodes;
	struct rec_edge *edges;
	size_t n_edges;
	struct hashmap *by_id; /* id -> struct rec_node */
};

static void record_done(struct record *rec)
{
	json_object_put(rec->root);
	free(rec->nodes);
	free(rec->edges);
	hashmap_free(rec->by_id);
}

/* What identifies a disk, partition, loop or nbd device across boots, strongest first: a
 * disk's serial, a partition's PARTUUID, the UUID_SUB of an md member or btrfs device, a
 * loop device's backing file, and last the filesystem UUID (which the members of one md
 * array or btrfs share, so it counts only where it is unique). */
static const enum bs_attr identity_attrs[] = {
	BS_ATTR_SERIAL, BS_ATTR_PARTUUID, BS_ATTR_UUID_SUB, BS_ATTR_BACKING_FILE, BS_ATTR_UUID,
};

/* Marks an identity value that several devices have, and so identifies none. */
static const char ambiguous_marker;
#define AMBIGUOUS ((void *)&ambiguous_marker)

/* Logs why the text is no recorded graph, and returns -EBADMSG. */
_printf_(2, 3) static int damaged(const struct record *rec, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = bs_log_refusal(rec->c, rec->origin, "ignoring the recorded graph", format, ap);
	va_end(ap);
	return r;
}

/* ---- reading the file -------------------------------------------------------------------- */

static bool is_json_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* The string member key of o in *ret, NULL if o has none. A member that is no string, or
 * that has a NUL inside (which C would cut short), is damage. */
static int get_string(const struct record *rec, json_object *o, const char *where, const char *key,
		      const char **ret)
{
	json_object *v;
	const char *s;

	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return damaged(rec, "%s: '%s' is not a string", where, key);
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return damaged(rec, "%s: '%s' has a NUL byte inside", where, key);
	*ret = s;
	return 0;
}

static int get_required_string(const struct record *rec, json_object *o, const char *where,
			       const char *key, const char **ret)
{
	int r;

	r = get_string(rec, o, where, key, ret);
	if (r < 0)
		return r;
	if (!*ret || !**ret)
		return damaged(rec, "%s: no '%s'", where, key);
	return 0;
}

/* An optional list of strings, none empty. */
static int get_string_list(const struct record *rec, json_object *o, const char *where,
			   const char *key, json_object **ret)
{
	json_object *v;
	size_t n;

	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return damaged(rec, "%s: '%s' is not a list", where, key);
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string) ||
		    json_object_get_string_len(e) == 0 ||
		    strlen(json_object_get_string(e)) != (size_t)json_object_get_string_len(e))
			return damaged(rec, "%s: '%s'[%zu] is not a non-empty string", where, key,
				       i);
	}
	*ret = v;
	return 0;
}

static int parse_node(struct record *rec, size_t i, json_object *o)
{
	struct rec_node *n = &rec->nodes[i];
	const char *kind, *state, *ignored, *colon;
	json_object *v, *ignored_list;
	char where[64];
	int r;

	snprintf(where, sizeof(where), "nodes[%zu]", i);
	if (!json_object_is_type(o, json_type_object))
		return damaged(rec, "%s: not an object", where);

	r = get_required_string(rec, o, where, "id", &n->id);
	if (r < 0)
		return r;
	/* Every id is KIND:NAME (DESIGN.md, "node ids"). */
	colon = strchr(n->id, ':');
	if (!colon || colon == n->id || colon[1] == '\0')
		return damaged(rec, "%s: id '%s' is not of the form PREFIX:NAME", where, n->id);
	if (hashmap_get_str(rec->by_id, n->id))
		return damaged(rec, "%s: id '%s' appears twice", where, n->id);
	r = hashmap_put_str(rec->by_id, n->id, n);
	if (r < 0)
		return r;

	r = get_required_string(rec, o, where, "kind", &kind);
	if (r < 0)
		return r;
	n->kind = bs_node_kind_from_string(kind);
	if (n->kind < 0)
		return damaged(rec, "%s: '%s' has an unknown kind '%s'", where, n->id, kind);

	r = get_string(rec, o, where, "state", &state);
	if (r < 0)
		return r;
	if (state && bs_node_state_from_string(state) < 0)
		return damaged(rec, "%s: '%s' has an unknown state '%s'", where, n->id, state);

	/* What only a live node has: checked, never taken. */
	r = get_string(rec, o, where, "name", &ignored);
	if (r >= 0)
		r = get_string(rec, o, where, "devno", &ignored);
	if (r >= 0)
		r = get_string_list(rec, o, where, "sources", &ignored_list);
	if (r >= 0)
		r = get_string_list(rec, o, where, "mountpoints", &n->mountpoints);
	if (r < 0)
		return r;

	for (int a = 0; a < _BS_ATTR_MAX; a++) {
		r = get_string(rec, o, where, bs_attr_to_string(a), &n->attrs[a]);
		if (r < 0)
			return r;
		/* bs_node_set_attr() takes "" for no value. */
		if (n->attrs[a] && !*n->attrs[a])
			n->attrs[a] = NULL;
	}

	if (json_object_object_get_ex(o, "size", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
			return damaged(rec, "%s: '%s' has a size that is no byte count", where,
				       n->id);
		n->size = json_object_get_uint64(v);
	}
	return 0;
}

static int parse_edge(struct record *rec, size_t i, json_object *o)
{
	struct rec_edge *e = &rec->edges[i];
	const char *holder, *needs;
	char where[64];
	int r;

	snprintf(where, sizeof(where), "edges[%zu]", i);
	if (!json_object_is_type(o, json_type_object))
		return damaged(rec, "%s: not an object", where);
	r = get_required_string(rec, o, where, "holder", &holder);
	if (r >= 0)
		r = get_required_string(rec, o, where, "needs", &needs);
	if (r >= 0)
		r = get_string(rec, o, where, "role", &e->role);
	if (r < 0)
		return r;
	if (e->role && !*e->role)
		return damaged(rec, "%s: empty 'role'", where);

	e->holder = hashmap_get_str(rec->by_id, holder);
	if (!e->holder)
		return damaged(rec, "%s: holder '%s' is no node of the graph", where, holder);
	e->needs = hashmap_get_str(rec->by_id, needs);
	if (!e->needs)
		return damaged(rec, "%s: '%s' needs '%s', which is no node of the graph", where,
			       holder, needs);
	if (e->holder == e->needs)
		return damaged(rec, "%s: '%s' needs itself", where, holder);
	return 0;
}

/* The live graph a record was taken from has no cycle; a record with one is damaged, and
 * would leave the planner no order. A depth-first search along the needs, with its own
 * stack: an edge to a node still on the stack closes a cycle. */
static int check_acyclic(struct record *rec)
{
	enum {
		WHITE,
		GREY,
		BLACK
	};
	_cleanup_free_ size_t *first = NULL, *fill = NULL, *adjacent = NULL, *stack = NULL;
	_cleanup_free_ unsigned char *color = NULL;
	size_t n = rec->n_nodes;

	if (n == 0)
		return 0;
	first = calloc(n + 1, sizeof(*first));
	fill = calloc(n, sizeof(*fill));
	adjacent = calloc(rec->n_edges ? rec->n_edges : 1, sizeof(*adjacent));
	stack = calloc(n, sizeof(*stack));
	color = calloc(n, sizeof(*color));
	if (!first || !fill || !adjacent || !stack || !color)
		return -ENOMEM;

	/* The needs of node i are adjacent[first[i]] .. adjacent[first[i + 1] - 1]. */
	for (size_t i = 0; i < rec->n_edges; i++)
		first[rec->edges[i].holder - rec->nodes + 1]++;
	for (size_t i = 0; i < n; i++)
		first[i + 1] += first[i];
	memcpy(fill, first, n * sizeof(*fill));
	for (size_t i = 0; i < rec->n_edges; i++)
		adjacent[fill[rec->edges[i].holder - rec->nodes]++] =
			(size_t)(rec->edges[i].needs - rec->nodes);

	/* fill[i] is reused as the next of i's needs to visit. */
	for (size_t start = 0; start < n; start++) {
		size_t depth = 0;

		if (color[start] != WHITE)
			continue;
		color[start] = GREY;
		fill[start] = first[start];
		stack[depth++] = start;
		while (depth > 0) {
			size_t x = stack[depth - 1], y;

			if (fill[x] == first[x + 1]) {
				color[x] = BLACK;
				depth--;
				continue;
			}
			y = adjacent[fill[x]++];
			if (color[y] == GREY)
				return damaged(rec, "the edges form a cycle through '%s'",
					       rec->nodes[y].id);
			if (color[y] == WHITE) {
				color[y] = GREY;
				fill[y] = first[y];
				stack[depth++] = y;
			}
		}
	}
	return 0;
}

static int record_parse(struct record *rec, const char *text, size_t size)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = NULL;
	enum json_tokener_error err;
	json_object *v, *nodes, *edges;
	size_t end;
	int r;

	if (size > RECORDED_MAX) {
		bs_log_warn(rec->c, "%s: larger than %zu bytes, ignoring the recorded graph",
			    rec->origin, (size_t)RECORDED_MAX);
		return -EFBIG;
	}

	tok = json_tokener_new_ex(RECORDED_DEPTH);
	if (!tok)
		return -ENOMEM;
	/* Strict: blkstack writes plain JSON, so anything json-c merely tolerates is damage. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* With the terminating NUL, so that the end of the text ends the document. */
	rec->root = json_tokener_parse_ex(tok, text, (int)size + 1);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (end > size)
		end = size;
	if (err != json_tokener_success)
		return damaged(rec, "byte %zu: %s", end,
			       err == json_tokener_continue ? "unexpected end of data" :
							      json_tokener_error_desc(err));
	for (size_t i = end; i < size; i++)
		if (!is_json_space(text[i]))
			return damaged(rec, "byte %zu: data after the graph", i);

	if (!json_object_is_type(rec->root, json_type_object))
		return damaged(rec, "not a JSON object");
	if (!json_object_object_get_ex(rec->root, "version", &v) ||
	    !json_object_is_type(v, json_type_int))
		return damaged(rec, "no 'version'");
	if (json_object_get_int64(v) != 1)
		return damaged(rec, "version %" PRId64 " is not supported, only 1",
			       json_object_get_int64(v));
	if (!json_object_object_get_ex(rec->root, "nodes", &nodes) ||
	    !json_object_is_type(nodes, json_type_array))
		return damaged(rec, "no 'nodes' list");
	if (!json_object_object_get_ex(rec->root, "edges", &edges) ||
	    !json_object_is_type(edges, json_type_array))
		return damaged(rec, "no 'edges' list");

	rec->n_nodes = json_object_array_length(nodes);
	rec->n_edges = json_object_array_length(edges);
	rec->nodes = calloc(rec->n_nodes ? rec->n_nodes : 1, sizeof(*rec->nodes));
	rec->edges = calloc(rec->n_edges ? rec->n_edges : 1, sizeof(*rec->edges));
	if (!rec->nodes || !rec->edges)
		return -ENOMEM;
	r = hashmap_new(HASHMAP_STRING, &rec->by_id);
	if (r < 0)
		return r;

	for (size_t i = 0; i < rec->n_nodes; i++) {
		r = parse_node(rec, i, json_object_array_get_idx(nodes, i));
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < rec->n_edges; i++) {
		r = parse_edge(rec, i, json_object_array_get_idx(edges, i));
		if (r < 0)
			return r;
	}
	return check_acyclic(rec);
}

/* ---- merging ----------------------------------------------------------------------------- */

static bool is_device_id(const char *id)
{
	return startswith(id, "blk:");
}

static bool is_claimed(struct hashmap *claimed, const struct bs_node *n)
{
	return hashmap_get_u64(claimed, (uint64_t)(uintptr_t)n);
}

static int decide(struct rec_node *rn, struct bs_node *target, struct hashmap *claimed)
{
	rn->decided = true;
	rn->target = target;
	if (!target || !claimed)
		return 0;
	return hashmap_put_u64(claimed, (uint64_t)(uintptr_t)target, target);
}

/* Indexes the devices of g by each identity, before anything of the record is added. */
static int index_devices(struct record *rec, struct hashmap **index)
{
	struct bs_graph *g = rec->g;
	int r;

	for (size_t k = 0; k < ELEMENTSOF(identity_attrs); k++) {
		r = hashmap_new(HASHMAP_STRING, &index[k]);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < g->n_nodes; i++) {
		struct bs_node *n = g->nodes[i];

		if (!is_device_id(n->id))
			continue;
		for (size_t k = 0; k < ELEMENTSOF(identity_attrs); k++) {
			const char *v = n->attrs[identity_attrs[k]];
			void *other;

			if (!v)
				continue;
			other = hashmap_get_str(index[k], v);
			r = hashmap_put_str(index[k], v, other && other != n ? AMBIGUOUS : n);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Recorded devices onto the devices of g that have their identity, whatever their kernel
 * names are now: vda may be vdb after a reboot. */
static int map_by_identity(struct record *rec, struct hashmap *claimed)
{
	struct hashmap *index[ELEMENTSOF(identity_attrs)] = {};
	int r;

	r = index_devices(rec, index);
	for (size_t i = 0; r >= 0 && i < rec->n_nodes; i++) {
		struct rec_node *rn = &rec->nodes[i];

		if (!is_device_id(rn->id))
			continue;
		for (size_t k = 0; k < ELEMENTSOF(identity_attrs); k++) {
			const char *v = rn->attrs[identity_attrs[k]];
			struct bs_node *n;

			if (!v)
				continue;
			n = hashmap_get_str(index[k], v);
			if (!n || n == AMBIGUOUS || n->kind != rn->kind || is_claimed(claimed, n))
				continue;
			if (!streq(n->id, rn->id))
				bs_log_debug(rec->c, "%s: '%s' is '%s' now, by its %s '%s'",
					     rec->origin, rn->id, n->id,
					     bs_attr_to_string(identity_attrs[k]), v);
			r = decide(rn, n, claimed);
			break;
		}
	}
	for (size_t k = 0; k < ELEMENTSOF(identity_attrs); k++)
		hashmap_free(index[k]);
	return r;
}

/* The first identity that n and rn both have, with different values, or -1. */
static int identity_conflict(const struct bs_node *n, const struct rec_node *rn)
{
	for (size_t k = 0; k < ELEMENTSOF(identity_attrs); k++) {
		enum bs_attr a = identity_attrs[k];

		if (n->attrs[a] && rn->attrs[a] && !streq(n->attrs[a], rn->attrs[a]))
			return (int)a;
	}
	return -1;
}

/* A recorded device that is not here, whose kernel name another device has taken (a disk
 * missing at boot shifts the names of the disks after it): it is added as absent under an
 * id made of what identifies it, "blk:serial=ps1b" (or partuuid=, uuid_sub=), so that the
 * arrays and VGs that need it wait for it rather than forget it. Kernel names have no '='.
 * Without such an identity nothing could recognize it, and it is left out. */
static int add_displaced(struct record *rec, struct rec_node *rn)
{
	static const enum bs_attr by[] = { BS_ATTR_SERIAL, BS_ATTR_PARTUUID, BS_ATTR_UUID_SUB };
	_cleanup_free_ char *id = NULL;
	struct bs_node *n;
	int r;

	for (size_t k = 0; k < ELEMENTSOF(by) && !id; k++)
		if (rn->attrs[by[k]] && asprintf(&id, "blk:%s=%s", bs_attr_to_string(by[k]),
						 rn->attrs[by[k]]) < 0)
			return -ENOMEM;
	if (!id)
		return decide(rn, NULL, NULL);
	r = bs_graph_ensure_node(rec->g, rn->kind, id, &n);
	if (r == -EEXIST)
		return decide(rn, NULL, NULL);
	if (r < 0)
		return r;
	bs_log_debug(rec->c, "%s: '%s' is not here and its name is taken; waiting for it as '%s'",
		     rec->origin, rn->id, id);
	return decide(rn, n, NULL);
}

/* The recorded devices no identity placed: onto the device of the same kernel name, unless
 * that is evidently another device. */
static int map_devices_by_name(struct record *rec, struct hashmap *claimed)
{
	int r;

	for (size_t i = 0; i < rec->n_nodes; i++) {
		struct rec_node *rn = &rec->nodes[i];
		struct bs_node *n;
		int a;

		if (rn->decided || !is_device_id(rn->id))
			continue;
		n = bs_graph_find_node(rec->g, rn->id);
		if (!n)
			continue; /* added as absent */
		if (n->kind != rn->kind) {
			bs_log_debug(rec->c, "%s: '%s' is a %s now, not a %s; leaving it out",
				     rec->origin, rn->id, bs_node_kind_to_string(n->kind),
				     bs_node_kind_to_string(rn->kind));
			r = decide(rn, NULL, NULL);
		} else if (is_claimed(claimed, n)) {
			bs_log_debug(rec->c,
				     "%s: '%s' is another recorded device now; the one recorded "
				     "under this name is not here",
				     rec->origin, rn->id);
			r = add_displaced(rec, rn);
		} else if ((a = identity_conflict(n, rn)) >= 0) {
			bs_log_debug(rec->c,
				     "%s: '%s' has %s '%s' now, not '%s': another device; the "
				     "recorded one is not here",
				     rec->origin, rn->id, bs_attr_to_string(a), n->attrs[a],
				     rn->attrs[a]);
			r = add_displaced(rec, rn);
		} else
			r = decide(rn, n, claimed);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The id rn goes under. A swap area on a device is "swap:" and the device's id, which
 * follows the device when its kernel name changed. */
static int target_id(struct record *rec, const struct rec_node *rn, char **ret)
{
	const char *dev_id = NULL;
	struct rec_node *dev;

	if (rn->kind == BS_NODE_SWAP) {
		dev_id = startswith(rn->id, "swap:");
		dev = dev_id && is_device_id(dev_id) ? hashmap_get_str(rec->by_id, dev_id) : NULL;
		if (dev && dev->target && !streq(dev->target->id, dev_id))
			return strextend(ret, "swap:", dev->target->id, NULL);
	}
	return strextend(ret, rn->id, NULL);
}

/* Everything not placed yet goes onto the node of its id, or becomes a new, absent node. */
static int map_by_id(struct record *rec)
{
	int r;

	for (size_t i = 0; i < rec->n_nodes; i++) {
		struct rec_node *rn = &rec->nodes[i];
		_cleanup_free_ char *id = NULL;
		struct bs_node *n;

		if (rn->decided)
			continue;
		r = target_id(rec, rn, &id);
		if (r < 0)
			return r;
		r = bs_graph_ensure_node(rec->g, rn->kind, id, &n);
		if (r == -EEXIST) {
			bs_log_warn(rec->c, "%s: '%s' exists as another kind of node, ignoring",
				    rec->origin, id);
			n = NULL;
		} else if (r < 0)
			return r;
		(void)decide(rn, n, NULL);
	}
	return 0;
}

/* What the record knows and the node does not: identities and size. A recorded state,
 * kernel name and device number describe the system as it was, and so do the mount points
 * of a device; a mount node's mount point is what it is. A live device was probed just
 * now: what it lacks it does not have (a filesystem wiped since), while a live node without
 * a device, such as an inactive LV, could not show what it holds. */
static int merge_node(const struct rec_node *rn)
{
	struct bs_node *n = rn->target;
	bool probed = (n->sources & BS_SOURCE_LIVE) && n->devno != 0;
	int r;

	bs_node_add_source(n, BS_SOURCE_RECORDED);
	for (int a = 0; a < _BS_ATTR_MAX && !probed; a++) {
		/* Configuration's verdict on the system it read, not an identity. */
		if (a == BS_ATTR_UNRESOLVED || !rn->attrs[a] || n->attrs[a])
			continue;
		r = bs_node_set_attr(n, a, rn->attrs[a]);
		if (r < 0)
			return r;
	}
	if (n->size == 0)
		n->size = rn->size;
	if (n->kind == BS_NODE_MOUNT && !n->mountpoints && rn->mountpoints) {
		size_t count = json_object_array_length(rn->mountpoints);

		for (size_t i = 0; i < count; i++) {
			r = bs_node_add_mountpoint(
				n, json_object_get_string(
					   json_object_array_get_idx(rn->mountpoints, i)));
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Roles of nodes that need several members: an md array, a VG, a multi-device btrfs. */
static bool is_member_role(const char *role)
{
	return role && (streq(role, "member") || streq(role, "spare") || streq(role, "faulty") ||
			streq(role, "pv"));
}

/* A recorded edge that is to be added. */
struct candidate {
	struct bs_node *holder, *needs;
	const char *role;
};

/* Sets *ret to whether g, with the candidate edges added, has a cycle. Depth-first along
 * the needs, as check_acyclic() does on the file. g must be sorted: n->index is then the
 * position of n in g->nodes. */
static int has_cycle_with(const struct bs_graph *g, const struct candidate *cand, size_t n_cand,
			  bool *ret)
{
	enum {
		WHITE,
		GREY,
		BLACK
	};
	_cleanup_free_ size_t *first = NULL, *fill = NULL, *adjacent = NULL, *pos = NULL,
			      *stack = NULL;
	_cleanup_free_ unsigned char *color = NULL;
	size_t n = g->n_nodes;

	*ret = false;
	if (n == 0)
		return 0;
	first = calloc(n + 1, sizeof(*first));
	fill = calloc(n, sizeof(*fill));
	adjacent = calloc(n_cand ? n_cand : 1, sizeof(*adjacent));
	pos = calloc(n, sizeof(*pos));
	stack = calloc(n, sizeof(*stack));
	color = calloc(n, sizeof(*color));
	if (!first || !fill || !adjacent || !pos || !stack || !color)
		return -ENOMEM;

	/* The candidates of holder i are adjacent[first[i]] .. adjacent[first[i + 1] - 1]. */
	for (size_t i = 0; i < n_cand; i++)
		first[cand[i].holder->index + 1]++;
	for (size_t i = 0; i < n; i++)
		first[i + 1] += first[i];
	memcpy(fill, first, n * sizeof(*fill));
	for (size_t i = 0; i < n_cand; i++)
		adjacent[fill[cand[i].holder->index]++] = cand[i].needs->index;

	for (size_t start = 0; start < n; start++) {
		size_t depth = 0;

		if (color[start] != WHITE)
			continue;
		color[start] = GREY;
		stack[depth++] = start;
		while (depth > 0) {
			size_t x = stack[depth - 1], j, y;
			const struct bs_node *node = g->nodes[x];

			/* Its needs in g, then its candidates. */
			j = pos[x]++;
			if (j < node->n_needs)
				y = node->needs[j]->needs->index;
			else if (j - node->n_needs < first[x + 1] - first[x])
				y = adjacent[first[x] + j - node->n_needs];
			else {
				color[x] = BLACK;
				depth--;
				continue;
			}
			if (color[y] == GREY) {
				*ret = true;
				return 0;
			}
			if (color[y] == WHITE) {
				color[y] = GREY;
				stack[depth++] = y;
			}
		}
	}
	return 0;
}

/* Whether from reaches to along the needs of g. seen[] is stamped with stamp for each node
 * visited; stack has room for every node. */
static bool reaches(const struct bs_node *from, const struct bs_node *to, size_t *seen,
		    size_t stamp, const struct bs_node **stack)
{
	size_t depth = 0;

	seen[from->index] = stamp;
	stack[depth++] = from;
	while (depth > 0) {
		const struct bs_node *x = stack[--depth];

		if (x == to)
			return true;
		for (size_t i = 0; i < x->n_needs; i++) {
			const struct bs_node *y = x->needs[i]->needs;

			if (seen[y->index] == stamp)
				continue;
			seen[y->index] = stamp;
			stack[depth++] = y;
		}
	}
	return false;
}

/* Adds the candidates, leaving out each that would close a cycle with what g knows: the
 * record and the live system disagree then, and the live system wins. */
static int add_candidates_acyclic(struct record *rec, const struct candidate *cand, size_t n_cand,
				  size_t *added)
{
	_cleanup_free_ size_t *seen = NULL;
	_cleanup_free_ const struct bs_node **stack = NULL;
	size_t n = rec->g->n_nodes;
	int r;

	seen = calloc(n, sizeof(*seen));
	stack = calloc(n, sizeof(*stack));
	if (!seen || !stack)
		return -ENOMEM;
	for (size_t i = 0; i < n_cand; i++) {
		if (reaches(cand[i].needs, cand[i].holder, seen, i + 1, stack)) {
			bs_log_debug(rec->c,
				     "%s: '%s' needs '%s': with what is known, that would be a "
				     "cycle, ignoring",
				     rec->origin, cand[i].holder->id, cand[i].needs->id);
			continue;
		}
		r = bs_graph_add_edge(rec->g, cand[i].holder, cand[i].needs, cand[i].role);
		if (r < 0)
			return r;
		*added += (size_t)r;
	}
	return 0;
}

static int merge_edges(struct record *rec, size_t *ret_added)
{
	_cleanup_free_ struct candidate *cand = NULL;
	size_t n_cand = 0, added = 0;
	bool cycle;
	int r;

	cand = calloc(rec->n_edges ? rec->n_edges : 1, sizeof(*cand));
	if (!cand)
		return -ENOMEM;
	for (size_t i = 0; i < rec->n_edges; i++) {
		const struct rec_edge *e = &rec->edges[i];
		struct bs_node *h = e->holder->target, *n = e->needs->target;

		if (!h || !n) {
			bs_log_debug(rec->c,
				     "%s: '%s' needs '%s': one of them is left out, ignoring",
				     rec->origin, e->holder->id, e->needs->id);
			continue;
		}
		if (h == n) {
			bs_log_debug(rec->c,
				     "%s: '%s' needs '%s', which is '%s' itself now, ignoring",
				     rec->origin, e->holder->id, e->needs->id, h->id);
			continue;
		}
		/* A live node's needs are what the live sources show. Only its members that
		 * are missing now (a degraded array, a VG without one of its PVs) are known
		 * from the record alone. */
		if ((h->sources & BS_SOURCE_LIVE) &&
		    ((n->sources & BS_SOURCE_LIVE) || !is_member_role(e->role)))
			continue;
		cand[n_cand++] = (struct candidate){ h, n, e->role };
	}

	/* The record has no cycle, but merged with a system that changed since it may close
	 * one. One search over everything answers for all edges at once; only then is each
	 * edge checked on its own. */
	bs_graph_sort(rec->g);
	r = has_cycle_with(rec->g, cand, n_cand, &cycle);
	if (r < 0)
		return r;
	if (cycle)
		r = add_candidates_acyclic(rec, cand, n_cand, &added);
	else
		for (size_t i = 0; r >= 0 && i < n_cand; i++) {
			r = bs_graph_add_edge(rec->g, cand[i].holder, cand[i].needs, cand[i].role);
			if (r > 0)
				added++;
		}
	if (r < 0)
		return r;
	*ret_added = added;
	return 0;
}

static int record_merge(struct record *rec)
{
	struct hashmap *claimed = NULL;
	size_t n_merged = 0, n_added_edges = 0;
	int r;

	/* Devices first, by identity and then by name, so that a name another device took is
	 * known as taken; then everything else by id, as swap ids follow their devices. */
	r = hashmap_new(HASHMAP_U64, &claimed);
	if (r >= 0)
		r = map_by_identity(rec, claimed);
	if (r >= 0)
		r = map_devices_by_name(rec, claimed);
	hashmap_free(claimed);
	if (r >= 0)
		r = map_by_id(rec);
	for (size_t i = 0; r >= 0 && i < rec->n_nodes; i++) {
		if (!rec->nodes[i].target)
			continue;
		r = merge_node(&rec->nodes[i]);
		n_merged++;
	}
	if (r >= 0)
		r = merge_edges(rec, &n_added_edges);
	if (r < 0)
		return r;

	bs_graph_sort(rec->g);
	bs_log_debug(rec->c, "%s: %zu of %zu nodes merged, %zu edges added", rec->origin, n_merged,
		     rec->n_nodes, n_added_edges);
	return n_merged > INT_MAX ? INT_MAX : (int)n_merged;
}

int bs_recorded_merge(struct bs_graph *g, const char *origin, const char *text, size_t size)
{
	struct record rec = {
		.g = g,
		.c = g ? g->ctx : NULL,
		.origin = origin,
	};
	int r;

	if (!g || !origin || !text)
		return -EINVAL;

	/* All of it is checked before anything is merged: a damaged file adds nothing. */
	r = record_parse(&rec, text, size);
	if (r >= 0)
		r = record_merge(&rec);
	record_done(&rec);
	return r;
}

_public_ int bs_graph_add_recorded(struct bs_graph *g)
{
	_cleanup_free_ char *text = NULL, *path = NULL;
	size_t size;
	int r;

	if (!g)
		return -EINVAL;

	path = bs_sysroot_path_dup(g->ctx, BS_RECORDED_GRAPH_PATH);
	if (!path)
		return -ENOMEM;
	r = bs_sysroot_read_file_max(g->ctx, BS_RECORDED_GRAPH_PATH, RECORDED_MAX, &text, &size);
	if (r == -ENOENT) {
		bs_log_debug(g->ctx, "'%s' does not exist, no recorded graph", path);
		return 0;
	}
	if (r == -EFBIG) {
		bs_log_warn(g->ctx, "%s: larger than %zu bytes, ignoring the recorded graph", path,
			    (size_t)RECORDED_MAX);
		return r;
	}
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		bs_log_warn(g->ctx, "%s: cannot read: %s, ignoring the recorded graph", path,
			    strerror(-r));
		return r;
	}
	return bs_recorded_merge(g, path, text, size);
}

/* ---- writing ----------------------------------------------------------------------------- */

_public_ int bs_graph_record(struct bs_graph *g, const char *path)
{
	_cleanup_free_ char *json = NULL;
	int r;

	if (!g || (path && !*path))
		return -EINVAL;

	r = bs_graph_to_json(g, &json);
	if (r < 0)
		return r;
	/* A text file ends in a newline, as show --json prints it. */
	r = strextend(&json, "\n", NULL);
	if (r < 0)
		return r;

	if (path)
		r = write_file_atomic_at(AT_FDCWD, path, json, strlen(json), RECORDED_MODE);
	else
		r = bs_sysroot_write_file_atomic(g->ctx, BS_RECORDED_GRAPH_PATH, json, strlen(json),
						 RECORDED_MODE);
	if (r < 0)
		bs_log_debug(g->ctx, "writing the recorded graph to '%s' failed: %s",
			     path ? path : BS_RECORDED_GRAPH_PATH, strerror(-r));
	else
		bs_log_debug(g->ctx, "recorded %zu nodes and %zu edges to '%s'", g->n_nodes,
			     g->n_edges, path ? path : BS_RECORDED_GRAPH_PATH);
	return r;
}
