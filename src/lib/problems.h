/* Problems of the configuration: typed, with the file and line to blame. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "blkstack.h"
#include "macro.h"

struct bs_problem {
	enum bs_problem_kind kind;
	enum bs_problem_severity severity;
	char *file; /* NULL: not tied to one file (a cycle made by live edges only) */
	unsigned line; /* 1-based; 0: the file as a whole */
	char *reference; /* the device spec or node id the problem is about, or NULL */
	char *message;
	/* "FILE:LINE: MESSAGE", "FILE: MESSAGE" or "MESSAGE"; a warning's ends in ", ignoring"
	 * (once: a message that says so itself gets no second one). */
	char *text;
};

struct bs_problem_list {
	struct bs_problem *problems;
	size_t n_problems, allocated;
};

/* Appends a problem; file and reference may be NULL. Returns 0 or -ENOMEM. */
int bs_problem_addv(struct bs_problem_list *l, enum bs_problem_kind kind,
		    enum bs_problem_severity severity, const char *file, unsigned line,
		    const char *reference, const char *format, va_list ap) _printf_(7, 0);
int bs_problem_add_full(struct bs_problem_list *l, enum bs_problem_kind kind,
			enum bs_problem_severity severity, const char *file, unsigned line,
			const char *reference, const char *format, ...) _printf_(7, 8);
/* An error of kind BS_PROBLEM_INVALID: a line or field whose meaning is not clear. */
int bs_problem_add(struct bs_problem_list *l, const char *file, unsigned line, const char *format,
		   ...) _printf_(4, 5);
/* A warning of kind BS_PROBLEM_UNKNOWN: something the peers accept that blkstack does not
 * know, and goes on without (an unknown option or keyword). */
int bs_problem_warn(struct bs_problem_list *l, const char *file, unsigned line, const char *format,
		    ...) _printf_(4, 5);
/* Empties l, keeping it usable. */
void bs_problem_list_clear(struct bs_problem_list *l);
/* Frees what l holds, for a list on the stack; l is empty and usable after. */
void bs_problem_list_done(struct bs_problem_list *l);

/* Whether p stops a load with these bs_load_flags (see bs_graph_load()). */
bool bs_problem_refuses(const struct bs_problem *p, unsigned load_flags);
