/* Unit test runner: runs each registered test in a child process and reports the results. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blkstack.h"
#include "strv.h"
#include "tests.h"
#include "util.h"

/* A test binary that runs the real crypt ops is its own crypt helper, as blkstack is
 * (bs_helper_main() in blkstack.h). Weak, because the runner also serves binaries without
 * libblkstack: there it is NULL, and those never start a helper. */
#pragma weak bs_helper_main

#define EXIT_TEST_SKIP 77

/* A failure message longer than this is cut; no assertion comes near it. */
#define REPORT_MAX ((size_t)64 * 1024)

/* nftw() may hold this many directory descriptors open while removing a tree. */
#define RM_RF_FD_MAX 64

static struct test *tests_head;
static struct test **tests_tail = &tests_head;

/* In a test's child: the pipe on which its failure message or skip reason goes to the
 * runner. */
static int report_fd = -1;

/* In a test's child: the tree made by test_tmpdir(), removed at exit. */
static char *tmpdir_path;

void test_register(struct test *t)
{
	*tests_tail = t;
	tests_tail = &t->next;
}

_printf_(1, 0) static void report(const char *format, va_list ap)
{
	int fd = report_fd >= 0 ? report_fd : STDERR_FILENO;

	(void)vdprintf(fd, format, ap);
}

_printf_(1, 2) static void reportf(const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	report(format, ap);
	va_end(ap);
}

/* exit(), not _exit(): atexit handlers remove the temporary tree and LeakSanitizer checks
 * the test for leaks. */
void test_fail(const char *file, int line, const char *format, ...)
{
	va_list ap;

	reportf("%s:%d: ", file, line);
	va_start(ap, format);
	report(format, ap);
	va_end(ap);
	exit(EXIT_FAILURE);
}

void test_skip(const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	report(format, ap);
	va_end(ap);
	exit(EXIT_TEST_SKIP);
}

bool test_value_equal(struct test_value a, struct test_value b)
{
	if (a.is_signed && b.is_signed)
		return a.s == b.s;
	if (!a.is_signed && !b.is_signed)
		return a.u == b.u;
	if (a.is_signed)
		return a.s >= 0 && (uintmax_t)a.s == b.u;
	return b.s >= 0 && (uintmax_t)b.s == a.u;
}

static void report_value(struct test_value v)
{
	if (v.is_signed)
		reportf("%jd", v.s);
	else
		reportf("%ju", v.u);
}

void test_fail_values(const char *file, int line, const char *expression, struct test_value a,
		      struct test_value b)
{
	reportf("%s:%d: %s failed: ", file, line, expression);
	report_value(a);
	reportf(" != ");
	report_value(b);
	exit(EXIT_FAILURE);
}

static void report_errno_value(intmax_t v)
{
	const char *name;

	reportf("%jd", v);
	if (v >= 0 || v < -INT_MAX)
		return;

	name = strerrorname_np((int)-v);
	reportf(" (%s: %s)", name ? name : "?", strerror((int)-v));
}

void test_fail_errno(const char *file, int line, const char *expression, intmax_t got,
		     intmax_t expected)
{
	reportf("%s:%d: %s failed: got ", file, line, expression);
	report_errno_value(got);
	if (expected != 0 || got >= 0) {
		reportf(", expected ");
		report_errno_value(expected);
	}
	exit(EXIT_FAILURE);
}

void test_fail_strings(const char *file, int line, const char *expression, const char *a,
		       const char *b)
{
	reportf("%s:%d: %s failed: ", file, line, expression);
	reportf(a ? "\"%s\"" : "%s", a ? a : "NULL");
	reportf(" != ");
	reportf(b ? "\"%s\"" : "%s", b ? b : "NULL");
	exit(EXIT_FAILURE);
}

static int rm_rf_one(const char *path, _unused_ const struct stat *st, int type,
		     _unused_ struct FTW *ftw)
{
	if (type == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

static void tmpdir_remove(void)
{
	if (!tmpdir_path)
		return;

	(void)nftw(tmpdir_path, rm_rf_one, RM_RF_FD_MAX, FTW_DEPTH | FTW_PHYS);
	free(tmpdir_path);
	tmpdir_path = NULL;
}

const char *test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path = NULL;

	if (tmpdir_path)
		test_fail(TEST_FILE, __LINE__, "test_tmpdir() called twice in one test");

	if (!base || base[0] != '/')
		base = "/tmp";
	if (strextend(&path, base, "/blkstack-test-XXXXXX", NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	if (!mkdtemp(path))
		test_fail(TEST_FILE, __LINE__, "mkdtemp('%s'): %m", path);

	tmpdir_path = path;
	if (atexit(tmpdir_remove) != 0)
		test_fail(TEST_FILE, __LINE__, "atexit() failed");
	return tmpdir_path;
}

static char *path_join(const char *dir, const char *relpath)
{
	char *p = NULL;

	if (strextend(&p, dir, "/", relpath, NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	return p;
}

void test_mkdir_p(const char *dir, const char *relpath)
{
	_cleanup_free_ char *p = path_join(dir, relpath);

	/* Create each prefix in turn; those that exist already are fine. */
	for (char *slash = p + strlen(dir) + 1;; slash++) {
		slash = strchr(slash, '/');
		if (slash)
			*slash = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			test_fail(TEST_FILE, __LINE__, "mkdir('%s'): %m", p);
		if (!slash)
			return;
		*slash = '/';
	}
}

static void mkdir_parent(const char *dir, const char *relpath)
{
	_cleanup_free_ char *parent = strdup(relpath);
	char *slash;

	if (!parent)
		test_fail(TEST_FILE, __LINE__, "out of memory");

	slash = strrchr(parent, '/');
	if (!slash)
		return;
	*slash = '\0';
	test_mkdir_p(dir, parent);
}

void test_write_file(const char *dir, const char *relpath, const char *contents)
{
	_cleanup_free_ char *p = path_join(dir, relpath);
	_cleanup_close_ int fd = -EBADF;
	size_t n = strlen(contents);

	mkdir_parent(dir, relpath);

	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		test_fail(TEST_FILE, __LINE__, "open('%s'): %m", p);
	if (write(fd, contents, n) != (ssize_t)n)
		test_fail(TEST_FILE, __LINE__, "write('%s'): %m", p);
}

void test_symlink(const char *dir, const char *relpath, const char *target)
{
	_cleanup_free_ char *p = path_join(dir, relpath);

	mkdir_parent(dir, relpath);

	if (symlink(target, p) < 0)
		test_fail(TEST_FILE, __LINE__, "symlink('%s'): %m", p);
}

/* Reads the child's report until it exits; keeps at most REPORT_MAX bytes. */
static char *read_report(int fd)
{
	char *buf = NULL;
	size_t size = 0;

	for (;;) {
		char chunk[4096];
		ssize_t k;
		char *p;

		k = read(fd, chunk, sizeof(chunk));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (size >= REPORT_MAX)
			continue;

		p = realloc(buf, size + (size_t)k + 1);
		if (!p)
			break;
		buf = p;
		memcpy(buf + size, chunk, (size_t)k);
		size += (size_t)k;
		buf[size] = '\0';
	}

	if (!buf)
		return strdup("");

	/* One line per test in the output. */
	for (char *c = buf; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return buf;
}

/* Returns NULL when out of memory; the caller then says so. */
_printf_(1, 2) static char *format_reason(const char *format, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, format);
	r = vasprintf(&s, format, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

enum test_result {
	TEST_PASS,
	TEST_FAIL,
	TEST_SKIP,
};

/* Runs t in a child. Returns its result, with the reason for FAIL and SKIP in *ret_reason. */
static enum test_result run_test(const struct test *t, char **ret_reason)
{
	_cleanup_free_ char *msg = NULL;
	int fds[2], status;
	pid_t pid;

	/* Unflushed output would be written again by the child's exit(). */
	(void)fflush(stdout);
	(void)fflush(stderr);

	if (pipe2(fds, O_CLOEXEC) < 0) {
		*ret_reason = format_reason("pipe2(): %m");
		return TEST_FAIL;
	}

	pid = fork();
	if (pid < 0) {
		*ret_reason = format_reason("fork(): %m");
		(void)close(fds[0]);
		(void)close(fds[1]);
		return TEST_FAIL;
	}

	if (pid == 0) {
		(void)close(fds[0]);
		report_fd = fds[1];
		t->func();
		exit(EXIT_SUCCESS);
	}

	(void)close(fds[1]);
	msg = read_report(fds[0]);
	(void)close(fds[0]);
	if (!msg) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		return TEST_FAIL;
	}

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			*ret_reason = format_reason("waitpid(): %m");
			return TEST_FAIL;
		}

	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SUCCESS)
		return TEST_PASS;

	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_TEST_SKIP) {
		*ret_reason = msg[0] ? TAKE_PTR(msg) : strdup("no reason given");
		return TEST_SKIP;
	}

	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_FAILURE && msg[0]) {
		*ret_reason = TAKE_PTR(msg);
		return TEST_FAIL;
	}

	if (WIFEXITED(status)) {
		/* Sanitizer reports end the child with their own status and go to stderr. */
		*ret_reason = format_reason("exited with status %d%s%s", WEXITSTATUS(status),
					    msg[0] ? ": " : " (see stderr)", msg);
		return TEST_FAIL;
	}

	if (WIFSIGNALED(status)) {
		const char *sig = sigabbrev_np(WTERMSIG(status));

		*ret_reason = format_reason("killed by signal %d (SIG%s)%s%s", WTERMSIG(status),
					    sig ? sig : "?", msg[0] ? ": " : "", msg);
		return TEST_FAIL;
	}

	*ret_reason = format_reason("ended with wait status 0x%x", (unsigned)status);
	return TEST_FAIL;
}

/* One write() per line: with O_APPEND, lines from test binaries running in parallel do
 * not interleave. */
static void record_result(int fd, const char *name, enum test_result result, const char *reason)
{
	static const char *const words[] = {
		[TEST_PASS] = "pass",
		[TEST_FAIL] = "fail",
		[TEST_SKIP] = "skip",
	};
	_cleanup_free_ char *line = NULL;
	int n;

	if (fd < 0)
		return;

	n = asprintf(&line, "%s %s/%s%s%s\n", words[result], program_invocation_short_name, name,
		     result == TEST_SKIP ? " " : "", result == TEST_SKIP ? reason : "");
	if (n < 0 || write(fd, line, (size_t)n) != n)
		fprintf(stderr, "warning: could not append to $BLKSTACK_TEST_RESULTS: %m\n");
}

static bool test_selected(const struct test *t, int argc, char **argv)
{
	if (argc <= 1)
		return true;

	for (int i = 1; i < argc; i++)
		if (streq(argv[i], t->name))
			return true;
	return false;
}

static bool test_exists(const char *name)
{
	for (const struct test *t = tests_head; t; t = t->next)
		if (streq(t->name, name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	_cleanup_close_ int results_fd = -EBADF;
	unsigned passed = 0, failed = 0, skipped = 0;
	const char *results_path;
	int r;

	/* Before anything else: argv may be the helper's, not test names. */
	if (bs_helper_main) {
		r = bs_helper_main(argc, argv);
		if (r >= 0)
			return r;
	}

	for (int i = 1; i < argc; i++)
		if (!test_exists(argv[i])) {
			fprintf(stderr, "%s: no test named '%s'\n", program_invocation_short_name,
				argv[i]);
			return EXIT_FAILURE;
		}

	results_path = getenv("BLKSTACK_TEST_RESULTS");
	if (results_path && results_path[0]) {
		results_fd = open(results_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (results_fd < 0) {
			fprintf(stderr, "%s: cannot open '%s': %m\n", program_invocation_short_name,
				results_path);
			return EXIT_FAILURE;
		}
	}

	for (const struct test *t = tests_head; t; t = t->next) {
		_cleanup_free_ char *reason = NULL;
		enum test_result result;

		if (!test_selected(t, argc, argv))
			continue;

		result = run_test(t, &reason);
		switch (result) {
		case TEST_PASS:
			printf("PASS %s\n", t->name);
			passed++;
			break;
		case TEST_FAIL:
			printf("FAIL %s: %s\n", t->name, reason ? reason : "out of memory");
			failed++;
			break;
		case TEST_SKIP:
			printf("SKIP %s: %s\n", t->name, reason ? reason : "out of memory");
			skipped++;
			break;
		}
		record_result(results_fd, t->name, result, reason ? reason : "out of memory");
	}

	if (skipped > 0)
		printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
	else
		printf("%u passed, %u failed\n", passed, failed);

	if (failed > 0)
		return EXIT_FAILURE;
	if (passed == 0)
		return EXIT_TEST_SKIP;
	return EXIT_SUCCESS;
}

const char *test_scratch(void)
{
	return tmpdir_path ? tmpdir_path : test_tmpdir();
}

char *test_fixture(const char *name)
{
	const char *fixtures = getenv("BLKSTACK_FIXTURES");
	char *path = NULL;

	if (!fixtures)
		SKIP("BLKSTACK_FIXTURES is not set; run through 'meson test'");
	if (strextend(&path, fixtures, "/", name, NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	if (access(path, F_OK) < 0) {
		free(path);
		SKIP("fixture '%s' has not been captured", name);
	}
	return path;
}

char *test_fixture_copy(const char *name)
{
	_cleanup_free_ char *src = test_fixture(name);
	const char *tmp = test_scratch();
	char *dst = NULL;
	int status;
	pid_t pid;

	if (strextend(&dst, tmp, "/", name, NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	pid = fork();
	if (pid < 0)
		test_fail(TEST_FILE, __LINE__, "fork(): %m");
	if (pid == 0) {
		execlp("cp", "cp", "-R", src, dst, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		test_fail(TEST_FILE, __LINE__, "waitpid(): %m");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		test_fail(TEST_FILE, __LINE__, "'cp -R %s %s' failed (status %d)", src, dst,
			  status);
	return dst;
}

void test_cli_result_done(struct test_cli_result *r)
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
struct test_cli_result test_run_cli(const char *const *args)
{
	const char *cli = getenv("BLKSTACK_CLI");
	_cleanup_strv_free_ char **argv = NULL, **env = NULL;
	_cleanup_close_ int out_fd = -EBADF, err_fd = -EBADF;
	posix_spawn_file_actions_t actions;
	struct test_cli_result result = {};
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
