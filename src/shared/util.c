/* Small string helpers shared by libblkstack and the blkstack command. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

char *startswith(const char *s, const char *prefix)
{
	size_t l;

	assert(s);
	assert(prefix);

	l = strlen(prefix);
	if (strncmp(s, prefix, l) != 0)
		return NULL;

	return (char *)s + l;
}

char *strstrip(char *s)
{
	size_t l;

	assert(s);

	s += strspn(s, WHITESPACE);

	l = strlen(s);
	while (l > 0 && strchr(WHITESPACE, s[l - 1]))
		l--;
	s[l] = '\0';

	return s;
}

int free_and_strdup(char **p, const char *s)
{
	char *t = NULL;

	assert(p);

	if (*p && s && streq(*p, s))
		return 0;
	if (!*p && !s)
		return 0;

	if (s) {
		t = strdup(s);
		if (!t)
			return -ENOMEM;
	}

	free(*p);
	*p = t;
	return 1;
}

int strextend(char **x, ...)
{
	va_list ap;
	size_t old_len, len;
	const char *s;
	char *n, *p;

	assert(x);

	old_len = *x ? strlen(*x) : 0;

	/* Two passes over the arguments: measure first, so there is one allocation and an
	 * overflow check before anything is copied. */
	len = old_len;
	va_start(ap, x);
	while ((s = va_arg(ap, const char *))) {
		size_t l = strlen(s);

		if (l > SIZE_MAX - 1 - len) {
			va_end(ap);
			return -ENOMEM;
		}
		len += l;
	}
	va_end(ap);

	n = realloc(*x, len + 1);
	if (!n)
		return -ENOMEM;
	if (!*x)
		n[0] = '\0';

	p = n + old_len;
	va_start(ap, x);
	while ((s = va_arg(ap, const char *)))
		p = stpcpy(p, s);
	va_end(ap);

	*x = n;
	return 0;
}

bool option_list_has(const char *opts, const char *name)
{
	size_t l = strlen(name);

	if (!opts || l == 0)
		return false;
	for (const char *p = opts; *p;) {
		const char *end = strchrnul(p, ',');

		if ((size_t)(end - p) >= l && strncmp(p, name, l) == 0 &&
		    (p + l == end || p[l] == '='))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int unhex_escape(const char *s)
{
	int hi, lo;

	if (s[0] != '\\' || s[1] != 'x')
		return -1;
	hi = hex_digit(s[2]);
	if (hi < 0)
		return -1;
	lo = hex_digit(s[3]);
	if (lo < 0)
		return -1;
	return hi * 16 + lo;
}

int array_reserve(void **array, size_t *allocated, size_t n, size_t size)
{
	size_t want;
	void *p;

	if (n < *allocated)
		return 0;
	want = MAX(*allocated * 2, (size_t)8);
	if (want <= n)
		want = n + 1;
	/* Checked here rather than left to reallocarray(), whose sanitizer builds abort. */
	if (want < *allocated || size == 0 || want > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*array, want * size);
	if (!p)
		return -ENOMEM;
	*array = p;
	*allocated = want;
	return 0;
}

uint64_t now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000u;
}
