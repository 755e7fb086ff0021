/* libmount glue shared by the sources that read tables with it: cleanup and parse errors. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <libmount/libmount.h>

#include "libblkstack-private.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_table *, mnt_unref_table)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_iter *, mnt_free_iter)

/* libmount calls this for a line it cannot parse; filename is the path it was given, so the
 * message names the file below the system root. Returning 1 drops the line and goes on. */
static inline int bs_mnt_parser_error(struct libmnt_table *tb, const char *filename, int line)
{
	struct bs_ctx *c = mnt_table_get_userdata(tb);

	bs_log_warn(c, "%s:%d: cannot parse line, ignoring", filename, line);
	return 1;
}

/* A new table that reports parse errors on c and skips the bad lines. */
static inline int bs_mnt_table_new(struct bs_ctx *c, struct libmnt_table **ret)
{
	struct libmnt_table *tb;
	int r;

	tb = mnt_new_table();
	if (!tb)
		return -ENOMEM;
	r = mnt_table_set_userdata(tb, c);
	if (r >= 0)
		r = mnt_table_set_parser_errcb(tb, bs_mnt_parser_error);
	if (r < 0) {
		mnt_unref_table(tb);
		return r;
	}
	*ret = tb;
	return 0;
}
