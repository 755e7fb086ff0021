/* Graph lookups for unit tests that fail the test, naming what is missing. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "blkstack.h"
#include "tests.h"
#include "util.h"

/* The node with id; fails the test if there is none. */
static inline struct bs_node *get_node(const struct bs_graph *g, const char *id)
{
	struct bs_node *n = bs_graph_find_node(g, id);

	if (!n)
		test_fail(TEST_FILE, __LINE__, "no node '%s'", id);
	return n;
}

/* The role of the edge from holder to needs, or NULL if there is none. */
static inline const char *need_role(const struct bs_graph *g, const char *holder, const char *needs)
{
	struct bs_node *h = get_node(g, holder);

	for (size_t i = 0; i < bs_node_get_n_needs(h); i++) {
		struct bs_edge *e = bs_node_get_need(h, i);

		if (streq(bs_node_get_id(bs_edge_get_needs(e)), needs))
			return bs_edge_get_role(e);
	}
	return NULL;
}
