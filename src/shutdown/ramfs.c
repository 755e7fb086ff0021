/* blkstack-shutdown, the shutdown ramfs's /shutdown: stage two of a clean shutdown, as PID 1. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * It runs after a pivot into the ramfs that /init kept in /run/initramfs, with the old root at
 * /oldroot: as systemd-shutdown's exitrd (`/shutdown VERB`), or from blkstack's own stage one
 * (`blkstack shutdown VERB` exec'd by PID 1), which makes the same hand-over. It stops what
 * still runs, unmounts /oldroot and everything below it, closes every layer that is left down
 * to the disks (dm-crypt mappings removed, so that the kernel wipes their keys; md arrays
 * stopped, so that they are marked clean), says what is left, and calls reboot(2). Nothing of
 * the old root is used: its files are gone from view at the first step.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "blkstack.h"
#include "fileio.h"
#include "build-config.h"
#include "macro.h"
#include "parse.h"
#include "shutdown.h"
#include "strv.h"
#include "util.h"

#define PREFIX "blkstack-shutdown: "
#define MANIFEST "/etc/blkstack/manifest.json"
#define HOOKS_DIR "/shutdown.d"
#define OLDROOT "/oldroot"
#define HOOK_TIMEOUT_USEC (10 * 1000000ull)
#define UNMOUNT_ROUNDS 5


static const char *verb = "poweroff";
static uint64_t grace_usec = 5 * 1000000ull;
static uint64_t timeout_usec = 90 * 1000000ull;

struct tally {
	unsigned closed, failed, wiped;
};

static void help(void)
{
	printf("Usage: /shutdown poweroff|reboot|halt|kexec [--grace=SEC] [--timeout=SEC]\n"
	       "\n"
	       "The shutdown ramfs's stage two (blkstack-shutdown(8)). It runs as PID 1 after a\n"
	       "pivot into the ramfs that blkstack's /init keeps in /run/initramfs, with the old\n"
	       "root at /oldroot: as systemd-shutdown's exitrd, or from 'blkstack shutdown'. It\n"
	       "unmounts /oldroot, closes every layer down to the disks, and calls reboot(2).\n"
	       "\n"
	       "  --grace=SEC     SIGTERM to SIGKILL (default 5)\n"
	       "  --timeout=SEC   the whole stage; then the machine goes down anyway (default 90)\n");
}

/* Arguments never stop a shutdown: what is not understood is said and passed over. Besides
 * its own, it takes what systemd's PID 1 passes to an exitrd after the verb: "--timeout
 * SPAN", "--log-level L", "--log-target T", "--log-color", "--log-location", "--exit-code N"
 * (systemd-shutdown(8)); the values of the log options are not used. */
static void parse_args(int argc, char *argv[])
{
	static const char *const with_value[] = { "--log-level", "--log-target", "--exit-code",
						  "--log-time" };
	bool have_verb = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		uint64_t t;

		if ((v = startswith(a, "--grace="))) {
			if (parse_timespan(v, &t) < 0 || t > 3600 * 1000000ull)
				sd_say("ignoring '%s': not a time up to 3600 s", a);
			else
				grace_usec = t;
		} else if ((v = startswith(a, "--timeout=")) ||
			   (streq(a, "--timeout") && i + 1 < argc && (v = argv[++i]))) {
			if (parse_timespan(v, &t) < 0 || t == 0 || t > 3600 * 1000000ull)
				sd_say("ignoring the timeout '%s': not a time from 1 to 3600 s", v);
			else
				timeout_usec = t;
		} else if (a[0] == '-') {
			bool takes = false;

			for (size_t j = 0; j < ELEMENTSOF(with_value); j++)
				takes |= streq(a, with_value[j]);
			if (takes && i + 1 < argc)
				i++;
			else if (!startswith(a, "--log-"))
				sd_say("ignoring the option '%s'", a);
		} else if (!have_verb && sd_verb_to_reboot(a, NULL) >= 0) {
			verb = a;
			have_verb = true;
		} else
			sd_say("ignoring '%s': the verb is poweroff, reboot, halt or kexec", a);
	}
	if (!have_verb)
		sd_say("no verb given: powering off");
	else if (streq(verb, "kexec"))
		sd_say("kexec is not supported here: rebooting instead");
}

static void mount_api_filesystems(void)
{
	static const struct {
		const char *what, *where, *type, *probe;
	} mounts[] = {
		{ "proc", "/proc", "proc", "/proc/self" },
		{ "sysfs", "/sys", "sysfs", "/sys/block" },
		{ "devtmpfs", "/dev", "devtmpfs", "/dev/null" },
	};

	for (size_t i = 0; i < ELEMENTSOF(mounts); i++) {
		if (access(mounts[i].probe, F_OK) >= 0)
			continue;
		(void)mkdir(mounts[i].where, 0755);
		if (mount(mounts[i].what, mounts[i].where, mounts[i].type, MS_NOSUID, NULL) < 0)
			sd_say("WARNING: cannot mount %s on %s: %m", mounts[i].type,
			       mounts[i].where);
	}
	/* libcryptsetup's lock directory, which a ramfs lacks: without it every header read
	 * and deactivation says "Locking aborted". */
	(void)mkdir("/run", 0755);
	(void)mkdir("/run/cryptsetup", 0700);
}


/* ---- /oldroot ------------------------------------------------------------------------------ */

static bool path_on_or_below(const char *path, const char *dir)
{
	const char *rest = startswith(path, dir);

	return rest && (*rest == '\0' || *rest == '/');
}

/* The mount points at /oldroot and below it, in the order of mountinfo (parents first). */
static int oldroot_mounts(char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	char *line = NULL;
	size_t size = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	while (getline(&line, &size, f) > 0) {
		char mp[4096];

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		sd_unescape_mountinfo(mp);
		if (!path_on_or_below(mp, OLDROOT))
			continue;
		if (strv_extend(&l, mp) < 0) {
			free(line);
			fclose(f);
			return -ENOMEM;
		}
	}
	free(line);
	fclose(f);
	*ret = TAKE_PTR(l);
	return 0;
}

/* Unmounts the old root, deepest first, in rounds while that makes progress; what stays busy
 * is remounted read-only and detached (lazily unmounted), the last resort, said so. */
static void unmount_oldroot(void)
{
	_cleanup_strv_free_ char **left = NULL;
	int last_error = 0;

	for (unsigned round = 0; round < UNMOUNT_ROUNDS; round++) {
		bool progress = false;

		left = strv_free(left);
		if (oldroot_mounts(&left) < 0 || !left)
			break;
		for (size_t i = strv_length(left); i-- > 0;) {
			if (umount2(left[i], UMOUNT_NOFOLLOW) >= 0) {
				sd_say("unmounted %s", left[i]);
				progress = true;
			} else if (errno != EINVAL && errno != ENOENT)
				last_error = errno;
		}
		if (!progress)
			break;
	}
	left = strv_free(left);
	if (oldroot_mounts(&left) < 0)
		return;
	for (size_t i = strv_length(left); i-- > 0;) {
		/* Read-only first, so that what the detached filesystem still holds is on its
		 * device when its last user goes. */
		(void)mount(NULL, left[i], NULL, MS_REMOUNT | MS_RDONLY, NULL);
		if (umount2(left[i], MNT_DETACH | UMOUNT_NOFOLLOW) >= 0)
			sd_say_kmsg("lazy unmount of %s (last resort): %s", left[i],
				    strerror(last_error ? last_error : EBUSY));
		else if (errno != EINVAL && errno != ENOENT)
			sd_say_kmsg("cannot unmount %s: %m", left[i]);
	}
}

/* ---- the layers ------------------------------------------------------------------------------ */

_printf_(6, 0) static void log_to_console(void *userdata, int priority, const char *file, int line,
					  const char *fn, const char *format, va_list ap)
{
	_cleanup_free_ char *m = NULL;

	(void)userdata;
	(void)file;
	(void)line;
	(void)fn;
	if (vasprintf(&m, format, ap) < 0)
		return;
	sd_say("%s%s", priority <= LOG_ERR ? "error: " : priority <= LOG_WARNING ? "warning: " : "",
	       m);
}

static void close_layers(struct tally *t)
{
	struct bs_exec_opts opts = { .key_fd = -1, .no_record = 1, .last_resort = 1 };
	struct bs_ctx *c = NULL;
	struct bs_exec *e = NULL;
	int r;

	/* The manifest gives the names and identities of root's layers; what else is open is
	 * seen live. */
	if (access(MANIFEST, R_OK) >= 0)
		opts.manifest = MANIFEST;
	r = bs_ctx_new(NULL, &c);
	if (r < 0) {
		sd_say("cannot set up libblkstack: %s; the layers stay open", strerror(-r));
		t->failed++;
		return;
	}
	bs_ctx_set_log_fn(c, log_to_console, NULL);
	(void)bs_ctx_set_log_priority(c, LOG_WARNING);
	for (int attempt = 0; attempt < 2; attempt++) {
		r = bs_exec_new(c, &opts, &e);
		if (r < 0)
			break;
		bs_exec_set_event_fn(e, sd_exec_event, NULL);
		r = bs_exec_run(e, BS_PLAN_DOWN, NULL, 0);
		if (r != -EBADMSG || opts.live_only)
			break;
		/* A damaged manifest must not keep root's layers open: the running system
		 * shows what is there. */
		sd_say("the manifest %s has problems; closing what the running system shows",
		       MANIFEST);
		e = bs_exec_unref(e);
		opts.live_only = 1;
	}
	if (e) {
		for (size_t i = 0; i < bs_exec_get_n_results(e); i++) {
			const char *m = bs_exec_get_result_message(e, i), *reason;
			const char *node = bs_exec_get_result_node(e, i);

			if (bs_exec_get_result_status(e, i) == BS_EXEC_DONE) {
				t->closed++;
				continue;
			}
			t->failed++;
			/* The library's message says what the last resort did, then what holds
			 * it ("still open: pid 42 (x) ..."). */
			reason = m ? strstr(m, "still open") : NULL;
			if (m && strstr(m, "key wiped")) {
				t->wiped++;
				sd_say_kmsg("%s cannot be closed (%s): suspended, key wiped", node,
					    reason ? reason : "in use");
			} else if (m && strstr(m, "marked clean"))
				sd_say_kmsg("%s cannot be stopped (%s): marked clean", node,
					    reason ? reason : "in use");
			else
				sd_say_kmsg("%s %s: %s", bs_exec_get_result_action(e, i), node,
					    strna(m));
		}
	}
	if (r < 0 && r != -EBUSY && bs_exec_get_n_results(e) == 0) {
		sd_say("the teardown did not run: %s", strerror(-r));
		t->failed++;
	}
	bs_exec_unref(e);
	bs_ctx_unref(c);
}

/* ---- what is left ------------------------------------------------------------------------------ */


static int append(char **list, const char *format, ...) _printf_(2, 3);
static int append(char **list, const char *format, ...)
{
	_cleanup_free_ char *item = NULL;
	va_list ap;
	int r;

	va_start(ap, format);
	r = vasprintf(&item, format, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	return strextend(list, *list ? ", " : "", item, NULL);
}

static void last_state(void)
{
	_cleanup_free_ char *dm = NULL, *md = NULL, *mounts = NULL;
	char *line = NULL;
	size_t size = 0;
	struct dirent *de;
	DIR *d = opendir("/sys/block");
	FILE *f;

	while (d && (de = readdir(d))) {
		char path[512], name[256], state[64];

		if (startswith(de->d_name, "dm-")) {
			(void)snprintf(path, sizeof(path), "/sys/block/%s/dm/name", de->d_name);
			if (read_small_at(AT_FDCWD, path, name, sizeof(name), true) < 0)
				continue;
			(void)snprintf(path, sizeof(path), "/sys/block/%s/dm/suspended", de->d_name);
			(void)append(&dm, "%s%s", name,
				     read_small_at(AT_FDCWD, path, state, sizeof(state), true) >= 0 && streq(state, "1") ?
					     " (suspended)" :
					     "");
		} else if (startswith(de->d_name, "md")) {
			(void)snprintf(path, sizeof(path), "/sys/block/%s/md/array_state",
				       de->d_name);
			/* A device node whose array is stopped says "clear" (or "inactive"). */
			if (read_small_at(AT_FDCWD, path, state, sizeof(state), true) < 0 || streq(state, "clear") ||
			    streq(state, "inactive"))
				continue;
			(void)append(&md, "%s (%s)", de->d_name, state);
		}
	}
	if (d)
		closedir(d);
	f = fopen("/proc/self/mountinfo", "re");
	while (f && getline(&line, &size, f) > 0) {
		char mp[4096], source[4096];
		const char *sep = strstr(line, " - ");

		/* ... MOUNTPOINT ... - FSTYPE SOURCE OPTIONS */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep + 3, "%*s %4095s", source) != 1)
			continue;
		sd_unescape_mountinfo(mp);
		sd_unescape_mountinfo(source);
		if (startswith(source, "/dev/"))
			(void)append(&mounts, "%s on %s", source, mp);
	}
	free(line);
	if (f)
		fclose(f);
	sd_say_kmsg("last state: dm devices: %s; md arrays: %s; stack mounts: %s",
		    dm ? dm : "none", md ? md : "none", mounts ? mounts : "none");
}

/* ---- hooks --------------------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The executables of /shutdown.d (kept as /run/initramfs/shutdown.d), in name order, each as
 * `HOOK VERB`, up to HOOK_TIMEOUT_USEC: what a distribution or a test wants done last. */
static void run_hooks(void)
{
	_cleanup_strv_free_ char **names = NULL;
	struct dirent *de;
	DIR *d = opendir(HOOKS_DIR);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strv_extend(&names, de->d_name) < 0)
			break;
	closedir(d);
	if (!names)
		return;
	qsort(names, strv_length(names), sizeof(char *), cmp_names);
	for (char **n = names; *n; n++) {
		_cleanup_free_ char *path = NULL;
		char *argv[3];
		pid_t pid;
		int pidfd, r;
		struct pollfd p;

		if (asprintf(&path, HOOKS_DIR "/%s", *n) < 0 || access(path, X_OK) < 0)
			continue;
		argv[0] = path;
		argv[1] = (char *)verb;
		argv[2] = NULL;
		r = posix_spawn(&pid, path, NULL, NULL, argv, environ);
		if (r != 0) {
			sd_say("hook %s: cannot start: %s", path, strerror(r));
			continue;
		}
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		if (pidfd >= 0 && poll(&p, 1, (int)(HOOK_TIMEOUT_USEC / 1000)) == 0) {
			sd_say("hook %s: still running after %llu s: SIGKILL", path,
			       HOOK_TIMEOUT_USEC / 1000000);
			(void)kill(pid, SIGKILL);
		}
		if (pidfd >= 0)
			close(pidfd);
		(void)waitpid(pid, NULL, 0);
	}
}

int main(int argc, char *argv[])
{
	/* This process may be one libblkstack started to close a dm-crypt mapping. */
	int r = bs_helper_main(argc, argv);
	struct tally t = {};
	struct sd_times times;

	if (r >= 0)
		return r;
	sd_times_start(&times);
	if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
		help();
		return EXIT_SUCCESS;
	}
	/* Not a shutdown: the suspend stage, chrooted here by 'blkstack suspend'. */
	if (argc >= 2 && (streq(argv[1], "--suspend-stage") || streq(argv[1], "--resume-stage") ||
			   streq(argv[1], "--hook")))
		return sd_sleep_main(argc, argv);
	if (argc == 2 && streq(argv[1], "--version")) {
		printf("blkstack-shutdown %s\n", PROJECT_VERSION);
		return EXIT_SUCCESS;
	}
	if (getpid() != 1) {
		fprintf(stderr,
			"blkstack-shutdown runs only as PID 1 in the shutdown ramfs (as systemd's "
			"exitrd, or from 'blkstack shutdown'); see blkstack-shutdown(8)\n");
		return EXIT_FAILURE;
	}

	sd_set_prefix(PREFIX);
	mount_api_filesystems();
	stdio_on_console("/dev/console");
	(void)setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	parse_args(argc, argv);
	sd_watchdog_arm(verb, timeout_usec, true);
	sd_say_kmsg("stage two: %s", verb);

	/* Whatever still runs from the old root would keep it busy. */
	(void)sd_kill(&(const struct sd_kill_opts){ .scope = SD_KILL_ALL, .grace_usec = grace_usec });
	sd_times_mark(&times, "kill");
	unmount_oldroot();
	sd_times_mark(&times, "unmount");
	/* The last sync: what a lazily unmounted filesystem still holds goes out now. From here
	 * on a mapping may be suspended for its key wipe, and a sync(2) would wait for it
	 * forever. */
	(void)sd_sync_wait(5 * 1000000ull, NULL);
	sd_times_mark(&times, "sync");
	sd_watchdog_arm(verb, timeout_usec - MIN(timeout_usec - 1000000, now_usec() - times.start),
			false);
	close_layers(&t);
	if (t.failed > 0) {
		/* A root-storage daemon may be what holds it: root is gone, so it has nothing
		 * left to serve; then once more. */
		unsigned signalled = 0;

		(void)sd_kill(&(const struct sd_kill_opts){ .scope = SD_KILL_ROOT_DAEMONS,
							    .grace_usec = grace_usec,
							    .ret_signalled = &signalled });
		if (signalled > 0) {
			t = (struct tally){ .closed = t.closed };
			close_layers(&t);
		}
	}
	sd_times_mark(&times, "close");
	last_state();
	run_hooks();
	/* The root-storage daemons last, so that they end cleanly rather than by the reboot. */
	(void)sd_kill(&(const struct sd_kill_opts){ .scope = SD_KILL_ROOT_DAEMONS,
						    .grace_usec = grace_usec });
	sd_say_kmsg("summary: %u closed, %u failed, %u keys wiped (%.2f s: %s); %s", t.closed,
		    t.failed, t.wiped, sd_times_total(&times), times.text, sd_verb_doing(verb));
	r = sd_reboot(verb, false);
	sd_say_kmsg("reboot(2) failed: %s; halted here", strerror(-r));
	for (;;)
		pause();
}
