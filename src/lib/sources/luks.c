/* Live source: the cipher a LUKS header names, read with libcryptsetup and no key. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <stdio.h>
#include <stdlib.h>

#include "sources.h"
#include "sysroot.h"
#include "util.h"

static void log_quietly(int level, const char *msg, void *userdata)
{
	struct bs_ctx *c = userdata;

	(void)level;
	bs_log_debug(c, "libcryptsetup: %s", msg);
}

int bs_luks_probe_cipher(struct bs_ctx *c, const char *kernel_name, char **ret)
{
	_cleanup_free_ char *devname = NULL, *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct crypt_device *cd = NULL;
	const char *cipher, *mode;
	int r;

	assert(c);
	assert(kernel_name);
	assert(ret);

	devname = bs_dev_path_dup(kernel_name);
	path = devname ? bs_sysroot_path_dup(c, devname) : NULL;
	if (!path)
		return -ENOMEM;

	/* Only the header is read: no key, no mapping, nothing written. A device that cannot
	 * be opened (a captured tree has no device nodes) just has no cipher to tell; asked
	 * first, since libcryptsetup would print that as an error of its own. */
	fd = bs_sysroot_open(c, devname, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		bs_log_debug(c, "cannot open '%s' to read its LUKS header: %s, ignoring", path,
			     strerror(-fd));
		return 0;
	}
	r = crypt_init(&cd, path);
	if (r < 0) {
		bs_log_debug(c, "cannot open '%s' to read its LUKS header: %s, ignoring", path,
			     strerror(-r));
		return 0;
	}
	crypt_set_log_callback(cd, log_quietly, c);
	r = crypt_load(cd, CRYPT_LUKS, NULL);
	if (r < 0) {
		bs_log_debug(c, "'%s': no readable LUKS header (%s), ignoring", path, strerror(-r));
		crypt_free(cd);
		return 0;
	}
	cipher = crypt_get_cipher(cd);
	mode = crypt_get_cipher_mode(cd);
	if (!cipher || !mode) {
		crypt_free(cd);
		return 0;
	}
	r = asprintf(ret, "%s-%s", cipher, mode) < 0 ? -ENOMEM : 1;
	crypt_free(cd);
	return r;
}
