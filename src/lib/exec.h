/* Internals of the executor that tests reach: replacing the ops table. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "blkstack.h"
#include "ops.h"

/* Replaces the ops table (the real one by default) with ops, called with userdata. Unit
 * tests install a recorder this way. */
int bs_exec_set_ops(struct bs_exec *e, const struct bs_ops *ops, void *userdata);

/* How many rounds a run may take (MAX_ROUNDS in exec.c by default), for tests of the limit. */
int bs_exec_set_max_rounds(struct bs_exec *e, unsigned n);

/*
 * What holds node n open, one line each ("pid 812 (sleep) has its working directory in
 * /srv", "mounted below it: /srv/www", "held by dm-3 (crypt:cryptsrv)"), read below the
 * context's sysroot (proc/, sys/, the graph's mounts). mount_point is where n is mounted,
 * for a mount node, else NULL. Returns the number of lines, with *ret a NULL-terminated list
 * (blockers.c).
 */
struct bs_node;
int bs_find_blockers(struct bs_ctx *c, const struct bs_node *n, const char *mount_point,
		     char ***ret);
