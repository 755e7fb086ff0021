/* libblkstack public API: the library context, its logging and its system root. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Conventions
 *
 * Functions returning int return a negative errno on failure and 0 (or a count) on success.
 * Out-parameters are named ret and are left untouched on failure. Handles are opaque and
 * reference counted: bs_X_ref() returns its argument, bs_X_unref() accepts NULL and returns
 * NULL. Returned const char * values are borrowed from the object they came from.
 *
 * The library never prints and never exits; it reports through the log function of its
 * context. It keeps no global mutable state, so separate contexts may be used from separate
 * threads. One context must not be used from several threads at once by the caller; the
 * executor's own worker threads do use theirs at once, to log among other things, so a log
 * function must be thread-safe (see bs_log_fn).
 */

/* The library context: holds the system root that every read goes through, and logging. */
struct bs_ctx;

struct bs_ctx_opts {
	/* Directory that stands in for "/" for every read of system state (sys/, proc/,
	 * etc/, run/), as with lsblk --sysroot. NULL means "/". */
	const char *sysroot;
	/* Where the system's filesystems are mounted, as an initramfs mounts the root at
	 * /sysroot before it switches to it. A live mount below it is taken as the mount of
	 * the same path without the prefix (mount_root/srv is "mnt:/srv"); the executor mounts
	 * fstab's "/" at mount_root itself, "/srv" at mount_root/srv, and opens files that lie
	 * on those filesystems (key files, loop backing files) there. NULL means "/": mounts
	 * are where fstab says. */
	const char *mount_root;
};

/*
 * Creates a context with one reference. opts may be NULL for the defaults.
 *
 * Logging starts silent, at priority LOG_WARNING. If the environment variable BLKSTACK_DEBUG
 * is set to a true value (1, yes, true, on) and the process is not set-user-ID or otherwise
 * secure-execution, the priority starts at LOG_DEBUG and messages go to stderr until
 * bs_ctx_set_log_fn() replaces that.
 *
 * Returns 0 on success, -EINVAL on bad arguments, -ENOMEM, or the errno of opening the
 * system root (for example -ENOENT or -ENOTDIR).
 */
int bs_ctx_new(const struct bs_ctx_opts *opts, struct bs_ctx **ret);

/* Takes a reference. Accepts NULL. Returns c. */
struct bs_ctx *bs_ctx_ref(struct bs_ctx *c);

/* Drops a reference and frees the context with the last one. Accepts NULL. Returns NULL. */
struct bs_ctx *bs_ctx_unref(struct bs_ctx *c);

/*
 * A log function. priority is a syslog LOG_* level (LOG_ERR, LOG_WARNING, ..., LOG_DEBUG);
 * file, line and fn locate the message in the library's source. format and args are as for
 * vprintf(); errno holds what it held at the log call, so "%m" works. The message has no
 * trailing newline.
 *
 * It may be called from several threads at once: bs_exec_run() logs from its worker threads,
 * each step as it runs. It must therefore be thread-safe, with what it does to userdata, and
 * write each message in one piece (one locked write or stdio call, flockfile() around
 * several), so that messages of different threads do not interleave. Unlike the events of
 * bs_exec_event_fn, calls are not serialized.
 */
typedef void (*bs_log_fn)(void *userdata, int priority, const char *file, int line, const char *fn,
			  const char *format, va_list args);

/* Sends messages at or above the context's log priority to fn, with userdata. fn NULL
 * silences the context. */
void bs_ctx_set_log_fn(struct bs_ctx *c, bs_log_fn fn, void *userdata);

/* Returns the log priority: messages with a priority numerically above it are dropped
 * unformatted. Returns -EINVAL if c is NULL. */
int bs_ctx_get_log_priority(const struct bs_ctx *c);

/* Sets the log priority (LOG_EMERG to LOG_DEBUG). Returns 0, or -EINVAL. */
int bs_ctx_set_log_priority(struct bs_ctx *c, int priority);

/* Returns the absolute, canonical path of the system root ("/" by default), or NULL if c is
 * NULL. Borrowed from c. */
const char *bs_ctx_get_sysroot(const struct bs_ctx *c);

/* Returns the library's version, e.g. "0.1.0". */
const char *bs_version(void);

/* ---- The graph ---------------------------------------------------------------------------
 *
 * One graph holds everything between the disks and the mount points. A node is one thing that
 * can be brought up or taken down; an edge runs from a holder to a node it needs. A node may
 * have many holders and many needs, so the graph is a DAG, not a tree. The graph owns its
 * nodes and edges: pointers to them stay valid for the life of the graph.
 */
struct bs_graph;
struct bs_node;
struct bs_edge;
struct bs_problem_list;
struct bs_pins; /* see "Pins" below */

enum bs_node_kind {
	BS_NODE_DISK,
	BS_NODE_PART,
	BS_NODE_MD,
	BS_NODE_CRYPT,
	BS_NODE_VG,
	BS_NODE_LV,
	BS_NODE_DM,
	BS_NODE_LOOP,
	BS_NODE_NBD,
	BS_NODE_ISCSI,
	BS_NODE_DRBD,
	BS_NODE_MPATH,
	BS_NODE_BTRFS,
	BS_NODE_MOUNT,
	BS_NODE_SWAP,
	BS_NODE_NETWORK, /* the pseudo-node net:online that network layers need */
	_BS_NODE_KIND_MAX,
	_BS_NODE_KIND_INVALID = -EINVAL,
};

/* The kind's name in show --json ("disk", "part", ...), or NULL if out of range. */
const char *bs_node_kind_to_string(enum bs_node_kind k);
/* The kind named s, or _BS_NODE_KIND_INVALID. */
enum bs_node_kind bs_node_kind_from_string(const char *s);

enum bs_node_state {
	BS_STATE_ABSENT, /* known (configured or recorded) but not there */
	BS_STATE_PRESENT, /* there, not opened: a disk, an inactive LV, a VG with no active LV */
	BS_STATE_ACTIVE, /* opened: an assembled array, an open mapping, an active LV, swap on */
	BS_STATE_MOUNTED, /* a mounted filesystem */
	_BS_STATE_MAX,
	_BS_STATE_INVALID = -EINVAL,
};

const char *bs_node_state_to_string(enum bs_node_state s);
enum bs_node_state bs_node_state_from_string(const char *s);

/* Where a node was learned; a node may carry several. */
enum bs_source {
	BS_SOURCE_LIVE = 1 << 0, /* the running kernel: sysfs, mountinfo, swaps, lvm report */
	BS_SOURCE_CONFIG = 1 << 1, /* fstab, crypttab, mdadm.conf, stack.conf */
	BS_SOURCE_RECORDED = 1 << 2, /* the recorded graph, /var/lib/blkstack/graph.json */
	BS_SOURCE_MANIFEST = 1 << 3, /* the initramfs manifest */
};

/* Creates an empty graph on c (taking a reference to c). */
int bs_graph_new(struct bs_ctx *c, struct bs_graph **ret);
struct bs_graph *bs_graph_ref(struct bs_graph *g);
struct bs_graph *bs_graph_unref(struct bs_graph *g);

/*
 * Adds what the running system shows, read below the context's sysroot: block devices from
 * sysfs, identities from libblkid, mounts from mountinfo, swaps, and LVM membership from the
 * lvm report. A damaged source (a dangling link, a missing attribute, a bad line) is logged
 * as a warning naming the path and skipped; the rest is still read. Returns 0, or a negative
 * errno if nothing could be read at all (e.g. -ENOENT without sys/class/block).
 */
int bs_graph_add_live(struct bs_graph *g);

/* The recorded graph, below the context's system root: the last live graph, written by
 * bs_graph_record() in the show --json format ("blkstack record"). */
#define BS_RECORDED_GRAPH_PATH "/var/lib/blkstack/graph.json"

/*
 * Merges the recorded graph (BS_RECORDED_GRAPH_PATH below the context's sysroot) into g, so
 * that the graph at cold start knows what lies inside layers that are still closed. Call it
 * after bs_graph_add_live() and before the configuration is added: it matches what it read
 * against the live devices, and configuration references then resolve to what it added.
 *
 * Each recorded node merges into the node of g that is the same thing, and gets
 * BS_SOURCE_RECORDED; one that matches nothing is added with state absent and its
 * identities (uuid, label, fstype, partuuid, md_uuid, dm_name, ...), so that references such
 * as UUID=... resolve to it. Disks, partitions, loop and nbd devices (ids blk:NAME) match by
 * what identifies them across boots: serial, PARTUUID, UUID_SUB, loop backing file, or a
 * UUID that no other device has; not by kernel name, which may differ from boot to boot. A
 * device of g with the recorded kernel name but another identity is not merged. Other nodes
 * merge by id. Recorded identities fill in what g does not know, except on a live block
 * device, whose identities were read just now; a recorded state, kernel name, device number,
 * or the mount points of a device, describe the system as it was and are not taken.
 *
 * Recorded edges are added, except from a live holder: what it needs comes from the live
 * sources, and the record adds only members that are missing now (of an md array, a VG, a
 * btrfs filesystem).
 *
 * Returns the number of recorded nodes merged or added, 0 if there is no recorded graph. A
 * file that is no recorded graph (not JSON, cut short, not version 1, an edge to no node,
 * ...) is logged as a warning naming the file and the byte or the element, and gives
 * -EBADMSG with nothing added. Else -EFBIG (larger than 64 MiB), the errno of reading it, or
 * -ENOMEM, after which g may be partly merged.
 */
int bs_graph_add_recorded(struct bs_graph *g);

/*
 * Writes g, as bs_graph_to_json() gives it, to path; with path NULL, to
 * BS_RECORDED_GRAPH_PATH below the context's sysroot, creating its missing directories with
 * mode 0755. The file is replaced atomically: written to a temporary file in the same
 * directory, flushed to disk, and renamed over it, so a reader sees the old graph or the new
 * one, never a part. This is the one function of the library that writes below the sysroot.
 * The recorded graph is meant to be the live graph: record a graph built by
 * bs_graph_add_live() alone.
 *
 * Returns 0, -EINVAL, -ENOMEM, or the errno of the write that failed.
 */
int bs_graph_record(struct bs_graph *g, const char *path);

/* Nodes and edges, in a stable order: nodes sorted by id, edges by holder id, then needs
 * id. Index out of range gives NULL. */
size_t bs_graph_get_n_nodes(const struct bs_graph *g);
struct bs_node *bs_graph_get_node(const struct bs_graph *g, size_t i);
size_t bs_graph_get_n_edges(const struct bs_graph *g);
struct bs_edge *bs_graph_get_edge(const struct bs_graph *g, size_t i);
/* The node with id, or NULL. */
struct bs_node *bs_graph_find_node(const struct bs_graph *g, const char *id);

/* The graph as show --json prints it (see blkstack(1); the format's contract is in the
 * project's design notes, DESIGN.md, "show --json", kept outside this repository), newly
 * allocated. */
int bs_graph_to_json(const struct bs_graph *g, char **ret);

/* Node getters. Strings are borrowed from the graph; NULL means unknown. */
const char *bs_node_get_id(const struct bs_node *n);
enum bs_node_kind bs_node_get_kind(const struct bs_node *n);
/* The kernel name ("dm-0", "vda1"), for nodes that are block devices; else NULL. */
const char *bs_node_get_name(const struct bs_node *n);
/* The device number "MAJ:MIN" as a string, or NULL. */
const char *bs_node_get_devno(const struct bs_node *n);
/* Size in bytes, 0 if unknown. */
uint64_t bs_node_get_size(const struct bs_node *n);
enum bs_node_state bs_node_get_state(const struct bs_node *n);
/* A mask of enum bs_source. */
unsigned bs_node_get_sources(const struct bs_node *n);
/*
 * An identity or property by name: "uuid", "uuid_sub", "label", "fstype", "partuuid",
 * "partlabel", "serial", "dm_name", "dm_uuid", "md_uuid", "md_name", "md_level",
 * "vg_uuid", "lv_uuid", "backing_file", "source", "options". NULL if unknown.
 */
const char *bs_node_get_attr(const struct bs_node *n, const char *key);
/* What a configured node refers to that no known node provides ("UUID=..."): a filesystem
 * inside a layer still closed, with no recorded graph to say where. NULL if none. Several
 * are separated by spaces; a space or backslash inside one is written \040 or \134, as in
 * fstab(5). */
const char *bs_node_get_unresolved(const struct bs_node *n);
/* NULL-terminated list of mount points (of a filesystem node or a block device holding a
 * mounted filesystem). Never NULL. */
char *const *bs_node_get_mountpoints(const struct bs_node *n);

/* The edges from n to what it needs, and from its holders to n, sorted by the other end. */
size_t bs_node_get_n_needs(const struct bs_node *n);
struct bs_edge *bs_node_get_need(const struct bs_node *n, size_t i);
size_t bs_node_get_n_holders(const struct bs_node *n);
struct bs_edge *bs_node_get_holder(const struct bs_node *n, size_t i);

struct bs_node *bs_edge_get_holder(const struct bs_edge *e);
struct bs_node *bs_edge_get_needs(const struct bs_edge *e);
/*
 * Why the holder needs it: "parent" (partition on disk), "member" / "spare" / "faulty"
 * (md array on a member), "pv" (VG on a physical volume), "vg" (LV in its VG), "backing"
 * (mapping or device on its backing device), "backing-file" (loop on the mount holding its
 * file), "device" (mount or swap on its device), "mountpoint" (mount under a mount).
 * Configuration adds "key-file" and "header" (crypt mapping on the device or mount holding
 * its key file or detached header), "container" (md array in its container), "bind" (bind
 * mount on the mount holding its source), "requires" and "requires-mounts-for" (fstab's
 * x-systemd.requires= and x-systemd.requires-mounts-for=), "network" (network layer or
 * _netdev entry on net:online) and "after" (stack.conf's after lines).
 */
const char *bs_edge_get_role(const struct bs_edge *e);

/* ---- Configuration -------------------------------------------------------------------------
 *
 * fstab, crypttab, mdadm.conf and stack.conf (see stack.conf(5)), read below the context's
 * system root, merged into the graph, and checked.
 */

/*
 * Reads etc/fstab (through libmount), etc/crypttab, etc/mdadm/mdadm.conf and
 * etc/blkstack/stack.conf below the context's sysroot, each of which may be missing, and
 * merges what they configure into g under the node ids of the project's design notes
 * (DESIGN.md, kept outside this repository; blkstack(1) lists them): mnt:MOUNTPOINT,
 * swap:DEVICE-ID, crypt:NAME, md:NAME (md:UUID for an array without a name), loop:PATH for a
 * loop file not attached now, blk:nbdN or nbd:NAME, iscsi:NAME, and net:online (kind
 * network), which network layers and _netdev entries need. Call it after
 * bs_graph_add_live() and bs_graph_add_recorded().
 *
 * A configured node that g has already (live or recorded) is the same node and gets
 * BS_SOURCE_CONFIG; an md array is found by its uuid, a loop file by its backing file. Other
 * configured nodes are added with state absent. The configuration fills in the attributes g
 * does not know: "source" (the device as configured: "UUID=...", or nbd://HOST:PORT/EXPORT,
 * iscsi://PORTAL/IQN), "options" (the configured options, where the node is not live: the
 * planner reads noauto there), "fstype", "dm_name", "md_uuid", "md_name", "md_level",
 * "backing_file".
 *
 * A reference that no node provides (UUID=... of a filesystem inside a layer still closed)
 * is no error: it is kept on the node, see bs_node_get_unresolved(). It becomes a problem
 * ("'UUID=...' matches no device, layer or recorded graph entry") only when no closed layer
 * is left that could hold it: no md array, crypt mapping, LV, VG, loop, nbd or iscsi device
 * that is not open, and no device with an unopened LUKS, LVM or md signature, other than
 * the referring node and those that hold it.
 *
 * Every other problem is appended to problems as well: malformed lines, unknown options
 * (with a suggestion), bad numbers, duplicate mount points, mapping names or arrays, "after"
 * lines naming no node, and cycles in the merged graph ("dependency cycle: a -> b -> a", at
 * the line of one of its configured edges). Everything that could be merged is merged
 * regardless.
 *
 * Returns 0, -EINVAL or -ENOMEM. problems may be NULL to drop them.
 */
int bs_graph_add_config(struct bs_graph *g, struct bs_problem_list *problems);

/* ---- Problems ------------------------------------------------------------------------------
 *
 * What is wrong with the configuration, typed, so that a front end can tell a device that is
 * not there yet from a configuration that is wrong, and a warning from an error.
 */

enum bs_problem_kind {
	BS_PROBLEM_INVALID, /* a malformed line or field, an unparseable number: ambiguous */
	BS_PROBLEM_UNKNOWN, /* an option or keyword that blkstack does not know (a warning) */
	BS_PROBLEM_UNREADABLE, /* a file that exists but cannot be read */
	BS_PROBLEM_DUPLICATE, /* a mount point, mapping name, array or id given twice */
	BS_PROBLEM_UNRESOLVED, /* a reference that no device, layer or record provides: a device
				* that is not there (yet); bs_problem_get_reference() names it */
	BS_PROBLEM_CYCLE, /* a dependency cycle */
	_BS_PROBLEM_KIND_MAX,
	_BS_PROBLEM_KIND_INVALID = -EINVAL,
};

const char *bs_problem_kind_to_string(enum bs_problem_kind k);

enum bs_problem_severity {
	BS_PROBLEM_WARNING, /* reported, and the line is read without what is not understood */
	BS_PROBLEM_ERROR, /* the line, or the part of it, is not used */
	_BS_PROBLEM_SEVERITY_MAX,
	_BS_PROBLEM_SEVERITY_INVALID = -EINVAL,
};

const char *bs_problem_severity_to_string(enum bs_problem_severity s);

/* A list of problems, in the order of the files and their lines. */
struct bs_problem_list;
struct bs_problem;

int bs_problem_list_new(struct bs_problem_list **ret);
/* Frees l. Accepts NULL. Returns NULL. */
struct bs_problem_list *bs_problem_list_free(struct bs_problem_list *l);
size_t bs_problem_list_get_n(const struct bs_problem_list *l);
/* Problem i, or NULL if out of range. */
const struct bs_problem *bs_problem_list_get(const struct bs_problem_list *l, size_t i);
/* How many problems of severity s there are. */
size_t bs_problem_list_count(const struct bs_problem_list *l, enum bs_problem_severity s);
/* The problems as JSON, newly allocated: {"problems":[{"file":...,"line":...,"kind":...,
 * "severity":...,"reference":...,"message":...}]}, with file, line and reference null where
 * there is none. */
int bs_problem_list_to_json(const struct bs_problem_list *l, char **ret);

enum bs_problem_kind bs_problem_get_kind(const struct bs_problem *p);
enum bs_problem_severity bs_problem_get_severity(const struct bs_problem *p);
/* The absolute path below the sysroot ("/etc/crypttab"), or NULL when no file is to blame. */
const char *bs_problem_get_file(const struct bs_problem *p);
/* 1-based, 0 for a file as a whole or no file. */
unsigned bs_problem_get_line(const struct bs_problem *p);
/* The device spec ("UUID=...") or node id the problem is about, or NULL. */
const char *bs_problem_get_reference(const struct bs_problem *p);
const char *bs_problem_get_message(const struct bs_problem *p);
/* "FILE:LINE: MESSAGE" ("FILE: MESSAGE" for a file as a whole, "MESSAGE" when no file is to
 * blame); a warning's ends in ", ignoring". */
const char *bs_problem_get_text(const struct bs_problem *p);

/* ---- The loader ----------------------------------------------------------------------------
 *
 * Every front end builds its graph here, from a chosen set of sources, with one policy for
 * the problems of the configuration.
 */

enum bs_load_flags {
	BS_LOAD_LIVE = 1u << 0, /* the running system (bs_graph_add_live()) */
	BS_LOAD_RECORDED = 1u << 1, /* the recorded graph (bs_graph_add_recorded()) */
	BS_LOAD_CONFIG = 1u << 2, /* the configuration (bs_graph_add_config()) */
	BS_LOAD_MANIFEST = 1u << 3, /* an initramfs manifest (bs_load_opts.manifest) */
	/* No block devices to read is no failure: the configuration is checked alone. */
	BS_LOAD_LIVE_OPTIONAL = 1u << 8,
	/* Policy: an error of the configuration fails the load with -EBADMSG. */
	BS_LOAD_REFUSE_ERRORS = 1u << 9,
	/* Policy, with BS_LOAD_REFUSE_ERRORS: a reference no device provides (BS_PROBLEM_UNRESOLVED)
	 * does not fail the load; it is a device that may still appear, for the executor to wait
	 * for. */
	BS_LOAD_WAIT_UNRESOLVED = 1u << 10,
	/* Policy, with BS_LOAD_REFUSE_ERRORS: warnings count as errors (check --strict). */
	BS_LOAD_STRICT = 1u << 11,
};

/* The sources that the commands read: live, recorded and configuration. */
#define BS_LOAD_DEFAULT (BS_LOAD_LIVE | BS_LOAD_RECORDED | BS_LOAD_CONFIG)

struct bs_load_opts {
	unsigned flags; /* enum bs_load_flags */
	const char *manifest; /* with BS_LOAD_MANIFEST: its path (below the sysroot) */
};

/*
 * Builds a graph from the sources that opts->flags names, in their one order: live, then
 * the recorded graph (or the manifest), then the configuration. A damaged recorded graph is
 * left out (it has been logged). Problems of the configuration go to *ret_problems (may be
 * NULL to drop them); every problem is logged at debug level.
 *
 * Returns the number of recorded nodes merged (0 without a recorded graph) with *ret set.
 * With BS_LOAD_REFUSE_ERRORS and a problem the policy refuses: -EBADMSG, *ret untouched, and
 * *ret_problems still set, so that the caller can print them. Else the negative errno of the
 * source that could not be read at all (logged, naming it); -EOPNOTSUPP for a source this
 * version cannot read.
 */
int bs_graph_load(struct bs_ctx *c, const struct bs_load_opts *opts, struct bs_graph **ret,
		  struct bs_problem_list **ret_problems);

/* ---- What an initramfs needs ----------------------------------------------------------------
 *
 * The root set (root, /usr, the resume device) and everything it needs, transitively: the
 * nodes an initramfs brings up, and nothing else. A pure function of the graph.
 */
struct bs_needs;

/*
 * The closure of the root set of g: root (a mount point; NULL: "/"), /usr when g has it as a
 * mount and root is "/", resume (a device spec, /dev path or node id; NULL: the resume device
 * the running system names, if any) and each of also (node ids, mount points or device
 * specs, NULL-terminated; may be NULL), with everything they need. A key file that the
 * initramfs carries (a key on root for a layer below root) is listed, not followed. Returns
 * 0, -ENOENT (logged) when root, resume or one of also names nothing, -EINVAL or -ENOMEM.
 */
int bs_needs_new(struct bs_graph *g, const char *root, const char *resume,
		 const char *const *also, struct bs_needs **ret);
struct bs_needs *bs_needs_unref(struct bs_needs *n);
/* The nodes of the closure, sorted by id. */
size_t bs_needs_get_n_nodes(const struct bs_needs *n);
struct bs_node *bs_needs_get_node(const struct bs_needs *n, size_t i);
/* The graph the closure was taken from (borrowed). */
struct bs_graph *bs_needs_get_graph(const struct bs_needs *n);
/* The root set: root, /usr, the resume device and the --also nodes, in that order. */
size_t bs_needs_get_n_root_set(const struct bs_needs *n);
struct bs_node *bs_needs_get_root_set(const struct bs_needs *n, size_t i);
/* Whether a node of kind k is in the closure (no LVM in the image without an LV below root). */
bool bs_needs_has_kind(const struct bs_needs *n, enum bs_node_kind k);
/* As JSON, newly allocated: {"version":1,"root_set":[ids],"kinds":[...],"nodes":[{"id",
 * "kind","identities":{...},"config":{"file","line"}}],"key_files":[{"node","path"}]}. The
 * identities are those that name a device across boots (serial, PARTUUID, UUID_SUB, UUID, md
 * and LVM uuids, labels), never a kernel name. */
int bs_needs_to_json(const struct bs_needs *n, char **ret);

/* The resume device of the closure (given to bs_needs_new() or named by the running system),
 * or NULL if there is none. */
struct bs_node *bs_needs_get_resume(const struct bs_needs *n);

/*
 * The manifest an initramfs carries for n, newly allocated: versioned JSON with the root set,
 * its closure as a graph (the show --json format, without the edges that only the image
 * meets), every node's typed configuration (what each step's driver needs: the crypt
 * request's parameters, loop, mount and swap options), modules (the kernel modules in load
 * order as paths below lib/modules/KERNEL, "kernel/drivers/md/dm-crypt.ko", NULL-terminated;
 * may be NULL), kernel (the release they are for, as uname -r gives it; NULL: unknown, written
 * as null), the resume device (bs_needs_get_resume(), or null) and the key files the image
 * carries. /init reads it through bs_graph_load() with BS_LOAD_MANIFEST and
 * bs_manifest_get_info(), and nothing else. Returns 0, -EINVAL (also for a kernel release
 * with a '/' or a blank, or a module path that is absolute or has "." or ".." in it) or
 * -ENOMEM.
 */
int bs_needs_to_manifest(const struct bs_needs *n, const char *kernel, char *const *modules,
			 char **ret);
/* The same with the pins of the closure as its "pins" member (NULL: none, as above). */
int bs_needs_to_manifest_pinned(const struct bs_needs *n, const char *kernel, char *const *modules,
				const struct bs_pins *pins, char **ret);

/* What /init reads of a manifest before it runs the executor. The library allocates it, and
 * may append members in later versions. */
struct bs_manifest_info {
	char *kernel; /* the kernel release it was built for, or NULL if it does not say */
	char *resume; /* the resume device's node id, or NULL */
	char **root_set; /* node ids: root, /usr, the resume device, --also; never NULL */
	char **modules; /* module paths below lib/modules/KERNEL, in load order; never NULL */
	char **key_files; /* the key files the image carries; never NULL */
	struct bs_pins *pins; /* the pins it carries, or NULL when it has none */
};

/*
 * Reads the manifest at path (below the context's sysroot, as bs_load_opts.manifest) and
 * checks all of it, as bs_graph_load() with BS_LOAD_MANIFEST would. Returns 0 with *ret set
 * (free it with bs_manifest_info_free()); -EBADMSG for a manifest that is damaged or not
 * version 1 (logged as a warning naming the file and where), -EFBIG, -ENOMEM, or the errno
 * of reading it.
 */
int bs_manifest_get_info(struct bs_ctx *c, const char *path, struct bs_manifest_info **ret);
/* Frees info and what it holds. Accepts NULL. Returns NULL. */
struct bs_manifest_info *bs_manifest_info_free(struct bs_manifest_info *info);
/* The manifest's modules only, as bs_manifest_get_info() reads them: a NULL-terminated list
 * of paths below lib/modules/KERNEL in load order (empty, never NULL), for the caller to free
 * with each string. */
int bs_manifest_get_modules(struct bs_ctx *c, const char *path, char ***ret);

/*
 * The node that spec names, as fstab's first field or the kernel's root= would: a node id,
 * UUID=, LABEL=, PARTUUID=, PARTLABEL=, or a /dev path (/dev/disk/by-uuid/..., by-label,
 * by-partuuid, by-partlabel, by-id, /dev/mapper/NAME, /dev/md/NAME, /dev/VG/LV, /dev/NAME).
 * NULL if none, or if g or spec is NULL.
 */
struct bs_node *bs_graph_find_device(const struct bs_graph *g, const char *spec);

/* ---- Pins ---------------------------------------------------------------------------------
 *
 * What each crypt, md, LVM and filesystem layer is, recorded while the genuine devices are
 * there and checked before a passphrase is asked, so that forged devices are refused. A
 * pin holds, read without a key:
 *   - "luks", on the device that holds a LUKS header: its UUID, version, segment cipher and
 *     mode, payload offset, sector size, integrity, and the volume key's digest with its
 *     salt and parameters; never a hash of the whole header, so that a keyslot added or
 *     changed keeps the pin valid;
 *   - "md", on an md array: its uuid, level, and each member's device UUID (UUID_SUB);
 *   - "vg", on a volume group: its uuid and each PV's UUID;
 *   - "fs", on a device with a filesystem (or swap): its UUID and type.
 * Each also says whether a crypt layer lies below it (a member or PV each for itself), so
 * that a plaintext device carrying the pinned identity is refused.
 */
struct bs_pins;

/* The pins file, below the context's system root, beside the recorded graph: written by
 * 'blkstack pin', read by 'blkstack initramfs' for what it cannot see live. */
#define BS_PINS_PATH "/var/lib/blkstack/pins.json"

/*
 * The pins of every node of g (bs_pins_new(): for 'blkstack pin', on a live graph) or of the
 * closure n (bs_pins_new_for_needs(): for an initramfs). A layer is pinned from what the
 * device shows now: a LUKS header read with libcryptsetup (no key, nothing written), the
 * live graph's md, LVM and filesystem identities. What cannot be read (a device not
 * present, a header not readable) is taken from recorded (may be NULL), the pin of the same
 * identity (LUKS or filesystem UUID, array or VG uuid); else it is listed as unpinned, with
 * why (bs_pins_get_n_unpinned()). Returns 0, -EINVAL or -ENOMEM.
 */
int bs_pins_new(struct bs_graph *g, const struct bs_pins *recorded, struct bs_pins **ret);
int bs_pins_new_for_needs(const struct bs_needs *n, const struct bs_pins *recorded,
			  struct bs_pins **ret);
struct bs_pins *bs_pins_ref(struct bs_pins *p);
struct bs_pins *bs_pins_unref(struct bs_pins *p);

/*
 * Reads a pins file: path as given (relative to the working directory), or with path NULL,
 * BS_PINS_PATH below the context's system root. Returns 0 with *ret; -ENOENT when there is
 * none; -EBADMSG for a file that is not a version 1 pins file, read strictly (logged as a
 * warning naming the file and where); -EFBIG, -ENOMEM or the errno of reading it.
 */
int bs_pins_read(struct bs_ctx *c, const char *path, struct bs_pins **ret);
/*
 * Writes p as bs_pins_to_json() gives it to path, or with path NULL to BS_PINS_PATH below the
 * context's system root (creating its directories with mode 0755), atomically, mode 0644
 * (a digest and a salt, as the header itself shows them, no secret). Returns 0, -EINVAL,
 * -ENOMEM or the errno of the write that failed.
 */
int bs_pins_write(const struct bs_pins *p, const char *path);
/* {"version":1,"pins":[{"kind","node","device","encrypted","at":{...},"fields":{...},
 * "members":[{"uuid","encrypted"}]}]}, newly allocated. */
int bs_pins_to_json(const struct bs_pins *p, char **ret);

/* The pins, in the order of their nodes. Strings are borrowed from p. */
size_t bs_pins_get_n(const struct bs_pins *p);
/* "luks", "md", "vg" or "fs". */
const char *bs_pins_get_kind(const struct bs_pins *p, size_t i);
/* The node id and kernel name of the device when it was pinned (the name may be NULL). */
const char *bs_pins_get_node(const struct bs_pins *p, size_t i);
const char *bs_pins_get_device(const struct bs_pins *p, size_t i);
/* A pinned field by name ("uuid", "cipher", "digest", "level", "type", ...), or NULL. */
const char *bs_pins_get_field(const struct bs_pins *p, size_t i, const char *name);
/* Whether the pin was taken from a pins file rather than read from the device. */
bool bs_pins_get_recorded(const struct bs_pins *p, size_t i);
/* The nodes that got no pin, each with why. */
size_t bs_pins_get_n_unpinned(const struct bs_pins *p);
const char *bs_pins_get_unpinned_node(const struct bs_pins *p, size_t i);
const char *bs_pins_get_unpinned_reason(const struct bs_pins *p, size_t i);
/* Whether unpinned node i (a node of g) holds a LUKS header: a crypt layer that an image
 * would carry without pins. */
bool bs_pins_is_crypt_unpinned(const struct bs_pins *p, const struct bs_graph *g, size_t i);

/* The outcome of a verification. */
struct bs_verify;

/*
 * Compares every present device of g (a live graph: bs_graph_load() with BS_LOAD_LIVE) with
 * the pins p, before anything is opened. A pinned device that is not there is no mismatch.
 * It refuses:
 *   - a LUKS header that differs in a pinned field, or that is no longer readable;
 *   - a segment or keyslot that uses cipher_null (any passphrase opens it);
 *   - a plaintext device where a crypt layer was pinned: the pinned LUKS UUID on a device
 *     that is no LUKS, the device that held the header holding something else, or a
 *     pinned identity (filesystem, md member, PV) on a device with no crypt layer below
 *     it where it had one;
 *   - an md member or PV that is not pinned, and two devices that carry one pinned
 *     identity.
 * Returns 0, or -EKEYREJECTED when something was refused; in both cases *ret is set, with
 * each refusal: the device, the field, what was pinned and what was found, and a message
 * that says all of it and what to do. Else -EINVAL or -ENOMEM, *ret untouched.
 */
int bs_pins_verify(const struct bs_pins *p, struct bs_graph *g, struct bs_verify **ret);
struct bs_verify *bs_verify_unref(struct bs_verify *v);
/* How many devices were compared, and how many pins found no device. */
size_t bs_verify_get_n_checked(const struct bs_verify *v);
size_t bs_verify_get_n_absent(const struct bs_verify *v);
/* The refusals, in the order of the pins. Strings are borrowed from v. */
size_t bs_verify_get_n_mismatches(const struct bs_verify *v);
/* "/dev/vdb" (or the node id of what has no device), "digest", the pinned value, the value
 * found ("nothing" when there is none), and the whole message. */
const char *bs_verify_get_device(const struct bs_verify *v, size_t i);
const char *bs_verify_get_field(const struct bs_verify *v, size_t i);
const char *bs_verify_get_expected(const struct bs_verify *v, size_t i);
const char *bs_verify_get_found(const struct bs_verify *v, size_t i);
const char *bs_verify_get_message(const struct bs_verify *v, size_t i);
/* {"version":1,"checked":N,"absent":N,"mismatches":[{"device","node","field","expected",
 * "found","message"}]}, newly allocated. */
int bs_verify_to_json(const struct bs_verify *v, char **ret);

/* ---- The initramfs image ------------------------------------------------------------------
 *
 * What an initramfs for a struct bs_needs holds, every entry with the reason it is there, and
 * the image itself: a cpio newc archive that blkstack writes and compresses through a library,
 * never through a spawned tool. Everything is read below the context's system root: its
 * blkstack /init, its binaries and their shared libraries (found from their ELF headers as
 * the dynamic loader would find them there, never with ldd), its lib/modules/VERSION and its
 * key files. The image holds:
 *
 *   - init (0755): the /init installed below the system root (BLKSTACK_INIT_PATH of the
 *     build, "/usr/libexec/blkstack/init" for --prefix=/usr), with its ELF closure;
 *   - etc/blkstack/manifest.json (0644): bs_needs_to_manifest() with the module load order;
 *   - lib/modules/VERSION/RELPATH of each module of the load order that is not built in:
 *     each disk's drivers (from sys/ when the disk is live below the system root, else from
 *     its recorded "modalias" attribute), the md personalities, the dm targets (crypt, the
 *     LVs' segment types), the ciphers of the crypt mappings (crypttab's cipher=, else the
 *     "cipher" the record keeps on the LUKS device), loop, btrfs, and the filesystems;
 *   - the tool of each driver whose actions the closure uses (mdadm for md, lvm for LVM, ...),
 *     found in usr/sbin, usr/bin, sbin or bin, with its ELF closure; symlinks met on the way
 *     (a merged /usr's lib -> usr/lib) are reproduced;
 *   - etc/lvm/lvm.conf, written for an initramfs without udev, when LVM is in the closure;
 *   - the key files the closure carries, at their own paths, mode 0600, marked secret;
 *   - the directories dev proc sys run sysroot tmp, and dev/console (c 5:1) and dev/null
 *     (c 1:3), which the kernel needs before /init mounts devtmpfs;
 *   - with BS_INITRAMFS_SHELL, the system root's /bin/sh (symlinks resolved) as bin/sh.
 * Nothing else.
 */
struct bs_initramfs;

enum bs_initramfs_flags {
	/* Add the system root's /bin/sh as a rescue shell. */
	BS_INITRAMFS_SHELL = 1u << 0,
	/* Only compute what the image would hold, for 'blkstack needs': a missing /init, tool,
	 * library or module tree, a driver, level or cipher that is unknown and a closure that
	 * refers to what no known node provides are warnings, not errors. The result is not for
	 * bs_initramfs_write(), which refuses it with -EPERM. */
	BS_INITRAMFS_CONTENTS_ONLY = 1u << 1,
};

struct bs_initramfs_opts {
	/* The kernel version to build for, a directory of lib/modules below the system root.
	 * NULL: the running kernel's (uname -r) when the system root is "/", else the only
	 * version there; several are an error that lists them. */
	const char *kernel;
	unsigned flags; /* enum bs_initramfs_flags */
	/* The pins the manifest carries ("pins"), for /init to verify the devices before it
	 * asks for a passphrase (bs_pins_new_for_needs()); NULL: none. */
	const struct bs_pins *pins;
};

/*
 * Computes the contents of the initramfs of n (opts may be NULL for the defaults). Refuses,
 * with a message that names the node or the file and says what to do, and -ENOENT: a disk
 * whose drivers are unknown (not live and no recorded modalias: "run 'blkstack record' on the
 * machine while it is present"), a crypt mapping whose cipher is unknown, an md array of no
 * known level, a closure node that refers to what no known node provides (layers below root
 * are closed and there is no record: it never guesses), a missing /init ("DIR has no
 * blkstack installed: ..."), tool or module tree, a library that a binary needs and that is
 * not found (naming both); -EPERM for a key file that group or others may read or write; the
 * errno of a file that cannot be read; -EINVAL, -ENOMEM.
 */
int bs_initramfs_new(struct bs_needs *n, const struct bs_initramfs_opts *opts,
		     struct bs_initramfs **ret);
struct bs_initramfs *bs_initramfs_ref(struct bs_initramfs *b);
struct bs_initramfs *bs_initramfs_unref(struct bs_initramfs *b);

/* The kernel version the modules are for, or NULL when they are unknown (contents only, no
 * module tree below the system root). */
const char *bs_initramfs_get_kernel(const struct bs_initramfs *b);

/* One entry of the image. Strings are borrowed from b. */
struct bs_initramfs_entry {
	const char *path; /* as stored: relative, "usr/sbin/mdadm" */
	uint32_t mode; /* type and permission bits, as st_mode */
	uint64_t size; /* bytes of content: a file's, or a symlink's target length */
	const char *why; /* the node or binary that needs it; NULL for implied directories */
	const char *target; /* a symlink's target, else NULL */
	bool secret; /* key material: mode 0600 */
};

/* The entries in the order the archive holds them (sorted by path); NULL past the end. */
size_t bs_initramfs_get_n_entries(const struct bs_initramfs *b);
const struct bs_initramfs_entry *bs_initramfs_get_entry(const struct bs_initramfs *b, size_t i);

/* A module, binary or library of the image. Strings are borrowed from b. */
struct bs_initramfs_item {
	const char *name; /* "dm_crypt"; "mdadm"; "libc.so.6" */
	const char *path; /* module: relative to lib/modules/VERSION, NULL when built in;
			   * binary or library: its path inside the system root */
	const char *why; /* "crypt:cryptroot (cipher aes-xts-plain64)"; "needed by ..." */
};

/* The modules in load order (built-in ones too, with path NULL). */
size_t bs_initramfs_get_n_modules(const struct bs_initramfs *b);
const struct bs_initramfs_item *bs_initramfs_get_module(const struct bs_initramfs *b, size_t i);
/* The binaries (the tools, /init, the shell), sorted by path. */
size_t bs_initramfs_get_n_binaries(const struct bs_initramfs *b);
const struct bs_initramfs_item *bs_initramfs_get_binary(const struct bs_initramfs *b, size_t i);
/* Their shared libraries and program interpreters, sorted by path. */
size_t bs_initramfs_get_n_libraries(const struct bs_initramfs *b);
const struct bs_initramfs_item *bs_initramfs_get_library(const struct bs_initramfs *b, size_t i);
/* What was left out or is unknown, in contents-only mode ("the kernel modules are unknown:
 * DIR/lib/modules holds no kernel"), in the order found. */
size_t bs_initramfs_get_n_warnings(const struct bs_initramfs *b);
const char *bs_initramfs_get_warning(const struct bs_initramfs *b, size_t i);
/* Whether the image carries key files (and should then be written mode 0600). */
bool bs_initramfs_has_secrets(const struct bs_initramfs *b);
/* The size of the uncompressed archive. */
uint64_t bs_initramfs_get_archive_size(const struct bs_initramfs *b);

/*
 * Writes the archive to fd, compressed with compression ("zstd", "xz", "gzip" or "none";
 * NULL: zstd) at level (-1: the compressor's default, zstd 19, xz 6, gzip 9). Builds are
 * reproducible: entries sorted by path, owner 0, and every mtime SOURCE_DATE_EPOCH when it
 * is set to a number, else 0, so the same inputs give the same bytes. Returns 0; -EINVAL for
 * an unknown compression or level, or a time that does not fit; -EPERM for a contents-only
 * result; -EIO when a file changed since bs_initramfs_new(); the errno of write(2).
 */
int bs_initramfs_write(struct bs_initramfs *b, int fd, const char *compression, int level);

/* As JSON, newly allocated: {"version":1,"kernel":VERSION or null,"entries":[{"path","mode"
 * (octal string),"size","why","target","secret"}],"modules":[{"name","path","why"}],
 * "binaries":[{"path","why"}],"libraries":[{"path","why"}],"warnings":[...],
 * "archive_size":N}. */
int bs_initramfs_to_json(const struct bs_initramfs *b, char **ret);

/* ---- Plans ---------------------------------------------------------------------------------
 *
 * A plan is data: steps, each an action on one node, with the steps that must finish first.
 * It is computed from a graph and never runs anything. Equal graphs and arguments give equal
 * plans, step for step.
 */
struct bs_plan;

enum bs_plan_op {
	BS_PLAN_UP, /* bring up: the closure below the targets, minus what is active */
	BS_PLAN_DOWN, /* tear down: the closure above the targets, and what only they hold */
	_BS_PLAN_OP_MAX,
	_BS_PLAN_OP_INVALID = -EINVAL,
};

enum bs_plan_flags {
	/* down: leave the root set (/, /usr, the active swap and the resume device) and all
	 * below it alone, and remount its filesystems read-only instead. */
	BS_PLAN_KEEP_ROOT = 1 << 0,
};

const char *bs_plan_op_to_string(enum bs_plan_op op);

/*
 * Plans op for targets: a NULL-terminated list of node ids ("lv:vg0/root"), mount points
 * ("/srv") or device paths ("/dev/md/sys", "/dev/disk/by-uuid/..."); NULL means all: for up,
 * every configured mount, swap and layer not marked noauto (every mount and swap of the graph
 * if it has no configuration); for down, everything open.
 *
 * Returns 0, -ENOENT if a target names nothing (logged, naming it), -ELOOP if the nodes to
 * order form a cycle (logged, printing the cycle), -ENOMEM or -EINVAL.
 */
int bs_plan_new(struct bs_graph *g, enum bs_plan_op op, const char *const *targets, unsigned flags,
		struct bs_plan **ret);
struct bs_plan *bs_plan_ref(struct bs_plan *p);
struct bs_plan *bs_plan_unref(struct bs_plan *p);

enum bs_plan_op bs_plan_get_op(const struct bs_plan *p);
/* Steps in execution order: every step comes after all the steps it waits for. A step's
 * number in the outputs is its index + 1. */
size_t bs_plan_get_n_steps(const struct bs_plan *p);
/* The action: md-assemble, crypt-open, vg-activate, lv-activate, loop-attach, btrfs-scan,
 * mount, swapon, nbd-connect, iscsi-login, wait-device, wait-network; umount, swapoff,
 * lv-deactivate, vg-deactivate, crypt-close, md-stop, loop-detach, nbd-disconnect,
 * iscsi-logout, remount-ro. NULL if i is out of range. */
const char *bs_plan_get_step_action(const struct bs_plan *p, size_t i);
struct bs_node *bs_plan_get_step_node(const struct bs_plan *p, size_t i);
/* The steps (by index) step i waits for, and its wave: 1 + the highest wave among them, so
 * the steps of one wave may run in parallel. */
size_t bs_plan_get_step_n_after(const struct bs_plan *p, size_t i);
size_t bs_plan_get_step_after(const struct bs_plan *p, size_t i, size_t j);
unsigned bs_plan_get_step_wave(const struct bs_plan *p, size_t i);

/* Nodes the plan leaves alone on purpose, each with why ("needed by mnt:/, which stays up",
 * "below the root set"). */
size_t bs_plan_get_n_kept(const struct bs_plan *p);
struct bs_node *bs_plan_get_kept_node(const struct bs_plan *p, size_t i);
const char *bs_plan_get_kept_reason(const struct bs_plan *p, size_t i);

/* Up: references no known node provides (a filesystem UUID inside a layer still closed,
 * with no recorded graph to tell where it is). Each names the node and what it needs. */
size_t bs_plan_get_n_unresolved(const struct bs_plan *p);
struct bs_node *bs_plan_get_unresolved_node(const struct bs_plan *p, size_t i);
const char *bs_plan_get_unresolved_what(const struct bs_plan *p, size_t i);

/* The plan as text (one line a step, grouped in waves), JSON ({"version":1,"op":...,
 * "steps":[{"id","action","node","after","wave"}],"kept":[...],"unresolved":[...]}) or
 * Graphviz DOT, newly allocated. */
int bs_plan_to_text(const struct bs_plan *p, char **ret);
int bs_plan_to_json(const struct bs_plan *p, char **ret);
int bs_plan_to_dot(const struct bs_plan *p, char **ret);

/* ---- Running plans ---------------------------------------------------------------------------
 *
 * The executor turns plans into actions. Each step starts as soon as the steps it waits for
 * are done, up to a number at once; devices are waited for through kernel uevents, each wait
 * with a timeout; a failure stops only what depends on it. Every side effect (spawning mdadm
 * or lvm, mount, ioctls, libcryptsetup) goes through an ops table, which unit tests replace.
 * Unlike the rest of the library it acts on the running system: the context's sysroot is
 * read as the system's state, so anything but "/" makes sense only with a replaced ops table.
 */
struct bs_exec;

struct bs_exec_opts {
	/* Steps run at once; 0 means the number of online CPUs. */
	unsigned jobs;
	/* How long a device is waited for when its node sets no timeout of its own
	 * (stack.conf "timeout"); 0 means 90 seconds. */
	uint64_t timeout_usec;
	/* Passphrases are read from this descriptor, one a line, when it is >= 0; else from
	 * askpass_socket if set, else asked on console (NULL: /dev/tty, then /dev/console). */
	int key_fd;
	const char *askpass_socket;
	const char *console;
	/* up: do not write the recorded graph when done. */
	int no_record;

	/* Members below were added for the initramfs; a caller that zeroes the struct gets the
	 * behaviour of before. */

	/* The initramfs manifest (a path below the sysroot, as bs_load_opts.manifest): each
	 * graph is loaded from the running system and the manifest (BS_LOAD_LIVE |
	 * BS_LOAD_MANIFEST, with the usual policy: an error refuses, a missing device is
	 * waited for), never from the recorded graph or the configuration. The graph is never
	 * recorded, and nothing outside the manifest is discovered: what the manifest's
	 * graph does not name is not opened. NULL: the live system, the record and the
	 * configuration. */
	const char *manifest;
	/* Overrides of the root filesystem (the node mnt:/), applied after every load, as the
	 * kernel command line gives them to an initramfs. root_fstype replaces its type
	 * (rootfstype=); NULL keeps it. root_options (rootflags=) is split as fstab's options
	 * are: its kernel flags are added to the configured ones and its filesystem options
	 * appended to the configured ones (the filesystem takes the last of two); NULL or ""
	 * adds nothing. root_access (enum bs_exec_root_access) is ro or rw. A graph without
	 * mnt:/ is left alone. An option string libmount cannot split fails the run with
	 * -EINVAL. */
	const char *root_fstype;
	const char *root_options;
	int root_access;

	/* Added for the shutdown ramfs. Down: a node still busy in the last pass gets its
	 * kind's last resort, and its result stays busy with a message that says what was
	 * done. A dm-crypt mapping is suspended and its key wiped from the kernel (dm-crypt's
	 * "key wipe", as luksSuspend does; the message says "suspended, key wiped"), and its
	 * I/O then waits until the machine goes down; an md array is marked clean ('mdadm
	 * --wait-clean'; "marked clean"), so that the next boot does not resync it. */
	int last_resort;
	/* Each graph is read from the running system alone (BS_LOAD_LIVE): no record, no
	 * configuration, so that a damaged file cannot stop a teardown that must happen (a
	 * shutdown). Meant for down; manifest is then ignored. */
	int live_only;

	/* Added for pins (see "Pins"). Up: the live devices are verified against them
	 * (bs_pins_verify() on a graph read with BS_LOAD_LIVE) before any step that asks for a
	 * secret or opens a layer from devices: crypt-open (before a passphrase is asked or a
	 * key file read), md-assemble, vg-activate, lv-activate, btrfs-scan, mount and swapon;
	 * and verified again before the next such step whenever a block device appeared since
	 * (a new entry of sys/class/block), else the last verification stands. A refusal fails
	 * that step with -EKEYREJECTED and the refusals' messages (bs_exec_get_n_refusals()):
	 * no prompt, no mapping, nothing spawned; no step starts after it, and bs_exec_run()
	 * returns -EKEYREJECTED. With pins, crypt-open also checks the unlocked volume key
	 * against the pinned digest before the mapping is made, md-assemble names only the
	 * pinned members to mdadm, and the LVM steps give lvm '--devices' with the pinned PVs.
	 * The executor takes a reference. NULL: nothing is verified. */
	const struct bs_pins *pins;
};

/* bs_exec_opts.root_access. Zero is "as configured", so that a zeroed struct changes
 * nothing. */
enum bs_exec_root_access {
	BS_EXEC_ROOT_AS_CONFIGURED = 0, /* the manifest's or fstab's options decide */
	BS_EXEC_ROOT_READ_ONLY = 1, /* mounted read-only (the kernel's "ro") */
	BS_EXEC_ROOT_READ_WRITE = 2, /* mounted read-write ("rw") */
};

enum bs_exec_event_type {
	BS_EXEC_EVENT_ROUND, /* a plan was made: round, n_total steps (discovery repeats) */
	BS_EXEC_EVENT_START, /* a step started */
	BS_EXEC_EVENT_WAIT, /* a step waits for a device: message says which, how long */
	BS_EXEC_EVENT_DONE, /* a step succeeded */
	BS_EXEC_EVENT_FAILED, /* a step failed: error, message */
	BS_EXEC_EVENT_SKIPPED, /* a step did not run: message names the failure it needs */
	BS_EXEC_EVENT_BUSY, /* down: a step found its node busy and will be retried */
	BS_EXEC_EVENT_WARNING, /* something to shout about that fails nothing (degraded) */
	BS_EXEC_EVENT_BLOCKER, /* down: node is still open; message names a holder */
	_BS_EXEC_EVENT_MAX,
	_BS_EXEC_EVENT_INVALID = -EINVAL,
};

/* "round", "start", "wait", "done", "failed", "skipped", "busy", "warning", "blocker". */
const char *bs_exec_event_type_to_string(enum bs_exec_event_type t);

struct bs_exec_event {
	enum bs_exec_event_type type;
	unsigned round; /* 1, 2, ...: the plan being run (discovery re-plans) */
	unsigned step; /* the step's number in that plan; 0 for none */
	const char *action; /* NULL for none */
	const char *node; /* the node id, NULL for none */
	int error; /* failed: a negative errno */
	const char *message; /* NULL for none */
	unsigned n_done; /* steps finished (done, failed or skipped) in this round */
	unsigned n_total; /* steps in this round's plan */
};

/* Called in the order things happen, from the thread running the step; calls are
 * serialized, never concurrent. The event and its strings live until the call returns. */
typedef void (*bs_exec_event_fn)(void *userdata, const struct bs_exec_event *ev);

/* Creates an executor on c. opts NULL gives the defaults (and no key descriptor). */
int bs_exec_new(struct bs_ctx *c, const struct bs_exec_opts *opts, struct bs_exec **ret);
struct bs_exec *bs_exec_ref(struct bs_exec *e);
struct bs_exec *bs_exec_unref(struct bs_exec *e);
void bs_exec_set_event_fn(struct bs_exec *e, bs_exec_event_fn fn, void *userdata);

/*
 * Brings targets up or takes them down (targets and flags as for bs_plan_new()), reading the
 * graph (live, recorded and configured) itself.
 *
 * Up with a recorded graph runs its plan. Without one, or while targets are still
 * unresolved, it runs in discovery mode: it opens every layer whose inputs are there,
 * re-reads the graph, and repeats until the targets exist or nothing changes (waiting for
 * uevents up to the timeout before it gives up); then it records the graph it found.
 * Down retries steps that found their node busy while any step still makes progress, then
 * makes one last pass and reports each node still open with what holds it.
 *
 * Returns 0 when every step succeeded; otherwise the results say what happened to each,
 * and the return value is -EBADMSG (the configuration has problems other than a device
 * that is not there, which is waited for; nothing was run),
 * -ETIMEDOUT (a device did not appear), -EBUSY (down left something open), or the error of
 * the first step that failed.
 */
int bs_exec_run(struct bs_exec *e, enum bs_plan_op op, const char *const *targets, unsigned flags);

enum bs_exec_status {
	BS_EXEC_DONE, /* it succeeded */
	BS_EXEC_FAILED, /* it failed */
	BS_EXEC_SKIPPED, /* it did not run: something it needs failed */
	BS_EXEC_BUSY, /* down: still open at the end, held by something */
	_BS_EXEC_STATUS_MAX,
	_BS_EXEC_STATUS_INVALID = -EINVAL,
};
/* "done", "failed", "skipped", "busy". */
const char *bs_exec_status_to_string(enum bs_exec_status s);

/* The outcome of every step of the last run, in the order they ended; a step run in several
 * rounds (discovery, retries) appears once, with its last outcome. */
size_t bs_exec_get_n_results(const struct bs_exec *e);
const char *bs_exec_get_result_action(const struct bs_exec *e, size_t i);
const char *bs_exec_get_result_node(const struct bs_exec *e, size_t i);
enum bs_exec_status bs_exec_get_result_status(const struct bs_exec *e, size_t i);
/* A negative errno for failed and busy, 0 otherwise. */
int bs_exec_get_result_error(const struct bs_exec *e, size_t i);
/* Why it failed or was skipped, or what holds it; warnings of a step that succeeded
 * (degraded). NULL if nothing was said. */
const char *bs_exec_get_result_message(const struct bs_exec *e, size_t i);
/* With bs_exec_opts.pins: how many verifications the last run made, and the refusals of the
 * one that refused (each as bs_verify_get_message() gives it; none when nothing was refused).
 * Strings are borrowed from e. */
unsigned bs_exec_get_n_verifications(const struct bs_exec *e);
size_t bs_exec_get_n_refusals(const struct bs_exec *e);
const char *bs_exec_get_refusal(const struct bs_exec *e, size_t i);
/* The results as JSON, newly allocated: {"version":1,"op":...,"results":[{"action",
 * "node","status","error","message"}]}. */
int bs_exec_results_to_json(const struct bs_exec *e, char **ret);

/*
 * The entry point of libblkstack's helper processes. A program that runs plans on the real
 * system calls it first thing in main(), before it starts a thread or reads its arguments:
 *
 *	int main(int argc, char *argv[])
 *	{
 *		int r = bs_helper_main(argc, argv);
 *
 *		if (r >= 0)
 *			return r;
 *		...
 *
 * The executor opens and closes each dm-crypt mapping in a process of its own (libcryptsetup
 * and libdevmapper keep process-wide state), and it never lets a fork() of its threaded
 * process run library code: it starts the program again, from /proc/self/exe, with argv[1]
 * "--blkstack-crypt-helper", and sends the request and the key over a socket on descriptor
 * 3, never in the arguments or the environment. In that process this function does the work
 * and returns the exit status for main() to return: 0, or 1 when the process was not started
 * by libblkstack (run by hand, nothing on descriptor 3) or the request was unreadable. It
 * calls no log function of the program. Anywhere else it returns -ENOEXEC at once and does
 * nothing. A program that does not call it cannot open or close mappings: those calls
 * fail with -EIO, and its main() runs with that argument instead.
 */
int bs_helper_main(int argc, char *argv[]);

/* ---- Suspend ------------------------------------------------------------------------------ */

/*
 * Key wipe across suspend-to-RAM (blkstack suspend / resume, blkstack-suspend(8)): every active
 * dm-crypt mapping of a live graph, luksSuspended top of the stack first (a mapping before the
 * mappings it lies on, whose headers its own suspend and resume read), and resumed bottom
 * first. luksSuspend makes the mapping's I/O wait and wipes its volume key, in dm-crypt and in
 * the kernel keyring. Passphrases are asked through the same ways as up's (--key-fd, an
 * askpass socket, the console), held only in locked memory, wiped after use, with the process
 * not dumpable meanwhile.
 */
struct bs_suspend;

/* The plan for g (a graph with BS_LOAD_LIVE): its active crypt nodes, in suspend order.
 * Takes a reference on g's context. 0, -EINVAL or -ENOMEM. */
int bs_suspend_new(struct bs_graph *g, struct bs_suspend **ret);
/* The dm-crypt mappings that are suspended now, read from sysfs alone (below c's sysroot: a
 * suspended device is never probed), deepest first, each marked suspended: what a resume with
 * no plan of its own (blkstack resume with no waiting stage) resumes. Device paths are
 * /dev/mapper/NAME. 0, -ENOMEM or the error of reading sys/class/block. */
int bs_suspend_new_suspended(struct bs_ctx *c, struct bs_suspend **ret);
struct bs_suspend *bs_suspend_unref(struct bs_suspend *s);
size_t bs_suspend_get_n(const struct bs_suspend *s);
/* The i-th mapping in suspend order (resume goes from the last to the first): its node id,
 * its mapping name, its backing device's path (NULL if unknown), and whether it is suspended
 * now (by bs_suspend_keys()). */
const char *bs_suspend_get_node(const struct bs_suspend *s, size_t i);
const char *bs_suspend_get_name(const struct bs_suspend *s, size_t i);
const char *bs_suspend_get_device(const struct bs_suspend *s, size_t i);
bool bs_suspend_get_suspended(const struct bs_suspend *s, size_t i);
/* The plan as text (both orders) or JSON ({"version":1,"suspend":[{"node","name","device"}],
 * "resume":[ids]}), newly allocated. */
int bs_suspend_to_text(const struct bs_suspend *s, char **ret);
int bs_suspend_to_json(const struct bs_suspend *s, char **ret);

/* The largest memory cost of an argon2 key slot of the LUKS2 header at path, in KiB (0 for
 * LUKS1 or PBKDF2 only): what a resume must find free to derive the key. */
int bs_luks_argon2_memory_kb(const char *path, uint64_t *ret_kb);
/* The largest of them over the plan's mappings (headers that cannot be read count 0). */
int bs_suspend_argon2_reserve_kb(const struct bs_suspend *s, uint64_t *ret_kb);

enum bs_suspend_event {
	BS_SUSPEND_EVENT_SUSPENDED, /* result: 0 or the error of suspending node */
	BS_SUSPEND_EVENT_WRONG_KEY, /* try: which try was refused; the mapping stays suspended */
	BS_SUSPEND_EVENT_RESUMED,   /* result: 0 or the error that ends the resume */
};
typedef void (*bs_suspend_event_fn)(void *userdata, enum bs_suspend_event ev, const char *node,
				    int result, unsigned try_no);

struct bs_suspend_opts {
	int key_fd;                 /* passphrases from this descriptor, one a line; -1: no */
	const char *askpass_command; /* else this program, run with the prompt as argument:
				      * the passphrase is its output's first line */
	const char *askpass_socket; /* else through this socket (up's askpass protocol) */
	const char *console;        /* else on this terminal (NULL: /dev/tty, /dev/console) */
	unsigned tries;             /* passphrases asked per mapping before giving up; 0: 3 */
	bs_suspend_event_fn event_fn;
	void *event_userdata;
};

/* luksSuspends the plan's mappings, top first; stops at the first failure (those suspended
 * stay so: bs_resume_keys() resumes them). 0 or a negative errno. */
int bs_suspend_keys(struct bs_suspend *s, const struct bs_suspend_opts *opts);
/*
 * Resumes the suspended mappings, bottom first. The passphrase that resumed one is tried first
 * on the next. A wrong one leaves the mapping suspended and asks again, up to opts->tries
 * times; then it returns -EPERM with that mapping and those above it still suspended, so that
 * a caller may call it again (another round). -ECANCELED/-ENXIO when nobody answers.
 */
int bs_resume_keys(struct bs_suspend *s, const struct bs_suspend_opts *opts);

#ifdef __cplusplus
}
#endif
