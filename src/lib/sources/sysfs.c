/* Live source: the block devices of sys/class/block, their kinds, sizes and stacking. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph.h"
#include "hashmap.h"
#include "lvm-name.h"
#include "parse.h"
#include "sources.h"
#include "strv.h"
#include "sysroot.h"
#include "util.h"

#define CLASS_BLOCK "sys/class/block"

/* Most attributes are a few bytes; the buffer grows for the rest (backing_file). */
#define ATTR_INITIAL ((size_t)128)

struct md_member {
	char *name; /* kernel name */
	const char *role; /* "member", "spare" or "faulty" */
};

enum md_name_state {
	MD_NAME_UNRESOLVED,
	MD_NAME_RESOLVING,
	MD_NAME_RESOLVED,
};

/* What the walk reads of one device, before any node exists. */
struct blockdev {
	char *name; /* kernel name: the entry in sys/class/block */
	dev_t devno;
	uint64_t size; /* bytes */
	/* Idle (size 0) or broken beyond use: known by name, but no node. */
	bool skip;
	enum bs_node_kind kind;

	char *parent; /* part: the kernel name of its disk */
	char *dm_name, *dm_uuid;
	char *vg, *lv; /* lv: dm_name split */
	char *md_level, *md_uuid;
	struct md_member *members;
	size_t n_members;
	char *backing_file;
	char *serial;
	char **slaves;
	char *nbd_pid; /* nbd: the pid of the nbd-client that connected it, if it says */
	bool on_network; /* nbd, drbd, a disk of an iSCSI session: it needs net:online */

	char *md_name; /* from the members' labels, see resolve_md_name() */
	enum md_name_state md_name_state;
	struct bs_node *node;
};

struct scan {
	struct bs_graph *g;
	const struct bs_blkid_table *identities; /* bs_source_blkid()'s, or NULL */
	struct bs_ctx *c;
	int class_fd; /* sys/class/block, borrowed from the DIR */

	struct blockdev **devs; /* sorted by name */
	size_t n_devs, allocated_devs;
	struct hashmap *by_name; /* kernel name -> blockdev */
};

static void blockdev_free(struct blockdev *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->parent);
	free(d->dm_name);
	free(d->dm_uuid);
	free(d->vg);
	free(d->lv);
	free(d->md_level);
	free(d->md_uuid);
	for (size_t i = 0; i < d->n_members; i++)
		free(d->members[i].name);
	free(d->members);
	free(d->backing_file);
	free(d->nbd_pid);
	free(d->serial);
	strv_free(d->slaves);
	free(d->md_name);
	free(d);
}

static void scan_done(struct scan *s)
{
	for (size_t i = 0; i < s->n_devs; i++)
		blockdev_free(s->devs[i]);
	free(s->devs);
	hashmap_free(s->by_name);
}

/* ---- reading ----------------------------------------------------------------------------- */

/* Reads the one-line attribute relpath below dirfd into a new string without trailing
 * newlines. Returns 0 or a negative errno. */
static int read_attr_at(int dirfd, const char *relpath, char **ret)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, allocated = ATTR_INITIAL;

	fd = openat(dirfd, relpath, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;

	buf = malloc(allocated);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		size_t want;
		ssize_t k;

		if (allocated - size < 2) {
			char *p;

			if (allocated >= BS_SYSROOT_ATTR_MAX)
				return -EFBIG;
			p = realloc(buf, allocated * 2);
			if (!p)
				return -ENOMEM;
			buf = p;
			allocated *= 2;
		}
		want = allocated - size - 1;
		k = read(fd, buf + size, want);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		size += (size_t)k;
		/* sysfs hands out an attribute in one read, and a captured copy is a regular
		 * file: a short read is the end, and saves a read per attribute. */
		if ((size_t)k < want)
			break;
	}
	while (size > 0 && buf[size - 1] == '\n')
		size--;
	buf[size] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

/* Reads an attribute that is expected, warning about it when it is missing or unreadable.
 * Returns 1 if read, 0 if not (warned), -ENOMEM. */
static int read_expected(struct scan *s, int dirfd, const char *dev, const char *relpath,
			 char **ret)
{
	int r;

	r = read_attr_at(dirfd, relpath, ret);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		bs_log_warn(s->c, CLASS_BLOCK "/%s/%s: %s, ignoring", dev, relpath, strerror(-r));
		return 0;
	}
	return 1;
}

static bool exists_at(int dirfd, const char *relpath)
{
	struct stat st;

	return fstatat(dirfd, relpath, &st, 0) >= 0;
}

static int opendir_at(int dirfd, const char *relpath, DIR **ret)
{
	_cleanup_close_ int fd = -EBADF;
	DIR *d;

	fd = openat(dirfd, relpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	TAKE_FD(fd);
	*ret = d;
	return 0;
}

static bool is_dot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* The last component of a link target, "../../dm-0" -> "dm-0". */
static const char *last_component(const char *path)
{
	const char *p = strrchr(path, '/');

	return p ? p + 1 : path;
}

/* ---- one device -------------------------------------------------------------------------- */

static int scan_dm(struct scan *s, int dfd, struct blockdev *d)
{
	const char *rest;
	int r;

	d->kind = BS_NODE_DM;
	r = read_expected(s, dfd, d->name, "dm/name", &d->dm_name);
	if (r <= 0)
		return r;
	if (d->dm_name[0] == '\0') {
		bs_log_warn(s->c, CLASS_BLOCK "/%s/dm/name: empty, ignoring", d->name);
		d->dm_name = mfree(d->dm_name);
		return 0;
	}
	/* A dm device without a uuid is legal: some other kind of mapping. */
	r = read_attr_at(dfd, "dm/uuid", &d->dm_uuid);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || d->dm_uuid[0] == '\0') {
		d->dm_uuid = mfree(d->dm_uuid);
		return 0;
	}

	if ((rest = startswith(d->dm_uuid, "CRYPT-"))) {
		/* cryptsetup's helpers (the integrity device under a LUKS2 mapping, the
		 * temporary device of a reencryption) are not mappings of their own. */
		if (!startswith(rest, "SUBDEV-") && !startswith(rest, "TEMP-"))
			d->kind = BS_NODE_CRYPT;
	} else if (startswith(d->dm_uuid, "LVM-")) {
		r = lvm_dm_name_split(d->dm_name, &d->vg, &d->lv);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			bs_log_warn(s->c,
				    CLASS_BLOCK "/%s/dm/name: LVM device '%s' is not named VG-LV, "
						"taking it as a plain dm device",
				    d->name, d->dm_name);
		else
			d->kind = BS_NODE_LV;
	} else if (startswith(d->dm_uuid, "mpath-"))
		d->kind = BS_NODE_MPATH;
	return 0;
}

static bool has_flag(const char *flags, const char *flag)
{
	size_t n = strlen(flag);

	for (const char *p = flags; *p; p += strcspn(p, ",")) {
		p += strspn(p, ",");
		if (strncmp(p, flag, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	}
	return false;
}

/* The role of an md member from md/dev-X/state, a comma separated list of flags:
 * "in_sync", "spare" (also while it is rebuilt), "faulty", "write_mostly", ... */
static const char *md_role(const char *state)
{
	if (has_flag(state, "faulty"))
		return "faulty";
	if (has_flag(state, "spare"))
		return "spare";
	return "member";
}

static int compare_members(const void *a, const void *b)
{
	return strcmp(((const struct md_member *)a)->name, ((const struct md_member *)b)->name);
}

static int scan_md(struct scan *s, int dfd, struct blockdev *d)
{
	_cleanup_closedir_ DIR *md = NULL;
	struct dirent *de;
	size_t allocated = 0;
	int r;

	d->kind = BS_NODE_MD;
	r = read_expected(s, dfd, d->name, "md/level", &d->md_level);
	if (r < 0)
		return r;
	r = read_expected(s, dfd, d->name, "md/uuid", &d->md_uuid);
	if (r < 0)
		return r;

	r = opendir_at(dfd, "md", &md);
	if (r < 0) {
		bs_log_warn(s->c, CLASS_BLOCK "/%s/md: %s, ignoring its members", d->name,
			    strerror(-r));
		return r == -ENOMEM ? r : 0;
	}
	while ((de = readdir(md))) {
		_cleanup_free_ char *link_path = NULL, *target = NULL, *state_path = NULL,
				    *state = NULL;
		const char *member = startswith(de->d_name, "dev-");
		struct md_member *m;

		if (!member || !*member)
			continue;

		if (ARRAY_RESERVE(d->members, allocated, d->n_members) < 0)
			return -ENOMEM;
		m = &d->members[d->n_members];

		/* md/dev-X/block links to the member; X is its name too, should the link be
		 * missing. */
		if (strextend(&link_path, CLASS_BLOCK "/", d->name, "/md/", de->d_name, "/block",
			      NULL) < 0 ||
		    strextend(&state_path, de->d_name, "/state", NULL) < 0)
			return -ENOMEM;
		r = bs_sysroot_readlink(s->c, link_path, &target);
		if (r == -ENOMEM)
			return r;
		m->name =
			strdup(r >= 0 && *last_component(target) ? last_component(target) : member);
		if (!m->name)
			return -ENOMEM;
		d->n_members++;

		r = read_attr_at(dirfd(md), state_path, &state);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			bs_log_warn(s->c, CLASS_BLOCK "/%s/md/%s: %s, taking it as a member",
				    d->name, state_path, strerror(-r));
			m->role = "member";
		} else
			m->role = md_role(state);
	}
	if (d->n_members > 1)
		qsort(d->members, d->n_members, sizeof(*d->members), compare_members);
	return 0;
}

/* The disk of a partition: the directory that the class link's target sits in,
 * "../../devices/.../block/vda/vda1" -> "vda". */
static int scan_part(struct scan *s, struct blockdev *d)
{
	_cleanup_free_ char *path = NULL, *target = NULL;
	char *slash;
	int r;

	d->kind = BS_NODE_PART;
	if (strextend(&path, CLASS_BLOCK "/", d->name, NULL) < 0)
		return -ENOMEM;
	r = bs_sysroot_readlink(s->c, path, &target);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		bs_log_warn(s->c, "%s: %s, cannot tell the disk of the partition", path,
			    strerror(-r));
		return 0;
	}
	slash = strrchr(target, '/');
	if (!slash || slash == target) {
		bs_log_warn(s->c,
			    CLASS_BLOCK "/%s: link '%s' does not name the disk of the "
					"partition, ignoring",
			    d->name, target);
		return 0;
	}
	*slash = '\0';
	d->parent = strdup(last_component(target));
	return d->parent ? 0 : -ENOMEM;
}

static int scan_slaves(struct scan *s, int dfd, struct blockdev *d)
{
	_cleanup_closedir_ DIR *dir = NULL;
	struct dirent *de;
	int r;

	/* Real sysfs always has slaves/; a tree kept in git loses it when empty. */
	r = opendir_at(dfd, "slaves", &dir);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		bs_log_warn(s->c, CLASS_BLOCK "/%s/slaves: %s, ignoring", d->name, strerror(-r));
		return r == -ENOMEM ? r : 0;
	}
	while ((de = readdir(dir))) {
		if (is_dot(de->d_name))
			continue;
		/* Each entry is named after the kernel name of the device it links to. */
		r = strv_extend(&d->slaves, de->d_name);
		if (r < 0)
			return r;
	}
	strv_sort(d->slaves);
	return 0;
}

static int read_attr_at_fd(void *userdata, const char *relpath, char **ret)
{
	return read_attr_at(*(int *)userdata, relpath, ret);
}

static int scan_serial(int dfd, struct blockdev *d)
{
	int r = bs_sysfs_serial(read_attr_at_fd, &dfd, &d->serial);

	return r < 0 ? r : 0;
}

/* drbdN, the only names DRBD gives its devices (drbd_create_device()). */
static bool is_drbd_name(const char *name)
{
	const char *d = startswith(name, "drbd");

	return d && *d && strspn(d, "0123456789") == strlen(d);
}

/* An iSCSI disk sits below its session in the device tree (.../host2/session1/target2:0:0/). */
static bool below_iscsi_session(struct scan *s, const char *name)
{
	_cleanup_free_ char *rel = NULL, *link = NULL;
	const char *p;

	if (strextend(&rel, CLASS_BLOCK "/", name, NULL) < 0 ||
	    bs_sysroot_readlink(s->c, rel, &link) < 0)
		return false;
	for (p = strstr(link, "/session"); p; p = strstr(p + 1, "/session"))
		if (p[8] >= '0' && p[8] <= '9')
			return true;
	return false;
}

/* Reads one entry of sys/class/block into d. Damage is warned about here. */
static int scan_device(struct scan *s, struct blockdev *d)
{
	_cleanup_close_ int dfd = -EBADF;
	_cleanup_free_ char *v = NULL;
	uint64_t sectors;
	int r;

	dfd = openat(s->class_fd, d->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ENOENT)
			bs_log_warn(s->c, CLASS_BLOCK "/%s: dangling link, ignoring", d->name);
		else
			bs_log_warn(s->c, CLASS_BLOCK "/%s: %m, ignoring", d->name);
		d->skip = true;
		return 0;
	}

	r = read_expected(s, dfd, d->name, "size", &v);
	if (r < 0)
		return r;
	if (r > 0) {
		if (safe_atou64(v, &sectors) < 0 || sectors > UINT64_MAX / 512)
			bs_log_warn(s->c, CLASS_BLOCK "/%s/size: invalid size '%s', ignoring",
				    d->name, v);
		else if (sectors == 0) {
			/* Idle loop devices, unconnected nbd: lsblk hides them too. */
			d->skip = true;
			return 0;
		} else
			d->size = sectors * 512;
	}
	v = mfree(v);

	r = read_expected(s, dfd, d->name, "dev", &v);
	if (r < 0)
		return r;
	if (r > 0 && parse_devno(v, &d->devno) < 0)
		bs_log_warn(s->c, CLASS_BLOCK "/%s/dev: invalid device number '%s', ignoring",
			    d->name, v);

	if (exists_at(dfd, "partition"))
		return scan_part(s, d);

	if (exists_at(dfd, "dm"))
		r = scan_dm(s, dfd, d);
	else if (exists_at(dfd, "md"))
		r = scan_md(s, dfd, d);
	else if (exists_at(dfd, "loop")) {
		d->kind = BS_NODE_LOOP;
		r = read_attr_at(dfd, "loop/backing_file", &d->backing_file);
		if (r == -ENOMEM)
			return r;
		/* A loop device over a block device or an fd has none. */
		r = 0;
	} else if (startswith(d->name, "nbd")) {
		d->kind = BS_NODE_NBD;
		d->on_network = true;
		r = read_attr_at(dfd, "pid", &d->nbd_pid);
		if (r == -ENOMEM)
			return r;
		r = 0;
	} else if (is_drbd_name(d->name)) {
		d->on_network = true;
		/* Attached to its disk, a DRBD device holds it: the kernel links it as a
		 * slave (bd_link_disk_holder(), as the 6.1 kernel's DRBD 8.4.11 does), read
		 * below as any holder's. */
		d->kind = BS_NODE_DRBD;
		r = 0;
	} else {
		d->kind = BS_NODE_DISK;
		d->on_network = below_iscsi_session(s, d->name);
		r = scan_serial(dfd, d);
	}
	if (r < 0)
		return r;

	return scan_slaves(s, dfd, d);
}

/* ---- names and identities ---------------------------------------------------------------- */

static struct blockdev *find_dev(const struct scan *s, const char *name)
{
	return hashmap_get_str(s->by_name, name);
}

static int resolve_md_name(struct scan *s, struct blockdev *d);

/* The blkid entry of "PREFIXname", or NULL. */
static int find_identity_at(const struct scan *s, const char *prefix, const char *name,
			    const struct bs_blkid_entry **ret)
{
	_cleanup_free_ char *devname = NULL;

	if (strextend(&devname, prefix, name, NULL) < 0)
		return -ENOMEM;
	*ret = bs_blkid_table_find(s->identities, devname);
	return 0;
}

/*
 * The blkid entry of d (NULL if none), by the names libblkid may have used: /dev/mapper/NAME
 * for dm devices, the kernel name (with '!' for '/'), /dev/md/NAME, /dev/VG/LV.
 */
static int find_identity(struct scan *s, struct blockdev *d, const struct bs_blkid_entry **ret)
{
	_cleanup_free_ char *kname = NULL, *vg_lv = NULL;
	int r;

	*ret = NULL;
	if (!s->identities)
		return 0;

	if (d->dm_name) {
		r = find_identity_at(s, "/dev/mapper/", d->dm_name, ret);
		if (r < 0 || *ret)
			return r;
	}

	kname = strdup(d->name);
	if (!kname)
		return -ENOMEM;
	for (char *p = kname; *p; p++)
		if (*p == '!')
			*p = '/';
	r = find_identity_at(s, "/dev/", kname, ret);
	if (r < 0 || *ret)
		return r;

	if (d->kind == BS_NODE_MD) {
		r = resolve_md_name(s, d);
		if (r < 0)
			return r;
		if (d->md_name)
			return find_identity_at(s, "/dev/md/", d->md_name, ret);
	}

	if (d->kind == BS_NODE_LV) {
		if (strextend(&vg_lv, d->vg, "/", d->lv, NULL) < 0)
			return -ENOMEM;
		return find_identity_at(s, "/dev/", vg_lv, ret);
	}
	return 0;
}

/*
 * Sets an md array's name as its members' superblocks give it: blkid's LABEL of a
 * linux_raid_member is "homehost:name" (or just "name"). Stays NULL if no member says.
 * Members may be md arrays themselves, so this recurses, guarded against the cycles of a
 * broken tree.
 */
static int resolve_md_name(struct scan *s, struct blockdev *d)
{
	int r;

	if (d->md_name_state != MD_NAME_UNRESOLVED)
		return 0;
	d->md_name_state = MD_NAME_RESOLVING;

	for (size_t i = 0; i < d->n_members && !d->md_name; i++) {
		struct blockdev *m = find_dev(s, d->members[i].name);
		const struct bs_blkid_entry *e;
		const char *type, *label, *colon;

		if (!m)
			continue;
		r = find_identity(s, m, &e);
		if (r < 0)
			return r;
		if (!e)
			continue;
		type = bs_blkid_entry_get(e, BS_BLKID_TYPE);
		label = bs_blkid_entry_get(e, BS_BLKID_LABEL);
		if (!type || !streq(type, "linux_raid_member") || !label)
			continue;
		colon = strchr(label, ':');
		if (colon)
			label = colon + 1;
		if (*label == '\0')
			continue;
		d->md_name = strdup(label);
		if (!d->md_name)
			return -ENOMEM;
	}

	d->md_name_state = MD_NAME_RESOLVED;
	return 0;
}

/* ---- nodes and edges --------------------------------------------------------------------- */

static int device_id(const struct blockdev *d, char **ret)
{
	switch (d->kind) {
	case BS_NODE_CRYPT:
		return strextend(ret, "crypt:", d->dm_name, NULL);
	case BS_NODE_LV:
		return strextend(ret, "lv:", d->vg, "/", d->lv, NULL);
	case BS_NODE_DM:
	case BS_NODE_MPATH:
		/* A dm device whose name could not be read still needs a stable id. */
		return strextend(ret, "dm:", d->dm_name ? d->dm_name : d->name, NULL);
	case BS_NODE_MD:
		/* By name, else by uuid; the kernel name only for an array that shows neither. */
		if (d->md_name)
			return strextend(ret, "md:", d->md_name, NULL);
		return strextend(ret, "md:", d->md_uuid ? d->md_uuid : d->name, NULL);
	default:
		/* A DRBD device too: the kernel does not show which resource a minor is, and the
		 * live graph (and the record written from it) names it blk:drbdN. The
		 * configuration, whose drbd line names the minor, renames it drbd:RESOURCE
		 * (sources/config.c). */
		return strextend(ret, "blk:", d->name, NULL);
	}
}

static int set_attr(struct bs_node *n, enum bs_attr a, const char *value)
{
	return value ? bs_node_set_attr(n, a, value) : 0;
}

/* nbd-client's options that take a value in the next word (its manual, 3.24). */
static bool nbd_option_takes_value(const char *o)
{
	static const char *const with_value[] = {
		"b", "block-size", "t", "timeout",	"C", "connections", "N", "name",
		"F", "certfile",   "K", "keyfile",	"A", "cacertfile",  "H", "tlshostname",
		"i", "identifier", "D", "dead-timeout",
	};

	for (size_t i = 0; i < ELEMENTSOF(with_value); i++)
		if (streq(o, with_value[i]))
			return true;
	return false;
}

int bs_nbd_cmdline_source(const char *cmdline, size_t size, char **ret)
{
	const char *words[64], *host = NULL, *port = NULL, *name = NULL, *base;
	size_t n = 0;
	bool v6;

	if (!cmdline || !ret)
		return -EINVAL;
	for (size_t i = 0; i < size && n < ELEMENTSOF(words);) {
		const char *end = memchr(cmdline + i, '\0', size - i);

		if (!end)
			return 0;
		words[n++] = cmdline + i;
		i = (size_t)(end - cmdline) + 1;
	}
	if (n == 0)
		return 0;
	/* A root-storage daemon's argv[0] starts with '@' (see blkstack-shutdown(8)). */
	base = strrchr(words[0], '/');
	base = base ? base + 1 : words[0];
	if (*base == '@')
		base++;
	if (!streq(base, "nbd-client"))
		return 0;

	for (size_t i = 1; i < n; i++) {
		const char *w = words[i], *o;

		if (w[0] != '-' || !w[1]) {
			/* HOST [PORT] DEVICE */
			if (!host)
				host = w;
			else if (!port && strspn(w, "0123456789") == strlen(w))
				port = w;
			continue;
		}
		o = w + 1 + (w[1] == '-');
		if (streq(o, "unix") || streq(o, "u"))
			return 0;
		if (startswith(o, "name="))
			name = o + 5;
		else if (!strchr(o, '=') && nbd_option_takes_value(o)) {
			if (++i >= n)
				return 0;
			if (streq(o, "N") || streq(o, "name"))
				name = words[i];
		} else if (w[1] == 'N' && w[2])
			name = w + 2;
	}
	/* A lone word is a name in nbdtab, or a device to check or disconnect. */
	if (!host || startswith(host, "/dev/") || startswith(host, "nbd"))
		return 0;
	v6 = strchr(host, ':');
	return strextend(ret, "nbd://", v6 ? "[" : "", host, v6 ? "]" : "", ":",
			 port ? port : "10809", "/", strempty(name), NULL) < 0 ?
		       -ENOMEM :
		       1;
}

/*
 * The server of a connected nbd device, from the command line of the nbd-client that holds
 * it (its "pid"; nbd-client stays while the device is connected unless netlink set it up):
 * source nbd://HOST:PORT/EXPORT, as stack.conf gives it, so that the network wait and show
 * name the server. A command line that says no host (an nbdtab name) gives none.
 */
static int add_nbd_source(struct scan *s, const struct blockdev *d, struct bs_node *n)
{
	_cleanup_free_ char *rel = NULL, *cmdline = NULL, *uri = NULL;
	size_t size;
	int r;

	if (d->kind != BS_NODE_NBD || !d->nbd_pid || n->attrs[BS_ATTR_SOURCE])
		return 0;
	if (!*d->nbd_pid || strspn(d->nbd_pid, "0123456789") != strlen(d->nbd_pid))
		return 0;
	if (strextend(&rel, "proc/", d->nbd_pid, "/cmdline", NULL) < 0)
		return -ENOMEM;
	r = bs_sysroot_read_file(s->c, rel, &cmdline, &size);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0;
	r = bs_nbd_cmdline_source(cmdline, size, &uri);
	if (r <= 0)
		return r;
	return bs_node_set_attr(n, BS_ATTR_SOURCE, uri);
}

/*
 * The drivers of the network: the modalias chains of every interface that is up and sits on
 * hardware (its sys/class/net link leads below sys/devices, not sys/devices/virtual), kept
 * on net:online so that an image for a root on network storage carries them, offline too.
 */
static int add_network_drivers(struct scan *s, struct bs_node *net)
{
	_cleanup_strv_free_ char **all = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_free_ char *joined = NULL;
	struct dirent *de;
	int r;

	if (net->attrs[BS_ATTR_MODALIAS] || bs_sysroot_opendir(s->c, "sys/class/net", &d) < 0)
		return 0;
	while ((de = readdir(d))) {
		_cleanup_free_ char *link = NULL, *target = NULL, *oper = NULL, *rel = NULL;
		_cleanup_strv_free_ char **chain = NULL;

		if (de->d_name[0] == '.')
			continue;
		if (strextend(&link, "sys/class/net/", de->d_name, NULL) < 0 ||
		    strextend(&rel, "sys/class/net/", de->d_name, "/operstate", NULL) < 0)
			return -ENOMEM;
		if (bs_sysroot_readlink(s->c, link, &target) < 0 || strstr(target, "/virtual/"))
			continue;
		if (bs_sysroot_read_attr(s->c, rel, &oper) < 0 || !streq(oper, "up"))
			continue;
		r = bs_sysfs_class_modalias_chain(s->c, "net", de->d_name, &chain);
		if (r == -ENOMEM)
			return r;
		for (char **w = r > 0 ? chain : NULL; w && *w; w++)
			if (!strv_contains(all, *w) && strv_extend(&all, *w) < 0)
				return -ENOMEM;
	}
	if (!all)
		return 0;
	if (strv_join(all, " ", &joined) < 0)
		return -ENOMEM;
	return bs_node_set_attr(net, BS_ATTR_MODALIAS, joined);
}

/* A network layer needs the network: net:online, as the configuration's lines say it too. */
static int add_network_edge(struct scan *s, struct blockdev *d)
{
	struct bs_node *net;
	int r;

	if (!d->on_network)
		return 0;
	r = bs_graph_ensure_node(s->g, BS_NODE_NETWORK, BS_NETWORK_NODE_ID, &net);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	/* A layer connected through it shows the network up, as far as blkstack can tell. */
	bs_node_raise_state(net, BS_STATE_ACTIVE);
	r = add_network_drivers(s, net);
	if (r < 0)
		return r;
	return bs_graph_add_edge(s->g, d->node, net, "network");
}

/* What an image needs to see the device and open what it holds, kept in the record so that
 * an image can be built offline: a disk's modaliases, a LUKS header's cipher. */
static int add_hardware_attrs(struct scan *s, struct blockdev *d, struct bs_node *n)
{
	_cleanup_free_ char *joined = NULL, *cipher = NULL;
	const char *fstype = bs_node_get_attr(n, "fstype");
	int r;

	if (d->kind == BS_NODE_DISK) {
		_cleanup_strv_free_ char **chain = NULL;

		r = bs_sysfs_modalias_chain(s->c, d->name, &chain);
		if (r == -ENOMEM)
			return r;
		if (r > 0) {
			if (strv_join(chain, " ", &joined) < 0)
				return -ENOMEM;
			r = bs_node_set_attr(n, BS_ATTR_MODALIAS, joined);
			if (r < 0)
				return r;
		}
	}
	if (fstype && streq(fstype, "crypto_LUKS")) {
		r = bs_luks_probe_cipher(s->c, d->name, &cipher);
		if (r < 0)
			return r;
		if (r > 0) {
			r = bs_node_set_attr(n, BS_ATTR_CIPHER, cipher);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int add_node(struct scan *s, struct blockdev *d)
{
	_cleanup_free_ char *id = NULL;
	const struct bs_blkid_entry *e;
	struct bs_node *n = NULL;
	int r;

	if (d->kind == BS_NODE_MD) {
		r = resolve_md_name(s, d);
		if (r < 0)
			return r;
	}
	r = device_id(d, &id);
	if (r < 0)
		return r;

	r = bs_graph_ensure_node(s->g, d->kind, id, &n);
	if (r == -ENOMEM)
		return r;
	if (r == -EEXIST) {
		bs_log_warn(s->c,
			    CLASS_BLOCK "/%s: '%s' is known already as another kind, ignoring",
			    d->name, id);
		return 0;
	}
	if (r < 0)
		return r;

	/* Two arrays may carry the same name (from different hosts); the second one then
	 * goes by its uuid, which is unique. */
	if (n->name && !streq(n->name, d->name)) {
		if (d->kind != BS_NODE_MD || !d->md_uuid || !d->md_name) {
			bs_log_warn(s->c, CLASS_BLOCK "/%s: '%s' is device '%s' already, ignoring",
				    d->name, id, n->name);
			return 0;
		}
		bs_log_warn(s->c,
			    CLASS_BLOCK "/%s: md name '%s' is taken by '%s', naming the array by "
					"its uuid",
			    d->name, d->md_name, n->name);
		id = mfree(id);
		if (strextend(&id, "md:", d->md_uuid, NULL) < 0)
			return -ENOMEM;
		r = bs_graph_ensure_node(s->g, d->kind, id, &n);
		if (r == -ENOMEM)
			return r;
		if (r < 0 || (n->name && !streq(n->name, d->name))) {
			bs_log_warn(s->c, CLASS_BLOCK "/%s: '%s' is taken as well, ignoring",
				    d->name, id);
			return 0;
		}
	}

	r = bs_node_set_block(n, d->name, d->devno);
	if (r < 0)
		return r;
	if (d->size)
		n->size = d->size;
	bs_node_raise_state(n, d->kind == BS_NODE_DISK || d->kind == BS_NODE_PART ?
				       BS_STATE_PRESENT :
				       BS_STATE_ACTIVE);
	bs_node_add_source(n, BS_SOURCE_LIVE);

	if ((r = set_attr(n, BS_ATTR_DM_NAME, d->dm_name)) < 0 ||
	    (r = set_attr(n, BS_ATTR_DM_UUID, d->dm_uuid)) < 0 ||
	    (r = set_attr(n, BS_ATTR_MD_LEVEL, d->md_level)) < 0 ||
	    (r = set_attr(n, BS_ATTR_MD_UUID, d->md_uuid)) < 0 ||
	    (r = set_attr(n, BS_ATTR_MD_NAME, d->kind == BS_NODE_MD ? d->md_name : NULL)) < 0 ||
	    (r = set_attr(n, BS_ATTR_BACKING_FILE,
			  bs_ctx_target_path(n->graph->ctx, d->backing_file))) < 0 ||
	    (r = set_attr(n, BS_ATTR_SERIAL, d->serial)) < 0)
		return r;

	r = find_identity(s, d, &e);
	if (r < 0)
		return r;
	r = bs_blkid_entry_apply(e, n);
	if (r < 0)
		return r;
	r = add_hardware_attrs(s, d, n);
	if (r < 0)
		return r;

	r = add_nbd_source(s, d, n);
	if (r < 0)
		return r;

	d->node = n;
	return 0;
}

/* Adds the edge from d to the device named name. path, the link below sys/class/block/DEV
 * that named it, or NULL, is what warnings name. */
static int add_edge_to(struct scan *s, struct blockdev *d, const char *name, const char *path,
		       const char *role)
{
	struct blockdev *t = find_dev(s, name);
	int r;

	if (!t && !path) {
		bs_log_warn(s->c, CLASS_BLOCK "/%s: '%s' is not in " CLASS_BLOCK ", ignoring",
			    d->name, name);
		return 0;
	}
	if (!t) {
		_cleanup_free_ char *rel = NULL;
		_cleanup_close_ int fd = -EBADF;

		if (strextend(&rel, CLASS_BLOCK "/", d->name, "/", path, NULL) < 0)
			return -ENOMEM;
		fd = bs_sysroot_open(s->c, rel, O_PATH);
		if (fd == -ENOENT)
			bs_log_warn(s->c, "%s: dangling link, ignoring", rel);
		else
			bs_log_warn(s->c, "%s: '%s' is not in " CLASS_BLOCK ", ignoring", rel,
				    name);
		return 0;
	}
	if (!t->node) /* idle, or warned about already */
		return 0;

	r = bs_graph_add_edge(s->g, d->node, t->node, role);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		bs_log_warn(s->c, CLASS_BLOCK "/%s: cannot need '%s' (%s), ignoring", d->name, name,
			    strerror(-r));
	return 0;
}

static int add_edges(struct scan *s, struct blockdev *d)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (d->kind == BS_NODE_PART) {
		if (!d->parent)
			return 0;
		return add_edge_to(s, d, d->parent, NULL, "parent");
	}

	if (d->kind == BS_NODE_MD && d->n_members > 0) {
		for (size_t i = 0; i < d->n_members; i++) {
			path = mfree(path);
			if (strextend(&path, "md/dev-", d->members[i].name, "/block", NULL) < 0)
				return -ENOMEM;
			r = add_edge_to(s, d, d->members[i].name, path, d->members[i].role);
			if (r < 0)
				return r;
		}
		return 0;
	}

	/* An LV's slaves are the PVs it happens to use; the lvm report, when there is one,
	 * replaces these with the VG. */
	for (char **i = d->slaves; i && *i; i++) {
		path = mfree(path);
		if (strextend(&path, "slaves/", *i, NULL) < 0)
			return -ENOMEM;
		r = add_edge_to(s, d, *i, path, d->kind == BS_NODE_MD ? "member" : "backing");
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the source -------------------------------------------------------------------------- */

static int add_device_name(struct scan *s, const char *name)
{
	struct blockdev *d;

	if (ARRAY_RESERVE(s->devs, s->allocated_devs, s->n_devs) < 0)
		return -ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->name = strdup(name);
	if (!d->name) {
		free(d);
		return -ENOMEM;
	}
	s->devs[s->n_devs++] = d;
	return 0;
}

static int compare_devs(const void *a, const void *b)
{
	return strcmp((*(struct blockdev *const *)a)->name, (*(struct blockdev *const *)b)->name);
}

int bs_source_sysfs(struct bs_graph *g, const struct bs_blkid_table *identities)
{
	_cleanup_closedir_ DIR *dir = NULL;
	struct scan s = { .g = g, .identities = identities };
	struct dirent *de;
	int r;

	if (!g)
		return -EINVAL;
	s.c = g->ctx;

	r = bs_sysroot_opendir(s.c, CLASS_BLOCK, &dir);
	if (r < 0) {
		bs_log_warn(s.c, CLASS_BLOCK ": %s", strerror(-r));
		return r;
	}
	s.class_fd = dirfd(dir);

	r = hashmap_new(HASHMAP_STRING, &s.by_name);
	if (r < 0)
		goto finish;

	/* Names first, sorted, so that the walk and its messages do not depend on the order
	 * of the directory. */
	errno = 0;
	while ((de = readdir(dir))) {
		if (is_dot(de->d_name))
			continue;
		r = add_device_name(&s, de->d_name);
		if (r < 0)
			goto finish;
		errno = 0;
	}
	if (errno != 0) {
		r = -errno;
		bs_log_warn(s.c, CLASS_BLOCK ": %s", strerror(-r));
		goto finish;
	}
	if (s.n_devs > 1)
		qsort(s.devs, s.n_devs, sizeof(*s.devs), compare_devs);

	for (size_t i = 0; i < s.n_devs; i++) {
		r = hashmap_put_str(s.by_name, s.devs[i]->name, s.devs[i]);
		if (r < 0)
			goto finish;
		r = scan_device(&s, s.devs[i]);
		if (r < 0)
			goto finish;
	}

	/* Nodes once everything is read: an md array is named by what its members hold. */
	for (size_t i = 0; i < s.n_devs; i++) {
		if (s.devs[i]->skip)
			continue;
		r = add_node(&s, s.devs[i]);
		if (r < 0)
			goto finish;
	}
	for (size_t i = 0; i < s.n_devs; i++) {
		if (!s.devs[i]->node)
			continue;
		r = add_edges(&s, s.devs[i]);
		if (r >= 0)
			r = add_network_edge(&s, s.devs[i]);
		if (r < 0)
			goto finish;
	}
	bs_log_debug(s.c, CLASS_BLOCK ": %zu devices", s.n_devs);
	r = 0;

finish:
	scan_done(&s);
	return r;
}
