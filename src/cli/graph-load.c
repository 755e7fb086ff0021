/* The graph the verbs work on: live, recorded and configured, merged by the library's loader. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>

#include "graph-load.h"
#include "log.h"

void cli_print_problems(const struct bs_problem_list *problems, bool refused, unsigned load_flags)
{
	size_t n = bs_problem_list_get_n(problems), n_refusing = 0;

	for (size_t i = 0; i < n; i++) {
		const struct bs_problem *p = bs_problem_list_get(problems, i);
		bool warning = bs_problem_get_severity(p) == BS_PROBLEM_WARNING;

		if (!refused)
			/* Nothing stops: an error's line was left out, and the rest is used. */
			log_error("%s%s", bs_problem_get_text(p), warning ? "" : ", ignoring");
		else if (!warning || (load_flags & BS_LOAD_STRICT)) {
			log_error("%s", bs_problem_get_text(p));
			n_refusing++;
		} else
			log_error("%s", bs_problem_get_text(p));
	}
	if (refused)
		log_error("%zu problem%s in the configuration; 'blkstack check' lists them all, "
			  "refusing to plan from it",
			  n_refusing, n_refusing == 1 ? "" : "s");
}

int cli_load_graph(struct bs_ctx *ctx, enum cli_load_flags flags, struct bs_graph **ret)
{
	struct bs_problem_list *problems = NULL;
	struct bs_load_opts opts = { .flags = BS_LOAD_DEFAULT };
	int r;

	if (flags & CLI_LOAD_STRICT)
		opts.flags |= BS_LOAD_REFUSE_ERRORS;
	/* The library names the source that failed. */
	r = bs_graph_load(ctx, &opts, ret, &problems);
	if (r >= 0 || r == -EBADMSG)
		cli_print_problems(problems, r == -EBADMSG, opts.flags);
	bs_problem_list_free(problems);
	return r < 0 ? r : 0;
}
