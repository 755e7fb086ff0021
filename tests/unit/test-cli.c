/* Unit tests of the blkstack command line: exit codes, global options and verb dispatch. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "exit-code.h"
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
