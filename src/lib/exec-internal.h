/* The executor's internals, shared by its three parts: the run loops (exec.c), the step API
 * that drivers call (exec-step.c), and the scheduler of one round (exec-round.c). */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blkstack.h"
#include "graph.h"
#include "kind.h"
#include "layer-config.h"
#include "libblkstack-private.h"
#include "ops.h"

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
	bool last_resort; /* bs_exec_opts.last_resort */
	bool live_only; /* bs_exec_opts.live_only */
	bool last_pass; /* down: the round that runs is the last pass */

	/* The initramfs: the manifest instead of the record and the configuration, and the
	 * kernel command line's overrides of mnt:/ (bs_exec_opts). */
	char *manifest;
	char *root_fstype;
	bool have_root_options;
	struct bs_mount_options root_options; /* rootflags=, split */
	int root_access;

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

	/* The gate (exec-gate.c, bs_exec_opts.pins): the pins, and under gate_lock what the
	 * last verification that passed saw, so that the next gated step reuses it while no
	 * device appears. refused is set under lock too: no step starts after it. */
	struct bs_pins *pins;
	pthread_mutex_t gate_lock;
	char *gate_devices; /* the block devices (sys/class/block) it saw */
	struct bs_graph *gate_graph; /* the live graph it verified */
	unsigned n_verifications;
	bool refused;
	char **refusals; /* the messages of the verification that refused */

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

#define OPS(s) ((s)->round->exec->ops)
#define OPS_DATA(s) ((s)->round->exec->ops_data)

/* ---- exec.c: events, results and devices of the run (callers hold e->lock) ---------------- */

void bs_exec_emit(struct bs_exec *e, const struct round *rd, enum bs_exec_event_type type,
		  const struct bs_step *s, int error, const char *message);
int bs_exec_set_result(struct bs_exec *e, const char *action, const char *node,
		       enum bs_exec_status status, int error, const char *message);
const struct result *bs_exec_find_result(const struct bs_exec *e, const char *action,
					 const char *node);
int bs_exec_remember_device(struct bs_exec *e, const char *id, const char *path);

/* ---- exec-step.c -------------------------------------------------------------------------- */

/* Where a mount node's filesystem is (or goes) on the running system, newly allocated. */
char *bs_exec_real_mount_point(struct bs_ctx *c, const struct bs_node *mount);

/* ---- exec-gate.c: the pins, verified before the steps that open layers ------------------ */

/* Whether step s must pass the gate before it runs: up, with pins, an action that asks for a
 * secret or opens a layer from devices. */
bool bs_exec_step_is_gated(const struct bs_step *s);
/* Verifies the live devices against the pins unless no device appeared since the last
 * verification that passed. 0 to go on; else the step has failed (-EKEYREJECTED, with the
 * refusals, and the run is stopped). */
int bs_exec_gate(struct bs_step *s);
/* Forgets the gate's state, between runs. */
void bs_exec_gate_reset(struct bs_exec *e);

/* ---- exec-round.c: one round, a plan run in parallel -------------------------------------- */

enum bs_exec_status bs_exec_status_of(enum step_state st);
/* Sets up rd (exec, graph, plan and number set by the caller) from its plan: steps carried
 * from earlier rounds, dependents, the ready heap. */
int bs_round_setup(struct round *rd);
/* Runs the round's steps with the executor's jobs, each as soon as what it waits for is done. */
int bs_round_run(struct round *rd);
void bs_round_free(struct round *rd);
