/* The real load_module op: kernel modules loaded as modprobe(8) loads them, through libkmod. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <libkmod.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "libblkstack-private.h"
#include "real.h"
#include "util.h"

static void log_from_kmod(void *data, int priority, const char *file, int line, const char *fn,
			  const char *format, va_list args)
{
	struct bs_ctx *c = data;
	char *msg = NULL;

	(void)priority;
	(void)file;
	(void)line;
	(void)fn;
	if (vasprintf(&msg, format, args) < 0)
		return;
	/* libkmod ends its messages with a newline. */
	msg[strcspn(msg, "\n")] = '\0';
	bs_log_debug(c, "libkmod: %s", msg);
	free(msg);
}

int bs_real_load_module(void *userdata, const char *name)
{
	struct bs_ctx *c = ((struct bs_real_ops_data *)userdata)->ctx;
	struct kmod_list *list = NULL, *it;
	struct kmod_ctx *k;
	unsigned n = 0;
	int r;

	if (!name || name[0] == '\0')
		return -EINVAL;
	/* The running kernel's modules: /lib/modules/RELEASE, as modprobe reads them. */
	k = kmod_new(NULL, NULL);
	if (!k)
		return -ENOMEM;
	kmod_set_log_fn(k, log_from_kmod, c);
	r = kmod_module_new_from_lookup(k, name, &list);
	if (r < 0) {
		bs_log_debug(c, "module '%s': lookup failed: %s", name, strerror(-r));
		kmod_unref(k);
		return r;
	}
	/* Nothing provides it: built in under another name, loaded ahead (an initramfs has no
	 * index), or missing; the step then finds out for itself. */
	r = -ENOENT;
	kmod_list_foreach(it, list)
	{
		struct kmod_module *m = kmod_module_get_module(it);
		int q;

		/* Dependencies and soft dependencies first; loaded or built in already is 0. */
		q = kmod_module_probe_insert_module(m, KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY, NULL,
						    NULL, NULL, NULL);
		if (q < 0)
			bs_log_debug(c, "module '%s' (for '%s'): %s", kmod_module_get_name(m), name,
				     strerror(-q));
		else
			n++;
		/* One that loads is enough; the first error is kept otherwise. */
		if (q >= 0 || r == -ENOENT)
			r = q >= 0 ? 0 : q;
		kmod_module_unref(m);
	}
	if (n > 0)
		r = 0;
	kmod_module_unref_list(list);
	kmod_unref(k);
	return r;
}
