/* Running the executor in unit tests: fixtures to run it on, a fake ops table, what it said. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "blkstack.h"
#include "ops.h"
#include "tests.h"
#include "util.h"

/* A context on sysroot, with mount_root as struct bs_ctx_opts has it (NULL: "/"). Fails the
 * test when it cannot be made. */
struct bs_ctx *ctx_on_sysroot(const char *sysroot, const char *mount_root);

/* A copy of the fixture RECIPE-disks with the graph of RECIPE-assembled recorded into it, as
 * 'blkstack record' left it when the stack was last up. The caller frees the path. */
char *fixture_with_record(const char *recipe);

/* Removes the file or link relpath below root (a fixture copy), as when a disk is gone. */
void fixture_remove(const char *root, const char *relpath);

/* How many times needle occurs in text; 0 for a NULL text. */
size_t count_substrings(const char *text, const char *needle);

/* haystack (NULL fails too) contains needle; a failure shows the whole haystack. */
#define ASSERT_CONTAINS(haystack, needle)                                                          \
	do {                                                                                       \
		const char *_h_ = (haystack), *_n_ = (needle);                                     \
		if (!_h_ || !strstr(_h_, _n_))                                                     \
			test_fail(TEST_FILE, __LINE__, "'%s' is not in:\n%s", _n_, strna(_h_));    \
	} while (0)

struct exec_run_opts {
	const char *sysroot;
	const char *mount_root; /* NULL: "/" */
	enum bs_plan_op op;
	const char *const *targets; /* NULL: all */
	unsigned flags; /* BS_PLAN_* */
	unsigned jobs; /* 0 here means 1, so that the ops are called in a fixed order */
	const struct bs_ops *ops; /* the fake ops table, called with ops_data */
	void *ops_data;
	unsigned max_rounds; /* 0: the executor's own limit */
	/* bs_exec_opts's initramfs members: the manifest (below sysroot) and root overrides. */
	const char *manifest;
	const char *root_fstype;
	const char *root_options;
	int root_access;
	int last_resort; /* bs_exec_opts.last_resort */
	const struct bs_pins *pins; /* bs_exec_opts.pins */
};

/* One run of the executor and what it said. The texts stay valid until exec_run_done(). */
struct exec_run {
	struct bs_exec *e;
	int r; /* what bs_exec_run() returned */
	char *events; /* every event, one a line: "TYPE ACTION NODE[: MESSAGE]" */
	char *warnings; /* the message of every warning event, one a line */
	char *log; /* what the library logged at warning level or worse, one a line */

	/* The harness's own. */
	size_t events_size, warnings_size, log_size;
	FILE *events_f, *warnings_f, *log_f;
	bool debug; /* BLKSTACK_DEBUG: the whole log goes to stderr as well */
};

/* Runs the executor as o says, with a context of its own; a failure to set it up fails the
 * test. exec_run_done() frees what it left in run. */
void exec_run(struct exec_run *run, const struct exec_run_opts *o);
void exec_run_done(struct exec_run *run);

/* exec_run() with the options as designated initializers: EXEC_RUN(&run, .sysroot = root, ...) */
#define EXEC_RUN(run, ...) exec_run((run), &(struct exec_run_opts){ __VA_ARGS__ })

/* The status (enum bs_exec_status) of the step ACTION NODE, or -1 if there is none. */
int exec_run_status(const struct exec_run *run, const char *action, const char *node);
/* The message of the step ACTION NODE (borrowed); NULL if it has none, or there is no such
 * step. */
const char *exec_run_message(const struct exec_run *run, const char *action, const char *node);
