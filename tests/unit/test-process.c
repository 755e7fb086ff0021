/* Unit tests of bs_spawn_capture(): the one way the library runs lvm, mdadm and the like. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "process.h"
#include "tests.h"

static char last_error[512];

_printf_(6, 0) static void keep_error(_unused_ void *userdata, int priority,
				      _unused_ const char *file, _unused_ int line,
				      _unused_ const char *fn, const char *format, va_list args)
{
	if (priority <= LOG_ERR)
		(void)vsnprintf(last_error, sizeof(last_error), format, args);
}

static struct bs_ctx *new_ctx(void)
{
	struct bs_ctx *c = NULL;

	ASSERT_OK(bs_ctx_new(NULL, &c));
	bs_ctx_set_log_fn(c, keep_error, NULL);
	last_error[0] = '\0';
	return c;
}

TEST(captures_standard_output)
{
	struct bs_ctx *c = new_ctx();
	const char *argv[] = { "sh", "-c", "printf 'one\\ntwo\\n'; echo noise >&2", NULL };
	char *out = NULL;
	size_t size = 0;

	ASSERT_OK(bs_spawn_capture(c, argv, 1024, &out, &size));
	ASSERT_STREQ(out, "one\ntwo\n");
	ASSERT_EQ(size, 8u);
	ASSERT_STREQ(last_error, "");
	free(out);
	bs_ctx_unref(c);
}

TEST(empty_output_is_an_empty_string)
{
	struct bs_ctx *c = new_ctx();
	const char *argv[] = { "true", NULL };
	char *out = NULL;

	ASSERT_OK(bs_spawn_capture(c, argv, 1024, &out, NULL));
	ASSERT_STREQ(out, "");
	free(out);
	bs_ctx_unref(c);
}

TEST(failure_is_logged_with_standard_error)
{
	struct bs_ctx *c = new_ctx();
	const char *argv[] = { "sh", "-c",
			       "echo partial; echo 'Volume group not found' >&2; exit 5", NULL };
	char *out = NULL;

	ASSERT_ERR(bs_spawn_capture(c, argv, 1024, &out, NULL), -EPROTO);
	ASSERT_NULL(out);
	ASSERT_STREQ(last_error, "'sh' exited with status 5: Volume group not found");
	bs_ctx_unref(c);
}

TEST(death_by_signal_is_a_failure)
{
	struct bs_ctx *c = new_ctx();
	const char *argv[] = { "sh", "-c", "kill -TERM $$", NULL };
	char *out = NULL;

	ASSERT_ERR(bs_spawn_capture(c, argv, 1024, &out, NULL), -EPROTO);
	ASSERT_STREQ(last_error, "'sh' was killed by signal 15");
	bs_ctx_unref(c);
}

/* "@NAME" runs NAME with argv[0] "@NAME": the mark of a root-storage daemon, which the
 * shutdown's kill phase reads from /proc/PID/cmdline. */
TEST(at_sign_marks_a_root_storage_daemon)
{
	struct bs_ctx *c = new_ctx();
	const char *argv[] = { "@sh", "-c", "tr '\\0' ' ' </proc/$$/cmdline", NULL };
	const char *missing[] = { "@blkstack-no-such-tool", NULL };
	char *out = NULL;

	ASSERT_OK(bs_spawn_capture(c, argv, 1024, &out, NULL));
	ASSERT_TRUE(strncmp(out, "@sh -c ", 7) == 0);
	free(out);
	ASSERT_ERR(bs_spawn_capture(c, missing, 1024, &out, NULL), -ENOENT);
	ASSERT_STREQ(last_error, "'blkstack-no-such-tool' is not installed (not found in PATH)");
	bs_ctx_unref(c);
}

TEST(missing_tool_is_named)
{
	struct bs_ctx *c = new_ctx();
	const char *argv[] = { "blkstack-no-such-tool", NULL };
	char *out = NULL;

	ASSERT_ERR(bs_spawn_capture(c, argv, 1024, &out, NULL), -ENOENT);
	ASSERT_STREQ(last_error, "'blkstack-no-such-tool' is not installed (not found in PATH)");
	bs_ctx_unref(c);
}

TEST(output_over_the_cap_is_refused)
{
	struct bs_ctx *c = new_ctx();
	/* More than a pipe holds, so the cap is met while the child still writes. */
	const char *argv[] = { "sh", "-c", "head -c 200000 /dev/zero", NULL };
	char *out = NULL;

	ASSERT_ERR(bs_spawn_capture(c, argv, 1000, &out, NULL), -EFBIG);
	ASSERT_NULL(out);
	bs_ctx_unref(c);
}

TEST(arguments_are_checked)
{
	struct bs_ctx *c = new_ctx();
	const char *empty[] = { NULL };
	char *out = NULL;

	ASSERT_ERR(bs_spawn_capture(NULL, empty, 10, &out, NULL), -EINVAL);
	ASSERT_ERR(bs_spawn_capture(c, empty, 10, &out, NULL), -EINVAL);
	bs_ctx_unref(c);
}
