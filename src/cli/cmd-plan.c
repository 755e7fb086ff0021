/* blkstack plan: the ordered steps to bring targets up or take them down, nothing run. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph-load.h"
#include "log.h"
#include "macro.h"
#include "util.h"
#include "verbs.h"

static void plan_help(void)
{
	printf("Usage: blkstack [--sysroot DIR] plan up|down [TARGET...|--all] [OPTIONS]\n"
	       "\n"
	       "Print the steps that bring TARGETs up, or take them down, in an order derived\n"
	       "from the graph; run nothing. A TARGET is a node id (lv:vg0/root), a mount point\n"
	       "(/srv) or a device path (/dev/md/sys).\n"
	       "\n"
	       "  -a --all         up: every configured mount, swap and layer; down: everything\n"
	       "     --keep-root   down: leave the root set and all below it; remount it read-only\n"
	       "  -J --json        The plan as JSON\n"
	       "     --dot         The plan in Graphviz's DOT language\n"
	       "  -h --help        Show this help\n");
}

enum {
	ARG_DOT = 0x100,
	ARG_KEEP_ROOT,
};

const struct verb_options verb_plan_options = {
	":haJ" CLI_GLOBAL_SHORTOPTS,
	(const struct option[]){
		{ "help", no_argument, NULL, 'h' },
		{ "all", no_argument, NULL, 'a' },
		{ "keep-root", no_argument, NULL, ARG_KEEP_ROOT },
		{ "json", no_argument, NULL, 'J' },
		{ "dot", no_argument, NULL, ARG_DOT },
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

int verb_plan(struct bs_ctx *ctx, int argc, char **argv)
{
	bool all = false, json = false, dot = false;
	unsigned flags = 0;
	enum bs_plan_op op;
	struct bs_graph *g = NULL;
	struct bs_plan *p = NULL;
	_cleanup_free_ char *out = NULL;
	int c, r;

	opterr = 0;
	while ((c = verb_getopt(argc, argv, &verb_plan_options)) >= 0) {
		switch (c) {
		case 'h':
			plan_help();
			return 0;
		case 'a':
			all = true;
			break;
		case ARG_KEEP_ROOT:
			flags |= BS_PLAN_KEEP_ROOT;
			break;
		case 'J':
			json = true;
			break;
		case ARG_DOT:
			dot = true;
			break;
		default:
			return log_usage_error("plan: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return log_usage_error("plan: say 'up' or 'down'");
	if (streq(argv[optind], "up"))
		op = BS_PLAN_UP;
	else if (streq(argv[optind], "down"))
		op = BS_PLAN_DOWN;
	else
		return log_usage_error("plan: '%s' is neither 'up' nor 'down'", argv[optind]);
	optind++;
	if (all == (optind < argc))
		return log_usage_error("plan: give TARGETs or --all (one of the two)");
	if (json && dot)
		return log_usage_error("plan: --json and --dot exclude each other");
	if ((flags & BS_PLAN_KEEP_ROOT) && op != BS_PLAN_DOWN)
		return log_usage_error("plan: --keep-root applies to 'down' only");

	r = cli_load_graph(ctx, CLI_LOAD_STRICT, &g);
	if (r < 0)
		return r;
	r = bs_plan_new(g, op, all ? NULL : (const char *const *)argv + optind, flags, &p);
	if (r < 0) {
		/* The library has said what is wrong; a cycle is a configuration error. */
		if (r == -ELOOP)
			r = -EBADMSG;
		goto out;
	}
	r = json ? bs_plan_to_json(p, &out) :
	    dot	 ? bs_plan_to_dot(p, &out) :
		   bs_plan_to_text(p, &out);
	if (r < 0) {
		log_error_errno(r, "Failed to format the plan: %m");
		goto out;
	}
	fputs(out, stdout);
	if (json)
		putchar('\n');
	if (fflush(stdout) != 0)
		r = log_error_errno(-errno, "Failed to write the plan: %m");
out:
	bs_plan_unref(p);
	bs_graph_unref(g);
	return r;
}
