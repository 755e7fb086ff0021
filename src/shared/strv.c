/* NULL-terminated string vectors ("strv"): char ** lists that own their strings. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "util.h"

char **strv_free(char **l)
{
	if (!l)
		return NULL;

	for (char **i = l; *i; i++)
		free(*i);
	free(l);
	return NULL;
}

size_t strv_length(char *const *l)
{
	size_t n = 0;

	if (!l)
		return 0;

	while (l[n])
		n++;
	return n;
}

int strv_push(char ***l, char *value)
{
	size_t n;
	char **c;

	assert(l);
	assert(value);

	n = strv_length(*l);
	/* Room for the new entry and the terminating NULL. */
	if (n > SIZE_MAX / sizeof(char *) - 2)
		return -ENOMEM;

	c = realloc(*l, (n + 2) * sizeof(char *));
	if (!c)
		return -ENOMEM;

	c[n] = value;
	c[n + 1] = NULL;
	*l = c;
	return 0;
}

int strv_extend(char ***l, const char *value)
{
	_cleanup_free_ char *v = NULL;
	int r;

	assert(l);
	assert(value);

	v = strdup(value);
	if (!v)
		return -ENOMEM;

	r = strv_push(l, v);
	if (r < 0)
		return r;

	TAKE_PTR(v);
	return 0;
}

bool strv_contains(char *const *l, const char *s)
{
	assert(s);

	if (!l)
		return false;

	for (char *const *i = l; *i; i++)
		if (streq(*i, s))
			return true;
	return false;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(char **l)
{
	size_t n = strv_length(l);

	if (n > 1)
		qsort(l, n, sizeof(char *), compare_strings);
}

int strv_join(char *const *l, const char *separator, char **ret)
{
	size_t sep_len, len = 0;
	char *s, *p;

	assert(ret);

	if (!separator)
		separator = " ";
	sep_len = strlen(separator);

	for (char *const *i = l; i && *i; i++) {
		size_t add = strlen(*i) + (i == l ? 0 : sep_len);

		if (add > SIZE_MAX - 1 - len)
			return -ENOMEM;
		len += add;
	}

	s = malloc(len + 1);
	if (!s)
		return -ENOMEM;

	p = s;
	for (char *const *i = l; i && *i; i++) {
		if (i != l)
			p = stpcpy(p, separator);
		p = stpcpy(p, *i);
	}
	*p = '\0';

	*ret = s;
	return 0;
}

int strv_split(const char *s, const char *separators, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	int r;

	assert(s);
	assert(ret);

	if (!separators)
		separators = WHITESPACE;

	/* An empty input still yields a vector, so callers can tell it from an error. */
	l = calloc(1, sizeof(char *));
	if (!l)
		return -ENOMEM;

	for (;;) {
		_cleanup_free_ char *field = NULL;
		size_t n;

		s += strspn(s, separators);
		if (*s == '\0')
			break;

		n = strcspn(s, separators);
		field = strndup(s, n);
		if (!field)
			return -ENOMEM;

		r = strv_push(&l, field);
		if (r < 0)
			return r;
		TAKE_PTR(field);

		s += n;
	}

	*ret = TAKE_PTR(l);
	return 0;
}
