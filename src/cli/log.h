/* Messages of the blkstack command itself, and the log function it gives libblkstack. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdarg.h>

#include "macro.h"

/* Prints "blkstack: MESSAGE" to stderr. */
void log_error(const char *format, ...) _printf_(1, 2);

/* The same, with errno set to -error for "%m"; returns error, so that callers can write
 * return log_error_errno(r, "Failed to ...: %m"); */
int log_error_errno(int error, const char *format, ...) _printf_(2, 3);

/* Prints the message and a pointer to --help; returns -BS_ERRNO_USAGE (exit code 2). */
int log_usage_error(const char *format, ...) _printf_(1, 2);

/* A bs_log_fn printing "blkstack: MESSAGE" to stderr. Thread-safe, as a bs_log_fn must be:
 * each message is written under flockfile(), whole. */
void log_from_library(void *userdata, int priority, const char *file, int line, const char *fn,
		      const char *format, va_list args) _printf_(6, 0);
