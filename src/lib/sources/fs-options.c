/* fstab's options as the mount and swap drivers need them: mount(2) flags, swapon(2) flags. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <libmount/libmount.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/swap.h>

#include "fs-options.h"
#include "parse.h"
#include "strv.h"
#include "util.h"

/* The r* forms of these add MS_REC. */
#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

/* The loop options of mount(8) that change what the loop device shows; "loop" and
 * "loop=/dev/loopN" only ask for one. */
static const char *const unsupported_loop_options[] = { "offset", "sizelimit", "encryption" };

static bool is_propagation_option(const char *name, size_t len)
{
	static const char *const names[] = { "shared", "slave", "private", "unbindable" };

	if (len > 1 && name[0] == 'r') {
		name++;
		len--;
	}
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (strlen(names[i]) == len && strncmp(name, names[i], len) == 0)
			return true;
	return false;
}

static int append_option(char **list, const char *name, size_t nlen, const char *value, size_t vlen)
{
	_cleanup_free_ char *opt = NULL;

	opt = value ? strndup(name, nlen + 1 + vlen) : strndup(name, nlen);
	if (!opt)
		return -ENOMEM;
	return mnt_optstr_append_option(list, opt, NULL) < 0 ? -ENOMEM : 0;
}

int bs_mount_options_split(const char *options, struct bs_mount_options *ret)
{
	const struct libmnt_optmap *linux_map = mnt_get_builtin_optmap(MNT_LINUX_MAP);
	_cleanup_free_ char *user = NULL, *vfs = NULL, *fs = NULL, *main = NULL, *prop = NULL,
			    *loop_bad = NULL, *helper = NULL;
	struct bs_mount_options o = {};
	char *p, *name, *value;
	size_t nlen, vlen;
	int r;

	if (!ret)
		return -EINVAL;
	if (!options || !*options) {
		*ret = o;
		return 0;
	}

	r = mnt_split_optstr(options, &user, &vfs, &fs, 0, 0);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;

	/* The flags come from every option in its order, so that "user,exec" is user without
	 * noexec; only the propagation options are set apart, for a call of their own. */
	p = (char *)options;
	while ((r = mnt_optstr_next_option(&p, &name, &nlen, &value, &vlen)) == 0) {
		char **list = is_propagation_option(name, nlen) ? &prop : &main;

		if (append_option(list, name, nlen, value, vlen) < 0)
			return -ENOMEM;
	}
	if (r < 0)
		return -EINVAL;
	if (main && mnt_optstr_get_flags(main, &o.flags, linux_map) < 0)
		return -EINVAL;
	if (prop && mnt_optstr_get_flags(prop, &o.propagation, linux_map) < 0)
		return -EINVAL;
	o.flags &= ~(unsigned long)(MS_REMOUNT | MS_MOVE | PROPAGATION_FLAGS);
	/* MS_REC belongs to the propagation call unless it came with bind (rbind). */
	if (!(o.propagation & PROPAGATION_FLAGS))
		o.propagation = 0;

	/* The helper gets the kernel's options (ro, noatime, ...) and the filesystem's. */
	if (vfs && mnt_optstr_append_option(&helper, vfs, NULL) < 0)
		return -ENOMEM;
	if (fs && mnt_optstr_append_option(&helper, fs, NULL) < 0)
		return -ENOMEM;

	p = user;
	while (p && mnt_optstr_next_option(&p, &name, &nlen, &value, &vlen) == 0)
		for (size_t i = 0; i < ELEMENTSOF(unsupported_loop_options); i++)
			if (strlen(unsupported_loop_options[i]) == nlen &&
			    strncmp(name, unsupported_loop_options[i], nlen) == 0 &&
			    append_option(&loop_bad, name, nlen, value, vlen) < 0)
				return -ENOMEM;

	o.data = TAKE_PTR(fs);
	o.helper = TAKE_PTR(helper);
	o.loop_unsupported = TAKE_PTR(loop_bad);
	*ret = o;
	return 0;
}

/* ---- swap ------------------------------------------------------------------------------- */

/* Not in every libc's <sys/swap.h>: the kernel's values (linux/swap.h). */
#ifndef SWAP_FLAG_DISCARD_ONCE
#define SWAP_FLAG_DISCARD_ONCE 0x20000
#endif
#ifndef SWAP_FLAG_DISCARD_PAGES
#define SWAP_FLAG_DISCARD_PAGES 0x40000
#endif

/* The kernel's highest priority: SWAP_FLAG_PRIO_MASK >> SWAP_FLAG_PRIO_SHIFT. */
#define SWAP_PRIO_MAX 32767

static int bad_option(const char *opt, char **ret_bad)
{
	if (ret_bad) {
		*ret_bad = strdup(opt);
		if (!*ret_bad)
			return -ENOMEM;
	}
	return -EINVAL;
}

int bs_swap_flags_from_options(const char *options, int *ret_flags, char **ret_bad)
{
	_cleanup_strv_free_ char **opts = NULL;
	int flags = 0, r;

	if (!ret_flags)
		return -EINVAL;
	r = options ? strv_split(options, ",", &opts) : 0;
	if (r < 0)
		return r;
	for (char **o = opts; o && *o; o++) {
		const char *v;

		if ((v = startswith(*o, "pri="))) {
			int prio;

			if (safe_atoi(v, &prio) < 0 || prio < -1 || prio > SWAP_PRIO_MAX)
				return bad_option(*o, ret_bad);
			flags &= ~(SWAP_FLAG_PREFER | SWAP_FLAG_PRIO_MASK);
			/* -1 is what swapon(8) documents as the kernel's own choice. */
			if (prio >= 0)
				flags |= SWAP_FLAG_PREFER |
					 ((prio << SWAP_FLAG_PRIO_SHIFT) & SWAP_FLAG_PRIO_MASK);
		} else if (streq(*o, "discard")) {
			flags &= ~(SWAP_FLAG_DISCARD_ONCE | SWAP_FLAG_DISCARD_PAGES);
			flags |= SWAP_FLAG_DISCARD;
		} else if ((v = startswith(*o, "discard="))) {
			flags &= ~(SWAP_FLAG_DISCARD_ONCE | SWAP_FLAG_DISCARD_PAGES);
			if (streq(v, "once"))
				flags |= SWAP_FLAG_DISCARD | SWAP_FLAG_DISCARD_ONCE;
			else if (streq(v, "pages"))
				flags |= SWAP_FLAG_DISCARD | SWAP_FLAG_DISCARD_PAGES;
			else
				return bad_option(*o, ret_bad);
		}
		/* sw, defaults, noauto, nofail, x-systemd.*: not swapon's. */
	}
	*ret_flags = flags;
	return 0;
}
