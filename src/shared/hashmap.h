/* A small open-addressing hash map, keyed by borrowed strings or by 64-bit integers. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct hashmap;

enum hashmap_keys {
	HASHMAP_STRING, /* keys are NUL-terminated strings the caller keeps alive */
	HASHMAP_U64,
};

int hashmap_new(enum hashmap_keys keys, struct hashmap **ret);
struct hashmap *hashmap_free(struct hashmap *h);
size_t hashmap_size(const struct hashmap *h);

/* Put replaces the value of an existing key. Returns 0, or -ENOMEM. */
int hashmap_put_str(struct hashmap *h, const char *key, void *value);
void *hashmap_get_str(const struct hashmap *h, const char *key);
int hashmap_put_u64(struct hashmap *h, uint64_t key, void *value);
void *hashmap_get_u64(const struct hashmap *h, uint64_t key);
