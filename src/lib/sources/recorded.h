/* The recorded graph's reader, reachable without a file: for bs_graph_add_recorded() and the
 * fuzz target. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "graph.h"

/*
 * Merges the recorded graph in text into g, as bs_graph_add_recorded() does with the file.
 * text holds size bytes and a NUL after them (text[size] == '\0'); origin names it in
 * messages. Returns the number of recorded nodes merged or added; -EBADMSG, with a warning
 * naming origin and where, when text is no recorded graph, and then g is unchanged; -EFBIG
 * or -ENOMEM.
 */
int bs_recorded_merge(struct bs_graph *g, const char *origin, const char *text, size_t size);
