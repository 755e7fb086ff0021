/* libFuzzer target: the kernel uevent message parser of uevent.c (netlink input). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "fuzz.h"
#include "uevent.h"
#include "util.h"

/* Whether s is a NUL-terminated string that lies wholly inside buf. */
static int inside(const char *buf, size_t size, const char *s)
{
	return s >= buf && s < buf + size && memchr(s, '\0', (size_t)(buf + size - s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_uevent u;
	char *buf;

	/* A message is at most BS_UEVENT_MAX bytes: the receiver reads no more. */
	if (size > BS_UEVENT_MAX)
		return 0;
	/* Exactly size bytes, with no NUL after them: a read past the end is an ASan report. */
	buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	if (size > 0)
		memcpy(buf, data, size);

	if (bs_uevent_parse(buf, size, &u) == 0) {
		if (!inside(buf, size, u.action) || !inside(buf, size, u.devpath) ||
		    !inside(buf, size, u.subsystem) || !inside(buf, size, u.kernel_name) ||
		    (u.devname && !inside(buf, size, u.devname)) ||
		    (u.devtype && !inside(buf, size, u.devtype)))
			abort();
		if (!*u.action || !*u.subsystem || u.devpath[0] != '/' || !*u.kernel_name ||
		    strchr(u.kernel_name, '/'))
			abort();
	}
	free(buf);
	return 0;
}
