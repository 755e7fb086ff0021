/* The kernel command line as /init reads it: the parameters it honours, parsed from the text. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ipconf.h"

/* Where blkstack.break= stops for a rescue shell: before that phase starts. */
enum init_phase {
	INIT_PHASE_MODULES, /* before the manifest's modules are loaded */
	INIT_PHASE_RESUME, /* before the resume device is brought up */
	INIT_PHASE_ROOT, /* before the root set is brought up */
	INIT_PHASE_SWITCH, /* before the switch to the root filesystem */
	_INIT_PHASE_MAX,
	_INIT_PHASE_INVALID = -22,
};

const char *init_phase_to_string(enum init_phase p);
enum init_phase init_phase_from_string(const char *s);

struct init_cmdline {
	char *root; /* root=, as given: UUID=..., /dev/..., NULL if not given */
	char *rootflags; /* rootflags= */
	char *rootfstype; /* rootfstype= */
	int read_only; /* -1: neither ro nor rw; 0: rw; 1: ro (the last of them wins) */
	char *init; /* init=, an absolute path; NULL: /sbin/init */
	char *resume; /* resume= */
	bool have_resume_offset;
	uint64_t resume_offset; /* resume_offset=, in pages */
	bool noresume;
	bool have_panic;
	int panic; /* panic=, seconds (0 waits forever, negative reboots at once) */
	bool debug; /* blkstack.debug */
	unsigned breaks; /* blkstack.break=PHASE[,PHASE...]: a mask of 1 << enum init_phase */
	bool have_ip;
	struct init_ip ip; /* ip=, its static form (see ipconf.h) */
};

/*
 * Parses the kernel command line text (as /proc/cmdline has it, with or without its newline)
 * into *ret, as the kernel splits it: parameters are separated by blanks, double quotes group
 * blanks into one ("root=LABEL=my root" in quotes, or name="a b"), and the quotes around a
 * value or a whole parameter are dropped; "--" ends the kernel's parameters. Of the same
 * parameter the last wins. Parameters /init does not know are passed over.
 *
 * A value that is malformed (panic=abc, an empty root=, a relative init=, an unknown phase of
 * blkstack.break=) is not taken: a message saying so, ending in ", ignoring", is appended to
 * *ret_problems (NULL-terminated; may be NULL to drop them), and the parameter keeps what an
 * earlier one gave. Returns the number of such problems, or -ENOMEM (with *ret cleared).
 */
int init_cmdline_parse(const char *text, struct init_cmdline *ret, char ***ret_problems);
void init_cmdline_done(struct init_cmdline *c);

/* c as a JSON object, newly allocated (what 'blkstack-init --test-cmdline FILE' prints):
 * {"root","rootflags","rootfstype","read_only","init","resume","resume_offset","noresume",
 * "panic","debug","break":[PHASE...],"ip":{...}}, with null for what was not given (and "ip"
 * as init_ip_to_json() has it). */
int init_cmdline_to_json(const struct init_cmdline *c, char **ret);
