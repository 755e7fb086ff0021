/* Configuration source: fstab, crypttab, mdadm.conf and stack.conf merged into the graph,
 * with every problem found on the way kept on the graph. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "fs-options.h"
#include "graph.h"
#include "hashmap.h"
#include "lvm-name.h"
#include "sources.h"
#include "strv.h"
#include "sysroot.h"
#include "util.h"

#define FSTAB_PATH "etc/fstab"
#define CRYPTTAB_PATH "etc/crypttab"
#define MDADM_CONF_PATH "etc/mdadm/mdadm.conf"
#define STACK_CONF_PATH "etc/blkstack/stack.conf"
#define NETWORK_ID BS_NETWORK_NODE_ID

/* A reference that no node provides, kept to decide at the end whether it is a problem. */
struct ref {
	struct bs_node *node;
	const char *file;
	unsigned line;
	char *spec;
};

struct merge {
	struct bs_graph *g;
	struct bs_problem_list *problems;

	/* Absolute paths below the sysroot: what problems and edge origins name. */
	char *fstab_path, *crypttab_path, *mdadm_path, *stack_path;
	struct bs_fstab *fstab;
	struct bs_crypttab *crypttab;
	struct bs_mdadm_conf *mdadm;
	struct bs_stack_conf *stack;
	/* The node of each entry, in the order of the entries; NULL where there is none. */
	struct bs_node **fstab_nodes, **crypt_nodes, **md_nodes, **stack_nodes;

	/* Device paths that only configuration defines ("/dev/md0" of an ARRAY line,
	 * "/dev/nbd0"): path -> node. Keys owned by alias_keys. */
	struct hashmap *aliases;
	char **alias_keys;

	struct ref *refs;
	size_t n_refs, allocated_refs;

	/* Indexes of what the graph had before the configuration, so that each lookup costs
	 * a hash or a binary search, not a walk over every node: md arrays by uuid (configured
	 * arrays join as they are added), loop devices by backing file, and the devices that
	 * carry an md superblock, sorted by its uuid. Keys owned by index_keys. */
	struct hashmap *md_by_uuid, *loop_by_file;
	struct md_member {
		char uuid[37];
		struct bs_node *node;
	} * md_members;
	size_t n_md_members;
	struct bs_string_pool index_keys;
};

static void merge_done(struct merge *m)
{
	free(m->fstab_path);
	free(m->crypttab_path);
	free(m->mdadm_path);
	free(m->stack_path);
	bs_fstab_free(m->fstab);
	bs_crypttab_free(m->crypttab);
	bs_mdadm_conf_free(m->mdadm);
	bs_stack_conf_free(m->stack);
	free(m->fstab_nodes);
	free(m->crypt_nodes);
	free(m->md_nodes);
	free(m->stack_nodes);
	hashmap_free(m->aliases);
	strv_free(m->alias_keys);
	for (size_t i = 0; i < m->n_refs; i++)
		free(m->refs[i].spec);
	free(m->refs);
	hashmap_free(m->md_by_uuid);
	hashmap_free(m->loop_by_file);
	free(m->md_members);
	bs_string_pool_done(&m->index_keys);
}

/* ---- reading ----------------------------------------------------------------------------- */

/* Reads and parses one file. A missing file is no problem: each of them is optional. */
static int read_config(struct merge *m, const char *relpath, char **ret_path, char **ret_text,
		       size_t *ret_size)
{
	int r;

	*ret_path = bs_sysroot_path_dup(m->g->ctx, relpath);
	if (!*ret_path)
		return -ENOMEM;
	r = bs_sysroot_read_file(m->g->ctx, relpath, ret_text, ret_size);
	if (r == -ENOENT || r == -ENOTDIR) {
		bs_log_debug(m->g->ctx, "'%s' does not exist, nothing configured there", *ret_path);
		return 0;
	}
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		r = bs_problem_add_full(m->problems, BS_PROBLEM_UNREADABLE, BS_PROBLEM_ERROR,
					*ret_path, 0, NULL, "cannot read: %s", strerror(-r));
		return r < 0 ? r : 0;
	}
	return 1;
}

static int parse_all(struct merge *m)
{
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	int r;

	r = read_config(m, FSTAB_PATH, &m->fstab_path, &text, &size);
	if (r > 0)
		r = bs_fstab_parse(m->fstab_path, text, size, &m->fstab, m->problems);
	if (r < 0)
		return r;
	text = mfree(text);

	r = read_config(m, CRYPTTAB_PATH, &m->crypttab_path, &text, &size);
	if (r > 0)
		r = bs_crypttab_parse(m->crypttab_path, text, size, &m->crypttab, m->problems);
	if (r < 0)
		return r;
	text = mfree(text);

	r = read_config(m, MDADM_CONF_PATH, &m->mdadm_path, &text, &size);
	if (r > 0)
		r = bs_mdadm_conf_parse(m->mdadm_path, text, size, &m->mdadm, m->problems);
	if (r < 0)
		return r;
	text = mfree(text);

	r = read_config(m, STACK_CONF_PATH, &m->stack_path, &text, &size);
	if (r > 0)
		r = bs_stack_conf_parse(m->stack_path, text, size, &m->stack, m->problems);
	if (r < 0)
		return r;

	if (m->fstab && !(m->fstab_nodes = calloc(m->fstab->n_entries + 1, sizeof(void *))))
		return -ENOMEM;
	if (m->crypttab && !(m->crypt_nodes = calloc(m->crypttab->n_entries + 1, sizeof(void *))))
		return -ENOMEM;
	if (m->mdadm && !(m->md_nodes = calloc(m->mdadm->n_arrays + 1, sizeof(void *))))
		return -ENOMEM;
	if (m->stack && !(m->stack_nodes = calloc(m->stack->n_entries + 1, sizeof(void *))))
		return -ENOMEM;
	return 0;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static int add_alias(struct merge *m, const char *path, struct bs_node *n)
{
	_cleanup_free_ char *key = strdup(path);
	int r;

	if (!key)
		return -ENOMEM;
	if (hashmap_get_str(m->aliases, key))
		return 0;
	r = strv_push(&m->alias_keys, key);
	if (r < 0)
		return r;
	return hashmap_put_str(m->aliases, TAKE_PTR(key), n);
}

/* Sets a of n unless a source already did: live values describe the system as it is. */
static int set_attr_default(struct bs_node *n, enum bs_attr a, const char *value)
{
	if (!value || bs_node_attr(n, a))
		return 0;
	return bs_node_set_attr(n, a, value);
}

/* The node of a configured thing, found or created; a new one is absent until something
 * shows it. -EEXIST (another kind took the id) is a problem at file:line. */
static int claim_node(struct merge *m, enum bs_node_kind kind, const char *id, const char *file,
		      unsigned line, struct bs_node **ret)
{
	struct bs_node *n;
	int r;

	r = bs_graph_ensure_node(m->g, kind, id, &n);
	if (r == -EEXIST) {
		*ret = NULL;
		r = bs_problem_add_full(m->problems, BS_PROBLEM_DUPLICATE, BS_PROBLEM_ERROR, file,
					line, id, "'%s' is known already as a %s", id,
					bs_node_kind_to_string(bs_graph_find_node(m->g, id)->kind));
		return r < 0 ? r : 0;
	}
	if (r < 0)
		return r;
	bs_node_add_source(n, BS_SOURCE_CONFIG);
	*ret = n;
	return 1;
}

static struct bs_edge *find_edge(const struct bs_node *holder, const struct bs_node *needs)
{
	for (size_t i = 0; i < holder->n_needs; i++)
		if (holder->needs[i]->needs == needs)
			return holder->needs[i];
	return NULL;
}

/* An edge made by the configuration line file:line. An edge that exists already keeps its
 * role, and gets the origin if it had none. */
static int add_edge(struct merge *m, struct bs_node *holder, struct bs_node *needs,
		    const char *role, const char *file, unsigned line)
{
	struct bs_edge *e;
	int r;

	if (holder == needs) {
		r = bs_problem_add_full(m->problems, BS_PROBLEM_CYCLE, BS_PROBLEM_ERROR, file, line,
					holder->id, "'%s' would need itself", holder->id);
		return r < 0 ? r : 0;
	}
	r = bs_graph_add_edge(m->g, holder, needs, role);
	if (r < 0)
		return r;
	e = find_edge(holder, needs);
	if (e && !e->origin_file && file) {
		e->origin_file = strdup(file);
		if (!e->origin_file)
			return -ENOMEM;
		e->origin_line = line;
	}
	return 0;
}

/* spec with blanks and backslashes written as fstab(5) does, so that a list of specs
 * separated by spaces stays one word per spec. */
static char *escape_spec(const char *spec)
{
	char *e = malloc(strlen(spec) * 4 + 1), *w = e;

	if (!e)
		return NULL;
	for (const char *p = spec; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\\')
			w += sprintf(w, "\\%03o", (unsigned char)*p);
		else
			*w++ = *p;
	*w = '\0';
	return e;
}

/* Records that n refers to spec and nothing provides it. */
static int add_unresolved(struct merge *m, struct bs_node *n, const char *spec, const char *file,
			  unsigned line)
{
	const char *old = bs_node_attr(n, BS_ATTR_UNRESOLVED);
	_cleanup_strv_free_ char **list = NULL;
	_cleanup_free_ char *joined = NULL, *escaped = escape_spec(spec);
	int r;

	if (!escaped)
		return -ENOMEM;
	if (old) {
		r = strv_split(old, " ", &list);
		if (r < 0)
			return r;
	}
	if (!strv_contains(list, escaped)) {
		r = strv_extend(&list, escaped);
		if (r < 0)
			return r;
		r = strv_join(list, " ", &joined);
		if (r < 0)
			return r;
		r = bs_node_set_attr(n, BS_ATTR_UNRESOLVED, joined);
		if (r < 0)
			return r;
	}

	if (ARRAY_RESERVE(m->refs, m->allocated_refs, m->n_refs) < 0)
		return -ENOMEM;
	m->refs[m->n_refs] = (struct ref){ .node = n, .file = file, .line = line };
	m->refs[m->n_refs].spec = strdup(spec);
	if (!m->refs[m->n_refs].spec)
		return -ENOMEM;
	m->n_refs++;
	bs_log_debug(m->g->ctx, "%s:%u: '%s' refers to '%s', which no known node provides",
		     strna(file), line, n->id, spec);
	return 0;
}

static int need_network(struct merge *m, struct bs_node *n, const char *file, unsigned line)
{
	struct bs_node *net;
	int r;

	r = claim_node(m, BS_NODE_NETWORK, NETWORK_ID, file, line, &net);
	if (r <= 0)
		return r;
	return add_edge(m, n, net, "network", file, line);
}

/* ---- resolving device specifications ----------------------------------------------------- */

static bool is_device_kind(enum bs_node_kind k)
{
	return !IN_SET(k, BS_NODE_VG, BS_NODE_MOUNT, BS_NODE_SWAP, BS_NODE_NETWORK);
}

static struct bs_node *find_device_by_attr(const struct bs_graph *g, enum bs_attr a,
					   const char *value)
{
	struct bs_node *n = bs_graph_find_attr(g, a, value);

	if (!n || is_device_kind(n->kind))
		return n;
	for (size_t i = 0; i < g->n_nodes; i++)
		if (is_device_kind(g->nodes[i]->kind) && g->nodes[i]->attrs[a] &&
		    streq(g->nodes[i]->attrs[a], value))
			return g->nodes[i];
	return NULL;
}

/* UUIDs are compared as blkid writes them, lowercase; a configuration may use capitals. */
static struct bs_node *find_device_by_uuid(const struct bs_graph *g, enum bs_attr a,
					   const char *value)
{
	_cleanup_free_ char *lower = NULL;
	struct bs_node *n = find_device_by_attr(g, a, value);

	if (n || !strpbrk(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") || !(lower = strdup(value)))
		return n;
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return find_device_by_attr(g, a, lower);
}

/* /dev/mapper/VG-LV, with LVM's doubled dashes, as the lv:VG/LV node. */
static struct bs_node *find_lv_by_dm_name(const struct bs_graph *g, const char *dm_name)
{
	_cleanup_free_ char *vg = NULL, *lv = NULL, *id = NULL;

	if (lvm_dm_name_split(dm_name, &vg, &lv) < 0 || asprintf(&id, "lv:%s/%s", vg, lv) < 0)
		return NULL;
	return bs_graph_find_node(g, id);
}

/* A device of a multi-device btrfs stands for the filesystem when it is mounted. */
static struct bs_node *btrfs_of(const struct bs_graph *g, struct bs_node *n)
{
	_cleanup_free_ char *id = NULL;
	const char *fstype = bs_node_attr(n, BS_ATTR_FSTYPE), *uuid = bs_node_attr(n, BS_ATTR_UUID);
	struct bs_node *fs;

	if (n->kind == BS_NODE_BTRFS || !fstype || !streq(fstype, "btrfs") || !uuid)
		return n;
	if (strextend(&id, "btrfs:", uuid, NULL) < 0)
		return n;
	fs = bs_graph_find_node(g, id);
	return fs ? fs : n;
}

/* The node a device specification names (UUID=, LABEL=, PARTUUID=, PARTLABEL=, ID=, or a
 * /dev path), from the live, recorded and configured nodes; NULL if none. */
static struct bs_node *resolve_spec(const struct merge *m, const char *spec)
{
	const struct bs_graph *g = m->g;
	struct bs_node *n = NULL;
	const char *v;

	if ((v = startswith(spec, "UUID=")))
		n = find_device_by_uuid(g, BS_ATTR_UUID, v);
	else if ((v = startswith(spec, "LABEL=")))
		n = find_device_by_attr(g, BS_ATTR_LABEL, v);
	else if ((v = startswith(spec, "PARTUUID=")))
		n = find_device_by_uuid(g, BS_ATTR_PARTUUID, v);
	else if ((v = startswith(spec, "PARTLABEL=")))
		n = find_device_by_attr(g, BS_ATTR_PARTLABEL, v);
	else if ((v = startswith(spec, "ID="))) {
		_cleanup_free_ char *path = NULL;

		if (strextend(&path, "/dev/disk/by-id/", v, NULL) >= 0)
			n = bs_graph_find_dev_path(g, path);
	} else if (startswith(spec, "/dev/")) {
		n = bs_graph_find_dev_path(g, spec);
		if (!n)
			n = hashmap_get_str(m->aliases, spec);
		if (!n && (v = startswith(spec, "/dev/mapper/")))
			n = find_lv_by_dm_name(g, v);
	}
	if (!n || !is_device_kind(n->kind))
		return NULL;
	return btrfs_of(g, n);
}

/* A device the node needs (role "device", "backing", ...). A live node has its device from
 * the running system already; a configuration that names another one is noted only. */
static int need_device(struct merge *m, struct bs_node *n, const char *spec, const char *role,
		       const char *file, unsigned line)
{
	struct bs_node *dev = resolve_spec(m, spec);

	if (!dev)
		return add_unresolved(m, n, spec, file, line);
	if ((n->sources & BS_SOURCE_LIVE) && bs_node_need_with_role(n, role)) {
		if (!find_edge(n, dev))
			bs_log_notice(m->g->ctx,
				      "%s:%u: '%s' names '%s' (%s), but is open on another "
				      "device",
				      strna(file), line, n->id, spec, dev->id);
		return 0;
	}
	return add_edge(m, n, dev, role, file, line);
}

/* A file the node needs: the mount that holds it. */
static int need_file(struct merge *m, struct bs_node *n, const char *path, const char *role,
		     const char *file, unsigned line)
{
	_cleanup_free_ char *simple = strdup(path);
	struct bs_node *mount;

	if (!simple)
		return -ENOMEM;
	/* Unlike the derived links of live devices, a mount that needs n is taken too: a key
	 * file on a filesystem that needs the crypt device is a cycle to report, not to hide. */
	mount = bs_graph_find_mount_holding(m->g, bs_config_path_simplify(simple), n, false);
	if (!mount) {
		bs_log_debug(m->g->ctx, "%s:%u: no mount holds '%s', which '%s' needs", strna(file),
			     line, path, n->id);
		return 0;
	}
	return add_edge(m, n, mount, role, file, line);
}

/* A device or a file, by its path. */
static int need_path(struct merge *m, struct bs_node *n, const char *path, const char *role,
		     const char *file, unsigned line)
{
	if (startswith(path, "/dev/") || !startswith(path, "/"))
		return need_device(m, n, path, role, file, line);
	return need_file(m, n, path, role, file, line);
}

/* ---- mdadm.conf -------------------------------------------------------------------------- */

static struct bs_node *find_md_by_uuid(const struct merge *m, const char *uuid)
{
	return hashmap_get_str(m->md_by_uuid, uuid);
}

/* Indexes the array n by its uuid (normalized, in buf) unless one has it already. */
static int index_md(struct merge *m, struct bs_node *n, const char *uuid)
{
	char *key;

	if (hashmap_get_str(m->md_by_uuid, uuid))
		return 0;
	key = strdup(uuid);
	if (!key || bs_string_pool_take(&m->index_keys, key) < 0)
		return -ENOMEM;
	return hashmap_put_str(m->md_by_uuid, key, n);
}

static int cmp_md_members(const void *a, const void *b)
{
	const struct md_member *x = a, *y = b;
	int c = strcmp(x->uuid, y->uuid);

	return c ? c : strcmp(x->node->id, y->node->id);
}

static int build_indexes(struct merge *m)
{
	struct bs_graph *g = m->g;
	char buf[37];
	int r;

	r = hashmap_new(HASHMAP_STRING, &m->md_by_uuid);
	if (r >= 0)
		r = hashmap_new(HASHMAP_STRING, &m->loop_by_file);
	if (r < 0)
		return r;
	m->md_members = calloc(g->n_nodes + 1, sizeof(*m->md_members));
	if (!m->md_members)
		return -ENOMEM;

	for (size_t i = 0; i < g->n_nodes; i++) {
		struct bs_node *n = g->nodes[i];
		const char *type = n->attrs[BS_ATTR_FSTYPE], *file = n->attrs[BS_ATTR_BACKING_FILE];

		if (n->kind == BS_NODE_MD && bs_md_uuid_normalize(n->attrs[BS_ATTR_MD_UUID], buf)) {
			r = index_md(m, n, buf);
			if (r < 0)
				return r;
		}
		if (n->kind == BS_NODE_LOOP && file && !hashmap_get_str(m->loop_by_file, file)) {
			char *key = strdup(file);

			if (!key || bs_string_pool_take(&m->index_keys, key) < 0)
				return -ENOMEM;
			r = hashmap_put_str(m->loop_by_file, key, n);
			if (r < 0)
				return r;
		}
		if (type && streq(type, "linux_raid_member") && n->kind != BS_NODE_MD &&
		    is_device_kind(n->kind) && bs_md_uuid_normalize(n->attrs[BS_ATTR_UUID], buf)) {
			memcpy(m->md_members[m->n_md_members].uuid, buf, sizeof(buf));
			m->md_members[m->n_md_members++].node = n;
		}
	}
	if (m->n_md_members > 1)
		qsort(m->md_members, m->n_md_members, sizeof(*m->md_members), cmp_md_members);
	return 0;
}

static int add_md_nodes(struct merge *m)
{
	for (size_t i = 0; m->mdadm && i < m->mdadm->n_arrays; i++) {
		const struct bs_mdadm_array *a = &m->mdadm->arrays[i];
		const char *name = bs_mdadm_array_short_name(a), *kname = NULL;
		_cleanup_free_ char *id = NULL;
		struct bs_node *n = NULL;
		int r;

		if (a->device)
			kname = startswith(a->device, "/dev/");
		if (a->uuid)
			n = find_md_by_uuid(m, a->uuid);
		/* /dev/mdN by its kernel name, unless that array shows another uuid. */
		if (!n && kname && !strchr(kname, '/')) {
			n = bs_graph_find_kernel_name(m->g, kname);
			if (n && (n->kind != BS_NODE_MD || (a->uuid && n->attrs[BS_ATTR_MD_UUID])))
				n = NULL;
		}
		if (n) {
			bs_node_add_source(n, BS_SOURCE_CONFIG);
		} else {
			if (name)
				r = strextend(&id, "md:", name, NULL);
			else if (a->uuid)
				r = strextend(&id, "md:", a->uuid, NULL);
			else
				r = strextend(&id, "md:", kname ? kname : a->device, NULL);
			if (r < 0)
				return r;
			/* The name is another array's: that one has another uuid. */
			n = bs_graph_find_node(m->g, id);
			if (n && a->uuid && n->attrs[BS_ATTR_MD_UUID]) {
				char buf[37];

				if (!bs_md_uuid_normalize(n->attrs[BS_ATTR_MD_UUID], buf) ||
				    !streq(buf, a->uuid)) {
					r = bs_problem_add(m->problems, m->mdadm_path, a->line,
							   "array '%s' has uuid '%s', not '%s'",
							   n->id, n->attrs[BS_ATTR_MD_UUID],
							   a->uuid);
					if (r < 0)
						return r;
					continue;
				}
			}
			r = claim_node(m, BS_NODE_MD, id, m->mdadm_path, a->line, &n);
			if (r < 0)
				return r;
			if (r == 0)
				continue;
		}
		m->md_nodes[i] = n;
		if (a->uuid && (r = index_md(m, n, a->uuid)) < 0)
			return r;

		if ((r = set_attr_default(n, BS_ATTR_MD_UUID, a->uuid)) < 0 ||
		    (r = set_attr_default(n, BS_ATTR_MD_NAME, name)) < 0 ||
		    (r = set_attr_default(n, BS_ATTR_MD_LEVEL, a->level)) < 0)
			return r;
		if (a->device && startswith(a->device, "/dev/")) {
			r = add_alias(m, a->device, n);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* The members of an array named by uuid (or, lacking one, by name): every device whose
 * superblock says so, as blkid shows it. */
static int find_md_members(struct merge *m, const struct bs_mdadm_array *a, struct bs_node *md,
			   bool *ret_found)
{
	const char *name = bs_mdadm_array_short_name(a);
	size_t lo = 0, hi = m->n_md_members;
	int r;

	*ret_found = false;
	if (a->uuid) {
		/* The first member with the uuid, then all that follow with it. */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (strcmp(m->md_members[mid].uuid, a->uuid) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t i = lo; i < m->n_md_members && streq(m->md_members[i].uuid, a->uuid);
		     i++) {
			if (m->md_members[i].node == md)
				continue;
			r = add_edge(m, md, m->md_members[i].node, "member", m->mdadm_path,
				     a->line);
			if (r < 0)
				return r;
			*ret_found = true;
		}
		return 0;
	}

	for (size_t i = 0; name && i < m->n_md_members; i++) {
		struct bs_node *d = m->md_members[i].node;
		const char *label = d->attrs[BS_ATTR_LABEL], *colon;

		if (!label)
			continue;
		colon = strchr(label, ':');
		if (!streq(colon ? colon + 1 : label, name))
			continue;
		r = add_edge(m, md, d, "member", m->mdadm_path, a->line);
		if (r < 0)
			return r;
		*ret_found = true;
	}
	return 0;
}

static int link_md(struct merge *m, size_t i)
{
	const struct bs_mdadm_array *a = &m->mdadm->arrays[i];
	struct bs_node *md = m->md_nodes[i];
	_cleanup_free_ char *spec = NULL;
	bool found = false;
	int r;

	if (!md)
		return 0;
	if (a->container) {
		char buf[37];
		struct bs_node *c = a->container[0] == '/' ? resolve_spec(m, a->container) :
				    bs_md_uuid_normalize(a->container, buf) ?
							     find_md_by_uuid(m, buf) :
							     NULL;

		r = c ? add_edge(m, md, c, "container", m->mdadm_path, a->line) :
			add_unresolved(m, md, a->container, m->mdadm_path, a->line);
		if (r < 0)
			return r;
	}

	/* An assembled array has its members from sysfs: the configuration does not add
	 * stale superblocks of the same uuid to them. */
	if ((md->sources & BS_SOURCE_LIVE) && bs_node_need_with_role(md, "member"))
		return 0;

	if (a->devices) {
		for (char **d = a->devices; *d; d++) {
			if (!has_glob(*d)) {
				r = need_device(m, md, *d, "member", m->mdadm_path, a->line);
				if (r < 0)
					return r;
				continue;
			}
			found = false;
			for (size_t k = 0; k < m->g->n_nodes; k++) {
				struct bs_node *dev = m->g->nodes[k];
				_cleanup_free_ char *path = NULL;

				if (!dev->name || dev == md || !is_device_kind(dev->kind))
					continue;
				if (strextend(&path, "/dev/", dev->name, NULL) < 0)
					return -ENOMEM;
				if (fnmatch(*d, path, FNM_PATHNAME) != 0)
					continue;
				r = add_edge(m, md, dev, "member", m->mdadm_path, a->line);
				if (r < 0)
					return r;
				found = true;
			}
			if (!found) {
				r = add_unresolved(m, md, *d, m->mdadm_path, a->line);
				if (r < 0)
					return r;
			}
		}
		return 0;
	}
	if (!a->uuid && !bs_mdadm_array_short_name(a))
		return 0;

	r = find_md_members(m, a, md, &found);
	if (r < 0 || found)
		return r;
	if (a->uuid)
		r = strextend(&spec, "UUID=", a->uuid, NULL);
	else
		r = strextend(&spec, "name=", a->name ? a->name : bs_mdadm_array_short_name(a),
			      NULL);
	if (r < 0)
		return r;
	return add_unresolved(m, md, spec, m->mdadm_path, a->line);
}

/* ---- crypttab ---------------------------------------------------------------------------- */

/* ---- typed configuration for the drivers ------------------------------------------------- */

/* The node's typed configuration, made on first use, naming the line that describes it. */
static struct bs_layer_config *node_config(struct bs_node *n, const char *file, unsigned line)
{
	if (!n->config) {
		n->config = calloc(1, sizeof(*n->config));
		if (!n->config)
			return NULL;
	}
	if (!n->config->file) {
		n->config->file = strdup(file);
		if (!n->config->file)
			return NULL;
		n->config->line = line;
	}
	return n->config;
}

static bool is_random_key(const char *path)
{
	return streq(path, "/dev/urandom") || streq(path, "/dev/random") ||
	       streq(path, "/dev/hw_random") || streq(path, "/dev/hwrng");
}

/* systemd's PATH:DEVICE: the key file lies on a filesystem of its own, not a mounted one. */
static bool is_key_on_device(const char *key_file)
{
	const char *colon = strrchr(key_file, ':');

	return colon && bs_config_is_device_spec(colon + 1);
}

/* Why blkstack does not open the mapping e describes, as a message that says what to do
 * instead; NULL if it does. */
static const char *crypt_entry_unsupported(const struct bs_crypttab_entry *e)
{
	if (e->keyscript)
		return "keyscript= is not supported: blkstack runs no scripts to get keys; give a "
		       "key file or let it ask for the passphrase";
	if ((e->flags & (BS_CRYPTTAB_SWAP | BS_CRYPTTAB_TMP)) ||
	    (e->key_file && is_random_key(e->key_file)))
		return "mappings with a random key (swap, tmp, /dev/urandom) are not supported: "
		       "they are made anew at each boot; set them up after boot (systemd-cryptsetup "
		       "or cryptdisks_start)";
	if (e->type == BS_CRYPT_TYPE_BITLK)
		return "BitLocker mappings ('bitlk') are not supported; open it with 'cryptsetup "
		       "open --type bitlk'";
	if (e->type == BS_CRYPT_TYPE_TCRYPT || (e->flags & BS_CRYPTTAB_VERACRYPT))
		return "TrueCrypt and VeraCrypt mappings ('tcrypt', 'veracrypt') are not supported; "
		       "open it with 'cryptsetup open --type tcrypt'";
	if (e->key_file && is_key_on_device(e->key_file))
		return "a key file on a device of its own (PATH:DEVICE) is not supported; put the "
		       "key file on a filesystem in fstab";
	if (e->type == BS_CRYPT_TYPE_PLAIN && e->header)
		return "a plain mapping has no header, so 'header=' makes no sense with 'plain'; "
		       "remove one of them";
	return NULL;
}

static int dup_or_null(const char *s, char **ret)
{
	*ret = NULL;
	return s && !(*ret = strdup(s)) ? -ENOMEM : 0;
}

int bs_crypt_config_from_entry(const struct bs_crypttab_entry *e, struct bs_crypt_config **ret)
{
	struct bs_crypt_config *c;
	const char *why;

	if (!e || !ret)
		return -EINVAL;
	/* The parser takes size= as a multiple of 8 up to UINT32_MAX bits. */
	if (e->key_size > UINT_MAX || e->sector_size > UINT_MAX)
		return -ERANGE;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	why = crypt_entry_unsupported(e);
	*c = (struct bs_crypt_config){
		.line = e->line,
		.mode = e->type == BS_CRYPT_TYPE_PLAIN ? BS_CRYPT_MODE_PLAIN :
			e->type == BS_CRYPT_TYPE_LUKS  ? BS_CRYPT_MODE_LUKS :
							 BS_CRYPT_MODE_AUTO,
		.key_bits = (unsigned)e->key_size,
		.offset = e->offset,
		.skip = e->skip,
		.sector_size = (unsigned)e->sector_size,
		.keyfile_offset = e->keyfile_offset,
		.keyfile_size = e->keyfile_size,
		.keyslot = e->keyslot,
		.tries = e->tries < 0 ? BS_CRYPT_DEFAULT_TRIES : (unsigned)e->tries,
		.read_only = e->flags & BS_CRYPTTAB_READONLY,
		.discard = e->flags & BS_CRYPTTAB_DISCARD,
		.same_cpu_crypt = e->flags & BS_CRYPTTAB_SAME_CPU_CRYPT,
		.submit_from_crypt_cpus = e->flags & BS_CRYPTTAB_SUBMIT_FROM_CRYPT_CPUS,
		.no_read_workqueue = e->flags & BS_CRYPTTAB_NO_READ_WORKQUEUE,
		.no_write_workqueue = e->flags & BS_CRYPTTAB_NO_WRITE_WORKQUEUE,
	};
	if (dup_or_null(e->source, &c->source) < 0 || dup_or_null(e->key_file, &c->key_file) < 0 ||
	    dup_or_null(e->header, &c->header) < 0 || dup_or_null(e->cipher, &c->cipher) < 0 ||
	    dup_or_null(e->hash, &c->hash) < 0 || dup_or_null(why, &c->unsupported) < 0) {
		bs_crypt_config_free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

static int attach_crypt_config(struct merge *m, struct bs_node *n,
			       const struct bs_crypttab_entry *e)
{
	struct bs_layer_config *c = node_config(n, m->crypttab_path, e->line);
	int r;

	if (!c)
		return -ENOMEM;
	bs_crypt_config_free(c->crypt);
	c->crypt = NULL;
	r = bs_crypt_config_from_entry(e, &c->crypt);
	if (r == -ERANGE)
		return bs_problem_add(m->problems, m->crypttab_path, e->line,
				      "a number in this line is too large");
	return r;
}

static int attach_mount_options(struct merge *m, struct bs_node *n, const char *options,
				const char *file, unsigned line)
{
	_cleanup_(bs_mount_options_done) struct bs_mount_options o = {};
	struct bs_layer_config *c;
	int r;

	r = bs_mount_options_split(options, &o);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return file ? bs_problem_add(m->problems, file, line,
					     "cannot parse the mount options '%s'", options) :
			      0;
	c = file ? node_config(n, file, line) : n->config ?: (n->config = calloc(1, sizeof(*c)));
	if (!c)
		return -ENOMEM;
	if (!c->mount && !(c->mount = calloc(1, sizeof(*c->mount))))
		return -ENOMEM;
	bs_mount_options_done(c->mount);
	*c->mount = o;
	o = (struct bs_mount_options){};
	return 0;
}

static int attach_swap_flags(struct merge *m, struct bs_node *n, const struct bs_fstab_entry *e)
{
	_cleanup_free_ char *bad = NULL;
	struct bs_layer_config *c;
	int flags, r;

	r = bs_swap_flags_from_options(e->options, &flags, &bad);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return bs_problem_add(m->problems, m->fstab_path, e->line,
				      "bad swap option '%s' (pri= takes -1 to 32767, discard= takes "
				      "once or pages)",
				      strna(bad));
	c = node_config(n, m->fstab_path, e->line);
	if (!c)
		return -ENOMEM;
	c->has_swap_flags = true;
	c->swap_flags = flags;
	return 0;
}

static int attach_loop_options(struct merge *m, struct bs_node *n, const struct bs_stack_entry *e)
{
	struct bs_layer_config *c = node_config(n, m->stack_path, e->line);

	if (!c)
		return -ENOMEM;
	if (e->sector_size > UINT32_MAX)
		return bs_problem_add(m->problems, m->stack_path, e->line, "sector-size is too large");
	if (!c->loop && !(c->loop = calloc(1, sizeof(*c->loop))))
		return -ENOMEM;
	*c->loop = (struct bs_loop_options){
		.read_only = e->flags & BS_STACK_READONLY,
		.offset = e->offset,
		.sizelimit = e->sizelimit,
		.sector_size = (uint32_t)e->sector_size,
		.partscan = e->flags & BS_STACK_PARTSCAN,
		.direct_io = e->flags & BS_STACK_DIRECT_IO,
	};
	return 0;
}

/* A mount that no fstab line describes, known from the record, is mounted with the options
 * recorded; parsed here too, so that the driver never parses. Live mounts are never mounted. */
static int type_unconfigured_mounts(struct merge *m)
{
	for (size_t i = 0; i < m->g->n_nodes; i++) {
		struct bs_node *n = m->g->nodes[i];
		const char *options = bs_node_attr(n, BS_ATTR_OPTIONS);
		int r;

		if (n->kind != BS_NODE_MOUNT || (n->sources & BS_SOURCE_LIVE) || !options ||
		    (n->config && n->config->mount))
			continue;
		r = attach_mount_options(m, n, options, NULL, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_crypt_nodes(struct merge *m)
{
	for (size_t i = 0; m->crypttab && i < m->crypttab->n_entries; i++) {
		const struct bs_crypttab_entry *e = &m->crypttab->entries[i];
		_cleanup_free_ char *id = NULL;
		struct bs_node *n;
		int r;

		if (strextend(&id, "crypt:", e->name, NULL) < 0)
			return -ENOMEM;
		r = claim_node(m, BS_NODE_CRYPT, id, m->crypttab_path, e->line, &n);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		m->crypt_nodes[i] = n;
		if ((r = set_attr_default(n, BS_ATTR_DM_NAME, e->name)) < 0 ||
		    (r = set_attr_default(n, BS_ATTR_SOURCE, e->source)) < 0 ||
		    (r = set_attr_default(n, BS_ATTR_OPTIONS, e->options)) < 0 ||
		    (r = attach_crypt_config(m, n, e)) < 0)
			return r;
	}
	return 0;
}

static int link_crypt(struct merge *m, size_t i)
{
	const struct bs_crypttab_entry *e = &m->crypttab->entries[i];
	const char *file = m->crypttab_path;
	struct bs_node *n = m->crypt_nodes[i];
	int r;

	if (!n)
		return 0;

	/* The source: a device, or a file that cryptsetup puts on a loop device. */
	if (startswith(e->source, "/") && !startswith(e->source, "/dev/"))
		r = need_file(m, n, e->source, "backing-file", file, e->line);
	else
		r = need_device(m, n, e->source, "backing", file, e->line);
	if (r < 0)
		return r;

	/* With a keyscript, the key field is only the script's argument. */
	if (e->key_file && !e->keyscript && !is_random_key(e->key_file)) {
		/* systemd's PATH:DEVICE: the key is on a filesystem of its own, which no fstab
		 * line mounts: the mapping needs that device, resolved like its source. */
		if (e->key_device)
			r = need_device(m, n, e->key_device, "key-file", file, e->line);
		else
			r = need_path(m, n, e->key_file, "key-file", file, e->line);
		if (r < 0)
			return r;
	}
	if (e->header) {
		r = need_path(m, n, e->header, "header", file, e->line);
		if (r < 0)
			return r;
	}
	if (e->flags & BS_CRYPTTAB_NETDEV)
		return need_network(m, n, file, e->line);
	return 0;
}

/* ---- stack.conf -------------------------------------------------------------------------- */

static bool is_nbd_kernel_name(const char *s)
{
	const char *d = startswith(s, "nbd");

	return d && *d && strspn(d, "0123456789") == strlen(d);
}

static int remote_uri(const struct bs_stack_entry *e, char **ret)
{
	char port[16] = "";
	const char *v6 = strchr(e->host, ':') ? "[" : "", *v6_end = *v6 ? "]" : "";

	if (e->port)
		snprintf(port, sizeof(port), ":%u", e->port);
	if (e->kind == BS_STACK_NBD)
		return strextend(ret, "nbd://", v6, e->host, v6_end, port, "/", strempty(e->target),
				 NULL);
	return strextend(ret, "iscsi://", v6, e->host, v6_end, port, "/", e->target, NULL);
}

/*
 * The node of a DRBD resource, drbd:RESOURCE. The kernel does not show which resource a minor
 * is, so sysfs names a live drbdN blk:drbdN, and so does the record, written from the live
 * graph alone; the minor that the line names (drbd.conf fixes it) maps that node to the
 * resource, and it is renamed here: the id is the same up or down, on every boot. A swap area
 * on it follows (its id is "swap:" and its device's).
 */
static int add_drbd_node(struct merge *m, const struct bs_stack_entry *e, struct bs_node **ret)
{
	_cleanup_free_ char *id = NULL, *kname = NULL, *dev = NULL, *old_id = NULL, *by_res = NULL,
			    *by_vol = NULL;
	struct bs_layer_config *c;
	struct bs_node *n, *other, *swap;
	int r;

	*ret = NULL;
	if (asprintf(&kname, "drbd%" PRIu32, e->minor) < 0 ||
	    strextend(&id, "drbd:", e->name, NULL) < 0 || strextend(&dev, "/dev/", kname, NULL) < 0)
		return -ENOMEM;
	other = hashmap_get_str(m->aliases, dev);
	if (other) {
		r = bs_problem_add_full(m->problems, BS_PROBLEM_DUPLICATE, BS_PROBLEM_ERROR,
					m->stack_path, e->line, dev,
					"'%s' is the device of '%s' already", dev, other->id);
		return r < 0 ? r : 0;
	}

	n = bs_graph_find_kernel_name(m->g, kname);
	if (!n || n->kind != BS_NODE_DRBD || n->state == BS_STATE_ABSENT) {
		_cleanup_free_ char *blk_id = NULL;

		if (strextend(&blk_id, "blk:", kname, NULL) < 0)
			return -ENOMEM;
		n = bs_graph_find_node(m->g, blk_id);
	}
	if (n && n->kind == BS_NODE_DRBD && !streq(n->id, id)) {
		old_id = strdup(n->id);
		if (!old_id)
			return -ENOMEM;
		r = bs_graph_rename_node(m->g, n, id);
		if (r == -EEXIST) {
			r = bs_problem_add_full(m->problems, BS_PROBLEM_DUPLICATE, BS_PROBLEM_ERROR,
						m->stack_path, e->line, id,
						"'%s' is known already as another device than %s",
						id, dev);
			return r < 0 ? r : 0;
		}
		if (r < 0)
			return r;
		bs_log_debug(m->g->ctx, "%s:%u: '%s' is '%s', by its minor %" PRIu32, m->stack_path,
			     e->line, old_id, id, e->minor);
		bs_node_add_source(n, BS_SOURCE_CONFIG);

		old_id = mfree(old_id);
		if (strextend(&old_id, "swap:blk:", kname, NULL) < 0)
			return -ENOMEM;
		swap = bs_graph_find_node(m->g, old_id);
		if (swap && swap->kind == BS_NODE_SWAP) {
			_cleanup_free_ char *swap_id = NULL;

			if (strextend(&swap_id, "swap:", id, NULL) < 0)
				return -ENOMEM;
			r = bs_graph_rename_node(m->g, swap, swap_id);
			if (r < 0 && r != -EEXIST)
				return r;
		}
	} else {
		r = claim_node(m, BS_NODE_DRBD, id, m->stack_path, e->line, &n);
		if (r <= 0)
			return r;
	}

	c = node_config(n, m->stack_path, e->line);
	if (!c)
		return -ENOMEM;
	if (!c->drbd && !(c->drbd = calloc(1, sizeof(*c->drbd))))
		return -ENOMEM;
	*c->drbd = (struct bs_drbd_config){
		.resource = strdup(e->name),
		.minor = e->minor,
		.primary = e->flags & BS_STACK_PRIMARY,
	};
	if (!c->drbd->resource)
		return -ENOMEM;

	/* What fstab may call it: the kernel's name, and udev's by-res links (drbd-utils). */
	if (strextend(&by_res, "/dev/drbd/by-res/", e->name, NULL) < 0 ||
	    strextend(&by_vol, by_res, "/0", NULL) < 0)
		return -ENOMEM;
	if ((r = add_alias(m, dev, n)) < 0 || (r = add_alias(m, by_res, n)) < 0 ||
	    (r = add_alias(m, by_vol, n)) < 0)
		return r;
	*ret = n;
	return 1;
}

static int add_stack_nodes(struct merge *m)
{
	for (size_t i = 0; m->stack && i < m->stack->n_entries; i++) {
		const struct bs_stack_entry *e = &m->stack->entries[i];
		_cleanup_free_ char *id = NULL, *uri = NULL;
		struct bs_node *n = NULL;
		int r = 0;

		switch (e->kind) {
		case BS_STACK_LOOP:
			n = hashmap_get_str(m->loop_by_file, e->path);
			if (n) {
				bs_node_add_source(n, BS_SOURCE_CONFIG);
				r = 1;
				break;
			}
			if (strextend(&id, "loop:", e->path, NULL) < 0)
				return -ENOMEM;
			r = claim_node(m, BS_NODE_LOOP, id, m->stack_path, e->line, &n);
			if (r > 0)
				r = set_attr_default(n, BS_ATTR_BACKING_FILE, e->path);
			break;
		case BS_STACK_NBD:
			if (strextend(&id, is_nbd_kernel_name(e->name) ? "blk:" : "nbd:", e->name,
				      NULL) < 0)
				return -ENOMEM;
			r = claim_node(m, BS_NODE_NBD, id, m->stack_path, e->line, &n);
			if (r > 0 && is_nbd_kernel_name(e->name)) {
				_cleanup_free_ char *dev = NULL;

				if (strextend(&dev, "/dev/", e->name, NULL) < 0)
					return -ENOMEM;
				r = add_alias(m, dev, n);
			}
			break;
		case BS_STACK_ISCSI:
			if (strextend(&id, "iscsi:", e->name, NULL) < 0)
				return -ENOMEM;
			r = claim_node(m, BS_NODE_ISCSI, id, m->stack_path, e->line, &n);
			break;
		case BS_STACK_DRBD:
			r = add_drbd_node(m, e, &n);
			break;
		default:
			continue;
		}
		if (r < 0)
			return r;
		if (!n)
			continue;
		m->stack_nodes[i] = n;
		r = set_attr_default(n, BS_ATTR_OPTIONS, e->options);
		if (r >= 0 && e->kind == BS_STACK_LOOP)
			r = attach_loop_options(m, n, e);
		if (r >= 0 && e->host && remote_uri(e, &uri) < 0)
			r = -ENOMEM;
		if (r >= 0)
			r = set_attr_default(n, BS_ATTR_SOURCE, uri);
		if (r < 0)
			return r;
	}
	return 0;
}

static int link_stack(struct merge *m, size_t i)
{
	const struct bs_stack_entry *e = &m->stack->entries[i];
	struct bs_node *n = m->stack_nodes[i];
	int r;

	if (!n || e->kind == BS_STACK_LOOP)
		/* A loop device's file: the derived links find its mount, as for live ones. */
		return 0;
	for (char **f = e->files; f && *f; f++) {
		r = need_file(m, n, *f, "key-file", m->stack_path, e->line);
		if (r < 0)
			return r;
	}
	/* drbd's disks as the line names them; without disk= only a live device shows its
	 * disk (its sysfs slaves), and only the record knows it while the device is down. */
	for (char **d = e->disks; d && *d; d++) {
		r = need_device(m, n, *d, "backing", m->stack_path, e->line);
		if (r < 0)
			return r;
	}
	return need_network(m, n, m->stack_path, e->line);
}

/* The node a stack.conf line names by id; NULL (and a problem naming the line, with a
 * suggestion) if there is none. */
static int find_stack_node(struct merge *m, const struct bs_stack_entry *e, const char *id,
			   struct bs_node **ret)
{
	_cleanup_free_ const char **all = NULL;
	const char *kind = bs_stack_kind_to_string(e->kind), *s;
	int r;

	*ret = bs_graph_find_node(m->g, id);
	if (*ret)
		return 0;
	all = calloc(m->g->n_nodes + 1, sizeof(char *));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < m->g->n_nodes; i++)
		all[i] = m->g->nodes[i]->id;
	s = bs_config_suggest(id, all);
	if (s)
		r = bs_problem_add(m->problems, m->stack_path, e->line,
				   "'%s': no node '%s' (did you mean '%s'?)", kind, id, s);
	else
		r = bs_problem_add(m->problems, m->stack_path, e->line,
				   "'%s': no node '%s' (ids are as 'blkstack show' prints them)",
				   kind, id);
	return r < 0 ? r : 0;
}

/* "after FIRST SECOND", once every node is there. */
static int link_after(struct merge *m, const struct bs_stack_entry *e)
{
	const char *ids[2] = { e->first, e->second };
	struct bs_node *nodes[2];
	int r;

	for (int k = 0; k < 2; k++) {
		r = find_stack_node(m, e, ids[k], &nodes[k]);
		if (r < 0)
			return r;
	}
	if (!nodes[0] || !nodes[1])
		return 0;
	return add_edge(m, nodes[0], nodes[1], "after", m->stack_path, e->line);
}

/* "timeout ID SECONDS": how long the executor waits for that node's device. */
static int set_timeout(struct merge *m, const struct bs_stack_entry *e)
{
	char buf[24];
	struct bs_node *n;
	int r;

	r = find_stack_node(m, e, e->first, &n);
	if (r < 0 || !n)
		return r;
	snprintf(buf, sizeof(buf), "%" PRIu64, e->timeout_sec);
	return bs_node_set_attr(n, BS_ATTR_TIMEOUT, buf);
}

/* ---- fstab ------------------------------------------------------------------------------- */

/* Whether an fstab entry is a layer of the stack: filesystems on devices, files or the
 * network, not proc, tmpfs and the like. */
static bool fstab_entry_is_layer(const struct bs_fstab_entry *e)
{
	/* A bind mount's type is "none", which libmount counts as a pseudo filesystem. */
	if (e->flags & (BS_FSTAB_NETFS | BS_FSTAB_SWAP | BS_FSTAB_BIND | BS_FSTAB_LOOP))
		return true;
	if (e->flags & BS_FSTAB_PSEUDOFS)
		return false;
	return bs_config_is_device_spec(e->source);
}

static int add_mount_nodes(struct merge *m)
{
	for (size_t i = 0; m->fstab && i < m->fstab->n_entries; i++) {
		const struct bs_fstab_entry *e = &m->fstab->entries[i];
		_cleanup_free_ char *id = NULL;
		struct bs_node *n;
		bool live;
		int r;

		if (!fstab_entry_is_layer(e) || (e->flags & BS_FSTAB_SWAP)) {
			if (!(e->flags & BS_FSTAB_SWAP))
				bs_log_debug(m->g->ctx, "%s:%u: '%s' on '%s' is no layer, skipping",
					     m->fstab_path, e->line, e->source, e->target);
			continue;
		}
		if (strextend(&id, "mnt:", e->target, NULL) < 0)
			return -ENOMEM;
		r = claim_node(m, BS_NODE_MOUNT, id, m->fstab_path, e->line, &n);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		m->fstab_nodes[i] = n;
		live = n->sources & BS_SOURCE_LIVE;
		/* A live mount shows what is mounted; the configured values fill in the rest. */
		if ((r = set_attr_default(n, BS_ATTR_SOURCE, e->source)) < 0 ||
		    (r = set_attr_default(n, BS_ATTR_FSTYPE, e->fstype)) < 0 ||
		    /* Options recorded from a past mount are what the kernel showed then;
		     * what to mount with is fstab's. */
		    (!live && (r = bs_node_set_attr(n, BS_ATTR_OPTIONS, e->options)) < 0) ||
		    (r = bs_node_add_mountpoint(n, e->target)) < 0 ||
		    (r = attach_mount_options(m, n, e->options, m->fstab_path, e->line)) < 0)
			return r;
	}
	return 0;
}

/* systemd's unit name escaping undone: "-" is "/", "\xNN" a byte; "-" alone is "/". */
static int unit_name_to_path(const char *name, size_t len, char **ret)
{
	_cleanup_free_ char *p = malloc(len + 2);
	size_t n = 0;

	if (!p)
		return -ENOMEM;
	p[n++] = '/';
	if (!(len == 1 && name[0] == '-'))
		for (size_t i = 0; i < len; i++) {
			int x = i + 3 < len ? unhex_escape(name + i) : -1;

			if (name[i] == '-')
				p[n++] = '/';
			else if (x > 0) {
				p[n++] = (char)x;
				i += 3;
			} else
				p[n++] = name[i];
		}
	p[n] = '\0';
	*ret = TAKE_PTR(p);
	return 0;
}

/* x-systemd.requires=: a unit name, or the path of a device or of a mount point. */
static int need_required(struct merge *m, struct bs_node *n, const char *value, unsigned line)
{
	static const char *const suffixes[] = { ".mount", ".device", ".swap" };
	const char *file = m->fstab_path, *crypt_name;
	_cleanup_free_ char *path = NULL, *id = NULL;
	size_t len = strlen(value);
	struct bs_node *target;
	int r;

	if (streq(value, "network-online.target") || streq(value, "network.target"))
		return need_network(m, n, file, line);
	if ((crypt_name = startswith(value, "systemd-cryptsetup@"))) {
		const char *dot = strrchr(crypt_name, '.');

		if (!dot || !streq(dot, ".service"))
			goto ignore;
		r = unit_name_to_path(crypt_name, (size_t)(dot - crypt_name), &path);
		if (r < 0)
			return r;
		/* A mapping name has no '/': the escape gives a path of one component. */
		if (strextend(&id, "crypt:", path + 1, NULL) < 0)
			return -ENOMEM;
		target = bs_graph_find_node(m->g, id);
		if (!target)
			return add_unresolved(m, n, value, file, line);
		return add_edge(m, n, target, "requires", file, line);
	}
	if (value[0] != '/') {
		size_t k;

		for (k = 0; k < ELEMENTSOF(suffixes); k++)
			if (len > strlen(suffixes[k]) &&
			    streq(value + len - strlen(suffixes[k]), suffixes[k]))
				break;
		if (k == ELEMENTSOF(suffixes))
			goto ignore;
		r = unit_name_to_path(value, len - strlen(suffixes[k]), &path);
		if (r < 0)
			return r;
		value = path;
	}
	if (startswith(value, "/dev/"))
		return need_device(m, n, value, "requires", file, line);

	/* A mount point: the mount of exactly that path. */
	if (strextend(&id, "mnt:", value, NULL) < 0)
		return -ENOMEM;
	bs_config_path_simplify(id + 4);
	target = bs_graph_find_node(m->g, id);
	if (!target || target->kind != BS_NODE_MOUNT)
		return add_unresolved(m, n, value, file, line);
	return add_edge(m, n, target, "requires", file, line);

ignore:
	bs_log_debug(m->g->ctx, "%s:%u: 'x-systemd.requires=%s' is no layer, ignoring", file, line,
		     value);
	return 0;
}

static int link_mount(struct merge *m, size_t i)
{
	const struct bs_fstab_entry *e = &m->fstab->entries[i];
	const char *file = m->fstab_path;
	struct bs_node *n = m->fstab_nodes[i];
	int r;

	/* A swap entry was linked by add_swap(): linking it again would double its edges and
	 * its unresolved references. */
	if (!n || (e->flags & BS_FSTAB_SWAP))
		return 0;
	if (e->flags & BS_FSTAB_NETFS)
		r = need_network(m, n, file, e->line);
	else if (e->flags & BS_FSTAB_BIND)
		r = need_file(m, n, e->source, "bind", file, e->line);
	else if (!startswith(e->source, "/dev/") && e->source[0] == '/')
		/* A filesystem image: mount puts it on a loop device. */
		r = need_file(m, n, e->source, "backing-file", file, e->line);
	else
		r = need_device(m, n, e->source, "device", file, e->line);
	if (r < 0)
		return r;

	for (char **v = e->requires; v && *v; v++) {
		r = need_required(m, n, *v, e->line);
		if (r < 0)
			return r;
	}
	for (char **v = e->requires_mounts_for; v && *v; v++) {
		r = need_file(m, n, *v, "requires-mounts-for", file, e->line);
		if (r < 0)
			return r;
	}
	if ((e->flags & BS_FSTAB_NETDEV) && !(e->flags & BS_FSTAB_NETFS))
		return need_network(m, n, file, e->line);
	return 0;
}

/* Swaps come after the other nodes: the id of a swap area is that of its device. */
static int add_swap(struct merge *m, size_t i)
{
	const struct bs_fstab_entry *e = &m->fstab->entries[i];
	const char *file = m->fstab_path;
	_cleanup_free_ char *id = NULL;
	struct bs_node *dev = NULL, *n;
	bool is_file = e->source[0] == '/' && !startswith(e->source, "/dev/");
	int r;

	if (!(e->flags & BS_FSTAB_SWAP))
		return 0;
	if (!is_file)
		dev = resolve_spec(m, e->source);
	/* A swap file and an unresolved device go by what the line says. */
	r = strextend(&id, "swap:", dev ? dev->id : e->source, NULL);
	if (r < 0)
		return r;
	r = claim_node(m, BS_NODE_SWAP, id, file, e->line, &n);
	if (r <= 0)
		return r;
	m->fstab_nodes[i] = n;
	if ((r = set_attr_default(n, BS_ATTR_SOURCE, e->source)) < 0 ||
	    (r = set_attr_default(n, BS_ATTR_OPTIONS, e->options)) < 0 ||
	    (r = attach_swap_flags(m, n, e)) < 0)
		return r;

	if (is_file)
		r = set_attr_default(n, BS_ATTR_BACKING_FILE, e->source);
	else if (dev)
		r = add_edge(m, n, dev, "device", file, e->line);
	else
		r = add_unresolved(m, n, e->source, file, e->line);
	if (r < 0)
		return r;
	for (char **v = e->requires; v && *v; v++) {
		r = need_required(m, n, *v, e->line);
		if (r < 0)
			return r;
	}
	if (e->flags & BS_FSTAB_NETDEV)
		return need_network(m, n, file, e->line);
	return 0;
}

/* ---- unresolved references --------------------------------------------------------------- */

static bool is_container_type(const char *fstype)
{
	size_t len;

	if (!fstype)
		return false;
	len = strlen(fstype);
	return streq(fstype, "crypto_LUKS") || streq(fstype, "BitLocker") ||
	       streq(fstype, "drbd") || streq(fstype, "bcache") ||
	       (len > 7 && streq(fstype + len - 7, "_member"));
}

/* A layer whose contents cannot be seen: one not open, or a device holding a layer's
 * signature (LUKS, an LVM PV, an md member) that nothing has opened. */
static bool is_closed_layer(const struct bs_node *n)
{
	if (!is_device_kind(n->kind) && n->kind != BS_NODE_VG)
		return false;
	if (!IN_SET(n->kind, BS_NODE_DISK, BS_NODE_PART, BS_NODE_BTRFS) &&
	    n->state < BS_STATE_ACTIVE)
		return true;
	return n->kind != BS_NODE_BTRFS && n->n_holders == 0 &&
	       is_container_type(n->attrs[BS_ATTR_FSTYPE]);
}

/*
 * An unresolved reference is no error at cold start: the device may sit inside a layer that
 * is still closed. It is a problem only when no closed layer could hold it: none but the
 * referring node itself and what (transitively) holds it, which cannot contain its own
 * device.
 */
static int report_unresolved(struct merge *m)
{
	_cleanup_free_ struct bs_node **closed = NULL, **queue = NULL;
	_cleanup_free_ bool *excluded = NULL;
	struct bs_graph *g = m->g;
	size_t n_closed = 0;
	int r;

	if (m->n_refs == 0)
		return 0;
	bs_graph_sort(g);
	closed = calloc(g->n_nodes + 1, sizeof(*closed));
	queue = calloc(g->n_nodes + 1, sizeof(*queue));
	excluded = calloc(g->n_nodes + 1, sizeof(*excluded));
	if (!closed || !queue || !excluded)
		return -ENOMEM;
	for (size_t i = 0; i < g->n_nodes; i++)
		if (is_closed_layer(g->nodes[i]))
			closed[n_closed++] = g->nodes[i];

	for (size_t k = 0; k < m->n_refs; k++) {
		const struct ref *ref = &m->refs[k];
		size_t head = 0, tail = 0;
		bool hidden = false;

		queue[tail++] = ref->node;
		excluded[ref->node->index] = true;
		while (head < tail) {
			const struct bs_node *v = queue[head++];

			for (size_t i = 0; i < v->n_holders; i++) {
				struct bs_node *h = v->holders[i]->holder;

				if (!excluded[h->index]) {
					excluded[h->index] = true;
					queue[tail++] = h;
				}
			}
		}
		for (size_t i = 0; i < n_closed && !hidden; i++)
			hidden = !excluded[closed[i]->index];
		for (size_t i = 0; i < tail; i++)
			excluded[queue[i]->index] = false;

		if (hidden)
			continue;
		r = bs_problem_add_full(m->problems, BS_PROBLEM_UNRESOLVED, BS_PROBLEM_ERROR,
					ref->file, ref->line, ref->spec,
					"'%s' matches no device, layer or recorded graph entry",
					ref->spec);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the source -------------------------------------------------------------------------- */

/* Whether from reaches to along what it needs, never through skip. */
static int needs_transitively(const struct bs_graph *g, const struct bs_node *from,
			      const struct bs_node *to, const struct bs_edge *skip)
{
	_cleanup_free_ const struct bs_node **stack = NULL;
	_cleanup_free_ bool *seen = NULL;
	size_t depth = 0;

	stack = malloc(sizeof(*stack) * (g->n_nodes ? g->n_nodes : 1));
	seen = calloc(g->n_nodes ? g->n_nodes : 1, sizeof(*seen));
	if (!stack || !seen)
		return -ENOMEM;
	/* Indexes are the positions of the node array, sorted or not. */
	for (size_t i = 0; i < g->n_nodes; i++)
		g->nodes[i]->index = i;
	stack[depth++] = from;
	seen[from->index] = true;
	while (depth > 0) {
		const struct bs_node *n = stack[--depth];

		for (size_t i = 0; i < n->n_needs; i++) {
			const struct bs_edge *e = n->needs[i];

			if (e == skip || e->carried || seen[e->needs->index])
				continue;
			if (e->needs == to)
				return 1;
			seen[e->needs->index] = true;
			stack[depth++] = e->needs;
		}
	}
	return 0;
}

/*
 * A key file that lies on a filesystem of the root set (/, /usr), for a layer that this
 * filesystem itself sits on, is carried by the initramfs, as cryptsetup-initramfs's
 * KEYFILE_PATTERN carries it: the usual way to unlock every device of an array below root
 * with one passphrase. That is no cycle: the edge stays, to be shown with its role, but
 * orders nothing. A key on any other filesystem that sits on the layer it unlocks stays a
 * cycle, reported as one.
 */
static int mark_carried_key_files(struct merge *m)
{
	static const char *const root_set[] = { "mnt:/", "mnt:/usr" };

	for (size_t i = 0; i < m->g->n_edges; i++) {
		struct bs_edge *e = m->g->edges[i];
		bool in_root_set = false;
		int r;

		if (!streq(e->role, "key-file") || e->needs->kind != BS_NODE_MOUNT)
			continue;
		for (size_t k = 0; k < ELEMENTSOF(root_set); k++)
			in_root_set |= streq(e->needs->id, root_set[k]);
		if (!in_root_set)
			continue;
		r = needs_transitively(m->g, e->needs, e->holder, e);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		e->carried = true;
		bs_log_debug(m->g->ctx, "%s: its key file lies on %s, which sits on it: the "
			     "initramfs carries it", e->holder->id, e->needs->id);
	}
	return 0;
}

static int merge_all(struct merge *m)
{
	int r;

	r = build_indexes(m);
	if (r < 0)
		return r;
	/* Nodes first, so that each reference can name any configured node, in any file. */
	r = add_md_nodes(m);
	if (r >= 0)
		r = add_crypt_nodes(m);
	if (r >= 0)
		r = add_stack_nodes(m);
	if (r >= 0)
		r = add_mount_nodes(m);
	if (r < 0)
		return r;

	for (size_t i = 0; m->mdadm && i < m->mdadm->n_arrays; i++)
		if ((r = link_md(m, i)) < 0)
			return r;
	for (size_t i = 0; m->crypttab && i < m->crypttab->n_entries; i++)
		if ((r = link_crypt(m, i)) < 0)
			return r;
	for (size_t i = 0; m->stack && i < m->stack->n_entries; i++)
		if ((r = link_stack(m, i)) < 0)
			return r;
	for (size_t i = 0; m->fstab && i < m->fstab->n_entries; i++)
		if ((r = add_swap(m, i)) < 0 || (r = link_mount(m, i)) < 0)
			return r;

	/* Mounts below mounts and files on mounts, for configured nodes as for live ones. */
	r = bs_graph_link_derived(m->g);
	if (r < 0)
		return r;
	for (size_t i = 0; m->stack && i < m->stack->n_entries; i++)
		if ((m->stack->entries[i].kind == BS_STACK_AFTER &&
		     (r = link_after(m, &m->stack->entries[i])) < 0) ||
		    (m->stack->entries[i].kind == BS_STACK_TIMEOUT &&
		     (r = set_timeout(m, &m->stack->entries[i])) < 0))
			return r;

	r = type_unconfigured_mounts(m);
	if (r >= 0)
		r = mark_carried_key_files(m);
	if (r < 0)
		return r;
	r = report_unresolved(m);
	if (r < 0)
		return r;
	r = bs_graph_find_cycles(m->g, m->problems);
	if (r < 0)
		return r;
	bs_graph_sort(m->g);
	return 0;
}

struct problem_key {
	size_t rank, index;
	unsigned line;
};

static int cmp_problem_keys(const void *a, const void *b)
{
	const struct problem_key *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Problems in the order of the files, then of the lines; those of one line (and those
 * without a file, last) in the order found. */
static void sort_problems(struct merge *m)
{
	const char *files[] = { m->fstab_path, m->crypttab_path, m->mdadm_path, m->stack_path };
	struct bs_problem_list *l = m->problems;
	_cleanup_free_ struct problem_key *keys = NULL;
	_cleanup_free_ struct bs_problem *sorted = NULL;
	size_t n = l->n_problems;

	if (n < 2)
		return;
	keys = calloc(n, sizeof(*keys));
	sorted = calloc(n, sizeof(*sorted));
	if (!keys || !sorted)
		return; /* the order found is a fine order too */
	for (size_t i = 0; i < n; i++) {
		keys[i] = (struct problem_key){
			.rank = ELEMENTSOF(files),
			.index = i,
			.line = l->problems[i].line,
		};
		for (size_t f = 0; f < ELEMENTSOF(files); f++)
			if (files[f] && l->problems[i].file && streq(files[f], l->problems[i].file))
				keys[i].rank = f;
	}
	qsort(keys, n, sizeof(*keys), cmp_problem_keys);
	for (size_t i = 0; i < n; i++)
		sorted[i] = l->problems[keys[i].index];
	memcpy(l->problems, sorted, n * sizeof(*sorted));
}

_public_ int bs_graph_add_config(struct bs_graph *g, struct bs_problem_list *problems)
{
	struct bs_problem_list scratch = {};
	struct merge m = { .g = g };
	int r;

	if (!g)
		return -EINVAL;
	m.problems = problems ?: &scratch;
	r = hashmap_new(HASHMAP_STRING, &m.aliases);
	if (r >= 0)
		r = parse_all(&m);
	if (r >= 0)
		r = merge_all(&m);
	if (r >= 0)
		sort_problems(&m);
	merge_done(&m);
	bs_problem_list_done(&scratch);
	return r < 0 ? r : 0;
}
