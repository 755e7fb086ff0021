/* Unit tests of the executor's gate (src/lib/exec-gate.c): the devices verified against their
 * pins before anything is asked or opened, again when devices appear, and the crypt helper's
 * check of the volume key against the pinned digest on LUKS headers written to files. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkstack.h"
#include "exec-harness.h"
#include "macro.h"
#include "pins.h"
#include "real.h"
#include "recorder.h"
#include "tests.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_pins *, bs_pins_unref)

#define PS2 "ps2-raid5-crypt-lvm"
/* A member of ps2's RAID5, and ps2's /home filesystem as blkid reports it. */
#define PS2_MEMBER "3e8e56a5-5237-81f2-57f6-bde81af58ecd"
#define PS2_HOME "UUID=\"f4d11289-7946-4202-8497-4361ec0fe58e\" BLOCK_SIZE=\"1024\" TYPE=\"ext4\""

/* The pins of a captured fixture, as 'blkstack pin' on that machine would write them. */
static struct bs_pins *pins_of(const char *fixture)
{
	_cleanup_free_ char *dir = test_fixture(fixture);
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = ctx_on_sysroot(dir, NULL);
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct bs_pins *p = NULL;

	ASSERT_OK(bs_graph_load(c, &(struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL));
	ASSERT_OK(bs_pins_new(g, NULL, &p));
	ASSERT_TRUE(bs_pins_get_n(p) > 0);
	return p;
}

static char *read_below(const char *root, const char *relpath)
{
	_cleanup_free_ char *path = NULL;
	char *text = NULL;
	size_t size = 0;
	FILE *f;

	ASSERT_TRUE(asprintf(&path, "%s/%s", root, relpath) >= 0);
	f = fopen(path, "re");
	ASSERT_NOTNULL(f);
	ASSERT_TRUE(getdelim(&text, &size, '\0', f) > 0);
	fclose(f);
	return text;
}

/* Replaces the first from in root/relpath with to; the test fails when from is not there. */
static void replace_in_file(const char *root, const char *relpath, const char *from, const char *to)
{
	_cleanup_free_ char *text = read_below(root, relpath), *out = NULL;
	char *at = strstr(text, from);

	ASSERT_NOTNULL(at);
	ASSERT_TRUE(asprintf(&out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)) >= 0);
	test_write_file(root, relpath, out);
}

/* ---- refusals before anything is asked ------------------------------------------------------- */

/* A foreign md member with the array's uuid: refused at the first step that opens a layer,
 * before mdadm runs, before the passphrase of the crypt layer above is asked; nothing is
 * spawned, no mapping is made, and the run says -EKEYREJECTED with the device and field. */
TEST(refusal_asks_nothing_opens_nothing_spawns_nothing)
{
	_cleanup_free_ char *root = fixture_with_record(PS2);
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = pins_of(PS2 "-assembled");
	struct recorder rec;
	struct exec_run run;
	const char *t, *m;

	replace_in_file(root, "run/blkid/blkid.tab", PS2_MEMBER,
			"bbbbbbbb-0000-0000-0000-000000000009");
	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .jobs = 2, .ops = recorder_ops(),
		 .ops_data = &rec, .pins = p);
	t = recorder_transcript(&rec);
	ASSERT_ERR(run.r, -EKEYREJECTED);
	ASSERT_EQ(count_substrings(t, "ask-password"), 0u);
	ASSERT_EQ(count_substrings(t, "crypt-open"), 0u);
	ASSERT_EQ(count_substrings(t, "spawn"), 0u);
	ASSERT_EQ(count_substrings(t, "mount"), 0u);
	ASSERT_EQ(exec_run_status(&run, "md-assemble", "md:data"), (int)BS_EXEC_FAILED);
	m = exec_run_message(&run, "md-assemble", "md:data");
	ASSERT_CONTAINS(m, "refused by the pins");
	ASSERT_CONTAINS(m, "'/dev/vdc'");
	ASSERT_CONTAINS(m, "member 'one of the pinned members' pinned");
	ASSERT_EQ(bs_exec_get_n_refusals(run.e), 1u);
	ASSERT_CONTAINS(bs_exec_get_refusal(run.e, 0), "unexpected member of the md array");
	ASSERT_EQ(bs_exec_get_n_verifications(run.e), 1u);
	/* What needs it did not run. */
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:cryptdata"), (int)BS_EXEC_SKIPPED);
	exec_run_done(&run);
	recorder_done(&rec);
}

/* Without pins, the same forged member goes to mdadm: the gate is what refused it. */
TEST(without_pins_nothing_is_verified)
{
	_cleanup_free_ char *root = fixture_with_record(PS2);
	struct recorder rec;
	struct exec_run run;

	replace_in_file(root, "run/blkid/blkid.tab", PS2_MEMBER,
			"bbbbbbbb-0000-0000-0000-000000000009");
	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_CONTAINS(recorder_transcript(&rec), "spawn mdadm --assemble");
	ASSERT_EQ(bs_exec_get_n_verifications(run.e), 0u);
	ASSERT_EQ(bs_exec_get_n_refusals(run.e), 0u);
	exec_run_done(&run);
	recorder_done(&rec);
}

/* /init's way: the image's manifest carries the pins of the closure, /init reads them with the
 * manifest's info and gives them to the executor. A foreign RAID member is refused before the
 * root's passphrase is asked; a genuine set of disks goes past it, to the next verified step. */
TEST(initramfs_manifest_pins_refuse_before_the_passphrase)
{
	_cleanup_free_ char *assembled = test_fixture("ps1-raid6-lvm-crypt-assembled"), *m = NULL;
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = ctx_on_sysroot(assembled, NULL);
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	_cleanup_(bs_pins_unrefp) struct bs_pins *closure = NULL;
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-disks");
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *rc = ctx_on_sysroot(root, NULL);
	struct bs_needs *n = NULL;

	ASSERT_OK(bs_graph_load(c, &(struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL));
	ASSERT_OK(bs_needs_new(g, NULL, NULL, NULL, &n));
	ASSERT_OK(bs_pins_new_for_needs(n, NULL, &closure));
	ASSERT_OK(bs_needs_to_manifest_pinned(n, NULL, NULL, closure, &m));
	bs_needs_unref(n);

	test_write_file(root, "etc/blkstack/manifest.json", m);
	for (int forged = 0; forged <= 1; forged++) {
		struct bs_manifest_info *info = NULL;
		struct recorder rec;
		struct exec_run run;
		const char *t;

		if (forged)
			replace_in_file(root, "run/blkid/blkid.tab",
					"3405193a-d2dd-c6a1-98bc-5bcb437781b3",
					"bbbbbbbb-0000-0000-0000-000000000009");
		ASSERT_OK(bs_manifest_get_info(rc, "/etc/blkstack/manifest.json", &info));
		ASSERT_NOTNULL(info->pins);
		recorder_init(&rec);
		rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
		EXEC_RUN(&run, .sysroot = root, .mount_root = "/sysroot", .op = BS_PLAN_UP,
			 .targets = (const char *const *)info->root_set, .ops = recorder_ops(),
			 .ops_data = &rec, .manifest = "/etc/blkstack/manifest.json",
			 .pins = info->pins);
		t = recorder_transcript(&rec);
		if (forged) {
			ASSERT_ERR(run.r, -EKEYREJECTED);
			ASSERT_EQ(count_substrings(t, "ask-password"), 0u);
			ASSERT_EQ(count_substrings(t, "spawn"), 0u);
			ASSERT_EQ(bs_exec_get_n_refusals(run.e), 1u);
			ASSERT_CONTAINS(bs_exec_get_refusal(run.e, 0), "unexpected member");
		} else {
			ASSERT_CONTAINS(t, "spawn mdadm --assemble");
			/* The fixture does not change: the array never shows its PV, and lvm is
			 * given no device that is not pinned. */
			ASSERT_CONTAINS(exec_run_message(&run, "vg-activate", "vg:vg0"),
					"none of the pinned physical volumes");
			ASSERT_EQ(bs_exec_get_n_refusals(run.e), 0u);
			ASSERT_EQ(bs_exec_get_n_verifications(run.e), 1u);
		}
		exec_run_done(&run);
		recorder_done(&rec);
		bs_manifest_info_free(info);
	}
}

/* ---- devices that appear while the run goes on ------------------------------------------------ */

struct appear {
	const char *root; /* the run's sysroot */
	char *assembled; /* a copy of the machine with its stack up */
	bool forge; /* and a forged /home filesystem among what appears */
	bool done;
};

/* Once the mapping is open, what it holds appears: the sysroot becomes the assembled machine
 * (renamed into place, so that the context's open root sees it). */
static void appear_after_crypt_open(struct recorder *r, const char *line, void *userdata)
{
	struct appear *a = userdata;

	(void)r;
	if (a->done || !startswith(line, "crypt-open "))
		return;
	a->done = true;
	for (const char *const *d = (const char *const[]){ "sys", "run", "proc", NULL }; *d; d++) {
		_cleanup_free_ char *from = NULL, *to = NULL, *old = NULL;

		ASSERT_TRUE(asprintf(&from, "%s/%s", a->assembled, *d) >= 0);
		ASSERT_TRUE(asprintf(&to, "%s/%s", a->root, *d) >= 0);
		ASSERT_TRUE(asprintf(&old, "%s/%s.before", a->root, *d) >= 0);
		ASSERT_OK(rename(to, old) < 0 ? -errno : 0);
		ASSERT_OK(rename(from, to) < 0 ? -errno : 0);
	}
	if (a->forge)
		replace_in_file(a->root, "run/blkid/blkid.tab", PS2_HOME,
				"UUID=\"f4d11289-7946-4202-8497-4361ec0fe58e\" TYPE=\"vfat\"");
}

/* The genuine machine: verified once before mdadm, with the pinned members named; the mapping
 * opened; then, its PV and LVs having appeared, verified again before lvm runs, which sees
 * the pinned PV only; no device appears after that, so the last verification stands. */
TEST(devices_appearing_mid_run_are_verified_again)
{
	_cleanup_free_ char *root = fixture_with_record(PS2);
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = pins_of(PS2 "-assembled");
	struct appear a = { .root = root, .assembled = test_fixture_copy(PS2 "-assembled") };
	struct recorder rec;
	struct exec_run run;
	const char *t;

	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	rec.on_record = appear_after_crypt_open;
	rec.on_record_data = &a;
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec,
		 .pins = p);
	t = recorder_transcript(&rec);
	ASSERT_TRUE(a.done);
	ASSERT_EQ(bs_exec_get_n_refusals(run.e), 0u);
	ASSERT_EQ(bs_exec_get_n_verifications(run.e), 2u);
	ASSERT_CONTAINS(t, " /dev/vda /dev/vdb /dev/vdc\n");
	ASSERT_CONTAINS(t, "crypt-open cryptdata /dev/md/data luks passphrase\n");
	ASSERT_CONTAINS(t,
			"spawn lvm vgs --reportformat json -o vg_name,pv_count,vg_missing_pv_count "
			"--devices /dev/mapper/cryptdata vg1\n");
	ASSERT_CONTAINS(t, "spawn lvm lvchange -ay -K --devices /dev/mapper/cryptdata vg1/");
	ASSERT_EQ(exec_run_status(&run, "vg-activate", "vg:vg1"), (int)BS_EXEC_DONE);
	exec_run_done(&run);
	recorder_done(&rec);
	free(a.assembled);
}

/* What appears after the mapping opened carries a forged filesystem: the verification before
 * the next step refuses it, and lvm never runs. */
TEST(forged_device_appearing_mid_run_is_refused)
{
	_cleanup_free_ char *root = fixture_with_record(PS2);
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = pins_of(PS2 "-assembled");
	struct appear a = { .root = root,
			    .assembled = test_fixture_copy(PS2 "-assembled"),
			    .forge = true };
	struct recorder rec;
	struct exec_run run;
	const char *t;

	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	rec.on_record = appear_after_crypt_open;
	rec.on_record_data = &a;
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec,
		 .pins = p);
	t = recorder_transcript(&rec);
	ASSERT_ERR(run.r, -EKEYREJECTED);
	ASSERT_EQ(bs_exec_get_n_verifications(run.e), 2u);
	ASSERT_CONTAINS(t, "crypt-open cryptdata");
	ASSERT_EQ(count_substrings(t, "spawn lvm"), 0u);
	ASSERT_EQ(count_substrings(t, "\nmount "), 0u);
	ASSERT_EQ(bs_exec_get_n_refusals(run.e), 1u);
	ASSERT_CONTAINS(bs_exec_get_refusal(run.e, 0), "type 'ext4' pinned");
	ASSERT_CONTAINS(bs_exec_get_refusal(run.e, 0), "'vfat' found");
	ASSERT_EQ(exec_run_status(&run, "vg-activate", "vg:vg1"), (int)BS_EXEC_FAILED);
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:cryptdata"), (int)BS_EXEC_DONE);
	exec_run_done(&run);
	recorder_done(&rec);
	free(a.assembled);
}

/* A PV on a disk, present from the start: one verification serves the whole run, and every
 * lvm command is given the pinned PV alone. */
TEST(lvm_sees_the_pinned_pvs_only)
{
	_cleanup_free_ char *root = fixture_with_record("lvm-swap-loop");
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = pins_of("lvm-swap-loop-assembled");
	struct recorder rec;
	struct exec_run run;
	const char *t;

	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec,
		 .pins = p);
	t = recorder_transcript(&rec);
	ASSERT_OK(run.r);
	ASSERT_EQ(bs_exec_get_n_verifications(run.e), 1u);
	ASSERT_TRUE(count_substrings(t, "spawn lvm") > 0);
	ASSERT_EQ(count_substrings(t, "spawn lvm"), count_substrings(t, "--devices /dev/vda2 "));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* The pinned digest of a LUKS header travels to crypt-open, and a volume key that is not the
 * pinned one fails the step once, with the message, without asking again. */
TEST(crypt_open_carries_the_pinned_digest)
{
	_cleanup_free_ char *root = fixture_with_record(PS2), *json = NULL, *file = NULL;
	_cleanup_(bs_pins_unrefp) struct bs_pins *genuine = pins_of(PS2 "-assembled"), *p = NULL;
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = ctx_on_sysroot(root, NULL);
	struct recorder rec;
	struct exec_run run;
	const char *m;

	/* The header on md:data pinned, as it is when the device can be read. */
	ASSERT_OK(bs_pins_to_json(genuine, &json));
	test_write_file(root, "pins.json", json);
	replace_in_file(root, "pins.json", "\"pins\": [",
			"\"pins\": [{\"kind\": \"luks\", \"node\": \"md:data\", \"fields\": "
			"{\"uuid\": \"d5617a7c-bcfc-4796-aa92-02af4aa6fd59\", \"version\": "
			"\"LUKS2\", \"digest_type\": \"pbkdf2\", \"digest_hash\": \"sha256\", "
			"\"digest_iterations\": \"1000\", \"digest_salt\": \"c2FsdA==\", "
			"\"digest\": \"ZGlnZXN0\"}},");
	ASSERT_TRUE(asprintf(&file, "%s/pins.json", root) >= 0);
	ASSERT_OK(bs_pins_read(c, file, &p));

	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	recorder_fail(&rec, "crypt-open", NULL, -EKEYREJECTED, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec,
		 .pins = p);
	ASSERT_CONTAINS(recorder_transcript(&rec), "passphrase pinned-digest -> EKEYREJECTED\n");
	ASSERT_EQ(count_substrings(recorder_transcript(&rec), "ask-password"), 1u);
	ASSERT_ERR(run.r, -EKEYREJECTED);
	m = exec_run_message(&run, "crypt-open", "crypt:cryptdata");
	ASSERT_CONTAINS(m, "is not the pinned volume key (a forged header?)");
	exec_run_done(&run);
	recorder_done(&rec);
}

/* ---- the helper's check, on real LUKS headers ---------------------------------------------- */

#define LUKS_UUID "0f6c5a3e-2a47-4c39-9d4e-1e2f3a4b5c6d"
#define PASS "correct horse"

static char key_a[64], key_b[64];

static void quiet(int level, const char *msg, void *userdata)
{
	(void)level;
	(void)msg;
	(void)userdata;
}

static const struct crypt_pbkdf_type fast_pbkdf = {
	.type = CRYPT_KDF_PBKDF2,
	.hash = "sha256",
	.iterations = 1000,
	.flags = CRYPT_PBKDF_NO_BENCHMARK,
};

static void make_file(const char *path, off_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(ftruncate(fd, size));
	close(fd);
}

/* A header of type (CRYPT_LUKS1 or CRYPT_LUKS2) on the file path, UUID LUKS_UUID, volume key
 * key, one keyslot for PASS. */
static void luks_format(const char *path, const char *type, const char *key)
{
	struct crypt_device *cd = NULL;

	crypt_set_log_callback(NULL, quiet, NULL);
	make_file(path, 8 << 20);
	ASSERT_OK(crypt_init(&cd, path));
	ASSERT_OK(crypt_set_pbkdf_type(cd, &fast_pbkdf));
	if (streq(type, CRYPT_LUKS2)) {
		ASSERT_OK(crypt_set_metadata_size(cd, 16384, 2 << 20));
		ASSERT_OK(crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", LUKS_UUID, key, 64,
				       &(struct crypt_params_luks2){ .sector_size = 512 }));
	} else
		ASSERT_OK(crypt_format(cd, CRYPT_LUKS1, "aes", "xts-plain64", LUKS_UUID, key, 64,
				       &(struct crypt_params_luks1){ .hash = "sha256" }));
	ASSERT_OK(crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, key, 64, PASS, strlen(PASS)));
	crypt_free(cd);
}

/* vdb of a small sysroot, holding the header file. */
static void sysfs_disk(const char *root)
{
	test_write_file(root, "sys/devices/platform/virtio1/block/vdb/size", "16384\n");
	test_write_file(root, "sys/devices/platform/virtio1/block/vdb/dev", "254:16\n");
	test_mkdir_p(root, "sys/devices/platform/virtio1/block/vdb/holders");
	test_mkdir_p(root, "sys/devices/platform/virtio1/block/vdb/slaves");
	test_symlink(root, "sys/class/block/vdb", "../../devices/platform/virtio1/block/vdb");
	test_write_file(root, "run/blkid/blkid.tab",
			"<device DEVNO=\"0xfe10\" TYPE=\"crypto_LUKS\" UUID=\"" LUKS_UUID
			"\">/dev/vdb</device>\n");
	test_write_file(root, "proc/self/mountinfo", "");
	test_write_file(root, "proc/swaps", "Filename Type Size Used Priority\n");
}

/* The genuine header of type pinned; then the check with the genuine header, an attacker's
 * one (same UUID, same passphrase, another volume key), a wrong passphrase, and key files. */
static void check_digest_of(const char *type)
{
	const char *root = test_tmpdir();
	_cleanup_free_ char *dev = NULL, *keyfile = NULL;
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = NULL;
	struct bs_crypt_digest d = {};
	struct bs_crypt_request req;

	for (size_t i = 0; i < sizeof(key_a); i++) {
		key_a[i] = (char)(i * 7 + 1);
		key_b[i] = (char)(i * 13 + 5);
	}
	ASSERT_TRUE(asprintf(&dev, "%s/dev/vdb", root) >= 0);
	ASSERT_TRUE(asprintf(&keyfile, "%s/key", root) >= 0);
	test_mkdir_p(root, "dev");
	test_write_file(root, "key", PASS);
	luks_format(dev, type, key_a);
	sysfs_disk(root);
	c = ctx_on_sysroot(root, NULL);
	ASSERT_OK(bs_graph_load(c, &(struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL));
	ASSERT_OK(bs_pins_new(g, NULL, &p));
	ASSERT_EQ(bs_pins_luks_digest(p, LUKS_UUID, NULL, &d), 1);
	ASSERT_STREQ(d.version, type);

	req = (struct bs_crypt_request){ .name = "t",
					 .device = dev,
					 .type = "luks",
					 .key = PASS,
					 .key_size = strlen(PASS),
					 .keyslot = -1,
					 .pinned_digest = &d };
	ASSERT_OK(bs_crypt_check_volume_key(c, &req));
	req.key = "wrong";
	req.key_size = strlen("wrong");
	ASSERT_ERR(bs_crypt_check_volume_key(c, &req), -EPERM);
	req.key = NULL;
	req.key_size = 0;
	req.key_file = keyfile;
	ASSERT_OK(bs_crypt_check_volume_key(c, &req));

	/* The attacker's header: the passphrase opens it, its volume key is not the pinned. */
	luks_format(dev, type, key_b);
	ASSERT_ERR(bs_crypt_check_volume_key(c, &req), -EKEYREJECTED);
	req.key_file = NULL;
	req.key = PASS;
	req.key_size = strlen(PASS);
	ASSERT_ERR(bs_crypt_check_volume_key(c, &req), -EKEYREJECTED);

	/* A pin whose digest cannot be checked passes nothing. */
	d.type = "argon2id";
	luks_format(dev, type, key_a);
	ASSERT_ERR(bs_crypt_check_volume_key(c, &req), -EKEYREJECTED);
}

TEST(luks2_volume_key_checked_against_the_pinned_digest)
{
	check_digest_of(CRYPT_LUKS2);
}

TEST(luks1_volume_key_checked_against_the_pinned_digest)
{
	check_digest_of(CRYPT_LUKS1);
}

/* ---- blkstack up's options ------------------------------------------------------------------ */

/* Usage only: up itself acts on the running system, which a unit test never touches. */
TEST(cli_up_pins_options)
{
	struct test_cli_result r;

	r = TEST_RUN_CLI("up", "--all", "--pins", "x.json", "--no-verify");
	ASSERT_EQ(r.exit_code, 2);
	ASSERT_CONTAINS(r.err, "exclude each other");
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("down", "--all", "--no-verify");
	ASSERT_EQ(r.exit_code, 2);
	ASSERT_CONTAINS(r.err, "apply to 'up' only");
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("up", "--help");
	ASSERT_EQ(r.exit_code, 0);
	ASSERT_CONTAINS(r.out, "--no-verify");
	ASSERT_CONTAINS(r.out, "6 a device refused by its pins");
	test_cli_result_done(&r);
}
