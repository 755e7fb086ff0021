/* A shared library for test-elf that needs nothing. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

int elftest_b(void);

int elftest_b(void)
{
	return 2;
}
