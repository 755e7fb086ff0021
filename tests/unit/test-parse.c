/* Unit tests of the checked number, size, boolean and device number parsers. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <limits.h>
#include <sys/sysmacros.h>

#include "parse.h"
#include "tests.h"

TEST(safe_atou32_accepts_decimal)
{
	uint32_t v;

	ASSERT_OK(safe_atou32("0", &v));
	ASSERT_EQ(v, 0);
	ASSERT_OK(safe_atou32("42", &v));
	ASSERT_EQ(v, 42);
	ASSERT_OK(safe_atou32("007", &v));
	ASSERT_EQ(v, 7);
	ASSERT_OK(safe_atou32("4294967295", &v));
	ASSERT_EQ(v, UINT32_MAX);
}

TEST(safe_atou32_rejects_malformed)
{
	uint32_t v = 1234;

	ASSERT_ERR(safe_atou32("", &v), -EINVAL);
	ASSERT_ERR(safe_atou32(" 1", &v), -EINVAL);
	ASSERT_ERR(safe_atou32("1 ", &v), -EINVAL);
	ASSERT_ERR(safe_atou32("1\n", &v), -EINVAL);
	ASSERT_ERR(safe_atou32("-1", &v), -EINVAL);
	ASSERT_ERR(safe_atou32("+1", &v), -EINVAL);
	ASSERT_ERR(safe_atou32("0x10", &v), -EINVAL);
	ASSERT_ERR(safe_atou32("12a", &v), -EINVAL);
	ASSERT_ERR(safe_atou32("4294967296", &v), -ERANGE);
	ASSERT_ERR(safe_atou32("99999999999999999999999", &v), -ERANGE);
	/* Failures leave the output alone. */
	ASSERT_EQ(v, 1234);
}

TEST(safe_atou64_limits)
{
	uint64_t v;

	ASSERT_OK(safe_atou64("18446744073709551615", &v));
	ASSERT_EQ(v, UINT64_MAX);
	ASSERT_ERR(safe_atou64("18446744073709551616", &v), -ERANGE);
	ASSERT_ERR(safe_atou64("-0", &v), -EINVAL);
}

TEST(safe_atoi_signs_and_limits)
{
	int v = 99;

	ASSERT_OK(safe_atoi("-17", &v));
	ASSERT_EQ(v, -17);
	ASSERT_OK(safe_atoi("+17", &v));
	ASSERT_EQ(v, 17);
	ASSERT_OK(safe_atoi("2147483647", &v));
	ASSERT_EQ(v, INT_MAX);
	ASSERT_OK(safe_atoi("-2147483648", &v));
	ASSERT_EQ(v, INT_MIN);

	v = 99;
	ASSERT_ERR(safe_atoi("2147483648", &v), -ERANGE);
	ASSERT_ERR(safe_atoi("-2147483649", &v), -ERANGE);
	ASSERT_ERR(safe_atoi("-", &v), -EINVAL);
	ASSERT_ERR(safe_atoi("--1", &v), -EINVAL);
	ASSERT_ERR(safe_atoi("+-1", &v), -EINVAL);
	ASSERT_ERR(safe_atoi(" -1", &v), -EINVAL);
	ASSERT_EQ(v, 99);
}

TEST(parse_size_suffixes)
{
	uint64_t v;

	ASSERT_OK(parse_size("512", &v));
	ASSERT_EQ(v, 512);
	ASSERT_OK(parse_size("4K", &v));
	ASSERT_EQ(v, 4096);
	ASSERT_OK(parse_size("4k", &v));
	ASSERT_EQ(v, 4096);
	ASSERT_OK(parse_size("16M", &v));
	ASSERT_EQ(v, 16ULL << 20);
	ASSERT_OK(parse_size("3G", &v));
	ASSERT_EQ(v, 3ULL << 30);
	ASSERT_OK(parse_size("2t", &v));
	ASSERT_EQ(v, 2ULL << 40);
	ASSERT_OK(parse_size("0T", &v));
	ASSERT_EQ(v, 0);
}

TEST(parse_size_rejects_bad_input)
{
	uint64_t v = 7;

	ASSERT_ERR(parse_size("", &v), -EINVAL);
	ASSERT_ERR(parse_size("K", &v), -EINVAL);
	ASSERT_ERR(parse_size("1KB", &v), -EINVAL);
	ASSERT_ERR(parse_size("1KiB", &v), -EINVAL);
	ASSERT_ERR(parse_size("1P", &v), -EINVAL);
	ASSERT_ERR(parse_size("1 K", &v), -EINVAL);
	ASSERT_ERR(parse_size("-1K", &v), -EINVAL);
	ASSERT_ERR(parse_size("1.5G", &v), -EINVAL);
	ASSERT_EQ(v, 7);
}

TEST(parse_size_overflow)
{
	uint64_t v;

	ASSERT_OK(parse_size("16777215T", &v));
	ASSERT_EQ(v, 16777215ULL << 40);
	ASSERT_ERR(parse_size("16777216T", &v), -ERANGE);
	ASSERT_ERR(parse_size("18014398509481984K", &v), -ERANGE);
	ASSERT_ERR(parse_size("18446744073709551616", &v), -ERANGE);
}

TEST(parse_boolean_words)
{
	ASSERT_EQ(parse_boolean("1"), 1);
	ASSERT_EQ(parse_boolean("yes"), 1);
	ASSERT_EQ(parse_boolean("TRUE"), 1);
	ASSERT_EQ(parse_boolean("on"), 1);
	ASSERT_EQ(parse_boolean("0"), 0);
	ASSERT_EQ(parse_boolean("No"), 0);
	ASSERT_EQ(parse_boolean("off"), 0);
	ASSERT_ERR(parse_boolean(""), -EINVAL);
	ASSERT_ERR(parse_boolean("2"), -EINVAL);
	ASSERT_ERR(parse_boolean("yes "), -EINVAL);
}

TEST(parse_devno_sysfs_format)
{
	dev_t d;

	ASSERT_OK(parse_devno("8:0", &d));
	ASSERT_EQ(major(d), 8);
	ASSERT_EQ(minor(d), 0);
	ASSERT_OK(parse_devno("253:17", &d));
	ASSERT_EQ(major(d), 253);
	ASSERT_EQ(minor(d), 17);
	ASSERT_OK(parse_devno("4095:1048575", &d));
	ASSERT_EQ(major(d), 4095);
	ASSERT_EQ(minor(d), 1048575);
}

TEST(parse_devno_rejects_bad_input)
{
	dev_t d = makedev(1, 2);

	ASSERT_ERR(parse_devno("", &d), -EINVAL);
	ASSERT_ERR(parse_devno("8", &d), -EINVAL);
	ASSERT_ERR(parse_devno("8:", &d), -EINVAL);
	ASSERT_ERR(parse_devno(":0", &d), -EINVAL);
	ASSERT_ERR(parse_devno("8:0\n", &d), -EINVAL);
	ASSERT_ERR(parse_devno("8:0:1", &d), -EINVAL);
	ASSERT_ERR(parse_devno("8:-1", &d), -EINVAL);
	ASSERT_ERR(parse_devno("4096:0", &d), -ERANGE);
	ASSERT_ERR(parse_devno("8:1048576", &d), -ERANGE);
	ASSERT_ERR(parse_devno("99999999999999999999:0", &d), -ERANGE);
	ASSERT_EQ(major(d), 1);
	ASSERT_EQ(minor(d), 2);
}
