/* The planner's internals that the executor uses. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "blkstack.h"
#include "kind.h"

/* Internal plan flag (exec.c): up also opens every closed layer that could hold an
 * unresolved reference, see closure_discover() in plan.c. */
#define BS_PLAN_DISCOVER (1u << 16)

/* The action of step i, or _BS_ACTION_INVALID if out of range. */
enum bs_action bs_plan_get_step_action_id(const struct bs_plan *p, size_t i);
