/* blkstack-init, the initramfs's /init: modules, resume, root from the manifest, switch root. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libkmod.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "blkstack.h"
#include "build-config.h"
#include "cmdline.h"
#include "fileio.h"
#include "macro.h"
#include "root.h"
#include "strv.h"
#include "util.h"

#define MANIFEST_PATH "/etc/blkstack/manifest.json"
#define SYSROOT "/sysroot"
#define SHELL "/bin/sh"
#define DEFAULT_INIT "/sbin/init"
#define STATE_DIR "/run/blkstack"
#define RAMFS_DIR "/run/initramfs"
#define PREFIX "blkstack-init: "
/* How long ip= waits for its interface to appear and for its carrier. */
#define NET_TIMEOUT_USEC (30ULL * 1000000ULL)

static struct init_cmdline arg;
static char **argv_init; /* what the kernel gave /init after its name, passed on to init */

/* ---- the console ----------------------------------------------------------------------- */

/* One message, one write: the executor's threads log at once. */
_printf_(1, 0) static void vsay(const char *format, va_list ap)
{
	_cleanup_free_ char *m = NULL, *line = NULL;

	if (vasprintf(&m, format, ap) < 0)
		return;
	if (asprintf(&line, PREFIX "%s\n", m) < 0)
		return;
	(void)loop_write(STDERR_FILENO, line, strlen(line));
}

_printf_(1, 2) static void say(const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsay(format, ap);
	va_end(ap);
}

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
	say("%s%s",
	    priority <= LOG_ERR	    ? "error: " :
	    priority <= LOG_WARNING ? "warning: " :
	    priority >= LOG_DEBUG   ? "debug: " :
				      "",
	    m);
}

static void on_event(void *userdata, const struct bs_exec_event *ev)
{
	(void)userdata;
	switch (ev->type) {
	case BS_EXEC_EVENT_ROUND:
		if (ev->message)
			say("%s", ev->message);
		break;
	case BS_EXEC_EVENT_START:
		say("[%u/%u] %s %s", ev->n_done + 1, ev->n_total, ev->action, ev->node);
		break;
	case BS_EXEC_EVENT_WAIT:
		say("waiting: %s %s%s%s", ev->action, ev->node, ev->message ? ": " : "",
		    strempty(ev->message));
		break;
	case BS_EXEC_EVENT_DONE:
		say("done: %s %s", ev->action, ev->node);
		break;
	case BS_EXEC_EVENT_FAILED:
		/* Refusals are said once each, REFUSED: ..., when the run has stopped. */
		if (ev->error != -EKEYREJECTED)
			say("failed: %s %s: %s", strna(ev->action), strna(ev->node),
			    strna(ev->message));
		break;
	case BS_EXEC_EVENT_SKIPPED:
		say("skipped: %s %s: %s", strna(ev->action), strna(ev->node), strna(ev->message));
		break;
	case BS_EXEC_EVENT_WARNING:
		say("WARNING: %s: %s", strna(ev->node), strna(ev->message));
		break;
	default:
		break;
	}
}

/* ---- files ------------------------------------------------------------------------------- */

/* All of a file that has no size to tell (/proc/cmdline), newly allocated, NUL-terminated. */
static int read_all(const char *path, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return read_fd_all(fd, 64u << 20, ret, ret_size);
}

static int write_string(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	return loop_write(fd, s, strlen(s));
}

/* ---- failure, breaks and the rescue shell ------------------------------------------------- */

static bool have_shell(void)
{
	return init_is_executable_file(SHELL);
}

/* The rescue shell on the console, as the session leader with the console as its terminal.
 * Returns when it exits. */
static void rescue_shell(void)
{
	pid_t pid = fork();

	if (pid < 0) {
		say("cannot start the rescue shell: %m");
		return;
	}
	if (pid == 0) {
		(void)setsid();
		(void)ioctl(STDIN_FILENO, TIOCSCTTY, 1);
		execl(SHELL, "sh", "-i", (char *)NULL);
		_exit(127);
	}
	/* PID 1 also reaps what the shell leaves behind; the shell's own end is the one that
	 * counts. */
	for (;;) {
		pid_t w = waitpid(-1, NULL, 0);

		if (w == pid || (w < 0 && errno == ECHILD))
			break;
	}
}

/* The end of a failed boot. It never returns, and never hangs without saying why. */
_noreturn_ static void fail_end(void)
{
	if (have_shell()) {
		say("starting a rescue shell on the console; the boot does not go on when it "
		    "exits");
		rescue_shell();
	}
	if (arg.have_panic) {
		/* The kernel panics when init exits, and honours panic= from there. */
		say("the boot failed; exiting, for the kernel to panic and act on panic=%d",
		    arg.panic);
		exit(EXIT_FAILURE);
	}
	say("the boot failed.%s Give panic=SECONDS on the kernel command line to reboot after a "
	    "failure. Halting.",
	    have_shell() ? "" :
			   " This image has no rescue shell; build one with 'blkstack initramfs "
			   "--shell'.");
	sync();
	(void)reboot(RB_HALT_SYSTEM);
	for (;;)
		pause();
}

_printf_(1, 2) _noreturn_ static void fail(const char *format, ...)
{
	_cleanup_free_ char *m = NULL;
	va_list ap;

	va_start(ap, format);
	if (vasprintf(&m, format, ap) < 0)
		m = NULL;
	va_end(ap);
	say("FAILED: %s", m ? m : format);
	fail_end();
}

/* blkstack.break=PHASE: a rescue shell before the phase, if the image has one. */
static void maybe_break(enum init_phase phase)
{
	if (!(arg.breaks & (1u << phase)))
		return;
	if (!have_shell()) {
		say("blkstack.break=%s: this image has no rescue shell (build it with 'blkstack "
		    "initramfs --shell'), going on",
		    init_phase_to_string(phase));
		return;
	}
	say("blkstack.break=%s: rescue shell; exit it to go on", init_phase_to_string(phase));
	rescue_shell();
}

/* ---- the kernel's filesystems ------------------------------------------------------------ */

static void mount_kernel_filesystems(void)
{
	static const struct {
		const char *what, *where, *type;
		unsigned long flags;
		const char *data;
	} mounts[] = {
		{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
		{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
		{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
		{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
	};

	/* The image has these directories; a hand-made one may not. The root is mounted on
	 * /sysroot, and blkstack makes no mount points of its own elsewhere. */
	(void)mkdir(SYSROOT, 0755);
	for (size_t i = 0; i < ELEMENTSOF(mounts); i++) {
		(void)mkdir(mounts[i].where, 0755);
		/* Mounted already (by the kernel, CONFIG_DEVTMPFS_MOUNT): fine. */
		if (mount(mounts[i].what, mounts[i].where, mounts[i].type, mounts[i].flags,
			  mounts[i].data) < 0 &&
		    errno != EBUSY)
			say("WARNING: cannot mount %s on %s: %m", mounts[i].type, mounts[i].where);
	}
}

/* ---- modules ----------------------------------------------------------------------------- */

static void load_modules(char **modules, const char *release)
{
	_cleanup_free_ char *dir = NULL;
	struct kmod_ctx *kmod;

	if (strv_length(modules) == 0)
		return;
	if (asprintf(&dir, "/lib/modules/%s", release) < 0)
		fail("out of memory");
	kmod = kmod_new(dir, NULL);
	if (!kmod)
		fail("cannot set up libkmod for %s", dir);
	for (char **m = modules; *m; m++) {
		_cleanup_free_ char *path = NULL;
		struct kmod_module *mod = NULL;
		int r;

		if (asprintf(&path, "%s/%s", dir, *m) < 0)
			fail("out of memory");
		r = kmod_module_new_from_path(kmod, path, &mod);
		if (r < 0)
			fail("module %s (%s): %s", *m, path, strerror(-r));
		r = kmod_module_insert_module(mod, 0, NULL);
		if (r == -ENODEV) {
			/* A driver for hardware this machine lacks: one of several providers of a
			 * cipher (padlock-aes on a CPU without VIA PadLock, aesni-intel without
			 * AES-NI), as modprobe loads them all for an alias. Another provider, or
			 * the built-in generic one, does the work; if none can, the step that
			 * needs it says so. */
			say("module %s: no such device on this machine, skipped",
			    kmod_module_get_name(mod));
			kmod_module_unref(mod);
			continue;
		}
		if (r < 0 && r != -EEXIST)
			fail("module %s (%s): %s", kmod_module_get_name(mod), path, strerror(-r));
		if (arg.debug)
			say("module %s: %s", kmod_module_get_name(mod),
			    r == -EEXIST ? "loaded already" : "loaded");
		kmod_module_unref(mod);
	}
	kmod_unref(kmod);
}

/* ---- the manifest's graph ------------------------------------------------------------------ */

/*
 * ip=: the interface that network layers (root on NBD or iSCSI) need, configured before they
 * are brought up, as klibc's ipconfig does in Debian's initramfs. A failure is said, not
 * fatal: a root that needs no network still boots, and one that does fails in its own
 * network step, naming what it could not reach.
 */
static void configure_network(void)
{
	_cleanup_free_ char *dev = NULL, *why = NULL;
	char addr[INET_ADDRSTRLEN] = "?";
	int r;

	if (!arg.have_ip || arg.ip.off)
		return;
	r = init_ip_configure(&arg.ip, NET_TIMEOUT_USEC, &dev, &why);
	if (r < 0 && r != -ENOLINK) {
		say("WARNING: ip=: %s; the network is not configured", why ? why : strerror(-r));
		return;
	}
	(void)inet_ntop(AF_INET, &arg.ip.client, addr, sizeof(addr));
	say("network: %s has %s/%u (from ip=)", dev, addr, arg.ip.prefix);
	if (r == -ENOLINK)
		say("WARNING: ip=: %s", why);
}

static struct bs_graph *manifest_graph(struct bs_ctx *c, bool live)
{
	const struct bs_load_opts o = {
		.flags = BS_LOAD_MANIFEST | (live ? BS_LOAD_LIVE : 0),
		.manifest = MANIFEST_PATH,
	};
	struct bs_graph *g = NULL;
	int r = bs_graph_load(c, &o, &g, NULL);

	if (r < 0)
		fail("cannot read the manifest %s: %s", MANIFEST_PATH, strerror(-r));
	return g;
}

/* The node that node needs with role, or NULL. */
static struct bs_node *need_with_role(const struct bs_node *n, const char *role)
{
	for (size_t i = 0; i < bs_node_get_n_needs(n); i++) {
		struct bs_edge *e = bs_node_get_need(n, i);

		if (streq(bs_edge_get_role(e), role))
			return bs_edge_get_needs(e);
	}
	return NULL;
}

/* How a node is told apart across boots, for messages: "crypt:cryptroot (UUID=...)". */
static char *describe(const struct bs_node *n)
{
	const char *uuid = bs_node_get_attr(n, "uuid");
	char *s = NULL;

	if (asprintf(&s, "%s%s%s%s", bs_node_get_id(n), uuid ? " (UUID=" : "", strempty(uuid),
		     uuid ? ")" : "") < 0)
		return NULL;
	return s;
}

/* root= must name the image's root: its filesystem's device, or the root mount itself, or a
 * device of the same filesystem (a member of a multi-device btrfs). */
static void check_root_arg(struct bs_graph *g)
{
	struct bs_node *mnt = bs_graph_find_node(g, "mnt:/"), *dev, *named;
	_cleanup_free_ char *what = NULL;
	const char *uuid;

	if (!mnt)
		fail("the image's manifest has no root filesystem (mnt:/)");
	if (!arg.root)
		return;
	dev = need_with_role(mnt, "device");
	what = dev ? describe(dev) : NULL;
	named = bs_graph_find_device(g, arg.root);
	if (!named)
		fail("root=%s names no device of this image; the image's root is %s. Fix root= or "
		     "rebuild the image for that root",
		     arg.root, strna(what));
	if (named == mnt || named == dev)
		return;
	uuid = dev ? bs_node_get_attr(dev, "uuid") : NULL;
	if (uuid && bs_node_get_attr(named, "uuid") && streq(bs_node_get_attr(named, "uuid"), uuid))
		return;
	fail("root=%s names %s, which is not the image's root: the image's root is %s. Fix root= "
	     "or rebuild the image for that root",
	     arg.root, bs_node_get_id(named), strna(what));
}

/* What a failed run left missing: every device the pins refused, then every step that did not
 * succeed, with why. */
static void report_failure(struct bs_exec *e, int r, const char *what)
{
	size_t n = bs_exec_get_n_results(e), shown = 0, n_refused = bs_exec_get_n_refusals(e);

	for (size_t i = 0; i < n_refused; i++)
		say("REFUSED: %s", bs_exec_get_refusal(e, i));
	for (size_t i = 0; i < n; i++) {
		enum bs_exec_status s = bs_exec_get_result_status(e, i);
		int err = bs_exec_get_result_error(e, i);

		if (s == BS_EXEC_DONE)
			continue;
		if (err == -EKEYREJECTED && n_refused > 0) {
			say("FAILED: %s %s: refused before anything was asked or opened (above)",
			    bs_exec_get_result_action(e, i), bs_exec_get_result_node(e, i));
			shown++;
			continue;
		}
		say("FAILED: %s %s: %s%s%s%s", bs_exec_get_result_action(e, i),
		    bs_exec_get_result_node(e, i), strna(bs_exec_get_result_message(e, i)),
		    err ? " (" : "", err ? strerror(-err) : "", err ? ")" : "");
		shown++;
	}
	say("FAILED: %s: %s%s", what, strerror(-r),
	    r == -EBADMSG      ? " (the manifest or the graph it gives is refused)" :
	    r == -EKEYREJECTED ? " (a device differs from its pin: forged, or changed without "
				 "'blkstack pin' and a new image)" :
				 "");
	(void)shown;
}

static struct bs_exec *new_exec(struct bs_ctx *c, const struct bs_manifest_info *info)
{
	const struct bs_exec_opts o = {
		.key_fd = -1,
		.console = "/dev/console",
		.no_record = 1,
		.manifest = MANIFEST_PATH,
		.root_fstype = arg.rootfstype,
		.root_options = arg.rootflags,
		.root_access = arg.read_only < 0 ? BS_EXEC_ROOT_AS_CONFIGURED :
			       arg.read_only	 ? BS_EXEC_ROOT_READ_ONLY :
						   BS_EXEC_ROOT_READ_WRITE,
		/* Verified before any passphrase is asked: a forged device is refused. */
		.pins = info->pins,
	};
	struct bs_exec *e = NULL;
	int r = bs_exec_new(c, &o, &e);

	if (r < 0)
		fail("cannot set up the executor: %s%s", strerror(-r),
		     r == -EINVAL ? " (rootflags= or rootfstype= is not usable)" : "");
	bs_exec_set_event_fn(e, on_event, NULL);
	return e;
}

/* ---- resume ------------------------------------------------------------------------------ */

/* The block device of the resume node (a swap node's device), or the node itself. */
static struct bs_node *resume_device(struct bs_node *n)
{
	struct bs_node *dev;

	if (bs_node_get_kind(n) != BS_NODE_SWAP)
		return n;
	dev = need_with_role(n, "device");
	return dev ? dev : n;
}

static void resume(struct bs_ctx *c, const struct bs_manifest_info *info, char **ret_resume_id)
{
	_cleanup_free_ char *id = NULL, *devpath = NULL, *text = NULL;
	struct bs_graph *g;
	struct bs_node *n;
	struct bs_exec *e;
	const char *devno, *name;
	int r;

	*ret_resume_id = NULL;
	if (arg.noresume) {
		if (info->resume)
			say("noresume: not resuming from %s", info->resume);
		return;
	}
	g = manifest_graph(c, false);
	if (arg.resume) {
		n = bs_graph_find_device(g, arg.resume);
		if (!n)
			fail("resume=%s names no device of this image (%s); give noresume to boot "
			     "without resuming, or rebuild the image with --resume",
			     arg.resume,
			     info->resume ? info->resume : "the image has no resume device");
	} else if (info->resume)
		n = bs_graph_find_node(g, info->resume);
	else
		n = NULL;
	if (!n) {
		bs_graph_unref(g);
		return;
	}
	/* Swap itself is not turned on: the resume device only has to be there. */
	n = resume_device(n);
	id = strdup(bs_node_get_id(n));
	bs_graph_unref(g);
	if (!id)
		fail("out of memory");

	maybe_break(INIT_PHASE_RESUME);
	e = new_exec(c, info);
	r = bs_exec_run(e, BS_PLAN_UP, (const char *const[]){ id, NULL }, 0);
	if (r < 0) {
		report_failure(e, r, "bringing up the resume device");
		if (r == -EKEYREJECTED)
			fail_end();
		fail("the resume device %s is not there; give noresume to boot without resuming",
		     id);
	}
	bs_exec_unref(e);

	g = manifest_graph(c, true);
	n = bs_graph_find_node(g, id);
	devno = n ? bs_node_get_devno(n) : NULL;
	if (!devno)
		fail("the resume device %s is up but has no device number", id);
	name = bs_node_get_attr(n, "dm_name");
	if (name ? asprintf(&devpath, "/dev/mapper/%s", name) < 0 :
		   asprintf(&devpath, "/dev/%s", strna(bs_node_get_name(n))) < 0)
		fail("out of memory");
	if (arg.have_resume_offset) {
		_cleanup_free_ char *off = NULL;

		if (asprintf(&off, "%" PRIu64 "\n", arg.resume_offset) < 0)
			fail("out of memory");
		r = write_string("/sys/power/resume_offset", off);
		if (r < 0)
			fail("cannot write resume_offset=%" PRIu64
			     " to /sys/power/resume_offset: %s",
			     arg.resume_offset, strerror(-r));
	}
	say("resuming from %s (%s)", devpath, devno);
	if (asprintf(&text, "%s\n", devno) < 0)
		fail("out of memory");
	r = write_string("/sys/power/resume", text);
	/* Only without an image does the write return. */
	if (r < 0)
		say("WARNING: writing %s to /sys/power/resume failed: %s; booting without resuming",
		    devno, strerror(-r));
	else
		say("no hibernation image on %s, booting", devpath);
	bs_graph_unref(g);
	*ret_resume_id = TAKE_PTR(id);
}

/* ---- root, and the switch ---------------------------------------------------------------- */

static void write_state(struct bs_exec *e)
{
	_cleanup_free_ char *manifest = NULL, *json = NULL;
	size_t size = 0;
	int r;

	r = mkdir_p_at(AT_FDCWD, STATE_DIR, 0755);
	if (r >= 0)
		r = read_all(MANIFEST_PATH, &manifest, &size);
	if (r >= 0)
		r = write_file_atomic_at(AT_FDCWD, STATE_DIR "/manifest.json", manifest, size,
					 0644);
	if (r >= 0)
		r = bs_exec_results_to_json(e, &json);
	if (r >= 0)
		r = write_file_atomic_at(AT_FDCWD, STATE_DIR "/up.json", json, strlen(json), 0644);
	if (r < 0)
		say("WARNING: cannot write what was brought up to %s: %s", STATE_DIR, strerror(-r));
}

static void switch_root(const char *init)
{
	static const char *const moved[] = { "/dev", "/proc", "/sys", "/run" };
	_cleanup_free_ char **args = NULL;
	struct statfs sfs;
	struct stat st;
	int old_root;

	for (size_t i = 0; i < ELEMENTSOF(moved); i++) {
		_cleanup_free_ char *target = NULL;

		if (asprintf(&target, SYSROOT "%s", moved[i]) < 0)
			fail("out of memory");
		if (mount(moved[i], target, NULL, MS_MOVE, NULL) < 0) {
			say("WARNING: cannot move %s to %s: %m; unmounting it", moved[i], target);
			(void)umount2(moved[i], MNT_DETACH);
		}
	}
	old_root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (old_root < 0 || chdir(SYSROOT) < 0)
		fail("cannot switch to %s: %m", SYSROOT);
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		fail("cannot move %s to /: %m", SYSROOT);
	if (chroot(".") < 0 || chdir("/") < 0)
		fail("cannot change the root to %s: %m", SYSROOT);

	/* Free the initramfs's memory: its files, and only if it is one (rootfs is ramfs or
	 * tmpfs); the root just mounted is on another device and is never entered. */
	if (fstatfs(old_root, &sfs) >= 0 &&
	    (sfs.f_type == RAMFS_MAGIC || sfs.f_type == TMPFS_MAGIC) && fstat(old_root, &st) >= 0)
		init_remove_tree(old_root, st.st_dev);
	else
		close(old_root);

	args = calloc(strv_length(argv_init) + 2, sizeof(char *));
	if (!args)
		fail("out of memory");
	args[0] = (char *)init;
	for (size_t i = 0; argv_init && argv_init[i]; i++)
		args[i + 1] = argv_init[i];
	execv(init, args);
	/* Too late for the rescue shell: the initramfs is gone. */
	say("FAILED: cannot execute %s on the root filesystem: %m", init);
	fail_end();
}

/*
 * The shutdown ramfs, kept before the switch as dracut keeps its own: the image's files but
 * the modules (all loaded by now), the key files (a key must not outlive the boot in /run)
 * and /init, in /run/initramfs, which moves into root with /run. Root's shutdown pivots
 * into it and runs /shutdown there (systemd's exitrd interface), so that it never needs a
 * file of the root it takes down. Without it the system still boots; only root's own layers
 * then stay open at shutdown.
 */
static void keep_shutdown_ramfs(const struct bs_manifest_info *info)
{
	static const char *const dirs[] = { "oldroot", "proc", "sys", "dev", "run" };
	_cleanup_strv_free_ char **skip = NULL;
	uint64_t bytes = 0;
	int r;

	if (access("/shutdown", X_OK) < 0) {
		say("WARNING: the image has no /shutdown: no shutdown ramfs; root's layers will "
		    "stay open at shutdown (rebuild the image with this blkstack)");
		return;
	}
	if (strv_extend(&skip, "init") < 0 || strv_extend(&skip, "lib/modules") < 0 ||
	    strv_extend(&skip, "usr/lib/modules") < 0 || strv_extend(&skip, SYSROOT + 1) < 0)
		fail("out of memory");
	for (char **k = info->key_files; *k; k++)
		if (strv_extend(&skip, *k + strspn(*k, "/")) < 0)
			fail("out of memory");
	r = init_copy_tree("/", RAMFS_DIR, skip, &bytes);
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(dirs); i++) {
		_cleanup_free_ char *d = NULL;

		if (asprintf(&d, RAMFS_DIR "/%s", dirs[i]) < 0)
			fail("out of memory");
		if (mkdir(d, 0755) < 0 && errno != EEXIST)
			r = -errno;
	}
	if (r < 0) {
		/* Half a ramfs must not be run: without its /shutdown nobody enters it. */
		(void)unlink(RAMFS_DIR "/shutdown");
		say("WARNING: cannot keep the shutdown ramfs in %s: %s; root's layers will stay "
		    "open at shutdown",
		    RAMFS_DIR, strerror(-r));
		return;
	}
	/* A mount of its own, as systemd-shutdown makes it before the pivot, but from now on:
	 * a process started in it (a root-storage daemon) then runs from the ramfs, not from
	 * the /run of the root it is to outlive, and what is mounted in it stays with it. It
	 * moves into root with /run. */
	if (mount(RAMFS_DIR, RAMFS_DIR, NULL, MS_BIND, NULL) < 0)
		say("WARNING: cannot make %s a mount of its own: %m; the shutdown binds it then",
		    RAMFS_DIR);
	say("shutdown ramfs kept in %s (%" PRIu64 " kB)", RAMFS_DIR, (bytes + 1023) / 1024);
}

/* The root set's targets: everything but the resume device, whose swap is not turned on. */
static char **root_targets(const struct bs_manifest_info *info)
{
	char **t = NULL;

	for (char **id = info->root_set; *id; id++)
		if (!(info->resume && streq(*id, info->resume)) && strv_extend(&t, *id) < 0)
			fail("out of memory");
	if (!t)
		fail("the image's manifest has an empty root set");
	return t;
}

_noreturn_ static void boot(void)
{
	_cleanup_free_ char *cmdline = NULL, *resume_id = NULL;
	_cleanup_strv_free_ char **problems = NULL, **targets = NULL;
	struct bs_manifest_info *info = NULL;
	struct bs_ctx *c = NULL;
	struct bs_graph *g;
	struct bs_exec *e;
	struct utsname u;
	const char *init;
	int r;

	mount_kernel_filesystems();
	stdio_on_console("/dev/console");
	/* The kernel gives init no PATH; the tools the steps run live in the sbin dirs. */
	(void)setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 0);

	r = read_all("/proc/cmdline", &cmdline, NULL);
	if (r < 0)
		say("WARNING: cannot read /proc/cmdline: %s; booting with the image's settings",
		    strerror(-r));
	r = init_cmdline_parse(cmdline ? cmdline : "", &arg, &problems);
	if (r < 0)
		fail("cannot parse the kernel command line: %s", strerror(-r));
	for (char **p = problems; p && *p; p++)
		say("kernel command line: %s", *p);

	r = bs_ctx_new(&(const struct bs_ctx_opts){ .mount_root = SYSROOT }, &c);
	if (r < 0)
		fail("cannot set up libblkstack: %s", strerror(-r));
	bs_ctx_set_log_fn(c, log_to_console, NULL);
	(void)bs_ctx_set_log_priority(c, arg.debug ? LOG_DEBUG : LOG_WARNING);

	r = bs_manifest_get_info(c, MANIFEST_PATH, &info);
	if (r < 0)
		fail("cannot read the manifest %s: %s", MANIFEST_PATH, strerror(-r));
	if (uname(&u) < 0)
		fail("uname: %m");
	if (info->kernel && !streq(info->kernel, u.release))
		say("WARNING: the image was built for kernel %s, this is %s; its modules may not "
		    "load",
		    info->kernel, u.release);

	if (bs_pins_get_n(info->pins) == 0)
		say("WARNING: the image carries no pins: the devices are not verified before a "
		    "passphrase is asked (run 'blkstack pin', then build the image again)");

	maybe_break(INIT_PHASE_MODULES);
	load_modules(info->modules, u.release);
	configure_network();

	/* Before anything is mounted: a filesystem mounted now would not match the image the
	 * kernel resumes. */
	resume(c, info, &resume_id);

	g = manifest_graph(c, false);
	check_root_arg(g);
	bs_graph_unref(g);
	init = arg.init ? arg.init : DEFAULT_INIT;

	maybe_break(INIT_PHASE_ROOT);
	targets = root_targets(info);
	e = new_exec(c, info);
	r = bs_exec_run(e, BS_PLAN_UP, (const char *const *)targets, 0);
	if (r < 0) {
		report_failure(e, r, "bringing up the root filesystem");
		fail_end();
	}
	write_state(e);
	bs_exec_unref(e);

	if (!init_is_executable_in_root(SYSROOT, init))
		fail("%s is no executable file on the root filesystem (mounted at %s); give init= "
		     "for another",
		     init, SYSROOT);

	keep_shutdown_ramfs(info);
	maybe_break(INIT_PHASE_SWITCH);
	bs_manifest_info_free(info);
	bs_ctx_unref(c);
	say("root is up");
	switch_root(init);
	fail_end();
}

/* ---- outside an initramfs ---------------------------------------------------------------- */

static int test_cmdline(const char *path)
{
	_cleanup_strv_free_ char **problems = NULL;
	_cleanup_free_ char *text = NULL, *json = NULL;
	struct init_cmdline c;
	int r;

	r = read_all(path, &text, NULL);
	if (r < 0) {
		fprintf(stderr, "blkstack-init: cannot read '%s': %s\n", path, strerror(-r));
		return EXIT_FAILURE;
	}
	r = init_cmdline_parse(text, &c, &problems);
	if (r >= 0)
		r = init_cmdline_to_json(&c, &json);
	init_cmdline_done(&c);
	if (r < 0) {
		fprintf(stderr, "blkstack-init: %s\n", strerror(-r));
		return EXIT_FAILURE;
	}
	for (char **p = problems; p && *p; p++)
		fprintf(stderr, "blkstack-init: kernel command line: %s\n", *p);
	puts(json);
	return EXIT_SUCCESS;
}

int main(int argc, char *argv[])
{
	/* First of all: this process may be one libblkstack started to open or close a
	 * dm-crypt mapping (blkstack.h). */
	int r = bs_helper_main(argc, argv);

	if (r >= 0)
		return r;

	if (argc == 3 && streq(argv[1], "--test-cmdline"))
		return test_cmdline(argv[2]);
	if (argc == 2 && streq(argv[1], "--version")) {
		printf("blkstack-init %s\n", PROJECT_VERSION);
		return EXIT_SUCCESS;
	}
	if (getpid() != 1) {
		fprintf(stderr,
			"blkstack-init runs only as PID 1 of an initramfs (installed as %s, put "
			"there by 'blkstack initramfs'); 'blkstack-init --test-cmdline FILE' "
			"prints how it reads a kernel command line\n",
			BLKSTACK_INIT_PATH);
		return EXIT_FAILURE;
	}
	argv_init = argv + 1;
	boot();
}
