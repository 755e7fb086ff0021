/* blkstack check: validate the configuration against the graph, printing every problem. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "log.h"
#include "macro.h"
#include "strv.h"
#include "util.h"
#include "verbs.h"

static void check_help(void)
{
	printf("Usage: blkstack [--sysroot DIR] check [--json]\n"
	       "\n"
	       "Read fstab, crypttab, mdadm.conf and stack.conf, merge them with the live and\n"
	       "the recorded graph, and print every problem: malformed lines, unknown options,\n"
	       "bad numbers, duplicates, references no device provides, and cycles. Exits with\n"
	       "3 when there is any problem.\n"
	       "\n"
	       "  -J --json   The problems as JSON\n"
	       "  -h --help   Show this help\n");
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)

/* Undoes the \NNN escapes of bs_node_get_unresolved(), in place. */
static void unescape(char *s)
{
	char *w = s;

	for (const char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else
			*w++ = *p;
	}
	*w = '\0';
}

#define UNRESOLVED_SUFFIX "' matches no device, layer or recorded graph entry"

/* The references that problems report as unresolved: their messages are "'SPEC' matches no
 * device, ...". Keys point into the graph's problems. */
static int reported_specs(const struct bs_graph *g, struct hashmap *set, char ***keys)
{
	for (size_t i = 0; i < bs_graph_get_n_problems(g); i++) {
		const char *p = strstr(bs_graph_get_problem(g, i), ": '"), *end;
		char *spec;
		int r;

		/* The message follows "FILE:LINE: ". */
		if (!p)
			continue;
		p += 3;
		end = strstr(p, UNRESOLVED_SUFFIX);
		if (!end || end[strlen(UNRESOLVED_SUFFIX)] != '\0')
			continue;
		spec = strndup(p, (size_t)(end - p));
		if (!spec)
			return -ENOMEM;
		r = strv_push(keys, spec);
		if (r < 0) {
			free(spec);
			return r;
		}
		r = hashmap_put_str(set, spec, spec);
		if (r < 0)
			return r;
	}
	return 0;
}

/* References not visible now, which layers still closed may hold: no problem, but worth
 * knowing before a cold start without a recorded graph. */
static int print_notes(const struct bs_graph *g)
{
	_cleanup_strv_free_ char **keys = NULL;
	struct hashmap *set = NULL;
	int r;

	r = hashmap_new(HASHMAP_STRING, &set);
	if (r >= 0)
		r = reported_specs(g, set, &keys);
	for (size_t i = 0; r >= 0 && i < bs_graph_get_n_nodes(g); i++) {
		const struct bs_node *n = bs_graph_get_node(g, i);
		const char *u = bs_node_get_unresolved(n);
		_cleanup_free_ char *copy = NULL;
		char *save = NULL;

		if (!u)
			continue;
		copy = strdup(u);
		if (!copy) {
			r = -ENOMEM;
			break;
		}
		for (char *spec = strtok_r(copy, " ", &save); spec;
		     spec = strtok_r(NULL, " ", &save)) {
			unescape(spec);
			if (!hashmap_get_str(set, spec))
				printf("note: %s needs '%s', not visible now (it may lie inside a "
				       "layer still closed)\n",
				       bs_node_get_id(n), spec);
		}
	}
	hashmap_free(set);
	return r;
}

const struct verb_options verb_check_options = {
	":hJ" CLI_GLOBAL_SHORTOPTS,
	(const struct option[]){
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'J' },
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

int verb_check(struct bs_ctx *ctx, int argc, char **argv)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	bool json = false;
	size_t n;
	int c, r;

	opterr = 0;
	while ((c = verb_getopt(argc, argv, &verb_check_options)) >= 0) {
		switch (c) {
		case 'h':
			check_help();
			return 0;
		case 'J':
			json = true;
			break;
		default:
			return log_usage_error("check: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return log_usage_error("check: unexpected argument '%s'", argv[optind]);

	r = bs_graph_new(ctx, &g);
	if (r < 0)
		return log_error_errno(r, "Failed to create the graph: %m");
	/* The configuration is checked even where no block device can be read (a bare
	 * --sysroot with only etc/): its references then resolve against nothing. */
	r = bs_graph_add_live(g);
	if (r == -ENOMEM)
		return log_error_errno(r, "Failed to read the block devices: %m");
	if (r < 0)
		log_error("No block devices below '%s' (%s), checking the configuration alone",
			  bs_ctx_get_sysroot(ctx), strerror(-r));
	/* A damaged recorded graph is reported by the library and left out. */
	r = bs_graph_add_recorded(g);
	if (r == -ENOMEM)
		return log_error_errno(r, "Failed to read the recorded graph: %m");
	r = bs_graph_add_config(g);
	if (r < 0 && r != -EBADMSG)
		return log_error_errno(r, "Failed to read the configuration: %m");

	n = bs_graph_get_n_problems(g);
	if (json) {
		_cleanup_free_ char *out = NULL;

		r = bs_graph_problems_to_json(g, &out);
		if (r < 0)
			return log_error_errno(r, "Failed to format the problems: %m");
		puts(out);
	} else {
		for (size_t i = 0; i < n; i++)
			puts(bs_graph_get_problem(g, i));
		r = print_notes(g);
		if (r < 0)
			return log_error_errno(r, "Failed to list the unresolved references: %m");
		if (n == 0)
			puts("configuration OK");
		else
			printf("%zu problem%s in the configuration\n", n, n == 1 ? "" : "s");
	}
	if (fflush(stdout) != 0)
		return log_error_errno(-errno, "Failed to write the output: %m");
	return n > 0 ? -EBADMSG : 0;
}
