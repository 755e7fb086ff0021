/* The blkstack command: global options, then dispatch to a verb from the verb table. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "blkstack.h"
#include "build-config.h"
#include "exit-code.h"
#include "log.h"
#include "macro.h"
#include "util.h"
#include "verbs.h"

struct bs_verb {
	const char *name;
	/* argv[0] is the verb's name; a negative errno result becomes the exit code. */
	int (*run)(struct bs_ctx *ctx, int argc, char **argv);
	/* What run() parses its arguments with; main.c reads the global options from them. */
	const struct verb_options *options;
	const char *help;
};

static int verb_help(struct bs_ctx *ctx, int argc, char **argv);
static int verb_version(struct bs_ctx *ctx, int argc, char **argv);

/* help and version take the global options only. */
static const struct verb_options global_options = {
	":" CLI_GLOBAL_SHORTOPTS,
	(const struct option[]){
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

/* The extension point: a new verb is one line here and its run function in cmd-VERB.c. */
static const struct bs_verb verbs[] = {
	{ "check", verb_check, &verb_check_options,
	  "Check the configuration and print every problem" },
	{ "down", verb_down, &verb_up_down_options,
	  "Take targets down, with what holds them (--dry-run: the plan)" },
	{ "help", verb_help, &global_options, "Show this help" },
	{ "initramfs", verb_initramfs, &verb_initramfs_options,
	  "Build the initramfs for the root set: /init, modules, binaries, key files" },
	{ "needs", verb_needs, &verb_needs_options,
	  "What an initramfs needs for the root set: nodes, modules, binaries, key files" },
	{ "pin", verb_pin, &verb_pin_options,
	  "Record the identities of the crypt, md, LVM and filesystem layers" },
	{ "plan", verb_plan, &verb_plan_options,
	  "Print the steps to bring targets up or down, running nothing" },
	{ "record", verb_record, &verb_record_options,
	  "Record the live graph for the next cold start" },
	{ "resume", verb_suspend, &verb_suspend_options,
	  "After 'suspend --hook': wait until the suspend stage resumed every mapping" },
	{ "shutdown", verb_shutdown, &verb_shutdown_options,
	  "Shut down cleanly: non-root layers, root read-only, then the shutdown ramfs" },
	{ "show", verb_show, &verb_show_options,
	  "Show the graph of block layers (tree, --json or --dot)" },
	{ "suspend", verb_suspend, &verb_suspend_options,
	  "Suspend to RAM with every dm-crypt key wiped, from the shutdown ramfs" },
	{ "up", verb_up, &verb_up_down_options,
	  "Bring targets up, with every layer below them (--dry-run: the plan)" },
	{ "verify", verb_verify, &verb_verify_options,
	  "Refuse devices that differ from their pins (exit code 6)" },
	{ "version", verb_version, &global_options,
	  "Show the versions of blkstack and libblkstack" },
};

static const char *arg_sysroot;
static const char *arg_mount_root;
static bool arg_verbose;

static void print_help(void)
{
	printf("Usage: blkstack [OPTIONS] VERB [ARGUMENTS...]\n"
	       "\n"
	       "Options (-v, --sysroot and --mount-root also after the verb):\n"
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

static int verb_help(_unused_ struct bs_ctx *ctx, int argc, char **argv)
{
	if (verb_getopt(argc, argv, &global_options) >= 0 || optind < argc)
		return log_usage_error("'help' takes no arguments");

	print_help();
	return 0;
}

static int verb_version(_unused_ struct bs_ctx *ctx, int argc, char **argv)
{
	if (verb_getopt(argc, argv, &global_options) >= 0 || optind < argc)
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

/* Takes global option c (verb_option_is_global()) with its argument. Returns 0, or a usage
 * error. */
static int parse_global_option(int c, const char *arg)
{
	switch (c) {
	case 'v':
		arg_verbose = true;
		return 0;
	case ARG_GLOBAL_SYSROOT:
		if (arg[0] == '\0')
			return log_usage_error("--sysroot needs a directory");
		arg_sysroot = arg;
		return 0;
	case ARG_GLOBAL_MOUNT_ROOT:
		if (arg[0] != '/')
			return log_usage_error("--mount-root needs an absolute directory, not '%s'",
					       arg);
		arg_mount_root = arg;
		return 0;
	default:
		return log_usage_error("unhandled option %d", c);
	}
}

/* Returns 1 to go on with the verb at argv[optind], 0 to exit successfully, or a negative
 * errno. */
static int parse_argv(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		CLI_GLOBAL_OPTIONS,
		{},
	};
	int c, r;

	/* Our own messages instead of getopt's, which would name argv[0] and not point at
	 * --help. "+" stops at the verb: what follows is read with the verb's tables. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hV" CLI_GLOBAL_SHORTOPTS, options, NULL)) >= 0) {
		if (verb_option_is_global(c)) {
			r = parse_global_option(c, optarg);
			if (r < 0)
				return r;
			continue;
		}
		switch (c) {
		case 'h':
			print_help();
			return 0;
		case 'V':
			print_version();
			return 0;
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

/* The global options among the verb's arguments (argv[0] is the verb), read with the verb's
 * own tables, which include them; everything else is the verb's to parse and to report. */
static int parse_verb_argv(const struct bs_verb *verb, int argc, char **argv)
{
	_cleanup_free_ char **copy = NULL;
	int c, r;

	/* getopt_long() reorders what it reads; the verb gets its arguments as they came. */
	copy = calloc((size_t)argc + 1, sizeof(char *));
	if (!copy)
		return log_error_errno(-ENOMEM, "Out of memory");
	memcpy(copy, argv, (size_t)argc * sizeof(char *));

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, copy, verb->options->shortopts, verb->options->longopts,
				NULL)) >= 0) {
		if (c == ':' && verb_option_is_global(optopt))
			return log_usage_error("option '%s' needs an argument", copy[optind - 1]);
		if (!verb_option_is_global(c))
			continue;
		r = parse_global_option(c, optarg);
		if (r < 0)
			return r;
	}
	return 0;
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
	r = parse_verb_argv(verb, argc - verb_index, argv + verb_index);
	if (r < 0)
		return r;

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
