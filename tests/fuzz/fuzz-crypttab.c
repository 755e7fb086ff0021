/* libFuzzer target: the crypttab parser (src/lib/sources/config.h). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "fuzz.h"
#include "sources/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_problem_list problems = {};
	struct bs_crypttab *parsed = NULL;
	char *text;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	/* The parser takes a buffer with its size: embedded NULs must be handled too. */
	text = fuzz_text(data, size);
	fuzz_check(bs_crypttab_parse("fuzz", text, size, &parsed, &problems));
	bs_crypttab_free(parsed);
	bs_problem_list_done(&problems);
	free(text);
	return 0;
}
