/* Facts of the running kernel that the planner needs: the resume device. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "parse.h"
#include "sources.h"
#include "sysroot.h"
#include "util.h"

/* The resume device, from the kernel (sys/power/resume, "MAJ:MIN") or its command line
 * (resume=SPEC); NULL if none is set. */
static struct bs_node *find_resume_device(struct bs_graph *g)
{
	_cleanup_free_ char *attr = NULL, *cmdline = NULL;
	dev_t devno;

	if (bs_sysroot_read_attr(g->ctx, "sys/power/resume", &attr) >= 0 &&
	    parse_devno(attr, &devno) >= 0 && devno != 0)
		return bs_graph_find_devno(g, devno);

	if (bs_sysroot_read_attr(g->ctx, "proc/cmdline", &cmdline) < 0)
		return NULL;
	for (char *save = NULL, *tok = strtok_r(cmdline, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		const char *spec = startswith(tok, "resume=");

		if (spec)
			return bs_graph_find_spec(g, spec);
	}
	return NULL;
}

int bs_source_kernel(struct bs_graph *g)
{
	g->resume = find_resume_device(g);
	if (g->resume)
		bs_log_debug(g->ctx, "the resume device is '%s'", g->resume->id);
	return 0;
}
