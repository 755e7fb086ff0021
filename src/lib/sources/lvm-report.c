/* Live source: LVM membership from "lvm fullreport --reportformat json": VGs on all their
 * PVs, LVs in their VG. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "graph.h"
#include "lvm-report.h"
#include "parse.h"
#include "process.h"
#include "sources.h"
#include "sysroot.h"
#include "util.h"

#define LVM_REPORT_PATH "run/blkstack/lvm-fullreport.json"

/* A report takes a few KiB per LV, so the sysroot cap is far above any real system; json-c
 * takes the length as an int. */
#define LVM_REPORT_MAX BS_SYSROOT_READ_MAX
_Static_assert(LVM_REPORT_MAX < INT_MAX, "json_tokener_parse_ex() takes an int length");

/* A report nests five levels deep (report, list, VG, section, row); deeper input is not a
 * report, and the cap bounds json-c's recursion when it frees the tree. */
#define LVM_REPORT_DEPTH 16

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free)

/* The string member key of o, or NULL if o is no object, or key no string or one with a NUL
 * inside (which C would cut short). */
static const char *json_get_string(json_object *o, const char *key)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

static json_object *json_get_array(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

/* What lvm(8) allows in VG and LV names. Checked because the names become node ids and
 * paths; a '/' in one would make "lv:VG/LV" ambiguous. */
static bool lvm_name_is_valid(const char *s)
{
	return s && *s && s[0] != '-' && !streq(s, ".") && !streq(s, "..") &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_.-") ==
		       strlen(s);
}

/* Hidden LVs (the images of a raid LV, the data and metadata of a thin pool, ...) are parts
 * of a public LV, and thin pools are not used directly: neither is a node. */
static bool lv_is_internal(const char *name, const char *role)
{
	return name[0] == '[' || (role && strstr(role, "private"));
}

/* The block node of a PV: by the name lvm used, or failing that by its device number. */
static struct bs_node *find_pv_device(struct bs_graph *g, json_object *pv, const char *pv_name)
{
	const char *major_s = json_get_string(pv, "pv_major"),
		   *minor_s = json_get_string(pv, "pv_minor");
	struct bs_node *n;
	uint32_t maj, min;

	n = bs_graph_find_dev_path(g, pv_name);
	if (n)
		return n;
	if (!major_s || !minor_s || safe_atou32(major_s, &maj) < 0 ||
	    safe_atou32(minor_s, &min) < 0 || maj >= 4096 || min >= (1U << 20))
		return NULL;
	return bs_graph_find_devno(g, makedev(maj, min));
}

static int add_pvs(struct bs_graph *g, const char *origin, struct bs_node *vg, const char *vg_name,
		   json_object *pvs)
{
	size_t n = json_object_array_length(pvs);

	for (size_t i = 0; i < n; i++) {
		json_object *pv = json_object_array_get_idx(pvs, i);
		const char *pv_name = json_get_string(pv, "pv_name");
		struct bs_node *dev;
		int r;

		if (!pv_name || !*pv_name) {
			bs_log_warn(g->ctx, "%s: a PV of VG '%s' has no pv_name, ignoring", origin,
				    vg_name);
			continue;
		}

		dev = find_pv_device(g, pv, pv_name);
		if (!dev) {
			/* A missing PV is reported as "[unknown]". */
			bs_log_warn(g->ctx,
				    "%s: PV '%s' of VG '%s' is not a known block device, ignoring",
				    origin, pv_name, vg_name);
			continue;
		}

		r = bs_graph_add_edge(g, vg, dev, "pv");
		if (r == -EINVAL) {
			bs_log_warn(g->ctx, "%s: PV '%s' of VG '%s' is the VG itself, ignoring",
				    origin, pv_name, vg_name);
			continue;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Adds the LVs of vg; returns whether any LV of it, hidden ones included, is active. */
static int add_lvs(struct bs_graph *g, const char *origin, struct bs_node *vg, const char *vg_name,
		   json_object *lvs)
{
	size_t n = json_object_array_length(lvs);
	bool any_active = false;

	for (size_t i = 0; i < n; i++) {
		json_object *lv_obj = json_object_array_get_idx(lvs, i);
		const char *lv_name = json_get_string(lv_obj, "lv_name"),
			   *active = json_get_string(lv_obj, "lv_active");
		_cleanup_free_ char *id = NULL;
		bool is_active = active && streq(active, "active");
		struct bs_node *lv;
		int r;

		if (!lv_name || !*lv_name) {
			bs_log_warn(g->ctx, "%s: an LV of VG '%s' has no lv_name, ignoring", origin,
				    vg_name);
			continue;
		}
		any_active = any_active || is_active;
		if (lv_is_internal(lv_name, json_get_string(lv_obj, "lv_role"))) {
			bs_log_debug(g->ctx, "%s: LV '%s/%s' is internal, skipping", origin,
				     vg_name, lv_name);
			continue;
		}
		if (!lvm_name_is_valid(lv_name)) {
			bs_log_warn(g->ctx, "%s: LV name '%s' in VG '%s' is not valid, ignoring",
				    origin, lv_name, vg_name);
			continue;
		}

		if (strextend(&id, "lv:", vg_name, "/", lv_name, NULL) < 0)
			return -ENOMEM;
		r = bs_graph_ensure_node(g, BS_NODE_LV, id, &lv);
		if (r == -EEXIST) {
			bs_log_warn(g->ctx, "%s: '%s' exists as another kind of node, ignoring",
				    origin, id);
			continue;
		}
		if (r < 0)
			return r;

		bs_node_add_source(lv, BS_SOURCE_LIVE);
		bs_node_raise_state(lv, is_active ? BS_STATE_ACTIVE : BS_STATE_PRESENT);
		r = bs_node_set_attr(lv, BS_ATTR_LV_UUID, json_get_string(lv_obj, "lv_uuid"));
		if (r < 0)
			return r;

		/* sysfs slaves/ shows only the PVs this LV has extents on; the LV needs its VG,
		 * and the VG all of its PVs. */
		bs_graph_remove_needs(g, lv, "backing");
		r = bs_graph_add_edge(g, lv, vg, "vg");
		if (r < 0)
			return r;
	}
	return any_active;
}

/* One element of "report": one VG with its PVs and LVs. */
static int add_report(struct bs_graph *g, const char *origin, size_t index, json_object *report)
{
	json_object *vgs = json_get_array(report, "vg"), *pvs = json_get_array(report, "pv"),
		    *lvs = json_get_array(report, "lv"), *vg_obj;
	_cleanup_free_ char *id = NULL;
	const char *vg_name;
	struct bs_node *vg;
	int r;

	if (!vgs) {
		bs_log_warn(g->ctx, "%s: report %zu has no 'vg' list, ignoring", origin, index);
		return 0;
	}
	if (json_object_array_length(vgs) == 0) {
		/* PVs in no VG (lvm's "orphans") are nothing to bring up. */
		bs_log_debug(g->ctx, "%s: report %zu has no VG, skipping", origin, index);
		return 0;
	}
	if (json_object_array_length(vgs) > 1)
		bs_log_warn(g->ctx, "%s: report %zu lists %zu VGs, reading only the first", origin,
			    index, json_object_array_length(vgs));

	vg_obj = json_object_array_get_idx(vgs, 0);
	vg_name = json_get_string(vg_obj, "vg_name");
	if (!vg_name || !*vg_name) {
		bs_log_debug(g->ctx, "%s: report %zu has a VG without a name, skipping", origin,
			     index);
		return 0;
	}
	if (!lvm_name_is_valid(vg_name)) {
		bs_log_warn(g->ctx, "%s: VG name '%s' is not valid, ignoring", origin, vg_name);
		return 0;
	}

	if (strextend(&id, "vg:", vg_name, NULL) < 0)
		return -ENOMEM;
	r = bs_graph_ensure_node(g, BS_NODE_VG, id, &vg);
	if (r == -EEXIST) {
		bs_log_warn(g->ctx, "%s: '%s' exists as another kind of node, ignoring", origin,
			    id);
		return 0;
	}
	if (r < 0)
		return r;

	bs_node_add_source(vg, BS_SOURCE_LIVE);
	bs_node_raise_state(vg, BS_STATE_PRESENT);
	r = bs_node_set_attr(vg, BS_ATTR_VG_UUID, json_get_string(vg_obj, "vg_uuid"));
	if (r < 0)
		return r;

	if (pvs) {
		r = add_pvs(g, origin, vg, vg_name, pvs);
		if (r < 0)
			return r;
	} else
		bs_log_warn(g->ctx, "%s: VG '%s' has no 'pv' list, ignoring its PVs", origin,
			    vg_name);

	if (lvs) {
		r = add_lvs(g, origin, vg, vg_name, lvs);
		if (r < 0)
			return r;
		if (r > 0)
			bs_node_raise_state(vg, BS_STATE_ACTIVE);
	}
	return 1;
}

int bs_lvm_report_parse(struct bs_graph *g, const char *origin, const char *text, size_t size)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = NULL;
	_cleanup_(json_object_putp) json_object *root = NULL;
	enum json_tokener_error err;
	json_object *reports;
	size_t end, n;
	int r, n_vgs = 0;

	if (size > LVM_REPORT_MAX) {
		bs_log_warn(g->ctx, "%s: larger than %zu bytes, ignoring", origin, LVM_REPORT_MAX);
		return -EFBIG;
	}

	tok = json_tokener_new_ex(LVM_REPORT_DEPTH);
	if (!tok)
		return -ENOMEM;
	/* With the terminating NUL, so that a document that is a bare literal ends too. */
	root = json_tokener_parse_ex(tok, text, (int)size + 1);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	/* Not past the text: the NUL is no byte of the file. */
	if (end > size)
		end = size;
	if (err != json_tokener_success) {
		/* json_tokener_continue: the text ended inside the document. */
		bs_log_warn(g->ctx, "%s: byte %zu: %s, ignoring the LVM report", origin, end,
			    err == json_tokener_continue ? "unexpected end of data" :
							   json_tokener_error_desc(err));
		return -EBADMSG;
	}
	if (end < size && text[end + strspn(text + end, " \t\r\n")] != '\0')
		bs_log_warn(g->ctx, "%s: byte %zu: data after the report, ignoring it", origin,
			    end);

	reports = json_get_array(root, "report");
	if (!reports) {
		bs_log_warn(g->ctx, "%s: no 'report' list, ignoring the LVM report", origin);
		return -EBADMSG;
	}

	n = json_object_array_length(reports);
	for (size_t i = 0; i < n; i++) {
		r = add_report(g, origin, i, json_object_array_get_idx(reports, i));
		if (r < 0)
			return r;
		n_vgs += r;
	}
	return n_vgs;
}

/* On the running system the report comes from lvm itself, asked about the physical volumes
 * the graph has found (libblkid's LVM2_member) and nothing else: left to scan /dev, lvm opens
 * every node there, and opening the stale /dev/mdN node that mdadm leaves without udev brings
 * a stopped md array back as an empty device. No PV, no lvm run; a system without LVM
 * installed has no VGs to report: neither is an error. */
static int lvm_report_from_lvm(struct bs_graph *g)
{
	const char *argv[] = { "lvm", "fullreport", "--reportformat", "json", "--devices", NULL,
			       NULL };
	_cleanup_free_ char *text = NULL, *devices = NULL;
	size_t size;
	int r;

	for (size_t i = 0; i < g->n_nodes; i++) {
		const struct bs_node *n = g->nodes[i];
		const char *type = bs_node_attr(n, BS_ATTR_FSTYPE);

		if (!n->name || n->state == BS_STATE_ABSENT || !type || !streq(type, "LVM2_member"))
			continue;
		if (strextend(&devices, devices ? "," : "", "/dev/", n->name, NULL) < 0)
			return -ENOMEM;
	}
	if (!devices)
		return 0;
	argv[5] = devices;
	r = bs_spawn_capture(g->ctx, argv, LVM_REPORT_MAX, &text, &size);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		bs_log_warn(g->ctx, "no VG membership from 'lvm fullreport', ignoring");
		return 0;
	}
	return bs_lvm_report_parse(g, "lvm fullreport", text, size);
}

int bs_source_lvm_report(struct bs_graph *g)
{
	_cleanup_free_ char *text = NULL, *path = NULL;
	size_t size;
	int r;

	if (!g)
		return -EINVAL;

	if (streq(bs_ctx_get_sysroot(g->ctx), "/"))
		return lvm_report_from_lvm(g);

	/* A captured tree has what lvm printed, instead of the LVM of the host. */
	path = bs_sysroot_path_dup(g->ctx, LVM_REPORT_PATH);
	if (!path)
		return -ENOMEM;
	r = bs_sysroot_read_file_max(g->ctx, LVM_REPORT_PATH, LVM_REPORT_MAX, &text, &size);
	if (r == -ENOENT) {
		bs_log_debug(g->ctx, "'%s' does not exist, no VG membership", path);
		return 0;
	}
	if (r == -EFBIG) {
		bs_log_warn(g->ctx, "%s: larger than %zu bytes, ignoring", path, LVM_REPORT_MAX);
		return r;
	}
	if (r < 0) {
		bs_log_warn(g->ctx, "%s: cannot read: %s, ignoring", path, strerror(-r));
		return r;
	}

	return bs_lvm_report_parse(g, path, text, size);
}
