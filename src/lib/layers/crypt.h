/* The crypt driver's pure part: from a node's crypt configuration to what crypt_open is asked. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "ops.h"

/*
 * The crypt_open request for configuration c (NULL: a mapping no crypttab line describes,
 * known only from the recorded graph: LUKS of either version, opened with a passphrase).
 * name, device, header and key_file are the paths as the executor opens them (header and
 * key_file NULL for none); they and c's strings are borrowed, so *ret lives as long as they
 * do.
 *
 * The mode is c's; a line that names none is LUKS if the device has a LUKS header, else
 * plain (crypttab(5)), which this cannot tell: it asks for "luks", and the driver asks again
 * with as_plain when the device turns out to have no LUKS header. A plain request gets the
 * BS_CRYPT_PLAIN_DEFAULT_* values for what the line leaves out, and neither a hash nor a key
 * file size when a key file is used: a plain key file is the key itself, as many bytes of it
 * as the key has (crypttab(5), cryptsetup(8)). The key (key, key_size) is left empty.
 * Returns 0, -EINVAL for missing arguments, -ERANGE for a key file size that does not fit,
 * or -EOPNOTSUPP for a configuration that says it is unsupported.
 */
int bs_crypt_request_from_config(const struct bs_crypt_config *c, const char *name,
				 const char *device, const char *header, const char *key_file,
				 bool as_plain, struct bs_crypt_request *ret);
