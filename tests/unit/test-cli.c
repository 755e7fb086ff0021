/* Unit tests of the blkstack command line: exit codes, global options, verb dispatch and the
 * log function it gives the library. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "build-config.h"
#include "exit-code.h"
#include "log.h"
#include "strv.h"
#include "tests.h"
#include "util.h"

TEST(exit_code_mapping)
{
	ASSERT_EQ(exit_code_from_errno(0), BS_EXIT_SUCCESS);
	ASSERT_EQ(exit_code_from_errno(3), BS_EXIT_SUCCESS);
	ASSERT_EQ(exit_code_from_errno(-EIO), BS_EXIT_FAILURE);
	ASSERT_EQ(exit_code_from_errno(-ENOENT), BS_EXIT_FAILURE);
	ASSERT_EQ(exit_code_from_errno(-BS_ERRNO_USAGE), BS_EXIT_USAGE);
	ASSERT_EQ(exit_code_from_errno(-EBADMSG), BS_EXIT_CONFIG);
	ASSERT_EQ(exit_code_from_errno(-ETIMEDOUT), BS_EXIT_TIMEOUT);
	ASSERT_EQ(exit_code_from_errno(-EBUSY), BS_EXIT_BUSY);
	ASSERT_EQ(exit_code_from_errno(-EKEYREJECTED), BS_EXIT_PIN_MISMATCH);
}

/* The numbers are a contract with scripts; the names must not drift from them. */
TEST(exit_code_values)
{
	ASSERT_EQ(BS_EXIT_SUCCESS, 0);
	ASSERT_EQ(BS_EXIT_FAILURE, 1);
	ASSERT_EQ(BS_EXIT_USAGE, 2);
	ASSERT_EQ(BS_EXIT_CONFIG, 3);
	ASSERT_EQ(BS_EXIT_TIMEOUT, 4);
	ASSERT_EQ(BS_EXIT_BUSY, 5);
	ASSERT_EQ(BS_EXIT_PIN_MISMATCH, 6);
}

TEST(help_option_lists_verbs_and_options)
{
	_cleanup_(test_cli_result_done) struct test_cli_result r = TEST_RUN_CLI("--help");

	ASSERT_EQ(r.exit_code, 0);
	ASSERT_NOTNULL(startswith(r.out, "Usage: blkstack"));
	ASSERT_NOTNULL(strstr(r.out, "--sysroot=DIR"));
	ASSERT_NOTNULL(strstr(r.out, "--verbose"));
	ASSERT_NOTNULL(strstr(r.out, "\n  help "));
	ASSERT_NOTNULL(strstr(r.out, "\n  version "));
	ASSERT_STREQ(r.err, "");
}

TEST(help_verb_is_help_option)
{
	_cleanup_(test_cli_result_done) struct test_cli_result a = TEST_RUN_CLI("help");
	_cleanup_(test_cli_result_done) struct test_cli_result b = TEST_RUN_CLI("-h");

	ASSERT_EQ(a.exit_code, 0);
	ASSERT_EQ(b.exit_code, 0);
	ASSERT_STREQ(a.out, b.out);
}

TEST(version_option_and_verb)
{
	_cleanup_(test_cli_result_done) struct test_cli_result a = TEST_RUN_CLI("--version");
	_cleanup_(test_cli_result_done) struct test_cli_result b = TEST_RUN_CLI("version");

	ASSERT_EQ(a.exit_code, 0);
	ASSERT_STREQ(a.out, "blkstack " PROJECT_VERSION "\nlibblkstack " PROJECT_VERSION "\n");
	ASSERT_EQ(b.exit_code, 0);
	ASSERT_STREQ(b.out, a.out);
}

TEST(unknown_verb_is_usage_error)
{
	_cleanup_(test_cli_result_done) struct test_cli_result r = TEST_RUN_CLI("frobnicate");

	ASSERT_EQ(r.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(startswith(r.err, "blkstack: unknown verb 'frobnicate'\n"));
	ASSERT_STREQ(r.out, "");
}

TEST(unknown_options_are_usage_errors)
{
	_cleanup_(test_cli_result_done) struct test_cli_result l =
		TEST_RUN_CLI("--frobnicate", "version");
	_cleanup_(test_cli_result_done) struct test_cli_result s = TEST_RUN_CLI("-x", "version");

	ASSERT_EQ(l.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(startswith(l.err, "blkstack: unknown option '--frobnicate'\n"));
	ASSERT_EQ(s.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(startswith(s.err, "blkstack: unknown option '-x'\n"));
}

/* main() hands this argument to bs_helper_main() before it parses options. Run by hand,
 * with no socket on descriptor 3, the crypt helper ends at once, silently, with 1. */
TEST(crypt_helper_mode_without_its_socket)
{
	_cleanup_(test_cli_result_done) struct test_cli_result r =
		TEST_RUN_CLI("--blkstack-crypt-helper");
	_cleanup_(test_cli_result_done) struct test_cli_result extra =
		TEST_RUN_CLI("--blkstack-crypt-helper", "version");

	ASSERT_EQ(r.exit_code, 1);
	ASSERT_STREQ(r.out, "");
	ASSERT_STREQ(r.err, "");
	ASSERT_EQ(extra.exit_code, 1);
	ASSERT_STREQ(extra.out, "");
	ASSERT_STREQ(extra.err, "");
}

TEST(other_usage_errors)
{
	_cleanup_(test_cli_result_done) struct test_cli_result none = TEST_RUN_CLI("-v");
	_cleanup_(test_cli_result_done) struct test_cli_result noarg = TEST_RUN_CLI("--sysroot");
	_cleanup_(test_cli_result_done) struct test_cli_result extra =
		TEST_RUN_CLI("version", "extra");

	ASSERT_EQ(none.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(strstr(none.err, "missing verb"));
	ASSERT_EQ(noarg.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(strstr(noarg.err, "'--sysroot' needs an argument"));
	ASSERT_EQ(extra.exit_code, BS_EXIT_USAGE);
}

TEST(sysroot_option)
{
	const char *root = test_tmpdir();
	_cleanup_free_ char *missing = NULL;
	_cleanup_(test_cli_result_done) struct test_cli_result ok =
		TEST_RUN_CLI("--sysroot", root, "version");
	_cleanup_(test_cli_result_done) struct test_cli_result bad = { .out = NULL };

	ASSERT_EQ(ok.exit_code, 0);

	ASSERT_OK(asprintf(&missing, "%s/missing", root));
	bad = TEST_RUN_CLI("--sysroot", missing, "version");
	ASSERT_EQ(bad.exit_code, BS_EXIT_FAILURE);
	ASSERT_NOTNULL(strstr(bad.err, "No such file or directory"));
	ASSERT_NOTNULL(strstr(bad.err, missing));
}

/* up and down: usage errors are exit 2 and name the problem; nothing runs against the host. */
TEST(up_down_usage_errors)
{
	const char *root = test_tmpdir();
	_cleanup_(test_cli_result_done) struct test_cli_result none = TEST_RUN_CLI("up");
	_cleanup_(test_cli_result_done) struct test_cli_result both =
		TEST_RUN_CLI("down", "--all", "/srv");
	_cleanup_(test_cli_result_done) struct test_cli_result keep =
		TEST_RUN_CLI("up", "--all", "--keep-root");
	_cleanup_(test_cli_result_done) struct test_cli_result jobs =
		TEST_RUN_CLI("up", "--all", "-j", "0");
	_cleanup_(test_cli_result_done) struct test_cli_result timeout =
		TEST_RUN_CLI("up", "--all", "--timeout", "soon");
	_cleanup_(test_cli_result_done) struct test_cli_result keyfd =
		TEST_RUN_CLI("up", "--all", "--key-fd", "987");
	_cleanup_(test_cli_result_done) struct test_cli_result downkey =
		TEST_RUN_CLI("down", "--all", "--key-fd", "0");
	_cleanup_(test_cli_result_done) struct test_cli_result sysroot =
		TEST_RUN_CLI("--sysroot", root, "up", "--all");
	_cleanup_(test_cli_result_done) struct test_cli_result mroot =
		TEST_RUN_CLI("--mount-root", "relative", "up", "--all");
	_cleanup_(test_cli_result_done) struct test_cli_result help = TEST_RUN_CLI("up", "--help");

	ASSERT_EQ(none.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(strstr(none.err, "give TARGETs or --all"));
	ASSERT_EQ(both.exit_code, BS_EXIT_USAGE);
	ASSERT_EQ(keep.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(strstr(keep.err, "--keep-root applies to 'down' only"));
	ASSERT_EQ(jobs.exit_code, BS_EXIT_USAGE);
	ASSERT_EQ(timeout.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(strstr(timeout.err, "'soon'"));
	ASSERT_EQ(keyfd.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(strstr(keyfd.err, "no open descriptor"));
	ASSERT_EQ(downkey.exit_code, BS_EXIT_USAGE);
	ASSERT_EQ(sysroot.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(strstr(sysroot.err, "--dry-run"));
	ASSERT_EQ(mroot.exit_code, BS_EXIT_USAGE);
	ASSERT_EQ(help.exit_code, 0);
	ASSERT_NOTNULL(strstr(help.out, "--key-fd"));
}

/* ---- global options after the verb ------------------------------------------------------- */

TEST(sysroot_after_the_verb)
{
	_cleanup_free_ char *root = test_fixture("btrfs-2crypt-assembled"), *joined = NULL;
	_cleanup_(test_cli_result_done) struct test_cli_result before = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result after = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result last = { .out = NULL };

	ASSERT_OK(asprintf(&joined, "--sysroot=%s", root));
	before = TEST_RUN_CLI("--sysroot", root, "show", "--json");
	after = TEST_RUN_CLI("show", "--sysroot", root, "--json");
	last = TEST_RUN_CLI("show", "--json", joined);

	ASSERT_EQ(before.exit_code, 0);
	ASSERT_NOTNULL(strstr(before.out, "\"crypt:crypt2\""));
	ASSERT_STREQ(before.err, "");
	ASSERT_EQ(after.exit_code, 0);
	ASSERT_STREQ(after.out, before.out);
	ASSERT_STREQ(after.err, "");
	ASSERT_EQ(last.exit_code, 0);
	ASSERT_STREQ(last.out, before.out);
	ASSERT_STREQ(last.err, "");
}

TEST(verbose_after_the_verb)
{
	_cleanup_free_ char *root = test_fixture("btrfs-2crypt-assembled");
	_cleanup_(test_cli_result_done) struct test_cli_result quiet = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result before = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result after = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result bundled = { .out = NULL };

	quiet = TEST_RUN_CLI("--sysroot", root, "show", "--json");
	before = TEST_RUN_CLI("-v", "--sysroot", root, "show", "--json");
	after = TEST_RUN_CLI("--sysroot", root, "show", "--json", "--verbose");
	bundled = TEST_RUN_CLI("--sysroot", root, "show", "-Jv");

	ASSERT_EQ(quiet.exit_code, 0);
	ASSERT_STREQ(quiet.err, "");
	ASSERT_EQ(before.exit_code, 0);
	ASSERT_NOTNULL(strstr(before.err, "blkstack: sys/class/block: "));
	ASSERT_STREQ(before.out, quiet.out);
	ASSERT_EQ(after.exit_code, 0);
	ASSERT_STREQ(after.out, quiet.out);
	ASSERT_STREQ(after.err, before.err);
	ASSERT_EQ(bundled.exit_code, 0);
	ASSERT_STREQ(bundled.out, quiet.out);
	ASSERT_STREQ(bundled.err, before.err);
}

/* ps1 mounted below /sysroot, as in an initramfs: only with the mount root is the live
 * /sysroot/srv the configured /srv that 'plan down /srv' takes down. */
TEST(mount_root_after_the_verb)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(test_cli_result_done) struct test_cli_result before = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result after = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result between = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result none = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result bad = { .out = NULL };

	test_write_file(root, "proc/self/mountinfo",
			"22 26 0:20 / /proc rw,relatime - proc proc rw\n"
			"26 1 253:2 / /sysroot rw,relatime - ext4 /dev/mapper/cryptroot rw\n"
			"28 26 0:23 / /sysroot/srv rw,relatime - btrfs /dev/mapper/cryptsrv rw\n");
	before =
		TEST_RUN_CLI("--sysroot", root, "--mount-root", "/sysroot", "plan", "down", "/srv");
	after = TEST_RUN_CLI("--sysroot", root, "plan", "down", "/srv", "--mount-root", "/sysroot");
	between = TEST_RUN_CLI("--sysroot", root, "plan", "--mount-root=/sysroot", "down", "/srv");
	none = TEST_RUN_CLI("--sysroot", root, "plan", "down", "/srv");
	bad = TEST_RUN_CLI("--sysroot", root, "plan", "down", "/srv", "--mount-root", "relative");

	ASSERT_EQ(before.exit_code, 0);
	ASSERT_NOTNULL(startswith(before.out, "plan down: 3 steps"));
	ASSERT_NOTNULL(strstr(before.out, "crypt:cryptsrv"));
	ASSERT_STREQ(before.err, "");
	ASSERT_EQ(after.exit_code, 0);
	ASSERT_STREQ(after.out, before.out);
	ASSERT_STREQ(after.err, "");
	ASSERT_EQ(between.exit_code, 0);
	ASSERT_STREQ(between.out, before.out);
	ASSERT_EQ(none.exit_code, 0);
	ASSERT_NOTNULL(startswith(none.out, "plan down: 0 steps"));
	ASSERT_EQ(bad.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(strstr(bad.err, "--mount-root needs an absolute directory, not 'relative'"));
}

/* After the verb, what is no global option stays the verb's: its -h, its unknown options, an
 * option's argument, and everything after "--". */
TEST(verb_arguments_are_not_global_options)
{
	_cleanup_free_ char *root = test_fixture("btrfs-2crypt-assembled"), *missing = NULL;
	const char *dir = test_tmpdir();
	_cleanup_(test_cli_result_done) struct test_cli_result help = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result unknown = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result version = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result noarg = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result dashdash = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result output = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result bad_root = { .out = NULL };

	help = TEST_RUN_CLI("show", "--help");
	unknown = TEST_RUN_CLI("show", "--frobnicate");
	version = TEST_RUN_CLI("show", "-V");
	noarg = TEST_RUN_CLI("show", "--sysroot");
	dashdash = TEST_RUN_CLI("--sysroot", root, "plan", "up", "--", "--sysroot");
	/* -o takes "-v" as its file name; recorded in the working directory. */
	ASSERT_OK(chdir(dir));
	output = TEST_RUN_CLI("--sysroot", root, "record", "-o", "-v");
	ASSERT_OK(asprintf(&missing, "%s/missing", dir));
	bad_root = TEST_RUN_CLI("version", "--sysroot", missing);

	ASSERT_EQ(help.exit_code, 0);
	ASSERT_NOTNULL(startswith(help.out, "Usage: blkstack [--sysroot DIR] show "));
	ASSERT_EQ(unknown.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(startswith(unknown.err, "blkstack: show: unknown option '--frobnicate'\n"));
	ASSERT_EQ(version.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(startswith(version.err, "blkstack: show: unknown option '-V'\n"));
	ASSERT_EQ(noarg.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(startswith(noarg.err, "blkstack: option '--sysroot' needs an argument\n"));
	ASSERT_EQ(dashdash.exit_code, BS_EXIT_FAILURE);
	ASSERT_NOTNULL(strstr(dashdash.err, "'--sysroot' names no node"));
	ASSERT_EQ(output.exit_code, 0);
	ASSERT_STREQ(output.out, "recorded 10 nodes and 10 edges to -v\n");
	ASSERT_STREQ(output.err, "");
	ASSERT_OK(access("-v", F_OK));
	ASSERT_EQ(bad_root.exit_code, BS_EXIT_FAILURE);
	ASSERT_NOTNULL(strstr(bad_root.err, "No such file or directory"));
}

/* up reads a --sysroot after the verb too: --dry-run plans below it, and without --dry-run it
 * refuses, as with the option before the verb. */
TEST(up_sysroot_after_the_verb)
{
	_cleanup_free_ char *root = test_fixture("lvm-swap-loop-disks");
	_cleanup_(test_cli_result_done) struct test_cli_result before = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result after = { .out = NULL };
	_cleanup_(test_cli_result_done) struct test_cli_result refused = { .out = NULL };

	before = TEST_RUN_CLI("--sysroot", root, "up", "--all", "--dry-run");
	after = TEST_RUN_CLI("up", "--all", "--dry-run", "--sysroot", root);
	ASSERT_EQ(before.exit_code, 0);
	ASSERT_NOTNULL(strstr(before.out, "crypt:cryptdata"));
	ASSERT_EQ(after.exit_code, 0);
	ASSERT_STREQ(after.out, before.out);

	/* Only once the option is known to be read: else this would act on the host. */
	refused = TEST_RUN_CLI("up", "--all", "--sysroot", root);
	ASSERT_EQ(refused.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(strstr(refused.err, "--dry-run"));
}

/* ---- the log function given to the library ---------------------------------------------- */

#define N_LOG_THREADS 8
#define N_LOG_MESSAGES 300

_printf_(1, 2) static void library_log(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	log_from_library(NULL, LOG_ERR, "exec.c", 1, "worker", format, args);
	va_end(args);
}

static void *log_from_thread(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;

	for (unsigned i = 0; i < N_LOG_MESSAGES; i++)
		library_log("thread %u message %u %s", t, i, "and some more words, to be cut");
	return NULL;
}

/* A whole line as library_log() wrote it. */
static bool parse_log_line(const char *l, unsigned *ret_thread, unsigned *ret_message)
{
	int end = 0;

	if (sscanf(l, "blkstack: thread %u message %u and some more words, to be cut%n", ret_thread,
		   ret_message, &end) != 2)
		return false;
	return l[end] == '\0' && *ret_thread < N_LOG_THREADS;
}

/* The executor's workers log at once: each message is still one line of its own. */
TEST(library_log_from_threads_does_not_interleave)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	unsigned seen[N_LOG_THREADS] = {};
	pthread_t threads[N_LOG_THREADS];
	size_t n_lines = 0, size = 0;
	char *save = NULL;
	int fd;

	ASSERT_OK(asprintf(&path, "%s/stderr", test_tmpdir()));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_OK(fd);
	ASSERT_OK(dup2(fd, STDERR_FILENO));
	ASSERT_OK(close(fd));

	for (unsigned t = 0; t < N_LOG_THREADS; t++)
		ASSERT_EQ(pthread_create(&threads[t], NULL, log_from_thread, (void *)(uintptr_t)t),
			  0);
	for (unsigned t = 0; t < N_LOG_THREADS; t++)
		ASSERT_EQ(pthread_join(threads[t], NULL), 0);

	f = fopen(path, "re");
	ASSERT_NOTNULL(f);
	ASSERT_TRUE(getdelim(&text, &size, '\0', f) > 0);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned t, i;

		if (!parse_log_line(l, &t, &i) || i != seen[t])
			test_fail(TEST_FILE, __LINE__, "mangled or out of order: '%s'", l);
		seen[t]++;
		n_lines++;
	}
	ASSERT_EQ(n_lines, (size_t)N_LOG_THREADS * N_LOG_MESSAGES);
}
