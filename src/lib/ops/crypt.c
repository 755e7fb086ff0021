/* The real crypt ops: opening and closing dm-crypt mappings through libcryptsetup. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libcryptsetup.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libblkstack-private.h"
#include "real.h"
#include "util.h"

/*
 * libcryptsetup is safe to use from several threads only as far as libdevmapper below it
 * is, and libdevmapper is not: it keeps process-wide state (its ioctl buffers, the udev
 * cookie semaphores, the count of users of the control device). A lock around every call
 * would make LUKS unlocks run one at a time, and the point of running steps in parallel is
 * that several key derivations of seconds each run at once. So each call runs in a child
 * process of its own, as systemd runs one systemd-cryptsetup per mapping: the process-wide
 * state is the child's, and the parent keeps none. The child inherits the key material
 * (copy on write, still locked in the parent) and exits with the negative errno as its
 * status. How many run at once is the executor's -j.
 */
typedef int (*crypt_call_fn)(struct bs_ctx *c, const void *arg);

static int run_in_child(struct bs_ctx *c, crypt_call_fn fn, const void *arg)
{
	int status, r;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		r = fn(c, arg);
		_exit(r < 0 ? (-r & 0xff) : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return -WEXITSTATUS(status);
	bs_log_err(c, "the process opening or closing a dm-crypt mapping was killed by signal %d",
		   WTERMSIG(status));
	return -EIO;
}

static void crypt_freep(struct crypt_device **cd)
{
	if (*cd)
		crypt_free(*cd);
}

static struct bs_ctx *crypt_ctx(void *userdata)
{
	return ((struct bs_real_ops_data *)userdata)->ctx;
}

/* libcryptsetup's messages, through the context's log function at debug level: what went
 * wrong is for the driver to say, in blkstack's words. */
static void log_from_cryptsetup(int level, const char *msg, void *userdata)
{
	struct bs_ctx *c = userdata;
	size_t n = strlen(msg);

	while (n > 0 && msg[n - 1] == '\n')
		n--;
	bs_log_debug(c, "libcryptsetup (%d): %.*s", level, (int)n, msg);
}

/* "aes-xts-plain64" as crypt_format() takes it: cipher "aes", mode "xts-plain64". A cipher
 * without a mode gets cryptsetup's: "cbc-plain" ("ecb" for "null"). */
static int split_cipher(const char *spec, char **ret_cipher, char **ret_mode)
{
	const char *dash = strchr(spec, '-');
	char *cipher, *mode;

	if (!*spec || dash == spec || (dash && !dash[1]))
		return -EINVAL;
	cipher = dash ? strndup(spec, (size_t)(dash - spec)) : strdup(spec);
	mode = strdup(dash ? dash + 1 : streq(spec, "null") ? "ecb" : "cbc-plain");
	if (!cipher || !mode) {
		free(cipher);
		free(mode);
		return -ENOMEM;
	}
	*ret_cipher = cipher;
	*ret_mode = mode;
	return 0;
}

static uint32_t activation_flags(const struct bs_crypt_request *req)
{
	uint32_t flags = 0;

	if (req->read_only)
		flags |= CRYPT_ACTIVATE_READONLY;
	if (req->discard)
		flags |= CRYPT_ACTIVATE_ALLOW_DISCARDS;
	if (req->same_cpu_crypt)
		flags |= CRYPT_ACTIVATE_SAME_CPU_CRYPT;
	if (req->submit_from_crypt_cpus)
		flags |= CRYPT_ACTIVATE_SUBMIT_FROM_CRYPT_CPUS;
	if (req->no_read_workqueue)
		flags |= CRYPT_ACTIVATE_NO_READ_WORKQUEUE;
	if (req->no_write_workqueue)
		flags |= CRYPT_ACTIVATE_NO_WRITE_WORKQUEUE;
	return flags;
}

static unsigned plain_key_bits(const struct bs_crypt_request *req)
{
	return req->key_bits ? req->key_bits : BS_CRYPT_PLAIN_DEFAULT_KEY_BITS;
}

static size_t plain_key_bytes(const struct bs_crypt_request *req)
{
	return plain_key_bits(req) / 8;
}

/* Sets up cd as the plain mapping req describes. The hash applies to a passphrase only: a
 * key file of a plain mapping is the key itself (crypttab(5)), so none is set then. */
static int format_plain(struct bs_ctx *c, struct crypt_device *cd,
			const struct bs_crypt_request *req)
{
	_cleanup_free_ char *cipher = NULL, *mode = NULL;
	const char *spec = req->cipher ? req->cipher : BS_CRYPT_PLAIN_DEFAULT_CIPHER;
	unsigned bits = plain_key_bits(req);
	struct crypt_params_plain params = {
		.offset = req->offset_sectors,
		.skip = req->skip_sectors,
		.sector_size = req->sector_size,
	};
	int r;

	if (bits == 0 || bits % 8 != 0)
		return -EINVAL;
	if (!req->key_file)
		params.hash = req->hash ? req->hash : BS_CRYPT_PLAIN_DEFAULT_HASH;
	r = split_cipher(spec, &cipher, &mode);
	if (r < 0)
		return r;
	bs_log_debug(c,
		     "'%s': plain, cipher %s-%s, %u-bit key, hash %s, offset %" PRIu64
		     ", skip %" PRIu64 ", sector size %u",
		     req->name, cipher, mode, bits, params.hash ? params.hash : "none (key file)",
		     params.offset, params.skip, params.sector_size ? params.sector_size : 512);
	return crypt_format(cd, CRYPT_PLAIN, cipher, mode, NULL, NULL, bits / 8, &params);
}

/*
 * Whether path can be opened for reading. libcryptsetup reports a missing device before a
 * log callback can be set (crypt_init() logs to stderr then), and a missing key file only as
 * -EINVAL; checked here, they are -ENOENT or -EACCES, and nothing is printed.
 */
static int check_readable(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	(void)close(fd);
	return 0;
}

static int open_mapping(struct bs_ctx *c, const struct bs_crypt_request *req)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	bool plain = streq(req->type, "plain");
	const char *luks_type = NULL; /* CRYPT_LUKS: either version */
	uint32_t flags = activation_flags(req);
	int keyslot = req->keyslot >= 0 ? req->keyslot : CRYPT_ANY_SLOT;
	int r;

	if (streq(req->type, "luks1"))
		luks_type = CRYPT_LUKS1;
	else if (streq(req->type, "luks2"))
		luks_type = CRYPT_LUKS2;
	else if (!plain && !streq(req->type, "luks"))
		return -EINVAL;
	/* A plain mapping has no header to keep elsewhere. */
	if (plain && req->header)
		return -EINVAL;

	for (const char *const *p = (const char *const[]){ req->device, req->header, NULL }; *p;
	     p++) {
		r = check_readable(*p);
		if (r < 0) {
			bs_log_debug(c, "'%s': cannot open '%s': %s", req->name, *p, strerror(-r));
			return r;
		}
	}

	if (req->header)
		r = crypt_init_data_device(&cd, req->header, req->device);
	else
		r = crypt_init(&cd, req->device);
	if (r < 0) {
		bs_log_debug(c, "'%s': cannot use '%s'%s%s: %s", req->name, req->device,
			     req->header ? " with header " : "", strempty(req->header),
			     strerror(-r));
		return r;
	}
	crypt_set_log_callback(cd, log_from_cryptsetup, c);

	if (plain)
		r = format_plain(c, cd, req);
	else
		r = crypt_load(cd, luks_type, NULL);
	if (r < 0) {
		/* -EINVAL: no LUKS header (of that version), or a plain cipher the kernel
		 * does not know; what the ops table promises for the wrong type. */
		bs_log_debug(c, "'%s': '%s' is not %s: %s", req->name,
			     req->header ? req->header : req->device,
			     plain ? "usable for plain dm-crypt" : "a LUKS device of that version",
			     strerror(-r));
		return r;
	}

	if (req->key_file) {
		size_t size = req->key_file_size;

		r = check_readable(req->key_file);
		if (r < 0) {
			bs_log_debug(c, "'%s': cannot open key file '%s': %s", req->name,
				     req->key_file, strerror(-r));
			return r;
		}
		/* A plain key file is the key itself, read raw: exactly as many bytes as the
		 * key has, whatever keyfile-size= says, as cryptsetup open does. */
		if (plain)
			size = plain_key_bytes(req);
		r = crypt_activate_by_keyfile_device_offset(cd, req->name, keyslot, req->key_file,
							    size, req->key_file_offset, flags);
	} else {
		if (!req->key)
			return -EINVAL;
		r = crypt_activate_by_passphrase(cd, req->name, keyslot, req->key, req->key_size,
						 flags);
	}
	if (r < 0) {
		/* -EPERM: no key slot took the key. -EEXIST: the name is in use. */
		bs_log_debug(c, "'%s': activation failed: %s", req->name, strerror(-r));
		return r;
	}
	bs_log_debug(c, "'%s': opened on '%s' (key slot %d)", req->name, req->device, r);
	return 0;
}

static int open_call(struct bs_ctx *c, const void *arg)
{
	return open_mapping(c, arg);
}

int bs_real_crypt_open(void *userdata, const struct bs_crypt_request *req)
{
	if (!userdata || !req || !req->name || !req->device || !req->type)
		return -EINVAL;
	return run_in_child(crypt_ctx(userdata), open_call, req);
}

static int close_mapping(struct bs_ctx *c, const char *name)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	int r;

	/* -ENODEV: no such mapping (closed already, or never opened). Asked first, because
	 * crypt_init_by_name() prints that to stderr itself. */
	if (crypt_status(NULL, name) < CRYPT_ACTIVE) {
		bs_log_debug(c, "'%s': no such mapping is active", name);
		return -ENODEV;
	}
	r = crypt_init_by_name(&cd, name);
	if (r < 0) {
		bs_log_debug(c, "'%s': cannot find the mapping: %s", name, strerror(-r));
		return r;
	}
	crypt_set_log_callback(cd, log_from_cryptsetup, c);

	/* -EBUSY: something still holds it open. */
	r = crypt_deactivate(cd, name);
	if (r < 0)
		bs_log_debug(c, "'%s': cannot close: %s", name, strerror(-r));
	return r;
}

static int close_call(struct bs_ctx *c, const void *arg)
{
	return close_mapping(c, arg);
}

int bs_real_crypt_close(void *userdata, const char *name)
{
	int r;

	if (!userdata || !name || !*name)
		return -EINVAL;
	r = run_in_child(crypt_ctx(userdata), close_call, name);
	return r < 0 ? r : 0;
}
