/* The LVM report's parser, reachable without lvm or a file: for the live source and the fuzz
 * target. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "graph.h"

/*
 * Adds to g what the text of "lvm fullreport --reportformat json" says: VGs on all their PVs
 * (found among g's block devices), LVs in their VG. text holds size bytes and a NUL after
 * them (text[size] == '\0'); origin names it in messages. Damage is logged as warnings
 * naming origin. Returns the number of VGs read, -EBADMSG when the text is no report at all,
 * -EFBIG, or -ENOMEM.
 */
int bs_lvm_report_parse(struct bs_graph *g, const char *origin, const char *text, size_t size);
