/* The one loader: which sources build a graph, in which order, and what a problem stops. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "libblkstack-private.h"
#include "manifest.h"
#include "problems.h"
#include "sources.h"
#include "sysroot.h"

_public_ int bs_graph_add_live(struct bs_graph *g)
{
	_cleanup_(bs_blkid_table_freep) struct bs_blkid_table *identities = NULL;
	int r;

	if (!g)
		return -EINVAL;

	/* Identities first: the sysfs pass names md arrays after their members' labels. */
	r = bs_source_blkid(g, &identities);
	if (r == -ENOMEM)
		return r;
	r = bs_source_sysfs(g, identities);
	if (r < 0)
		return r;
	/* The rest refine what sysfs found; each reports its own damage and goes on. */
	r = bs_source_lvm_report(g);
	if (r == -ENOMEM)
		return r;
	r = bs_source_mountinfo(g);
	if (r == -ENOMEM)
		return r;
	r = bs_source_swaps(g);
	if (r == -ENOMEM)
		return r;
	r = bs_graph_link_derived(g);
	if (r == -ENOMEM)
		return r;
	bs_graph_sort(g);
	return 0;
}

/* The manifest at path below the sysroot, merged into g. */
static int bs_graph_add_manifest(struct bs_graph *g, const char *path)
{
	_cleanup_free_ char *text = NULL;
	size_t size;
	int r;

	r = bs_sysroot_read_file_max(g->ctx, path, BS_SYSROOT_READ_MAX, &text, &size);
	if (r < 0)
		return r;
	return bs_manifest_merge(g, path, text, size);
}

static int load_sources(struct bs_ctx *c, unsigned flags, const char *manifest, struct bs_graph *g,
			struct bs_problem_list *problems)
{
	int r, recorded = 0;

	if (flags & BS_LOAD_LIVE) {
		r = bs_graph_add_live(g);
		if (r == -ENOMEM)
			return r;
		if (r < 0 && !(flags & BS_LOAD_LIVE_OPTIONAL)) {
			bs_log_err(c, "Failed to read the block devices below '%s': %s", c->sysroot,
				   strerror(-r));
			return r;
		}
		if (r < 0)
			bs_log_warn(c,
				    "No block devices below '%s' (%s), reading the configuration "
				    "alone",
				    c->sysroot, strerror(-r));
	}
	if (flags & BS_LOAD_MANIFEST) {
		/* In the initramfs: the manifest tells what the record would, and the configuration
		 * of every node it needs. A damaged one is an error: there is nothing else. */
		recorded = bs_graph_add_manifest(g, manifest);
		if (recorded < 0) {
			bs_log_err(c, "Failed to read the manifest '%s': %s", manifest,
				   strerror(-recorded));
			return recorded;
		}
	}
	if (flags & BS_LOAD_RECORDED) {
		/* The record tells what lies inside layers that are closed now; a damaged one has
		 * been reported and is left out, and what is live and configured still counts. */
		recorded = bs_graph_add_recorded(g);
		if (recorded == -EBADMSG)
			recorded = 0;
		if (recorded < 0) {
			bs_log_err(c, "Failed to read the recorded graph: %s", strerror(-recorded));
			return recorded;
		}
	}
	if (flags & BS_LOAD_CONFIG) {
		r = bs_graph_add_config(g, problems);
		if (r < 0) {
			bs_log_err(c, "Failed to read the configuration: %s", strerror(-r));
			return r;
		}
	}
	if (flags & BS_LOAD_LIVE) {
		r = bs_source_kernel(g);
		if (r < 0)
			return r;
	}
	return recorded;
}

_public_ int bs_graph_load(struct bs_ctx *c, const struct bs_load_opts *opts, struct bs_graph **ret,
			   struct bs_problem_list **ret_problems)
{
	struct bs_problem_list *problems = NULL;
	struct bs_graph *g = NULL;
	bool refused = false;
	unsigned flags;
	int r;

	if (!c || !ret)
		return -EINVAL;
	flags = opts ? opts->flags : BS_LOAD_DEFAULT;
	if ((flags & BS_LOAD_MANIFEST) && (!opts->manifest || (flags & BS_LOAD_RECORDED)))
		return -EINVAL;

	r = bs_problem_list_new(&problems);
	if (r >= 0)
		r = bs_graph_new(c, &g);
	if (r >= 0)
		r = load_sources(c, flags, opts ? opts->manifest : NULL, g, problems);
	if (r < 0)
		goto fail;

	for (size_t i = 0; i < problems->n_problems; i++) {
		const struct bs_problem *p = &problems->problems[i];

		bs_log_debug(c, "%s", p->text);
		refused = refused || bs_problem_refuses(p, flags);
	}
	if (ret_problems)
		*ret_problems = TAKE_PTR(problems);
	bs_problem_list_free(problems);
	if (refused) {
		bs_graph_unref(g);
		return -EBADMSG;
	}
	*ret = g;
	return r;
fail:
	bs_problem_list_free(problems);
	bs_graph_unref(g);
	return r;
}
