/* Messages of the blkstack command itself, and the log function it gives libblkstack. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>

#include "exit-code.h"
#include "log.h"

_printf_(1, 0) static void log_va(const char *format, va_list args)
{
	/* Locked: the library logs from the executor's worker threads at once, and each line
	 * must come out whole. */
	flockfile(stderr);
	fputs("blkstack: ", stderr);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void log_error(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	log_va(format, args);
	va_end(args);
}

int log_error_errno(int error, const char *format, ...)
{
	va_list args;

	errno = -error;
	va_start(args, format);
	log_va(format, args);
	va_end(args);
	return error;
}

int log_usage_error(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	log_va(format, args);
	va_end(args);
	fputs("Try 'blkstack --help' for more information.\n", stderr);
	return -BS_ERRNO_USAGE;
}

void log_from_library(_unused_ void *userdata, _unused_ int priority, _unused_ const char *file,
		      _unused_ int line, _unused_ const char *fn, const char *format, va_list args)
{
	log_va(format, args);
}
