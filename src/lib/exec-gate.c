/* The executor's gate: the live devices verified against the pins before a step opens a layer. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec-internal.h"
#include "layers.h"
#include "pins.h"
#include "strv.h"
#include "sysroot.h"
#include "util.h"

/*
 * Before a step asks for a secret or opens a layer from devices, every present device must
 * match its pin: a forged device is refused before anyone types a passphrase on it. Devices
 * appear during a run (the disks of an initramfs, the mappings the steps open), so the
 * verification is repeated whenever one has appeared since the last; while none has, the
 * last one stands, and a run that opens nothing new verifies once. What "appeared" means is
 * the list of sys/class/block with each device's number, read in one directory scan: cheap
 * next to the graph a verification reads (sysfs, libblkid, the lvm report, the headers).
 */

bool bs_exec_step_is_gated(const struct bs_step *s)
{
	const struct bs_exec *e = s->round->exec;

	if (!e->pins || e->op != BS_PLAN_UP)
		return false;
	return IN_SET(s->action_id, BS_ACTION_CRYPT_OPEN, BS_ACTION_MD_ASSEMBLE,
		      BS_ACTION_VG_ACTIVATE, BS_ACTION_LV_ACTIVATE, BS_ACTION_BTRFS_SCAN,
		      BS_ACTION_MOUNT, BS_ACTION_SWAPON);
}

void bs_exec_gate_reset(struct bs_exec *e)
{
	e->gate_devices = mfree(e->gate_devices);
	e->gate_graph = bs_graph_unref(e->gate_graph);
	e->refusals = strv_free(e->refusals);
	e->n_verifications = 0;
	e->refused = false;
}

/* The block devices below the sysroot, "NAME MAJ:MIN" a line, sorted, newly allocated. */
static int block_devices(struct bs_ctx *c, char **ret)
{
	_cleanup_strv_free_ char **lines = NULL;
	DIR *d = NULL;
	int r;

	r = bs_sysroot_opendir(c, "sys/class/block", &d);
	if (r < 0)
		return r;
	for (struct dirent *de; (de = readdir(d));) {
		_cleanup_free_ char *attr = NULL, *devno = NULL, *line = NULL;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&attr, "sys/class/block/%s/dev", de->d_name) < 0 ||
		    (bs_sysroot_read_attr(c, attr, &devno) == -ENOMEM) ||
		    asprintf(&line, "%s %s", de->d_name, strna(devno)) < 0 ||
		    strv_push(&lines, line) < 0) {
			closedir(d);
			return -ENOMEM;
		}
		line = NULL;
	}
	closedir(d);
	strv_sort(lines);
	if (!lines)
		return (*ret = strdup("")) ? 0 : -ENOMEM;
	return strv_join(lines, "\n", ret);
}

/* Stops the run at a refusal: each refusal logged, kept, and in the step's message. Holds
 * gate_lock. */
static int refuse(struct bs_step *s, const struct bs_verify *v)
{
	struct bs_exec *e = s->round->exec;
	_cleanup_free_ char *joined = NULL;
	size_t n = bs_verify_get_n_mismatches(v);

	for (size_t i = 0; i < n; i++) {
		const char *m = bs_verify_get_message(v, i);

		bs_log_debug(e->ctx, "REFUSED: %s", m);
		if (strv_extend(&e->refusals, m) < 0)
			return bs_step_fail(s, -ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&e->lock);
	e->refused = true;
	pthread_mutex_unlock(&e->lock);
	if (strv_join(e->refusals, "; ", &joined) < 0)
		joined = NULL;
	return bs_step_fail(s, -EKEYREJECTED,
			    "not started: %zu device%s refused by the pins, before anything was "
			    "asked or opened: %s",
			    n, n == 1 ? "" : "s", strna(joined));
}

int bs_exec_gate(struct bs_step *s)
{
	struct bs_exec *e = s->round->exec;
	_cleanup_free_ char *devices = NULL;
	struct bs_graph *g = NULL;
	struct bs_verify *v = NULL;
	bool refused;
	int r;

	pthread_mutex_lock(&e->gate_lock);
	pthread_mutex_lock(&e->lock);
	refused = e->refused;
	pthread_mutex_unlock(&e->lock);
	if (refused) {
		r = bs_step_fail(s, -EKEYREJECTED,
				 "not started: the run stopped at a refused device");
		goto out;
	}
	/* Listed before the graph is read: a device that appears in between is seen by the
	 * next gated step, which verifies again. */
	r = block_devices(e->ctx, &devices);
	if (r < 0) {
		r = bs_step_fail(s, r, "cannot list the block devices to verify them: %s",
				 strerror(-r));
		goto out;
	}
	if (e->gate_devices && streq(devices, e->gate_devices)) {
		r = 0;
		goto out;
	}
	r = bs_graph_load(e->ctx, &(const struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL);
	if (r < 0) {
		r = bs_step_fail(s, r, "cannot read the devices to verify them: %s", strerror(-r));
		goto out;
	}
	e->n_verifications++;
	r = bs_pins_verify(e->pins, g, &v);
	bs_log_debug(e->ctx,
		     "%s %s: verification %u: %zu devices checked, %zu pins absent, %zu refused",
		     s->action, s->node->id, e->n_verifications, bs_verify_get_n_checked(v),
		     bs_verify_get_n_absent(v), bs_verify_get_n_mismatches(v));
	if (r == -EKEYREJECTED) {
		r = refuse(s, v);
		goto out;
	}
	if (r < 0) {
		r = bs_step_fail(s, r, "cannot verify the devices: %s", strerror(-r));
		goto out;
	}
	free(e->gate_devices);
	e->gate_devices = TAKE_PTR(devices);
	bs_graph_unref(e->gate_graph);
	e->gate_graph = TAKE_PTR(g);
out:
	pthread_mutex_unlock(&e->gate_lock);
	bs_verify_unref(v);
	bs_graph_unref(g);
	return r;
}

/* ---- what the drivers ask of the pins -------------------------------------------------------- */

/* The uuid that names n's pin: an md array's, or the VG's of a VG or an LV. */
static const char *pin_uuid(const struct bs_node *n, bool *ret_md)
{
	const struct bs_node *vg;

	*ret_md = n->kind == BS_NODE_MD;
	if (n->kind == BS_NODE_MD)
		return n->attrs[BS_ATTR_MD_UUID];
	if (n->kind == BS_NODE_VG)
		return n->attrs[BS_ATTR_VG_UUID];
	if (n->kind != BS_NODE_LV)
		return NULL;
	if (n->attrs[BS_ATTR_VG_UUID])
		return n->attrs[BS_ATTR_VG_UUID];
	vg = bs_node_need_with_role(n, "vg");
	return vg ? vg->attrs[BS_ATTR_VG_UUID] : NULL;
}

int bs_step_pinned_paths(struct bs_step *s, const struct bs_node *n, char ***ret)
{
	struct bs_exec *e = s->round->exec;
	const char *uuid;
	bool md;
	int r;

	if (!e->pins || e->op != BS_PLAN_UP)
		return -ENOENT;
	uuid = pin_uuid(n, &md);
	if (!uuid)
		return -ENOENT;
	pthread_mutex_lock(&e->gate_lock);
	r = e->gate_graph ? bs_pins_member_paths(e->pins, e->gate_graph, md, uuid, ret) : -ENOENT;
	pthread_mutex_unlock(&e->gate_lock);
	return r;
}

int bs_step_pinned_digest(struct bs_step *s, const struct bs_node *backing,
			  struct bs_crypt_digest *ret)
{
	const struct bs_exec *e = s->round->exec;

	if (!e->pins || e->op != BS_PLAN_UP || !backing)
		return 0;
	return bs_pins_luks_digest(e->pins, backing->attrs[BS_ATTR_UUID], backing->id, ret);
}

/* ---- the refusals, for the front ends ---------------------------------------------------------- */

_public_ unsigned bs_exec_get_n_verifications(const struct bs_exec *e)
{
	return e ? e->n_verifications : 0;
}

_public_ size_t bs_exec_get_n_refusals(const struct bs_exec *e)
{
	return e ? strv_length(e->refusals) : 0;
}

_public_ const char *bs_exec_get_refusal(const struct bs_exec *e, size_t i)
{
	return e && i < strv_length(e->refusals) ? e->refusals[i] : NULL;
}
