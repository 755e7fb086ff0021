/* What the configuration parsers share: lines, fields, suggestions and numbers. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "parse.h"
#include "strv.h"
#include "util.h"

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* ---- lines and fields --------------------------------------------------------------------- */

void bs_config_lines_init(struct bs_config_lines *it, const char *text, size_t size)
{
	*it = (struct bs_config_lines){ .p = text, .end = text ? text + size : text };
}

void bs_config_lines_done(struct bs_config_lines *it)
{
	it->buf = mfree(it->buf);
	it->allocated = 0;
}

int bs_config_lines_next(struct bs_config_lines *it, char **ret, const char **ret_bad)
{
	const char *nl;
	size_t len;

	*ret_bad = NULL;
	if (!it->p || it->p >= it->end)
		return 0;

	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	len = (size_t)((nl ? nl : it->end) - it->p);
	it->line++;

	if (len > BS_CONFIG_LINE_MAX)
		*ret_bad = "line is too long";
	else if (memchr(it->p, '\0', len))
		*ret_bad = "line holds a NUL byte";

	if (*ret_bad)
		len = 0;
	if (len + 1 > it->allocated) {
		size_t n = len + 1 < 256 ? 256 : len + 1;
		char *b = realloc(it->buf, n);

		if (!b)
			return -ENOMEM;
		it->buf = b;
		it->allocated = n;
	}
	memcpy(it->buf, it->p, len);
	if (len > 0 && it->buf[len - 1] == '\r')
		len--;
	it->buf[len] = '\0';

	it->p = nl ? nl + 1 : it->end;
	*ret = it->buf;
	return 1;
}

int bs_string_pool_take(struct bs_string_pool *p, char *s)
{
	if (ARRAY_RESERVE(p->strings, p->allocated, p->n) < 0) {
		free(s);
		return -ENOMEM;
	}
	p->strings[p->n++] = s;
	return 0;
}

void bs_string_pool_done(struct bs_string_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->strings[i]);
	p->strings = mfree(p->strings);
	p->n = p->allocated = 0;
}

bool bs_config_line_is_blank(const char *line)
{
	line += strspn(line, " \t");
	return *line == '\0' || *line == '#';
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/* Decodes \NNN (three octal digits) in place, as fstab(5) and crypttab(5) do; an escape that
 * would give a NUL byte, or that is not three octal digits, is left as it is. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (const char *p = s; *p;) {
		if (p[0] == '\\' && is_octal(p[1]) && is_octal(p[2]) && is_octal(p[3])) {
			unsigned v = (unsigned)(p[1] - '0') * 64 + (unsigned)(p[2] - '0') * 8 +
				     (unsigned)(p[3] - '0');

			if (v > 0 && v < 256) {
				*w++ = (char)v;
				p += 4;
				continue;
			}
		}
		*w++ = *p++;
	}
	*w = '\0';
}

static int split(const char *line, bool stop_at_comment, bool decode, char ***ret)
{
	_cleanup_strv_free_ char **fields = NULL;
	size_t n = 0;

	for (const char *p = line;;) {
		size_t len;
		char *f;
		int r;

		p += strspn(p, " \t");
		if (*p == '\0' || (stop_at_comment && *p == '#'))
			break;
		len = strcspn(p, " \t");
		f = strndup(p, len);
		if (!f)
			return -ENOMEM;
		if (decode)
			unescape_octal(f);
		r = strv_push(&fields, f);
		if (r < 0) {
			free(f);
			return r;
		}
		n++;
		p += len;
	}
	*ret = TAKE_PTR(fields);
	return (int)min_size(n, (size_t)INT32_MAX);
}

int bs_config_split(const char *line, bool stop_at_comment, char ***ret)
{
	return split(line, stop_at_comment, true, ret);
}

int bs_config_split_raw(const char *line, char ***ret)
{
	return split(line, false, false, ret);
}

size_t bs_config_errors_since(const struct bs_problem_list *l, size_t from)
{
	size_t n = 0;

	for (size_t i = from; l && i < l->n_problems; i++)
		n += l->problems[i].severity == BS_PROBLEM_ERROR;
	return n;
}

/* ---- suggestions -------------------------------------------------------------------------- */

/* The optimal string alignment distance (Levenshtein with adjacent transpositions), or
 * limit + 1 when it is above limit. */
static size_t edit_distance(const char *a, const char *b, size_t limit)
{
	size_t la = strlen(a), lb = strlen(b), d = SIZE_MAX;
	_cleanup_free_ size_t *rows = NULL;
	size_t *prev2, *prev, *cur;

	if ((la > lb ? la - lb : lb - la) > limit)
		return limit + 1;
	rows = calloc(3 * (lb + 1), sizeof(size_t));
	if (!rows)
		return limit + 1;
	prev2 = rows;
	prev = rows + lb + 1;
	cur = rows + 2 * (lb + 1);

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t v = min_size(prev[j] + 1, cur[j - 1] + 1);

			v = min_size(v, prev[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
				v = min_size(v, prev2[j - 2] + 1);
			cur[j] = v;
		}
		size_t *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	d = prev[lb];
	return d > limit ? limit + 1 : d;
}

const char *bs_config_suggest(const char *word, const char *const *candidates)
{
	/* One edit in a short word, up to three in a long one: closer than that, a reader
	 * would not see the likeness either. */
	size_t limit = MAX((size_t)1, min_size(3, word ? strlen(word) / 3 : 0)), best_d = limit + 1;
	const char *best = NULL;

	if (!word || !*word || !candidates)
		return NULL;
	for (const char *const *c = candidates; *c; c++) {
		size_t d = edit_distance(word, *c, limit);

		if (d < best_d) {
			best = *c;
			best_d = d;
		}
	}
	return best;
}

const char *bs_config_ordinal(unsigned n, char buf[static 16])
{
	const char *suffix = "th";

	if (n % 100 < 11 || n % 100 > 13)
		switch (n % 10) {
		case 1:
			suffix = "st";
			break;
		case 2:
			suffix = "nd";
			break;
		case 3:
			suffix = "rd";
			break;
		default:
			break;
		}
	snprintf(buf, 16, "%u%s", n, suffix);
	return buf;
}

/* ---- values ------------------------------------------------------------------------------- */

static const char *const device_tags[] = { "UUID=", "LABEL=", "PARTUUID=", "PARTLABEL=", "ID=" };

char *bs_config_tag_value(const char *s)
{
	for (size_t i = 0; s && i < ELEMENTSOF(device_tags); i++) {
		char *v = startswith(s, device_tags[i]);

		if (v)
			return v;
	}
	return NULL;
}

bool bs_config_is_device_spec(const char *s)
{
	const char *v;

	if (!s)
		return false;
	if (s[0] == '/')
		return true;
	v = bs_config_tag_value(s);
	return v && *v != '\0';
}

char *bs_config_unquote_tag(char *s)
{
	char *v = bs_config_tag_value(s);
	size_t len = v ? strlen(v) : 0;

	if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
		memmove(v, v + 1, len - 2);
		v[len - 2] = '\0';
	}
	return s;
}

char *bs_config_path_simplify(char *path)
{
	char *w = path;

	for (const char *p = path; *p; p++) {
		if (*p == '/' && w > path && w[-1] == '/')
			continue;
		*w++ = *p;
	}
	while (w > path + 1 && w[-1] == '/')
		w--;
	*w = '\0';
	return path;
}

int bs_config_parse_size(const char *s, uint64_t *ret)
{
	_cleanup_free_ char *copy = NULL;
	size_t len;

	if (!s || !*s)
		return -EINVAL;
	/* "4KiB" and "4KB" mean what "4K" means to cryptsetup and losetup. */
	len = strlen(s);
	if (len > 2 && streq(s + len - 2, "iB") && strchr("KMGT", s[len - 3]))
		len -= 2;
	else if (len > 1 && s[len - 1] == 'B' && strchr("KkMmGgTt", s[len - 2]))
		len -= 1;
	copy = strndup(s, len);
	if (!copy)
		return -ENOMEM;
	return parse_size(copy, ret);
}

int bs_config_parse_timespan(const char *s, uint64_t *ret_usec)
{
	return parse_timespan(s, ret_usec);
}
