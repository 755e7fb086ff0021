/* Unit tests of suspend and resume (src/lib/suspend.c): the order on fixtures and a LUKS-on-LUKS
 * graph, the dry-run plan, the argon2 reserve of real LUKS2 headers, and resume through fake ops. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkstack.h"
#include "graph.h"
#include "macro.h"
#include "ops.h"
#include "suspend.h"
#include "tests.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_suspend *, bs_suspend_unref)

#define PASS "blkstack-test"

static struct bs_graph *load_fixture(const char *name)
{
	_cleanup_free_ char *root = test_fixture(name);
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	struct bs_graph *g = NULL;

	ASSERT_OK(bs_ctx_new(&(struct bs_ctx_opts){ .sysroot = root }, &c));
	ASSERT_TRUE(bs_graph_load(c, &(struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL) >=
		    0);
	return g;
}

static struct bs_node *add_node(struct bs_graph *g, enum bs_node_kind k, const char *id,
				const char *kname, enum bs_node_state st)
{
	struct bs_node *n = NULL;

	ASSERT_TRUE(bs_graph_ensure_node(g, k, id, &n) >= 0);
	if (kname)
		ASSERT_OK(bs_node_set_block(n, kname, 0));
	bs_node_raise_state(n, st);
	return n;
}

/* disk vda -> crypt:inner (dm-0) -> crypt:outer (dm-1) -> mnt:/a; disk vdb -> crypt:third
 * (dm-2) -> mnt:/b; and a closed crypt:closed on vdc. */
static struct bs_graph *luks_on_luks(struct bs_ctx **ret_ctx)
{
	struct bs_node *vda, *vdb, *vdc, *inner, *outer, *third, *closed, *ma, *mb;
	struct bs_graph *g = NULL;

	ASSERT_OK(bs_ctx_new(NULL, ret_ctx));
	ASSERT_OK(bs_graph_new(*ret_ctx, &g));
	/* Added top down, so that the graph's order is no help. */
	ma = add_node(g, BS_NODE_MOUNT, "mnt:/a", NULL, BS_STATE_MOUNTED);
	outer = add_node(g, BS_NODE_CRYPT, "crypt:outer", "dm-1", BS_STATE_ACTIVE);
	mb = add_node(g, BS_NODE_MOUNT, "mnt:/b", NULL, BS_STATE_MOUNTED);
	third = add_node(g, BS_NODE_CRYPT, "crypt:third", "dm-2", BS_STATE_ACTIVE);
	inner = add_node(g, BS_NODE_CRYPT, "crypt:inner", "dm-0", BS_STATE_ACTIVE);
	closed = add_node(g, BS_NODE_CRYPT, "crypt:closed", NULL, BS_STATE_ABSENT);
	vda = add_node(g, BS_NODE_DISK, "blk:vda", "vda", BS_STATE_PRESENT);
	vdb = add_node(g, BS_NODE_DISK, "blk:vdb", "vdb", BS_STATE_PRESENT);
	vdc = add_node(g, BS_NODE_DISK, "blk:vdc", "vdc", BS_STATE_PRESENT);
	ASSERT_TRUE(bs_graph_add_edge(g, ma, outer, NULL) >= 0);
	ASSERT_TRUE(bs_graph_add_edge(g, outer, inner, "backing") >= 0);
	ASSERT_TRUE(bs_graph_add_edge(g, inner, vda, "backing") >= 0);
	ASSERT_TRUE(bs_graph_add_edge(g, mb, third, NULL) >= 0);
	ASSERT_TRUE(bs_graph_add_edge(g, third, vdb, "backing") >= 0);
	ASSERT_TRUE(bs_graph_add_edge(g, closed, vdc, "backing") >= 0);
	return g;
}

static size_t position(const struct bs_suspend *s, const char *id)
{
	for (size_t i = 0; i < bs_suspend_get_n(s); i++)
		if (streq(bs_suspend_get_node(s, i), id))
			return i;
	test_fail(TEST_FILE, __LINE__, "'%s' is not in the plan", id);
	return SIZE_MAX;
}

TEST(luks_on_luks_top_first)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = luks_on_luks(&c);
	_cleanup_(bs_suspend_unrefp) struct bs_suspend *s = NULL;

	ASSERT_OK(bs_suspend_new(g, &s));
	/* The closed mapping is no part of it. */
	ASSERT_EQ(bs_suspend_get_n(s), 3u);
	ASSERT_TRUE(position(s, "crypt:outer") < position(s, "crypt:inner"));
	ASSERT_STREQ(bs_suspend_get_name(s, position(s, "crypt:outer")), "outer");
	ASSERT_STREQ(bs_suspend_get_device(s, position(s, "crypt:outer")), "/dev/dm-0");
	ASSERT_STREQ(bs_suspend_get_device(s, position(s, "crypt:inner")), "/dev/vda");
	ASSERT_FALSE(bs_suspend_get_suspended(s, 0));
}

TEST(ps1_fixture_has_both_mappings)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g =
		load_fixture("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_suspend_unrefp) struct bs_suspend *s = NULL;

	ASSERT_OK(bs_suspend_new(g, &s));
	ASSERT_EQ(bs_suspend_get_n(s), 2u);
	(void)position(s, "crypt:cryptroot");
	(void)position(s, "crypt:cryptsrv");
}

TEST(ps3_fixture_mappings_below_raid)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g =
		load_fixture("ps3-crypt-raid10-lvm-assembled");
	_cleanup_(bs_suspend_unrefp) struct bs_suspend *s = NULL;

	ASSERT_OK(bs_suspend_new(g, &s));
	ASSERT_EQ(bs_suspend_get_n(s), 3u);
	for (size_t i = 0; i < 3; i++)
		ASSERT_TRUE(startswith(bs_suspend_get_device(s, i), "/dev/vd") != NULL);
}

TEST(disks_fixture_has_nothing_to_suspend)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = load_fixture("ps1-raid6-lvm-crypt-disks");
	_cleanup_(bs_suspend_unrefp) struct bs_suspend *s = NULL;
	_cleanup_free_ char *text = NULL;

	ASSERT_OK(bs_suspend_new(g, &s));
	ASSERT_EQ(bs_suspend_get_n(s), 0u);
	ASSERT_OK(bs_suspend_to_text(s, &text));
	ASSERT_TRUE(strstr(text, "nothing to suspend") != NULL);
}

TEST(plan_text_and_json_both_orders)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = luks_on_luks(&c);
	_cleanup_(bs_suspend_unrefp) struct bs_suspend *s = NULL;
	_cleanup_free_ char *text = NULL, *json = NULL;
	const char *sus, *res;

	ASSERT_OK(bs_suspend_new(g, &s));
	ASSERT_OK(bs_suspend_to_text(s, &text));
	sus = strstr(text, "suspend (");
	res = strstr(text, "resume (");
	ASSERT_TRUE(sus && res && sus < res);
	/* outer before inner when suspending, inner before outer when resuming */
	ASSERT_TRUE(strstr(sus, "crypt:outer") < strstr(sus, "crypt:inner"));
	ASSERT_TRUE(strstr(res, "crypt:inner") < strstr(res, "crypt:outer"));
	ASSERT_OK(bs_suspend_to_json(s, &json));
	ASSERT_TRUE(strstr(json, "\"suspend\"") != NULL && strstr(json, "\"resume\"") != NULL);
	ASSERT_TRUE(strstr(json, "\"device\": \"/dev/vda\"") != NULL);
}

/* ---- the argon2 reserve of real headers ------------------------------------------------- */

static void luks2_format(const char *path, const struct crypt_pbkdf_type *pbkdf)
{
	struct crypt_device *cd = NULL;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(ftruncate(fd, 8 << 20));
	close(fd);
	ASSERT_OK(crypt_init(&cd, path));
	ASSERT_OK(crypt_set_pbkdf_type(cd, pbkdf));
	ASSERT_OK(crypt_set_metadata_size(cd, 16384, 2 << 20));
	ASSERT_OK(crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64,
			       &(struct crypt_params_luks2){ .sector_size = 512 }));
	ASSERT_TRUE(crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0, PASS,
						    strlen(PASS)) >= 0);
	crypt_free(cd);
}

TEST(argon2_reserve_from_luks2_header)
{
	_cleanup_free_ char *path = NULL;
	uint64_t kb = 1;

	ASSERT_TRUE(asprintf(&path, "%s/argon2.img", test_scratch()) >= 0);
	luks2_format(path, &(struct crypt_pbkdf_type){ .type = CRYPT_KDF_ARGON2ID,
						       .hash = "sha256",
						       .iterations = 4,
						       .max_memory_kb = 32768,
						       .parallel_threads = 1,
						       .flags = CRYPT_PBKDF_NO_BENCHMARK });
	ASSERT_OK(bs_luks_argon2_memory_kb(path, &kb));
	ASSERT_EQ(kb, 32768u);
}

TEST(pbkdf2_header_reserves_nothing)
{
	_cleanup_free_ char *path = NULL, *other = NULL;
	uint64_t kb = 1;

	ASSERT_TRUE(asprintf(&path, "%s/pbkdf2.img", test_scratch()) >= 0);
	luks2_format(path, &(struct crypt_pbkdf_type){ .type = CRYPT_KDF_PBKDF2,
						       .hash = "sha256",
						       .iterations = 1000,
						       .flags = CRYPT_PBKDF_NO_BENCHMARK });
	ASSERT_OK(bs_luks_argon2_memory_kb(path, &kb));
	ASSERT_EQ(kb, 0u);
	/* Not a LUKS header at all: an error, not 0. */
	ASSERT_TRUE(asprintf(&other, "%s/plain.img", test_scratch()) >= 0);
	test_write_file(test_scratch(), "plain.img", "nothing here");
	ASSERT_TRUE(bs_luks_argon2_memory_kb(other, &kb) < 0);
}

/* ---- resume through fake ops ------------------------------------------------------------ */

/* A fake ops layer: mappings that take one passphrase each, answers from a list, a
 * transcript of every call. */
struct fake {
	const char *const *answers;
	size_t n_asked;
	char log[1024];
	const char *fail_suspend; /* this mapping's suspend fails with -EIO */
};

static void note(struct fake *f, const char *what, const char *name)
{
	size_t l = strlen(f->log);

	(void)snprintf(f->log + l, sizeof(f->log) - l, "%s%s %s", l ? ", " : "", what, name);
}

static int fake_suspend(void *u, const char *name)
{
	struct fake *f = u;

	note(f, "suspend", name);
	return f->fail_suspend && streq(name, f->fail_suspend) ? -EIO : 0;
}

static int fake_resume(void *u, const char *name, const char *key, size_t size)
{
	struct fake *f = u;
	bool right = size == strlen(PASS) && memcmp(key, PASS, size) == 0;

	note(f, right ? "resume" : "refused", name);
	return right ? 0 : -EPERM;
}

static int fake_ask(void *u, const char *prompt, char **ret, size_t *ret_size)
{
	struct fake *f = u;
	const char *a = f->answers[f->n_asked];
	int r;

	ASSERT_TRUE(strstr(prompt, "Passphrase to resume crypt:") == prompt);
	if (!a)
		return -ECANCELED;
	f->n_asked++;
	r = bs_secret_new(strlen(a), ret);
	ASSERT_TRUE(r >= 0);
	memcpy(*ret, a, strlen(a));
	*ret_size = strlen(a);
	return 0;
}

static const struct bs_ops fake_ops = {
	.crypt_suspend = fake_suspend,
	.crypt_resume = fake_resume,
	.ask_password = fake_ask,
};

struct events {
	unsigned wrong;
};

static void count_event(void *u, enum bs_suspend_event ev, _unused_ const char *node,
			_unused_ int r, _unused_ unsigned t)
{
	if (ev == BS_SUSPEND_EVENT_WRONG_KEY)
		((struct events *)u)->wrong++;
}

TEST(suspend_and_resume_order_one_passphrase)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = luks_on_luks(&c);
	_cleanup_(bs_suspend_unrefp) struct bs_suspend *s = NULL;
	struct fake f = { .answers = (const char *const[]){ PASS, NULL } };
	char *resume;

	ASSERT_OK(bs_suspend_new(g, &s));
	ASSERT_OK(bs_suspend_keys_ops(s, &fake_ops, &f, NULL, NULL));
	for (size_t i = 0; i < 3; i++)
		ASSERT_TRUE(bs_suspend_get_suspended(s, i));
	ASSERT_OK(bs_resume_keys_ops(s, &fake_ops, &f, 3, NULL, NULL));
	/* One passphrase for all three: asked once. */
	ASSERT_EQ(f.n_asked, 1u);
	ASSERT_TRUE(strstr(f.log, "suspend outer") < strstr(f.log, "suspend inner"));
	resume = strstr(f.log, "resume");
	ASSERT_TRUE(resume && strstr(resume, "resume inner") < strstr(resume, "resume outer"));
	for (size_t i = 0; i < 3; i++)
		ASSERT_FALSE(bs_suspend_get_suspended(s, i));
}

TEST(wrong_passphrase_stays_suspended_and_asks_again)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = luks_on_luks(&c);
	_cleanup_(bs_suspend_unrefp) struct bs_suspend *s = NULL;
	struct fake f = { .answers = (const char *const[]){ "wrong", "wrong again", PASS, NULL } };
	struct events ev = {};

	ASSERT_OK(bs_suspend_new(g, &s));
	ASSERT_OK(bs_suspend_keys_ops(s, &fake_ops, &f, NULL, NULL));
	ASSERT_OK(bs_resume_keys_ops(s, &fake_ops, &f, 3, count_event, &ev));
	ASSERT_EQ(f.n_asked, 3u);
	ASSERT_EQ(ev.wrong, 2u);
	/* The first mapping refused twice, then resumed; nothing resumed before the right one. */
	ASSERT_TRUE(strstr(f.log, "refused") < strstr(f.log, "resume "));
	for (size_t i = 0; i < 3; i++)
		ASSERT_FALSE(bs_suspend_get_suspended(s, i));
}

TEST(tries_run_out_leaves_the_rest_suspended)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = luks_on_luks(&c);
	_cleanup_(bs_suspend_unrefp) struct bs_suspend *s = NULL;
	struct fake f = { .answers = (const char *const[]){ "a", "b", PASS, NULL } };

	ASSERT_OK(bs_suspend_new(g, &s));
	ASSERT_OK(bs_suspend_keys_ops(s, &fake_ops, &f, NULL, NULL));
	ASSERT_ERR(bs_resume_keys_ops(s, &fake_ops, &f, 2, NULL, NULL), -EPERM);
	/* Every mapping still suspended; a second round resumes them all. */
	for (size_t i = 0; i < 3; i++)
		ASSERT_TRUE(bs_suspend_get_suspended(s, i));
	ASSERT_OK(bs_resume_keys_ops(s, &fake_ops, &f, 2, NULL, NULL));
	for (size_t i = 0; i < 3; i++)
		ASSERT_FALSE(bs_suspend_get_suspended(s, i));
}

TEST(failed_suspend_stops_and_resume_undoes_what_was_done)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = luks_on_luks(&c);
	_cleanup_(bs_suspend_unrefp) struct bs_suspend *s = NULL;
	struct fake f = { .answers = (const char *const[]){ PASS, NULL }, .fail_suspend = "inner" };

	ASSERT_OK(bs_suspend_new(g, &s));
	ASSERT_ERR(bs_suspend_keys_ops(s, &fake_ops, &f, NULL, NULL), -EIO);
	ASSERT_TRUE(bs_suspend_get_suspended(s, position(s, "crypt:outer")));
	ASSERT_FALSE(bs_suspend_get_suspended(s, position(s, "crypt:inner")));
	ASSERT_OK(bs_resume_keys_ops(s, &fake_ops, &f, 3, NULL, NULL));
	ASSERT_TRUE(strstr(f.log, "resume outer") != NULL);
	ASSERT_NULL(strstr(f.log, "resume inner"));
}
TEST(cli_dry_run_prints_the_plan)
{
	_cleanup_free_ char *root = test_fixture("ps1-raid6-lvm-crypt-assembled");
	struct test_cli_result r = TEST_RUN_CLI("--sysroot", root, "suspend", "--dry-run");

	ASSERT_EQ(r.exit_code, 0);
	ASSERT_TRUE(strstr(r.out, "crypt:cryptroot") != NULL);
	ASSERT_TRUE(strstr(r.out, "resume (") != NULL);
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("--sysroot", root, "suspend", "--dry-run", "--json");
	ASSERT_EQ(r.exit_code, 0);
	ASSERT_TRUE(strstr(r.out, "\"suspend\"") != NULL);
	test_cli_result_done(&r);
	/* Anything but a dry run refuses a sysroot: it would act on the running system. */
	r = TEST_RUN_CLI("--sysroot", root, "suspend", "--skip-sleep");
	ASSERT_EQ(r.exit_code, 2);
	test_cli_result_done(&r);
	/* resume takes the ways of asking, not suspend's own options. */
	r = TEST_RUN_CLI("--sysroot", root, "resume", "--hook");
	ASSERT_EQ(r.exit_code, 2);
	ASSERT_TRUE(strstr(r.err, "--key-fd") != NULL);
	test_cli_result_done(&r);
}

/* dm-0 "low" on vda, dm-1 "top" on dm-0 (both suspended), dm-2 "awake" (not suspended), dm-3 an
 * LV (suspended, but no crypt mapping). */
static void dm_entry(const char *root, const char *k, const char *uuid, const char *name,
		     const char *suspended, const char *slave)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	ASSERT_TRUE(asprintf(&a, "sys/class/block/%s/dm/uuid", k) >= 0);
	ASSERT_TRUE(asprintf(&b, "sys/class/block/%s/dm/name", k) >= 0);
	ASSERT_TRUE(asprintf(&c, "sys/class/block/%s/dm/suspended", k) >= 0);
	ASSERT_TRUE(asprintf(&d, "sys/class/block/%s/slaves/%s", k, slave) >= 0);
	test_write_file(root, a, uuid);
	test_write_file(root, b, name);
	test_write_file(root, c, suspended);
	test_mkdir_p(root, d);
}

TEST(suspended_mappings_from_sysfs_top_first)
{
	const char *root = test_scratch();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_suspend_unrefp) struct bs_suspend *s = NULL;
	struct fake f = { .answers = (const char *const[]){ PASS, NULL } };

	dm_entry(root, "dm-0", "CRYPT-LUKS2-0f6c5a3e2a474c399d4e1e2f3a4b5c6d-low\n", "low\n", "1\n",
		 "vda");
	dm_entry(root, "dm-1", "CRYPT-LUKS2-1f6c5a3e2a474c399d4e1e2f3a4b5c6d-top\n", "top\n", "1\n",
		 "dm-0");
	dm_entry(root, "dm-2", "CRYPT-LUKS2-2f6c5a3e2a474c399d4e1e2f3a4b5c6d-awake\n", "awake\n",
		 "0\n", "vdb");
	dm_entry(root, "dm-3", "LVM-abc\n", "vg-lv\n", "1\n", "dm-1");
	ASSERT_OK(bs_ctx_new(&(struct bs_ctx_opts){ .sysroot = root }, &c));
	ASSERT_OK(bs_suspend_new_suspended(c, &s));
	ASSERT_EQ(bs_suspend_get_n(s), 2u);
	ASSERT_STREQ(bs_suspend_get_node(s, 0), "crypt:top");
	ASSERT_STREQ(bs_suspend_get_node(s, 1), "crypt:low");
	ASSERT_TRUE(bs_suspend_get_suspended(s, 0) && bs_suspend_get_suspended(s, 1));
	/* Resumed bottom first, with the one passphrase. */
	ASSERT_OK(bs_resume_keys_ops(s, &fake_ops, &f, 3, NULL, NULL));
	ASSERT_STREQ(f.log, "resume low, resume top");
}
