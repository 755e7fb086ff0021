/* Unit tests of the recorded graph: writing it, merging it at cold start, and damage. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "blkstack.h"
#include "fileio.h"
#include "graph.h"
#include "strv.h"
#include "test-graph.h"
#include "tests.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)

#define RECORD_REL "var/lib/blkstack/graph.json"

/* The recipes with both captures: each -assembled fixture and its -disks twin. */
static const char *const recipes[] = {
	"btrfs-2crypt",
	"lvm-swap-loop",
	"ps1-raid6-lvm-crypt",
	"ps2-raid5-crypt-lvm",
	"ps3-crypt-raid10-lvm",
	"rootless-ps1-raid6-lvm-crypt",
	"rootless-ps2-raid5-crypt-lvm",
	"rootless-ps3-crypt-raid10-lvm",
};

/* What the library logged in this test (each test is a process of its own): warnings and
 * errors in warnings, everything in all, one message a line. */
static char *warnings, *all;

_printf_(6, 0) static void capture_log(_unused_ void *userdata, int priority,
				       _unused_ const char *file, _unused_ int line,
				       _unused_ const char *fn, const char *format, va_list args)
{
	char *message = NULL;

	if (vasprintf(&message, format, args) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	if (priority <= LOG_WARNING && strextend(&warnings, message, "\n", NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	if (strextend(&all, message, "\n", NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	free(message);
}

static bool logged_line_with(const char *log, const char *a, const char *b)
{
	for (const char *p = log; p && *p;) {
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

#define ASSERT_LOGGED(log, a, b)                                                                   \
	do {                                                                                       \
		if (!logged_line_with((log), (a), (b)))                                            \
			test_fail(TEST_FILE, __LINE__,                                             \
				  "no message with '%s' and '%s'; logged:\n%s", (a), strna(b),     \
				  (log) ? (log) : "(nothing)");                                    \
	} while (0)

static char *recipe_fixture(const char *recipe, const char *capture)
{
	_cleanup_free_ char *name = NULL;

	if (strextend(&name, recipe, "-", capture, NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	return test_fixture(name);
}

static char *path_join(const char *dir, const char *rel)
{
	char *p = NULL;

	if (strextend(&p, dir, "/", rel, NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	return p;
}

static char *read_text(const char *path)
{
	_cleanup_fclose_ FILE *f = NULL;
	char *text = NULL;
	size_t size = 0;

	f = fopen(path, "re");
	if (!f)
		test_fail(TEST_FILE, __LINE__, "fopen('%s'): %m", path);
	if (getdelim(&text, &size, '\0', f) < 0) {
		/* An empty file. */
		free(text);
		text = strdup("");
		ASSERT_NOTNULL(text);
	}
	return text;
}

static void write_text(const char *dir, const char *rel, const char *text)
{
	test_write_file(dir, rel, text);
}

static struct bs_graph *new_graph(const char *sysroot)
{
	struct bs_ctx_opts opts = { .sysroot = sysroot };
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	struct bs_graph *g = NULL;

	ASSERT_OK(unsetenv("BLKSTACK_DEBUG"));
	ASSERT_OK(bs_ctx_new(&opts, &c));
	bs_ctx_set_log_fn(c, capture_log, NULL);
	ASSERT_OK(bs_ctx_set_log_priority(c, LOG_DEBUG));
	ASSERT_OK(bs_graph_new(c, &g));
	return g;
}

static struct bs_graph *live_graph(const char *sysroot)
{
	struct bs_graph *g = new_graph(sysroot);

	ASSERT_OK(bs_graph_add_live(g));
	return g;
}

static char *graph_json(const struct bs_graph *g)
{
	char *json = NULL;

	ASSERT_OK(bs_graph_to_json(g, &json));
	return json;
}

/* Records the live graph of the recipe's assembled fixture into dir's recorded graph. */
static void record_assembled(const char *recipe, const char *dir)
{
	_cleanup_free_ char *assembled = recipe_fixture(recipe, "assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = live_graph(assembled);
	_cleanup_free_ char *path = path_join(dir, RECORD_REL);

	test_mkdir_p(dir, "var/lib/blkstack");
	ASSERT_OK(bs_graph_record(g, path));
}

/* ---- writing ----------------------------------------------------------------------------- */

static size_t count_entries(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	ASSERT_NOTNULL(d);
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			n++;
	return n;
}

/* The configuration merged into g: the number of problems it has (0 expected). */
static size_t add_config_problems(struct bs_graph *g)
{
	struct bs_problem_list *problems = NULL;
	size_t n;

	ASSERT_OK(bs_problem_list_new(&problems));
	ASSERT_OK(bs_graph_add_config(g, problems));
	n = bs_problem_list_get_n(problems);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "problem: %s\n", bs_problem_get_text(bs_problem_list_get(problems, i)));
	bs_problem_list_free(problems);
	return n;
}

TEST(record_writes_below_sysroot)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled"),
			    *json = NULL, *expected = NULL, *written = NULL, *path = NULL,
			    *dir = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = live_graph(root);
	struct stat st;

	(void)umask(022);
	path = path_join(root, RECORD_REL);
	dir = path_join(root, "var/lib/blkstack");
	ASSERT_ERR(access(path, F_OK) < 0 ? -errno : 0, -ENOENT);

	/* var/, var/lib/ and var/lib/blkstack/ are created. */
	ASSERT_OK(bs_graph_record(g, NULL));
	ASSERT_OK(stat(dir, &st));
	ASSERT_TRUE(S_ISDIR(st.st_mode));
	ASSERT_EQ(st.st_mode & 07777, 0755);
	ASSERT_OK(stat(path, &st));
	ASSERT_EQ(st.st_mode & 07777, 0644);

	json = graph_json(g);
	ASSERT_OK(strextend(&expected, json, "\n", NULL));
	written = read_text(path);
	ASSERT_STREQ(written, expected);

	/* Replaced, with no temporary file left behind. */
	write_text(root, RECORD_REL, "old");
	ASSERT_OK(bs_graph_record(g, NULL));
	written = mfree(written);
	written = read_text(path);
	ASSERT_STREQ(written, expected);
	ASSERT_EQ(count_entries(dir), 1);
	ASSERT_NULL(warnings);
}

TEST(record_to_a_file)
{
	_cleanup_free_ char *root = test_fixture("lvm-swap-loop-assembled"), *path = NULL,
			    *missing = NULL, *written = NULL, *json = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = live_graph(root);
	const char *tmp = test_scratch();

	path = path_join(tmp, "out.json");
	missing = path_join(tmp, "nowhere/out.json");

	ASSERT_OK(bs_graph_record(g, path));
	written = read_text(path);
	json = graph_json(g);
	ASSERT_TRUE(startswith(written, json));
	ASSERT_EQ(count_entries(tmp), 1);

	ASSERT_ERR(bs_graph_record(g, missing), -ENOENT);
	ASSERT_ERR(bs_graph_record(g, ""), -EINVAL);
	ASSERT_ERR(bs_graph_record(NULL, path), -EINVAL);
	ASSERT_ERR(bs_graph_add_recorded(NULL), -EINVAL);
	ASSERT_EQ(count_entries(tmp), 1);
}

TEST(write_file_atomic_replaces_a_symlink)
{
	const char *tmp = test_scratch();
	_cleanup_free_ char *target = path_join(tmp, "target"), *link = path_join(tmp, "link"),
			    *text = NULL;
	_cleanup_close_ int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	ASSERT_OK(dfd);
	write_text(tmp, "target", "untouched");
	test_symlink(tmp, "link", "target");
	ASSERT_OK(write_file_atomic_at(dfd, "link", "new", 3, 0600));
	ASSERT_OK(lstat(link, &st));
	ASSERT_TRUE(S_ISREG(st.st_mode));
	text = read_text(target);
	ASSERT_STREQ(text, "untouched");
	text = mfree(text);
	text = read_text(link);
	ASSERT_STREQ(text, "new");

	ASSERT_ERR(write_file_atomic_at(dfd, "dir/", "x", 1, 0600), -EINVAL);
	ASSERT_ERR(write_file_atomic_at(dfd, "..", "x", 1, 0600), -EINVAL);
	ASSERT_OK(mkdir_p_at(dfd, "a/b//c/", 0755));
	ASSERT_OK(mkdir_p_at(dfd, "a/b/c", 0755));
	ASSERT_ERR(mkdir_p_at(dfd, "target/x", 0755), -ENOTDIR);
	ASSERT_OK(write_file_atomic_at(dfd, "a/b/c/f", "", 0, 0600));
	ASSERT_EQ(count_entries(tmp), 3);
}

/* ---- cold start -------------------------------------------------------------------------- */

TEST(missing_record_adds_nothing)
{
	_cleanup_free_ char *root = test_fixture("ps1-raid6-lvm-crypt-disks"), *before = NULL,
			    *after = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = live_graph(root);

	before = graph_json(g);
	ASSERT_EQ(bs_graph_add_recorded(g), 0);
	after = graph_json(g);
	ASSERT_STREQ(after, before);
	ASSERT_LOGGED(all, "var/lib/blkstack/graph.json", "no recorded graph");
}

/* Each attribute key of n, as JSON. */
static const char *const attr_keys[] = {
	"uuid",	   "uuid_sub", "label",	  "fstype",  "partuuid",     "partlabel",
	"serial",  "dm_name",  "dm_uuid", "md_uuid", "md_name",	     "md_level",
	"vg_uuid", "lv_uuid",  "source",  "options", "backing_file",
};

/* On every recipe: the graph of the disks alone, merged with the graph recorded when the
 * stack was assembled, has every recorded node, edge and identity. */
TEST(cold_start_every_recipe)
{
	for (size_t i = 0; i < ELEMENTSOF(recipes); i++) {
		_cleanup_free_ char *disks_name = NULL, *assembled = NULL, *copy = NULL;
		_cleanup_(bs_graph_unrefp) struct bs_graph *rec = NULL, *disks = NULL,
							   *merged = NULL;
		int r;

		if (strextend(&disks_name, recipes[i], "-disks", NULL) < 0)
			test_fail(TEST_FILE, __LINE__, "out of memory");
		assembled = recipe_fixture(recipes[i], "assembled");
		copy = test_fixture_copy(disks_name);
		record_assembled(recipes[i], copy);

		rec = live_graph(assembled);
		disks = live_graph(copy);
		merged = live_graph(copy);
		r = bs_graph_add_recorded(merged);
		ASSERT_EQ(r, (int)bs_graph_get_n_nodes(rec));

		for (size_t j = 0; j < bs_graph_get_n_nodes(rec); j++) {
			struct bs_node *rn = bs_graph_get_node(rec, j);
			const char *id = bs_node_get_id(rn);
			struct bs_node *n = get_node(merged, id),
				       *live = bs_graph_find_node(disks, id);

			ASSERT_EQ(bs_node_get_kind(n), bs_node_get_kind(rn));
			ASSERT_TRUE(bs_node_get_sources(n) & BS_SOURCE_RECORDED);
			if (live) {
				/* Live says what is there now. */
				ASSERT_EQ(bs_node_get_state(n), bs_node_get_state(live));
				ASSERT_EQ(bs_node_get_sources(n),
					  bs_node_get_sources(live) | BS_SOURCE_RECORDED);
				ASSERT_STREQ(bs_node_get_name(n), bs_node_get_name(live));
				ASSERT_STREQ(bs_node_get_devno(n), bs_node_get_devno(live));
			} else {
				ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
				ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_RECORDED);
				/* Live-only data is not taken from the record. */
				ASSERT_NULL(bs_node_get_name(n));
				ASSERT_NULL(bs_node_get_devno(n));
				ASSERT_EQ(bs_node_get_size(n), bs_node_get_size(rn));
			}
			for (size_t a = 0; a < ELEMENTSOF(attr_keys); a++) {
				const char *want =
					live ? bs_node_get_attr(live, attr_keys[a]) : NULL;

				/* A live device's identities are what was read now; a live
				 * node without a device (an inactive LV) takes the record's. */
				if (!want && (!live || !bs_node_get_devno(live)))
					want = bs_node_get_attr(rn, attr_keys[a]);
				ASSERT_STREQ(bs_node_get_attr(n, attr_keys[a]), want);
			}
		}
		for (size_t j = 0; j < bs_graph_get_n_edges(rec); j++) {
			struct bs_edge *e = bs_graph_get_edge(rec, j);
			const char *h = bs_node_get_id(bs_edge_get_holder(e)),
				   *n = bs_node_get_id(bs_edge_get_needs(e));

			/* From a live holder, live sources say what it needs. */
			if (bs_graph_find_node(disks, h))
				continue;
			ASSERT_STREQ(need_role(merged, h, n), bs_edge_get_role(e));
		}
		/* Nothing but the record's nodes is added. */
		for (size_t j = 0; j < bs_graph_get_n_nodes(merged); j++) {
			const char *id = bs_node_get_id(bs_graph_get_node(merged, j));

			ASSERT_TRUE(bs_graph_find_node(rec, id) || bs_graph_find_node(disks, id));
		}
		ASSERT_FALSE(logged_line_with(warnings, "recorded graph", NULL));
	}
}

TEST(cold_start_ps1_inner_layers)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-disks");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct bs_node *n;

	record_assembled("ps1-raid6-lvm-crypt", root);
	g = live_graph(root);
	ASSERT_NULL(bs_graph_find_node(g, "crypt:cryptroot"));
	ASSERT_EQ(bs_graph_add_recorded(g), 12);

	/* The layers inside: known, absent, with their identities. */
	n = get_node(g, "crypt:cryptroot");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
	ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_RECORDED);
	ASSERT_STREQ(bs_node_get_attr(n, "uuid"), "5e99935b-84ba-4678-96e5-7d654a978e69");
	ASSERT_STREQ(bs_node_get_attr(n, "fstype"), "ext4");
	ASSERT_STREQ(bs_node_get_attr(n, "dm_name"), "cryptroot");
	ASSERT_NULL(bs_node_get_name(n));
	ASSERT_NULL(bs_node_get_devno(n));
	ASSERT_NULL(bs_node_get_mountpoints(n)[0]);
	ASSERT_STREQ(need_role(g, "crypt:cryptroot", "lv:vg0/root"), "backing");

	/* UUID=... in fstab resolves through the record, and so does /dev/mapper/NAME. */
	ASSERT_TRUE(bs_graph_find_dev_path(
			    g, "/dev/disk/by-uuid/5e99935b-84ba-4678-96e5-7d654a978e69") == n);
	ASSERT_TRUE(bs_graph_find_dev_path(g, "/dev/mapper/cryptroot") == n);

	n = get_node(g, "lv:vg0/root");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
	ASSERT_STREQ(bs_node_get_attr(n, "fstype"), "crypto_LUKS");
	ASSERT_STREQ(need_role(g, "lv:vg0/root", "vg:vg0"), "vg");
	ASSERT_STREQ(need_role(g, "vg:vg0", "md:sys"), "pv");

	n = get_node(g, "md:sys");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
	ASSERT_NOTNULL(bs_node_get_attr(n, "md_uuid"));
	ASSERT_EQ(bs_node_get_n_needs(n), 4);
	ASSERT_STREQ(need_role(g, "md:sys", "blk:vda"), "member");
	ASSERT_STREQ(need_role(g, "md:sys", "blk:vdd"), "member");

	n = get_node(g, "mnt:/srv");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
	ASSERT_STREQ(bs_node_get_mountpoints(n)[0], "/srv");
	ASSERT_STREQ(need_role(g, "mnt:/srv", "crypt:cryptsrv"), "device");
	ASSERT_STREQ(need_role(g, "mnt:/srv", "mnt:/"), "mountpoint");

	/* The disks are the live ones, known to the record too. */
	n = get_node(g, "blk:vda");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_PRESENT);
	ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_LIVE | BS_SOURCE_RECORDED);
	ASSERT_STREQ(bs_node_get_name(n), "vda");
	ASSERT_STREQ(bs_node_get_attr(n, "serial"), "ps1a");
	ASSERT_EQ(bs_graph_get_n_nodes(g), 12);
}

TEST(cold_start_lv_identity_from_record)
{
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-disks");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct bs_node *n;

	record_assembled("lvm-swap-loop", root);
	g = live_graph(root);

	/* The LVM report shows the LV, inactive; what filesystem it holds only the record
	 * knows. */
	n = get_node(g, "lv:sys/root");
	ASSERT_NULL(bs_node_get_attr(n, "uuid"));
	ASSERT_OK(bs_graph_add_recorded(g));
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_PRESENT);
	ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_LIVE | BS_SOURCE_RECORDED);
	ASSERT_STREQ(bs_node_get_attr(n, "uuid"), "5c6c96df-813e-4985-a201-f5faa820967a");
	ASSERT_STREQ(bs_node_get_attr(n, "fstype"), "ext4");
	ASSERT_EQ(bs_node_get_n_needs(n), 1);

	/* The idle loop device of the disks capture is no node; the record's is, absent,
	 * on the mount that holds its file. */
	n = get_node(g, "blk:loop0");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
	ASSERT_STREQ(bs_node_get_attr(n, "backing_file"), "/data/disk.img");
	ASSERT_STREQ(need_role(g, "blk:loop0", "mnt:/data"), "backing-file");
	ASSERT_STREQ(need_role(g, "swap:lv:sys/swap", "lv:sys/swap"), "device");
	ASSERT_EQ(bs_node_get_state(get_node(g, "swap:lv:sys/swap")), BS_STATE_ABSENT);
}

/* Swaps "vda" and "vdb" throughout text, in place: ids, names and edges. */
static void swap_vda_vdb(char *text)
{
	for (char *p = text; (p = strstr(p, "vd")); p += 2) {
		if (p[2] == 'a')
			p[2] = 'b';
		else if (p[2] == 'b')
			p[2] = 'a';
	}
}

TEST(renamed_disks_map_by_identity)
{
	_cleanup_free_ char *root = test_fixture_copy("btrfs-2crypt-disks"), *path = NULL,
			    *text = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	size_t n_before;

	/* The record says vda is the disk with serial b2b and vdb the one with b2a: the
	 * kernel named them the other way round on that boot. */
	record_assembled("btrfs-2crypt", root);
	path = path_join(root, RECORD_REL);
	text = read_text(path);
	ASSERT_NOTNULL(strstr(text, "\"id\": \"blk:vda2\""));
	swap_vda_vdb(text);
	ASSERT_NOTNULL(strstr(text, "\"id\": \"blk:vdb2\""));
	ASSERT_NULL(strstr(text, "\"id\": \"blk:vda2\""));
	write_text(root, RECORD_REL, text);

	g = live_graph(root);
	ASSERT_STREQ(bs_node_get_attr(get_node(g, "blk:vda"), "serial"), "b2a");
	n_before = bs_graph_get_n_nodes(g);
	ASSERT_EQ(bs_graph_add_recorded(g), 10);

	/* Each recorded device is the live one with its serial or PARTUUID. */
	ASSERT_NULL(bs_graph_find_node(g, "blk:vdb2"));
	ASSERT_STREQ(need_role(g, "crypt:crypt1", "blk:vda2"), "backing");
	ASSERT_STREQ(need_role(g, "crypt:crypt2", "blk:vdb1"), "backing");
	ASSERT_STREQ(need_role(g, "mnt:/boot", "blk:vda1"), "device");
	ASSERT_EQ(bs_node_get_sources(get_node(g, "blk:vda")), BS_SOURCE_LIVE | BS_SOURCE_RECORDED);
	ASSERT_EQ(bs_node_get_sources(get_node(g, "blk:vdb")), BS_SOURCE_LIVE | BS_SOURCE_RECORDED);
	ASSERT_STREQ(bs_node_get_attr(get_node(g, "blk:vda"), "serial"), "b2a");
	/* Only the inner layers are new: two mappings, the btrfs and two mounts. */
	ASSERT_EQ(bs_graph_get_n_nodes(g), n_before + 5);
	ASSERT_LOGGED(all, "'blk:vdb2' is 'blk:vda2' now", "partuuid");
	ASSERT_LOGGED(all, "'blk:vdb' is 'blk:vda' now", "serial 'b2a'");
}

/* A cold start of btrfs-2crypt: the btrfs over two closed mappings comes from the record
 * alone. Merging the configuration links the recorded members into the filesystem again, and
 * that must not make it live, present or mounted: none of its devices is there. */
TEST(btrfs_of_closed_mappings_is_not_live)
{
	_cleanup_free_ char *root = test_fixture_copy("btrfs-2crypt-disks");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	const char *btrfs = "btrfs:aa54b249-4104-47b4-a99c-105749d0eb68";
	struct bs_node *fs;

	record_assembled("btrfs-2crypt", root);
	/* A mount configured by one member's path: it is moved to the filesystem, which it
	 * does not mount while it is absent itself. */
	test_write_file(root, "etc/fstab",
			"UUID=aa54b249-4104-47b4-a99c-105749d0eb68 / btrfs defaults 0 0\n"
			"UUID=cdadd041-40d9-4b5c-8518-00e7256b619c /boot ext4 defaults 0 2\n"
			"/dev/mapper/crypt2 /data btrfs subvol=data 0 0\n");
	g = live_graph(root);
	ASSERT_OK(bs_graph_add_recorded(g));
	ASSERT_EQ(add_config_problems(g), 0);

	fs = get_node(g, btrfs);
	ASSERT_EQ(bs_node_get_sources(fs), BS_SOURCE_RECORDED);
	ASSERT_EQ(bs_node_get_state(fs), BS_STATE_ABSENT);
	ASSERT_NULL(bs_node_get_mountpoints(fs)[0]);
	ASSERT_STREQ(need_role(g, btrfs, "crypt:crypt1"), "member");
	ASSERT_STREQ(need_role(g, btrfs, "crypt:crypt2"), "member");
	ASSERT_STREQ(need_role(g, "mnt:/", btrfs), "device");
	ASSERT_STREQ(need_role(g, "mnt:/data", btrfs), "device");
	ASSERT_EQ(bs_node_get_state(get_node(g, "crypt:crypt1")), BS_STATE_ABSENT);
	ASSERT_EQ(bs_node_get_state(get_node(g, "crypt:crypt2")), BS_STATE_ABSENT);
}

/* The same record on the assembled stack: both members are open, and the filesystem is
 * mounted; the record and the configuration take nothing of that away. */
TEST(btrfs_of_open_mappings_stays_live)
{
	_cleanup_free_ char *root = test_fixture_copy("btrfs-2crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	const char *btrfs = "btrfs:aa54b249-4104-47b4-a99c-105749d0eb68";
	struct bs_node *fs;

	record_assembled("btrfs-2crypt", root);
	g = live_graph(root);
	ASSERT_OK(bs_graph_add_recorded(g));
	ASSERT_EQ(add_config_problems(g), 0);

	fs = get_node(g, btrfs);
	ASSERT_EQ(bs_node_get_sources(fs), BS_SOURCE_LIVE | BS_SOURCE_RECORDED);
	ASSERT_EQ(bs_node_get_state(fs), BS_STATE_ACTIVE);
	ASSERT_STREQ(bs_node_get_mountpoints(fs)[0], "/");
	ASSERT_STREQ(need_role(g, "mnt:/", btrfs), "device");
}

/* crypt2 closed under a mounted btrfs (mounted degraded): the live mount says the kernel has
 * the filesystem, though one of its devices is there no more. */
TEST(btrfs_mounted_degraded_is_live)
{
	_cleanup_free_ char *root = test_fixture_copy("btrfs-2crypt-assembled"), *link = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	const char *btrfs = "btrfs:aa54b249-4104-47b4-a99c-105749d0eb68";
	struct bs_node *fs;

	record_assembled("btrfs-2crypt", root);
	link = path_join(root, "sys/class/block/dm-1");
	ASSERT_OK(unlink(link));
	g = live_graph(root);
	ASSERT_OK(bs_graph_add_recorded(g));
	ASSERT_EQ(add_config_problems(g), 0);

	ASSERT_EQ(bs_node_get_sources(get_node(g, "crypt:crypt2")),
		  BS_SOURCE_CONFIG | BS_SOURCE_RECORDED);
	fs = get_node(g, btrfs);
	ASSERT_EQ(bs_node_get_sources(fs), BS_SOURCE_LIVE | BS_SOURCE_RECORDED);
	ASSERT_EQ(bs_node_get_state(fs), BS_STATE_ACTIVE);
	ASSERT_STREQ(need_role(g, "mnt:/", btrfs), "device");
	ASSERT_STREQ(need_role(g, btrfs, "crypt:crypt2"), "member");
}

/* The recorded vda is another disk than today's vda: it is not merged into it, but kept as
 * absent under its serial, so that the array it belongs to waits for it. */
TEST(same_name_other_device_is_not_merged)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-disks");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct bs_node *n;

	write_text(
		root, RECORD_REL,
		"{\"version\":1,\"nodes\":["
		"{\"id\":\"blk:vda\",\"kind\":\"disk\",\"serial\":\"elsewhere\"},"
		"{\"id\":\"md:old\",\"kind\":\"md\",\"md_uuid\":\"1:2:3:4\"}],"
		"\"edges\":[{\"holder\":\"md:old\",\"needs\":\"blk:vda\",\"role\":\"member\"}]}");
	g = live_graph(root);
	ASSERT_EQ(bs_graph_add_recorded(g), 2);

	n = get_node(g, "blk:vda");
	ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_LIVE);
	ASSERT_STREQ(bs_node_get_attr(n, "serial"), "ps1a");
	ASSERT_EQ(bs_node_get_n_holders(n), 0);
	n = get_node(g, "blk:serial=elsewhere");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
	ASSERT_STREQ(bs_node_get_attr(n, "serial"), "elsewhere");
	ASSERT_STREQ(need_role(g, "md:old", "blk:serial=elsewhere"), "member");
	n = get_node(g, "md:old");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
	ASSERT_EQ(bs_node_get_n_needs(n), 1);
	ASSERT_LOGGED(all, "'blk:vda' has serial 'ps1a' now, not 'elsewhere'", NULL);
	ASSERT_NULL(warnings);
}

TEST(live_holder_keeps_its_live_needs)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	/* md:sys had a fifth member, now missing; mnt:/ was on another device. */
	write_text(root, RECORD_REL,
		   "{\"version\":1,\"nodes\":["
		   "{\"id\":\"md:sys\",\"kind\":\"md\"},"
		   "{\"id\":\"blk:vde\",\"kind\":\"disk\",\"serial\":\"ps1e\"},"
		   "{\"id\":\"mnt:/\",\"kind\":\"mount\"},"
		   "{\"id\":\"crypt:old\",\"kind\":\"crypt\"}],"
		   "\"edges\":[{\"holder\":\"md:sys\",\"needs\":\"blk:vde\",\"role\":\"member\"},"
		   "{\"holder\":\"mnt:/\",\"needs\":\"crypt:old\",\"role\":\"device\"}]}");
	g = live_graph(root);
	ASSERT_EQ(bs_graph_add_recorded(g), 4);

	ASSERT_STREQ(need_role(g, "md:sys", "blk:vde"), "member");
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "md:sys")), 5);
	ASSERT_EQ(bs_node_get_state(get_node(g, "blk:vde")), BS_STATE_ABSENT);
	ASSERT_NULL(need_role(g, "mnt:/", "crypt:old"));
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "mnt:/")), 1);
	ASSERT_EQ(bs_node_get_state(get_node(g, "crypt:old")), BS_STATE_ABSENT);
}

TEST(record_closing_a_cycle_with_live_is_cut)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	/* Alone the record has no cycle; with the live stack it would: mnt:/ needs vda
	 * through the whole stack. */
	write_text(
		root, RECORD_REL,
		"{\"version\":1,\"nodes\":["
		"{\"id\":\"blk:other\",\"kind\":\"disk\",\"serial\":\"ps1a\"},"
		"{\"id\":\"crypt:new\",\"kind\":\"crypt\"},"
		"{\"id\":\"mnt:/\",\"kind\":\"mount\"}],"
		"\"edges\":[{\"holder\":\"blk:other\",\"needs\":\"crypt:new\",\"role\":\"member\"},"
		"{\"holder\":\"crypt:new\",\"needs\":\"mnt:/\",\"role\":\"backing\"}]}");
	g = live_graph(root);
	ASSERT_EQ(bs_graph_add_recorded(g), 3);
	ASSERT_NULL(bs_graph_find_node(g, "blk:other"));
	ASSERT_STREQ(need_role(g, "blk:vda", "crypt:new"), "member");
	ASSERT_NULL(need_role(g, "crypt:new", "mnt:/"));
	ASSERT_LOGGED(all, "'crypt:new' needs 'mnt:/'", "cycle");
	ASSERT_NULL(warnings);
}

TEST(live_device_keeps_its_identities)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-disks");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct bs_node *n;

	/* vda had a partition label and another size when recorded; probed now, it has
	 * neither: the record gives it no identities back. */
	write_text(root, RECORD_REL,
		   "{\"version\":1,\"nodes\":["
		   "{\"id\":\"blk:vda\",\"kind\":\"disk\",\"serial\":\"ps1a\","
		   "\"label\":\"old\",\"partlabel\":\"gone\",\"size\":1}],\"edges\":[]}");
	g = live_graph(root);
	ASSERT_EQ(bs_graph_add_recorded(g), 1);
	n = get_node(g, "blk:vda");
	ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_LIVE | BS_SOURCE_RECORDED);
	ASSERT_STREQ(bs_node_get_attr(n, "label"), "guest:sys");
	ASSERT_NULL(bs_node_get_attr(n, "partlabel"));
	ASSERT_TRUE(bs_node_get_size(n) > 1);
}

TEST(swap_id_follows_its_device)
{
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-disks");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	/* Swap on the partition that was vdb2 and is vda2 now. */
	write_text(root, RECORD_REL,
		   "{\"version\":1,\"nodes\":["
		   "{\"id\":\"blk:vdb2\",\"kind\":\"part\","
		   "\"partuuid\":\"6506e9ad-8ef1-094f-a96f-e1a9e2bacc03\"},"
		   "{\"id\":\"swap:blk:vdb2\",\"kind\":\"swap\"}],"
		   "\"edges\":[{\"holder\":\"swap:blk:vdb2\",\"needs\":\"blk:vdb2\","
		   "\"role\":\"device\"}]}");
	g = live_graph(root);
	ASSERT_EQ(bs_graph_add_recorded(g), 2);
	ASSERT_NULL(bs_graph_find_node(g, "blk:vdb2"));
	ASSERT_NULL(bs_graph_find_node(g, "swap:blk:vdb2"));
	ASSERT_STREQ(need_role(g, "swap:blk:vda2", "blk:vda2"), "device");
}

/* ---- damage ------------------------------------------------------------------------------ */

static const struct {
	const char *text;
	const char *message;
} damaged_records[] = {
	{ "", "byte 0: unexpected end of data" },
	{ "{\"version\":1,\"nodes\":[", "byte 22: unexpected end of data" },
	{ "[]", "not a JSON object" },
	{ "\"graph\"", "not a JSON object" },
	{ "{\"nodes\":[],\"edges\":[]}", "no 'version'" },
	{ "{\"version\":2,\"nodes\":[],\"edges\":[]}", "version 2 is not supported" },
	{ "{\"version\":\"1\",\"nodes\":[],\"edges\":[]}", "no 'version'" },
	{ "{\"version\":1,\"edges\":[]}", "no 'nodes' list" },
	{ "{\"version\":1,\"nodes\":[]}", "no 'edges' list" },
	{ "{\"version\":1,\"nodes\":{},\"edges\":[]}", "no 'nodes' list" },
	{ "{\"version\":1,\"nodes\":[],\"edges\":[]} x", "byte 36: unexpected character" },
	{ "{\"version\":1,\"nodes\":[],\"edges\":[]}\n\n}", "byte 37: unexpected character" },
	{ "{\"version\":1,\"nodes\":[],\"edges\":[],}", "unexpected character" },
	{ "{\"version\":1,\"nodes\":[1],\"edges\":[]}", "nodes[0]: not an object" },
	{ "{\"version\":1,\"nodes\":[{\"kind\":\"md\"}],\"edges\":[]}", "nodes[0]: no 'id'" },
	{ "{\"version\":1,\"nodes\":[{\"id\":\"md\",\"kind\":\"md\"}],\"edges\":[]}",
	  "id 'md' is not of the form" },
	{ "{\"version\":1,\"nodes\":[{\"id\":\"md:x\",\"kind\":\"raid\"}],\"edges\":[]}",
	  "unknown kind 'raid'" },
	{ "{\"version\":1,\"nodes\":[{\"id\":\"md:x\",\"kind\":\"md\",\"state\":\"on\"}],"
	  "\"edges\":[]}",
	  "unknown state 'on'" },
	{ "{\"version\":1,\"nodes\":[{\"id\":\"md:x\",\"kind\":\"md\"},"
	  "{\"id\":\"md:x\",\"kind\":\"md\"}],\"edges\":[]}",
	  "nodes[1]: id 'md:x' appears twice" },
	{ "{\"version\":1,\"nodes\":[{\"id\":\"md:x\",\"kind\":\"md\",\"uuid\":7}],"
	  "\"edges\":[]}",
	  "nodes[0]: 'uuid' is not a string" },
	{ "{\"version\":1,\"nodes\":[{\"id\":\"md:x\",\"kind\":\"md\",\"uuid\":\"a\\u0000b\"}],"
	  "\"edges\":[]}",
	  "'uuid' has a NUL byte inside" },
	{ "{\"version\":1,\"nodes\":[{\"id\":\"md:x\",\"kind\":\"md\",\"size\":-1}],"
	  "\"edges\":[]}",
	  "size that is no byte count" },
	{ "{\"version\":1,\"nodes\":[{\"id\":\"mnt:/\",\"kind\":\"mount\",\"mountpoints\":[\"\"]}],"
	  "\"edges\":[]}",
	  "'mountpoints'[0] is not a non-empty string" },
	{ "{\"version\":1,\"nodes\":[{\"id\":\"md:x\",\"kind\":\"md\"}],"
	  "\"edges\":[{\"holder\":\"md:x\",\"needs\":\"blk:vda\"}]}",
	  "edges[0]: 'md:x' needs 'blk:vda', which is no node of the graph" },
	{ "{\"version\":1,\"nodes\":[{\"id\":\"md:x\",\"kind\":\"md\"}],"
	  "\"edges\":[{\"holder\":\"md:x\",\"needs\":\"md:x\"}]}",
	  "edges[0]: 'md:x' needs itself" },
	{ "{\"version\":1,\"nodes\":[{\"id\":\"md:x\",\"kind\":\"md\"},"
	  "{\"id\":\"md:y\",\"kind\":\"md\"},{\"id\":\"md:z\",\"kind\":\"md\"}],"
	  "\"edges\":[{\"holder\":\"md:z\",\"needs\":\"md:x\"},"
	  "{\"holder\":\"md:x\",\"needs\":\"md:y\"},{\"holder\":\"md:y\",\"needs\":\"md:x\"}]}",
	  "the edges form a cycle through 'md:x'" },
};

TEST(damaged_records_add_nothing)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-disks");

	for (size_t i = 0; i < ELEMENTSOF(damaged_records); i++) {
		_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
		_cleanup_free_ char *before = NULL, *after = NULL;

		write_text(root, RECORD_REL, damaged_records[i].text);
		g = live_graph(root);
		before = graph_json(g);
		warnings = mfree(warnings);
		ASSERT_ERR(bs_graph_add_recorded(g), -EBADMSG);
		after = graph_json(g);
		ASSERT_STREQ(after, before);
		ASSERT_LOGGED(warnings,
			      "/var/lib/blkstack/graph.json: ", damaged_records[i].message);
		ASSERT_LOGGED(warnings, damaged_records[i].message, "ignoring the recorded graph");
	}
}

/* A real record cut short anywhere is damaged, and says where it ends. */
TEST(truncated_record_adds_nothing)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-disks"), *path = NULL,
			    *text = NULL;

	record_assembled("ps1-raid6-lvm-crypt", root);
	path = path_join(root, RECORD_REL);
	text = read_text(path);

	for (size_t cut = 1; cut < strlen(text) - 1; cut += 97) {
		_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
		_cleanup_free_ char *before = NULL, *after = NULL, *part = strndup(text, cut),
				    *where = NULL;

		ASSERT_NOTNULL(part);
		write_text(root, RECORD_REL, part);
		g = live_graph(root);
		before = graph_json(g);
		warnings = mfree(warnings);
		ASSERT_ERR(bs_graph_add_recorded(g), -EBADMSG);
		after = graph_json(g);
		ASSERT_STREQ(after, before);
		ASSERT_TRUE(asprintf(&where, "graph.json: byte %zu: ", cut) > 0);
		ASSERT_LOGGED(warnings, where, "ignoring the recorded graph");
	}
}

TEST(unreadable_record_is_reported)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-disks");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	test_mkdir_p(root, RECORD_REL);
	g = live_graph(root);
	ASSERT_ERR(bs_graph_add_recorded(g), -EISDIR);
	ASSERT_LOGGED(warnings, "/var/lib/blkstack/graph.json: cannot read", NULL);
}

/* ---- round trip -------------------------------------------------------------------------- */

/* The graph's JSON without what a record does not carry over: states and sources, and what
 * only a live node has (kernel name, device number, the mount points of a device). */
static json_object *comparable(const char *json)
{
	json_object *o = json_tokener_parse(json), *nodes;

	ASSERT_NOTNULL(o);
	ASSERT_TRUE(json_object_object_get_ex(o, "nodes", &nodes));
	for (size_t i = 0; i < json_object_array_length(nodes); i++) {
		json_object *n = json_object_array_get_idx(nodes, i), *kind;

		json_object_object_del(n, "state");
		json_object_object_del(n, "sources");
		json_object_object_del(n, "name");
		json_object_object_del(n, "devno");
		ASSERT_TRUE(json_object_object_get_ex(n, "kind", &kind));
		if (!streq(json_object_get_string(kind), "mount"))
			json_object_object_del(n, "mountpoints");
	}
	return o;
}

TEST(round_trip_every_fixture)
{
	for (size_t i = 0; i < ELEMENTSOF(recipes); i++) {
		for (int assembled = 0; assembled < 2; assembled++) {
			_cleanup_free_ char *root = NULL, *json = NULL, *back = NULL, *path = NULL;
			_cleanup_(bs_graph_unrefp) struct bs_graph *live = NULL, *read = NULL;
			_cleanup_(json_object_putp) json_object *a = NULL, *b = NULL;
			_cleanup_free_ char *dir = NULL;

			root = recipe_fixture(recipes[i], assembled ? "assembled" : "disks");
			ASSERT_TRUE(asprintf(&dir, "%s/%zu-%d", test_scratch(), i, assembled) > 0);
			ASSERT_OK(mkdir(dir, 0755));
			live = live_graph(root);
			path = path_join(dir, RECORD_REL);
			test_mkdir_p(dir, "var/lib/blkstack");
			ASSERT_OK(bs_graph_record(live, path));

			/* Read back into an empty graph: no live source. */
			read = new_graph(dir);
			ASSERT_EQ(bs_graph_add_recorded(read), (int)bs_graph_get_n_nodes(live));
			ASSERT_EQ(bs_graph_get_n_edges(read), bs_graph_get_n_edges(live));
			for (size_t j = 0; j < bs_graph_get_n_nodes(read); j++) {
				struct bs_node *n = bs_graph_get_node(read, j);

				ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
				ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_RECORDED);
			}

			json = graph_json(live);
			back = graph_json(read);
			a = comparable(json);
			b = comparable(back);
			if (!json_object_equal(a, b))
				test_fail(TEST_FILE, __LINE__, "%s: round trip differs:\n%s\n%s",
					  root, json_object_to_json_string(a),
					  json_object_to_json_string(b));
		}
	}
}

/* ---- the command ------------------------------------------------------------------------- */

TEST(cli_record)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled"),
			    *canonical = NULL, *expected = NULL, *out = NULL, *written = NULL,
			    *path = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	_cleanup_free_ char *json = NULL;
	struct test_cli_result r;

	r = TEST_RUN_CLI("--sysroot", root, "record");
	canonical = realpath(root, NULL);
	ASSERT_NOTNULL(canonical);
	ASSERT_TRUE(asprintf(&expected, "recorded 12 nodes and 12 edges to %s/%s\n", canonical,
			     RECORD_REL) > 0);
	ASSERT_STREQ(r.err, "");
	ASSERT_STREQ(r.out, expected);
	ASSERT_EQ(r.exit_code, 0);
	free(r.out);
	free(r.err);

	/* What it wrote is the live graph, as show --json prints it. */
	g = live_graph(root);
	json = graph_json(g);
	path = path_join(root, RECORD_REL);
	written = read_text(path);
	ASSERT_TRUE(startswith(written, json));

	out = path_join(test_scratch(), "g.json");
	r = TEST_RUN_CLI("--sysroot", root, "record", "--output", out);
	ASSERT_EQ(r.exit_code, 0);
	ASSERT_TRUE(startswith(r.out, "recorded 12 nodes and 12 edges to "));
	ASSERT_NOTNULL(strstr(r.out, "/g.json"));
	free(r.out);
	free(r.err);

	r = TEST_RUN_CLI("--sysroot", root, "record", "-o", "/nonexistent/dir/g.json");
	ASSERT_EQ(r.exit_code, 1);
	ASSERT_NOTNULL(strstr(r.err, "Failed to write the recorded graph to "
				     "'/nonexistent/dir/g.json': No such file or directory"));
	free(r.out);
	free(r.err);

	r = TEST_RUN_CLI("--sysroot", root, "record", "extra");
	ASSERT_EQ(r.exit_code, 2);
	ASSERT_NOTNULL(strstr(r.err, "record: unexpected argument 'extra'"));
	free(r.out);
	free(r.err);

	r = TEST_RUN_CLI("record", "--output");
	ASSERT_EQ(r.exit_code, 2);
	free(r.out);
	free(r.err);
}
