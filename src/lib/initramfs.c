/* The initramfs of a root set: what it holds, each entry with its reason, and the image. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "build-config.h"
#include "graph.h"
#include "image/elf-deps.h"
#include "image/image.h"
#include "image/modules.h"
#include "kind.h"
#include "layers.h"
#include "parse.h"
#include "strv.h"
#include "sysroot.h"
#include "util.h"

/*
 * It composes what the image/ code knows (the cpio writer, the ELF closure, the module
 * resolver) with the model (the closure's nodes and their kinds) and the table of drivers
 * (which tool a kind's actions spawn): it lives beside needs.c, not in image/, which stands
 * alone.
 */

/* The directories of the system root's PATH where tools are looked for, in order. */
static const char *const tool_dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin" };

/* For an initramfs without udev: LVM must neither wait for udev nor ask it for devices. */
static const char lvm_conf[] = "# Written by blkstack for its initramfs, which has no udev.\n"
			       "devices {\n"
			       "\tobtain_device_list_from_udev = 0\n"
			       "\tuse_devicesfile = 0\n"
			       "}\n"
			       "activation {\n"
			       "\tudev_sync = 0\n"
			       "\tudev_rules = 0\n"
			       "\tmonitoring = 0\n"
			       "}\n"
			       "global {\n"
			       "\tevent_activation = 0\n"
			       "}\n";

struct item {
	struct bs_initramfs_item pub;
	char *name, *path, *why;
};

struct item_list {
	struct item *items;
	size_t n, allocated;
};

struct bs_initramfs {
	unsigned n_ref;
	struct bs_ctx *ctx;
	struct bs_needs *needs;
	const struct bs_pins *pins; /* for the manifest, while it is built */
	unsigned flags;
	char *kernel; /* NULL: the modules are unknown */
	struct bs_image *image;
	struct bs_initramfs_entry *entries;
	size_t n_entries;
	struct item_list modules, binaries, libraries;
	char **warnings;
	bool secrets;
};

static bool contents_only(const struct bs_initramfs *b)
{
	return b->flags & BS_INITRAMFS_CONTENTS_ONLY;
}

static int item_add(struct item_list *l, const char *name, const char *path, const char *why)
{
	struct item *it;

	if (ARRAY_RESERVE(l->items, l->allocated, l->n) < 0)
		return -ENOMEM;
	it = &l->items[l->n];
	*it = (struct item){};
	if ((name && !(it->name = strdup(name))) || (path && !(it->path = strdup(path))) ||
	    (why && !(it->why = strdup(why)))) {
		free(it->name);
		free(it->path);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

static void item_list_done(struct item_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].name);
		free(l->items[i].path);
		free(l->items[i].why);
	}
	free(l->items);
}

/* The public views, once the list is final (the array no longer moves). */
static void item_list_publish(struct item_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		l->items[i].pub = (struct bs_initramfs_item){
			.name = l->items[i].name,
			.path = l->items[i].path,
			.why = l->items[i].why,
		};
}

/*
 * A problem: an error in an image build (logged, returning error), a warning in contents-only
 * mode (kept for bs_initramfs_get_warning(), returning 0).
 */
_printf_(3, 4) static int problem(struct bs_initramfs *b, int error, const char *format, ...)
{
	_cleanup_free_ char *text = NULL;
	va_list ap;
	int r;

	va_start(ap, format);
	r = vasprintf(&text, format, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (!contents_only(b)) {
		bs_log_err(b->ctx, "%s", text);
		return error;
	}
	bs_log_debug(b->ctx, "%s", text);
	return strv_push(&b->warnings, TAKE_PTR(text));
}

/* ---- modules ----------------------------------------------------------------------------- */

/* relpath below the system root, for messages: "/lib/modules" or "DIR/lib/modules". */
static char *root_path(const struct bs_initramfs *b, const char *relpath)
{
	char *p = NULL;

	while (relpath[0] == '/')
		relpath++;
	if (asprintf(&p, "%s/%s", streq(b->ctx->sysroot, "/") ? "" : b->ctx->sysroot, relpath) < 0)
		return NULL;
	return p;
}

/*
 * For contents-only mode, which reports a missing module tree instead of failing on it:
 * whether lib/modules below the system root has the kernel. Returns 1 with *ret the version
 * (NULL when there are several: bs_modules_new() names them and refuses), 0 when the modules
 * are unknown (a warning says why), or a negative errno.
 */
static int find_kernel(struct bs_initramfs *b, const char *kernel, char **ret)
{
	_cleanup_free_ char *dir = NULL, *found = NULL, *shown = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct utsname u;
	struct dirent *de;
	size_t n = 0;
	int r;

	if (!kernel && streq(b->ctx->sysroot, "/")) {
		if (uname(&u) < 0)
			return -errno;
		kernel = u.release;
	}
	if (asprintf(&dir, "lib/modules%s%s", kernel ? "/" : "", kernel ? kernel : "") < 0 ||
	    !(shown = root_path(b, dir)))
		return -ENOMEM;
	r = bs_sysroot_opendir(b->ctx, dir, &d);
	if (r < 0) {
		r = problem(b, r, "the kernel modules are unknown: %s: %s", shown, strerror(-r));
		return r < 0 ? r : 0;
	}
	if (kernel)
		return (*ret = strdup(kernel)) ? 1 : -ENOMEM;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			n++;
			if (free_and_strdup(&found, de->d_name) < 0)
				return -ENOMEM;
		}
	if (n == 0) {
		r = problem(b, -ENOENT, "the kernel modules are unknown: %s holds no kernel",
			    shown);
		return r < 0 ? r : 0;
	}
	*ret = n == 1 ? TAKE_PTR(found) : NULL;
	return 1;
}

/* The result of a module request: a request the kernel has nothing for is a problem. */
static int wanted(struct bs_initramfs *b, int r, const char *what)
{
	if (r >= 0)
		return 0;
	if (r == -ENOMEM || !contents_only(b))
		return r; /* modules.c has said which request failed */
	return problem(b, r, "kernel %s: no module for %s", b->kernel, what);
}

static const struct bs_node *backing_of(const struct bs_node *x)
{
	const struct bs_node *d = bs_node_need_with_role(x, "header");

	return d ? d : bs_node_need_with_role(x, "backing");
}

/* The modules of each of the space-separated modaliases (a device's chain, as recorded). */
static int want_modaliases(struct bs_initramfs *b, struct bs_modules *m, const char *modalias,
			   const char *why)
{
	_cleanup_strv_free_ char **words = NULL;
	int r;

	r = strv_split(modalias, WHITESPACE, &words);
	if (r < 0)
		return r;
	for (char **w = words; *w; w++) {
		r = wanted(b, bs_modules_want_modalias(m, *w, why), why);
		if (r < 0)
			return r;
	}
	return 0;
}

static int want_disk(struct bs_initramfs *b, struct bs_modules *m, const struct bs_node *x)
{
	_cleanup_free_ char *link = NULL, *target = NULL, *why = NULL;
	const char *modalias;

	/* Live: modules.c says "driver of vda" itself. */
	if ((x->sources & BS_SOURCE_LIVE) && x->name) {
		if (asprintf(&link, "sys/class/block/%s", x->name) < 0)
			return -ENOMEM;
		if (bs_sysroot_readlink(b->ctx, link, &target) >= 0)
			return wanted(b, bs_modules_want_device(m, x->name, "driver"), x->id);
	}
	if (asprintf(&why, "driver of %s", x->id) < 0)
		return -ENOMEM;
	modalias = x->attrs[BS_ATTR_MODALIAS];
	if (!modalias || modalias[0] == '\0')
		return problem(b, -ENOENT,
			       "disk %s: its drivers are unknown: run 'blkstack record' on the "
			       "machine while it is present",
			       x->id);
	return want_modaliases(b, m, modalias, why);
}

/* The network interface's drivers, as the live graph or the record has them on net:online
 * (sources/sysfs.c): /init configures the interface from ip= (see blkstack(1)). */
static int want_network(struct bs_initramfs *b, struct bs_modules *m, const struct bs_node *x)
{
	const char *modalias = x->attrs[BS_ATTR_MODALIAS];

	if (!modalias || modalias[0] == '\0')
		return problem(b, -ENOENT,
			       "%s: the network interface's drivers are unknown: run 'blkstack "
			       "record' while the network layers below root are connected",
			       x->id);
	return want_modaliases(b, m, modalias, "network interface");
}

static int want_crypt(struct bs_initramfs *b, struct bs_modules *m, const struct bs_node *x)
{
	const struct bs_crypt_config *cc = x->config ? x->config->crypt : NULL;
	const struct bs_node *dev = backing_of(x);
	_cleanup_free_ char *why = NULL;
	const char *cipher = NULL;
	int r;

	r = wanted(b, bs_modules_want_dm_target(m, "crypt", x->id), "dm target crypt");
	if (r < 0)
		return r;
	if (cc && cc->cipher)
		cipher = cc->cipher;
	else if (cc && cc->mode == BS_CRYPT_MODE_PLAIN)
		cipher = BS_CRYPT_PLAIN_DEFAULT_CIPHER;
	else if (dev)
		cipher = dev->attrs[BS_ATTR_CIPHER];
	if (!cipher)
		return problem(b, -ENOENT,
			       "%s: its cipher is unknown: run 'blkstack record' while %s is "
			       "present, or name it in crypttab (cipher=)",
			       x->id, dev ? dev->id : "its device");
	/* The key derivation (PBKDF2, Argon2) and a plain mapping's passphrase hash run in user
	 * space; the kernel computes only what the cipher specification names (essiv:sha256). */
	if (asprintf(&why, "cipher %s of %s", cipher, x->id) < 0)
		return -ENOMEM;
	return wanted(b, bs_modules_want_cipher(m, cipher, why), why);
}

/* The dm target of an LV's segment type, as lvs names it. */
static const char *segtype_target(const char *segtype)
{
	if (!segtype || streq(segtype, "linear"))
		return "linear";
	if (startswith(segtype, "raid"))
		return "raid";
	if (streq(segtype, "thin"))
		return "thin";
	if (streq(segtype, "thin-pool"))
		return "thin-pool";
	return segtype; /* mirror, cache, writecache, vdo, integrity: the target's own name */
}

static int want_node(struct bs_initramfs *b, struct bs_modules *m, const struct bs_node *x)
{
	_cleanup_free_ char *why = NULL;
	const char *v;

	switch (x->kind) {
	case BS_NODE_DISK:
		return want_disk(b, m, x);
	case BS_NODE_MD:
		v = x->attrs[BS_ATTR_MD_LEVEL];
		if (!v)
			return problem(b, -ENOENT,
				       "%s: its RAID level is unknown: run 'blkstack record' while "
				       "it is assembled, or name it in mdadm.conf (level=)",
				       x->id);
		if (asprintf(&why, "level %s of %s", v, x->id) < 0)
			return -ENOMEM;
		return wanted(b, bs_modules_want_md_level(m, v, why), why);
	case BS_NODE_CRYPT:
		return want_crypt(b, m, x);
	case BS_NODE_LV:
		v = segtype_target(bs_node_get_attr(x, "segtype"));
		if (asprintf(&why, "dm target %s of %s", v, x->id) < 0)
			return -ENOMEM;
		return wanted(b, bs_modules_want_dm_target(m, v, why), why);
	case BS_NODE_LOOP:
		return wanted(b, bs_modules_want_name(m, "loop", x->id), "loop");
	case BS_NODE_NBD:
		return wanted(b, bs_modules_want_name(m, "nbd", x->id), "nbd");
	case BS_NODE_NETWORK:
		return want_network(b, m, x);
	case BS_NODE_BTRFS:
		return wanted(b, bs_modules_want_filesystem(m, "btrfs", x->id), "btrfs");
	case BS_NODE_MOUNT: {
		const struct bs_node *dev = bs_node_need_with_role(x, "device");

		v = x->attrs[BS_ATTR_FSTYPE];
		if ((!v || streq(v, "auto")) && dev)
			v = dev->attrs[BS_ATTR_FSTYPE];
		if (!v || streq(v, "auto"))
			return problem(b, -ENOENT,
				       "%s: its filesystem type is unknown: name it in fstab",
				       x->id);
		if (asprintf(&why, "filesystem of %s", x->id) < 0)
			return -ENOMEM;
		return wanted(b, bs_modules_want_filesystem(m, v, why), why);
	}
	default:
		/* Partitions (the kernel's partition tables), swap, the rest: nothing. */
		return 0;
	}
}

/*
 * Where the image stores lib/modules: below what lib links to, where the system root's /lib is
 * a symlink (a merged /usr's lib -> usr/lib), with that link, which the ELF closure reproduces
 * as well; so that the module files do not collide with it and /lib/modules still leads to
 * them. Newly allocated.
 */
static int modules_dir(struct bs_initramfs *b, char **ret)
{
	_cleanup_free_ char *target = NULL;
	const char *dir = "lib";
	int r;

	if (bs_sysroot_readlink(b->ctx, "lib", &target) >= 0 && !strstr(target, "..") &&
	    target[strspn(target, "/")] != '\0') {
		r = bs_image_add_symlink(b->image, "lib", target, "a path of the loader");
		if (r < 0)
			return r;
		dir = target + strspn(target, "/");
	}
	return asprintf(ret, "%s/modules/%s", dir, b->kernel) < 0 ? -ENOMEM : 0;
}

static int add_modules(struct bs_initramfs *b, const char *kernel)
{
	_cleanup_modules_free_ struct bs_modules *m = NULL;
	_cleanup_free_ char *version = NULL, *dir = NULL;
	struct bs_needs *n = b->needs;
	int r, count;

	if (contents_only(b)) {
		r = find_kernel(b, kernel, &version);
		if (r <= 0)
			return r;
		kernel = version;
	}
	/* It names what it found when it refuses (no kernel, several, no indexes). */
	r = bs_modules_new(b->ctx, kernel, &m);
	if (r < 0)
		return r;
	b->kernel = strdup(bs_modules_kernel_version(m));
	if (!b->kernel)
		return -ENOMEM;
	r = modules_dir(b, &dir);
	if (r < 0)
		return r;
	for (size_t i = 0; i < bs_needs_get_n_nodes(n); i++) {
		r = want_node(b, m, bs_needs_get_node(n, i));
		if (r < 0)
			return r;
	}
	count = bs_modules_resolve(m);
	if (count < 0)
		return count;
	for (size_t i = 0; i < (size_t)count; i++) {
		const struct bs_module *mod = bs_modules_get(m, i);
		_cleanup_free_ char *rel = NULL;

		r = item_add(&b->modules, mod->name, mod->builtin ? NULL : mod->relpath, mod->why);
		if (r < 0)
			return r;
		if (mod->builtin)
			continue;
		if (asprintf(&rel, "%s/%s", dir, mod->relpath) < 0)
			return -ENOMEM;
		r = bs_image_add_file(b->image, rel, 0644, mod->path, 0, mod->why);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- binaries ---------------------------------------------------------------------------- */

/* Adds path to the closure. Returns 0, 1 when path does not exist, or an error (a missing
 * library: a problem naming it and the binary). */
static int add_elf(struct bs_initramfs *b, struct bs_elf_closure *cl, const char *path,
		   const char *why)
{
	size_t missing = bs_elf_closure_n_missing(cl);
	int r = bs_elf_closure_add(cl, path, why);

	if (r == -ENOENT && bs_elf_closure_n_missing(cl) > missing) {
		for (size_t i = missing; i < bs_elf_closure_n_missing(cl); i++) {
			const struct bs_elf_missing *x = bs_elf_closure_missing(cl, i);

			r = problem(b, -ENOENT,
				    "%s needs %s (for %s), which is not in %s (searched %s)", path,
				    x->name, x->needed_by, b->ctx->sysroot, x->searched);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (r == -ENOENT || r == -ENOTDIR)
		return 1;
	if (r == -ENOEXEC)
		return problem(b, r, "%s%s is no ELF binary (a script?): it cannot be carried",
			       streq(b->ctx->sysroot, "/") ? "" : b->ctx->sysroot, path);
	return r;
}

static int add_tool(struct bs_initramfs *b, struct bs_elf_closure *cl, const char *tool,
		    const char *why)
{
	for (size_t i = 0; i < ELEMENTSOF(tool_dirs); i++) {
		_cleanup_free_ char *path = NULL;
		int r;

		if (asprintf(&path, "%s/%s", tool_dirs[i], tool) < 0)
			return -ENOMEM;
		r = add_elf(b, cl, path, why);
		if (r <= 0)
			return r;
	}
	return problem(b, -ENOENT,
		       "%s (for %s) is not installed in %s (looked in /usr/sbin, /usr/bin, /sbin, "
		       "/bin)",
		       tool, why, b->ctx->sysroot);
}

/* The tool of each driver whose up actions the closure's kinds use, each once. */
static int add_tools(struct bs_initramfs *b, struct bs_elf_closure *cl)
{
	_cleanup_strv_free_ char **seen = NULL;
	struct bs_needs *n = b->needs;

	for (size_t i = 0; i < bs_needs_get_n_nodes(n); i++) {
		const struct bs_node *x = bs_needs_get_node(n, i);
		const struct bs_kind *k = bs_kind_get(x->kind);
		const struct bs_layer *layer = NULL;
		_cleanup_free_ char *why = NULL;
		int r;

		if (k->up == BS_ACTION_NONE || !bs_layer_find_action(k->up, &layer) ||
		    !layer->tool || strv_contains(seen, layer->tool))
			continue;
		if (strv_extend(&seen, layer->tool) < 0 ||
		    asprintf(&why, "%s (%s)", x->id, bs_action_to_string(k->up)) < 0)
			return -ENOMEM;
		r = add_tool(b, cl, layer->tool, why);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Why a library is there: the objects that need it, the first few by name (libc is needed by
 * every one of them). */
static int needed_by(const struct bs_elf_entry *e, char **ret)
{
	size_t n = strv_length(e->needed_by);
	_cleanup_free_ char *why = strdup("needed by");

	for (size_t i = 0; why && i < n && i < 3; i++)
		if (strextend(&why, i ? ", " : " ", e->needed_by[i], NULL) < 0)
			return -ENOMEM;
	if (!why)
		return -ENOMEM;
	if (n > 3) {
		char more[32];

		(void)snprintf(more, sizeof(more), " and %zu more", n - 3);
		if (strextend(&why, more, NULL) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(why);
	return 0;
}

/* Where the image stores an entry of the closure: the file itself, every symlink resolved
 * (the links of the closure reproduce the paths that lead to it). */
static int add_closure_files(struct bs_initramfs *b, struct bs_elf_closure *cl,
			     const char *shell_dest)
{
	const char *init_path = BLKSTACK_INIT_PATH;
	int r;

	for (size_t i = 0; i < bs_elf_closure_n_entries(cl); i++) {
		const struct bs_elf_entry *e = bs_elf_closure_entry(cl, i);
		_cleanup_free_ char *src = NULL, *why = NULL;
		const char *dest = e->real_path;
		struct stat st;

		src = bs_sysroot_path_dup(b->ctx, e->real_path);
		if (!src)
			return -ENOMEM;
		if (stat(src, &st) < 0)
			return -errno;
		if (e->kind == BS_ELF_ENTRY_BINARY) {
			if (streq(e->path, init_path))
				dest = "init";
			else if (streq(e->path, BLKSTACK_SHUTDOWN_PATH))
				dest = "shutdown";
			else if (streq(e->path, "/bin/sh"))
				continue; /* add_shell() places it */
			r = item_add(&b->binaries, strrchr(e->path, '/') + 1, e->path, e->why);
			if (r >= 0)
				r = bs_image_add_file(b->image, dest, st.st_mode & 07777, src, 0,
						      e->why);
			if (r < 0)
				return r;
			continue;
		}
		r = needed_by(e, &why);
		if (r < 0)
			return r;
		r = item_add(&b->libraries, strrchr(e->path, '/') + 1, e->real_path, why);
		if (r >= 0)
			r = bs_image_add_file(b->image, dest, st.st_mode & 07777, src, 0, why);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < bs_elf_closure_n_links(cl); i++) {
		const struct bs_elf_link *l = bs_elf_closure_link(cl, i);

		/* The shell is stored as the file itself, at bin/sh. */
		if (shell_dest && (streq(l->path, "/bin/sh") || streq(l->path + 1, shell_dest)))
			continue;
		r = bs_image_add_symlink(b->image, l->path, l->target, "a path of the loader");
		if (r < 0)
			return r;
	}
	return 0;
}

/* Where the rescue shell goes: bin/sh, below what bin links to where the system root's /bin
 * is a symlink (a merged /usr), so that the image's bin/sh is that file. */
static int shell_dest(struct bs_elf_closure *cl, char **ret)
{
	const char *dir = "bin";

	for (size_t i = 0; i < bs_elf_closure_n_links(cl); i++) {
		const struct bs_elf_link *l = bs_elf_closure_link(cl, i);

		if (streq(l->path, "/bin") && !strstr(l->target, ".."))
			dir = l->target;
	}
	while (dir[0] == '/')
		dir++;
	return asprintf(ret, "%s/sh", dir) < 0 ? -ENOMEM : 0;
}

static int add_shell(struct bs_initramfs *b, struct bs_elf_closure *cl, const char *dest)
{
	const struct bs_elf_entry *e = bs_elf_closure_find(cl, "/bin/sh");
	_cleanup_free_ char *src = NULL;
	struct stat st;
	int r;

	if (!e)
		return 0;
	src = bs_sysroot_path_dup(b->ctx, e->real_path);
	if (!src)
		return -ENOMEM;
	if (stat(src, &st) < 0)
		return -errno;
	r = item_add(&b->binaries, "sh", e->path, "--shell");
	if (r < 0)
		return r;
	return bs_image_add_file(b->image, dest, st.st_mode & 07777, src, 0, "--shell");
}

static int add_binaries(struct bs_initramfs *b, bool shell)
{
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;
	_cleanup_free_ char *sh = NULL;
	int r;

	r = bs_elf_closure_new(b->ctx, &cl);
	if (r < 0)
		return r;
	r = add_elf(b, cl, BLKSTACK_INIT_PATH, "/init");
	if (r == 1)
		r = problem(b, -ENOENT,
			    "%s has no blkstack installed: %s%s is missing; install it with "
			    "'meson install --destdir %s' or the package",
			    b->ctx->sysroot, streq(b->ctx->sysroot, "/") ? "" : b->ctx->sysroot,
			    BLKSTACK_INIT_PATH, b->ctx->sysroot);
	if (r >= 0) {
		r = add_elf(b, cl, BLKSTACK_SHUTDOWN_PATH,
			    "/shutdown (the shutdown ramfs, kept in /run/initramfs)");
		if (r == 1)
			r = problem(b, -ENOENT,
				    "%s has an incomplete blkstack: %s%s is missing; install it "
				    "with 'meson install --destdir %s' or the package",
				    b->ctx->sysroot,
				    streq(b->ctx->sysroot, "/") ? "" : b->ctx->sysroot,
				    BLKSTACK_SHUTDOWN_PATH, b->ctx->sysroot);
	}
	if (r >= 0)
		r = add_tools(b, cl);
	if (r >= 0 && shell) {
		r = add_elf(b, cl, "/bin/sh", "--shell");
		if (r == 1)
			r = problem(b, -ENOENT, "--shell: %s has no /bin/sh", b->ctx->sysroot);
		if (r >= 0)
			r = shell_dest(cl, &sh);
	}
	if (r >= 0)
		r = add_closure_files(b, cl, sh);
	if (r >= 0 && sh)
		r = add_shell(b, cl, sh);
	return r;
}

/* ---- the rest ---------------------------------------------------------------------------- */

/* The closure must be known: a node that refers to what no known node provides sits on
 * layers that are closed, with no record to say which. */
static int check_resolved(struct bs_initramfs *b)
{
	struct bs_needs *n = b->needs;

	for (size_t i = 0; i < bs_needs_get_n_nodes(n); i++) {
		const struct bs_node *x = bs_needs_get_node(n, i);
		const char *u = bs_node_get_unresolved(x);
		int r;

		if (!u)
			continue;
		r = problem(
			b, -ENOENT,
			"%s needs %s, which no known device provides: the layers below it are "
			"closed and not recorded; bring them up and run 'blkstack record', then "
			"build again",
			x->id, u);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_key_files(struct bs_initramfs *b)
{
	struct bs_needs *n = b->needs;

	for (size_t i = 0; i < bs_needs_get_n_nodes(n); i++) {
		const struct bs_node *x = bs_needs_get_node(n, i);

		for (size_t j = 0; j < x->n_needs; j++) {
			const struct bs_edge *e = x->needs[j];
			const char *key =
				x->config && x->config->crypt ? x->config->crypt->key_file : NULL;
			_cleanup_free_ char *src = NULL;
			struct stat st;
			int r;

			if (!e->carried || !key)
				continue;
			src = bs_sysroot_path_dup(b->ctx, key);
			if (!src)
				return -ENOMEM;
			if (stat(src, &st) < 0) {
				r = -errno;
				r = problem(b, r, "%s: key file %s: %s", x->id, src, strerror(-r));
				if (r < 0)
					return r;
				continue;
			}
			if (st.st_mode & 0044) {
				r = problem(b, -EPERM,
					    "%s is readable by others (mode %04o); chmod 0600 it",
					    src, (unsigned)(st.st_mode & 07777));
				if (r < 0)
					return r;
			} else if (st.st_mode & 0022) {
				r = problem(b, -EPERM,
					    "%s is writable by others (mode %04o); chmod 0600 it",
					    src, (unsigned)(st.st_mode & 07777));
				if (r < 0)
					return r;
			}
			r = bs_image_add_file(b->image, key, 0600, src, BS_IMAGE_SECRET, x->id);
			if (r < 0)
				return r;
			b->secrets = true;
		}
	}
	return 0;
}

static int add_skeleton(struct bs_initramfs *b)
{
	static const char *const dirs[] = { "dev", "proc", "sys", "run", "sysroot" };
	int r = 0;

	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(dirs); i++)
		r = bs_image_add_dir(b->image, dirs[i], 0755);
	if (r >= 0)
		r = bs_image_add_dir(b->image, "tmp", 01777);
	/* The kernel opens /dev/console for /init before /init mounts devtmpfs. */
	if (r >= 0)
		r = bs_image_add_device(b->image, "dev/console", S_IFCHR | 0600, 5, 1,
					"the kernel's console for /init");
	if (r >= 0)
		r = bs_image_add_device(b->image, "dev/null", S_IFCHR | 0666, 1, 3, "/init");
	if (r >= 0 &&
	    (bs_needs_has_kind(b->needs, BS_NODE_LV) || bs_needs_has_kind(b->needs, BS_NODE_VG)))
		r = bs_image_add_data(b->image, "etc/lvm/lvm.conf", 0644, lvm_conf,
				      sizeof(lvm_conf) - 1, 0, "lvm, without udev");
	return r;
}

static int add_manifest(struct bs_initramfs *b)
{
	_cleanup_strv_free_ char **paths = NULL;
	_cleanup_free_ char *manifest = NULL;
	int r;

	for (size_t i = 0; i < b->modules.n; i++)
		if (b->modules.items[i].path && strv_extend(&paths, b->modules.items[i].path) < 0)
			return -ENOMEM;
	/* Not NULL, so that an image without modules still says so. */
	if (!paths && !(paths = calloc(1, sizeof(char *))))
		return -ENOMEM;
	r = bs_needs_to_manifest_pinned(b->needs, b->kernel, paths, b->pins, &manifest);
	if (r < 0)
		return r;
	return bs_image_add_data(b->image, "etc/blkstack/manifest.json", 0644, manifest,
				 strlen(manifest), 0, "/init");
}

static int cmp_item_path(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->path, ((const struct item *)b)->path);
}

static int snapshot_entries(struct bs_initramfs *b)
{
	size_t n = bs_image_n_entries(b->image);

	b->entries = calloc(n ? n : 1, sizeof(*b->entries));
	if (!b->entries)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct bs_image_entry_info info;
		int r = bs_image_get_entry(b->image, i, &info);

		if (r < 0)
			return r;
		b->entries[i] = (struct bs_initramfs_entry){
			.path = info.path,
			.mode = info.mode,
			.size = info.size,
			.why = info.why,
			.target = info.target,
			.secret = info.secret,
		};
	}
	b->n_entries = n;
	return 0;
}

_public_ int bs_initramfs_new(struct bs_needs *n, const struct bs_initramfs_opts *opts,
			      struct bs_initramfs **ret)
{
	struct bs_initramfs *b;
	int r;

	if (!n || !ret)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->n_ref = 1;
	b->needs = n;
	b->ctx = bs_ctx_ref(bs_needs_get_graph(n)->ctx);
	b->flags = opts ? opts->flags : 0;
	b->pins = opts ? opts->pins : NULL;

	r = bs_image_new(b->ctx, &b->image);
	if (r >= 0)
		r = check_resolved(b);
	if (r >= 0)
		r = add_modules(b, opts ? opts->kernel : NULL);
	if (r >= 0)
		r = add_binaries(b, opts && (opts->flags & BS_INITRAMFS_SHELL));
	if (r >= 0)
		r = add_key_files(b);
	if (r >= 0)
		r = add_skeleton(b);
	if (r >= 0)
		r = add_manifest(b);
	if (r >= 0)
		r = snapshot_entries(b);
	/* What the result says is copied: it does not keep the closure, nor the pins. */
	b->needs = NULL;
	b->pins = NULL;
	if (r < 0) {
		bs_initramfs_unref(b);
		return r;
	}
	if (b->binaries.n)
		qsort(b->binaries.items, b->binaries.n, sizeof(struct item), cmp_item_path);
	if (b->libraries.n)
		qsort(b->libraries.items, b->libraries.n, sizeof(struct item), cmp_item_path);
	item_list_publish(&b->modules);
	item_list_publish(&b->binaries);
	item_list_publish(&b->libraries);
	*ret = b;
	return 0;
}

_public_ struct bs_initramfs *bs_initramfs_ref(struct bs_initramfs *b)
{
	if (b)
		b->n_ref++;
	return b;
}

_public_ struct bs_initramfs *bs_initramfs_unref(struct bs_initramfs *b)
{
	if (!b || --b->n_ref > 0)
		return NULL;
	bs_image_free(b->image);
	free(b->entries);
	item_list_done(&b->modules);
	item_list_done(&b->binaries);
	item_list_done(&b->libraries);
	strv_free(b->warnings);
	free(b->kernel);
	bs_ctx_unref(b->ctx);
	free(b);
	return NULL;
}

_public_ const char *bs_initramfs_get_kernel(const struct bs_initramfs *b)
{
	return b ? b->kernel : NULL;
}

_public_ size_t bs_initramfs_get_n_entries(const struct bs_initramfs *b)
{
	return b ? b->n_entries : 0;
}

_public_ const struct bs_initramfs_entry *bs_initramfs_get_entry(const struct bs_initramfs *b,
								 size_t i)
{
	return b && i < b->n_entries ? &b->entries[i] : NULL;
}

static const struct bs_initramfs_item *item_get(const struct item_list *l, size_t i)
{
	return i < l->n ? &l->items[i].pub : NULL;
}

_public_ size_t bs_initramfs_get_n_modules(const struct bs_initramfs *b)
{
	return b ? b->modules.n : 0;
}

_public_ const struct bs_initramfs_item *bs_initramfs_get_module(const struct bs_initramfs *b,
								 size_t i)
{
	return b ? item_get(&b->modules, i) : NULL;
}

_public_ size_t bs_initramfs_get_n_binaries(const struct bs_initramfs *b)
{
	return b ? b->binaries.n : 0;
}

_public_ const struct bs_initramfs_item *bs_initramfs_get_binary(const struct bs_initramfs *b,
								 size_t i)
{
	return b ? item_get(&b->binaries, i) : NULL;
}

_public_ size_t bs_initramfs_get_n_libraries(const struct bs_initramfs *b)
{
	return b ? b->libraries.n : 0;
}

_public_ const struct bs_initramfs_item *bs_initramfs_get_library(const struct bs_initramfs *b,
								  size_t i)
{
	return b ? item_get(&b->libraries, i) : NULL;
}

_public_ size_t bs_initramfs_get_n_warnings(const struct bs_initramfs *b)
{
	return b ? strv_length(b->warnings) : 0;
}

_public_ const char *bs_initramfs_get_warning(const struct bs_initramfs *b, size_t i)
{
	return b && i < strv_length(b->warnings) ? b->warnings[i] : NULL;
}

_public_ bool bs_initramfs_has_secrets(const struct bs_initramfs *b)
{
	return b && b->secrets;
}

_public_ uint64_t bs_initramfs_get_archive_size(const struct bs_initramfs *b)
{
	return b ? bs_image_archive_size(b->image) : 0;
}

/* SOURCE_DATE_EPOCH (reproducible-builds.org) when it is a number, else 0. */
static int build_time(uint64_t *ret)
{
	const char *e = secure_getenv("SOURCE_DATE_EPOCH");

	*ret = 0;
	if (!e || e[0] == '\0')
		return 0;
	return safe_atou64(e, ret) < 0 ? -EINVAL : 0;
}

_public_ int bs_initramfs_write(struct bs_initramfs *b, int fd, const char *compression, int level)
{
	uint64_t mtime;
	int c, r;

	if (!b || fd < 0)
		return -EINVAL;
	if (contents_only(b))
		return -EPERM;
	c = bs_image_compression_from_string(compression ? compression : "zstd");
	if (c < 0)
		return c;
	r = build_time(&mtime);
	if (r < 0) {
		bs_log_err(b->ctx, "SOURCE_DATE_EPOCH='%s' is no number of seconds",
			   secure_getenv("SOURCE_DATE_EPOCH"));
		return r;
	}
	return bs_image_write(b->image, fd, c, level, mtime);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)

static int items_json(const struct item_list *l, bool with_name, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *a = json_object_new_array();

	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(a, o) < 0) {
			json_object_put(o);
			return -ENOMEM;
		}
		if ((with_name && bs_json_add_string(o, "name", l->items[i].name, true) < 0) ||
		    bs_json_add_string(o, "path", l->items[i].path, true) < 0 ||
		    bs_json_add_string(o, "why", l->items[i].why, true) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(a);
	return 0;
}

_public_ int bs_initramfs_to_json(const struct bs_initramfs *b, char **ret)
{
	_cleanup_(json_object_putp) json_object *root = NULL;
	json_object *entries, *warnings, *a;
	int r;

	if (!b || !ret)
		return -EINVAL;
	root = json_object_new_object();
	if (!root || bs_json_add(root, "version", json_object_new_int(1)) < 0 ||
	    bs_json_add_string(root, "kernel", b->kernel, true) < 0 ||
	    bs_json_add(root, "entries", entries = json_object_new_array()) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < b->n_entries; i++) {
		const struct bs_initramfs_entry *e = &b->entries[i];
		json_object *o = json_object_new_object();
		char mode[16];

		(void)snprintf(mode, sizeof(mode), "%06o", (unsigned)e->mode);
		if (!o || json_object_array_add(entries, o) < 0) {
			json_object_put(o);
			return -ENOMEM;
		}
		if (bs_json_add_string(o, "path", e->path, true) < 0 ||
		    bs_json_add_string(o, "mode", mode, true) < 0 ||
		    bs_json_add(o, "size", json_object_new_int64((int64_t)e->size)) < 0 ||
		    bs_json_add_string(o, "why", e->why, true) < 0 ||
		    bs_json_add_string(o, "target", e->target, true) < 0 ||
		    bs_json_add(o, "secret", json_object_new_boolean(e->secret)) < 0)
			return -ENOMEM;
	}
	r = items_json(&b->modules, true, &a);
	if (r >= 0)
		r = bs_json_add(root, "modules", a);
	if (r >= 0)
		r = items_json(&b->binaries, false, &a);
	if (r >= 0)
		r = bs_json_add(root, "binaries", a);
	if (r >= 0)
		r = items_json(&b->libraries, false, &a);
	if (r >= 0)
		r = bs_json_add(root, "libraries", a);
	if (r < 0)
		return r;
	if (bs_json_add(root, "warnings", warnings = json_object_new_array()) < 0)
		return -ENOMEM;
	for (char **w = b->warnings; w && *w; w++)
		if (json_object_array_add(warnings, json_object_new_string(*w)) < 0)
			return -ENOMEM;
	if (bs_json_add(root, "archive_size",
			json_object_new_int64((int64_t)bs_image_archive_size(b->image))) < 0)
		return -ENOMEM;
	return bs_json_format(root, ret);
}
