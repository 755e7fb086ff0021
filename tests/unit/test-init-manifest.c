/* Unit tests of what /init reads: the manifest's kernel, resume and modules, and the executor
 * run on a manifest with the kernel command line's root overrides. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkstack.h"
#include "exec-harness.h"
#include "graph.h"
#include "macro.h"
#include "recorder.h"
#include "strv.h"
#include "tests.h"
#include "util.h"

#define MANIFEST "/etc/blkstack/manifest.json"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)

static struct bs_graph *load(const char *root)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	struct bs_graph *g = NULL;

	ASSERT_OK(unsetenv("BLKSTACK_DEBUG"));
	c = ctx_on_sysroot(root, NULL);
	ASSERT_OK(bs_graph_load(c, NULL, &g, NULL));
	return g;
}

/* The manifest of fixture (an assembled one) for root / and resume (NULL: none). */
static char *manifest_of(const char *fixture, const char *resume, const char *kernel)
{
	_cleanup_free_ char *root = test_fixture(fixture);
	struct bs_graph *g = load(root);
	struct bs_needs *n = NULL;
	char *m = NULL;

	ASSERT_OK(bs_needs_new(g, NULL, resume, NULL, &n));
	ASSERT_OK(bs_needs_to_manifest(n, kernel,
				       (char *const[]){ (char *)"kernel/drivers/md/dm-mod.ko",
							(char *)"kernel/drivers/md/dm-crypt.ko",
							NULL },
				       &m));
	bs_needs_unref(n);
	bs_graph_unref(g);
	return m;
}

/* text with the first occurrence of from replaced by to, newly allocated. */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *s = NULL;

	ASSERT_NOTNULL(at);
	ASSERT_TRUE(asprintf(&s, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)) >= 0);
	return s;
}

/* The test's one temporary directory (test_tmpdir() may be called once a test). */
static const char *tmpdir(void)
{
	static const char *dir;

	if (!dir)
		dir = test_tmpdir();
	return dir;
}

static int info_of(const char *text, struct bs_manifest_info **ret)
{
	const char *dir = tmpdir();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = ctx_on_sysroot(dir, NULL);

	test_write_file(dir, "etc/blkstack/manifest.json", text);
	return bs_manifest_get_info(c, MANIFEST, ret);
}

TEST(manifest_keeps_kernel_and_resume)
{
	_cleanup_free_ char *m =
		manifest_of("lvm-swap-loop-assembled", "swap:lv:sys/swap", "6.1.0-57-amd64");
	struct bs_manifest_info *info = NULL;
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	char **modules = NULL;

	ASSERT_NOTNULL(strstr(m, "\"kernel\": \"6.1.0-57-amd64\""));
	ASSERT_NOTNULL(strstr(m, "\"resume\": \"swap:lv:sys/swap\""));
	ASSERT_OK(info_of(m, &info));
	ASSERT_STREQ(info->kernel, "6.1.0-57-amd64");
	ASSERT_STREQ(info->resume, "swap:lv:sys/swap");
	ASSERT_TRUE(strv_contains(info->root_set, "mnt:/"));
	ASSERT_TRUE(strv_contains(info->root_set, "swap:lv:sys/swap"));
	ASSERT_EQ(strv_length(info->modules), 2u);
	ASSERT_STREQ(info->modules[0], "kernel/drivers/md/dm-mod.ko");
	ASSERT_STREQ(info->modules[1], "kernel/drivers/md/dm-crypt.ko");
	ASSERT_NOTNULL(info->key_files);
	bs_manifest_info_free(info);

	c = ctx_on_sysroot(tmpdir(), NULL);
	ASSERT_OK(bs_manifest_get_modules(c, MANIFEST, &modules));
	ASSERT_EQ(strv_length(modules), 2u);
	strv_free(modules);
}

/* Without a kernel or a resume device, both are null, and read back as NULL. */
TEST(manifest_null_kernel_and_resume)
{
	_cleanup_free_ char *m = manifest_of("ps1-raid6-lvm-crypt-assembled", NULL, NULL);
	struct bs_manifest_info *info = NULL;

	ASSERT_NOTNULL(strstr(m, "\"kernel\": null"));
	ASSERT_NOTNULL(strstr(m, "\"resume\": null"));
	ASSERT_OK(info_of(m, &info));
	ASSERT_NULL(info->kernel);
	ASSERT_NULL(info->resume);
	ASSERT_STREQ(info->root_set[0], "mnt:/");
	bs_manifest_info_free(info);
}

TEST(manifest_writer_refuses_bad_kernel_and_modules)
{
	_cleanup_free_ char *root = test_fixture("ps1-raid6-lvm-crypt-assembled");
	struct bs_graph *g = load(root);
	struct bs_needs *n = NULL;
	char *m = NULL;

	ASSERT_OK(bs_needs_new(g, NULL, NULL, NULL, &n));
	ASSERT_ERR(bs_needs_to_manifest(n, "../6.1", NULL, &m), -EINVAL);
	ASSERT_ERR(bs_needs_to_manifest(n, "6.1 x", NULL, &m), -EINVAL);
	ASSERT_ERR(bs_needs_to_manifest(n, NULL, (char *const[]){ (char *)"/abs.ko", NULL }, &m),
		   -EINVAL);
	ASSERT_ERR(bs_needs_to_manifest(n, NULL, (char *const[]){ (char *)"a/../b.ko", NULL }, &m),
		   -EINVAL);
	ASSERT_NULL(m);
	bs_needs_unref(n);
	bs_graph_unref(g);
}

/* The new members are as strict as the rest: what blkstack would not write is refused. */
TEST(manifest_kernel_resume_modules_are_strict)
{
	_cleanup_free_ char *good =
		manifest_of("lvm-swap-loop-assembled", "swap:lv:sys/swap", "6.1.0-57-amd64");
	const struct {
		const char *from, *to;
	} bad[] = {
		{ "\"kernel\": \"6.1.0-57-amd64\"", "\"kernel\": \"../../etc\"" },
		{ "\"kernel\": \"6.1.0-57-amd64\"", "\"kernel\": 61" },
		{ "\"kernel\": \"6.1.0-57-amd64\"", "\"kernel\": \"\"" },
		{ "\"resume\": \"swap:lv:sys/swap\"", "\"resume\": \"blk:nothere\"" },
		{ "\"resume\": \"swap:lv:sys/swap\"", "\"resume\": [\"swap:lv:sys/swap\"]" },
		/* a node of the graph, but not of the root set */
		{ "\"resume\": \"swap:lv:sys/swap\"", "\"resume\": \"blk:vda\"" },
		{ "\"kernel/drivers/md/dm-mod.ko\"", "\"/lib/modules/x/dm-mod.ko\"" },
		{ "\"kernel/drivers/md/dm-mod.ko\"", "\"kernel/../../../x.ko\"" },
		{ "\"kernel/drivers/md/dm-mod.ko\"", "\"kernel//dm-mod.ko\"" },
		{ "\"root_set\": [\n    \"mnt:/\"", "\"root_set\": [\n    \"mnt:/nothere\"" },
	};
	struct bs_manifest_info *info = NULL;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *m = replaced(good, bad[i].from, bad[i].to);

		if (info_of(m, &info) != -EBADMSG)
			test_fail(TEST_FILE, __LINE__, "manifest %zu was taken: %s", i, bad[i].to);
	}
	ASSERT_NULL(info);
	ASSERT_OK(info_of(good, &info));
	bs_manifest_info_free(info);
	ASSERT_ERR(info_of("{\"version\": 1}", &info), -EBADMSG);
}

TEST(find_device_takes_what_root_takes)
{
	_cleanup_free_ char *root = test_fixture("ps1-raid6-lvm-crypt-assembled");
	struct bs_graph *g = load(root);

	ASSERT_STREQ(bs_node_get_id(
			     bs_graph_find_device(g, "UUID=5e99935b-84ba-4678-96e5-7d654a978e69")),
		     "crypt:cryptroot");
	ASSERT_STREQ(bs_node_get_id(bs_graph_find_device(g, "/dev/mapper/cryptroot")),
		     "crypt:cryptroot");
	ASSERT_STREQ(bs_node_get_id(bs_graph_find_device(
			     g, "/dev/disk/by-uuid/5e99935b-84ba-4678-96e5-7d654a978e69")),
		     "crypt:cryptroot");
	ASSERT_STREQ(bs_node_get_id(bs_graph_find_device(g, "/dev/vg0/root")), "lv:vg0/root");
	ASSERT_STREQ(bs_node_get_id(bs_graph_find_device(g, "mnt:/")), "mnt:/");
	ASSERT_NULL(bs_graph_find_device(g, "UUID=00000000-0000-0000-0000-000000000000"));
	ASSERT_NULL(bs_graph_find_device(g, ""));
	ASSERT_NULL(bs_graph_find_device(NULL, "mnt:/"));
	bs_graph_unref(g);
}

/* The executor on a manifest, from the disks alone, as /init runs it: root's closure only
 * (not /srv's layers, which the fixture's configuration below the sysroot also names), mounted
 * at /sysroot, with the kernel command line's overrides. */
TEST(exec_on_manifest_brings_up_root_only_at_sysroot)
{
	_cleanup_free_ char *m =
		manifest_of("ps1-raid6-lvm-crypt-assembled", NULL, "6.1.0-57-amd64");
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-disks");
	struct recorder rec;
	struct exec_run run;
	const char *t;

	test_write_file(root, "etc/blkstack/manifest.json", m);
	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	EXEC_RUN(&run, .sysroot = root, .mount_root = "/sysroot", .op = BS_PLAN_UP,
		 .targets = (const char *const[]){ "mnt:/", NULL }, .ops = recorder_ops(),
		 .ops_data = &rec, .manifest = MANIFEST, .root_fstype = "ext4",
		 .root_options = "noatime,commit=30", .root_access = BS_EXEC_ROOT_READ_ONLY);
	t = recorder_transcript(&rec);
	if (run.r != 0)
		fprintf(stderr, "events:\n%s\nlog:\n%s\ntranscript:\n%s", run.events, run.log, t);
	ASSERT_EQ(run.r, 0);
	ASSERT_CONTAINS(t, "spawn mdadm --assemble");
	ASSERT_CONTAINS(t, "crypt-open cryptroot");
	/* ro and noatime (MS_RDONLY | MS_NOATIME), the filesystem's own option as data */
	ASSERT_CONTAINS(t,
			"mount /dev/mapper/cryptroot /sysroot ext4 flags=0x401 data=commit=30\n");
	ASSERT_EQ(count_substrings(t, "cryptsrv"), 0u);
	ASSERT_NULL(strstr(run.events, "discovery:"));
	ASSERT_EQ(exec_run_status(&run, "mount", "mnt:/"), (int)BS_EXEC_DONE);
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:cryptsrv"), -1);
	exec_run_done(&run);
	recorder_done(&rec);
}

/* A manifest that is not there fails the run, naming it. */
TEST(exec_on_missing_manifest_names_it)
{
	_cleanup_free_ char *m = manifest_of("ps1-raid6-lvm-crypt-assembled", NULL, NULL);
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-disks");
	struct recorder rec;
	struct exec_run run;

	test_write_file(root, "etc/blkstack/manifest.json", m);
	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .mount_root = "/sysroot", .op = BS_PLAN_UP,
		 .targets = (const char *const[]){ "mnt:/", NULL }, .ops = recorder_ops(),
		 .ops_data = &rec, .manifest = "/etc/blkstack/nothere.json");
	ASSERT_EQ(run.r, -ENOENT);
	ASSERT_CONTAINS(run.log, "nothere.json");
	exec_run_done(&run);
	recorder_done(&rec);
}

TEST(exec_refuses_bad_root_options)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = ctx_on_sysroot(test_tmpdir(), NULL);
	struct bs_exec *e = NULL;

	ASSERT_ERR(bs_exec_new(c, &(struct bs_exec_opts){ .key_fd = -1, .root_access = 7 }, &e),
		   -EINVAL);
	ASSERT_ERR(bs_exec_new(c, &(struct bs_exec_opts){ .key_fd = -1, .root_fstype = "" }, &e),
		   -EINVAL);
	ASSERT_NULL(e);
	ASSERT_OK(bs_exec_new(c, &(struct bs_exec_opts){ .key_fd = -1, .root_options = "" }, &e));
	bs_exec_unref(e);
}

/* A disk of the manifest that is not there: the wait times out naming the identity it waited
 * for, what needs it is skipped, and nothing else is discovered or opened. */
TEST(exec_on_manifest_missing_disk_names_the_identity)
{
	_cleanup_free_ char *m =
		manifest_of("lvm-swap-loop-assembled", "swap:lv:sys/swap", "6.1.0-57-amd64");
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-disks");
	struct recorder rec;
	struct exec_run run;

	test_write_file(root, "etc/blkstack/manifest.json", m);
	fixture_remove(root, "sys/class/block/vda");
	fixture_remove(root, "sys/class/block/vda1");
	fixture_remove(root, "sys/class/block/vda2");
	recorder_init(&rec);
	recorder_fail(&rec, "wait-device", NULL, -ETIMEDOUT, -1);
	EXEC_RUN(&run, .sysroot = root, .mount_root = "/sysroot", .op = BS_PLAN_UP,
		 .targets = (const char *const[]){ "lv:sys/swap", NULL }, .ops = recorder_ops(),
		 .ops_data = &rec, .manifest = MANIFEST);
	ASSERT_EQ(run.r, -ETIMEDOUT);
	ASSERT_CONTAINS(run.events, "'blk:vda' did not appear within 90 s (serial lsl)");
	ASSERT_EQ(exec_run_status(&run, "lv-activate", "lv:sys/swap"), (int)BS_EXEC_SKIPPED);
	ASSERT_EQ(count_substrings(recorder_transcript(&rec), "swapon"), 0u);
	ASSERT_NULL(strstr(run.events, "discovery:"));
	exec_run_done(&run);
	recorder_done(&rec);
}
