/* Configuration source: fstab(5) read through libmount, one entry per line with its number. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <libmount/libmount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hashmap.h"
#include "macro.h"
#include "parse.h"
#include "strv.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_table *, mnt_unref_table)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_iter *, mnt_free_iter)

static void entry_done(struct bs_fstab_entry *e)
{
	free(e->source);
	free(e->target);
	free(e->fstype);
	free(e->options);
	strv_free(e->requires);
	strv_free(e->requires_mounts_for);
}

struct bs_fstab *bs_fstab_free(struct bs_fstab *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_entries; i++)
		entry_done(&t->entries[i]);
	free(t->entries);
	free(t);
	return NULL;
}

struct parser {
	const char *file;
	unsigned line;
	struct bs_problem_list *problems;
	bool rejected; /* libmount called the error callback for the line */
	struct hashmap *targets, *swaps; /* -> line number; keys are the entries' strings */
};

#define problem(p, ...) bs_problem_add((p)->problems, (p)->file, (p)->line, __VA_ARGS__)
#define warning(p, ...) bs_problem_warn((p)->problems, (p)->file, (p)->line, __VA_ARGS__)
#define duplicate(p, ref, ...)                                                                     \
	bs_problem_add_full((p)->problems, BS_PROBLEM_DUPLICATE, BS_PROBLEM_ERROR, (p)->file,      \
			    (p)->line, (ref), __VA_ARGS__)

static int parser_error(struct libmnt_table *tb, _unused_ const char *filename, _unused_ int line)
{
	struct parser *p = mnt_table_get_userdata(tb);

	p->rejected = true;
	return 1; /* skip the line, go on */
}

/* Why libmount rejected a line, worked out from its fields. */
static int explain_rejection(struct parser *p, const char *line)
{
	static const char *const names[] = { "device",	"mount point", "type",
					     "options", "dump",	       "pass" };
	_cleanup_strv_free_ char **f = NULL;
	int n, v;

	n = bs_config_split(line, false, &f);
	if (n < 0)
		return n;
	if (n < 3)
		return problem(
			p, "expected at least 3 fields (device, mount point and type), got %d", n);
	for (int i = 4; i < n && i < 6; i++)
		if (safe_atoi(f[i], &v) < 0)
			return problem(
				p, "%s field '%s' is not a number%s", names[i], f[i],
				f[i][0] == '#' ? " (a comment may follow the 6th field only)" : "");
	return problem(p, "cannot parse the line");
}

/* Whether a quote at q opens a quoted value: at the start of a field, or after '=' or ','
 * (LABEL="...", opt='...'), not inside a word (LABEL=Bob's). */
static bool opens_quote(const char *line, const char *q)
{
	return q == line || strchr(" \t=,", q[-1]);
}

/* A quote that opens in one field and closes in a later one: blanks meant to be quoted, which
 * fstab(5) has no syntax for (libmount splits the fields at every blank; \040 writes one).
 * Returns the opening quote and its closing one in *ret_close, or NULL. */
static const char *find_quoted_blank(const char *line, const char **ret_close)
{
	const char *end = line;

	/* Within the six fields: what follows them is libmount's to ignore (a comment). */
	for (int i = 0; i < 6; i++) {
		end += strspn(end, " \t");
		end += strcspn(end, " \t");
	}
	for (const char *q = line; (q = strpbrk(q, "\"'")) && q < end; q++) {
		const char *close, *blank;

		if (!opens_quote(line, q))
			continue;
		close = strchr(q + 1, *q);
		if (!close || close >= end)
			return NULL;
		blank = strpbrk(q + 1, " \t");
		if (blank && blank < close && (!close[1] || strchr(" \t,", close[1]))) {
			*ret_close = close;
			return q;
		}
		q = close;
	}
	return NULL;
}

/* Names the fields the quotes span, and how to write them: without the quotes, each blank as
 * \040. */
static int report_quoted_blank(struct parser *p, const char *line, const char *open,
			       const char *close)
{
	const char *start = open, *stop = close + 1 + strcspn(close + 1, " \t");
	_cleanup_free_ char *fixed = NULL;
	char *w;

	while (start > line && !strchr(" \t", start[-1]))
		start--;
	fixed = malloc((size_t)(stop - start) * 4 + 1);
	if (!fixed)
		return -ENOMEM;
	w = fixed;
	for (const char *c = start; c < stop; c++) {
		if (c == open || c == close)
			continue;
		if (*c == ' ' || *c == '\t')
			w += sprintf(w, "\\%03o", (unsigned char)*c);
		else
			*w++ = *c;
	}
	*w = '\0';
	return problem(p,
		       "'%.*s': fstab has no quoting of blanks, every blank ends a field; write a "
		       "blank as \\040 (%s)",
		       (int)(stop - start), start, fixed);
}

static int add_option_value(char ***list, const char *value, size_t len)
{
	_cleanup_free_ char *v = strndup(value, len);
	int r;

	if (!v)
		return -ENOMEM;
	r = strv_push(list, v);
	if (r < 0)
		return r;
	TAKE_PTR(v);
	return 0;
}

/* The options this tool orders by; the others are libmount's and the kernel's business. */
static int scan_options(struct parser *p, struct bs_fstab_entry *e)
{
	char *opts = e->options, *name, *value;
	size_t nlen, vlen;
	int r;

	if (!opts)
		return 0;
	while (mnt_optstr_next_option(&opts, &name, &nlen, &value, &vlen) == 0) {
#define IS(s) (nlen == strlen(s) && strncmp(name, s, nlen) == 0)
		if (IS("noauto"))
			e->flags |= BS_FSTAB_NOAUTO;
		else if (IS("nofail"))
			e->flags |= BS_FSTAB_NOFAIL;
		else if (IS("_netdev"))
			e->flags |= BS_FSTAB_NETDEV;
		else if (IS("bind") || IS("rbind"))
			e->flags |= BS_FSTAB_BIND;
		else if (IS("loop"))
			e->flags |= BS_FSTAB_LOOP;
		else if (IS("ro"))
			e->flags |= BS_FSTAB_READONLY;
		else if (IS("rw"))
			e->flags &= ~BS_FSTAB_READONLY;
		else if (IS("x-systemd.requires") || IS("x-systemd.requires-mounts-for")) {
			bool mounts_for = IS("x-systemd.requires-mounts-for");

			if (!value || vlen == 0) {
				r = problem(p, "option '%.*s' needs a value", (int)nlen, name);
				if (r < 0)
					return r;
				continue;
			}
			if (mounts_for && value[0] != '/') {
				r = problem(p,
					    "option 'x-systemd.requires-mounts-for' needs an "
					    "absolute path, got '%.*s'",
					    (int)vlen, value);
				if (r < 0)
					return r;
				continue;
			}
			r = add_option_value(mounts_for ? &e->requires_mounts_for : &e->requires,
					     value, vlen);
			if (r < 0)
				return r;
		}
#undef IS
	}
	return 0;
}

static int take_entry(struct parser *p, struct libmnt_fs *fs, struct bs_fstab_entry *e,
		      bool *ret_ok)
{
	const char *source = mnt_fs_get_source(fs), *target = mnt_fs_get_target(fs),
		   *fstype = mnt_fs_get_fstype(fs), *options = mnt_fs_get_options(fs), *tag, *value;
	size_t before = p->problems->n_problems;
	const char *v;
	int r;

	*ret_ok = false;
	*e = (struct bs_fstab_entry){ .line = p->line };
	if (!source || !target)
		return problem(p, "cannot parse the line");
	/* A tag as libmount (libblkid) reads it, without the quotes of LABEL="..."; fs->source
	 * keeps them. */
	if (mnt_fs_get_tag(fs, &tag, &value) == 0) {
		if (asprintf(&e->source, "%s=%s", tag, value) < 0)
			e->source = NULL;
	} else
		e->source = strdup(source);
	e->target = strdup(target);
	e->fstype = fstype ? strdup(fstype) : NULL;
	e->options = options ? strdup(options) : NULL;
	if (!e->source || !e->target || (fstype && !e->fstype) || (options && !e->options))
		return -ENOMEM;

	if (mnt_fs_is_swaparea(fs))
		e->flags |= BS_FSTAB_SWAP;
	if (mnt_fs_is_netfs(fs))
		e->flags |= BS_FSTAB_NETFS;
	if (mnt_fs_is_pseudofs(fs))
		e->flags |= BS_FSTAB_PSEUDOFS;

	/* libmount takes "UUID=" (and UUID="", LABEL="x with no closing quote) as a path; a tag
	 * needs a value. */
	v = bs_config_tag_value(e->source);
	if (v && (!*v || streq(v, "\"\"") || streq(v, "''")))
		r = problem(p, "device '%s' has an empty value", source);
	else if (v && (v[0] == '"' || v[0] == '\'') && !strchr(v + 1, v[0]))
		r = problem(p, "device '%s' has no closing quote", source);
	else
		r = 0;
	if (r < 0)
		return r;
	if (!(e->flags & BS_FSTAB_SWAP) && target[0] != '/') {
		r = problem(p, "mount point '%s' is not an absolute path", target);
		if (r < 0)
			return r;
	}
	if (mnt_fs_get_passno(fs) < 0 || mnt_fs_get_freq(fs) < 0) {
		r = problem(p, "the dump and pass fields must not be negative");
		if (r < 0)
			return r;
	}
	if (e->target[0] == '/')
		bs_config_path_simplify(e->target);

	r = scan_options(p, e);
	if (r < 0)
		return r;
	*ret_ok = bs_config_errors_since(p->problems, before) == 0;
	return 0;
}

/* Two entries for one mount point, or one swap device listed twice. Returns 1 if e is new,
 * 0 if not (reported), -ENOMEM. */
static int claim(struct parser *p, const struct bs_fstab_entry *e)
{
	bool swap = e->flags & BS_FSTAB_SWAP;
	struct hashmap *map = swap ? p->swaps : p->targets;
	const char *key = swap ? e->source : e->target;
	unsigned other = (unsigned)(uintptr_t)hashmap_get_str(map, key);
	int r;

	if (other > 0) {
		if (swap)
			r = duplicate(p, key, "swap device '%s' is already listed by line %u", key,
				      other);
		else
			r = duplicate(p, key, "mount point '%s' is already claimed by line %u", key,
				      other);
		return r < 0 ? r : 0;
	}
	r = hashmap_put_str(map, key, (void *)(uintptr_t)e->line);
	return r < 0 ? r : 1;
}

/* Parses one line with libmount. Returns 1 with *e filled, 2 with *e filled from a line with
 * problems (recorded), 0 if the line gave no entry (a problem is recorded), or a negative
 * errno. */
static int parse_line(struct parser *p, const char *line, struct bs_fstab_entry *e)
{
	_cleanup_(mnt_unref_tablep) struct libmnt_table *tb = NULL;
	_cleanup_(mnt_free_iterp) struct libmnt_iter *it = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	struct libmnt_fs *fs;
	const char *open, *close;
	char ord[16];
	bool ok = false;
	int r, n_fields;

	/* Before libmount, whose reading of such a line (a source LABEL="my, a mount point disk")
	 * explains nothing. */
	open = find_quoted_blank(line, &close);
	if (open) {
		r = report_quoted_blank(p, line, open, close);
		return r < 0 ? r : 0;
	}

	tb = mnt_new_table();
	it = mnt_new_iter(MNT_ITER_FORWARD);
	if (!tb || !it)
		return -ENOMEM;
	r = mnt_table_set_userdata(tb, p);
	if (r >= 0)
		r = mnt_table_set_parser_errcb(tb, parser_error);
	if (r < 0)
		return r;

	f = fmemopen((void *)line, strlen(line), "r");
	if (!f)
		return -errno;
	p->rejected = false;
	r = mnt_table_parse_stream(tb, f, p->file);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || p->rejected || mnt_table_next_fs(tb, it, &fs) != 0) {
		r = explain_rejection(p, line);
		return r < 0 ? r : 0;
	}

	/* libmount stops reading after the sixth field, and so do mount -a and systemd's
	 * fstab-generator, which read fstab through it: a "# comment" there is one, and
	 * anything else there is ignored by them too (a warning here). */
	_cleanup_strv_free_ char **fields = NULL;
	n_fields = bs_config_split(line, false, &fields);
	if (n_fields < 0)
		return n_fields;
	if (n_fields > 6 && fields[6][0] != '#') {
		r = warning(p, "unexpected %s field '%s' (libmount reads 6 and ignores the rest)",
			    bs_config_ordinal(7, ord), fields[6]);
		if (r < 0)
			return r;
	}

	r = take_entry(p, fs, e, &ok);
	if (r < 0 || !e->source || !e->target) {
		entry_done(e);
		*e = (struct bs_fstab_entry){};
		return r < 0 ? r : 0;
	}
	return ok ? 1 : 2;
}

int bs_fstab_parse(const char *file, const char *text, size_t size, struct bs_fstab **ret,
		   struct bs_problem_list *problems)
{
	_cleanup_(bs_fstab_freep) struct bs_fstab *t = NULL;
	struct parser p = { .file = file, .problems = problems };
	struct bs_config_lines it;
	struct bs_string_pool taken = {}; /* keys of the lines not kept */
	size_t allocated = 0;
	const char *bad;
	char *line;
	int r;

	if (!ret || !problems || (!text && size > 0))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = hashmap_new(HASHMAP_STRING, &p.targets);
	if (r >= 0)
		r = hashmap_new(HASHMAP_STRING, &p.swaps);
	if (r < 0)
		goto finish;

	bs_config_lines_init(&it, text, size);
	while ((r = bs_config_lines_next(&it, &line, &bad)) > 0) {
		struct bs_fstab_entry e = {};

		p.line = it.line;
		if (bad) {
			r = problem(&p, "%s", bad);
			if (r < 0)
				break;
			continue;
		}
		if (bs_config_line_is_blank(line))
			continue;
		bool ok;

		r = parse_line(&p, line, &e);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		ok = r == 1;

		/* A line with problems still claims its mount point. */
		r = claim(&p, &e);
		if (r == 1 && !ok) {
			/* The map's key must outlive the entry, which is not kept. */
			char **key = e.flags & BS_FSTAB_SWAP ? &e.source : &e.target;

			r = bs_string_pool_take(&taken, TAKE_PTR(*key));
		}
		if (r <= 0 || !ok) {
			entry_done(&e);
			if (r < 0)
				break;
			continue;
		}

		if (ARRAY_RESERVE(t->entries, allocated, t->n_entries) < 0) {
			entry_done(&e);
			r = -ENOMEM;
			break;
		}
		t->entries[t->n_entries++] = e;
	}
	bs_config_lines_done(&it);

finish:
	hashmap_free(p.targets);
	hashmap_free(p.swaps);
	bs_string_pool_done(&taken);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(t);
	return 0;
}
