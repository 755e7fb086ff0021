/* The executor's run loops: rounds of plans until everything is up or down, and the results. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "exec-internal.h"
#include "exec.h"
#include "hashmap.h"
#include "plan.h"
#include "problems.h"
#include "sources/fs-options.h"
#include "strv.h"
#include "util.h"

#define DEFAULT_TIMEOUT_USEC (90 * USEC_PER_SEC)
/* Discovery stops after this many rounds even if each one opened something: a stack deeper
 * than this is not plausible, a loop that keeps finding "new" steps is a bug to report. */
#define MAX_ROUNDS 64

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
	bs_exec_gate_reset(e);
}

/* The members of bs_exec_opts for the initramfs: the manifest and the root overrides. */
static int exec_opts_initramfs(struct bs_exec *e, const struct bs_exec_opts *opts)
{
	int r;

	if (opts->root_access < BS_EXEC_ROOT_AS_CONFIGURED ||
	    opts->root_access > BS_EXEC_ROOT_READ_WRITE || (opts->manifest && !*opts->manifest) ||
	    (opts->root_fstype && !*opts->root_fstype))
		return -EINVAL;
	e->root_access = opts->root_access;
	if ((opts->manifest && !(e->manifest = strdup(opts->manifest))) ||
	    (opts->root_fstype && !(e->root_fstype = strdup(opts->root_fstype))))
		return -ENOMEM;
	if (opts->root_options && *opts->root_options) {
		/* Split once, here: options libmount cannot read fail the executor's setup,
		 * before anything runs. */
		r = bs_mount_options_split(opts->root_options, &e->root_options);
		if (r < 0) {
			bs_log_err(e->ctx, "Cannot read the root filesystem's options '%s': %s",
				   opts->root_options, strerror(-r));
			return r;
		}
		e->have_root_options = true;
	}
	return 0;
}

_public_ int bs_exec_new(struct bs_ctx *c, const struct bs_exec_opts *opts, struct bs_exec **ret)
{
	struct bs_exec *e;
	int r;

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
		e->last_resort = opts->last_resort;
		e->live_only = opts->live_only;
		e->real.opts.key_fd = opts->key_fd;
		if ((opts->askpass_socket && !(e->askpass_socket = strdup(opts->askpass_socket))) ||
		    (opts->console && !(e->console = strdup(opts->console)))) {
			bs_exec_unref(e);
			return -ENOMEM;
		}
		e->real.opts.askpass_socket = e->askpass_socket;
		/* Counted, not changed: const for the caller, who keeps its own reference. */
		e->pins = bs_pins_ref((struct bs_pins *)opts->pins);
		e->real.opts.console = e->console;
		r = exec_opts_initramfs(e, opts);
		if (r < 0) {
			bs_exec_unref(e);
			return r;
		}
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
	pthread_mutex_init(&e->gate_lock, NULL);
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
	free(e->manifest);
	free(e->root_fstype);
	bs_mount_options_done(&e->root_options);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->prompt_lock);
	pthread_mutex_destroy(&e->gate_lock);
	bs_pins_unref(e->pins);
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

void bs_exec_emit(struct bs_exec *e, const struct round *rd, enum bs_exec_event_type type,
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

int bs_exec_set_result(struct bs_exec *e, const char *action, const char *node,
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

const struct result *bs_exec_find_result(const struct bs_exec *e, const char *action,
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

int bs_exec_remember_device(struct bs_exec *e, const char *id, const char *path)
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

/* ---- the graph, the plan, the rounds -------------------------------------------------------- */

/* strextend()'s list of options: a and b joined with a comma, either may be NULL. */
static int options_append(char **a, const char *b)
{
	if (!b || !*b)
		return 0;
	if (!*a)
		return (*a = strdup(b)) ? 0 : -ENOMEM;
	return strextend(a, ",", b, NULL);
}

/* The kernel command line's root=, rootflags=, rootfstype=, ro and rw, on mnt:/ of g. */
static int apply_root_overrides(struct bs_exec *e, struct bs_graph *g)
{
	struct bs_node *n = bs_graph_find_node(g, "mnt:/");
	const struct bs_mount_options *o = &e->root_options;
	struct bs_mount_options *m;
	int r;

	if (!n || n->kind != BS_NODE_MOUNT)
		return 0;
	if (e->root_fstype) {
		r = bs_node_set_attr(n, BS_ATTR_FSTYPE, e->root_fstype);
		if (r < 0)
			return r;
	}
	if (!e->have_root_options && e->root_access == BS_EXEC_ROOT_AS_CONFIGURED)
		return 0;
	if (!n->config && !(n->config = calloc(1, sizeof(*n->config))))
		return -ENOMEM;
	if (!n->config->mount && !(n->config->mount = calloc(1, sizeof(*n->config->mount))))
		return -ENOMEM;
	m = n->config->mount;
	if (e->have_root_options) {
		m->flags |= o->flags;
		if (o->propagation)
			m->propagation = o->propagation;
		if ((r = options_append(&m->data, o->data)) < 0 ||
		    (r = options_append(&m->helper, o->helper)) < 0 ||
		    (r = options_append(&m->loop_unsupported, o->loop_unsupported)) < 0)
			return r;
	}
	if (e->root_access == BS_EXEC_ROOT_READ_ONLY)
		m->flags |= MS_RDONLY;
	else if (e->root_access == BS_EXEC_ROOT_READ_WRITE)
		m->flags &= ~(unsigned long)MS_RDONLY;
	bs_log_debug(e->ctx, "root overrides: mnt:/ is %s, flags %#lx, options '%s'",
		     strna(bs_node_attr(n, BS_ATTR_FSTYPE)), m->flags, strempty(m->data));
	return 0;
}

static int load_graph(struct bs_exec *e, bool *ret_recorded, struct bs_graph **ret)
{
	/* A device that is not there is waited for, like one that is late; any other error in
	 * the configuration stops the run before it starts. In the initramfs the manifest
	 * stands for the record and the configuration. */
	const struct bs_load_opts opts = {
		.flags = (e->live_only ? BS_LOAD_LIVE :
			  e->manifest  ? BS_LOAD_LIVE | BS_LOAD_MANIFEST :
					 BS_LOAD_DEFAULT) |
			 BS_LOAD_REFUSE_ERRORS | BS_LOAD_WAIT_UNRESOLVED,
		.manifest = e->manifest,
	};
	struct bs_problem_list *problems = NULL;
	struct bs_graph *g = NULL;
	int recorded, r;

	recorded = bs_graph_load(e->ctx, &opts, &g, &problems);
	if (recorded == -EBADMSG && problems)
		for (size_t i = 0; i < problems->n_problems; i++)
			if (bs_problem_refuses(&problems->problems[i], opts.flags))
				bs_log_err(e->ctx, "%s", problems->problems[i].text);
	bs_problem_list_free(problems);
	if (recorded < 0)
		return recorded;
	r = apply_root_overrides(e, g);
	if (r < 0) {
		bs_graph_unref(g);
		return r;
	}
	*ret = g;
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

	r = bs_round_setup(&rd);
	if (r >= 0 && rd.n_new > 0)
		r = bs_round_run(&rd);
	*ret_new = rd.n_new;
	*ret_progress = rd.progress;
	bs_round_free(&rd);
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
		(void)bs_exec_set_result(e, action, n->id, any_failed ? BS_EXEC_SKIPPED : BS_EXEC_FAILED,
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
		if (r >= 0 && bs_plan_get_n_unresolved(p) > 0 && !e->manifest) {
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
		/* A refused device stops the run: nothing is waited for or opened after it. */
		if (r >= 0 && e->refused)
			goto done;
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
		bool wiped;
		int r;

		if (res->status != BS_EXEC_BUSY)
			continue;
		n = bs_graph_find_node(g, res->node);
		if (!n)
			continue;
		/* Processes see the mount point as it is, below the mount root. */
		if (n->kind == BS_NODE_MOUNT && !(mp = bs_exec_real_mount_point(e->ctx, n)))
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
		/* What the last pass did about it stays in the message (a key wiped, an array
		 * marked clean). */
		wiped = res->message &&
			(strstr(res->message, "key wiped") || strstr(res->message, "marked clean"));
		if (r > 0 && strv_join(lines, "; ", &joined) >= 0 &&
		    asprintf(&m, "%s%sstill open: %s", wiped ? res->message : "",
			     wiped ? "; " : "", joined) >= 0)
			(void)free_and_strdup(&res->message, m);
		else if (r == 0 && asprintf(&m, "%s%sstill open; no process, mount or device "
					       "holding it was found (a kernel user such as an "
					       "NFS export, or a mount in another namespace?)",
					       wiped ? res->message : "", wiped ? "; " : "") >= 0)
			(void)free_and_strdup(&res->message, m);
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
		e->last_pass = last_pass;
		r = run_plan(e, g, p, number + 1, NULL, &n_new, &progress);
		e->last_pass = false;
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
	if (e->refused)
		return -EKEYREJECTED;
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
	if (op == BS_PLAN_UP && !e->no_record && !e->manifest)
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

