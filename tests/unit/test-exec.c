/* The executor against every fixture, through the recording ops table: transcripts, parallel
 * starts, failures that stop only their branch, busy teardown, wrong passphrases, timeouts. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkstack.h"
#include "exec-harness.h"
#include "fileio.h"
#include "graph.h"
#include "recorder.h"
#include "tests.h"
#include "util.h"

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

/* The transcript and the results, against tests/expected/FIXTURE/NAME (written instead with
 * BLKSTACK_UPDATE_EXPECTED=1, for review). */
static void check_expected(const char *fixture, const char *name, struct recorder *rec,
			   const struct exec_run *run)
{
	_cleanup_free_ char *text = NULL, *path = NULL, *want = NULL;
	const char *dir = getenv("BLKSTACK_EXPECTED");
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (!dir)
		SKIP("BLKSTACK_EXPECTED is not set");
	fprintf(f, "# ops, in the order called (-j1)\n%s# results\n", recorder_transcript(rec));
	for (size_t i = 0; i < bs_exec_get_n_results(run->e); i++) {
		const char *m = bs_exec_get_result_message(run->e, i);

		fprintf(f, "%s %s %s%s%s\n", bs_exec_status_to_string(bs_exec_get_result_status(run->e, i)),
			bs_exec_get_result_action(run->e, i), bs_exec_get_result_node(run->e, i),
			m ? ": " : "", strempty(m));
	}
	fprintf(f, "# returns %s\n", run->r < 0 ? strerrorname_np(-run->r) : "0");
	fclose(f);
	ASSERT_TRUE(asprintf(&path, "%s/%s/%s", dir, fixture, name) >= 0);
	if (getenv("BLKSTACK_UPDATE_EXPECTED")) {
		FILE *o = fopen(path, "we");

		ASSERT_NOTNULL(o);
		fputs(text, o);
		fclose(o);
		return;
	}
	{
		FILE *in = fopen(path, "re");
		size_t n;

		if (!in) {
			fprintf(stderr, "%s is missing; this run gave:\n%s", path, text);
			ASSERT_NOTNULL(in);
		}
		want = calloc(1, 1 << 20);
		n = fread(want, 1, (1 << 20) - 1, in);
		want[n] = '\0';
		fclose(in);
	}
	if (!streq(want, text))
		fprintf(stderr, "--- %s\n%s--- this run\n%s", path, want, text);
	ASSERT_STREQ(want, text);
}

/* Every recipe: up --all from the disks, with the recorded graph, one job at a time. */
TEST(transcript_up_every_fixture)
{
	for (size_t i = 0; i < ELEMENTSOF(recipes); i++) {
		_cleanup_free_ char *root = fixture_with_record(recipes[i]), *fixture = NULL;
		struct recorder rec;
		struct exec_run run;

		recorder_init(&rec);
		rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
		EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(),
			 .ops_data = &rec);
		ASSERT_TRUE(asprintf(&fixture, "%s-disks", recipes[i]) >= 0);
		check_expected(fixture, "exec-up.txt", &rec, &run);
		ASSERT_EQ(run.r, 0);
		/* One passphrase, asked once, opens every LUKS device. */
		ASSERT_TRUE(count_substrings(recorder_transcript(&rec), "ask-password") <= 1);
		exec_run_done(&run);
		recorder_done(&rec);
	}
}

/* Every recipe: down --all --keep-root from the assembled stack. */
TEST(transcript_down_every_fixture)
{
	for (size_t i = 0; i < ELEMENTSOF(recipes); i++) {
		_cleanup_free_ char *fixture = NULL, *root = NULL;
		struct recorder rec;
		struct exec_run run;

		ASSERT_TRUE(asprintf(&fixture, "%s-assembled", recipes[i]) >= 0);
		root = test_fixture(fixture);
		recorder_init(&rec);
		EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN, .flags = BS_PLAN_KEEP_ROOT,
			 .ops = recorder_ops(), .ops_data = &rec);
		check_expected(fixture, "exec-down.txt", &rec, &run);
		ASSERT_EQ(run.r, 0);
		exec_run_done(&run);
		recorder_done(&rec);
	}
}

/* ps3: three LUKS devices under the RAID10 unlock at the same time. */
TEST(parallel_starts)
{
	_cleanup_free_ char *root = fixture_with_record("ps3-crypt-raid10-lvm");
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	rec.rendezvous = 3;
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .jobs = 4, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_FALSE(rec.rendezvous_failed);
	ASSERT_TRUE(rec.max_in_flight >= 3);
	ASSERT_EQ(run.r, 0);
	/* The three asked one passphrase between them, once. */
	ASSERT_EQ(count_substrings(recorder_transcript(&rec), "ask-password"), 1u);
	exec_run_done(&run);
	recorder_done(&rec);

	/* -j1: never two at once. */
	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_EQ(rec.max_in_flight, 1u);
	ASSERT_EQ(run.r, 0);
	exec_run_done(&run);
	recorder_done(&rec);
}

/* ps1: cryptsrv fails to open; / still comes up, /srv is skipped because of it. */
TEST(failure_stops_only_its_branch)
{
	_cleanup_free_ char *root = fixture_with_record("ps1-raid6-lvm-crypt");
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	recorder_fail(&rec, "crypt-open", "cryptsrv", -EIO, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .jobs = 4, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(run.r, -EIO);
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:cryptsrv"), (int)BS_EXEC_FAILED);
	ASSERT_EQ(exec_run_status(&run, "mount", "mnt:/srv"), (int)BS_EXEC_SKIPPED);
	ASSERT_NOTNULL(strstr(exec_run_message(&run, "mount", "mnt:/srv"), "crypt:cryptsrv"));
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:cryptroot"), (int)BS_EXEC_DONE);
	ASSERT_EQ(exec_run_status(&run, "mount", "mnt:/"), (int)BS_EXEC_DONE);
	ASSERT_EQ(exec_run_status(&run, "lv-activate", "lv:vg0/srv"), (int)BS_EXEC_DONE);
	exec_run_done(&run);
	recorder_done(&rec);
}

/* A busy /srv goes down on the retry. */
TEST(busy_then_retry_succeeds)
{
	_cleanup_free_ char *root = test_fixture("ps1-raid6-lvm-crypt-assembled");
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	recorder_fail(&rec, "umount", "/srv", -EBUSY, 1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN, .flags = BS_PLAN_KEEP_ROOT, .jobs = 4,
		 .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_EQ(run.r, 0);
	ASSERT_EQ(count_substrings(recorder_transcript(&rec), "umount /srv"), 2u);
	ASSERT_EQ(exec_run_status(&run, "umount", "mnt:/srv"), (int)BS_EXEC_DONE);
	ASSERT_EQ(exec_run_status(&run, "crypt-close", "crypt:cryptsrv"), (int)BS_EXEC_DONE);
	ASSERT_NOTNULL(strstr(run.events, "busy umount mnt:/srv"));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* /srv stays busy: down ends with EBUSY, names the process holding it, and leaves what is
 * below /srv open. */
TEST(busy_forever_names_the_blockers)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	const char *m;
	struct recorder rec;
	struct exec_run run;

	test_write_file(root, "proc/4242/comm", "sleep\n");
	test_symlink(root, "proc/4242/cwd", "/srv/www");
	test_symlink(root, "proc/4242/root", "/");
	test_mkdir_p(root, "proc/4242/fd");
	test_write_file(root, "proc/77/comm", "bash\n");
	test_symlink(root, "proc/77/cwd", "/root");
	test_mkdir_p(root, "srv/www");
	recorder_init(&rec);
	recorder_fail(&rec, "umount", "/srv", -EBUSY, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN, .flags = BS_PLAN_KEEP_ROOT, .jobs = 4,
		 .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_EQ(run.r, -EBUSY);
	/* Tried while others made progress, then once more. */
	ASSERT_TRUE(count_substrings(recorder_transcript(&rec), "umount /srv") >= 2);
	ASSERT_EQ(exec_run_status(&run, "umount", "mnt:/srv"), (int)BS_EXEC_BUSY);
	m = exec_run_message(&run, "umount", "mnt:/srv");
	ASSERT_NOTNULL(m);
	ASSERT_NOTNULL(strstr(m, "pid 4242 (sleep) has its working directory in /srv"));
	ASSERT_NULL(strstr(m, "bash"));
	ASSERT_NOTNULL(strstr(run.events, "blocker umount mnt:/srv: pid 4242 (sleep)"));
	ASSERT_EQ(exec_run_status(&run, "crypt-close", "crypt:cryptsrv"), (int)BS_EXEC_SKIPPED);
	ASSERT_EQ(count_substrings(recorder_transcript(&rec), "crypt-close cryptsrv"), 0u);
	exec_run_done(&run);
	recorder_done(&rec);
}

/* Three wrong passphrases: crypttab's default of 3 tries, then the mapping fails and what is on
 * it is skipped. */
TEST(wrong_passphrase_exhausts_tries)
{
	_cleanup_free_ char *root = fixture_with_record("ps2-raid5-crypt-lvm");
	const char *m;
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	rec.answers[rec.n_answers++] = "wrong-1";
	rec.answers[rec.n_answers++] = "wrong-2";
	rec.answers[rec.n_answers++] = "wrong-3";
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE; /* never asked for */
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .jobs = 2, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(run.r, -EPERM);
	ASSERT_EQ(count_substrings(recorder_transcript(&rec), "ask-password"), 3u);
	ASSERT_EQ(count_substrings(recorder_transcript(&rec), "wrong-passphrase"), 3u);
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:cryptdata"), (int)BS_EXEC_FAILED);
	m = exec_run_message(&run, "crypt-open", "crypt:cryptdata");
	ASSERT_NOTNULL(m);
	ASSERT_NOTNULL(strstr(m, "3"));
	ASSERT_EQ(exec_run_status(&run, "mount", "mnt:/home"), (int)BS_EXEC_SKIPPED);
	ASSERT_EQ(exec_run_status(&run, "md-assemble", "md:data"), (int)BS_EXEC_DONE);
	exec_run_done(&run);
	recorder_done(&rec);
}

/* A recorded disk that is not there: the wait times out, names it, and exit code 4 follows;
 * for a RAID6 member the array starts degraded instead, loudly. */
TEST(device_timeout_and_degraded_md)
{
	_cleanup_free_ char *root = fixture_with_record("ps1-raid6-lvm-crypt");
	struct recorder rec;
	struct exec_run run;

	/* The fourth RAID6 member is gone. */
	fixture_remove(root, "sys/class/block/vdd");
	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	recorder_fail(&rec, "wait-device", "blk:vdd", -ETIMEDOUT, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .jobs = 2, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(run.r, 0);
	ASSERT_NOTNULL(strstr(run.events, "warning md-assemble md:sys"));
	ASSERT_NOTNULL(strstr(run.events, "DEGRADED"));
	ASSERT_EQ(exec_run_status(&run, "mount", "mnt:/"), (int)BS_EXEC_DONE);
	exec_run_done(&run);
	recorder_done(&rec);

	/* lvm-swap-loop has one disk: without it nothing can come up. */
	{
		_cleanup_free_ char *one = fixture_with_record("lvm-swap-loop");

		fixture_remove(one, "sys/class/block/vda");
		fixture_remove(one, "sys/class/block/vda1");
		fixture_remove(one, "sys/class/block/vda2");
		recorder_init(&rec);
		recorder_fail(&rec, "wait-device", NULL, -ETIMEDOUT, -1);
		EXEC_RUN(&run, .sysroot = one, .op = BS_PLAN_UP, .jobs = 2, .ops = recorder_ops(),
			 .ops_data = &rec);
		ASSERT_EQ(run.r, -ETIMEDOUT);
		ASSERT_NOTNULL(strstr(run.events, "did not appear within 90 s"));
		ASSERT_EQ(exec_run_status(&run, "mount", "mnt:/"), (int)BS_EXEC_SKIPPED);
		exec_run_done(&run);
		recorder_done(&rec);
	}
}

/* No recorded graph: discovery opens what configuration names, and what stays unresolved in a
 * fixture (nothing really opens) times out with the reference named. */
TEST(discovery_without_record)
{
	_cleanup_free_ char *root = test_fixture("ps1-raid6-lvm-crypt-disks");
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .jobs = 2, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(run.r, -ETIMEDOUT);
	ASSERT_NOTNULL(strstr(run.events, "discovery:"));
	ASSERT_NOTNULL(strstr(recorder_transcript(&rec), "spawn mdadm --assemble"));
	ASSERT_NOTNULL(strstr(recorder_transcript(&rec), "wait-uevent"));
	ASSERT_EQ(exec_run_status(&run, "mount", "mnt:/"), (int)BS_EXEC_FAILED);
	ASSERT_NOTNULL(strstr(exec_run_message(&run, "mount", "mnt:/"), "UUID=5e99935b"));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* A tool that is not installed is named. */
TEST(missing_tool_is_named)
{
	_cleanup_free_ char *root = fixture_with_record("ps1-raid6-lvm-crypt");
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	recorder_fail(&rec, "spawn", "mdadm", -ENOENT, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .jobs = 2, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_TRUE(run.r < 0);
	ASSERT_NOTNULL(strstr(exec_run_message(&run, "md-assemble", "md:sys"),
			      "'mdadm' is not installed"));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* --mount-root: the stack mounted below /sysroot, as an initramfs does, is the same graph, and
 * goes down by its real paths. */
TEST(mount_root)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	struct bs_graph *g = NULL;
	struct bs_ctx *c;
	struct recorder rec;
	struct exec_run run;

	test_write_file(root, "proc/self/mountinfo",
			"22 26 0:20 / /proc rw,relatime - proc proc rw\n"
			"26 1 253:2 / /sysroot rw,relatime - ext4 /dev/mapper/cryptroot rw\n"
			"28 26 0:23 / /sysroot/srv rw,relatime - btrfs /dev/mapper/cryptsrv rw\n");
	c = ctx_on_sysroot(root, "/sysroot");
	ASSERT_OK(bs_graph_new(c, &g));
	ASSERT_OK(bs_graph_add_live(g));
	ASSERT_NOTNULL(bs_graph_find_node(g, "mnt:/"));
	ASSERT_NOTNULL(bs_graph_find_node(g, "mnt:/srv"));
	ASSERT_NULL(bs_graph_find_node(g, "mnt:/sysroot/srv"));
	bs_graph_unref(g);
	bs_ctx_unref(c);

	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .mount_root = "/sysroot", .op = BS_PLAN_DOWN,
		 .targets = (const char *const[]){ "/srv", NULL }, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(run.r, 0);
	ASSERT_NOTNULL(strstr(recorder_transcript(&rec), "umount /sysroot/srv"));
	ASSERT_NOTNULL(strstr(recorder_transcript(&rec), "crypt-close cryptsrv"));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* --dry-run prints the plan and runs nothing, below any sysroot. */
TEST(dry_run_is_the_plan)
{
	_cleanup_free_ char *root = test_fixture("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(test_cli_result_done) struct test_cli_result dry =
		TEST_RUN_CLI("--sysroot", root, "down", "--all", "--keep-root", "--dry-run");
	_cleanup_(test_cli_result_done) struct test_cli_result plan =
		TEST_RUN_CLI("--sysroot", root, "plan", "down", "--all", "--keep-root");

	ASSERT_EQ(dry.exit_code, 0);
	ASSERT_STREQ(dry.out, plan.out);
	ASSERT_NOTNULL(strstr(dry.out, "umount"));
}

/* An fstab entry whose device exists nowhere is no configuration error for up: it is waited
 * for, times out naming it, and the rest comes up. */
TEST(missing_device_times_out_the_rest_comes_up)
{
	_cleanup_free_ char *root = fixture_with_record("rootless-ps2-raid5-crypt-lvm"),
			    *path = NULL;
	struct recorder rec;
	struct exec_run run;
	FILE *f;

	ASSERT_TRUE(asprintf(&path, "%s/etc/fstab", root) >= 0);
	f = fopen(path, "ae");
	ASSERT_NOTNULL(f);
	fputs("UUID=00000000-1111-2222-3333-444444444444 /srv/usb ext4 defaults 0 2\n", f);
	fclose(f);
	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .jobs = 2, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(run.r, -ETIMEDOUT);
	ASSERT_EQ(exec_run_status(&run, "mount", "mnt:/srv/usb"), (int)BS_EXEC_FAILED);
	ASSERT_NOTNULL(strstr(exec_run_message(&run, "mount", "mnt:/srv/usb"),
			      "UUID=00000000-1111-2222-3333-444444444444"));
	ASSERT_EQ(exec_run_status(&run, "mount", "mnt:/srv/main"), (int)BS_EXEC_DONE);
	ASSERT_NOTNULL(strstr(recorder_transcript(&rec), "wait-uevent"));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* ---- a key file on root for a layer below root ---------------------------------------------
 *
 * Root on LUKS, unlocked by a key file on root itself (cryptsetup-initramfs carries it with
 * KEYFILE_PATTERN): no cycle. check accepts it, show draws the edge with its role, plans
 * order nothing by it, and the executor reads the key from the running system's own root
 * (the initramfs), not below the mount root. */

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)

static void key_on_root(const char *root)
{
	test_write_file(root, "etc/crypttab",
			"cryptroot UUID=43c1b2e4-cd43-4bbd-949e-e440504cddf6 /etc/keys/root.key "
			"luks\n"
			"cryptsrv UUID=cba7c8ce-287c-4a7c-a274-039c169de03e /etc/keys/srv.key luks\n");
}

static const struct bs_edge *find_edge(const struct bs_graph *g, const char *holder,
				       const char *needs)
{
	const struct bs_node *n = bs_graph_find_node(g, holder);

	for (size_t i = 0; n && i < bs_node_get_n_needs(n); i++) {
		const struct bs_edge *e = bs_node_get_need(n, i);

		if (streq(bs_node_get_id(bs_edge_get_needs(e)), needs))
			return e;
	}
	return NULL;
}

TEST(key_file_on_root_for_root_is_carried_not_a_cycle)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	struct bs_problem_list *problems = NULL;
	struct bs_graph *g = NULL;
	struct bs_plan *p = NULL;
	const struct bs_edge *e;
	_cleanup_free_ char *json = NULL;

	key_on_root(root);
	c = ctx_on_sysroot(root, NULL);
	ASSERT_OK(bs_graph_load(c, NULL, &g, &problems));
	ASSERT_EQ(bs_problem_list_get_n(problems), 0);
	problems = bs_problem_list_free(problems);

	/* Root's own mapping: the edge is there, with its role, and carried. */
	e = find_edge(g, "crypt:cryptroot", "mnt:/");
	ASSERT_NOTNULL(e);
	ASSERT_STREQ(bs_edge_get_role(e), "key-file");
	ASSERT_TRUE(e->carried);
	/* /srv's mapping is not below root: root must be mounted before it opens. */
	e = find_edge(g, "crypt:cryptsrv", "mnt:/");
	ASSERT_NOTNULL(e);
	ASSERT_FALSE(e->carried);
	ASSERT_OK(bs_graph_to_json(g, &json));
	ASSERT_NOTNULL(strstr(json, "\"holder\": \"crypt:cryptroot\",\n      \"needs\": \"mnt:/\",\n"
				    "      \"role\": \"key-file\",\n      \"carried\": true"));

	/* Teardown plans: root's layers stay, nothing refuses. */
	ASSERT_OK(bs_plan_new(g, BS_PLAN_DOWN, NULL, BS_PLAN_KEEP_ROOT, &p));
	bs_plan_unref(p);
	bs_graph_unref(g);
}

TEST(key_file_on_root_opens_root_from_the_running_root_and_srv_after_it)
{
	_cleanup_free_ char *root = fixture_with_record("ps1-raid6-lvm-crypt");
	struct recorder rec;
	struct exec_run run;
	const char *t, *open_root, *mount_root, *open_srv;

	key_on_root(root);
	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .mount_root = "/sysroot", .op = BS_PLAN_UP,
		 .ops = recorder_ops(), .ops_data = &rec);
	t = recorder_transcript(&rec);
	ASSERT_EQ(run.r, 0);
	/* Root's key where the initramfs has it; /srv's on root, once root is mounted. */
	open_root = strstr(t, "crypt-open cryptroot /dev/mapper/vg0-root luks /etc/keys/root.key\n");
	mount_root = strstr(t, "mount /dev/mapper/cryptroot /sysroot ");
	open_srv = strstr(t, "crypt-open cryptsrv /dev/mapper/vg0-srv luks "
			     "/sysroot/etc/keys/srv.key\n");
	ASSERT_NOTNULL(open_root);
	ASSERT_NOTNULL(mount_root);
	ASSERT_NOTNULL(open_srv);
	ASSERT_TRUE(open_root < mount_root);
	ASSERT_TRUE(mount_root < open_srv);
	exec_run_done(&run);
	recorder_done(&rec);
}

/* One uevent monitor serves every round of an up, and it is open before the graph is first
 * read (before any other op), so that a device appearing while a round reads the graph is
 * announced on it instead of being missed until the timeout. */
TEST(one_uevent_monitor_opened_before_the_first_read)
{
	_cleanup_free_ char *root = test_fixture_copy("ps2-raid5-crypt-lvm-disks");
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	/* Nothing appears in a fixture: after the round it waited for devices, on the monitor
	 * it opened first. */
	ASSERT_EQ(count_substrings(recorder_transcript(&rec), "wait-uevent"), 1u);
	ASSERT_TRUE(rec.watched_first);
	ASSERT_EQ(rec.n_watches, 1u);
	exec_run_done(&run);
	recorder_done(&rec);
}

/* down of a mount that fstab does not list: once it is unmounted the target is gone from the
 * graph, and the mapping below it, held open by a process, is still retried and reported with
 * what holds it (it used to end after round 1 without either). */
TEST(down_of_a_target_not_in_fstab_retries_and_names_the_holder)
{
	_cleanup_free_ char *root = test_fixture_copy("rootless-ps1-raid6-lvm-crypt-assembled");
	const char *targets[] = { "/srv/main", NULL }, *m;
	struct recorder rec;
	struct exec_run run;

	test_write_file(root, "etc/fstab",
			"UUID=a5365b0d-5ea0-4a9d-beef-b56832542fc4 /srv/data btrfs defaults 0 2\n");
	test_write_file(root, "proc/4242/comm", "sleep\n");
	test_symlink(root, "proc/4242/cwd", "/");
	test_symlink(root, "proc/4242/root", "/");
	test_mkdir_p(root, "proc/4242/fd");
	test_symlink(root, "proc/4242/fd/3", "/dev/mapper/cryptmain");

	recorder_init(&rec);
	rec.sysroot = root;
	recorder_fail(&rec, "crypt-close", "cryptmain", -EBUSY, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN, .targets = targets,
		 .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_EQ(run.r, -EBUSY);
	ASSERT_EQ(exec_run_status(&run, "umount", "mnt:/srv/main"), BS_EXEC_DONE);
	ASSERT_EQ(exec_run_status(&run, "crypt-close", "crypt:cryptmain"), BS_EXEC_BUSY);
	/* Retried in a later round, then named with its holder. */
	ASSERT_TRUE(count_substrings(recorder_transcript(&rec), "crypt-close cryptmain") >= 2);
	m = exec_run_message(&run, "crypt-close", "crypt:cryptmain");
	ASSERT_NOTNULL(m);
	ASSERT_NOTNULL(strstr(m, "pid 4242 (sleep) has /dev/mapper/cryptmain open"));
	ASSERT_NOTNULL(strstr(run.events, "blocker crypt-close crypt:cryptmain: pid 4242"));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* The shutdown ramfs's teardown: a mapping that stays busy is suspended and its key wiped in
 * the last pass, and only there; the result says so, with what holds it. Without the option
 * nothing is wiped. */
TEST(down_wipes_the_key_of_a_mapping_that_stays_busy)
{
	for (int wipe = 0; wipe <= 1; wipe++) {
		/* A copy each time: the recorder plays the teardown on the tree. */
		_cleanup_free_ char *root = test_fixture_copy("rootless-ps1-raid6-lvm-crypt-assembled");
		struct recorder rec;
		struct exec_run run;
		const char *m;

		recorder_init(&rec);
		rec.sysroot = root;
		recorder_fail(&rec, "crypt-close", "cryptmain", -EBUSY, -1);
		EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN, .ops = recorder_ops(),
			 .ops_data = &rec, .wipe_busy_keys = wipe);
		ASSERT_EQ(run.r, -EBUSY);
		ASSERT_EQ(exec_run_status(&run, "crypt-close", "crypt:cryptmain"), BS_EXEC_BUSY);
		ASSERT_EQ(count_substrings(recorder_transcript(&rec), "crypt-wipe cryptmain"),
			  (size_t)wipe);
		m = exec_run_message(&run, "crypt-close", "crypt:cryptmain");
		ASSERT_NOTNULL(m);
		ASSERT_EQ(strstr(m, "suspended, key wiped") != NULL, wipe == 1);
		ASSERT_CONTAINS(m, "still open");
		if (wipe) {
			/* Tried to close first, in every round; wiped once, at the end. */
			const char *t = recorder_transcript(&rec);
			ASSERT_TRUE(strstr(t, "crypt-close cryptmain") <
				    strstr(t, "crypt-wipe cryptmain"));
		}
		exec_run_done(&run);
		recorder_done(&rec);
	}
}

/* The rounds running out still ends with the last pass that names the holders. */
TEST(down_that_runs_out_of_rounds_still_names_the_holders)
{
	_cleanup_free_ char *root = test_fixture("rootless-ps1-raid6-lvm-crypt-assembled");
	struct recorder rec;
	struct exec_run run;
	const char *m;

	recorder_init(&rec);
	/* Something goes down every round (so the rounds would go on), /srv/data never does. */
	recorder_fail(&rec, "umount", "/srv/data", -EBUSY, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN, .ops = recorder_ops(),
		 .ops_data = &rec, .max_rounds = 2);
	ASSERT_EQ(run.r, -EBUSY);
	ASSERT_EQ(count_substrings(recorder_transcript(&rec), "umount /srv/data"), 2u);
	m = exec_run_message(&run, "umount", "mnt:/srv/data");
	ASSERT_NOTNULL(m);
	ASSERT_NOTNULL(strstr(m, "still open"));
	exec_run_done(&run);
	recorder_done(&rec);
}
