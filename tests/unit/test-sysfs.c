/* Unit tests of the sysfs and blkid sources, on captured fixtures and on trees made per test. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "blkstack.h"
#include "graph.h"
#include "sources/sources.h"
#include "tests.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)

/* ---- helpers ----------------------------------------------------------------------------- */

/* Formats a string that stays valid for the whole test: each test is a process of its own,
 * and what stays reachable from here is no leak. */
static char **kept;
static size_t n_kept;

_printf_(1, 2) static const char *f(const char *format, ...)
{
	char *s = NULL, **p;
	va_list ap;
	int n;

	va_start(ap, format);
	n = vasprintf(&s, format, ap);
	va_end(ap);
	p = reallocarray(kept, n_kept + 1, sizeof(*kept));
	if (n < 0 || !p)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	kept = p;
	kept[n_kept++] = s;
	return s;
}

/* Every warning and error the library logged in this test, one per line. */
static char *logged;

_printf_(6, 0) static void capture_log(_unused_ void *userdata, int priority,
				       _unused_ const char *file, _unused_ int line,
				       _unused_ const char *fn, const char *format, va_list args)
{
	char *message = NULL;

	if (priority > LOG_WARNING)
		return;
	if (vasprintf(&message, format, args) < 0 || strextend(&logged, message, "\n", NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	free(message);
}

/* A logged line that contains both a and b (b may be NULL). */
static bool logged_line_with(const char *a, const char *b)
{
	for (const char *p = logged; p && *p;) {
		const char *eol = strchrnul(p, '\n');
		_cleanup_free_ char *l = strndup(p, (size_t)(eol - p));

		if (!l)
			test_fail(TEST_FILE, __LINE__, "out of memory");
		if (strstr(l, a) && (!b || strstr(l, b)))
			return true;
		p = *eol ? eol + 1 : eol;
	}
	return false;
}

#define ASSERT_LOGGED(a, b)                                                                        \
	do {                                                                                       \
		if (!logged_line_with((a), (b)))                                                   \
			test_fail(TEST_FILE, __LINE__,                                             \
				  "no warning with '%s' and '%s'; logged:\n%s", (a), strna(b),     \
				  logged ? logged : "(nothing)");                                  \
	} while (0)

#define ASSERT_NOTHING_LOGGED()                                                                    \
	do {                                                                                       \
		if (logged)                                                                        \
			test_fail(TEST_FILE, __LINE__, "unexpected warnings:\n%s", logged);        \
	} while (0)

static void run(const char *const argv[])
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_OK(pid);
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		test_fail(TEST_FILE, __LINE__, "'%s' failed (status %d)", argv[0], status);
}

/*
 * The sysroot of a captured fixture, read-only. BLKSTACK_FIXTURES names either the tree meson
 * unpacked (NAME/sys exists) or tests/fixtures itself (NAME/sys.tar.xz, unpacked here into
 * the test's directory). Skips when the fixture was not captured.
 */
static const char *fixture(const char *name)
{
	const char *fixtures = getenv("BLKSTACK_FIXTURES");
	const char *tmp;

	if (!fixtures)
		SKIP("BLKSTACK_FIXTURES is not set; run through 'meson test'");
	if (access(f("%s/%s/sys/class/block", fixtures, name), F_OK) >= 0)
		return f("%s/%s", fixtures, name);
	if (access(f("%s/%s/sys.tar.xz", fixtures, name), F_OK) < 0)
		SKIP("fixture '%s' has not been captured", name);

	tmp = test_tmpdir();
	run((const char *const[]){ f("%s/unpack", fixtures), name, tmp, NULL });
	return f("%s/%s", tmp, name);
}

/* A copy of a fixture in the test's directory, to damage. */
static const char *fixture_copy(const char *name)
{
	const char *src = fixture(name), *dst = f("%s/copy", test_tmpdir());

	run((const char *const[]){ "cp", "-a", src, dst, NULL });
	return dst;
}

static struct bs_graph *new_graph(const char *sysroot)
{
	struct bs_ctx_opts opts = { .sysroot = sysroot };
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	struct bs_graph *g = NULL;

	ASSERT_OK(unsetenv("BLKSTACK_DEBUG"));
	ASSERT_OK(bs_ctx_new(&opts, &c));
	bs_ctx_set_log_fn(c, capture_log, NULL);
	ASSERT_OK(bs_graph_new(c, &g));
	return g;
}

/* What bs_graph_add_live() does first: identities, then the devices. */
static struct bs_graph *load(const char *sysroot)
{
	struct bs_graph *g = new_graph(sysroot);
	_cleanup_(bs_blkid_table_freep) struct bs_blkid_table *t = NULL;

	ASSERT_OK(bs_source_blkid(g, &t));
	ASSERT_OK(bs_source_sysfs(g, t));
	return g;
}

static struct bs_node *node_of_kind(const struct bs_graph *g, const char *id,
				    enum bs_node_kind kind)
{
	struct bs_node *n = bs_graph_find_node(g, id);

	if (!n)
		test_fail(TEST_FILE, __LINE__, "no node '%s'", id);
	if (bs_node_get_kind(n) != kind)
		test_fail(TEST_FILE, __LINE__, "node '%s' is a '%s', not a '%s'", id,
			  bs_node_kind_to_string(bs_node_get_kind(n)),
			  bs_node_kind_to_string(kind));
	return n;
}

/* The role of the edge from holder to needs, or NULL if there is none. */
static const char *role(const struct bs_graph *g, const char *holder, const char *needs)
{
	struct bs_node *h = bs_graph_find_node(g, holder);

	if (!h)
		test_fail(TEST_FILE, __LINE__, "no node '%s'", holder);
	for (size_t i = 0; i < bs_node_get_n_needs(h); i++) {
		struct bs_edge *e = bs_node_get_need(h, i);

		if (streq(bs_node_get_id(bs_edge_get_needs(e)), needs))
			return bs_edge_get_role(e);
	}
	return NULL;
}

static const char *attr(const struct bs_graph *g, const char *id, const char *key)
{
	struct bs_node *n = bs_graph_find_node(g, id);

	if (!n)
		test_fail(TEST_FILE, __LINE__, "no node '%s'", id);
	return bs_node_get_attr(n, key);
}

static size_t count_kind(const struct bs_graph *g, enum bs_node_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < bs_graph_get_n_nodes(g); i++)
		if (bs_node_get_kind(bs_graph_get_node(g, i)) == kind)
			n++;
	return n;
}

/* A file's contents without trailing newlines; the test fails if it cannot be read. */
static const char *file_text(const char *dir, const char *relpath)
{
	_cleanup_fclose_ FILE *file = NULL;
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	ssize_t n;

	file = fopen(f("%s/%s", dir, relpath), "re");
	if (!file)
		test_fail(TEST_FILE, __LINE__, "fopen('%s/%s'): %m", dir, relpath);
	n = getdelim(&text, &size, '\0', file);
	if (n < 0)
		test_fail(TEST_FILE, __LINE__, "reading '%s/%s': %m", dir, relpath);
	while (n > 0 && text[n - 1] == '\n')
		text[--n] = '\0';
	return f("%s", text);
}

/* The value of TAG in the fixture's blkid.tab line for devname, found without the code under
 * test, so that the expectations follow a recapture. NULL if the line has no such tag. */
static const char *tab_value(const char *sysroot, const char *devname, const char *tag)
{
	const char *tab = file_text(sysroot, "run/blkid/blkid.tab");
	const char *end = strstr(tab, f(">%s</device>", devname)), *start, *p, *q;
	const char *key = f(" %s=\"", tag);

	if (!end)
		test_fail(TEST_FILE, __LINE__, "no '%s' in blkid.tab", devname);
	start = end;
	while (start > tab && start[-1] != '\n')
		start--;
	p = strstr(start, key);
	if (!p || p > end)
		return NULL;
	p += strlen(key);
	q = strchr(p, '"');
	return f("%.*s", (int)(q - p), p);
}

/* Every identity the fixture's blkid.tab has for devname is on node id. */
static void assert_identities(const struct bs_graph *g, const char *sysroot, const char *id,
			      const char *devname)
{
	static const char *const tags[][2] = {
		{ "TYPE", "fstype" }, { "UUID", "uuid" },	  { "UUID_SUB", "uuid_sub" },
		{ "LABEL", "label" }, { "PARTUUID", "partuuid" }, { "PARTLABEL", "partlabel" },
	};

	for (size_t i = 0; i < ELEMENTSOF(tags); i++)
		ASSERT_STREQ(attr(g, id, tags[i][1]), tab_value(sysroot, devname, tags[i][0]));
}

/* ---- captured fixtures ------------------------------------------------------------------- */

TEST(ps1_raid6_lvm_crypt_assembled)
{
	const char *root = fixture("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = load(root);
	static const char *const disks[] = { "vda", "vdb", "vdc", "vdd" };
	struct bs_node *n;

	ASSERT_NOTHING_LOGGED();

	for (size_t i = 0; i < ELEMENTSOF(disks); i++) {
		const char *id = f("blk:%s", disks[i]);

		n = node_of_kind(g, id, BS_NODE_DISK);
		ASSERT_STREQ(bs_node_get_name(n), disks[i]);
		ASSERT_STREQ(bs_node_get_devno(n),
			     file_text(root, f("sys/class/block/%s/dev", disks[i])));
		ASSERT_EQ(bs_node_get_size(n), UINT64_C(327680) * 512);
		ASSERT_EQ(bs_node_get_state(n), BS_STATE_PRESENT);
		ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_LIVE);
		ASSERT_STREQ(bs_node_get_attr(n, "serial"), f("ps1%c", 'a' + (int)i));
		assert_identities(g, root, id, f("/dev/%s", disks[i]));
		ASSERT_STREQ(role(g, "md:sys", id), "member");
	}

	/* Named after the members' label "guest:sys", without the homehost. */
	n = node_of_kind(g, "md:sys", BS_NODE_MD);
	ASSERT_STREQ(bs_node_get_name(n), "md127");
	ASSERT_STREQ(bs_node_get_devno(n), "9:127");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ACTIVE);
	ASSERT_EQ(bs_node_get_n_needs(n), 4);
	ASSERT_STREQ(bs_node_get_attr(n, "md_level"), "raid6");
	ASSERT_STREQ(bs_node_get_attr(n, "md_name"), "sys");
	ASSERT_STREQ(bs_node_get_attr(n, "md_uuid"),
		     file_text(root, "sys/class/block/md127/md/uuid"));
	assert_identities(g, root, "md:sys", "/dev/md127");
	ASSERT_STREQ(bs_node_get_attr(n, "fstype"), "LVM2_member");

	ASSERT_STREQ(role(g, "lv:vg0/root", "md:sys"), "backing");
	ASSERT_STREQ(role(g, "lv:vg0/srv", "md:sys"), "backing");
	n = node_of_kind(g, "lv:vg0/root", BS_NODE_LV);
	ASSERT_STREQ(bs_node_get_attr(n, "dm_name"), "vg0-root");
	ASSERT_STREQ(bs_node_get_attr(n, "dm_uuid"),
		     file_text(root, "sys/class/block/dm-0/dm/uuid"));
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ACTIVE);
	assert_identities(g, root, "lv:vg0/root", "/dev/mapper/vg0-root");
	assert_identities(g, root, "lv:vg0/srv", "/dev/mapper/vg0-srv");

	ASSERT_STREQ(role(g, "crypt:cryptroot", "lv:vg0/root"), "backing");
	ASSERT_STREQ(role(g, "crypt:cryptsrv", "lv:vg0/srv"), "backing");
	n = node_of_kind(g, "crypt:cryptroot", BS_NODE_CRYPT);
	ASSERT_STREQ(bs_node_get_name(n), "dm-2");
	ASSERT_STREQ(bs_node_get_attr(n, "dm_name"), "cryptroot");
	ASSERT_STREQ(bs_node_get_attr(n, "fstype"), "ext4");
	ASSERT_STREQ(bs_node_get_attr(n, "label"), "root");
	assert_identities(g, root, "crypt:cryptroot", "/dev/mapper/cryptroot");
	node_of_kind(g, "crypt:cryptsrv", BS_NODE_CRYPT);
	ASSERT_STREQ(attr(g, "crypt:cryptsrv", "fstype"), "btrfs");
	assert_identities(g, root, "crypt:cryptsrv", "/dev/mapper/cryptsrv");

	/* Idle loop devices are left out, as lsblk does. */
	ASSERT_NULL(bs_graph_find_node(g, "blk:loop0"));
	ASSERT_EQ(bs_graph_get_n_nodes(g), 9);
	ASSERT_EQ(bs_graph_get_n_edges(g), 8);
}

TEST(ps3_crypt_raid10_lvm_assembled)
{
	const char *root = fixture("ps3-crypt-raid10-lvm-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = load(root);
	static const char *const legs[][2] = { { "a", "vda" }, { "b", "vdb" }, { "c", "vdc" } };
	struct bs_node *n;

	ASSERT_NOTHING_LOGGED();

	/* The array's members are crypt mappings, known to blkid as /dev/mapper/cryptX. */
	n = node_of_kind(g, "md:r10", BS_NODE_MD);
	ASSERT_STREQ(bs_node_get_attr(n, "md_level"), "raid10");
	ASSERT_EQ(bs_node_get_n_needs(n), 3);
	for (size_t i = 0; i < ELEMENTSOF(legs); i++) {
		const char *crypt = f("crypt:crypt%s", legs[i][0]);

		node_of_kind(g, crypt, BS_NODE_CRYPT);
		ASSERT_STREQ(role(g, "md:r10", crypt), "member");
		ASSERT_STREQ(role(g, crypt, f("blk:%s", legs[i][1])), "backing");
		ASSERT_STREQ(attr(g, crypt, "fstype"), "linux_raid_member");
		assert_identities(g, root, crypt, f("/dev/mapper/crypt%s", legs[i][0]));
		assert_identities(g, root, f("blk:%s", legs[i][1]), f("/dev/%s", legs[i][1]));
	}
	for (size_t i = 0; i < 3; i++) {
		const char *lv = f("lv:vg2/%s", (const char *[]){ "root", "home", "var" }[i]);

		node_of_kind(g, lv, BS_NODE_LV);
		ASSERT_STREQ(role(g, lv, "md:r10"), "backing");
	}
	ASSERT_STREQ(attr(g, "lv:vg2/var", "fstype"), "jfs");
	ASSERT_STREQ(attr(g, "lv:vg2/root", "fstype"), "xfs");
}

TEST(lvm_swap_loop_assembled)
{
	const char *root = fixture("lvm-swap-loop-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = load(root);
	struct bs_node *n;

	ASSERT_NOTHING_LOGGED();

	n = node_of_kind(g, "blk:vda", BS_NODE_DISK);
	ASSERT_STREQ(bs_node_get_attr(n, "serial"), "lsl");
	ASSERT_EQ(bs_node_get_n_holders(n), 2);

	for (int i = 1; i <= 2; i++) {
		const char *id = f("blk:vda%d", i);

		n = node_of_kind(g, id, BS_NODE_PART);
		ASSERT_STREQ(bs_node_get_devno(n), f("254:%d", i));
		ASSERT_EQ(bs_node_get_state(n), BS_STATE_PRESENT);
		ASSERT_STREQ(role(g, id, "blk:vda"), "parent");
		ASSERT_NULL(bs_node_get_attr(n, "serial"));
		assert_identities(g, root, id, f("/dev/vda%d", i));
	}
	ASSERT_STREQ(attr(g, "blk:vda1", "partlabel"), "lslboot");
	ASSERT_STREQ(attr(g, "blk:vda2", "partlabel"), "lslpv");
	ASSERT_STREQ(attr(g, "blk:vda2", "fstype"), "LVM2_member");

	n = node_of_kind(g, "blk:loop0", BS_NODE_LOOP);
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ACTIVE);
	ASSERT_STREQ(bs_node_get_attr(n, "backing_file"), "/data/disk.img");
	ASSERT_EQ(bs_node_get_size(n), UINT64_C(81920) * 512);
	assert_identities(g, root, "blk:loop0", "/dev/loop0");
	ASSERT_NULL(bs_graph_find_node(g, "blk:loop1"));

	ASSERT_STREQ(role(g, "lv:sys/root", "blk:vda2"), "backing");
	ASSERT_STREQ(role(g, "lv:sys/swap", "blk:vda2"), "backing");
	ASSERT_STREQ(role(g, "lv:sys/data", "blk:vda2"), "backing");
	ASSERT_STREQ(role(g, "crypt:cryptdata", "lv:sys/data"), "backing");
	ASSERT_STREQ(attr(g, "lv:sys/swap", "fstype"), "swap");
	assert_identities(g, root, "crypt:cryptdata", "/dev/mapper/cryptdata");
	ASSERT_EQ(bs_graph_get_n_nodes(g), 8);
}

TEST(btrfs_2crypt_assembled)
{
	const char *root = fixture("btrfs-2crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = load(root);

	ASSERT_NOTHING_LOGGED();
	ASSERT_STREQ(role(g, "crypt:crypt1", "blk:vda2"), "backing");
	ASSERT_STREQ(role(g, "crypt:crypt2", "blk:vdb1"), "backing");
	ASSERT_STREQ(role(g, "blk:vdb1", "blk:vdb"), "parent");
	/* One filesystem on two devices: both carry its UUID, each its own UUID_SUB. */
	ASSERT_STREQ(attr(g, "crypt:crypt1", "uuid"), attr(g, "crypt:crypt2", "uuid"));
	ASSERT_FALSE(
		streq(attr(g, "crypt:crypt1", "uuid_sub"), attr(g, "crypt:crypt2", "uuid_sub")));
	assert_identities(g, root, "crypt:crypt1", "/dev/mapper/crypt1");
	assert_identities(g, root, "blk:vda2", "/dev/vda2");
	/* Disks with a partition table have no cache entry. */
	ASSERT_NULL(attr(g, "blk:vda", "fstype"));
}

/* Nothing assembled: disks and partitions only, all present. */
TEST(disks_fixtures)
{
	static const char *const names[] = {
		"ps1-raid6-lvm-crypt-disks",
		"ps2-raid5-crypt-lvm-disks",
		"ps3-crypt-raid10-lvm-disks",
		"lvm-swap-loop-disks",
		"btrfs-2crypt-disks",
		"rootless-ps1-raid6-lvm-crypt-disks",
		"rootless-ps3-crypt-raid10-lvm-disks",
	};
	const char *fixtures = getenv("BLKSTACK_FIXTURES");
	size_t tested = 0;

	if (!fixtures)
		SKIP("BLKSTACK_FIXTURES is not set; run through 'meson test'");

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

		if (access(f("%s/%s/sys", fixtures, names[i]), F_OK) < 0 &&
		    access(f("%s/%s/sys.tar.xz", fixtures, names[i]), F_OK) < 0)
			continue;
		g = load(fixture(names[i]));
		ASSERT_NOTHING_LOGGED();
		ASSERT_TRUE(bs_graph_get_n_nodes(g) > 0);
		ASSERT_EQ(count_kind(g, BS_NODE_DISK) + count_kind(g, BS_NODE_PART),
			  bs_graph_get_n_nodes(g));
		for (size_t j = 0; j < bs_graph_get_n_nodes(g); j++) {
			struct bs_node *n = bs_graph_get_node(g, j);

			ASSERT_EQ(bs_node_get_state(n), BS_STATE_PRESENT);
			ASSERT_NOTNULL(bs_node_get_devno(n));
		}
		for (size_t j = 0; j < bs_graph_get_n_edges(g); j++)
			ASSERT_STREQ(bs_edge_get_role(bs_graph_get_edge(g, j)), "parent");
		tested++;
	}
	if (tested == 0)
		SKIP("no -disks fixture has been captured");

	/* The members of an array that is not assembled still say what they belong to. */
	if (access(f("%s/ps1-raid6-lvm-crypt-disks/sys", fixtures), F_OK) >= 0 ||
	    access(f("%s/ps1-raid6-lvm-crypt-disks/sys.tar.xz", fixtures), F_OK) >= 0) {
		_cleanup_(bs_graph_unrefp) struct bs_graph *g =
			load(fixture("ps1-raid6-lvm-crypt-disks"));

		ASSERT_STREQ(attr(g, "blk:vdc", "fstype"), "linux_raid_member");
		ASSERT_STREQ(attr(g, "blk:vdc", "label"), "guest:sys");
	}
}

/* Every captured fixture reads without a warning, and every node is a live block device. */
TEST(all_fixtures_read_cleanly)
{
	static const char *const names[] = {
		"btrfs-2crypt-assembled",
		"lvm-swap-loop-assembled",
		"ps1-raid6-lvm-crypt-assembled",
		"ps2-raid5-crypt-lvm-assembled",
		"ps3-crypt-raid10-lvm-assembled",
		"rootless-ps1-raid6-lvm-crypt-assembled",
		"rootless-ps2-raid5-crypt-lvm-assembled",
		"rootless-ps3-crypt-raid10-lvm-assembled",
	};
	const char *fixtures = getenv("BLKSTACK_FIXTURES");

	if (!fixtures)
		SKIP("BLKSTACK_FIXTURES is not set; run through 'meson test'");

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

		if (access(f("%s/%s/sys", fixtures, names[i]), F_OK) < 0 &&
		    access(f("%s/%s/sys.tar.xz", fixtures, names[i]), F_OK) < 0)
			continue;
		g = load(fixture(names[i]));
		ASSERT_NOTHING_LOGGED();
		for (size_t j = 0; j < bs_graph_get_n_nodes(g); j++) {
			struct bs_node *n = bs_graph_get_node(g, j);

			ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_LIVE);
			ASSERT_NOTNULL(bs_node_get_name(n));
			ASSERT_NOTNULL(bs_node_get_devno(n));
			ASSERT_TRUE(bs_node_get_size(n) > 0);
			/* Every stacked device is named after what it is, not its minor. */
			if (bs_node_get_kind(n) == BS_NODE_MD)
				ASSERT_NOTNULL(bs_node_get_attr(n, "md_name"));
		}
		ASSERT_EQ(count_kind(g, BS_NODE_DM), 0);
	}
}

/* ---- damage ------------------------------------------------------------------------------ */

TEST(broken_fixture_warns_and_reads_the_rest)
{
	const char *root = fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct bs_node *n;

	/* A slave link to a device that does not exist. */
	test_symlink(root, "sys/devices/virtual/block/dm-3/slaves/dm-9", "../../dm-9");
	/* A device without its dev attribute. */
	ASSERT_OK(unlink(f("%s/sys/class/block/vdb/dev", root)));
	/* No holders/ (as git keeps trees), and no slaves/ either. */
	run((const char *const[]){ "rm", "-rf", f("%s/sys/class/block/vda/holders", root),
				   f("%s/sys/class/block/dm-2/slaves", root), NULL });
	/* A class entry pointing nowhere. */
	test_symlink(root, "sys/class/block/vdz", "../../devices/virtual/block/vdz");
	/* An md member whose state cannot be read. */
	ASSERT_OK(unlink(f("%s/sys/class/block/md127/md/dev-vdd/state", root)));

	g = load(root);

	ASSERT_LOGGED("sys/class/block/dm-3/slaves/dm-9: dangling link", ", ignoring");
	ASSERT_LOGGED("sys/class/block/vdb/dev: ", ", ignoring");
	ASSERT_LOGGED("sys/class/block/vdz: dangling link", ", ignoring");
	ASSERT_LOGGED("sys/class/block/md127/md/dev-vdd/state: ", "member");
	ASSERT_FALSE(logged_line_with("holders", NULL));

	/* The rest is all there. */
	ASSERT_EQ(bs_graph_get_n_nodes(g), 9);
	n = node_of_kind(g, "blk:vdb", BS_NODE_DISK);
	ASSERT_NULL(bs_node_get_devno(n));
	ASSERT_EQ(bs_node_get_size(n), UINT64_C(327680) * 512);
	ASSERT_STREQ(role(g, "md:sys", "blk:vdb"), "member");
	ASSERT_STREQ(role(g, "md:sys", "blk:vdd"), "member");
	ASSERT_STREQ(role(g, "crypt:cryptsrv", "lv:vg0/srv"), "backing");
	ASSERT_EQ(bs_node_get_n_needs(bs_graph_find_node(g, "crypt:cryptsrv")), 1);
	ASSERT_EQ(bs_node_get_n_needs(bs_graph_find_node(g, "crypt:cryptroot")), 0);
	ASSERT_STREQ(attr(g, "crypt:cryptroot", "fstype"), "ext4");
}

TEST(missing_class_block_fails)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	test_mkdir_p(root, "sys");
	g = new_graph(root);
	ASSERT_ERR(bs_source_sysfs(g, NULL), -ENOENT);
	ASSERT_LOGGED("sys/class/block", NULL);
}

/* ---- identities -------------------------------------------------------------------------- */

/* A sysroot other than "/" is never probed: without a cache, identities are unknown. */
TEST(no_blkid_cache_warns_and_never_probes)
{
	const char *root = fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	_cleanup_(bs_blkid_table_freep) struct bs_blkid_table *t = NULL;
	const char *md_uuid = file_text(root, "sys/class/block/md127/md/uuid");

	ASSERT_OK(unlink(f("%s/run/blkid/blkid.tab", root)));
	g = new_graph(root);
	ASSERT_OK(bs_source_blkid(g, &t));
	ASSERT_NULL(t);
	ASSERT_LOGGED("run/blkid/blkid.tab: not found", "identities");
	ASSERT_OK(bs_source_sysfs(g, t));

	for (size_t i = 0; i < bs_graph_get_n_nodes(g); i++) {
		struct bs_node *n = bs_graph_get_node(g, i);

		ASSERT_NULL(bs_node_get_attr(n, "fstype"));
		ASSERT_NULL(bs_node_get_attr(n, "uuid"));
		ASSERT_NULL(bs_node_get_attr(n, "label"));
	}
	/* Without the members' labels the array goes by its uuid. */
	node_of_kind(g, f("md:%s", md_uuid), BS_NODE_MD);
	ASSERT_NULL(attr(g, f("md:%s", md_uuid), "md_name"));
	ASSERT_EQ(bs_graph_get_n_nodes(g), 9);
}

/* Names in the cache need not exist on this host; libblkid's own reader would drop them. */
TEST(blkid_cache_is_not_checked_against_the_host)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	test_write_file(root, "sys/devices/virtual/block/bsnohost0/dev", "240:0\n");
	test_write_file(root, "sys/devices/virtual/block/bsnohost0/size", "2048\n");
	test_symlink(root, "sys/class/block/bsnohost0", "../../devices/virtual/block/bsnohost0");
	test_write_file(root, "run/blkid/blkid.tab",
			"<device DEVNO=\"0xf000\" TIME=\"1.2\" UUID=\"u-1\" TYPE=\"ext4\">"
			"/dev/bsnohost0</device>\n");
	ASSERT_TRUE(access("/dev/bsnohost0", F_OK) < 0);

	g = load(root);
	ASSERT_NOTHING_LOGGED();
	ASSERT_STREQ(attr(g, "blk:bsnohost0", "fstype"), "ext4");
	ASSERT_STREQ(attr(g, "blk:bsnohost0", "uuid"), "u-1");
}

TEST(blkid_cache_parse)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	struct bs_blkid_table *t = NULL;
	const struct bs_blkid_entry *e;
	struct bs_ctx_opts opts = { .sysroot = test_tmpdir() };

	ASSERT_OK(bs_ctx_new(&opts, &c));
	bs_ctx_set_log_fn(c, capture_log, NULL);
	ASSERT_OK(bs_blkid_table_parse(
		c, "x.tab",
		"# a comment\n"
		"\n"
		"<other>markup</other>\n"
		"  <device DEVNO=\"0xfe00\" PRI=\"40\" LABEL=\"a b\" TYPE=\"ext4\">/dev/vda</device>\n"
		"<device UUID=unquoted TYPE=xfs>/dev/vdb</device>\n"
		"garbage line\n"
		"<device TYPE=\"ext4>/dev/vdc</device>\n"
		"<device TYPE=\"swap\">   </device>\n"
		"<device TYPE=\"swap\" LABEL=\"old\">/dev/vdd</device>\n"
		"<device TYPE=\"ext2\" PARTUUID=\"p-1\" PARTLABEL=\"pl\" UUID_SUB=\"s\">/dev/vdd\n"
		"<devicex TYPE=\"swap\">/dev/vde</device>\n"
		"<device TYPE=\"vfat\">/dev/vdf</device>",
		&t));

	ASSERT_EQ(bs_blkid_table_size(t), 4);
	e = bs_blkid_table_find(t, "/dev/vda");
	ASSERT_NOTNULL(e);
	ASSERT_STREQ(bs_blkid_entry_get(e, BS_BLKID_TYPE), "ext4");
	ASSERT_STREQ(bs_blkid_entry_get(e, BS_BLKID_LABEL), "a b");
	ASSERT_NULL(bs_blkid_entry_get(e, BS_BLKID_UUID));
	e = bs_blkid_table_find(t, "/dev/vdb");
	ASSERT_STREQ(bs_blkid_entry_get(e, BS_BLKID_UUID), "unquoted");
	ASSERT_STREQ(bs_blkid_entry_get(e, BS_BLKID_TYPE), "xfs");
	ASSERT_NULL(bs_blkid_table_find(t, "/dev/vdc"));
	/* A later entry for a name replaces the earlier one; the end tag may be missing. */
	e = bs_blkid_table_find(t, "/dev/vdd");
	ASSERT_STREQ(bs_blkid_entry_get(e, BS_BLKID_TYPE), "ext2");
	ASSERT_NULL(bs_blkid_entry_get(e, BS_BLKID_LABEL));
	ASSERT_STREQ(bs_blkid_entry_get(e, BS_BLKID_PARTUUID), "p-1");
	ASSERT_STREQ(bs_blkid_entry_get(e, BS_BLKID_PARTLABEL), "pl");
	ASSERT_STREQ(bs_blkid_entry_get(e, BS_BLKID_UUID_SUB), "s");
	ASSERT_NULL(bs_blkid_table_find(t, "/dev/vde"));
	/* The last line needs no newline. */
	ASSERT_NOTNULL(bs_blkid_table_find(t, "/dev/vdf"));

	ASSERT_LOGGED("x.tab:6: ", ", ignoring");
	ASSERT_LOGGED("x.tab:7: unbalanced quotes", ", ignoring");
	ASSERT_LOGGED("x.tab:8: no device name", ", ignoring");
	ASSERT_LOGGED("x.tab:11: ", ", ignoring");
	ASSERT_FALSE(logged_line_with("x.tab:1:", NULL));
	ASSERT_FALSE(logged_line_with("x.tab:3:", NULL));

	bs_blkid_table_free(t);
}

/* ---- trees made per test ----------------------------------------------------------------- */

/* Adds a block device to the tree below root: sys/devices/DEVPATH with dev and size, and its
 * class link. */
static void add_dev(const char *root, const char *devpath, const char *dev, const char *size)
{
	const char *name = strrchr(devpath, '/') + 1;

	test_write_file(root, f("sys/devices/%s/dev", devpath), f("%s\n", dev));
	test_write_file(root, f("sys/devices/%s/size", devpath), f("%s\n", size));
	test_symlink(root, f("sys/class/block/%s", name), f("../../devices/%s", devpath));
}

static void add_dm(const char *root, const char *name, const char *dev, const char *dm_name,
		   const char *dm_uuid)
{
	add_dev(root, f("virtual/block/%s", name), dev, "2048");
	test_write_file(root, f("sys/devices/virtual/block/%s/dm/name", name), f("%s\n", dm_name));
	test_write_file(root, f("sys/devices/virtual/block/%s/dm/uuid", name), f("%s\n", dm_uuid));
}

static void add_slave(const char *root, const char *holder, const char *slave)
{
	test_symlink(root, f("sys/devices/virtual/block/%s/slaves/%s", holder, slave),
		     f("../../%s", slave));
}

static void add_md(const char *root, const char *name, const char *dev, const char *level,
		   const char *uuid)
{
	add_dev(root, f("virtual/block/%s", name), dev, "4096");
	test_write_file(root, f("sys/devices/virtual/block/%s/md/level", name), f("%s\n", level));
	test_write_file(root, f("sys/devices/virtual/block/%s/md/uuid", name), f("%s\n", uuid));
}

static void add_md_member(const char *root, const char *md, const char *member, const char *state)
{
	const char *dir = f("sys/devices/virtual/block/%s/md/dev-%s", md, member);

	test_symlink(root, f("%s/block", dir), f("../../../%s", member));
	test_write_file(root, f("%s/state", dir), f("%s\n", state));
	add_slave(root, md, member);
}

TEST(dm_kinds_and_lvm_names)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	add_dev(root, "virtual/block/vda", "254:0", "8192");
	add_dm(root, "dm-0", "253:0", "my--vg-lv--x", "LVM-aaaabbbb");
	add_dm(root, "dm-1", "253:1", "mpatha", "mpath-3600508b400105e210000900000490000");
	add_dm(root, "dm-2", "253:2", "plain", "");
	add_dm(root, "dm-3", "253:3", "secret_dif", "CRYPT-SUBDEV-abcd-secret_dif");
	add_dm(root, "dm-4", "253:4", "secret", "CRYPT-LUKS2-abcd-secret");
	add_dm(root, "dm-5", "253:5", "odd", "LVM-nodash");
	add_slave(root, "dm-0", "vda");
	add_slave(root, "dm-3", "dm-0");
	add_slave(root, "dm-4", "dm-3");

	g = load(root);
	ASSERT_LOGGED("run/blkid/blkid.tab: not found", NULL);
	ASSERT_LOGGED("sys/class/block/dm-5/dm/name: LVM device 'odd'", NULL);

	node_of_kind(g, "lv:my-vg/lv-x", BS_NODE_LV);
	ASSERT_STREQ(attr(g, "lv:my-vg/lv-x", "dm_name"), "my--vg-lv--x");
	ASSERT_STREQ(attr(g, "lv:my-vg/lv-x", "dm_uuid"), "LVM-aaaabbbb");
	ASSERT_STREQ(role(g, "lv:my-vg/lv-x", "blk:vda"), "backing");
	node_of_kind(g, "dm:mpatha", BS_NODE_MPATH);
	node_of_kind(g, "dm:plain", BS_NODE_DM);
	ASSERT_NULL(attr(g, "dm:plain", "dm_uuid"));
	node_of_kind(g, "dm:secret_dif", BS_NODE_DM);
	node_of_kind(g, "crypt:secret", BS_NODE_CRYPT);
	ASSERT_STREQ(role(g, "crypt:secret", "dm:secret_dif"), "backing");
	node_of_kind(g, "dm:odd", BS_NODE_DM);
	ASSERT_EQ(bs_node_get_state(bs_graph_find_node(g, "dm:plain")), BS_STATE_ACTIVE);
}

TEST(md_roles_names_and_nesting)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	add_dev(root, "virtual/block/vda", "254:0", "8192");
	add_dev(root, "virtual/block/vdb", "254:16", "8192");
	add_dev(root, "virtual/block/vdc", "254:32", "8192");
	add_dev(root, "virtual/block/vdd", "254:48", "8192");
	add_dev(root, "virtual/block/vde", "254:64", "8192");
	add_md(root, "md1", "9:1", "raid1", "11111111:11111111:11111111:11111111");
	add_md_member(root, "md1", "vda", "in_sync");
	add_md_member(root, "md1", "vdb", "in_sync,write_mostly");
	add_md_member(root, "md1", "vdc", "spare");
	add_md_member(root, "md1", "vdd", "faulty,in_sync");
	/* Same label as md1's members: the second array goes by its uuid. */
	add_md(root, "md2", "9:2", "raid1", "22222222:22222222:22222222:22222222");
	add_md_member(root, "md2", "vde", "in_sync");
	/* An array of arrays; its member md1 is known to blkid as /dev/md/data. */
	add_md(root, "md3", "9:3", "raid0", "33333333:33333333:33333333:33333333");
	add_md_member(root, "md3", "md1", "in_sync");
	/* An array that no cache entry names. */
	add_md(root, "md4", "9:4", "raid1", "44444444:44444444:44444444:44444444");
	test_write_file(
		root, "run/blkid/blkid.tab",
		"<device LABEL=\"h1:data\" TYPE=\"linux_raid_member\">/dev/vda</device>\n"
		"<device LABEL=\"h2:data\" TYPE=\"linux_raid_member\">/dev/vde</device>\n"
		"<device LABEL=\"top\" TYPE=\"linux_raid_member\" UUID=\"m\">/dev/md/data</device>\n"
		"<device TYPE=\"ext4\" UUID=\"fs\">/dev/md/top</device>\n");

	g = load(root);

	node_of_kind(g, "md:data", BS_NODE_MD);
	ASSERT_STREQ(attr(g, "md:data", "md_name"), "data");
	ASSERT_STREQ(attr(g, "md:data", "md_level"), "raid1");
	ASSERT_STREQ(role(g, "md:data", "blk:vda"), "member");
	ASSERT_STREQ(role(g, "md:data", "blk:vdb"), "member");
	ASSERT_STREQ(role(g, "md:data", "blk:vdc"), "spare");
	ASSERT_STREQ(role(g, "md:data", "blk:vdd"), "faulty");
	ASSERT_STREQ(attr(g, "md:data", "uuid"), "m");

	ASSERT_LOGGED("sys/class/block/md2: md name 'data' is taken by 'md1'", NULL);
	node_of_kind(g, "md:22222222:22222222:22222222:22222222", BS_NODE_MD);
	ASSERT_STREQ(role(g, "md:22222222:22222222:22222222:22222222", "blk:vde"), "member");

	/* A label without a homehost is the name as it is. */
	node_of_kind(g, "md:top", BS_NODE_MD);
	ASSERT_STREQ(role(g, "md:top", "md:data"), "member");
	ASSERT_STREQ(attr(g, "md:top", "fstype"), "ext4");

	node_of_kind(g, "md:44444444:44444444:44444444:44444444", BS_NODE_MD);
	ASSERT_EQ(count_kind(g, BS_NODE_MD), 4);
}

TEST(loop_nbd_serial_and_odd_names)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	add_dev(root, "virtual/block/loop0", "7:0", "100");
	test_write_file(root, "sys/devices/virtual/block/loop0/loop/backing_file",
			"/srv/a file (deleted)\n");
	add_dev(root, "virtual/block/loop1", "7:1", "0");
	add_dev(root, "virtual/block/nbd0", "43:0", "100");
	add_dev(root, "virtual/block/nbd1", "43:32", "0");
	/* SCSI: the serial sits under device/, padded. */
	add_dev(root, "pci0000:00/host0/target0:0:0/0:0:0:0/block/sda", "8:0", "100");
	test_write_file(root, "sys/devices/pci0000:00/host0/target0:0:0/0:0:0:0/serial",
			"  SER 42  \n");
	test_symlink(root, "sys/devices/pci0000:00/host0/target0:0:0/0:0:0:0/block/sda/device",
		     "../../../0:0:0:0");
	add_dev(root, "pci0000:00/host0/target0:0:0/0:0:0:0/block/sda/sda1", "8:1", "50");
	test_write_file(root,
			"sys/devices/pci0000:00/host0/target0:0:0/0:0:0:0/block/sda/sda1/partition",
			"1\n");
	/* A '!' in a kernel name is a '/' below /dev. */
	add_dev(root, "pci0000:00/cciss/block/cciss!c0d0", "104:0", "100");
	test_write_file(root, "run/blkid/blkid.tab",
			"<device TYPE=\"xfs\">/dev/cciss/c0d0</device>\n"
			"<device TYPE=\"ext4\">/dev/loop0</device>\n");

	g = load(root);
	ASSERT_NOTHING_LOGGED();

	node_of_kind(g, "blk:loop0", BS_NODE_LOOP);
	ASSERT_STREQ(attr(g, "blk:loop0", "backing_file"), "/srv/a file (deleted)");
	ASSERT_STREQ(attr(g, "blk:loop0", "fstype"), "ext4");
	ASSERT_NULL(bs_graph_find_node(g, "blk:loop1"));
	node_of_kind(g, "blk:nbd0", BS_NODE_NBD);
	ASSERT_EQ(bs_node_get_state(bs_graph_find_node(g, "blk:nbd0")), BS_STATE_ACTIVE);
	ASSERT_NULL(bs_graph_find_node(g, "blk:nbd1"));
	node_of_kind(g, "blk:sda", BS_NODE_DISK);
	ASSERT_STREQ(attr(g, "blk:sda", "serial"), "SER 42");
	ASSERT_EQ(bs_node_get_size(bs_graph_find_node(g, "blk:sda")), 100 * 512);
	ASSERT_STREQ(role(g, "blk:sda1", "blk:sda"), "parent");
	ASSERT_NULL(attr(g, "blk:sda1", "serial"));
	node_of_kind(g, "blk:cciss!c0d0", BS_NODE_DISK);
	ASSERT_STREQ(attr(g, "blk:cciss!c0d0", "fstype"), "xfs");
	/* A connected nbd device needs the network; it says no server without its pid. */
	ASSERT_STREQ(role(g, "blk:nbd0", "net:online"), "network");
	ASSERT_NULL(attr(g, "blk:nbd0", "source"));
	node_of_kind(g, "net:online", BS_NODE_NETWORK);
	ASSERT_NULL(role(g, "blk:sda", "net:online"));
	ASSERT_EQ(bs_graph_get_n_nodes(g), 6);
}

/* A file with NULs in it (a /proc/PID/cmdline). */
static void write_bytes(const char *root, const char *rel, const char *data, size_t size)
{
	FILE *fp;

	test_write_file(root, rel, "");
	fp = fopen(f("%s/%s", root, rel), "we");
	ASSERT_NOTNULL(fp);
	ASSERT_EQ(fwrite(data, 1, size, fp), size);
	ASSERT_EQ(fclose(fp), 0);
}

/* Network layers found live: an nbd device with its server from its nbd-client's command
 * line, a DRBD device, and a disk of an iSCSI session, each needing net:online. */
TEST(live_network_layers_need_the_network)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	add_dev(root, "virtual/block/nbd0", "43:0", "100");
	test_write_file(root, "sys/devices/virtual/block/nbd0/pid", "4242\n");
	write_bytes(root, "proc/4242/cmdline",
		    "@nbd-client\0" "192.0.2.7\0"
		    "10810\0/dev/nbd0\0-N\0root-disk\0-persist\0",
		    sizeof("@nbd-client\0" "192.0.2.7\0"
			   "10810\0/dev/nbd0\0-N\0root-disk\0"
			   "-persist\0") -
			    1);
	/* Its nbd-client is gone (netlink set it up): no server, still the network. */
	add_dev(root, "virtual/block/nbd1", "43:32", "100");
	test_write_file(root, "sys/devices/virtual/block/nbd1/pid", "4343\n");
	add_dev(root, "platform/host2/session1/target2:0:0/2:0:0:1/block/sdb", "8:16", "100");
	add_dev(root, "virtual/block/drbd0", "147:0", "100");
	add_dev(root, "pci0000:00/0000:00:05.0/virtio2/block/vda", "254:0", "100");
	test_write_file(root, "run/blkid/blkid.tab", "");

	g = load(root);
	ASSERT_STREQ(attr(g, "blk:nbd0", "source"), "nbd://192.0.2.7:10810/root-disk");
	ASSERT_STREQ(role(g, "blk:nbd0", "net:online"), "network");
	ASSERT_NULL(attr(g, "blk:nbd1", "source"));
	ASSERT_STREQ(role(g, "blk:nbd1", "net:online"), "network");
	ASSERT_STREQ(role(g, "blk:sdb", "net:online"), "network");
	ASSERT_STREQ(role(g, "blk:drbd0", "net:online"), "network");
	ASSERT_NULL(role(g, "blk:vda", "net:online"));
	ASSERT_EQ(count_kind(g, BS_NODE_NETWORK), 1);
	ASSERT_EQ(bs_node_get_state(bs_graph_find_node(g, "net:online")), BS_STATE_ACTIVE);
}

static char *nbd_source(const char *words, size_t size)
{
	char *uri = NULL;
	int r = bs_nbd_cmdline_source(words, size, &uri);

	ASSERT_TRUE(r >= 0);
	ASSERT_EQ(r > 0, uri != NULL);
	return uri;
}

TEST(nbd_client_command_lines)
{
	static const struct {
		const char *words;
		size_t size;
		const char *want;
	} cases[] = {
#define C(lit, want) { lit, sizeof(lit) - 1, want }
		C("nbd-client\0server\0/dev/nbd0\0", "nbd://server:10809/"),
		C("/usr/sbin/nbd-client\0-b\0"
		  "4096\0server\0"
		  "10810\0/dev/nbd2\0",
		  "nbd://server:10810/"),
		C("nbd-client\0--name=vm\0"
		  "2001:db8::5\0/dev/nbd0\0",
		  "nbd://[2001:db8::5]:10809/vm"),
		C("nbd-client\0-Nvm\0host\0/dev/nbd0\0-t\0"
		  "30\0",
		  "nbd://host:10809/vm"),
		C("nbd-client\0host\0/dev/nbd0\0-name\0disk 1\0", "nbd://host:10809/disk 1"),
		/* an nbdtab name, a check, a disconnect, a socket, another program, no end */
		C("nbd-client\0nbd0\0", NULL),
		C("nbd-client\0-c\0/dev/nbd0\0", NULL),
		C("nbd-client\0-d\0/dev/nbd0\0", NULL),
		C("nbd-client\0-unix\0/run/nbd.sock\0/dev/nbd0\0", NULL),
		C("qemu-nbd\0-c\0/dev/nbd0\0disk.img\0", NULL),
		C("nbd-client\0host\0/dev/nbd0\0-N", NULL),
		C("nbd-client\0host\0/dev/nbd0\0-N\0", NULL),
		C("", NULL),
#undef C
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *uri = nbd_source(cases[i].words, cases[i].size);

		fprintf(stderr, "case %zu\n", i);
		if (cases[i].want)
			ASSERT_STREQ(uri, cases[i].want);
		else
			ASSERT_NULL(uri);
	}
}

/* A DRBD device is kind drbd, by its kernel name blk:drbdN: sysfs does not say which
 * resource it is (the configuration renames it, see test-config). Attached, it holds its
 * disk, which the kernel links as its slave. */
TEST(drbd_device_by_minor_with_its_disk)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct bs_node *n;

	add_dev(root, "virtual/block/vdb", "254:16", "16384");
	add_dev(root, "virtual/block/drbd0", "147:0", "16136");
	add_slave(root, "drbd0", "vdb");
	/* Unconfigured, or down to a minor without a disk: size 0, as the kernel shows it. */
	add_dev(root, "virtual/block/drbd1", "147:1", "0");
	/* Not DRBD's name for a device. */
	add_dev(root, "virtual/block/drbdx", "254:32", "100");
	test_write_file(root, "run/blkid/blkid.tab",
			"<device TYPE=\"drbd\" UUID=\"c8d0\">/dev/vdb</device>\n"
			"<device TYPE=\"ext4\" UUID=\"fs0\">/dev/drbd0</device>\n");

	g = load(root);
	ASSERT_NOTHING_LOGGED();

	n = node_of_kind(g, "blk:drbd0", BS_NODE_DRBD);
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ACTIVE);
	ASSERT_STREQ(bs_node_get_devno(n), "147:0");
	ASSERT_EQ(bs_node_get_size(n), 16136 * 512);
	ASSERT_STREQ(attr(g, "blk:drbd0", "fstype"), "ext4");
	ASSERT_STREQ(role(g, "blk:drbd0", "blk:vdb"), "backing");
	ASSERT_STREQ(attr(g, "blk:vdb", "fstype"), "drbd");
	ASSERT_NULL(bs_graph_find_node(g, "blk:drbd1"));
	node_of_kind(g, "blk:drbdx", BS_NODE_DISK);
	ASSERT_EQ(count_kind(g, BS_NODE_DRBD), 1);
}

/* Reading twice merges into the same nodes and edges. */
TEST(reading_twice_changes_nothing)
{
	const char *root = fixture("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = load(root);
	_cleanup_free_ char *first = NULL, *second = NULL;
	_cleanup_(bs_blkid_table_freep) struct bs_blkid_table *t = NULL;

	ASSERT_OK(bs_graph_to_json(g, &first));
	ASSERT_OK(bs_source_blkid(g, &t));
	ASSERT_OK(bs_source_sysfs(g, t));
	ASSERT_OK(bs_graph_to_json(g, &second));
	ASSERT_STREQ(first, second);
	ASSERT_NOTHING_LOGGED();
}

/* ---- the guarded probe of devices that may stall --------------------------------------- */

static int probe_answers(const char *path, char *tags[_BS_BLKID_TAG_MAX])
{
	tags[BS_BLKID_TYPE] = strdup("crypto_LUKS");
	tags[BS_BLKID_UUID] = strdup(path);
	return 1;
}

/* A read of a device whose server is gone: it never returns. */
static int probe_stalls(_unused_ const char *path, _unused_ char *tags[_BS_BLKID_TAG_MAX])
{
	(void)pause();
	return 0;
}

static int probe_fails(_unused_ const char *path, _unused_ char *tags[_BS_BLKID_TAG_MAX])
{
	return -ENOMEM;
}

TEST(guarded_probe_answers_through_the_child)
{
	char *tags[_BS_BLKID_TAG_MAX] = {};

	ASSERT_OK(bs_blkid_probe_guarded("/dev/nbd0", 5000000ULL, probe_answers, tags));
	ASSERT_STREQ(tags[BS_BLKID_TYPE], "crypto_LUKS");
	ASSERT_STREQ(tags[BS_BLKID_UUID], "/dev/nbd0");
	ASSERT_NULL(tags[BS_BLKID_LABEL]);
	for (int t = 0; t < _BS_BLKID_TAG_MAX; t++)
		tags[t] = mfree(tags[t]);
	ASSERT_ERR(bs_blkid_probe_guarded("/dev/nbd0", 5000000ULL, probe_fails, tags), -EIO);
	for (int t = 0; t < _BS_BLKID_TAG_MAX; t++)
		ASSERT_NULL(tags[t]);
}

TEST(guarded_probe_gives_up_on_a_stalled_device)
{
	char *tags[_BS_BLKID_TAG_MAX] = {};

	ASSERT_ERR(bs_blkid_probe_guarded("/dev/nbd0", 200000ULL, probe_stalls, tags), -ETIMEDOUT);
	for (int t = 0; t < _BS_BLKID_TAG_MAX; t++)
		ASSERT_NULL(tags[t]);
}
