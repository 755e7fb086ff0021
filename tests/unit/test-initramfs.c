/* Unit tests of the initramfs builder (src/lib/initramfs.c) and 'blkstack initramfs': only
 * what the root set needs, with its reasons, reproducibly, on sysroots assembled here. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blkstack.h"
#include "build-config.h"
#include "exit-code.h"
#include "graph.h"
#include "image/elf-deps.h"
#include "macro.h"
#include "strv.h"
#include "tests.h"
#include "util.h"

#define KVER "0.0.0-test"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_needs *, bs_needs_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_initramfs *, bs_initramfs_unref)

/* ---- sysroots ---------------------------------------------------------------------------- */

static void run(const char *fmt, ...) _printf_(1, 2);
static void run(const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	va_list ap;

	va_start(ap, fmt);
	ASSERT_TRUE(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	ASSERT_EQ(system(cmd), 0);
}

static bool exists(const char *dir, const char *relpath)
{
	_cleanup_free_ char *p = NULL;
	struct stat st;

	ASSERT_TRUE(asprintf(&p, "%s/%s", dir, relpath) >= 0);
	return lstat(p, &st) >= 0;
}

/*
 * Installs the host's ELF program src into dir at dest (NULL: where the host has it, through
 * the same symlinks), with its interpreter and libraries at the host's paths and the symlinks
 * met on the way reproduced: a sysroot laid out as this host is, whose binaries are real.
 */
static void install_elf(const char *dir, const char *src, const char *dest)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;
	struct bs_ctx_opts o = {};

	if (access(src, X_OK) < 0)
		SKIP("no %s on this host", src);
	ASSERT_OK(bs_ctx_new(&o, &c));
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	ASSERT_OK(bs_elf_closure_add(cl, src, "test"));
	for (size_t i = 0; i < bs_elf_closure_n_links(cl); i++) {
		const struct bs_elf_link *l = bs_elf_closure_link(cl, i);

		if (dest && streq(l->path, src))
			continue;
		if (!exists(dir, l->path + 1))
			test_symlink(dir, l->path + 1, l->target);
	}
	for (size_t i = 0; i < bs_elf_closure_n_entries(cl); i++) {
		const struct bs_elf_entry *e = bs_elf_closure_entry(cl, i);
		const char *to = e->kind == BS_ELF_ENTRY_BINARY && dest ? dest : e->real_path;
		_cleanup_free_ char *parent = strdup(to + 1);

		ASSERT_NOTNULL(parent);
		if (strrchr(parent, '/')) {
			*strrchr(parent, '/') = '\0';
			test_mkdir_p(dir, parent);
		}
		run("cp -L --preserve=mode '%s' '%s/%s'", e->real_path, dir, to + 1);
	}
}

static const char *kmod_tree(void)
{
	const char *tree = getenv("BLKSTACK_KMOD_TREE");

	if (!tree || tree[0] == '\0')
		SKIP("BLKSTACK_KMOD_TREE is unset: the build found no depmod (package kmod)");
	return tree;
}

/*
 * A copy of fixture with what an image is built from: blkstack's /init (BLKSTACK_INIT_PATH),
 * mdadm and lvm in usr/sbin (all copies of the host's /bin/true: they are carried, never
 * run), their libraries, and the synthetic module tree of make-kmod-tree.sh as
 * lib/modules/0.0.0-test. crypttab may replace the fixture's (NULL: keep it).
 */
static char *sysroot(const char *fixture, const char *crypttab)
{
	const char *tree = kmod_tree();
	char *dir = test_fixture_copy(fixture);

	install_elf(dir, "/bin/true", BLKSTACK_INIT_PATH);
	install_elf(dir, "/bin/true", BLKSTACK_SHUTDOWN_PATH);
	install_elf(dir, "/bin/true", "/usr/sbin/mdadm");
	install_elf(dir, "/bin/true", "/usr/sbin/lvm");
	test_mkdir_p(dir, "lib");
	run("cp -a '%s/lib/modules' '%s/lib/'", tree, dir);
	if (crypttab)
		test_write_file(dir, "etc/crypttab", crypttab);
	return dir;
}

/* The fixtures' LUKS lines, with the cipher given in crypttab: a captured tree has no device
 * nodes for libcryptsetup to read the header's (BS_ATTR_CIPHER) from. */
static const char ps1_crypttab[] =
	"cryptroot UUID=43c1b2e4-cd43-4bbd-949e-e440504cddf6 none luks,cipher=aes-xts-plain64\n"
	"cryptsrv UUID=cba7c8ce-287c-4a7c-a274-039c169de03e none luks,cipher=aes-xts-plain64\n";
static const char ps2_crypttab[] =
	"cryptdata UUID=d5617a7c-bcfc-4796-aa92-02af4aa6fd59 none luks,cipher=aes-xts-plain64\n";

/* Root on a plain partition of a plain disk: the lvm-swap-loop disks, with only /boot's
 * filesystem as root. */
static char *plain_sysroot(void)
{
	char *dir = sysroot("lvm-swap-loop-disks", "");

	test_write_file(dir, "etc/fstab",
			"UUID=1f715f15-0d42-498d-8853-afa160c5c52d / ext4 defaults 0 1\n");
	test_write_file(dir, "etc/blkstack/stack.conf", "");
	return dir;
}

static struct bs_graph *load(const char *dir, unsigned flags)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	struct bs_ctx_opts o = { .sysroot = dir };
	struct bs_load_opts lo = { .flags = flags };
	struct bs_graph *g = NULL;

	ASSERT_OK(unsetenv("BLKSTACK_DEBUG"));
	ASSERT_OK(bs_ctx_new(&o, &c));
	ASSERT_OK(bs_graph_load(c, &lo, &g, NULL));
	return g;
}

static int build_in(struct bs_graph *g, const char *root, unsigned flags, struct bs_initramfs **ret)
{
	_cleanup_(bs_needs_unrefp) struct bs_needs *n = NULL;
	struct bs_initramfs_opts o = { .flags = flags };

	ASSERT_OK(bs_needs_new(g, root, NULL, NULL, &n));
	return bs_initramfs_new(n, &o, ret);
}

static struct bs_initramfs *build(const char *dir, unsigned flags)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = load(dir, BS_LOAD_DEFAULT);
	struct bs_initramfs *b = NULL;

	ASSERT_OK(build_in(g, NULL, flags, &b));
	return b;
}

static const struct bs_initramfs_entry *entry(const struct bs_initramfs *b, const char *path)
{
	for (size_t i = 0; i < bs_initramfs_get_n_entries(b); i++)
		if (streq(bs_initramfs_get_entry(b, i)->path, path))
			return bs_initramfs_get_entry(b, i);
	return NULL;
}

static bool has_module(const struct bs_initramfs *b, const char *name)
{
	for (size_t i = 0; i < bs_initramfs_get_n_modules(b); i++)
		if (streq(bs_initramfs_get_module(b, i)->name, name))
			return true;
	return false;
}

/* Nothing in the image but what the contract lists. */
static void check_only_expected(const struct bs_initramfs *b)
{
	static const char *const allowed[] = { "dev",	"proc", "sys",	    "run", "sysroot",
					       "tmp",	"init", "shutdown", "etc", "lib",
					       "lib64", "usr",	"bin",	    "sbin" };

	for (size_t i = 0; i < bs_initramfs_get_n_entries(b); i++) {
		const struct bs_initramfs_entry *e = bs_initramfs_get_entry(b, i);
		_cleanup_free_ char *top = strndup(e->path, strcspn(e->path, "/"));
		bool ok = false;

		for (size_t j = 0; j < ELEMENTSOF(allowed); j++)
			ok = ok || streq(top, allowed[j]);
		if (!ok)
			test_fail(TEST_FILE, __LINE__, "unexpected entry %s", e->path);
		if (startswith(e->path, "etc/") && !S_ISDIR(e->mode))
			ASSERT_TRUE(streq(e->path, "etc/blkstack/manifest.json") ||
				    streq(e->path, "etc/lvm/lvm.conf") || e->secret);
	}
}

/* ---- what goes in ------------------------------------------------------------------------ */

TEST(plain_disk_root_has_no_lvm_md_or_dm)
{
	_cleanup_free_ char *dir = plain_sysroot();
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = build(dir, 0);

	ASSERT_STREQ(bs_initramfs_get_kernel(b), KVER);
	ASSERT_NOTNULL(entry(b, "init"));
	ASSERT_EQ(entry(b, "init")->mode, S_IFREG | 0755);
	ASSERT_NOTNULL(entry(b, "etc/blkstack/manifest.json"));
	ASSERT_NULL(entry(b, "usr/sbin/lvm"));
	ASSERT_NULL(entry(b, "usr/sbin/mdadm"));
	ASSERT_NULL(entry(b, "etc/lvm/lvm.conf"));
	ASSERT_TRUE(has_module(b, "virtio_blk"));
	ASSERT_TRUE(has_module(b, "ext4"));
	ASSERT_FALSE(has_module(b, "dm_mod"));
	ASSERT_FALSE(has_module(b, "md_mod"));
	ASSERT_FALSE(has_module(b, "raid456"));
	ASSERT_FALSE(has_module(b, "dm_crypt"));
	/* Below what lib links to, on a merged /usr, and the link itself. */
	if (entry(b, "lib") && S_ISLNK(entry(b, "lib")->mode))
		ASSERT_NOTNULL(entry(b, "usr/lib/modules/" KVER "/kernel/fs/ext4/ext4.ko"));
	else
		ASSERT_NOTNULL(entry(b, "lib/modules/" KVER "/kernel/fs/ext4/ext4.ko"));
	/* The skeleton: the console before devtmpfs. */
	ASSERT_EQ(entry(b, "dev/console")->mode, S_IFCHR | 0600);
	ASSERT_EQ(entry(b, "dev/null")->mode, S_IFCHR | 0666);
	ASSERT_NOTNULL(entry(b, "sysroot"));
	/* /init and the shutdown ramfs's /shutdown; no tool. */
	ASSERT_EQ(bs_initramfs_get_n_binaries(b), 2u);
	ASSERT_EQ(entry(b, "shutdown")->mode, S_IFREG | 0755);
	ASSERT_FALSE(bs_initramfs_has_secrets(b));
	check_only_expected(b);
}

TEST(md_root_has_mdadm_and_its_personality)
{
	_cleanup_free_ char *dir = sysroot("ps1-raid6-lvm-crypt-assembled", ps1_crypttab);
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = build(dir, 0);
	const struct bs_initramfs_entry *e = entry(b, "usr/sbin/mdadm");

	ASSERT_NOTNULL(e);
	ASSERT_NOTNULL(strstr(e->why, "md:sys"));
	ASSERT_TRUE(has_module(b, "md_mod"));
	ASSERT_TRUE(has_module(b, "raid456"));
	ASSERT_FALSE(has_module(b, "raid1"));
	/* Its libraries, as the loader finds them in the sysroot. */
	ASSERT_TRUE(bs_initramfs_get_n_libraries(b) > 0);
	for (size_t i = 0; i < bs_initramfs_get_n_libraries(b); i++)
		ASSERT_NOTNULL(strstr(bs_initramfs_get_library(b, i)->why, "needed by"));
	check_only_expected(b);
}

TEST(lvm_over_crypt_has_lvm_its_conf_and_the_cipher)
{
	_cleanup_free_ char *dir = sysroot("ps2-raid5-crypt-lvm-assembled", ps2_crypttab);
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	const struct bs_initramfs_entry *conf;

	/* ps2's root is xfs, which the synthetic kernel has no module for: refused; the rest,
	 * as needs lists it. */
	g = load(dir, BS_LOAD_DEFAULT);
	ASSERT_ERR(build_in(g, NULL, 0, &b), -ENOENT);
	ASSERT_OK(build_in(g, NULL, BS_INITRAMFS_CONTENTS_ONLY, &b));
	ASSERT_EQ(bs_initramfs_get_n_warnings(b), 1u);
	ASSERT_NOTNULL(strstr(bs_initramfs_get_warning(b, 0), "filesystem of mnt:/"));
	conf = entry(b, "etc/lvm/lvm.conf");
	ASSERT_NOTNULL(entry(b, "usr/sbin/lvm"));
	ASSERT_NOTNULL(conf);
	ASSERT_EQ(conf->mode, S_IFREG | 0644);
	ASSERT_TRUE(has_module(b, "dm_mod"));
	ASSERT_TRUE(has_module(b, "dm_crypt"));
	ASSERT_TRUE(has_module(b, "aesni_intel"));
	ASSERT_TRUE(has_module(b, "xts"));
	check_only_expected(b);
}

/* The cipher from the LUKS device's recorded attribute, once the graph has it. */
TEST(crypt_cipher_from_the_luks_device)
{
	_cleanup_free_ char *dir = sysroot("ps1-raid6-lvm-crypt-assembled", NULL);
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = load(dir, BS_LOAD_DEFAULT);
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = NULL;
	struct bs_node *luks = bs_graph_find_node(g, "lv:vg0/root");

	ASSERT_NOTNULL(luks);
	ASSERT_OK(bs_node_set_attr(luks, BS_ATTR_CIPHER, NULL));
	ASSERT_ERR(build_in(g, NULL, 0, &b), -ENOENT);
	ASSERT_OK(bs_node_set_attr(luks, BS_ATTR_CIPHER, "aes-cbc-essiv:sha256"));
	ASSERT_OK(build_in(g, NULL, 0, &b));
	ASSERT_TRUE(has_module(b, "essiv"));
	ASSERT_TRUE(has_module(b, "dm_crypt"));
}

/* Without a cipher anywhere, the build refuses and says what to do. */
TEST(unknown_cipher_refused)
{
	_cleanup_free_ char *dir = sysroot("ps1-raid6-lvm-crypt-assembled", NULL);
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = load(dir, BS_LOAD_DEFAULT);
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = NULL;
	struct bs_node *luks = bs_graph_find_node(g, "lv:vg0/root");

	ASSERT_NOTNULL(luks);
	ASSERT_OK(bs_node_set_attr(luks, BS_ATTR_CIPHER, NULL));
	ASSERT_ERR(build_in(g, NULL, 0, &b), -ENOENT);
	/* needs lists the rest, and says so. */
	ASSERT_OK(build_in(g, NULL, BS_INITRAMFS_CONTENTS_ONLY, &b));
	ASSERT_TRUE(bs_initramfs_get_n_warnings(b) > 0);
	ASSERT_NOTNULL(strstr(bs_initramfs_get_warning(b, 0), "cipher is unknown"));
	ASSERT_ERR(bs_initramfs_write(b, STDOUT_FILENO, "none", -1), -EPERM);
}

static const char key_crypttab[] =
	"cryptroot UUID=43c1b2e4-cd43-4bbd-949e-e440504cddf6 /etc/keys/root.key "
	"luks,cipher=aes-xts-plain64\n";

TEST(key_file_is_carried_secret_and_0600)
{
	_cleanup_free_ char *dir = sysroot("ps1-raid6-lvm-crypt-assembled", key_crypttab);
	_cleanup_free_ char *key = NULL;
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = NULL;
	const struct bs_initramfs_entry *e;

	test_write_file(dir, "etc/keys/root.key", "0123456789abcdef");
	ASSERT_TRUE(asprintf(&key, "%s/etc/keys/root.key", dir) >= 0);
	ASSERT_OK(chmod(key, 0600));
	b = build(dir, 0);
	e = entry(b, "etc/keys/root.key");
	ASSERT_NOTNULL(e);
	ASSERT_TRUE(e->secret);
	ASSERT_EQ(e->mode, S_IFREG | 0600);
	ASSERT_EQ(e->size, 16u);
	ASSERT_STREQ(e->why, "crypt:cryptroot");
	ASSERT_TRUE(bs_initramfs_has_secrets(b));
	check_only_expected(b);
}

TEST(group_readable_key_file_refused)
{
	_cleanup_free_ char *dir = sysroot("ps1-raid6-lvm-crypt-assembled", key_crypttab);
	_cleanup_free_ char *key = NULL;
	struct test_cli_result r;

	test_write_file(dir, "etc/keys/root.key", "0123456789abcdef");
	ASSERT_TRUE(asprintf(&key, "%s/etc/keys/root.key", dir) >= 0);
	ASSERT_OK(chmod(key, 0640));
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "--list");
	ASSERT_EQ(r.exit_code, BS_EXIT_FAILURE);
	ASSERT_NOTNULL(strstr(r.err, "root.key is readable by others (mode 0640); chmod 0600 it"));
	test_cli_result_done(&r);
}

TEST(missing_init_refused)
{
	_cleanup_free_ char *dir = plain_sysroot();
	_cleanup_free_ char *init = NULL, *want = NULL;
	struct test_cli_result r;

	ASSERT_TRUE(asprintf(&init, "%s%s", dir, BLKSTACK_INIT_PATH) >= 0);
	ASSERT_OK(unlink(init));
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "-o", "/dev/null");
	ASSERT_EQ(r.exit_code, BS_EXIT_FAILURE);
	ASSERT_TRUE(asprintf(&want,
			     "%s has no blkstack installed: %s is missing; install it with "
			     "'meson install --destdir %s' or the package",
			     dir, init, dir) >= 0);
	ASSERT_NOTNULL(strstr(r.err, want));
	test_cli_result_done(&r);
}

TEST(shell_is_bin_sh_itself)
{
	_cleanup_free_ char *dir = plain_sysroot();
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = NULL;
	const struct bs_initramfs_entry *sh, *bin;

	install_elf(dir, "/bin/sh", NULL);
	b = build(dir, BS_INITRAMFS_SHELL);
	bin = entry(b, "bin");
	ASSERT_NOTNULL(bin);
	/* bin/sh is a file, below what bin links to when the sysroot's /bin is a symlink. */
	sh = S_ISLNK(bin->mode) ? entry(b, "usr/bin/sh") : entry(b, "bin/sh");
	ASSERT_NOTNULL(sh);
	ASSERT_TRUE(S_ISREG(sh->mode));
	ASSERT_STREQ(sh->why, "--shell");
	check_only_expected(b);
	b = bs_initramfs_unref(b);

	/* Without --shell, no shell. */
	b = build(dir, 0);
	ASSERT_NULL(entry(b, "usr/bin/sh"));
	ASSERT_NULL(entry(b, "bin/sh"));
}

/* ---- offline ------------------------------------------------------------------------------ */

/* The plain-disk sysroot recorded, then offline: no sys/, the disk known only from the
 * record. */
static struct bs_graph *offline_graph(const char *dir)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *live = load(dir, BS_LOAD_DEFAULT);

	ASSERT_OK(bs_graph_record(live, NULL));
	run("rm -rf '%s/sys'", dir);
	return load(dir, BS_LOAD_DEFAULT | BS_LOAD_LIVE_OPTIONAL);
}

TEST(offline_disk_driver_from_recorded_modalias)
{
	_cleanup_free_ char *dir = plain_sysroot();
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = offline_graph(dir);
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = NULL;
	struct bs_node *disk = bs_graph_find_node(g, "blk:vda");

	ASSERT_NOTNULL(disk);
	ASSERT_FALSE(bs_node_get_sources(disk) & BS_SOURCE_LIVE);
	/* As recorded from the fixture's sys/. */
	ASSERT_NOTNULL(bs_node_get_attr(disk, "modalias"));
	ASSERT_OK(build_in(g, NULL, 0, &b));
	ASSERT_TRUE(has_module(b, "virtio_blk"));
	b = bs_initramfs_unref(b);
	/* Every word is looked up, the controller's too. */
	ASSERT_OK(bs_node_set_attr(disk, BS_ATTR_MODALIAS,
				   "virtio:d00000002v00001AF4 pci:v00001AF4d00001001sv00001AF4"
				   "sd00000002bc01sc00i00"));
	ASSERT_OK(build_in(g, NULL, 0, &b));
	ASSERT_TRUE(has_module(b, "virtio_blk"));
	ASSERT_TRUE(has_module(b, "virtio_pci"));
	ASSERT_TRUE(has_module(b, "ext4"));
}

TEST(offline_disk_without_modalias_refused)
{
	_cleanup_free_ char *dir = plain_sysroot();
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = offline_graph(dir);
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = NULL;
	struct bs_node *disk = bs_graph_find_node(g, "blk:vda");

	ASSERT_NOTNULL(disk);
	ASSERT_OK(bs_node_set_attr(disk, BS_ATTR_MODALIAS, NULL));
	ASSERT_ERR(build_in(g, NULL, 0, &b), -ENOENT);
	ASSERT_OK(build_in(g, NULL, BS_INITRAMFS_CONTENTS_ONLY, &b));
	ASSERT_STREQ(bs_initramfs_get_warning(b, 0),
		     "disk blk:vda: its drivers are unknown: run 'blkstack record' on the machine "
		     "while it is present");
}

/* Root on NBD: the nbd module, and the drivers of the interface it is reached through, as
 * the live graph has them on net:online (and the record, offline); unknown, refused. */
static char *nbd_root_sysroot(bool live)
{
	char *dir = sysroot("lvm-swap-loop-disks", "");

	install_elf(dir, "/bin/true", "/usr/sbin/nbd-client");
	test_write_file(dir, "etc/fstab", "/dev/nbd0 / ext4 defaults 0 1\n");
	test_write_file(dir, "etc/blkstack/stack.conf", "nbd nbd0 10.1.1.1 root-disk\n");
	if (!live)
		return dir;
	test_write_file(dir, "sys/devices/virtual/block/nbd0/dev", "43:0\n");
	test_write_file(dir, "sys/devices/virtual/block/nbd0/size", "2048\n");
	test_symlink(dir, "sys/class/block/nbd0", "../../devices/virtual/block/nbd0");
	test_write_file(dir, "sys/devices/pci0000:00/0000:00:03.0/virtio0/modalias",
			"virtio:d00000001v00001AF4\n");
	test_write_file(dir, "sys/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0/operstate",
			"up\n");
	test_symlink(dir, "sys/class/net/eth0",
		     "../../devices/pci0000:00/0000:00:03.0/virtio0/net/eth0");
	/* Virtual and down interfaces are no driver of the network. */
	test_write_file(dir, "sys/devices/virtual/net/lo/operstate", "unknown\n");
	test_symlink(dir, "sys/class/net/lo", "../../devices/virtual/net/lo");
	test_write_file(dir, "sys/devices/pci0000:00/0000:00:04.0/modalias",
			"pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00\n");
	test_write_file(dir, "sys/devices/pci0000:00/0000:00:04.0/net/eth1/operstate", "down\n");
	test_symlink(dir, "sys/class/net/eth1", "../../devices/pci0000:00/0000:00:04.0/net/eth1");
	return dir;
}

TEST(nbd_root_carries_the_network_drivers)
{
	_cleanup_free_ char *dir = nbd_root_sysroot(true);
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = load(dir, BS_LOAD_DEFAULT);
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = NULL;
	struct bs_node *net = bs_graph_find_node(g, "net:online");

	ASSERT_NOTNULL(net);
	ASSERT_STREQ(bs_node_get_attr(net, "modalias"), "virtio:d00000001v00001AF4");
	ASSERT_OK(build_in(g, NULL, 0, &b));
	ASSERT_TRUE(has_module(b, "nbd"));
	ASSERT_TRUE(has_module(b, "virtio_net"));
	ASSERT_FALSE(has_module(b, "e1000"));
}

TEST(nbd_root_without_network_drivers_refused)
{
	_cleanup_free_ char *dir = nbd_root_sysroot(false);
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = load(dir, BS_LOAD_DEFAULT);
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = NULL;

	ASSERT_ERR(build_in(g, NULL, 0, &b), -ENOENT);
	ASSERT_OK(build_in(g, NULL, BS_INITRAMFS_CONTENTS_ONLY, &b));
	ASSERT_STREQ(bs_initramfs_get_warning(b, 0),
		     "net:online: the network interface's drivers are unknown: run 'blkstack "
		     "record' while the network layers below root are connected");
}

/* The command, offline: recorded, then no sys/ at all. */
TEST(offline_build_from_the_record)
{
	_cleanup_free_ char *dir = plain_sysroot();
	_cleanup_free_ char *img = NULL;
	struct test_cli_result r;

	bs_graph_unref(offline_graph(dir));

	ASSERT_TRUE(asprintf(&img, "%s/offline.img", test_scratch()) >= 0);
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "-o", img, "--compress", "xz");
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_NOTNULL(strstr(r.out, "(xz), kernel " KVER));
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "--list");
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_NOTNULL(
		strstr(r.out, "virtio_blk.ko  (virtio:d00000002v00001AF4 (driver of blk:vda))"));
	test_cli_result_done(&r);
}

/* Layers below root closed, and no record: the build refuses, it never guesses. */
TEST(closed_layers_without_record_refused)
{
	_cleanup_free_ char *dir = sysroot("ps1-raid6-lvm-crypt-disks", ps1_crypttab);
	struct test_cli_result r;

	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "--list");
	ASSERT_EQ(r.exit_code, BS_EXIT_FAILURE);
	ASSERT_NOTNULL(strstr(r.err, "which no known device provides"));
	ASSERT_NOTNULL(strstr(r.err, "blkstack record"));
	test_cli_result_done(&r);
}

/* ---- the image ---------------------------------------------------------------------------- */

static char *read_all(const char *path, size_t *ret_size)
{
	FILE *f = fopen(path, "re");
	char *data = NULL;
	size_t n = 0;

	ASSERT_NOTNULL(f);
	ASSERT_OK(fseek(f, 0, SEEK_END));
	n = (size_t)ftell(f);
	rewind(f);
	data = malloc(n + 1);
	ASSERT_NOTNULL(data);
	ASSERT_EQ(fread(data, 1, n, f), n);
	fclose(f);
	*ret_size = n;
	return data;
}

/* A captured tree has no LUKS headers to read: the pins file decides, and the manifest carries
 * its pins. */
TEST(pins_file_pins_what_cannot_be_read)
{
	_cleanup_free_ char *dir = sysroot("ps1-raid6-lvm-crypt-assembled", ps1_crypttab);
	_cleanup_free_ char *img = NULL, *data = NULL;
	struct test_cli_result r;
	size_t n;

	test_write_file(dir, "var/lib/blkstack/pins.json",
			"{\"version\":1,\"pins\":["
			"{\"kind\":\"luks\",\"node\":\"blk:vdb\",\"fields\":{\"uuid\":"
			"\"43c1b2e4-cd43-4bbd-949e-e440504cddf6\",\"digest\":\"d1\"}},"
			"{\"kind\":\"luks\",\"node\":\"blk:vdc\",\"fields\":{\"uuid\":"
			"\"cba7c8ce-287c-4a7c-a274-039c169de03e\",\"digest\":\"d2\"}}]}\n");
	ASSERT_TRUE(asprintf(&img, "%s/pinned.img", test_scratch()) >= 0);
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "-o", img, "--compress", "none");
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_NULL(strstr(r.err, "has no pins"));
	ASSERT_NOTNULL(strstr(r.out, "from the pins file"));
	test_cli_result_done(&r);
	data = read_all(img, &n);
	ASSERT_NOTNULL(memmem(data, n, "\"pins\"", strlen("\"pins\"")));
	ASSERT_NOTNULL(memmem(data, n, "\"digest\": \"d1\"", strlen("\"digest\": \"d1\"")));

	/* A damaged pins file refuses the build: it is no record to ignore. */
	test_write_file(dir, "var/lib/blkstack/pins.json", "{\"version\":1,\"pins\":[{}]}\n");
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "-o", img, "--compress", "none");
	ASSERT_EQ(r.exit_code, BS_EXIT_FAILURE);
	ASSERT_NOTNULL(strstr(r.err, "cannot read the pins file"));
	test_cli_result_done(&r);
}

TEST(two_builds_are_byte_identical)
{
	_cleanup_free_ char *dir = sysroot("ps1-raid6-lvm-crypt-assembled", ps1_crypttab);
	_cleanup_free_ char *a = NULL, *b = NULL, *pa = NULL, *pb = NULL;
	struct test_cli_result r;
	size_t na, nb;

	ASSERT_TRUE(asprintf(&pa, "%s/a.img", test_scratch()) >= 0);
	ASSERT_TRUE(asprintf(&pb, "%s/b.img", test_scratch()) >= 0);
	/* The fixture has no LUKS headers to read: without pins, only --no-pins builds. */
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "-o", pa);
	ASSERT_EQ(r.exit_code, BS_EXIT_FAILURE);
	ASSERT_NOTNULL(strstr(r.err, "has no pins: its LUKS header cannot be read"));
	ASSERT_NOTNULL(strstr(r.err, "run 'blkstack pin'"));
	ASSERT_NOTNULL(strstr(r.err, "--no-pins"));
	ASSERT_TRUE(access(pa, F_OK) < 0);
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "-o", pa, "--no-pins");
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_NOTNULL(strstr(r.err, "building with --no-pins"));
	ASSERT_NOTNULL(strstr(r.out, "bytes raw"));
	ASSERT_NOTNULL(strstr(r.out, "(zstd)"));
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "-o", pb, "--no-pins");
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	test_cli_result_done(&r);
	a = read_all(pa, &na);
	b = read_all(pb, &nb);
	ASSERT_EQ(na, nb);
	ASSERT_TRUE(memcmp(a, b, na) == 0);
	/* zstd's magic, and the file is 0644 without key files. */
	ASSERT_TRUE(memcmp(a, "\x28\xb5\x2f\xfd", 4) == 0);
	{
		struct stat st;

		ASSERT_OK(stat(pa, &st));
		ASSERT_EQ(st.st_mode & 07777, 0644u);
	}
}

TEST(source_date_epoch_sets_every_mtime)
{
	_cleanup_free_ char *dir = plain_sysroot();
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = build(dir, 0);
	_cleanup_free_ char *path = NULL, *data = NULL;
	size_t n;
	int fd;

	ASSERT_TRUE(asprintf(&path, "%s/x.cpio", test_scratch()) >= 0);
	ASSERT_OK(setenv("SOURCE_DATE_EPOCH", "1700000000", 1));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_OK(fd);
	ASSERT_OK(bs_initramfs_write(b, fd, "none", -1));
	close(fd);
	data = read_all(path, &n);
	ASSERT_EQ(n, bs_initramfs_get_archive_size(b));
	/* newc: magic, then ino mode uid gid nlink mtime, 8 hex digits each. */
	ASSERT_TRUE(memcmp(data, "070701", 6) == 0);
	ASSERT_TRUE(strncasecmp(data + 6 + 5 * 8, "6553F100", 8) == 0);
	ASSERT_ERR(bs_initramfs_write(b, fd, "lz4", -1), -EINVAL);
	ASSERT_OK(setenv("SOURCE_DATE_EPOCH", "soon", 1));
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ASSERT_ERR(bs_initramfs_write(b, fd, "none", -1), -EINVAL);
	close(fd);
}

TEST(list_says_why_and_marks_secrets)
{
	_cleanup_free_ char *dir = sysroot("ps1-raid6-lvm-crypt-assembled", key_crypttab);
	_cleanup_free_ char *key = NULL, *img = NULL;
	struct test_cli_result r;
	struct stat st;

	test_write_file(dir, "etc/keys/root.key", "0123456789abcdef");
	ASSERT_TRUE(asprintf(&key, "%s/etc/keys/root.key", dir) >= 0);
	ASSERT_OK(chmod(key, 0600));
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "--list");
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_NOTNULL(strstr(r.out, " usr/sbin/mdadm  (md:sys (md-assemble))\n"));
	ASSERT_NOTNULL(strstr(r.out, " usr/sbin/lvm  (lv:vg0/root (lv-activate))\n"));
	ASSERT_NOTNULL(strstr(r.out, "-rw------- "));
	ASSERT_NOTNULL(strstr(r.out, " etc/keys/root.key [secret]  (crypt:cryptroot)\n"));
	ASSERT_NOTNULL(
		strstr(r.out, "kernel/drivers/md/raid456.ko  (md-raid6 (level raid6 of md:sys))"));
	ASSERT_NOTNULL(strstr(r.out, "crw------- "));
	/* Only listed: nothing written. */
	ASSERT_NULL(strstr(r.out, "bytes written"));
	test_cli_result_done(&r);

	/* With -o it writes too, 0600, with a warning. */
	ASSERT_TRUE(asprintf(&img, "%s/secret.img", test_scratch()) >= 0);
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "--list", "-o", img, "--compress", "gzip",
			 "--no-pins");
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_NOTNULL(strstr(r.err, "holds key files"));
	ASSERT_NOTNULL(strstr(r.err, "(gzip)"));
	ASSERT_OK(stat(img, &st));
	ASSERT_EQ(st.st_mode & 07777, 0600u);
	test_cli_result_done(&r);

	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "--json");
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_NOTNULL(strstr(r.out, "\"path\": \"etc/keys/root.key\""));
	ASSERT_NOTNULL(strstr(r.out, "\"secret\": true"));
	test_cli_result_done(&r);
}

TEST(needs_lists_modules_and_binaries)
{
	_cleanup_free_ char *dir = sysroot("ps1-raid6-lvm-crypt-assembled", ps1_crypttab);
	_cleanup_free_ char *bare = test_fixture("ps1-raid6-lvm-crypt-assembled");
	struct test_cli_result r;

	r = TEST_RUN_CLI("--sysroot", dir, "needs");
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_NOTNULL(strstr(r.out, "modules (kernel " KVER "):\n"));
	ASSERT_NOTNULL(strstr(r.out, "raid456"));
	ASSERT_NOTNULL(strstr(r.out, "/usr/sbin/mdadm  (md:sys (md-assemble))"));
	test_cli_result_done(&r);

	r = TEST_RUN_CLI("--sysroot", dir, "needs", "--json", "--kernel", KVER);
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_NOTNULL(strstr(r.out, "\"name\": \"dm_crypt\""));
	ASSERT_NOTNULL(strstr(r.out, "\"path\": \"/usr/sbin/lvm\""));
	ASSERT_NOTNULL(strstr(r.out, "\"libraries\": ["));
	test_cli_result_done(&r);

	/* No module tree: the rest, and that the modules are unknown. */
	r = TEST_RUN_CLI("--sysroot", bare, "needs");
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_NOTNULL(strstr(r.out, "crypt:cryptroot"));
	ASSERT_NOTNULL(strstr(r.out, "modules: unknown"));
	ASSERT_NOTNULL(strstr(r.err, "the kernel modules are unknown"));
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("--sysroot", bare, "needs", "--json");
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_NOTNULL(strstr(r.out, "\"modules\": null"));
	test_cli_result_done(&r);
}

TEST(exit_codes)
{
	_cleanup_free_ char *dir = plain_sysroot();
	struct test_cli_result r;

	r = TEST_RUN_CLI("--sysroot", dir, "initramfs");
	ASSERT_EQ(r.exit_code, BS_EXIT_USAGE);
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "-o", "/dev/null", "--compress", "lz4");
	ASSERT_EQ(r.exit_code, BS_EXIT_USAGE);
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "-o", "/dev/null", "--level", "x");
	ASSERT_EQ(r.exit_code, BS_EXIT_USAGE);
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "-o", "/dev/null", "--level", "20");
	ASSERT_EQ(r.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(strstr(r.err, "out of range for zstd (1-19)"));
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "--list", "--kernel", "9.9.9");
	ASSERT_EQ(r.exit_code, BS_EXIT_FAILURE);
	test_cli_result_done(&r);
	/* A configuration error refuses the build. */
	test_write_file(dir, "etc/crypttab", "broken\n");
	r = TEST_RUN_CLI("--sysroot", dir, "initramfs", "--list");
	ASSERT_EQ(r.exit_code, BS_EXIT_CONFIG);
	test_cli_result_done(&r);
}
