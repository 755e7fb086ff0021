/* blkstack needs: what an initramfs must hold for the root set, and why. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "graph-load.h"
#include "log.h"
#include "macro.h"
#include "strv.h"
#include "util.h"
#include "verbs.h"

static void needs_help(void)
{
	printf("Usage: blkstack [--sysroot DIR] needs [--root MOUNTPOINT] [--resume DEV]\n"
	       "                [--also ID]... [--json]\n"
	       "\n"
	       "List what an initramfs needs to bring up the root set (root, /usr and the resume\n"
	       "device) and nothing else: the nodes of its closure with the identities to wait\n"
	       "for (never kernel names), the layer kinds in it, the configuration lines that\n"
	       "describe them, and the key files the image must carry.\n"
	       "\n"
	       "     --root MOUNTPOINT  The root filesystem (default /)\n"
	       "     --resume DEV       The resume device (default: the one the kernel names)\n"
	       "     --also ID          Bring this node, mount point or device up too\n"
	       "  -J --json             As JSON\n"
	       "     --manifest         The manifest an initramfs carries for it (JSON)\n"
	       "  -h --help             Show this help\n");
}

enum {
	ARG_ROOT = 0x100,
	ARG_RESUME,
	ARG_ALSO,
	ARG_MANIFEST,
};

const struct verb_options verb_needs_options = {
	":hJ" CLI_GLOBAL_SHORTOPTS,
	(const struct option[]){
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'J' },
		{ "root", required_argument, NULL, ARG_ROOT },
		{ "resume", required_argument, NULL, ARG_RESUME },
		{ "also", required_argument, NULL, ARG_ALSO },
		{ "manifest", no_argument, NULL, ARG_MANIFEST },
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_needs *, bs_needs_unref)

static const char *const wait_for[] = { "serial",  "partuuid", "uuid_sub", "uuid",    "md_uuid",
					"vg_uuid", "lv_uuid",  "label",	   "dm_name", NULL };

static void print_text(const struct bs_needs *n)
{
	printf("kinds:");
	for (int k = 0; k < _BS_NODE_KIND_MAX; k++)
		if (bs_needs_has_kind(n, k))
			printf(" %s", bs_node_kind_to_string(k));
	printf("\n");
	for (size_t i = 0; i < bs_needs_get_n_nodes(n); i++) {
		const struct bs_node *x = bs_needs_get_node(n, i);

		printf("%-26s %s", bs_node_get_id(x), bs_node_kind_to_string(bs_node_get_kind(x)));
		for (const char *const *a = wait_for; *a; a++) {
			const char *v = bs_node_get_attr(x, *a);

			if (v)
				printf(" %s=%s", *a, v);
		}
		printf("\n");
	}
}

int verb_needs(struct bs_ctx *ctx, int argc, char **argv)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	_cleanup_(bs_needs_unrefp) struct bs_needs *n = NULL;
	_cleanup_strv_free_ char **also = NULL;
	const char *root = NULL, *resume = NULL;
	bool json = false, manifest = false;
	int c, r;

	opterr = 0;
	while ((c = verb_getopt(argc, argv, &verb_needs_options)) >= 0) {
		switch (c) {
		case 'h':
			needs_help();
			return 0;
		case 'J':
			json = true;
			break;
		case ARG_ROOT:
			root = optarg;
			break;
		case ARG_RESUME:
			resume = optarg;
			break;
		case ARG_MANIFEST:
			manifest = true;
			break;
		case ARG_ALSO:
			if (strv_extend(&also, optarg) < 0)
				return log_error_errno(-ENOMEM, "Out of memory");
			break;
		case ':':
			return log_usage_error("needs: option '%s' needs an argument",
					       argv[optind - 1]);
		default:
			return log_usage_error("needs: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return log_usage_error("needs: unexpected argument '%s'", argv[optind]);
	if (json && manifest)
		return log_usage_error("needs: --json and --manifest exclude each other");

	r = cli_load_graph(ctx, CLI_LOAD_STRICT, &g);
	if (r < 0)
		return r;
	/* The library says what root, resume or --also named that it does not know. */
	r = bs_needs_new(g, root, resume, (const char *const *)also, &n);
	if (r < 0)
		return r;
	if (json || manifest) {
		_cleanup_free_ char *out = NULL;

		r = manifest ? bs_needs_to_manifest(n, NULL, NULL, &out) : bs_needs_to_json(n, &out);
		if (r < 0)
			return log_error_errno(r, "Failed to format what is needed: %m");
		puts(out);
	} else
		print_text(n);
	if (fflush(stdout) != 0)
		return log_error_errno(-errno, "Failed to write the output: %m");
	return 0;
}
