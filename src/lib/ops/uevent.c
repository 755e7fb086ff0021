/* Waiting for block devices through the kernel's uevents (netlink), with or without udev. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "libblkstack-private.h"
#include "real.h"
#include "parse.h"
#include "strv.h"
#include "sysroot.h"
#include "uevent.h"
#include "util.h"

#define CLASS_BLOCK "sys/class/block/"

/* The multicast group the kernel sends on; udev re-sends what it processed on group 2, so
 * group 1 works the same with udev and without. */
#define UEVENT_GROUP_KERNEL 1u

/* A burst at boot (every partition of every disk, then every layer) must fit in the socket
 * until it is read; an overflow is survived (ENOBUFS: everything is checked again) but costs
 * a rescan. */
#define UEVENT_RCVBUF (8 * 1024 * 1024)

static struct bs_ctx *real_ctx(void *userdata)
{
	return ((struct bs_real_ops_data *)userdata)->ctx;
}

/* ---- parsing ----------------------------------------------------------------------------- */

static bool key_is(const char *field, size_t len, const char *key)
{
	return len == strlen(key) && memcmp(field, key, len) == 0;
}

int bs_uevent_parse(const char *buf, size_t size, struct bs_uevent *ret)
{
	struct bs_uevent u = {};
	const char *end, *at, *slash;
	size_t header_len;

	if (!buf || !ret)
		return -EINVAL;
	/* Every field ends with a NUL, the last one too; a message without it was cut. From
	 * here on, strlen() from any position inside the buffer stops inside it. */
	if (size == 0 || buf[size - 1] != '\0')
		return -EBADMSG;
	end = buf + size;

	/* "ACTION@DEVPATH". udev's messages start with "libudev", which has no '@'. */
	header_len = strlen(buf);
	at = memchr(buf, '@', header_len);
	if (!at || at == buf || at[1] != '/')
		return -EBADMSG;

	for (const char *p = buf + header_len + 1; p < end; p += strlen(p) + 1) {
		const char *eq = strchr(p, '=');
		const char **slot = NULL;
		size_t len;

		if (!eq)
			continue;
		len = (size_t)(eq - p);
		if (key_is(p, len, "ACTION"))
			slot = &u.action;
		else if (key_is(p, len, "DEVPATH"))
			slot = &u.devpath;
		else if (key_is(p, len, "SUBSYSTEM"))
			slot = &u.subsystem;
		else if (key_is(p, len, "DEVNAME"))
			slot = &u.devname;
		else if (key_is(p, len, "DEVTYPE"))
			slot = &u.devtype;
		/* The kernel sends each key once; a repeated one does not override. */
		if (slot && !*slot)
			*slot = eq + 1;
	}

	if (!u.action || !u.devpath || !u.subsystem || !*u.action || !*u.subsystem)
		return -EBADMSG;
	if ((size_t)(at - buf) != strlen(u.action) ||
	    memcmp(buf, u.action, (size_t)(at - buf)) != 0 || !streq(at + 1, u.devpath))
		return -EBADMSG;
	slash = strrchr(u.devpath, '/');
	if (!slash[1])
		return -EBADMSG;
	u.kernel_name = slash + 1;
	if (u.devname && !*u.devname)
		u.devname = NULL;
	if (u.devtype && !*u.devtype)
		u.devtype = NULL;

	*ret = u;
	return 0;
}

/* ---- matching ---------------------------------------------------------------------------- */

enum match_key {
	MATCH_SERIAL,
	MATCH_PARTUUID,
	MATCH_UUID_SUB,
	MATCH_UUID,
	MATCH_NAME,
	_MATCH_KEY_INVALID = -EINVAL,
};

/* The field of m that decides, and its value. */
static enum match_key match_key(const struct bs_device_match *m, const char **ret_value)
{
	const char *const values[] = { m->serial, m->partuuid, m->uuid_sub, m->uuid, m->name };

	for (size_t i = 0; i < ELEMENTSOF(values); i++)
		if (values[i] && *values[i]) {
			*ret_value = values[i];
			return (enum match_key)i;
		}
	return _MATCH_KEY_INVALID;
}

static bool is_kernel_name(const char *name)
{
	return *name && !strchr(name, '/') && !streq(name, ".") && !streq(name, "..") &&
	       strlen(name) <= NAME_MAX;
}

static int class_path(const char *name, const char *attr, char **ret)
{
	*ret = NULL;
	return strextend(ret, CLASS_BLOCK, name, attr ? "/" : "", strempty(attr), NULL);
}

static int class_exists(struct bs_ctx *c, const char *name, const char *attr)
{
	_cleanup_free_ char *path = NULL;
	int fd;

	if (class_path(name, attr, &path) < 0)
		return -ENOMEM;
	fd = bs_sysroot_open(c, path, O_PATH);
	if (fd == -ENOMEM)
		return fd;
	if (fd < 0)
		return 0;
	(void)close(fd);
	return 1;
}

/* A one-line attribute of sys/class/block/NAME; -ENOENT and the like if it cannot be read. */
static int class_attr(struct bs_ctx *c, const char *name, const char *attr, char **ret)
{
	_cleanup_free_ char *path = NULL;

	if (class_path(name, attr, &path) < 0)
		return -ENOMEM;
	return bs_sysroot_read_attr(c, path, ret);
}

struct class_device {
	struct bs_ctx *ctx;
	const char *name;
};

static int read_class_attr(void *userdata, const char *attr, char **ret)
{
	const struct class_device *d = userdata;

	return class_attr(d->ctx, d->name, attr, ret);
}

/* The rule of the sysfs source (bs_sysfs_serial()); partitions have no serial of their own. */
static int match_serial(struct bs_ctx *c, const char *name, const char *serial)
{
	struct class_device d = { .ctx = c, .name = name };
	_cleanup_free_ char *found = NULL;
	int r;

	r = class_exists(c, name, "partition");
	if (r != 0)
		return r < 0 ? r : 0;
	r = bs_sysfs_serial(read_class_attr, &d, &found);
	if (r <= 0)
		return r;
	return streq(found, serial);
}

/* Whether probing the device could say anything, and is safe: not empty (an idle loop
 * device, an md array not started, a dm device without a table), not a suspended dm
 * device, whose reads block until it is resumed. */
static int worth_probing(struct bs_ctx *c, const char *name)
{
	_cleanup_free_ char *size = NULL, *suspended = NULL;
	uint64_t sectors;
	int r;

	r = class_attr(c, name, "size", &size);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || safe_atou64(size, &sectors) < 0 || sectors == 0)
		return 0;
	r = class_attr(c, name, "dm/suspended", &suspended);
	if (r == -ENOMEM)
		return r;
	return !(r >= 0 && streq(suspended, "1"));
}

static int match_probe(struct bs_ctx *c, const char *name, enum match_key key, const char *expected)
{
	const char *value_name = key == MATCH_PARTUUID ? "PART_ENTRY_UUID" :
				 key == MATCH_UUID_SUB ? "UUID_SUB" :
							 "UUID";
	_cleanup_free_ char *devname = NULL, *path = NULL;
	const char *value = NULL;
	blkid_probe pr;
	int r;

	r = worth_probing(c, name);
	if (r <= 0)
		return r;

	devname = bs_dev_path_dup(name);
	path = devname ? bs_sysroot_path_dup(c, devname) : NULL;
	if (!path)
		return -ENOMEM;

	/* Read-only; nothing is ever written. */
	pr = blkid_new_probe_from_filename(path);
	if (!pr) {
		bs_log_debug(c, "cannot open '%s' for probing: %m, taking it as no match", path);
		return 0;
	}
	if (key == MATCH_PARTUUID) {
		(void)blkid_probe_enable_superblocks(pr, 0);
		(void)blkid_probe_enable_partitions(pr, 1);
		(void)blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	} else {
		(void)blkid_probe_enable_superblocks(pr, 1);
		(void)blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE);
		(void)blkid_probe_enable_partitions(pr, 0);
	}

	r = blkid_do_safeprobe(pr);
	if (r == 0 && blkid_probe_lookup_value(pr, value_name, &value, NULL) == 0 && value)
		r = strcasecmp(value, expected) == 0;
	else {
		/* 1: nothing found; -2: ambivalent signatures; -1: an error. */
		if (r < 0)
			bs_log_debug(c, "probing '%s' gave %d, taking it as no match", path, r);
		r = 0;
	}
	blkid_free_probe(pr);
	return r;
}

int bs_device_match_test(struct bs_ctx *c, const char *name, const struct bs_device_match *m)
{
	_cleanup_free_ char *wanted = NULL;
	enum match_key key;
	const char *value;

	if (!c || !name || !m || !is_kernel_name(name))
		return -EINVAL;
	key = match_key(m, &value);
	switch (key) {
	case MATCH_SERIAL:
		return match_serial(c, name, value);
	case MATCH_PARTUUID:
	case MATCH_UUID_SUB:
	case MATCH_UUID:
		return match_probe(c, name, key, value);
	case MATCH_NAME:
		wanted = strdup(value);
		if (!wanted)
			return -ENOMEM;
		for (char *p = wanted; *p; p++)
			if (*p == '/')
				*p = '!';
		if (!streq(name, wanted))
			return 0;
		return class_exists(c, name, NULL);
	default:
		return -EINVAL;
	}
}

/* ---- waiting ----------------------------------------------------------------------------- */


static uint64_t deadline_after(uint64_t timeout_usec)
{
	uint64_t now = now_usec();

	return timeout_usec > UINT64_MAX - now ? UINT64_MAX : now + timeout_usec;
}

static int uevent_socket_open(struct bs_ctx *c, int *ret_fd)
{
	const struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = UEVENT_GROUP_KERNEL,
	};
	const int size = UEVENT_RCVBUF;
	_cleanup_close_ int fd = -EBADF;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
	if (fd < 0) {
		int r = -errno;

		bs_log_err(c,
			   "cannot open a uevent netlink socket: %s; devices cannot be waited for",
			   strerror(-r));
		return r;
	}
	/* SO_RCVBUFFORCE passes the rmem_max limit but needs CAP_NET_ADMIN. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		bs_log_debug(c, "cannot enlarge the uevent socket's buffer: %m, ignoring");
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		bs_log_err(c, "cannot listen to kernel uevents: %s; devices cannot be waited for",
			   strerror(-r));
		return r;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int bs_uevent_receive(struct bs_ctx *c, int fd, char *buf, struct bs_uevent *ret)
{
	for (;;) {
		struct sockaddr_nl sa = {};
		struct iovec iov = { .iov_base = buf, .iov_len = BS_UEVENT_MAX };
		struct msghdr msg = {
			.msg_name = &sa,
			.msg_namelen = sizeof(sa),
			.msg_iov = &iov,
			.msg_iovlen = 1,
		};
		ssize_t n;

		n = recvmsg(fd, &msg, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (msg.msg_flags & MSG_TRUNC) {
			bs_log_debug(c, "a uevent longer than %zu bytes was cut, ignoring",
				     BS_UEVENT_MAX);
			continue;
		}
		/* Only the kernel sends from port 0; anyone may send to a socket directly. */
		if (msg.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0) {
			bs_log_debug(c,
				     "a uevent message from port %u is not the kernel's, ignoring",
				     (unsigned)sa.nl_pid);
			continue;
		}
		if (bs_uevent_parse(buf, (size_t)n, ret) < 0) {
			bs_log_debug(c, "a malformed uevent message (%zd bytes), ignoring", n);
			continue;
		}
		return 1;
	}
}

/* Waits until fd is readable or the deadline passes: 1, 0, or a negative errno. */
static int wait_readable(int fd, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = now_usec(), ms;
		int r;

		if (now >= deadline)
			return 0;
		ms = (deadline - now + 999) / 1000;
		r = poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r > 0)
			return 1;
	}
}

/* Checks the devices there are now, in name order so that the same system gives the same
 * answer. Returns 1 with *ret_name, 0 if none matches, or -ENOMEM. */
static int find_existing(struct bs_ctx *c, const struct bs_device_match *m, char **ret_name)
{
	_cleanup_strv_free_ char **names = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	const char *value;
	int r;

	if (match_key(m, &value) == MATCH_NAME) {
		_cleanup_free_ char *name = strdup(value);

		if (!name)
			return -ENOMEM;
		for (char *p = name; *p; p++)
			if (*p == '/')
				*p = '!';
		r = is_kernel_name(name) ? bs_device_match_test(c, name, m) : 0;
		if (r <= 0)
			return r;
		*ret_name = TAKE_PTR(name);
		return 1;
	}

	r = bs_sysroot_opendir(c, CLASS_BLOCK, &d);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		bs_log_debug(c, CLASS_BLOCK ": %s, no device is there yet", strerror(-r));
		return 0;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strv_extend(&names, de->d_name) < 0)
			return -ENOMEM;
	strv_sort(names);

	for (char **n = names; n && *n; n++) {
		r = bs_device_match_test(c, *n, m);
		if (r == -ENOMEM)
			return r;
		if (r <= 0)
			continue;
		*ret_name = strdup(*n);
		return *ret_name ? 1 : -ENOMEM;
	}
	return 0;
}

/*
 * Waits on fd (bound already) until a block uevent comes that m matches (with m NULL: any
 * block uevent) or the deadline passes. Returns 1 (with *ret_name when m is set), 0 at the
 * deadline, or a negative errno.
 */
static int wait_events(struct bs_ctx *c, int fd, uint64_t deadline, const struct bs_device_match *m,
		       char **ret_name)
{
	_cleanup_free_ char *buf = malloc(BS_UEVENT_MAX);
	int r;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct bs_uevent u;

		r = wait_readable(fd, deadline);
		if (r <= 0)
			return r;

		while ((r = bs_uevent_receive(c, fd, buf, &u)) != 0) {
			if (r == -ENOBUFS) {
				/* Uevents were lost: what they announced is in sysfs by now. */
				bs_log_debug(c,
					     "the uevent socket overflowed, checking every device");
				if (!m)
					return 1;
				r = find_existing(c, m, ret_name);
				if (r != 0)
					return r;
				continue;
			}
			if (r < 0)
				return r;
			if (!streq(u.subsystem, "block"))
				continue;
			if (!m)
				return 1;
			if (!streq(u.action, "add") && !streq(u.action, "change"))
				continue;

			/* A device that cannot be probed now is no match; it may change later. */
			r = bs_device_match_test(c, u.kernel_name, m);
			if (r == -ENOMEM)
				return r;
			if (r <= 0)
				continue;
			*ret_name = strdup(u.kernel_name);
			return *ret_name ? 1 : -ENOMEM;
		}
	}
}

int bs_real_wait_device(void *userdata, const struct bs_device_match *m, uint64_t timeout_usec,
			char **ret_name)
{
	struct bs_ctx *c = real_ctx(userdata);
	_cleanup_close_ int fd = -EBADF;
	uint64_t deadline = deadline_after(timeout_usec);
	char *name = NULL;
	const char *value;
	int r;

	if (!m || !ret_name || match_key(m, &value) < 0)
		return -EINVAL;
	bs_log_debug(c, "waiting up to %" PRIu64 " ms for '%s' (%s)", timeout_usec / 1000,
		     strna(m->id), value);

	/* Listening starts before the check, so that a device appearing in between is not
	 * missed: it is either found by the check or announced on the socket. */
	r = uevent_socket_open(c, &fd);
	if (r < 0)
		return r;
	r = find_existing(c, m, &name);
	if (r == 0)
		r = wait_events(c, fd, deadline, m, &name);
	if (r < 0)
		return r;
	if (r == 0) {
		bs_log_debug(c, "'%s' did not appear in time", strna(m->id));
		return -ETIMEDOUT;
	}
	bs_log_debug(c, "'%s' is '%s'", strna(m->id), name);
	*ret_name = name;
	return 0;
}

int bs_real_watch_uevents(void *userdata)
{
	struct bs_real_ops_data *d = userdata;
	int r;

	if (d->watching)
		return 0;
	r = uevent_socket_open(d->ctx, &d->monitor_fd);
	if (r < 0)
		return r;
	d->watching = true;
	return 0;
}

void bs_real_ops_data_done(struct bs_real_ops_data *d)
{
	if (d && d->watching) {
		close(d->monitor_fd);
		d->watching = false;
	}
}

/* Takes what else is queued on fd without waiting: one wait stands for all of them. */
static void drain(struct bs_ctx *c, int fd)
{
	_cleanup_free_ char *buf = malloc(BS_UEVENT_MAX);
	struct bs_uevent u;

	while (buf && bs_uevent_receive(c, fd, buf, &u) > 0)
		;
}

int bs_real_wait_uevent(void *userdata, uint64_t timeout_usec)
{
	struct bs_real_ops_data *d = userdata;
	_cleanup_close_ int own = -EBADF;
	int fd = d->monitor_fd, r;

	/* Without a monitor, only what comes from now on can be seen. */
	if (!d->watching) {
		r = uevent_socket_open(d->ctx, &own);
		if (r < 0)
			return r;
		fd = own;
	}
	r = wait_events(d->ctx, fd, deadline_after(timeout_usec), NULL, NULL);
	if (r < 0)
		return r;
	if (r > 0)
		drain(d->ctx, fd);
	return r > 0 ? 0 : -ETIMEDOUT;
}
