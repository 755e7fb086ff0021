/* The planner: bring-up and teardown orders derived from the graph, as data. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "plan.h"
#include "hashmap.h"
#include "strv.h"
#include "util.h"

struct step {
	enum bs_action action;
	struct bs_node *node;
	size_t *after; /* step indexes, sorted */
	size_t n_after;
	unsigned wave;
};

struct reason {
	struct bs_node *node;
	char *text;
};

struct bs_plan {
	unsigned n_ref;
	struct bs_graph *graph;
	enum bs_plan_op op;
	struct step *steps;
	size_t n_steps;
	struct reason *kept;
	size_t n_kept;
	struct reason *unresolved;
	size_t n_unresolved;
};

/* Per-node working state, indexed by bs_node->index. */
struct work {
	struct bs_plan *plan;
	struct bs_graph *g;
	size_t n;
	bool *in; /* in the plan's closure */
	enum bs_action *action; /* the node's step action, BS_ACTION_NONE if it gets none */
	size_t *step_of; /* node index -> step index, SIZE_MAX if none */
	bool *root_set; /* below (or in) the root set */
};

static const char *const op_names[_BS_PLAN_OP_MAX] = {
	[BS_PLAN_UP] = "up",
	[BS_PLAN_DOWN] = "down",
};

_public_ const char *bs_plan_op_to_string(enum bs_plan_op op)
{
	return op >= 0 && op < _BS_PLAN_OP_MAX ? op_names[op] : NULL;
}

/* ---- actions ----------------------------------------------------------------------------- */

/* What each kind's actions are is the kind table's (kind.h): the planner only orders them. */
static bool is_user(const struct bs_node *n)
{
	return bs_kind_get(n->kind)->is_user;
}

/* ---- lifetime ---------------------------------------------------------------------------- */

_public_ struct bs_plan *bs_plan_ref(struct bs_plan *p)
{
	if (p)
		p->n_ref++;
	return p;
}

static void reasons_free(struct reason *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].text);
	free(r);
}

_public_ struct bs_plan *bs_plan_unref(struct bs_plan *p)
{
	if (!p || --p->n_ref > 0)
		return NULL;
	for (size_t i = 0; i < p->n_steps; i++)
		free(p->steps[i].after);
	free(p->steps);
	reasons_free(p->kept, p->n_kept);
	reasons_free(p->unresolved, p->n_unresolved);
	bs_graph_unref(p->graph);
	free(p);
	return NULL;
}

static void work_done(struct work *w)
{
	free(w->in);
	free(w->action);
	free(w->step_of);
	free(w->root_set);
}

static int add_reason(struct reason **list, size_t *n, struct bs_node *node, const char *text)
{
	struct reason *l = reallocarray(*list, *n + 1, sizeof(**list));

	if (!l)
		return -ENOMEM;
	*list = l;
	l[*n].node = node;
	l[*n].text = strdup(text);
	if (!l[*n].text)
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* The neighbours a step of n waits for: up waits for what n needs, down for n's holders. */
static size_t n_deps(enum bs_plan_op op, const struct bs_node *n)
{
	return op == BS_PLAN_UP ? n->n_needs : n->n_holders;
}

/* The i-th node n depends on in direction op, or NULL when that edge orders nothing (it is
 * carried by the initramfs, see struct bs_edge). */
static struct bs_node *dep(enum bs_plan_op op, const struct bs_node *n, size_t i)
{
	const struct bs_edge *e = op == BS_PLAN_UP ? n->needs[i] : n->holders[i];

	if (e->carried)
		return NULL;
	return op == BS_PLAN_UP ? e->needs : e->holder;
}

/* ---- targets and the root set ------------------------------------------------------------ */

/* A node id, a mount point or a device path. */
static struct bs_node *resolve_target(struct bs_graph *g, const char *t)
{
	struct bs_node *n = bs_graph_find_node(g, t);
	_cleanup_free_ char *id = NULL;
	size_t l;

	if (n || t[0] != '/')
		return n;
	if (startswith(t, "/dev/")) {
		n = bs_graph_find_dev_path(g, t);
		if (n)
			return n;
	}
	/* A mount point, with trailing slashes dropped ("/srv/" is "/srv"). */
	l = strlen(t);
	while (l > 1 && t[l - 1] == '/')
		l--;
	if (asprintf(&id, "mnt:%.*s", (int)l, t) < 0)
		return NULL;
	return bs_graph_find_node(g, id);
}

/* Marks start and everything it needs (up) or everything holding it (down), transitively,
 * in mark[]. Iterative: chains can be deep in synthetic graphs. */
static int mark_closure(struct work *w, struct bs_node *start, enum bs_plan_op direction,
			bool *mark)
{
	_cleanup_free_ struct bs_node **stack = NULL;
	size_t depth = 0;

	if (mark[start->index])
		return 0;
	stack = malloc(sizeof(*stack) * (w->n ? w->n : 1));
	if (!stack)
		return -ENOMEM;
	mark[start->index] = true;
	stack[depth++] = start;
	while (depth > 0) {
		struct bs_node *n = stack[--depth];

		for (size_t i = 0; i < n_deps(direction, n); i++) {
			struct bs_node *m = dep(direction, n, i);

			if (!m)
				continue;

			if (!mark[m->index]) {
				mark[m->index] = true;
				stack[depth++] = m;
			}
		}
	}
	return 0;
}

static int mark_needs(struct work *w, struct bs_node *start, bool *mark)
{
	return mark_closure(w, start, BS_PLAN_UP, mark);
}

static int mark_holders(struct work *w, struct bs_node *start, bool *mark)
{
	return mark_closure(w, start, BS_PLAN_DOWN, mark);
}

/* The root set: /, /usr, every active swap and the resume device; root_set[] marks them and
 * everything below them. */
static int mark_root_set(struct work *w)
{
	static const char *const mounts[] = { "mnt:/", "mnt:/usr" };
	struct bs_node *n;
	int r;

	for (size_t i = 0; i < ELEMENTSOF(mounts); i++) {
		n = bs_graph_find_node(w->g, mounts[i]);
		if (n && n->state == BS_STATE_MOUNTED) {
			r = mark_needs(w, n, w->root_set);
			if (r < 0)
				return r;
		}
	}
	for (size_t i = 0; i < w->n; i++) {
		n = w->g->nodes[i];
		if (n->kind == BS_NODE_SWAP && n->state == BS_STATE_ACTIVE) {
			r = mark_needs(w, n, w->root_set);
			if (r < 0)
				return r;
		}
	}
	/* A fact of the running system, which a source put in the graph. */
	n = w->g->resume;
	if (n)
		return mark_needs(w, n, w->root_set);
	return 0;
}

/* ---- closures ---------------------------------------------------------------------------- */

/* Up with no targets: what configuration asks for; a graph without configuration brings up
 * its mounts and swaps. */
static bool default_up_target(const struct bs_node *n, bool have_config)
{
	const char *opts;

	if (have_config) {
		if (!(n->sources & BS_SOURCE_CONFIG))
			return false;
		opts = n->attrs[BS_ATTR_OPTIONS];
		if (opts && option_list_has(opts, "noauto"))
			return false;
		return bs_kind_get(n->kind)->up_when_configured;
	}
	return is_user(n);
}

static int closure_up(struct work *w, struct bs_node **targets, size_t n_targets)
{
	bool have_config = false;
	int r;

	if (!targets) {
		for (size_t i = 0; i < w->n; i++)
			have_config |= !!(w->g->nodes[i]->sources & BS_SOURCE_CONFIG);
		for (size_t i = 0; i < w->n; i++)
			if (default_up_target(w->g->nodes[i], have_config)) {
				r = mark_needs(w, w->g->nodes[i], w->in);
				if (r < 0)
					return r;
			}
	} else
		for (size_t i = 0; i < n_targets; i++) {
			r = mark_needs(w, targets[i], w->in);
			if (r < 0)
				return r;
		}
	for (size_t i = 0; i < w->n; i++)
		if (w->in[i])
			w->action[i] = bs_kind_up_action(w->g->nodes[i]);
	return 0;
}

/* Discovery: what configuration cannot tell lies inside layers still closed, so every
 * layer that could hold it is opened: the configured ones, and every logical volume of the
 * volume groups the lvm report shows. */
static int closure_discover(struct work *w)
{
	int r;

	for (size_t i = 0; i < w->n; i++) {
		struct bs_node *n = w->g->nodes[i];

		if (w->in[i] || !(bs_kind_get(n->kind)->discover_all || default_up_target(n, true)) ||
		    is_user(n))
			continue;
		r = mark_needs(w, n, w->in);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < w->n; i++)
		if (w->in[i] && !w->action[i])
			w->action[i] = bs_kind_up_action(w->g->nodes[i]);
	return 0;
}

/* The first holder of n that stays up (not in the closure), or NULL. */
static struct bs_node *staying_holder(const struct work *w, const struct bs_node *n)
{
	for (size_t i = 0; i < n->n_holders; i++) {
		struct bs_node *h = dep(BS_PLAN_DOWN, n, i);

		if (h && !w->in[h->index] && bs_node_is_open(h))
			return h;
	}
	return NULL;
}

static int closure_down(struct work *w, struct bs_node **targets, size_t n_targets, bool keep_root)
{
	char text[512];
	bool changed;
	int r;

	if (keep_root) {
		r = mark_root_set(w);
		if (r < 0)
			return r;
	}

	if (!targets) {
		for (size_t i = 0; i < w->n; i++)
			w->in[i] = bs_node_is_open(w->g->nodes[i]);
	} else {
		for (size_t i = 0; i < n_targets; i++) {
			r = mark_holders(w, targets[i], w->in);
			if (r < 0)
				return r;
		}
		/* What the closure leaves without a holder closes too, layer after layer. */
		do {
			changed = false;
			for (size_t i = 0; i < w->n; i++) {
				struct bs_node *n = w->g->nodes[i];
				bool all_holders_leave = n->n_holders > 0;

				if (w->in[i] || !bs_node_is_open(n))
					continue;
				for (size_t j = 0; j < n->n_holders && all_holders_leave; j++) {
					struct bs_node *h = dep(BS_PLAN_DOWN, n, j);

					all_holders_leave = !h || w->in[h->index];
				}
				/* Only layers below a closing node: a disk is never closed, and a
				 * filesystem is unmounted only when asked, not because the last
				 * mount under it goes. */
				if (all_holders_leave && bs_kind_down_action(n) && !is_user(n)) {
					w->in[i] = true;
					changed = true;
				}
			}
		} while (changed);
		/* A layer below the closure that stays, because something else holds it: the
		 * plan says so, naming what keeps it. */
		for (size_t i = 0; i < w->n; i++) {
			struct bs_node *n = w->g->nodes[i], *h;
			bool below = false;

			if (w->in[i] || !bs_node_is_open(n) || !bs_kind_down_action(n) || w->root_set[i] ||
			    is_user(n))
				continue;
			for (size_t j = 0; j < n->n_holders && !below; j++) {
				struct bs_node *hj = dep(BS_PLAN_DOWN, n, j);

				below = hj && w->in[hj->index];
			}
			h = below ? staying_holder(w, n) : NULL;
			if (!h)
				continue;
			snprintf(text, sizeof(text), "needed by %s, which stays up", h->id);
			r = add_reason(&w->plan->kept, &w->plan->n_kept, n, text);
			if (r < 0)
				return r;
		}
	}

	for (size_t i = 0; i < w->n; i++) {
		struct bs_node *n = w->g->nodes[i], *h;

		if (!w->in[i] || !bs_node_is_open(n))
			continue;
		if (w->root_set[i]) {
			/* The root set stays; its filesystems become read-only instead. */
			w->action[i] = bs_kind_get(n->kind)->keep_root;
			w->in[i] = w->action[i] != BS_ACTION_NONE;
			if (!w->in[i] && bs_kind_down_action(n)) {
				r = add_reason(&w->plan->kept, &w->plan->n_kept, n,
					       "below the root set, closed by the shutdown ramfs");
				if (r < 0)
					return r;
			}
			continue;
		}
		h = staying_holder(w, n);
		if (h && bs_kind_down_action(n)) {
			w->in[i] = false;
			snprintf(text, sizeof(text), "needed by %s, which stays up", h->id);
			r = add_reason(&w->plan->kept, &w->plan->n_kept, n, text);
			if (r < 0)
				return r;
			continue;
		}
		w->action[i] = bs_kind_down_action(n);
	}
	/* A node kept for a holder keeps what it needs too; that has been decided above for
	 * direct needs only, so settle it transitively. */
	do {
		changed = false;
		for (size_t i = 0; i < w->n; i++) {
			struct bs_node *n = w->g->nodes[i], *h;

			if (!w->in[i] || !w->action[i] || w->root_set[i])
				continue;
			h = staying_holder(w, n);
			if (!h)
				continue;
			w->in[i] = false;
			w->action[i] = BS_ACTION_NONE;
			snprintf(text, sizeof(text), "needed by %s, which stays up", h->id);
			r = add_reason(&w->plan->kept, &w->plan->n_kept, n, text);
			if (r < 0)
				return r;
			changed = true;
		}
	} while (changed);
	return 0;
}

/* ---- ordering ---------------------------------------------------------------------------- */

/* The nodes with steps that a step of n waits for, looking through step-less nodes in the
 * closure (a disk between a partition and nothing, a btrfs join). Appends node indexes. */
static int collect_deps(const struct work *w, enum bs_plan_op op, const struct bs_node *n,
			size_t **list, size_t *n_list, bool *seen)
{
	for (size_t i = 0; i < n_deps(op, n); i++) {
		struct bs_node *m = dep(op, n, i);
		size_t k;
		size_t *l;
		int r;

		if (!m)
			continue;
		k = m->index;
		if (!w->in[k] || seen[k])
			continue;
		seen[k] = true;
		if (!w->action[k]) {
			r = collect_deps(w, op, m, list, n_list, seen);
			if (r < 0)
				return r;
			continue;
		}
		l = reallocarray(*list, *n_list + 1, sizeof(**list));
		if (!l)
			return -ENOMEM;
		*list = l;
		l[(*n_list)++] = k;
	}
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_steps_by_wave(const void *a, const void *b)
{
	const struct step *x = a, *y = b;

	if (x->wave != y->wave)
		return x->wave < y->wave ? -1 : 1;
	return strcmp(x->node->id, y->node->id);
}

/* Steps are numbered wave by wave (and by node id within one), so that the numbers rise
 * down the printed plan; the order stays a valid execution order. */
static int number_by_wave(struct bs_plan *p)
{
	_cleanup_free_ size_t *new_index = NULL, *by_node = NULL;
	_cleanup_free_ struct bs_node **node_of = NULL;

	if (p->n_steps < 2)
		return 0;
	node_of = malloc(sizeof(*node_of) * p->n_steps);
	new_index = malloc(sizeof(*new_index) * p->n_steps);
	by_node = malloc(sizeof(*by_node) * p->graph->n_nodes);
	if (!node_of || !new_index || !by_node)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_steps; i++)
		node_of[i] = p->steps[i].node;
	qsort(p->steps, p->n_steps, sizeof(*p->steps), cmp_steps_by_wave);
	/* A node has at most one step, so its position maps old step numbers to new ones. */
	for (size_t i = 0; i < p->n_steps; i++)
		by_node[p->steps[i].node->index] = i;
	for (size_t j = 0; j < p->n_steps; j++)
		new_index[j] = by_node[node_of[j]->index];
	for (size_t i = 0; i < p->n_steps; i++) {
		for (size_t j = 0; j < p->steps[i].n_after; j++)
			p->steps[i].after[j] = new_index[p->steps[i].after[j]];
		if (p->steps[i].n_after > 1)
			qsort(p->steps[i].after, p->steps[i].n_after, sizeof(size_t), cmp_size);
	}
	return 0;
}

/* Kahn's algorithm over the stepped nodes, taking the smallest node id first among the ready
 * ones, so the order is the same on every run. A remainder is a cycle: reported and -ELOOP. */
static int order_steps(struct work *w)
{
	enum bs_plan_op op = w->plan->op;
	_cleanup_free_ size_t **deps = NULL, *n_deps_of = NULL, *pending = NULL, *ready = NULL;
	_cleanup_free_ bool *seen = NULL;
	/* Reverse edges, so a finished step can release the ones waiting for it. */
	_cleanup_free_ size_t *n_waiters = NULL;
	_cleanup_free_ size_t **waiters = NULL;
	size_t n_stepped = 0, n_ready = 0, emitted = 0;
	int r = 0;

	deps = calloc(w->n ? w->n : 1, sizeof(*deps));
	n_deps_of = calloc(w->n ? w->n : 1, sizeof(*n_deps_of));
	pending = calloc(w->n ? w->n : 1, sizeof(*pending));
	ready = calloc(w->n ? w->n : 1, sizeof(*ready));
	seen = calloc(w->n ? w->n : 1, sizeof(*seen));
	if (!deps || !n_deps_of || !pending || !ready || !seen)
		return -ENOMEM;

	for (size_t i = 0; i < w->n; i++) {
		if (!w->in[i] || !w->action[i])
			continue;
		n_stepped++;
		memset(seen, 0, w->n * sizeof(*seen));
		seen[i] = true;
		r = collect_deps(w, op, w->g->nodes[i], &deps[i], &n_deps_of[i], seen);
		if (r < 0)
			goto out;
		pending[i] = n_deps_of[i];
	}

	w->plan->steps = calloc(n_stepped ? n_stepped : 1, sizeof(*w->plan->steps));
	if (!w->plan->steps) {
		r = -ENOMEM;
		goto out;
	}
	n_waiters = calloc(w->n ? w->n : 1, sizeof(size_t));
	waiters = calloc(w->n ? w->n : 1, sizeof(size_t *));
	if (!n_waiters || !waiters) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < w->n; i++)
		for (size_t j = 0; j < n_deps_of[i]; j++) {
			size_t d = deps[i][j];
			size_t *l = reallocarray(waiters[d], n_waiters[d] + 1, sizeof(size_t));

			if (!l) {
				r = -ENOMEM;
				goto out;
			}
			waiters[d] = l;
			l[n_waiters[d]++] = i;
		}

	for (size_t i = 0; i < w->n; i++)
		if (w->in[i] && w->action[i] && pending[i] == 0)
			ready[n_ready++] = i;
	while (n_ready > 0) {
		/* ready[] holds node indexes; the smallest is the smallest id (nodes are sorted). */
		size_t best = 0, k;
		struct step *s;

		for (size_t j = 1; j < n_ready; j++)
			if (ready[j] < ready[best])
				best = j;
		k = ready[best];
		ready[best] = ready[--n_ready];

		s = &w->plan->steps[emitted];
		w->step_of[k] = emitted++;
		s->action = w->action[k];
		s->node = w->g->nodes[k];
		s->n_after = n_deps_of[k];
		s->after = malloc(sizeof(size_t) * (s->n_after ? s->n_after : 1));
		if (!s->after) {
			r = -ENOMEM;
			goto out;
		}
		s->wave = 1;
		for (size_t j = 0; j < s->n_after; j++) {
			s->after[j] = w->step_of[deps[k][j]];
			s->wave = MAX(s->wave, w->plan->steps[s->after[j]].wave + 1);
		}
		if (s->n_after > 1)
			qsort(s->after, s->n_after, sizeof(size_t), cmp_size);
		for (size_t j = 0; j < n_waiters[k]; j++)
			if (--pending[waiters[k][j]] == 0)
				ready[n_ready++] = waiters[k][j];
	}
	w->plan->n_steps = emitted;
	if (emitted == n_stepped) {
		r = number_by_wave(w->plan);
		if (r < 0)
			goto out;
	}

	if (emitted < n_stepped) {
		/* Every node left waits, directly or not, on a cycle: walk one to print it. */
		_cleanup_free_ char *cycle = NULL;
		size_t start = SIZE_MAX, k;

		for (size_t i = 0; i < w->n && start == SIZE_MAX; i++)
			if (w->in[i] && w->action[i] && w->step_of[i] == SIZE_MAX)
				start = i;
		memset(seen, 0, w->n * sizeof(*seen));
		/* Follow unfinished dependencies until a node repeats: that one is on a cycle. */
		for (k = start; !seen[k];) {
			seen[k] = true;
			for (size_t j = 0; j < n_deps_of[k]; j++)
				if (w->step_of[deps[k][j]] == SIZE_MAX) {
					k = deps[k][j];
					break;
				}
		}
		start = k;
		do {
			r = strextend(&cycle, w->g->nodes[k]->id, " -> ", NULL);
			if (r < 0)
				goto out;
			for (size_t j = 0; j < n_deps_of[k]; j++)
				if (w->step_of[deps[k][j]] == SIZE_MAX) {
					k = deps[k][j];
					break;
				}
		} while (k != start);
		r = strextend(&cycle, w->g->nodes[start]->id, NULL);
		if (r < 0)
			goto out;
		bs_log_err(w->g->ctx, "The layers form a cycle, no order exists: %s", cycle);
		r = -ELOOP;
	}
out:
	for (size_t i = 0; waiters && i < w->n; i++)
		free(waiters[i]);
	for (size_t i = 0; i < w->n; i++)
		free(deps[i]);
	return r;
}

/* ---- unresolved references --------------------------------------------------------------- */

static int collect_unresolved(struct work *w)
{
	for (size_t i = 0; i < w->n; i++) {
		struct bs_node *n = w->g->nodes[i];
		const char *what;
		int r;

		if (!w->in[i])
			continue;
		what = bs_node_get_unresolved(n);
		if (!what)
			continue;
		r = add_reason(&w->plan->unresolved, &w->plan->n_unresolved, n, what);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the plan ---------------------------------------------------------------------------- */

_public_ int bs_plan_new(struct bs_graph *g, enum bs_plan_op op, const char *const *targets,
			 unsigned flags, struct bs_plan **ret)
{
	_cleanup_free_ struct bs_node **resolved = NULL;
	struct work w = {};
	struct bs_plan *p;
	size_t n_targets = 0;
	int r;

	if (!g || !ret || op < 0 || op >= _BS_PLAN_OP_MAX ||
	    (flags & ~(BS_PLAN_KEEP_ROOT | BS_PLAN_DISCOVER)))
		return -EINVAL;
	if ((flags & BS_PLAN_KEEP_ROOT) && op != BS_PLAN_DOWN)
		return -EINVAL;
	if ((flags & BS_PLAN_DISCOVER) && op != BS_PLAN_UP)
		return -EINVAL;
	bs_graph_sort(g);

	if (targets) {
		n_targets = strv_length((char *const *)targets);
		resolved = calloc(n_targets ? n_targets : 1, sizeof(*resolved));
		if (!resolved)
			return -ENOMEM;
		for (size_t i = 0; i < n_targets; i++) {
			resolved[i] = resolve_target(g, targets[i]);
			if (!resolved[i]) {
				bs_log_err(g->ctx,
					   "'%s' names no node, mount point or device of the graph "
					   "(see 'blkstack show')",
					   targets[i]);
				return -ENOENT;
			}
		}
	}

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->n_ref = 1;
	p->graph = bs_graph_ref(g);
	p->op = op;

	w.plan = p;
	w.g = g;
	w.n = g->n_nodes;
	w.in = calloc(w.n ? w.n : 1, sizeof(*w.in));
	w.action = calloc(w.n ? w.n : 1, sizeof(*w.action));
	w.step_of = malloc(sizeof(*w.step_of) * (w.n ? w.n : 1));
	w.root_set = calloc(w.n ? w.n : 1, sizeof(*w.root_set));
	if (!w.in || !w.action || !w.step_of || !w.root_set) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < w.n; i++)
		w.step_of[i] = SIZE_MAX;

	if (op == BS_PLAN_UP)
		r = closure_up(&w, targets ? resolved : NULL, n_targets);
	else
		r = closure_down(&w, targets ? resolved : NULL, n_targets,
				 flags & BS_PLAN_KEEP_ROOT);
	if (r >= 0 && (flags & BS_PLAN_DISCOVER))
		r = closure_discover(&w);
	if (r >= 0)
		r = order_steps(&w);
	if (r >= 0 && op == BS_PLAN_UP)
		r = collect_unresolved(&w);
	if (r < 0)
		goto fail;
	work_done(&w);
	*ret = p;
	return 0;
fail:
	work_done(&w);
	bs_plan_unref(p);
	return r;
}

/* ---- getters ----------------------------------------------------------------------------- */

_public_ enum bs_plan_op bs_plan_get_op(const struct bs_plan *p)
{
	return p ? p->op : _BS_PLAN_OP_INVALID;
}

_public_ size_t bs_plan_get_n_steps(const struct bs_plan *p)
{
	return p ? p->n_steps : 0;
}

static const struct step *step_at(const struct bs_plan *p, size_t i)
{
	return p && i < p->n_steps ? &p->steps[i] : NULL;
}

enum bs_action bs_plan_get_step_action_id(const struct bs_plan *p, size_t i)
{
	const struct step *s = step_at(p, i);

	return s ? s->action : _BS_ACTION_INVALID;
}

_public_ const char *bs_plan_get_step_action(const struct bs_plan *p, size_t i)
{
	const struct step *s = step_at(p, i);

	return s ? bs_action_to_string(s->action) : NULL;
}

_public_ struct bs_node *bs_plan_get_step_node(const struct bs_plan *p, size_t i)
{
	const struct step *s = step_at(p, i);

	return s ? s->node : NULL;
}

_public_ size_t bs_plan_get_step_n_after(const struct bs_plan *p, size_t i)
{
	const struct step *s = step_at(p, i);

	return s ? s->n_after : 0;
}

_public_ size_t bs_plan_get_step_after(const struct bs_plan *p, size_t i, size_t j)
{
	const struct step *s = step_at(p, i);

	return s && j < s->n_after ? s->after[j] : SIZE_MAX;
}

_public_ unsigned bs_plan_get_step_wave(const struct bs_plan *p, size_t i)
{
	const struct step *s = step_at(p, i);

	return s ? s->wave : 0;
}

_public_ size_t bs_plan_get_n_kept(const struct bs_plan *p)
{
	return p ? p->n_kept : 0;
}

_public_ struct bs_node *bs_plan_get_kept_node(const struct bs_plan *p, size_t i)
{
	return p && i < p->n_kept ? p->kept[i].node : NULL;
}

_public_ const char *bs_plan_get_kept_reason(const struct bs_plan *p, size_t i)
{
	return p && i < p->n_kept ? p->kept[i].text : NULL;
}

_public_ size_t bs_plan_get_n_unresolved(const struct bs_plan *p)
{
	return p ? p->n_unresolved : 0;
}

_public_ struct bs_node *bs_plan_get_unresolved_node(const struct bs_plan *p, size_t i)
{
	return p && i < p->n_unresolved ? p->unresolved[i].node : NULL;
}

_public_ const char *bs_plan_get_unresolved_what(const struct bs_plan *p, size_t i)
{
	return p && i < p->n_unresolved ? p->unresolved[i].text : NULL;
}

/* ---- output ------------------------------------------------------------------------------ */

/* A growing string for the text and DOT forms. */
struct out {
	char *s;
	size_t len, allocated;
	int error;
};

_printf_(2, 3) static void out_printf(struct out *o, const char *format, ...)
{
	va_list ap;
	int n;

	if (o->error)
		return;
	for (;;) {
		size_t room = o->allocated - o->len;

		va_start(ap, format);
		n = vsnprintf(o->s ? o->s + o->len : NULL, room, format, ap);
		va_end(ap);
		if (n < 0) {
			o->error = -EINVAL;
			return;
		}
		if ((size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		size_t want = MAX(o->allocated * 2, o->len + (size_t)n + 1);
		char *p = realloc(o->s, want);

		if (!p) {
			o->error = -ENOMEM;
			return;
		}
		o->s = p;
		o->allocated = want;
	}
}

static int out_finish(struct out *o, char **ret)
{
	if (!o->error && !o->s)
		out_printf(o, "%s", "");
	if (o->error) {
		free(o->s);
		return o->error;
	}
	*ret = o->s;
	return 0;
}

_public_ int bs_plan_to_text(const struct bs_plan *p, char **ret)
{
	struct out o = {};
	unsigned waves = 0;
	int w_action = 0, w_node = 0;

	if (!p || !ret)
		return -EINVAL;
	for (size_t i = 0; i < p->n_steps; i++) {
		waves = MAX(waves, p->steps[i].wave);
		w_action = MAX(w_action, (int)strlen(bs_action_to_string(p->steps[i].action)));
		w_node = MAX(w_node, (int)strlen(p->steps[i].node->id));
	}
	out_printf(&o, "plan %s: %zu step%s in %u wave%s\n", op_names[p->op], p->n_steps,
		   p->n_steps == 1 ? "" : "s", waves, waves == 1 ? "" : "s");
	/* Steps are in execution order; waves group them by what may run at once. */
	for (unsigned wave = 1; wave <= waves; wave++) {
		out_printf(&o, "wave %u:\n", wave);
		for (size_t i = 0; i < p->n_steps; i++) {
			const struct step *s = &p->steps[i];

			if (s->wave != wave)
				continue;
			out_printf(&o, "  %3zu  %-*s  %-*s", i + 1, w_action, bs_action_to_string(s->action),
				   s->n_after > 0 ? w_node : 0, s->node->id);
			if (s->n_after > 0) {
				out_printf(&o, "  after");
				for (size_t j = 0; j < s->n_after; j++)
					out_printf(&o, "%s%zu", j ? "," : " ", s->after[j] + 1);
			}
			out_printf(&o, "\n");
		}
	}
	for (size_t i = 0; i < p->n_kept; i++)
		out_printf(&o, "kept: %s: %s\n", p->kept[i].node->id, p->kept[i].text);
	for (size_t i = 0; i < p->n_unresolved; i++)
		out_printf(&o, "unresolved: %s needs %s, which no known device or layer provides\n",
			   p->unresolved[i].node->id, p->unresolved[i].text);
	return out_finish(&o, ret);
}

static json_object *reasons_to_json(const struct reason *r, size_t n, const char *key)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++) {
		json_object *o = json_object_new_object();

		if (!o ||
		    json_object_object_add(o, "node", json_object_new_string(r[i].node->id)) ||
		    json_object_object_add(o, key, json_object_new_string(r[i].text)) ||
		    json_object_array_add(a, o)) {
			json_object_put(o);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

_public_ int bs_plan_to_json(const struct bs_plan *p, char **ret)
{
	json_object *root, *steps, *kept, *unresolved;
	char *s = NULL;
	int r = -ENOMEM;

	if (!p || !ret)
		return -EINVAL;
	root = json_object_new_object();
	steps = json_object_new_array_ext((int)p->n_steps);
	kept = reasons_to_json(p->kept, p->n_kept, "reason");
	unresolved = reasons_to_json(p->unresolved, p->n_unresolved, "needs");
	if (!root || !steps || !kept || !unresolved ||
	    json_object_object_add(root, "version", json_object_new_int(1)) ||
	    json_object_object_add(root, "op", json_object_new_string(op_names[p->op])) ||
	    json_object_object_add(root, "steps", steps)) {
		json_object_put(steps);
		json_object_put(kept);
		json_object_put(unresolved);
		goto out;
	}
	if (json_object_object_add(root, "kept", kept)) {
		json_object_put(kept);
		json_object_put(unresolved);
		goto out;
	}
	if (json_object_object_add(root, "unresolved", unresolved)) {
		json_object_put(unresolved);
		goto out;
	}
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct step *st = &p->steps[i];
		json_object *o = json_object_new_object(), *after = json_object_new_array();

		if (!o || !after ||
		    json_object_object_add(o, "id", json_object_new_int64((int64_t)i + 1)) ||
		    json_object_object_add(o, "action", json_object_new_string(bs_action_to_string(st->action))) ||
		    json_object_object_add(o, "node", json_object_new_string(st->node->id))) {
			json_object_put(o);
			json_object_put(after);
			goto out;
		}
		if (json_object_object_add(o, "after", after)) {
			json_object_put(after);
			json_object_put(o);
			goto out;
		}
		for (size_t j = 0; j < st->n_after; j++)
			if (json_object_array_add(
				    after, json_object_new_int64((int64_t)st->after[j] + 1))) {
				json_object_put(o);
				goto out;
			}
		if (json_object_object_add(o, "wave", json_object_new_int((int)st->wave)) ||
		    json_object_array_add(steps, o)) {
			json_object_put(o);
			goto out;
		}
	}
	r = bs_json_format(root, &s);
out:
	json_object_put(root);
	if (r >= 0)
		*ret = s;
	return r;
}

static void dot_quoted(struct out *o, const char *s)
{
	out_printf(o, "\"");
	/* A newline becomes DOT's own "\n"; quotes and backslashes are escaped. */
	for (; *s; s++)
		if (*s == '\n')
			out_printf(o, "\\n");
		else
			out_printf(o, "%s%c", *s == '"' || *s == '\\' ? "\\" : "", *s);
	out_printf(o, "\"");
}

_public_ int bs_plan_to_dot(const struct bs_plan *p, char **ret)
{
	struct out o = {};

	if (!p || !ret)
		return -EINVAL;
	out_printf(&o,
		   "digraph plan_%s {\n\trankdir=LR;\n"
		   "\tnode [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n",
		   op_names[p->op]);
	for (size_t i = 0; i < p->n_steps; i++) {
		char label[512];

		snprintf(label, sizeof(label), "%zu %s\n%s", i + 1, bs_action_to_string(p->steps[i].action),
			 p->steps[i].node->id);
		out_printf(&o, "\ts%zu [label=", i + 1);
		dot_quoted(&o, label);
		out_printf(&o, "];\n");
	}
	for (size_t i = 0; i < p->n_steps; i++)
		for (size_t j = 0; j < p->steps[i].n_after; j++)
			out_printf(&o, "\ts%zu -> s%zu;\n", p->steps[i].after[j] + 1, i + 1);
	out_printf(&o, "}\n");
	return out_finish(&o, ret);
}
