/* Checked parsing of numbers, sizes, booleans and device numbers from text. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* Each parser accepts exactly the whole string: no leading or trailing whitespace, no
 * trailing garbage. They return -EINVAL for malformed text, -ERANGE for values that do not
 * fit, and leave *ret untouched on failure. Numbers are decimal. */

int safe_atou32(const char *s, uint32_t *ret);
int safe_atou64(const char *s, uint64_t *ret);
int safe_atoi(const char *s, int *ret);

/* A byte count, optionally followed by one suffix K, M, G or T (either case), each a power
 * of 1024: "512", "4K", "16M". */
int parse_size(const char *s, uint64_t *ret);

/* Returns 1 for 1/yes/y/true/t/on, 0 for 0/no/n/false/f/off (any case), else -EINVAL. */
int parse_boolean(const char *s);

/* "MAJOR:MINOR" as in sysfs "dev" files. The kernel's dev_t has 12 bits of major and 20 of
 * minor, so larger numbers are -ERANGE. */
int parse_devno(const char *s, dev_t *ret);

/* A time span as systemd writes it: a number with an optional unit (us, ms, s, min, h and
 * their long forms; none means seconds), "30" or "2min". Returns -EINVAL, -ERANGE or
 * -ENOMEM. */
int parse_timespan(const char *s, uint64_t *ret_usec);
