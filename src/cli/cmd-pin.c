/* blkstack pin and verify: record the identities of the layers, and refuse forged devices. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "macro.h"
#include "util.h"
#include "verbs.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_pins *, bs_pins_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_verify *, bs_verify_unref)

static void pin_help(void)
{
	printf("Usage: blkstack [--sysroot DIR] pin [--output FILE] [--json]\n"
	       "\n"
	       "Read what identifies every crypt, md, LVM and filesystem layer of the running\n"
	       "system (LUKS headers without a key: UUID, cipher, layout and volume key digest;\n"
	       "array and VG members; filesystem UUIDs and types) and write it to\n"
	       "DIR" BS_PINS_PATH ", for 'blkstack verify' and the initramfs.\n"
	       "\n"
	       "  -o --output FILE   Write to FILE instead\n"
	       "  -J --json          Print the pins as JSON\n"
	       "  -h --help          Show this help\n");
}

static void verify_help(void)
{
	printf("Usage: blkstack [--sysroot DIR] verify [--pins FILE] [--json]\n"
	       "\n"
	       "Compare every present device with its pins (DIR" BS_PINS_PATH ") and refuse,\n"
	       "with exit code 6, a device whose pinned field differs, a LUKS segment or keyslot\n"
	       "that uses cipher_null, a plaintext device where a crypt layer was pinned, an\n"
	       "unexpected md member or PV, or two devices with one pinned identity.\n"
	       "\n"
	       "  -p --pins FILE     Read the pins from FILE instead\n"
	       "  -J --json          Print the outcome as JSON\n"
	       "  -h --help          Show this help\n");
}

const struct verb_options verb_pin_options = {
	":ho:J" CLI_GLOBAL_SHORTOPTS,
	(const struct option[]){
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'J' },
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

const struct verb_options verb_verify_options = {
	":hp:J" CLI_GLOBAL_SHORTOPTS,
	(const struct option[]){
		{ "help", no_argument, NULL, 'h' },
		{ "pins", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'J' },
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

/* The options of pin and verify: a file (-o or -p), --json and --help. Returns 1 to go on, 0
 * after --help, or a usage error. */
static int parse_args(const char *verb, const struct verb_options *o, void (*help)(void), int argc,
		      char **argv, const char **ret_file, bool *ret_json)
{
	int c;

	opterr = 0;
	while ((c = verb_getopt(argc, argv, o)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case 'o':
		case 'p':
			if (optarg[0] == '\0')
				return log_usage_error("%s: '%s' needs a file name", verb,
						       argv[optind - 1]);
			*ret_file = optarg;
			break;
		case 'J':
			*ret_json = true;
			break;
		case ':':
			return log_usage_error("%s: option '%s' needs an argument", verb,
					       argv[optind - 1]);
		default:
			return log_usage_error("%s: unknown option '%s'", verb, argv[optind - 1]);
		}
	}
	if (optind < argc)
		return log_usage_error("%s: unexpected argument '%s'", verb, argv[optind]);
	return 1;
}

/* The path for messages: file, or the pins file below the sysroot. */
static int pins_path(struct bs_ctx *ctx, const char *file, char **ret)
{
	const char *sysroot = bs_ctx_get_sysroot(ctx);

	if (file)
		return (*ret = strdup(file)) ? 0 : log_error_errno(-ENOMEM, "Out of memory");
	if (strextend(ret, streq(sysroot, "/") ? "" : sysroot, BS_PINS_PATH, NULL) < 0)
		return log_error_errno(-ENOMEM, "Out of memory");
	return 0;
}

int verb_pin(struct bs_ctx *ctx, int argc, char **argv)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = NULL;
	_cleanup_free_ char *path = NULL;
	const char *output = NULL;
	bool json = false;
	int r;

	r = parse_args("pin", &verb_pin_options, pin_help, argc, argv, &output, &json);
	if (r <= 0)
		return r;
	r = pins_path(ctx, output, &path);
	if (r < 0)
		return r;

	/* The live graph alone: a pin says what the devices are now. */
	r = bs_graph_load(ctx, &(struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL);
	if (r < 0)
		return r;
	r = bs_pins_new(g, NULL, &p);
	if (r < 0)
		return log_error_errno(r, "Failed to read the identities of the layers: %m");
	for (size_t i = 0; i < bs_pins_get_n_unpinned(p); i++)
		log_error("warning: '%s' is not pinned: %s", bs_pins_get_unpinned_node(p, i),
			  bs_pins_get_unpinned_reason(p, i));
	r = bs_pins_write(p, output);
	if (r < 0)
		return log_error_errno(r, "Failed to write the pins to '%s': %m", path);
	if (json) {
		_cleanup_free_ char *out = NULL;

		r = bs_pins_to_json(p, &out);
		if (r < 0)
			return log_error_errno(r, "Failed to format the pins: %m");
		puts(out);
	} else {
		for (size_t i = 0; i < bs_pins_get_n(p); i++) {
			const char *dev = bs_pins_get_device(p, i);

			printf("pinned %-4s %s%s%s%s uuid %s\n", bs_pins_get_kind(p, i),
			       bs_pins_get_node(p, i), dev ? " (/dev/" : "", strempty(dev),
			       dev ? ")" : "", strna(bs_pins_get_field(p, i, "uuid")));
		}
		printf("%zu pins written to %s\n", bs_pins_get_n(p), path);
	}
	if (fflush(stdout) != 0)
		return log_error_errno(-errno, "Failed to write the output: %m");
	return 0;
}

int verb_verify(struct bs_ctx *ctx, int argc, char **argv)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = NULL;
	_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL;
	_cleanup_free_ char *path = NULL;
	const char *file = NULL;
	bool json = false;
	int r, k;

	r = parse_args("verify", &verb_verify_options, verify_help, argc, argv, &file, &json);
	if (r <= 0)
		return r;
	r = pins_path(ctx, file, &path);
	if (r < 0)
		return r;
	r = bs_pins_read(ctx, file, &p);
	if (r == -ENOENT)
		return log_error_errno(r,
				       "verify: '%s' does not exist: run 'blkstack pin' while "
				       "the genuine devices are present",
				       path);
	if (r < 0) {
		log_error_errno(r, "verify: cannot read the pins '%s': %m", path);
		/* A failure (exit 1), not an error of the configuration (exit 3). */
		return r == -EBADMSG ? -EIO : r;
	}
	r = bs_graph_load(ctx, &(struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL);
	if (r < 0)
		return r;
	r = bs_pins_verify(p, g, &v);
	if (r < 0 && r != -EKEYREJECTED)
		return log_error_errno(r, "verify: %m");
	for (size_t i = 0; i < bs_verify_get_n_mismatches(v); i++)
		log_error("verify: %s: %s", path, bs_verify_get_message(v, i));
	if (json) {
		_cleanup_free_ char *out = NULL;

		k = bs_verify_to_json(v, &out);
		if (k < 0)
			return log_error_errno(k, "Failed to format the outcome: %m");
		puts(out);
	} else if (r == 0)
		printf("verified %zu devices against %zu pins (%zu pinned layers not present)\n",
		       bs_verify_get_n_checked(v), bs_pins_get_n(p), bs_verify_get_n_absent(v));
	if (fflush(stdout) != 0)
		return log_error_errno(-errno, "Failed to write the output: %m");
	return r;
}
