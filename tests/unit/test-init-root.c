/* Unit tests of /init's switch to the root: init looked up inside the root, the initramfs's
 * files removed without following links out of it. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "root.h"
#include "tests.h"
#include "util.h"

static bool exists(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = NULL;
	struct stat st;

	ASSERT_TRUE(asprintf(&p, "%s/%s", dir, rel) >= 0);
	return lstat(p, &st) >= 0;
}

static void make_executable(const char *dir, const char *rel, mode_t mode)
{
	_cleanup_free_ char *p = NULL;

	test_write_file(dir, rel, "#!/bin/sh\n");
	ASSERT_TRUE(asprintf(&p, "%s/%s", dir, rel) >= 0);
	ASSERT_OK(chmod(p, mode) < 0 ? -errno : 0);
}

/* An absolute link resolves inside the root, as it will after the switch. */
TEST(init_is_looked_up_inside_the_root)
{
	const char *dir = test_tmpdir();
	_cleanup_free_ char *root = NULL;

	test_mkdir_p(dir, "sysroot");
	ASSERT_TRUE(asprintf(&root, "%s/sysroot", dir) >= 0);
	make_executable(root, "lib/systemd/systemd", 0755);
	test_symlink(root, "sbin/init", "/lib/systemd/systemd");
	make_executable(root, "bin/marker", 0755);
	make_executable(root, "bin/not-executable", 0644);
	test_symlink(root, "sbin/dangling", "/lib/nothere");
	test_mkdir_p(root, "sbin/a-directory");
	/* Outside the root only: an absolute link must not find it. */
	make_executable(dir, "outside", 0755);
	test_symlink(root, "sbin/escape", "/../outside");

	ASSERT_TRUE(init_is_executable_in_root(root, "/sbin/init"));
	ASSERT_TRUE(init_is_executable_in_root(root, "/bin/marker"));
	ASSERT_FALSE(init_is_executable_in_root(root, "/bin/not-executable"));
	ASSERT_FALSE(init_is_executable_in_root(root, "/sbin/dangling"));
	ASSERT_FALSE(init_is_executable_in_root(root, "/sbin/a-directory"));
	ASSERT_FALSE(init_is_executable_in_root(root, "/sbin/escape"));
	ASSERT_FALSE(init_is_executable_in_root(root, "/nothere"));
	ASSERT_FALSE(init_is_executable_in_root("/nonexistent-root", "/sbin/init"));
}

TEST(remove_tree_removes_files_and_never_follows_links)
{
	const char *dir = test_tmpdir();
	_cleanup_free_ char *ramfs = NULL;
	struct stat st;
	int fd;

	test_mkdir_p(dir, "ramfs");
	ASSERT_TRUE(asprintf(&ramfs, "%s/ramfs", dir) >= 0);
	test_write_file(ramfs, "init", "x");
	test_write_file(ramfs, "etc/blkstack/manifest.json", "{}");
	test_write_file(ramfs, "usr/lib/x86_64-linux-gnu/libc.so.6", "x");
	test_symlink(ramfs, "lib", "usr/lib");
	test_mkdir_p(ramfs, "sysroot");
	test_write_file(dir, "keep/file", "keep");
	test_symlink(ramfs, "outside", "../keep");
	test_symlink(ramfs, "outside-abs", "/");

	fd = open(ramfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(fstat(fd, &st) < 0 ? -errno : 0);
	init_remove_tree(fd, st.st_dev);

	ASSERT_TRUE(exists(dir, "ramfs"));
	ASSERT_FALSE(exists(dir, "ramfs/init"));
	ASSERT_FALSE(exists(dir, "ramfs/etc"));
	ASSERT_FALSE(exists(dir, "ramfs/usr"));
	ASSERT_FALSE(exists(dir, "ramfs/lib"));
	ASSERT_FALSE(exists(dir, "ramfs/sysroot"));
	ASSERT_FALSE(exists(dir, "ramfs/outside"));
	ASSERT_TRUE(exists(dir, "keep/file"));
}

/* What lies on another filesystem (a mount point) is left alone: with a device number that is
 * not the tree's, nothing is entered. */
TEST(remove_tree_stays_on_its_device)
{
	const char *dir = test_tmpdir();
	_cleanup_free_ char *tree = NULL;
	struct stat st;
	int fd;

	test_mkdir_p(dir, "tree");
	ASSERT_TRUE(asprintf(&tree, "%s/tree", dir) >= 0);
	test_write_file(tree, "a/b", "x");
	fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(fstat(fd, &st) < 0 ? -errno : 0);
	init_remove_tree(fd, st.st_dev + 1);
	ASSERT_TRUE(exists(dir, "tree/a/b"));
}
