/* Internals of libblkstack shared between its source files: the context and logging. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "blkstack.h"
#include "macro.h"

struct bs_ctx {
	unsigned n_ref;

	/* O_PATH descriptor of the system root; every read of system state is relative to
	 * it, see sysroot.h. */
	int root_fd;
	/* Canonical absolute path of the same directory, for libraries that want paths. */
	char *sysroot;
	/* Where the system's filesystems are mounted (bs_ctx_opts.mount_root), without a
	 * trailing slash; NULL when they are mounted where fstab says. */
	char *mount_root;

	bs_log_fn log_fn;
	void *log_userdata;
	int log_priority;
};

/* A path of the running system as the system being brought up names it: with a mount root,
 * a path below it loses the prefix (mount root + "/srv" is "/srv", the mount root itself is
 * "/"); other paths, and all paths without a mount root, are returned unchanged. Borrowed
 * from path, except the "/" for the mount root itself. */
const char *bs_ctx_target_path(const struct bs_ctx *c, const char *path);

static inline bool bs_log_enabled(const struct bs_ctx *c, int priority)
{
	return c && c->log_fn && priority <= c->log_priority;
}

void bs_log(struct bs_ctx *c, int priority, const char *file, int line, const char *fn,
	    const char *format, ...) _printf_(6, 7);

/* Logs, as a warning, why the file origin is refused ("ORIGIN: WHAT, OUTCOME", outcome such
 * as "refusing the manifest"), and returns -EBADMSG; -ENOMEM when the message cannot be
 * formatted. For the readers of files that blkstack writes itself. */
int bs_log_refusal(struct bs_ctx *c, const char *origin, const char *outcome, const char *format,
		   va_list ap) _printf_(4, 0);

/* Basename only, so messages do not depend on where the tree was built. */
#ifdef __FILE_NAME__
#define BS_LOG_FILE __FILE_NAME__
#else
#define BS_LOG_FILE __FILE__
#endif

/* The check comes first so that disabled messages cost neither formatting nor the
 * evaluation of their arguments. */
#define bs_log_cond(c, priority, ...)                                                              \
	do {                                                                                       \
		struct bs_ctx *_log_ctx_ = (c);                                                    \
		if (bs_log_enabled(_log_ctx_, (priority)))                                         \
			bs_log(_log_ctx_, (priority), BS_LOG_FILE, __LINE__, __func__,             \
			       __VA_ARGS__);                                                       \
	} while (0)

#define bs_log_debug(c, ...) bs_log_cond(c, LOG_DEBUG, __VA_ARGS__)
#define bs_log_info(c, ...) bs_log_cond(c, LOG_INFO, __VA_ARGS__)
#define bs_log_notice(c, ...) bs_log_cond(c, LOG_NOTICE, __VA_ARGS__)
#define bs_log_warn(c, ...) bs_log_cond(c, LOG_WARNING, __VA_ARGS__)
#define bs_log_err(c, ...) bs_log_cond(c, LOG_ERR, __VA_ARGS__)
