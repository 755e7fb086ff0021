/* Running the executor in unit tests: fixtures to run it on, a fake ops table, what it said. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "exec-harness.h"
#include "exec.h"
#include "tests.h"
#include "util.h"

struct bs_ctx *ctx_on_sysroot(const char *sysroot, const char *mount_root)
{
	struct bs_ctx_opts o = { .sysroot = sysroot, .mount_root = mount_root };
	struct bs_ctx *c = NULL;

	ASSERT_OK(bs_ctx_new(&o, &c));
	return c;
}

char *fixture_with_record(const char *recipe)
{
	_cleanup_free_ char *disks = NULL, *assembled = NULL, *path = NULL, *out = NULL;
	struct bs_graph *g = NULL;
	struct bs_ctx *c;
	char *copy;

	ASSERT_TRUE(asprintf(&disks, "%s-disks", recipe) >= 0);
	ASSERT_TRUE(asprintf(&assembled, "%s-assembled", recipe) >= 0);
	copy = test_fixture_copy(disks);
	path = test_fixture(assembled);
	c = ctx_on_sysroot(path, NULL);
	ASSERT_OK(bs_graph_new(c, &g));
	ASSERT_OK(bs_graph_add_live(g));
	ASSERT_TRUE(asprintf(&out, "%s/var/lib/blkstack/graph.json", copy) >= 0);
	test_mkdir_p(copy, "var/lib/blkstack");
	ASSERT_OK(bs_graph_record(g, out));
	bs_graph_unref(g);
	bs_ctx_unref(c);
	return copy;
}

void fixture_remove(const char *root, const char *relpath)
{
	_cleanup_free_ char *p = NULL;

	ASSERT_TRUE(asprintf(&p, "%s/%s", root, relpath) >= 0);
	ASSERT_OK(unlink(p) < 0 ? -errno : 0);
}

size_t count_substrings(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; p && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

_printf_(6, 0) static void on_log(void *userdata, int priority, const char *file, int line,
				  const char *fn, const char *format, va_list ap)
{
	struct exec_run *run = userdata;
	int saved_errno = errno; /* for a "%m" in format, which is formatted twice */

	(void)file;
	(void)line;
	(void)fn;
	if (run->debug) {
		va_list copy;

		va_copy(copy, ap);
		flockfile(stderr);
		vfprintf(stderr, format, copy);
		fputc('\n', stderr);
		funlockfile(stderr);
		va_end(copy);
	}
	if (priority > LOG_WARNING)
		return;
	errno = saved_errno;
	/* Steps running at once may log at once: a line is written whole. */
	flockfile(run->log_f);
	vfprintf(run->log_f, format, ap);
	fputc('\n', run->log_f);
	funlockfile(run->log_f);
}

static void on_event(void *userdata, const struct bs_exec_event *ev)
{
	struct exec_run *run = userdata;

	fprintf(run->events_f, "%s %s %s%s%s\n", bs_exec_event_type_to_string(ev->type),
		strna(ev->action), strna(ev->node), ev->message ? ": " : "", strempty(ev->message));
	if (ev->type == BS_EXEC_EVENT_WARNING)
		fprintf(run->warnings_f, "%s: %s\n", strna(ev->node), strempty(ev->message));
}

void exec_run(struct exec_run *run, const struct exec_run_opts *o)
{
	struct bs_exec_opts eo = { .jobs = o->jobs ? o->jobs : 1,
				   .key_fd = -1,
				   .no_record = 1,
				   .manifest = o->manifest,
				   .root_fstype = o->root_fstype,
				   .root_options = o->root_options,
				   .root_access = o->root_access,
				   .last_resort = o->last_resort,
				   .pins = o->pins };
	struct bs_ctx *c = ctx_on_sysroot(o->sysroot, o->mount_root);

	*run = (struct exec_run){};
	run->events_f = open_memstream(&run->events, &run->events_size);
	run->warnings_f = open_memstream(&run->warnings, &run->warnings_size);
	run->log_f = open_memstream(&run->log, &run->log_size);
	ASSERT_NOTNULL(run->events_f);
	ASSERT_NOTNULL(run->warnings_f);
	ASSERT_NOTNULL(run->log_f);
	/* bs_ctx_new() lets debug messages through only when BLKSTACK_DEBUG asks for them. */
	run->debug = bs_ctx_get_log_priority(c) >= LOG_DEBUG;
	bs_ctx_set_log_fn(c, on_log, run);
	ASSERT_OK(bs_exec_new(c, &eo, &run->e));
	ASSERT_OK(bs_exec_set_ops(run->e, o->ops, o->ops_data));
	if (o->max_rounds)
		ASSERT_OK(bs_exec_set_max_rounds(run->e, o->max_rounds));
	bs_exec_set_event_fn(run->e, on_event, run);
	run->r = bs_exec_run(run->e, o->op, o->targets, o->flags);
	fflush(run->events_f);
	fflush(run->warnings_f);
	fflush(run->log_f);
	bs_ctx_unref(c);
}

void exec_run_done(struct exec_run *run)
{
	bs_exec_unref(run->e);
	fclose(run->events_f);
	fclose(run->warnings_f);
	fclose(run->log_f);
	free(run->events);
	free(run->warnings);
	free(run->log);
	*run = (struct exec_run){};
}

/* The index of the result of step ACTION NODE; the number of results if there is none. */
static size_t find_result(const struct exec_run *run, const char *action, const char *node)
{
	size_t n = bs_exec_get_n_results(run->e), i;

	for (i = 0; i < n; i++)
		if (streq(bs_exec_get_result_action(run->e, i), action) &&
		    streq(bs_exec_get_result_node(run->e, i), node))
			break;
	return i;
}

int exec_run_status(const struct exec_run *run, const char *action, const char *node)
{
	size_t i = find_result(run, action, node);

	if (i >= bs_exec_get_n_results(run->e))
		return -1;
	return (int)bs_exec_get_result_status(run->e, i);
}

const char *exec_run_message(const struct exec_run *run, const char *action, const char *node)
{
	size_t i = find_result(run, action, node);

	if (i >= bs_exec_get_n_results(run->e))
		return NULL;
	return bs_exec_get_result_message(run->e, i);
}
