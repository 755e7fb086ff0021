/* Configuration source: the parser of stack.conf(5), the layers no standard file describes. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "hashmap.h"
#include "parse.h"
#include "strv.h"
#include "util.h"

static const char *const kind_names[_BS_STACK_KIND_MAX + 1] = {
	[BS_STACK_LOOP] = "loop",    [BS_STACK_NBD] = "nbd",	 [BS_STACK_ISCSI] = "iscsi",
	[BS_STACK_DRBD] = "drbd",    [BS_STACK_AFTER] = "after", [BS_STACK_TIMEOUT] = "timeout",
	[_BS_STACK_KIND_MAX] = NULL,
};

const char *bs_stack_kind_to_string(enum bs_stack_kind k)
{
	return k >= 0 && k < _BS_STACK_KIND_MAX ? kind_names[k] : NULL;
}

enum opt_id {
	O_FLAG,
	O_OFFSET,
	O_SIZELIMIT,
	O_SECTOR_SIZE,
	O_TIMEOUT,
	O_CONNECTIONS,
	O_BLOCK_SIZE,
	O_FILE,
	O_TLSHOSTNAME,
	O_LUN,
	O_IFACE,
};

struct stack_option {
	const char *name;
	bool has_value;
	enum opt_id id;
	unsigned flag;
};

static const struct stack_option loop_options[] = {
	{ "ro", false, O_FLAG, BS_STACK_READONLY },
	{ "offset", true, O_OFFSET, 0 },
	{ "sizelimit", true, O_SIZELIMIT, 0 },
	{ "sector-size", true, O_SECTOR_SIZE, 0 },
	{ "partscan", false, O_FLAG, BS_STACK_PARTSCAN },
	{ "direct-io", false, O_FLAG, BS_STACK_DIRECT_IO },
	{ "noauto", false, O_FLAG, BS_STACK_NOAUTO },
	{ "nofail", false, O_FLAG, BS_STACK_NOFAIL },
	{},
};

static const struct stack_option nbd_options[] = {
	{ "ro", false, O_FLAG, BS_STACK_READONLY },
	{ "timeout", true, O_TIMEOUT, 0 },
	{ "connections", true, O_CONNECTIONS, 0 },
	{ "block-size", true, O_BLOCK_SIZE, 0 },
	{ "tls", false, O_FLAG, BS_STACK_TLS },
	{ "certfile", true, O_FILE, BS_STACK_TLS },
	{ "keyfile", true, O_FILE, BS_STACK_TLS },
	{ "cacertfile", true, O_FILE, BS_STACK_TLS },
	{ "tlshostname", true, O_TLSHOSTNAME, BS_STACK_TLS },
	{ "persist", false, O_FLAG, BS_STACK_PERSIST },
	{ "swap", false, O_FLAG, BS_STACK_SWAP },
	{ "noauto", false, O_FLAG, BS_STACK_NOAUTO },
	{ "nofail", false, O_FLAG, BS_STACK_NOFAIL },
	{},
};

static const struct stack_option iscsi_options[] = {
	{ "ro", false, O_FLAG, BS_STACK_READONLY },
	{ "lun", true, O_LUN, 0 },
	{ "iface", true, O_IFACE, 0 },
	{ "timeout", true, O_TIMEOUT, 0 },
	{ "noauto", false, O_FLAG, BS_STACK_NOAUTO },
	{ "nofail", false, O_FLAG, BS_STACK_NOFAIL },
	{},
};

static void entry_done(struct bs_stack_entry *e)
{
	free(e->name);
	free(e->path);
	free(e->host);
	free(e->target);
	free(e->first);
	free(e->second);
	free(e->options);
	free(e->iface);
	strv_free(e->files);
	strv_free(e->disks);
}

struct bs_stack_conf *bs_stack_conf_free(struct bs_stack_conf *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_entries; i++)
		entry_done(&c->entries[i]);
	free(c->entries);
	free(c);
	return NULL;
}

struct parser {
	const char *file;
	unsigned line;
	struct bs_problem_list *problems;
	/* "loop:PATH", "nbd:NAME", "iscsi:NAME" -> line number; keys owned by keys. */
	struct hashmap *declared;
	struct bs_string_pool keys;
};

#define problem(p, ...) bs_problem_add((p)->problems, (p)->file, (p)->line, __VA_ARGS__)
#define warning(p, ...) bs_problem_warn((p)->problems, (p)->file, (p)->line, __VA_ARGS__)
#define duplicate(p, ref, ...)                                                                     \
	bs_problem_add_full((p)->problems, BS_PROBLEM_DUPLICATE, BS_PROBLEM_ERROR, (p)->file,      \
			    (p)->line, (ref), __VA_ARGS__)

static const struct stack_option *find_option(const struct stack_option *table, const char *name,
					      size_t len)
{
	for (const struct stack_option *o = table; o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

/* Whether every word of the comma-separated list s is an option of table. */
static bool is_option_list(const struct stack_option *table, const char *s)
{
	for (const char *p = s; *p;) {
		size_t len = strcspn(p, ",");
		size_t klen = strcspn(p, ",=");

		if (len > 0 && !find_option(table, p, klen))
			return false;
		p += len;
		p += strspn(p, ",");
	}
	return true;
}

static int bad_value(struct parser *p, const char *kind, const char *name, const char *what,
		     const char *value)
{
	return problem(p, "%s option '%s' needs %s, got '%s'", kind, name, what, value);
}

static int apply_option(struct parser *p, struct bs_stack_entry *e,
			const struct stack_option *table, const char *name, const char *value)
{
	const char *kind = kind_names[e->kind];
	const struct stack_option *o = find_option(table, name, strlen(name));
	uint64_t v;

	if (!o) {
		const char *names[16], *s;
		size_t n = 0;

		for (const struct stack_option *t = table; t->name && n + 1 < ELEMENTSOF(names);
		     t++)
			names[n++] = t->name;
		names[n] = NULL;
		/* As the peers treat theirs (an option of a newer blkstack, say): the layer is
		 * still declared, with the options this one knows. */
		s = bs_config_suggest(name, names);
		if (s)
			return warning(p, "unknown %s option '%s' (did you mean '%s'?)", kind, name,
				       s);
		return warning(p, "unknown %s option '%s'", kind, name);
	}
	if (!o->has_value && value)
		return problem(p, "%s option '%s' takes no value, got '%s=%s'", kind, name, name,
			       value);
	if (o->has_value && (!value || !*value))
		return problem(p, "%s option '%s' needs a value ('%s=...')", kind, name, name);

	e->flags |= o->flag;
	switch (o->id) {
	case O_FLAG:
		return 0;
	case O_OFFSET:
		if (bs_config_parse_size(value, &e->offset) < 0)
			return bad_value(p, kind, name, "a number of bytes (K, M, G allowed)",
					 value);
		return 0;
	case O_SIZELIMIT:
		if (bs_config_parse_size(value, &e->sizelimit) < 0)
			return bad_value(p, kind, name, "a number of bytes (K, M, G allowed)",
					 value);
		return 0;
	case O_SECTOR_SIZE:
		if (safe_atou64(value, &v) < 0 || v < 512 || v > 4096 || (v & (v - 1)) != 0)
			return bad_value(p, kind, name, "a power of two from 512 to 4096", value);
		e->sector_size = v;
		return 0;
	case O_BLOCK_SIZE:
		if (safe_atou64(value, &v) < 0 || v < 512 || v > 4096 || (v & (v - 1)) != 0)
			return bad_value(p, kind, name, "a power of two from 512 to 4096", value);
		e->block_size = (uint32_t)v;
		return 0;
	case O_TIMEOUT:
		if (bs_config_parse_timespan(value, &v) < 0)
			return bad_value(p, kind, name, "a time span such as '30' or '2min'",
					 value);
		e->timeout_sec = v / 1000000;
		return 0;
	case O_CONNECTIONS:
		/* nbd-client allows up to 16 connections per device. */
		if (safe_atou64(value, &v) < 0 || v < 1 || v > 16)
			return bad_value(p, kind, name, "a number from 1 to 16", value);
		e->connections = (uint32_t)v;
		return 0;
	case O_LUN:
		if (safe_atou64(value, &v) < 0 || v > UINT32_MAX)
			return bad_value(p, kind, name, "a LUN number", value);
		e->lun = (uint32_t)v;
		return 0;
	case O_FILE:
		if (value[0] != '/')
			return bad_value(p, kind, name, "an absolute path", value);
		return strv_extend(&e->files, value);
	case O_TLSHOSTNAME:
		return 0;
	case O_IFACE:
		return free_and_strdup(&e->iface, value) < 0 ? -ENOMEM : 0;
	}
	return 0;
}

static int parse_options(struct parser *p, struct bs_stack_entry *e,
			 const struct stack_option *table, const char *field)
{
	_cleanup_strv_free_ char **opts = NULL;
	int r;

	e->options = strdup(field);
	if (!e->options)
		return -ENOMEM;
	r = strv_split(field, ",", &opts);
	if (r < 0)
		return r;
	for (char **o = opts; o && *o; o++) {
		char *eq = strchr(*o, '=');

		if (eq)
			*eq = '\0';
		r = apply_option(p, e, table, *o, eq ? eq + 1 : NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool name_is_valid(const char *s)
{
	return *s &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
		       strlen(s);
}

/* HOST, HOST:PORT, [V6ADDR] or [V6ADDR]:PORT. */
static int parse_host_port(struct parser *p, const char *what, const char *s, char **ret_host,
			   uint16_t *ret_port)
{
	_cleanup_free_ char *host = NULL;
	const char *port = NULL;
	uint64_t v;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close == s + 1 || (close[1] && close[1] != ':'))
			return problem(p, "%s '%s' is not HOST, HOST:PORT or [ADDRESS]:PORT", what,
				       s);
		host = strndup(s + 1, (size_t)(close - s - 1));
		port = close[1] ? close + 2 : NULL;
	} else {
		const char *colon = strchr(s, ':');

		/* A bare IPv6 address has several colons and no port. */
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;
		host = colon ? strndup(s, (size_t)(colon - s)) : strdup(s);
		port = colon ? colon + 1 : NULL;
	}
	if (!host)
		return -ENOMEM;
	if (!*host)
		return problem(p, "%s '%s' has no host", what, s);
	if (port && (safe_atou64(port, &v) < 0 || v < 1 || v > 65535))
		return problem(p, "%s '%s' has a bad port '%s' (1 to 65535)", what, s, port);

	*ret_host = TAKE_PTR(host);
	*ret_port = port ? (uint16_t)v : 0;
	return 0;
}

static int parse_loop(struct parser *p, char **f, int n, struct bs_stack_entry *e)
{
	char ord[16];

	if (n < 2)
		return problem(p, "'loop' needs the path of its backing file");
	if (n > 3)
		return problem(p, "unexpected %s field '%s' (loop PATH [OPTIONS])",
			       bs_config_ordinal(4, ord), f[3]);
	if (f[1][0] != '/')
		return problem(p, "loop file '%s' is not an absolute path", f[1]);
	e->path = strdup(f[1]);
	if (!e->path)
		return -ENOMEM;
	bs_config_path_simplify(e->path);
	if (streq(e->path, "/"))
		return problem(p, "loop file '/' is a directory");
	return n > 2 ? parse_options(p, e, loop_options, f[2]) : 0;
}

static int parse_name(struct parser *p, const char *kind, const char *name, char **ret)
{
	if (!name_is_valid(name))
		return problem(p, "%s name '%s' may hold only letters, digits, '_', '.' and '-'",
			       kind, name);
	*ret = strdup(name);
	return *ret ? 0 : -ENOMEM;
}

static int parse_nbd(struct parser *p, char **f, int n, struct bs_stack_entry *e)
{
	const char *export = NULL, *opts = NULL;
	char ord[16];
	int r;

	if (n < 3)
		return problem(p, "'nbd' needs a name and a server (nbd NAME HOST[:PORT] [EXPORT] "
				  "[OPTIONS])");
	if (n > 5)
		return problem(p,
			       "unexpected %s field '%s' (nbd NAME HOST[:PORT] [EXPORT] [OPTIONS])",
			       bs_config_ordinal(6, ord), f[5]);
	r = parse_name(p, "nbd", f[1], &e->name);
	if (r < 0 || !e->name)
		return r;
	r = parse_host_port(p, "nbd server", f[2], &e->host, &e->port);
	if (r < 0 || !e->host)
		return r;

	if (n == 5) {
		export = f[3];
		opts = f[4];
	} else if (n == 4) {
		/* One field more: the options if it reads as nbd options, else the export. */
		if (is_option_list(nbd_options, f[3]))
			opts = f[3];
		else
			export = f[3];
	}
	if (export && !streq(export, "-")) {
		e->target = strdup(export);
		if (!e->target)
			return -ENOMEM;
	}
	return opts ? parse_options(p, e, nbd_options, opts) : 0;
}

static int parse_iscsi(struct parser *p, char **f, int n, struct bs_stack_entry *e)
{
	char ord[16];
	int r;

	if (n < 4)
		return problem(p, "'iscsi' needs a name, a target and a portal (iscsi NAME "
				  "TARGET-IQN PORTAL[:PORT] [OPTIONS])");
	if (n > 5)
		return problem(p,
			       "unexpected %s field '%s' (iscsi NAME TARGET-IQN PORTAL[:PORT] "
			       "[OPTIONS])",
			       bs_config_ordinal(6, ord), f[5]);
	r = parse_name(p, "iscsi", f[1], &e->name);
	if (r < 0 || !e->name)
		return r;
	if (strncasecmp(f[2], "iqn.", 4) != 0 && strncasecmp(f[2], "eui.", 4) != 0 &&
	    strncasecmp(f[2], "naa.", 4) != 0)
		return problem(p, "'%s' is not an iSCSI target name (iqn., eui. or naa.)", f[2]);
	e->target = strdup(f[2]);
	if (!e->target)
		return -ENOMEM;
	r = parse_host_port(p, "iscsi portal", f[3], &e->host, &e->port);
	if (r < 0 || !e->host)
		return r;
	return n > 4 ? parse_options(p, e, iscsi_options, f[4]) : 0;
}

/* ---- drbd ------------------------------------------------------------------------------- */

/* The highest minor DRBD takes (MINORMASK of the kernel's 20-bit minors). */
#define DRBD_MINOR_MAX 1048575u

enum drbd_option {
	DRBD_DEVICE,
	DRBD_MINOR,
	DRBD_DISK,
	DRBD_FLAG,
};

/* stack.conf's drbd options. The resource itself (its disks, peers, protocol) is drbd.conf's;
 * these say which device it is and what blkstack does with it. */
static const struct {
	const char *name;
	bool has_value;
	enum drbd_option id;
	unsigned flag;
} drbd_options[] = {
	{ "device", true, DRBD_DEVICE, 0 },
	{ "minor", true, DRBD_MINOR, 0 },
	{ "disk", true, DRBD_DISK, 0 },
	{ "primary", false, DRBD_FLAG, BS_STACK_PRIMARY },
	{ "noauto", false, DRBD_FLAG, BS_STACK_NOAUTO },
	{ "nofail", false, DRBD_FLAG, BS_STACK_NOFAIL },
};

/* A minor as device= (/dev/drbdN) or minor= (N) writes it. */
static int parse_drbd_minor(const char *s, uint32_t *ret)
{
	uint64_t v;

	if (!*s || strspn(s, "0123456789") != strlen(s) || (s[0] == '0' && s[1]) ||
	    safe_atou64(s, &v) < 0 || v > DRBD_MINOR_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/* One known option with its value checked; device= and minor= are kept for the end. */
static int apply_drbd_option(struct parser *p, struct bs_stack_entry *e, enum drbd_option id,
			     const char *value, const char **device, uint32_t *device_minor,
			     const char **minor, uint32_t *minor_minor)
{
	switch (id) {
	case DRBD_DEVICE:
		if (!startswith(value, "/dev/drbd") ||
		    parse_drbd_minor(value + strlen("/dev/drbd"), device_minor) < 0)
			return bad_value(p, "drbd", "device", "the device as /dev/drbdN", value);
		if (*device && !streq(*device, value))
			return problem(p, "drbd option 'device' is given twice ('%s', '%s')",
				       *device, value);
		*device = value;
		return 0;
	case DRBD_MINOR:
		if (parse_drbd_minor(value, minor_minor) < 0)
			return bad_value(p, "drbd", "minor", "a minor from 0 to 1048575", value);
		if (*minor && !streq(*minor, value))
			return problem(p, "drbd option 'minor' is given twice ('%s', '%s')", *minor,
				       value);
		*minor = value;
		return 0;
	case DRBD_DISK:
		if (!bs_config_is_device_spec(value))
			return bad_value(p, "drbd", "disk",
					 "a device (UUID=, LABEL=, PARTUUID=, ... or /dev/...)",
					 value);
		return strv_contains(e->disks, value) ? 0 : strv_extend(&e->disks, value);
	case DRBD_FLAG:
		return 0;
	}
	return 0;
}

/* drbd RESOURCE OPTIONS. An unknown option is a warning, and the line stays. */
static int parse_drbd(struct parser *p, char **f, int n, struct bs_stack_entry *e)
{
	size_t before = p->problems->n_problems;
	_cleanup_strv_free_ char **opts = NULL;
	const char *device = NULL, *minor = NULL;
	uint32_t device_minor = 0, minor_minor = 0;
	char ord[16];
	int r;

	if (n < 2)
		return problem(p, "'drbd' needs a resource name (drbd RESOURCE device=/dev/drbdN "
				  "[OPTIONS])");
	if (n > 3)
		return problem(p, "unexpected %s field '%s' (drbd RESOURCE OPTIONS)",
			       bs_config_ordinal(4, ord), f[3]);
	r = parse_name(p, "drbd resource", f[1], &e->name);
	if (r < 0 || !e->name)
		return r;
	if (n > 2) {
		e->options = strdup(f[2]);
		if (!e->options)
			return -ENOMEM;
		r = strv_split(f[2], ",", &opts);
		if (r < 0)
			return r;
	}

	for (char **o = opts; o && *o; o++) {
		char *value = strchr(*o, '=');
		const char *names[ELEMENTSOF(drbd_options) + 1] = {}, *s;
		size_t k;

		if (value)
			*value++ = '\0';
		for (k = 0; k < ELEMENTSOF(drbd_options); k++)
			if (streq(drbd_options[k].name, *o))
				break;
		if (k == ELEMENTSOF(drbd_options)) {
			for (size_t i = 0; i < ELEMENTSOF(drbd_options); i++)
				names[i] = drbd_options[i].name;
			s = bs_config_suggest(*o, names);
			if (s)
				r = bs_problem_warn(p->problems, p->file, p->line,
						    "unknown drbd option '%s' (did you mean '%s'?)",
						    *o, s);
			else
				r = bs_problem_warn(p->problems, p->file, p->line,
						    "unknown drbd option '%s'", *o);
		} else if (!drbd_options[k].has_value && value)
			r = problem(p, "drbd option '%s' takes no value, got '%s=%s'", *o, *o,
				    value);
		else if (drbd_options[k].has_value && (!value || !*value))
			r = problem(p, "drbd option '%s' needs a value ('%s=...')", *o, *o);
		else
			r = apply_drbd_option(p, e, drbd_options[k].id, value, &device,
					      &device_minor, &minor, &minor_minor);
		if (r < 0)
			return r;
		if (k < ELEMENTSOF(drbd_options))
			e->flags |= drbd_options[k].flag;
	}
	if (bs_config_errors_since(p->problems, before) > 0)
		return 0;

	/* Without its minor the node could be matched to no live device and named by no
	 * path; two that disagree are not clear. */
	if (device && minor && device_minor != minor_minor)
		return problem(p, "drbd options 'device=%s' and 'minor=%s' name two devices",
			       device, minor);
	if (!device && !minor)
		return problem(p,
			       "'drbd %s' needs its device as drbd.conf gives it "
			       "('device=/dev/drbdN' or 'minor=N')",
			       e->name);
	e->minor = device ? device_minor : minor_minor;
	return 0;
}

static int parse_after(struct parser *p, char **f, int n, struct bs_stack_entry *e)
{
	if (n != 3)
		return problem(p, "'after' needs exactly two node ids (after ID ID), got %d",
			       n - 1);
	if (streq(f[1], f[2]))
		return problem(p, "'after' needs two different nodes, got '%s' twice", f[1]);
	e->first = strdup(f[1]);
	e->second = strdup(f[2]);
	return e->first && e->second ? 0 : -ENOMEM;
}

static int parse_timeout(struct parser *p, char **f, int n, struct bs_stack_entry *e)
{
	uint64_t v;

	if (n != 3)
		return problem(p,
			       "'timeout' needs a node id and seconds (timeout ID SECONDS), got "
			       "%d fields",
			       n - 1);
	if (safe_atou64(f[2], &v) < 0 || v == 0 || v > 86400)
		return problem(p, "'timeout': '%s' is not a number of seconds from 1 to 86400",
			       f[2]);
	e->timeout_sec = v;
	e->first = strdup(f[1]);
	return e->first ? 0 : -ENOMEM;
}

/* Reports a second declaration of one loop file or device name. Returns 1 if new (and
 * records it), 0 if a duplicate (reported), or -ENOMEM. */
static int declare(struct parser *p, const struct bs_stack_entry *e)
{
	_cleanup_free_ char *key = NULL;
	const char *what = e->kind == BS_STACK_LOOP ? "loop file" :
			   e->kind == BS_STACK_NBD  ? "nbd device" :
			   e->kind == BS_STACK_DRBD ? "drbd resource" :
						      "iscsi device";
	const char *value = e->kind == BS_STACK_LOOP ? e->path : e->name;
	unsigned other;
	int r;

	if (e->kind == BS_STACK_AFTER || e->kind == BS_STACK_TIMEOUT)
		return 1;
	if (strextend(&key, kind_names[e->kind], ":", value, NULL) < 0)
		return -ENOMEM;
	other = (unsigned)(uintptr_t)hashmap_get_str(p->declared, key);
	if (other > 0) {
		r = duplicate(p, value, "%s '%s' is already declared by line %u", what, value,
			      other);
		return r < 0 ? r : 0;
	}
	value = key;
	r = bs_string_pool_take(&p->keys, TAKE_PTR(key));
	if (r < 0)
		return r;
	r = hashmap_put_str(p->declared, value, (void *)(uintptr_t)e->line);
	return r < 0 ? r : 1;
}

static int parse_line(struct parser *p, char **f, int n, struct bs_stack_entry *e, bool *ret_ok)
{
	size_t before = p->problems->n_problems;
	int r;

	*ret_ok = false;
	*e = (struct bs_stack_entry){ .line = p->line };
	for (int k = 0; k < _BS_STACK_KIND_MAX; k++)
		if (streq(f[0], kind_names[k]))
			e->kind = k;
	/* Unlike an unknown option, an unknown kind stays an error: the kind says what the
	 * other fields are (a path, a server, two node ids), so nothing of the line can be
	 * used, and a layer that fstab or crypttab lines build on would be missing with only
	 * a warning to say so. This file is blkstack's own: no peer reads it otherwise. */
	if (!streq(f[0], kind_names[e->kind])) {
		const char *s = bs_config_suggest(f[0], kind_names);

		if (s)
			return problem(p, "unknown kind '%s' (did you mean '%s'?)", f[0], s);
		return problem(p, "unknown kind '%s' (loop, nbd, iscsi, drbd, after or timeout)",
			       f[0]);
	}

	switch (e->kind) {
	case BS_STACK_LOOP:
		r = parse_loop(p, f, n, e);
		break;
	case BS_STACK_NBD:
		r = parse_nbd(p, f, n, e);
		break;
	case BS_STACK_ISCSI:
		r = parse_iscsi(p, f, n, e);
		break;
	case BS_STACK_DRBD:
		r = parse_drbd(p, f, n, e);
		break;
	case BS_STACK_TIMEOUT:
		r = parse_timeout(p, f, n, e);
		break;
	default:
		r = parse_after(p, f, n, e);
		break;
	}
	if (r < 0 || bs_config_errors_since(p->problems, before) > 0)
		return r;
	r = declare(p, e);
	if (r < 0)
		return r;
	*ret_ok = r > 0;
	return 0;
}

int bs_stack_conf_parse(const char *file, const char *text, size_t size, struct bs_stack_conf **ret,
			struct bs_problem_list *problems)
{
	_cleanup_(bs_stack_conf_freep) struct bs_stack_conf *c = NULL;
	struct parser p = { .file = file, .problems = problems };
	struct bs_config_lines it;
	size_t allocated = 0;
	const char *bad;
	char *line;
	int r;

	if (!ret || !problems || (!text && size > 0))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r = hashmap_new(HASHMAP_STRING, &p.declared);
	if (r < 0)
		return r;

	bs_config_lines_init(&it, text, size);
	while ((r = bs_config_lines_next(&it, &line, &bad)) > 0) {
		_cleanup_strv_free_ char **fields = NULL;
		struct bs_stack_entry e = {};
		bool ok;
		int n;

		p.line = it.line;
		if (bad) {
			r = problem(&p, "%s", bad);
			if (r < 0)
				break;
			continue;
		}
		n = bs_config_split(line, true, &fields);
		if (n < 0) {
			r = n;
			break;
		}
		if (n == 0)
			continue;
		r = parse_line(&p, fields, n, &e, &ok);
		if (r < 0 || !ok) {
			entry_done(&e);
			if (r < 0)
				break;
			continue;
		}
		if (ARRAY_RESERVE(c->entries, allocated, c->n_entries) < 0) {
			entry_done(&e);
			r = -ENOMEM;
			break;
		}
		c->entries[c->n_entries++] = e;
	}
	bs_config_lines_done(&it);
	hashmap_free(p.declared);
	bs_string_pool_done(&p.keys);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(c);
	return 0;
}
