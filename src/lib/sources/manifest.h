/* The initramfs manifest: written from what the root set needs, read back as a graph source. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "graph.h"

/*
 * Merges the manifest in text into g (size bytes, a NUL after them; origin names it in
 * messages): its graph as the recorded graph merges (sources/recorded.c), then the typed
 * configuration of each node, so that the drivers run with nothing else to read. The parser
 * is strict: an unknown member, a wrong type or a number out of range is damage, reported as
 * a warning naming origin and where, and gives -EBADMSG with g unchanged. Returns the number
 * of nodes merged, -EFBIG or -ENOMEM.
 */
int bs_manifest_merge(struct bs_graph *g, const char *origin, const char *text, size_t size);
