/* The crypt driver's pure parts: from a crypttab(5) entry to what crypt_open is asked. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "ops.h"

struct bs_crypttab_entry;

/*
 * What a plain mapping gets for what its crypttab line leaves out: cryptsetup's compiled-in
 * defaults up to 2.6 (Debian 12), the ones crypttab(5) refers to. cryptsetup 2.7 changed
 * them (aes-xts-plain64, sha256), so a plain line should name all three; the driver warns
 * when one is missing.
 */
#define BS_CRYPT_PLAIN_DEFAULT_CIPHER "aes-cbc-essiv:sha256"
#define BS_CRYPT_PLAIN_DEFAULT_KEY_BITS 256u
#define BS_CRYPT_PLAIN_DEFAULT_HASH "ripemd160"

/* The tries a passphrase gets when crypttab says nothing (tries=). */
#define BS_CRYPT_DEFAULT_TRIES 3u

/*
 * Why blkstack does not open the mapping entry describes, as a message that says what to do
 * instead; NULL if it does. Random-key mappings (swap, tmp), keyscript=, a key file on a
 * device of its own (PATH:DEVICE) and the bitlk and tcrypt types are out of scope.
 */
const char *bs_crypt_entry_unsupported(const struct bs_crypttab_entry *e);

/*
 * The crypt_open request for entry e (NULL: a mapping no crypttab line describes, known
 * only from the recorded graph: LUKS of either version, opened with a passphrase). name,
 * device, header and key_file are the paths as the executor opens them (header and key_file
 * NULL for none); they and e's strings are borrowed, so *ret lives as long as they do.
 *
 * The type is the entry's; an entry that names none is LUKS if the device has a LUKS header,
 * else plain (crypttab(5)), which this cannot tell: it asks for "luks", and the driver asks
 * again with as_plain when the device turns out to have no LUKS header. A plain request gets
 * the BS_CRYPT_PLAIN_DEFAULT_* values for what the entry leaves out, and neither a hash nor a
 * key file size when a key file is used: a plain key file is the key itself, as many bytes
 * of it as the key has (crypttab(5), cryptsetup(8)). The key (key, key_size) is left empty.
 * Returns 0, -EINVAL for missing arguments, -ERANGE for a key file size that does not fit,
 * or -EOPNOTSUPP for an entry bs_crypt_entry_unsupported() refuses.
 */
int bs_crypt_request_from_entry(const struct bs_crypttab_entry *e, const char *name,
				const char *device, const char *header, const char *key_file,
				bool as_plain, struct bs_crypt_request *ret);

/* How many passphrases that were asked for may be wrong before opening e fails: tries=, 3
 * by default (also for e NULL), 0 for no limit. */
unsigned bs_crypt_entry_tries(const struct bs_crypttab_entry *e);
