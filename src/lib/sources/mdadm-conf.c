/* Configuration source: the parser of mdadm.conf(5), its ARRAY lines in particular. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "hashmap.h"
#include "parse.h"
#include "strv.h"
#include "util.h"

/* mdadm's keywords, as the list in its config.c has them (ENCRYPTION_NO_VERIFY since 2024,
 * PROBING since 2026; IMSM_NO_PLATFORM and the like are environment variables, not keywords),
 * in its order and matched as its match_keyword() does: case-insensitively, by any prefix of
 * at least three letters, the first keyword in this order that the word is a prefix of. So
 * "DEV", "DEVICE" and "DEVICES" (mdadm's own spelling) are DEVICES, "MAIL" is MAILADDR
 * (MAILFROM needs five letters, as mdadm.conf(5) says), "PRO" is PROGRAM, and a word longer
 * than the keyword ("ARRAYS") is none. */
enum keyword {
	KW_DEVICES,
	KW_ARRAY,
	KW_MAILADDR,
	KW_MAILFROM,
	KW_PROGRAM,
	KW_CREATE,
	KW_HOMEHOST,
	KW_HOMECLUSTER,
	KW_AUTO,
	KW_POLICY,
	KW_PART_POLICY,
	KW_SYSFS,
	KW_MONITORDELAY,
	KW_ENCRYPTION_NO_VERIFY,
	KW_PROBING,
	_KW_MAX,
};

static const char *const keywords[_KW_MAX + 1] = {
	[KW_DEVICES] = "DEVICES",
	[KW_ARRAY] = "ARRAY",
	[KW_MAILADDR] = "MAILADDR",
	[KW_MAILFROM] = "MAILFROM",
	[KW_PROGRAM] = "PROGRAM",
	[KW_CREATE] = "CREATE",
	[KW_HOMEHOST] = "HOMEHOST",
	[KW_HOMECLUSTER] = "HOMECLUSTER",
	[KW_AUTO] = "AUTO",
	[KW_POLICY] = "POLICY",
	[KW_PART_POLICY] = "PART-POLICY",
	[KW_SYSFS] = "SYSFS",
	[KW_MONITORDELAY] = "MONITORDELAY",
	[KW_ENCRYPTION_NO_VERIFY] = "ENCRYPTION_NO_VERIFY",
	[KW_PROBING] = "PROBING",
	[_KW_MAX] = NULL,
};

/* The words of ARRAY lines other than the device, as key= prefixes. */
static const char *const array_keys[] = {
	"uuid=",   "name=",   "devices=",   "metadata=", "level=",	 "num-devices=",
	"disks=",  "spares=", "container=", "member=",	 "super-minor=", "spare-group=",
	"bitmap=", "auto=",   "type=",	    NULL,
};

static const char *const raid_levels[] = {
	"linear", "raid0",     "0",	"stripe", "raid1",     "1",  "mirror",
	"raid4",  "4",	       "raid5", "5",	  "raid6",     "6",  "raid10",
	"10",	  "multipath", "mp",	"faulty", "container", NULL,
};

static int match_keyword(const char *word)
{
	size_t len = strlen(word);

	if (len < 3)
		return -1;
	for (int k = 0; k < _KW_MAX; k++)
		if (strncasecmp(word, keywords[k], len) == 0)
			return k;
	return -1;
}

const char *bs_mdadm_array_short_name(const struct bs_mdadm_array *a)
{
	const char *s;

	if (!a)
		return NULL;
	if (a->name && *a->name) {
		s = strchr(a->name, ':');
		return s && s[1] ? s + 1 : a->name;
	}
	if (!a->device)
		return NULL;
	s = startswith(a->device, "/dev/md/");
	if (s)
		return *s ? s : NULL;
	/* A bare name stands for /dev/md/NAME, as mdadm takes it. */
	return a->device[0] != '/' ? a->device : NULL;
}

static void array_done(struct bs_mdadm_array *a)
{
	free(a->device);
	free(a->uuid);
	free(a->name);
	strv_free(a->devices);
	free(a->metadata);
	free(a->level);
	free(a->container);
	free(a->member);
}

struct bs_mdadm_conf *bs_mdadm_conf_free(struct bs_mdadm_conf *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_arrays; i++)
		array_done(&c->arrays[i]);
	free(c->arrays);
	free(c->homehost);
	free(c);
	return NULL;
}

/* One word of a logical line, and the physical line it is on. */
struct word {
	char *text;
	unsigned line;
};

struct logical_line {
	struct word *words;
	size_t n_words, allocated;
};

static void logical_line_clear(struct logical_line *l)
{
	for (size_t i = 0; i < l->n_words; i++)
		free(l->words[i].text);
	l->n_words = 0;
}

struct parser {
	const char *file;
	struct bs_problem_list *problems;
	struct bs_mdadm_conf *conf;
	size_t allocated;
	struct hashmap *by_uuid, *by_name, *by_device; /* -> line number */
};

#define problem_at(p, line, ...) bs_problem_add((p)->problems, (p)->file, (line), __VA_ARGS__)
#define warning_at(p, line, ...) bs_problem_warn((p)->problems, (p)->file, (line), __VA_ARGS__)

/* Appends the words of one physical line: blank-separated, quotes ("" or '') protect blanks,
 * and a word starting with '#' ends the line. As mdadm's conf_word() does, a quote that is not
 * closed runs to the end of the line. */
static int add_words(struct logical_line *l, const char *s, unsigned line)
{
	for (;;) {
		_cleanup_free_ char *w = NULL;
		size_t len = 0;

		s += strspn(s, " \t");
		if (*s == '\0' || *s == '#')
			return 0;
		w = malloc(strlen(s) + 1);
		if (!w)
			return -ENOMEM;
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '"' || *s == '\'') {
				const char *q = strchr(s + 1, *s);
				size_t n = q ? (size_t)(q - s - 1) : strlen(s + 1);

				memcpy(w + len, s + 1, n);
				len += n;
				s += n + 1 + (q ? 1 : 0);
				continue;
			}
			w[len++] = *s++;
		}
		w[len] = '\0';

		if (ARRAY_RESERVE(l->words, l->allocated, l->n_words) < 0)
			return -ENOMEM;
		l->words[l->n_words++] = (struct word){ .text = TAKE_PTR(w), .line = line };
	}
}

static bool device_name_is_valid(const char *w)
{
	const char *n;

	if (strcasecmp(w, "<ignore>") == 0 || startswith(w, "/dev/md/"))
		return true;
	if ((n = startswith(w, "/dev/md_d")) || (n = startswith(w, "/dev/md")))
		return *n && strspn(n, "0123456789") == strlen(n);
	return w[0] != '/' && w[0] != '<';
}

/*
 * A word given twice on one ARRAY line (with its continuation lines). mdadm's arrayline()
 * keeps the first device name, uuid=, super-minor=, name=, devices=, bitmap=, spare-group=
 * and metadata=, saying so ("only specify uuid once, ... ignored"), and takes the last
 * level=, num-devices= (disks=), spares=, member= and container= without a word. blkstack
 * takes the value mdadm takes and warns either way; the array stays.
 */
enum {
	KEEP_FIRST,
	KEEP_LAST
};

static int given_twice(struct parser *p, const struct word *w, const char *key, int keep)
{
	if (keep == KEEP_LAST)
		return warning_at(p, w->line,
				  "'%s' is given twice, ignoring the earlier one (mdadm takes the "
				  "last, '%s')",
				  key, w->text);
	return warning_at(p, w->line, "'%s' is given twice, ignoring '%s'", key, w->text);
}

static int parse_int_word(struct parser *p, const struct word *w, const char *key,
			  const char *value, int keep, int *ret)
{
	uint32_t v;
	int r;

	if (*ret >= 0) {
		r = given_twice(p, w, key, keep);
		if (r < 0 || keep == KEEP_FIRST)
			return r;
	}
	if (safe_atou32(value, &v) < 0 || v > INT_MAX)
		return problem_at(p, w->line, "'%s' needs a non-negative integer, got '%s'", key,
				  value);
	*ret = (int)v;
	return 0;
}

static int set_word(struct parser *p, const struct word *w, const char *key, char **field,
		    const char *value, int keep)
{
	int r;

	if (*field) {
		r = given_twice(p, w, key, keep);
		if (r < 0 || keep == KEEP_FIRST)
			return r;
	}
	if (!*value)
		return problem_at(p, w->line, "'%s' needs a value", key);
	return free_and_strdup(field, value) < 0 ? -ENOMEM : 0;
}

static int array_word(struct parser *p, struct bs_mdadm_array *a, const struct word *w)
{
	const char *eq = strchr(w->text, '='), *value;
	char uuid[37];
	size_t klen;
	int r;

	if (!eq) {
		if (!device_name_is_valid(w->text))
			return problem_at(p, w->line,
					  "'%s' is not a valid md device name (use /dev/md/NAME "
					  "or /dev/mdN)",
					  w->text);
		if (a->device)
			return warning_at(p, w->line,
					  "only one device per ARRAY line: '%s' and '%s', ignoring "
					  "'%s'",
					  a->device, w->text, w->text);
		a->device = strdup(w->text);
		return a->device ? 0 : -ENOMEM;
	}

	klen = (size_t)(eq - w->text) + 1;
	value = eq + 1;
#define KEY(k) (klen == strlen(k) && strncasecmp(w->text, k, klen) == 0)
	if (KEY("uuid=")) {
		if (a->uuid)
			return given_twice(p, w, "uuid=", KEEP_FIRST);
		if (!bs_md_uuid_normalize(value, uuid))
			return problem_at(p, w->line,
					  "bad uuid '%s' (expected 32 hex digits, as in "
					  "'uuid=f278e03c:a31aa7bd:a0e88e06:eaa17cd6')",
					  value);
		a->uuid = strdup(uuid);
		return a->uuid ? 0 : -ENOMEM;
	}
	if (KEY("name="))
		return set_word(p, w, "name=", &a->name, value, KEEP_FIRST);
	if (KEY("devices=")) {
		if (a->devices)
			return given_twice(p, w, "devices=", KEEP_FIRST);
		r = strv_split(value, ",", &a->devices);
		if (r < 0)
			return r;
		if (!a->devices)
			return problem_at(p, w->line, "'devices=' needs a value");
		return 0;
	}
	if (KEY("metadata="))
		return set_word(p, w, "metadata=", &a->metadata, value, KEEP_FIRST);
	if (KEY("level=")) {
		for (const char *const *l = raid_levels; *l; l++)
			if (strcasecmp(*l, value) == 0)
				return set_word(p, w, "level=", &a->level, value, KEEP_LAST);
		/* mdadm maps a level it does not know to none, and goes on. */
		a->level = mfree(a->level);
		const char *s = bs_config_suggest(value, raid_levels);
		if (s)
			return warning_at(p, w->line,
					  "unknown RAID level '%s' (did you mean '%s'?)", value, s);
		return warning_at(p, w->line, "unknown RAID level '%s'", value);
	}
	if (KEY("num-devices=") || KEY("disks="))
		return parse_int_word(p, w, "num-devices=", value, KEEP_LAST, &a->num_devices);
	if (KEY("spares="))
		return parse_int_word(p, w, "spares=", value, KEEP_LAST, &a->spares);
	if (KEY("super-minor="))
		return parse_int_word(p, w, "super-minor=", value, KEEP_FIRST, &a->super_minor);
	if (KEY("container="))
		return set_word(p, w, "container=", &a->container, value, KEEP_LAST);
	if (KEY("member="))
		return set_word(p, w, "member=", &a->member, value, KEEP_LAST);
	if (KEY("spare-group=") || KEY("bitmap=") || KEY("auto=") || KEY("type="))
		return 0;
#undef KEY

	/* mdadm says "unrecognised word on ARRAY line" and uses the others. */
	_cleanup_free_ char *key = strndup(w->text, klen);
	if (!key)
		return -ENOMEM;
	for (char *k = key; *k; k++)
		if (*k >= 'A' && *k <= 'Z')
			*k = (char)(*k - 'A' + 'a');
	const char *s = bs_config_suggest(key, array_keys);
	if (s)
		return warning_at(p, w->line,
				  "unknown word '%s' on ARRAY line (did you mean '%s'?)", w->text,
				  s);
	return warning_at(p, w->line, "unknown word '%s' on ARRAY line", w->text);
}

/* Reports key (an array's uuid, name or device) if an earlier line defined it already.
 * Returns 1 if it did, 0 if key is new or NULL, or -ENOMEM. */
static int is_duplicate(struct parser *p, struct hashmap *map, const char *key, const char *what,
			unsigned line)
{
	unsigned other = key ? (unsigned)(uintptr_t)hashmap_get_str(map, key) : 0;
	int r;

	if (other == 0)
		return 0;
	r = bs_problem_add_full(p->problems, BS_PROBLEM_DUPLICATE, BS_PROBLEM_ERROR, p->file, line,
				key, "%s '%s' is already used by line %u", what, key, other);
	return r < 0 ? r : 1;
}

static int claim(struct hashmap *map, const char *key, unsigned line)
{
	return key ? hashmap_put_str(map, key, (void *)(uintptr_t)line) : 0;
}

static int parse_array(struct parser *p, const struct logical_line *l)
{
	struct bs_mdadm_array a = {
		.line = l->words[0].line,
		.num_devices = -1,
		.spares = -1,
		.super_minor = -1,
	};
	size_t before = p->problems->n_problems;
	const char *short_name;
	int r = 0;

	for (size_t i = 1; r >= 0 && i < l->n_words; i++)
		r = array_word(p, &a, &l->words[i]);
	if (r < 0)
		goto fail;

	/* A word that was wrong says more than the identity it failed to give. */
	if (bs_config_errors_since(p->problems, before) > 0)
		goto fail;
	if (!a.uuid && !a.devices && a.super_minor < 0 && !a.name && !(a.container && a.member)) {
		if (a.device)
			r = problem_at(p, a.line,
				       "ARRAY '%s' has no identity: give uuid=, name=, devices= or "
				       "super-minor=",
				       a.device);
		else
			r = problem_at(p, a.line,
				       "ARRAY line has no identity: give uuid=, name=, devices= or "
				       "super-minor=");
		goto fail;
	}
	if (!a.device && !a.uuid && !bs_mdadm_array_short_name(&a)) {
		r = problem_at(p, a.line,
			       "ARRAY line names the array by neither a device, name= nor uuid=");
		goto fail;
	}
	/* "<ignore>" tells mdadm to leave the array alone. */
	if (a.device && strcasecmp(a.device, "<ignore>") == 0)
		goto fail;

	short_name = bs_mdadm_array_short_name(&a);
	if ((r = is_duplicate(p, p->by_uuid, a.uuid, "array uuid", a.line)) != 0 ||
	    (r = is_duplicate(p, p->by_name, short_name, "array name", a.line)) != 0 ||
	    (r = is_duplicate(p, p->by_device, a.device, "md device", a.line)) != 0)
		goto fail;

	if (ARRAY_RESERVE(p->conf->arrays, p->allocated, p->conf->n_arrays) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	p->conf->arrays[p->conf->n_arrays++] = a;
	/* The keys are a's strings, owned by the list now; they stay put when it grows. */
	r = claim(p->by_uuid, a.uuid, a.line);
	if (r >= 0)
		r = claim(p->by_name, short_name, a.line);
	if (r >= 0)
		r = claim(p->by_device, a.device, a.line);
	return r;

fail:
	array_done(&a);
	return r < 0 ? r : 0;
}

static int parse_logical_line(struct parser *p, const struct logical_line *l)
{
	const struct word *kw = &l->words[0];
	int k = match_keyword(kw->text);

	if (k < 0) {
		_cleanup_free_ char *upper = strdup(kw->text);
		const char *s;

		if (!upper)
			return -ENOMEM;
		for (char *c = upper; *c; c++)
			if (*c >= 'a' && *c <= 'z')
				*c = (char)(*c - 'a' + 'A');
		/* mdadm says "Unknown keyword" and reads on: the line (with its continuation
		 * lines) is skipped, the others are used. */
		s = bs_config_suggest(upper, keywords);
		if (s)
			return warning_at(p, kw->line, "unknown keyword '%s' (did you mean '%s'?)",
					  kw->text, s);
		return warning_at(p, kw->line, "unknown keyword '%s'", kw->text);
	}

	switch (k) {
	case KW_ARRAY:
		return parse_array(p, l);
	case KW_HOMEHOST:
		/* The first word other than <ignore>, which only turns the check off. */
		for (size_t i = 1; i < l->n_words && !p->conf->homehost; i++) {
			if (strcasecmp(l->words[i].text, "<ignore>") == 0)
				continue;
			p->conf->homehost = strdup(l->words[i].text);
			if (!p->conf->homehost)
				return -ENOMEM;
		}
		return 0;
	default:
		/* DEVICE, MAILADDR, CREATE, ...: nothing that orders layers. */
		return 0;
	}
}

int bs_mdadm_conf_parse(const char *file, const char *text, size_t size, struct bs_mdadm_conf **ret,
			struct bs_problem_list *problems)
{
	_cleanup_(bs_mdadm_conf_freep) struct bs_mdadm_conf *c = NULL;
	struct parser p = { .file = file, .problems = problems };
	struct logical_line l = {};
	struct bs_config_lines it;
	const char *bad;
	char *line;
	int r;

	if (!ret || !problems || (!text && size > 0))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	p.conf = c;
	r = hashmap_new(HASHMAP_STRING, &p.by_uuid);
	if (r >= 0)
		r = hashmap_new(HASHMAP_STRING, &p.by_name);
	if (r >= 0)
		r = hashmap_new(HASHMAP_STRING, &p.by_device);
	if (r < 0)
		goto finish;

	bs_config_lines_init(&it, text, size);
	while ((r = bs_config_lines_next(&it, &line, &bad)) > 0) {
		if (bad) {
			r = problem_at(&p, it.line, "%s", bad);
			if (r < 0)
				break;
			continue;
		}
		if (bs_config_line_is_blank(line))
			continue;
		/* An indented line continues the logical line before it. With none before it,
		 * mdadm's conf_line() takes its first word for the keyword, as of any line. */
		if ((line[0] == ' ' || line[0] == '\t') && l.n_words > 0) {
			r = add_words(&l, line, it.line);
			if (r < 0)
				break;
			continue;
		}
		/* A new logical line: the previous one is complete. */
		if (l.n_words > 0) {
			r = parse_logical_line(&p, &l);
			logical_line_clear(&l);
			if (r < 0)
				break;
		}
		r = add_words(&l, line, it.line);
		if (r < 0)
			break;
	}
	if (r >= 0 && l.n_words > 0)
		r = parse_logical_line(&p, &l);
	bs_config_lines_done(&it);

finish:
	logical_line_clear(&l);
	free(l.words);
	hashmap_free(p.by_uuid);
	hashmap_free(p.by_name);
	hashmap_free(p.by_device);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}
