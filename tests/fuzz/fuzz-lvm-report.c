/* libFuzzer target: the LVM report parser ("lvm fullreport --reportformat json"). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "fuzz.h"
#include "sources/lvm-report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_graph *g;
	char *text, *json;
	int r;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	text = fuzz_text(data, size);
	g = fuzz_live_graph();

	/* The PVs resolve to the block devices of the graph, by name or device number. */
	r = bs_lvm_report_parse(g, "fuzz", text, size);
	if (r == -ENOMEM)
		abort();
	fuzz_check(bs_graph_to_json(g, &json));

	free(json);
	bs_graph_unref(g);
	free(text);
	return 0;
}
