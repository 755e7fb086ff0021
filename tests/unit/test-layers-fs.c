/* Unit tests of the mount, swap, loop and btrfs drivers and of uevent.c, without privileges. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/swap.h>
#include <time.h>
#include <unistd.h>

#include "blkstack.h"
#include "exec-harness.h"
#include "real.h"
#include "recorder.h"
#include "sources/fs-options.h"
#include "tests.h"
#include "uevent.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)

/* ---- mount options ----------------------------------------------------------------------- */

TEST(mount_options_defaults)
{
	struct bs_mount_options o;

	ASSERT_OK(bs_mount_options_split(NULL, &o));
	ASSERT_EQ(o.flags, 0UL);
	ASSERT_EQ(o.propagation, 0UL);
	ASSERT_NULL(o.data);
	ASSERT_NULL(o.helper);
	bs_mount_options_done(&o);

	ASSERT_OK(bs_mount_options_split("defaults", &o));
	ASSERT_EQ(o.flags, 0UL);
	ASSERT_NULL(o.data);
	bs_mount_options_done(&o);

	ASSERT_ERR(bs_mount_options_split("ro", NULL), -EINVAL);
}

TEST(mount_options_split_kernel_filesystem_userspace)
{
	struct bs_mount_options o;

	ASSERT_OK(bs_mount_options_split("ro,noatime,subvol=@home,compress=zstd:3,nofail,noauto,"
					 "x-systemd.device-timeout=5,_netdev,comment=x,auto,"
					 "X-mount.mkdir",
					 &o));
	ASSERT_EQ(o.flags, (unsigned long)(MS_RDONLY | MS_NOATIME));
	ASSERT_EQ(o.propagation, 0UL);
	ASSERT_STREQ(o.data, "subvol=@home,compress=zstd:3");
	ASSERT_STREQ(o.helper, "ro,noatime,subvol=@home,compress=zstd:3");
	ASSERT_NULL(o.loop_unsupported);
	bs_mount_options_done(&o);

	/* The last of ro and rw wins, as for mount(8). */
	ASSERT_OK(bs_mount_options_split("ro,rw,nosuid,nodev,errors=remount-ro", &o));
	ASSERT_EQ(o.flags, (unsigned long)(MS_NOSUID | MS_NODEV));
	ASSERT_STREQ(o.data, "errors=remount-ro");
	bs_mount_options_done(&o);
}

TEST(mount_options_user_implies_secure_flags)
{
	struct bs_mount_options o;

	/* fstab(5): user implies noexec, nosuid and nodev; a later exec undoes noexec. */
	ASSERT_OK(bs_mount_options_split("user", &o));
	ASSERT_EQ(o.flags, (unsigned long)(MS_NOEXEC | MS_NOSUID | MS_NODEV));
	ASSERT_NULL(o.data);
	bs_mount_options_done(&o);

	ASSERT_OK(bs_mount_options_split("user,exec", &o));
	ASSERT_EQ(o.flags, (unsigned long)(MS_NOSUID | MS_NODEV));
	bs_mount_options_done(&o);
}

TEST(mount_options_bind_and_propagation)
{
	struct bs_mount_options o;

	ASSERT_OK(bs_mount_options_split("bind,ro", &o));
	ASSERT_EQ(o.flags, (unsigned long)(MS_BIND | MS_RDONLY));
	ASSERT_EQ(o.propagation, 0UL);
	bs_mount_options_done(&o);

	ASSERT_OK(bs_mount_options_split("rbind", &o));
	ASSERT_EQ(o.flags, (unsigned long)(MS_BIND | MS_REC));
	bs_mount_options_done(&o);

	/* Propagation is a call of its own; its MS_REC does not make the mount recursive. */
	ASSERT_OK(bs_mount_options_split("bind,rshared", &o));
	ASSERT_EQ(o.flags, (unsigned long)MS_BIND);
	ASSERT_EQ(o.propagation, (unsigned long)(MS_SHARED | MS_REC));
	bs_mount_options_done(&o);

	ASSERT_OK(bs_mount_options_split("private,noexec", &o));
	ASSERT_EQ(o.flags, (unsigned long)MS_NOEXEC);
	ASSERT_EQ(o.propagation, (unsigned long)MS_PRIVATE);
	bs_mount_options_done(&o);

	/* Not for a fresh mount. */
	ASSERT_OK(bs_mount_options_split("remount,ro", &o));
	ASSERT_EQ(o.flags, (unsigned long)MS_RDONLY);
	bs_mount_options_done(&o);
}

TEST(mount_options_loop)
{
	struct bs_mount_options o;

	ASSERT_OK(bs_mount_options_split("loop,ro", &o));
	ASSERT_EQ(o.flags, (unsigned long)MS_RDONLY);
	ASSERT_NULL(o.data);
	ASSERT_NULL(o.loop_unsupported);
	bs_mount_options_done(&o);

	ASSERT_OK(bs_mount_options_split("loop=/dev/loop3,offset=1048576,sizelimit=8M", &o));
	ASSERT_NULL(o.data);
	ASSERT_STREQ(o.loop_unsupported, "offset=1048576,sizelimit=8M");
	bs_mount_options_done(&o);
}

/* ---- swap options ------------------------------------------------------------------------ */

TEST(swap_flags)
{
	int flags = -1;
	char *bad = NULL;

	ASSERT_OK(bs_swap_flags_from_options(NULL, &flags, NULL));
	ASSERT_EQ(flags, 0);
	ASSERT_OK(bs_swap_flags_from_options("sw,defaults,nofail,x-systemd.makefs", &flags, NULL));
	ASSERT_EQ(flags, 0);

	ASSERT_OK(bs_swap_flags_from_options("pri=5", &flags, NULL));
	ASSERT_EQ(flags, SWAP_FLAG_PREFER | 5);
	ASSERT_OK(bs_swap_flags_from_options("pri=32767", &flags, NULL));
	ASSERT_EQ(flags, SWAP_FLAG_PREFER | 32767);
	ASSERT_OK(bs_swap_flags_from_options("pri=0", &flags, NULL));
	ASSERT_EQ(flags, SWAP_FLAG_PREFER);
	/* swapon(8)'s -1: the kernel chooses. */
	ASSERT_OK(bs_swap_flags_from_options("pri=-1", &flags, NULL));
	ASSERT_EQ(flags, 0);

	ASSERT_OK(bs_swap_flags_from_options("discard", &flags, NULL));
	ASSERT_EQ(flags, SWAP_FLAG_DISCARD);
	ASSERT_OK(bs_swap_flags_from_options("discard=once,pri=10", &flags, NULL));
	ASSERT_EQ(flags, SWAP_FLAG_DISCARD | 0x20000 | SWAP_FLAG_PREFER | 10);
	ASSERT_OK(bs_swap_flags_from_options("discard=pages", &flags, NULL));
	ASSERT_EQ(flags, SWAP_FLAG_DISCARD | 0x40000);

	flags = 7;
	ASSERT_ERR(bs_swap_flags_from_options("sw,pri=32768", &flags, &bad), -EINVAL);
	ASSERT_STREQ(bad, "pri=32768");
	ASSERT_EQ(flags, 7);
	bad = mfree(bad);
	ASSERT_ERR(bs_swap_flags_from_options("pri=high", &flags, &bad), -EINVAL);
	ASSERT_STREQ(bad, "pri=high");
	bad = mfree(bad);
	ASSERT_ERR(bs_swap_flags_from_options("pri=-2", &flags, NULL), -EINVAL);
	ASSERT_ERR(bs_swap_flags_from_options("discard=always", &flags, &bad), -EINVAL);
	ASSERT_STREQ(bad, "discard=always");
	free(bad);
}

/* ---- uevent messages --------------------------------------------------------------------- */

#define VDB1_PATH "/devices/pci0000:00/0000:00:05.0/virtio3/block/vdb/vdb1"
#define VDB1_ADD                                                                                   \
	"add@" VDB1_PATH "\0ACTION=add\0DEVPATH=" VDB1_PATH "\0SUBSYSTEM=block\0MAJOR=254\0"       \
	"MINOR=17\0DEVNAME=vdb1\0DEVTYPE=partition\0DISKSEQ=3\0PARTN=1\0SEQNUM=1234"

/* sizeof a string literal counts its final NUL: the message as the kernel sends it. */
#define PARSE(lit, u) bs_uevent_parse((lit), sizeof(lit), (u))

TEST(uevent_parse_kernel_message)
{
	struct bs_uevent u;

	ASSERT_OK(PARSE(VDB1_ADD, &u));
	ASSERT_STREQ(u.action, "add");
	ASSERT_STREQ(u.devpath, VDB1_PATH);
	ASSERT_STREQ(u.subsystem, "block");
	ASSERT_STREQ(u.devname, "vdb1");
	ASSERT_STREQ(u.devtype, "partition");
	ASSERT_STREQ(u.kernel_name, "vdb1");

	/* Other subsystems parse too; choosing is the caller's business. */
	ASSERT_OK(PARSE("change@/devices/virtual/net/lo\0ACTION=change\0DEVPATH=/devices/virtual/"
			"net/lo\0SUBSYSTEM=net\0INTERFACE=lo",
			&u));
	ASSERT_STREQ(u.subsystem, "net");
	ASSERT_NULL(u.devname);
	ASSERT_NULL(u.devtype);
	ASSERT_STREQ(u.kernel_name, "lo");

	/* A kernel name with '!' in sysfs, and '/' in DEVNAME. */
	ASSERT_OK(PARSE("add@/devices/x/block/cciss!c0d0\0ACTION=add\0DEVPATH=/devices/x/block/"
			"cciss!c0d0\0SUBSYSTEM=block\0DEVNAME=cciss/c0d0",
			&u));
	ASSERT_STREQ(u.kernel_name, "cciss!c0d0");
	ASSERT_STREQ(u.devname, "cciss/c0d0");
}

TEST(uevent_parse_odd_fields)
{
	struct bs_uevent u;

	/* Empty fields, a field without '=', a repeated key (the first counts), an empty
	 * DEVNAME (none). */
	ASSERT_OK(PARSE("add@/devices/b/vdc\0\0junk\0ACTION=add\0SUBSYSTEM=block\0DEVPATH=/"
			"devices/b/vdc\0SUBSYSTEM=net\0DEVNAME=\0\0",
			&u));
	ASSERT_STREQ(u.subsystem, "block");
	ASSERT_NULL(u.devname);
	ASSERT_STREQ(u.kernel_name, "vdc");
}

TEST(uevent_parse_rejects)
{
	static const char cut[] = VDB1_ADD;
	struct bs_uevent u = {};

	ASSERT_ERR(bs_uevent_parse(NULL, 4, &u), -EINVAL);
	ASSERT_ERR(bs_uevent_parse("", 0, &u), -EBADMSG);
	/* Cut inside a field: that field has no end. (Cut between fields, it is a shorter
	 * message, complete if the fields that matter came first.) */
	for (size_t n = 1; n < sizeof(cut); n++)
		if (cut[n - 1] != '\0')
			ASSERT_ERR(bs_uevent_parse(cut, n, &u), -EBADMSG);
	/* Not NUL-terminated at all. */
	ASSERT_ERR(bs_uevent_parse("add@/devices/x", strlen("add@/devices/x"), &u), -EBADMSG);
	/* The header alone. */
	ASSERT_ERR(PARSE("add@/devices/x", &u), -EBADMSG);
	/* No '@', no action, no path. */
	ASSERT_ERR(PARSE("add/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block", &u),
		   -EBADMSG);
	ASSERT_ERR(PARSE("@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block", &u),
		   -EBADMSG);
	ASSERT_ERR(PARSE("add@\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block", &u), -EBADMSG);
	/* Missing fields. */
	ASSERT_ERR(PARSE("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x", &u), -EBADMSG);
	ASSERT_ERR(PARSE("add@/devices/x\0DEVPATH=/devices/x\0SUBSYSTEM=block", &u), -EBADMSG);
	ASSERT_ERR(PARSE("add@/devices/x\0ACTION=add\0SUBSYSTEM=block", &u), -EBADMSG);
	ASSERT_ERR(PARSE("add@/devices/x\0ACTION=\0DEVPATH=/devices/x\0SUBSYSTEM=block", &u),
		   -EBADMSG);
	/* A header that disagrees with the fields. */
	ASSERT_ERR(PARSE("add@/devices/x\0ACTION=remove\0DEVPATH=/devices/x\0SUBSYSTEM=block", &u),
		   -EBADMSG);
	ASSERT_ERR(PARSE("add@/devices/x\0ACTION=add\0DEVPATH=/devices/y\0SUBSYSTEM=block", &u),
		   -EBADMSG);
	ASSERT_ERR(PARSE("ad@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block", &u),
		   -EBADMSG);
	/* A path without a last component. */
	ASSERT_ERR(PARSE("add@/devices/x/\0ACTION=add\0DEVPATH=/devices/x/\0SUBSYSTEM=block", &u),
		   -EBADMSG);
	/* udev's own messages: "libudev", then a binary header. */
	ASSERT_ERR(PARSE("libudev\0\xfe\xed\xca\xfe\0\0\0\0ACTION=add\0DEVPATH=/devices/x\0"
			 "SUBSYSTEM=block",
			 &u),
		   -EBADMSG);
	/* Nothing was written on failure. */
	ASSERT_NULL(u.action);
}

/* ---- matching devices on a made-up sysroot ----------------------------------------------- */

#define SWAP_UUID "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

/* A swap area's signature, the simplest that libblkid reports a UUID for: version 1 at byte
 * 1024, the UUID at 1036, "SWAPSPACE2" at the end of the first 4 KiB page. */
static void write_swap_image(const char *root, const char *relpath)
{
	static const uint8_t uuid[16] = { 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x4a, 0x6b,
					  0x8c, 0x7d, 0x9e, 0x0f, 0x1a, 0x2b, 0x3c, 0x4d };
	_cleanup_free_ char *path = NULL, *img = calloc(1, 65536);
	int fd;

	ASSERT_NOTNULL(img);
	img[1024] = 1;
	img[1028] = 15;
	memcpy(img + 1036, uuid, sizeof(uuid));
	memcpy(img + 4096 - 10, "SWAPSPACE2", 10);
	ASSERT_OK(strextend(&path, root, "/", relpath, NULL));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, img, 65536), (ssize_t)65536);
	ASSERT_OK(close(fd));
}

/* A disk with a partition, a SCSI disk with a padded serial, loop devices (one of size 0)
 * and a suspended dm device, the last three over the same swap image. */
static const char *make_tree(void)
{
	const char *root = test_tmpdir();

	test_write_file(root, "sys/devices/pci0/virtio3/block/vdb/size", "41943040\n");
	test_write_file(root, "sys/devices/pci0/virtio3/block/vdb/serial", "ps1b\n");
	test_write_file(root, "sys/devices/pci0/virtio3/block/vdb/vdb1/size", "2048\n");
	test_write_file(root, "sys/devices/pci0/virtio3/block/vdb/vdb1/partition", "1\n");
	test_symlink(root, "sys/class/block/vdb", "../../devices/pci0/virtio3/block/vdb");
	test_symlink(root, "sys/class/block/vdb1", "../../devices/pci0/virtio3/block/vdb/vdb1");

	test_write_file(root, "sys/devices/scsi/host0/block/sda/size", "2048\n");
	test_write_file(root, "sys/devices/scsi/host0/block/sda/device/serial", "  WD-123   \n");
	test_symlink(root, "sys/class/block/sda", "../../devices/scsi/host0/block/sda");

	test_write_file(root, "sys/devices/virtual/block/loop0/size", "128\n");
	test_write_file(root, "sys/devices/virtual/block/loop1/size", "0\n");
	test_write_file(root, "sys/devices/virtual/block/dm-0/size", "128\n");
	test_write_file(root, "sys/devices/virtual/block/dm-0/dm/suspended", "1\n");
	test_symlink(root, "sys/class/block/loop0", "../../devices/virtual/block/loop0");
	test_symlink(root, "sys/class/block/loop1", "../../devices/virtual/block/loop1");
	test_symlink(root, "sys/class/block/dm-0", "../../devices/virtual/block/dm-0");

	test_write_file(root, "sys/devices/x/block/cciss!c0d0/size", "2048\n");
	test_symlink(root, "sys/class/block/cciss!c0d0", "../../devices/x/block/cciss!c0d0");

	test_mkdir_p(root, "dev/cciss");
	write_swap_image(root, "dev/loop0");
	write_swap_image(root, "dev/loop1");
	write_swap_image(root, "dev/dm-0");
	test_write_file(root, "dev/vdb", "");
	return root;
}

TEST(match_serial)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = ctx_on_sysroot(make_tree(), NULL);

	ASSERT_EQ(bs_device_match_test(c, "vdb", &(struct bs_device_match){ .serial = "ps1b" }), 1);
	ASSERT_EQ(bs_device_match_test(c, "vdb", &(struct bs_device_match){ .serial = "ps1" }), 0);
	/* A partition does not carry its disk's serial. */
	ASSERT_EQ(bs_device_match_test(c, "vdb1", &(struct bs_device_match){ .serial = "ps1b" }),
		  0);
	/* SCSI pads with blanks; device/serial is read when there is no serial. */
	ASSERT_EQ(bs_device_match_test(c, "sda", &(struct bs_device_match){ .serial = "WD-123" }),
		  1);
	/* The serial decides even when a name is given too. */
	ASSERT_EQ(bs_device_match_test(
			  c, "sda", &(struct bs_device_match){ .serial = "ps1b", .name = "sda" }),
		  0);
	ASSERT_EQ(bs_device_match_test(c, "nosuch", &(struct bs_device_match){ .serial = "ps1b" }),
		  0);
}

TEST(match_name)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = ctx_on_sysroot(make_tree(), NULL);

	ASSERT_EQ(bs_device_match_test(c, "vdb1", &(struct bs_device_match){ .name = "vdb1" }), 1);
	ASSERT_EQ(bs_device_match_test(c, "vdb", &(struct bs_device_match){ .name = "vdb1" }), 0);
	ASSERT_EQ(bs_device_match_test(c, "vdc", &(struct bs_device_match){ .name = "vdc" }), 0);
	ASSERT_EQ(bs_device_match_test(c, "cciss!c0d0",
				       &(struct bs_device_match){ .name = "cciss/c0d0" }),
		  1);
}

TEST(match_uuid_probes_dev)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = ctx_on_sysroot(make_tree(), NULL);
	const struct bs_device_match upper = { .id = "swap:x",
					       .uuid = "0A1B2C3D-4E5F-4A6B-8C7D-"
						       "9E0F1A2B3C4D" };

	ASSERT_EQ(bs_device_match_test(c, "loop0", &(struct bs_device_match){ .uuid = SWAP_UUID }),
		  1);
	/* Case does not matter. */
	ASSERT_EQ(bs_device_match_test(c, "loop0", &upper), 1);
	ASSERT_EQ(bs_device_match_test(c, "loop0",
				       &(struct bs_device_match){ .uuid = "0a1b2c3d-0000" }),
		  0);
	/* Empty devices and suspended dm devices are not read. */
	ASSERT_EQ(bs_device_match_test(c, "loop1", &(struct bs_device_match){ .uuid = SWAP_UUID }),
		  0);
	ASSERT_EQ(bs_device_match_test(c, "dm-0", &(struct bs_device_match){ .uuid = SWAP_UUID }),
		  0);
	/* Nothing to find on an empty file, and no dev/ node at all. */
	ASSERT_EQ(bs_device_match_test(c, "vdb", &(struct bs_device_match){ .uuid = SWAP_UUID }),
		  0);
	ASSERT_EQ(bs_device_match_test(c, "sda", &(struct bs_device_match){ .uuid = SWAP_UUID }),
		  0);
	/* A swap area has no UUID_SUB and no partition entry. */
	ASSERT_EQ(bs_device_match_test(c, "loop0",
				       &(struct bs_device_match){ .uuid_sub = SWAP_UUID }),
		  0);
	ASSERT_EQ(bs_device_match_test(c, "loop0",
				       &(struct bs_device_match){ .partuuid = SWAP_UUID }),
		  0);
}

TEST(match_rejects_bad_arguments)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = ctx_on_sysroot(make_tree(), NULL);

	ASSERT_ERR(bs_device_match_test(c, "vdb", &(struct bs_device_match){ .id = "blk:vdb" }),
		   -EINVAL);
	ASSERT_ERR(bs_device_match_test(c, "vdb", &(struct bs_device_match){ .serial = "" }),
		   -EINVAL);
	ASSERT_ERR(bs_device_match_test(c, "../vdb", &(struct bs_device_match){ .name = "vdb" }),
		   -EINVAL);
	ASSERT_ERR(bs_device_match_test(c, "..", &(struct bs_device_match){ .name = ".." }),
		   -EINVAL);
	ASSERT_ERR(bs_device_match_test(c, "", &(struct bs_device_match){ .name = "vdb" }),
		   -EINVAL);
	ASSERT_ERR(bs_device_match_test(NULL, "vdb", &(struct bs_device_match){ .name = "vdb" }),
		   -EINVAL);
}

/* ---- waiting through netlink ------------------------------------------------------------- */

static int uevent_socket(void)
{
	const struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd =
		socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);

	if (fd < 0)
		SKIP("no uevent netlink socket here: %m");
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0)
		SKIP("cannot bind a uevent netlink socket here: %m");
	return fd;
}

static uint64_t now_msec(void)
{
	struct timespec ts;

	ASSERT_OK(clock_gettime(CLOCK_MONOTONIC, &ts));
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Any process may send to a netlink socket's port directly; only the kernel's messages
 * count. */
TEST(receive_ignores_forged_messages)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = ctx_on_sysroot(make_tree(), NULL);
	_cleanup_close_ int fd = uevent_socket(), sender = uevent_socket();
	_cleanup_free_ char *buf = malloc(BS_UEVENT_MAX);
	struct sockaddr_nl to = {};
	socklen_t len = sizeof(to);
	struct bs_uevent u;
	int sv[2];

	ASSERT_NOTNULL(buf);
	ASSERT_EQ(bs_uevent_receive(c, fd, buf, &u), 0);

	ASSERT_OK(getsockname(fd, (struct sockaddr *)&to, &len));
	ASSERT_TRUE(to.nl_pid != 0);
	if (sendto(sender, VDB1_ADD, sizeof(VDB1_ADD), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		SKIP("cannot send to a netlink port here: %m");
	ASSERT_EQ(bs_uevent_receive(c, fd, buf, &u), 0);

	/* Nor over anything but netlink. */
	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
	ASSERT_EQ(send(sv[0], VDB1_ADD, sizeof(VDB1_ADD), 0), (ssize_t)sizeof(VDB1_ADD));
	ASSERT_EQ(bs_uevent_receive(c, sv[1], buf, &u), 0);
	close(sv[0]);
	close(sv[1]);
}

TEST(wait_device_finds_what_is_there)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = ctx_on_sysroot(make_tree(), NULL);
	struct bs_real_ops_data data = { .ctx = c, .opts = { .key_fd = -1 } };
	/* Skips the test when netlink is not available; closed at the end. */
	_cleanup_close_ _unused_ int probe = uevent_socket();
	char *name = NULL;

	ASSERT_OK(bs_real_wait_device(&data, &(struct bs_device_match){ .serial = "WD-123" },
				      1000000, &name));
	ASSERT_STREQ(name, "sda");
	name = mfree(name);
	ASSERT_OK(bs_real_wait_device(&data, &(struct bs_device_match){ .uuid = SWAP_UUID },
				      1000000, &name));
	ASSERT_STREQ(name, "loop0");
	name = mfree(name);
	ASSERT_OK(bs_real_wait_device(&data, &(struct bs_device_match){ .name = "cciss/c0d0" },
				      1000000, &name));
	ASSERT_STREQ(name, "cciss!c0d0");
	free(name);

	ASSERT_ERR(bs_real_wait_device(&data, &(struct bs_device_match){ .id = "x" }, 1000, &name),
		   -EINVAL);
}

TEST(wait_device_times_out)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = ctx_on_sysroot(make_tree(), NULL);
	struct bs_real_ops_data data = { .ctx = c, .opts = { .key_fd = -1 } };
	/* Skips the test when netlink is not available; closed at the end. */
	_cleanup_close_ _unused_ int probe = uevent_socket();
	char *name = NULL;
	uint64_t start = now_msec(), elapsed;

	/* No device of the made-up tree matches, whatever the host's uevents say. */
	ASSERT_ERR(bs_real_wait_device(&data, &(struct bs_device_match){ .serial = "absent" },
				       200000, &name),
		   -ETIMEDOUT);
	elapsed = now_msec() - start;
	ASSERT_NULL(name);
	ASSERT_TRUE(elapsed >= 200);
	ASSERT_TRUE(elapsed < 5000);

	start = now_msec();
	ASSERT_ERR(bs_real_wait_device(&data, &(struct bs_device_match){ .name = "vdz" }, 0, &name),
		   -ETIMEDOUT);
	ASSERT_TRUE(now_msec() - start < 5000);
}

TEST(wait_uevent_times_out)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = ctx_on_sysroot(make_tree(), NULL);
	struct bs_real_ops_data data = { .ctx = c, .opts = { .key_fd = -1 } };
	/* Skips the test when netlink is not available; closed at the end. */
	_cleanup_close_ _unused_ int probe = uevent_socket();
	uint64_t start = now_msec();
	int r;

	/* The host may have a block uevent of its own in that time: then it returns early. */
	r = bs_real_wait_uevent(&data, 100000);
	ASSERT_TRUE(r == -ETIMEDOUT || r == 0);
	if (r == -ETIMEDOUT)
		ASSERT_TRUE(now_msec() - start >= 100);
	ASSERT_TRUE(now_msec() - start < 5000);
}

/* ---- the drivers, through the executor and the recording ops table ----------------------- */

/* lvm-swap-loop as its disks were at boot, with the graph recorded when it was last up, and
 * fstab and stack.conf replaced with fstab and stack_conf. */
static char *lvm_swap_loop(const char *fstab, const char *stack_conf)
{
	char *root = fixture_with_record("lvm-swap-loop");

	test_write_file(root, "etc/fstab", fstab);
	test_write_file(root, "etc/blkstack/stack.conf", stack_conf);
	return root;
}

#define ROOT_UUID "5c6c96df-813e-4985-a201-f5faa820967a"
#define BOOT_UUID "1f715f15-0d42-498d-8853-afa160c5c52d"
#define SWAP_LV_UUID "7a061c57-2d2e-4ffd-acd2-f617d3971f79"
#define DATA_UUID "43689da4-7051-4d1b-9a62-ea9b0ed4f4db"
#define LOOPFS_UUID "9fb94082-840b-464e-a978-07b233a8d412"

/* Strings handed out for the rest of the test: each test is a process of its own, and what
 * stays reachable from here is no leak. */
static char **kept;
static size_t n_kept;

static const char *keep(char *s)
{
	char **p = reallocarray(kept, n_kept + 1, sizeof(*kept));

	if (!p)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	kept = p;
	kept[n_kept++] = s;
	return s;
}

/* "STATUS: MESSAGE" of the step ACTION NODE, or NULL if it has none. */
static const char *outcome(const struct exec_run *run, const char *action, const char *node)
{
	int status = exec_run_status(run, action, node);
	const char *m = exec_run_message(run, action, node);
	char *s = NULL;

	if (status < 0)
		return NULL;
	ASSERT_OK(
		strextend(&s, bs_exec_status_to_string(status), m ? ": " : "", strempty(m), NULL));
	return keep(s);
}

/* Options of every kind: the kernel's, the filesystem's, userspace ones, swap priorities,
 * propagation, a loop image, a bind mount, a read-only loop file. */
#define OPTIONS_FSTAB                                                                              \
	"UUID=" ROOT_UUID " / ext4 noatime,errors=remount-ro,x-systemd.device-timeout=5 0 1\n"     \
	"UUID=" BOOT_UUID " /boot ext4 ro,nosuid,nodev,noexec,nofail 0 2\n"                        \
	"UUID=" SWAP_LV_UUID " none swap sw,pri=7,discard=once 0 0\n"                              \
	"UUID=" DATA_UUID " /data ext4 defaults 0 2\n"                                             \
	"UUID=" LOOPFS_UUID " /data/loop auto defaults,rshared 0 2\n"                              \
	"/data/images/extra.img /mnt/img ext4 loop,ro 0 0\n"                                       \
	"/boot /srv/boot none bind,ro 0 0\n"

/* Nothing else loads them without udev, or in an initramfs: each action loads what the
 * kernel needs for it first (DESIGN: modules, everywhere). */
TEST(drivers_load_their_kernel_modules)
{
	_cleanup_free_ char *root = lvm_swap_loop(OPTIONS_FSTAB, "loop /data/disk.img ro\n");
	struct recorder rec;
	struct exec_run run;
	const char *t;

	recorder_init(&rec);
	rec.record_modules = true;
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	t = recorder_transcript(&rec);
	ASSERT_EQ(run.r, 0);
	ASSERT_CONTAINS(t, "load-module dm_mod\nspawn lvm lvchange -ay -K sys/root\n");
	ASSERT_CONTAINS(t, "load-module fs-ext4\nmount /dev/mapper/sys-root / ext4");
	ASSERT_CONTAINS(t, "load-module dm_crypt\ncrypt-open cryptdata");
	ASSERT_CONTAINS(t, "load-module loop\nloop-attach /data/disk.img ro\n");
	/* A bind mount needs no filesystem module, swap none at all. */
	ASSERT_NULL(strstr(t, "load-module fs-none"));
	ASSERT_NULL(strstr(t, "load-module fs-swap"));
	exec_run_done(&run);
	recorder_done(&rec);
}

TEST(drivers_up_with_options)
{
	_cleanup_free_ char *root = lvm_swap_loop(OPTIONS_FSTAB, "loop /data/disk.img ro\n");
	struct recorder rec;
	struct exec_run run;
	const char *t;

	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	t = recorder_transcript(&rec);
	ASSERT_EQ(run.r, 0);

	/* Kernel flags apart, the filesystem's options as data, userspace ones dropped. */
	ASSERT_CONTAINS(t,
			"mount /dev/mapper/sys-root / ext4 flags=0x400 data=errors=remount-ro\n");
	ASSERT_CONTAINS(t, "mount /dev/vda1 /boot ext4 flags=0xf data=-\n");
	/* PREFER | 7 | DISCARD | DISCARD_ONCE */
	ASSERT_CONTAINS(t, "swapon /dev/mapper/sys-swap flags=0x38007\n");
	ASSERT_CONTAINS(t, "loop-attach /data/disk.img ro\n");
	/* "auto": the type the graph knows for the device; then the propagation call. */
	ASSERT_CONTAINS(t, "mount /dev/loop100 /data/loop ext4 flags=0 data=-\n"
			   "mount - /data/loop - flags=0x104000 data=-\n");
	/* An image file goes on a loop device of its own, read-only with the mount. */
	ASSERT_CONTAINS(t, "loop-attach /data/images/extra.img ro\n"
			   "mount /dev/loop101 /mnt/img ext4 flags=0x1 data=-\n");
	/* A bind mount takes its flags in a remount. */
	ASSERT_CONTAINS(t, "mount /boot /srv/boot - flags=0x1000 data=-\n"
			   "mount - /srv/boot - flags=0x1021 data=-\n");
	ASSERT_STREQ(outcome(&run, "loop-attach", "blk:loop0"), "done");
	ASSERT_STREQ(outcome(&run, "mount", "mnt:/srv/boot"), "done");

	exec_run_done(&run);
	recorder_done(&rec);
}

TEST(drivers_up_failures_say_what)
{
	_cleanup_free_ char *root =
		lvm_swap_loop("UUID=" ROOT_UUID " / ext4 defaults 0 1\n"
			      "UUID=" BOOT_UUID " /boot ext4 defaults 0 2\n"
			      "UUID=" DATA_UUID " /data ext4 defaults 0 2\n"
			      "UUID=" LOOPFS_UUID " /data/loop ext4 defaults 0 2\n",
			      "loop /data/disk.img offset=1M\n");
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	recorder_fail(&rec, "mount", "/boot", -ENOENT, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_TRUE(run.r < 0);

	ASSERT_CONTAINS(outcome(&run, "mount", "mnt:/boot"),
			"failed: mounting '/dev/vda1' (ext4) on '/boot' failed: No such file or "
			"directory; the mount point or the device does not exist");
	/* The loop options reach the ops table (its loop needs /data, which is up). */
	ASSERT_CONTAINS(recorder_transcript(&rec), "loop-attach /data/disk.img offset\n");
	ASSERT_STREQ(outcome(&run, "mount", "mnt:/"), "done");

	exec_run_done(&run);
	recorder_done(&rec);
}

TEST(drivers_down)
{
	_cleanup_free_ char *root = test_fixture("lvm-swap-loop-assembled");
	struct recorder rec;
	struct exec_run run;
	const char *t;

	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN,
		 .targets = (const char *const[]){ "mnt:/data", NULL }, .ops = recorder_ops(),
		 .ops_data = &rec);
	t = recorder_transcript(&rec);
	ASSERT_EQ(run.r, 0);
	ASSERT_CONTAINS(
		t, "umount /data/loop flags=0\nloop-detach /dev/loop0\numount /data flags=0\n");
	exec_run_done(&run);
	recorder_done(&rec);

	/* Busy: said, and passed on; the executor retries and names what holds it. */
	recorder_init(&rec);
	recorder_fail(&rec, "loop-detach", NULL, -EBUSY, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN,
		 .targets = (const char *const[]){ "mnt:/data", NULL }, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(run.r, -EBUSY);
	ASSERT_NULL(strstr(recorder_transcript(&rec), "umount /data flags"));
	exec_run_done(&run);
	recorder_done(&rec);

	recorder_init(&rec);
	recorder_fail(&rec, "umount", "/data/loop", -EBUSY, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN,
		 .targets = (const char *const[]){ "mnt:/data", NULL }, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(run.r, -EBUSY);
	ASSERT_CONTAINS(outcome(&run, "umount", "mnt:/data/loop"), "busy");
	ASSERT_NULL(strstr(recorder_transcript(&rec), "loop-detach"));
	exec_run_done(&run);
	recorder_done(&rec);

	recorder_init(&rec);
	recorder_fail(&rec, "swapoff", NULL, -ENOMEM, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN,
		 .targets = (const char *const[]){ "swap:lv:sys/swap", NULL },
		 .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_CONTAINS(recorder_transcript(&rec), "swapoff /dev/dm-1 -> ENOMEM");
	ASSERT_CONTAINS(outcome(&run, "swapoff", "swap:lv:sys/swap"),
			"not enough free memory to take its pages back");
	exec_run_done(&run);
	recorder_done(&rec);
}

TEST(drivers_btrfs)
{
	/* The graph recorded when the stack was last up; the scan's failure is said. */
	_cleanup_free_ char *root = fixture_with_record("btrfs-2crypt");
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	recorder_fail(&rec, "btrfs-scan", NULL, -ENOENT, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_EQ(run.r, -ENOENT);
	ASSERT_CONTAINS(
		outcome(&run, "btrfs-scan", "btrfs:aa54b249-4104-47b4-a99c-105749d0eb68"),
		"failed: registering '/dev/mapper/crypt1' with btrfs failed: No such file or "
		"directory (no /dev/btrfs-control: load the 'btrfs' module)");
	ASSERT_CONTAINS(outcome(&run, "mount", "mnt:/"), "skipped");
	exec_run_done(&run);
	recorder_done(&rec);
}

/* In an initramfs: everything of the system goes below the mount root. */
TEST(drivers_up_below_mount_root)
{
	_cleanup_free_ char *root = lvm_swap_loop(OPTIONS_FSTAB, "loop /data/disk.img ro\n");
	struct recorder rec;
	struct exec_run run;
	const char *t;

	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .mount_root = "/sysroot", .op = BS_PLAN_UP,
		 .ops = recorder_ops(), .ops_data = &rec);
	t = recorder_transcript(&rec);
	ASSERT_EQ(run.r, 0);
	ASSERT_CONTAINS(t, "mount /dev/mapper/sys-root /sysroot ext4 flags=0x400");
	ASSERT_CONTAINS(t, "mount /dev/vda1 /sysroot/boot ext4 flags=0xf data=-\n");
	ASSERT_CONTAINS(t, "loop-attach /sysroot/data/disk.img ro\n");
	ASSERT_CONTAINS(t, "loop-attach /sysroot/data/images/extra.img ro\n"
			   "mount /dev/loop101 /sysroot/mnt/img ext4 flags=0x1 data=-\n");
	ASSERT_CONTAINS(t, "mount /sysroot/boot /sysroot/srv/boot - flags=0x1000 data=-\n"
			   "mount - /sysroot/srv/boot - flags=0x1021 data=-\n");
	exec_run_done(&run);
	recorder_done(&rec);
}
