/* Checked parsing of numbers, sizes, booleans and device numbers from text. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sysmacros.h>

#include "macro.h"
#include "parse.h"
#include "util.h"

#define KERNEL_MAJOR_MAX ((1U << 12) - 1)
#define KERNEL_MINOR_MAX ((1U << 20) - 1)

/* Parses the leading decimal digits of s. strtoull() alone would accept leading whitespace,
 * a sign (wrapping "-1" to the maximum) and an empty string, so those are rejected first. */
static int parse_u64_prefix(const char *s, uint64_t *ret, const char **ret_end)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno != 0)
		return -EINVAL;

	*ret = v;
	*ret_end = end;
	return 0;
}

int safe_atou64(const char *s, uint64_t *ret)
{
	const char *end;
	uint64_t v;
	int r;

	assert(s);
	assert(ret);

	r = parse_u64_prefix(s, &v, &end);
	if (r < 0)
		return r;
	if (*end != '\0')
		return -EINVAL;

	*ret = v;
	return 0;
}

int safe_atou32(const char *s, uint32_t *ret)
{
	uint64_t v;
	int r;

	assert(ret);

	r = safe_atou64(s, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -ERANGE;

	*ret = (uint32_t)v;
	return 0;
}

int safe_atoi(const char *s, int *ret)
{
	bool negative;
	uint64_t v;
	int r;

	assert(s);
	assert(ret);

	negative = *s == '-';
	if (*s == '-' || *s == '+')
		s++;

	r = safe_atou64(s, &v);
	if (r < 0)
		return r;

	if (negative) {
		if (v > (uint64_t)INT_MAX + 1)
			return -ERANGE;
		*ret = v == (uint64_t)INT_MAX + 1 ? INT_MIN : -(int)v;
		return 0;
	}

	if (v > INT_MAX)
		return -ERANGE;
	*ret = (int)v;
	return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
	const char *end;
	unsigned shift;
	uint64_t v;
	int r;

	assert(s);
	assert(ret);

	r = parse_u64_prefix(s, &v, &end);
	if (r < 0)
		return r;

	switch (*end) {
	case '\0':
		*ret = v;
		return 0;
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	case 'T':
	case 't':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}

	if (end[1] != '\0')
		return -EINVAL;
	if (v > UINT64_MAX >> shift)
		return -ERANGE;

	*ret = v << shift;
	return 0;
}

int parse_boolean(const char *s)
{
	static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
	static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

	assert(s);

	for (size_t i = 0; i < ELEMENTSOF(yes); i++)
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
	for (size_t i = 0; i < ELEMENTSOF(no); i++)
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	return -EINVAL;
}

int parse_devno(const char *s, dev_t *ret)
{
	const char *end;
	uint64_t ma;
	uint32_t mi;
	int r;

	assert(s);
	assert(ret);

	r = parse_u64_prefix(s, &ma, &end);
	if (r < 0)
		return r;
	if (*end != ':')
		return -EINVAL;

	r = safe_atou32(end + 1, &mi);
	if (r < 0)
		return r;

	if (ma > KERNEL_MAJOR_MAX || mi > KERNEL_MINOR_MAX)
		return -ERANGE;

	*ret = makedev((unsigned)ma, mi);
	return 0;
}

int parse_timespan(const char *s, uint64_t *ret_usec)
{
	static const struct {
		const char *suffix;
		uint64_t usec;
	} units[] = {
		{ "us", 1 },
		{ "usec", 1 },
		{ "ms", 1000 },
		{ "msec", 1000 },
		{ "s", 1000000 },
		{ "sec", 1000000 },
		{ "m", 60000000 },
		{ "min", 60000000 },
		{ "h", 3600000000ULL },
		{ "hr", 3600000000ULL },
		{ "", 1000000 },
	};
	_cleanup_free_ char *digits = NULL;
	size_t n;
	uint64_t v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	n = strspn(s, "0123456789");
	digits = strndup(s, n);
	if (!digits)
		return -ENOMEM;
	if (safe_atou64(digits, &v) < 0)
		return -ERANGE;
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (streq(s + n, units[i].suffix)) {
			if (v > UINT64_MAX / units[i].usec)
				return -ERANGE;
			*ret_usec = v * units[i].usec;
			return 0;
		}
	return -EINVAL;
}
