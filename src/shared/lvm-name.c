/* LVM's device-mapper names, made and taken apart in one place. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lvm-name.h"
#include "macro.h"
#include "util.h"

bool lvm_name_is_valid(const char *s)
{
	return s && *s && s[0] != '-' && !streq(s, ".") && !streq(s, "..") &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_.-") ==
		       strlen(s);
}

static char *dash_escape(char *out, const char *s)
{
	for (; *s; s++) {
		*out++ = *s;
		if (*s == '-')
			*out++ = '-';
	}
	return out;
}

int lvm_dm_name_join(const char *vg, const char *lv, char **ret)
{
	size_t n;
	char *name, *p;

	if (!vg || !lv || !ret)
		return -EINVAL;
	n = strlen(vg) + strlen(lv);
	/* Each character at most doubled, the separator and the NUL. */
	if (n > (SIZE_MAX - 2) / 2)
		return -ENOMEM;
	name = malloc(2 * n + 2);
	if (!name)
		return -ENOMEM;
	p = dash_escape(name, vg);
	*p++ = '-';
	p = dash_escape(p, lv);
	*p = '\0';
	*ret = name;
	return 0;
}

/* Undoes the doubling, in place: "my--vg" -> "my-vg". */
static void dash_unescape(char *s)
{
	char *w = s;

	for (const char *p = s; *p; p++) {
		*w++ = *p;
		if (p[0] == '-' && p[1] == '-')
			p++;
	}
	*w = '\0';
}

int lvm_dm_name_split(const char *dm_name, char **ret_vg, char **ret_lv)
{
	_cleanup_free_ char *vg = NULL, *lv = NULL;
	const char *sep = NULL;

	if (!dm_name || !ret_vg || !ret_lv)
		return -EINVAL;
	for (const char *p = dm_name; *p && !sep; p++) {
		if (p[0] != '-')
			continue;
		if (p[1] == '-')
			p++;
		else
			sep = p;
	}
	if (!sep || sep == dm_name || sep[1] == '\0')
		return -EINVAL;

	vg = strndup(dm_name, (size_t)(sep - dm_name));
	lv = strdup(sep + 1);
	if (!vg || !lv)
		return -ENOMEM;
	dash_unescape(vg);
	dash_unescape(lv);
	*ret_vg = TAKE_PTR(vg);
	*ret_lv = TAKE_PTR(lv);
	return 0;
}
