/* The executor's scheduler: one round, a plan's steps run in parallel as they become ready. */
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
#include "plan.h"
#include "strv.h"
#include "util.h"

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
	int r;

	if (!a)
		return bs_step_fail(s, -EOPNOTSUPP, "no driver does '%s' (for '%s')", s->action,
				    s->node->id);
	/* Here rather than in each driver: none can forget it. */
	if (bs_exec_step_is_gated(s)) {
		r = bs_exec_gate(s);
		if (r < 0)
			return r;
	}
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

enum bs_exec_status bs_exec_status_of(enum step_state st)
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
			bs_exec_emit(e, rd, BS_EXEC_EVENT_SKIPPED, s, 0, s->message);
			(void)bs_exec_set_result(e, s->action, s->node->id, BS_EXEC_SKIPPED, 0, s->message);
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
		bs_exec_emit(e, rd,
		     ok			      ? BS_EXEC_EVENT_DONE :
		     s->state == STEP_BUSY    ? BS_EXEC_EVENT_BUSY :
		     s->state == STEP_SKIPPED ? BS_EXEC_EVENT_SKIPPED :
						BS_EXEC_EVENT_FAILED,
		     s, s->error, ok ? s->warning : s->message);
		(void)bs_exec_set_result(e, s->action, s->node->id, bs_exec_status_of(s->state), s->error,
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
		bs_exec_emit(e, rd, BS_EXEC_EVENT_WARNING, s, r, s->warning);
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
		if (e->refused) {
			/* A device was refused: nothing more starts. */
			free(s->message);
			s->message = strdup("not started: the run stopped at a refused device");
			s->state = STEP_SKIPPED;
			step_ended(rd, i);
			continue;
		}
		s->state = STEP_RUNNING;
		rd->running++;
		bs_exec_emit(e, rd, BS_EXEC_EVENT_START, s, 0, NULL);
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

void bs_round_free(struct round *rd)
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

int bs_round_setup(struct round *rd)
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
		old = bs_exec_find_result(e, s->action, s->node->id);
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
int bs_round_run(struct round *rd)
{
	struct bs_exec *e = rd->exec;
	_cleanup_free_ pthread_t *threads = NULL;
	size_t n_threads, started = 0;
	int r = 0;

	pthread_mutex_lock(&e->lock);
	/* Steps carried from earlier rounds and deferred ones first, in step order: their
	 * dependents are skipped, released or deferred before any worker could pick one. Only
	 * those marked so by bs_round_setup(): a step deferred on the way ends with its cause. */
	for (size_t i = 0; i < rd->n; i++)
		rd->preset[i] =
			IN_SET(rd->steps[i].state, STEP_CARRIED, STEP_CARRIED_OK, STEP_DEFERRED);
	for (size_t i = 0; i < rd->n; i++)
		if (rd->preset[i])
			step_ended(rd, i);
	bs_exec_emit(e, rd, BS_EXEC_EVENT_ROUND, NULL, 0, rd->message);
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

