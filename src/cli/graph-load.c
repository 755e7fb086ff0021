/* The graph the verbs work on: live, recorded and configured, merged. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "graph-load.h"
#include "log.h"

int cli_load_graph(struct bs_ctx *ctx, struct bs_graph **ret)
{
	struct bs_graph *g = NULL;
	int r;

	r = bs_graph_new(ctx, &g);
	if (r < 0)
		return log_error_errno(r, "Failed to create the graph: %m");
	r = bs_graph_add_live(g);
	if (r < 0) {
		log_error_errno(r, "Failed to read the block devices below '%s': %m",
				bs_ctx_get_sysroot(ctx));
		bs_graph_unref(g);
		return r;
	}
	*ret = g;
	return 0;
}
