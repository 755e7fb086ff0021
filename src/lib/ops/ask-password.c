/* Asking for a passphrase: from --key-fd, through an askpass socket, or on the console. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "libblkstack-private.h"
#include "real.h"
#include "util.h"

/*
 * The longest passphrase taken, in bytes, without its newline: 8 KiB. cryptsetup itself
 * reads at most 512 characters from a terminal; a line longer than this is no passphrase
 * but something piped in by mistake, and is refused with -EMSGSIZE.
 */
#define PASSPHRASE_MAX ((size_t)8 * 1024)

/*
 * The askpass protocol, one connection per question:
 *
 *   blkstack connects to the AF_UNIX stream socket and writes the prompt as one line, ended
 *   by '\n' ("Passphrase for crypt:cryptroot (/dev/vda2): \n").
 *   The agent answers with one line: the passphrase, ended by '\n' or by closing the
 *   connection. Nothing after the first '\n' is read. The passphrase may be empty.
 *   Closing the connection without writing anything means the user gave up (-ECANCELED).
 *
 * Each connection asks one question; to ask again, blkstack connects again.
 */

static struct bs_ctx *ask_ctx(void *userdata)
{
	return ((struct bs_real_ops_data *)userdata)->ctx;
}

static void secret_freep(char **p)
{
	bs_secret_free(*p);
}

/* One byte from fd: 1 if read, 0 at end of input, or a negative errno. Waits on a
 * non-blocking descriptor rather than failing. */
static int read_byte(int fd, char *ret)
{
	for (;;) {
		ssize_t n = read(fd, ret, 1);

		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		return -errno;
	}
}

/*
 * Reads one line from fd into locked memory: up to '\n' (not kept) or the end of input. It
 * reads one byte at a time, so that nothing past the line is taken from a descriptor that
 * holds several passphrases, one a line. -ECANCELED at the end of input with nothing read;
 * -EMSGSIZE for a line longer than PASSPHRASE_MAX, whose rest is read and dropped so that
 * the next line is read whole.
 */
static int read_secret_line(struct bs_ctx *c, int fd, char **ret_secret, size_t *ret_size)
{
	_cleanup_(secret_freep) char *buf = NULL;
	char *secret;
	size_t n = 0;
	bool newline = false;
	int r;

	r = bs_secret_new(PASSPHRASE_MAX, &buf);
	if (r < 0)
		return r;
	if (r > 0)
		bs_log_warn(c, "cannot lock the memory of a passphrase (RLIMIT_MEMLOCK too low?); "
			       "it may be written to swap");

	for (;;) {
		char b;

		r = read_byte(fd, &b);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		if (b == '\n') {
			newline = true;
			break;
		}
		if (n == PASSPHRASE_MAX) {
			/* Drop the rest of the line; b is not kept anywhere. */
			while ((r = read_byte(fd, &b)) > 0 && b != '\n')
				;
			explicit_bzero(&b, sizeof(b));
			return r < 0 ? r : -EMSGSIZE;
		}
		buf[n++] = b;
		explicit_bzero(&b, sizeof(b));
	}
	if (n == 0 && !newline)
		return -ECANCELED;

	/* A copy of the right size, so that kept passphrases do not each pin 8 KiB. */
	r = bs_secret_new(n, &secret);
	if (r < 0)
		return r;
	memcpy(secret, buf, n);
	*ret_secret = secret;
	*ret_size = n;
	return 0;
}

static int write_all(int fd, const char *s, size_t size, int flags)
{
	while (size > 0) {
		ssize_t n = flags ? send(fd, s, size, flags) : write(fd, s, size);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += n;
		size -= (size_t)n;
	}
	return 0;
}

static int ask_key_fd(struct bs_ctx *c, int fd, char **ret_secret, size_t *ret_size)
{
	int r = read_secret_line(c, fd, ret_secret, ret_size);

	if (r == -ECANCELED)
		bs_log_debug(c, "end of input on key descriptor %d: no more passphrases", fd);
	return r;
}

static int ask_socket(struct bs_ctx *c, const char *path, const char *prompt, char **ret_secret,
		      size_t *ret_size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		bs_log_err(c,
			   "askpass socket path '%s' is longer than %zu bytes; use a shorter one",
			   path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		bs_log_err(c, "cannot connect to askpass socket '%s': %s; is the agent running?",
			   path, strerror(-r));
		return IN_SET(r, -ENOENT, -ECONNREFUSED, -ENOTSOCK) ? -ENXIO : r;
	}

	/* MSG_NOSIGNAL: an agent that went away is an error here, not a SIGPIPE. */
	r = write_all(fd, prompt, strlen(prompt), MSG_NOSIGNAL);
	if (r >= 0)
		r = write_all(fd, "\n", 1, MSG_NOSIGNAL);
	if (r < 0) {
		bs_log_err(c, "cannot send the prompt to askpass socket '%s': %s", path,
			   strerror(-r));
		return r;
	}
	r = read_secret_line(c, fd, ret_secret, ret_size);
	if (r == -ECANCELED)
		bs_log_debug(c, "askpass socket '%s' closed without an answer", path);
	return r;
}

/* Opens the terminal to ask on: the configured one, else /dev/tty, else /dev/console. */
static int open_console(struct bs_ctx *c, const char *console)
{
	const char *const fallbacks[] = { "/dev/tty", "/dev/console" };

	if (console) {
		int fd = open(console, O_RDWR | O_NOCTTY | O_CLOEXEC);

		if (fd < 0)
			bs_log_err(c, "cannot open console '%s': %s", console, strerror(errno));
		return fd < 0 ? -ENXIO : fd;
	}
	for (size_t i = 0; i < ELEMENTSOF(fallbacks); i++) {
		int fd = open(fallbacks[i], O_RDWR | O_NOCTTY | O_CLOEXEC);

		if (fd >= 0)
			return fd;
		bs_log_debug(c, "cannot open '%s': %s", fallbacks[i], strerror(errno));
	}
	return -ENXIO;
}

static int ask_console(struct bs_ctx *c, const char *console, const char *prompt, char **ret_secret,
		       size_t *ret_size)
{
	_cleanup_close_ int fd = -EBADF;
	struct termios old, quiet;
	int r;

	fd = open_console(c, console);
	if (fd < 0)
		return fd;
	/* Without termios there is no way to keep the passphrase from being echoed. */
	if (tcgetattr(fd, &old) < 0) {
		bs_log_debug(c, "'%s' is no terminal (%s); not asking there",
			     console ? console : "the console", strerror(errno));
		return -ENXIO;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	/* The newline that ends the line is still shown, so the next message starts on a
	 * line of its own; canonical mode stays on, so the line can be edited. */
	quiet.c_lflag |= ECHONL | ICANON;
	/* TCSAFLUSH: what was typed before the prompt was shown is not taken as the answer. */
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0)
		return -errno;

	r = write_all(fd, prompt, strlen(prompt), 0);
	if (r >= 0)
		r = read_secret_line(c, fd, ret_secret, ret_size);
	/* ^D with nothing typed: the newline was never echoed. */
	if (r == -ECANCELED)
		(void)write_all(fd, "\n", 1, 0);

	/* Echo comes back on every path, whatever happened above. */
	if (tcsetattr(fd, TCSANOW, &old) < 0 && r >= 0) {
		r = -errno;
		bs_secret_free(*ret_secret);
		*ret_secret = NULL;
	}
	return r;
}

int bs_real_ask_password(void *userdata, const char *prompt, char **ret_secret, size_t *ret_size)
{
	const struct bs_real_ops_data *d = userdata;
	struct bs_ctx *c;
	char *secret = NULL;
	size_t size = 0;
	int r;

	if (!d || !prompt || !ret_secret || !ret_size)
		return -EINVAL;
	c = ask_ctx(userdata);

	if (d->opts.key_fd >= 0)
		r = ask_key_fd(c, d->opts.key_fd, &secret, &size);
	else if (d->opts.askpass_socket)
		r = ask_socket(c, d->opts.askpass_socket, prompt, &secret, &size);
	else
		r = ask_console(c, d->opts.console, prompt, &secret, &size);
	if (r < 0)
		return r;

	*ret_secret = secret;
	*ret_size = size;
	return 0;
}
