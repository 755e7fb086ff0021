/* Internal pins API: the pins as JSON, for the manifest that carries them. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "blkstack.h"

struct json_object;

/* The list of pins, the "pins" member of the pins file and of the manifest. */
int bs_pins_to_json_list(const struct bs_pins *p, struct json_object **ret);

/*
 * Reads a list of pins in that format, strictly: an unknown member, a kind that is not
 * luks, md, vg or fs, a field or member that is no non-empty string, refuse it (logged as a
 * warning naming origin and where, then -EBADMSG). Returns 0 with *ret, -EBADMSG or -ENOMEM.
 */
int bs_pins_from_json_list(struct bs_ctx *c, const char *origin, struct json_object *list,
			   struct bs_pins **ret);
