/* A program for test-elf that needs libelftest-a.so, linked with RUNPATH or RPATH. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

int elftest_a(void);

int main(void)
{
	return elftest_a() == 3 ? 0 : 1;
}
