/* The suspend stage: keys wiped across suspend-to-RAM, run from the shutdown ramfs (/shutdown --suspend-stage). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * 'blkstack suspend' runs this in a private mount namespace chrooted into the shutdown ramfs,
 * so that from the first luksSuspend on nothing of a filesystem on a suspended device is
 * touched: the program, its libraries and the crypt helper it starts (this same file) all
 * lie in the ramfs, in memory. The sequence, each step said on standard error:
 *
 *   load the live graph and its plan (before anything is suspended: probing a suspended
 *   device would hang); sync; freeze the user processes' cgroup; mlockall() and a locked
 *   reserve as large as the largest argon2 key slot's memory cost; sync_on_suspend 0;
 *   luksSuspend top first; sleep (write the state to /sys/power/state, or with --hook wait
 *   for the kernel's resume); free the reserve; ask the passphrases and resume bottom first;
 *   restore sync_on_suspend; thaw.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <unistd.h>

#include "blkstack.h"
#include "fileio.h"
#include "macro.h"
#include "parse.h"
#include "shutdown.h"
#include "util.h"

#define PREFIX "blkstack-suspend: "
#define POWER_STATE "/sys/power/state"
#define SYNC_ON_SUSPEND "/sys/power/sync_on_suspend"
#define FREEZE_TIMEOUT_USEC (5 * 1000000ull)
/* Above the argon2 reserve: the helper's own pages, libcryptsetup's buffers. */
#define RESERVE_MARGIN_KB (8 * 1024)

struct sleep_args {
	bool resume_stage;
	bool hook;
	bool skip_sleep;
	bool verbose;
	const char *state;
	const char *freeze; /* NULL: no freezing */
	int key_fd;
	int notify_fd;
	const char *askpass;
	const char *askpass_socket;
	const char *console;
	unsigned tries;
};

static void log_to_stderr(_unused_ void *userdata, int priority, _unused_ const char *file,
			  _unused_ int line, _unused_ const char *fn, const char *format,
			  va_list ap)
{
	_cleanup_free_ char *m = NULL;

	if (vasprintf(&m, format, ap) < 0)
		return;
	sd_say("%s%s", priority <= LOG_ERR ? "error: " : "", m);
}

static void on_event(_unused_ void *userdata, enum bs_suspend_event ev, const char *node, int r,
		     unsigned try_no)
{
	switch (ev) {
	case BS_SUSPEND_EVENT_SUSPENDED:
		if (r < 0)
			sd_say("FAILED luksSuspend %s: %s", node, strerror(-r));
		else
			sd_say("suspended %s (key wiped)", node);
		break;
	case BS_SUSPEND_EVENT_WRONG_KEY:
		sd_say("wrong passphrase for %s (try %u): still suspended, asking again", node,
		       try_no);
		break;
	case BS_SUSPEND_EVENT_RESUMED:
		if (r < 0)
			sd_say("FAILED to resume %s: %s", node, strerror(-r));
		else
			sd_say("resumed %s", node);
		break;
	}
}

static int parse_args(int argc, char *argv[], struct sleep_args *a)
{
	enum {
		ARG_SUSPEND_STAGE = 0x100,
		ARG_RESUME_STAGE,
		ARG_HOOK,
		ARG_STATE,
		ARG_SKIP_SLEEP,
		ARG_KEY_FD,
		ARG_NOTIFY_FD,
		ARG_ASKPASS,
		ARG_ASKPASS_SOCKET,
		ARG_CONSOLE,
		ARG_FREEZE,
		ARG_NO_FREEZE,
		ARG_TRIES,
	};
	static const struct option options[] = {
		{ "suspend-stage", no_argument, NULL, ARG_SUSPEND_STAGE },
		{ "resume-stage", no_argument, NULL, ARG_RESUME_STAGE },
		{ "hook", no_argument, NULL, ARG_HOOK },
		{ "state", required_argument, NULL, ARG_STATE },
		{ "skip-sleep", no_argument, NULL, ARG_SKIP_SLEEP },
		{ "key-fd", required_argument, NULL, ARG_KEY_FD },
		{ "notify-fd", required_argument, NULL, ARG_NOTIFY_FD },
		{ "askpass", required_argument, NULL, ARG_ASKPASS },
		{ "askpass-socket", required_argument, NULL, ARG_ASKPASS_SOCKET },
		{ "console", required_argument, NULL, ARG_CONSOLE },
		{ "freeze", required_argument, NULL, ARG_FREEZE },
		{ "no-freeze", no_argument, NULL, ARG_NO_FREEZE },
		{ "tries", required_argument, NULL, ARG_TRIES },
		{ "verbose", no_argument, NULL, 'v' },
		{}
	};
	int c, v;

	*a = (struct sleep_args){
		.state = "mem", .freeze = "user.slice", .key_fd = -1, .notify_fd = -1, .tries = 3
	};
	optind = 1;
	while ((c = getopt_long(argc, argv, "v", options, NULL)) >= 0) {
		switch (c) {
		case ARG_SUSPEND_STAGE:
			break;
		case ARG_RESUME_STAGE:
			a->resume_stage = true;
			break;
		case ARG_HOOK:
			a->hook = true;
			break;
		case ARG_STATE:
			a->state = optarg;
			break;
		case ARG_SKIP_SLEEP:
			a->skip_sleep = true;
			break;
		case ARG_KEY_FD:
		case ARG_NOTIFY_FD:
			if (safe_atoi(optarg, &v) < 0 || v < 0 || fcntl(v, F_GETFD) < 0) {
				sd_say("'%s' is no open descriptor", optarg);
				return -EINVAL;
			}
			*(c == ARG_KEY_FD ? &a->key_fd : &a->notify_fd) = v;
			break;
		case ARG_ASKPASS:
			a->askpass = optarg;
			break;
		case ARG_ASKPASS_SOCKET:
			a->askpass_socket = optarg;
			break;
		case ARG_CONSOLE:
			a->console = optarg;
			break;
		case ARG_FREEZE:
			a->freeze = optarg;
			break;
		case ARG_NO_FREEZE:
			a->freeze = NULL;
			break;
		case ARG_TRIES:
			if (safe_atoi(optarg, &v) < 0 || v < 1 || v > 100) {
				sd_say("--tries: '%s' is not a number from 1 to 100", optarg);
				return -EINVAL;
			}
			a->tries = (unsigned)v;
			break;
		case 'v':
			a->verbose = true;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc) {
		sd_say("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Reads a small sysfs value ("1\n"), or "" if it cannot. */
static void read_value(const char *path, char *buf, size_t size)
{
	if (read_small_at(AT_FDCWD, path, buf, size, true) < 0)
		buf[0] = '\0';
}

static int write_value(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * Waits for the kernel's resume: a timerfd on CLOCK_REALTIME with TFD_TIMER_CANCEL_ON_SET is
 * cancelled when the realtime clock jumps against the monotonic one, which the kernel's
 * timekeeping does on every resume from a sleep state. SIGUSR1 stands in for it (the
 * post-sleep hook sends it, and tests without a real sleep). SIGTERM also ends the wait.
 */
static int wait_for_wake(void)
{
	_cleanup_close_ int tfd = -EBADF, sfd = -EBADF;
	struct itimerspec its = { .it_value = { .tv_sec = INT32_MAX } };
	sigset_t mask;

	/* Blocked since the start (sd_sleep_main()): a SIGUSR1 sent early waits here. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGTERM);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		return -errno;
	tfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
	if (tfd >= 0 &&
	    timerfd_settime(tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
		tfd = safe_close(tfd);
	for (;;) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
				       { .fd = tfd, .events = POLLIN } };
		uint64_t ticks;

		if (poll(p, tfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[0].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				sd_say("woken by %s",
				       si.ssi_signo == SIGUSR1 ? "SIGUSR1" : "SIGTERM");
			return 0;
		}
		if (tfd >= 0 && p[1].revents && read(tfd, &ticks, sizeof(ticks)) < 0 &&
		    errno == ECANCELED) {
			sd_say("the clock jumped: the system resumed");
			return 0;
		}
	}
}

/* A locked reserve of kb KiB, touched so that it is resident: freed just before the key
 * derivation, it is memory the kernel gives back at once, with no swap to write to. */
static void *reserve_memory(uint64_t kb, size_t *ret_size)
{
	size_t size = (size_t)(kb + RESERVE_MARGIN_KB) * 1024;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)mlock(p, size);
	memset(p, 0, size);
	*ret_size = size;
	return p;
}

/* Rounds of opts->tries passphrases; a round that runs out says so and starts again, until
 * every mapping resumes or nobody answers any more (then each one left is named). */
static int resume_rounds(struct bs_suspend *plan, const struct bs_suspend_opts *opts,
			 unsigned tries)
{
	int r;

	for (;;) {
		r = bs_resume_keys(plan, opts);
		if (r >= 0)
			return 0;
		if (r != -EPERM)
			break;
		sd_say("no valid passphrase after %u tries: asking again", tries);
	}
	sd_say("FAILED: cannot resume: %s; still suspended:", strerror(-r));
	for (size_t i = 0; i < bs_suspend_get_n(plan); i++)
		if (bs_suspend_get_suspended(plan, i))
			sd_say("  %s (resume it with 'cryptsetup luksResume %s')",
			       bs_suspend_get_node(plan, i), bs_suspend_get_name(plan, i));
	return r;
}

/* --resume-stage: the mappings suspended now (sysfs), resumed bottom first; no sleep. */
static int resume_stage(struct bs_ctx *c, const struct sleep_args *a)
{
	struct bs_suspend_opts opts = { .event_fn = on_event,
					.key_fd = a->key_fd,
					.askpass_command = a->askpass,
					.askpass_socket = a->askpass_socket,
					.console = a->console,
					.tries = a->tries };
	struct bs_suspend *plan = NULL;
	uint64_t t0 = now_usec();
	int r = bs_suspend_new_suspended(c, &plan);

	if (r < 0) {
		sd_say("cannot read /sys/class/block: %s", strerror(-r));
		bs_ctx_unref(c);
		return EXIT_FAILURE;
	}
	if (bs_suspend_get_n(plan) == 0)
		sd_say("no dm-crypt mapping is suspended");
	r = bs_suspend_get_n(plan) > 0 ? resume_rounds(plan, &opts, a->tries) : 0;
	if (r >= 0 && bs_suspend_get_n(plan) > 0)
		sd_say("resumed %zu mapping(s) in %.2f s", bs_suspend_get_n(plan),
		       (double)(now_usec() - t0) / 1e6);
	bs_suspend_unref(plan);
	bs_ctx_unref(c);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int sd_sleep_main(int argc, char *argv[])
{
	struct bs_suspend_opts opts = { .event_fn = on_event };
	struct bs_suspend *plan = NULL;
	struct bs_graph *g = NULL;
	struct bs_ctx *c = NULL;
	struct sleep_args a;
	char sync_before[16] = "";
	bool frozen = false, suspended_any = false;
	uint64_t reserve_kb = 0, t0, t_suspended = 0, t_wake = 0, t_resumed;
	size_t reserve_size = 0;
	void *reserve = NULL;
	int r, result = EXIT_SUCCESS;

	sd_set_prefix(PREFIX);
	t0 = now_usec();
	if (parse_args(argc, argv, &a) < 0)
		return 2;
	if (a.hook) {
		sigset_t mask;

		/* Before anyone can know our PID: the waker's SIGUSR1 must never kill us. */
		sigemptyset(&mask);
		sigaddset(&mask, SIGUSR1);
		sigaddset(&mask, SIGTERM);
		(void)sigprocmask(SIG_BLOCK, &mask, NULL);
	}

	/* libcryptsetup's lock directory: a ramfs has none, and without it no LUKS header is
	 * read (no argon2 reserve, no resume). */
	(void)mkdir("/run", 0755);
	(void)mkdir("/run/cryptsetup", 0700);

	r = bs_ctx_new(NULL, &c);
	if (r < 0) {
		sd_say("cannot make a context: %s", strerror(-r));
		return EXIT_FAILURE;
	}
	bs_ctx_set_log_fn(c, log_to_stderr, NULL);
	(void)bs_ctx_set_log_priority(c, a.verbose ? LOG_DEBUG : LOG_WARNING);

	if (a.resume_stage)
		return resume_stage(c, &a);

	/* The plan first: after the first luksSuspend, probing the devices would hang. */
	r = bs_graph_load(c, &(struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL);
	if (r >= 0)
		r = bs_suspend_new(g, &plan);
	bs_graph_unref(g);
	if (r < 0) {
		sd_say("cannot read the live graph: %s", strerror(-r));
		bs_ctx_unref(c);
		return EXIT_FAILURE;
	}
	if (bs_suspend_get_n(plan) == 0)
		sd_say("no active dm-crypt mapping: no key to wipe");
	(void)bs_suspend_argon2_reserve_kb(plan, &reserve_kb);

	if (sd_sync_wait(10 * 1000000ull, NULL) < 0)
		sd_say("WARNING: dirty data still being written after 10 s");

	if (a.freeze) {
		r = sd_cgroup_leave(a.freeze);
		if (r > 0)
			sd_say("moved out of '%s' into the root cgroup, not to freeze itself",
			       a.freeze);
		r = r < 0 ? r : sd_cgroup_freeze(a.freeze, true, FREEZE_TIMEOUT_USEC);
		if (r < 0)
			sd_say("cannot freeze the cgroup '%s': %s, skipping", a.freeze,
			       strerror(-r));
		else {
			frozen = true;
			sd_say("froze the cgroup '%s'", a.freeze);
		}
	}

	/* From here on this process must not fault a page in from anywhere. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		sd_say("WARNING: mlockall: %m; going on");
	if (reserve_kb > 0) {
		reserve = reserve_memory(reserve_kb, &reserve_size);
		if (reserve)
			sd_say("reserved %" PRIu64 " MiB of locked memory for the argon2 key "
			       "derivation at resume",
			       (uint64_t)reserve_size >> 20);
		else
			sd_say("WARNING: cannot reserve %" PRIu64 " KiB for argon2: %m; going on",
			       reserve_kb);
	}

	read_value(SYNC_ON_SUSPEND, sync_before, sizeof(sync_before));
	if (sync_before[0]) {
		/* The kernel's own sync at suspend would wait for the suspended mappings. */
		r = write_value(SYNC_ON_SUSPEND, "0");
		if (r < 0)
			sd_say("WARNING: cannot write 0 to %s: %s", SYNC_ON_SUSPEND, strerror(-r));
	}

	opts.key_fd = a.key_fd;
	opts.askpass_command = a.askpass;
	opts.askpass_socket = a.askpass_socket;
	opts.console = a.console;
	opts.tries = a.tries;
	r = bs_suspend_keys(plan, &opts);
	for (size_t i = 0; i < bs_suspend_get_n(plan); i++)
		suspended_any |= bs_suspend_get_suspended(plan, i);
	t_suspended = now_usec();
	if (r < 0) {
		sd_say("FAILED: a mapping could not be suspended: not sleeping; resuming those "
		       "suspended");
		result = EXIT_FAILURE;
	} else {
		sd_say("%zu mapping(s) suspended in %.2f s", bs_suspend_get_n(plan),
		       (double)(t_suspended - t0) / 1e6);
		if (a.notify_fd >= 0) {
			(void)!write(a.notify_fd, "S", 1);
			a.notify_fd = safe_close(a.notify_fd);
		}
		if (a.hook) {
			sd_say("waiting for the resume (the system sleeps now)");
			r = wait_for_wake();
			if (r < 0)
				sd_say("WARNING: waiting for the resume failed: %s; resuming now",
				       strerror(-r));
		} else if (a.skip_sleep)
			sd_say("not writing '%s' to %s (--skip-sleep)", a.state, POWER_STATE);
		else {
			sd_say_kmsg("writing '%s' to %s", a.state, POWER_STATE);
			r = write_value(POWER_STATE, a.state);
			if (r < 0) {
				sd_say("FAILED: writing '%s' to %s: %s", a.state, POWER_STATE,
				       strerror(-r));
				result = EXIT_FAILURE;
			}
		}
	}
	t_wake = now_usec();
	if (a.notify_fd >= 0)
		a.notify_fd = safe_close(a.notify_fd);

	/* The key derivation gets the reserve's pages. */
	if (reserve)
		(void)munmap(reserve, reserve_size);

	r = suspended_any ? resume_rounds(plan, &opts, a.tries) : 0;
	if (r < 0)
		result = EXIT_FAILURE;
	t_resumed = now_usec();
	if (suspended_any && r >= 0)
		sd_say("resumed %zu mapping(s) in %.2f s", bs_suspend_get_n(plan),
		       (double)(t_resumed - t_wake) / 1e6);

	if (sync_before[0])
		(void)write_value(SYNC_ON_SUSPEND, sync_before);
	(void)munlockall();
	if (frozen) {
		r = sd_cgroup_freeze(a.freeze, false, FREEZE_TIMEOUT_USEC);
		if (r < 0)
			sd_say("WARNING: cannot thaw '%s': %s", a.freeze, strerror(-r));
		else
			sd_say("thawed the cgroup '%s'", a.freeze);
	}
	bs_suspend_unref(plan);
	bs_ctx_unref(c);
	return result;
}
