/* libFuzzer target: an nbd-client command line (/proc/PID/cmdline) as the live graph reads
 * an nbd device's server from it. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "fuzz.h"
#include "sources/sources.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *uri = NULL;
	int r;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	/* Exactly size bytes, as /proc gives them: a read past the end is an ASan report. */
	buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	if (size > 0)
		memcpy(buf, data, size);
	r = bs_nbd_cmdline_source(buf, size, &uri);
	if (r < 0 || (r > 0) != (uri != NULL))
		abort();
	/* What it gives back is what stack.conf gives network nodes. */
	if (uri && !startswith(uri, "nbd://"))
		abort();
	free(uri);
	free(buf);
	return 0;
}
