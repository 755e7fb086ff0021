/* What an initramfs needs: the root set's closure, the kinds in it, and the lines that say so. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "kind.h"
#include "strv.h"
#include "util.h"

/*
 * A pure function of the graph, like the planner: the root set is root (a mount point), /usr
 * when the graph has it as a mount, the resume device, and what --also names; its closure is
 * everything they need, transitively, along every edge but those the initramfs carries (a
 * key file on root for a layer below it: the image holds that file). A VG needs every PV, so
 * a VG in the closure brings all of them.
 */
struct bs_needs {
	unsigned n_ref;
	struct bs_graph *graph;
	struct bs_node *root, *resume;
	struct bs_node **nodes; /* sorted by id */
	size_t n_nodes;
	struct bs_node **targets; /* root, /usr, resume, also: the root set */
	size_t n_targets, allocated_targets;
	struct bs_edge **key_files; /* carried key-file edges of the closure */
	size_t n_key_files, allocated_key_files;
};

static struct bs_node *find_target(struct bs_graph *g, const char *t)
{
	_cleanup_free_ char *id = NULL;
	struct bs_node *n;

	if (!t)
		return NULL;
	n = bs_graph_find_node(g, t);
	if (n)
		return n;
	if (t[0] == '/' && !startswith(t, "/dev/")) {
		size_t l = strlen(t);

		while (l > 1 && t[l - 1] == '/')
			l--;
		if (asprintf(&id, "mnt:%.*s", (int)l, t) < 0)
			return NULL;
		return bs_graph_find_node(g, id);
	}
	return bs_graph_find_spec(g, t);
}

static int add_target(struct bs_needs *n, struct bs_node *t)
{
	for (size_t i = 0; i < n->n_targets; i++)
		if (n->targets[i] == t)
			return 0;
	if (ARRAY_RESERVE(n->targets, n->allocated_targets, n->n_targets) < 0)
		return -ENOMEM;
	n->targets[n->n_targets++] = t;
	return 0;
}

static int cmp_nodes(const void *a, const void *b)
{
	return strcmp((*(struct bs_node *const *)a)->id, (*(struct bs_node *const *)b)->id);
}

static int walk(struct bs_needs *n)
{
	struct bs_graph *g = n->graph;
	_cleanup_free_ bool *seen = calloc(g->n_nodes ? g->n_nodes : 1, sizeof(bool));
	_cleanup_free_ struct bs_node **stack = malloc(sizeof(*stack) * (g->n_nodes + 1));
	size_t depth = 0;

	if (!seen || !stack)
		return -ENOMEM;
	bs_graph_sort(g);
	n->nodes = calloc(g->n_nodes ? g->n_nodes : 1, sizeof(*n->nodes));
	if (!n->nodes)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_targets; i++)
		if (!seen[n->targets[i]->index]) {
			seen[n->targets[i]->index] = true;
			stack[depth++] = n->targets[i];
		}
	while (depth > 0) {
		struct bs_node *x = stack[--depth];

		n->nodes[n->n_nodes++] = x;
		for (size_t i = 0; i < x->n_needs; i++) {
			struct bs_edge *e = x->needs[i];

			if (e->carried) {
				if (ARRAY_RESERVE(n->key_files, n->allocated_key_files,
						  n->n_key_files) < 0)
					return -ENOMEM;
				n->key_files[n->n_key_files++] = e;
				continue;
			}
			if (seen[e->needs->index])
				continue;
			seen[e->needs->index] = true;
			stack[depth++] = e->needs;
		}
	}
	qsort(n->nodes, n->n_nodes, sizeof(*n->nodes), cmp_nodes);
	return 0;
}

_public_ int bs_needs_new(struct bs_graph *g, const char *root, const char *resume,
			  const char *const *also, struct bs_needs **ret)
{
	struct bs_needs *n;
	struct bs_node *usr;
	int r;

	if (!g || !ret)
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->n_ref = 1;
	n->graph = bs_graph_ref(g);

	n->root = find_target(g, root ? root : "/");
	if (!n->root || n->root->kind != BS_NODE_MOUNT) {
		bs_log_err(g->ctx, "'%s' is no mount point the graph knows (fstab or a live mount)",
			   root ? root : "/");
		r = -ENOENT;
		goto fail;
	}
	n->resume = resume ? find_target(g, resume) : g->resume;
	if (resume && !n->resume) {
		bs_log_err(g->ctx, "resume device '%s' is no device the graph knows", resume);
		r = -ENOENT;
		goto fail;
	}
	r = add_target(n, n->root);
	usr = bs_graph_find_node(g, "mnt:/usr");
	if (r >= 0 && usr && streq(n->root->id, "mnt:/"))
		r = add_target(n, usr);
	if (r >= 0 && n->resume)
		r = add_target(n, n->resume);
	for (const char *const *a = also; r >= 0 && a && *a; a++) {
		struct bs_node *t = find_target(g, *a);

		if (!t) {
			bs_log_err(g->ctx, "'%s' (--also) names no node, mount point or device",
				   *a);
			r = -ENOENT;
			goto fail;
		}
		r = add_target(n, t);
	}
	if (r >= 0)
		r = walk(n);
	if (r < 0)
		goto fail;
	*ret = n;
	return 0;
fail:
	bs_needs_unref(n);
	return r;
}

_public_ struct bs_needs *bs_needs_unref(struct bs_needs *n)
{
	if (!n || --n->n_ref > 0)
		return NULL;
	bs_graph_unref(n->graph);
	free(n->nodes);
	free(n->targets);
	free(n->key_files);
	free(n);
	return NULL;
}

_public_ size_t bs_needs_get_n_nodes(const struct bs_needs *n)
{
	return n ? n->n_nodes : 0;
}

_public_ struct bs_node *bs_needs_get_node(const struct bs_needs *n, size_t i)
{
	return n && i < n->n_nodes ? n->nodes[i] : NULL;
}

_public_ struct bs_graph *bs_needs_get_graph(const struct bs_needs *n)
{
	return n ? n->graph : NULL;
}

_public_ size_t bs_needs_get_n_root_set(const struct bs_needs *n)
{
	return n ? n->n_targets : 0;
}

_public_ struct bs_node *bs_needs_get_root_set(const struct bs_needs *n, size_t i)
{
	return n && i < n->n_targets ? n->targets[i] : NULL;
}

_public_ struct bs_node *bs_needs_get_resume(const struct bs_needs *n)
{
	return n ? n->resume : NULL;
}

_public_ bool bs_needs_has_kind(const struct bs_needs *n, enum bs_node_kind k)
{
	for (size_t i = 0; n && i < n->n_nodes; i++)
		if (n->nodes[i]->kind == k)
			return true;
	return false;
}

/* What a device of the closure is waited for by: identities that name it across boots, never
 * its kernel name (a disk's serial, a partition's PARTUUID, a member's UUID_SUB, a UUID). */
static const enum bs_attr wait_attrs[] = {
	BS_ATTR_SERIAL,	 BS_ATTR_PARTUUID, BS_ATTR_UUID_SUB, BS_ATTR_UUID,   BS_ATTR_MD_UUID,
	BS_ATTR_VG_UUID, BS_ATTR_LV_UUID,  BS_ATTR_LABEL,    BS_ATTR_FSTYPE, BS_ATTR_DM_NAME,
};

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)

static int node_json(const struct bs_node *x, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object(),
						*ids = json_object_new_object();
	int r;

	if (!o || !ids)
		return -ENOMEM;
	r = bs_json_add_string(o, "id", x->id, true);
	if (r >= 0)
		r = bs_json_add_string(o, "kind", bs_node_kind_to_string(x->kind), true);
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(wait_attrs); i++)
		if (x->attrs[wait_attrs[i]])
			r = bs_json_add_string(ids, bs_attr_to_string(wait_attrs[i]),
					       x->attrs[wait_attrs[i]], true);
	if (r < 0 || json_object_object_add(o, "identities", json_object_get(ids)) < 0)
		return -ENOMEM;
	if (x->config) {
		json_object *c = json_object_new_object();

		if (!c || json_object_object_add(o, "config", c) < 0) {
			json_object_put(c);
			return -ENOMEM;
		}
		r = bs_json_add_string(c, "file", x->config->file, true);
		if (r >= 0 &&
		    json_object_object_add(c, "line", json_object_new_int64(x->config->line)) < 0)
			r = -ENOMEM;
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(o);
	return 0;
}

_public_ int bs_needs_to_json(const struct bs_needs *n, char **ret)
{
	_cleanup_(json_object_putp) json_object *root = json_object_new_object();
	json_object *nodes = json_object_new_array(), *kinds = json_object_new_array(),
		    *keys = json_object_new_array(), *set = json_object_new_array();
	int r = 0;

	if (!n || !ret)
		return -EINVAL;
	if (!root || !nodes || !kinds || !keys || !set ||
	    json_object_object_add(root, "version", json_object_new_int(1)) < 0 ||
	    json_object_object_add(root, "root_set", set) < 0 ||
	    json_object_object_add(root, "kinds", kinds) < 0 ||
	    json_object_object_add(root, "nodes", nodes) < 0 ||
	    json_object_object_add(root, "key_files", keys) < 0)
		return -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n->n_targets; i++)
		if (json_object_array_add(set, json_object_new_string(n->targets[i]->id)) < 0)
			r = -ENOMEM;
	for (int k = 0; r >= 0 && k < _BS_NODE_KIND_MAX; k++)
		if (bs_needs_has_kind(n, k) &&
		    json_object_array_add(kinds,
					  json_object_new_string(bs_node_kind_to_string(k))) < 0)
			r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n->n_nodes; i++) {
		json_object *o = NULL;

		r = node_json(n->nodes[i], &o);
		if (r >= 0 && json_object_array_add(nodes, o) < 0) {
			json_object_put(o);
			r = -ENOMEM;
		}
	}
	for (size_t i = 0; r >= 0 && i < n->n_key_files; i++) {
		const struct bs_node *h = n->key_files[i]->holder;
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(keys, o) < 0) {
			json_object_put(o);
			r = -ENOMEM;
			break;
		}
		r = bs_json_add_string(o, "node", h->id, true);
		if (r >= 0)
			r = bs_json_add_string(
				o, "path",
				h->config && h->config->crypt ? h->config->crypt->key_file : NULL,
				true);
	}
	if (r < 0)
		return r;
	return bs_json_format(root, ret);
}
