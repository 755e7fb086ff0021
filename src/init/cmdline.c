/* The kernel command line's parameters that /init honours: split as the kernel splits them. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "macro.h"
#include "parse.h"
#include "strv.h"
#include "util.h"

static const char *const phase_names[_INIT_PHASE_MAX] = {
	[INIT_PHASE_MODULES] = "modules",
	[INIT_PHASE_RESUME] = "resume",
	[INIT_PHASE_ROOT] = "root",
	[INIT_PHASE_SWITCH] = "switch",
};

const char *init_phase_to_string(enum init_phase p)
{
	return p >= 0 && p < _INIT_PHASE_MAX ? phase_names[p] : NULL;
}

enum init_phase init_phase_from_string(const char *s)
{
	for (int i = 0; s && i < _INIT_PHASE_MAX; i++)
		if (streq(phase_names[i], s))
			return i;
	return _INIT_PHASE_INVALID;
}

void init_cmdline_done(struct init_cmdline *c)
{
	if (!c)
		return;
	free(c->root);
	free(c->rootflags);
	free(c->rootfstype);
	free(c->init);
	free(c->resume);
	init_ip_done(&c->ip);
	*c = (struct init_cmdline){ .read_only = -1 };
}

/*
 * The next parameter of *p, split in place as the kernel's next_arg() does: blanks outside
 * double quotes end it; a quote that opens the parameter or its value is dropped, with the
 * quote that ends it. Inner quotes stay. Returns the parameter's name (NULL at the end) and
 * its value in *ret_value (NULL for a parameter without '=').
 */
static char *next_param(char **p, char **ret_value)
{
	char *s = *p, *value = NULL, *end;
	bool in_quote = false, quoted = false;
	size_t i;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (!*s) {
		*p = s;
		return NULL;
	}
	if (*s == '"') {
		s++;
		in_quote = quoted = true;
	}
	for (i = 0; s[i]; i++) {
		if (!in_quote && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
			break;
		if (s[i] == '=' && !value)
			value = s + i;
		if (s[i] == '"')
			in_quote = !in_quote;
	}
	end = s + i;
	*p = *end ? end + 1 : end;
	*end = '\0';
	if (quoted && i > 0 && s[i - 1] == '"')
		s[i - 1] = '\0';
	if (value) {
		*value++ = '\0';
		if (*value == '"') {
			value++;
			if (value <= s + i - 1 && s[i - 1] == '"')
				s[i - 1] = '\0';
		}
	}
	*ret_value = value;
	return s;
}

_printf_(2, 3) static int problem(char ***problems, const char *format, ...)
{
	_cleanup_free_ char *m = NULL;
	va_list ap;
	int k;

	va_start(ap, format);
	k = vasprintf(&m, format, ap);
	va_end(ap);
	if (k < 0)
		return -ENOMEM;
	if (problems && strv_push(problems, m) < 0)
		return -ENOMEM;
	TAKE_PTR(m);
	return 1;
}

/* name=VALUE with a non-empty value, into *field (the last wins). */
static int take_string(char **field, const char *name, const char *value, char ***problems)
{
	if (!value || !*value)
		return problem(problems, "%s= needs a value, ignoring", name);
	return free_and_strdup(field, value) < 0 ? -ENOMEM : 0;
}

static int take_breaks(struct init_cmdline *c, const char *value, char ***problems)
{
	_cleanup_strv_free_ char **list = NULL;
	unsigned mask = 0;
	int r;

	/* A bare blkstack.break stops before the switch, the last moment to look around. */
	if (!value)
		value = "switch";
	r = strv_split(value, ",", &list);
	if (r < 0)
		return r;
	for (char **w = list; w && *w; w++) {
		enum init_phase ph = init_phase_from_string(*w);

		if (ph < 0)
			return problem(
				problems,
				"blkstack.break=%s: unknown phase '%s' (known: modules, resume, "
				"root, switch), ignoring",
				value, *w);
		mask |= 1u << ph;
	}
	if (!mask)
		return problem(problems, "blkstack.break= names no phase, ignoring");
	c->breaks = mask;
	return 0;
}

static int take_param(struct init_cmdline *c, const char *name, const char *value, char ***problems)
{
	int r;

	if (streq(name, "root"))
		return take_string(&c->root, name, value, problems);
	if (streq(name, "rootflags"))
		return take_string(&c->rootflags, name, value, problems);
	if (streq(name, "rootfstype"))
		return take_string(&c->rootfstype, name, value, problems);
	if (streq(name, "resume"))
		return take_string(&c->resume, name, value, problems);
	if (streq(name, "ro") || streq(name, "rw")) {
		if (value)
			return problem(problems, "%s takes no value, ignoring '%s=%s'", name, name,
				       value);
		c->read_only = streq(name, "ro");
		return 0;
	}
	if (streq(name, "noresume")) {
		if (value)
			return problem(problems, "noresume takes no value, ignoring");
		c->noresume = true;
		return 0;
	}
	if (streq(name, "init")) {
		if (!value || value[0] != '/')
			return problem(problems, "init=%s is not an absolute path, ignoring",
				       strempty(value));
		return free_and_strdup(&c->init, value) < 0 ? -ENOMEM : 0;
	}
	if (streq(name, "panic")) {
		int v;

		if (!value || safe_atoi(value, &v) < 0)
			return problem(problems, "panic=%s is not a number of seconds, ignoring",
				       strempty(value));
		c->panic = v;
		c->have_panic = true;
		return 0;
	}
	if (streq(name, "resume_offset")) {
		uint64_t v;

		if (!value || safe_atou64(value, &v) < 0)
			return problem(problems, "resume_offset=%s is not a number, ignoring",
				       strempty(value));
		c->resume_offset = v;
		c->have_resume_offset = true;
		return 0;
	}
	if (streq(name, "blkstack.debug")) {
		r = value ? parse_boolean(value) : 1;
		if (r < 0)
			return problem(problems, "blkstack.debug=%s is not a boolean, ignoring",
				       value);
		c->debug = r;
		return 0;
	}
	if (streq(name, "blkstack.break"))
		return take_breaks(c, value, problems);
	if (streq(name, "ip")) {
		_cleanup_free_ char *why = NULL;

		r = init_ip_parse(value, &c->ip, &why);
		if (r == -EINVAL)
			return problem(problems, "%s, ignoring", why);
		if (r < 0)
			return r;
		c->have_ip = true;
		return 0;
	}
	return 0;
}

int init_cmdline_parse(const char *text, struct init_cmdline *ret, char ***ret_problems)
{
	struct init_cmdline c = { .read_only = -1 };
	_cleanup_free_ char *copy = NULL;
	char *p, *name, *value;
	int r, n = 0;

	if (!text || !ret)
		return -EINVAL;
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	p = copy;
	while ((name = next_param(&p, &value))) {
		/* What follows "--" is init's, not the kernel's. */
		if (streq(name, "--") && !value)
			break;
		r = take_param(&c, name, value, ret_problems);
		if (r < 0) {
			init_cmdline_done(&c);
			*ret = c;
			return r;
		}
		n += r;
	}
	*ret = c;
	return n;
}

static json_object *string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

int init_cmdline_to_json(const struct init_cmdline *c, char **ret)
{
	json_object *o = json_object_new_object(), *breaks = json_object_new_array();

	if (!o || !breaks)
		goto oom;
	for (int i = 0; i < _INIT_PHASE_MAX; i++)
		if ((c->breaks & (1u << i)) &&
		    json_object_array_add(breaks, json_object_new_string(phase_names[i])) < 0)
			goto oom;
	if (json_object_object_add(o, "root", string_or_null(c->root)) < 0 ||
	    json_object_object_add(o, "rootflags", string_or_null(c->rootflags)) < 0 ||
	    json_object_object_add(o, "rootfstype", string_or_null(c->rootfstype)) < 0 ||
	    json_object_object_add(o, "read_only",
				   c->read_only < 0 ? NULL :
						      json_object_new_boolean(c->read_only)) < 0 ||
	    json_object_object_add(o, "init", string_or_null(c->init)) < 0 ||
	    json_object_object_add(o, "resume", string_or_null(c->resume)) < 0 ||
	    json_object_object_add(
		    o, "resume_offset",
		    c->have_resume_offset ? json_object_new_uint64(c->resume_offset) : NULL) < 0 ||
	    json_object_object_add(o, "noresume", json_object_new_boolean(c->noresume)) < 0 ||
	    json_object_object_add(o, "panic",
				   c->have_panic ? json_object_new_int(c->panic) : NULL) < 0 ||
	    json_object_object_add(o, "debug", json_object_new_boolean(c->debug)) < 0)
		goto oom;
	if (json_object_object_add(o, "break", breaks) < 0)
		goto oom;
	breaks = NULL;
	if (c->have_ip) {
		json_object *j = init_ip_to_json_object(&c->ip);

		if (!j || json_object_object_add(o, "ip", j) < 0) {
			json_object_put(j);
			goto oom;
		}
	} else if (json_object_object_add(o, "ip", NULL) < 0)
		goto oom;
	return init_json_to_string(o, ret);
oom:
	json_object_put(breaks);
	json_object_put(o);
	return -ENOMEM;
}
