/* libFuzzer target: the blkid cache parser (run/blkid/blkid.tab), and applying its entries. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "fuzz.h"
#include "sources/sources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "/dev/vda", "/dev/vda1", "/dev/md127",
					     "/dev/mapper/cryptroot" };
	struct bs_blkid_table *t = NULL;
	struct bs_graph *g;
	struct bs_node *n;
	char *text;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	text = fuzz_text(data, size);
	fuzz_check(bs_blkid_table_parse(fuzz_ctx(), "fuzz", text, &t));
	(void)bs_blkid_table_size(t);

	/* Entries onto a node, as the sysfs source applies them. */
	fuzz_check(bs_graph_new(fuzz_ctx(), &g));
	fuzz_check(bs_graph_ensure_node(g, BS_NODE_DISK, "blk:vda", &n));
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		const struct bs_blkid_entry *e = bs_blkid_table_find(t, names[i]);

		for (int tag = 0; tag < _BS_BLKID_TAG_MAX; tag++)
			(void)bs_blkid_entry_get(e, tag);
		fuzz_check(bs_blkid_entry_apply(e, n));
	}

	bs_graph_unref(g);
	bs_blkid_table_free(t);
	free(text);
	return 0;
}
