/* Internal graph API: how sources add and merge nodes, identities and edges. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "blkstack.h"
#include "layer-config.h"
#include "libblkstack-private.h"

/* Identities and properties a node may carry; names as bs_node_get_attr() takes them. */
enum bs_attr {
	BS_ATTR_UUID,
	BS_ATTR_UUID_SUB,
	BS_ATTR_LABEL,
	BS_ATTR_FSTYPE,
	BS_ATTR_PARTUUID,
	BS_ATTR_PARTLABEL,
	BS_ATTR_SERIAL,
	BS_ATTR_DM_NAME,
	BS_ATTR_DM_UUID,
	BS_ATTR_MD_UUID,
	BS_ATTR_MD_NAME,
	BS_ATTR_MD_LEVEL,
	BS_ATTR_VG_UUID,
	BS_ATTR_LV_UUID,
	BS_ATTR_BACKING_FILE,
	BS_ATTR_SOURCE,
	BS_ATTR_OPTIONS,
	BS_ATTR_TIMEOUT, /* seconds to wait for the device: stack.conf "timeout ID SECONDS" */
	/* A disk's modaliases, space-separated, from the block device up (its driver's, its
	 * controller's, its bus's): what the image needs to see it, kept in the record for
	 * offline builds. */
	BS_ATTR_MODALIAS,
	/* A LUKS header's segment cipher as dm-crypt names it ("aes-xts-plain64"), on the
	 * device that holds the header: which crypto modules the image needs. */
	BS_ATTR_CIPHER,
	BS_ATTR_UNRESOLVED, /* set by configuration sources, see bs_node_get_unresolved() */
	_BS_ATTR_MAX,
	_BS_ATTR_INVALID = -EINVAL,
};

const char *bs_attr_to_string(enum bs_attr a);
enum bs_attr bs_attr_from_string(const char *s);

struct bs_edge {
	struct bs_node *holder;
	struct bs_node *needs;
	char *role;
	/* The need is met by what the initramfs carries, not by the node: a key file on a
	 * filesystem of the root set for a layer below root (cryptsetup-initramfs's
	 * KEYFILE_PATTERN). Shown, but no dependency: it orders nothing and is no cycle. */
	bool carried;
	/* The configuration line that made the edge (sources/config.c), so that a problem such
	 * as a cycle can name it; NULL and 0 for edges of other sources. */
	char *origin_file;
	unsigned origin_line;
};

struct bs_node {
	struct bs_graph *graph;
	/* Position in the graph's node array once sorted (bs_graph_sort), for per-node
	 * arrays in the planner and the tree printer. */
	size_t index;
	char *id;
	enum bs_node_kind kind;
	char *name; /* kernel name, block devices only */
	dev_t devno; /* 0 if none */
	char devno_str[24];
	uint64_t size;
	enum bs_node_state state;
	unsigned sources;
	char *attrs[_BS_ATTR_MAX];
	char **mountpoints;
	/* What the configuration line that describes the node says for its driver, parsed
	 * once when the graph is loaded (sources/config.c); NULL if no line describes it. */
	struct bs_layer_config *config;

	struct bs_edge **needs;
	size_t n_needs, allocated_needs;
	struct bs_edge **holders;
	size_t n_holders, allocated_holders;
};

struct hashmap;

struct bs_graph {
	unsigned n_ref;
	struct bs_ctx *ctx;

	struct bs_node **nodes;
	size_t n_nodes, allocated_nodes;
	struct bs_edge **edges;
	size_t n_edges, allocated_edges;
	/* The resume device in use, a fact of the running system that a source sets
	 * (sources/kernel.c): it is in the root set. NULL if none. */
	struct bs_node *resume;
	/* Whether nodes[], edges[] and each node's edge lists are in their stable order. */
	bool sorted;

	struct hashmap *by_id;
	struct hashmap *by_devno;
	struct hashmap *by_name;
	/* Lookups by identity (UUID=, LABEL=, /dev/mapper/NAME, ...): the first node that got
	 * the value; checked against the node's current value on use. */
	struct hashmap *by_attr[_BS_ATTR_MAX];
	/* Names and attribute values replaced since they were set: the maps above borrow
	 * their keys and never drop one, so the strings live until the graph is freed. */
	char **retired;
	size_t n_retired, allocated_retired;
};

/*
 * Returns the node with id, creating it with kind if there is none (returns 1 then, 0 if it
 * existed). An existing node of another kind is -EEXIST: ids name what a node is.
 */
int bs_graph_ensure_node(struct bs_graph *g, enum bs_node_kind kind, const char *id,
			 struct bs_node **ret);

/*
 * Gives n another id, for a node that its source could not name as what it is: sysfs names a
 * live drbdN by its kernel name, and the configuration knows its resource. Its edges stay.
 * -EEXIST if another node has id. Returns 0 or -ENOMEM.
 */
int bs_graph_rename_node(struct bs_graph *g, struct bs_node *n, const char *id);

struct bs_node *bs_graph_find_devno(const struct bs_graph *g, dev_t devno);
struct bs_node *bs_graph_find_kernel_name(const struct bs_graph *g, const char *name);
/* The node a /dev path names: /dev/NAME, /dev/mapper/DM, /dev/VG/LV, /dev/md/NAME,
 * /dev/disk/by-{uuid,label,partuuid,partlabel,id}/... NULL if none. */
struct bs_node *bs_graph_find_dev_path(const struct bs_graph *g, const char *path);
/* The node a device spec names as the kernel's command line writes it: UUID=, LABEL=,
 * PARTUUID=, PARTLABEL= or a /dev path (see bs_graph_find_dev_path()). NULL if none. */
struct bs_node *bs_graph_find_spec(const struct bs_graph *g, const char *spec);
/* A node whose attr equals value, or NULL. When several share the value (the devices of one
 * multi-device btrfs share its UUID), the first that got it. */
struct bs_node *bs_graph_find_attr(const struct bs_graph *g, enum bs_attr attr, const char *value);

/* Sets the kernel name and device number, indexing the node by both. */
int bs_node_set_block(struct bs_node *n, const char *name, dev_t devno);
/* Sets an attribute; NULL or "" clears it. */
int bs_node_set_attr(struct bs_node *n, enum bs_attr a, const char *value);
const char *bs_node_attr(const struct bs_node *n, enum bs_attr a);
int bs_node_add_mountpoint(struct bs_node *n, const char *path);
/* States only rise: absent < present < active < mounted. */
void bs_node_raise_state(struct bs_node *n, enum bs_node_state s);
void bs_node_add_source(struct bs_node *n, enum bs_source s);

/* Adds an edge from holder to needs with role, unless that pair is joined already (then
 * returns 0 and keeps the first role); returns 1 if added. A self edge is -EINVAL. */
int bs_graph_add_edge(struct bs_graph *g, struct bs_node *holder, struct bs_node *needs,
		      const char *role);
/* Removes every edge from holder whose role is role (NULL: every edge). */
void bs_graph_remove_needs(struct bs_graph *g, struct bs_node *holder, const char *role);

/* The first node that n needs in role, or NULL. It reads the edge arrays directly: the
 * getters sort the graph lazily, and the graph is shared by the steps running at once. */
struct bs_node *bs_node_need_with_role(const struct bs_node *n, const char *role);

/* The graph as bs_graph_to_json() gives it, as a json-c object (a struct json_object *,
 * declared opaque here); with keep (indexed by node index, after bs_graph_sort()), only the
 * nodes kept and the edges between them, without those the initramfs carries. */
struct json_object;
int bs_graph_to_json_object(const struct bs_graph *g, const bool *keep, struct json_object **ret);

/* o as the library prints JSON (pretty, spaced, '/' unescaped), newly allocated. */
int bs_json_format(struct json_object *o, char **ret);
/* Adds v to object o under key, taking it: v is freed when that fails. A NULL v (a
 * json_object_new_*() that failed) is -ENOMEM. */
int bs_json_add(struct json_object *o, const char *key, struct json_object *v);
/* Adds value as a string; a NULL value is left out, or written as null when null_if_missing. */
int bs_json_add_string(struct json_object *o, const char *key, const char *value,
		       bool null_if_missing);

/* Sorts nodes, edges and edge lists into their stable order (done by the getters lazily). */
void bs_graph_sort(struct bs_graph *g);

/*
 * The mount whose mount point is the longest prefix of path, whole components compared (so
 * "/data" holds "/data/x" but not "/database"), other than exclude. With skip_holders, a
 * mount that needs exclude is passed over too: a loop device's file is never on the mount of
 * that loop device. Configuration passes false: a key file on a filesystem that needs its
 * own crypt mapping is a cycle to report, not to hide. Costs the depth of path.
 */
struct bs_node *bs_graph_find_mount_holding(const struct bs_graph *g, const char *path,
					    const struct bs_node *exclude, bool skip_holders);
