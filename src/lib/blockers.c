/* What keeps a node open at teardown: processes, mounts below it, and devices on it. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "graph.h"
#include "strv.h"
#include "sysroot.h"
#include "util.h"

/* Whether path lies on the filesystem mounted at mp: mp itself or below it. */
static bool path_on_mount(const char *path, const char *mp)
{
	const char *rest;

	if (streq(mp, "/"))
		return path[0] == '/';
	rest = startswith(path, mp);
	return rest && (*rest == '\0' || *rest == '/');
}

/* A link of /proc/PID (cwd, root, fd/N) as the process sees it, without " (deleted)". */
static char *proc_link(struct bs_ctx *c, const char *pid, const char *what)
{
	_cleanup_free_ char *rel = NULL;
	char *target = NULL, *deleted;

	if (asprintf(&rel, "proc/%s/%s", pid, what) < 0)
		return NULL;
	if (bs_sysroot_readlink(c, rel, &target) < 0)
		return NULL;
	deleted = strstr(target, " (deleted)");
	if (deleted && deleted[strlen(" (deleted)")] == '\0')
		*deleted = '\0';
	return target;
}

struct holder_match {
	const struct bs_node *node;
	const char *mount_point; /* for a mount node */
	char *dev_path;          /* /dev/NAME for a block node */
	char *dm_path;           /* /dev/mapper/NAME for a dm node */
};

static const char *match_path(const struct holder_match *m, const char *path)
{
	if (m->mount_point && path_on_mount(path, m->mount_point))
		return m->mount_point;
	if (m->dev_path && streq(path, m->dev_path))
		return m->dev_path;
	if (m->dm_path && streq(path, m->dm_path))
		return m->dm_path;
	return NULL;
}

static int add_line(char ***lines, const char *format, ...) _printf_(2, 3);
static int add_line(char ***lines, const char *format, ...)
{
	char *line = NULL;
	va_list ap;
	int r;

	va_start(ap, format);
	r = vasprintf(&line, format, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (strv_contains(*lines, line)) {
		free(line);
		return 0;
	}
	return strv_push(lines, line);
}

/* Every process with its working directory, root or an open file on what m describes. */
static int scan_processes(struct bs_ctx *c, const struct holder_match *m, char ***lines)
{
	_cleanup_closedir_ DIR *proc = NULL;
	struct dirent *de;
	int r;

	if (bs_sysroot_opendir(c, "proc", &proc) < 0)
		return 0;
	while ((de = readdir(proc))) {
		_cleanup_free_ char *comm = NULL, *rel = NULL, *cwd = NULL, *root = NULL;
		_cleanup_closedir_ DIR *fds = NULL;
		const char *hit;
		struct dirent *fe;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (asprintf(&rel, "proc/%s/comm", de->d_name) < 0)
			return -ENOMEM;
		if (bs_sysroot_read_attr(c, rel, &comm) < 0)
			continue; /* gone, or not a process directory */

		cwd = proc_link(c, de->d_name, "cwd");
		if (cwd && (hit = match_path(m, cwd))) {
			r = add_line(lines, "pid %s (%s) has its working directory in %s",
				     de->d_name, comm, hit);
			if (r < 0)
				return r;
		}
		root = proc_link(c, de->d_name, "root");
		if (root && !streq(root, "/") && (hit = match_path(m, root))) {
			r = add_line(lines, "pid %s (%s) has its root directory in %s", de->d_name,
				     comm, hit);
			if (r < 0)
				return r;
		}
		free(rel);
		if (asprintf(&rel, "proc/%s/fd", de->d_name) < 0)
			return -ENOMEM;
		if (bs_sysroot_opendir(c, rel, &fds) < 0)
			continue;
		while ((fe = readdir(fds))) {
			_cleanup_free_ char *what = NULL, *target = NULL;

			if (!isdigit((unsigned char)fe->d_name[0]))
				continue;
			if (asprintf(&what, "fd/%s", fe->d_name) < 0)
				return -ENOMEM;
			target = proc_link(c, de->d_name, what);
			if (!target || !(hit = match_path(m, target)))
				continue;
			r = add_line(lines, "pid %s (%s) has %s open", de->d_name, comm, target);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int bs_find_blockers(struct bs_ctx *c, const struct bs_node *n, const char *mount_point,
		     char ***ret)
{
	struct holder_match m = { .node = n, .mount_point = mount_point };
	char **lines = NULL;
	int r = 0;

	if (!c || !n || !ret)
		return -EINVAL;
	if (n->name && asprintf(&m.dev_path, "/dev/%s", n->name) < 0)
		return -ENOMEM;
	if (n->attrs[BS_ATTR_DM_NAME] &&
	    asprintf(&m.dm_path, "/dev/mapper/%s", n->attrs[BS_ATTR_DM_NAME]) < 0) {
		r = -ENOMEM;
		goto out;
	}

	/* What the graph shows holding it: mounts below a mount, devices on a device. */
	for (size_t i = 0; i < n->n_holders && r >= 0; i++) {
		const struct bs_node *h = n->holders[i]->holder;

		if (!IN_SET(h->state, BS_STATE_ACTIVE, BS_STATE_MOUNTED))
			continue;
		if (h->kind == BS_NODE_MOUNT)
			r = add_line(&lines, "%s %s", mount_point ? "mounted below it:" : "mounted:",
				     h->mountpoints && h->mountpoints[0] ? h->mountpoints[0] :
									   h->id);
		else if (h->kind == BS_NODE_SWAP)
			r = add_line(&lines, "in use as swap (%s)", h->id);
		else
			r = add_line(&lines, "held by %s%s%s%s", h->id, h->name ? " (" : "",
				     strempty(h->name), h->name ? ")" : "");
	}
	if (r >= 0)
		r = scan_processes(c, &m, &lines);
	if (r < 0)
		goto out;
	*ret = lines;
	lines = NULL;
	r = (int)strv_length(*ret);
out:
	strv_free(lines);
	free(m.dev_path);
	free(m.dm_path);
	return r;
}
