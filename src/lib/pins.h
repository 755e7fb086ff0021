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

struct bs_crypt_digest;

/*
 * The volume key digest of the LUKS pin with LUKS UUID uuid, or else of the pin of node id
 * node (either may be NULL): 1 with *ret (strings borrowed from p), 0 when p pins no such
 * header or its pin has no digest.
 */
int bs_pins_luks_digest(const struct bs_pins *p, const char *uuid, const char *node,
			struct bs_crypt_digest *ret);

/*
 * Whether the md array (md true: its md uuid, in any form) or the VG (its uuid) pins a member
 * with member_uuid (md: UUID_SUB, VG: PV UUID): 1 or 0; -ENOENT when p has no pin of it.
 */
int bs_pins_has_member(const struct bs_pins *p, bool md, const char *uuid, const char *member_uuid);

/*
 * The paths ("/dev/NAME", "/dev/mapper/NAME" for a dm device) of the live devices of g that
 * carry a member of that pin, in node order, NULL-terminated (never NULL): the count, or
 * -ENOENT when p has no pin of it, or -ENOMEM.
 */
int bs_pins_member_paths(const struct bs_pins *p, const struct bs_graph *g, bool md,
			 const char *uuid, char ***ret);
