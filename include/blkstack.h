/* libblkstack public API: the library context, its logging and its system root. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Conventions
 *
 * Functions returning int return a negative errno on failure and 0 (or a count) on success.
 * Out-parameters are named ret and are left untouched on failure. Handles are opaque and
 * reference counted: bs_X_ref() returns its argument, bs_X_unref() accepts NULL and returns
 * NULL. Returned const char * values are borrowed from the object they came from.
 *
 * The library never prints and never exits; it reports through the log function of its
 * context. It keeps no global mutable state, so separate contexts may be used from separate
 * threads. One context must not be used from several threads at once.
 */

/* The library context: holds the system root that every read goes through, and logging. */
struct bs_ctx;

struct bs_ctx_opts {
	/* Directory that stands in for "/" for every read of system state (sys/, proc/,
	 * etc/, run/), as with lsblk --sysroot. NULL means "/". */
	const char *sysroot;
};

/*
 * Creates a context with one reference. opts may be NULL for the defaults.
 *
 * Logging starts silent, at priority LOG_WARNING. If the environment variable BLKSTACK_DEBUG
 * is set to a true value (1, yes, true, on) and the process is not set-user-ID or otherwise
 * secure-execution, the priority starts at LOG_DEBUG and messages go to stderr until
 * bs_ctx_set_log_fn() replaces that.
 *
 * Returns 0 on success, -EINVAL on bad arguments, -ENOMEM, or the errno of opening the
 * system root (for example -ENOENT or -ENOTDIR).
 */
int bs_ctx_new(const struct bs_ctx_opts *opts, struct bs_ctx **ret);

/* Takes a reference. Accepts NULL. Returns c. */
struct bs_ctx *bs_ctx_ref(struct bs_ctx *c);

/* Drops a reference and frees the context with the last one. Accepts NULL. Returns NULL. */
struct bs_ctx *bs_ctx_unref(struct bs_ctx *c);

/*
 * A log function. priority is a syslog LOG_* level (LOG_ERR, LOG_WARNING, ..., LOG_DEBUG);
 * file, line and fn locate the message in the library's source. format and args are as for
 * vprintf(); errno holds what it held at the log call, so "%m" works. The message has no
 * trailing newline.
 */
typedef void (*bs_log_fn)(void *userdata, int priority, const char *file, int line, const char *fn,
			  const char *format, va_list args);

/* Sends messages at or above the context's log priority to fn, with userdata. fn NULL
 * silences the context. */
void bs_ctx_set_log_fn(struct bs_ctx *c, bs_log_fn fn, void *userdata);

/* Returns the log priority: messages with a priority numerically above it are dropped
 * unformatted. Returns -EINVAL if c is NULL. */
int bs_ctx_get_log_priority(const struct bs_ctx *c);

/* Sets the log priority (LOG_EMERG to LOG_DEBUG). Returns 0, or -EINVAL. */
int bs_ctx_set_log_priority(struct bs_ctx *c, int priority);

/* Returns the absolute, canonical path of the system root ("/" by default), or NULL if c is
 * NULL. Borrowed from c. */
const char *bs_ctx_get_sysroot(const struct bs_ctx *c);

/* Returns the library's version, e.g. "0.1.0". */
const char *bs_version(void);

#ifdef __cplusplus
}
#endif
