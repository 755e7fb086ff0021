/* The lvm driver: checks that a VG has all its PVs, activates and deactivates named LVs. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvm-name.h"
#include "spawn-util.h"
#include "strv.h"
#include "util.h"

/* The VG of node n, "vg:VG", as a name lvm takes: 0 with *ret set, or -EINVAL having failed
 * the step. */
static int vg_name(struct bs_step *s, const struct bs_node *n, const char **ret)
{
	const char *vg = startswith(n->id, "vg:");

	if (!lvm_name_is_valid(vg)) {
		(void)bs_step_fail(s, -EINVAL, "'%s' is not a valid volume group name",
				   strempty(vg));
		return -EINVAL;
	}
	*ret = vg;
	return 0;
}

/* VG and LV of node n, "lv:VG/LV", each a name lvm takes. */
static int lv_names(struct bs_step *s, const struct bs_node *n, char **ret_vg, char **ret_lv)
{
	const char *id = startswith(n->id, "lv:"), *slash = id ? strchr(id, '/') : NULL;
	_cleanup_free_ char *vg = NULL, *lv = NULL;

	if (slash) {
		vg = strndup(id, (size_t)(slash - id));
		lv = strdup(slash + 1);
		if (!vg || !lv)
			return bs_step_fail(s, -ENOMEM, "out of memory");
	}
	if (!lvm_name_is_valid(vg) || !lvm_name_is_valid(lv))
		return bs_step_fail(s, -EINVAL, "not a valid 'lv:VG/LV' id");
	*ret_vg = TAKE_PTR(vg);
	*ret_lv = TAKE_PTR(lv);
	return 0;
}

/* With pins: '--devices' with the pinned PVs that are present (lvm 2.03.12 and later), so that
 * lvm sees no other device, whatever it carries. 0 when added or when there are no pins to
 * follow; else the step has failed. */
static int add_pinned_devices(struct bs_step *s, const struct bs_node *n, struct bs_argv *a)
{
	_cleanup_strv_free_ char **paths = NULL;
	_cleanup_free_ char *joined = NULL;
	int r = bs_step_pinned_paths(s, n, &paths);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return bs_step_fail(s, r, "cannot tell its pinned physical volumes: %s",
				    strerror(-r));
	if (r == 0)
		return bs_step_fail(s, -ENXIO,
				    "none of the pinned physical volumes of its volume group is "
				    "present; lvm is given no other device");
	if (strv_join(paths, ",", &joined) < 0)
		return bs_step_fail(s, -ENOMEM, "out of memory");
	bs_argv_add(a, "--devices");
	bs_argv_add(a, joined);
	return 0;
}

/* The join point: all PVs of the VG are there. It activates no LV; each LV is activated by its
 * own step, so that only what the plan needs is opened. */
static int vg_activate(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	_cleanup_(bs_argv_done) struct bs_argv a = {};
	_cleanup_free_ char *out = NULL;
	unsigned pvs = 0, missing = 0;
	const char *vg;
	int r;

	r = vg_name(s, n, &vg);
	if (r < 0)
		return r;

	bs_argv_add(&a, "lvm");
	bs_argv_add(&a, "vgs");
	bs_argv_add(&a, "--reportformat");
	bs_argv_add(&a, "json");
	bs_argv_add(&a, "-o");
	bs_argv_add(&a, "vg_name,pv_count,vg_missing_pv_count");
	r = add_pinned_devices(s, n, &a);
	if (r < 0)
		return r;
	bs_argv_add(&a, vg);
	r = bs_argv_spawn(s, &a, &out);
	if (r == -EPROTO)
		/* vgs fails when it finds no PV of the VG at all. */
		return bs_step_fail(s, r,
				    "'lvm vgs %s' does not find the volume group (see its "
				    "message); are its physical volumes there and open?",
				    vg);
	if (r < 0)
		return bs_spawn_fail(s, r, "'lvm vgs %s' failed", vg);

	r = bs_lvm_vgs_parse(out, strlen(out), vg, &pvs, &missing);
	if (r == -ENOENT)
		return bs_step_fail(s, -ENXIO, "'lvm vgs %s' does not list the volume group", vg);
	if (r < 0)
		return bs_step_fail(s, r, "cannot read what 'lvm vgs %s' printed", vg);
	if (missing > 0)
		return bs_step_fail(s, -ENXIO,
				    "%u of %u physical volumes missing; a volume group is "
				    "never opened partly; bring them back ('lvm pvs' lists what "
				    "lvm sees)",
				    missing, pvs);
	bs_log_debug(bs_step_ctx(s), "%s: all %u physical volumes are there", n->id, pvs);
	return 0;
}

static int lv_activate(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	_cleanup_(bs_argv_done) struct bs_argv a = {};
	_cleanup_free_ char *vg = NULL, *lv = NULL, *dm = NULL, *path = NULL;
	int r;

	r = lv_names(s, n, &vg, &lv);
	if (r < 0)
		return r;

	bs_step_load_module(s, "dm_mod");
	/* -K: an LV that something in the plan needs is activated even if it is flagged to be
	 * skipped by default (as thin snapshots are); lvchange would skip it silently. */
	bs_argv_add(&a, "lvm");
	bs_argv_add(&a, "lvchange");
	bs_argv_add(&a, "-ay");
	bs_argv_add(&a, "-K");
	r = add_pinned_devices(s, n, &a);
	if (r < 0)
		return r;
	bs_argv_addf(&a, "%s/%s", vg, lv);
	r = bs_argv_spawn(s, &a, NULL);
	if (r < 0)
		return bs_spawn_fail(s, r, "'lvm lvchange -ay %s/%s' failed (see its message)", vg,
				     lv);

	if (lvm_dm_name_join(vg, lv, &dm) < 0 || strextend(&path, "/dev/mapper/", dm, NULL) < 0)
		return bs_step_fail(s, -ENOMEM, "out of memory");
	return bs_step_set_device(s, path);
}

static int lv_deactivate(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	_cleanup_(bs_argv_done) struct bs_argv a = {};
	_cleanup_free_ char *vg = NULL, *lv = NULL, *path = NULL;
	int r;

	r = lv_names(s, n, &vg, &lv);
	if (r < 0)
		return r;

	bs_argv_add(&a, "lvm");
	bs_argv_add(&a, "lvchange");
	bs_argv_add(&a, "-an");
	bs_argv_addf(&a, "%s/%s", vg, lv);
	r = bs_argv_spawn(s, &a, NULL);
	if (r == -EPROTO && bs_step_device(s, n, &path) >= 0 && bs_step_device_busy(s, path) > 0)
		return bs_step_fail(s, -EBUSY, "%s (%s) is busy", path, n->id);
	if (r < 0)
		return bs_spawn_fail(s, r, "'lvm lvchange -an %s/%s' failed (see its message)", vg,
				     lv);
	return 0;
}

/* The first LV of vg that is open, as "PATH (ID)", or NULL. */
static char *busy_lv(struct bs_step *s, const struct bs_node *vg)
{
	for (size_t i = 0; i < vg->n_holders; i++) {
		const struct bs_node *lv = vg->holders[i]->holder;
		_cleanup_free_ char *path = NULL;
		char *what = NULL;

		if (lv->kind != BS_NODE_LV || bs_step_device(s, lv, &path) < 0 ||
		    bs_step_device_busy(s, path) <= 0)
			continue;
		if (strextend(&what, path, " (", lv->id, ")", NULL) < 0)
			return NULL;
		return what;
	}
	return NULL;
}

static int vg_deactivate(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	_cleanup_(bs_argv_done) struct bs_argv a = {};
	const char *vg;
	int r;

	r = vg_name(s, n, &vg);
	if (r < 0)
		return r;

	bs_argv_add(&a, "lvm");
	bs_argv_add(&a, "vgchange");
	bs_argv_add(&a, "-an");
	bs_argv_add(&a, vg);
	r = bs_argv_spawn(s, &a, NULL);
	if (r == -EPROTO) {
		_cleanup_free_ char *busy = busy_lv(s, n);

		if (busy)
			return bs_step_fail(s, -EBUSY, "%s is busy: %s is still open", n->id, busy);
	}
	if (r < 0)
		return bs_spawn_fail(s, r, "'lvm vgchange -an %s' failed (see its message)", vg);
	return 0;
}

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_VG_ACTIVATE, vg_activate },
	{ BS_ACTION_LV_ACTIVATE, lv_activate },
	{ BS_ACTION_LV_DEACTIVATE, lv_deactivate },
	{ BS_ACTION_VG_DEACTIVATE, vg_deactivate },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_lvm = { "lvm", "lvm", actions };
