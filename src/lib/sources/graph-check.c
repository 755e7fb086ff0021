/* Checks of the whole graph: its cycles, found in linear time and printed one per tangle. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "problems.h"
#include "sources.h"
#include "util.h"

#define UNVISITED SIZE_MAX

struct frame {
	size_t node;
	size_t next_edge;
};

/* Tarjan's strongly connected components, iterative. comp[i] gets the component of node i;
 * a component of one node is never a cycle here, as the graph has no self edges. Returns the
 * number of components, or -ENOMEM. */
static int find_components(const struct bs_graph *g, size_t *comp, size_t *ret_n)
{
	size_t n = g->n_nodes, counter = 0, n_comp = 0, sp = 0, fp = 0;
	_cleanup_free_ size_t *index = NULL, *low = NULL, *stack = NULL;
	_cleanup_free_ struct frame *frames = NULL;
	_cleanup_free_ bool *on_stack = NULL;

	index = malloc(n * sizeof(*index));
	low = malloc(n * sizeof(*low));
	stack = malloc(n * sizeof(*stack));
	frames = malloc(n * sizeof(*frames));
	on_stack = calloc(n, sizeof(*on_stack));
	if (n > 0 && (!index || !low || !stack || !frames || !on_stack))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		index[i] = UNVISITED;

	for (size_t root = 0; root < n; root++) {
		if (index[root] != UNVISITED)
			continue;
		index[root] = low[root] = counter++;
		stack[sp++] = root;
		on_stack[root] = true;
		frames[fp++] = (struct frame){ .node = root };

		while (fp > 0) {
			struct frame *f = &frames[fp - 1];
			const struct bs_node *v = g->nodes[f->node];

			if (f->next_edge < v->n_needs) {
				const struct bs_edge *e = v->needs[f->next_edge++];
				size_t w = e->needs->index;

				/* What the initramfs carries orders nothing. */
				if (e->carried)
					continue;

				if (index[w] == UNVISITED) {
					index[w] = low[w] = counter++;
					stack[sp++] = w;
					on_stack[w] = true;
					frames[fp++] = (struct frame){ .node = w };
				} else if (on_stack[w] && index[w] < low[f->node])
					low[f->node] = index[w];
				continue;
			}

			size_t vi = f->node;
			fp--;
			if (low[vi] == index[vi]) {
				size_t w;

				do {
					w = stack[--sp];
					on_stack[w] = false;
					comp[w] = n_comp;
				} while (w != vi);
				n_comp++;
			}
			if (fp > 0 && low[vi] < low[frames[fp - 1].node])
				low[frames[fp - 1].node] = low[vi];
		}
	}
	*ret_n = n_comp;
	return 0;
}

/* One cycle through start inside its component: a breadth-first search from start along
 * edges that stay in the component, until an edge leads back to start. Fills path with the
 * edges of the cycle in order and returns their number. */
static size_t shortest_cycle(const struct bs_graph *g, const size_t *comp, size_t start,
			     struct bs_edge **parent, size_t *queue, struct bs_edge **path)
{
	size_t head = 0, tail = 0, c = comp[start];
	struct bs_edge *closing = NULL;

	queue[tail++] = start;
	parent[start] = NULL;
	while (head < tail && !closing) {
		const struct bs_node *v = g->nodes[queue[head++]];

		for (size_t i = 0; i < v->n_needs; i++) {
			struct bs_edge *e = v->needs[i];
			size_t w = e->needs->index;

			if (comp[w] != c || e->carried)
				continue;
			if (w == start) {
				closing = e;
				break;
			}
			if (parent[w] || w == start)
				continue;
			parent[w] = e;
			queue[tail++] = w;
		}
	}
	if (!closing)
		return 0; /* not reached: a component of several nodes has a cycle through each */

	/* Walk back from the closing edge to start, then reverse. */
	size_t n = 0;
	path[n++] = closing;
	for (struct bs_edge *e = parent[closing->holder->index]; e; e = parent[e->holder->index])
		path[n++] = e;
	for (size_t i = 0; i < n / 2; i++) {
		struct bs_edge *t = path[i];

		path[i] = path[n - 1 - i];
		path[n - 1 - i] = t;
	}
	/* Clear what this search marked, for the next component. */
	for (size_t i = 0; i < tail; i++)
		parent[queue[i]] = NULL;
	return n;
}

static int report_cycle(struct bs_problem_list *problems, struct bs_edge **path, size_t n)
{
	_cleanup_free_ char *text = NULL;
	size_t first = 0;

	/* Start where the configuration made an edge: that line is the one to change. */
	for (size_t i = 0; i < n; i++)
		if (path[i]->origin_file) {
			first = i;
			break;
		}
	for (size_t k = 0; k < n; k++)
		if (strextend(&text, path[(first + k) % n]->holder->id, " -> ", NULL) < 0)
			return -ENOMEM;
	if (strextend(&text, path[first]->holder->id, NULL) < 0)
		return -ENOMEM;
	return bs_problem_add_full(problems, BS_PROBLEM_CYCLE, BS_PROBLEM_ERROR,
				   path[first]->origin_file, path[first]->origin_line,
				   path[first]->holder->id, "dependency cycle: %s", text);
}

int bs_graph_find_cycles(struct bs_graph *g, struct bs_problem_list *problems)
{
	_cleanup_free_ size_t *comp = NULL, *comp_size = NULL, *queue = NULL;
	_cleanup_free_ struct bs_edge **parent = NULL, **path = NULL;
	_cleanup_free_ bool *reported = NULL;
	size_t n, n_comp = 0;
	int r, found = 0;

	if (!g || !problems)
		return -EINVAL;
	bs_graph_sort(g);
	n = g->n_nodes;
	if (n == 0)
		return 0;

	comp = malloc(n * sizeof(*comp));
	queue = malloc(n * sizeof(*queue));
	parent = calloc(n, sizeof(*parent));
	path = malloc(n * sizeof(*path));
	if (!comp || !queue || !parent || !path)
		return -ENOMEM;
	r = find_components(g, comp, &n_comp);
	if (r < 0)
		return r;

	comp_size = calloc(n_comp, sizeof(*comp_size));
	reported = calloc(n_comp, sizeof(*reported));
	if (!comp_size || !reported)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		comp_size[comp[i]]++;

	/* Nodes are sorted by id: each tangle is printed from its first node in that order,
	 * so the output does not depend on the order the sources added things. */
	for (size_t i = 0; i < n; i++) {
		size_t c = comp[i], len;

		if (comp_size[c] < 2 || reported[c])
			continue;
		reported[c] = true;
		len = shortest_cycle(g, comp, i, parent, queue, path);
		if (len == 0)
			continue;
		r = report_cycle(problems, path, len);
		if (r < 0)
			return r;
		found++;
	}
	return found;
}
