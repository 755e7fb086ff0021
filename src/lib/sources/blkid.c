/* Live source: filesystem and partition identities, from the blkid cache or from probing. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "graph.h"
#include "hashmap.h"
#include "parse.h"
#include "sources.h"
#include "sysroot.h"
#include "util.h"

#define BLKID_TAB "run/blkid/blkid.tab"

struct bs_blkid_entry {
	char *devname;
	char *tags[_BS_BLKID_TAG_MAX];
};

struct bs_blkid_table {
	/* Owned, in file order; a replaced entry stays here until the table is freed. */
	struct bs_blkid_entry **entries;
	size_t n_entries, allocated_entries;
	/* devname -> entry, keys borrowed from the entries. */
	struct hashmap *by_devname;
};

static const struct {
	const char *name;
	enum bs_attr attr;
} blkid_tags[_BS_BLKID_TAG_MAX] = {
	[BS_BLKID_TYPE] = { "TYPE", BS_ATTR_FSTYPE },
	[BS_BLKID_UUID] = { "UUID", BS_ATTR_UUID },
	[BS_BLKID_UUID_SUB] = { "UUID_SUB", BS_ATTR_UUID_SUB },
	[BS_BLKID_LABEL] = { "LABEL", BS_ATTR_LABEL },
	[BS_BLKID_PARTUUID] = { "PARTUUID", BS_ATTR_PARTUUID },
	[BS_BLKID_PARTLABEL] = { "PARTLABEL", BS_ATTR_PARTLABEL },
};

static enum bs_blkid_tag tag_from_string(const char *s, size_t n)
{
	for (int t = 0; t < _BS_BLKID_TAG_MAX; t++)
		if (strlen(blkid_tags[t].name) == n && memcmp(blkid_tags[t].name, s, n) == 0)
			return t;
	return _BS_BLKID_TAG_INVALID;
}

static void entry_free(struct bs_blkid_entry *e)
{
	if (!e)
		return;
	free(e->devname);
	for (int t = 0; t < _BS_BLKID_TAG_MAX; t++)
		free(e->tags[t]);
	free(e);
}

void bs_blkid_table_free(struct bs_blkid_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_entries; i++)
		entry_free(t->entries[i]);
	free(t->entries);
	hashmap_free(t->by_devname);
	free(t);
}

static int table_new(struct bs_blkid_table **ret)
{
	struct bs_blkid_table *t;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = hashmap_new(HASHMAP_STRING, &t->by_devname);
	if (r < 0) {
		free(t);
		return r;
	}
	*ret = t;
	return 0;
}

/* Takes e into t, replacing any entry of the same name. On failure e is freed. */
static int table_take(struct bs_blkid_table *t, struct bs_blkid_entry *e)
{
	int r;

	if (ARRAY_RESERVE(t->entries, t->allocated_entries, t->n_entries) < 0) {
		entry_free(e);
		return -ENOMEM;
	}
	t->entries[t->n_entries++] = e;

	r = hashmap_put_str(t->by_devname, e->devname, e);
	if (r < 0)
		return r; /* e is owned by t already */
	return 0;
}

size_t bs_blkid_table_size(const struct bs_blkid_table *t)
{
	return t ? hashmap_size(t->by_devname) : 0;
}

const struct bs_blkid_entry *bs_blkid_table_find(const struct bs_blkid_table *t,
						 const char *devname)
{
	if (!t || !devname)
		return NULL;
	return hashmap_get_str(t->by_devname, devname);
}

const char *bs_blkid_entry_get(const struct bs_blkid_entry *e, enum bs_blkid_tag tag)
{
	if (!e || tag < 0 || tag >= _BS_BLKID_TAG_MAX)
		return NULL;
	return e->tags[tag];
}

int bs_blkid_entry_apply(const struct bs_blkid_entry *e, struct bs_node *n)
{
	int r;

	assert(n);

	if (!e)
		return 0;
	for (int t = 0; t < _BS_BLKID_TAG_MAX; t++) {
		if (!e->tags[t])
			continue;
		r = bs_node_set_attr(n, blkid_tags[t].attr, e->tags[t]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the cache file ---------------------------------------------------------------------- */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static const char *skip_blanks(const char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

/*
 * Parses one line, without its newline, into *ret (NULL for a line that holds no device: a
 * blank line, a comment, or markup other than <device>). Returns 0, -ENOMEM, or -EINVAL
 * with *ret_why saying what is wrong.
 */
static int parse_line(const char *line, struct bs_blkid_entry **ret, const char **ret_why)
{
	struct bs_blkid_entry *e = NULL;
	const char *p, *end;
	int r;

	*ret = NULL;
	p = skip_blanks(line);
	if (*p == '\0' || *p == '#')
		return 0;
	if (!startswith(p, "<device")) {
		if (*p == '<')
			return 0; /* other markup: libblkid skips it as well */
		*ret_why = "not a <device> entry";
		return -EINVAL;
	}
	p += strlen("<device");
	if (*p != '>' && !is_blank(*p)) {
		*ret_why = "not a <device> entry";
		return -EINVAL;
	}

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;

	/* NAME="value" or NAME=value pairs up to the '>' that ends the start tag. */
	for (;;) {
		const char *name, *value;
		size_t name_len, value_len;
		enum bs_blkid_tag tag;

		p = skip_blanks(p);
		if (*p == '>')
			break;
		if (*p == '\0') {
			*ret_why = "'>' missing after the tags";
			r = -EINVAL;
			goto fail;
		}
		name = p;
		while (*p && *p != '=' && *p != '>' && !is_blank(*p))
			p++;
		name_len = (size_t)(p - name);
		if (*p != '=' || name_len == 0) {
			*ret_why = "tag without '=value'";
			r = -EINVAL;
			goto fail;
		}
		p++;
		if (*p == '"') {
			value = ++p;
			end = strchr(p, '"');
			if (!end) {
				*ret_why = "unbalanced quotes";
				r = -EINVAL;
				goto fail;
			}
			value_len = (size_t)(end - value);
			p = end + 1;
		} else {
			value = p;
			while (*p && *p != '>' && *p != '<' && !is_blank(*p))
				p++;
			value_len = (size_t)(p - value);
		}

		tag = tag_from_string(name, name_len);
		if (tag < 0 || value_len == 0)
			continue; /* DEVNO, TIME, PRI, BLOCK_SIZE, ...: not identities */
		free(e->tags[tag]);
		e->tags[tag] = strndup(value, value_len);
		if (!e->tags[tag]) {
			r = -ENOMEM;
			goto fail;
		}
	}

	/* >DEVNAME</device>; libblkid also accepts a missing end tag. */
	p = skip_blanks(p + 1);
	end = p;
	while (*end && *end != '<' && !is_blank(*end))
		end++;
	if (end == p) {
		*ret_why = "no device name";
		r = -EINVAL;
		goto fail;
	}
	e->devname = strndup(p, (size_t)(end - p));
	if (!e->devname) {
		r = -ENOMEM;
		goto fail;
	}

	*ret = e;
	return 0;

fail:
	entry_free(e);
	return r;
}

int bs_blkid_table_parse(struct bs_ctx *c, const char *where, const char *text,
			 struct bs_blkid_table **ret)
{
	_cleanup_(bs_blkid_table_freep) struct bs_blkid_table *t = NULL;
	_cleanup_free_ char *buf = NULL;
	unsigned line_no = 0;
	char *line, *next;
	int r;

	assert(where);
	assert(text);
	assert(ret);

	r = table_new(&t);
	if (r < 0)
		return r;
	buf = strdup(text);
	if (!buf)
		return -ENOMEM;

	for (line = buf; line; line = next) {
		struct bs_blkid_entry *e;
		const char *why = NULL;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else if (*line == '\0')
			break;
		line_no++;

		r = parse_line(line, &e, &why);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			bs_log_warn(c, "%s:%u: %s, ignoring", where, line_no, why);
			continue;
		}
		if (!e)
			continue;
		r = table_take(t, e);
		if (r < 0)
			return r;
	}

	*ret = TAKE_PTR(t);
	return 0;
}

/* ---- probing ----------------------------------------------------------------------------- */

/* The value names of a libblkid probe that carry the identities blkid(8) prints. */
static enum bs_blkid_tag tag_from_probe_value(const char *name)
{
	if (streq(name, "PART_ENTRY_UUID"))
		return BS_BLKID_PARTUUID;
	if (streq(name, "PART_ENTRY_NAME"))
		return BS_BLKID_PARTLABEL;
	return tag_from_string(name, strlen(name));
}

/*
 * Probes the device at path read-only into tags (each newly allocated or left NULL). 1 if it
 * has any identity, 0 if it cannot be opened or holds nothing known (that is no error: it
 * just has no identities), -ENOMEM. Logs nothing: it also runs in a forked child.
 */
static int probe_values(const char *path, char *tags[_BS_BLKID_TAG_MAX])
{
	blkid_probe pr;
	int r, n, any = 0;

	/* Opened O_RDONLY|O_NONBLOCK by libblkid; nothing is ever written. */
	pr = blkid_new_probe_from_filename(path);
	if (!pr)
		return 0;
	(void)blkid_probe_enable_superblocks(pr, 1);
	(void)blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID |
							    BLKID_SUBLKS_TYPE);
	(void)blkid_probe_enable_partitions(pr, 1);
	(void)blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);

	/* 1: nothing found; -2: ambivalent signatures; -1: error. */
	r = blkid_do_safeprobe(pr);
	if (r != 0) {
		blkid_free_probe(pr);
		return 0;
	}
	n = blkid_probe_numof_values(pr);
	for (int i = 0; i < n; i++) {
		const char *name, *data;
		size_t len;
		enum bs_blkid_tag tag;

		if (blkid_probe_get_value(pr, i, &name, &data, &len) < 0)
			continue;
		tag = tag_from_probe_value(name);
		if (tag < 0 || !data || len == 0)
			continue;
		/* len counts the terminating NUL. */
		free(tags[tag]);
		tags[tag] = strndup(data, len);
		if (!tags[tag]) {
			blkid_free_probe(pr);
			return -ENOMEM;
		}
		any = 1;
	}
	blkid_free_probe(pr);
	return any;
}

/*
 * Devices whose reads may wait on something that no longer answers: a network block device
 * whose server is gone (nbd waits forever without a timeout, and so does DRBD without a
 * peer), an iSCSI disk whose session is down, a multipath map with no path left that queues
 * I/O (queue_if_no_path). They are probed in a child, with a timeout.
 */
static bool may_stall(struct bs_ctx *c, const char *kernel_name)
{
	_cleanup_free_ char *uuid_path = NULL, *uuid = NULL, *link_path = NULL, *link = NULL;

	if (startswith(kernel_name, "nbd") || startswith(kernel_name, "drbd"))
		return true;
	if (strextend(&uuid_path, "sys/class/block/", kernel_name, "/dm/uuid", NULL) < 0 ||
	    strextend(&link_path, "sys/class/block/", kernel_name, NULL) < 0)
		return true;
	if (bs_sysroot_read_attr(c, uuid_path, &uuid) >= 0 && startswith(uuid, "mpath-"))
		return true;
	/* An iSCSI disk sits below its session in the device tree: .../session3/target... */
	return bs_sysroot_readlink(c, link_path, &link) >= 0 && strstr(link, "/session");
}

static void tags_free(char *tags[_BS_BLKID_TAG_MAX])
{
	for (int t = 0; t < _BS_BLKID_TAG_MAX; t++)
		tags[t] = mfree(tags[t]);
}

/* The child's answer: for each tag it found, its number as one byte, then the value with
 * its NUL. */
static int read_answer(int fd, char *tags[_BS_BLKID_TAG_MAX])
{
	_cleanup_free_ char *buf = NULL;
	size_t size;
	int r;

	/* Tags are short; a child that says more is broken. */
	r = read_fd_all(fd, 1u << 20, &buf, &size);
	if (r < 0)
		return r;
	for (size_t i = 0; i < size;) {
		unsigned char tag = (unsigned char)buf[i++];
		const char *end = memchr(buf + i, '\0', size - i);

		if (tag >= _BS_BLKID_TAG_MAX || !end)
			return -EBADMSG;
		free(tags[tag]);
		tags[tag] = strdup(buf + i);
		if (!tags[tag])
			return -ENOMEM;
		i = (size_t)(end - buf) + 1;
	}
	return 0;
}

int bs_blkid_probe_guarded(const char *path, uint64_t timeout_usec,
			   int (*probe)(const char *path, char *tags[_BS_BLKID_TAG_MAX]),
			   char *ret_tags[_BS_BLKID_TAG_MAX])
{
	_cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
	int fds[2], r, status;
	uint64_t deadline = now_usec() + timeout_usec;
	struct pollfd p;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	rfd = fds[0];
	wfd = fds[1];
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char *tags[_BS_BLKID_TAG_MAX] = {};

		rfd = safe_close(rfd);
		if (probe(path, tags) < 0)
			_exit(1);
		for (int t = 0; t < _BS_BLKID_TAG_MAX; t++) {
			unsigned char tag = (unsigned char)t;

			if (tags[t] && (write(wfd, &tag, 1) != 1 ||
					write(wfd, tags[t], strlen(tags[t]) + 1) < 0))
				_exit(1);
		}
		_exit(0);
	}
	wfd = safe_close(wfd);

	p = (struct pollfd){ .fd = rfd, .events = POLLIN };
	for (;;) {
		uint64_t t = now_usec();

		/* The answer comes at once, all of it with the end of the pipe. */
		r = t >= deadline ? 0 : poll(&p, 1, (int)((deadline - t + 999) / 1000));
		if (r < 0 && errno == EINTR)
			continue;
		break;
	}
	if (r <= 0) {
		/* Stuck in the device's I/O: killed, it ends when the I/O does; its zombie is
		 * reaped then if we are still here, or by init. */
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &status, WNOHANG);
		return r < 0 ? -errno : -ETIMEDOUT;
	}
	r = read_answer(rfd, ret_tags);
	(void)waitpid(pid, &status, 0);
	if (r < 0) {
		tags_free(ret_tags);
		return r;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		tags_free(ret_tags);
		return -EIO;
	}
	return 0;
}

/* Probes one device read-only into t; one that may stall, in a child with a timeout. */
static int probe_one(struct bs_ctx *c, struct bs_blkid_table *t, const char *kernel_name)
{
	_cleanup_free_ char *devname = NULL, *path = NULL;
	char *tags[_BS_BLKID_TAG_MAX] = {};
	struct bs_blkid_entry *e;
	bool any = false;
	int r;

	devname = bs_dev_path_dup(kernel_name);
	path = devname ? bs_sysroot_path_dup(c, devname) : NULL;
	if (!path)
		return -ENOMEM;

	if (may_stall(c, kernel_name)) {
		r = bs_blkid_probe_guarded(path, BS_STALL_PROBE_TIMEOUT_USEC, probe_values, tags);
		if (r == -ETIMEDOUT) {
			bs_log_warn(c,
				    "'%s' did not answer a probe within %llus (a network block "
				    "device whose server is gone, or a map with no path left?); "
				    "its identities are unknown, ignoring",
				    devname,
				    (unsigned long long)(BS_STALL_PROBE_TIMEOUT_USEC / 1000000));
			return 0;
		}
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			bs_log_debug(c, "probing '%s' in a child failed: %s, ignoring", path,
				     strerror(-r));
			return 0;
		}
	} else {
		r = probe_values(path, tags);
		if (r < 0) {
			tags_free(tags);
			return r;
		}
	}
	for (int i = 0; i < _BS_BLKID_TAG_MAX; i++)
		any = any || tags[i];
	if (!any)
		return 0;

	e = calloc(1, sizeof(*e));
	if (!e) {
		tags_free(tags);
		return -ENOMEM;
	}
	memcpy(e->tags, tags, sizeof(tags));
	e->devname = TAKE_PTR(devname);
	return table_take(t, e);
}

static int probe_all(struct bs_ctx *c, struct bs_blkid_table **ret)
{
	_cleanup_(bs_blkid_table_freep) struct bs_blkid_table *t = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = bs_sysroot_opendir(c, "sys/class/block", &d);
	if (r < 0) {
		bs_log_warn(c, "sys/class/block: %s, filesystem identities are unknown",
			    strerror(-r));
		return r == -ENOMEM ? r : 0;
	}
	r = table_new(&t);
	if (r < 0)
		return r;

	errno = 0;
	while ((de = readdir(d))) {
		_cleanup_free_ char *size_path = NULL, *size = NULL, *suspended_path = NULL,
				    *suspended = NULL;
		uint64_t sectors;

		if (de->d_name[0] == '.')
			continue;
		/* Skip what holds no data, as lsblk does: idle loop devices, empty nbd. */
		if (strextend(&size_path, "sys/class/block/", de->d_name, "/size", NULL) < 0 ||
		    strextend(&suspended_path, "sys/class/block/", de->d_name, "/dm/suspended",
			      NULL) < 0)
			return -ENOMEM;
		if (bs_sysroot_read_attr(c, size_path, &size) < 0 ||
		    safe_atou64(size, &sectors) < 0 || sectors == 0)
			continue;
		/* Reading a suspended dm device blocks until it is resumed. */
		if (bs_sysroot_read_attr(c, suspended_path, &suspended) >= 0 &&
		    streq(suspended, "1")) {
			bs_log_debug(c, "'%s' is suspended, not probing it", de->d_name);
			continue;
		}

		r = probe_one(c, t, de->d_name);
		if (r < 0)
			return r;
		errno = 0;
	}
	if (errno != 0)
		bs_log_warn(c, "sys/class/block: %m, identities of some devices are unknown");

	*ret = TAKE_PTR(t);
	return 0;
}

/* ---- the source -------------------------------------------------------------------------- */

int bs_source_blkid(struct bs_graph *g, struct bs_blkid_table **ret)
{
	struct bs_blkid_table *t = NULL;
	_cleanup_free_ char *text = NULL;
	struct bs_ctx *c;
	int r;

	if (!g || !ret)
		return -EINVAL;
	c = g->ctx;
	*ret = NULL;

	if (streq(c->sysroot, "/")) {
		/* The running system: its devices are probed, because a cache in /run may be
		 * older than the devices it describes. */
		r = probe_all(c, &t);
		if (r < 0)
			return r;
		bs_log_debug(c, "probed %zu devices with identities", bs_blkid_table_size(t));
	} else {
		/* A stand-in tree: its cache stands in for devices that need not exist here, so
		 * nothing in it is verified (libblkid's own reader drops every entry whose name
		 * is not in this host's /dev), and no name of it is ever probed on this host. */
		r = bs_sysroot_read_file(c, BLKID_TAB, &text, NULL);
		if (r == -ENOMEM)
			return r;
		if (r == -ENOENT) {
			bs_log_warn(c,
				    "%s: not found below '%s': filesystem identities (TYPE, UUID, "
				    "LABEL, PARTUUID) are unknown, and md arrays are named by UUID",
				    BLKID_TAB, c->sysroot);
			return 0;
		}
		if (r < 0) {
			bs_log_warn(c, "%s: %s, filesystem identities are unknown", BLKID_TAB,
				    strerror(-r));
			return 0;
		}
		r = bs_blkid_table_parse(c, BLKID_TAB, text, &t);
		if (r < 0)
			return r;
		bs_log_debug(c, "%s: %zu devices", BLKID_TAB, bs_blkid_table_size(t));
	}

	*ret = t;
	return 0;
}
