/* blkstack shutdown: stage one of a clean shutdown, then the hand-over to the shutdown ramfs. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Stage one runs on the running system: it stops the processes that hold the filesystems
 * not of the root set, takes those filesystems and every layer only they use down (down
 * --all --keep-root: the root set is remounted read-only), and syncs until the kernel says
 * nothing is dirty. What is below root stays open, on purpose, and is said once. Then it hands
 * over to the shutdown ramfs, which /init kept in /run/initramfs, exactly as systemd-shutdown
 * hands over to an exitrd: PID 1 pivots into it and executes /shutdown VERB, which closes
 * what stage one had to keep. Errors are said and never stop the machine from going down.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "graph-load.h"
#include "log.h"
#include "macro.h"
#include "parse.h"
#include "shutdown.h"
#include "strv.h"
#include "util.h"
#include "verbs.h"

#define SYNC_TIMEOUT_USEC (30 * 1000000ull)

struct shutdown_args {
	const char *verb;
	uint64_t grace_usec;
	uint64_t timeout_usec;
	bool dry_run;
	bool json;
};

static void shutdown_help(void)
{
	printf("Usage: blkstack shutdown poweroff|reboot|halt [OPTIONS]\n"
	       "\n"
	       "Shut the machine down cleanly, in two stages. Stage one stops the processes\n"
	       "that hold the filesystems outside the root set (SIGTERM, then SIGKILL),\n"
	       "unmounts them, turns swap off, closes the layers only they use in reverse order,\n"
	       "remounts root read-only and syncs. Stage two, the shutdown ramfs kept in\n"
	       "/run/initramfs by blkstack's initramfs, unmounts root and closes every layer\n"
	       "below it, then powers off, reboots or halts.\n"
	       "\n"
	       "Run as PID 1 ('exec blkstack shutdown poweroff'), it does both stages. Run\n"
	       "under systemd, it hands over to 'systemctl VERB', whose systemd-shutdown runs the\n"
	       "same ramfs. Under another init it says which layers it has to leave open.\n"
	       "\n"
	       "     --grace=SEC     Seconds from SIGTERM to SIGKILL (default 5)\n"
	       "     --timeout=SEC   Each stage's deadline; then the machine goes down anyway\n"
	       "                     (default 90)\n"
	       "     --dry-run       Print what stage one would stop and close, do nothing\n"
	       "  -J --json         With --dry-run: the plan as JSON\n"
	       "  -h --help         Show this help\n"
	       "\n"
	       "See blkstack-shutdown(8).\n");
}

enum {
	ARG_GRACE = 0x100,
	ARG_SHUTDOWN_TIMEOUT,
	ARG_SHUTDOWN_DRY_RUN,
};

const struct verb_options verb_shutdown_options = {
	":hJ" CLI_GLOBAL_SHORTOPTS,
	(const struct option[]){
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'J' },
		{ "grace", required_argument, NULL, ARG_GRACE },
		{ "timeout", required_argument, NULL, ARG_SHUTDOWN_TIMEOUT },
		{ "dry-run", no_argument, NULL, ARG_SHUTDOWN_DRY_RUN },
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

/* The mount points that stage one unmounts (the umount steps of the plan), and the ids of
 * what it keeps for root. */
static int plan_parts(const struct bs_plan *p, char ***ret_mounts, char ***ret_kept)
{
	_cleanup_strv_free_ char **mounts = NULL, **kept = NULL;

	for (size_t i = 0; i < bs_plan_get_n_steps(p); i++) {
		const char *id = bs_node_get_id(bs_plan_get_step_node(p, i));
		const char *mp = startswith(id, "mnt:");

		if (streq(bs_plan_get_step_action(p, i), "umount") && mp && !streq(mp, "/") &&
		    strv_extend(&mounts, mp) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < bs_plan_get_n_kept(p); i++)
		if (strv_extend(&kept, bs_node_get_id(bs_plan_get_kept_node(p, i))) < 0)
			return -ENOMEM;
	*ret_mounts = TAKE_PTR(mounts);
	*ret_kept = TAKE_PTR(kept);
	return 0;
}

static int kept_text(char **kept, char **ret)
{
	if (!kept)
		return (*ret = strdup("nothing")) ? 0 : -ENOMEM;
	return strv_join(kept, " ", ret);
}


/* The teardown of everything not below root; returns the number of steps that did not end
 * done. A configuration that has problems does not stop it: the live system is enough. */
static unsigned tear_down(struct bs_ctx *ctx)
{
	struct bs_exec_opts opts = { .key_fd = -1, .no_record = 1 };
	unsigned n_left = 0;
	struct bs_exec *e = NULL;
	int r;

	for (int attempt = 0; attempt < 2; attempt++) {
		r = bs_exec_new(ctx, &opts, &e);
		if (r < 0) {
			sd_say("cannot set up the executor: %s; nothing was closed", strerror(-r));
			return 1;
		}
		/* The failures are counted from the results below, once each. */
		bs_exec_set_event_fn(e, sd_exec_event, NULL);
		r = bs_exec_run(e, BS_PLAN_DOWN, NULL, BS_PLAN_KEEP_ROOT);
		if (r != -EBADMSG || opts.live_only)
			break;
		sd_say("the configuration has problems ('blkstack check' lists them); tearing down "
		       "what the running system shows");
		e = bs_exec_unref(e);
		opts.live_only = 1;
	}
	for (size_t i = 0; i < bs_exec_get_n_results(e); i++)
		if (bs_exec_get_result_status(e, i) != BS_EXEC_DONE) {
			n_left++;
			sd_say("%s %s %s: %s",
			       bs_exec_status_to_string(bs_exec_get_result_status(e, i)),
			       bs_exec_get_result_action(e, i), bs_exec_get_result_node(e, i),
			       strna(bs_exec_get_result_message(e, i)));
		}
	if (r < 0 && n_left == 0 && r != -EBUSY) {
		sd_say("the teardown failed: %s", strerror(-r));
		n_left++;
	}
	bs_exec_unref(e);
	return n_left;
}

/* The name PID 1 runs as, for messages. */
static void init_name(char *buf, size_t size)
{
	if (read_small_at(AT_FDCWD, "/proc/1/comm", buf, size, true) <= 0)
		(void)snprintf(buf, size, "unknown");
}

/* After stage one: whoever can take the machine down through the ramfs. Returns only if the
 * hand-over failed or there is none; the caller then reboots itself. */
static void hand_over(const struct shutdown_args *a, const char *kept)
{
	char grace[32], timeout[32], comm[64];

	if (access(SD_RAMFS_SHUTDOWN, X_OK) < 0) {
		sd_say_kmsg("no shutdown ramfs at %s (the system did not boot through blkstack's "
			    "initramfs, or /init could not keep it): left open for root: %s",
			    SD_RAMFS, kept);
		return;
	}
	(void)snprintf(grace, sizeof(grace), "--grace=%" PRIu64, a->grace_usec / 1000000);
	(void)snprintf(timeout, sizeof(timeout), "--timeout=%" PRIu64, a->timeout_usec / 1000000);
	if (getpid() == 1) {
		char *argv[] = { (char *)"/shutdown", (char *)a->verb, grace, timeout, NULL };

		sd_say("handing over to %s %s", SD_RAMFS_SHUTDOWN, a->verb);
		(void)sd_pivot_and_exec(argv);
		sd_say_kmsg("the hand-over failed: left open for root: %s", kept);
		return;
	}
	if (access("/run/systemd/system", F_OK) >= 0) {
		const char *argv[] = { "systemctl", a->verb, NULL };

		/* systemd's own shutdown ends in systemd-shutdown, which pivots into the same
		 * ramfs and runs /shutdown VERB there. */
		sd_say("handing over to systemd: systemctl %s", a->verb);
		execvp(argv[0], (char *const *)argv);
		sd_say("cannot run systemctl: %m");
	}
	init_name(comm, sizeof(comm));
	sd_say_kmsg("PID 1 (%s) cannot be handed over to: left open for root: %s (only a PID 1 "
		    "that executes 'blkstack shutdown' or %s can close them; see "
		    "blkstack-shutdown(8))",
		    comm, kept, SD_RAMFS_SHUTDOWN);
}

static int dry_run(struct bs_ctx *ctx, const struct shutdown_args *a)
{
	_cleanup_strv_free_ char **mounts = NULL, **kept = NULL;
	_cleanup_free_ char *out = NULL, *kept_line = NULL;
	struct bs_graph *g = NULL;
	struct bs_plan *p = NULL;
	int r;

	r = cli_load_graph(ctx, 0, &g);
	if (r < 0)
		return r;
	r = bs_plan_new(g, BS_PLAN_DOWN, NULL, BS_PLAN_KEEP_ROOT, &p);
	if (r >= 0)
		r = plan_parts(p, &mounts, &kept);
	if (r >= 0 && a->json) {
		r = bs_plan_to_json(p, &out);
		if (r >= 0)
			puts(out);
	} else if (r >= 0) {
		r = bs_plan_to_text(p, &out);
		if (r >= 0)
			r = kept_text(kept, &kept_line);
		if (r >= 0) {
			printf("stage one (%s):\n%s", a->verb, out);
			printf("kept for root (closed by the shutdown ramfs): %s\n", kept_line);
		}
		/* Processes are the running system's: only without --sysroot. */
		if (r >= 0 && streq(bs_ctx_get_sysroot(ctx), "/") && mounts) {
			sd_set_prefix("");
			(void)sd_kill(&(const struct sd_kill_opts){ .scope = SD_KILL_HOLDERS,
								    .mount_points = mounts,
								    .dry_run = true });
		}
	}
	bs_plan_unref(p);
	bs_graph_unref(g);
	return r;
}

static int parse_args(int argc, char **argv, struct shutdown_args *a)
{
	int c;

	opterr = 0;
	while ((c = verb_getopt(argc, argv, &verb_shutdown_options)) >= 0) {
		uint32_t v;

		switch (c) {
		case 'h':
			shutdown_help();
			return 1;
		case 'J':
			a->json = true;
			break;
		case ARG_GRACE:
			if (safe_atou32(optarg, &v) < 0 || v > 3600)
				return log_usage_error("shutdown: --grace takes seconds (0 to 3600), "
						       "not '%s'",
						       optarg);
			a->grace_usec = (uint64_t)v * 1000000u;
			break;
		case ARG_SHUTDOWN_TIMEOUT:
			if (safe_atou32(optarg, &v) < 0 || v == 0 || v > 3600)
				return log_usage_error("shutdown: --timeout takes seconds (1 to "
						       "3600), not '%s'",
						       optarg);
			a->timeout_usec = (uint64_t)v * 1000000u;
			break;
		case ARG_SHUTDOWN_DRY_RUN:
			a->dry_run = true;
			break;
		case ':':
			return log_usage_error("shutdown: option '%s' needs an argument",
					       argv[optind - 1]);
		default:
			return log_usage_error("shutdown: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return log_usage_error("shutdown: give one of poweroff, reboot and halt");
	a->verb = argv[optind];
	if (sd_verb_to_reboot(a->verb, NULL) < 0 || streq(a->verb, "kexec"))
		return log_usage_error("shutdown: '%s' is not poweroff, reboot or halt", a->verb);
	if (a->json && !a->dry_run)
		return log_usage_error("shutdown: --json goes with --dry-run (the plan)");
	return 0;
}

int verb_shutdown(struct bs_ctx *ctx, int argc, char **argv)
{
	struct shutdown_args a = { .grace_usec = 5 * 1000000ull, .timeout_usec = 90 * 1000000ull };
	_cleanup_strv_free_ char **mounts = NULL, **kept = NULL;
	_cleanup_free_ char *kept_line = NULL;
	struct bs_graph *g = NULL;
	struct bs_plan *p = NULL;
	uint64_t left_kb = 0;
	unsigned n_errors = 0;
	struct sd_times times;
	int r;

	sd_times_start(&times);
	r = parse_args(argc, argv, &a);
	if (r != 0)
		return r < 0 ? r : 0;
	if (a.dry_run)
		return dry_run(ctx, &a);
	if (!streq(bs_ctx_get_sysroot(ctx), "/"))
		return log_usage_error("shutdown acts on the running system; --sysroot is for "
				       "reading (use --dry-run to see the plan)");
	if (geteuid() != 0)
		return log_error_errno(-EPERM, "shutdown must run as root");

	sd_set_prefix("blkstack shutdown: ");
	sd_watchdog_arm(a.verb, a.timeout_usec, true);
	sd_say_kmsg("stage one: %s", a.verb);

	/* What to unmount and what to keep, from the graph as it is now; it is recorded too,
	 * for the next cold start, while root is still writable. A configuration with
	 * problems is said and does not stop anything. */
	r = cli_load_graph(ctx, 0, &g);
	if (r >= 0) {
		if (bs_graph_record(g, NULL) < 0)
			sd_say("WARNING: cannot record the graph to %s", BS_RECORDED_GRAPH_PATH);
		r = bs_plan_new(g, BS_PLAN_DOWN, NULL, BS_PLAN_KEEP_ROOT, &p);
	}
	if (r >= 0)
		r = plan_parts(p, &mounts, &kept);
	if (r < 0) {
		sd_say("cannot plan the teardown: %s; the layers stay open", strerror(-r));
		n_errors++;
	}
	bs_plan_unref(p);
	bs_graph_unref(g);
	sd_times_mark(&times, "plan");

	if (mounts) {
		r = sd_kill(&(const struct sd_kill_opts){ .scope = SD_KILL_HOLDERS,
							  .mount_points = mounts,
							  .grace_usec = a.grace_usec });
		if (r < 0)
			sd_say("cannot look for the processes that hold filesystems: %s",
			       strerror(-r));
	}
	if (getpid() == 1) {
		/* PID 1 is this shutdown: nothing else has anything left to do, and a process
		 * that writes to root would keep it from going read-only. The root-storage
		 * daemons stay, as systemd-shutdown keeps them. */
		r = sd_kill(&(const struct sd_kill_opts){ .scope = SD_KILL_ALL,
							  .grace_usec = a.grace_usec,
							  .quiet_kept = true });
		if (r < 0)
			sd_say("cannot look for the processes left: %s", strerror(-r));
	}
	sd_times_mark(&times, "kill");
	n_errors += tear_down(ctx);
	sd_times_mark(&times, "teardown");

	if (kept_text(kept, &kept_line) < 0)
		return log_error_errno(-ENOMEM, "Out of memory");
	sd_say("kept for root (closed by the shutdown ramfs): %s", kept_line);

	r = sd_sync_wait(SYNC_TIMEOUT_USEC, &left_kb);
	if (r == -ETIMEDOUT) {
		sd_say("sync: still %" PRIu64 " kB dirty or being written after %llu s", left_kb,
		       SYNC_TIMEOUT_USEC / 1000000);
		n_errors++;
	} else
		sd_say("sync: Dirty and Writeback at 0 kB");
	sd_times_mark(&times, "sync");
	if (n_errors)
		sd_say_kmsg("stage one done: %u error%s (%.2f s: %s)", n_errors,
			    n_errors == 1 ? "" : "s", sd_times_total(&times), times.text);
	else
		sd_say_kmsg("stage one done: no errors (%.2f s: %s)", sd_times_total(&times),
			    times.text);

	sd_watchdog_disarm();
	hand_over(&a, kept_line);
	sd_say_kmsg("%s without the shutdown ramfs", sd_verb_doing(a.verb));
	r = sd_reboot(a.verb, true);
	return log_error_errno(r, "reboot(2) failed: %m");
}
