/* The last resort for a dm-crypt mapping that cannot be closed: suspend it and wipe its key. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdalign.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libblkstack-private.h"
#include "real.h"
#include "util.h"

/*
 * This talks to the device-mapper control node itself rather than through libcryptsetup:
 * crypt_suspend() needs the LUKS header to be readable (it is not, for a plain mapping, and
 * may not be at shutdown), and both things it does for the kernel are one ioctl each. The
 * key that libcryptsetup may have put in a kernel keyring for LUKS2 lived in the thread
 * keyring of the helper process that opened the mapping, which is gone; what is left is the
 * copy dm-crypt holds, and "key wipe" zeroes it.
 */

struct dm_request {
	struct dm_ioctl io;
	/* dm_target_msg (a sector, then the message) for DM_TARGET_MSG. */
	alignas(8) char data[64];
};

static void dm_request_init(struct dm_request *q, const char *name)
{
	memset(q, 0, sizeof(*q));
	q->io.version[0] = DM_VERSION_MAJOR;
	q->io.version[1] = 0;
	q->io.version[2] = 0;
	q->io.data_size = sizeof(*q);
	q->io.data_start = offsetof(struct dm_request, data);
	strncpy(q->io.name, name, sizeof(q->io.name) - 1);
}

/* Whether the mapping's first target is crypt: 1, 0, or a negative errno (-ENODEV: none). */
static int is_crypt(int fd, const char *name)
{
	struct {
		struct dm_ioctl io;
		alignas(8) char data[4096];
	} q;
	const struct dm_target_spec *t;

	memset(&q, 0, sizeof(q));
	q.io.version[0] = DM_VERSION_MAJOR;
	q.io.data_size = sizeof(q);
	q.io.data_start = offsetof(__typeof__(q), data);
	strncpy(q.io.name, name, sizeof(q.io.name) - 1);
	/* The table's types and status, never its keys: no DM_STATUS_TABLE_FLAG. */
	if (ioctl(fd, DM_TABLE_STATUS, &q) < 0)
		return errno == ENXIO ? -ENODEV : -errno;
	if (q.io.target_count == 0)
		return 0;
	t = (const struct dm_target_spec *)((const char *)&q + q.io.data_start);
	return strncmp(t->target_type, "crypt", sizeof(t->target_type)) == 0;
}

int bs_real_crypt_wipe(void *userdata, const char *name)
{
	struct bs_ctx *c = ((struct bs_real_ops_data *)userdata)->ctx;
	struct dm_request q;
	struct dm_target_msg *m;
	int fd, r;

	if (!name || !*name || strlen(name) >= DM_NAME_LEN)
		return -EINVAL;
	fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = is_crypt(fd, name);
	if (r == 0)
		r = -EINVAL;
	if (r < 0)
		goto out;

	/* Suspended with its filesystem frozen (no DM_SKIP_LOCKFS_FLAG), so that what was
	 * written reaches the device before the key goes. */
	dm_request_init(&q, name);
	q.io.flags = DM_SUSPEND_FLAG;
	if (ioctl(fd, DM_DEV_SUSPEND, &q) < 0) {
		r = errno == ENXIO ? -ENODEV : -errno;
		bs_log_debug(c, "'%s': cannot suspend: %s", name, strerror(-r));
		goto out;
	}
	dm_request_init(&q, name);
	m = (struct dm_target_msg *)q.data;
	m->sector = 0;
	memcpy(m->message, "key wipe", sizeof("key wipe"));
	if (ioctl(fd, DM_TARGET_MSG, &q) < 0) {
		r = -errno;
		bs_log_debug(c, "'%s': suspended, but the key wipe failed: %s", name, strerror(-r));
		goto out;
	}
	r = 0;
out:
	close(fd);
	return r;
}
