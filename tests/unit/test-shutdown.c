/* The shutdown's pieces that need no machine to stop: meminfo, mountinfo escapes, which
 * processes would be stopped (read from a fake /proc), the verbs, the ramfs copy of /init,
 * and the command's dry run and refusals. Nothing here signals, unmounts or reboots. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "root.h"
#include "shutdown.h"
#include "tests.h"
#include "util.h"

#define ASSERT_CONTAINS(haystack, needle) ASSERT_NOTNULL(strstr(strempty(haystack), (needle)))

TEST(meminfo_dirty_and_writeback)
{
	uint64_t d = 1, w = 1;

	ASSERT_OK(sd_meminfo_dirty("MemTotal:  1000 kB\nDirty:   12 kB\nWriteback:   0 kB\n"
				   "WritebackTmp:   7 kB\n",
				   &d, &w));
	ASSERT_EQ(d, (uint64_t)12);
	ASSERT_EQ(w, (uint64_t)0);
	/* WritebackTmp is not Writeback; one missing is an error, not a zero. */
	ASSERT_ERR(sd_meminfo_dirty("Dirty: 0 kB\nWritebackTmp: 0 kB\n", &d, &w), -EINVAL);
	ASSERT_ERR(sd_meminfo_dirty("", &d, &w), -EINVAL);
}

TEST(mountinfo_escapes)
{
	char s[] = "/mnt/with\\040space/and\\011tab\\134back";
	char t[] = "/plain\\9";

	sd_unescape_mountinfo(s);
	ASSERT_STREQ(s, "/mnt/with space/and\ttab\\back");
	sd_unescape_mountinfo(t);
	ASSERT_STREQ(t, "/plain\\9");
}

TEST(verbs)
{
	int how = 0;

	ASSERT_OK(sd_verb_to_reboot("poweroff", &how));
	ASSERT_EQ(how, RB_POWER_OFF);
	ASSERT_OK(sd_verb_to_reboot("reboot", &how));
	ASSERT_EQ(how, RB_AUTOBOOT);
	ASSERT_OK(sd_verb_to_reboot("kexec", &how));
	ASSERT_EQ(how, RB_AUTOBOOT);
	ASSERT_OK(sd_verb_to_reboot("halt", &how));
	ASSERT_EQ(how, (int)RB_HALT_SYSTEM);
	ASSERT_ERR(sd_verb_to_reboot("suspend", &how), -EINVAL);
	ASSERT_ERR(sd_verb_to_reboot(NULL, &how), -EINVAL);
	ASSERT_STREQ(sd_verb_doing("poweroff"), "powering off");
}

static void fake_proc(const char *dir, const char *pid, const char *comm, unsigned flags,
		      const char *argv0, const char *fd_target)
{
	_cleanup_free_ char *stat = NULL;
	char *p = NULL;

	ASSERT_TRUE(asprintf(&stat, "%s (%s) S 1 1 1 0 -1 %u 0 0\n", pid, comm, flags) >= 0);
	ASSERT_TRUE(asprintf(&p, "%s/stat", pid) >= 0);
	test_write_file(dir, p, stat);
	free(p);
	ASSERT_TRUE(asprintf(&p, "%s/cmdline", pid) >= 0);
	test_write_file(dir, p, argv0);
	free(p);
	ASSERT_TRUE(asprintf(&p, "%s/cwd", pid) >= 0);
	test_symlink(dir, p, "/");
	free(p);
	ASSERT_TRUE(asprintf(&p, "%s/fd", pid) >= 0);
	test_mkdir_p(dir, p);
	if (fd_target) {
		free(p);
		ASSERT_TRUE(asprintf(&p, "%s/fd/3", pid) >= 0);
		test_symlink(dir, p, fd_target);
	}
	free(p);
}

/* What stage one would stop: the holders of the non-root mounts, never a kernel thread, PID 1,
 * or a root-storage daemon ('@'), which is named as kept. Read from a fake /proc, dry run. */
TEST(holders_are_chosen_and_root_daemons_kept)
{
	const char *dir = test_scratch();
	char *mounts[] = { (char *)"/srv/bs-test-none", NULL };
	char *out = NULL;
	size_t size = 0;
	FILE *f;
	int saved, r;

	fake_proc(dir, "1", "init", 0, "/sbin/init", "/srv/bs-test-none/x");
	fake_proc(dir, "200", "kworker/0:1", 0x00200000u, "", "/srv/bs-test-none/x");
	fake_proc(dir, "300", "editor", 0, "vi", "/srv/bs-test-none/notes");
	fake_proc(dir, "301", "shell", 0, "sh", "/srv/bs-test-nonesuch/f");
	fake_proc(dir, "400", "nbd-client", 0, "@nbd-client", "/srv/bs-test-none/disk");
	fake_proc(dir, "401", "lvmpolld", 0, "@lvmpolld", NULL);
	fake_proc(dir, "500", "idle", 0, "sleep", NULL);

	f = open_memstream(&out, &size);
	ASSERT_NOTNULL(f);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ASSERT_TRUE(saved >= 0);
	{
		char path[4096];
		int fd;

		snprintf(path, sizeof(path), "%s/stderr", dir);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		ASSERT_TRUE(fd >= 0);
		dup2(fd, STDERR_FILENO);
		close(fd);
		sd_set_prefix("T: ");
		r = sd_kill(&(const struct sd_kill_opts){ .scope = SD_KILL_HOLDERS,
							  .mount_points = mounts,
							  .proc = dir,
							  .dry_run = true });
		dup2(saved, STDERR_FILENO);
		close(saved);
		fclose(f);
		free(out);
		out = NULL;
		ASSERT_EQ(r, 0);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ASSERT_TRUE(fd >= 0);
		{
			char buf[4096];
			ssize_t n = read(fd, buf, sizeof(buf) - 1);

			ASSERT_TRUE(n > 0);
			buf[n] = '\0';
			close(fd);
			ASSERT_CONTAINS(buf, "T: would stop 300 (editor), which holds /srv/bs-test-none\n");
			ASSERT_CONTAINS(buf, "T: keeping 400 (nbd-client), which holds /srv/bs-test-none: "
					     "a root-storage daemon ('@')\n");
			/* Named as kept even when it holds none of them. */
			ASSERT_CONTAINS(buf, "T: keeping 401 (lvmpolld): a root-storage daemon ('@')\n");
			ASSERT_NULL(strstr(buf, "(init)"));
			ASSERT_NULL(strstr(buf, "kworker"));
			ASSERT_NULL(strstr(buf, "(shell)")); /* /srv/bs-test-nonesuch is not /srv/bs-test-none */
			ASSERT_NULL(strstr(buf, "(idle)"));
		}
	}
}

/* The ramfs /init keeps: the image's files and links with their modes, minus what is skipped
 * (the modules, key files, /init). */
TEST(ramfs_copy_skips_modules_and_keys)
{
	const char *dir = test_scratch();
	_cleanup_free_ char *src = NULL, *dst = NULL, *p = NULL;
	char *skip[] = { (char *)"init", (char *)"lib/modules", (char *)"etc/keys/root.key", NULL };
	struct stat st;
	uint64_t bytes = 0;

	ASSERT_TRUE(asprintf(&src, "%s/image", dir) >= 0);
	ASSERT_TRUE(asprintf(&dst, "%s/ramfs", dir) >= 0);
	test_mkdir_p(dir, "image");
	test_write_file(src, "init", "the init binary");
	test_write_file(src, "shutdown", "the shutdown binary");
	test_write_file(src, "lib/modules/6.1/kernel/dm-crypt.ko", "a module");
	test_write_file(src, "lib/x86_64-linux-gnu/libc.so.6", "libc");
	test_symlink(src, "lib64", "lib");
	test_write_file(src, "etc/keys/root.key", "secret");
	test_write_file(src, "etc/blkstack/manifest.json", "{}");
	ASSERT_TRUE(asprintf(&p, "%s/shutdown", src) >= 0);
	ASSERT_OK(chmod(p, 0755));

	ASSERT_OK(init_copy_tree(src, dst, skip, &bytes));
	ASSERT_EQ(bytes, (uint64_t)(strlen("the shutdown binary") + strlen("libc") + strlen("{}")));
	free(p);
	ASSERT_TRUE(asprintf(&p, "%s/shutdown", dst) >= 0);
	ASSERT_OK(stat(p, &st));
	ASSERT_EQ(st.st_mode & 07777, (unsigned)0755);
	free(p);
	ASSERT_TRUE(asprintf(&p, "%s/lib64", dst) >= 0);
	ASSERT_OK(lstat(p, &st));
	ASSERT_TRUE(S_ISLNK(st.st_mode));
	free(p);
	ASSERT_TRUE(asprintf(&p, "%s/init", dst) >= 0);
	ASSERT_ERR(access(p, F_OK) < 0 ? -errno : 0, -ENOENT);
	free(p);
	ASSERT_TRUE(asprintf(&p, "%s/lib/modules", dst) >= 0);
	ASSERT_ERR(access(p, F_OK) < 0 ? -errno : 0, -ENOENT);
	free(p);
	ASSERT_TRUE(asprintf(&p, "%s/etc/keys/root.key", dst) >= 0);
	ASSERT_ERR(access(p, F_OK) < 0 ? -errno : 0, -ENOENT);
	free(p);
	ASSERT_TRUE(asprintf(&p, "%s/etc/blkstack/manifest.json", dst) >= 0);
	ASSERT_OK(access(p, R_OK));
}

/* The command refuses before it does anything: a bad verb or option, --sysroot (it acts on
 * the running system), and the ramfs's /shutdown outside PID 1. */
TEST(shutdown_refusals)
{
	struct test_cli_result r;
	const char *fixtures = getenv("BLKSTACK_FIXTURES");
	const char *shutdown = getenv("BLKSTACK_SHUTDOWN");
	_cleanup_free_ char *root = NULL, *cmd = NULL;

	r = TEST_RUN_CLI("shutdown", "suspend");
	ASSERT_EQ(r.exit_code, 2);
	ASSERT_CONTAINS(r.err, "'suspend' is not poweroff, reboot or halt");
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("shutdown");
	ASSERT_EQ(r.exit_code, 2);
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("shutdown", "poweroff", "--grace=soon");
	ASSERT_EQ(r.exit_code, 2);
	ASSERT_CONTAINS(r.err, "--grace takes seconds");
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("shutdown", "reboot", "--json");
	ASSERT_EQ(r.exit_code, 2);
	test_cli_result_done(&r);
	if (!fixtures)
		SKIP("BLKSTACK_FIXTURES is not set; run through 'meson test'");
	ASSERT_TRUE(asprintf(&root, "%s/ps1-raid6-lvm-crypt-assembled", fixtures) >= 0);
	r = TEST_RUN_CLI("--sysroot", root, "shutdown", "poweroff");
	ASSERT_EQ(r.exit_code, 2);
	ASSERT_CONTAINS(r.err, "shutdown acts on the running system");
	test_cli_result_done(&r);
	r = TEST_RUN_CLI("shutdown", "--help");
	ASSERT_EQ(r.exit_code, 0);
	ASSERT_CONTAINS(r.out, "Usage: blkstack shutdown poweroff|reboot|halt");
	test_cli_result_done(&r);

	ASSERT_NOTNULL(shutdown);
	ASSERT_TRUE(asprintf(&cmd, "'%s' poweroff 2>/dev/null", shutdown) >= 0);
	/* Not PID 1: it refuses, exit 1, and does nothing. */
	ASSERT_EQ(WEXITSTATUS(system(cmd)), 1);
}

/* The dry run on a fixture: stage one's plan, and the root set's layers kept, once. */
TEST(shutdown_dry_run_names_what_is_kept_for_root)
{
	const char *fixtures = getenv("BLKSTACK_FIXTURES");
	_cleanup_free_ char *root = NULL;
	struct test_cli_result r;

	if (!fixtures)
		SKIP("BLKSTACK_FIXTURES is not set; run through 'meson test'");
	ASSERT_TRUE(asprintf(&root, "%s/ps1-raid6-lvm-crypt-assembled", fixtures) >= 0);
	r = TEST_RUN_CLI("--sysroot", root, "shutdown", "poweroff", "--dry-run");
	ASSERT_EQ(r.exit_code, 0);
	ASSERT_CONTAINS(r.out, "stage one (poweroff):");
	ASSERT_CONTAINS(r.out, "umount         mnt:/srv\n");
	ASSERT_CONTAINS(r.out, "remount-ro     mnt:/ ");
	ASSERT_CONTAINS(r.out, "kept for root (closed by the shutdown ramfs): ");
	ASSERT_CONTAINS(r.out, "crypt:cryptroot");
	ASSERT_NULL(strstr(strstr(r.out, "kept for root") + 1, "kept for root"));
	test_cli_result_done(&r);
}
