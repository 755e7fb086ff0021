/* The one way libblkstack runs a standard tool (lvm, mdadm, ...): spawn, capture, wait. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <spawn.h>
#include <stdbool.h>
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

/* Starts path (looked up in PATH when search is set) with argv, the file actions fa (may be
 * NULL) and the caller's environment, with default signal handling and nothing blocked:
 * nothing of ours runs in the child before the exec. Returns 0 with *ret_pid, or a negative
 * errno. The one way the library starts a process. */
int bs_spawn_clean(const char *path, bool search, const char *const argv[],
		   const posix_spawn_file_actions_t *fa, pid_t *ret_pid);
