/* The kernel modules a stack needs: requests resolved with libkmod against the target
 * kernel's indexes below the system root, then put in load order. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libkmod.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "modules.h"
#include "strv.h"
#include "sysroot.h"
#include "util.h"

/* What the indexes' readers in an image need, in the order the files are listed. */
static const char *const index_files[] = {
	"modules.dep",	       "modules.dep.bin",	    "modules.alias",
	"modules.alias.bin",   "modules.softdep",	    "modules.builtin",
	"modules.builtin.bin", "modules.builtin.alias.bin", "modules.builtin.modinfo",
	"modules.order",       "modules.symbols",	    "modules.symbols.bin",
	"modules.devname",
};

/* The target's modprobe configuration, below the system root (libkmod's default list). */
static const char *const config_dirs[] = {
	"etc/modprobe.d",     "run/modprobe.d", "usr/local/lib/modprobe.d",
	"usr/lib/modprobe.d", "lib/modprobe.d",
};

enum visit_state {
	UNVISITED,
	VISITING,
	VISITED,
};

struct entry {
	struct kmod_module *kmod;
	char *name;
	char *relpath;
	char *path;
	bool builtin;
	/* Named by a request, not only needed by another module. */
	bool requested;
	char *why;
	uint64_t size;
	enum visit_state state;
};

struct bs_modules {
	struct bs_ctx *ctx;
	struct kmod_ctx *kmod;
	char *version;
	/* "lib/modules/VERSION", relative to the system root, and its absolute path. */
	char *dir;
	char *dir_abs;
	/* Names from modules.builtin. */
	char **builtin;

	struct entry *entries;
	size_t n_entries, allocated;

	/* Indexes into entries, in load order; valid when ordered. */
	size_t *order;
	size_t n_order, order_allocated;
	bool ordered;

	struct bs_module *views;
};

/* libkmod's messages, as debug messages of the context. */
_printf_(6, 0) static void kmod_log_to_ctx(void *data, int priority, const char *file, int line,
					   const char *fn, const char *format, va_list args)
{
	struct bs_ctx *c = data;
	_cleanup_free_ char *msg = NULL;

	(void)priority;
	(void)file;
	(void)line;
	(void)fn;
	if (!bs_log_enabled(c, LOG_DEBUG))
		return;
	if (vasprintf(&msg, format, args) < 0)
		return;
	bs_log_debug(c, "libkmod: %s", strstrip(msg));
}

/* A module name as the kernel spells it: "dm-crypt" is "dm_crypt". */
static char *modname_dup(const char *s, size_t n)
{
	char *name = strndup(s, n);

	if (!name)
		return NULL;
	for (char *p = name; *p; p++)
		if (*p == '-')
			*p = '_';
	return name;
}

/* modules.builtin: "kernel/crypto/cbc.ko" per line. */
static int read_builtin(struct bs_modules *m)
{
	_cleanup_free_ char *relpath = NULL, *text = NULL;
	char *line, *save = NULL;
	int r;

	if (asprintf(&relpath, "%s/modules.builtin", m->dir) < 0)
		return -ENOMEM;
	r = bs_sysroot_read_file(m->ctx, relpath, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *base = strrchr(line, '/');
		const char *dot;
		char *name;

		base = base ? base + 1 : line;
		dot = strstr(base, ".ko");
		name = modname_dup(base, dot ? (size_t)(dot - base) : strlen(base));
		if (!name || strv_push(&m->builtin, name) < 0) {
			free(name);
			return -ENOMEM;
		}
	}
	return 0;
}

static int pick_version(struct bs_ctx *c, const char *kernel_version, char **ret)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_strv_free_ char **found = NULL;
	_cleanup_free_ char *list = NULL;
	struct dirent *de;
	struct utsname u;
	char *v;
	int r;

	if (kernel_version) {
		if (kernel_version[0] == '\0' || strchr(kernel_version, '/') ||
		    streq(kernel_version, ".") || streq(kernel_version, ".."))
			return -EINVAL;
		v = strdup(kernel_version);
		if (!v)
			return -ENOMEM;
		*ret = v;
		return 0;
	}

	if (streq(c->sysroot, "/")) {
		if (uname(&u) < 0)
			return -errno;
		v = strdup(u.release);
		if (!v)
			return -ENOMEM;
		*ret = v;
		return 0;
	}

	r = bs_sysroot_opendir(c, "lib/modules", &d);
	if (r < 0) {
		bs_log_err(c, "%s/lib/modules: %s", c->sysroot, strerror(-r));
		return r;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
			continue;
		if (strv_extend(&found, de->d_name) < 0)
			return -ENOMEM;
	}
	strv_sort(found);

	if (strv_length(found) == 0) {
		bs_log_err(c, "%s/lib/modules holds no kernel", c->sysroot);
		return -ENOENT;
	}
	if (strv_length(found) > 1) {
		if (strv_join(found, ", ", &list) < 0)
			return -ENOMEM;
		bs_log_err(c, "%s/lib/modules holds several kernels (%s); name one", c->sysroot,
			   list);
		return -EINVAL;
	}
	*ret = TAKE_PTR(found[0]);
	return 0;
}

int bs_modules_new(struct bs_ctx *c, const char *kernel_version, struct bs_modules **ret)
{
	_cleanup_modules_free_ struct bs_modules *m = NULL;
	_cleanup_free_ char *depbin = NULL;
	const char *config[ELEMENTSOF(config_dirs) + 1] = {};
	char *config_abs[ELEMENTSOF(config_dirs)] = {};
	_cleanup_close_ int fd = -1;
	int r;

	assert(c);
	assert(ret);

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ctx = c;

	r = pick_version(c, kernel_version, &m->version);
	if (r < 0)
		return r;
	if (asprintf(&m->dir, "lib/modules/%s", m->version) < 0)
		return -ENOMEM;
	m->dir_abs = bs_sysroot_path_dup(c, m->dir);
	if (!m->dir_abs)
		return -ENOMEM;

	if (asprintf(&depbin, "%s/modules.dep.bin", m->dir) < 0)
		return -ENOMEM;
	fd = bs_sysroot_open(c, depbin, O_RDONLY);
	if (fd < 0) {
		if (fd == -ENOENT)
			bs_log_err(c, "%s: no modules.dep.bin; run depmod -b %s %s", m->dir_abs,
				   c->sysroot, m->version);
		else
			bs_log_err(c, "%s/modules.dep.bin: %s", m->dir_abs, strerror(-fd));
		return fd;
	}

	for (size_t i = 0; i < ELEMENTSOF(config_dirs); i++) {
		config_abs[i] = bs_sysroot_path_dup(c, config_dirs[i]);
		if (!config_abs[i]) {
			r = -ENOMEM;
			goto out_config;
		}
		config[i] = config_abs[i];
	}

	/* libkmod copies the configuration it reads; the paths are not kept. */
	m->kmod = kmod_new(m->dir_abs, config);
	if (!m->kmod) {
		r = -ENOMEM;
		goto out_config;
	}
	kmod_set_log_fn(m->kmod, kmod_log_to_ctx, c);
	r = kmod_load_resources(m->kmod);
	if (r < 0) {
		bs_log_err(c, "%s: loading the module indexes: %s", m->dir_abs, strerror(-r));
		goto out_config;
	}
	r = read_builtin(m);
	if (r < 0)
		goto out_config;

	bs_log_debug(c, "kernel modules of %s from %s", m->version, m->dir_abs);
	*ret = TAKE_PTR(m);
	r = 0;
out_config:
	for (size_t i = 0; i < ELEMENTSOF(config_dirs); i++)
		free(config_abs[i]);
	return r;
}

struct bs_modules *bs_modules_free(struct bs_modules *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n_entries; i++) {
		struct entry *e = &m->entries[i];

		kmod_module_unref(e->kmod);
		free(e->name);
		free(e->relpath);
		free(e->path);
		free(e->why);
	}
	free(m->entries);
	free(m->order);
	free(m->views);
	strv_free(m->builtin);
	kmod_unref(m->kmod);
	free(m->version);
	free(m->dir);
	free(m->dir_abs);
	free(m);
	return NULL;
}

const char *bs_modules_kernel_version(const struct bs_modules *m)
{
	return m->version;
}

static struct entry *find_entry(struct bs_modules *m, const char *name)
{
	for (size_t i = 0; i < m->n_entries; i++)
		if (streq(m->entries[i].name, name))
			return &m->entries[i];
	return NULL;
}

static int add_why(struct entry *e, const char *why)
{
	_cleanup_strv_free_ char **whys = NULL;

	if (!why)
		return 0;
	if (!e->why)
		return free_and_strdup(&e->why, why);
	/* Each reason once: the same request from two nodes reads as one. */
	if (strv_split(e->why, ";", &whys) < 0)
		return -ENOMEM;
	for (char **w = whys; w && *w; w++)
		if (streq(strstrip(*w), why))
			return 0;
	return strextend(&e->why, "; ", why, NULL);
}

/* The entry of a module libkmod found, added if it is new; fails with -ENOENT, naming it,
 * when the module has no file and is not built in. */
static int ensure_entry(struct bs_modules *m, struct kmod_module *kmod, const char *request,
			const char *why, struct entry **ret)
{
	const char *name = kmod_module_get_name(kmod);
	const char *path = kmod_module_get_path(kmod);
	struct entry *e;
	struct stat st;

	e = find_entry(m, name);
	if (e) {
		*ret = e;
		return 0;
	}

	if (!path && !strv_contains(m->builtin, name)) {
		bs_log_err(m->ctx, "kernel %s: module %s (for '%s', wanted for %s) has no file",
			   m->version, name, request, strna(why));
		return -ENOENT;
	}

	if (ARRAY_RESERVE(m->entries, m->allocated, m->n_entries + 1) < 0)
		return -ENOMEM;
	e = &m->entries[m->n_entries];
	*e = (struct entry){ .builtin = !path };
	e->name = strdup(name);
	if (!e->name)
		return -ENOMEM;
	if (path) {
		const char *rel;
		_cleanup_free_ char *sysroot_rel = NULL;
		_cleanup_close_ int fd = -1;

		e->path = strdup(path);
		if (!e->path)
			goto fail;
		/* modules.dep names files relative to the directory libkmod was given. */
		rel = startswith(path, m->dir_abs);
		rel = rel && rel[0] == '/' ? rel + 1 : path;
		e->relpath = strdup(rel);
		if (!e->relpath)
			goto fail;
		if (asprintf(&sysroot_rel, "%s/%s", m->dir, e->relpath) < 0)
			goto fail;
		fd = bs_sysroot_open(m->ctx, sysroot_rel, O_PATH);
		if (fd >= 0 && fstat(fd, &st) < 0)
			fd = -errno;
		if (fd < 0) {
			bs_log_err(m->ctx, "kernel %s: module %s (for '%s', wanted for %s): %s: %s",
				   m->version, name, request, strna(why), e->path, strerror(-fd));
			free(e->name);
			free(e->path);
			free(e->relpath);
			return fd;
		}
		e->size = (uint64_t)st.st_size;
	}
	e->kmod = kmod_module_ref(kmod);
	m->n_entries++;
	m->ordered = false;
	*ret = e;
	return 0;
fail:
	free(e->name);
	free(e->path);
	free(e->relpath);
	return -ENOMEM;
}

/* Adds the module kmod as requested, for request and why. */
static int want_module(struct bs_modules *m, struct kmod_module *kmod, const char *request,
		       const char *why)
{
	_cleanup_free_ char *reason = NULL;
	struct entry *e;
	int r;

	if (asprintf(&reason, "%s (%s)", request, strna(why)) < 0)
		return -ENOMEM;
	r = ensure_entry(m, kmod, request, why, &e);
	if (r < 0)
		return r;
	if (!e->requested) {
		/* "needed by" is what a module gets while it is only a dependency. */
		e->requested = true;
		e->why = mfree(e->why);
		m->ordered = false;
	}
	return add_why(e, reason);
}

/* Adds the modules of list as requested; returns how many. */
static int want_list(struct bs_modules *m, struct kmod_list *list, const char *request,
		     const char *why)
{
	struct kmod_list *l;
	int n = 0, r;

	kmod_list_foreach(l, list)
	{
		struct kmod_module *kmod = kmod_module_get_module(l);

		r = want_module(m, kmod, request, why);
		kmod_module_unref(kmod);
		if (r < 0)
			return r;
		n++;
	}
	return n;
}

/* optional: a request the kernel may have nothing for (a built-in part without an alias,
 * a faster implementation that is only sometimes there) gives 0, not an error. */
static int want_lookup(struct bs_modules *m, const char *alias, const char *why, bool optional)
{
	struct kmod_list *list = NULL;
	int r;

	if (!alias || alias[0] == '\0')
		return -EINVAL;

	r = kmod_module_new_from_lookup(m->kmod, alias, &list);
	if (r < 0) {
		bs_log_err(m->ctx, "kernel %s: looking up '%s' (wanted for %s): %s", m->version,
			   alias, strna(why), strerror(-r));
		return r;
	}
	if (!list) {
		if (optional) {
			bs_log_debug(m->ctx, "kernel %s: nothing for '%s' (%s), none needed",
				     m->version, alias, strna(why));
			return 0;
		}
		bs_log_err(m->ctx, "kernel %s: no module for '%s' (wanted for %s)", m->version,
			   alias, strna(why));
		return -ENOENT;
	}

	r = want_list(m, list, alias, why);
	kmod_module_unref_list(list);
	return r;
}

int bs_modules_want_alias(struct bs_modules *m, const char *alias, const char *why)
{
	assert(m);
	return want_lookup(m, alias, why, false);
}

int bs_modules_want_name(struct bs_modules *m, const char *name, const char *why)
{
	struct kmod_module *kmod = NULL;
	int r;

	assert(m);
	if (!name || name[0] == '\0')
		return -EINVAL;

	r = kmod_module_new_from_name(m->kmod, name, &kmod);
	if (r < 0)
		return r;
	if (!kmod_module_get_path(kmod) && !strv_contains(m->builtin, kmod_module_get_name(kmod))) {
		bs_log_err(m->ctx, "kernel %s: no module %s (wanted for %s)", m->version, name,
			   strna(why));
		kmod_module_unref(kmod);
		return -ENOENT;
	}
	r = want_module(m, kmod, name, why);
	kmod_module_unref(kmod);
	return r < 0 ? r : 1;
}

/* want_lookup() on a formatted request. */
_printf_(4, 5) static int want_fmt(struct bs_modules *m, const char *why, bool optional,
				   const char *format, ...)
{
	_cleanup_free_ char *alias = NULL;
	va_list ap;
	int r;

	va_start(ap, format);
	r = vasprintf(&alias, format, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	return want_lookup(m, alias, why, optional);
}

int bs_modules_want_filesystem(struct bs_modules *m, const char *fstype, const char *why)
{
	/* Always there, or not a filesystem of a block device. */
	static const char *const none[] = {
		"swap", "tmpfs", "ramfs", "proc", "sysfs", "devtmpfs", "devpts", "none", "auto",
	};
	int r, n;

	assert(m);
	if (!fstype || fstype[0] == '\0' || strpbrk(fstype, " \t\n/"))
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(none); i++)
		if (streq(fstype, none[i]))
			return 0;

	n = want_fmt(m, why, false, "fs-%s", fstype);
	if (n < 0)
		return n;
	/* The code pages mount asks for by default (FAT_DEFAULT_CODEPAGE, _IOCHARSET as
	 * Debian and Fedora set them); built in on some kernels. */
	if (streq(fstype, "vfat") || streq(fstype, "msdos")) {
		r = want_lookup(m, "nls_cp437", why, true);
		if (r < 0)
			return r;
		n += r;
		r = want_lookup(m, "nls_iso8859-1", why, true);
		if (r < 0)
			return r;
		n += r;
		r = want_lookup(m, "nls_utf8", why, true);
		if (r < 0)
			return r;
		n += r;
	}
	return n;
}

int bs_modules_want_md_level(struct bs_modules *m, const char *level, const char *why)
{
	const char *digits;
	int n, r;

	assert(m);
	if (!level || level[0] == '\0' || strpbrk(level, " \t\n/"))
		return -EINVAL;

	n = bs_modules_want_name(m, "md_mod", why);
	if (n < 0)
		return n;
	/* External metadata (imsm, ddf) containers have no personality of their own. */
	if (streq(level, "container") || startswith(level, "external:"))
		return n;

	/* As md's find_pers() asks: "md-<level>", then "md-level-<number>". */
	digits = startswith(level, "raid");
	if (!digits)
		digits = level;
	if (digits[0] != '\0' && strspn(digits, "0123456789") == strlen(digits)) {
		r = want_fmt(m, why, true, "md-raid%s", digits);
		if (r == 0)
			r = want_fmt(m, why, false, "md-level-%s", digits);
	} else
		r = want_fmt(m, why, false, "md-%s", level);
	if (r < 0)
		return r;
	return n + r;
}

int bs_modules_want_dm_target(struct bs_modules *m, const char *target, const char *why)
{
	/* dm-mod.ko holds them (dm-linear.c, dm-stripe.c, dm-target.c). */
	static const char *const in_dm_mod[] = { "linear", "striped", "error" };
	int n, r;

	assert(m);
	if (!target || target[0] == '\0' || strpbrk(target, " \t\n/"))
		return -EINVAL;

	n = bs_modules_want_name(m, "dm_mod", why);
	if (n < 0)
		return n;
	for (size_t i = 0; i < ELEMENTSOF(in_dm_mod); i++)
		if (streq(target, in_dm_mod[i]))
			return n;

	/* dm_get_target_type() requests "dm-<target>"; "thin" is in dm-thin-pool, which has
	 * no alias for it. */
	if (streq(target, "thin")) {
		r = want_lookup(m, "dm-thin", why, true);
		if (r == 0)
			r = want_lookup(m, "dm-thin-pool", why, false);
	} else
		r = want_fmt(m, why, false, "dm-%s", target);
	if (r < 0)
		return r;
	n += r;

	/* The default cache policy, requested as "dm-cache-default". */
	if (streq(target, "cache")) {
		r = want_lookup(m, "dm-cache-default", why, true);
		if (r < 0)
			return r;
		n += r;
	}
	return n;
}

/* Every algorithm name of a crypto API string, "authenc(hmac(sha256),xts(aes))": each one
 * is requested as "crypto-NAME". */
static int want_capi(struct bs_modules *m, const char *capi, const char *why)
{
	_cleanup_strv_free_ char **names = NULL;
	int n = 0, r;

	if (strv_split(capi, "(),", &names) < 0)
		return -ENOMEM;
	if (strv_length(names) == 0)
		return -EINVAL;
	for (char **s = names; *s; s++) {
		r = want_fmt(m, why, false, "crypto-%s", *s);
		if (r < 0)
			return r;
		n += r;
	}
	return n;
}

/* What dm-crypt's IV generators need beyond the cipher (crypt_ctr_ivmode()). */
static int want_ivmode(struct bs_modules *m, const char *ivmode, const char *why)
{
	static const char *const plain[] = {
		"plain", "plain64", "plain64be", "null", "benbi", "random", "eboiv",
	};
	const char *hash;

	if (!ivmode || ivmode[0] == '\0')
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(plain); i++)
		if (streq(ivmode, plain[i]))
			return 0;
	hash = startswith(ivmode, "essiv:");
	if (hash) {
		int r, n;

		n = want_lookup(m, "crypto-essiv", why, true);
		if (n < 0)
			return n;
		r = want_fmt(m, why, false, "crypto-%s", hash);
		return r < 0 ? r : n + r;
	}
	if (streq(ivmode, "lmk"))
		return want_lookup(m, "crypto-md5", why, false);
	if (streq(ivmode, "tcw"))
		return want_lookup(m, "crypto-crc32", why, false);
	if (streq(ivmode, "elephant"))
		return want_lookup(m, "crypto-ecb", why, false);

	bs_log_err(m->ctx, "unknown dm-crypt IV generator '%s' (wanted for %s)", ivmode,
		   strna(why));
	return -EINVAL;
}

int bs_modules_want_cipher(struct bs_modules *m, const char *spec, const char *why)
{
	_cleanup_free_ char *copy = NULL;
	char *cipher, *chainmode, *ivmode = NULL, *p, *capi;
	int n = 0, r;

	assert(m);
	if (!spec || spec[0] == '\0' || strpbrk(spec, " \t\n/"))
		return -EINVAL;
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;

	capi = startswith(copy, "capi:");
	if (capi) {
		/* "capi:xts(aes)-plain64": the IV generator follows the last ')'. */
		p = strrchr(capi, ')');
		p = strchr(p ? p : capi, '-');
		if (p) {
			*p = '\0';
			ivmode = p + 1;
		}
		n = want_capi(m, capi, why);
		if (n < 0)
			return n;
	} else {
		/* "cipher[:keycount]-chainmode-ivmode[:ivopts]"; a bare cipher is cbc-plain. */
		cipher = copy;
		chainmode = strchr(cipher, '-');
		if (chainmode) {
			*chainmode++ = '\0';
			ivmode = strchr(chainmode, '-');
			if (ivmode)
				*ivmode++ = '\0';
		} else
			chainmode = (char *)"cbc";
		p = strchr(cipher, ':');
		if (p)
			*p = '\0';
		if (cipher[0] == '\0' || chainmode[0] == '\0')
			return -EINVAL;

		/* What the crypto API asks for first: an implementation of the mode with the
		 * cipher in one (aesni_intel's "xts(aes)"), where the kernel has one. */
		r = want_fmt(m, why, true, "crypto-%s(%s)", chainmode, cipher);
		if (r < 0)
			return r;
		n += r;
		r = want_fmt(m, why, false, "crypto-%s", cipher);
		if (r < 0)
			return r;
		n += r;
		r = want_fmt(m, why, false, "crypto-%s", chainmode);
		if (r < 0)
			return r;
		n += r;
	}

	r = want_ivmode(m, ivmode, why);
	if (r < 0)
		return r;
	return n + r;
}

int bs_modules_want_hash(struct bs_modules *m, const char *hash, const char *why)
{
	assert(m);
	if (!hash || hash[0] == '\0' || strpbrk(hash, " \t\n/"))
		return -EINVAL;
	if (startswith(hash, "argon2") || streq(hash, "pbkdf2"))
		return 0;
	return want_fmt(m, why, false, "crypto-%s", hash);
}

int bs_modules_want_device(struct bs_modules *m, const char *kernel_name, const char *why)
{
	_cleanup_strv_free_ char **chain = NULL;
	int n = 0, r;

	assert(m);
	r = bs_sysfs_modalias_chain(m->ctx, kernel_name, &chain);
	if (r == -EINVAL && kernel_name && kernel_name[0] && !strchr(kernel_name, '/') &&
	    kernel_name[0] != '.') {
		bs_log_err(m->ctx, "%s: sys/class/block/%s does not lead below sys/devices",
			   m->ctx->sysroot, kernel_name);
		return r;
	}
	if (r == -EINVAL)
		return r;
	if (r < 0) {
		bs_log_err(m->ctx, "%s: no block device %s in sys/ (%s)", m->ctx->sysroot,
			   kernel_name, strerror(-r));
		return r;
	}

	/* From the block device up: the disk's driver, its controller's, the bus's. */
	for (char **a = chain; *a; a++) {
		_cleanup_free_ char *reason = NULL;

		if (asprintf(&reason, "%s of %s", strna(why), kernel_name) < 0)
			return -ENOMEM;
		r = want_lookup(m, *a, reason, true);
		if (r < 0)
			return r;
		n += r;
	}
	return n;
}

static int visit(struct bs_modules *m, size_t idx, const char *parent_why);

/* The modules of list (dependencies or softdeps of parent), each before what comes next. */
static int visit_list(struct bs_modules *m, struct kmod_list *list, const char *parent,
		      const char *how)
{
	_cleanup_free_ char *reason = NULL;
	struct kmod_list *l;
	int r;

	if (asprintf(&reason, "%s %s", how, parent) < 0)
		return -ENOMEM;
	kmod_list_foreach(l, list)
	{
		struct kmod_module *kmod = kmod_module_get_module(l);
		struct entry *e;

		r = ensure_entry(m, kmod, kmod_module_get_name(kmod), reason, &e);
		kmod_module_unref(kmod);
		if (r < 0)
			return r;
		r = visit(m, (size_t)(e - m->entries), reason);
		if (r < 0)
			return r;
	}
	return 0;
}

static int visit(struct bs_modules *m, size_t idx, const char *parent_why)
{
	struct kmod_list *pre = NULL, *post = NULL, *deps = NULL;
	_cleanup_free_ char *name = NULL;
	struct entry *e = &m->entries[idx];
	int r;

	if (e->state == VISITED)
		return 0;
	if (e->state == VISITING) {
		/* A softdep cycle (modules.dep itself has none): the first one reached wins. */
		bs_log_debug(m->ctx, "kernel %s: %s reached again through %s", m->version, e->name,
			     strna(parent_why));
		return 0;
	}
	e->state = VISITING;
	if (!e->why) {
		r = free_and_strdup(&e->why, parent_why);
		if (r < 0)
			return r;
	}
	/* ensure_entry() may move the array; the name is needed after it. */
	name = strdup(e->name);
	if (!name)
		return -ENOMEM;

	r = kmod_module_get_softdeps(e->kmod, &pre, &post);
	if (r < 0) {
		bs_log_err(m->ctx, "kernel %s: softdeps of %s: %s", m->version, name, strerror(-r));
		return r;
	}
	deps = kmod_module_get_dependencies(m->entries[idx].kmod);

	r = visit_list(m, pre, name, "softdep of");
	if (r >= 0)
		r = visit_list(m, deps, name, "needed by");
	if (r >= 0 && ARRAY_RESERVE(m->order, m->order_allocated, m->n_order + 1) < 0)
		r = -ENOMEM;
	if (r >= 0) {
		m->order[m->n_order++] = idx;
		m->entries[idx].state = VISITED;
		r = visit_list(m, post, name, "softdep (post) of");
	}
	kmod_module_unref_list(pre);
	kmod_module_unref_list(post);
	kmod_module_unref_list(deps);
	return r;
}

static int cmp_entry_name(const void *a, const void *b, void *userdata)
{
	const struct bs_modules *m = userdata;

	return strcmp(m->entries[*(const size_t *)a].name, m->entries[*(const size_t *)b].name);
}

int bs_modules_resolve(struct bs_modules *m)
{
	_cleanup_free_ size_t *roots = NULL;
	size_t n_roots = 0, n_requested;
	int r;

	assert(m);
	if (m->ordered)
		return (int)m->n_order;

	/* Start over: what was only needed by another module is found again, from its root. */
	for (size_t i = 0; i < m->n_entries; i++) {
		m->entries[i].state = UNVISITED;
		if (!m->entries[i].requested)
			m->entries[i].why = mfree(m->entries[i].why);
	}
	m->n_order = 0;
	m->views = mfree(m->views);

	n_requested = m->n_entries;
	roots = calloc(n_requested ? n_requested : 1, sizeof(*roots));
	if (!roots)
		return -ENOMEM;
	for (size_t i = 0; i < n_requested; i++)
		if (m->entries[i].requested)
			roots[n_roots++] = i;
	qsort_r(roots, n_roots, sizeof(*roots), cmp_entry_name, m);

	for (size_t i = 0; i < n_roots; i++) {
		r = visit(m, roots[i], NULL);
		if (r < 0)
			return r;
	}

	m->views = calloc(m->n_order ? m->n_order : 1, sizeof(*m->views));
	if (!m->views)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_order; i++) {
		const struct entry *e = &m->entries[m->order[i]];

		m->views[i] = (struct bs_module){
			.name = e->name,
			.relpath = e->relpath,
			.path = e->path,
			.builtin = e->builtin,
			.why = e->why,
			.size = e->size,
		};
	}
	m->ordered = true;
	return (int)m->n_order;
}

const struct bs_module *bs_modules_get(struct bs_modules *m, size_t i)
{
	assert(m);
	if (bs_modules_resolve(m) < 0 || i >= m->n_order)
		return NULL;
	return &m->views[i];
}

int bs_modules_files(struct bs_modules *m, char ***ret)
{
	_cleanup_strv_free_ char **files = NULL;
	int r;

	assert(m);
	assert(ret);

	r = bs_modules_resolve(m);
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->n_order; i++) {
		const struct entry *e = &m->entries[m->order[i]];
		char *f;

		if (e->builtin)
			continue;
		if (asprintf(&f, "%s/%s", m->dir, e->relpath) < 0)
			return -ENOMEM;
		if (strv_push(&files, f) < 0) {
			free(f);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < ELEMENTSOF(index_files); i++) {
		_cleanup_close_ int fd = -1;
		char *f;

		if (asprintf(&f, "%s/%s", m->dir, index_files[i]) < 0)
			return -ENOMEM;
		fd = bs_sysroot_open(m->ctx, f, O_PATH);
		if (fd < 0) {
			free(f);
			if (fd == -ENOENT)
				continue;
			return fd;
		}
		if (strv_push(&files, f) < 0) {
			free(f);
			return -ENOMEM;
		}
	}
	if (!files) {
		files = calloc(1, sizeof(char *));
		if (!files)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(files);
	return 0;
}

int bs_modules_want_modalias(struct bs_modules *m, const char *alias, const char *why)
{
	assert(m);
	return want_lookup(m, alias, why, true);
}
