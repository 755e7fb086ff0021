/* The md driver: assembles arrays from their named members with mdadm, and stops them. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawn-util.h"
#include "strv.h"
#include "util.h"

static bool role_is(const struct bs_edge *e, const char *role)
{
	return e->role && streq(e->role, role);
}

/* What assembling an array takes: the devices to give mdadm and the members that are not
 * there. */
struct md_parts {
	char **paths; /* members, spares and containers that are there, in graph order */
	char **containers; /* the containers among them */
	char **missing; /* ids of the members that timed out */
	unsigned n_members; /* edges with role "member", there or not */
	uint64_t waited_usec; /* the longest wait among the missing */
	const char *label; /* a member's LABEL: the array's name with its homehost */
};

static void md_parts_done(struct md_parts *p)
{
	p->paths = strv_free(p->paths);
	p->containers = strv_free(p->containers);
	p->missing = strv_free(p->missing);
}

static int collect_parts(struct bs_step *s, const struct bs_node *md, struct md_parts *p)
{
	int r;

	for (size_t i = 0; i < md->n_needs; i++) {
		const struct bs_edge *e = md->needs[i];
		const struct bs_node *dev = e->needs;
		bool member = role_is(e, "member");
		char *path = NULL;

		if (!member && !role_is(e, "spare") && !role_is(e, "faulty") &&
		    !role_is(e, "container"))
			continue;
		if (member)
			p->n_members++;

		if (bs_step_is_missing(s, dev)) {
			if (role_is(e, "container"))
				return bs_step_fail(s, -ETIMEDOUT,
						    "its container %s did not appear; an "
						    "array in a container needs it",
						    dev->id);
			if (!member) {
				bs_log_info(bs_step_ctx(s),
					    "%s: %s %s did not appear, going on without it", md->id,
					    e->role, dev->id);
				continue;
			}
			if (strv_extend(&p->missing, dev->id) < 0)
				return bs_step_fail(s, -ENOMEM, "out of memory");
			p->waited_usec = MAX(p->waited_usec, bs_step_timeout_usec(s, dev));
			continue;
		}

		r = bs_step_device(s, dev, &path);
		if (r < 0)
			return r; /* reported, naming the member */
		if (role_is(e, "container") && strv_extend(&p->containers, path) < 0) {
			free(path);
			return bs_step_fail(s, -ENOMEM, "out of memory");
		}
		if (strv_push(&p->paths, path) < 0) {
			free(path);
			return bs_step_fail(s, -ENOMEM, "out of memory");
		}
		if (member && !p->label)
			p->label = dev->attrs[BS_ATTR_LABEL];
	}
	return 0;
}

/* Whether the array may start without its missing members: 1 (start it with --run), 0
 * (nothing is missing) or the failure, reported. */
static int check_quorum(struct bs_step *s, const struct bs_node *md, const struct md_parts *p)
{
	const char *level_attr = md->attrs[BS_ATTR_MD_LEVEL];
	enum bs_md_level level = bs_md_level_from_string(level_attr);
	const char *level_name = bs_md_level_to_string(level);
	unsigned n_missing = (unsigned)strv_length(p->missing), present, quorum;
	_cleanup_free_ char *missing = NULL;
	uint64_t waited = (p->waited_usec + USEC_PER_SEC - 1) / USEC_PER_SEC;
	int r;

	if (n_missing == 0)
		return 0;
	r = strv_join(p->missing, ", ", &missing);
	if (r < 0)
		return bs_step_fail(s, r, "out of memory");
	present = p->n_members - n_missing;
	quorum = bs_md_degraded_quorum(level, p->n_members);

	if (!level_name)
		return bs_step_fail(s, -ETIMEDOUT,
				    "%s did not appear after %llu s, and the array's level is "
				    "%s%s%s, so it is never started degraded; bring the member "
				    "back, or give its level in mdadm.conf ('level=raid1')",
				    missing, (unsigned long long)waited, level_attr ? "'" : "",
				    level_attr ? level_attr : "unknown",
				    level_attr ? "' (not known here)" : "");
	if (quorum == 0)
		return bs_step_fail(s, -ETIMEDOUT,
				    "%s did not appear after %llu s; %s has no redundancy and "
				    "cannot start without every member; bring it back",
				    missing, (unsigned long long)waited, level_name);
	if (present < quorum)
		return bs_step_fail(s, -ETIMEDOUT,
				    "%u of %u members missing after %llu s (%s); %s needs at "
				    "least %u of them to start degraded; bring them back",
				    n_missing, p->n_members, (unsigned long long)waited, missing,
				    level_name, quorum);
	return 1;
}

static void warn_degraded(struct bs_step *s, const struct bs_node *md, const struct md_parts *p)
{
	enum bs_md_level level = bs_md_level_from_string(md->attrs[BS_ATTR_MD_LEVEL]);
	unsigned present = p->n_members - (unsigned)strv_length(p->missing);
	unsigned left = present - bs_md_degraded_quorum(level, p->n_members);
	_cleanup_free_ char *missing = NULL;
	char tail[64];

	if (level == BS_MD_RAID10)
		/* Whether it survives more depends on which mirror the next failure hits. */
		snprintf(tail, sizeof(tail), "one more failed member may lose the array");
	else if (left == 0)
		snprintf(tail, sizeof(tail), "the array has no redundancy left to lose");
	else
		snprintf(tail, sizeof(tail), "it survives %u more failed member%s", left,
			 left == 1 ? "" : "s");
	if (strv_join(p->missing, ", ", &missing) < 0)
		missing = NULL;
	bs_step_warn(s, "starting DEGRADED (%s, %u of %u members) without %s after %llu s; %s",
		     bs_md_level_to_string(level), present, p->n_members, strna(missing),
		     (unsigned long long)((p->waited_usec + USEC_PER_SEC - 1) / USEC_PER_SEC),
		     tail);
}

/* mdadm matches --name= against the superblock's name, which carries the homehost ("host:sys")
 * unless the homehost is this machine's: a member's label has the name as written. */
static const char *name_to_match(const struct bs_node *md, const struct md_parts *p)
{
	const char *name = md->attrs[BS_ATTR_MD_NAME], *colon;

	if (!p->label)
		return name;
	colon = strchr(p->label, ':');
	if (!name || streq(colon ? colon + 1 : p->label, name))
		return p->label;
	return name;
}

static int md_assemble(struct bs_step *s)
{
	struct bs_node *md = bs_step_node(s);
	_cleanup_(md_parts_done) struct md_parts p = {};
	_cleanup_(bs_argv_done) struct bs_argv a = {};
	_cleanup_free_ char *device = NULL;
	_cleanup_strv_free_ char **pinned = NULL;
	const char *uuid_attr = md->attrs[BS_ATTR_MD_UUID], *name;
	char uuid[36];
	int run, r;

	r = bs_md_device_path(md->id, md->attrs[BS_ATTR_MD_NAME], &device);
	if (r < 0)
		return bs_step_fail(s, r,
				    "no name to assemble it as /dev/md/NAME; name it in "
				    "mdadm.conf ('ARRAY /dev/md/NAME uuid=...')");

	r = collect_parts(s, md, &p);
	if (r < 0)
		return r;
	/* md itself, and the personality the kernel would ask for ("md-raid6", "md-linear"). */
	bs_step_load_module(s, "md_mod");
	if (md->attrs[BS_ATTR_MD_LEVEL]) {
		_cleanup_free_ char *alias = NULL;
		const char *level = md->attrs[BS_ATTR_MD_LEVEL];

		/* mdadm.conf may say "6" where sysfs says "raid6". */
		if (asprintf(&alias, "md-%s%s", level[0] >= '0' && level[0] <= '9' ? "raid" : "",
			     level) < 0)
			return -ENOMEM;
		bs_step_load_module(s, alias);
	}
	if (!p.paths)
		return bs_step_fail(s, -ENXIO,
				    "no member device is known; list them in mdadm.conf "
				    "('devices=') or run 'blkstack record' while the array is up");
	run = check_quorum(s, md, &p);
	if (run < 0)
		return run;

	bs_argv_add(&a, "mdadm");
	bs_argv_add(&a, "--assemble");
	bs_argv_add(&a, device);
	if (uuid_attr) {
		if (!bs_md_uuid_to_mdadm(uuid_attr, uuid))
			return bs_step_fail(s, -EINVAL,
					    "md_uuid '%s' is not an md uuid (32 hex digits); "
					    "check mdadm.conf",
					    uuid_attr);
		bs_argv_addf(&a, "--uuid=%s", uuid);
	} else {
		/* Without a uuid the name is the only check that the members belong together. */
		name = name_to_match(md, &p);
		if (!name)
			return bs_step_fail(s, -EINVAL,
					    "neither a uuid nor a name identifies the array; "
					    "add 'uuid=' to its ARRAY line in mdadm.conf");
		bs_log_info(bs_step_ctx(s), "%s: no uuid known, assembling by the name '%s'",
			    md->id, name);
		bs_argv_addf(&a, "--name=%s", name);
	}
	if (run)
		bs_argv_add(&a, "--run");
	r = bs_step_pinned_paths(s, md, &pinned);
	if (r == 0)
		return bs_step_fail(s, -ENXIO,
				    "none of its pinned members is present; mdadm is given no "
				    "other device");
	if (r > 0) {
		/* With pins, mdadm sees the pinned members only (and the container an array
		 * in one needs), whatever else carries the array's uuid (verification has
		 * refused those already). */
		bs_log_debug(bs_step_ctx(s), "%s: assembling from its %d pinned members present",
			     md->id, r);
		for (char **d = p.containers; d && *d; d++)
			bs_argv_add(&a, *d);
		for (char **d = pinned; *d; d++)
			bs_argv_add(&a, *d);
	} else if (r != -ENOENT)
		return bs_step_fail(s, r, "cannot tell its pinned members: %s", strerror(-r));
	else
		for (char **d = p.paths; *d; d++)
			bs_argv_add(&a, *d);

	r = bs_argv_spawn(s, &a, NULL);
	if (r < 0)
		return bs_spawn_fail(s, r,
				     "'mdadm --assemble %s' failed (see its message); check "
				     "the members with 'mdadm --examine'",
				     device);
	if (run)
		warn_degraded(s, md, &p);
	/* Without udev, mdadm makes /dev/md/NAME itself; with udev, it waits for it. */
	return bs_step_set_device(s, device);
}

/* Without udev, mdadm makes /dev/mdN and /dev/md/NAME itself and leaves them when the array
 * stops. Whoever opens the stale /dev/mdN next (lvm scanning /dev, mdadm assembling under the
 * same name) makes the kernel create an empty array there again, and the next assembly gets
 * another minor. So they go, as udev would remove them. */
static int remove_stale_nodes(struct bs_step *s, const struct bs_node *md, const char *path)
{
	const char *name = md->attrs[BS_ATTR_MD_NAME], *colon;
	_cleanup_free_ char *link = NULL;
	int r;

	if (bs_step_udev_running(s))
		return 0;
	if (name && (colon = strchr(name, ':')))
		name = colon + 1;
	if (!name && startswith(md->id, "md:"))
		name = md->id + 3;
	if (name && !strchr(name, '/') && asprintf(&link, "/dev/md/%s", name) >= 0) {
		r = bs_step_remove_node(s, link);
		if (r < 0)
			bs_log_warn(bs_step_ctx(s), "%s: cannot remove '%s': %s, ignoring", md->id,
				    link, strerror(-r));
	}
	if (startswith(path, "/dev/md") && !startswith(path, "/dev/md/")) {
		r = bs_step_remove_node(s, path);
		if (r < 0)
			bs_log_warn(bs_step_ctx(s), "%s: cannot remove '%s': %s, ignoring", md->id,
				    path, strerror(-r));
	}
	return 0;
}

static int md_stop(struct bs_step *s)
{
	struct bs_node *md = bs_step_node(s);
	_cleanup_(bs_argv_done) struct bs_argv a = {};
	_cleanup_free_ char *path = NULL;
	int r;

	r = bs_step_device(s, md, &path);
	if (r < 0)
		return r;

	bs_argv_add(&a, "mdadm");
	bs_argv_add(&a, "--stop");
	bs_argv_add(&a, path);
	r = bs_argv_spawn(s, &a, NULL);
	if (r == -EPROTO && bs_step_device_busy(s, path) > 0) {
		if (bs_step_last_resort(s)) {
			/* It stays active until the machine goes down: at least its superblocks
			 * say clean, as dracut's shutdown does it, so the next boot does not
			 * resync it. */
			_cleanup_(bs_argv_done) struct bs_argv w = {};

			bs_argv_add(&w, "mdadm");
			bs_argv_add(&w, "--wait-clean");
			bs_argv_add(&w, path);
			if (bs_argv_spawn(s, &w, NULL) >= 0)
				return bs_step_fail(s, -EBUSY, "%s (%s) is busy: marked clean", path,
						    md->id);
		}
		return bs_step_fail(s, -EBUSY, "%s (%s) is busy", path, md->id);
	}
	if (r < 0)
		return bs_spawn_fail(s, r, "'mdadm --stop %s' failed (see its message)", path);
	return remove_stale_nodes(s, md, path);
}

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_MD_ASSEMBLE, md_assemble },
	{ BS_ACTION_MD_STOP, md_stop },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_md = { "md", "mdadm", actions };
