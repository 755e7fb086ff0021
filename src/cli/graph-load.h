/* The graph the verbs work on: live, recorded and configured, merged. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "blkstack.h"

enum cli_load_flags {
	/* A problem in the configuration fails the load (exit 3): for verbs that act on it.
	 * Without it, problems are printed and the rest is used. */
	CLI_LOAD_STRICT = 1 << 0,
};

/* Builds the graph from every source below the context's sysroot: live, then the recorded
 * graph, then the configuration. Damage is reported as it is read; a source that cannot be
 * read at all fails the verb, with a message. */
int cli_load_graph(struct bs_ctx *ctx, enum cli_load_flags flags, struct bs_graph **ret);
