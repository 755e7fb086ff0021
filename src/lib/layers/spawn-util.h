/* Helpers of the drivers that spawn tools (md, lvm, nbd, iscsi): argv building and parsers. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layers.h"
#include "macro.h"

/* ---- running a tool ---------------------------------------------------------------------- */

/* An argument vector built one argument at a time. The first failure (-ENOMEM) is kept and
 * later additions do nothing, so a driver checks once, when it runs the tool. */
struct bs_argv {
	char **args;
	int error;
};

void bs_argv_add(struct bs_argv *a, const char *arg);
void bs_argv_addf(struct bs_argv *a, const char *format, ...) _printf_(2, 3);
void bs_argv_done(struct bs_argv *a);

/* Runs a through bs_step_spawn(): 0, the error of building it, or the tool's failure. */
int bs_argv_spawn(struct bs_step *s, const struct bs_argv *a, char **ret_stdout);

/* Reports a failed spawn with the message and returns r. A tool that is not installed
 * (-ENOENT) has been reported by bs_step_spawn() already, naming it: that report stays. */
int bs_spawn_fail(struct bs_step *s, int r, const char *format, ...) _printf_(3, 4);

/* ---- md ---------------------------------------------------------------------------------- */

enum bs_md_level {
	BS_MD_LINEAR,
	BS_MD_RAID0,
	BS_MD_RAID1,
	BS_MD_RAID4,
	BS_MD_RAID5,
	BS_MD_RAID6,
	BS_MD_RAID10,
	_BS_MD_LEVEL_MAX,
	_BS_MD_LEVEL_INVALID = -EINVAL,
};

/* A level as sysfs ("raid6"), mdadm.conf ("6", "raid6", "mirror") or the recorded graph
 * write it; _BS_MD_LEVEL_INVALID for NULL, containers and levels not known here. */
enum bs_md_level bs_md_level_from_string(const char *s);
/* "raid6", "linear", ...; NULL if out of range. */
const char *bs_md_level_to_string(enum bs_md_level l);

/* How many of its n members an array must have to be started degraded: raid1 1, raid4 and
 * raid5 n - 1, raid6 n - 2, raid10 n - 1 (it may survive more, but which ones depends on its
 * layout). 0 means never: raid0, linear and unknown levels have no redundancy to spend. */
unsigned bs_md_degraded_quorum(enum bs_md_level l, unsigned n);

/* The uuid in the form mdadm prints and takes (8:8:8:8 hex digits), from any form that
 * bs_md_uuid_normalize() reads, in buf. Returns buf, or NULL if s is no md uuid. */
char *bs_md_uuid_to_mdadm(const char *s, char buf[static 36]);

/* The device mdadm assembles an array to: /dev/md/NAME from the array's name (md_name), or
 * failing that from its id "md:NAME"; /dev/mdN for a name "mdN". -EINVAL for a name that is
 * no file name. */
int bs_md_device_path(const char *id, const char *md_name, char **ret);

/* ---- lvm --------------------------------------------------------------------------------- */


/* Reads "lvm vgs --reportformat json -o vg_name,pv_count,vg_missing_pv_count" (size bytes of
 * text, values as strings or numbers) for VG vg. Returns 0 with the counts, -ENOENT if the
 * report has no such VG, -EBADMSG if text is no such report. */
int bs_lvm_vgs_parse(const char *text, size_t size, const char *vg, unsigned *ret_pv_count,
		     unsigned *ret_missing);

/* ---- network layers (nbd, iscsi) --------------------------------------------------------- */

/* Splits the "source" attribute that stack.conf gives network nodes, SCHEME://HOST[:PORT]/REST
 * with an IPv6 HOST in brackets, into the host (brackets removed), the port (0 if none) and
 * REST (may be ""). -EINVAL if uri is not of that form or HOST starts with '-'. */
int bs_remote_uri_parse(const char *uri, const char *scheme, char **ret_host, uint16_t *ret_port,
			char **ret_rest);

/* The value of option name in the comma-separated list opts ("ro,timeout=30"): returns 1
 * with *ret_value the value (NULL for an option without one), 0 if opts does not have it.
 * The last of several wins. */
int bs_options_get(const char *opts, const char *name, char **ret_value);

/* The nbd device that "nbd-client" said it connected ("Connected /dev/nbd3") in its output:
 * 1 with *ret_name ("nbd3"), 0 if it said none. */
int bs_nbd_parse_connected(const char *out, char **ret_name);

/* The disk of LUN lun of target in "iscsiadm -m session -P 3" output: 1 with *ret_name
 * ("sdb"), 0 if the session shows none (yet). */
int bs_iscsi_find_disk(const char *out, const char *target, uint32_t lun, char **ret_name);
