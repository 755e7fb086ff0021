/* The graph the verbs work on: live, recorded and configured, merged. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "blkstack.h"

enum cli_load_flags {
	/* An error in the configuration fails the load (exit 3): for verbs that act on it.
	 * Without it, problems are printed and the rest is used. Warnings never fail it. */
	CLI_LOAD_STRICT = 1 << 0,
};

/* Builds the graph from every source below the context's sysroot: live, then the recorded
 * graph, then the configuration. Damage is reported as it is read; a source that cannot be
 * read at all fails the verb, with a message. */
int cli_load_graph(struct bs_ctx *ctx, enum cli_load_flags flags, struct bs_graph **ret);

/* Prints the problems of a load, on stderr: refused says the load failed because of them
 * (with these bs_load_flags), so those that refused it are errors and the rest warnings. */
void cli_print_problems(const struct bs_problem_list *problems, bool refused, unsigned load_flags);
