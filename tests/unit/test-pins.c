/* Unit tests of pins (src/lib/pins.c): LUKS headers that libcryptsetup writes on regular files
 * of the test's directory, seen as devices of a small sysroot; and pins in the manifest. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkstack.h"
#include "macro.h"
#include "tests.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_pins *, bs_pins_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_verify *, bs_verify_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_needs *, bs_needs_unref)

#define LUKS_UUID "0f6c5a3e-2a47-4c39-9d4e-1e2f3a4b5c6d"
#define FS_UUID "5b1e0c2d-7f3a-4e1b-8c9d-0a1b2c3d4e5f"
#define PASS "correct horse"

/* A test artefact, not a user's device: a sparse file below the sysroot's dev/. */
static char *image_path(const char *root, const char *name)
{
	char *p = NULL;

	ASSERT_TRUE(asprintf(&p, "%s/dev/%s", root, name) >= 0);
	return p;
}

static void make_file(const char *path, off_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(ftruncate(fd, size));
	close(fd);
}

/* Fast: these headers guard nothing. */
static const struct crypt_pbkdf_type fast_pbkdf = {
	.type = CRYPT_KDF_PBKDF2,
	.hash = "sha256",
	.iterations = 1000,
	.flags = CRYPT_PBKDF_NO_BENCHMARK,
};

/* A LUKS2 header with a fast PBKDF and a small metadata area, one keyslot for PASS; key is
 * the volume key (64 bytes; NULL: random), cipher/mode the segment's. */
static void luks_format(const char *path, const char *cipher, const char *mode, const char *key,
			size_t key_size)
{
	struct crypt_device *cd = NULL;
	struct crypt_params_luks2 params = { .sector_size = 512 };

	make_file(path, 8 << 20);
	ASSERT_OK(crypt_init(&cd, path));
	ASSERT_OK(crypt_set_pbkdf_type(cd, &fast_pbkdf));
	ASSERT_OK(crypt_set_metadata_size(cd, 16384, 2 << 20));
	ASSERT_OK(crypt_format(cd, CRYPT_LUKS2, cipher, mode, LUKS_UUID, key, key_size, &params));
	ASSERT_OK(crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, key, key_size, PASS,
						  strlen(PASS)));
	crypt_free(cd);
}

/* A LUKS1 header whose segment says cipher_null-ecb: libcryptsetup formats none without
 * device-mapper to check the cipher, so the name is written into a genuine header (LUKS1
 * has no checksum): any passphrase would open such a volume. */
static void luks1_cipher_null(const char *path, const char *key, size_t key_size)
{
	struct crypt_device *cd = NULL;
	char name[32] = "cipher_null", mode[32] = "ecb";
	int fd;

	make_file(path, 8 << 20);
	ASSERT_OK(crypt_init(&cd, path));
	ASSERT_OK(crypt_set_pbkdf_type(cd, &fast_pbkdf));
	ASSERT_OK(crypt_format(cd, CRYPT_LUKS1, "aes", "xts-plain64", LUKS_UUID, key, key_size,
			       &(struct crypt_params_luks1){ .hash = "sha256" }));
	crypt_free(cd);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(pwrite(fd, name, sizeof(name), 8), (ssize_t)sizeof(name));
	ASSERT_EQ(pwrite(fd, mode, sizeof(mode), 40), (ssize_t)sizeof(mode));
	close(fd);
}

static void add_keyslot(const char *path, const char *key, size_t key_size)
{
	struct crypt_device *cd = NULL;

	ASSERT_OK(crypt_init(&cd, path));
	ASSERT_OK(crypt_load(cd, CRYPT_LUKS2, NULL));
	ASSERT_OK(crypt_set_pbkdf_type(cd, &fast_pbkdf));
	ASSERT_OK(crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, key, key_size, "another",
						  strlen("another")));
	crypt_free(cd);
}

static bool test_exists(const char *root, const char *relpath)
{
	_cleanup_free_ char *p = NULL;

	ASSERT_TRUE(asprintf(&p, "%s/%s", root, relpath) >= 0);
	return access(p, F_OK) == 0;
}

/* One disk, vdb, in sys/ and run/blkid/blkid.tab, with type and uuid as blkid would say. */
static void sysfs_disk(const char *root, const char *type, const char *uuid)
{
	char tab[512];

	test_write_file(root, "sys/devices/platform/virtio1/block/vdb/size", "16384\n");
	test_write_file(root, "sys/devices/platform/virtio1/block/vdb/dev", "254:16\n");
	test_mkdir_p(root, "sys/devices/platform/virtio1/block/vdb/holders");
	test_mkdir_p(root, "sys/devices/platform/virtio1/block/vdb/slaves");
	if (!test_exists(root, "sys/class/block/vdb"))
		test_symlink(root, "sys/class/block/vdb",
			     "../../devices/platform/virtio1/block/vdb");
	snprintf(tab, sizeof(tab),
		 "<device DEVNO=\"0xfe10\" TYPE=\"%s\" UUID=\"%s\">/dev/vdb</device>\n", type,
		 uuid);
	test_write_file(root, "run/blkid/blkid.tab", strempty(tab));
	test_mkdir_p(root, "proc/self");
	test_write_file(root, "proc/self/mountinfo", "");
	test_write_file(root, "proc/swaps", "Filename Type Size Used Priority\n");
}

static struct bs_graph *live(const char *root)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	struct bs_graph *g = NULL;

	ASSERT_OK(bs_ctx_new(&(struct bs_ctx_opts){ .sysroot = root }, &c));
	ASSERT_OK(bs_graph_load(c, &(struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL));
	return g;
}

static char key_a[64], key_b[64];

/* libcryptsetup's notes on the small test headers ("keyslots area is very small"). */
static void quiet(int level, const char *msg, void *userdata)
{
	(void)level;
	(void)msg;
	(void)userdata;
}

static void keys(void)
{
	crypt_set_log_callback(NULL, quiet, NULL);
	for (size_t i = 0; i < sizeof(key_a); i++) {
		key_a[i] = (char)(i * 7 + 1);
		key_b[i] = (char)(i * 13 + 5);
	}
}

/* The genuine system: vdb a LUKS2 volume, pinned. */
static struct bs_pins *genuine(const char *root)
{
	_cleanup_free_ char *path = image_path(root, "vdb");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct bs_pins *p = NULL;

	keys();
	test_mkdir_p(root, "dev");
	luks_format(path, "aes", "xts-plain64", key_a, sizeof(key_a));
	sysfs_disk(root, "crypto_LUKS", LUKS_UUID);
	g = live(root);
	ASSERT_OK(bs_pins_new(g, NULL, &p));
	ASSERT_EQ(bs_pins_get_n(p), 1u);
	ASSERT_EQ(bs_pins_get_n_unpinned(p), 0u);
	ASSERT_STREQ(bs_pins_get_kind(p, 0), "luks");
	ASSERT_STREQ(bs_pins_get_node(p, 0), "blk:vdb");
	ASSERT_STREQ(bs_pins_get_field(p, 0, "uuid"), LUKS_UUID);
	ASSERT_STREQ(bs_pins_get_field(p, 0, "version"), "LUKS2");
	ASSERT_STREQ(bs_pins_get_field(p, 0, "cipher"), "aes");
	ASSERT_STREQ(bs_pins_get_field(p, 0, "cipher_mode"), "xts-plain64");
	ASSERT_STREQ(bs_pins_get_field(p, 0, "sector_size"), "512");
	ASSERT_STREQ(bs_pins_get_field(p, 0, "integrity"), "none");
	ASSERT_STREQ(bs_pins_get_field(p, 0, "digest_type"), "pbkdf2");
	ASSERT_NOTNULL(bs_pins_get_field(p, 0, "digest"));
	ASSERT_NOTNULL(bs_pins_get_field(p, 0, "digest_salt"));
	ASSERT_NOTNULL(bs_pins_get_field(p, 0, "payload_offset"));
	return p;
}

/* Verifies root against p: returns the outcome, with *ret_r the return value. */
static struct bs_verify *verify(const char *root, const struct bs_pins *p, int *ret_r)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = live(root);
	struct bs_verify *v = NULL;

	*ret_r = bs_pins_verify(p, g, &v);
	ASSERT_NOTNULL(v);
	return v;
}

static bool refused_field(const struct bs_verify *v, const char *field)
{
	for (size_t i = 0; i < bs_verify_get_n_mismatches(v); i++)
		if (streq(bs_verify_get_field(v, i), field))
			return true;
	return false;
}

TEST(pinned_header_verifies)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = genuine(root);
	_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL;
	int r;

	v = verify(root, p, &r);
	ASSERT_OK(r);
	ASSERT_EQ(bs_verify_get_n_mismatches(v), 0u);
	ASSERT_EQ(bs_verify_get_n_checked(v), 1u);
}

TEST(keyslot_added_still_verifies)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = genuine(root);
	_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL;
	_cleanup_free_ char *path = image_path(root, "vdb");
	int r;

	add_keyslot(path, key_a, sizeof(key_a));
	v = verify(root, p, &r);
	ASSERT_OK(r);
	ASSERT_EQ(bs_verify_get_n_mismatches(v), 0u);
}

TEST(same_uuid_new_volume_key_refused_by_digest)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = genuine(root);
	_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL;
	_cleanup_free_ char *path = image_path(root, "vdb");
	int r;

	/* The attacker's header: same UUID, same cipher, another key. */
	luks_format(path, "aes", "xts-plain64", key_b, sizeof(key_b));
	v = verify(root, p, &r);
	ASSERT_ERR(r, -EKEYREJECTED);
	ASSERT_TRUE(refused_field(v, "digest"));
	ASSERT_STREQ(bs_verify_get_device(v, 0), "/dev/vdb");
	ASSERT_NOTNULL(strstr(bs_verify_get_message(v, 0), "run 'blkstack pin' again"));
	ASSERT_NOTNULL(strstr(bs_verify_get_message(v, 0), "pinned"));
}

TEST(cipher_null_refused)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = genuine(root);
	_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL;
	_cleanup_free_ char *path = image_path(root, "vdb");
	bool named = false;
	int r;

	luks1_cipher_null(path, key_a, sizeof(key_a));
	v = verify(root, p, &r);
	ASSERT_ERR(r, -EKEYREJECTED);
	ASSERT_TRUE(refused_field(v, "cipher"));
	for (size_t i = 0; i < bs_verify_get_n_mismatches(v); i++)
		named = named || (streq(bs_verify_get_found(v, i), "cipher_null") &&
				  strstr(bs_verify_get_message(v, i), "any passphrase opens it"));
	ASSERT_TRUE(named);
}

TEST(plaintext_where_luks_was_pinned_refused)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = genuine(root);
	_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL;
	_cleanup_free_ char *path = image_path(root, "vdb");
	int r;

	/* A plain file, which blkid says is ext4 with the LUKS UUID. */
	make_file(path, 8 << 20);
	sysfs_disk(root, "ext4", LUKS_UUID);
	v = verify(root, p, &r);
	ASSERT_ERR(r, -EKEYREJECTED);
	ASSERT_TRUE(refused_field(v, "type"));
	ASSERT_STREQ(bs_verify_get_expected(v, 0), "crypto_LUKS");
	ASSERT_STREQ(bs_verify_get_found(v, 0), "ext4");
	ASSERT_NOTNULL(strstr(bs_verify_get_message(v, 0), "plaintext"));
}

TEST(filesystem_pinned_inside_crypt_found_plaintext_refused)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = NULL;
	_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL;
	_cleanup_free_ char *file = NULL;
	int r;

	/* Pinned: root's filesystem, inside a crypt layer. */
	ASSERT_TRUE(asprintf(&file, "%s/pins.json", root) >= 0);
	test_write_file(root, "pins.json",
			"{\"version\":1,\"pins\":[{\"kind\":\"fs\",\"node\":\"crypt:root\","
			"\"encrypted\":true,\"fields\":{\"uuid\":\"" FS_UUID
			"\",\"type\":\"ext4\"}}]}\n");
	ASSERT_OK(bs_ctx_new(NULL, &c));
	ASSERT_OK(bs_pins_read(c, file, &p));
	/* Found: a plaintext disk that carries it. */
	sysfs_disk(root, "ext4", FS_UUID);
	v = verify(root, p, &r);
	ASSERT_ERR(r, -EKEYREJECTED);
	ASSERT_TRUE(refused_field(v, "encrypted"));
	ASSERT_NOTNULL(strstr(bs_verify_get_message(v, 0), "plaintext device where a crypt layer"));
}

TEST(pins_file_round_trip_and_strict_reader)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = genuine(root), *q = NULL;
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_free_ char *a = NULL, *b = NULL, *file = NULL;

	ASSERT_OK(bs_ctx_new(&(struct bs_ctx_opts){ .sysroot = root }, &c));
	ASSERT_OK(bs_pins_write(p, NULL));
	ASSERT_OK(bs_pins_read(c, NULL, &q));
	ASSERT_OK(bs_pins_to_json(p, &a));
	ASSERT_OK(bs_pins_to_json(q, &b));
	ASSERT_STREQ(a, b);
	ASSERT_TRUE(bs_pins_get_recorded(q, 0));
	q = bs_pins_unref(q);

	ASSERT_TRUE(asprintf(&file, "%s/bad.json", root) >= 0);
	test_write_file(root, "bad.json",
			"{\"version\":1,\"pins\":[{\"kind\":\"luks\",\"node\":\"x\","
			"\"fields\":{\"uuid\":\"u\"},\"hash\":\"h\"}]}");
	ASSERT_ERR(bs_pins_read(c, file, &q), -EBADMSG);
	test_write_file(root, "bad.json", "{\"version\":2,\"pins\":[]}");
	ASSERT_ERR(bs_pins_read(c, file, &q), -EBADMSG);
	test_write_file(root, "bad.json",
			"{\"version\":1,\"pins\":[{\"kind\":\"tpm\",\"node\":\"x\","
			"\"fields\":{\"uuid\":\"u\"}}]}");
	ASSERT_ERR(bs_pins_read(c, file, &q), -EBADMSG);
	ASSERT_ERR(bs_pins_read(c, "/nonexistent/pins.json", &q), -ENOENT);
}

TEST(manifest_round_trip_with_pins)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = genuine(root), *recorded = NULL,
						 *closure = NULL;
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	_cleanup_(bs_needs_unrefp) struct bs_needs *n = NULL;
	_cleanup_free_ char *m = NULL, *m_old = NULL, *a = NULL, *b = NULL;
	_cleanup_free_ char *gone = image_path(root, "vdb");
	struct bs_manifest_info *info = NULL;
	_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL;

	/* Root on the disk; the closure's pins, live. */
	test_write_file(root, "proc/self/mountinfo",
			"26 1 254:16 / / rw,relatime - ext4 /dev/vdb rw\n");
	ASSERT_OK(bs_ctx_new(&(struct bs_ctx_opts){ .sysroot = root }, &c));
	ASSERT_OK(bs_graph_load(c, &(struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL));
	ASSERT_OK(bs_needs_new(g, "/", NULL, NULL, &n));
	ASSERT_OK(bs_pins_new_for_needs(n, NULL, &closure));
	ASSERT_EQ(bs_pins_get_n(closure), 1u);
	ASSERT_OK(bs_needs_to_manifest_pinned(n, NULL, NULL, closure, &m));
	ASSERT_NOTNULL(strstr(m, "\"pins\""));
	test_write_file(root, "manifest.json", m);
	ASSERT_OK(bs_manifest_get_info(c, "manifest.json", &info));
	ASSERT_NOTNULL(info->pins);
	ASSERT_OK(bs_pins_to_json(closure, &a));
	ASSERT_OK(bs_pins_to_json(info->pins, &b));
	ASSERT_STREQ(a, b);
	/* What /init will do with them. */
	ASSERT_OK(bs_pins_verify(info->pins, g, &v));
	info = bs_manifest_info_free(info);

	/* A manifest without pins, as images built before them, still reads. */
	ASSERT_OK(bs_needs_to_manifest(n, NULL, NULL, &m_old));
	ASSERT_NULL(strstr(m_old, "\"pins\""));
	test_write_file(root, "manifest.json", m_old);
	ASSERT_OK(bs_manifest_get_info(c, "manifest.json", &info));
	ASSERT_NULL(info->pins);
	info = bs_manifest_info_free(info);

	/* A damaged pin damages the manifest: the reader is strict. */
	{
		char *at = strstr(m, "\"kind\": \"luks\"");

		ASSERT_NOTNULL(at);
		memcpy(at, "\"kind\": \"lukz\"", strlen("\"kind\": \"lukz\""));
		test_write_file(root, "manifest.json", m);
		ASSERT_ERR(bs_manifest_get_info(c, "manifest.json", &info), -EBADMSG);
	}

	/* The disk not there (an offline build): the pins file's pin is taken. */
	g = bs_graph_unref(g);
	n = bs_needs_unref(n);
	closure = bs_pins_unref(closure);
	ASSERT_OK(bs_pins_write(p, NULL));
	ASSERT_OK(bs_pins_read(c, NULL, &recorded));
	ASSERT_OK(bs_graph_load(c, &(struct bs_load_opts){ .flags = BS_LOAD_LIVE }, &g, NULL));
	ASSERT_OK(unlink(gone) == 0 ? 0 : -errno);
	ASSERT_OK(bs_needs_new(g, "/", NULL, NULL, &n));
	ASSERT_OK(bs_pins_new_for_needs(n, recorded, &closure));
	ASSERT_EQ(bs_pins_get_n(closure), 1u);
	ASSERT_TRUE(bs_pins_get_recorded(closure, 0));
	/* Without it, the crypt layer is unpinned, which initramfs refuses without --no-pins. */
	closure = bs_pins_unref(closure);
	ASSERT_OK(bs_pins_new_for_needs(n, NULL, &closure));
	ASSERT_EQ(bs_pins_get_n(closure), 0u);
	ASSERT_EQ(bs_pins_get_n_unpinned(closure), 1u);
	ASSERT_TRUE(bs_pins_is_crypt_unpinned(closure, g, 0));
}

/* 'blkstack pin' then 'blkstack verify', and exit code 6 for a forged header. */
TEST(cli_pin_and_verify)
{
	const char *root = test_tmpdir();
	_cleanup_free_ char *path = image_path(root, "vdb");
	struct test_cli_result r;

	/* The genuine header, pinned here by the command. */
	bs_pins_unref(genuine(root));
	r = TEST_RUN_CLI("--sysroot", root, "pin");
	ASSERT_EQ(r.exit_code, 0);
	ASSERT_NOTNULL(strstr(r.out, "pinned luks blk:vdb"));
	ASSERT_NOTNULL(strstr(r.out, "/var/lib/blkstack/pins.json"));
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("--sysroot", root, "verify");
	ASSERT_EQ(r.exit_code, 0);
	ASSERT_NOTNULL(strstr(r.out, "verified 1 devices"));
	test_cli_result_done(&r);

	luks_format(path, "aes", "xts-plain64", key_b, sizeof(key_b));
	r = TEST_RUN_CLI("--sysroot", root, "verify");
	ASSERT_EQ(r.exit_code, 6);
	ASSERT_NOTNULL(strstr(r.err, "'/dev/vdb'"));
	ASSERT_NOTNULL(strstr(r.err, "digest"));
	ASSERT_NOTNULL(strstr(r.err, "run 'blkstack pin' again"));
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("--sysroot", root, "verify", "--json");
	ASSERT_EQ(r.exit_code, 6);
	ASSERT_NOTNULL(strstr(r.out, "\"field\": \"digest\""));
	test_cli_result_done(&r);
}

/* ---- md, LVM and filesystems, on the captured fixtures and on small trees -------------------- */

static struct bs_pins *pins_of_fixture(const char *name, struct bs_graph **ret_g)
{
	_cleanup_free_ char *dir = test_fixture(name);
	struct bs_pins *p = NULL;

	*ret_g = live(dir);
	ASSERT_OK(bs_pins_new(*ret_g, NULL, &p));
	return p;
}

static size_t count_kind(const struct bs_pins *p, const char *kind)
{
	size_t n = 0;

	for (size_t i = 0; i < bs_pins_get_n(p); i++)
		n += streq(bs_pins_get_kind(p, i), kind);
	return n;
}

/* The genuine machine passes: pinned with its stack up, verified with the stack up and with
 * it closed (the disks fixture of the same machine). No LUKS header can be read from a
 * captured tree: those are unpinned, and said so. */
TEST(fixtures_verify_against_their_own_pins)
{
	static const char *const machines[] = { "ps1-raid6-lvm-crypt", "ps2-raid5-crypt-lvm",
						"ps3-crypt-raid10-lvm", "btrfs-2crypt",
						"lvm-swap-loop" };

	for (size_t m = 0; m < ELEMENTSOF(machines); m++) {
		_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL, *closed = NULL;
		_cleanup_(bs_pins_unrefp) struct bs_pins *p = NULL;
		_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL, *w = NULL;
		_cleanup_free_ char *up = NULL, *down = NULL, *dir = NULL;

		ASSERT_TRUE(asprintf(&up, "%s-assembled", machines[m]) >= 0);
		ASSERT_TRUE(asprintf(&down, "%s-disks", machines[m]) >= 0);
		p = pins_of_fixture(up, &g);
		ASSERT_TRUE(count_kind(p, "fs") > 0);
		if (!streq(machines[m], "btrfs-2crypt"))
			ASSERT_TRUE(count_kind(p, "vg") > 0);
		if (startswith(machines[m], "ps"))
			ASSERT_EQ(count_kind(p, "md"), 1u);
		ASSERT_OK(bs_pins_verify(p, g, &v));
		ASSERT_EQ(bs_verify_get_n_mismatches(v), 0u);
		dir = test_fixture(down);
		closed = live(dir);
		ASSERT_OK(bs_pins_verify(p, closed, &w));
		ASSERT_EQ(bs_verify_get_n_mismatches(w), 0u);
	}
}

/* Pins of the md array of ps1: its uuid, level and members, none inside a crypt layer. */
TEST(md_pin_of_a_fixture)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	_cleanup_(bs_pins_unrefp) struct bs_pins *p =
		pins_of_fixture("ps1-raid6-lvm-crypt-assembled", &g);
	_cleanup_free_ char *json = NULL;

	for (size_t i = 0; i < bs_pins_get_n(p); i++) {
		if (!streq(bs_pins_get_kind(p, i), "md"))
			continue;
		ASSERT_STREQ(bs_pins_get_field(p, i, "level"), "raid6");
		ASSERT_NOTNULL(bs_pins_get_field(p, i, "uuid"));
	}
	ASSERT_OK(bs_pins_to_json(p, &json));
	/* Four members of a RAID6, each by its device UUID. */
	ASSERT_NOTNULL(strstr(json, "\"members\""));
}

/* a and b joined, in a buffer of the test (cleared at each call, one use at a time). */
static const char *strjoin2(const char *a, const char *b)
{
	static char buf[256];

	ASSERT_TRUE(snprintf(buf, sizeof(buf), "%s%s", a, b) < (int)sizeof(buf));
	return buf;
}

/* Three disks that carry the md superblock of one array, as blkid reports them. */
static void md_disks(const char *root, const char *const subs[3])
{
	static const char *const names[] = { "vdb", "vdc", "vdd" };
	_cleanup_free_ char *tab = NULL;

	for (size_t i = 0; i < 3; i++) {
		char path[128], dev[16], link[128], line[256];

		snprintf(path, sizeof(path), "sys/devices/platform/virtio%zu/block/%s", i + 1,
			 names[i]);
		snprintf(dev, sizeof(dev), "254:%zu\n", 16 * (i + 1));
		test_write_file(root, strjoin2(path, "/size"), "16384\n");
		test_write_file(root, strjoin2(path, "/dev"), dev);
		test_mkdir_p(root, strjoin2(path, "/holders"));
		test_mkdir_p(root, strjoin2(path, "/slaves"));
		snprintf(link, sizeof(link), "../../%s", path + strlen("sys/"));
		snprintf(line, sizeof(line), "sys/class/block/%s", names[i]);
		test_symlink(root, line, link);
		if (!subs[i])
			continue;
		snprintf(
			line, sizeof(line),
			"<device TYPE=\"linux_raid_member\" UUID=\"11111111-2222-3333-4444-555555555555\" "
			"UUID_SUB=\"%s\">/dev/%s</device>\n",
			subs[i], names[i]);
		ASSERT_OK(strextend(&tab, line, NULL));
	}
	test_write_file(root, "run/blkid/blkid.tab", strempty(tab));
	test_write_file(root, "proc/self/mountinfo", "");
}

static const char md_pins[] =
	"{\"version\":1,\"pins\":[{\"kind\":\"md\",\"node\":\"md:sys\",\"encrypted\":false,"
	"\"fields\":{\"uuid\":\"11111111:22223333:44445555:55555555\",\"level\":\"raid1\"},"
	"\"members\":[{\"uuid\":\"aaaaaaaa-0000-0000-0000-000000000001\",\"encrypted\":false},"
	"{\"uuid\":\"aaaaaaaa-0000-0000-0000-000000000002\",\"encrypted\":false}]}]}\n";

static struct bs_verify *verify_with(const char *root, const char *pins_json, int *ret_r)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_pins_unrefp) struct bs_pins *p = NULL;

	test_write_file(root, "var/lib/blkstack/pins.json", pins_json);
	ASSERT_OK(bs_ctx_new(&(struct bs_ctx_opts){ .sysroot = root }, &c));
	ASSERT_OK(bs_pins_read(c, NULL, &p));
	return verify(root, p, ret_r);
}

TEST(md_members_as_pinned_verify)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL;
	int r;

	md_disks(root, (const char *const[]){ "aaaaaaaa-0000-0000-0000-000000000001",
					      "aaaaaaaa-0000-0000-0000-000000000002", NULL });
	v = verify_with(root, md_pins, &r);
	ASSERT_OK(r);
	ASSERT_EQ(bs_verify_get_n_checked(v), 2u);
}

TEST(unexpected_md_member_refused)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL;
	int r;

	/* A foreign device with the array's uuid in place of the second member. */
	md_disks(root, (const char *const[]){ "aaaaaaaa-0000-0000-0000-000000000001",
					      "bbbbbbbb-0000-0000-0000-000000000009", NULL });
	v = verify_with(root, md_pins, &r);
	ASSERT_ERR(r, -EKEYREJECTED);
	ASSERT_EQ(bs_verify_get_n_mismatches(v), 1u);
	ASSERT_STREQ(bs_verify_get_field(v, 0), "member");
	ASSERT_STREQ(bs_verify_get_device(v, 0), "/dev/vdc");
	ASSERT_NOTNULL(strstr(bs_verify_get_message(v, 0), "unexpected member"));
}

TEST(duplicate_md_member_refused)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL;
	int r;

	md_disks(root, (const char *const[]){ "aaaaaaaa-0000-0000-0000-000000000001",
					      "aaaaaaaa-0000-0000-0000-000000000002",
					      "aaaaaaaa-0000-0000-0000-000000000002" });
	v = verify_with(root, md_pins, &r);
	ASSERT_ERR(r, -EKEYREJECTED);
	ASSERT_EQ(bs_verify_get_n_mismatches(v), 1u);
	ASSERT_STREQ(bs_verify_get_field(v, 0), "member");
	ASSERT_NOTNULL(strstr(bs_verify_get_found(v, 0), "/dev/vdc, /dev/vdd"));
}

TEST(duplicate_pv_refused)
{
	const char *root = test_tmpdir();
	_cleanup_(bs_verify_unrefp) struct bs_verify *v = NULL;
	int r;

	md_disks(root, (const char *const[]){ NULL, NULL, NULL });
	test_write_file(root, "run/blkid/blkid.tab",
			"<device TYPE=\"LVM2_member\" UUID=\"pv-a\">/dev/vdb</device>\n"
			"<device TYPE=\"LVM2_member\" UUID=\"pv-b\">/dev/vdc</device>\n"
			"<device TYPE=\"LVM2_member\" UUID=\"pv-b\">/dev/vdd</device>\n");
	v = verify_with(root,
			"{\"version\":1,\"pins\":[{\"kind\":\"vg\",\"node\":\"vg:vg0\","
			"\"fields\":{\"uuid\":\"vg-uuid\"},\"members\":[{\"uuid\":\"pv-a\","
			"\"encrypted\":false},{\"uuid\":\"pv-b\",\"encrypted\":false}]}]}\n",
			&r);
	ASSERT_ERR(r, -EKEYREJECTED);
	ASSERT_EQ(bs_verify_get_n_mismatches(v), 1u);
	ASSERT_STREQ(bs_verify_get_field(v, 0), "pv");
	ASSERT_STREQ(bs_verify_get_expected(v, 0), "pv-b");
}
