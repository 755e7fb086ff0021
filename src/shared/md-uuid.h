/* md array uuids in the one form the kernel writes. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The 32 hex digits of an md uuid in any of the forms mdadm and blkid write ("8:8:8:8",
 * "8-4-4-4-12", with '.', ' ' or no separators) as the kernel's 8-4-4-4-12 lowercase form,
 * in buf (at least 37 bytes). Returns buf, or NULL if s is no md uuid. */
char *bs_md_uuid_normalize(const char *s, char buf[static 37]);
