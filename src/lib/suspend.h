/* Suspend and resume through a given ops table: what bs_suspend_keys() and bs_resume_keys() run, for tests. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "blkstack.h"
#include "ops.h"

int bs_suspend_keys_ops(struct bs_suspend *s, const struct bs_ops *ops, void *userdata,
			bs_suspend_event_fn fn, void *fn_userdata);
int bs_resume_keys_ops(struct bs_suspend *s, const struct bs_ops *ops, void *userdata,
		       unsigned tries, bs_suspend_event_fn fn, void *fn_userdata);
