/* Unit tests of the kernel module resolution (src/lib/image/modules.c): on the synthetic
 * module tree that make-kmod-tree.sh builds (BLKSTACK_KMOD_TREE), and on the Debian kernel
 * that the VM tier caches, when it is there. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkstack.h"
#include "image/modules.h"
#include "strv.h"
#include "tests.h"
#include "util.h"

#define KVER "0.0.0-test"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)

/* The messages of the context, at LOG_ERR and above, for the tests of errors. */
static char log_text[8192];

_printf_(6, 0) static void capture_log(void *userdata, int priority, const char *file, int line,
				       const char *fn, const char *format, va_list args)
{
	size_t len = strlen(log_text);

	(void)userdata;
	(void)file;
	(void)line;
	(void)fn;
	if (priority > LOG_ERR || len + 2 >= sizeof(log_text))
		return;
	vsnprintf(log_text + len, sizeof(log_text) - len - 1, format, args);
	strcat(log_text, "\n");
}

static struct bs_ctx *new_ctx(const char *root)
{
	struct bs_ctx_opts opts = { .sysroot = root };
	struct bs_ctx *c = NULL;

	ASSERT_OK(bs_ctx_new(&opts, &c));
	log_text[0] = '\0';
	bs_ctx_set_log_fn(c, capture_log, NULL);
	return c;
}

static const char *kmod_tree(void)
{
	const char *tree = getenv("BLKSTACK_KMOD_TREE");

	if (!tree || tree[0] == '\0')
		SKIP("BLKSTACK_KMOD_TREE is unset: the build found no depmod (package kmod)");
	return tree;
}

/* A copy of the synthetic tree, to add sys/ or more kernels to. */
static const char *kmod_tree_copy(void)
{
	const char *tree = kmod_tree(), *tmp = test_tmpdir();
	_cleanup_free_ char *cmd = NULL;

	ASSERT_TRUE(asprintf(&cmd, "cp -a '%s/lib' '%s/'", tree, tmp) >= 0);
	ASSERT_EQ(system(cmd), 0);
	return tmp;
}

/* The load order as one string, "a b c", for comparisons that show the whole order. */
static char *order_of(struct bs_modules *m)
{
	_cleanup_strv_free_ char **names = NULL;
	char *s = NULL;
	int n = bs_modules_resolve(m);

	ASSERT_OK(n);
	for (int i = 0; i < n; i++)
		ASSERT_OK(strv_extend(&names, bs_modules_get(m, (size_t)i)->name));
	ASSERT_OK(strv_join(names, " ", &s));
	return s;
}

static const struct bs_module *find(struct bs_modules *m, const char *name)
{
	int n = bs_modules_resolve(m);

	for (int i = 0; i < n; i++)
		if (streq(bs_modules_get(m, (size_t)i)->name, name))
			return bs_modules_get(m, (size_t)i);
	return NULL;
}

static int position(struct bs_modules *m, const char *name)
{
	int n = bs_modules_resolve(m);

	for (int i = 0; i < n; i++)
		if (streq(bs_modules_get(m, (size_t)i)->name, name))
			return i;
	return -1;
}

TEST(version_is_the_only_one_below_the_sysroot)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(kmod_tree());
	_cleanup_modules_free_ struct bs_modules *m = NULL;

	ASSERT_OK(bs_modules_new(c, NULL, &m));
	ASSERT_STREQ(bs_modules_kernel_version(m), KVER);
	ASSERT_EQ(bs_modules_resolve(m), 0);
	ASSERT_NULL(bs_modules_get(m, 0));
}

TEST(version_several_none_or_not_indexed)
{
	const char *root = kmod_tree_copy();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *empty = NULL;
	_cleanup_free_ char *none = NULL;
	struct bs_modules *m = NULL;

	test_write_file(root, "lib/modules/6.1.0-9-amd64/kernel/fs/ext4/ext4.ko", "");
	c = new_ctx(root);
	ASSERT_ERR(bs_modules_new(c, NULL, &m), -EINVAL);
	ASSERT_NULL(m);
	ASSERT_TRUE(strstr(log_text, "0.0.0-test, 6.1.0-9-amd64") != NULL);

	/* Named, it is found; without depmod's indexes it is of no use. */
	ASSERT_OK(bs_modules_new(c, KVER, &m));
	m = bs_modules_free(m);
	log_text[0] = '\0';
	ASSERT_ERR(bs_modules_new(c, "6.1.0-9-amd64", &m), -ENOENT);
	ASSERT_TRUE(strstr(log_text, "depmod -b") != NULL);
	ASSERT_ERR(bs_modules_new(c, "../..", &m), -EINVAL);

	ASSERT_TRUE(asprintf(&none, "%s/none", root) >= 0);
	test_mkdir_p(root, "none/lib/modules");
	empty = new_ctx(none);
	ASSERT_ERR(bs_modules_new(empty, NULL, &m), -ENOENT);
	ASSERT_TRUE(strstr(log_text, "no kernel") != NULL);
}

TEST(filesystem_with_dependencies_and_softdeps_first)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(kmod_tree());
	_cleanup_modules_free_ struct bs_modules *m = NULL;
	_cleanup_free_ char *order = NULL;
	const struct bs_module *mod;

	ASSERT_OK(bs_modules_new(c, NULL, &m));
	ASSERT_EQ(bs_modules_want_filesystem(m, "ext4", "filesystem of /"), 1);
	ASSERT_EQ(bs_modules_resolve(m), 5);
	order = order_of(m);
	/* crc32c is ext4's softdep (pre: crypto-crc32c), which modules.dep does not have. */
	ASSERT_STREQ(order, "crc32c_generic mbcache jbd2 crc16 ext4");

	mod = find(m, "ext4");
	ASSERT_STREQ(mod->relpath, "kernel/fs/ext4/ext4.ko");
	ASSERT_TRUE(strstr(mod->path, "/lib/modules/" KVER "/kernel/fs/ext4/ext4.ko") != NULL);
	ASSERT_FALSE(mod->builtin);
	ASSERT_TRUE(mod->size > 0);
	ASSERT_STREQ(mod->why, "fs-ext4 (filesystem of /)");
	ASSERT_STREQ(find(m, "jbd2")->why, "needed by ext4");
	ASSERT_STREQ(find(m, "crc32c_generic")->why, "softdep of ext4");
	/* Compressed as distributions ship them. */
	ASSERT_TRUE(startswith(find(m, "mbcache")->relpath, "kernel/fs/mbcache.ko"));

	/* Nothing to load for these. */
	ASSERT_EQ(bs_modules_want_filesystem(m, "swap", "swap"), 0);
	ASSERT_EQ(bs_modules_want_filesystem(m, "tmpfs", "/tmp"), 0);
	ASSERT_ERR(bs_modules_want_filesystem(m, "", "x"), -EINVAL);
}

TEST(md_level_with_softdep_of_a_dependency)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(kmod_tree());
	_cleanup_modules_free_ struct bs_modules *m = NULL;
	_cleanup_free_ char *order = NULL;

	ASSERT_OK(bs_modules_new(c, NULL, &m));
	ASSERT_EQ(bs_modules_want_md_level(m, "raid6", "md127"), 2);
	order = order_of(m);
	ASSERT_STREQ(order,
		     "md_mod async_tx xor async_xor crc32c_generic libcrc32c raid6_pq raid456");
	ASSERT_STREQ(find(m, "raid456")->why, "md-raid6 (md127)");
	ASSERT_STREQ(find(m, "md_mod")->why, "md_mod (md127)");

	/* "6" is asked for as md-level-6 when md-raid6 has nothing. */
	ASSERT_EQ(bs_modules_want_md_level(m, "1", "md1"), 2);
	ASSERT_TRUE(find(m, "raid1") != NULL);
	ASSERT_EQ(bs_modules_want_md_level(m, "container", "imsm"), 1);
	ASSERT_ERR(bs_modules_want_md_level(m, "raid10", "md2"), -ENOENT);
	ASSERT_TRUE(strstr(log_text, "md-raid10") == NULL);
	ASSERT_TRUE(strstr(log_text, "md-level-10") != NULL);
	ASSERT_TRUE(strstr(log_text, "md2") != NULL);
}

TEST(dm_targets)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(kmod_tree());
	_cleanup_modules_free_ struct bs_modules *m = NULL;
	_cleanup_free_ char *order = NULL;

	ASSERT_OK(bs_modules_new(c, NULL, &m));
	/* Part of dm-mod. */
	ASSERT_EQ(bs_modules_want_dm_target(m, "linear", "vg-root"), 1);
	ASSERT_EQ(bs_modules_want_dm_target(m, "striped", "vg-srv"), 1);
	ASSERT_EQ(bs_modules_want_dm_target(m, "crypt", "cryptroot"), 2);
	order = order_of(m);
	ASSERT_STREQ(order, "dm_mod dm_crypt");
	ASSERT_ERR(bs_modules_want_dm_target(m, "thin", "pool"), -ENOENT);
	ASSERT_TRUE(strstr(log_text, "'dm-thin-pool' (wanted for pool)") != NULL);
}

TEST(ciphers_hashes_and_builtins)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(kmod_tree());
	_cleanup_modules_free_ struct bs_modules *m = NULL;
	_cleanup_free_ char *order = NULL;
	const struct bs_module *mod;

	ASSERT_OK(bs_modules_new(c, NULL, &m));
	/* crypto-xts(aes) and crypto-aes are both aesni_intel, crypto-xts is xts. */
	ASSERT_EQ(bs_modules_want_cipher(m, "aes-xts-plain64", "cryptroot"), 3);
	order = order_of(m);
	ASSERT_STREQ(order, "crypto_simd aesni_intel xts");
	ASSERT_STREQ(find(m, "aesni_intel")->why,
		     "crypto-xts(aes) (cryptroot); crypto-aes (cryptroot)");

	/* cbc and sha256_generic are built in: satisfied, without a file. */
	ASSERT_EQ(bs_modules_want_cipher(m, "aes-cbc-essiv:sha256", "old"), 4);
	mod = find(m, "cbc");
	ASSERT_NOTNULL(mod);
	ASSERT_TRUE(mod->builtin);
	ASSERT_NULL(mod->relpath);
	ASSERT_NULL(mod->path);
	ASSERT_EQ(mod->size, 0);
	ASSERT_TRUE(find(m, "essiv") != NULL);
	ASSERT_TRUE(find(m, "sha256_generic")->builtin);

	ASSERT_EQ(bs_modules_want_hash(m, "sha256", "luks digest"), 1);
	ASSERT_EQ(bs_modules_want_hash(m, "argon2id", "keyslot"), 0);
	ASSERT_EQ(bs_modules_want_name(m, "loop", "loop0"), 1);
	ASSERT_TRUE(find(m, "loop")->builtin);

	/* The kernel crypto API's own names; a bare cipher is cbc-plain. */
	ASSERT_EQ(bs_modules_want_cipher(m, "capi:xts(aes)-plain64", "capi"), 2);
	ASSERT_EQ(bs_modules_want_cipher(m, "aes", "plain"), 2);
	ASSERT_EQ(bs_modules_want_cipher(m, "aes:64-xts-plain64", "keycount"), 3);

	ASSERT_ERR(bs_modules_want_cipher(m, "aes-xts-bogus", "x"), -EINVAL);
	ASSERT_TRUE(strstr(log_text, "bogus") != NULL);
	ASSERT_ERR(bs_modules_want_cipher(m, "twofish-xts-plain64", "cryptsrv"), -ENOENT);
	ASSERT_TRUE(strstr(log_text, "no module for 'crypto-twofish' (wanted for cryptsrv)") !=
		    NULL);
	ASSERT_ERR(bs_modules_want_cipher(m, "-xts", "x"), -EINVAL);
}

TEST(unresolvable_requests_name_the_alias_and_why)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(kmod_tree());
	_cleanup_modules_free_ struct bs_modules *m = NULL;

	ASSERT_OK(bs_modules_new(c, NULL, &m));
	ASSERT_ERR(bs_modules_want_alias(m, "fs-nope", "filesystem of /srv"), -ENOENT);
	ASSERT_TRUE(strstr(log_text, "'fs-nope' (wanted for filesystem of /srv)") != NULL);
	ASSERT_ERR(bs_modules_want_name(m, "virtio:d00000002v00001AF4", "a name, not an alias"),
		   -ENOENT);

	/* In modules.alias and modules.dep, but its file is gone. */
	log_text[0] = '\0';
	ASSERT_ERR(bs_modules_want_filesystem(m, "gone", "/gone"), -ENOENT);
	ASSERT_TRUE(strstr(log_text, "module gone") != NULL);
	ASSERT_TRUE(strstr(log_text, "/gone") != NULL);
	ASSERT_ERR(bs_modules_want_alias(m, "", "x"), -EINVAL);

	/* What failed added nothing. */
	ASSERT_EQ(bs_modules_resolve(m), 0);
}

TEST(softdep_cycle_and_post_softdeps)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(kmod_tree());
	_cleanup_modules_free_ struct bs_modules *m = NULL;
	_cleanup_free_ char *order = NULL;

	ASSERT_OK(bs_modules_new(c, NULL, &m));
	ASSERT_EQ(bs_modules_want_name(m, "cyc_a", "cycle"), 1);
	ASSERT_EQ(bs_modules_want_name(m, "postmod", "post"), 1);
	order = order_of(m);
	/* post: comes after the module. */
	ASSERT_STREQ(order, "cyc_b cyc_a postmod crc16");
	ASSERT_STREQ(find(m, "crc16")->why, "softdep (post) of postmod");
}

TEST(order_does_not_depend_on_the_order_of_requests)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(kmod_tree());
	_cleanup_modules_free_ struct bs_modules *a = NULL, *b = NULL;
	_cleanup_free_ char *order_a = NULL, *order_b = NULL;

	ASSERT_OK(bs_modules_new(c, NULL, &a));
	ASSERT_OK(bs_modules_new(c, NULL, &b));
	ASSERT_OK(bs_modules_want_filesystem(a, "ext4", "/"));
	ASSERT_OK(bs_modules_want_md_level(a, "raid6", "md127"));
	ASSERT_OK(bs_modules_want_dm_target(a, "crypt", "cryptroot"));
	ASSERT_OK(bs_modules_want_dm_target(b, "crypt", "cryptroot"));
	ASSERT_OK(bs_modules_want_md_level(b, "raid6", "md127"));
	ASSERT_OK(bs_modules_want_filesystem(b, "ext4", "/"));
	order_a = order_of(a);
	order_b = order_of(b);
	ASSERT_STREQ(order_a, order_b);
	/* Every module after what it needs. */
	ASSERT_TRUE(position(a, "crc32c_generic") < position(a, "libcrc32c"));
	ASSERT_TRUE(position(a, "libcrc32c") < position(a, "raid456"));
	ASSERT_TRUE(position(a, "dm_mod") < position(a, "dm_crypt"));
	ASSERT_TRUE(position(a, "jbd2") < position(a, "ext4"));
	/* Asked for again later, the order is computed again. */
	ASSERT_OK(bs_modules_want_name(a, "nbd", "nbd0"));
	ASSERT_TRUE(find(a, "nbd") != NULL);
}

TEST(files_for_an_image)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(kmod_tree());
	_cleanup_modules_free_ struct bs_modules *m = NULL;
	_cleanup_strv_free_ char **files = NULL;

	ASSERT_OK(bs_modules_new(c, NULL, &m));
	ASSERT_OK(bs_modules_want_filesystem(m, "ext4", "/"));
	ASSERT_OK(bs_modules_want_name(m, "loop", "loop0"));
	ASSERT_OK(bs_modules_files(m, &files));
	ASSERT_STREQ(files[0], "lib/modules/" KVER "/kernel/crypto/crc32c_generic.ko");
	ASSERT_TRUE(startswith(files[1], "lib/modules/" KVER "/kernel/fs/mbcache.ko"));
	ASSERT_STREQ(files[4], "lib/modules/" KVER "/kernel/fs/ext4/ext4.ko");
	/* loop is built in: no file; the indexes follow the modules. */
	ASSERT_STREQ(files[5], "lib/modules/" KVER "/modules.dep");
	ASSERT_TRUE(strv_contains(files, "lib/modules/" KVER "/modules.dep.bin"));
	ASSERT_TRUE(strv_contains(files, "lib/modules/" KVER "/modules.alias.bin"));
	ASSERT_TRUE(strv_contains(files, "lib/modules/" KVER "/modules.softdep"));
	ASSERT_TRUE(strv_contains(files, "lib/modules/" KVER "/modules.builtin.bin"));
	ASSERT_TRUE(strv_contains(files, "lib/modules/" KVER "/modules.builtin.alias.bin"));
	ASSERT_TRUE(strv_contains(files, "lib/modules/" KVER "/modules.order"));
	ASSERT_TRUE(strv_contains(files, "lib/modules/" KVER "/modules.symbols.bin"));
	for (char **f = files; *f; f++)
		ASSERT_FALSE(strstr(*f, "loop") != NULL);
}

/* A virtio disk on its PCI function, and a SATA disk on AHCI, as sysfs shows them. */
static void make_sys(const char *root)
{
	test_write_file(root, "sys/devices/pci0000:00/0000:00:04.0/modalias",
			"pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00\n");
	test_write_file(root, "sys/devices/pci0000:00/0000:00:04.0/virtio1/modalias",
			"virtio:d00000002v00001AF4\n");
	test_write_file(root, "sys/devices/pci0000:00/0000:00:04.0/virtio1/block/vda/size", "8\n");
	test_symlink(root, "sys/class/block/vda",
		     "../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda");

	test_write_file(root, "sys/devices/pci0000:00/0000:00:1f.2/modalias",
			"pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01\n");
	test_write_file(
		root, "sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/modalias",
		"scsi:t-0x00\n");
	test_write_file(root,
			"sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/"
			"block/sda/sda1/partition",
			"1\n");
	test_symlink(root, "sys/class/block/sda1",
		     "../../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/"
		     "block/sda/sda1");
	/* A bus with no module for it. */
	test_write_file(root, "sys/devices/platform/x/modalias", "platform:x\n");
	test_write_file(root, "sys/devices/platform/x/block/xda/size", "8\n");
	test_symlink(root, "sys/class/block/xda", "../../devices/platform/x/block/xda");
}

TEST(device_drivers_from_modaliases)
{
	const char *root = kmod_tree_copy();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_modules_free_ struct bs_modules *m = NULL;
	_cleanup_free_ char *order = NULL;

	make_sys(root);
	c = new_ctx(root);
	ASSERT_OK(bs_modules_new(c, NULL, &m));
	ASSERT_EQ(bs_modules_want_device(m, "vda", "disk"), 2);
	ASSERT_EQ(bs_modules_want_device(m, "sda1", "disk"), 2);
	ASSERT_EQ(bs_modules_want_device(m, "xda", "disk"), 0);
	order = order_of(m);
	ASSERT_STREQ(order, "ahci sd_mod virtio_ring virtio virtio_blk virtio_pci");
	ASSERT_STREQ(find(m, "virtio_blk")->why, "virtio:d00000002v00001AF4 (disk of vda)");
	ASSERT_ERR(bs_modules_want_device(m, "vdz", "disk"), -ENOENT);
	ASSERT_TRUE(strstr(log_text, "vdz") != NULL);
	ASSERT_ERR(bs_modules_want_device(m, "../x", "disk"), -EINVAL);
}

/* The disks of a captured fixture, on the synthetic kernel: the virtio devices' modaliases
 * (the capture has none for their PCI functions); virtual devices have no driver. */
TEST(device_drivers_of_a_captured_fixture)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	const char *tree = kmod_tree();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_modules_free_ struct bs_modules *m = NULL;
	_cleanup_free_ char *cmd = NULL, *order = NULL;

	ASSERT_TRUE(asprintf(&cmd, "cp -a '%s/lib' '%s/'", tree, root) >= 0);
	ASSERT_EQ(system(cmd), 0);
	c = new_ctx(root);
	ASSERT_OK(bs_modules_new(c, NULL, &m));
	ASSERT_EQ(bs_modules_want_device(m, "vda", "raid6 member"), 1);
	ASSERT_EQ(bs_modules_want_device(m, "vdd", "raid6 member"), 1);
	ASSERT_EQ(bs_modules_want_device(m, "md127", "pv"), 0);
	ASSERT_EQ(bs_modules_want_device(m, "dm-0", "root"), 0);
	order = order_of(m);
	ASSERT_STREQ(order, "virtio_ring virtio virtio_blk");
	ASSERT_STREQ(find(m, "virtio_blk")->why, "virtio:d00000002v00001AF4 (raid6 member of vda); "
						 "virtio:d00000002v00001AF4 (raid6 member of vdd)");
}

/* The Debian kernel the VM tier caches: $BLKSTACK_VM_CACHE/kernel/ *, else .cache/vm/ in the
 * source tree. */
static char *cached_kernel_root(void)
{
	const char *cache = getenv("BLKSTACK_VM_CACHE");
	const char *top = getenv("BLKSTACK_SOURCE_ROOT");
	_cleanup_free_ char *pattern = NULL;
	glob_t g = {};
	char *root = NULL;

	if (cache && cache[0])
		ASSERT_TRUE(asprintf(&pattern, "%s/kernel/*/root/lib/modules/*/modules.dep.bin",
				     cache) >= 0);
	else if (top && top[0])
		ASSERT_TRUE(asprintf(&pattern,
				     "%s/.cache/vm/kernel/*/root/lib/modules/*/modules.dep.bin",
				     top) >= 0);
	else
		return NULL;
	if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
		/* The newest, as tests/vm/lib.sh picks it. */
		char *p = strdup(g.gl_pathv[g.gl_pathc - 1]);
		char *lib;

		ASSERT_NOTNULL(p);
		lib = strstr(p, "/root/lib/modules/");
		ASSERT_NOTNULL(lib);
		lib[strlen("/root")] = '\0';
		root = p;
	}
	globfree(&g);
	return root;
}

TEST(debian_kernel_raid6_lvm_luks2_ext4_on_virtio)
{
	_cleanup_free_ char *root = cached_kernel_root();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_modules_free_ struct bs_modules *m = NULL;
	_cleanup_strv_free_ char **files = NULL;
	static const char *const expected[] = {
		"virtio_blk",	"virtio_pci",	"virtio",
		"virtio_ring",	"raid456",	"raid6_pq",
		"xor",		"async_tx",	"async_xor",
		"async_pq",	"async_memcpy", "async_raid6_recov",
		"md_mod",	"libcrc32c",	"crc32c_generic",
		"crc32c_intel", "dm_mod",	"dm_crypt",
		"aesni_intel",	"xts",		"ext4",
		"jbd2",		"mbcache",	"crc16",
	};
	uint64_t total = 0;
	int n;

	if (!root)
		SKIP("no cached VM kernel (set BLKSTACK_VM_CACHE, or run tests/vm/fetch-kernel)");
	c = new_ctx(root);
	ASSERT_OK(bs_modules_new(c, NULL, &m));

	/* Four virtio disks as QEMU presents them: the virtio device and its PCI function. */
	ASSERT_OK(bs_modules_want_alias(m, "virtio:d00000002v00001AF4", "disk vda"));
	ASSERT_OK(bs_modules_want_alias(m, "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00",
					"disk vda"));
	ASSERT_OK(bs_modules_want_md_level(m, "raid6", "md127"));
	ASSERT_OK(bs_modules_want_dm_target(m, "linear", "vg-root"));
	ASSERT_OK(bs_modules_want_dm_target(m, "crypt", "cryptroot"));
	ASSERT_OK(bs_modules_want_cipher(m, "aes-xts-plain64", "cryptroot"));
	ASSERT_OK(bs_modules_want_hash(m, "sha256", "cryptroot"));
	ASSERT_OK(bs_modules_want_hash(m, "argon2id", "cryptroot"));
	ASSERT_OK(bs_modules_want_filesystem(m, "ext4", "/"));

	n = bs_modules_resolve(m);
	ASSERT_OK(n);
	for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
		if (!find(m, expected[i]))
			test_fail(TEST_FILE, __LINE__, "%s missing", expected[i]);
	}
	ASSERT_TRUE(position(m, "raid6_pq") < position(m, "raid456"));
	ASSERT_TRUE(position(m, "crc32c_generic") < position(m, "libcrc32c"));
	ASSERT_TRUE(position(m, "crc32c_intel") < position(m, "ext4"));
	ASSERT_TRUE(position(m, "dm_mod") < position(m, "dm_crypt"));
	ASSERT_TRUE(position(m, "virtio_ring") < position(m, "virtio_blk"));

	for (int i = 0; i < n; i++) {
		const struct bs_module *mod = bs_modules_get(m, (size_t)i);

		printf("%2d %-20s %8" PRIu64 " %s  [%s]\n", i + 1, mod->name, mod->size,
		       mod->builtin ? "(built in)" : mod->relpath, mod->why);
		total += mod->size;
	}
	ASSERT_OK(bs_modules_files(m, &files));
	printf("%d modules, %" PRIu64 " bytes of .ko files, %zu files for the image\n", n, total,
	       strv_length(files));
}
