/* A shared library for test-elf that needs libelftest-b.so. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

int elftest_a(void);
int elftest_b(void);

int elftest_a(void)
{
	return elftest_b() + 1;
}
