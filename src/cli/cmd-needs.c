/* blkstack needs: what an initramfs must hold for the root set, and why. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph-load.h"
#include "log.h"
#include "macro.h"
#include "strv.h"
#include "util.h"
#include "verbs.h"

static void needs_help(void)
{
	printf("Usage: blkstack [--sysroot DIR] needs [--root MOUNTPOINT] [--resume DEV]\n"
	       "                [--also ID]... [--kernel VERSION] [--json]\n"
	       "\n"
	       "List what an initramfs needs to bring up the root set (root, /usr and the resume\n"
	       "device) and nothing else: the nodes of its closure with the identities to wait\n"
	       "for (never kernel names), the layer kinds in it, the configuration lines that\n"
	       "describe them, the key files the image must carry, and the kernel modules,\n"
	       "binaries and shared libraries that 'blkstack initramfs' puts in it.\n"
	       "\n"
	       "     --root MOUNTPOINT  The root filesystem (default /)\n"
	       "     --resume DEV       The resume device (default: the one the kernel names)\n"
	       "     --also ID          Bring this node, mount point or device up too\n"
	       "     --kernel VERSION   The kernel whose modules to list (default: the running\n"
	       "                        one for /, else the only one in DIR/lib/modules)\n"
	       "  -J --json             As JSON\n"
	       "     --manifest         The manifest an initramfs carries for it (JSON)\n"
	       "  -h --help             Show this help\n");
}

enum {
	ARG_ROOT = 0x100,
	ARG_RESUME,
	ARG_ALSO,
	ARG_MANIFEST,
	ARG_KERNEL,
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
		{ "kernel", required_argument, NULL, ARG_KERNEL },
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_needs *, bs_needs_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_initramfs *, bs_initramfs_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)

static const char *const wait_for[] = { "serial",  "partuuid", "uuid_sub", "uuid",    "md_uuid",
					"vg_uuid", "lv_uuid",  "label",	   "dm_name", NULL };

static void print_items(const char *title, const struct bs_initramfs *b,
			size_t (*count)(const struct bs_initramfs *),
			const struct bs_initramfs_item *(*get)(const struct bs_initramfs *, size_t))
{
	printf("%s:\n", title);
	for (size_t i = 0; i < count(b); i++) {
		const struct bs_initramfs_item *it = get(b, i);

		printf("  %-24s %s  (%s)\n", it->name, it->path ? it->path : "built in",
		       strna(it->why));
	}
}

static void print_image(const struct bs_initramfs *b)
{
	if (bs_initramfs_get_kernel(b)) {
		char title[300];

		(void)snprintf(title, sizeof(title), "modules (kernel %s)",
			       bs_initramfs_get_kernel(b));
		print_items(title, b, bs_initramfs_get_n_modules, bs_initramfs_get_module);
	} else
		printf("modules: unknown (no kernel module tree)\n");
	print_items("binaries", b, bs_initramfs_get_n_binaries, bs_initramfs_get_binary);
	print_items("libraries", b, bs_initramfs_get_n_libraries, bs_initramfs_get_library);
}

/* needs --json with what the image holds: "kernel", "modules" (null when unknown),
 * "binaries", "libraries" and "warnings", from bs_initramfs_to_json(). */
static int needs_json(const struct bs_needs *n, const struct bs_initramfs *b, char **ret)
{
	_cleanup_free_ char *a = NULL, *c = NULL;
	_cleanup_(json_object_putp) json_object *needs = NULL, *image = NULL;
	static const char *const keys[] = { "kernel", "modules", "binaries", "libraries",
					    "warnings" };
	const char *s;
	int r;

	r = bs_needs_to_json(n, &a);
	if (r >= 0)
		r = bs_initramfs_to_json(b, &c);
	if (r < 0)
		return r;
	needs = json_tokener_parse(a);
	image = json_tokener_parse(c);
	if (!needs || !image)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		json_object *v = NULL;

		if (!json_object_object_get_ex(image, keys[i], &v))
			return -EBADMSG;
		if (streq(keys[i], "modules") && !bs_initramfs_get_kernel(b))
			v = NULL;
		if (json_object_object_add(needs, keys[i], json_object_get(v)) < 0)
			return -ENOMEM;
	}
	s = json_object_to_json_string_ext(needs, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_SPACED |
							  JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || !(*ret = strdup(s)))
		return -ENOMEM;
	return 0;
}

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
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = NULL;
	struct bs_initramfs_opts opts = { .flags = BS_INITRAMFS_CONTENTS_ONLY };
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
		case ARG_KERNEL:
			if (optarg[0] == '\0' || strchr(optarg, '/'))
				return log_usage_error("needs: '%s' is no kernel version", optarg);
			opts.kernel = optarg;
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
	if (manifest) {
		_cleanup_free_ char *out = NULL;

		r = bs_needs_to_manifest(n, NULL, NULL, &out);
		if (r < 0)
			return log_error_errno(r, "Failed to format what is needed: %m");
		puts(out);
		goto done;
	}
	/* What the image would hold; what is not there is said, and the rest listed. */
	r = bs_initramfs_new(n, &opts, &b);
	if (r < 0)
		return log_error_errno(r, "needs: the image's contents are unknown: %m");
	for (size_t i = 0; i < bs_initramfs_get_n_warnings(b); i++)
		log_error("warning: %s", bs_initramfs_get_warning(b, i));
	if (json) {
		_cleanup_free_ char *out = NULL;

		r = needs_json(n, b, &out);
		if (r < 0)
			return log_error_errno(r, "Failed to format what is needed: %m");
		puts(out);
	} else {
		print_text(n);
		print_image(b);
	}
done:
	if (fflush(stdout) != 0)
		return log_error_errno(-errno, "Failed to write the output: %m");
	return 0;
}
