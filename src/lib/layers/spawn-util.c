/* Helpers of the drivers that spawn tools (md, lvm, nbd, iscsi): argv building and parsers. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lvm-name.h"
#include "md-uuid.h"
#include "parse.h"
#include "spawn-util.h"
#include "strv.h"
#include "util.h"

/* ---- running a tool ---------------------------------------------------------------------- */

void bs_argv_add(struct bs_argv *a, const char *arg)
{
	if (a->error < 0)
		return;
	if (strv_extend(&a->args, arg) < 0)
		a->error = -ENOMEM;
}

void bs_argv_addf(struct bs_argv *a, const char *format, ...)
{
	va_list ap;
	char *s;
	int r;

	if (a->error < 0)
		return;
	va_start(ap, format);
	r = vasprintf(&s, format, ap);
	va_end(ap);
	if (r < 0 || strv_push(&a->args, s) < 0) {
		if (r >= 0)
			free(s);
		a->error = -ENOMEM;
	}
}

void bs_argv_done(struct bs_argv *a)
{
	a->args = strv_free(a->args);
	a->error = 0;
}

int bs_argv_spawn(struct bs_step *s, const struct bs_argv *a, char **ret_stdout)
{
	if (a->error < 0)
		return a->error;
	if (!a->args)
		return -EINVAL;
	return bs_step_spawn(s, (const char *const *)a->args, ret_stdout);
}

int bs_spawn_fail(struct bs_step *s, int r, const char *format, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int k;

	if (r == -ENOENT)
		return r;
	va_start(ap, format);
	k = vasprintf(&msg, format, ap);
	va_end(ap);
	if (k < 0)
		return bs_step_fail(s, r, "%s", format);
	return bs_step_fail(s, r, "%s", msg);
}

/* ---- md ---------------------------------------------------------------------------------- */

static const char *const md_level_names[_BS_MD_LEVEL_MAX] = {
	[BS_MD_LINEAR] = "linear", [BS_MD_RAID0] = "raid0", [BS_MD_RAID1] = "raid1",
	[BS_MD_RAID4] = "raid4",   [BS_MD_RAID5] = "raid5", [BS_MD_RAID6] = "raid6",
	[BS_MD_RAID10] = "raid10",
};

enum bs_md_level bs_md_level_from_string(const char *s)
{
	static const struct {
		const char *name;
		enum bs_md_level level;
	} aliases[] = {
		/* mdadm's own synonyms, and the numbers mdadm.conf may give */
		{ "-1", BS_MD_LINEAR }, { "0", BS_MD_RAID0 },	   { "stripe", BS_MD_RAID0 },
		{ "1", BS_MD_RAID1 },	{ "mirror", BS_MD_RAID1 }, { "4", BS_MD_RAID4 },
		{ "5", BS_MD_RAID5 },	{ "6", BS_MD_RAID6 },	   { "10", BS_MD_RAID10 },
	};

	if (!s)
		return _BS_MD_LEVEL_INVALID;
	for (size_t i = 0; i < ELEMENTSOF(md_level_names); i++)
		if (strcasecmp(s, md_level_names[i]) == 0)
			return (enum bs_md_level)i;
	for (size_t i = 0; i < ELEMENTSOF(aliases); i++)
		if (strcasecmp(s, aliases[i].name) == 0)
			return aliases[i].level;
	return _BS_MD_LEVEL_INVALID;
}

const char *bs_md_level_to_string(enum bs_md_level l)
{
	return l >= 0 && l < _BS_MD_LEVEL_MAX ? md_level_names[l] : NULL;
}

unsigned bs_md_degraded_quorum(enum bs_md_level l, unsigned n)
{
	switch (l) {
	case BS_MD_RAID1:
		return n >= 2 ? 1 : 0;
	case BS_MD_RAID4:
	case BS_MD_RAID5:
	case BS_MD_RAID10:
		return n >= 2 ? n - 1 : 0;
	case BS_MD_RAID6:
		return n >= 3 ? n - 2 : 0;
	default:
		return 0;
	}
}

char *bs_md_uuid_to_mdadm(const char *s, char buf[static 36])
{
	char norm[37], hex[33];
	size_t n = 0;

	if (!bs_md_uuid_normalize(s, norm))
		return NULL;
	for (const char *p = norm; *p; p++)
		if (*p != '-')
			hex[n++] = *p;
	hex[n] = '\0';
	snprintf(buf, 36, "%.8s:%.8s:%.8s:%.8s", hex, hex + 8, hex + 16, hex + 24);
	return buf;
}

static bool is_kernel_md_name(const char *s)
{
	const char *d = startswith(s, "md");

	return d && *d && strspn(d, "0123456789") == strlen(d);
}

int bs_md_device_path(const char *id, const char *md_name, char **ret)
{
	const char *name = md_name && *md_name ? md_name : id ? startswith(id, "md:") : NULL;
	char *path = NULL;

	if (!name || !*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
		return -EINVAL;
	if (strextend(&path, is_kernel_md_name(name) ? "/dev/" : "/dev/md/", name, NULL) < 0)
		return -ENOMEM;
	*ret = path;
	return 0;
}

/* ---- lvm --------------------------------------------------------------------------------- */

/* A report nests four levels deep (report, list, VG row, value). */
#define LVM_JSON_DEPTH 16

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free)

/* A count that lvm prints as a string ("3") or, with json_std, as a number. */
static int json_get_count(json_object *row, const char *key, unsigned *ret)
{
	json_object *v;
	uint32_t u;

	if (!json_object_object_get_ex(row, key, &v))
		return -EBADMSG;
	if (json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		if (i < 0 || i > UINT32_MAX)
			return -EBADMSG;
		*ret = (unsigned)i;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string) ||
	    safe_atou32(json_object_get_string(v), &u) < 0)
		return -EBADMSG;
	*ret = u;
	return 0;
}

int bs_lvm_vgs_parse(const char *text, size_t size, const char *vg, unsigned *ret_pv_count,
		     unsigned *ret_missing)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = NULL;
	_cleanup_(json_object_putp) json_object *root = NULL;
	json_object *reports;
	size_t n;

	if (!text || !vg || size > INT_MAX)
		return -EBADMSG;
	tok = json_tokener_new_ex(LVM_JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)size);
	if (!root || json_tokener_get_error(tok) != json_tokener_success)
		return -EBADMSG;
	if (!json_object_object_get_ex(root, "report", &reports) ||
	    !json_object_is_type(reports, json_type_array))
		return -EBADMSG;

	n = json_object_array_length(reports);
	for (size_t i = 0; i < n; i++) {
		json_object *vgs, *report = json_object_array_get_idx(reports, i);
		size_t m;

		if (!json_object_object_get_ex(report, "vg", &vgs) ||
		    !json_object_is_type(vgs, json_type_array))
			continue;
		m = json_object_array_length(vgs);
		for (size_t k = 0; k < m; k++) {
			json_object *name, *row = json_object_array_get_idx(vgs, k);
			unsigned pvs, missing;

			if (!json_object_object_get_ex(row, "vg_name", &name) ||
			    !json_object_is_type(name, json_type_string) ||
			    !streq(json_object_get_string(name), vg))
				continue;
			if (json_get_count(row, "pv_count", &pvs) < 0 ||
			    json_get_count(row, "vg_missing_pv_count", &missing) < 0)
				return -EBADMSG;
			*ret_pv_count = pvs;
			*ret_missing = missing;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- network layers ---------------------------------------------------------------------- */

int bs_remote_uri_parse(const char *uri, const char *scheme, char **ret_host, uint16_t *ret_port,
			char **ret_rest)
{
	_cleanup_free_ char *host = NULL, *rest = NULL;
	const char *p, *end, *port = NULL, *slash;
	uint32_t v = 0;

	if (!uri || !scheme)
		return -EINVAL;
	p = startswith(uri, scheme);
	p = p ? startswith(p, "://") : NULL;
	if (!p)
		return -EINVAL;
	slash = strchr(p, '/');
	if (!slash)
		return -EINVAL;

	if (*p == '[') {
		end = memchr(p, ']', (size_t)(slash - p));
		if (!end || end == p + 1)
			return -EINVAL;
		host = strndup(p + 1, (size_t)(end - p - 1));
		if (end[1] == ':')
			port = end + 2;
		else if (end + 1 != slash)
			return -EINVAL;
	} else {
		end = memchr(p, ':', (size_t)(slash - p));
		host = strndup(p, (size_t)((end ? end : slash) - p));
		if (end)
			port = end + 1;
	}
	if (!host)
		return -ENOMEM;
	if (!*host || host[0] == '-')
		return -EINVAL;
	if (port) {
		_cleanup_free_ char *digits = strndup(port, (size_t)(slash - port));

		if (!digits)
			return -ENOMEM;
		if (safe_atou32(digits, &v) < 0 || v < 1 || v > 65535)
			return -EINVAL;
	}
	rest = strdup(slash + 1);
	if (!rest)
		return -ENOMEM;

	*ret_host = TAKE_PTR(host);
	*ret_port = (uint16_t)v;
	*ret_rest = TAKE_PTR(rest);
	return 0;
}

int bs_options_get(const char *opts, const char *name, char **ret_value)
{
	size_t name_len = strlen(name);
	const char *found = NULL;
	size_t found_len = 0;
	bool found_any = false;

	for (const char *p = opts; p && *p;) {
		size_t len = strcspn(p, ",");

		if (len >= name_len && strncmp(p, name, name_len) == 0 &&
		    (len == name_len || p[name_len] == '=')) {
			found_any = true;
			found = len == name_len ? NULL : p + name_len + 1;
			found_len = len == name_len ? 0 : len - name_len - 1;
		}
		p += len;
		p += strspn(p, ",");
	}
	if (!found_any)
		return 0;
	if (!found) {
		*ret_value = NULL;
		return 1;
	}
	*ret_value = strndup(found, found_len);
	return *ret_value ? 1 : -ENOMEM;
}

/* The next line of text after *p, without its newline, with leading blanks skipped; NULL at
 * the end. */
static const char *next_line(const char **p, size_t *ret_len)
{
	const char *line = *p, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	*p = nl ? nl + 1 : line + strlen(line);
	line += strspn(line, " \t");
	*ret_len = (size_t)((nl ? nl : *p) - line);
	return line;
}

/* Whether the block device name s is plain: letters and digits, nothing a path could hide. */
static bool is_plain_name(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

int bs_nbd_parse_connected(const char *out, char **ret_name)
{
	const char *line;
	size_t len;

	for (const char *p = out; (line = next_line(&p, &len));) {
		const char *name = len > 0 ? startswith(line, "Connected /dev/") : NULL;
		size_t n;

		if (!name || (size_t)(name - line) > len)
			continue;
		n = len - (size_t)(name - line);
		while (n > 0 && strchr(" \t\r", name[n - 1]))
			n--;
		if (!startswith(name, "nbd") || !is_plain_name(name, n))
			continue;
		*ret_name = strndup(name, n);
		return *ret_name ? 1 : -ENOMEM;
	}
	return 0;
}

/* The first word of the len bytes at s, as a length. */
static size_t word_len(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && !strchr(" \t\r", s[n]))
		n++;
	return n;
}

int bs_iscsi_find_disk(const char *out, const char *target, uint32_t lun, char **ret_name)
{
	bool in_target = false, in_lun = false;
	const char *line;
	size_t len;

	/*
	 * Target: iqn.2004-01.org.example:backup (non-flash)
	 *	...
	 *		scsi2 Channel 00 Id 0 Lun: 1
	 *			Attached scsi disk sdb		State: running
	 */
	for (const char *p = out; (line = next_line(&p, &len));) {
		const char *v;

		if (len > 8 && strncmp(line, "Target: ", 8) == 0) {
			v = line + 8;
			in_target = word_len(v, len - 8) == strlen(target) &&
				    strncmp(v, target, strlen(target)) == 0;
			in_lun = false;
			continue;
		}
		if (!in_target)
			continue;
		if (len > 4 && strncmp(line, "scsi", 4) == 0) {
			_cleanup_free_ char *copy = strndup(line, len);
			const char *l;
			uint32_t u;

			if (!copy)
				return -ENOMEM;
			l = strstr(copy, " Lun: ");
			if (!l)
				continue;
			l += strlen(" Lun: ");
			copy[(size_t)(l - copy) + word_len(l, strlen(l))] = '\0';
			in_lun = safe_atou32(l, &u) >= 0 && u == lun;
			continue;
		}
		if (in_lun && len > 19 && strncmp(line, "Attached scsi disk ", 19) == 0) {
			size_t n;

			v = line + 19;
			n = word_len(v, len - 19);
			if (!is_plain_name(v, n))
				continue;
			*ret_name = strndup(v, n);
			return *ret_name ? 1 : -ENOMEM;
		}
	}
	return 0;
}
