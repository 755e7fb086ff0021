/* The graph the verbs work on: live, recorded and configured, merged. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>

#include "graph-load.h"
#include "log.h"

int cli_load_graph(struct bs_ctx *ctx, enum cli_load_flags flags, struct bs_graph **ret)
{
	struct bs_graph *g = NULL;
	size_t n_problems;
	int r;

	/* The library names the source that failed. */
	r = bs_graph_new_merged(ctx, &g);
	if (r < 0)
		return r;
	n_problems = bs_graph_get_n_problems(g);
	if (n_problems > 0 && (flags & CLI_LOAD_STRICT)) {
		for (size_t i = 0; i < n_problems; i++)
			log_error("%s", bs_graph_get_problem(g, i));
		log_error("%zu problem%s in the configuration; 'blkstack check' lists them all, "
			  "refusing to plan from it",
			  n_problems, n_problems == 1 ? "" : "s");
		r = -EBADMSG;
		goto fail;
	}
	for (size_t i = 0; i < n_problems; i++)
		log_error("%s, ignoring", bs_graph_get_problem(g, i));
	*ret = g;
	return 0;
fail:
	bs_graph_unref(g);
	return r;
}
