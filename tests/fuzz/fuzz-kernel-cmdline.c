/* libFuzzer target: the kernel command line as /init splits it, ip= with it, and the JSON
 * that 'init --test-cmdline' prints of it. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "cmdline.h"
#include "fuzz.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_strv_free_ char **problems = NULL;
	struct init_cmdline c;
	char *text, *json = NULL;
	int r;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	text = fuzz_text(data, size);
	r = init_cmdline_parse(text, &c, &problems);
	if (r < 0)
		abort();
	if ((size_t)r != strv_length(problems))
		abort();
	if (c.have_ip && !c.ip.off && (c.ip.prefix > 32 || c.ip.client.s_addr == 0))
		abort();
	if (init_cmdline_to_json(&c, &json) < 0)
		abort();
	free(json);
	init_cmdline_done(&c);
	free(text);
	return 0;
}
