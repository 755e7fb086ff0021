/* The verbs of the blkstack command, one cmd-VERB.c each. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "blkstack.h"

/* argv[0] is the verb's name. Returns >= 0 on success or a negative errno, which main()
 * maps to the exit code. */
int verb_show(struct bs_ctx *ctx, int argc, char **argv);
int verb_plan(struct bs_ctx *ctx, int argc, char **argv);
int verb_record(struct bs_ctx *ctx, int argc, char **argv);
int verb_check(struct bs_ctx *ctx, int argc, char **argv);
int verb_up(struct bs_ctx *ctx, int argc, char **argv);
int verb_down(struct bs_ctx *ctx, int argc, char **argv);
