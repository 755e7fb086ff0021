/* A small open-addressing hash map: linear probing, grown at 3/4 load, no removal. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

struct slot {
	const char *str;
	uint64_t u64;
	void *value;
	bool used;
};

struct hashmap {
	enum hashmap_keys keys;
	struct slot *slots;
	size_t n_slots; /* a power of two */
	size_t n_used;
};

/* FNV-1a: short keys (device and node ids), where it is fast and spreads well enough. */
static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* splitmix64's finalizer: device numbers are small and clustered. */
static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

int hashmap_new(enum hashmap_keys keys, struct hashmap **ret)
{
	struct hashmap *h;

	if (!ret || (keys != HASHMAP_STRING && keys != HASHMAP_U64))
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->keys = keys;
	*ret = h;
	return 0;
}

struct hashmap *hashmap_free(struct hashmap *h)
{
	if (h) {
		free(h->slots);
		free(h);
	}
	return NULL;
}

size_t hashmap_size(const struct hashmap *h)
{
	return h ? h->n_used : 0;
}

static struct slot *find_slot(struct slot *slots, size_t n_slots, enum hashmap_keys keys,
			      const char *str, uint64_t u64)
{
	size_t mask = n_slots - 1;
	size_t i = (keys == HASHMAP_STRING ? hash_str(str) : hash_u64(u64)) & mask;

	for (;; i = (i + 1) & mask) {
		struct slot *s = &slots[i];

		if (!s->used)
			return s;
		if (keys == HASHMAP_STRING ? strcmp(s->str, str) == 0 : s->u64 == u64)
			return s;
	}
}

static int grow(struct hashmap *h)
{
	size_t n = h->n_slots ? h->n_slots * 2 : 64;
	struct slot *slots;

	if (n < h->n_slots)
		return -ENOMEM;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < h->n_slots; i++) {
		struct slot *old = &h->slots[i];

		if (old->used)
			*find_slot(slots, n, h->keys, old->str, old->u64) = *old;
	}
	free(h->slots);
	h->slots = slots;
	h->n_slots = n;
	return 0;
}

static int put(struct hashmap *h, const char *str, uint64_t u64, void *value)
{
	struct slot *s;
	int r;

	if ((h->n_used + 1) * 4 > h->n_slots * 3) {
		r = grow(h);
		if (r < 0)
			return r;
	}
	s = find_slot(h->slots, h->n_slots, h->keys, str, u64);
	if (!s->used) {
		s->used = true;
		s->str = str;
		s->u64 = u64;
		h->n_used++;
	}
	s->value = value;
	return 0;
}

static void *get(const struct hashmap *h, const char *str, uint64_t u64)
{
	struct slot *s;

	if (!h || h->n_used == 0)
		return NULL;
	s = find_slot(h->slots, h->n_slots, h->keys, str, u64);
	return s->used ? s->value : NULL;
}

int hashmap_put_str(struct hashmap *h, const char *key, void *value)
{
	if (!h || h->keys != HASHMAP_STRING || !key)
		return -EINVAL;
	return put(h, key, 0, value);
}

void *hashmap_get_str(const struct hashmap *h, const char *key)
{
	if (!h || h->keys != HASHMAP_STRING || !key)
		return NULL;
	return get(h, key, 0);
}

int hashmap_put_u64(struct hashmap *h, uint64_t key, void *value)
{
	if (!h || h->keys != HASHMAP_U64)
		return -EINVAL;
	return put(h, NULL, key, value);
}

void *hashmap_get_u64(const struct hashmap *h, uint64_t key)
{
	if (!h || h->keys != HASHMAP_U64)
		return NULL;
	return get(h, NULL, key);
}
