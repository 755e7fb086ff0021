/* libFuzzer target: the recorded graph's parser and its merge into a live graph, checked by a
 * round trip: what the merge gives is itself a recorded graph that reads back unchanged. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "fuzz.h"
#include "sources/recorded.h"

/* The graph of json read into an empty graph, as JSON again. Aborts if json is no recorded
 * graph: blkstack wrote it. */
static char *read_back(const char *json)
{
	struct bs_graph *g;
	char *again;

	fuzz_check(bs_graph_new(fuzz_ctx(), &g));
	if (bs_recorded_merge(g, "round trip", json, strlen(json)) < 0)
		abort();
	fuzz_check(bs_graph_to_json(g, &again));
	bs_graph_unref(g);
	return again;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *json = NULL, *once, *twice;
	struct bs_graph *g;
	int r;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	text = fuzz_text(data, size);
	g = fuzz_live_graph();

	r = bs_recorded_merge(g, "fuzz", text, size);
	if (r == -ENOMEM)
		abort();
	if (r >= 0) {
		/* Live and recorded merged, recorded again, read at a cold start with nothing
		 * live, and once more: the last two reads agree. */
		fuzz_check(bs_graph_to_json(g, &json));
		once = read_back(json);
		twice = read_back(once);
		if (strcmp(once, twice) != 0)
			abort();
		free(once);
		free(twice);
	}

	free(json);
	bs_graph_unref(g);
	free(text);
	return 0;
}
