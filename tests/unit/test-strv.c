/* Unit tests of NULL-terminated string vectors. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "tests.h"

TEST(strv_null_is_empty)
{
	_cleanup_free_ char *joined = NULL;

	ASSERT_EQ(strv_length(NULL), 0);
	ASSERT_FALSE(strv_contains(NULL, "a"));
	ASSERT_NULL(strv_free(NULL));
	strv_sort(NULL);
	ASSERT_OK(strv_join(NULL, ",", &joined));
	ASSERT_STREQ(joined, "");
}

TEST(strv_extend_and_push)
{
	_cleanup_strv_free_ char **l = NULL;
	char *owned;

	ASSERT_OK(strv_extend(&l, "one"));
	ASSERT_OK(strv_extend(&l, "two"));

	owned = strdup("three");
	ASSERT_NOTNULL(owned);
	ASSERT_OK(strv_push(&l, owned));

	ASSERT_EQ(strv_length(l), 3);
	ASSERT_STREQ(l[0], "one");
	ASSERT_STREQ(l[1], "two");
	ASSERT_TRUE(l[2] == owned);
	ASSERT_NULL(l[3]);
	ASSERT_TRUE(strv_contains(l, "two"));
	ASSERT_FALSE(strv_contains(l, "four"));
}

TEST(strv_sort_is_strcmp_order)
{
	_cleanup_strv_free_ char **l = NULL;

	ASSERT_OK(strv_split("vdb vda10 vda2 md0 Vda", NULL, &l));
	strv_sort(l);

	ASSERT_EQ(strv_length(l), 5);
	ASSERT_STREQ(l[0], "Vda");
	ASSERT_STREQ(l[1], "md0");
	ASSERT_STREQ(l[2], "vda10");
	ASSERT_STREQ(l[3], "vda2");
	ASSERT_STREQ(l[4], "vdb");
}

TEST(strv_join_separators)
{
	_cleanup_strv_free_ char **l = NULL;
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

	ASSERT_OK(strv_extend(&l, "x"));
	ASSERT_OK(strv_join(l, ", ", &a));
	ASSERT_STREQ(a, "x");

	ASSERT_OK(strv_extend(&l, "y"));
	ASSERT_OK(strv_extend(&l, ""));
	ASSERT_OK(strv_join(l, ", ", &b));
	ASSERT_STREQ(b, "x, y, ");
	ASSERT_OK(strv_join(l, NULL, &c));
	ASSERT_STREQ(c, "x y ");
}

TEST(strv_split_whitespace)
{
	_cleanup_strv_free_ char **l = NULL;

	ASSERT_OK(strv_split("  cryptroot\tUUID=1234 \n none  luks,discard\n", NULL, &l));
	ASSERT_EQ(strv_length(l), 4);
	ASSERT_STREQ(l[0], "cryptroot");
	ASSERT_STREQ(l[1], "UUID=1234");
	ASSERT_STREQ(l[2], "none");
	ASSERT_STREQ(l[3], "luks,discard");
}

TEST(strv_split_separators)
{
	_cleanup_strv_free_ char **l = NULL;

	ASSERT_OK(strv_split(",luks,,discard,", ",", &l));
	ASSERT_EQ(strv_length(l), 2);
	ASSERT_STREQ(l[0], "luks");
	ASSERT_STREQ(l[1], "discard");
}

TEST(strv_split_empty_gives_empty_vector)
{
	_cleanup_strv_free_ char **a = NULL, **b = NULL;

	ASSERT_OK(strv_split("", NULL, &a));
	ASSERT_NOTNULL(a);
	ASSERT_EQ(strv_length(a), 0);

	ASSERT_OK(strv_split(" \t\n", NULL, &b));
	ASSERT_NOTNULL(b);
	ASSERT_EQ(strv_length(b), 0);
}
