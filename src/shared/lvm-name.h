/* LVM's device-mapper names: "VG-LV", with every '-' inside either name doubled. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Whether s is a valid VG or LV name as LVM accepts it: letters, digits, "+_.-", not starting
 * with '-', neither "." nor "..". */
bool lvm_name_is_valid(const char *s);

/* The dm name of LV lv in VG vg ("my-vg", "root" gives "my--vg-root"), newly allocated.
 * Returns 0, -EINVAL or -ENOMEM. */
int lvm_dm_name_join(const char *vg, const char *lv, char **ret);

/* Splits a dm name at the first '-' that is not doubled ("my--vg-lv" is VG "my-vg", LV
 * "lv"), newly allocated. Returns 0, -EINVAL if it does not split, or -ENOMEM. */
int lvm_dm_name_split(const char *dm_name, char **ret_vg, char **ret_lv);
