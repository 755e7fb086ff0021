/* fstab's options split for mount(2) and swapon(2), once, when the graph is loaded. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "layer-config.h"

/* Splits options (NULL or "" for defaults) with libmount's option maps. "user", "users",
 * "owner" and "group" imply nosuid,nodev(,noexec) as fstab(5) says. Returns 0 or -ENOMEM
 * (or -EINVAL for a string libmount cannot parse); ret is filled only on success. */
int bs_mount_options_split(const char *options, struct bs_mount_options *ret);

/* swapon(2)'s flags from fstab options: pri=N (0 to 32767; -1 is the default and sets
 * nothing) and discard, discard=once, discard=pages. Other options are not swapon's and are
 * passed over. Returns 0, -EINVAL for a bad pri= or discard= (*ret_bad, if not NULL, gets a
 * copy of that option), or -ENOMEM. */
int bs_swap_flags_from_options(const char *options, int *ret_flags, char **ret_bad);
