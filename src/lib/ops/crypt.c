/* The real crypt ops: opening and closing dm-crypt mappings through libcryptsetup. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libcryptsetup.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libblkstack-private.h"
#include "process.h"
#include "real.h"
#include "util.h"

/*
 * libcryptsetup is safe to use from several threads only as far as libdevmapper below it
 * is, and libdevmapper is not: it keeps process-wide state (its ioctl buffers, the udev
 * cookie semaphores, the count of users of the control device). A lock around every call
 * would make LUKS unlocks run one at a time, and the point of running steps in parallel is
 * that several key derivations of seconds each run at once. So each call runs in a process
 * of its own, as systemd runs one systemd-cryptsetup per mapping: the process-wide state is
 * the helper's, and the parent keeps none. How many run at once is the executor's -j.
 *
 * The helper is this program started again (DESIGN.md: one binary, no helper program of
 * its own): posix_spawn() of /proc/self/exe with argv[1] HELPER_ARG, which main() hands to
 * bs_helper_main() before it does anything else. It is never a fork() that goes on running
 * library code: the process that calls these ops has worker threads, and a child of fork()
 * inherits every lock another thread held at that moment (the log function's, stdio's,
 * malloc's arenas, libdevmapper's, OpenSSL's, the dynamic loader's) with no thread left to
 * release it. posix_spawn() runs nothing of ours between the clone and the exec, and the
 * exec'd helper starts with one thread and no locks taken.
 *
 * Nothing secret goes into the helper's argv or environment, which other users can read in
 * /proc. It gets /dev/null as standard input and output, the caller's standard error, and
 * on HELPER_FD one end of a socketpair; every other descriptor is closed, CLOEXEC or not.
 * Over the socket, in order:
 *
 *   parent -> helper  one struct helper_request, followed by its strings;
 *                     then, when HELPER_KEY is set, key_size bytes of key in messages of
 *                     KEY_CHUNK bytes (the last one shorter), sent from and received into
 *                     locked memory (bs_secret_new())
 *   helper -> parent  any number of HELPER_LOG messages: the debug messages of the helper
 *                     and of libcryptsetup, which the parent logs through its context at
 *                     debug level (sent only when the parent's context wants them);
 *                     then one HELPER_RESULT with the call's 0 or negative errno
 *
 * The helper makes itself non-dumpable before it reads anything, so that its memory is out
 * of reach of ptrace and core dumps, and wipes the key when the call returns. A helper that
 * dies, answers nothing or exits non-zero is -EIO, logged as an error.
 */
#define HELPER_ARG "--blkstack-crypt-helper"
#define HELPER_FD 3
#define HELPER_MAGIC UINT32_C(0xb5c79703) /* changed with any change of the messages */
/* A request's header and strings: seven paths and names come nowhere near it. */
#define REQUEST_MAX ((size_t)64 * 1024)
#define KEY_CHUNK ((size_t)16 * 1024)
/* Far above the 8 KiB a passphrase may have; a key file is read by libcryptsetup itself. */
#define KEY_MAX ((size_t)8 * 1024 * 1024)
/* One log message: its header, source file, function and text. */
#define REPLY_MAX ((size_t)4096)

enum helper_op {
	HELPER_OPEN = 1,
	HELPER_CLOSE = 2,
	HELPER_SUSPEND = 3, /* luksSuspend: the mapping's I/O waits, its key is wiped */
	HELPER_RESUME = 4, /* luksResume with the key that follows the request */
};

enum {
	HELPER_LOG_DEBUG = 1u << 0, /* send the debug messages */
	HELPER_KEY = 1u << 1, /* a key follows the request (req->key) */
	HELPER_READ_ONLY = 1u << 2,
	HELPER_DISCARD = 1u << 3,
	HELPER_SAME_CPU_CRYPT = 1u << 4,
	HELPER_SUBMIT_FROM_CRYPT_CPUS = 1u << 5,
	HELPER_NO_READ_WORKQUEUE = 1u << 6,
	HELPER_NO_WRITE_WORKQUEUE = 1u << 7,
};

/* The strings of a request, in the order they follow its header. */
enum {
	STR_NAME,
	STR_DEVICE,
	STR_TYPE,
	STR_HEADER,
	STR_KEY_FILE,
	STR_CIPHER,
	STR_HASH,
	/* the pinned volume key digest (struct bs_crypt_digest): all six, or none */
	STR_DIGEST_VERSION,
	STR_DIGEST_TYPE,
	STR_DIGEST_HASH,
	STR_DIGEST_ITERATIONS,
	STR_DIGEST_SALT,
	STR_DIGEST,
	_STR_MAX,
};

/* Parent and helper are the same executable, but the helper loads libblkstack afresh: after
 * an upgrade it may be another version, which the magic tells. */
struct helper_request {
	uint32_t magic;
	uint32_t op;
	uint32_t flags;
	int32_t keyslot;
	uint32_t key_bits;
	uint32_t sector_size;
	uint64_t key_file_offset;
	uint64_t key_file_size;
	uint64_t offset_sectors;
	uint64_t skip_sectors;
	uint64_t key_size;
	uint32_t str_size[_STR_MAX]; /* each string's length with its NUL; 0 for NULL */
};

enum helper_reply_type {
	/* value: the line; then the file, the function and the text, each NUL-terminated */
	HELPER_LOG = 1,
	/* value: the call's result */
	HELPER_RESULT = 2,
};

struct helper_reply {
	uint32_t type;
	int32_t value;
};

/* One message, whole: -EMSGSIZE for one longer than size. 0 at the end of the stream. */
static ssize_t recv_message(int fd, void *buf, size_t size)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return -EMSGSIZE;
	return n;
}

static int send_message(int fd, const void *buf, size_t size)
{
	ssize_t n;

	do
		n = send(fd, buf, size, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == size ? 0 : -EIO;
}

/* ---- in the parent: starting the helper and talking to it ---------------------------- */

static struct bs_ctx *crypt_ctx(void *userdata)
{
	return ((struct bs_real_ops_data *)userdata)->ctx;
}

/* The header of the request for req, without magic and op. */
static struct helper_request request_header(const struct bs_crypt_request *req)
{
	return (struct helper_request){
		.flags = (req->key ? HELPER_KEY : 0) | (req->read_only ? HELPER_READ_ONLY : 0) |
			 (req->discard ? HELPER_DISCARD : 0) |
			 (req->same_cpu_crypt ? HELPER_SAME_CPU_CRYPT : 0) |
			 (req->submit_from_crypt_cpus ? HELPER_SUBMIT_FROM_CRYPT_CPUS : 0) |
			 (req->no_read_workqueue ? HELPER_NO_READ_WORKQUEUE : 0) |
			 (req->no_write_workqueue ? HELPER_NO_WRITE_WORKQUEUE : 0),
		.keyslot = req->keyslot,
		.key_bits = req->key_bits,
		.sector_size = req->sector_size,
		.key_file_offset = req->key_file_offset,
		.key_file_size = req->key_file_size,
		.offset_sectors = req->offset_sectors,
		.skip_sectors = req->skip_sectors,
		.key_size = req->key ? req->key_size : 0,
	};
}

static int encode_request(const struct helper_request *h, const char *const strings[_STR_MAX],
			  char **ret, size_t *ret_size)
{
	struct helper_request head = *h;
	size_t size = sizeof(head);
	char *buf, *p;

	for (size_t i = 0; i < _STR_MAX; i++) {
		size_t l = strings[i] ? strlen(strings[i]) + 1 : 0;

		if (l > REQUEST_MAX - size)
			return -ENAMETOOLONG;
		head.str_size[i] = (uint32_t)l;
		size += l;
	}
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &head, sizeof(head));
	p = buf + sizeof(head);
	for (size_t i = 0; i < _STR_MAX; i++) {
		memcpy(p, strempty(strings[i]), head.str_size[i]);
		p += head.str_size[i];
	}
	*ret = buf;
	*ret_size = size;
	return 0;
}

/* Starts /proc/self/exe HELPER_ARG with fd as its HELPER_FD. Nothing but the file actions
 * below runs in the child before the exec. */
static int spawn_helper(int fd, pid_t *ret_pid)
{
	const char *const argv[] = { program_invocation_name, HELPER_ARG, NULL };
	posix_spawn_file_actions_t fa;
	int r;

	r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return -r;
	/* fd is CLOEXEC and not HELPER_FD itself (see run_helper()), so after the exec the
	 * socket is at HELPER_FD only, and the descriptors above it are closed. */
	r = posix_spawn_file_actions_adddup2(&fa, fd, HELPER_FD);
	if (r == 0)
		r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (r == 0)
		r = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (r == 0)
		r = posix_spawn_file_actions_addclosefrom_np(&fa, HELPER_FD + 1);
	r = r == 0 ? bs_spawn_clean("/proc/self/exe", false, argv, &fa, ret_pid) : -r;
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

/* The request, then the key in chunks. A helper that dies meanwhile is EPIPE here, and its
 * exit status says the rest. */
static int send_request(int fd, const char *msg, size_t size, const char *key, size_t key_size)
{
	int r = send_message(fd, msg, size);

	for (size_t off = 0; r >= 0 && key && off < key_size; off += KEY_CHUNK)
		r = send_message(fd, key + off, MIN(KEY_CHUNK, key_size - off));
	return r;
}

/* The end of the string at p, if it ends before end. */
static const char *string_end(const char *p, const char *end)
{
	const char *nul = p < end ? memchr(p, 0, (size_t)(end - p)) : NULL;

	return nul ? nul + 1 : NULL;
}

/* Logs what the helper says until its result; *ret_result gets that. -EPROTO for a message
 * that is none of the helper's, or a stream that ends without a result. */
static int relay_replies(struct bs_ctx *c, int fd, int *ret_result)
{
	char buf[REPLY_MAX];

	for (;;) {
		const char *file, *fn, *text, *end;
		struct helper_reply h;
		ssize_t n = recv_message(fd, buf, sizeof(buf));

		if (n == 0)
			return -EPROTO;
		if (n < 0)
			return (int)n;
		if ((size_t)n < sizeof(h))
			return -EPROTO;
		memcpy(&h, buf, sizeof(h));
		if (h.type == HELPER_RESULT) {
			if ((size_t)n != sizeof(h) || h.value > 0)
				return -EPROTO;
			*ret_result = h.value;
			return 0;
		}
		if (h.type != HELPER_LOG)
			return -EPROTO;
		end = buf + n;
		file = buf + sizeof(h);
		fn = string_end(file, end);
		text = fn ? string_end(fn, end) : NULL;
		if (!text || !string_end(text, end))
			return -EPROTO;
		if (bs_log_enabled(c, LOG_DEBUG))
			bs_log(c, LOG_DEBUG, file, h.value, fn, "%s", text);
	}
}

static int run_helper(struct bs_ctx *c, const struct helper_request *h,
		      const char *const strings[_STR_MAX], const char *key)
{
	_cleanup_free_ char *msg = NULL;
	_cleanup_close_ int fd = -EBADF;
	int sv[2], r, result = -EIO, status;
	size_t size;
	pid_t pid;

	r = encode_request(h, strings, &msg, &size);
	if (r < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fd = sv[0];
	/* dup2() onto itself would leave CLOEXEC set; the helper's end moves up instead. */
	if (sv[1] == HELPER_FD) {
		int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, HELPER_FD + 1);

		r = moved < 0 ? -errno : 0;
		(void)close(sv[1]);
		if (r < 0)
			return r;
		sv[1] = moved;
	}
	r = spawn_helper(sv[1], &pid);
	(void)close(sv[1]);
	if (r < 0) {
		bs_log_err(c,
			   "cannot start the process that opens or closes dm-crypt mappings "
			   "(/proc/self/exe): %s",
			   strerror(-r));
		return r;
	}

	r = send_request(fd, msg, size, key, (size_t)h->key_size);
	if (r >= 0)
		r = relay_replies(c, fd, &result);
	/* Closed before the wait: a helper that still sends gets EPIPE rather than blocking. */
	fd = safe_close(fd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;

	if (WIFSIGNALED(status)) {
		bs_log_err(c,
			   "the process opening or closing a dm-crypt mapping was killed by "
			   "signal %d",
			   WTERMSIG(status));
		return -EIO;
	}
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* A program whose main() does not start with bs_helper_main() runs its own
		 * main instead, and answers nothing. */
		bs_log_err(c,
			   "the process opening or closing a dm-crypt mapping exited with status "
			   "%d%s%s",
			   WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			   r < 0 ? " without an answer: " : "",
			   r < 0 ? "does main() call bs_helper_main() first?" : "");
		return -EIO;
	}
	return result;
}

/* ---- in the helper: libcryptsetup ---------------------------------------------------- */

static void crypt_freep(struct crypt_device **cd)
{
	if (*cd)
		crypt_free(*cd);
}

/* libcryptsetup's messages, through the context's log function at debug level (in the helper,
 * to the parent): what went wrong is for the driver to say, in blkstack's words. */
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
 * Whether path can be opened for reading. libcryptsetup reports a missing device or key file
 * only as -EINVAL; checked here, they are -ENOENT or -EACCES.
 */
static int check_readable(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	(void)close(fd);
	return 0;
}

/* ---- the pinned volume key digest ---------------------------------------------------- */

static int hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 :
				      -1;
}

static int base64_value(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' :
	       c >= 'a' && c <= 'z' ? c - 'a' + 26 :
	       c >= '0' && c <= '9' ? c - '0' + 52 :
	       c == '+'		    ? 62 :
	       c == '/'		    ? 63 :
				      -1;
}

/* Decodes s, n characters, hex (LUKS1's header) or base64 (LUKS2's metadata), into buf of
 * size bytes. Returns the bytes decoded, or -EINVAL. */
static ssize_t decode_bytes(const char *s, size_t n, bool hex, uint8_t *buf, size_t size)
{
	size_t k = 0;

	if (hex) {
		if (n % 2 != 0 || n / 2 > size)
			return -EINVAL;
		for (size_t i = 0; i < n; i += 2) {
			int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			buf[k++] = (uint8_t)(hi << 4 | lo);
		}
		return (ssize_t)k;
	}
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1 || n * 3 / 4 > size)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		size_t m = MIN((size_t)4, n - i);

		for (size_t j = 0; j < 4; j++) {
			int d = j < m ? base64_value(s[i + j]) : 0;

			if (d < 0)
				return -EINVAL;
			v = v << 6 | (uint32_t)d;
		}
		buf[k++] = (uint8_t)(v >> 16);
		if (m > 2)
			buf[k++] = (uint8_t)(v >> 8);
		if (m > 3)
			buf[k++] = (uint8_t)v;
	}
	return (ssize_t)k;
}

/* Field number i of a list joined with ',' (a LUKS2 header's digests, one each): *ret and
 * *ret_len, or -ENOENT past the last. */
static int nth_field(const char *list, size_t i, const char **ret, size_t *ret_len)
{
	const char *p = list;

	for (; i > 0; i--) {
		p = strchr(p, ',');
		if (!p)
			return -ENOENT;
		p++;
	}
	*ret = p;
	*ret_len = strcspn(p, ",");
	return 0;
}

/* Whether the volume key vk matches digest number i of d: PBKDF2 with the pinned hash, salt
 * and iterations, as LUKS computes the digest it keeps, and compared in constant time.
 * 1 it does, 0 it does not, -ENOENT past the last digest, -EINVAL for a digest that cannot
 * be checked (not pbkdf2, a hash OpenSSL does not know, a damaged field). */
static int digest_matches(struct bs_ctx *c, const struct bs_crypt_digest *d, size_t i,
			  const char *vk, size_t vk_size)
{
	uint8_t salt[256], want[EVP_MAX_MD_SIZE], have[EVP_MAX_MD_SIZE];
	const char *type, *hash, *iter, *salt_s, *digest_s;
	size_t type_n, hash_n, iter_n, salt_n, digest_n;
	bool hex = streq(d->version, "LUKS1");
	char hash_name[64], iter_buf[16];
	ssize_t n_salt, n_want;
	unsigned long iterations;
	const EVP_MD *md;
	char *end;
	int r;

	if (nth_field(d->digest, i, &digest_s, &digest_n) < 0)
		return -ENOENT;
	if (nth_field(d->type, i, &type, &type_n) < 0 ||
	    nth_field(d->hash, i, &hash, &hash_n) < 0 ||
	    nth_field(d->iterations, i, &iter, &iter_n) < 0 ||
	    nth_field(d->salt, i, &salt_s, &salt_n) < 0)
		return -EINVAL;
	if (type_n != strlen("pbkdf2") || strncmp(type, "pbkdf2", type_n) != 0 ||
	    hash_n >= sizeof(hash_name) || iter_n == 0 || iter_n >= sizeof(iter_buf))
		return -EINVAL;
	memcpy(hash_name, hash, hash_n);
	hash_name[hash_n] = '\0';
	memcpy(iter_buf, iter, iter_n);
	iter_buf[iter_n] = '\0';
	errno = 0;
	iterations = strtoul(iter_buf, &end, 10);
	if (errno != 0 || *end != '\0' || iterations == 0 || iterations > INT32_MAX)
		return -EINVAL;
	n_salt = decode_bytes(salt_s, salt_n, hex, salt, sizeof(salt));
	n_want = decode_bytes(digest_s, digest_n, hex, want, sizeof(want));
	md = EVP_get_digestbyname(hash_name);
	if (n_salt <= 0 || n_want <= 0 || !md) {
		bs_log_debug(c, "the pinned digest %zu (hash '%s') cannot be checked", i,
			     hash_name);
		return -EINVAL;
	}
	if (PKCS5_PBKDF2_HMAC(vk, (int)vk_size, salt, (int)n_salt, (int)iterations, md, (int)n_want,
			      have) != 1)
		return -EINVAL;
	r = CRYPTO_memcmp(have, want, (size_t)n_want) == 0;
	OPENSSL_cleanse(have, sizeof(have));
	return r;
}

/* Whether vk is the pinned volume key: one of the pinned digests matches it. 0, or
 * -EKEYREJECTED (also when no digest can be checked: a pin that cannot be checked is not
 * passed). */
static int check_volume_key(struct bs_ctx *c, const struct bs_crypt_digest *d, const char *vk,
			    size_t vk_size)
{
	for (size_t i = 0;; i++) {
		int r = digest_matches(c, d, i, vk, vk_size);

		if (r == -ENOENT)
			break;
		if (r > 0)
			return 0;
	}
	return -EKEYREJECTED;
}

/* A handle on req's device (and detached header), not loaded yet. */
static int init_device(struct bs_ctx *c, const struct bs_crypt_request *req,
		       struct crypt_device **ret)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	int r;

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
	*ret = TAKE_PTR(cd);
	return 0;
}

/* The volume key of cd, unlocked with req's key file or key, in locked memory that the caller
 * frees with bs_secret_free(); then checked against req->pinned_digest. Returns the key slot,
 * -EPERM (no key slot took the key), -EKEYREJECTED (not the pinned key: wiped here), or
 * another error. */
static int unlock_volume_key(struct bs_ctx *c, struct crypt_device *cd,
			     const struct bs_crypt_request *req, int keyslot, char **ret_vk,
			     size_t *ret_size)
{
	char *vk = NULL, *file_key = NULL;
	size_t vk_size, file_key_size = 0;
	int size, slot, r;

	size = crypt_get_volume_key_size(cd);
	if (size <= 0)
		return -EINVAL;
	vk_size = (size_t)size;
	r = bs_secret_new(vk_size, &vk);
	if (r < 0)
		return r;
	if (req->key_file) {
		/* Read as crypt_activate_by_keyfile_device_offset() reads it: size 0 is the
		 * whole file, up to libcryptsetup's limit. */
		r = crypt_keyfile_device_read(cd, req->key_file, &file_key, &file_key_size,
					      req->key_file_offset, req->key_file_size, 0);
		if (r < 0) {
			bs_secret_free(vk);
			return r;
		}
		slot = crypt_volume_key_get(cd, keyslot, vk, &vk_size, file_key, file_key_size);
		crypt_safe_free(file_key);
	} else if (req->key)
		slot = crypt_volume_key_get(cd, keyslot, vk, &vk_size, req->key, req->key_size);
	else
		slot = -EINVAL;
	if (slot >= 0)
		r = check_volume_key(c, req->pinned_digest, vk, vk_size);
	if (slot < 0 || r < 0) {
		bs_secret_free(vk);
		return slot < 0 ? slot : r;
	}
	*ret_vk = vk;
	*ret_size = vk_size;
	return slot;
}

int bs_crypt_check_volume_key(struct bs_ctx *c, const struct bs_crypt_request *req)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	char *vk = NULL;
	size_t vk_size = 0;
	int r;

	if (!c || !req || !req->name || !req->device || !req->type || !req->pinned_digest ||
	    streq(req->type, "plain"))
		return -EINVAL;
	r = init_device(c, req, &cd);
	if (r >= 0)
		r = crypt_load(cd, CRYPT_LUKS, NULL);
	if (r < 0)
		return r;
	r = unlock_volume_key(c, cd, req, req->keyslot >= 0 ? req->keyslot : CRYPT_ANY_SLOT, &vk,
			      &vk_size);
	bs_secret_free(vk);
	return r < 0 ? r : 0;
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

	r = init_device(c, req, &cd);
	if (r < 0)
		return r;
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
		r = check_readable(req->key_file);
		if (r < 0) {
			bs_log_debug(c, "'%s': cannot open key file '%s': %s", req->name,
				     req->key_file, strerror(-r));
			return r;
		}
	} else if (!req->key)
		return -EINVAL;

	if (req->pinned_digest && !plain) {
		/* The header opened may be a forged one that another key opens: the volume key
		 * must be the one pinned from the genuine header, before any mapping exists. */
		char *vk = NULL;
		size_t vk_size = 0;

		r = unlock_volume_key(c, cd, req, keyslot, &vk, &vk_size);
		if (r == -EKEYREJECTED)
			bs_log_debug(c, "'%s': the volume key is not the pinned one", req->name);
		if (r >= 0)
			r = crypt_activate_by_volume_key(cd, req->name, vk, vk_size, flags);
		bs_secret_free(vk);
	} else if (req->key_file) {
		size_t size = req->key_file_size;

		/* A plain key file is the key itself, read raw: exactly as many bytes as the
		 * key has, whatever keyfile-size= says, as cryptsetup open does. */
		if (plain)
			size = plain_key_bytes(req);
		r = crypt_activate_by_keyfile_device_offset(cd, req->name, keyslot, req->key_file,
							    size, req->key_file_offset, flags);
	} else
		r = crypt_activate_by_passphrase(cd, req->name, keyslot, req->key, req->key_size,
						 flags);
	if (r < 0) {
		/* -EPERM: no key slot took the key. -EEXIST: the name is in use. */
		bs_log_debug(c, "'%s': activation failed: %s", req->name, strerror(-r));
		return r;
	}
	bs_log_debug(c, "'%s': opened on '%s'%s", req->name, req->device,
		     req->pinned_digest && !plain ? ", its volume key the pinned one" : "");
	return 0;
}

/*
 * A key file that others may read is used, as systemd-cryptsetup and Debian's cryptsetup use
 * it, with a warning: a file they accept must not stop a boot. (An image that would carry
 * one is refused instead: see initramfs.c.) Only its mode is looked at here, in the parent;
 * the helper reads it.
 */
static void warn_key_file_mode(struct bs_ctx *c, const struct bs_crypt_request *req)
{
	struct stat st;

	if (!req->key_file || stat(req->key_file, &st) < 0 || !S_ISREG(st.st_mode) ||
	    !(st.st_mode & 0044))
		return;
	bs_log_warn(c, "'%s': key file '%s' is readable by %s (mode %04o); chmod 0600 it",
		    req->name, req->key_file, st.st_mode & 0004 ? "everyone" : "its group",
		    (unsigned)(st.st_mode & 07777));
}

int bs_real_crypt_open(void *userdata, const struct bs_crypt_request *req)
{
	const char *strings[_STR_MAX];
	struct helper_request h;
	struct bs_ctx *c;

	if (!userdata || !req || !req->name || !req->device || !req->type)
		return -EINVAL;
	if (req->key && req->key_size > KEY_MAX)
		return -EMSGSIZE;

	c = crypt_ctx(userdata);
	warn_key_file_mode(c, req);
	h = request_header(req);
	h.magic = HELPER_MAGIC;
	h.op = HELPER_OPEN;
	if (bs_log_enabled(c, LOG_DEBUG))
		h.flags |= HELPER_LOG_DEBUG;
	strings[STR_NAME] = req->name;
	strings[STR_DEVICE] = req->device;
	strings[STR_TYPE] = req->type;
	strings[STR_HEADER] = req->header;
	strings[STR_KEY_FILE] = req->key_file;
	strings[STR_CIPHER] = req->cipher;
	strings[STR_HASH] = req->hash;
	if (req->pinned_digest) {
		const struct bs_crypt_digest *d = req->pinned_digest;

		if (!d->version || !d->type || !d->hash || !d->iterations || !d->salt || !d->digest)
			return -EINVAL;
		strings[STR_DIGEST_VERSION] = d->version;
		strings[STR_DIGEST_TYPE] = d->type;
		strings[STR_DIGEST_HASH] = d->hash;
		strings[STR_DIGEST_ITERATIONS] = d->iterations;
		strings[STR_DIGEST_SALT] = d->salt;
		strings[STR_DIGEST] = d->digest;
	} else
		for (size_t i = STR_DIGEST_VERSION; i <= STR_DIGEST; i++)
			strings[i] = NULL;
	return run_helper(c, &h, strings, req->key);
}

static int close_mapping(struct bs_ctx *c, const char *name)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	int r;

	/* -ENODEV: no such mapping (closed already, or never opened). Asked first, because
	 * crypt_init_by_name() says so as an error message. */
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

int bs_real_crypt_close(void *userdata, const char *name)
{
	const char *const strings[_STR_MAX] = { [STR_NAME] = name };
	struct helper_request h;
	struct bs_ctx *c;
	int r;

	if (!userdata || !name || !*name)
		return -EINVAL;
	c = crypt_ctx(userdata);
	h = (struct helper_request){
		.magic = HELPER_MAGIC,
		.op = HELPER_CLOSE,
		.flags = bs_log_enabled(c, LOG_DEBUG) ? HELPER_LOG_DEBUG : 0,
	};
	r = run_helper(c, &h, strings, NULL);
	return r < 0 ? r : 0;
}

/* The mapping name, for suspend and resume: -ENODEV if it is not active. */
static int init_by_name(struct bs_ctx *c, const char *name, struct crypt_device **ret)
{
	int r;

	if (crypt_status(NULL, name) < CRYPT_ACTIVE) {
		bs_log_debug(c, "'%s': no such mapping is active", name);
		return -ENODEV;
	}
	r = crypt_init_by_name(ret, name);
	if (r < 0) {
		bs_log_debug(c, "'%s': cannot find the mapping: %s", name, strerror(-r));
		return r;
	}
	crypt_set_log_callback(*ret, log_from_cryptsetup, c);
	return 0;
}

static bool is_suspended(struct crypt_device *cd, const char *name)
{
	struct crypt_active_device cad;

	return crypt_get_active_device(cd, name, &cad) >= 0 &&
	       (cad.flags & CRYPT_ACTIVATE_SUSPENDED);
}

/* libcryptsetup's luksSuspend: dm suspends the mapping (its I/O waits from now on) and
 * wipes the key in dm-crypt, and a LUKS2 key in the kernel keyring is unlinked too. */
static int suspend_mapping(struct bs_ctx *c, const char *name)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	int r = init_by_name(c, name, &cd);

	if (r < 0)
		return r;
	if (is_suspended(cd, name)) {
		bs_log_debug(c, "'%s': suspended already", name);
		return 0;
	}
	r = crypt_suspend(cd, name);
	if (r < 0)
		bs_log_debug(c, "'%s': cannot suspend: %s", name, strerror(-r));
	return r;
}

/* luksResume with req's passphrase: -EPERM for one that opens no key slot, and then the
 * mapping stays suspended. */
static int resume_mapping(struct bs_ctx *c, const struct bs_crypt_request *req)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	int r;

	if (!req->key)
		return -EINVAL;
	r = init_by_name(c, req->name, &cd);
	if (r < 0)
		return r;
	if (!is_suspended(cd, req->name)) {
		bs_log_debug(c, "'%s': not suspended", req->name);
		return -EALREADY;
	}
	r = crypt_resume_by_passphrase(cd, req->name, CRYPT_ANY_SLOT, req->key, req->key_size);
	if (r < 0) {
		bs_log_debug(c, "'%s': cannot resume: %s", req->name, strerror(-r));
		return r == -ENOENT ? -EPERM : r;
	}
	return 0;
}

int bs_real_crypt_suspend(void *userdata, const char *name)
{
	const char *const strings[_STR_MAX] = { [STR_NAME] = name };
	struct helper_request h;
	struct bs_ctx *c;

	if (!userdata || !name || !*name)
		return -EINVAL;
	c = crypt_ctx(userdata);
	h = (struct helper_request){
		.magic = HELPER_MAGIC,
		.op = HELPER_SUSPEND,
		.flags = bs_log_enabled(c, LOG_DEBUG) ? HELPER_LOG_DEBUG : 0,
	};
	return run_helper(c, &h, strings, NULL);
}

int bs_real_crypt_resume(void *userdata, const char *name, const char *key, size_t key_size)
{
	const char *const strings[_STR_MAX] = { [STR_NAME] = name };
	struct helper_request h;
	struct bs_ctx *c;

	if (!userdata || !name || !*name || !key || key_size > KEY_MAX)
		return -EINVAL;
	c = crypt_ctx(userdata);
	h = (struct helper_request){
		.magic = HELPER_MAGIC,
		.op = HELPER_RESUME,
		.flags = HELPER_KEY | (bs_log_enabled(c, LOG_DEBUG) ? HELPER_LOG_DEBUG : 0),
		.keyslot = -1,
		.key_size = key_size,
	};
	return run_helper(c, &h, strings, key);
}

/* ---- the helper's side of the socket ------------------------------------------------- */

/* Copies s, cut to fit, with its NUL, to buf at *n. */
static void append_string(char *buf, size_t size, size_t *n, const char *s)
{
	size_t l = MIN(strlen(s), size - *n - 1);

	memcpy(buf + *n, s, l);
	buf[*n + l] = '\0';
	*n += l + 1;
}

/* The helper context's log function: each message goes to the parent, cut to REPLY_MAX. */
_printf_(6, 0) static void log_to_parent(void *userdata, _unused_ int priority, const char *file,
					 int line, const char *fn, const char *format, va_list args)
{
	struct helper_reply h = { .type = HELPER_LOG, .value = line };
	const int *fd = userdata;
	char buf[REPLY_MAX];
	size_t n = sizeof(h);
	int l;

	memcpy(buf, &h, sizeof(h));
	/* The file and the function are short names; room is kept for the text. */
	append_string(buf, sizeof(buf) / 4, &n, file);
	append_string(buf, sizeof(buf) / 2, &n, fn);
	l = vsnprintf(buf + n, sizeof(buf) - n, format, args);
	if (l < 0)
		return;
	n += MIN((size_t)l, sizeof(buf) - n - 1) + 1;
	(void)send_message(*fd, buf, n);
}

/* The string i of a request whose strings start at *p and end at end; NULL for one sent as
 * NULL. -EBADMSG for one that is not exactly as long as the header says. */
static int decode_string(const struct helper_request *h, size_t i, const char **p, const char *end,
			 const char **ret)
{
	size_t size = h->str_size[i];

	if (size == 0) {
		*ret = NULL;
		return 0;
	}
	if (size > (size_t)(end - *p) || strnlen(*p, size) != size - 1)
		return -EBADMSG;
	*ret = *p;
	*p += size;
	return 0;
}

/* Reads the request into buf (the strings of req point there) and the key into *ret_key,
 * which the caller frees with bs_secret_free(). */
static int receive_request(int fd, char *buf, struct helper_request *h,
			   struct bs_crypt_request *req, struct bs_crypt_digest *digest,
			   char **ret_key)
{
	const char *strings[_STR_MAX], *p, *end;
	char *key = NULL;
	ssize_t n;
	int r;

	n = recv_message(fd, buf, REQUEST_MAX);
	if (n < 0)
		return (int)n;
	if ((size_t)n < sizeof(*h))
		return -EBADMSG;
	memcpy(h, buf, sizeof(*h));
	if (h->magic != HELPER_MAGIC ||
	    !IN_SET(h->op, HELPER_OPEN, HELPER_CLOSE, HELPER_SUSPEND, HELPER_RESUME))
		return -EBADMSG;
	p = buf + sizeof(*h);
	end = buf + n;
	for (size_t i = 0; i < _STR_MAX; i++) {
		r = decode_string(h, i, &p, end, &strings[i]);
		if (r < 0)
			return r;
	}
	if (p != end || !strings[STR_NAME] ||
	    (h->op == HELPER_OPEN && (!strings[STR_DEVICE] || !strings[STR_TYPE])))
		return -EBADMSG;
	/* Key bytes only with HELPER_KEY, and no more than a parent sends. */
	if ((h->flags & HELPER_KEY) ? h->key_size > KEY_MAX : h->key_size != 0)
		return -EBADMSG;

	*req = (struct bs_crypt_request){
		.name = strings[STR_NAME],
		.device = strings[STR_DEVICE],
		.type = strings[STR_TYPE],
		.header = strings[STR_HEADER],
		.key_file = strings[STR_KEY_FILE],
		.key_file_offset = h->key_file_offset,
		.key_file_size = (size_t)h->key_file_size,
		.keyslot = h->keyslot,
		.cipher = strings[STR_CIPHER],
		.key_bits = h->key_bits,
		.hash = strings[STR_HASH],
		.offset_sectors = h->offset_sectors,
		.skip_sectors = h->skip_sectors,
		.sector_size = h->sector_size,
		.read_only = h->flags & HELPER_READ_ONLY,
		.discard = h->flags & HELPER_DISCARD,
		.same_cpu_crypt = h->flags & HELPER_SAME_CPU_CRYPT,
		.submit_from_crypt_cpus = h->flags & HELPER_SUBMIT_FROM_CRYPT_CPUS,
		.no_read_workqueue = h->flags & HELPER_NO_READ_WORKQUEUE,
		.no_write_workqueue = h->flags & HELPER_NO_WRITE_WORKQUEUE,
	};
	if (strings[STR_DIGEST]) {
		for (size_t i = STR_DIGEST_VERSION; i <= STR_DIGEST; i++)
			if (!strings[i])
				return -EBADMSG;
		*digest = (struct bs_crypt_digest){
			.version = strings[STR_DIGEST_VERSION],
			.type = strings[STR_DIGEST_TYPE],
			.hash = strings[STR_DIGEST_HASH],
			.iterations = strings[STR_DIGEST_ITERATIONS],
			.salt = strings[STR_DIGEST_SALT],
			.digest = strings[STR_DIGEST],
		};
		req->pinned_digest = digest;
	}
	if (!(h->flags & HELPER_KEY))
		return 0;

	/* Locked memory; where mlock() is not allowed, used anyway, as the parent does. */
	r = bs_secret_new((size_t)h->key_size, &key);
	if (r < 0)
		return r;
	for (size_t off = 0; off < h->key_size; off += KEY_CHUNK) {
		size_t want = MIN(KEY_CHUNK, (size_t)h->key_size - off);

		n = recv_message(fd, key + off, want);
		if (n < 0 || (size_t)n != want) {
			bs_secret_free(key);
			return n < 0 ? (int)n : -EBADMSG;
		}
	}
	req->key = key;
	req->key_size = (size_t)h->key_size;
	*ret_key = key;
	return 0;
}

/* The helper: one request, one call, one result. The exit status is 0 when the result was
 * sent, whatever it is. */
static int crypt_helper(void)
{
	_cleanup_free_ char *buf = NULL;
	struct bs_crypt_request req = {};
	struct bs_crypt_digest digest = {};
	struct helper_request h;
	struct helper_reply reply = { .type = HELPER_RESULT };
	/* A context of its own, only for logging; the parent's log function is the parent's. */
	struct bs_ctx c = {
		.n_ref = 1,
		.root_fd = -EBADF,
		.log_priority = LOG_DEBUG,
	};
	char *key = NULL;
	int fd = HELPER_FD, type, r;
	socklen_t l = sizeof(type);

	/* Before any secret arrives: no core dump, no ptrace by other processes of the user. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return EXIT_FAILURE;
	/* Run by hand, or by something else than libblkstack: nothing to talk to. */
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_SEQPACKET)
		return EXIT_FAILURE;
	/* The exec cleared it; nothing libcryptsetup might start gets the socket. */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return EXIT_FAILURE;

	buf = malloc(REQUEST_MAX);
	if (!buf)
		return EXIT_FAILURE;
	r = receive_request(fd, buf, &h, &req, &digest, &key);
	if (r < 0)
		return EXIT_FAILURE;
	if (h.flags & HELPER_LOG_DEBUG) {
		c.log_fn = log_to_parent;
		c.log_userdata = &fd;
	}
	/* The default for messages about no device in particular (crypt_init(),
	 * crypt_status()), which would go to stderr otherwise. */
	crypt_set_log_callback(NULL, log_from_cryptsetup, &c);

	if (h.op == HELPER_OPEN)
		reply.value = open_mapping(&c, &req);
	else if (h.op == HELPER_SUSPEND)
		reply.value = suspend_mapping(&c, req.name);
	else if (h.op == HELPER_RESUME)
		reply.value = resume_mapping(&c, &req);
	else
		reply.value = close_mapping(&c, req.name);
	bs_secret_free(key);
	if (reply.value > 0)
		reply.value = 0;

	return send_message(fd, &reply, sizeof(reply)) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Defined here, in the object that starts helpers: the unit tests link libblkstack statically
 * and refer to it weakly (tests.c), so a binary that can start a helper must contain it
 * without a reference of its own. */
_public_ int bs_helper_main(int argc, char *argv[])
{
	if (argc < 2 || !argv || !argv[1] || !streq(argv[1], HELPER_ARG))
		return -ENOEXEC;
	if (argc != 2)
		return EXIT_FAILURE;
	return crypt_helper();
}
