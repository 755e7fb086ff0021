/* blkstack up and blkstack down: run the plan, with progress, and say what became of each step. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph-load.h"
#include "log.h"
#include "macro.h"
#include "parse.h"
#include "util.h"
#include "verbs.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_pins *, bs_pins_unref)

struct progress {
	bool json;
	bool terminal; /* a status line on stderr, rewritten in place */
	bool line_shown;
};

static void up_down_help(const char *verb)
{
	bool up = streq(verb, "up");

	printf("Usage: blkstack [--sysroot DIR] [--mount-root DIR] %s [TARGET...|--all] [OPTIONS]\n"
	       "\n"
	       "%s\n"
	       "A TARGET is a node id (lv:vg0/root), a mount point (/srv) or a device path.\n"
	       "\n"
	       "  -a --all              %s\n"
	       "%s"
	       "  -j --jobs=N           Run up to N steps at once (default: the number of CPUs)\n"
	       "%s"
	       "     --dry-run          Print the plan and run nothing\n"
	       "  -J --json             Progress events and the summary as JSON lines\n"
	       "  -h --help             Show this help\n"
	       "\n"
	       "Exit status: 0 done, 1 failed, 2 usage, 3 bad configuration, 4 a device timed\n"
	       "out, 5 busy%s. See blkstack(1).\n",
	       verb,
	       up ? "Bring the targets up, with every layer below them, in the order the graph\n"
		    "gives: each step starts as soon as what it needs is up. Without a recorded\n"
		    "graph, discover the stack layer by layer, then record it." :
		    "Take the targets down, with everything above them, and the layers below them\n"
		    "that nothing else holds. Busy nodes are retried while others go down; what\n"
		    "stays open is reported with the processes holding it.",
	       up ? "Every configured mount, swap and layer" : "Everything open",
	       up ? "" : "     --keep-root        Leave the root set and all below it; remount it read-only\n",
	       up ? "     --timeout=SEC      Wait up to SEC seconds for each device (default 90)\n"
		    "     --key-fd=FD        Read passphrases from FD, one a line\n"
		    "     --askpass-socket=PATH  Ask for passphrases through this socket\n"
		    "     --console=TTY      Ask for passphrases on TTY (default /dev/tty)\n"
		    "     --no-record        Do not record the graph when done\n"
		    "     --pins=FILE        Verify the devices against FILE (default:\n"
		    "                        " BS_PINS_PATH ", when it exists)\n"
		    "     --no-verify        Do not verify the devices against their pins\n" :
		    "",
	       up ? ", 6 a device refused by its pins" : "");
}

static void progress_clear(struct progress *p)
{
	if (p->terminal && p->line_shown) {
		fputs("\r\033[K", stderr);
		p->line_shown = false;
	}
}

static void event_json(const struct bs_exec_event *ev)
{
	json_object *o = json_object_new_object();

	if (!o)
		return;
	json_object_object_add(o, "event",
			       json_object_new_string(bs_exec_event_type_to_string(ev->type)));
	if (ev->round)
		json_object_object_add(o, "round", json_object_new_int((int)ev->round));
	if (ev->step)
		json_object_object_add(o, "step", json_object_new_int((int)ev->step));
	if (ev->action)
		json_object_object_add(o, "action", json_object_new_string(ev->action));
	if (ev->node)
		json_object_object_add(o, "node", json_object_new_string(ev->node));
	if (ev->error)
		json_object_object_add(o, "error", json_object_new_string(strerror(-ev->error)));
	if (ev->message)
		json_object_object_add(o, "message", json_object_new_string(ev->message));
	if (ev->n_total) {
		json_object_object_add(o, "done", json_object_new_int((int)ev->n_done));
		json_object_object_add(o, "total", json_object_new_int((int)ev->n_total));
	}
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
}

static void on_event(void *userdata, const struct bs_exec_event *ev)
{
	struct progress *p = userdata;

	if (p->json) {
		event_json(ev);
		return;
	}
	switch (ev->type) {
	case BS_EXEC_EVENT_START:
	case BS_EXEC_EVENT_WAIT:
		if (!p->terminal)
			return;
		progress_clear(p);
		fprintf(stderr, "[%u/%u] %s %s%s%s", ev->n_done + 1, ev->n_total, ev->action,
			ev->node, ev->message ? ": " : "", strempty(ev->message));
		p->line_shown = true;
		break;
	case BS_EXEC_EVENT_ROUND:
		if (ev->message) {
			progress_clear(p);
			fprintf(stderr, "blkstack: %s\n", ev->message);
		}
		break;
	case BS_EXEC_EVENT_BUSY:
		/* Retried while other steps make progress; what still holds it at the end is
		 * reported then, so once is enough here. */
		if (ev->round > 1)
			break;
		_fallthrough_;
	case BS_EXEC_EVENT_FAILED:
		/* A refusal is said once, each device with its field, after the run. */
		if (ev->error == -EKEYREJECTED)
			break;
		_fallthrough_;
	case BS_EXEC_EVENT_WARNING:
	case BS_EXEC_EVENT_BLOCKER:
		progress_clear(p);
		fprintf(stderr, "blkstack: %s%s%s %s: %s\n",
			ev->type == BS_EXEC_EVENT_WARNING ? "WARNING: " : "",
			ev->type == BS_EXEC_EVENT_BLOCKER ? "still open: " : "",
			strna(ev->action), strna(ev->node), strna(ev->message));
		break;
	default:
		break;
	}
}

static void print_summary(struct bs_exec *e, const struct progress *p, int r)
{
	size_t n = bs_exec_get_n_results(e), counts[_BS_EXEC_STATUS_MAX] = {};

	if (p->json) {
		_cleanup_free_ char *json = NULL;

		if (bs_exec_results_to_json(e, &json) >= 0)
			printf("{\"event\":\"summary\",\"exit\":\"%s\",\"summary\":%s}\n",
			       r >= 0 ? "ok" : strerror(-r), json);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		enum bs_exec_status s = bs_exec_get_result_status(e, i);
		const char *m = bs_exec_get_result_message(e, i);

		counts[s]++;
		printf("%-8s %-14s %s%s%s\n", bs_exec_status_to_string(s),
		       bs_exec_get_result_action(e, i), bs_exec_get_result_node(e, i), m ? ": " : "",
		       strempty(m));
	}
	printf("%zu done, %zu failed, %zu skipped, %zu busy\n", counts[BS_EXEC_DONE],
	       counts[BS_EXEC_FAILED], counts[BS_EXEC_SKIPPED], counts[BS_EXEC_BUSY]);
}

static int dry_run(struct bs_ctx *ctx, enum bs_plan_op op, const char *const *targets,
		   unsigned flags, bool json)
{
	struct bs_graph *g = NULL;
	struct bs_plan *p = NULL;
	_cleanup_free_ char *out = NULL;
	int r;

	r = cli_load_graph(ctx, CLI_LOAD_STRICT, &g);
	if (r < 0)
		return r;
	r = bs_plan_new(g, op, targets, flags, &p);
	if (r == -ELOOP)
		r = -EBADMSG;
	if (r >= 0)
		r = json ? bs_plan_to_json(p, &out) : bs_plan_to_text(p, &out);
	if (r >= 0) {
		fputs(out, stdout);
		if (json)
			putchar('\n');
	}
	bs_plan_unref(p);
	bs_graph_unref(g);
	return r;
}

/* The pins up verifies against: file, else BS_PINS_PATH when it exists (*ret NULL when it
 * does not, or with no_verify, said on stderr). */
static int read_pins(struct bs_ctx *ctx, const char *file, bool no_verify, struct bs_pins **ret)
{
	int r;

	*ret = NULL;
	if (no_verify) {
		log_error("up: --no-verify: the devices are not verified against their pins");
		return 0;
	}
	r = bs_pins_read(ctx, file, ret);
	if (r == -ENOENT && !file)
		return 0;
	if (r == -ENOENT)
		return log_error_errno(r, "up: --pins: '%s' does not exist", file);
	if (r < 0) {
		log_error_errno(r, "up: cannot read the pins '%s': %m; nothing was run (--no-verify "
			       "runs without them)",
			       file ? file : BS_PINS_PATH);
		/* A failure (exit 1), as verify says it, not an error of the configuration. */
		return r == -EBADMSG ? -EIO : r;
	}
	return 0;
}

static int parse_seconds(const char *s, uint64_t *ret)
{
	uint32_t v;

	if (safe_atou32(s, &v) < 0 || v == 0 || v > 24u * 3600u)
		return -EINVAL;
	*ret = (uint64_t)v * 1000000u;
	return 0;
}

enum {
	ARG_KEEP_ROOT = 0x100,
	ARG_TIMEOUT,
	ARG_KEY_FD,
	ARG_ASKPASS,
	ARG_CONSOLE,
	ARG_DRY_RUN,
	ARG_NO_RECORD,
	ARG_PINS,
	ARG_NO_VERIFY,
};

const struct verb_options verb_up_down_options = {
	":haj:J" CLI_GLOBAL_SHORTOPTS,
	(const struct option[]){
		{ "help", no_argument, NULL, 'h' },
		{ "all", no_argument, NULL, 'a' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, 'J' },
		{ "keep-root", no_argument, NULL, ARG_KEEP_ROOT },
		{ "timeout", required_argument, NULL, ARG_TIMEOUT },
		{ "key-fd", required_argument, NULL, ARG_KEY_FD },
		{ "askpass-socket", required_argument, NULL, ARG_ASKPASS },
		{ "console", required_argument, NULL, ARG_CONSOLE },
		{ "dry-run", no_argument, NULL, ARG_DRY_RUN },
		{ "no-record", no_argument, NULL, ARG_NO_RECORD },
		{ "pins", required_argument, NULL, ARG_PINS },
		{ "no-verify", no_argument, NULL, ARG_NO_VERIFY },
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

static int verb_up_down(struct bs_ctx *ctx, int argc, char **argv, enum bs_plan_op op)
{
	struct bs_exec_opts opts = { .key_fd = -1 };
	_cleanup_(bs_pins_unrefp) struct bs_pins *pins = NULL;
	struct progress progress = {};
	const char *pins_file = NULL;
	bool all = false, dry = false, no_verify = false, up = op == BS_PLAN_UP;
	const char *verb = argv[0];
	struct bs_exec *e = NULL;
	unsigned flags = 0;
	uint32_t v;
	int c, r;

	opterr = 0;
	while ((c = verb_getopt(argc, argv, &verb_up_down_options)) >= 0) {
		switch (c) {
		case 'h':
			up_down_help(verb);
			return 0;
		case 'a':
			all = true;
			break;
		case 'j':
			if (safe_atou32(optarg, &v) < 0 || v == 0 || v > 1024)
				return log_usage_error("%s: --jobs takes a number from 1 to 1024, not "
						       "'%s'",
						       verb, optarg);
			opts.jobs = v;
			break;
		case 'J':
			progress.json = true;
			break;
		case ARG_KEEP_ROOT:
			if (up)
				return log_usage_error("up: --keep-root applies to 'down' only");
			flags |= BS_PLAN_KEEP_ROOT;
			break;
		case ARG_TIMEOUT:
			if (parse_seconds(optarg, &opts.timeout_usec) < 0)
				return log_usage_error("%s: --timeout takes seconds (1 to 86400), not "
						       "'%s'",
						       verb, optarg);
			break;
		case ARG_KEY_FD:
			if (safe_atou32(optarg, &v) < 0 || v > 65535 || fcntl((int)v, F_GETFD) < 0)
				return log_usage_error("%s: --key-fd: '%s' is no open descriptor",
						       verb, optarg);
			opts.key_fd = (int)v;
			break;
		case ARG_ASKPASS:
			opts.askpass_socket = optarg;
			break;
		case ARG_CONSOLE:
			opts.console = optarg;
			break;
		case ARG_DRY_RUN:
			dry = true;
			break;
		case ARG_NO_RECORD:
			opts.no_record = 1;
			break;
		case ARG_PINS:
			if (optarg[0] == '\0')
				return log_usage_error("up: --pins needs a file name");
			pins_file = optarg;
			break;
		case ARG_NO_VERIFY:
			no_verify = true;
			break;
		case ':':
			return log_usage_error("%s: option '%s' needs an argument", verb,
					       argv[optind - 1]);
		default:
			return log_usage_error("%s: unknown option '%s'", verb, argv[optind - 1]);
		}
	}
	if (all == (optind < argc))
		return log_usage_error("%s: give TARGETs or --all (one of the two)", verb);
	if (!up && (opts.timeout_usec || opts.key_fd >= 0 || opts.askpass_socket ||
		    opts.console || opts.no_record || pins_file || no_verify))
		return log_usage_error("down: --timeout, --key-fd, --askpass-socket, --console, "
				       "--no-record, --pins and --no-verify apply to 'up' only");
	if (pins_file && no_verify)
		return log_usage_error("up: --pins and --no-verify exclude each other");

	if (dry)
		return dry_run(ctx, op, all ? NULL : (const char *const *)argv + optind, flags,
			       progress.json);
	if (!streq(bs_ctx_get_sysroot(ctx), "/"))
		return log_usage_error("%s acts on the running system; --sysroot is for reading "
				       "(use --dry-run to see the plan for '%s')",
				       verb, bs_ctx_get_sysroot(ctx));

	/* A line rewritten in place needs a terminal that understands it; a serial console
	 * without TERM gets the messages and the summary only. */
	progress.terminal = !progress.json && isatty(STDERR_FILENO) && getenv("TERM") &&
			    !streq(getenv("TERM"), "dumb");
	if (up) {
		r = read_pins(ctx, pins_file, no_verify, &pins);
		if (r < 0)
			return r;
		opts.pins = pins;
	}
	r = bs_exec_new(ctx, &opts, &e);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the executor: %m");
	bs_exec_set_event_fn(e, on_event, &progress);
	r = bs_exec_run(e, op, all ? NULL : (const char *const *)argv + optind, flags);
	progress_clear(&progress);
	if (r == -EBADMSG)
		log_error("the configuration has problems ('blkstack check' lists them); nothing "
			  "was run");
	for (size_t i = 0; !progress.json && i < bs_exec_get_n_refusals(e); i++)
		log_error("REFUSED: %s", bs_exec_get_refusal(e, i));
	print_summary(e, &progress, r);
	fflush(stdout);
	bs_exec_unref(e);
	return r;
}

int verb_up(struct bs_ctx *ctx, int argc, char **argv)
{
	return verb_up_down(ctx, argc, argv, BS_PLAN_UP);
}

int verb_down(struct bs_ctx *ctx, int argc, char **argv)
{
	return verb_up_down(ctx, argc, argv, BS_PLAN_DOWN);
}
