/* The verbs of the blkstack command, one cmd-VERB.c each. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <getopt.h>
#include <stdbool.h>

#include "blkstack.h"

/*
 * The global options -v, --sysroot and --mount-root may come after the verb as well as
 * before it. Every verb's tables for getopt_long() include them, and main.c reads them from
 * the verb's arguments with those same tables before it makes the context: so an option's
 * argument, a verb's own option or an argument after "--" is never taken for one. The verb
 * then passes over them (verb_getopt()). A verb's own options need other spellings and
 * other values.
 */
enum {
	ARG_GLOBAL_SYSROOT = 0x1000,
	ARG_GLOBAL_MOUNT_ROOT,
};

#define CLI_GLOBAL_SHORTOPTS "v"
/* clang-format cannot lay out initializers in a macro. */
/* clang-format off */
#define CLI_GLOBAL_OPTIONS                                                                         \
	{ "verbose", no_argument, NULL, 'v' },                                                     \
	{ "sysroot", required_argument, NULL, ARG_GLOBAL_SYSROOT },                                \
	{ "mount-root", required_argument, NULL, ARG_GLOBAL_MOUNT_ROOT }
/* clang-format on */

static inline bool verb_option_is_global(int c)
{
	return c == 'v' || c == ARG_GLOBAL_SYSROOT || c == ARG_GLOBAL_MOUNT_ROOT;
}

/* A verb's tables for getopt_long(), with CLI_GLOBAL_SHORTOPTS and CLI_GLOBAL_OPTIONS. */
struct verb_options {
	const char *shortopts;
	const struct option *longopts;
};

extern const struct verb_options verb_show_options;
extern const struct verb_options verb_plan_options;
extern const struct verb_options verb_needs_options;
extern const struct verb_options verb_initramfs_options;
extern const struct verb_options verb_record_options;
extern const struct verb_options verb_check_options;
extern const struct verb_options verb_up_down_options;
extern const struct verb_options verb_shutdown_options;
extern const struct verb_options verb_pin_options;
extern const struct verb_options verb_verify_options;
extern const struct verb_options verb_suspend_options;

/* getopt_long() on a verb's arguments, passing over the global options, which main.c has
 * read already. */
static inline int verb_getopt(int argc, char **argv, const struct verb_options *o)
{
	int c;

	do
		c = getopt_long(argc, argv, o->shortopts, o->longopts, NULL);
	while (verb_option_is_global(c));
	return c;
}

/* argv[0] is the verb's name. Returns >= 0 on success or a negative errno, which main()
 * maps to the exit code. */
int verb_show(struct bs_ctx *ctx, int argc, char **argv);
int verb_plan(struct bs_ctx *ctx, int argc, char **argv);
int verb_needs(struct bs_ctx *ctx, int argc, char **argv);
int verb_initramfs(struct bs_ctx *ctx, int argc, char **argv);
int verb_record(struct bs_ctx *ctx, int argc, char **argv);
int verb_check(struct bs_ctx *ctx, int argc, char **argv);
int verb_up(struct bs_ctx *ctx, int argc, char **argv);
int verb_down(struct bs_ctx *ctx, int argc, char **argv);
int verb_shutdown(struct bs_ctx *ctx, int argc, char **argv);
int verb_pin(struct bs_ctx *ctx, int argc, char **argv);
int verb_verify(struct bs_ctx *ctx, int argc, char **argv);
/* suspend and resume, one function: argv[0] tells them apart. */
int verb_suspend(struct bs_ctx *ctx, int argc, char **argv);
