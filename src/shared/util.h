/* Small string helpers shared by libblkstack and the blkstack command. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdlib.h>

#include <stdbool.h>
#include <string.h>

#include <stdint.h>

#include "macro.h"

#define WHITESPACE " \t\n\r"

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* Returns a pointer just past prefix in s, or NULL if s does not start with prefix. */
char *startswith(const char *s, const char *prefix);

/* Cuts trailing whitespace in place and returns a pointer to the first non-whitespace
 * character of s. */
char *strstrip(char *s);

/* Replaces *p with a copy of s (or NULL) and frees the old string. Returns 1 if the value
 * changed, 0 if it was equal already, -ENOMEM on failure (then *p is untouched). */
int free_and_strdup(char **p, const char *s);

static inline const char *strempty(const char *s)
{
	return s ? s : "";
}

/* "n/a" for an unknown value in a table. */
static inline const char *strna(const char *s)
{
	return s ? s : "-";
}

/* The byte of a udev/systemd "\xHH" escape at s (which points at the backslash), or -1 if
 * s does not start with one: exactly two hex digits must follow "\x". */
int unhex_escape(const char *s);

/* Whether the comma-separated option list opts (fstab or crypttab style) has the option
 * name, alone or as "name=value". */
bool option_list_has(const char *opts, const char *name);

/* Frees p and returns NULL, for "x = mfree(x)". */
static inline void *mfree(void *p)
{
	free(p);
	return NULL;
}

/* Appends the NULL-terminated list of strings to *x, which may start as NULL. On -ENOMEM *x
 * is untouched. */
int strextend(char **x, ...) _sentinel_;

#define USEC_PER_SEC UINT64_C(1000000)

/* CLOCK_MONOTONIC in microseconds, for deadlines. */
uint64_t now_usec(void);

/* Makes room for element n of the growing array *array (elements of size bytes, *allocated
 * of them), doubling the allocation from 8. Returns 0, or -ENOMEM with *array and *allocated
 * untouched. */
int array_reserve(void **array, size_t *allocated, size_t n, size_t size);
#define ARRAY_RESERVE(array, allocated, n)                                                         \
	array_reserve((void **)&(array), &(allocated), (n), sizeof(*(array)))
