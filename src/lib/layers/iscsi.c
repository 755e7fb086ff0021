/* The iscsi driver: logs in to an iSCSI target with iscsiadm and finds the LUN's disk. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse.h"
#include "spawn-util.h"
#include "util.h"

#define ISCSI_DEFAULT_PORT 3260

/* What stack.conf said about one iSCSI disk. */
struct target {
	char *host;
	uint16_t port;
	char *iqn;
	char *portal; /* HOST:PORT, [HOST]:PORT for IPv6, as iscsiadm -p takes it */
	char *iface; /* NULL: iscsiadm's default */
	uint32_t lun;
	uint64_t login_timeout_sec; /* 0: iscsiadm's */
};

static void target_done(struct target *t)
{
	free(t->host);
	free(t->iqn);
	free(t->portal);
	free(t->iface);
}

static int parse_target(struct bs_step *s, const struct bs_node *n, struct target *t)
{
	const char *source = n->attrs[BS_ATTR_SOURCE], *opts = n->attrs[BS_ATTR_OPTIONS];
	_cleanup_free_ char *lun = NULL, *timeout = NULL;
	uint64_t usec;
	int r;

	r = bs_remote_uri_parse(source, "iscsi", &t->host, &t->port, &t->iqn);
	if (r == -ENOMEM)
		return bs_step_fail(s, r, "out of memory");
	if (r < 0 || !*t->iqn || t->iqn[0] == '-')
		return bs_step_fail(s, -EINVAL,
				    "no target to log in to ('%s' is not "
				    "iscsi://PORTAL:PORT/TARGET); check its line in stack.conf",
				    strna(source));
	if (strextend(&t->portal, strchr(t->host, ':') ? "[" : "", t->host,
		      strchr(t->host, ':') ? "]" : "", NULL) < 0)
		return bs_step_fail(s, -ENOMEM, "out of memory");

	if (bs_options_get(opts, "iface", &t->iface) < 0 || bs_options_get(opts, "lun", &lun) < 0 ||
	    bs_options_get(opts, "timeout", &timeout) < 0)
		return bs_step_fail(s, -ENOMEM, "out of memory");
	if (lun && safe_atou32(lun, &t->lun) < 0)
		return bs_step_fail(s, -EINVAL,
				    "bad iscsi option 'lun=%s'; check its line in stack.conf",
				    lun);
	if (timeout) {
		if (parse_timespan(timeout, &usec) < 0 || usec == 0)
			return bs_step_fail(
				s, -EINVAL,
				"bad iscsi option 'timeout=%s'; check its line in stack.conf",
				timeout);
		t->login_timeout_sec = (usec + USEC_PER_SEC - 1) / USEC_PER_SEC;
	}
	return 0;
}

/* iscsiadm -m node -T IQN -p PORTAL [-I IFACE], to which a command is added. */
static void node_argv(struct bs_argv *a, const struct target *t)
{
	bs_argv_add(a, "iscsiadm");
	bs_argv_add(a, "-m");
	bs_argv_add(a, "node");
	bs_argv_add(a, "-T");
	bs_argv_add(a, t->iqn);
	bs_argv_add(a, "-p");
	bs_argv_addf(a, "%s:%u", t->portal, t->port ? t->port : ISCSI_DEFAULT_PORT);
	if (t->iface) {
		bs_argv_add(a, "-I");
		bs_argv_add(a, t->iface);
	}
}

static int run_node(struct bs_step *s, const struct target *t, const char *const *args)
{
	_cleanup_(bs_argv_done) struct bs_argv a = {};

	node_argv(&a, t);
	for (; *args; args++)
		bs_argv_add(&a, *args);
	return bs_argv_spawn(s, &a, NULL);
}

/* iscsiadm logs in only to targets it has a record of. A record made by discovery or by hand
 * may hold settings (CHAP credentials) and is kept; "-o new" would reset it. */
static int ensure_record(struct bs_step *s, const struct bs_node *n, const struct target *t)
{
	char timeout[32];
	int r;

	r = run_node(s, t, (const char *const[]){ NULL });
	if (r == -EPROTO) {
		bs_log_info(bs_step_ctx(s), "%s: no iscsiadm record of %s at %s, adding one", n->id,
			    t->iqn, t->portal);
		r = run_node(s, t, (const char *const[]){ "-o", "new", NULL });
	}
	if (r < 0)
		return bs_spawn_fail(s, r,
				     "cannot add an iscsiadm record of %s at %s (see its "
				     "message)",
				     t->iqn, t->portal);
	if (t->login_timeout_sec == 0)
		return 0;

	snprintf(timeout, sizeof(timeout), "%llu", (unsigned long long)t->login_timeout_sec);
	r = run_node(s, t,
		     (const char *const[]){ "-o", "update", "-n",
					    "node.conn[0].timeo.login_timeout", "-v", timeout,
					    NULL });
	if (r < 0)
		return bs_spawn_fail(s, r,
				     "cannot set the login timeout of %s (see its message)",
				     t->iqn);
	return 0;
}

/* The kernel scans the target's LUNs after the login, so the disk comes a little later: look
 * at the sessions on every block uevent until it is there or the node's timeout ends. */
static int find_disk(struct bs_step *s, const struct bs_node *n, const struct target *t,
		     char **ret_name)
{
	uint64_t timeout = bs_step_timeout_usec(s, n), deadline = now_usec() + timeout, now;
	bool last = false;
	int r;

	for (;;) {
		_cleanup_(bs_argv_done) struct bs_argv a = {};
		_cleanup_free_ char *out = NULL;

		bs_argv_add(&a, "iscsiadm");
		bs_argv_add(&a, "-m");
		bs_argv_add(&a, "session");
		bs_argv_add(&a, "-P");
		bs_argv_add(&a, "3");
		r = bs_argv_spawn(s, &a, &out);
		if (r < 0)
			return bs_spawn_fail(s, r,
					     "'iscsiadm -m session -P 3' failed (see its message)");
		r = bs_iscsi_find_disk(out, t->iqn, t->lun, ret_name);
		if (r != 0)
			return r < 0 ? bs_step_fail(s, r, "out of memory") : 0;

		now = now_usec();
		if (last || now >= deadline)
			return bs_step_fail(s, -ETIMEDOUT,
					    "logged in to %s, but no disk of LUN %u "
					    "appeared within %llu s; check the LUN ('iscsiadm "
					    "-m session -P 3' lists the disks)",
					    t->iqn, t->lun,
					    (unsigned long long)(timeout / USEC_PER_SEC));
		/* After the wait times out, one last look. */
		r = bs_step_wait_uevent(s, deadline - now);
		last = r == -ETIMEDOUT;
		if (r < 0 && !last)
			return bs_step_fail(s, r, "cannot wait for the disk of %s", t->iqn);
	}
}

static int iscsi_login(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	_cleanup_(target_done) struct target t = {};
	_cleanup_free_ char *disk = NULL;
	int r;

	r = parse_target(s, n, &t);
	if (r < 0)
		return r;
	r = ensure_record(s, n, &t);
	if (r < 0)
		return r;
	r = run_node(s, &t, (const char *const[]){ "--login", NULL });
	if (r < 0)
		return bs_spawn_fail(s, r,
				     "cannot log in to %s at %s (see its message); is iscsid "
				     "running and the portal reachable?",
				     t.iqn, t.portal);
	r = find_disk(s, n, &t, &disk);
	if (r < 0)
		return r;
	bs_log_info(bs_step_ctx(s), "%s: LUN %u of %s is /dev/%s", n->id, t.lun, t.iqn, disk);
	return bs_step_set_device(s, disk);
}

static int iscsi_logout(struct bs_step *s)
{
	struct bs_node *n = bs_step_node(s);
	_cleanup_(target_done) struct target t = {};
	_cleanup_free_ char *path = NULL;
	int r;

	r = parse_target(s, n, &t);
	if (r < 0)
		return r;
	/* A logout does not refuse a disk in use: it takes the disk away from under its user. */
	if (bs_step_device(s, n, &path) >= 0 && bs_step_device_busy(s, path) > 0)
		return bs_step_fail(s, -EBUSY, "%s (%s) is busy", path, n->id);

	r = run_node(s, &t, (const char *const[]){ "--logout", NULL });
	if (r < 0)
		return bs_spawn_fail(s, r, "cannot log out of %s at %s (see its message)",
				     t.iqn, t.portal);
	return 0;
}

static const struct bs_layer_action actions[] = {
	{ BS_ACTION_ISCSI_LOGIN, iscsi_login },
	{ BS_ACTION_ISCSI_LOGOUT, iscsi_logout },
	{ BS_ACTION_NONE, NULL },
};

const struct bs_layer bs_layer_iscsi = { "iscsi", "iscsiadm", actions };
