/* libFuzzer target: the initramfs manifest's strict parser and its merge into a live graph. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "fuzz.h"
#include "sources/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *json = NULL;
	struct bs_graph *g;
	int r;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	text = fuzz_text(data, size);
	g = fuzz_live_graph();

	r = bs_manifest_merge(g, "fuzz", text, size);
	if (r == -ENOMEM)
		abort();
	/* What was taken is a graph like any other. */
	if (r >= 0) {
		fuzz_check(bs_graph_to_json(g, &json));
		free(json);
	}
	bs_graph_unref(g);
	free(text);
	return 0;
}
