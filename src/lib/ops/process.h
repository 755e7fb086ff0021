/* The one way libblkstack runs a standard tool (lvm, mdadm, ...): spawn, capture, wait. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "libblkstack-private.h"

/*
 * Runs argv[0] (looked up in PATH) with argv, standard input from /dev/null, and collects its
 * standard output, up to max_output bytes (-EFBIG past that). Standard error is collected
 * too and logged with the failure. Returns 0 with *ret_out (NUL-terminated, *ret_size bytes
 * before the NUL) when the tool exits 0; -ENOENT if it is not installed (logged naming it);
 * -EPROTO if it exits non-zero or dies of a signal (logged with its standard error).
 */
int bs_spawn_capture(struct bs_ctx *c, const char *const argv[], size_t max_output, char **ret_out,
		     size_t *ret_size);
