/* The executor: runs plans step by step, in parallel, through the drivers and the ops table. */
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

#include "exec.h"
#include "graph.h"
#include "hashmap.h"
#include "layers.h"
#include "plan.h"
#include "libblkstack-private.h"
#include "problems.h"
#include "strv.h"
#include "sysroot.h"
#include "util.h"

#define DEFAULT_TIMEOUT_USEC (90 * USEC_PER_SEC)
/* Discovery stops after this many rounds even if each one opened something: a stack deeper
 * than this is not plausible, a loop that keeps finding "new" steps is a bug to report. */
#define MAX_ROUNDS 64

enum step_state {
	STEP_PENDING,
	STEP_RUNNING,
	STEP_DONE,
	STEP_FAILED,
	STEP_SKIPPED,
	STEP_BUSY,
	STEP_CARRIED, /* failed in an earlier round; not run again */
	STEP_CARRIED_OK, /* done in an earlier round */
	STEP_DEFERRED, /* up: an input is not known yet (discovery); the next round may know */
};

struct round;

struct bs_step {
	struct round *round;
	size_t index;
	struct bs_node *node;
	enum bs_action action_id;
	const char *action; /* its name */
	enum step_state state;
	int error;
	char *message;
	char *warning;
	size_t n_pending; /* steps it waits for that have not finished */
};

struct round {
	struct bs_exec *exec;
	struct bs_graph *graph;
	struct bs_plan *plan;
	unsigned number;
	size_t n;
	struct bs_step *steps;
	size_t **dependents;
	size_t *n_dependents;
	/* Ready steps, a min-heap of indexes: the lowest step number starts first, so a run
	 * with one job is deterministic. */
	size_t *ready;
	size_t n_ready;
	bool *preset; /* state set by round_setup(), before anything ran */
	size_t running, finished, n_new;
	size_t n_hidden; /* carried from earlier rounds or deferred: not shown as progress */
	size_t progress; /* steps that succeeded */
	pthread_cond_t wake;
	const char *message; /* for the round event */
};

struct result {
	char *key; /* "ACTION NODE" */
	char *action;
	char *node;
	enum bs_exec_status status;
	int error;
	char *message;
};

struct device_entry {
	char *id;
	char *path;
};

struct bs_exec {
	unsigned n_ref;
	struct bs_ctx *ctx;
	unsigned jobs;
	unsigned max_rounds;
	uint64_t timeout_usec;
	bool no_record;

	struct bs_real_ops_data real;
	char *askpass_socket;
	char *console;
	const struct bs_ops *ops;
	void *ops_data;

	bs_exec_event_fn event_fn;
	void *event_data;

	enum bs_plan_op op;

	/* Everything below is shared by the workers, under lock. */
	pthread_mutex_t lock;
	struct result *results;
	size_t n_results, allocated_results;
	struct hashmap *result_by_key;

	struct device_entry **devices;
	size_t n_devices, allocated_devices;
	struct hashmap *device_by_id;
	struct hashmap *missing; /* node id -> (void*)1: waited for, never appeared */
	char **missing_ids;

	/* Passphrases given in this run, tried on the other mappings before asking again. */
	pthread_mutex_t prompt_lock;
	char **passphrases;
	size_t *passphrase_sizes;
	size_t n_passphrases;
};

static const char *const event_names[_BS_EXEC_EVENT_MAX] = {
	[BS_EXEC_EVENT_ROUND] = "round",     [BS_EXEC_EVENT_START] = "start",
	[BS_EXEC_EVENT_WAIT] = "wait",	     [BS_EXEC_EVENT_DONE] = "done",
	[BS_EXEC_EVENT_FAILED] = "failed",   [BS_EXEC_EVENT_SKIPPED] = "skipped",
	[BS_EXEC_EVENT_BUSY] = "busy",	     [BS_EXEC_EVENT_WARNING] = "warning",
	[BS_EXEC_EVENT_BLOCKER] = "blocker",
};

static const char *const status_names[_BS_EXEC_STATUS_MAX] = {
	[BS_EXEC_DONE] = "done",
	[BS_EXEC_FAILED] = "failed",
	[BS_EXEC_SKIPPED] = "skipped",
	[BS_EXEC_BUSY] = "busy",
};

_public_ const char *bs_exec_event_type_to_string(enum bs_exec_event_type t)
{
	return t >= 0 && t < _BS_EXEC_EVENT_MAX ? event_names[t] : NULL;
}

_public_ const char *bs_exec_status_to_string(enum bs_exec_status s)
{
	return s >= 0 && s < _BS_EXEC_STATUS_MAX ? status_names[s] : NULL;
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static void results_clear(struct bs_exec *e)
{
	for (size_t i = 0; i < e->n_results; i++) {
		free(e->results[i].key);
		free(e->results[i].action);
		free(e->results[i].node);
		free(e->results[i].message);
	}
	e->n_results = 0;
	e->result_by_key = hashmap_free(e->result_by_key);
	for (size_t i = 0; i < e->n_devices; i++) {
		free(e->devices[i]->id);
		free(e->devices[i]->path);
		free(e->devices[i]);
	}
	e->n_devices = 0;
	e->device_by_id = hashmap_free(e->device_by_id);
	e->missing = hashmap_free(e->missing);
	e->missing_ids = strv_free(e->missing_ids);
	for (size_t i = 0; i < e->n_passphrases; i++)
		bs_secret_free(e->passphrases[i]);
	e->n_passphrases = 0;
}

_public_ int bs_exec_new(struct bs_ctx *c, const struct bs_exec_opts *opts, struct bs_exec **ret)
{
	struct bs_exec *e;

	if (!c || !ret)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->n_ref = 1;
	e->ctx = bs_ctx_ref(c);
	e->real.ctx = c;
	e->real.opts.key_fd = -1;
	if (opts) {
		e->jobs = opts->jobs;
		e->timeout_usec = opts->timeout_usec;
		e->no_record = opts->no_record;
		e->real.opts.key_fd = opts->key_fd;
		if ((opts->askpass_socket && !(e->askpass_socket = strdup(opts->askpass_socket))) ||
		    (opts->console && !(e->console = strdup(opts->console)))) {
			bs_exec_unref(e);
			return -ENOMEM;
		}
		e->real.opts.askpass_socket = e->askpass_socket;
		e->real.opts.console = e->console;
	}
	if (e->jobs == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		e->jobs = n > 0 ? (unsigned)n : 1;
	}
	if (e->timeout_usec == 0)
		e->timeout_usec = DEFAULT_TIMEOUT_USEC;
	e->max_rounds = MAX_ROUNDS;
	e->ops = bs_ops_real();
	e->ops_data = &e->real;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->prompt_lock, NULL);
	*ret = e;
	return 0;
}

_public_ struct bs_exec *bs_exec_ref(struct bs_exec *e)
{
	if (e)
		e->n_ref++;
	return e;
}

_public_ struct bs_exec *bs_exec_unref(struct bs_exec *e)
{
	if (!e || --e->n_ref > 0)
		return NULL;
	results_clear(e);
	bs_real_ops_data_done(&e->real);
	free(e->results);
	free(e->devices);
	free(e->passphrases);
	free(e->passphrase_sizes);
	free(e->askpass_socket);
	free(e->console);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->prompt_lock);
	bs_ctx_unref(e->ctx);
	free(e);
	return NULL;
}

_public_ void bs_exec_set_event_fn(struct bs_exec *e, bs_exec_event_fn fn, void *userdata)
{
	if (!e)
		return;
	e->event_fn = fn;
	e->event_data = userdata;
}

int bs_exec_set_max_rounds(struct bs_exec *e, unsigned n)
{
	if (!e || n == 0)
		return -EINVAL;
	e->max_rounds = n;
	return 0;
}

int bs_exec_set_ops(struct bs_exec *e, const struct bs_ops *ops, void *userdata)
{
	if (!e || !ops)
		return -EINVAL;
	e->ops = ops;
	e->ops_data = userdata;
	return 0;
}

/* ---- events and results (callers hold e->lock) ------------------------------------------- */

static void emit(struct bs_exec *e, const struct round *rd, enum bs_exec_event_type type,
		 const struct bs_step *s, int error, const char *message)
{
	struct bs_exec_event ev = {
		.type = type,
		.round = rd ? rd->number : 0,
		.step = s ? (unsigned)s->index + 1 : 0,
		.action = s ? s->action : NULL,
		.node = s ? s->node->id : NULL,
		.error = error,
		.message = message,
		.n_done = rd ? (unsigned)(rd->finished - rd->n_hidden) : 0,
		.n_total = rd ? (unsigned)(rd->n - rd->n_hidden) : 0,
	};

	if (e->event_fn)
		e->event_fn(e->event_data, &ev);
}

static int set_result(struct bs_exec *e, const char *action, const char *node,
		      enum bs_exec_status status, int error, const char *message)
{
	_cleanup_free_ char *key = NULL;
	struct result *res;
	void *found;
	int r;

	if (asprintf(&key, "%s %s", action, node) < 0)
		return -ENOMEM;
	if (!e->result_by_key) {
		r = hashmap_new(HASHMAP_STRING, &e->result_by_key);
		if (r < 0)
			return r;
	}
	found = hashmap_get_str(e->result_by_key, key);
	if (found) {
		/* A step that ends again (a retry, a later round) moves to the end: results are in
		 * the order things ended. */
		size_t i = (size_t)(uintptr_t)found - 1;
		struct result keep = e->results[i];

		memmove(e->results + i, e->results + i + 1,
			(e->n_results - i - 1) * sizeof(*e->results));
		e->results[e->n_results - 1] = keep;
		for (size_t j = i; j < e->n_results; j++) {
			r = hashmap_put_str(e->result_by_key, e->results[j].key,
					    (void *)(uintptr_t)(j + 1));
			if (r < 0)
				return r;
		}
		res = &e->results[e->n_results - 1];
	} else {
		if (ARRAY_RESERVE(e->results, e->allocated_results, e->n_results) < 0)
			return -ENOMEM;
		res = &e->results[e->n_results];
		*res = (struct result){};
		res->action = strdup(action);
		res->node = strdup(node);
		if (!res->action || !res->node) {
			free(res->action);
			free(res->node);
			return -ENOMEM;
		}
		res->key = TAKE_PTR(key);
		e->n_results++;
		r = hashmap_put_str(e->result_by_key, res->key, (void *)(uintptr_t)e->n_results);
		if (r < 0)
			return r;
	}
	res->status = status;
	res->error = error;
	r = free_and_strdup(&res->message, message);
	return r < 0 ? r : 0;
}

static const struct result *find_result(const struct bs_exec *e, const char *action,
					const char *node)
{
	_cleanup_free_ char *key = NULL;
	void *found;

	if (!e->result_by_key || asprintf(&key, "%s %s", action, node) < 0)
		return NULL;
	found = hashmap_get_str(e->result_by_key, key);
	return found ? &e->results[(size_t)(uintptr_t)found - 1] : NULL;
}

/* ---- devices made or found in this run (callers hold e->lock) ---------------------------- */

static int remember_device(struct bs_exec *e, const char *id, const char *path)
{
	struct device_entry *d = e->device_by_id ? hashmap_get_str(e->device_by_id, id) : NULL;
	int r;

	if (d)
		return free_and_strdup(&d->path, path) < 0 ? -ENOMEM : 0;
	if (!e->device_by_id) {
		r = hashmap_new(HASHMAP_STRING, &e->device_by_id);
		if (r < 0)
			return r;
	}
	if (ARRAY_RESERVE(e->devices, e->allocated_devices, e->n_devices) < 0)
		return -ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->id = strdup(id);
	d->path = strdup(path);
	if (!d->id || !d->path) {
		free(d->id);
		free(d->path);
		free(d);
		return -ENOMEM;
	}
	e->devices[e->n_devices++] = d;
	return hashmap_put_str(e->device_by_id, d->id, d);
}

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
	emit(e, s->round, BS_EXEC_EVENT_WARNING, s, 0, s->warning);
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
	r = remember_device(e, s->node->id, name_or_path);
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
static char *real_mount_point(struct bs_ctx *c, const struct bs_node *mount)
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
	p = real_mount_point(bs_step_ctx(s), mount);
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

/* ---- the ops, through the step ------------------------------------------------------------ */

#define OPS(s) ((s)->round->exec->ops)
#define OPS_DATA(s) ((s)->round->exec->ops_data)

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
				    argv[0], s->action, s->node->id);
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

static void emit_wait(struct bs_step *s, const char *what, uint64_t timeout_usec)
{
	struct bs_exec *e = s->round->exec;
	_cleanup_free_ char *m = NULL;

	if (asprintf(&m, "waiting up to %llu s for %s",
		     (unsigned long long)(timeout_usec / 1000000), what) < 0)
		return;
	pthread_mutex_lock(&e->lock);
	emit(e, s->round, BS_EXEC_EVENT_WAIT, s, 0, m);
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

/* ---- steps the executor runs itself ------------------------------------------------------- */

/* A wait-device step that timed out is soft when only holders that may lack members (md
 * arrays) need the device as a member: they decide whether to start without it. */
static bool only_members_of_lenient_holders(const struct bs_node *n)
{
	if (n->n_holders == 0)
		return false;
	for (size_t i = 0; i < n->n_holders; i++) {
		const struct bs_edge *edge = n->holders[i];

		if (bs_kind_get(edge->holder->kind)->may_lack_members &&
		    (streq(edge->role, "member") || streq(edge->role, "spare")))
			continue;
		return false;
	}
	return true;
}

static int run_step(struct bs_step *s)
{
	const struct bs_layer_action *a = bs_layer_find_action(s->action_id, NULL);

	if (!a)
		return bs_step_fail(s, -EOPNOTSUPP, "no driver does '%s' (for '%s')", s->action,
				    s->node->id);
	return a->run(s);
}

/* ---- one round: a plan run in parallel ----------------------------------------------------- */

static void heap_push(struct round *rd, size_t i)
{
	size_t k = rd->n_ready++;

	rd->ready[k] = i;
	while (k > 0 && rd->ready[(k - 1) / 2] > rd->ready[k]) {
		size_t parent = (k - 1) / 2, t = rd->ready[parent];

		rd->ready[parent] = rd->ready[k];
		rd->ready[k] = t;
		k = parent;
	}
}

static size_t heap_pop(struct round *rd)
{
	size_t top = rd->ready[0], k = 0;

	rd->ready[0] = rd->ready[--rd->n_ready];
	for (;;) {
		size_t l = 2 * k + 1, r = l + 1, m = k, t;

		if (l < rd->n_ready && rd->ready[l] < rd->ready[m])
			m = l;
		if (r < rd->n_ready && rd->ready[r] < rd->ready[m])
			m = r;
		if (m == k)
			break;
		t = rd->ready[m];
		rd->ready[m] = rd->ready[k];
		rd->ready[k] = t;
		k = m;
	}
	return top;
}

static enum bs_exec_status status_of(enum step_state st)
{
	switch (st) {
	case STEP_DONE:
		return BS_EXEC_DONE;
	case STEP_SKIPPED:
		return BS_EXEC_SKIPPED;
	case STEP_BUSY:
		return BS_EXEC_BUSY;
	default:
		return BS_EXEC_FAILED;
	}
}

/* Marks everything that waits for step i, transitively, with state: skipped, and reported as
 * waiting for step i, or deferred, silently (it is not a failure). Holds e->lock. */
static void mark_dependents(struct round *rd, size_t i, enum step_state state)
{
	struct bs_exec *e = rd->exec;
	const struct bs_step *cause = &rd->steps[i];
	_cleanup_free_ size_t *stack = malloc(rd->n * sizeof(size_t));
	size_t n_stack = 0;

	if (!stack) {
		bs_log_err(e->ctx, "out of memory: the steps after %s %s are not run",
			   cause->action, cause->node->id);
		return;
	}
	stack[n_stack++] = i;
	while (n_stack > 0) {
		size_t j = stack[--n_stack];

		for (size_t k = 0; k < rd->n_dependents[j]; k++) {
			size_t d = rd->dependents[j][k];
			struct bs_step *s = &rd->steps[d];
			_cleanup_free_ char *m = NULL;

			if (s->state != STEP_PENDING)
				continue;
			s->state = state;
			rd->finished++;
			stack[n_stack++] = d;
			if (state == STEP_DEFERRED) {
				rd->n_hidden++;
				continue;
			}
			if (asprintf(&m, "waits for %s %s, which %s", cause->action,
				     cause->node->id,
				     cause->state == STEP_BUSY ? "is busy" : "failed") >= 0) {
				free(s->message);
				s->message = TAKE_PTR(m);
			}
			/* A step carried over as failed from an earlier round was reported there;
			 * what waits for it is reported now. */
			emit(e, rd, BS_EXEC_EVENT_SKIPPED, s, 0, s->message);
			(void)set_result(e, s->action, s->node->id, BS_EXEC_SKIPPED, 0, s->message);
		}
	}
}

/* Step i has ended in s->state. Holds e->lock. */
static void step_ended(struct round *rd, size_t i)
{
	struct bs_exec *e = rd->exec;
	struct bs_step *s = &rd->steps[i];
	bool ok = IN_SET(s->state, STEP_DONE, STEP_CARRIED_OK);

	if (s->state == STEP_DEFERRED) {
		rd->finished++;
		rd->n_hidden++;
		mark_dependents(rd, i, STEP_DEFERRED);
		return;
	}
	if (!IN_SET(s->state, STEP_CARRIED, STEP_CARRIED_OK)) {
		rd->finished++;
		emit(e, rd,
		     ok			   ? BS_EXEC_EVENT_DONE :
		     s->state == STEP_BUSY ? BS_EXEC_EVENT_BUSY :
					     BS_EXEC_EVENT_FAILED,
		     s, s->error, ok ? s->warning : s->message);
		(void)set_result(e, s->action, s->node->id, status_of(s->state), s->error,
				 ok ? s->warning : s->message);
	} else {
		rd->finished++;
		rd->n_hidden++;
	}
	if (s->state == STEP_DONE)
		rd->progress++;
	if (!ok) {
		mark_dependents(rd, i, STEP_SKIPPED);
		return;
	}
	for (size_t k = 0; k < rd->n_dependents[i]; k++) {
		size_t d = rd->dependents[i][k];

		if (rd->steps[d].state == STEP_PENDING && --rd->steps[d].n_pending == 0)
			heap_push(rd, d);
	}
}

static void finish_step(struct round *rd, struct bs_step *s, int r)
{
	struct bs_exec *e = rd->exec;

	if (r >= 0) {
		s->state = STEP_DONE;
		s->error = 0;
	} else if (r == -ETIMEDOUT && s->action_id == BS_ACTION_WAIT_DEVICE &&
		   only_members_of_lenient_holders(s->node)) {
		_cleanup_free_ char *m = NULL;

		/* The arrays that need it start without it if their level allows. */
		if (!e->missing)
			(void)hashmap_new(HASHMAP_STRING, &e->missing);
		if (e->missing && strv_extend(&e->missing_ids, s->node->id) >= 0)
			(void)hashmap_put_str(e->missing,
					      e->missing_ids[strv_length(e->missing_ids) - 1],
					      (void *)1);
		if (asprintf(&m, "%s; the arrays it belongs to decide whether to start without it",
			     strempty(s->message)) >= 0) {
			free(s->warning);
			s->warning = TAKE_PTR(m);
		}
		emit(e, rd, BS_EXEC_EVENT_WARNING, s, r, s->warning);
		s->state = STEP_DONE;
		s->error = 0;
	} else {
		s->state = r == -EBUSY && e->op == BS_PLAN_DOWN ? STEP_BUSY : STEP_FAILED;
		s->error = r;
		if (!s->message && asprintf(&s->message, "%s", strerror(-r)) < 0)
			s->message = NULL;
	}
	step_ended(rd, s->index);
}

static void *worker(void *arg)
{
	struct round *rd = arg;
	struct bs_exec *e = rd->exec;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		struct bs_step *s;
		size_t i;
		int r;

		while (rd->n_ready == 0 && rd->running > 0)
			pthread_cond_wait(&rd->wake, &e->lock);
		if (rd->n_ready == 0)
			break;
		i = heap_pop(rd);
		s = &rd->steps[i];
		s->state = STEP_RUNNING;
		rd->running++;
		emit(e, rd, BS_EXEC_EVENT_START, s, 0, NULL);
		pthread_mutex_unlock(&e->lock);

		r = run_step(s);

		pthread_mutex_lock(&e->lock);
		rd->running--;
		finish_step(rd, s, r);
		pthread_cond_broadcast(&rd->wake);
	}
	pthread_cond_broadcast(&rd->wake);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static void round_free(struct round *rd)
{
	for (size_t i = 0; i < rd->n; i++) {
		free(rd->steps[i].message);
		free(rd->steps[i].warning);
		free(rd->dependents[i]);
	}
	free(rd->steps);
	free(rd->dependents);
	free(rd->n_dependents);
	free(rd->ready);
	free(rd->preset);
	pthread_cond_destroy(&rd->wake);
}

static int round_setup(struct round *rd)
{
	struct bs_exec *e = rd->exec;
	const struct bs_plan *p = rd->plan;

	rd->n = bs_plan_get_n_steps(p);
	pthread_cond_init(&rd->wake, NULL);
	rd->steps = calloc(MAX(rd->n, (size_t)1), sizeof(*rd->steps));
	rd->dependents = calloc(MAX(rd->n, (size_t)1), sizeof(*rd->dependents));
	rd->n_dependents = calloc(MAX(rd->n, (size_t)1), sizeof(*rd->n_dependents));
	rd->ready = calloc(MAX(rd->n, (size_t)1), sizeof(*rd->ready));
	rd->preset = calloc(MAX(rd->n, (size_t)1), sizeof(*rd->preset));
	if (!rd->steps || !rd->dependents || !rd->n_dependents || !rd->ready || !rd->preset)
		return -ENOMEM;
	for (size_t i = 0; i < rd->n; i++) {
		struct bs_step *s = &rd->steps[i];
		const struct result *old;

		s->round = rd;
		s->index = i;
		s->node = bs_plan_get_step_node(p, i);
		s->action_id = bs_plan_get_step_action_id(p, i);
		s->action = bs_action_to_string(s->action_id);
		s->n_pending = bs_plan_get_step_n_after(p, i);
		for (size_t j = 0; j < s->n_pending; j++)
			rd->n_dependents[bs_plan_get_step_after(p, i, j)]++;
		/* A step that failed in an earlier round is not run again (a wrong passphrase is
		 * not asked twice); what waits for it is skipped. */
		old = find_result(e, s->action, s->node->id);
		if (old && (old->status == BS_EXEC_FAILED ||
			    (old->status == BS_EXEC_SKIPPED && e->op == BS_PLAN_UP)))
			s->state = STEP_CARRIED;
		else if (e->op == BS_PLAN_UP && s->node->attrs[BS_ATTR_UNRESOLVED])
			/* A configured layer whose device is inside a layer still closed: it
			 * waits for the round that has opened that layer. */
			s->state = STEP_DEFERRED;
		else if (old && old->status == BS_EXEC_DONE)
			/* Done already, yet planned again: the node's state did not show it (a
			 * replaced ops table). Running it twice would not help. */
			s->state = STEP_CARRIED_OK;
		else
			rd->n_new++;
	}
	for (size_t i = 0; i < rd->n; i++) {
		rd->dependents[i] = calloc(MAX(rd->n_dependents[i], (size_t)1), sizeof(size_t));
		if (!rd->dependents[i])
			return -ENOMEM;
		rd->n_dependents[i] = 0;
	}
	for (size_t i = 0; i < rd->n; i++)
		for (size_t j = 0; j < bs_plan_get_step_n_after(p, i); j++) {
			size_t a = bs_plan_get_step_after(p, i, j);

			rd->dependents[a][rd->n_dependents[a]++] = i;
		}
	return 0;
}

/* Runs the round's plan. Returns 0, or -ENOMEM / the errno of starting a thread. */
static int round_run(struct round *rd)
{
	struct bs_exec *e = rd->exec;
	_cleanup_free_ pthread_t *threads = NULL;
	size_t n_threads, started = 0;
	int r = 0;

	pthread_mutex_lock(&e->lock);
	/* Steps carried from earlier rounds and deferred ones first, in step order: their
	 * dependents are skipped, released or deferred before any worker could pick one. Only
	 * those marked so by round_setup(): a step deferred on the way ends with its cause. */
	for (size_t i = 0; i < rd->n; i++)
		rd->preset[i] =
			IN_SET(rd->steps[i].state, STEP_CARRIED, STEP_CARRIED_OK, STEP_DEFERRED);
	for (size_t i = 0; i < rd->n; i++)
		if (rd->preset[i])
			step_ended(rd, i);
	emit(e, rd, BS_EXEC_EVENT_ROUND, NULL, 0, rd->message);
	for (size_t i = 0; i < rd->n; i++)
		if (rd->steps[i].state == STEP_PENDING && rd->steps[i].n_pending == 0)
			heap_push(rd, i);
	pthread_mutex_unlock(&e->lock);

	n_threads = MIN((size_t)e->jobs, rd->n_new);
	if (n_threads <= 1) {
		worker(rd);
		return 0;
	}
	threads = calloc(n_threads, sizeof(*threads));
	if (!threads)
		return -ENOMEM;
	for (; started < n_threads; started++) {
		r = -pthread_create(&threads[started], NULL, worker, rd);
		if (r < 0)
			break;
	}
	/* With fewer threads than asked (a thread limit), the ones that started do the work. */
	if (started == 0) {
		worker(rd);
		r = 0;
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	return started > 0 ? 0 : r;
}

/* ---- the graph, the plan, the rounds -------------------------------------------------------- */

static int load_graph(struct bs_exec *e, bool *ret_recorded, struct bs_graph **ret)
{
	/* A device that is not there is waited for, like one that is late; any other error in
	 * the configuration stops the run before it starts. */
	const struct bs_load_opts opts = {
		.flags = BS_LOAD_DEFAULT | BS_LOAD_REFUSE_ERRORS | BS_LOAD_WAIT_UNRESOLVED,
	};
	struct bs_problem_list *problems = NULL;
	int recorded;

	recorded = bs_graph_load(e->ctx, &opts, ret, &problems);
	if (recorded == -EBADMSG)
		for (size_t i = 0; i < problems->n_problems; i++)
			if (bs_problem_refuses(&problems->problems[i], opts.flags))
				bs_log_err(e->ctx, "%s", problems->problems[i].text);
	bs_problem_list_free(problems);
	if (recorded < 0)
		return recorded;
	if (ret_recorded)
		*ret_recorded = recorded > 0;
	return 0;
}

static int record_live_graph(struct bs_exec *e)
{
	struct bs_graph *g = NULL;
	int r;

	r = bs_graph_load(e->ctx, &(struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL);
	if (r >= 0)
		r = bs_graph_record(g, NULL);
	if (r < 0)
		bs_log_warn(e->ctx,
			    "Failed to record the graph in %s: %s; the next cold start will "
			    "discover it again",
			    BS_RECORDED_GRAPH_PATH, strerror(-r));
	bs_graph_unref(g);
	return r;
}

static int run_plan(struct bs_exec *e, struct bs_graph *g, struct bs_plan *p, unsigned number,
		    const char *message, size_t *ret_new, size_t *ret_progress)
{
	struct round rd = {
		.exec = e, .graph = g, .plan = p, .number = number, .message = message
	};
	int r;

	r = round_setup(&rd);
	if (r >= 0 && rd.n_new > 0)
		r = round_run(&rd);
	*ret_new = rd.n_new;
	*ret_progress = rd.progress;
	round_free(&rd);
	return r;
}

static int make_plan(struct bs_exec *e, struct bs_graph *g, enum bs_plan_op op,
		     const char *const *targets, unsigned flags, struct bs_plan **ret)
{
	int r = bs_plan_new(g, op, targets, flags, ret);

	if (r == -ELOOP)
		return -EBADMSG;
	if (r == -ENOENT)
		bs_log_err(e->ctx, "Nothing to do for a target that names nothing");
	return r;
}

/* The targets that stayed unresolved, as results: failed on a timeout, or skipped when a
 * failure may explain them. Holds e->lock. */
static void report_unresolved(struct bs_exec *e, struct bs_plan *p, bool any_failed)
{
	for (size_t i = 0; i < bs_plan_get_n_unresolved(p); i++) {
		struct bs_node *n = bs_plan_get_unresolved_node(p, i);
		_cleanup_free_ char *m = NULL;
		const struct bs_kind *k = bs_kind_get(n->kind);
		const char *action = k->is_user ? bs_action_to_string(k->up) : "open";
		struct bs_exec_event ev = {
			.type = any_failed ? BS_EXEC_EVENT_SKIPPED : BS_EXEC_EVENT_FAILED,
			.action = action,
			.node = n->id,
			.error = any_failed ? 0 : -ETIMEDOUT,
		};

		if (asprintf(&m, "needs %s, which %s", bs_plan_get_unresolved_what(p, i),
			     any_failed ? "may lie inside a layer that failed to open" :
					  "no device or layer provided before the timeout") < 0)
			m = NULL;
		ev.message = m;
		(void)set_result(e, action, n->id, any_failed ? BS_EXEC_SKIPPED : BS_EXEC_FAILED,
				 ev.error, m);
		if (e->event_fn)
			e->event_fn(e->event_data, &ev);
	}
}

/* Up: rounds while each one opens something, re-reading the graph in between, since what an
 * opened layer holds shows only then; what stays unresolved is waited for through uevents. */
static int exec_up(struct bs_exec *e, const char *const *targets)
{
	bool recorded = false;
	uint64_t deadline = 0;
	unsigned number = 0;
	int r;

	/* One monitor for every round, open before the graph is first read: a device that
	 * appears while a round reads the graph is announced on it, not lost. */
	r = e->ops->watch_uevents(e->ops_data);
	if (r < 0)
		bs_log_debug(e->ctx, "cannot watch uevents ahead (%s); each wait listens anew",
			     strerror(-r));

	for (;;) {
		_cleanup_free_ char *message = NULL;
		struct bs_graph *g = NULL;
		struct bs_plan *p = NULL;
		size_t n_new = 0, progress = 0, n_unresolved;
		bool any_failed = false;

		r = load_graph(e, number == 0 ? &recorded : NULL, &g);
		if (r < 0)
			return r;
		r = make_plan(e, g, BS_PLAN_UP, targets, 0, &p);
		/* What the plan cannot place yet lies inside layers still closed: open them all
		 * to find it (discovery). */
		if (r >= 0 && bs_plan_get_n_unresolved(p) > 0) {
			if (asprintf(&message,
				     "discovery: %zu target%s not found yet%s; opening every layer "
				     "that could hold %s",
				     bs_plan_get_n_unresolved(p),
				     bs_plan_get_n_unresolved(p) == 1 ? "" : "s",
				     recorded ? "" : " (no recorded graph)",
				     bs_plan_get_n_unresolved(p) == 1 ? "it" : "them") < 0)
				message = NULL;
			bs_plan_unref(p);
			p = NULL;
			r = make_plan(e, g, BS_PLAN_UP, targets, BS_PLAN_DISCOVER, &p);
		}
		if (r < 0) {
			bs_graph_unref(g);
			return r;
		}
		r = run_plan(e, g, p, number + 1, message, &n_new, &progress);
		n_unresolved = bs_plan_get_n_unresolved(p);
		number++;
		if (r < 0 || (n_new > 0 && progress > 0 && number < e->max_rounds) ||
		    n_unresolved == 0)
			goto next;

		/* Nothing more opens, and targets are still missing. Wait for new devices, unless
		 * a failure explains it. */
		pthread_mutex_lock(&e->lock);
		for (size_t i = 0; i < e->n_results; i++)
			any_failed |= e->results[i].status != BS_EXEC_DONE;
		pthread_mutex_unlock(&e->lock);
		if (!any_failed && number < e->max_rounds) {
			uint64_t now = now_usec();

			if (deadline == 0)
				deadline = now + e->timeout_usec;
			r = now < deadline ? e->ops->wait_uevent(e->ops_data, deadline - now) :
					     -ETIMEDOUT;
			if (r >= 0)
				goto next;
			if (r != -ETIMEDOUT)
				goto done;
		}
		pthread_mutex_lock(&e->lock);
		report_unresolved(e, p, any_failed);
		pthread_mutex_unlock(&e->lock);
		r = 0;
		goto done;
next:
		bs_plan_unref(p);
		bs_graph_unref(g);
		if (r < 0)
			return r;
		/* A plan with nothing unresolved that ran to the end is complete: reading the
		 * graph again (probes, the lvm report) would find nothing left to do. */
		if (n_unresolved == 0 && progress == n_new)
			return 0;
		if (n_new > 0 && progress > 0 && number < e->max_rounds)
			continue;
		if (n_unresolved == 0)
			return 0;
		continue;
done:
		bs_plan_unref(p);
		bs_graph_unref(g);
		return r;
	}
}

/* Down, last pass: each node still open, with what holds it. */
static int report_blockers(struct bs_exec *e, struct bs_graph *g)
{
	for (size_t i = 0; i < e->n_results; i++) {
		struct result *res = &e->results[i];
		_cleanup_free_ char *joined = NULL, *m = NULL, *mp = NULL;
		char **lines = NULL;
		const struct bs_node *n;
		int r;

		if (res->status != BS_EXEC_BUSY)
			continue;
		n = bs_graph_find_node(g, res->node);
		if (!n)
			continue;
		/* Processes see the mount point as it is, below the mount root. */
		if (n->kind == BS_NODE_MOUNT && !(mp = real_mount_point(e->ctx, n)))
			return -ENOMEM;
		r = bs_find_blockers(e->ctx, n, mp, &lines);
		if (r < 0)
			return r;
		for (size_t j = 0; lines && lines[j]; j++) {
			struct bs_exec_event ev = {
				.type = BS_EXEC_EVENT_BLOCKER,
				.action = res->action,
				.node = res->node,
				.error = -EBUSY,
				.message = lines[j],
			};

			if (e->event_fn)
				e->event_fn(e->event_data, &ev);
		}
		if (r > 0 && strv_join(lines, "; ", &joined) >= 0 &&
		    asprintf(&m, "still open: %s", joined) >= 0)
			(void)free_and_strdup(&res->message, m);
		else if (r == 0)
			(void)free_and_strdup(&res->message,
					      "still open; no process, mount or device holding it "
					      "was found (a kernel user such as an NFS export?)");
		strv_free(lines);
	}
	return 0;
}

/* The nodes of plan p's steps, as targets for the next round of a teardown. */
static int plan_node_ids(const struct bs_plan *p, char ***ret)
{
	char **ids = NULL;

	for (size_t i = 0; i < bs_plan_get_n_steps(p); i++)
		if (strv_extend(&ids, bs_node_get_id(bs_plan_get_step_node(p, i))) < 0) {
			strv_free(ids);
			return -ENOMEM;
		}
	*ret = ids;
	return 0;
}

/* The ids of ids that g still has, borrowed from ids, NULL-terminated. */
static int ids_still_there(const struct bs_graph *g, char **ids, const char ***ret)
{
	const char **left = calloc(strv_length(ids) + 1, sizeof(*left));
	size_t n = 0;

	if (!left)
		return -ENOMEM;
	for (char **id = ids; id && *id; id++)
		if (bs_graph_find_node(g, *id))
			left[n++] = *id;
	*ret = left;
	return (int)n;
}

/*
 * Down: rounds while something still goes down; then one last pass that names what is left
 * and what holds it, also when the rounds run out. After the first round of a teardown of
 * named targets, the nodes of its plan are the targets: a target that is no configured node
 * (a mount fstab does not list) is gone from the graph once it is down, and what was busy
 * below it must still be retried and reported.
 */
static int exec_down(struct bs_exec *e, const char *const *targets, unsigned flags)
{
	_cleanup_strv_free_ char **first_plan = NULL;
	unsigned number = 0;
	bool last_pass = false;
	int r;

	for (;;) {
		_cleanup_free_ const char **left = NULL;
		const char *const *round_targets = targets;
		struct bs_graph *g = NULL;
		struct bs_plan *p = NULL;
		size_t n_new = 0, progress = 0;

		r = load_graph(e, NULL, &g);
		if (r < 0)
			return r;
		if (first_plan) {
			r = ids_still_there(g, first_plan, &left);
			if (r <= 0) {
				/* Everything it planned went away: nothing is left open. */
				bs_graph_unref(g);
				return r;
			}
			round_targets = left;
		}
		r = make_plan(e, g, BS_PLAN_DOWN, round_targets, flags, &p);
		if (r < 0) {
			bs_graph_unref(g);
			return r;
		}
		if (targets && !first_plan) {
			r = plan_node_ids(p, &first_plan);
			if (r < 0) {
				bs_plan_unref(p);
				bs_graph_unref(g);
				return r;
			}
		}
		r = run_plan(e, g, p, number + 1, NULL, &n_new, &progress);
		if (r >= 0 && last_pass)
			r = report_blockers(e, g);
		bs_plan_unref(p);
		bs_graph_unref(g);
		if (r < 0)
			return r;
		number++;
		/* Every step went down: the plan was complete, nothing is left to retry. */
		if (last_pass || n_new == 0 || progress == n_new)
			break;
		/* Nothing went down this round, or the rounds are used up, but something is busy:
		 * one last pass, which names what holds it. */
		if (progress == 0 || number + 1 >= e->max_rounds)
			last_pass = true;
	}
	return 0;
}

_public_ int bs_exec_run(struct bs_exec *e, enum bs_plan_op op, const char *const *targets,
			 unsigned flags)
{
	bool timed_out = false, busy = false;
	int r, first_error = 0;

	if (!e || op < 0 || op >= _BS_PLAN_OP_MAX || (flags & ~BS_PLAN_KEEP_ROOT))
		return -EINVAL;
	if ((flags & BS_PLAN_KEEP_ROOT) && op != BS_PLAN_DOWN)
		return -EINVAL;
	results_clear(e);
	e->op = op;

	r = op == BS_PLAN_UP ? exec_up(e, targets) : exec_down(e, targets, flags);
	if (r < 0)
		return r;
	for (size_t i = 0; i < e->n_results; i++) {
		const struct result *res = &e->results[i];

		if (res->status == BS_EXEC_DONE)
			continue;
		timed_out |= res->error == -ETIMEDOUT;
		busy |= res->status == BS_EXEC_BUSY;
		if (!first_error && res->error < 0)
			first_error = res->error;
	}
	if (timed_out)
		return -ETIMEDOUT;
	if (busy)
		return -EBUSY;
	if (first_error)
		return first_error;
	for (size_t i = 0; i < e->n_results; i++)
		if (e->results[i].status != BS_EXEC_DONE)
			return -EIO;
	if (op == BS_PLAN_UP && !e->no_record)
		(void)record_live_graph(e);
	return 0;
}

/* ---- results ------------------------------------------------------------------------------ */

_public_ size_t bs_exec_get_n_results(const struct bs_exec *e)
{
	return e ? e->n_results : 0;
}

static const struct result *result_at(const struct bs_exec *e, size_t i)
{
	return e && i < e->n_results ? &e->results[i] : NULL;
}

_public_ const char *bs_exec_get_result_action(const struct bs_exec *e, size_t i)
{
	const struct result *r = result_at(e, i);

	return r ? r->action : NULL;
}

_public_ const char *bs_exec_get_result_node(const struct bs_exec *e, size_t i)
{
	const struct result *r = result_at(e, i);

	return r ? r->node : NULL;
}

_public_ enum bs_exec_status bs_exec_get_result_status(const struct bs_exec *e, size_t i)
{
	const struct result *r = result_at(e, i);

	return r ? r->status : _BS_EXEC_STATUS_INVALID;
}

_public_ int bs_exec_get_result_error(const struct bs_exec *e, size_t i)
{
	const struct result *r = result_at(e, i);

	return r ? r->error : -EINVAL;
}

_public_ const char *bs_exec_get_result_message(const struct bs_exec *e, size_t i)
{
	const struct result *r = result_at(e, i);

	return r ? r->message : NULL;
}

_public_ int bs_exec_results_to_json(const struct bs_exec *e, char **ret)
{
	json_object *root, *list;
	char *s;

	if (!e || !ret)
		return -EINVAL;
	root = json_object_new_object();
	list = json_object_new_array();
	if (!root || !list)
		goto oom;
	if (json_object_object_add(root, "version", json_object_new_int(1)) ||
	    json_object_object_add(root, "op",
				   json_object_new_string(strempty(bs_plan_op_to_string(e->op)))) ||
	    json_object_object_add(root, "results", list)) {
		json_object_put(list);
		goto oom;
	}
	for (size_t i = 0; i < e->n_results; i++) {
		const struct result *res = &e->results[i];
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(list, o)) {
			json_object_put(o);
			goto oom;
		}
		if (json_object_object_add(o, "action", json_object_new_string(res->action)) ||
		    json_object_object_add(o, "node", json_object_new_string(res->node)) ||
		    json_object_object_add(o, "status",
					   json_object_new_string(status_names[res->status])) ||
		    json_object_object_add(
			    o, "error",
			    res->error ? json_object_new_string(strerror(-res->error)) : NULL) ||
		    json_object_object_add(o, "message",
					   res->message ? json_object_new_string(res->message) :
							  NULL))
			goto oom;
	}
	s = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
oom:
	json_object_put(root);
	return -ENOMEM;
}
