/* The libblkstack context: reference counting, logging and the system root. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "build-config.h"
#include "libblkstack-private.h"
#include "parse.h"
#include "util.h"

_printf_(6, 0) static void log_to_stderr(_unused_ void *userdata, _unused_ int priority,
					 const char *file, int line, const char *fn,
					 const char *format, va_list args)
{
	/* Locked, so that lines logged by contexts in other threads do not interleave. */
	flockfile(stderr);
	fprintf(stderr, "libblkstack: %s:%d %s(): ", file, line, fn);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void bs_log(struct bs_ctx *c, int priority, const char *file, int line, const char *fn,
	    const char *format, ...)
{
	int saved_errno = errno;
	va_list args;

	if (!bs_log_enabled(c, priority))
		return;

	va_start(args, format);
	c->log_fn(c->log_userdata, priority, file, line, fn, format, args);
	va_end(args);

	/* Logging must not change errno for the caller, who may log and then return it. */
	errno = saved_errno;
}

int bs_log_refusal(struct bs_ctx *c, const char *origin, const char *outcome, const char *format,
		   va_list ap)
{
	_cleanup_free_ char *what = NULL;

	if (!bs_log_enabled(c, LOG_WARNING))
		return -EBADMSG;
	if (vasprintf(&what, format, ap) < 0)
		return -ENOMEM;
	bs_log_warn(c, "%s: %s, %s", origin, what, outcome);
	return -EBADMSG;
}

/* secure_getenv(), so a set-user-ID caller cannot be made to spill internals. */
static bool debug_requested(void)
{
	const char *e = secure_getenv("BLKSTACK_DEBUG");

	return e && parse_boolean(e) > 0;
}

_public_ int bs_ctx_new(const struct bs_ctx_opts *opts, struct bs_ctx **ret)
{
	_cleanup_free_ struct bs_ctx *c = NULL;
	_cleanup_close_ int root_fd = -EBADF;
	const char *sysroot = "/";
	char *canonical;

	if (!ret)
		return -EINVAL;
	if (opts && opts->sysroot) {
		if (opts->sysroot[0] == '\0')
			return -EINVAL;
		sysroot = opts->sysroot;
	}

	root_fd = open(sysroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return -errno;

	/* Resolved once, here, so that a relative --sysroot keeps meaning the same directory
	 * when the process later changes its working directory. */
	canonical = realpath(sysroot, NULL);
	if (!canonical)
		return -errno;

	c = calloc(1, sizeof(*c));
	if (!c) {
		free(canonical);
		return -ENOMEM;
	}

	if (opts && opts->mount_root) {
		size_t l = strlen(opts->mount_root);

		if (opts->mount_root[0] != '/') {
			free(canonical);
			return -EINVAL;
		}
		while (l > 1 && opts->mount_root[l - 1] == '/')
			l--;
		if (l > 1 && !(c->mount_root = strndup(opts->mount_root, l))) {
			free(canonical);
			return -ENOMEM;
		}
	}

	c->n_ref = 1;
	c->root_fd = TAKE_FD(root_fd);
	c->sysroot = canonical;
	c->log_priority = LOG_WARNING;

	if (debug_requested()) {
		c->log_fn = log_to_stderr;
		c->log_priority = LOG_DEBUG;
	}

	bs_log_debug(c, "libblkstack %s, sysroot '%s'", PROJECT_VERSION, c->sysroot);

	*ret = TAKE_PTR(c);
	return 0;
}

_public_ struct bs_ctx *bs_ctx_ref(struct bs_ctx *c)
{
	if (!c)
		return NULL;

	assert(c->n_ref > 0);
	c->n_ref++;
	return c;
}

_public_ struct bs_ctx *bs_ctx_unref(struct bs_ctx *c)
{
	if (!c)
		return NULL;

	assert(c->n_ref > 0);
	if (--c->n_ref > 0)
		return NULL;

	bs_log_debug(c, "freeing context");

	if (c->root_fd >= 0)
		(void)close(c->root_fd);
	free(c->sysroot);
	free(c->mount_root);
	free(c);
	return NULL;
}

_public_ void bs_ctx_set_log_fn(struct bs_ctx *c, bs_log_fn fn, void *userdata)
{
	if (!c)
		return;

	c->log_fn = fn;
	c->log_userdata = userdata;
}

_public_ int bs_ctx_get_log_priority(const struct bs_ctx *c)
{
	if (!c)
		return -EINVAL;

	return c->log_priority;
}

_public_ int bs_ctx_set_log_priority(struct bs_ctx *c, int priority)
{
	if (!c)
		return -EINVAL;
	if (priority < LOG_EMERG || priority > LOG_DEBUG)
		return -EINVAL;

	c->log_priority = priority;
	return 0;
}

_public_ const char *bs_ctx_get_sysroot(const struct bs_ctx *c)
{
	if (!c)
		return NULL;

	return c->sysroot;
}

const char *bs_ctx_target_path(const struct bs_ctx *c, const char *path)
{
	const char *rest;

	if (!c || !c->mount_root || !path)
		return path;
	rest = startswith(path, c->mount_root);
	if (!rest)
		return path;
	if (*rest == '\0')
		return "/";
	return *rest == '/' ? rest : path;
}

_public_ const char *bs_version(void)
{
	return PROJECT_VERSION;
}
