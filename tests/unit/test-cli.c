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

struct cli_result {
	int exit_code;
	char *out;
	char *err;
};

static void cli_result_done(struct cli_result *r)
{
	free(r->out);
	free(r->err);
}

static char *read_memfd(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	char *s;

	ASSERT_OK(size);
	s = calloc(1, (size_t)size + 1);
	ASSERT_NOTNULL(s);
	ASSERT_EQ(pread(fd, s, (size_t)size, 0), size);
	return s;
}

/* The environment minus BLKSTACK_DEBUG, which would add output the tests do not expect. */
static char **clean_environment(void)
{
	char **env = NULL;

	for (char **e = environ; *e; e++)
		if (!startswith(*e, "BLKSTACK_DEBUG="))
			ASSERT_OK(strv_extend(&env, *e));
	if (!env)
		ASSERT_OK(strv_split("", NULL, &env));
	return env;
}

/* Runs the blkstack binary that meson built (BLKSTACK_CLI) with args, capturing its output. */
static struct cli_result run_cli(const char *const *args)
{
	const char *cli = getenv("BLKSTACK_CLI");
	_cleanup_strv_free_ char **argv = NULL, **env = NULL;
	_cleanup_close_ int out_fd = -EBADF, err_fd = -EBADF;
	posix_spawn_file_actions_t actions;
	struct cli_result result = {};
	int status;
	pid_t pid;

	if (!cli)
		SKIP("BLKSTACK_CLI is not set; run through 'meson test'");

	ASSERT_OK(strv_extend(&argv, cli));
	for (const char *const *a = args; *a; a++)
		ASSERT_OK(strv_extend(&argv, *a));
	env = clean_environment();

	out_fd = memfd_create("stdout", MFD_CLOEXEC);
	ASSERT_OK(out_fd);
	err_fd = memfd_create("stderr", MFD_CLOEXEC);
	ASSERT_OK(err_fd);

	ASSERT_EQ(posix_spawn_file_actions_init(&actions), 0);
	ASSERT_EQ(posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO), 0);
	ASSERT_EQ(posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO), 0);
	ASSERT_EQ(posix_spawn(&pid, cli, &actions, NULL, argv, env), 0);
	ASSERT_EQ(posix_spawn_file_actions_destroy(&actions), 0);

	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status))
		test_fail(TEST_FILE, __LINE__, "blkstack died with wait status 0x%x",
			  (unsigned)status);

	result.exit_code = WEXITSTATUS(status);
	result.out = read_memfd(out_fd);
	result.err = read_memfd(err_fd);
	return result;
}

#define RUN_CLI(...) run_cli((const char *const[]){ __VA_ARGS__, NULL })

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
	_cleanup_(cli_result_done) struct cli_result r = RUN_CLI("--help");

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
	_cleanup_(cli_result_done) struct cli_result a = RUN_CLI("help");
	_cleanup_(cli_result_done) struct cli_result b = RUN_CLI("-h");

	ASSERT_EQ(a.exit_code, 0);
	ASSERT_EQ(b.exit_code, 0);
	ASSERT_STREQ(a.out, b.out);
}

TEST(version_option_and_verb)
{
	_cleanup_(cli_result_done) struct cli_result a = RUN_CLI("--version");
	_cleanup_(cli_result_done) struct cli_result b = RUN_CLI("version");

	ASSERT_EQ(a.exit_code, 0);
	ASSERT_STREQ(a.out, "blkstack " PROJECT_VERSION "\nlibblkstack " PROJECT_VERSION "\n");
	ASSERT_EQ(b.exit_code, 0);
	ASSERT_STREQ(b.out, a.out);
}

TEST(unknown_verb_is_usage_error)
{
	_cleanup_(cli_result_done) struct cli_result r = RUN_CLI("frobnicate");

	ASSERT_EQ(r.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(startswith(r.err, "blkstack: unknown verb 'frobnicate'\n"));
	ASSERT_STREQ(r.out, "");
}

TEST(unknown_options_are_usage_errors)
{
	_cleanup_(cli_result_done) struct cli_result l = RUN_CLI("--frobnicate", "version");
	_cleanup_(cli_result_done) struct cli_result s = RUN_CLI("-x", "version");

	ASSERT_EQ(l.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(startswith(l.err, "blkstack: unknown option '--frobnicate'\n"));
	ASSERT_EQ(s.exit_code, BS_EXIT_USAGE);
	ASSERT_NOTNULL(startswith(s.err, "blkstack: unknown option '-x'\n"));
}

TEST(other_usage_errors)
{
	_cleanup_(cli_result_done) struct cli_result none = RUN_CLI("-v");
	_cleanup_(cli_result_done) struct cli_result noarg = RUN_CLI("--sysroot");
	_cleanup_(cli_result_done) struct cli_result extra = RUN_CLI("version", "extra");

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
	_cleanup_(cli_result_done) struct cli_result ok = RUN_CLI("--sysroot", root, "version");
	_cleanup_(cli_result_done) struct cli_result bad = { .out = NULL };

	ASSERT_EQ(ok.exit_code, 0);

	ASSERT_OK(asprintf(&missing, "%s/missing", root));
	bad = RUN_CLI("--sysroot", missing, "version");
	ASSERT_EQ(bad.exit_code, BS_EXIT_FAILURE);
	ASSERT_NOTNULL(strstr(bad.err, "No such file or directory"));
	ASSERT_NOTNULL(strstr(bad.err, missing));
}
