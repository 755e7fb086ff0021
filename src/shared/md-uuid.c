/* md array uuids: mdadm's and blkid's spellings made the kernel's. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "md-uuid.h"

char *bs_md_uuid_normalize(const char *s, char buf[static 37])
{
	char hex[33];
	size_t n = 0;

	if (!s)
		return NULL;
	for (const char *p = s; *p; p++) {
		char c = *p;

		if (strchr(":.- ", c))
			continue;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || n >= 32)
			return NULL;
		hex[n++] = c;
	}
	if (n != 32)
		return NULL;
	hex[32] = '\0';
	snprintf(buf, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return buf;
}
