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
	printf("Usage: blkstack [--sysroot DIR] check [--json] [--strict]\n"
	       "\n"
	       "Read fstab, crypttab, mdadm.conf and stack.conf, merge them with the live and\n"
	       "the recorded graph, and print every problem: malformed lines, bad numbers,\n"
	       "duplicates, references no device provides, and cycles are errors; options and\n"
	       "keywords that blkstack does not know (but its peers accept) are warnings, and\n"
	       "are ignored. Exits with 3 when there is any error.\n"
	       "\n"
	       "  -J --json     The problems as JSON\n"
	       "     --strict   Warnings are errors too (exit 3)\n"
	       "  -h --help     Show this help\n");
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_problem_list *, bs_problem_list_free)

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

/* The references that problems report as unresolved. Keys point into problems. */
static int reported_specs(const struct bs_problem_list *problems, struct hashmap *set)
{
	for (size_t i = 0; i < bs_problem_list_get_n(problems); i++) {
		const struct bs_problem *p = bs_problem_list_get(problems, i);
		const char *spec = bs_problem_get_reference(p);
		int r;

		if (bs_problem_get_kind(p) != BS_PROBLEM_UNRESOLVED || !spec)
			continue;
		r = hashmap_put_str(set, spec, (void *)spec);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

/* References not visible now, which layers still closed may hold: no problem, but worth
 * knowing before a cold start without a recorded graph. */
static int print_notes(const struct bs_graph *g, const struct bs_problem_list *problems)
{
	struct hashmap *set = NULL;
	int r;

	r = hashmap_new(HASHMAP_STRING, &set);
	if (r >= 0)
		r = reported_specs(problems, set);
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
		{ "strict", no_argument, NULL, 'S' },
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

int verb_check(struct bs_ctx *ctx, int argc, char **argv)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	_cleanup_(bs_problem_list_freep) struct bs_problem_list *problems = NULL;
	struct bs_load_opts opts = { .flags = BS_LOAD_DEFAULT | BS_LOAD_LIVE_OPTIONAL };
	bool json = false, strict = false;
	size_t n, n_errors, n_warnings;
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
		case 'S':
			strict = true;
			break;
		default:
			return log_usage_error("check: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return log_usage_error("check: unexpected argument '%s'", argv[optind]);

	/* The configuration is checked even where no block device can be read (a bare
	 * --sysroot with only etc/): its references then resolve against nothing. */
	r = bs_graph_load(ctx, &opts, &g, &problems);
	if (r < 0)
		return r; /* the library named the source */

	n = bs_problem_list_get_n(problems);
	n_errors = bs_problem_list_count(problems, BS_PROBLEM_ERROR);
	n_warnings = n - n_errors;
	if (json) {
		_cleanup_free_ char *out = NULL;

		r = bs_problem_list_to_json(problems, &out);
		if (r < 0)
			return log_error_errno(r, "Failed to format the problems: %m");
		puts(out);
	} else {
		for (size_t i = 0; i < n; i++)
			puts(bs_problem_get_text(bs_problem_list_get(problems, i)));
		r = print_notes(g, problems);
		if (r < 0)
			return log_error_errno(r, "Failed to list the unresolved references: %m");
		if (n == 0)
			puts("configuration OK");
		else if (n_errors == 0)
			printf("configuration OK, %zu warning%s%s\n", n_warnings,
			       n_warnings == 1 ? "" : "s", strict ? " (errors with --strict)" : "");
		else if (n_warnings == 0)
			printf("%zu problem%s in the configuration\n", n, n == 1 ? "" : "s");
		else
			printf("%zu problem%s in the configuration (%zu error%s, %zu warning%s)\n",
			       n, n == 1 ? "" : "s", n_errors, n_errors == 1 ? "" : "s", n_warnings,
			       n_warnings == 1 ? "" : "s");
	}
	if (fflush(stdout) != 0)
		return log_error_errno(-errno, "Failed to write the output: %m");
	return n_errors > 0 || (strict && n_warnings > 0) ? -EBADMSG : 0;
}
