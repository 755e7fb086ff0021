/* NULL-terminated string vectors ("strv"): char ** lists that own their strings. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* Frees every string and the vector itself. Accepts NULL; always returns NULL. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* NULL counts as the empty vector here and in every function below. */
size_t strv_length(char *const *l);

/* Appends value to *l. On success *l owns value; on -ENOMEM the caller still does, and *l is
 * unchanged. */
int strv_push(char ***l, char *value);

/* Appends a copy of value to *l. */
int strv_extend(char ***l, const char *value);

bool strv_contains(char *const *l, const char *s);

/* Sorts in place in strcmp() order, so output built from the vector is deterministic. */
void strv_sort(char **l);

/* Joins the strings with separator in between (NULL means " "). The empty vector gives "". */
int strv_join(char *const *l, const char *separator, char **ret);

/* Splits s at any of the characters in separators (NULL means whitespace). Runs of separators
 * count as one and leading or trailing ones are ignored, so no field is ever empty. */
int strv_split(const char *s, const char *separators, char ***ret);
