/* Problems of the configuration: the typed list that sources append to and front ends read. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "problems.h"
#include "util.h"

static const char *const kind_names[_BS_PROBLEM_KIND_MAX] = {
	[BS_PROBLEM_INVALID] = "invalid",	[BS_PROBLEM_UNKNOWN] = "unknown",
	[BS_PROBLEM_UNREADABLE] = "unreadable", [BS_PROBLEM_DUPLICATE] = "duplicate",
	[BS_PROBLEM_UNRESOLVED] = "unresolved", [BS_PROBLEM_CYCLE] = "cycle",
};

static const char *const severity_names[_BS_PROBLEM_SEVERITY_MAX] = {
	[BS_PROBLEM_WARNING] = "warning",
	[BS_PROBLEM_ERROR] = "error",
};

_public_ const char *bs_problem_kind_to_string(enum bs_problem_kind k)
{
	return k >= 0 && k < _BS_PROBLEM_KIND_MAX ? kind_names[k] : NULL;
}

_public_ const char *bs_problem_severity_to_string(enum bs_problem_severity s)
{
	return s >= 0 && s < _BS_PROBLEM_SEVERITY_MAX ? severity_names[s] : NULL;
}

#define IGNORING ", ignoring"

static bool says_ignoring(const char *message)
{
	/* "..., ignoring" or "..., ignoring it" / "..., ignoring the line": said once only. */
	return strstr(message, IGNORING) != NULL;
}

int bs_problem_addv(struct bs_problem_list *l, enum bs_problem_kind kind,
		    enum bs_problem_severity severity, const char *file, unsigned line,
		    const char *reference, const char *format, va_list ap)
{
	_cleanup_free_ char *message = NULL, *text = NULL, *f = NULL, *ref = NULL;
	const char *suffix;
	int k;

	if (!l)
		return 0;
	k = vasprintf(&message, format, ap);
	if (k < 0) {
		message = NULL;
		return -ENOMEM;
	}
	suffix = severity == BS_PROBLEM_WARNING && !says_ignoring(message) ? IGNORING : "";
	if (file && line > 0)
		k = asprintf(&text, "%s:%u: %s%s", file, line, message, suffix);
	else if (file)
		k = asprintf(&text, "%s: %s%s", file, message, suffix);
	else
		k = asprintf(&text, "%s%s", message, suffix);
	if (k < 0) {
		text = NULL;
		return -ENOMEM;
	}
	if (file && !(f = strdup(file)))
		return -ENOMEM;
	if (reference && !(ref = strdup(reference)))
		return -ENOMEM;

	if (ARRAY_RESERVE(l->problems, l->allocated, l->n_problems) < 0)
		return -ENOMEM;
	l->problems[l->n_problems++] = (struct bs_problem){
		.kind = kind,
		.severity = severity,
		.file = TAKE_PTR(f),
		.line = line,
		.reference = TAKE_PTR(ref),
		.message = TAKE_PTR(message),
		.text = TAKE_PTR(text),
	};
	return 0;
}

int bs_problem_add_full(struct bs_problem_list *l, enum bs_problem_kind kind,
			enum bs_problem_severity severity, const char *file, unsigned line,
			const char *reference, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = bs_problem_addv(l, kind, severity, file, line, reference, format, ap);
	va_end(ap);
	return r;
}

int bs_problem_add(struct bs_problem_list *l, const char *file, unsigned line, const char *format,
		   ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = bs_problem_addv(l, BS_PROBLEM_INVALID, BS_PROBLEM_ERROR, file, line, NULL, format, ap);
	va_end(ap);
	return r;
}

int bs_problem_warn(struct bs_problem_list *l, const char *file, unsigned line, const char *format,
		    ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = bs_problem_addv(l, BS_PROBLEM_UNKNOWN, BS_PROBLEM_WARNING, file, line, NULL, format,
			    ap);
	va_end(ap);
	return r;
}

void bs_problem_list_clear(struct bs_problem_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_problems; i++) {
		free(l->problems[i].file);
		free(l->problems[i].reference);
		free(l->problems[i].message);
		free(l->problems[i].text);
	}
	l->n_problems = 0;
}

void bs_problem_list_done(struct bs_problem_list *l)
{
	if (!l)
		return;
	bs_problem_list_clear(l);
	l->problems = mfree(l->problems);
	l->allocated = 0;
}

bool bs_problem_refuses(const struct bs_problem *p, unsigned load_flags)
{
	if (!(load_flags & BS_LOAD_REFUSE_ERRORS))
		return false;
	if (p->severity == BS_PROBLEM_WARNING)
		return load_flags & BS_LOAD_STRICT;
	if (p->kind == BS_PROBLEM_UNRESOLVED)
		return !(load_flags & BS_LOAD_WAIT_UNRESOLVED);
	return true;
}

_public_ int bs_problem_list_new(struct bs_problem_list **ret)
{
	struct bs_problem_list *l;

	if (!ret)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	*ret = l;
	return 0;
}

_public_ struct bs_problem_list *bs_problem_list_free(struct bs_problem_list *l)
{
	bs_problem_list_done(l);
	free(l);
	return NULL;
}

_public_ size_t bs_problem_list_get_n(const struct bs_problem_list *l)
{
	return l ? l->n_problems : 0;
}

_public_ const struct bs_problem *bs_problem_list_get(const struct bs_problem_list *l, size_t i)
{
	return l && i < l->n_problems ? &l->problems[i] : NULL;
}

_public_ size_t bs_problem_list_count(const struct bs_problem_list *l, enum bs_problem_severity s)
{
	size_t n = 0;

	for (size_t i = 0; l && i < l->n_problems; i++)
		n += l->problems[i].severity == s;
	return n;
}

_public_ enum bs_problem_kind bs_problem_get_kind(const struct bs_problem *p)
{
	return p ? p->kind : _BS_PROBLEM_KIND_INVALID;
}

_public_ enum bs_problem_severity bs_problem_get_severity(const struct bs_problem *p)
{
	return p ? p->severity : _BS_PROBLEM_SEVERITY_INVALID;
}

_public_ const char *bs_problem_get_file(const struct bs_problem *p)
{
	return p ? p->file : NULL;
}

_public_ unsigned bs_problem_get_line(const struct bs_problem *p)
{
	return p ? p->line : 0;
}

_public_ const char *bs_problem_get_reference(const struct bs_problem *p)
{
	return p ? p->reference : NULL;
}

_public_ const char *bs_problem_get_message(const struct bs_problem *p)
{
	return p ? p->message : NULL;
}

_public_ const char *bs_problem_get_text(const struct bs_problem *p)
{
	return p ? p->text : NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)

static json_object *string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

_public_ int bs_problem_list_to_json(const struct bs_problem_list *l, char **ret)
{
	_cleanup_(json_object_putp) json_object *root = NULL;
	json_object *list;

	if (!ret)
		return -EINVAL;
	root = json_object_new_object();
	list = json_object_new_array();
	if (!root || !list || json_object_object_add(root, "problems", list) < 0) {
		json_object_put(list);
		return -ENOMEM;
	}
	for (size_t i = 0; l && i < l->n_problems; i++) {
		const struct bs_problem *p = &l->problems[i];
		json_object *o = json_object_new_object();

		if (!o)
			return -ENOMEM;
		if (json_object_array_add(list, o) < 0) {
			json_object_put(o);
			return -ENOMEM;
		}
		if (json_object_object_add(o, "file", string_or_null(p->file)) < 0 ||
		    json_object_object_add(o, "line",
					   p->line ? json_object_new_int64(p->line) : NULL) < 0 ||
		    json_object_object_add(o, "kind", string_or_null(kind_names[p->kind])) < 0 ||
		    json_object_object_add(o, "severity",
					   string_or_null(severity_names[p->severity])) < 0 ||
		    json_object_object_add(o, "reference", string_or_null(p->reference)) < 0 ||
		    json_object_object_add(o, "message", json_object_new_string(p->message)) < 0)
			return -ENOMEM;
	}
	return bs_json_format(root, ret);
}
