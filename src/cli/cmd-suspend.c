/* blkstack suspend / resume: key wipe across suspend-to-RAM, run from the shutdown ramfs. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * suspend forks a child that enters a private mount namespace, binds /proc, /sys and /dev
 * into the shutdown ramfs (/run/initramfs, kept by blkstack's /init), chroots there and
 * executes its /shutdown --suspend-stage: from then on nothing of the running system's
 * filesystems is used, so that none of them can hang on a suspended mapping. The stage does
 * the whole sequence (src/shutdown/sleep.c). With --hook (system-sleep hooks, where systemd
 * or elogind writes /sys/power/state itself) the parent returns as soon as the stage says
 * the keys are wiped, and the stage waits in the ramfs for the kernel's resume; 'resume'
 * then only waits for it (and wakes it with SIGUSR1 where no real sleep took place).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
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

#define PID_FILE "/run/blkstack/suspend.pid"

enum {
	ARG_STATE = 0x100,
	ARG_HOOK,
	ARG_KEY_FD,
	ARG_ASKPASS,
	ARG_ASKPASS_SOCKET,
	ARG_FREEZE,
	ARG_NO_FREEZE,
	ARG_RAMFS,
	ARG_NO_RAMFS,
	ARG_SKIP_SLEEP,
	ARG_DRY_RUN,
	ARG_TRIES,
};

const struct verb_options verb_suspend_options = {
	":hJ" CLI_GLOBAL_SHORTOPTS,
	(const struct option[]){
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'J' },
		{ "state", required_argument, NULL, ARG_STATE },
		{ "hook", no_argument, NULL, ARG_HOOK },
		{ "key-fd", required_argument, NULL, ARG_KEY_FD },
		{ "askpass", required_argument, NULL, ARG_ASKPASS },
		{ "askpass-socket", required_argument, NULL, ARG_ASKPASS_SOCKET },
		{ "freeze", required_argument, NULL, ARG_FREEZE },
		{ "no-freeze", no_argument, NULL, ARG_NO_FREEZE },
		{ "ramfs", required_argument, NULL, ARG_RAMFS },
		{ "no-ramfs", no_argument, NULL, ARG_NO_RAMFS },
		{ "skip-sleep", no_argument, NULL, ARG_SKIP_SLEEP },
		{ "dry-run", no_argument, NULL, ARG_DRY_RUN },
		{ "tries", required_argument, NULL, ARG_TRIES },
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

struct suspend_args {
	bool resume;
	bool hook, dry_run, json, no_ramfs, skip_sleep, no_freeze;
	const char *state, *askpass, *askpass_socket, *freeze, *ramfs, *tries;
	int key_fd;
};

static void suspend_help(bool resume)
{
	if (resume) {
		printf("Usage: blkstack resume [OPTIONS]\n"
		       "\n"
		       "After 'blkstack suspend --hook' (the post-sleep hook): wake the suspend\n"
		       "stage waiting in the shutdown ramfs, if the kernel's resume has not woken\n"
		       "it already, and wait until it has resumed every mapping (it asks the\n"
		       "passphrases as 'suspend --hook' was told). Then, or with no stage waiting,\n"
		       "resume every dm-crypt mapping still suspended, bottom first, from the\n"
		       "shutdown ramfs, asking the passphrases.\n"
		       "\n"
		       "     --key-fd=FD         Read passphrases from FD, one a line\n"
		       "     --askpass=CMD       Run CMD PROMPT (in the ramfs) for each passphrase\n"
		       "     --askpass-socket=PATH  Ask through this socket (as up does)\n"
		       "     --tries=N           Passphrases per mapping and round (default 3)\n"
		       "     --ramfs=DIR         The ramfs to run from (default /run/initramfs)\n"
		       "     --no-ramfs          Run from the running root\n"
		       "\n"
		       "See blkstack-suspend(8).\n");
		return;
	}
	printf("Usage: blkstack suspend [OPTIONS]\n"
	       "\n"
	       "Suspend to RAM with the keys of every dm-crypt mapping wiped: from the shutdown\n"
	       "ramfs, sync, freeze the user processes, lock memory for the key derivation at\n"
	       "resume, luksSuspend every mapping top of the stack first, sleep; on wake ask the\n"
	       "passphrases and resume bottom first.\n"
	       "\n"
	       "     --state=STATE       What to write to /sys/power/state (default mem)\n"
	       "     --hook              For system-sleep hooks: wipe the keys and return; the\n"
	       "                         ramfs stage resumes after the kernel's resume\n"
	       "     --key-fd=FD         Read passphrases from FD, one a line\n"
	       "     --askpass=CMD       Run CMD PROMPT (in the ramfs) for each passphrase\n"
	       "     --askpass-socket=PATH  Ask through this socket (as up does)\n"
	       "     --tries=N           Passphrases per mapping and round (default 3)\n"
	       "     --freeze=CGROUP     The cgroup to freeze (default user.slice)\n"
	       "     --no-freeze         Freeze nothing\n"
	       "     --ramfs=DIR         The ramfs to run from (default /run/initramfs)\n"
	       "     --no-ramfs          Run from the running root (nothing of it on the stack)\n"
	       "     --skip-sleep        Everything but the write to /sys/power/state (tests)\n"
	       "     --dry-run           Print the plan, touch nothing\n"
	       "  -J --json            With --dry-run: the plan as JSON\n"
	       "  -h --help            Show this help\n"
	       "\n"
	       "See blkstack-suspend(8).\n");
}

static int parse_args(int argc, char **argv, struct suspend_args *a)
{
	int c, v;

	opterr = 0;
	while ((c = verb_getopt(argc, argv, &verb_suspend_options)) >= 0) {
		if (a->resume && !IN_SET(c, 'h', ':', '?', ARG_KEY_FD, ARG_ASKPASS,
					 ARG_ASKPASS_SOCKET, ARG_TRIES, ARG_RAMFS, ARG_NO_RAMFS))
			return log_usage_error(
				"resume: takes --key-fd, --askpass, --askpass-socket, "
				"--tries, --ramfs and --no-ramfs only");
		switch (c) {
		case 'h':
			suspend_help(a->resume);
			return 1;
		case 'J':
			a->json = true;
			break;
		case ARG_STATE:
			if (strchr(optarg, '/') || strchr(optarg, '\n') || !*optarg)
				return log_usage_error("suspend: --state: '%s' is no sleep state",
						       optarg);
			a->state = optarg;
			break;
		case ARG_HOOK:
			a->hook = true;
			break;
		case ARG_KEY_FD:
			if (safe_atoi(optarg, &v) < 0 || v < 0 || fcntl(v, F_GETFD) < 0)
				return log_usage_error(
					"suspend: --key-fd: '%s' is no open descriptor", optarg);
			a->key_fd = v;
			break;
		case ARG_ASKPASS:
			if (optarg[0] != '/')
				return log_usage_error("suspend: --askpass takes an absolute path "
						       "(inside the ramfs), not '%s'",
						       optarg);
			a->askpass = optarg;
			break;
		case ARG_ASKPASS_SOCKET:
			a->askpass_socket = optarg;
			break;
		case ARG_FREEZE:
			if (strstr(optarg, ".."))
				return log_usage_error("suspend: --freeze: '%s' is no cgroup",
						       optarg);
			a->freeze = optarg;
			break;
		case ARG_NO_FREEZE:
			a->no_freeze = true;
			break;
		case ARG_RAMFS:
			a->ramfs = optarg;
			break;
		case ARG_NO_RAMFS:
			a->no_ramfs = true;
			break;
		case ARG_SKIP_SLEEP:
			a->skip_sleep = true;
			break;
		case ARG_DRY_RUN:
			a->dry_run = true;
			break;
		case ARG_TRIES:
			if (safe_atoi(optarg, &v) < 0 || v < 1 || v > 100)
				return log_usage_error("suspend: --tries takes 1 to 100, not '%s'",
						       optarg);
			a->tries = optarg;
			break;
		case ':':
			return log_usage_error("%s: option '%s' needs an argument", argv[0],
					       argv[optind - 1]);
		default:
			return log_usage_error("%s: unknown option '%s'", argv[0],
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return log_usage_error("%s: unexpected argument '%s'", argv[0], argv[optind]);
	if (a->json && !a->dry_run)
		return log_usage_error("suspend: --json goes with --dry-run (the plan)");
	if (a->freeze && a->no_freeze)
		return log_usage_error("suspend: --freeze and --no-freeze exclude each other");
	if (a->ramfs && a->no_ramfs)
		return log_usage_error("suspend: --ramfs and --no-ramfs exclude each other");
	if (a->hook && a->skip_sleep)
		return log_usage_error("suspend: --hook never writes /sys/power/state itself; "
				       "--skip-sleep is for the sleeping mode");
	return 0;
}

static int dry_run(struct bs_ctx *ctx, const struct suspend_args *a)
{
	_cleanup_free_ char *out = NULL;
	struct bs_suspend *s = NULL;
	struct bs_graph *g = NULL;
	int r;

	r = bs_graph_load(ctx, &(struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL);
	if (r < 0)
		return log_error_errno(r, "cannot read the live graph: %m");
	r = bs_suspend_new(g, &s);
	if (r >= 0)
		r = a->json ? bs_suspend_to_json(s, &out) : bs_suspend_to_text(s, &out);
	if (r >= 0) {
		fputs(out, stdout);
		if (a->json)
			putchar('\n');
	}
	if (r >= 0 && !a->json) {
		uint64_t kb = 0;

		/* Reading headers is a read; on a sysroot the devices are not there. */
		if (streq(bs_ctx_get_sysroot(ctx), "/") &&
		    bs_suspend_argon2_reserve_kb(s, &kb) >= 0)
			printf("argon2 reserve: %llu KiB\n", (unsigned long long)kb);
		printf("then: sync, freeze '%s', mlockall, sync_on_suspend 0, %s\n",
		       a->no_freeze ? "(nothing)" :
		       a->freeze    ? a->freeze :
				      "user.slice",
		       a->hook	     ? "wait for the kernel's resume" :
		       a->skip_sleep ? "(no write to /sys/power/state)" :
				       "write to /sys/power/state");
		printf("from: %s\n", a->no_ramfs ? "the running root (--no-ramfs)" :
				     a->ramfs	 ? a->ramfs :
						   SD_RAMFS);
	}
	bs_suspend_unref(s);
	bs_graph_unref(g);
	return r < 0 ? log_error_errno(r, "cannot make the plan: %m") : 0;
}

/* The stage's arguments, argv[0] being its path. Nothing secret: the passphrases come through
 * the descriptor or the askpass command, never here. */
static char **stage_argv(const struct suspend_args *a, const char *path, int notify_fd,
			 bool verbose)
{
	char **v = NULL;
	char buf[32];
	bool ok = strv_extend(&v, path) >= 0 && strv_extend(&v, a->resume ? "--resume-stage" :
								a->hook	  ? "--hook" :
									    "--suspend-stage") >= 0;

	if (ok && a->state)
		ok = strv_extend(&v, "--state") >= 0 && strv_extend(&v, a->state) >= 0;
	if (ok && a->skip_sleep)
		ok = strv_extend(&v, "--skip-sleep") >= 0;
	if (ok && a->key_fd >= 0) {
		(void)snprintf(buf, sizeof(buf), "%d", a->key_fd);
		ok = strv_extend(&v, "--key-fd") >= 0 && strv_extend(&v, buf) >= 0;
	}
	if (ok && notify_fd >= 0) {
		(void)snprintf(buf, sizeof(buf), "%d", notify_fd);
		ok = strv_extend(&v, "--notify-fd") >= 0 && strv_extend(&v, buf) >= 0;
	}
	if (ok && a->askpass)
		ok = strv_extend(&v, "--askpass") >= 0 && strv_extend(&v, a->askpass) >= 0;
	if (ok && a->askpass_socket)
		ok = strv_extend(&v, "--askpass-socket") >= 0 &&
		     strv_extend(&v, a->askpass_socket) >= 0;
	if (ok && a->tries)
		ok = strv_extend(&v, "--tries") >= 0 && strv_extend(&v, a->tries) >= 0;
	if (ok && a->no_freeze)
		ok = strv_extend(&v, "--no-freeze") >= 0;
	if (ok && verbose)
		ok = strv_extend(&v, "--verbose") >= 0;
	if (ok && a->freeze)
		ok = strv_extend(&v, "--freeze") >= 0 && strv_extend(&v, a->freeze) >= 0;
	if (!ok)
		v = strv_free(v);
	return v;
}

/* In the child: a private mount namespace, the API filesystems bound into the ramfs, chroot,
 * exec. Returns only on failure, with the exit status. */
static int enter_ramfs(const char *dir, char **argv)
{
	static const char *const api[] = { "proc", "sys", "dev" };

	if (unshare(CLONE_NEWNS) < 0) {
		log_error_errno(-errno, "cannot make a mount namespace: %m");
		return EXIT_FAILURE;
	}
	/* Nothing bound here leaks into the system's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		log_error_errno(-errno, "cannot make the mounts private: %m");
		return EXIT_FAILURE;
	}
	for (size_t i = 0; i < ELEMENTSOF(api); i++) {
		_cleanup_free_ char *src = NULL, *dst = NULL;

		if (asprintf(&src, "/%s", api[i]) < 0 || asprintf(&dst, "%s/%s", dir, api[i]) < 0)
			return EXIT_FAILURE;
		(void)mkdir(dst, 0755);
		if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0) {
			log_error_errno(-errno, "cannot bind %s into %s: %m", src, dir);
			return EXIT_FAILURE;
		}
	}
	if (chroot(dir) < 0 || chdir("/") < 0) {
		log_error_errno(-errno, "cannot change the root to %s: %m", dir);
		return EXIT_FAILURE;
	}
	(void)setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	execv(argv[0], argv);
	log_error_errno(-errno, "cannot execute %s in %s: %m", argv[0], dir);
	return EXIT_FAILURE;
}

static int exit_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	log_error("the suspend stage was killed by signal %d", WTERMSIG(status));
	return EXIT_FAILURE;
}

static int write_pid_file(pid_t pid)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);

	(void)mkdir_p_at(AT_FDCWD, "/run/blkstack", 0755);
	return write_file_atomic_at(AT_FDCWD, PID_FILE, buf, (size_t)n, 0644);
}

static int run_suspend(struct bs_ctx *ctx, const struct suspend_args *a)
{
	const char *dir = a->ramfs ? a->ramfs : SD_RAMFS;
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_free_ char *exe = NULL;
	int pipefd[2] = { -1, -1 }, status;
	pid_t pid;

	if (geteuid() != 0)
		return log_error_errno(-EPERM, "%s: must be run as root",
				       a->resume ? "resume" : "suspend");
	if (!a->no_ramfs) {
		if (asprintf(&exe, "%s/shutdown", dir) < 0)
			return -ENOMEM;
		if (access(exe, X_OK) < 0)
			return log_error_errno(
				-ENOENT,
				"%s: no shutdown ramfs in %s (%s is missing): blkstack's "
				"initramfs keeps it there at boot (boot through an image that "
				"'blkstack initramfs' built), or give one with --ramfs DIR; "
				"--no-ramfs runs from the running root, safe only when nothing of "
				"it lies on a crypt layer",
				a->resume ? "resume" : "suspend", dir, exe);
	}
	if (a->hook && pipe2(pipefd, 0) < 0)
		return log_error_errno(-errno, "cannot make a pipe: %m");
	argv = stage_argv(a, a->no_ramfs ? "blkstack-suspend" : "/shutdown", pipefd[1],
			  bs_ctx_get_log_priority(ctx) >= LOG_DEBUG);
	if (!argv)
		return -ENOMEM;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return log_error_errno(-errno, "cannot fork: %m");
	if (pid == 0) {
		if (pipefd[0] >= 0)
			close(pipefd[0]);
		if (a->no_ramfs)
			_exit(sd_sleep_main((int)strv_length(argv), argv));
		_exit(enter_ramfs(dir, argv));
	}
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (a->hook) {
		char c = 0;
		ssize_t n;

		do
			n = read(pipefd[0], &c, 1);
		while (n < 0 && errno == EINTR);
		close(pipefd[0]);
		if (n == 1 && c == 'S') {
			int r = write_pid_file(pid);

			if (r < 0)
				log_error_errno(r, "WARNING: cannot write %s: %m", PID_FILE);
			/* The stage lives on in the ramfs; it resumes by itself. */
			return 0;
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_error_errno(-errno, "cannot wait for the suspend stage: %m");
	return exit_status(status) == 0 ? 0 : -EIO;
}

/* The dm-crypt mappings that are suspended now, from sysfs alone (nothing is probed). */
static int suspended_mappings(char ***ret)
{
	_cleanup_(closedirp) DIR *d = opendir("/sys/class/block");
	char **names = NULL;
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX], uuid[256], sus[8], name[256];

		if (!startswith(de->d_name, "dm-"))
			continue;
		(void)snprintf(path, sizeof(path), "/sys/class/block/%s/dm/uuid", de->d_name);
		if (read_small_at(AT_FDCWD, path, uuid, sizeof(uuid), true) < 0 ||
		    !startswith(uuid, "CRYPT-"))
			continue;
		(void)snprintf(path, sizeof(path), "/sys/class/block/%s/dm/suspended", de->d_name);
		if (read_small_at(AT_FDCWD, path, sus, sizeof(sus), true) < 0 || !streq(sus, "1"))
			continue;
		(void)snprintf(path, sizeof(path), "/sys/class/block/%s/dm/name", de->d_name);
		if (read_small_at(AT_FDCWD, path, name, sizeof(name), true) < 0)
			continue;
		if (strv_extend(&names, name) < 0) {
			strv_free(names);
			return -ENOMEM;
		}
	}
	*ret = names;
	return 0;
}

static int run_resume(struct bs_ctx *ctx, const struct suspend_args *a)
{
	_cleanup_strv_free_ char **left = NULL;
	char buf[32];
	int pid = 0, r;

	if (geteuid() != 0)
		return log_error_errno(-EPERM, "resume: must be run as root");
	if (read_small_at(AT_FDCWD, PID_FILE, buf, sizeof(buf), true) >= 0 &&
	    safe_atoi(buf, &pid) >= 0 && pid > 1) {
		int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };

			/* Nothing to do if the kernel's resume woke it already. */
			(void)syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0);
			while (poll(&p, 1, -1) < 0 && errno == EINTR)
				;
			close(pidfd);
		}
		(void)unlink(PID_FILE);
	}
	r = suspended_mappings(&left);
	if (r < 0)
		return log_error_errno(r, "cannot read /sys/class/block: %m");
	if (!left) {
		printf("no dm-crypt mapping is suspended\n");
		return 0;
	}
	/* No stage waits (or it gave up): resume them from the ramfs, asking here. */
	r = run_suspend(ctx, a);
	left = strv_free(left);
	if (suspended_mappings(&left) >= 0 && left) {
		_cleanup_free_ char *names = NULL;

		(void)strv_join(left, " ", &names);
		log_error("resume: still suspended: %s", strna(names));
		return -EIO;
	}
	return r;
}

int verb_suspend(struct bs_ctx *ctx, int argc, char **argv)
{
	struct suspend_args a = { .key_fd = -1, .resume = streq(argv[0], "resume") };
	int r = parse_args(argc, argv, &a);

	if (r != 0)
		return r < 0 ? r : 0;
	if (a.dry_run)
		return dry_run(ctx, &a);
	if (!streq(bs_ctx_get_sysroot(ctx), "/"))
		return log_usage_error("%s: acts on the running system; with --sysroot only "
				       "--dry-run",
				       argv[0]);
	return a.resume ? run_resume(ctx, &a) : run_suspend(ctx, &a);
}
