/* Unit tests of the live graph: mounts, swaps, LVM membership and derived links on fixtures. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "blkstack.h"
#include "graph.h"
#include "sources/sources.h"
#include "test-graph.h"
#include "tests.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)

/* Every warning and error the library logged in this test (each test is a process of its
 * own), one per line. */
static char *logged;

_printf_(6, 0) static void capture_log(_unused_ void *userdata, int priority,
				       _unused_ const char *file, _unused_ int line,
				       _unused_ const char *fn, const char *format, va_list args)
{
	char *message = NULL;

	if (priority > LOG_WARNING)
		return;
	if (vasprintf(&message, format, args) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	if (strextend(&logged, message, "\n", NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	free(message);
}

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

static char *read_text(const char *dir, const char *relpath)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	char *text = NULL;
	size_t size = 0;

	if (strextend(&path, dir, "/", relpath, NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	f = fopen(path, "re");
	if (!f)
		test_fail(TEST_FILE, __LINE__, "fopen('%s'): %m", path);
	if (getdelim(&text, &size, '\0', f) < 0)
		test_fail(TEST_FILE, __LINE__, "reading '%s': %m", path);
	return text;
}

static struct bs_ctx *new_ctx(const char *sysroot)
{
	struct bs_ctx_opts opts = { .sysroot = sysroot };
	struct bs_ctx *c = NULL;

	ASSERT_OK(unsetenv("BLKSTACK_DEBUG"));
	ASSERT_OK(bs_ctx_new(&opts, &c));
	bs_ctx_set_log_fn(c, capture_log, NULL);
	return c;
}

static struct bs_graph *new_graph(const char *sysroot)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(sysroot);
	struct bs_graph *g = NULL;

	ASSERT_OK(bs_graph_new(c, &g));
	return g;
}

static struct bs_graph *live_graph(const char *sysroot)
{
	struct bs_graph *g = new_graph(sysroot);

	ASSERT_OK(bs_graph_add_live(g));
	return g;
}

static bool has_mountpoint(const struct bs_node *n, const char *path)
{
	for (char *const *m = bs_node_get_mountpoints(n); *m; m++)
		if (streq(*m, path))
			return true;
	return false;
}

/* ---- fixtures as captured ---------------------------------------------------------------- */

TEST(ps1_mounts_and_vg_membership)
{
	_cleanup_free_ char *root = test_fixture("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = live_graph(root);
	struct bs_node *n;

	n = get_node(g, "mnt:/");
	ASSERT_EQ(bs_node_get_kind(n), BS_NODE_MOUNT);
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_MOUNTED);
	ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_LIVE);
	ASSERT_STREQ(bs_node_get_attr(n, "fstype"), "ext4");
	ASSERT_STREQ(bs_node_get_attr(n, "source"), "/dev/mapper/cryptroot");
	ASSERT_STREQ(bs_node_get_attr(n, "options"), "rw,relatime,stripe=1024");
	ASSERT_TRUE(has_mountpoint(n, "/"));
	ASSERT_EQ(bs_node_get_n_needs(n), 1);
	ASSERT_STREQ(need_role(g, "mnt:/", "crypt:cryptroot"), "device");
	ASSERT_TRUE(has_mountpoint(get_node(g, "crypt:cryptroot"), "/"));

	/* btrfs on one device: found by its source, as its device number is anonymous. */
	n = get_node(g, "mnt:/srv");
	ASSERT_STREQ(bs_node_get_attr(n, "fstype"), "btrfs");
	ASSERT_EQ(bs_node_get_n_needs(n), 2);
	ASSERT_STREQ(need_role(g, "mnt:/srv", "crypt:cryptsrv"), "device");
	ASSERT_STREQ(need_role(g, "mnt:/srv", "mnt:/"), "mountpoint");
	ASSERT_TRUE(has_mountpoint(get_node(g, "crypt:cryptsrv"), "/srv"));

	/* Not block devices. */
	ASSERT_NULL(bs_graph_find_node(g, "mnt:/proc"));
	ASSERT_NULL(bs_graph_find_node(g, "mnt:/sys"));
	ASSERT_NULL(bs_graph_find_node(g, "mnt:/dev"));
	ASSERT_NULL(bs_graph_find_node(g, "mnt:/run"));

	n = get_node(g, "vg:vg0");
	ASSERT_EQ(bs_node_get_kind(n), BS_NODE_VG);
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ACTIVE);
	ASSERT_STREQ(bs_node_get_attr(n, "vg_uuid"), "IQPlyE-mO7f-UjYd-CG2k-9vSk-ZPRx-C7gZMx");
	ASSERT_EQ(bs_node_get_n_needs(n), 1);
	ASSERT_STREQ(need_role(g, "vg:vg0", "md:sys"), "pv");

	n = get_node(g, "lv:vg0/root");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ACTIVE);
	ASSERT_STREQ(bs_node_get_attr(n, "lv_uuid"), "q7pkzD-MIgI-E9Gz-XdQY-SFQb-tZDx-hvJoL6");
	ASSERT_STREQ(bs_node_get_name(n), "dm-0");
	ASSERT_EQ(bs_node_get_n_needs(n), 1);
	ASSERT_STREQ(need_role(g, "lv:vg0/root", "vg:vg0"), "vg");
	ASSERT_NULL(need_role(g, "lv:vg0/root", "md:sys"));
	ASSERT_STREQ(need_role(g, "lv:vg0/srv", "vg:vg0"), "vg");
	ASSERT_NULL(need_role(g, "lv:vg0/srv", "md:sys"));

	/* No swap is on, so there is no swap node. */
	for (size_t i = 0; i < bs_graph_get_n_nodes(g); i++)
		ASSERT_TRUE(bs_node_get_kind(bs_graph_get_node(g, i)) != BS_NODE_SWAP);
	ASSERT_NULL(logged);
}

TEST(lvm_swap_loop_swap_loop_and_nested_mounts)
{
	_cleanup_free_ char *root = test_fixture("lvm-swap-loop-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = live_graph(root);
	struct bs_node *n;

	n = get_node(g, "swap:lv:sys/swap");
	ASSERT_EQ(bs_node_get_kind(n), BS_NODE_SWAP);
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ACTIVE);
	ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_LIVE);
	ASSERT_STREQ(bs_node_get_attr(n, "source"), "/dev/mapper/sys-swap");
	ASSERT_EQ(bs_node_get_n_needs(n), 1);
	ASSERT_STREQ(need_role(g, "swap:lv:sys/swap", "lv:sys/swap"), "device");

	ASSERT_STREQ(bs_node_get_attr(get_node(g, "blk:loop0"), "backing_file"), "/data/disk.img");
	ASSERT_STREQ(need_role(g, "blk:loop0", "mnt:/data"), "backing-file");
	ASSERT_NULL(need_role(g, "blk:loop0", "mnt:/"));

	ASSERT_STREQ(need_role(g, "mnt:/data/loop", "blk:loop0"), "device");
	ASSERT_STREQ(need_role(g, "mnt:/data/loop", "mnt:/data"), "mountpoint");
	ASSERT_NULL(need_role(g, "mnt:/data/loop", "mnt:/"));
	ASSERT_STREQ(need_role(g, "mnt:/data", "crypt:cryptdata"), "device");
	ASSERT_STREQ(need_role(g, "mnt:/data", "mnt:/"), "mountpoint");
	ASSERT_STREQ(need_role(g, "mnt:/boot", "blk:vda1"), "device");
	ASSERT_STREQ(need_role(g, "mnt:/boot", "mnt:/"), "mountpoint");
	ASSERT_STREQ(need_role(g, "mnt:/", "lv:sys/root"), "device");
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "mnt:/")), 1);

	ASSERT_STREQ(need_role(g, "vg:sys", "blk:vda2"), "pv");
	ASSERT_STREQ(need_role(g, "lv:sys/data", "vg:sys"), "vg");
	ASSERT_STREQ(need_role(g, "lv:sys/swap", "vg:sys"), "vg");
	ASSERT_NULL(need_role(g, "lv:sys/swap", "blk:vda2"));
	/* The crypt mapping on an LV keeps its backing edge: only LVs lose theirs. */
	ASSERT_STREQ(need_role(g, "crypt:cryptdata", "lv:sys/data"), "backing");
	ASSERT_NULL(logged);
}

TEST(rootless_mounts_have_no_root_to_need)
{
	_cleanup_free_ char *root = test_fixture("rootless-ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = live_graph(root);

	/* "/" is the initramfs's rootfs, no block device. */
	ASSERT_NULL(bs_graph_find_node(g, "mnt:/"));
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "mnt:/srv/main")), 1);
	ASSERT_STREQ(need_role(g, "mnt:/srv/main", "crypt:cryptmain"), "device");
	ASSERT_STREQ(need_role(g, "mnt:/srv/data", "crypt:cryptsrv"), "device");
	ASSERT_NULL(need_role(g, "mnt:/srv/data", "mnt:/srv/main"));
}

TEST(disks_fixture_has_no_mounts_of_the_stack)
{
	_cleanup_free_ char *root = test_fixture("ps1-raid6-lvm-crypt-disks");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = live_graph(root);

	/* The report of a closed stack lists nothing; nothing is mounted from the disks. */
	for (size_t i = 0; i < bs_graph_get_n_nodes(g); i++) {
		enum bs_node_kind k = bs_node_get_kind(bs_graph_get_node(g, i));

		ASSERT_TRUE(k != BS_NODE_VG && k != BS_NODE_MOUNT && k != BS_NODE_SWAP &&
			    k != BS_NODE_BTRFS);
	}
	ASSERT_NULL(logged);
}

TEST(btrfs_2crypt_fixture)
{
	_cleanup_free_ char *root = test_fixture("btrfs-2crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = live_graph(root);
	_cleanup_free_ char *id = NULL;
	const char *uuid;

	uuid = bs_node_get_attr(get_node(g, "crypt:crypt1"), "uuid");
	ASSERT_NOTNULL(uuid);
	ASSERT_STREQ(bs_node_get_attr(get_node(g, "crypt:crypt2"), "uuid"), uuid);
	ASSERT_OK(strextend(&id, "btrfs:", uuid, NULL));

	ASSERT_EQ(bs_node_get_kind(get_node(g, id)), BS_NODE_BTRFS);
	ASSERT_EQ(bs_node_get_state(get_node(g, id)), BS_STATE_ACTIVE);
	ASSERT_STREQ(need_role(g, id, "crypt:crypt1"), "member");
	ASSERT_STREQ(need_role(g, id, "crypt:crypt2"), "member");
	ASSERT_STREQ(need_role(g, "mnt:/", id), "device");
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "mnt:/")), 1);
	ASSERT_STREQ(need_role(g, "mnt:/boot", "mnt:/"), "mountpoint");
}

/* ---- fixtures changed by the test -------------------------------------------------------- */

/* ps1's two crypt mappings made into one two-device btrfs: "/" mounted from one device and a
 * subvolume of the same filesystem on /srv from the other. */
TEST(btrfs_two_devices_become_one_node)
{
	static const char uuid[] = "0a6b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct bs_node *fs;

	test_write_file(
		root, "run/blkid/blkid.tab",
		"<device DEVNO=\"0xfd02\" LABEL=\"pool\" UUID=\"0a6b1c2d-3e4f-4a5b-8c6d-"
		"7e8f9a0b1c2d\" UUID_SUB=\"1\" TYPE=\"btrfs\">/dev/mapper/cryptroot</device>\n"
		"<device DEVNO=\"0xfd03\" LABEL=\"pool\" UUID=\"0a6b1c2d-3e4f-4a5b-8c6d-"
		"7e8f9a0b1c2d\" UUID_SUB=\"2\" TYPE=\"btrfs\">/dev/mapper/cryptsrv</device>\n");
	test_write_file(root, "proc/self/mountinfo",
			"22 26 0:20 / /proc rw,relatime - proc proc rw\n"
			"26 1 0:23 /@ / rw,relatime - btrfs /dev/mapper/cryptroot rw,subvol=/@\n"
			"28 26 0:23 /srv /srv rw,relatime - btrfs /dev/mapper/cryptsrv "
			"rw,subvol=/srv\n");
	g = live_graph(root);

	fs = get_node(g, "btrfs:0a6b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d");
	ASSERT_EQ(bs_node_get_kind(fs), BS_NODE_BTRFS);
	ASSERT_EQ(bs_node_get_state(fs), BS_STATE_ACTIVE);
	ASSERT_EQ(bs_node_get_sources(fs), BS_SOURCE_LIVE);
	ASSERT_STREQ(bs_node_get_attr(fs, "uuid"), uuid);
	ASSERT_STREQ(bs_node_get_attr(fs, "fstype"), "btrfs");
	ASSERT_STREQ(bs_node_get_attr(fs, "label"), "pool");
	ASSERT_TRUE(has_mountpoint(fs, "/"));
	ASSERT_TRUE(has_mountpoint(fs, "/srv"));
	ASSERT_EQ(bs_node_get_n_needs(fs), 2);
	ASSERT_STREQ(need_role(g, bs_node_get_id(fs), "crypt:cryptroot"), "member");
	ASSERT_STREQ(need_role(g, bs_node_get_id(fs), "crypt:cryptsrv"), "member");

	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "mnt:/")), 1);
	ASSERT_STREQ(need_role(g, "mnt:/", bs_node_get_id(fs)), "device");
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "mnt:/srv")), 2);
	ASSERT_STREQ(need_role(g, "mnt:/srv", bs_node_get_id(fs)), "device");
	ASSERT_STREQ(need_role(g, "mnt:/srv", "mnt:/"), "mountpoint");
	ASSERT_NULL(need_role(g, "mnt:/srv", "crypt:cryptsrv"));
}

TEST(bind_mounts_and_overmounts)
{
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct bs_node *n;

	test_write_file(
		root, "proc/self/mountinfo",
		"26 1 253:0 / / rw,relatime - ext4 /dev/mapper/sys-root rw\n"
		"27 26 254:1 / /boot rw,relatime - ext4 /dev/vda1 rw\n"
		"28 26 253:3 / /data rw,relatime - ext4 /dev/mapper/cryptdata rw\n"
		"30 26 253:3 /sub /srv/sub\\040dir rw,relatime - ext4 /dev/mapper/cryptdata "
		"rw\n"
		/* mounted over /boot: the later mount is the one seen there */
		"31 27 253:3 / /boot ro,relatime - ext4 /dev/mapper/cryptdata ro\n");
	g = live_graph(root);

	/* The same device twice gives two mount nodes. */
	ASSERT_STREQ(need_role(g, "mnt:/data", "crypt:cryptdata"), "device");
	ASSERT_STREQ(need_role(g, "mnt:/srv/sub dir", "crypt:cryptdata"), "device");
	ASSERT_STREQ(need_role(g, "mnt:/srv/sub dir", "mnt:/"), "mountpoint");
	n = get_node(g, "crypt:cryptdata");
	ASSERT_TRUE(has_mountpoint(n, "/data"));
	ASSERT_TRUE(has_mountpoint(n, "/srv/sub dir"));

	n = get_node(g, "mnt:/boot");
	ASSERT_STREQ(bs_node_get_attr(n, "options"), "ro,relatime");
	ASSERT_STREQ(need_role(g, "mnt:/boot", "crypt:cryptdata"), "device");
	ASSERT_NULL(need_role(g, "mnt:/boot", "blk:vda1"));
	ASSERT_EQ(bs_node_get_n_needs(n), 2);
}

TEST(swap_file_needs_the_mount_holding_it)
{
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct bs_node *n;

	test_write_file(root, "proc/swaps",
			"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
			"/dev/dm-1                               partition\t32764\t\t0\t\t-2\n"
			"/data/swap\\040file                      file\t\t1024\t\t0\t\t-3\n"
			"/dev/nonexistent                        partition\t1024\t\t0\t\t-4\n");
	g = live_graph(root);

	/* By kernel name, the same node as by /dev/mapper. */
	ASSERT_STREQ(need_role(g, "swap:lv:sys/swap", "lv:sys/swap"), "device");
	ASSERT_STREQ(bs_node_get_attr(get_node(g, "swap:lv:sys/swap"), "source"), "/dev/dm-1");

	n = get_node(g, "swap:/data/swap file");
	ASSERT_EQ(bs_node_get_kind(n), BS_NODE_SWAP);
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ACTIVE);
	ASSERT_STREQ(bs_node_get_attr(n, "backing_file"), "/data/swap file");
	ASSERT_EQ(bs_node_get_n_needs(n), 1);
	ASSERT_STREQ(need_role(g, "swap:/data/swap file", "mnt:/data"), "backing-file");

	ASSERT_LOGGED("proc/swaps", "'/dev/nonexistent'");
}

TEST(truncated_mountinfo_line_is_skipped)
{
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	test_write_file(root, "proc/self/mountinfo",
			"22 26 0:20 / /proc rw,relatime - proc proc rw\n"
			"26 1 253:0 / / rw,relatime - ext4 /dev/mapper/sys-root rw\n"
			"27 26 254:1 / /bo\n"
			"28 26 253:3 / /data rw,relatime - ext4 /dev/mapper/cryptdata rw\n"
			"29 28 7:0 / /data/loop rw,relatime - ext4 /dev/loop0 rw\n");
	g = live_graph(root);

	ASSERT_LOGGED("proc/self/mountinfo:3", NULL);
	ASSERT_NULL(bs_graph_find_node(g, "mnt:/boot"));
	ASSERT_NULL(bs_graph_find_node(g, "mnt:/bo"));
	ASSERT_STREQ(need_role(g, "mnt:/data/loop", "mnt:/data"), "mountpoint");
	ASSERT_STREQ(need_role(g, "mnt:/", "lv:sys/root"), "device");
}

TEST(malformed_lvm_report_is_ignored)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	_cleanup_free_ char *text = read_text(root, "run/blkstack/lvm-fullreport.json");

	/* Cut inside the first LV. */
	text[3000] = '\0';
	test_write_file(root, "run/blkstack/lvm-fullreport.json", text);
	g = live_graph(root);

	ASSERT_LOGGED("run/blkstack/lvm-fullreport.json: byte 3000", "unexpected end of data");
	/* The LVs are still seen in sysfs; only their VG is not known. */
	ASSERT_NULL(bs_graph_find_node(g, "vg:vg0"));
	ASSERT_EQ(bs_node_get_kind(get_node(g, "lv:vg0/root")), BS_NODE_LV);
	ASSERT_STREQ(need_role(g, "mnt:/", "crypt:cryptroot"), "device");
}

TEST(lvm_report_syntax_error_names_offset)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	test_write_file(root, "run/blkstack/lvm-fullreport.json", "{\"report\": [ {\"vg\": [} ] }");
	g = live_graph(root);
	ASSERT_LOGGED("run/blkstack/lvm-fullreport.json: byte 21", NULL);

	logged = mfree(logged);
	test_write_file(root, "run/blkstack/lvm-fullreport.json", "[1, 2]");
	g = bs_graph_unref(g);
	g = live_graph(root);
	ASSERT_LOGGED("run/blkstack/lvm-fullreport.json", "no 'report' list");
}

/* ---- synthetic trees --------------------------------------------------------------------- */

/* A VG on two disks whose one LV has extents only on the first: sysfs slaves/ shows one
 * disk, the VG needs both. The graph is built by hand as sysfs would, so this tests the
 * report alone. */
TEST(vg_needs_every_pv_not_only_the_used_ones)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = new_graph(root);
	struct bs_node *vda, *vdb, *lv, *thin;

	ASSERT_OK(bs_graph_ensure_node(g, BS_NODE_DISK, "blk:vda", &vda));
	ASSERT_OK(bs_node_set_block(vda, "vda", makedev(254, 0)));
	ASSERT_OK(bs_graph_ensure_node(g, BS_NODE_DISK, "blk:vdb", &vdb));
	ASSERT_OK(bs_node_set_block(vdb, "vdb", makedev(254, 16)));
	ASSERT_OK(bs_graph_ensure_node(g, BS_NODE_LV, "lv:data/lv0", &lv));
	ASSERT_OK(bs_node_set_block(lv, "dm-0", makedev(253, 0)));
	ASSERT_OK(bs_node_set_attr(lv, BS_ATTR_DM_NAME, "data-lv0"));
	ASSERT_OK(bs_graph_add_edge(g, lv, vda, "backing"));

	test_write_file(
		root, "run/blkstack/lvm-fullreport.json",
		"{\"report\": [\n"
		" {\"vg\": [{\"vg_name\":\"data\", \"vg_uuid\":\"VGUUID\"}],\n"
		"  \"pv\": [{\"pv_name\":\"/dev/vda\", \"pv_major\":\"254\", \"pv_minor\":\"0\"},\n"
		"          {\"pv_name\":\"/dev/disk/by-id/gone\", \"pv_major\":\"254\", "
		"\"pv_minor\":\"16\"},\n"
		"          {\"pv_name\":\"[unknown]\", \"pv_major\":\"-1\", \"pv_minor\":\"-1\"}],\n"
		"  \"lv\": [{\"lv_name\":\"lv0\", \"lv_uuid\":\"LVUUID\", \"lv_role\":\"public\", "
		"\"lv_active\":\"active\", \"lv_layout\":\"linear\"},\n"
		"          {\"lv_name\":\"off\", \"lv_role\":\"public\", \"lv_active\":\"\"},\n"
		"          {\"lv_name\":\"pool\", \"lv_role\":\"private,thin,pool\", "
		"\"lv_active\":\"active\", \"lv_layout\":\"thin,pool\"},\n"
		"          {\"lv_name\":\"[pool_tdata]\", \"lv_role\":\"private,thin,pool,data\"},\n"
		"          {\"lv_name\":\"[lv1_rimage_0]\", \"lv_role\":\"private,raid,image\"},\n"
		"          {\"lv_name\":\"thin\", \"lv_role\":\"public,thin,thinvolume\", "
		"\"lv_active\":\"active\"},\n"
		"          {\"lv_name\":\"bad/name\", \"lv_role\":\"public\"}],\n"
		"  \"pvseg\": [], \"seg\": [{\"segtype\":\"thin-pool\"}]},\n"
		" {\"vg\": [], \"pv\": [{\"pv_name\":\"/dev/vdc\"}], \"lv\": []}\n"
		"]}\n");
	ASSERT_OK(bs_source_lvm_report(g));

	ASSERT_STREQ(need_role(g, "vg:data", "blk:vda"), "pv");
	/* Found by device number when its name is not known. */
	ASSERT_STREQ(need_role(g, "vg:data", "blk:vdb"), "pv");
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "vg:data")), 2);
	ASSERT_LOGGED("'[unknown]'", "VG 'data'");
	ASSERT_EQ(bs_node_get_state(get_node(g, "vg:data")), BS_STATE_ACTIVE);
	ASSERT_STREQ(bs_node_get_attr(get_node(g, "vg:data"), "vg_uuid"), "VGUUID");

	/* Merged with the node sysfs made, its slave edge replaced by the VG. */
	ASSERT_EQ(bs_node_get_n_needs(lv), 1);
	ASSERT_STREQ(need_role(g, "lv:data/lv0", "vg:data"), "vg");
	ASSERT_STREQ(bs_node_get_name(lv), "dm-0");
	ASSERT_STREQ(bs_node_get_attr(lv, "lv_uuid"), "LVUUID");
	ASSERT_EQ(bs_node_get_state(lv), BS_STATE_ACTIVE);

	ASSERT_EQ(bs_node_get_state(get_node(g, "lv:data/off")), BS_STATE_PRESENT);
	thin = get_node(g, "lv:data/thin");
	ASSERT_STREQ(need_role(g, "lv:data/thin", "vg:data"), "vg");
	ASSERT_EQ(bs_node_get_state(thin), BS_STATE_ACTIVE);
	ASSERT_NULL(bs_graph_find_node(g, "lv:data/pool"));
	ASSERT_NULL(bs_graph_find_node(g, "lv:data/[pool_tdata]"));
	ASSERT_NULL(bs_graph_find_node(g, "lv:data/[lv1_rimage_0]"));
	ASSERT_LOGGED("'bad/name'", "not valid");

	/* Orphan PVs are in no VG. */
	ASSERT_EQ(bs_graph_get_n_nodes(g), 6);
}

TEST(lvm_report_not_read_from_the_running_system)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = new_graph("/");

	ASSERT_EQ(bs_source_lvm_report(g), 0);
	ASSERT_EQ(bs_graph_get_n_nodes(g), 0);
	ASSERT_NULL(logged);
}

TEST(missing_files_are_no_error)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = new_graph(root);

	ASSERT_EQ(bs_source_mountinfo(g), 0);
	ASSERT_EQ(bs_source_swaps(g), 0);
	ASSERT_EQ(bs_source_lvm_report(g), 0);
	ASSERT_OK(bs_graph_link_derived(g));
	ASSERT_EQ(bs_graph_get_n_nodes(g), 0);
	ASSERT_NULL(logged);
}

/* A loop file below a mount point that is a prefix only as a string: "/data" does not hold
 * "/database/file". Mount nodes are made by hand, as mountinfo would. */
TEST(backing_file_prefix_is_by_component)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = new_graph(root);
	struct bs_node *loop, *m;

	ASSERT_OK(bs_graph_ensure_node(g, BS_NODE_MOUNT, "mnt:/", &m));
	ASSERT_OK(bs_graph_ensure_node(g, BS_NODE_MOUNT, "mnt:/data", &m));
	ASSERT_OK(bs_graph_ensure_node(g, BS_NODE_LOOP, "blk:loop0", &loop));
	ASSERT_OK(bs_node_set_attr(loop, BS_ATTR_BACKING_FILE, "/database/file"));
	ASSERT_OK(bs_graph_ensure_node(g, BS_NODE_LOOP, "blk:loop1", &loop));
	ASSERT_OK(bs_node_set_attr(loop, BS_ATTR_BACKING_FILE, "/data/file"));
	/* Its file is on the filesystem it carries: not a dependency to follow. */
	ASSERT_OK(bs_graph_ensure_node(g, BS_NODE_MOUNT, "mnt:/data/in", &m));
	ASSERT_OK(bs_graph_ensure_node(g, BS_NODE_LOOP, "blk:loop2", &loop));
	ASSERT_OK(bs_node_set_attr(loop, BS_ATTR_BACKING_FILE, "/data/in/file"));
	ASSERT_OK(bs_graph_add_edge(g, m, loop, "device"));

	ASSERT_OK(bs_graph_link_derived(g));
	ASSERT_STREQ(need_role(g, "blk:loop0", "mnt:/"), "backing-file");
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "blk:loop0")), 1);
	ASSERT_STREQ(need_role(g, "blk:loop1", "mnt:/data"), "backing-file");
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "blk:loop1")), 1);
	ASSERT_STREQ(need_role(g, "blk:loop2", "mnt:/data"), "backing-file");
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "blk:loop2")), 1);
	ASSERT_STREQ(need_role(g, "mnt:/data", "mnt:/"), "mountpoint");
	ASSERT_STREQ(need_role(g, "mnt:/data/in", "mnt:/data"), "mountpoint");
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "mnt:/")), 0);
}

/* a and b joined into buf, which must be large enough. */
static const char *cat(char buf[static 256], const char *a, const char *b)
{
	ASSERT_TRUE(snprintf(buf, 256, "%s%s", a, b) < 256);
	return buf;
}

/* The same through bs_graph_add_live(), on the smallest sysfs that shows it: two disks and
 * one LV whose slaves/ names only the first. */
TEST(vg_needs_every_pv_from_a_sysfs_tree)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	static const struct {
		const char *name, *dev, *path;
	} devs[] = {
		{ "vda", "254:0", "devices/platform/virtio0/block/vda" },
		{ "vdb", "254:16", "devices/platform/virtio1/block/vdb" },
		{ "dm-0", "253:0", "devices/virtual/block/dm-0" },
	};

	for (size_t i = 0; i < ELEMENTSOF(devs); i++) {
		_cleanup_free_ char *d = NULL, *class = NULL, *link = NULL, *bydev = NULL,
				    *dev = NULL;
		char buf[256];

		ASSERT_OK(strextend(&d, "sys/", devs[i].path, NULL));
		ASSERT_OK(strextend(&dev, devs[i].dev, "\n", NULL));
		ASSERT_OK(strextend(&class, "sys/class/block/", devs[i].name, NULL));
		ASSERT_OK(strextend(&link, "../../", devs[i].path, NULL));
		ASSERT_OK(strextend(&bydev, "sys/dev/block/", devs[i].dev, NULL));

		test_write_file(root, cat(buf, d, "/size"), "204800\n");
		test_write_file(root, cat(buf, d, "/dev"), dev);
		test_mkdir_p(root, cat(buf, d, "/holders"));
		test_mkdir_p(root, cat(buf, d, "/slaves"));
		test_symlink(root, class, link);
		test_symlink(root, bydev, link);
	}
	test_write_file(root, "sys/devices/virtual/block/dm-0/dm/name", "data-lv0\n");
	test_write_file(root, "sys/devices/virtual/block/dm-0/dm/uuid",
			"LVM-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
	test_symlink(root, "sys/devices/virtual/block/dm-0/slaves/vda",
		     "../../../../platform/virtio0/block/vda");
	test_symlink(root, "sys/devices/platform/virtio0/block/vda/holders/dm-0",
		     "../../../../../virtual/block/dm-0");
	test_write_file(root, "proc/self/mountinfo",
			"26 1 253:0 / / rw,relatime - ext4 /dev/mapper/data-lv0 rw\n");
	test_write_file(
		root, "run/blkstack/lvm-fullreport.json",
		"{\"report\": [{\"vg\": [{\"vg_name\":\"data\", \"vg_uuid\":\"VGUUID\"}],\n"
		"  \"pv\": [{\"pv_name\":\"/dev/vda\"}, {\"pv_name\":\"/dev/vdb\"}],\n"
		"  \"lv\": [{\"lv_name\":\"lv0\", \"lv_uuid\":\"LVUUID\", \"lv_role\":\"public\", "
		"\"lv_active\":\"active\"}]}]}\n");
	g = live_graph(root);

	ASSERT_STREQ(need_role(g, "vg:data", "blk:vda"), "pv");
	ASSERT_STREQ(need_role(g, "vg:data", "blk:vdb"), "pv");
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "vg:data")), 2);
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "lv:data/lv0")), 1);
	ASSERT_STREQ(need_role(g, "lv:data/lv0", "vg:data"), "vg");
	ASSERT_STREQ(bs_node_get_name(get_node(g, "lv:data/lv0")), "dm-0");
	ASSERT_STREQ(need_role(g, "mnt:/", "lv:data/lv0"), "device");
	ASSERT_EQ(bs_graph_get_n_nodes(g), 5);
}

/* Input that is JSON but not the shape of a report is skipped piece by piece, never read
 * out of bounds; each case runs on a fresh graph. */
TEST(lvm_report_odd_shapes)
{
	static const struct {
		const char *text, *warning;
		size_t n_nodes;
	} cases[] = {
		{ "", "byte 0: unexpected end of data", 0 },
		{ "null", "no 'report' list", 0 },
		{ "{\"report\": {}}", "no 'report' list", 0 },
		{ "{\"report\": [1, \"x\", null, {\"vg\": {}}]}", "report 0 has no 'vg' list", 0 },
		{ "{\"report\": [{\"vg\": [1], \"pv\": 2}]}", NULL, 0 },
		{ "{\"report\": [{\"vg\": [{\"vg_name\": 7}]}]}", NULL, 0 },
		{ "{\"report\": [{\"vg\": [{\"vg_name\": \"a/b\"}]}]}",
		  "VG name 'a/b' is not valid", 0 },
		{ "{\"report\": [{\"vg\": [{\"vg_name\": \"v\"}], \"pv\": [null, {\"pv_name\": 1}], "
		  "\"lv\": [null, {\"lv_name\": \"\"}, {\"lv_name\": \"..\"}]}]}",
		  "LV name '..' in VG 'v' is not valid", 1 },
		{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "byte 16", 0 },
		{ "{\"report\": []} trailing", "byte 15: data after the report", 0 },
		{ "{\"report\": [{\"vg\": [{\"vg_name\": \"v\\u0000x\"}]}]}", NULL, 0 },
	};
	const char *root = test_tmpdir();

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(bs_graph_unrefp) struct bs_graph *g = new_graph(root);

		logged = mfree(logged);
		test_write_file(root, "run/blkstack/lvm-fullreport.json", cases[i].text);
		(void)bs_source_lvm_report(g);
		ASSERT_EQ(bs_graph_get_n_edges(g), 0);
		ASSERT_EQ(bs_graph_get_n_nodes(g), cases[i].n_nodes);
		if (cases[i].warning)
			ASSERT_LOGGED("run/blkstack/lvm-fullreport.json", cases[i].warning);
	}
}

/* The resume device is a fact of the running system that a source puts in the graph; the
 * planner reads nothing and keeps it, with what it needs, as part of the root set. */
static bool plan_keeps(const struct bs_plan *p, const char *id)
{
	for (size_t i = 0; i < bs_plan_get_n_kept(p); i++)
		if (streq(bs_node_get_id(bs_plan_get_kept_node(p, i)), id))
			return true;
	return false;
}

static struct bs_plan *keep_root_plan(const char *root, struct bs_graph **ret_g)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(root);
	struct bs_plan *p = NULL;

	ASSERT_OK(bs_graph_load(c, NULL, ret_g, NULL));
	ASSERT_OK(bs_plan_new(*ret_g, BS_PLAN_DOWN, NULL, BS_PLAN_KEEP_ROOT, &p));
	return p;
}

TEST(resume_device_is_a_fact_of_the_graph_and_in_the_root_set)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	struct bs_graph *g = NULL;
	struct bs_plan *p;
	char devno[32];

	/* Without one, /srv's mapping closes. */
	p = keep_root_plan(root, &g);
	ASSERT_NULL(g->resume);
	ASSERT_FALSE(plan_keeps(p, "crypt:cryptsrv"));
	bs_plan_unref(p);

	/* The command line names it (the form an initramfs reads), with other words around. */
	test_write_file(root, "proc/cmdline",
			"BOOT_IMAGE=/vmlinuz root=/dev/mapper/cryptroot resume=/dev/mapper/cryptsrv "
			"quiet\n");
	bs_graph_unref(g);
	p = keep_root_plan(root, &g);
	ASSERT_NOTNULL(g->resume);
	ASSERT_STREQ(bs_node_get_id(g->resume), "crypt:cryptsrv");
	ASSERT_TRUE(plan_keeps(p, "crypt:cryptsrv"));
	ASSERT_TRUE(plan_keeps(p, "lv:vg0/srv"));
	bs_plan_unref(p);

	/* The kernel's own setting wins over the command line. */
	snprintf(devno, sizeof(devno), "%s\n",
		 bs_node_get_devno(bs_graph_find_node(g, "lv:vg0/root")));
	test_write_file(root, "sys/power/resume", devno);
	bs_graph_unref(g);
	p = keep_root_plan(root, &g);
	ASSERT_STREQ(bs_node_get_id(g->resume), "lv:vg0/root");
	ASSERT_FALSE(plan_keeps(p, "crypt:cryptsrv"));
	bs_plan_unref(p);
	bs_graph_unref(g);
}
