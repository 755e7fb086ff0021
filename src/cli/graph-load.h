/* The graph the verbs work on: live, recorded and configured, merged. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "blkstack.h"

/* Builds the graph from every source below the context's sysroot. Damage is reported by the
 * library as it reads; a source that cannot be read at all fails the verb, with a message. */
int cli_load_graph(struct bs_ctx *ctx, struct bs_graph **ret);
