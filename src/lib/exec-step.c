/* The executor's step API: what a driver may ask of the step it runs, and the ops through it. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec-internal.h"
#include "hashmap.h"
#include "layers.h"
#include "strv.h"
#include "sysroot.h"
#include "util.h"

/* ---- the step API for drivers ------------------------------------------------------------ */

struct bs_ctx *bs_step_ctx(const struct bs_step *s)
{
	return s->round->exec->ctx;
}

struct bs_node *bs_step_node(const struct bs_step *s)
{
	return s->node;
}

const char *bs_step_action(const struct bs_step *s)
{
	return s->action;
}

_printf_(2, 0) static void vset_message(char **where, const char *format, va_list ap)
{
	char *m = NULL;

	if (vasprintf(&m, format, ap) < 0)
		return;
	free(*where);
	*where = m;
}

int bs_step_fail(struct bs_step *s, int error, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vset_message(&s->message, format, ap);
	va_end(ap);
	if (s->message)
		bs_log_debug(bs_step_ctx(s), "%s %s: %s", s->action, s->node->id, s->message);
	return error < 0 ? error : -EIO;
}

void bs_step_warn(struct bs_step *s, const char *format, ...)
{
	struct bs_exec *e = s->round->exec;
	va_list ap;

	va_start(ap, format);
	vset_message(&s->warning, format, ap);
	va_end(ap);
	if (!s->warning)
		return;
	/* Said once, as an event: the front end decides where it goes. */
	pthread_mutex_lock(&e->lock);
	bs_exec_emit(e, s->round, BS_EXEC_EVENT_WARNING, s, 0, s->warning);
	pthread_mutex_unlock(&e->lock);
}

static const char *node_suffix(const struct bs_node *n)
{
	const char *colon = strchr(n->id, ':');

	return colon ? colon + 1 : n->id;
}

int bs_step_device(struct bs_step *s, const struct bs_node *n, char **ret_path)
{
	struct bs_exec *e = s->round->exec;
	const struct bs_kind *kind;
	struct device_entry *d;
	char *path = NULL;
	int r;

	pthread_mutex_lock(&e->lock);
	d = e->device_by_id ? hashmap_get_str(e->device_by_id, n->id) : NULL;
	if (d && d->path[0] != '/') {
		if (asprintf(&path, "/dev/%s", d->path) < 0)
			path = NULL;
	} else if (d)
		path = strdup(d->path);
	pthread_mutex_unlock(&e->lock);
	if (d) {
		if (!path)
			return -ENOMEM;
		*ret_path = path;
		return 0;
	}

	if (n->name && n->state != BS_STATE_ABSENT) {
		if (asprintf(&path, "/dev/%s", n->name) < 0)
			return -ENOMEM;
		*ret_path = path;
		return 0;
	}
	kind = bs_kind_get(n->kind);
	r = kind->device_path ? kind->device_path(n, &path) : -ENXIO;
	if (r == -ENXIO)
		return bs_step_fail(s, -ENXIO, "no device is known for '%s', which %s %s needs",
				    n->id, s->action, s->node->id);
	if (r < 0)
		return r;
	*ret_path = path;
	return 0;
}

int bs_step_set_device(struct bs_step *s, const char *name_or_path)
{
	struct bs_exec *e = s->round->exec;
	int r;

	if (!name_or_path || !name_or_path[0])
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	r = bs_exec_remember_device(e, s->node->id, name_or_path);
	pthread_mutex_unlock(&e->lock);
	return r;
}

static uint64_t node_timeout_usec(const struct bs_node *n)
{
	const char *t = n->attrs[BS_ATTR_TIMEOUT];
	unsigned long long sec;
	char *end;

	if (!t)
		return 0;
	errno = 0;
	sec = strtoull(t, &end, 10);
	if (errno != 0 || end == t || *end != '\0' || sec >= UINT64_MAX / 1000000)
		return 0;
	return sec * USEC_PER_SEC;
}

uint64_t bs_step_timeout_usec(const struct bs_step *s, const struct bs_node *n)
{
	uint64_t t = n ? node_timeout_usec(n) : 0, array = 0;

	if (t)
		return t;
	/* A member waits as long as its array says ("timeout md:sys 5"): that is how long the
	 * array waits before it starts degraded. */
	for (size_t i = 0; n && i < n->n_holders; i++)
		if (bs_kind_get(n->holders[i]->holder->kind)->may_lack_members)
			array = MAX(array, node_timeout_usec(n->holders[i]->holder));
	return array ? array : s->round->exec->timeout_usec;
}

bool bs_step_is_missing(const struct bs_step *s, const struct bs_node *n)
{
	struct bs_exec *e = s->round->exec;
	bool missing;

	pthread_mutex_lock(&e->lock);
	missing = e->missing && hashmap_get_str(e->missing, n->id);
	pthread_mutex_unlock(&e->lock);
	return missing;
}

static bool have_mount_root(const struct bs_ctx *c)
{
	return c->mount_root && !streq(c->mount_root, "/");
}

int bs_step_target_path(struct bs_step *s, const char *path, char **ret)
{
	struct bs_ctx *c = bs_step_ctx(s);
	const struct bs_node *m;
	char *p;

	if (!path || path[0] != '/')
		return -EINVAL;
	m = have_mount_root(c) ? bs_graph_find_mount_holding(s->round->graph, path, NULL, false) :
				 NULL;
	if (m && (m->sources & BS_SOURCE_CONFIG)) {
		if (asprintf(&p, "%s%s", c->mount_root, path) < 0)
			return -ENOMEM;
	} else if (!(p = strdup(path)))
		return -ENOMEM;
	*ret = p;
	return 0;
}

/* Where a mount node's filesystem is (or goes) on the running system. */
char *bs_exec_real_mount_point(struct bs_ctx *c, const struct bs_node *mount)
{
	const char *path = node_suffix(mount);
	char *p;

	if (!have_mount_root(c))
		return strdup(path);
	if (streq(path, "/"))
		return strdup(c->mount_root);
	return asprintf(&p, "%s%s", c->mount_root, path) < 0 ? NULL : p;
}

int bs_step_mount_point(struct bs_step *s, const struct bs_node *mount, char **ret)
{
	char *p;

	if (mount->kind != BS_NODE_MOUNT || node_suffix(mount)[0] != '/')
		return -EINVAL;
	p = bs_exec_real_mount_point(bs_step_ctx(s), mount);
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

/* ---- the ops, through the step ------------------------------------------------------------ */

int bs_step_spawn(struct bs_step *s, const char *const argv[], char **ret_stdout)
{
	int r;

	if (bs_log_enabled(bs_step_ctx(s), LOG_DEBUG)) {
		_cleanup_free_ char *line = NULL;

		if (strv_join((char *const *)argv, " ", &line) >= 0)
			bs_log_debug(bs_step_ctx(s), "%s %s: running %s", s->action, s->node->id,
				     line);
	}
	r = OPS(s)->spawn(OPS_DATA(s), argv, ret_stdout);
	if (r == -ENOENT)
		return bs_step_fail(s, r,
				    "'%s' is not installed (not found in PATH); %s of '%s' "
				    "needs it",
				    argv[0] + (argv[0][0] == '@'), s->action, s->node->id);
	return r;
}

int bs_step_mount(struct bs_step *s, const char *source, const char *target, const char *fstype,
		  unsigned long flags, const char *data)
{
	return OPS(s)->mount(OPS_DATA(s), source, target, fstype, flags, data);
}

int bs_step_umount(struct bs_step *s, const char *target, int flags)
{
	return OPS(s)->umount(OPS_DATA(s), target, flags);
}

int bs_step_swapon(struct bs_step *s, const char *path, int flags)
{
	return OPS(s)->swapon(OPS_DATA(s), path, flags);
}

int bs_step_swapoff(struct bs_step *s, const char *path)
{
	return OPS(s)->swapoff(OPS_DATA(s), path);
}

int bs_step_loop_attach(struct bs_step *s, const char *file, const struct bs_loop_options *o,
			char **ret_device)
{
	return OPS(s)->loop_attach(OPS_DATA(s), file, o, ret_device);
}

int bs_step_loop_detach(struct bs_step *s, const char *device)
{
	return OPS(s)->loop_detach(OPS_DATA(s), device);
}

int bs_step_btrfs_scan(struct bs_step *s, const char *device, bool *ret_complete)
{
	return OPS(s)->btrfs_scan(OPS_DATA(s), device, ret_complete);
}

int bs_step_crypt_open(struct bs_step *s, const struct bs_crypt_request *req)
{
	return OPS(s)->crypt_open(OPS_DATA(s), req);
}

int bs_step_crypt_close(struct bs_step *s, const char *name)
{
	return OPS(s)->crypt_close(OPS_DATA(s), name);
}

bool bs_step_last_resort(const struct bs_step *s)
{
	const struct bs_exec *e = s->round->exec;

	return e->last_resort && e->last_pass;
}

int bs_step_crypt_wipe(struct bs_step *s, const char *name)
{
	if (!OPS(s)->crypt_wipe)
		return -EOPNOTSUPP;
	return OPS(s)->crypt_wipe(OPS_DATA(s), name);
}

static void emit_wait(struct bs_step *s, const char *what, uint64_t timeout_usec)
{
	struct bs_exec *e = s->round->exec;
	_cleanup_free_ char *m = NULL;

	if (asprintf(&m, "waiting up to %llu s for %s",
		     (unsigned long long)(timeout_usec / 1000000), what) < 0)
		return;
	pthread_mutex_lock(&e->lock);
	bs_exec_emit(e, s->round, BS_EXEC_EVENT_WAIT, s, 0, m);
	pthread_mutex_unlock(&e->lock);
}

int bs_step_wait_device(struct bs_step *s, const struct bs_device_match *m, uint64_t timeout_usec,
			char **ret_name)
{
	emit_wait(s, m->id, timeout_usec);
	return OPS(s)->wait_device(OPS_DATA(s), m, timeout_usec, ret_name);
}

int bs_step_wait_uevent(struct bs_step *s, uint64_t timeout_usec)
{
	return OPS(s)->wait_uevent(OPS_DATA(s), timeout_usec);
}

int bs_step_remove_node(struct bs_step *s, const char *path)
{
	return OPS(s)->remove_node(OPS_DATA(s), path);
}

bool bs_step_udev_running(struct bs_step *s)
{
	int fd = bs_sysroot_open(bs_step_ctx(s), "run/udev/control", O_PATH);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int secret_dup(const char *p, size_t size, char **ret)
{
	char *copy;
	int r;

	r = bs_secret_new(size, &copy);
	if (r < 0)
		return r;
	memcpy(copy, p, size);
	*ret = copy;
	return 0;
}

int bs_step_next_passphrase(struct bs_step *s, const char *prompt, size_t *tried, char **ret_secret,
			    size_t *ret_size, bool *ret_asked)
{
	struct bs_exec *e = s->round->exec;
	char *secret = NULL, **pp;
	size_t size = 0, *sizes;
	int r;

	pthread_mutex_lock(&e->prompt_lock);
	if (*tried < e->n_passphrases) {
		r = secret_dup(e->passphrases[*tried], e->passphrase_sizes[*tried], &secret);
		if (r >= 0) {
			size = e->passphrase_sizes[*tried];
			(*tried)++;
			*ret_asked = false;
		}
		goto out;
	}
	r = OPS(s)->ask_password(OPS_DATA(s), prompt, &secret, &size);
	if (r < 0)
		goto out;
	pp = realloc(e->passphrases, (e->n_passphrases + 1) * sizeof(*pp));
	if (pp)
		e->passphrases = pp;
	sizes = realloc(e->passphrase_sizes, (e->n_passphrases + 1) * sizeof(*sizes));
	if (sizes)
		e->passphrase_sizes = sizes;
	if (pp && sizes) {
		char *keep;

		/* Kept for the other mappings; a copy, so the caller frees its own. */
		if (secret_dup(secret, size, &keep) >= 0) {
			e->passphrases[e->n_passphrases] = keep;
			e->passphrase_sizes[e->n_passphrases] = size;
			e->n_passphrases++;
			*tried = e->n_passphrases;
		}
	}
	*ret_asked = true;
	r = 0;
out:
	pthread_mutex_unlock(&e->prompt_lock);
	if (r < 0)
		return r;
	*ret_secret = secret;
	*ret_size = size;
	return 0;
}

int bs_step_device_busy(struct bs_step *s, const char *path)
{
	return OPS(s)->device_busy(OPS_DATA(s), path);
}

int bs_step_probe_fstype(struct bs_step *s, const char *path, char **ret_type)
{
	return OPS(s)->probe_fstype(OPS_DATA(s), path, ret_type);
}

int bs_step_wait_route(struct bs_step *s, const char *host, uint64_t timeout_usec)
{
	if (!OPS(s)->wait_route)
		return -EOPNOTSUPP;
	return OPS(s)->wait_route(OPS_DATA(s), host, timeout_usec);
}

bool bs_step_round_acts_on(const struct bs_step *s, const struct bs_node *n)
{
	for (size_t i = 0; i < s->round->n; i++)
		if (s->round->steps[i].node == n)
			return true;
	return false;
}

void bs_step_load_module(struct bs_step *s, const char *name)
{
	int r;

	if (!name || !OPS(s)->load_module)
		return;
	r = OPS(s)->load_module(OPS_DATA(s), name);
	/* Not found is normal (built in, or loaded ahead); the action itself says what is
	 * missing if the kernel cannot do it. */
	if (r < 0 && r != -ENOENT)
		bs_log_warn(s->round->exec->ctx, "%s %s: loading kernel module '%s' failed: %s",
			    bs_step_action(s), bs_node_get_id(bs_step_node(s)), name, strerror(-r));
}
