/* blkstack record: writes the live graph to the recorded graph, for the next cold start. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "macro.h"
#include "util.h"
#include "verbs.h"

static void record_help(void)
{
	printf("Usage: blkstack [--sysroot DIR] record [--output FILE]\n"
	       "\n"
	       "Read the graph of block layers from the running system and write it, in the\n"
	       "format of 'show --json', to DIR" BS_RECORDED_GRAPH_PATH ". At the next\n"
	       "cold start it tells what lies inside the layers that are still closed.\n"
	       "\n"
	       "  -o --output FILE   Write to FILE instead\n"
	       "  -h --help          Show this help\n");
}

const struct verb_options verb_record_options = {
	":ho:" CLI_GLOBAL_SHORTOPTS,
	(const struct option[]){
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

int verb_record(struct bs_ctx *ctx, int argc, char **argv)
{
	_cleanup_free_ char *default_path = NULL;
	const char *output = NULL, *sysroot, *path;
	struct bs_graph *g = NULL;
	int c, r;

	opterr = 0;
	while ((c = verb_getopt(argc, argv, &verb_record_options)) >= 0) {
		switch (c) {
		case 'h':
			record_help();
			return 0;
		case 'o':
			if (optarg[0] == '\0')
				return log_usage_error("record: --output needs a file name");
			output = optarg;
			break;
		case ':':
			return log_usage_error("record: option '%s' needs an argument",
					       argv[optind - 1]);
		default:
			return log_usage_error("record: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return log_usage_error("record: unexpected argument '%s'", argv[optind]);

	/* The path for the message; the library resolves the same one below the sysroot. */
	sysroot = bs_ctx_get_sysroot(ctx);
	if (!output && strextend(&default_path, streq(sysroot, "/") ? "" : sysroot,
				 BS_RECORDED_GRAPH_PATH, NULL) < 0)
		return log_error_errno(-ENOMEM, "Out of memory");
	path = output ? output : default_path;

	/* The live graph alone: recorded and configured nodes describe no running system. The
	 * library names what could not be read. */
	r = bs_graph_load(ctx, &(struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL);
	if (r < 0)
		return r;
	r = bs_graph_record(g, output);
	if (r < 0) {
		log_error_errno(r, "Failed to write the recorded graph to '%s': %m", path);
		goto out;
	}
	printf("recorded %zu nodes and %zu edges to %s\n", bs_graph_get_n_nodes(g),
	       bs_graph_get_n_edges(g), path);
	if (fflush(stdout) != 0)
		r = log_error_errno(-errno, "Failed to write the output: %m");
out:
	bs_graph_unref(g);
	return r;
}
