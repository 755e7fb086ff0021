/* The blkstack command: global options, then dispatch to a verb from the verb table. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "blkstack.h"
#include "config.h"
#include "exit-code.h"
#include "log.h"
#include "macro.h"
#include "util.h"
#include "verbs.h"

struct bs_verb {
	const char *name;
	/* argv[0] is the verb's name; a negative errno result becomes the exit code. */
	int (*run)(struct bs_ctx *ctx, int argc, char **argv);
	const char *help;
};

static int verb_help(struct bs_ctx *ctx, int argc, char **argv);
static int verb_version(struct bs_ctx *ctx, int argc, char **argv);

/* The extension point: a new verb is one line here and its run function in cmd-VERB.c. */
static const struct bs_verb verbs[] = {
	{ "check", verb_check, "Check the configuration and print every problem" },
	{ "down", verb_down, "Take targets down, with what holds them (--dry-run: the plan)" },
	{ "help", verb_help, "Show this help" },
	{ "plan", verb_plan, "Print the steps to bring targets up or down, running nothing" },
	{ "record", verb_record, "Record the live graph for the next cold start" },
	{ "show", verb_show, "Show the graph of block layers (tree, --json or --dot)" },
	{ "up", verb_up, "Bring targets up, with every layer below them (--dry-run: the plan)" },
	{ "version", verb_version, "Show the versions of blkstack and libblkstack" },
};

static const char *arg_sysroot;
static const char *arg_mount_root;
static bool arg_verbose;

static void print_help(void)
{
	printf("Usage: blkstack [OPTIONS] VERB [ARGUMENTS...]\n"
	       "\n"
	       "Options:\n"
	       "  -h --help           Show this help\n"
	       "  -V --version        Show the version\n"
	       "  -v --verbose        Log debug messages\n"
	       "     --sysroot=DIR    Read system state below DIR instead of /\n"
	       "     --mount-root=DIR The system's filesystems are mounted below DIR (as an\n"
	       "                      initramfs mounts the root at /sysroot)\n"
	       "\n"
	       "Verbs:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		printf("  %-18s  %s\n", verbs[i].name, verbs[i].help);
	printf("\nSee blkstack(1) for details.\n");
}

static void print_version(void)
{
	printf("blkstack %s\n", PROJECT_VERSION);
	printf("libblkstack %s\n", bs_version());
}

static int verb_help(_unused_ struct bs_ctx *ctx, int argc, _unused_ char **argv)
{
	if (argc > 1)
		return log_usage_error("'help' takes no arguments");

	print_help();
	return 0;
}

static int verb_version(_unused_ struct bs_ctx *ctx, int argc, _unused_ char **argv)
{
	if (argc > 1)
		return log_usage_error("'version' takes no arguments");

	print_version();
	return 0;
}

static const struct bs_verb *find_verb(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (streq(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

/* Returns 1 to go on with the verb at argv[optind], 0 to exit successfully, or a negative
 * errno. */
static int parse_argv(int argc, char **argv)
{
	enum {
		ARG_SYSROOT = 0x100,
		ARG_MOUNT_ROOT,
	};
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "sysroot", required_argument, NULL, ARG_SYSROOT },
		{ "mount-root", required_argument, NULL, ARG_MOUNT_ROOT },
		{},
	};
	int c;

	/* Our own messages instead of getopt's, which would name argv[0] and not point at
	 * --help. "+" stops at the verb, whose options are its own. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hVv", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			print_help();
			return 0;
		case 'V':
			print_version();
			return 0;
		case 'v':
			arg_verbose = true;
			break;
		case ARG_SYSROOT:
			if (optarg[0] == '\0')
				return log_usage_error("--sysroot needs a directory");
			arg_sysroot = optarg;
			break;
		case ARG_MOUNT_ROOT:
			if (optarg[0] != '/')
				return log_usage_error("--mount-root needs an absolute directory, not "
						       "'%s'",
						       optarg);
			arg_mount_root = optarg;
			break;
		case ':':
			return log_usage_error("option '%s' needs an argument", argv[optind - 1]);
		case '?':
			if (optopt != 0)
				return log_usage_error("unknown option '-%c'", optopt);
			return log_usage_error("unknown option '%s'", argv[optind - 1]);
		default:
			return log_usage_error("unhandled option '%s'", argv[optind - 1]);
		}
	}

	if (optind >= argc)
		return log_usage_error("missing verb");

	return 1;
}

static int run(int argc, char **argv)
{
	struct bs_ctx_opts opts = {};
	struct bs_ctx *ctx = NULL;
	const struct bs_verb *verb;
	int verb_index, r;

	r = parse_argv(argc, argv);
	if (r <= 0)
		return r;

	verb_index = optind;
	verb = find_verb(argv[verb_index]);
	if (!verb)
		return log_usage_error("unknown verb '%s'", argv[verb_index]);

	/* Created before any verb runs, so a bad --sysroot is reported the same way whichever
	 * verb was asked for. */
	opts.sysroot = arg_sysroot;
	opts.mount_root = arg_mount_root;
	r = bs_ctx_new(&opts, &ctx);
	if (r < 0)
		return log_error_errno(r, "Failed to open system root '%s': %m",
				       arg_sysroot ? arg_sysroot : "/");

	bs_ctx_set_log_fn(ctx, log_from_library, NULL);
	if (arg_verbose)
		(void)bs_ctx_set_log_priority(ctx, LOG_DEBUG);

	/* getopt_long() is reset for the verb, which parses its own options. */
	optind = 0;
	r = verb->run(ctx, argc - verb_index, argv + verb_index);

	bs_ctx_unref(ctx);
	return r;
}

int main(int argc, char **argv)
{
	/* First of all: this process may be one libblkstack started to open or close a
	 * dm-crypt mapping (blkstack.h). */
	int r = bs_helper_main(argc, argv);

	if (r >= 0)
		return r;
	return exit_code_from_errno(run(argc, argv));
}
