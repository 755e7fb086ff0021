/* Suspend and resume of the crypt nodes of a live graph: luksSuspend top first, resume bottom first. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libcryptsetup.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "graph.h"
#include "libblkstack-private.h"
#include "real.h"
#include "suspend.h"
#include "sysroot.h"
#include "util.h"

struct suspend_entry {
	char *id; /* crypt:NAME */
	char *name; /* the mapping name */
	char *device; /* /dev/KERNEL of the backing device (the header's), or NULL */
	bool suspended;
};

struct bs_suspend {
	unsigned n_ref;
	struct bs_ctx *ctx;
	/* In suspend order: a mapping before every mapping it lies on. */
	struct suspend_entry *entries;
	size_t n_entries;
};

static const char *mapping_name(const struct bs_node *n)
{
	const char *name = startswith(n->id, "crypt:");

	return name && *name ? name : bs_node_attr(n, BS_ATTR_DM_NAME);
}

static int add_entry(struct bs_suspend *s, const struct bs_node *n)
{
	const struct bs_node *backing = bs_node_need_with_role(n, "backing");
	struct suspend_entry *e;
	struct suspend_entry *grown;

	grown = realloc(s->entries, (s->n_entries + 1) * sizeof(*s->entries));
	if (!grown)
		return -ENOMEM;
	s->entries = grown;
	e = &s->entries[s->n_entries];
	*e = (struct suspend_entry){};
	e->id = strdup(n->id);
	e->name = strdup(strempty(mapping_name(n)));
	if (backing && bs_node_get_name(backing) &&
	    asprintf(&e->device, "/dev/%s", bs_node_get_name(backing)) < 0)
		e->device = NULL;
	if (!e->id || !e->name || !e->name[0]) {
		free(e->id);
		free(e->name);
		free(e->device);
		return e->name && !e->name[0] ? -EINVAL : -ENOMEM;
	}
	s->n_entries++;
	return 0;
}

/* Depth-first over what n needs: every active crypt node below n is added before n, so the
 * list ends up bottom first. */
static int visit(struct bs_suspend *s, const struct bs_graph *g, const struct bs_node *n,
		 bool *seen)
{
	size_t i = 0;
	int r;

	for (i = 0; i < bs_graph_get_n_nodes(g); i++)
		if (bs_graph_get_node(g, i) == n)
			break;
	if (i == bs_graph_get_n_nodes(g) || seen[i])
		return 0;
	seen[i] = true;
	for (size_t k = 0; k < bs_node_get_n_needs(n); k++) {
		r = visit(s, g, bs_edge_get_needs(bs_node_get_need(n, k)), seen);
		if (r < 0)
			return r;
	}
	if (n->kind == BS_NODE_CRYPT && n->state >= BS_STATE_ACTIVE)
		return add_entry(s, n);
	return 0;
}

_public_ int bs_suspend_new(struct bs_graph *g, struct bs_suspend **ret)
{
	struct bs_suspend *s;
	size_t n;
	bool *seen;
	int r = 0;

	if (!g || !ret)
		return -EINVAL;
	n = bs_graph_get_n_nodes(g);
	seen = calloc(n + 1, sizeof(bool));
	s = calloc(1, sizeof(*s));
	if (!seen || !s) {
		free(seen);
		free(s);
		return -ENOMEM;
	}
	s->n_ref = 1;
	s->ctx = bs_ctx_ref(g->ctx);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = visit(s, g, bs_graph_get_node(g, i), seen);
	free(seen);
	if (r < 0) {
		bs_suspend_unref(s);
		return r;
	}
	/* Bottom first now; suspend goes top first. */
	for (size_t i = 0; i < s->n_entries / 2; i++) {
		struct suspend_entry t = s->entries[i];

		s->entries[i] = s->entries[s->n_entries - 1 - i];
		s->entries[s->n_entries - 1 - i] = t;
	}
	*ret = s;
	return 0;
}

/* ---- the suspended mappings, from sysfs alone -------------------------------------------- */

struct sysfs_dm {
	char *kname;
	char *name;
	bool crypt_suspended;
	unsigned depth; /* the longest chain of dm and md devices below it */
};

/* The depth of kname: 1 + the deepest of its slaves that are dm or md devices. Bounded, so that
 * a damaged tree ends. */
static unsigned sysfs_depth(struct bs_ctx *c, const char *kname, unsigned level)
{
	_cleanup_free_ char *dir = NULL;
	unsigned best = 0;
	struct dirent *de;
	DIR *d = NULL;

	if (level > 32 || asprintf(&dir, "sys/class/block/%s/slaves", kname) < 0)
		return 0;
	if (bs_sysroot_opendir(c, dir, &d) < 0)
		return 0;
	while ((de = readdir(d)))
		if (startswith(de->d_name, "dm-") || startswith(de->d_name, "md"))
			best = MAX(best, 1 + sysfs_depth(c, de->d_name, level + 1));
	closedir(d);
	return best;
}

static int compare_depth(const void *a, const void *b)
{
	const struct sysfs_dm *x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth > y->depth ? -1 : 1;
	return strcmp(x->name, y->name);
}

_public_ int bs_suspend_new_suspended(struct bs_ctx *c, struct bs_suspend **ret)
{
	struct sysfs_dm *found = NULL;
	size_t n = 0;
	struct bs_suspend *s;
	struct dirent *de;
	DIR *d = NULL;
	int r;

	if (!c || !ret)
		return -EINVAL;
	r = bs_sysroot_opendir(c, "sys/class/block", &d);
	if (r < 0)
		return r;
	while ((de = readdir(d))) {
		_cleanup_free_ char *uuid = NULL, *sus = NULL, *name = NULL, *p = NULL;
		struct sysfs_dm *grown;

		if (!startswith(de->d_name, "dm-"))
			continue;
		if (asprintf(&p, "sys/class/block/%s/dm/uuid", de->d_name) < 0 ||
		    bs_sysroot_read_attr(c, p, &uuid) < 0 || !startswith(uuid, "CRYPT-"))
			continue;
		free(p);
		p = NULL;
		if (asprintf(&p, "sys/class/block/%s/dm/suspended", de->d_name) < 0 ||
		    bs_sysroot_read_attr(c, p, &sus) < 0 || !streq(sus, "1"))
			continue;
		free(p);
		p = NULL;
		if (asprintf(&p, "sys/class/block/%s/dm/name", de->d_name) < 0 ||
		    bs_sysroot_read_attr(c, p, &name) < 0 || !*name)
			continue;
		grown = realloc(found, (n + 1) * sizeof(*found));
		if (!grown) {
			r = -ENOMEM;
			break;
		}
		found = grown;
		found[n] = (struct sysfs_dm){ .kname = strdup(de->d_name), .name = TAKE_PTR(name) };
		if (!found[n].kname) {
			free(found[n].name);
			r = -ENOMEM;
			break;
		}
		found[n].depth = sysfs_depth(c, de->d_name, 0);
		n++;
	}
	closedir(d);
	s = r >= 0 ? calloc(1, sizeof(*s)) : NULL;
	if (r >= 0 && !s)
		r = -ENOMEM;
	if (r >= 0 && n > 0) {
		s->entries = calloc(n, sizeof(*s->entries));
		if (!s->entries)
			r = -ENOMEM;
	}
	if (r >= 0) {
		/* Deepest (top of the stack) first: the suspend order. */
		qsort(found, n, sizeof(*found), compare_depth);
		s->n_ref = 1;
		s->ctx = bs_ctx_ref(c);
		for (size_t i = 0; r >= 0 && i < n; i++) {
			struct suspend_entry *e = &s->entries[i];

			e->name = TAKE_PTR(found[i].name);
			e->suspended = true;
			if (asprintf(&e->id, "crypt:%s", e->name) < 0 ||
			    asprintf(&e->device, "/dev/mapper/%s", e->name) < 0)
				r = -ENOMEM;
			s->n_entries++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(found[i].kname);
		free(found[i].name);
	}
	free(found);
	if (r < 0) {
		bs_suspend_unref(s);
		return r;
	}
	*ret = s;
	return 0;
}

_public_ struct bs_suspend *bs_suspend_unref(struct bs_suspend *s)
{
	if (!s || --s->n_ref > 0)
		return NULL;
	for (size_t i = 0; i < s->n_entries; i++) {
		free(s->entries[i].id);
		free(s->entries[i].name);
		free(s->entries[i].device);
	}
	free(s->entries);
	bs_ctx_unref(s->ctx);
	free(s);
	return NULL;
}

_public_ size_t bs_suspend_get_n(const struct bs_suspend *s)
{
	return s ? s->n_entries : 0;
}

_public_ const char *bs_suspend_get_node(const struct bs_suspend *s, size_t i)
{
	return s && i < s->n_entries ? s->entries[i].id : NULL;
}

_public_ const char *bs_suspend_get_name(const struct bs_suspend *s, size_t i)
{
	return s && i < s->n_entries ? s->entries[i].name : NULL;
}

_public_ const char *bs_suspend_get_device(const struct bs_suspend *s, size_t i)
{
	return s && i < s->n_entries ? s->entries[i].device : NULL;
}

_public_ bool bs_suspend_get_suspended(const struct bs_suspend *s, size_t i)
{
	return s && i < s->n_entries && s->entries[i].suspended;
}

_public_ int bs_suspend_to_text(const struct bs_suspend *s, char **ret)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	if (!s || !ret)
		return -EINVAL;
	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	if (s->n_entries == 0)
		fputs("no active dm-crypt mapping: nothing to suspend\n", f);
	else
		fputs("suspend (luksSuspend, top of the stack first):\n", f);
	for (size_t i = 0; i < s->n_entries; i++)
		fprintf(f, "  %zu. %s (%s on %s)\n", i + 1, s->entries[i].id, s->entries[i].name,
			s->entries[i].device ? s->entries[i].device : "?");
	if (s->n_entries > 0)
		fputs("resume (luksResume, bottom first):\n", f);
	for (size_t i = s->n_entries; i > 0; i--)
		fprintf(f, "  %zu. %s\n", s->n_entries - i + 1, s->entries[i - 1].id);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}

_public_ int bs_suspend_to_json(const struct bs_suspend *s, char **ret)
{
	json_object *o, *sus, *res;
	int r;

	if (!s || !ret)
		return -EINVAL;
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	sus = json_object_new_array();
	res = json_object_new_array();
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "suspend", sus);
	json_object_object_add(o, "resume", res);
	for (size_t i = 0; sus && res && i < s->n_entries; i++) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "node", json_object_new_string(s->entries[i].id));
		json_object_object_add(e, "name", json_object_new_string(s->entries[i].name));
		if (s->entries[i].device)
			json_object_object_add(e, "device",
					       json_object_new_string(s->entries[i].device));
		json_object_array_add(sus, e);
		json_object_array_add(res,
				      json_object_new_string(s->entries[s->n_entries - 1 - i].id));
	}
	r = sus && res ? bs_json_format(o, ret) : -ENOMEM;
	json_object_put(o);
	return r;
}

/* ---- the argon2 reserve ------------------------------------------------------------------- */

static void quiet_log(_unused_ int level, _unused_ const char *msg, _unused_ void *userdata)
{
}

_public_ int bs_luks_argon2_memory_kb(const char *path, uint64_t *ret_kb)
{
	struct crypt_device *cd = NULL;
	uint64_t max = 0;
	int r;

	if (!path || !ret_kb)
		return -EINVAL;
	r = crypt_init(&cd, path);
	if (r < 0)
		return r;
	crypt_set_log_callback(cd, quiet_log, NULL);
	r = crypt_load(cd, CRYPT_LUKS, NULL);
	if (r >= 0 && streq(strempty(crypt_get_type(cd)), CRYPT_LUKS2)) {
		int n = crypt_keyslot_max(CRYPT_LUKS2);

		for (int ks = 0; ks < n; ks++) {
			struct crypt_pbkdf_type p;
			crypt_keyslot_info st = crypt_keyslot_status(cd, ks);

			if (st != CRYPT_SLOT_ACTIVE && st != CRYPT_SLOT_ACTIVE_LAST)
				continue;
			if (crypt_keyslot_get_pbkdf(cd, ks, &p) < 0 || !p.type ||
			    !startswith(p.type, "argon2"))
				continue;
			max = MAX(max, (uint64_t)p.max_memory_kb);
		}
	}
	crypt_free(cd);
	if (r < 0)
		return r;
	*ret_kb = max;
	return 0;
}

_public_ int bs_suspend_argon2_reserve_kb(const struct bs_suspend *s, uint64_t *ret_kb)
{
	uint64_t max = 0;

	if (!s || !ret_kb)
		return -EINVAL;
	for (size_t i = 0; i < s->n_entries; i++) {
		uint64_t kb = 0;

		if (!s->entries[i].device)
			continue;
		if (bs_luks_argon2_memory_kb(s->entries[i].device, &kb) < 0) {
			bs_log_debug(s->ctx, "'%s': no LUKS2 header read on '%s', ignoring",
				     s->entries[i].name, s->entries[i].device);
			continue;
		}
		max = MAX(max, kb);
	}
	*ret_kb = max;
	return 0;
}

/* ---- suspend and resume ------------------------------------------------------------------- */

int bs_suspend_keys_ops(struct bs_suspend *s, const struct bs_ops *ops, void *userdata,
			bs_suspend_event_fn fn, void *fn_userdata)
{
	int r;

	for (size_t i = 0; i < s->n_entries; i++) {
		r = ops->crypt_suspend ? ops->crypt_suspend(userdata, s->entries[i].name) : -ENOSYS;
		if (fn)
			fn(fn_userdata, BS_SUSPEND_EVENT_SUSPENDED, s->entries[i].id, r, 0);
		if (r < 0)
			return r;
		s->entries[i].suspended = true;
	}
	return 0;
}

static void secret_freep(char **p)
{
	bs_secret_free(*p);
}

int bs_resume_keys_ops(struct bs_suspend *s, const struct bs_ops *ops, void *userdata,
		       unsigned tries, bs_suspend_event_fn fn, void *fn_userdata)
{
	/* The last passphrase that resumed a mapping is tried first on the next: one
	 * passphrase for the whole stack is asked once. */
	_cleanup_(secret_freep) char *last = NULL;
	size_t last_size = 0;
	int result = 0;

	if (tries == 0)
		tries = 3;
	for (size_t i = s->n_entries; i > 0; i--) {
		struct suspend_entry *e = &s->entries[i - 1];
		int r = -EPERM;

		if (!e->suspended)
			continue;
		if (last) {
			r = ops->crypt_resume(userdata, e->name, last, last_size);
			if (r >= 0) {
				e->suspended = false;
				if (fn)
					fn(fn_userdata, BS_SUSPEND_EVENT_RESUMED, e->id, 0, 0);
				continue;
			}
		}
		for (unsigned t = 1; t <= tries; t++) {
			_cleanup_(secret_freep) char *key = NULL;
			_cleanup_free_ char *prompt = NULL;
			size_t size = 0;

			if (asprintf(&prompt, "Passphrase to resume %s (%s): ", e->id,
				     e->device ? e->device : e->name) < 0)
				return -ENOMEM;
			r = ops->ask_password(userdata, prompt, &key, &size);
			if (r < 0)
				break;
			r = ops->crypt_resume(userdata, e->name, key, size);
			if (r == -EPERM) {
				if (fn)
					fn(fn_userdata, BS_SUSPEND_EVENT_WRONG_KEY, e->id, r, t);
				continue;
			}
			if (r >= 0) {
				bs_secret_free(last);
				last = TAKE_PTR(key);
				last_size = size;
			}
			break;
		}
		if (fn)
			fn(fn_userdata, BS_SUSPEND_EVENT_RESUMED, e->id, r, 0);
		if (r < 0) {
			/* Mappings below it are resumed; those above it stay suspended. */
			result = r;
			break;
		}
		e->suspended = false;
	}
	return result;
}

_public_ int bs_suspend_keys(struct bs_suspend *s, const struct bs_suspend_opts *o)
{
	struct bs_real_ops_data d = { .monitor_fd = -1 };

	if (!s)
		return -EINVAL;
	d.ctx = s->ctx;
	d.opts.key_fd = o ? o->key_fd : -1;
	return bs_suspend_keys_ops(s, bs_ops_real(), &d, o ? o->event_fn : NULL,
				   o ? o->event_userdata : NULL);
}

/* The real ops' data, and an askpass command: the real ops take the first member as theirs. */
struct askpass_data {
	struct bs_real_ops_data real;
	const char *command;
};

/* The longest passphrase read from an askpass command, as from --key-fd. */
#define ASKPASS_MAX ((size_t)8 * 1024)

/* Runs the askpass command with the prompt as its one argument (as cryptsetup's keyscripts
 * and ssh-askpass take it) and reads the passphrase from its standard output, up to its first
 * newline, into locked memory. Nothing secret is in its argv or environment. */
static int askpass_command(void *userdata, const char *prompt, char **ret_secret, size_t *ret_size)
{
	struct askpass_data *d = userdata;
	const char *const argv[] = { d->command, prompt, NULL };
	posix_spawn_file_actions_t fa;
	_cleanup_(secret_freep) char *buf = NULL;
	int pipefd[2], r, status;
	size_t n = 0;
	pid_t pid;

	r = bs_secret_new(ASKPASS_MAX, &buf);
	if (r < 0)
		return r;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	r = posix_spawn_file_actions_init(&fa);
	if (r == 0) {
		r = posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
		if (r == 0)
			r = posix_spawn(&pid, d->command, &fa, NULL, (char *const *)argv, environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	(void)close(pipefd[1]);
	if (r != 0) {
		(void)close(pipefd[0]);
		bs_log_err(d->real.ctx, "cannot run the askpass command '%s': %s", d->command,
			   strerror(r));
		return -r;
	}
	for (;;) {
		ssize_t k = read(pipefd[0], buf + n, ASKPASS_MAX - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
		if (memchr(buf, '\n', n) || n == ASKPASS_MAX)
			break;
	}
	(void)close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -ECANCELED;
	if (memchr(buf, '\n', n))
		n = (size_t)((char *)memchr(buf, '\n', n) - buf);
	explicit_bzero(buf + n, ASKPASS_MAX - n);
	*ret_secret = TAKE_PTR(buf);
	*ret_size = n;
	return 0;
}

_public_ int bs_resume_keys(struct bs_suspend *s, const struct bs_suspend_opts *o)
{
	struct askpass_data d = { .real.monitor_fd = -1 };
	struct bs_ops ops;

	if (!s)
		return -EINVAL;
	d.real.ctx = s->ctx;
	d.real.opts.key_fd = o ? o->key_fd : -1;
	d.real.opts.askpass_socket = o ? o->askpass_socket : NULL;
	d.real.opts.console = o ? o->console : NULL;
	d.command = o ? o->askpass_command : NULL;
	ops = *bs_ops_real();
	if (d.command)
		ops.ask_password = askpass_command;
	return bs_resume_keys_ops(s, &ops, &d, o ? o->tries : 0, o ? o->event_fn : NULL,
				  o ? o->event_userdata : NULL);
}
