/* The mountinfo source's reader, reachable with any path: for the live source and the fuzz
 * target. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "graph.h"

/*
 * Adds a mount node for each mount of a known block device in the mountinfo file at path (an
 * absolute path on the host, as libmount reads it), on the node of its device. Lines that do
 * not parse are logged as warnings naming path:line. Returns the number of mounts added, 0 if
 * path does not exist, or a negative errno.
 */
int bs_mountinfo_parse_file(struct bs_graph *g, const char *path);
