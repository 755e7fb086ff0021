/* The graph: nodes, edges, their lookups, stable order, and its JSON form. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "graph.h"
#include "hashmap.h"
#include "strv.h"
#include "util.h"

static const char *const kind_names[_BS_NODE_KIND_MAX] = {
	[BS_NODE_DISK] = "disk",       [BS_NODE_PART] = "part",	  [BS_NODE_MD] = "md",
	[BS_NODE_CRYPT] = "crypt",     [BS_NODE_VG] = "vg",	  [BS_NODE_LV] = "lv",
	[BS_NODE_DM] = "dm",	       [BS_NODE_LOOP] = "loop",	  [BS_NODE_NBD] = "nbd",
	[BS_NODE_ISCSI] = "iscsi",     [BS_NODE_DRBD] = "drbd",	  [BS_NODE_MPATH] = "mpath",
	[BS_NODE_BTRFS] = "btrfs",     [BS_NODE_MOUNT] = "mount", [BS_NODE_SWAP] = "swap",
	[BS_NODE_NETWORK] = "network",
};

static const char *const state_names[_BS_STATE_MAX] = {
	[BS_STATE_ABSENT] = "absent",
	[BS_STATE_PRESENT] = "present",
	[BS_STATE_ACTIVE] = "active",
	[BS_STATE_MOUNTED] = "mounted",
};

static const char *const attr_names[_BS_ATTR_MAX] = {
	[BS_ATTR_UUID] = "uuid",
	[BS_ATTR_UUID_SUB] = "uuid_sub",
	[BS_ATTR_LABEL] = "label",
	[BS_ATTR_FSTYPE] = "fstype",
	[BS_ATTR_PARTUUID] = "partuuid",
	[BS_ATTR_PARTLABEL] = "partlabel",
	[BS_ATTR_SERIAL] = "serial",
	[BS_ATTR_DM_NAME] = "dm_name",
	[BS_ATTR_DM_UUID] = "dm_uuid",
	[BS_ATTR_MD_UUID] = "md_uuid",
	[BS_ATTR_MD_NAME] = "md_name",
	[BS_ATTR_MD_LEVEL] = "md_level",
	[BS_ATTR_VG_UUID] = "vg_uuid",
	[BS_ATTR_LV_UUID] = "lv_uuid",
	[BS_ATTR_BACKING_FILE] = "backing_file",
	[BS_ATTR_SOURCE] = "source",
	[BS_ATTR_OPTIONS] = "options",
	[BS_ATTR_TIMEOUT] = "timeout",
	[BS_ATTR_MODALIAS] = "modalias",
	[BS_ATTR_CIPHER] = "cipher",
	[BS_ATTR_UNRESOLVED] = "unresolved",
};

static const char *const source_names[] = { "live", "config", "recorded", "manifest" };

static int string_index(const char *const *table, int n, const char *s)
{
	if (!s)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (table[i] && streq(table[i], s))
			return i;
	return -EINVAL;
}

_public_ const char *bs_node_kind_to_string(enum bs_node_kind k)
{
	return k >= 0 && k < _BS_NODE_KIND_MAX ? kind_names[k] : NULL;
}

_public_ enum bs_node_kind bs_node_kind_from_string(const char *s)
{
	return string_index(kind_names, _BS_NODE_KIND_MAX, s);
}

_public_ const char *bs_node_state_to_string(enum bs_node_state s)
{
	return s >= 0 && s < _BS_STATE_MAX ? state_names[s] : NULL;
}

_public_ enum bs_node_state bs_node_state_from_string(const char *s)
{
	return string_index(state_names, _BS_STATE_MAX, s);
}

const char *bs_attr_to_string(enum bs_attr a)
{
	return a >= 0 && a < _BS_ATTR_MAX ? attr_names[a] : NULL;
}

enum bs_attr bs_attr_from_string(const char *s)
{
	return string_index(attr_names, _BS_ATTR_MAX, s);
}

/* ---- lifetime ---------------------------------------------------------------------------- */

_public_ int bs_graph_new(struct bs_ctx *c, struct bs_graph **ret)
{
	struct bs_graph *g;
	int r;

	if (!c || !ret)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->n_ref = 1;
	g->sorted = true;
	r = hashmap_new(HASHMAP_STRING, &g->by_id);
	if (r >= 0)
		r = hashmap_new(HASHMAP_U64, &g->by_devno);
	if (r >= 0)
		r = hashmap_new(HASHMAP_STRING, &g->by_name);
	for (int a = 0; r >= 0 && a < _BS_ATTR_MAX; a++)
		r = hashmap_new(HASHMAP_STRING, &g->by_attr[a]);
	if (r < 0) {
		g->ctx = NULL;
		bs_graph_unref(g);
		return r;
	}
	g->ctx = bs_ctx_ref(c);
	*ret = g;
	return 0;
}

_public_ struct bs_graph *bs_graph_ref(struct bs_graph *g)
{
	if (g)
		g->n_ref++;
	return g;
}

static void node_free(struct bs_node *n)
{
	bs_layer_config_free(n->config);
	free(n->id);
	free(n->name);
	for (int a = 0; a < _BS_ATTR_MAX; a++)
		free(n->attrs[a]);
	strv_free(n->mountpoints);
	free(n->needs);
	free(n->holders);
	free(n);
}

_public_ struct bs_graph *bs_graph_unref(struct bs_graph *g)
{
	if (!g || --g->n_ref > 0)
		return NULL;
	for (size_t i = 0; i < g->n_edges; i++) {
		free(g->edges[i]->role);
		free(g->edges[i]->origin_file);
		free(g->edges[i]);
	}
	free(g->edges);
	for (size_t i = 0; i < g->n_nodes; i++)
		node_free(g->nodes[i]);
	free(g->nodes);
	hashmap_free(g->by_id);
	hashmap_free(g->by_devno);
	hashmap_free(g->by_name);
	for (int a = 0; a < _BS_ATTR_MAX; a++)
		hashmap_free(g->by_attr[a]);
	for (size_t i = 0; i < g->n_retired; i++)
		free(g->retired[i]);
	free(g->retired);
	bs_ctx_unref(g->ctx);
	free(g);
	return NULL;
}

/* ---- nodes ------------------------------------------------------------------------------- */

int bs_graph_ensure_node(struct bs_graph *g, enum bs_node_kind kind, const char *id,
			 struct bs_node **ret)
{
	struct bs_node *n;
	int r;

	if (!g || !id || !*id || kind < 0 || kind >= _BS_NODE_KIND_MAX)
		return -EINVAL;
	n = bs_graph_find_node(g, id);
	if (n) {
		if (n->kind != kind)
			return -EEXIST;
		if (ret)
			*ret = n;
		return 0;
	}

	r = ARRAY_RESERVE(g->nodes, g->allocated_nodes, g->n_nodes);
	if (r < 0)
		return r;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->id = strdup(id);
	if (!n->id) {
		free(n);
		return -ENOMEM;
	}
	n->graph = g;
	n->kind = kind;
	n->state = BS_STATE_ABSENT;
	r = hashmap_put_str(g->by_id, n->id, n);
	if (r < 0) {
		node_free(n);
		return r;
	}
	g->nodes[g->n_nodes++] = n;
	g->sorted = false;
	if (ret)
		*ret = n;
	return 1;
}

/* Replaces *p, a name or attribute value that a lookup map may hold as its key, with a copy
 * of value (NULL for none). The old string is kept until the graph is freed, as the map's
 * key would dangle otherwise. */
static int replace_key_string(struct bs_graph *g, char **p, const char *value)
{
	char *copy = NULL;
	int r;

	if (value) {
		copy = strdup(value);
		if (!copy)
			return -ENOMEM;
	}
	if (*p) {
		r = ARRAY_RESERVE(g->retired, g->allocated_retired, g->n_retired);
		if (r < 0) {
			free(copy);
			return r;
		}
		g->retired[g->n_retired++] = *p;
	}
	*p = copy;
	return 0;
}

int bs_graph_rename_node(struct bs_graph *g, struct bs_node *n, const char *id)
{
	struct bs_node *other;
	int r;

	if (!g || !n || n->graph != g || !id || !*id)
		return -EINVAL;
	other = bs_graph_find_node(g, id);
	if (other)
		return other == n ? 0 : -EEXIST;
	/* The old id stays a key of by_id, pointing here: lookups check the id they find. */
	r = replace_key_string(g, &n->id, id);
	if (r < 0)
		return r;
	r = hashmap_put_str(g->by_id, n->id, n);
	if (r < 0)
		return r;
	g->sorted = false;
	return 0;
}

int bs_node_set_block(struct bs_node *n, const char *name, dev_t devno)
{
	struct bs_graph *g = n->graph;
	int r;

	if (name) {
		if (!n->name || !streq(n->name, name)) {
			r = replace_key_string(g, &n->name, name);
			if (r < 0)
				return r;
		}
		r = hashmap_put_str(g->by_name, n->name, n);
		if (r < 0)
			return r;
	}
	if (devno != 0) {
		n->devno = devno;
		snprintf(n->devno_str, sizeof(n->devno_str), "%u:%u", major(devno), minor(devno));
		r = hashmap_put_u64(g->by_devno, devno, n);
		if (r < 0)
			return r;
	}
	return 0;
}

int bs_node_set_attr(struct bs_node *n, enum bs_attr a, const char *value)
{
	struct bs_graph *g = n->graph;
	int r;

	if (a < 0 || a >= _BS_ATTR_MAX)
		return -EINVAL;
	if (!value || !*value)
		return replace_key_string(g, &n->attrs[a], NULL);
	if (n->attrs[a] && streq(n->attrs[a], value))
		return 0;
	r = replace_key_string(g, &n->attrs[a], value);
	if (r < 0)
		return r;
	/* The first holder of a value keeps the index entry, unless it no longer has it. */
	struct bs_node *other = hashmap_get_str(g->by_attr[a], value);
	if (!other || !other->attrs[a] || !streq(other->attrs[a], value))
		return hashmap_put_str(g->by_attr[a], n->attrs[a], n);
	return 0;
}

const char *bs_node_attr(const struct bs_node *n, enum bs_attr a)
{
	return n && a >= 0 && a < _BS_ATTR_MAX ? n->attrs[a] : NULL;
}

int bs_node_add_mountpoint(struct bs_node *n, const char *path)
{
	if (!path)
		return -EINVAL;
	if (strv_contains(n->mountpoints, path))
		return 0;
	return strv_extend(&n->mountpoints, path);
}

void bs_node_raise_state(struct bs_node *n, enum bs_node_state s)
{
	if (s > n->state && s < _BS_STATE_MAX)
		n->state = s;
}

void bs_node_add_source(struct bs_node *n, enum bs_source s)
{
	n->sources |= s;
}

/* ---- lookups ----------------------------------------------------------------------------- */

_public_ struct bs_node *bs_graph_find_node(const struct bs_graph *g, const char *id)
{
	struct bs_node *n = g && id ? hashmap_get_str(g->by_id, id) : NULL;

	/* A renamed node is still found under its old id, which it no longer has. */
	return n && streq(n->id, id) ? n : NULL;
}

struct bs_node *bs_graph_find_devno(const struct bs_graph *g, dev_t devno)
{
	return g && devno ? hashmap_get_u64(g->by_devno, devno) : NULL;
}

struct bs_node *bs_graph_find_kernel_name(const struct bs_graph *g, const char *name)
{
	return g ? hashmap_get_str(g->by_name, name) : NULL;
}

struct bs_node *bs_graph_find_attr(const struct bs_graph *g, enum bs_attr attr, const char *value)
{
	struct bs_node *n;

	if (!g || attr < 0 || attr >= _BS_ATTR_MAX || !value)
		return NULL;
	n = hashmap_get_str(g->by_attr[attr], value);
	/* A value never set is not in the index: no node has it. */
	if (!n)
		return NULL;
	if (n->attrs[attr] && streq(n->attrs[attr], value))
		return n;
	/* The indexed node changed its value since: another may have it, look the slow way. */
	for (size_t i = 0; i < g->n_nodes; i++)
		if (g->nodes[i]->attrs[attr] && streq(g->nodes[i]->attrs[attr], value))
			return g->nodes[i];
	return NULL;
}

/* /dev/disk/by-X/VALUE: udev's escaping (\x2f for '/') undone, the rest as is. */
static struct bs_node *find_by_link(const struct bs_graph *g, enum bs_attr attr, const char *value)
{
	_cleanup_free_ char *unescaped = strdup(value);
	char *w;

	if (!unescaped)
		return NULL;
	w = unescaped;
	for (const char *p = value; *p; p++) {
		/* Only a complete "\xHH" is an escape; anything else is copied as it is. */
		int x = unhex_escape(p);

		if (x > 0) {
			*w++ = (char)x;
			p += 3;
		} else
			*w++ = *p;
	}
	*w = '\0';
	return bs_graph_find_attr(g, attr, unescaped);
}

struct bs_node *bs_graph_find_dev_path(const struct bs_graph *g, const char *path)
{
	static const struct {
		const char *prefix;
		enum bs_attr attr;
	} by_links[] = {
		{ "/dev/disk/by-uuid/", BS_ATTR_UUID },
		{ "/dev/disk/by-label/", BS_ATTR_LABEL },
		{ "/dev/disk/by-partuuid/", BS_ATTR_PARTUUID },
		{ "/dev/disk/by-partlabel/", BS_ATTR_PARTLABEL },
	};
	const char *rest;

	if (!g || !path)
		return NULL;
	rest = startswith(path, "/dev/");
	if (!rest)
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(by_links); i++) {
		const char *v = startswith(path, by_links[i].prefix);

		if (v)
			return find_by_link(g, by_links[i].attr, v);
	}
	if ((rest = startswith(path, "/dev/disk/by-id/"))) {
		/* by-id names end in the serial: virtio-SERIAL, ata-MODEL_SERIAL, ... */
		const char *serial = strrchr(rest, '-');

		return find_by_link(g, BS_ATTR_SERIAL, serial ? serial + 1 : rest);
	}
	if ((rest = startswith(path, "/dev/mapper/")))
		return bs_graph_find_attr(g, BS_ATTR_DM_NAME, rest);
	if ((rest = startswith(path, "/dev/md/")))
		return bs_graph_find_attr(g, BS_ATTR_MD_NAME, rest);

	rest = path + strlen("/dev/");
	if (!strchr(rest, '/'))
		return bs_graph_find_kernel_name(g, rest);

	/* /dev/VG/LV */
	_cleanup_free_ char *id = NULL;
	if (strextend(&id, "lv:", rest, NULL) < 0)
		return NULL;
	return bs_graph_find_node(g, id);
}

struct bs_node *bs_graph_find_spec(const struct bs_graph *g, const char *spec)
{
	static const struct {
		const char *prefix;
		enum bs_attr attr;
	} tags[] = {
		{ "UUID=", BS_ATTR_UUID },
		{ "LABEL=", BS_ATTR_LABEL },
		{ "PARTUUID=", BS_ATTR_PARTUUID },
		{ "PARTLABEL=", BS_ATTR_PARTLABEL },
	};

	if (!g || !spec)
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(tags); i++) {
		const char *v = startswith(spec, tags[i].prefix);

		if (v)
			return bs_graph_find_attr(g, tags[i].attr, v);
	}
	return bs_graph_find_dev_path(g, spec);
}

/* ---- edges ------------------------------------------------------------------------------- */

int bs_graph_add_edge(struct bs_graph *g, struct bs_node *holder, struct bs_node *needs,
		      const char *role)
{
	struct bs_edge *e;
	int r;

	if (!g || !holder || !needs || holder == needs || holder->graph != g || needs->graph != g)
		return -EINVAL;
	for (size_t i = 0; i < holder->n_needs; i++)
		if (holder->needs[i]->needs == needs)
			return 0;

	r = ARRAY_RESERVE(g->edges, g->allocated_edges, g->n_edges);
	if (r >= 0)
		r = ARRAY_RESERVE(holder->needs, holder->allocated_needs, holder->n_needs);
	if (r >= 0)
		r = ARRAY_RESERVE(needs->holders, needs->allocated_holders, needs->n_holders);
	if (r < 0)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->role = strdup(role ? role : "needs");
	if (!e->role) {
		free(e);
		return -ENOMEM;
	}
	e->holder = holder;
	e->needs = needs;
	g->edges[g->n_edges++] = e;
	holder->needs[holder->n_needs++] = e;
	needs->holders[needs->n_holders++] = e;
	g->sorted = false;
	return 1;
}

static void remove_from(struct bs_edge **list, size_t *n, const struct bs_edge *e)
{
	for (size_t i = 0; i < *n; i++)
		if (list[i] == e) {
			memmove(list + i, list + i + 1, (*n - i - 1) * sizeof(*list));
			(*n)--;
			return;
		}
}

void bs_graph_remove_needs(struct bs_graph *g, struct bs_node *holder, const char *role)
{
	for (size_t i = holder->n_needs; i-- > 0;) {
		struct bs_edge *e = holder->needs[i];

		if (role && !streq(e->role, role))
			continue;
		remove_from(holder->needs, &holder->n_needs, e);
		remove_from(e->needs->holders, &e->needs->n_holders, e);
		remove_from(g->edges, &g->n_edges, e);
		free(e->role);
		free(e->origin_file);
		free(e);
	}
}

/* ---- order ------------------------------------------------------------------------------- */

static int cmp_nodes(const void *a, const void *b)
{
	return strcmp((*(struct bs_node *const *)a)->id, (*(struct bs_node *const *)b)->id);
}

static int cmp_edges(const void *a, const void *b)
{
	const struct bs_edge *x = *(struct bs_edge *const *)a, *y = *(struct bs_edge *const *)b;
	int c = strcmp(x->holder->id, y->holder->id);

	return c ? c : strcmp(x->needs->id, y->needs->id);
}

static int cmp_holder_edges(const void *a, const void *b)
{
	const struct bs_edge *x = *(struct bs_edge *const *)a, *y = *(struct bs_edge *const *)b;

	return strcmp(x->holder->id, y->holder->id);
}

/* qsort() of an empty array may not be given NULL; most nodes have no edges one way. */
static void sort_ptrs(void *array, size_t n, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(array, n, sizeof(void *), cmp);
}

void bs_graph_sort(struct bs_graph *g)
{
	if (g->sorted)
		return;
	sort_ptrs(g->nodes, g->n_nodes, cmp_nodes);
	sort_ptrs(g->edges, g->n_edges, cmp_edges);
	for (size_t i = 0; i < g->n_nodes; i++) {
		struct bs_node *n = g->nodes[i];

		n->index = i;
		/* Both orders are by the other end's id; cmp_edges sorts needs lists so, as
		 * they share the holder. */
		sort_ptrs(n->needs, n->n_needs, cmp_edges);
		sort_ptrs(n->holders, n->n_holders, cmp_holder_edges);
	}
	g->sorted = true;
}

/* Getters hand out the stable order; sorting is deferred to the first one that needs it. */
static void ensure_sorted(const struct bs_graph *g)
{
	if (g && !g->sorted)
		bs_graph_sort((struct bs_graph *)g);
}

/* ---- queries ----------------------------------------------------------------------------- */

struct bs_node *bs_node_need_with_role(const struct bs_node *n, const char *role)
{
	for (size_t i = 0; i < n->n_needs; i++)
		if (streq(n->needs[i]->role, role))
			return n->needs[i]->needs;
	return NULL;
}

static bool node_needs(const struct bs_node *holder, const struct bs_node *n)
{
	for (size_t i = 0; i < holder->n_needs; i++)
		if (holder->needs[i]->needs == n)
			return true;
	return false;
}

struct bs_node *bs_graph_find_mount_holding(const struct bs_graph *g, const char *path,
					    const struct bs_node *exclude, bool skip_holders)
{
	_cleanup_free_ char *id = NULL;
	size_t len;

	if (!g || !path || path[0] != '/' || asprintf(&id, "mnt:%s", path) < 0)
		return NULL;
	/* id is "mnt:" + path; cut it back one component at a time, down to "mnt:/". */
	len = strlen(id);
	while (len > 5 && id[len - 1] == '/')
		id[--len] = '\0';
	for (;;) {
		struct bs_node *n = bs_graph_find_node(g, id);

		if (n && n->kind == BS_NODE_MOUNT && n != exclude &&
		    !(skip_holders && exclude && node_needs(n, exclude)))
			return n;
		if (len <= 5)
			return NULL;
		while (len > 5 && id[len - 1] != '/')
			len--;
		/* Keep the slash only for the root itself. */
		if (len > 5)
			len--;
		id[len] = '\0';
	}
}

/* ---- getters ----------------------------------------------------------------------------- */

_public_ size_t bs_graph_get_n_nodes(const struct bs_graph *g)
{
	return g ? g->n_nodes : 0;
}

_public_ struct bs_node *bs_graph_get_node(const struct bs_graph *g, size_t i)
{
	if (!g || i >= g->n_nodes)
		return NULL;
	ensure_sorted(g);
	return g->nodes[i];
}

_public_ size_t bs_graph_get_n_edges(const struct bs_graph *g)
{
	return g ? g->n_edges : 0;
}

_public_ struct bs_edge *bs_graph_get_edge(const struct bs_graph *g, size_t i)
{
	if (!g || i >= g->n_edges)
		return NULL;
	ensure_sorted(g);
	return g->edges[i];
}

_public_ const char *bs_node_get_id(const struct bs_node *n)
{
	return n ? n->id : NULL;
}

_public_ enum bs_node_kind bs_node_get_kind(const struct bs_node *n)
{
	return n ? n->kind : _BS_NODE_KIND_INVALID;
}

_public_ const char *bs_node_get_name(const struct bs_node *n)
{
	return n ? n->name : NULL;
}

_public_ const char *bs_node_get_devno(const struct bs_node *n)
{
	return n && n->devno ? n->devno_str : NULL;
}

_public_ uint64_t bs_node_get_size(const struct bs_node *n)
{
	return n ? n->size : 0;
}

_public_ enum bs_node_state bs_node_get_state(const struct bs_node *n)
{
	return n ? n->state : _BS_STATE_INVALID;
}

_public_ unsigned bs_node_get_sources(const struct bs_node *n)
{
	return n ? n->sources : 0;
}

_public_ const char *bs_node_get_attr(const struct bs_node *n, const char *key)
{
	enum bs_attr a = bs_attr_from_string(key);

	return a < 0 ? NULL : bs_node_attr(n, a);
}

_public_ const char *bs_node_get_unresolved(const struct bs_node *n)
{
	return bs_node_attr(n, BS_ATTR_UNRESOLVED);
}

_public_ char *const *bs_node_get_mountpoints(const struct bs_node *n)
{
	static char *const empty[] = { NULL };

	return n && n->mountpoints ? n->mountpoints : empty;
}

_public_ size_t bs_node_get_n_needs(const struct bs_node *n)
{
	return n ? n->n_needs : 0;
}

_public_ struct bs_edge *bs_node_get_need(const struct bs_node *n, size_t i)
{
	if (!n || i >= n->n_needs)
		return NULL;
	ensure_sorted(n->graph);
	return n->needs[i];
}

_public_ size_t bs_node_get_n_holders(const struct bs_node *n)
{
	return n ? n->n_holders : 0;
}

_public_ struct bs_edge *bs_node_get_holder(const struct bs_node *n, size_t i)
{
	if (!n || i >= n->n_holders)
		return NULL;
	ensure_sorted(n->graph);
	return n->holders[i];
}

_public_ struct bs_node *bs_edge_get_holder(const struct bs_edge *e)
{
	return e ? e->holder : NULL;
}

_public_ struct bs_node *bs_edge_get_needs(const struct bs_edge *e)
{
	return e ? e->needs : NULL;
}

_public_ const char *bs_edge_get_role(const struct bs_edge *e)
{
	return e ? e->role : NULL;
}

/* ---- JSON -------------------------------------------------------------------------------- */

int bs_json_format(struct json_object *o, char **ret)
{
	char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_SPACED |
								   JSON_C_TO_STRING_NOSLASHESCAPE));

	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int bs_json_add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

int bs_json_add_string(json_object *o, const char *key, const char *value, bool null_if_missing)
{
	if (!value) /* json-c's null is the NULL object */
		return null_if_missing && json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
	return bs_json_add(o, key, json_object_new_string(value));
}

static int node_to_json(const struct bs_node *n, json_object **ret)
{
	json_object *o = json_object_new_object(), *list;
	int r;

	if (!o)
		return -ENOMEM;
	r = bs_json_add_string(o, "id", n->id, false);
	if (r >= 0)
		r = bs_json_add_string(o, "kind", kind_names[n->kind], false);
	if (r >= 0)
		r = bs_json_add_string(o, "name", n->name, false);
	if (r >= 0 && n->devno)
		r = bs_json_add_string(o, "devno", n->devno_str, false);
	if (r >= 0 && n->size)
		r = bs_json_add(o, "size", json_object_new_uint64(n->size));
	for (int a = 0; r >= 0 && a < _BS_ATTR_MAX; a++)
		r = bs_json_add_string(o, attr_names[a], n->attrs[a], false);
	if (r >= 0) {
		list = json_object_new_array();
		r = bs_json_add(o, "mountpoints", list);
		for (char *const *m = bs_node_get_mountpoints(n); r >= 0 && *m; m++)
			r = json_object_array_add(list, json_object_new_string(*m)) < 0 ? -ENOMEM :
											  0;
	}
	if (r >= 0)
		r = bs_json_add_string(o, "state", state_names[n->state], false);
	if (r >= 0) {
		list = json_object_new_array();
		r = bs_json_add(o, "sources", list);
		for (size_t i = 0; r >= 0 && i < ELEMENTSOF(source_names); i++)
			if (n->sources & (1u << i))
				r = json_object_array_add(
					    list, json_object_new_string(source_names[i])) < 0 ?
					    -ENOMEM :
					    0;
	}
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*ret = o;
	return 0;
}

int bs_graph_to_json_object(const struct bs_graph *g, const bool *keep, json_object **ret)
{
	json_object *root, *nodes, *edges;
	int r;

	if (!g || !ret)
		return -EINVAL;
	ensure_sorted(g);
	root = json_object_new_object();
	if (!root)
		return -ENOMEM;
	nodes = json_object_new_array_ext((int)g->n_nodes);
	edges = json_object_new_array_ext((int)g->n_edges);
	r = bs_json_add(root, "version", json_object_new_int(1));
	if (r >= 0)
		r = bs_json_add(root, "nodes", nodes);
	else
		json_object_put(nodes);
	if (r >= 0)
		r = bs_json_add(root, "edges", edges);
	else
		json_object_put(edges);

	for (size_t i = 0; r >= 0 && i < g->n_nodes; i++) {
		json_object *o;

		if (keep && !keep[g->nodes[i]->index])
			continue;
		r = node_to_json(g->nodes[i], &o);
		if (r >= 0 && json_object_array_add(nodes, o) < 0) {
			json_object_put(o);
			r = -ENOMEM;
		}
	}
	for (size_t i = 0; r >= 0 && i < g->n_edges; i++) {
		const struct bs_edge *e = g->edges[i];
		json_object *o;

		/* A subset keeps its own edges, and none that only the initramfs meets. */
		if (keep && (!keep[e->holder->index] || !keep[e->needs->index] || e->carried))
			continue;
		o = json_object_new_object();
		if (!o) {
			r = -ENOMEM;
			break;
		}
		r = bs_json_add_string(o, "holder", g->edges[i]->holder->id, false);
		if (r >= 0)
			r = bs_json_add_string(o, "needs", g->edges[i]->needs->id, false);
		if (r >= 0)
			r = bs_json_add_string(o, "role", g->edges[i]->role, false);
		if (r >= 0 && g->edges[i]->carried &&
		    json_object_object_add(o, "carried", json_object_new_boolean(true)) < 0)
			r = -ENOMEM;
		if (r >= 0 && json_object_array_add(edges, o) < 0)
			r = -ENOMEM;
		if (r < 0)
			json_object_put(o);
	}
	if (r < 0) {
		json_object_put(root);
		return r;
	}
	*ret = root;
	return 0;
}

_public_ int bs_graph_to_json(const struct bs_graph *g, char **ret)
{
	json_object *root;
	int r;

	if (!ret)
		return -EINVAL;
	r = bs_graph_to_json_object(g, NULL, &root);
	if (r < 0)
		return r;
	r = bs_json_format(root, ret);
	json_object_put(root);
	if (r < 0)
		return r;
	return 0;
}
