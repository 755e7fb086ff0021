/* Unit test harness: TEST() registration and ASSERT_* macros that say what failed. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"

/*
 * A test is a function defined with TEST(name) { ... }. Each test runs in a child process of
 * its own: a failed ASSERT_* or SKIP() ends that child, and a crash fails only that test.
 * The runner (tests.c) runs all tests of the binary in definition order, or those named on
 * its command line.
 */

struct test {
	const char *name;
	void (*func)(void);
	struct test *next;
};

void test_register(struct test *t);

/* Registration from a constructor, so a test needs no list to be kept by hand, and no
 * linker section that sanitizers would pad. */
#define TEST(name)                                                                                 \
	static void test_func_##name(void);                                                        \
	static struct test test_entry_##name = { #name, test_func_##name, NULL };                  \
	__attribute__((constructor)) static void test_register_##name(void)                        \
	{                                                                                          \
		test_register(&test_entry_##name);                                                 \
	}                                                                                          \
	static void test_func_##name(void)

_noreturn_ void test_fail(const char *file, int line, const char *format, ...) _printf_(3, 4);
_noreturn_ void test_skip(const char *format, ...) _printf_(1, 2);

/* Ends the test as skipped; the arguments are a printf-style reason. */
#define SKIP(...) test_skip(__VA_ARGS__)

#ifdef __FILE_NAME__
#define TEST_FILE __FILE_NAME__
#else
#define TEST_FILE __FILE__
#endif

/* Any integer, kept with its signedness so that ASSERT_EQ compares and prints it right
 * whatever the mix of types, without tripping -Wsign-compare. */
struct test_value {
	bool is_signed;
	intmax_t s;
	uintmax_t u;
};

static inline struct test_value test_value_signed(intmax_t v)
{
	return (struct test_value){ .is_signed = true, .s = v };
}

static inline struct test_value test_value_unsigned(uintmax_t v)
{
	return (struct test_value){ .is_signed = false, .u = v };
}

/* clang-format 14 cannot lay out _Generic associations. */
/* clang-format off */
#define TEST_VALUE(x)                                                                              \
	_Generic((x),                                                                              \
		char: test_value_signed,                                                           \
		signed char: test_value_signed,                                                    \
		short: test_value_signed,                                                          \
		int: test_value_signed,                                                            \
		long: test_value_signed,                                                           \
		long long: test_value_signed,                                                      \
		_Bool: test_value_unsigned,                                                        \
		unsigned char: test_value_unsigned,                                                \
		unsigned short: test_value_unsigned,                                               \
		unsigned: test_value_unsigned,                                                     \
		unsigned long: test_value_unsigned,                                                \
		unsigned long long: test_value_unsigned)(x)
/* clang-format on */

bool test_value_equal(struct test_value a, struct test_value b);
_noreturn_ void test_fail_values(const char *file, int line, const char *expression,
				 struct test_value a, struct test_value b);
_noreturn_ void test_fail_errno(const char *file, int line, const char *expression, intmax_t got,
				intmax_t expected);
_noreturn_ void test_fail_strings(const char *file, int line, const char *expression, const char *a,
				  const char *b);

/* Each macro evaluates its arguments exactly once. */

#define ASSERT_TRUE(expr)                                                                          \
	do {                                                                                       \
		if (!(expr))                                                                       \
			test_fail(TEST_FILE, __LINE__, "ASSERT_TRUE(%s) failed", #expr);           \
	} while (0)

#define ASSERT_FALSE(expr)                                                                         \
	do {                                                                                       \
		if (expr)                                                                          \
			test_fail(TEST_FILE, __LINE__, "ASSERT_FALSE(%s) failed", #expr);          \
	} while (0)

#define ASSERT_EQ(a, b)                                                                            \
	do {                                                                                       \
		struct test_value _test_a_ = TEST_VALUE(a), _test_b_ = TEST_VALUE(b);              \
		if (!test_value_equal(_test_a_, _test_b_))                                         \
			test_fail_values(TEST_FILE, __LINE__, "ASSERT_EQ(" #a ", " #b ")",         \
					 _test_a_, _test_b_);                                      \
	} while (0)

/* NULL is allowed on either side and equals only NULL. */
#define ASSERT_STREQ(a, b)                                                                         \
	do {                                                                                       \
		const char *_test_a_ = (a), *_test_b_ = (b);                                       \
		if (!(_test_a_ == _test_b_ ||                                                      \
		      (_test_a_ && _test_b_ && strcmp(_test_a_, _test_b_) == 0)))                  \
			test_fail_strings(TEST_FILE, __LINE__, "ASSERT_STREQ(" #a ", " #b ")",     \
					  _test_a_, _test_b_);                                     \
	} while (0)

/* expr succeeds: returns >= 0 in the negative-errno convention. */
#define ASSERT_OK(expr)                                                                            \
	do {                                                                                       \
		intmax_t _test_r_ = (expr);                                                        \
		if (_test_r_ < 0)                                                                  \
			test_fail_errno(TEST_FILE, __LINE__, "ASSERT_OK(" #expr ")", _test_r_, 0); \
	} while (0)

/* expr fails with exactly error, a negative errno such as -ENOENT. */
#define ASSERT_ERR(expr, error)                                                                    \
	do {                                                                                       \
		intmax_t _test_r_ = (expr), _test_e_ = (error);                                    \
		if (_test_r_ != _test_e_)                                                          \
			test_fail_errno(TEST_FILE, __LINE__, "ASSERT_ERR(" #expr ", " #error ")",  \
					_test_r_, _test_e_);                                       \
	} while (0)

#define ASSERT_NULL(expr)                                                                          \
	do {                                                                                       \
		const void *_test_p_ = (expr);                                                     \
		if (_test_p_)                                                                      \
			test_fail(TEST_FILE, __LINE__, "ASSERT_NULL(%s) failed: got %p", #expr,    \
				  _test_p_);                                                       \
	} while (0)

#define ASSERT_NOTNULL(expr)                                                                       \
	do {                                                                                       \
		if (!(expr))                                                                       \
			test_fail(TEST_FILE, __LINE__, "ASSERT_NOTNULL(%s) failed: got NULL",      \
				  #expr);                                                          \
	} while (0)

/* Helpers for tests that build file trees. Each ends the test as failed when it fails. */

/* Creates an empty directory that is removed with everything in it when the test ends,
 * whether it passes or fails. Returns its path, which stays valid for the whole test. */
const char *test_tmpdir(void);

/* What test_run_cli() saw of one run of the blkstack command. */
struct test_cli_result {
	int exit_code;
	char *out;
	char *err;
};
void test_cli_result_done(struct test_cli_result *r);
/* Runs the blkstack binary that meson built (BLKSTACK_CLI) with the NULL-terminated args and
 * without BLKSTACK_DEBUG, capturing its output; skips the test when BLKSTACK_CLI is unset. */
struct test_cli_result test_run_cli(const char *const *args);
#define TEST_RUN_CLI(...) test_run_cli((const char *const[]){ __VA_ARGS__, NULL })

/* The test's temporary directory, created by the first call (test_tmpdir()) and the same
 * for every later call in the test. */
const char *test_scratch(void);

/* The sysroot of a captured fixture, unpacked by the build into $BLKSTACK_FIXTURES/NAME; the
 * test must not change it. Skips the test when the variable is unset or the fixture was not
 * captured. The caller frees the path. */
char *test_fixture(const char *name);

/* A whole copy of that fixture in the test's temporary directory, to change. A sysroot's
 * links resolve inside it, so a copy cannot borrow sys/ from the original through a link. */
char *test_fixture_copy(const char *name);

/* Creates dir/relpath with contents, and any missing parent directories. */
void test_write_file(const char *dir, const char *relpath, const char *contents);

/* Creates dir/relpath and any missing parents, like mkdir -p. */
void test_mkdir_p(const char *dir, const char *relpath);

/* Creates the symlink dir/relpath pointing to target, and any missing parents. */
void test_symlink(const char *dir, const char *relpath, const char *target);
