/* Unit tests of the public context API, linked against the shared libblkstack. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#include "blkstack.h"
#include "build-config.h"
#include "tests.h"

struct log_record {
	unsigned calls;
	int priority;
	int line;
	char file[64];
	char fn[64];
	char message[256];
};

_printf_(6, 0) static void record_log(void *userdata, int priority, const char *file, int line,
				      const char *fn, const char *format, va_list args)
{
	struct log_record *rec = userdata;

	rec->calls++;
	rec->priority = priority;
	rec->line = line;
	(void)snprintf(rec->file, sizeof(rec->file), "%s", file);
	(void)snprintf(rec->fn, sizeof(rec->fn), "%s", fn);
	(void)vsnprintf(rec->message, sizeof(rec->message), format, args);
}

static struct bs_ctx *new_default_ctx(void)
{
	struct bs_ctx *c = NULL;

	/* The environment of whoever runs the tests must not change the defaults. */
	ASSERT_OK(unsetenv("BLKSTACK_DEBUG"));
	ASSERT_OK(bs_ctx_new(NULL, &c));
	ASSERT_NOTNULL(c);
	return c;
}

TEST(new_checks_arguments)
{
	struct bs_ctx_opts empty = { .sysroot = "" };
	struct bs_ctx *c = NULL;

	ASSERT_ERR(bs_ctx_new(NULL, NULL), -EINVAL);
	ASSERT_ERR(bs_ctx_new(&empty, &c), -EINVAL);
	ASSERT_NULL(c);
}

TEST(defaults)
{
	struct bs_ctx *c = new_default_ctx();

	ASSERT_STREQ(bs_ctx_get_sysroot(c), "/");
	ASSERT_EQ(bs_ctx_get_log_priority(c), LOG_WARNING);
	ASSERT_NULL(bs_ctx_unref(c));
}

TEST(ref_and_unref)
{
	struct bs_ctx *c = new_default_ctx();

	ASSERT_TRUE(bs_ctx_ref(c) == c);
	ASSERT_TRUE(bs_ctx_ref(c) == c);
	ASSERT_NULL(bs_ctx_unref(c));
	ASSERT_NULL(bs_ctx_unref(c));
	/* Still referenced once: AddressSanitizer catches a context freed too early. */
	ASSERT_STREQ(bs_ctx_get_sysroot(c), "/");
	ASSERT_NULL(bs_ctx_unref(c));
}

TEST(null_is_accepted)
{
	ASSERT_NULL(bs_ctx_ref(NULL));
	ASSERT_NULL(bs_ctx_unref(NULL));
	ASSERT_NULL(bs_ctx_get_sysroot(NULL));
	ASSERT_ERR(bs_ctx_get_log_priority(NULL), -EINVAL);
	ASSERT_ERR(bs_ctx_set_log_priority(NULL, LOG_DEBUG), -EINVAL);
	bs_ctx_set_log_fn(NULL, record_log, NULL);
}

TEST(log_priority_range)
{
	struct bs_ctx *c = new_default_ctx();

	ASSERT_OK(bs_ctx_set_log_priority(c, LOG_DEBUG));
	ASSERT_EQ(bs_ctx_get_log_priority(c), LOG_DEBUG);
	ASSERT_OK(bs_ctx_set_log_priority(c, LOG_EMERG));
	ASSERT_EQ(bs_ctx_get_log_priority(c), LOG_EMERG);
	ASSERT_ERR(bs_ctx_set_log_priority(c, -1), -EINVAL);
	ASSERT_ERR(bs_ctx_set_log_priority(c, LOG_DEBUG + 1), -EINVAL);
	ASSERT_EQ(bs_ctx_get_log_priority(c), LOG_EMERG);
	bs_ctx_unref(c);
}

TEST(log_fn_receives_messages)
{
	struct bs_ctx *c = new_default_ctx();
	struct log_record rec = {};

	bs_ctx_set_log_fn(c, record_log, &rec);
	ASSERT_OK(bs_ctx_set_log_priority(c, LOG_DEBUG));

	/* Freeing the context is logged at debug priority. */
	bs_ctx_unref(c);
	ASSERT_EQ(rec.calls, 1);
	ASSERT_EQ(rec.priority, LOG_DEBUG);
	ASSERT_NOTNULL(strstr(rec.file, "ctx.c"));
	ASSERT_STREQ(rec.fn, "bs_ctx_unref");
	ASSERT_TRUE(rec.line > 0);
	ASSERT_TRUE(rec.message[0] != '\0');
}

TEST(log_below_priority_is_dropped)
{
	struct bs_ctx *c = new_default_ctx();
	struct log_record rec = {};

	bs_ctx_set_log_fn(c, record_log, &rec);
	bs_ctx_unref(c);
	ASSERT_EQ(rec.calls, 0);
}

TEST(log_fn_null_silences)
{
	struct bs_ctx *c = new_default_ctx();
	struct log_record rec = {};

	bs_ctx_set_log_fn(c, record_log, &rec);
	bs_ctx_set_log_fn(c, NULL, NULL);
	ASSERT_OK(bs_ctx_set_log_priority(c, LOG_DEBUG));
	bs_ctx_unref(c);
	ASSERT_EQ(rec.calls, 0);
}

/* Runs bs_ctx_new() with BLKSTACK_DEBUG=value and stderr captured; returns what it logged. */
static char *ctx_new_with_debug(const char *value, int *ret_priority)
{
	struct bs_ctx *c = NULL;
	char *out;
	int fd, saved;
	off_t size;

	fd = memfd_create("stderr", MFD_CLOEXEC);
	ASSERT_OK(fd);
	saved = dup(STDERR_FILENO);
	ASSERT_OK(saved);

	ASSERT_OK(setenv("BLKSTACK_DEBUG", value, 1));
	ASSERT_OK(dup2(fd, STDERR_FILENO));
	ASSERT_OK(bs_ctx_new(NULL, &c));
	*ret_priority = bs_ctx_get_log_priority(c);
	bs_ctx_unref(c);
	ASSERT_OK(dup2(saved, STDERR_FILENO));
	(void)close(saved);

	size = lseek(fd, 0, SEEK_END);
	ASSERT_OK(size);
	out = calloc(1, (size_t)size + 1);
	ASSERT_NOTNULL(out);
	ASSERT_EQ(pread(fd, out, (size_t)size, 0), size);
	(void)close(fd);
	return out;
}

TEST(blkstack_debug_logs_to_stderr)
{
	_cleanup_free_ char *out = NULL;
	int priority;

	out = ctx_new_with_debug("1", &priority);
	ASSERT_EQ(priority, LOG_DEBUG);
	ASSERT_NOTNULL(strstr(out, "libblkstack: ctx.c:"));
	ASSERT_NOTNULL(strstr(out, "sysroot '/'"));
}

TEST(blkstack_debug_false_is_off)
{
	_cleanup_free_ char *out = NULL;
	int priority;

	out = ctx_new_with_debug("0", &priority);
	ASSERT_EQ(priority, LOG_WARNING);
	ASSERT_STREQ(out, "");
}

TEST(version_matches_project)
{
	ASSERT_STREQ(bs_version(), PROJECT_VERSION);
}
