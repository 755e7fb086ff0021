/* blkstack show: the graph as a tree (from the mount points down, or inverted), JSON or DOT. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph-load.h"
#include "log.h"
#include "macro.h"
#include "util.h"
#include "verbs.h"

enum show_format {
	SHOW_TREE,
	SHOW_JSON,
	SHOW_DOT,
};

static void show_help(void)
{
	printf("Usage: blkstack [--sysroot DIR] show [--inverse] [--json|--dot]\n"
	       "\n"
	       "Show the graph of block layers: every disk, partition, md array, dm-crypt\n"
	       "mapping, LVM volume group and volume, loop device, btrfs filesystem, mount and\n"
	       "swap, and what each needs.\n"
	       "\n"
	       "  -i --inverse   Tree from the disks up, instead of from the mount points down\n"
	       "  -J --json      The graph as JSON (nodes and edges; see blkstack(1))\n"
	       "     --dot       The graph in Graphviz's DOT language\n"
	       "  -h --help      Show this help\n");
}

/* "140M", "1.5G": the width of lsblk's SIZE column, 1024-based. */
static void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	size_t u = 0;

	if (bytes == 0) {
		snprintf(buf, len, "-");
		return;
	}
	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v >= 10 || v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f%c", v, units[u]);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
}

struct tree {
	const struct bs_graph *graph;
	bool inverse;
	/* Per node index: whether it is on the path being printed (a cycle guard). */
	bool *on_path;
	/* Column widths. */
	int w_tree, w_kind, w_dev, w_size, w_fstype;
	/* The prefix of tree-drawing characters for the current depth. */
	char *prefix;
	size_t prefix_len, prefix_alloc;
};

static size_t node_index(const struct bs_graph *g, const struct bs_node *n)
{
	/* Nodes are sorted by id; the graph hands out that order. */
	size_t lo = 0, hi = bs_graph_get_n_nodes(g);
	const char *id = bs_node_get_id(n);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(bs_node_get_id(bs_graph_get_node(g, mid)), id);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

static size_t n_children(const struct tree *t, const struct bs_node *n)
{
	return t->inverse ? bs_node_get_n_holders(n) : bs_node_get_n_needs(n);
}

static struct bs_node *child(const struct tree *t, const struct bs_node *n, size_t i)
{
	return t->inverse ? bs_edge_get_holder(bs_node_get_holder(n, i)) :
			    bs_edge_get_needs(bs_node_get_need(n, i));
}

/* Shown under more than one parent in this direction. */
static bool is_shared(const struct tree *t, const struct bs_node *n)
{
	return (t->inverse ? bs_node_get_n_needs(n) : bs_node_get_n_holders(n)) > 1;
}

static bool is_root(const struct tree *t, const struct bs_node *n)
{
	return (t->inverse ? bs_node_get_n_needs(n) : bs_node_get_n_holders(n)) == 0;
}

static void node_device(const struct bs_node *n, char *buf, size_t len)
{
	const char *name = bs_node_get_name(n), *devno = bs_node_get_devno(n);

	if (bs_node_get_kind(n) == BS_NODE_MOUNT)
		snprintf(buf, len, "%s", strempty(bs_node_get_attr(n, "source")));
	else if (name && devno)
		snprintf(buf, len, "%s %s", name, devno);
	else
		snprintf(buf, len, "%s", name ? name : "-");
}

static int prefix_push(struct tree *t, const char *s)
{
	size_t l = strlen(s);

	if (t->prefix_len + l + 1 > t->prefix_alloc) {
		size_t a = (t->prefix_len + l + 1) * 2;
		char *p = realloc(t->prefix, a);

		if (!p)
			return -ENOMEM;
		t->prefix = p;
		t->prefix_alloc = a;
	}
	memcpy(t->prefix + t->prefix_len, s, l + 1);
	t->prefix_len += l;
	return 0;
}

/* Width in columns of a UTF-8 string of box-drawing and ASCII characters. */
static int text_width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void measure(struct tree *t, const struct bs_node *n, int depth)
{
	char buf[256];
	int w;

	w = depth * 2 + text_width(bs_node_get_id(n));
	t->w_tree = MAX(t->w_tree, w);
	t->w_kind = MAX(t->w_kind, (int)strlen(bs_node_kind_to_string(bs_node_get_kind(n))));
	node_device(n, buf, sizeof(buf));
	t->w_dev = MAX(t->w_dev, text_width(buf));
	format_size(bs_node_get_size(n), buf, sizeof(buf));
	t->w_size = MAX(t->w_size, (int)strlen(buf));
	t->w_fstype = MAX(t->w_fstype, (int)strlen(strna(bs_node_get_attr(n, "fstype"))));
}

static void print_line(struct tree *t, const struct bs_node *n, const char *branch, bool shared,
		       bool cycle)
{
	char dev[256], size[32];
	int pad;

	node_device(n, dev, sizeof(dev));
	format_size(bs_node_get_size(n), size, sizeof(size));
	pad = t->w_tree - text_width(t->prefix) - text_width(branch) -
	      text_width(bs_node_get_id(n));
	printf("%s%s%s%*s  %-*s  %-*s  %*s  %-*s  %s%s%s\n", t->prefix, branch, bs_node_get_id(n),
	       MAX(pad, 0), "", t->w_kind, bs_node_kind_to_string(bs_node_get_kind(n)), t->w_dev,
	       dev, t->w_size, size, t->w_fstype, strna(bs_node_get_attr(n, "fstype")),
	       bs_node_state_to_string(bs_node_get_state(n)), shared ? "  shared" : "",
	       cycle ? "  CYCLE, not followed" : "");
}

/* Prints n, then its children with the tree drawn in front. A node on the current path
 * again is a cycle: the graph should be a DAG, but a damaged sysroot can make one. */
static int print_subtree(struct tree *t, const struct bs_node *n, const char *branch, bool last,
			 int depth, bool measuring)
{
	size_t idx = node_index(t->graph, n), saved = t->prefix_len, count;
	bool cycle = idx != SIZE_MAX && t->on_path[idx];
	int r = 0;

	if (measuring)
		measure(t, n, depth);
	else
		print_line(t, n, branch, is_shared(t, n), cycle);
	if (cycle)
		return 0;

	if (depth > 0) {
		r = prefix_push(t, last ? "  " : "│ ");
		if (r < 0)
			return r;
	}
	t->on_path[idx] = true;
	count = n_children(t, n);
	for (size_t i = 0; r >= 0 && i < count; i++)
		r = print_subtree(t, child(t, n, i), i + 1 == count ? "└─" : "├─", i + 1 == count,
				  depth + 1, measuring);
	t->on_path[idx] = false;
	t->prefix_len = saved;
	t->prefix[saved] = '\0';
	return r;
}

static int show_tree(const struct bs_graph *g, bool inverse)
{
	struct tree t = { .graph = g, .inverse = inverse };
	size_t n = bs_graph_get_n_nodes(g);
	int r = 0;

	t.on_path = calloc(n ? n : 1, sizeof(bool));
	t.prefix = calloc(1, 64);
	if (!t.on_path || !t.prefix) {
		r = -ENOMEM;
		goto out;
	}
	t.prefix_alloc = 64;
	t.w_tree = (int)strlen("ID");
	t.w_kind = (int)strlen("KIND");
	t.w_dev = (int)strlen("DEVICE");
	t.w_size = (int)strlen("SIZE");
	t.w_fstype = (int)strlen("FSTYPE");

	/* Two passes over the same walk: one to size the columns, one to print. */
	for (int pass = 0; r >= 0 && pass < 2; pass++) {
		if (pass == 1)
			printf("%-*s  %-*s  %-*s  %*s  %-*s  %s\n", t.w_tree, "ID", t.w_kind,
			       "KIND", t.w_dev, "DEVICE", t.w_size, "SIZE", t.w_fstype, "FSTYPE",
			       "STATE");
		for (size_t i = 0; r >= 0 && i < n; i++) {
			const struct bs_node *node = bs_graph_get_node(g, i);

			if (is_root(&t, node))
				r = print_subtree(&t, node, "", true, 0, pass == 0);
		}
	}
out:
	free(t.on_path);
	free(t.prefix);
	return r;
}

static const char *dot_shape(enum bs_node_kind k)
{
	switch (k) {
	case BS_NODE_DISK:
	case BS_NODE_PART:
		return "box";
	case BS_NODE_MOUNT:
	case BS_NODE_SWAP:
		return "folder";
	case BS_NODE_VG:
	case BS_NODE_BTRFS:
		return "hexagon";
	default:
		return "ellipse";
	}
}

static const char *dot_color(enum bs_node_state s)
{
	switch (s) {
	case BS_STATE_MOUNTED:
		return "#c8e6c9";
	case BS_STATE_ACTIVE:
		return "#bbdefb";
	case BS_STATE_PRESENT:
		return "#eeeeee";
	default:
		return "#ffffff";
	}
}

/* DOT strings: quotes and backslashes escaped. */
static void dot_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		/* A newline becomes DOT's own "\n". */
		if (*s == '\n') {
			fputs("\\n", stdout);
			continue;
		}
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static int show_dot(const struct bs_graph *g)
{
	printf("digraph blkstack {\n"
	       "\trankdir=TB;\n"
	       "\tnode [style=filled, fontname=\"Helvetica\", fontsize=10];\n"
	       "\tedge [fontname=\"Helvetica\", fontsize=8, color=\"#555555\"];\n");
	for (size_t i = 0; i < bs_graph_get_n_nodes(g); i++) {
		const struct bs_node *n = bs_graph_get_node(g, i);
		char label[512], dev[256];

		node_device(n, dev, sizeof(dev));
		snprintf(label, sizeof(label), "%s\n%s%s%s", bs_node_get_id(n),
			 bs_node_kind_to_string(bs_node_get_kind(n)), streq(dev, "-") ? "" : " ",
			 streq(dev, "-") ? "" : dev);
		putchar('\t');
		dot_string(bs_node_get_id(n));
		printf(" [label=");
		dot_string(label);
		printf(", shape=%s, fillcolor=\"%s\"];\n", dot_shape(bs_node_get_kind(n)),
		       dot_color(bs_node_get_state(n)));
	}
	for (size_t i = 0; i < bs_graph_get_n_edges(g); i++) {
		const struct bs_edge *e = bs_graph_get_edge(g, i);

		putchar('\t');
		dot_string(bs_node_get_id(bs_edge_get_holder(e)));
		printf(" -> ");
		dot_string(bs_node_get_id(bs_edge_get_needs(e)));
		printf(" [label=");
		dot_string(bs_edge_get_role(e));
		printf("];\n");
	}
	printf("}\n");
	return 0;
}

enum {
	ARG_DOT = 0x100,
};

const struct verb_options verb_show_options = {
	":hiJ" CLI_GLOBAL_SHORTOPTS,
	(const struct option[]){
		{ "help", no_argument, NULL, 'h' },
		{ "inverse", no_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'J' },
		{ "dot", no_argument, NULL, ARG_DOT },
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

int verb_show(struct bs_ctx *ctx, int argc, char **argv)
{
	enum show_format format = SHOW_TREE;
	struct bs_graph *g = NULL;
	bool inverse = false;
	int c, r;

	opterr = 0;
	while ((c = verb_getopt(argc, argv, &verb_show_options)) >= 0) {
		switch (c) {
		case 'h':
			show_help();
			return 0;
		case 'i':
			inverse = true;
			break;
		case 'J':
			format = SHOW_JSON;
			break;
		case ARG_DOT:
			format = SHOW_DOT;
			break;
		default:
			return log_usage_error("show: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return log_usage_error("show: unexpected argument '%s'", argv[optind]);
	if (inverse && format != SHOW_TREE)
		return log_usage_error(
			"show: --inverse applies to the tree, not to --json or --dot");

	/* Live, recorded and configured, merged: a problem in the configuration is reported
	 * and the rest is still shown. */
	r = cli_load_graph(ctx, 0, &g);
	if (r < 0)
		return r;

	switch (format) {
	case SHOW_JSON: {
		_cleanup_free_ char *json = NULL;

		r = bs_graph_to_json(g, &json);
		if (r < 0) {
			log_error_errno(r, "Failed to format the graph as JSON: %m");
			goto out;
		}
		fputs(json, stdout);
		putchar('\n');
		break;
	}
	case SHOW_DOT:
		r = show_dot(g);
		break;
	case SHOW_TREE:
		r = show_tree(g, inverse);
		if (r < 0)
			log_error_errno(r, "Failed to print the graph: %m");
		break;
	}
	if (r >= 0 && fflush(stdout) != 0)
		r = log_error_errno(-errno, "Failed to write the output: %m");
out:
	bs_graph_unref(g);
	return r;
}
