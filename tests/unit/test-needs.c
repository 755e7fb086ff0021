/* Unit tests of 'needs': the root set's closure on every kind of stack, and only that. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkstack.h"
#include "exit-code.h"
#include "graph.h"
#include "macro.h"
#include "tests.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)

static struct bs_graph *load(const char *root)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	struct bs_ctx_opts o = { .sysroot = root };
	struct bs_graph *g = NULL;

	ASSERT_OK(unsetenv("BLKSTACK_DEBUG"));
	ASSERT_OK(bs_ctx_new(&o, &c));
	ASSERT_OK(bs_graph_load(c, NULL, &g, NULL));
	return g;
}

static bool has(const struct bs_needs *n, const char *id)
{
	for (size_t i = 0; i < bs_needs_get_n_nodes(n); i++)
		if (streq(bs_node_get_id(bs_needs_get_node(n, i)), id))
			return true;
	return false;
}

static struct bs_needs *needs_of(const char *fixture, const char *root, const char *resume,
				 const char *const *also)
{
	_cleanup_free_ char *dir = test_fixture(fixture);
	struct bs_graph *g = load(dir);
	struct bs_needs *n = NULL;

	ASSERT_OK(bs_needs_new(g, root, resume, also, &n));
	bs_graph_unref(g);
	return n;
}

/* RAID6 -> LVM -> LUKS -> ext4 root: every disk of the array, the VG with its PV, root's LV
 * and mapping; not /srv's. */
TEST(ps1_root_closure_only)
{
	struct bs_needs *n = needs_of("ps1-raid6-lvm-crypt-assembled", NULL, NULL, NULL);

	ASSERT_TRUE(has(n, "mnt:/"));
	ASSERT_TRUE(has(n, "crypt:cryptroot"));
	ASSERT_TRUE(has(n, "lv:vg0/root"));
	ASSERT_TRUE(has(n, "vg:vg0"));
	ASSERT_TRUE(has(n, "md:sys"));
	for (const char *const *d =
		     (const char *const[]){ "blk:vda", "blk:vdb", "blk:vdc", "blk:vdd", NULL };
	     *d; d++)
		ASSERT_TRUE(has(n, *d));
	ASSERT_FALSE(has(n, "crypt:cryptsrv"));
	ASSERT_FALSE(has(n, "lv:vg0/srv"));
	ASSERT_FALSE(has(n, "mnt:/srv"));
	ASSERT_TRUE(bs_needs_has_kind(n, BS_NODE_MD));
	ASSERT_TRUE(bs_needs_has_kind(n, BS_NODE_LV));
	ASSERT_FALSE(bs_needs_has_kind(n, BS_NODE_BTRFS));
	bs_needs_unref(n);
}

/* Root on LVM, the LUKS LV for /data not under it: no crypt and no md in the image; the
 * active swap is no resume device, so it stays out. */
TEST(lvm_swap_loop_has_no_crypt_below_root)
{
	struct bs_needs *n = needs_of("lvm-swap-loop-assembled", "/", NULL, NULL);

	ASSERT_TRUE(has(n, "lv:sys/root"));
	ASSERT_TRUE(has(n, "vg:sys"));
	ASSERT_FALSE(bs_needs_has_kind(n, BS_NODE_CRYPT));
	ASSERT_FALSE(bs_needs_has_kind(n, BS_NODE_MD));
	ASSERT_FALSE(bs_needs_has_kind(n, BS_NODE_LOOP));
	ASSERT_FALSE(has(n, "swap:lv:sys/swap"));
	bs_needs_unref(n);

	/* As resume device, the swap LV comes in with what it needs. */
	n = needs_of("lvm-swap-loop-assembled", NULL, "/dev/mapper/sys-swap", NULL);
	ASSERT_TRUE(has(n, "lv:sys/swap"));
	bs_needs_unref(n);
}

/* btrfs over two LUKS mappings: both members, and the btrfs node. */
TEST(btrfs_root_needs_every_member)
{
	struct bs_needs *n = needs_of("btrfs-2crypt-assembled", NULL, NULL, NULL);
	_cleanup_free_ char *json = NULL;

	ASSERT_TRUE(bs_needs_has_kind(n, BS_NODE_BTRFS));
	ASSERT_TRUE(has(n, "crypt:crypt1"));
	ASSERT_TRUE(has(n, "crypt:crypt2"));
	ASSERT_OK(bs_needs_to_json(n, &json));
	ASSERT_NOTNULL(strstr(json, "\"kinds\": [\n    \"disk\",\n    \"part\",\n    \"crypt\",\n"
				    "    \"btrfs\",\n    \"mount\"\n  ]"));
	/* Identities to wait for, never a kernel name. */
	ASSERT_NULL(strstr(json, "\"name\""));
	bs_needs_unref(n);
}

/* --also adds a node; names that match nothing are refused. */
TEST(also_and_unknown_names)
{
	_cleanup_free_ char *dir = test_fixture("ps1-raid6-lvm-crypt-assembled");
	struct bs_graph *g = load(dir);
	struct bs_needs *n = NULL;

	ASSERT_OK(bs_needs_new(g, NULL, NULL, (const char *const[]){ "/srv", NULL }, &n));
	ASSERT_TRUE(has(n, "crypt:cryptsrv"));
	n = bs_needs_unref(n);
	ASSERT_ERR(bs_needs_new(g, "/nowhere", NULL, NULL, &n), -ENOENT);
	ASSERT_ERR(bs_needs_new(g, NULL, "UUID=00000000-0000-0000-0000-000000000000", NULL, &n),
		   -ENOENT);
	ASSERT_ERR(bs_needs_new(g, NULL, NULL, (const char *const[]){ "md:nothing", NULL }, &n),
		   -ENOENT);
	bs_graph_unref(g);
}

/* A rootless machine has no root to build an image for. */
TEST(rootless_fixture_has_no_root)
{
	_cleanup_free_ char *dir = test_fixture("rootless-ps1-raid6-lvm-crypt-assembled");
	struct bs_graph *g = load(dir);
	struct bs_needs *n = NULL;

	ASSERT_ERR(bs_needs_new(g, NULL, NULL, NULL, &n), -ENOENT);
	bs_graph_unref(g);
}

/* A key file on root for root's own mapping is listed for the image, not followed. */
TEST(carried_key_file_is_listed)
{
	_cleanup_free_ char *dir = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_free_ char *json = NULL;
	struct bs_graph *g;
	struct bs_needs *n = NULL;

	test_write_file(dir, "etc/crypttab",
			"cryptroot UUID=43c1b2e4-cd43-4bbd-949e-e440504cddf6 /etc/keys/root.key "
			"luks\n");
	g = load(dir);
	ASSERT_OK(bs_needs_new(g, NULL, NULL, NULL, &n));
	ASSERT_OK(bs_needs_to_json(n, &json));
	ASSERT_NOTNULL(
		strstr(json, "\"node\": \"crypt:cryptroot\", \"path\": \"\\/etc/keys/root.key\"") ?:
			strstr(json,
			       "\"node\": \"crypt:cryptroot\",\n      \"path\": \"/etc/keys/root.key\""));
	bs_needs_unref(n);
	bs_graph_unref(g);
}

/* The command: text and JSON, and exit 1 for a root it does not know. */
TEST(needs_cli)
{
	_cleanup_free_ char *dir = test_fixture("lvm-swap-loop-assembled");
	struct test_cli_result r;

	if (!getenv("BLKSTACK_CLI"))
		SKIP("BLKSTACK_CLI is not set; run through 'meson test'");
	r = test_run_cli((const char *const[]){ "--sysroot", dir, "needs", NULL });
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_NOTNULL(strstr(r.out, "kinds: disk part vg lv mount\n"));
	ASSERT_NOTNULL(strstr(r.out, "lv:sys/root"));
	test_cli_result_done(&r);

	r = test_run_cli((const char *const[]){ "--sysroot", dir, "needs", "--json", NULL });
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_NOTNULL(strstr(r.out, "\"version\": 1"));
	test_cli_result_done(&r);

	r = test_run_cli((const char *const[]){ "--sysroot", dir, "needs", "--root", "/x", NULL });
	ASSERT_EQ(r.exit_code, BS_EXIT_FAILURE);
	ASSERT_NOTNULL(strstr(r.err, "'/x' is no mount point"));
	test_cli_result_done(&r);
}

/* ---- the manifest ---------------------------------------------------------------------- */

static char *manifest_of(const char *root)
{
	struct bs_graph *g = load(root);
	struct bs_needs *n = NULL;
	char *m = NULL;

	ASSERT_OK(bs_needs_new(g, NULL, NULL, NULL, &n));
	ASSERT_OK(bs_needs_to_manifest(n, "6.1.0-57-amd64",
				       (char *const[]){ (char *)"kernel/drivers/md/dm-mod.ko",
							(char *)"kernel/drivers/md/dm-crypt.ko",
							NULL },
				       &m));
	bs_needs_unref(n);
	bs_graph_unref(g);
	return m;
}

/* A cold start that has only the manifest (no configuration, no record): the graph knows
 * root's closure and each driver's parameters, and the plan up / is the whole stack. */
TEST(manifest_round_trip_is_a_cold_start)
{
	_cleanup_free_ char *assembled = test_fixture_copy("ps1-raid6-lvm-crypt-assembled"),
			    *cold = test_fixture_copy("ps1-raid6-lvm-crypt-disks"), *m = NULL,
			    *plan = NULL;
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	struct bs_ctx_opts o = { .sysroot = cold };
	struct bs_load_opts lo = { .flags = BS_LOAD_LIVE | BS_LOAD_MANIFEST,
				   .manifest = "/blkstack/manifest.json" };
	struct bs_graph *g = NULL;
	struct bs_plan *p = NULL;
	const struct bs_node *n;

	test_write_file(assembled, "etc/crypttab",
			"cryptroot UUID=43c1b2e4-cd43-4bbd-949e-e440504cddf6 /etc/keys/root.key "
			"luks,tries=2,discard\n");
	m = manifest_of(assembled);
	ASSERT_NOTNULL(strstr(m, "\"modules\": [\n    \"kernel/drivers/md/dm-mod.ko\",\n    "
				 "\"kernel/drivers/md/dm-crypt.ko\"\n  ]"));
	ASSERT_NOTNULL(strstr(m, "\"kernel\": \"6.1.0-57-amd64\""));
	ASSERT_NOTNULL(strstr(m, "\"resume\": null"));
	ASSERT_NOTNULL(strstr(m, "\"key_files\": [\n    \"/etc/keys/root.key\"\n  ]"));
	/* The key's edge is the image's: not in the manifest's graph (it would be a cycle). */
	ASSERT_NULL(strstr(m, "\"role\": \"key-file\""));

	/* Nothing of the configuration below the cold root: the manifest is all there is. */
	test_write_file(cold, "etc/fstab", "");
	test_write_file(cold, "etc/crypttab", "");
	test_write_file(cold, "etc/mdadm/mdadm.conf", "");
	test_write_file(cold, "blkstack/manifest.json", m);
	ASSERT_OK(bs_ctx_new(&o, &c));
	ASSERT_OK(bs_graph_load(c, &lo, &g, NULL));
	n = bs_graph_find_node(g, "crypt:cryptroot");
	ASSERT_NOTNULL(n);
	ASSERT_NOTNULL(n->config);
	ASSERT_NOTNULL(n->config->crypt);
	ASSERT_STREQ(n->config->crypt->key_file, "/etc/keys/root.key");
	ASSERT_EQ(n->config->crypt->tries, 2u);
	ASSERT_TRUE(n->config->crypt->discard);
	ASSERT_NOTNULL(bs_graph_find_node(g, "mnt:/")->config->mount);
	/* Not /srv's layers: the image brings up root's closure only. */
	ASSERT_NULL(bs_graph_find_node(g, "crypt:cryptsrv"));

	ASSERT_OK(bs_plan_new(g, BS_PLAN_UP, (const char *const[]){ "/", NULL }, 0, &p));
	ASSERT_OK(bs_plan_to_text(p, &plan));
	ASSERT_NOTNULL(strstr(plan, "md-assemble  md:sys"));
	ASSERT_NOTNULL(strstr(plan, "vg-activate  vg:vg0"));
	ASSERT_NOTNULL(strstr(plan, "lv-activate  lv:vg0/root"));
	ASSERT_NOTNULL(strstr(plan, "crypt-open   crypt:cryptroot"));
	ASSERT_NOTNULL(strstr(plan, "mount        mnt:/"));
	ASSERT_EQ(bs_plan_get_n_unresolved(p), 0);
	bs_plan_unref(p);
	bs_graph_unref(g);
}

/* The parser is strict: what blkstack did not write is refused, and nothing is merged. */
TEST(manifest_parser_is_strict)
{
	_cleanup_free_ char *assembled = test_fixture("ps1-raid6-lvm-crypt-assembled"),
			    *cold = test_fixture_copy("ps1-raid6-lvm-crypt-disks"),
			    *good = manifest_of(assembled);
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	struct bs_ctx_opts o = { .sysroot = cold };
	struct bs_load_opts lo = { .flags = BS_LOAD_LIVE | BS_LOAD_MANIFEST,
				   .manifest = "blkstack/manifest.json" };
	const char *bad[] = {
		"{\"version\": 2, \"root_set\": [], \"graph\": {}}",
		"{\"version\": 1, \"root_set\": [\"mnt:/\"], \"graph\": {\"version\": 1, "
		"\"nodes\": [], \"edges\": []}, \"extra\": 1}",
		"{\"version\": 1, \"graph\": {\"version\": 1, \"nodes\": [], \"edges\": []}}",
		"{\"version\": 1, \"root_set\": [\"mnt:/\"], \"graph\": {\"version\": 1, "
		"\"nodes\": [], \"edges\": []}, \"config\": [{\"node\": \"crypt:x\", \"file\": "
		"\"/etc/crypttab\", \"line\": 1}]}",
		"{\"version\": 1, \"root_set\": [\"mnt:/\"], \"graph\": {\"version\": 1, "
		"\"nodes\": [{\"id\": \"crypt:x\", \"kind\": \"crypt\"}], \"edges\": []}, "
		"\"config\": [{\"node\": \"crypt:x\", \"file\": \"/etc/crypttab\", \"line\": 1, "
		"\"crypt\": {\"mode\": \"luks\", \"tries\": -1}}]}",
		"{\"version\": 1, \"root_set\": [\"mnt:/\"], \"graph\": {\"version\": 1, "
		"\"nodes\": [{\"id\": \"crypt:x\", \"kind\": \"crypt\"}], \"edges\": []}, "
		"\"config\": [{\"node\": \"crypt:x\", \"file\": \"/etc/crypttab\", \"line\": 1, "
		"\"crypt\": {\"mode\": \"luks\", \"colour\": \"red\"}}]}",
		"[]",
		"{\"version\": 1} trailing",
	};

	ASSERT_OK(bs_ctx_new(&o, &c));
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct bs_graph *g = NULL;

		test_write_file(cold, "blkstack/manifest.json", bad[i]);
		if (bs_graph_load(c, &lo, &g, NULL) != -EBADMSG)
			test_fail(TEST_FILE, __LINE__, "manifest %zu was taken: %s", i, bad[i]);
	}
	test_write_file(cold, "blkstack/manifest.json", good);
	{
		struct bs_graph *g = NULL;

		ASSERT_OK(bs_graph_load(c, &lo, &g, NULL));
		bs_graph_unref(g);
	}
}
