/* Unit tests of reads through the context's system root, against a tree made per test. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blkstack.h"
#include "strv.h"
#include "sysroot.h"
#include "tests.h"
#include "util.h"

#define VDA_DEVICE "devices/pci0000:00/0000:00:04.0/virtio2/block/vda"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)

/* A small sysfs and procfs the way a captured fixture has them: class entries are relative
 * symlinks into devices/. */
static const char *make_tree(void)
{
	const char *root = test_tmpdir();

	test_write_file(root, "sys/" VDA_DEVICE "/size", "41943040\n");
	test_write_file(root, "sys/" VDA_DEVICE "/dev", "254:0\n");
	test_write_file(root, "sys/" VDA_DEVICE "/device/model", "QEMU HARDDISK   \n");
	test_write_file(root, "sys/" VDA_DEVICE "/empty", "");
	test_mkdir_p(root, "sys/" VDA_DEVICE "/holders");
	test_symlink(root, "sys/class/block/vda", "../../" VDA_DEVICE);
	test_write_file(root, "proc/self/mountinfo",
			"22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n");
	return root;
}

static struct bs_ctx *new_ctx(const char *sysroot)
{
	struct bs_ctx_opts opts = { .sysroot = sysroot };
	struct bs_ctx *c = NULL;

	ASSERT_OK(bs_ctx_new(&opts, &c));
	ASSERT_NOTNULL(c);
	return c;
}

TEST(sysroot_is_canonical)
{
	const char *root = make_tree();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(root);
	_cleanup_free_ char *real = realpath(root, NULL);

	ASSERT_NOTNULL(real);
	ASSERT_STREQ(bs_ctx_get_sysroot(c), real);
}

TEST(sysroot_relative_becomes_absolute)
{
	const char *root = make_tree();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_free_ char *real = realpath(root, NULL), *size = NULL;

	ASSERT_NOTNULL(real);
	ASSERT_OK(chdir(root));
	c = new_ctx("./sys/..");
	ASSERT_STREQ(bs_ctx_get_sysroot(c), real);

	/* The context keeps the directory, not the path it was given. */
	ASSERT_OK(chdir("/"));
	ASSERT_OK(bs_sysroot_read_attr(c, "sys/class/block/vda/size", &size));
	ASSERT_STREQ(size, "41943040");
}

TEST(sysroot_missing_or_not_a_directory)
{
	const char *root = make_tree();
	_cleanup_free_ char *missing = NULL, *file = NULL;
	struct bs_ctx *c = NULL;
	struct bs_ctx_opts opts = {};

	ASSERT_OK(asprintf(&missing, "%s/nonexistent", root));
	ASSERT_OK(asprintf(&file, "%s/proc/self/mountinfo", root));

	opts.sysroot = missing;
	ASSERT_ERR(bs_ctx_new(&opts, &c), -ENOENT);
	opts.sysroot = file;
	ASSERT_ERR(bs_ctx_new(&opts, &c), -ENOTDIR);
	ASSERT_NULL(c);
}

TEST(read_attr_through_class_symlink)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(make_tree());
	_cleanup_free_ char *size = NULL, *dev = NULL, *model = NULL;

	ASSERT_OK(bs_sysroot_read_attr(c, "sys/class/block/vda/size", &size));
	ASSERT_STREQ(size, "41943040");
	ASSERT_OK(bs_sysroot_read_attr(c, "sys/class/block/vda/dev", &dev));
	ASSERT_STREQ(dev, "254:0");
	/* Only the newline goes; padding is the attribute's own. */
	ASSERT_OK(bs_sysroot_read_attr(c, "sys/class/block/vda/device/model", &model));
	ASSERT_STREQ(model, "QEMU HARDDISK   ");
}

TEST(leading_slashes_are_stripped)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(make_tree());
	_cleanup_free_ char *a = NULL, *b = NULL;
	_cleanup_close_ int fd = -EBADF;

	ASSERT_OK(bs_sysroot_read_attr(c, "/sys/class/block/vda/size", &a));
	ASSERT_STREQ(a, "41943040");
	ASSERT_OK(bs_sysroot_read_attr(c, "///sys/class/block/vda/size", &b));
	ASSERT_STREQ(b, "41943040");

	/* "/" is the root itself, not the host's. */
	fd = bs_sysroot_open(c, "/", O_RDONLY | O_DIRECTORY);
	ASSERT_OK(fd);
	ASSERT_OK(faccessat(fd, "proc/self/mountinfo", F_OK, 0));
}

TEST(missing_files_are_enoent)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(make_tree());
	char *sentinel = (char *)"untouched", *s = sentinel;
	DIR *d = NULL;

	ASSERT_ERR(bs_sysroot_read_attr(c, "sys/class/block/vdb/size", &s), -ENOENT);
	ASSERT_ERR(bs_sysroot_read_file(c, "etc/fstab", &s, NULL), -ENOENT);
	ASSERT_ERR(bs_sysroot_readlink(c, "sys/class/block/vdb", &s), -ENOENT);
	ASSERT_ERR(bs_sysroot_opendir(c, "sys/block", &d), -ENOENT);
	ASSERT_ERR(bs_sysroot_open(c, "etc/crypttab", O_RDONLY), -ENOENT);
	ASSERT_TRUE(s == sentinel);
	ASSERT_NULL(d);
}

TEST(read_file_whole_content)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(make_tree());
	_cleanup_free_ char *s = NULL, *e = NULL;
	size_t n = 0;

	ASSERT_OK(bs_sysroot_read_file(c, "proc/self/mountinfo", &s, &n));
	ASSERT_STREQ(s, "22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n");
	ASSERT_EQ(n, strlen(s));

	ASSERT_OK(bs_sysroot_read_file(c, "sys/class/block/vda/empty", &e, &n));
	ASSERT_STREQ(e, "");
	ASSERT_EQ(n, 0);
}

TEST(read_file_size_cap)
{
	const char *root = make_tree();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(root);
	_cleanup_free_ char *big = NULL, *s = NULL;
	_cleanup_close_ int fd = -EBADF;
	size_t n;

	test_write_file(root, "etc/five", "12345");
	ASSERT_ERR(bs_sysroot_read_file_max(c, "etc/five", 4, &s, &n), -EFBIG);
	ASSERT_NULL(s);
	ASSERT_OK(bs_sysroot_read_file_max(c, "etc/five", 5, &s, &n));
	ASSERT_STREQ(s, "12345");

	/* Sparse, so the test stays cheap: the cap applies before anything is read. */
	ASSERT_OK(asprintf(&big, "%s/etc/big", root));
	fd = open(big, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_OK(fd);
	ASSERT_OK(ftruncate(fd, (off_t)BS_SYSROOT_READ_MAX + 1));
	ASSERT_ERR(bs_sysroot_read_file(c, "etc/big", &s, &n), -EFBIG);
}

TEST(read_attr_size_cap)
{
	const char *root = make_tree();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(root);
	_cleanup_free_ char *text = malloc(BS_SYSROOT_ATTR_MAX + 2), *s = NULL;

	ASSERT_NOTNULL(text);
	memset(text, 'x', BS_SYSROOT_ATTR_MAX + 1);
	text[BS_SYSROOT_ATTR_MAX + 1] = '\0';
	test_write_file(root, "sys/huge", text);
	ASSERT_ERR(bs_sysroot_read_attr(c, "sys/huge", &s), -EFBIG);

	text[BS_SYSROOT_ATTR_MAX] = '\0';
	test_write_file(root, "sys/fits", text);
	ASSERT_OK(bs_sysroot_read_attr(c, "sys/fits", &s));
	ASSERT_EQ(strlen(s), BS_SYSROOT_ATTR_MAX);
}

/* procfs and sysfs files report no useful size, so the cap must also hold while reading;
 * a FIFO behaves the same way. */
TEST(read_file_cap_without_size)
{
	const char *root = make_tree();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(root);
	_cleanup_free_ char *fifo = NULL, *s = NULL;
	int status;
	pid_t pid;

	ASSERT_OK(asprintf(&fifo, "%s/proc/stream", root));
	ASSERT_OK(mkfifo(fifo, 0600));

	pid = fork();
	ASSERT_OK(pid);
	if (pid == 0) {
		int fd;

		/* Should the reader never come, do not linger blocked in open(). */
		(void)alarm(30);
		fd = open(fifo, O_WRONLY | O_CLOEXEC);

		_exit(fd >= 0 && write(fd, "0123456789", 10) == 10 ? 0 : 1);
	}

	ASSERT_ERR(bs_sysroot_read_file_max(c, "proc/stream", 4, &s, NULL), -EFBIG);
	ASSERT_NULL(s);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(readlink_relative_target)
{
	const char *root = make_tree();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(root);
	_cleanup_free_ char *target = NULL, *long_target = NULL, *got = NULL;
	char *s = NULL;

	ASSERT_OK(bs_sysroot_readlink(c, "/sys/class/block/vda", &target));
	ASSERT_STREQ(target, "../../" VDA_DEVICE);

	/* Longer than the first buffer, so the buffer must grow. */
	for (int i = 0; i < 300; i++)
		ASSERT_OK(strextend(&long_target, "d/", NULL));
	ASSERT_OK(strextend(&long_target, "end", NULL));
	test_symlink(root, "sys/long", long_target);
	ASSERT_OK(bs_sysroot_readlink(c, "sys/long", &got));
	ASSERT_STREQ(got, long_target);

	ASSERT_ERR(bs_sysroot_readlink(c, "sys/class/block/vda/size", &s), -EINVAL);
	ASSERT_NULL(s);
}

TEST(opendir_lists_entries)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(make_tree());
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_strv_free_ char **names = NULL;
	struct dirent *de;
	DIR *f = NULL;

	ASSERT_OK(bs_sysroot_opendir(c, "sys/class/block/vda", &d));
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			ASSERT_OK(strv_extend(&names, de->d_name));
	strv_sort(names);

	ASSERT_EQ(strv_length(names), 5);
	ASSERT_STREQ(names[0], "dev");
	ASSERT_STREQ(names[1], "device");
	ASSERT_STREQ(names[2], "empty");
	ASSERT_STREQ(names[3], "holders");
	ASSERT_STREQ(names[4], "size");

	ASSERT_ERR(bs_sysroot_opendir(c, "sys/class/block/vda/size", &f), -ENOTDIR);
	ASSERT_NULL(f);
}

TEST(open_is_cloexec_and_refuses_create)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(make_tree());
	_cleanup_close_ int fd = -EBADF;
	int flags;

	fd = bs_sysroot_open(c, "sys/class/block/vda/size", O_RDONLY);
	ASSERT_OK(fd);
	flags = fcntl(fd, F_GETFD);
	ASSERT_OK(flags);
	ASSERT_TRUE(flags & FD_CLOEXEC);

	ASSERT_ERR(bs_sysroot_open(c, "etc/new", O_WRONLY | O_CREAT), -EINVAL);
	ASSERT_ERR(bs_sysroot_open(c, "etc", O_RDWR | O_TMPFILE), -EINVAL);
}

TEST(path_dup_joins_root)
{
	const char *root = make_tree();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(root);
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *host = new_ctx(NULL);
	_cleanup_free_ char *expected = NULL, *a = NULL, *b = NULL, *r = NULL, *h = NULL,
			    *hr = NULL;

	ASSERT_OK(asprintf(&expected, "%s/etc/fstab", bs_ctx_get_sysroot(c)));
	a = bs_sysroot_path_dup(c, "etc/fstab");
	b = bs_sysroot_path_dup(c, "/etc/fstab");
	r = bs_sysroot_path_dup(c, "/");
	ASSERT_STREQ(a, expected);
	ASSERT_STREQ(b, expected);
	ASSERT_STREQ(r, bs_ctx_get_sysroot(c));

	/* The default root makes plain absolute paths, without a doubled slash. */
	ASSERT_STREQ(bs_ctx_get_sysroot(host), "/");
	h = bs_sysroot_path_dup(host, "etc/fstab");
	hr = bs_sysroot_path_dup(host, "");
	ASSERT_STREQ(h, "/etc/fstab");
	ASSERT_STREQ(hr, "/");
}

TEST(links_resolve_inside_the_sysroot)
{
	const char *root = make_tree();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(root);
	_cleanup_free_ char *v = NULL;

	/* A mounted target root's absolute link means its own file, not the host's. */
	test_write_file(root, "etc/real-fstab", "inside\n");
	test_symlink(root, "etc/fstab", "/etc/real-fstab");
	ASSERT_OK(bs_sysroot_read_attr(c, "etc/fstab", &v));
	ASSERT_STREQ(v, "inside");
	v = mfree(v);

	/* A link to a host file that the sysroot lacks is missing, not the host's file. */
	test_symlink(root, "etc/crypttab", "/etc/hostname");
	ASSERT_ERR(bs_sysroot_read_attr(c, "etc/crypttab", &v), -ENOENT);
	/* ".." stops at the sysroot. */
	test_symlink(root, "etc/up", "../../../../../../etc/real-fstab");
	ASSERT_OK(bs_sysroot_read_attr(c, "etc/up", &v));
	ASSERT_STREQ(v, "inside");
}

TEST(modalias_chain_goes_from_the_disk_up)
{
	const char *root = make_tree();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_strv_free_ char **chain = NULL;

	/* The disk's own driver first, then its controller's; a device without one (the
	 * block device itself here) and one with a malformed value are skipped. */
	test_write_file(root, "sys/devices/pci0000:00/0000:00:04.0/virtio2/modalias",
			"virtio:d00000002v00001AF4\n");
	test_write_file(root, "sys/devices/pci0000:00/0000:00:04.0/modalias",
			"pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00\n");
	test_write_file(root, "sys/devices/pci0000:00/modalias", "two words\n");
	c = new_ctx(root);
	ASSERT_EQ(bs_sysfs_modalias_chain(c, "vda", &chain), 2);
	ASSERT_STREQ(chain[0], "virtio:d00000002v00001AF4");
	ASSERT_STREQ(chain[1], "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00");
	ASSERT_NULL(chain[2]);
	chain = strv_free(chain);

	ASSERT_EQ(bs_sysfs_modalias_chain(c, "vdz", &chain), -ENOENT);
	ASSERT_EQ(bs_sysfs_modalias_chain(c, "../vda", &chain), -EINVAL);
	ASSERT_NULL(chain);
}
