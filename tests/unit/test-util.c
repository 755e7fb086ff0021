/* Unit tests of the small string helpers. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdlib.h>

#include "tests.h"
#include "util.h"

TEST(startswith_returns_rest)
{
	const char *s = "CRYPT-LUKS2-1234-cryptroot";

	ASSERT_STREQ(startswith(s, "CRYPT-"), "LUKS2-1234-cryptroot");
	ASSERT_STREQ(startswith(s, ""), s);
	ASSERT_STREQ(startswith(s, s), "");
	ASSERT_NULL(startswith(s, "LVM-"));
	ASSERT_NULL(startswith("CR", "CRYPT-"));
}

TEST(strstrip_both_ends)
{
	char a[] = "  \tvalue with  spaces \n", b[] = "", c[] = " \n\t ", d[] = "x";

	ASSERT_STREQ(strstrip(a), "value with  spaces");
	ASSERT_STREQ(strstrip(b), "");
	ASSERT_STREQ(strstrip(c), "");
	ASSERT_STREQ(strstrip(d), "x");
}

TEST(free_and_strdup_reports_change)
{
	_cleanup_free_ char *p = NULL;

	ASSERT_EQ(free_and_strdup(&p, NULL), 0);
	ASSERT_EQ(free_and_strdup(&p, "a"), 1);
	ASSERT_STREQ(p, "a");
	ASSERT_EQ(free_and_strdup(&p, "a"), 0);
	ASSERT_EQ(free_and_strdup(&p, "b"), 1);
	ASSERT_STREQ(p, "b");
	ASSERT_EQ(free_and_strdup(&p, NULL), 1);
	ASSERT_NULL(p);
}

TEST(strextend_appends)
{
	_cleanup_free_ char *s = NULL;

	ASSERT_OK(strextend(&s, NULL));
	ASSERT_STREQ(s, "");
	ASSERT_OK(strextend(&s, "sys", "/", "block", NULL));
	ASSERT_STREQ(s, "sys/block");
	ASSERT_OK(strextend(&s, "/vda", "", NULL));
	ASSERT_STREQ(s, "sys/block/vda");
}

TEST(unhex_escape_needs_two_hex_digits)
{
	ASSERT_EQ(unhex_escape("\\x2f"), 0x2f);
	ASSERT_EQ(unhex_escape("\\x2Fabc"), 0x2f);
	ASSERT_EQ(unhex_escape("\\x4"), -1);
	ASSERT_EQ(unhex_escape("\\x"), -1);
	ASSERT_EQ(unhex_escape("\\xg0"), -1);
	ASSERT_EQ(unhex_escape("x20"), -1);
	ASSERT_EQ(unhex_escape(""), -1);
}

TEST(array_reserve_grows_and_keeps)
{
	_cleanup_free_ int *a = NULL;
	size_t allocated = 0;

	for (size_t i = 0; i < 1000; i++) {
		ASSERT_OK(ARRAY_RESERVE(a, allocated, i));
		ASSERT_TRUE(allocated > i);
		a[i] = (int)i;
	}
	for (size_t i = 0; i < 1000; i++)
		ASSERT_EQ(a[i], (int)i);
	/* Room already there: nothing moves. */
	{
		int *before = a;
		size_t had = allocated;

		ASSERT_OK(ARRAY_RESERVE(a, allocated, 10));
		ASSERT_TRUE(a == before);
		ASSERT_EQ(allocated, had);
	}
	/* An overflowing size fails and leaves the array as it was. */
	{
		void *p = a;
		size_t had = allocated;

		ASSERT_ERR(array_reserve(&p, &allocated, allocated, SIZE_MAX / 2), -ENOMEM);
		ASSERT_TRUE(p == a);
		ASSERT_EQ(allocated, had);
	}
}
