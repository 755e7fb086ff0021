/* Unit tests of the crypt layer: secrets, asking for passphrases, crypttab requests, the driver. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <termios.h>
#include <unistd.h>

#include "blkstack.h"
#include "exec-harness.h"
#include "layers/crypt.h"
#include "ops.h"
#include "real.h"
#include "sources/config.h"
#include "tests.h"
#include "util.h"

/* ---- secrets ----------------------------------------------------------------------------- */

/* ASan intercepts mlock() and makes it do nothing, so locking can only be seen without it. */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifndef HAVE_ASAN
#define HAVE_ASAN 0
#endif

/* VmLck of this process in kB, from /proc/self/status; -1 if it cannot be read. */
static long locked_kb(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	return kb;
}

TEST(secret_is_zeroed_terminated_and_writable)
{
	char *p = NULL;
	int r;

	r = bs_secret_new(100, &p);
	ASSERT_OK(r);
	ASSERT_NOTNULL(p);
	for (size_t i = 0; i <= 100; i++)
		ASSERT_EQ(p[i], 0);
	memset(p, 'x', 100);
	ASSERT_EQ(strlen(p), 100u);
	/* Aligned for any type, like malloc(). */
	ASSERT_EQ((uintptr_t)p % _Alignof(max_align_t), 0u);
	bs_secret_free(p);
}

TEST(secret_empty_and_null)
{
	char *p = NULL;

	ASSERT_OK(bs_secret_new(0, &p));
	ASSERT_NOTNULL(p);
	ASSERT_EQ(p[0], 0);
	bs_secret_free(p);
	bs_secret_free(NULL);
	ASSERT_ERR(bs_secret_new(1, NULL), -EINVAL);
}

/* No core dump while a secret is held, and the setting as it was once none is. */
TEST(secret_makes_the_process_undumpable_while_held)
{
	char *a = NULL, *b = NULL;

	ASSERT_OK(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
	ASSERT_TRUE(bs_secret_new(8, &a) >= 0);
	ASSERT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	ASSERT_TRUE(bs_secret_new(8, &b) >= 0);
	bs_secret_free(a);
	/* One is still held. */
	ASSERT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	bs_secret_free(b);
	ASSERT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
}

TEST(secret_spanning_pages)
{
	size_t size = 3 * 4096 + 17;
	char *p = NULL;

	ASSERT_OK(bs_secret_new(size, &p));
	for (size_t i = 0; i <= size; i++)
		ASSERT_EQ(p[i], 0);
	memset(p, 0xa5, size);
	ASSERT_EQ(p[size], 0);
	bs_secret_free(p);
}

TEST(secret_too_large)
{
	char *p = NULL;

	ASSERT_ERR(bs_secret_new(SIZE_MAX, &p), -ENOMEM);
	ASSERT_ERR(bs_secret_new(SIZE_MAX - 4096, &p), -ENOMEM);
	ASSERT_NULL(p);
}

TEST(secret_is_locked_until_freed)
{
	long before = locked_kb(), during;
	char *p = NULL;
	int r;

	if (HAVE_ASAN)
		SKIP("ASan makes mlock() a no-op");
	if (before < 0)
		SKIP("no VmLck in /proc/self/status");
	r = bs_secret_new(64, &p);
	ASSERT_OK(r);
	if (r > 0) {
		/* The documented fallback: usable memory, reported as not locked. */
		p[0] = 'a';
		bs_secret_free(p);
		SKIP("mlock() is not allowed here (RLIMIT_MEMLOCK), so nothing to check");
	}
	during = locked_kb();
	ASSERT_TRUE(during >= before + 4);
	bs_secret_free(p);
	ASSERT_EQ(locked_kb(), before);
}

/* ---- asking for passphrases -------------------------------------------------------------- */

static struct bs_real_ops_data ops_data(int key_fd, const char *socket_path, const char *console)
{
	return (struct bs_real_ops_data){
		.ctx = NULL,
		.opts = { .key_fd = key_fd, .askpass_socket = socket_path, .console = console },
	};
}

/* Asks once and compares the answer with expected (NULL: expects error). */
static void assert_answer(struct bs_real_ops_data *d, const char *expected, int error)
{
	char *secret = NULL;
	size_t size = 0;
	int r;

	r = bs_real_ask_password(d, "Passphrase: ", &secret, &size);
	if (!expected) {
		ASSERT_ERR(r, error);
		ASSERT_NULL(secret);
		return;
	}
	ASSERT_OK(r);
	ASSERT_EQ(size, strlen(expected));
	ASSERT_TRUE(memcmp(secret, expected, size) == 0);
	ASSERT_EQ(secret[size], 0);
	bs_secret_free(secret);
}

static void write_string(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		ASSERT_TRUE(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

TEST(ask_key_fd_one_a_line)
{
	struct bs_real_ops_data d;
	int p[2];

	ASSERT_OK(pipe2(p, O_CLOEXEC));
	write_string(p[1], "first one\nsecond\n\nlast without newline");
	ASSERT_OK(close(p[1]));

	d = ops_data(p[0], NULL, NULL);
	assert_answer(&d, "first one", 0);
	/* Nothing past a line is taken: the next one is read whole. */
	assert_answer(&d, "second", 0);
	assert_answer(&d, "", 0);
	assert_answer(&d, "last without newline", 0);
	assert_answer(&d, NULL, -ECANCELED);
	assert_answer(&d, NULL, -ECANCELED);
	ASSERT_OK(close(p[0]));
}

TEST(ask_key_fd_empty_input)
{
	struct bs_real_ops_data d;
	int p[2];

	ASSERT_OK(pipe2(p, O_CLOEXEC));
	ASSERT_OK(close(p[1]));
	d = ops_data(p[0], NULL, NULL);
	assert_answer(&d, NULL, -ECANCELED);
	ASSERT_OK(close(p[0]));
}

TEST(ask_key_fd_nonblocking)
{
	struct bs_real_ops_data d;
	int p[2];

	ASSERT_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
	write_string(p[1], "abc\n");
	d = ops_data(p[0], NULL, NULL);
	assert_answer(&d, "abc", 0);
	ASSERT_OK(close(p[1]));
	assert_answer(&d, NULL, -ECANCELED);
	ASSERT_OK(close(p[0]));
}

TEST(ask_key_fd_line_limit)
{
	/* 8 KiB is taken; one byte more is not, and the rest of that line is dropped. */
	size_t max = 8192;
	_cleanup_free_ char *text = malloc(2 * (max + 2) + 32), *exact = malloc(max + 1);
	struct bs_real_ops_data d;
	int p[2];

	ASSERT_NOTNULL(text);
	ASSERT_NOTNULL(exact);
	memset(exact, 'k', max);
	exact[max] = '\0';
	strcpy(text, exact);
	strcat(text, "\n");
	strcat(text, exact);
	strcat(text, "kk\nafter\n");

	ASSERT_OK(pipe2(p, O_CLOEXEC));
	/* Fits in a pipe's buffer (64 KiB), so no writer thread is needed. */
	write_string(p[1], text);
	ASSERT_OK(close(p[1]));

	d = ops_data(p[0], NULL, NULL);
	assert_answer(&d, exact, 0);
	assert_answer(&d, NULL, -EMSGSIZE);
	assert_answer(&d, "after", 0);
	assert_answer(&d, NULL, -ECANCELED);
	ASSERT_OK(close(p[0]));
}

/* An askpass agent on a listening socket: answers the i-th connection with answers[i]
 * (NULL: closes it without a word) and keeps the prompts it was sent. */
struct agent {
	int listen_fd;
	const char *const *answers;
	size_t n_answers;
	char prompts[4][256];
	size_t n_prompts;
};

static void *agent_run(void *userdata)
{
	struct agent *a = userdata;

	for (size_t i = 0; i < a->n_answers && i < ELEMENTSOF(a->prompts); i++) {
		char *buf = a->prompts[i];
		size_t n = 0;
		int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			break;
		/* The prompt line, up to its newline. */
		while (n + 1 < sizeof(a->prompts[i])) {
			ssize_t r = read(fd, buf + n, 1);

			if (r <= 0 || buf[n] == '\n')
				break;
			n++;
		}
		buf[n] = '\0';
		a->n_prompts++;
		if (a->answers[i])
			(void)!write(fd, a->answers[i], strlen(a->answers[i]));
		close(fd);
	}
	return NULL;
}

static int agent_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ASSERT_TRUE(fd >= 0);
	ASSERT_TRUE(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	ASSERT_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_OK(listen(fd, 4));
	return fd;
}

TEST(ask_socket)
{
	/* A newline ends the answer and what follows it is not read; the end of the
	 * connection ends one too; no answer at all is the user giving up. */
	const char *const answers[] = { "secret one\nignored\n", "two", "", NULL };
	_cleanup_free_ char *path = NULL;
	struct agent a = { .answers = answers, .n_answers = ELEMENTSOF(answers) };
	struct bs_real_ops_data d;
	pthread_t t;

	ASSERT_TRUE(asprintf(&path, "%s/askpass", test_tmpdir()) > 0);
	a.listen_fd = agent_listen(path);
	ASSERT_OK(-pthread_create(&t, NULL, agent_run, &a));

	d = ops_data(-1, path, "/nonexistent/console");
	assert_answer(&d, "secret one", 0);
	assert_answer(&d, "two", 0);
	/* An empty answer (the connection closed before anything came) is giving up. */
	assert_answer(&d, NULL, -ECANCELED);
	assert_answer(&d, NULL, -ECANCELED);
	ASSERT_OK(-pthread_join(t, NULL));
	close(a.listen_fd);

	ASSERT_EQ(a.n_prompts, 4u);
	for (size_t i = 0; i < a.n_prompts; i++)
		ASSERT_STREQ(a.prompts[i], "Passphrase: ");
}

TEST(ask_socket_empty_line_is_empty_passphrase)
{
	const char *const answers[] = { "\n", NULL };
	_cleanup_free_ char *path = NULL;
	struct agent a = { .answers = answers, .n_answers = ELEMENTSOF(answers) };
	struct bs_real_ops_data d;
	pthread_t t;

	ASSERT_TRUE(asprintf(&path, "%s/askpass", test_tmpdir()) > 0);
	a.listen_fd = agent_listen(path);
	ASSERT_OK(-pthread_create(&t, NULL, agent_run, &a));
	d = ops_data(-1, path, NULL);
	assert_answer(&d, "", 0);
	assert_answer(&d, NULL, -ECANCELED);
	ASSERT_OK(-pthread_join(t, NULL));
	close(a.listen_fd);
}

TEST(ask_nobody)
{
	_cleanup_free_ char *path = NULL, *file = NULL;
	struct bs_real_ops_data d;

	ASSERT_TRUE(asprintf(&path, "%s/no-agent", test_scratch()) > 0);
	d = ops_data(-1, path, NULL);
	assert_answer(&d, NULL, -ENXIO);

	/* A console that is missing, or no terminal: echo cannot be turned off there. */
	d = ops_data(-1, NULL, "/nonexistent/console");
	assert_answer(&d, NULL, -ENXIO);
	d = ops_data(-1, NULL, "/dev/null");
	assert_answer(&d, NULL, -ENXIO);
	test_write_file(test_scratch(), "plain-file", "not a terminal\n");
	ASSERT_TRUE(asprintf(&file, "%s/plain-file", test_scratch()) > 0);
	d = ops_data(-1, NULL, file);
	assert_answer(&d, NULL, -ENXIO);
}

/* The user at a pseudo-terminal: waits for the prompt, types the answer, and keeps all the
 * terminal showed. */
struct typist {
	int master;
	const char *answer; /* NULL: ^D */
	char shown[1024];
	size_t n_shown;
};

static void *typist_run(void *userdata)
{
	struct typist *t = userdata;

	while (t->n_shown + 1 < sizeof(t->shown)) {
		ssize_t r = read(t->master, t->shown + t->n_shown, 1);

		if (r <= 0)
			return NULL;
		t->n_shown++;
		t->shown[t->n_shown] = '\0';
		if (strstr(t->shown, "Passphrase: "))
			break;
	}
	if (t->answer)
		(void)!write(t->master, t->answer, strlen(t->answer));
	else
		(void)!write(t->master, "\x04", 1);
	return NULL;
}

/* Reads what else the terminal showed, without waiting for more. */
static void drain(struct typist *t)
{
	struct pollfd p = { .fd = t->master, .events = POLLIN };

	while (t->n_shown + 1 < sizeof(t->shown) && poll(&p, 1, 100) > 0) {
		ssize_t r =
			read(t->master, t->shown + t->n_shown, sizeof(t->shown) - 1 - t->n_shown);

		if (r <= 0)
			break;
		t->n_shown += (size_t)r;
		t->shown[t->n_shown] = '\0';
	}
}

static void ask_on_pty(const char *answer, const char *expected, int error, char *shown,
		       size_t shown_size)
{
	struct typist t = { .answer = answer };
	struct bs_real_ops_data d;
	struct termios tio;
	char slave[128];
	int slave_fd;
	pthread_t th;

	t.master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t.master < 0)
		SKIP("no pseudo-terminals here: %s", strerror(errno));
	ASSERT_OK(grantpt(t.master));
	ASSERT_OK(unlockpt(t.master));
	ASSERT_OK(-ptsname_r(t.master, slave, sizeof(slave)));
	/* Held open so that the terminal keeps its settings between opens. */
	slave_fd = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_TRUE(slave_fd >= 0);
	ASSERT_OK(tcgetattr(slave_fd, &tio));
	ASSERT_TRUE(tio.c_lflag & ECHO);

	ASSERT_OK(-pthread_create(&th, NULL, typist_run, &t));
	d = ops_data(-1, NULL, slave);
	assert_answer(&d, expected, error);
	ASSERT_OK(-pthread_join(th, NULL));
	drain(&t);

	/* Echo is back on. */
	ASSERT_OK(tcgetattr(slave_fd, &tio));
	ASSERT_TRUE(tio.c_lflag & ECHO);
	close(slave_fd);
	close(t.master);
	snprintf(shown, shown_size, "%s", t.shown);
}

TEST(ask_console_echoes_nothing)
{
	char shown[1024];

	ask_on_pty("hunter2\n", "hunter2", 0, shown, sizeof(shown));
	ASSERT_TRUE(startswith(shown, "Passphrase: "));
	ASSERT_NULL(strstr(shown, "hunter2"));
}

TEST(ask_console_end_of_input)
{
	char shown[1024];

	ask_on_pty(NULL, NULL, -ECANCELED, shown, sizeof(shown));
	ASSERT_TRUE(startswith(shown, "Passphrase: "));
}

/* ---- crypttab entries and requests ------------------------------------------------------- */

/* The entries of crypttab text, which must parse without problems, and the typed configuration
 * the crypt driver gets of each. */
struct entries {
	struct bs_crypttab *t;
	struct bs_crypt_config *c[16];
};

static void entries_done(struct entries *e)
{
	for (size_t i = 0; i < ELEMENTSOF(e->c); i++)
		bs_crypt_config_free(e->c[i]);
	bs_crypttab_free(e->t);
}

static struct entries parse(const char *text)
{
	struct bs_problem_list problems = {};
	struct entries e = {};

	ASSERT_OK(bs_crypttab_parse("crypttab", text, strlen(text), &e.t, &problems));
	if (problems.n_problems > 0)
		test_fail(TEST_FILE, __LINE__, "unexpected problem: %s", problems.problems[0].text);
	bs_problem_list_done(&problems);
	ASSERT_TRUE(e.t->n_entries <= ELEMENTSOF(e.c));
	for (size_t i = 0; i < e.t->n_entries; i++)
		ASSERT_OK(bs_crypt_config_from_entry(&e.t->entries[i], &e.c[i]));
	return e;
}

static bool flags_are(const struct bs_crypt_request *r, bool ro, bool discard, bool same_cpu,
		      bool submit, bool no_read_wq, bool no_write_wq)
{
	return r->read_only == ro && r->discard == discard && r->same_cpu_crypt == same_cpu &&
	       r->submit_from_crypt_cpus == submit && r->no_read_workqueue == no_read_wq &&
	       r->no_write_workqueue == no_write_wq;
}

TEST(request_luks_with_key_file)
{
	_cleanup_(entries_done) struct entries t =
		parse("root UUID=0b1c5a3e-0000-4000-8000-000000000001 /etc/keys/root.key "
		      "luks,keyfile-offset=1024,keyfile-size=64,keyslot=2,discard,tries=5\n");
	struct bs_crypt_request r;

	ASSERT_EQ(t.t->n_entries, 1u);
	ASSERT_NULL(t.c[0]->unsupported);
	ASSERT_OK(bs_crypt_request_from_config(t.c[0], "root", "/dev/vdb", NULL,
					       "/sysroot/etc/keys/root.key", false, &r));
	ASSERT_STREQ(r.name, "root");
	ASSERT_STREQ(r.device, "/dev/vdb");
	ASSERT_STREQ(r.type, "luks");
	ASSERT_NULL(r.header);
	ASSERT_STREQ(r.key_file, "/sysroot/etc/keys/root.key");
	ASSERT_EQ(r.key_file_offset, 1024u);
	ASSERT_EQ(r.key_file_size, 64u);
	ASSERT_NULL(r.key);
	ASSERT_EQ(r.key_size, 0u);
	ASSERT_EQ(r.keyslot, 2);
	/* Cipher, size and hash are a plain mapping's; LUKS has them in its header. */
	ASSERT_NULL(r.cipher);
	ASSERT_EQ(r.key_bits, 0u);
	ASSERT_NULL(r.hash);
	ASSERT_EQ(r.sector_size, 0u);
	ASSERT_TRUE(flags_are(&r, false, true, false, false, false, false));
	ASSERT_EQ(t.c[0]->tries, 5u);
}

TEST(request_luks_passphrase_with_header)
{
	_cleanup_(entries_done) struct entries t =
		parse("data /dev/vdc none luks,header=/boot/data.hdr,readonly,no-read-workqueue,"
		      "no-write-workqueue,tries=0\n");
	struct bs_crypt_request r;

	ASSERT_OK(bs_crypt_request_from_config(t.c[0], "data", "/dev/vdc", "/sysroot/boot/data.hdr",
					       NULL, false, &r));
	ASSERT_STREQ(r.type, "luks");
	ASSERT_STREQ(r.header, "/sysroot/boot/data.hdr");
	ASSERT_NULL(r.key_file);
	ASSERT_EQ(r.key_file_size, 0u);
	ASSERT_EQ(r.keyslot, -1);
	ASSERT_TRUE(flags_are(&r, true, false, false, false, true, true));
	ASSERT_EQ(t.c[0]->tries, 0u);
}

TEST(request_plain_passphrase)
{
	_cleanup_(entries_done) struct entries t =
		parse("scratch /dev/vdd none plain,cipher=aes-xts-plain64,size=512,hash=sha512,"
		      "offset=2048,skip=16,sector-size=4096,same-cpu-crypt,"
		      "submit-from-crypt-cpus,keyslot=3\n");
	struct bs_crypt_request r;

	ASSERT_OK(
		bs_crypt_request_from_config(t.c[0], "scratch", "/dev/vdd", NULL, NULL, false, &r));
	ASSERT_STREQ(r.type, "plain");
	ASSERT_STREQ(r.cipher, "aes-xts-plain64");
	ASSERT_EQ(r.key_bits, 512u);
	ASSERT_STREQ(r.hash, "sha512");
	ASSERT_EQ(r.offset_sectors, 2048u);
	ASSERT_EQ(r.skip_sectors, 16u);
	ASSERT_EQ(r.sector_size, 4096u);
	/* Plain has no key slots. */
	ASSERT_EQ(r.keyslot, -1);
	ASSERT_TRUE(flags_are(&r, false, false, true, true, false, false));
	ASSERT_EQ(t.c[0]->tries, 3u);
}

TEST(request_plain_key_file_is_not_hashed)
{
	_cleanup_(entries_done) struct entries t =
		parse("raw /dev/vde /etc/raw.key plain,cipher=aes-xts-plain64,size=512,"
		      "hash=sha256,keyfile-offset=16,keyfile-size=99\n");
	struct bs_crypt_request r;

	ASSERT_OK(bs_crypt_request_from_config(t.c[0], "raw", "/dev/vde", NULL, "/etc/raw.key",
					       false, &r));
	ASSERT_STREQ(r.type, "plain");
	ASSERT_STREQ(r.key_file, "/etc/raw.key");
	/* crypttab(5): the hash is ignored for a plain mapping with a key file. */
	ASSERT_NULL(r.hash);
	ASSERT_EQ(r.key_bits, 512u);
	ASSERT_EQ(r.key_file_offset, 16u);
	/* 0: as many bytes as the key has, whatever keyfile-size= says (ops-crypt.c). */
	ASSERT_EQ(r.key_file_size, 0u);
}

TEST(request_plain_defaults)
{
	_cleanup_(entries_done) struct entries t = parse("old /dev/vdf none plain\n");
	struct bs_crypt_request r;

	ASSERT_OK(bs_crypt_request_from_config(t.c[0], "old", "/dev/vdf", NULL, NULL, false, &r));
	ASSERT_STREQ(r.cipher, "aes-cbc-essiv:sha256");
	ASSERT_EQ(r.key_bits, 256u);
	ASSERT_STREQ(r.hash, "ripemd160");
	ASSERT_EQ(r.offset_sectors, 0u);
	ASSERT_EQ(r.sector_size, 0u);
}

TEST(request_without_type)
{
	/* No type: LUKS first; plain when the device turns out to have no LUKS header. */
	_cleanup_(entries_done) struct entries t =
		parse("either /dev/vdg /etc/k cipher=twofish-xts-plain64,discard\n");
	struct bs_crypt_request r;

	ASSERT_OK(bs_crypt_request_from_config(t.c[0], "either", "/dev/vdg", NULL, "/etc/k", false,
					       &r));
	ASSERT_STREQ(r.type, "luks");
	ASSERT_NULL(r.cipher);
	ASSERT_TRUE(r.discard);

	ASSERT_OK(bs_crypt_request_from_config(t.c[0], "either", "/dev/vdg", NULL, "/etc/k", true,
					       &r));
	ASSERT_STREQ(r.type, "plain");
	ASSERT_STREQ(r.cipher, "twofish-xts-plain64");
	ASSERT_EQ(r.key_bits, 256u);
	ASSERT_NULL(r.hash);
	ASSERT_STREQ(r.key_file, "/etc/k");
	ASSERT_TRUE(r.discard);
}

TEST(request_without_entry)
{
	/* Known from the recorded graph only: LUKS, with a passphrase. */
	struct bs_crypt_request r;

	ASSERT_OK(bs_crypt_request_from_config(NULL, "rec", "/dev/vdh", NULL, NULL, false, &r));
	ASSERT_STREQ(r.type, "luks");
	ASSERT_STREQ(r.name, "rec");
	ASSERT_STREQ(r.device, "/dev/vdh");
	ASSERT_NULL(r.key_file);
	ASSERT_EQ(r.keyslot, -1);
	ASSERT_TRUE(flags_are(&r, false, false, false, false, false, false));
	ASSERT_EQ(BS_CRYPT_DEFAULT_TRIES, 3u);

	ASSERT_ERR(bs_crypt_request_from_config(NULL, NULL, "/dev/vdh", NULL, NULL, false, &r),
		   -EINVAL);
	ASSERT_ERR(bs_crypt_request_from_config(NULL, "rec", NULL, NULL, NULL, false, &r), -EINVAL);
}

TEST(request_unsupported)
{
	_cleanup_(entries_done) struct entries t =
		parse("swap /dev/vd1 /dev/urandom swap,cipher=aes-xts-plain64,size=256\n"
		      "tmp /dev/vd2 /dev/urandom tmp\n"
		      "rnd /dev/vd3 /dev/hw_random plain\n"
		      "script /dev/vd4 arg keyscript=/lib/cryptsetup/scripts/passdev\n"
		      "bl /dev/vd5 none bitlk\n"
		      "tc /dev/vd6 none tcrypt\n"
		      "vc /dev/vd7 none veracrypt\n"
		      "usbkey /dev/vd8 /key.bin:UUID=1234-ABCD luks\n"
		      "hdr /dev/vd9 none plain,header=/boot/h\n"
		      "fine /dev/vd10 /etc/keys/a:b luks\n");
	struct bs_crypt_request r;

	ASSERT_EQ(t.t->n_entries, 10u);
	for (size_t i = 0; i < 9; i++) {
		const char *why = t.c[i]->unsupported;

		if (!why)
			test_fail(TEST_FILE, __LINE__, "'%s' was taken", t.t->entries[i].name);
		ASSERT_ERR(bs_crypt_request_from_config(t.c[i], t.t->entries[i].name, "/dev/x",
							NULL, NULL, false, &r),
			   -EOPNOTSUPP);
	}
	/* A colon in a key file's path is no device unless a device follows it. */
	ASSERT_NULL(t.c[9]->unsupported);
	ASSERT_TRUE(strstr(t.c[0]->unsupported, "random key") != NULL);
	ASSERT_TRUE(strstr(t.c[3]->unsupported, "keyscript") != NULL);
}

/* ---- the driver, run by the executor ----------------------------------------------------- */

/*
 * A fake ops table that writes each crypt call with every field of its request, so that a
 * test sees exactly what reached libcryptsetup's side. LUKS mappings open with the
 * passphrase "good" or the key file good_key_file; devices in no_luks have no LUKS header
 * (-EINVAL), as libcryptsetup says; plain mappings open with anything, as dm-crypt does.
 */
struct fake {
	pthread_mutex_t lock;
	FILE *f;
	char *transcript;
	size_t size;
	const char *answers[8];
	size_t n_answers, next_answer;
	const char *good_key_file;
	const char *no_luks;
	int close_error;
};

_printf_(2, 3) static void fake_record(struct fake *k, const char *format, ...)
{
	va_list ap;

	pthread_mutex_lock(&k->lock);
	va_start(ap, format);
	vfprintf(k->f, format, ap);
	va_end(ap);
	fputc('\n', k->f);
	pthread_mutex_unlock(&k->lock);
}

static int fake_crypt_open(void *u, const struct bs_crypt_request *q)
{
	struct fake *k = u;
	bool plain = streq(q->type, "plain");
	_cleanup_free_ char *key = NULL;

	if (q->key_file)
		ASSERT_TRUE(asprintf(&key, "keyfile=%s@%llu+%zu", q->key_file,
				     (unsigned long long)q->key_file_offset, q->key_file_size) > 0);
	else
		ASSERT_TRUE(asprintf(&key, "passphrase=%.*s", (int)q->key_size, q->key) > 0);
	fake_record(k,
		    "crypt-open %s %s %s%s%s %s slot=%d cipher=%s bits=%u hash=%s off=%llu "
		    "skip=%llu ss=%u%s%s%s%s%s%s",
		    q->name, q->device, q->type, q->header ? " header=" : "", strempty(q->header),
		    key, q->keyslot, strna(q->cipher), q->key_bits, strna(q->hash),
		    (unsigned long long)q->offset_sectors, (unsigned long long)q->skip_sectors,
		    q->sector_size, q->read_only ? " ro" : "", q->discard ? " discard" : "",
		    q->same_cpu_crypt ? " same-cpu" : "",
		    q->submit_from_crypt_cpus ? " submit" : "",
		    q->no_read_workqueue ? " no-rwq" : "", q->no_write_workqueue ? " no-wwq" : "");
	if (plain)
		return 0;
	if (k->no_luks && streq(q->device, k->no_luks))
		return -EINVAL;
	if (q->key_file)
		return k->good_key_file && streq(q->key_file, k->good_key_file) ? 0 : -EPERM;
	return q->key_size == 4 && memcmp(q->key, "good", 4) == 0 ? 0 : -EPERM;
}

static int fake_crypt_close(void *u, const char *name)
{
	struct fake *k = u;

	fake_record(k, "crypt-close %s", name);
	return k->close_error;
}

static int fake_ask_password(void *u, const char *prompt, char **ret_secret, size_t *ret_size)
{
	struct fake *k = u;
	const char *answer;
	int r;

	fake_record(k, "ask %s", prompt);
	pthread_mutex_lock(&k->lock);
	answer = k->next_answer < k->n_answers ? k->answers[k->next_answer++] : NULL;
	pthread_mutex_unlock(&k->lock);
	if (!answer)
		return -ECANCELED;
	r = bs_secret_new(strlen(answer), ret_secret);
	if (r < 0)
		return r;
	memcpy(*ret_secret, answer, strlen(answer));
	*ret_size = strlen(answer);
	return 0;
}

static int fake_spawn(void *u, const char *const argv[], char **ret_stdout)
{
	fake_record(u, "spawn %s", argv[0]);
	if (ret_stdout)
		*ret_stdout = strdup("");
	return 0;
}

static int fake_mount(void *u, const char *source, const char *target, const char *fstype,
		      unsigned long flags, const char *data)
{
	(void)flags;
	(void)data;
	fake_record(u, "mount %s %s %s", source, target, strna(fstype));
	return 0;
}

static int fake_umount(void *u, const char *target, int flags)
{
	(void)flags;
	fake_record(u, "umount %s", target);
	return 0;
}

static int fake_wait_device(void *u, const struct bs_device_match *m, uint64_t timeout_usec,
			    char **ret_name)
{
	(void)timeout_usec;
	fake_record(u, "wait-device %s", m->id);
	*ret_name = strdup(m->name ? m->name : "appeared");
	return *ret_name ? 0 : -ENOMEM;
}

static int fake_watch_uevents(void *u)
{
	(void)u;
	return 0;
}

static int fake_wait_uevent(void *u, uint64_t timeout_usec)
{
	(void)timeout_usec;
	fake_record(u, "wait-uevent");
	return -ETIMEDOUT;
}

static int fake_unexpected(void *u, const char *what)
{
	fake_record(u, "unexpected %s", what);
	return -EOPNOTSUPP;
}

static int fake_swapon(void *u, const char *path, int flags)
{
	(void)path;
	(void)flags;
	return fake_unexpected(u, "swapon");
}

static int fake_swapoff(void *u, const char *path)
{
	(void)path;
	return fake_unexpected(u, "swapoff");
}

static int fake_loop_attach(void *u, const char *file, const struct bs_loop_options *o,
			    char **ret_device)
{
	(void)file;
	(void)o;
	(void)ret_device;
	return fake_unexpected(u, "loop-attach");
}

static int fake_loop_detach(void *u, const char *device)
{
	(void)device;
	return fake_unexpected(u, "loop-detach");
}

static int fake_btrfs_scan(void *u, const char *device, bool *ret_complete)
{
	fake_record(u, "btrfs-scan %s", device);
	*ret_complete = true;
	return 0;
}

static int fake_reboot(void *u, int how)
{
	(void)how;
	return fake_unexpected(u, "reboot");
}

static int fake_device_busy(void *u, const char *path)
{
	(void)path;
	return fake_unexpected(u, "device-busy");
}

static int fake_probe_fstype(void *u, const char *path, char **ret_type)
{
	(void)path;
	*ret_type = NULL;
	return fake_unexpected(u, "probe-fstype");
}

static const struct bs_ops fake_ops = {
	.spawn = fake_spawn,
	.mount = fake_mount,
	.umount = fake_umount,
	.swapon = fake_swapon,
	.swapoff = fake_swapoff,
	.loop_attach = fake_loop_attach,
	.loop_detach = fake_loop_detach,
	.btrfs_scan = fake_btrfs_scan,
	.crypt_open = fake_crypt_open,
	.crypt_close = fake_crypt_close,
	.ask_password = fake_ask_password,
	.wait_device = fake_wait_device,
	.watch_uevents = fake_watch_uevents,
	.wait_uevent = fake_wait_uevent,
	.device_busy = fake_device_busy,
	.probe_fstype = fake_probe_fstype,
	.reboot = fake_reboot,
};

static void fake_init(struct fake *k)
{
	*k = (struct fake){};
	pthread_mutex_init(&k->lock, NULL);
	k->f = open_memstream(&k->transcript, &k->size);
	ASSERT_NOTNULL(k->f);
}

static void fake_done(struct fake *k)
{
	fclose(k->f);
	free(k->transcript);
	pthread_mutex_destroy(&k->lock);
}

/* Runs the executor with the fake ops, one step at a time; TEST_CRYPT_VERBOSE shows what the
 * ops saw, what the library logged and the events. */
static void run_fake(struct exec_run *run, struct fake *k, const char *root, enum bs_plan_op op,
		     const char *const *targets)
{
	EXEC_RUN(run, .sysroot = root, .op = op, .targets = targets, .ops = &fake_ops,
		 .ops_data = k);
	fflush(k->f);
	if (getenv("TEST_CRYPT_VERBOSE"))
		fprintf(stderr, "--- ops\n%s--- log\n%s--- events\n%s", k->transcript, run->log,
			run->events);
}

/* btrfs-2crypt: crypt1 on vda2 and crypt2 on vdb1, both LUKS, with crypttab replaced by
 * text (NAME and SOURCE fields given for each). Its root filesystem lies on both mappings,
 * so a key file there would be a cycle: key files here are devices (vda1, vdb), which
 * crypttab allows as well. */
static char *two_mappings(const char *crypttab)
{
	char *root = test_fixture_copy("btrfs-2crypt-disks");

	test_write_file(root, "etc/crypttab", crypttab);
	return root;
}

static const char *const both[] = { "crypt:crypt1", "crypt:crypt2", NULL };

#define CRYPT1 "crypt1 UUID=b3ef7aec-6d85-4de1-9981-2c22190ef316"
#define CRYPT2 "crypt2 UUID=dcc9fae9-f5e9-495c-a2ee-9456a7132ae6"

TEST(driver_passphrase_is_shared_and_wrong_ones_counted)
{
	_cleanup_free_ char *root = two_mappings(CRYPT1 " none luks\n" CRYPT2 " - luks,discard\n");
	struct fake fake;
	struct exec_run run;

	fake_init(&fake);
	fake.answers[fake.n_answers++] = "bad";
	fake.answers[fake.n_answers++] = "good";
	run_fake(&run, &fake, root, BS_PLAN_UP, both);
	ASSERT_OK(run.r);
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:crypt1"), (int)BS_EXEC_DONE);
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:crypt2"), (int)BS_EXEC_DONE);
	/* Asked twice in all: crypt2 tries what crypt1 was given ("bad" first, uncounted). */
	ASSERT_EQ(count_substrings(fake.transcript, "ask "), 2u);
	ASSERT_CONTAINS(fake.transcript, "ask Passphrase for crypt:crypt1 (/dev/vda2): \n");
	ASSERT_CONTAINS(fake.transcript,
			"crypt-open crypt1 /dev/vda2 luks passphrase=bad slot=-1 cipher=- bits=0 "
			"hash=- off=0 skip=0 ss=0\n");
	ASSERT_CONTAINS(fake.transcript,
			"crypt-open crypt2 /dev/vdb1 luks passphrase=bad slot=-1 cipher=- bits=0 "
			"hash=- off=0 skip=0 ss=0 discard\n");
	ASSERT_CONTAINS(fake.transcript, "crypt-open crypt2 /dev/vdb1 luks passphrase=good");
	ASSERT_EQ(count_substrings(run.log, "wrong passphrase"), 1u);
	ASSERT_CONTAINS(run.log, "crypt:crypt1: wrong passphrase (try 1 of 3)");
	exec_run_done(&run);
	fake_done(&fake);
}

TEST(driver_tries_from_crypttab)
{
	_cleanup_free_ char *root = two_mappings(CRYPT1 " none luks,tries=2\n" CRYPT2 " none\n");
	const char *const one[] = { "crypt:crypt1", NULL };
	struct fake fake;
	struct exec_run run;
	const char *m;

	fake_init(&fake);
	fake.answers[fake.n_answers++] = "bad-1";
	fake.answers[fake.n_answers++] = "bad-2";
	fake.answers[fake.n_answers++] = "good";
	run_fake(&run, &fake, root, BS_PLAN_UP, one);
	ASSERT_ERR(run.r, -EPERM);
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:crypt1"), (int)BS_EXEC_FAILED);
	m = exec_run_message(&run, "crypt-open", "crypt:crypt1");
	ASSERT_STREQ(m, "no valid passphrase after 2 tries");
	ASSERT_EQ(count_substrings(fake.transcript, "ask "), 2u);
	ASSERT_CONTAINS(run.log, "crypt:crypt1: wrong passphrase (try 1 of 2)");
	exec_run_done(&run);
	fake_done(&fake);
}

TEST(driver_end_of_input)
{
	_cleanup_free_ char *root = two_mappings(CRYPT1 " none luks\n");
	const char *const one[] = { "crypt:crypt1", NULL };
	struct fake fake;
	struct exec_run run;
	const char *m;

	fake_init(&fake);
	fake.answers[fake.n_answers++] = "bad";
	run_fake(&run, &fake, root, BS_PLAN_UP, one);
	ASSERT_ERR(run.r, -ECANCELED);
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:crypt1"), (int)BS_EXEC_FAILED);
	m = exec_run_message(&run, "crypt-open", "crypt:crypt1");
	ASSERT_STREQ(m, "no more passphrases after 1 wrong one");
	exec_run_done(&run);
	fake_done(&fake);
}

TEST(driver_key_file_wrong_fails_at_once)
{
	_cleanup_free_ char *root = two_mappings(
		CRYPT1 " /dev/vda1 luks,keyfile-offset=512,keyfile-size=32,keyslot=1,readonly,"
		       "same-cpu-crypt,submit-from-crypt-cpus,no-read-workqueue,"
		       "no-write-workqueue\n" CRYPT2 " /dev/vdb luks\n");
	struct fake fake;
	struct exec_run run;
	const char *m;

	fake_init(&fake);
	fake.good_key_file = "/dev/vdb";
	run_fake(&run, &fake, root, BS_PLAN_UP, both);
	ASSERT_ERR(run.r, -EPERM);
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:crypt1"), (int)BS_EXEC_FAILED);
	m = exec_run_message(&run, "crypt-open", "crypt:crypt1");
	ASSERT_CONTAINS(m, "key file '/dev/vda1' opens no key slot of '/dev/vda2'");
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:crypt2"), (int)BS_EXEC_DONE);
	ASSERT_EQ(count_substrings(fake.transcript, "crypt-open crypt1"), 1u);
	ASSERT_EQ(count_substrings(fake.transcript, "ask "), 0u);
	ASSERT_CONTAINS(fake.transcript,
			"crypt-open crypt1 /dev/vda2 luks keyfile=/dev/vda1@512+32 slot=1 "
			"cipher=- bits=0 hash=- off=0 skip=0 ss=0 ro same-cpu submit no-rwq "
			"no-wwq\n");
	ASSERT_CONTAINS(fake.transcript,
			"crypt-open crypt2 /dev/vdb1 luks keyfile=/dev/vdb@0+0 slot=-1");
	exec_run_done(&run);
	fake_done(&fake);
}

TEST(driver_plain)
{
	_cleanup_free_ char *root = two_mappings(
		CRYPT1 " none plain,cipher=aes-xts-plain64,size=512,hash=sha512,offset=2048,"
		       "skip=16,sector-size=4096\n" CRYPT2 " /dev/vdb plain\n");
	struct fake fake;
	struct exec_run run;

	fake_init(&fake);
	fake.answers[fake.n_answers++] = "anything";
	run_fake(&run, &fake, root, BS_PLAN_UP, both);
	ASSERT_OK(run.r);
	ASSERT_CONTAINS(fake.transcript,
			"crypt-open crypt1 /dev/vda2 plain passphrase=anything slot=-1 "
			"cipher=aes-xts-plain64 bits=512 hash=sha512 off=2048 skip=16 ss=4096\n");
	/* A key file is the key: no hash; its size left to the key's. */
	ASSERT_CONTAINS(fake.transcript,
			"crypt-open crypt2 /dev/vdb1 plain keyfile=/dev/vdb@0+0 slot=-1 "
			"cipher=aes-cbc-essiv:sha256 bits=256 hash=- off=0 skip=0 ss=0\n");
	/* crypt2 leaves cipher and size to defaults that changed: said loudly. */
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:crypt2"), (int)BS_EXEC_DONE);
	ASSERT_CONTAINS(run.warnings, "crypt:crypt2: crypttab line 2 names no 'cipher=', "
				      "'size=' for this plain mapping");
	ASSERT_EQ(count_substrings(run.warnings, "crypt:crypt1"), 0u);
	exec_run_done(&run);
	fake_done(&fake);
}

TEST(driver_no_type_falls_back_to_plain)
{
	_cleanup_free_ char *root = two_mappings(
		CRYPT1 " none cipher=aes-xts-plain64,size=512,hash=sha256\n" CRYPT2 " none\n");
	_cleanup_free_ char *blkid = NULL;
	struct fake fake;
	struct exec_run run;

	/* blkid did not see LUKS on vda2 (only then is plain a possibility). */
	ASSERT_TRUE(asprintf(&blkid, "%s/run/blkid/blkid.tab", root) > 0);
	{
		_cleanup_free_ char *text = NULL;
		_cleanup_fclose_ FILE *f = fopen(blkid, "re");
		size_t n;

		ASSERT_NOTNULL(f);
		text = calloc(1, 65536);
		ASSERT_NOTNULL(text);
		n = fread(text, 1, 65535, f);
		text[n] = '\0';
		for (char *p = strstr(text, "/dev/vda2"); p && p > text && p[-1] != '\n'; p--)
			if (startswith(p, " TYPE=\"crypto_LUKS\""))
				memmove(p, p + strlen(" TYPE=\"crypto_LUKS\""),
					strlen(p + strlen(" TYPE=\"crypto_LUKS\"")) + 1);
		ASSERT_NULL(strstr(text, "TYPE=\"crypto_LUKS\" PARTLABEL=\"b2pa\""));
		test_write_file(root, "run/blkid/blkid.tab", text);
	}

	fake_init(&fake);
	fake.no_luks = "/dev/vda2";
	fake.answers[fake.n_answers++] = "good";
	run_fake(&run, &fake, root, BS_PLAN_UP, both);
	ASSERT_OK(run.r);
	ASSERT_CONTAINS(fake.transcript,
			"crypt-open crypt1 /dev/vda2 luks passphrase=good slot=-1 cipher=- bits=0 "
			"hash=- off=0 skip=0 ss=0\n"
			"crypt-open crypt1 /dev/vda2 plain passphrase=good slot=-1 "
			"cipher=aes-xts-plain64 bits=512 hash=sha256 off=0 skip=0 ss=0\n");
	ASSERT_CONTAINS(run.warnings, "crypt:crypt1: '/dev/vda2' has no LUKS header, so it "
				      "is opened as plain dm-crypt");
	/* vdb1 is LUKS by blkid: its -EINVAL would be an error, not a plain device. */
	ASSERT_CONTAINS(fake.transcript, "crypt-open crypt2 /dev/vdb1 luks passphrase=good");
	ASSERT_EQ(count_substrings(fake.transcript, "crypt-open crypt2"), 1u);
	exec_run_done(&run);
	fake_done(&fake);
}

TEST(driver_not_luks)
{
	_cleanup_free_ char *root = two_mappings(CRYPT1 " none\n");
	const char *const one[] = { "crypt:crypt1", NULL };
	struct fake fake;
	struct exec_run run;
	const char *m;

	/* blkid says LUKS, libcryptsetup finds none: no guessing plain over it. */
	fake_init(&fake);
	fake.no_luks = "/dev/vda2";
	fake.answers[fake.n_answers++] = "good";
	run_fake(&run, &fake, root, BS_PLAN_UP, one);
	ASSERT_ERR(run.r, -EINVAL);
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:crypt1"), (int)BS_EXEC_FAILED);
	m = exec_run_message(&run, "crypt-open", "crypt:crypt1");
	ASSERT_CONTAINS(m, "'/dev/vda2' is not a LUKS device");
	ASSERT_EQ(count_substrings(fake.transcript, "plain"), 0u);
	exec_run_done(&run);
	fake_done(&fake);
}

TEST(driver_unsupported_entry)
{
	_cleanup_free_ char *root =
		two_mappings(CRYPT1 " none luks,keyscript=/lib/cryptsetup/scripts/passdev\n");
	const char *const one[] = { "crypt:crypt1", NULL };
	struct fake fake;
	struct exec_run run;
	const char *m;

	fake_init(&fake);
	run_fake(&run, &fake, root, BS_PLAN_UP, one);
	ASSERT_ERR(run.r, -EOPNOTSUPP);
	ASSERT_EQ(exec_run_status(&run, "crypt-open", "crypt:crypt1"), (int)BS_EXEC_FAILED);
	m = exec_run_message(&run, "crypt-open", "crypt:crypt1");
	ASSERT_CONTAINS(m, "keyscript= is not supported");
	ASSERT_EQ(count_substrings(fake.transcript, "crypt-open"), 0u);
	ASSERT_EQ(count_substrings(fake.transcript, "ask "), 0u);
	exec_run_done(&run);
	fake_done(&fake);
}

TEST(driver_close)
{
	_cleanup_free_ char *root = test_fixture("btrfs-2crypt-assembled");
	const char *const one[] = { "crypt:crypt1", NULL };
	struct fake fake;
	struct exec_run run;

	/* Closed by someone else already: what the step is for is done. */
	fake_init(&fake);
	fake.close_error = -ENODEV;
	run_fake(&run, &fake, root, BS_PLAN_DOWN, one);
	ASSERT_CONTAINS(fake.transcript, "crypt-close crypt1\n");
	ASSERT_EQ(exec_run_status(&run, "crypt-close", "crypt:crypt1"), (int)BS_EXEC_DONE);
	exec_run_done(&run);
	fake_done(&fake);
}

/* ---- the real crypt ops, each call in a helper process ----------------------------------- */

/*
 * This binary is its own crypt helper: tests.c hands the helper's command line to
 * bs_helper_main(). When TEST_CRYPT_HELPER_DUMP names a directory, a helper writes there,
 * from inside itself and before main(), what the kernel has as its command line ("cmdline")
 * and environment ("environ") and which descriptors it has open ("fds"); and at its exit
 * whether it is dumpable ("dumpable"). The tests below call only what fails before any
 * device-mapper ioctl: no LUKS header, no such mapping.
 */
static const char *helper_dump_dir;

static void dump_write(const char *name, const void *data, size_t size)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -EBADF;

	if (asprintf(&path, "%s/%s", helper_dump_dir, name) < 0)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0)
		(void)!write(fd, data, size);
}

static void dump_proc_self(const char *name)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	static char buf[256 * 1024];
	size_t n = 0;
	ssize_t r;

	if (asprintf(&path, "/proc/self/%s", name) < 0)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)r;
	dump_write(name, buf, n);
}

static void dump_dumpable(void)
{
	char c = (char)('0' + prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));

	dump_write("dumpable", &c, 1);
}

__attribute__((constructor)) static void dump_helper(void)
{
	char fds[512] = "";
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	helper_dump_dir = getenv("TEST_CRYPT_HELPER_DUMP");
	if (!helper_dump_dir)
		return;
	/* Listed first, while nothing of the dump's own is open but the listing. */
	d = opendir("/proc/self/fd");
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d) && n + 16 < sizeof(fds))
			n += (size_t)snprintf(fds + n, sizeof(fds) - n, "%s ", de->d_name);
	if (d)
		closedir(d);
	dump_write("fds", fds, n);
	dump_proc_self("cmdline");
	dump_proc_self("environ");
	atexit(dump_dumpable);
}

static char *read_dump(const char *dir, const char *name, size_t *ret_size)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	char *data = calloc(1, 256 * 1024 + 1);

	ASSERT_NOTNULL(data);
	ASSERT_TRUE(asprintf(&path, "%s/%s", dir, name) > 0);
	f = fopen(path, "re");
	if (!f)
		test_fail(TEST_FILE, __LINE__, "the helper wrote no '%s': %m", name);
	*ret_size = fread(data, 1, 256 * 1024, f);
	return data;
}

/* What the library logged, a line a message, "function: text". Its lock is what a log
 * function's lock is: the CLI's, for one, takes stderr's. */
struct capture {
	pthread_mutex_t lock;
	FILE *f;
	char *text;
	size_t size;
	int wake_fd; /* written before the lock is taken; -1: none */
};

_printf_(6, 0) static void capture_log(void *userdata, _unused_ int priority,
				       _unused_ const char *file, _unused_ int line, const char *fn,
				       const char *format, va_list args)
{
	struct capture *k = userdata;

	if (k->wake_fd >= 0)
		(void)!write(k->wake_fd, "w", 1);
	pthread_mutex_lock(&k->lock);
	fprintf(k->f, "%s: ", fn);
	vfprintf(k->f, format, args);
	fputc('\n', k->f);
	pthread_mutex_unlock(&k->lock);
}

static struct bs_ctx *capture_ctx(struct capture *k, int priority)
{
	struct bs_ctx *c = NULL;

	*k = (struct capture){ .wake_fd = -1 };
	pthread_mutex_init(&k->lock, NULL);
	k->f = open_memstream(&k->text, &k->size);
	ASSERT_NOTNULL(k->f);
	ASSERT_OK(bs_ctx_new(NULL, &c));
	bs_ctx_set_log_fn(c, capture_log, k);
	ASSERT_OK(bs_ctx_set_log_priority(c, priority));
	return c;
}

static const char *captured(struct capture *k)
{
	pthread_mutex_lock(&k->lock);
	fflush(k->f);
	pthread_mutex_unlock(&k->lock);
	return k->text;
}

static void capture_done(struct capture *k, struct bs_ctx *c)
{
	bs_ctx_unref(c);
	fclose(k->f);
	free(k->text);
	pthread_mutex_destroy(&k->lock);
}

/* A regular file with no header of any kind: libcryptsetup finds no LUKS there (-EINVAL)
 * without a word to device-mapper. Sparse, so its size costs nothing. */
static char *not_luks_file(void)
{
	char *path = NULL;
	int fd;

	ASSERT_TRUE(asprintf(&path, "%s/not-luks.img", test_scratch()) > 0);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(ftruncate(fd, 16 * 1024 * 1024));
	ASSERT_OK(close(fd));
	return path;
}

/* A mapping name no system has. */
static char *absent_name(void)
{
	char *name = NULL;

	ASSERT_TRUE(asprintf(&name, "blkstack-test-absent-%d", (int)getpid()) > 0);
	return name;
}

TEST(crypt_real_open_errors)
{
	_cleanup_free_ char *file = not_luks_file(), *missing = NULL;
	struct capture k;
	struct bs_ctx *c = capture_ctx(&k, LOG_DEBUG);
	struct bs_real_ops_data d = { .ctx = c, .opts = { .key_fd = -1 } };
	struct bs_crypt_request req = {
		.name = "blkstack-test",
		.device = file,
		.type = "luks",
		.key = "passphrase",
		.key_size = strlen("passphrase"),
		.keyslot = -1,
	};

	/* A device that is not what req->type says: -EINVAL, as ops.h promises. */
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -EINVAL);
	/* Logged in the helper, at debug level, and here through the context, function and
	 * all. */
	ASSERT_CONTAINS(captured(&k), "open_mapping: 'blkstack-test': '");
	ASSERT_CONTAINS(captured(&k), "' is not a LUKS device of that version");
	req.type = "luks1";
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -EINVAL);
	req.type = "luks2";
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -EINVAL);
	req.type = "bitlk";
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -EINVAL);
	/* A plain mapping has no header. */
	req.type = "plain";
	req.header = file;
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -EINVAL);
	req.header = NULL;

	/* No such device, said by its errno. */
	ASSERT_TRUE(asprintf(&missing, "%s/missing", test_scratch()) > 0);
	req.type = "luks";
	req.device = missing;
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -ENOENT);
	ASSERT_CONTAINS(captured(&k), "'blkstack-test': cannot open '");

	/* Arguments the ops table never gets. */
	ASSERT_ERR(bs_real_crypt_open(&d, NULL), -EINVAL);
	req.device = NULL;
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -EINVAL);
	ASSERT_ERR(bs_real_crypt_close(&d, ""), -EINVAL);
	capture_done(&k, c);
}

/* A key file that others may read is warned about, and used (the peers accept it); one
 * that only root reads is not. */
TEST(crypt_real_open_warns_of_a_readable_key_file)
{
	_cleanup_free_ char *file = not_luks_file(), *key_file = NULL;
	struct capture k;
	struct bs_ctx *c = capture_ctx(&k, LOG_WARNING);
	struct bs_real_ops_data d = { .ctx = c, .opts = { .key_fd = -1 } };
	struct bs_crypt_request req = {
		.name = "blkstack-test",
		.device = file,
		.type = "luks",
		.keyslot = -1,
	};
	int fd;

	ASSERT_TRUE(asprintf(&key_file, "%s/key", test_scratch()) > 0);
	fd = open(key_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(close(fd));
	req.key_file = key_file;
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -EINVAL);
	ASSERT_NULL(strstr(strempty(captured(&k)), "key file"));

	ASSERT_OK(chmod(key_file, 0644));
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -EINVAL);
	ASSERT_CONTAINS(captured(&k), "'blkstack-test': key file '");
	ASSERT_CONTAINS(captured(&k), "' is readable by everyone (mode 0644); chmod 0600 it");
	ASSERT_OK(chmod(key_file, 0640));
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -EINVAL);
	ASSERT_CONTAINS(captured(&k), "' is readable by its group (mode 0640); chmod 0600 it");
	capture_done(&k, c);
}

/* Every field format_plain() logs arrives as sent. The key file is missing, so the helper
 * stops before activating anything. */
TEST(crypt_real_request_reaches_the_helper_whole)
{
	_cleanup_free_ char *file = not_luks_file(), *key_file = NULL, *expected = NULL;
	struct capture k;
	struct bs_ctx *c = capture_ctx(&k, LOG_DEBUG);
	struct bs_real_ops_data d = { .ctx = c, .opts = { .key_fd = -1 } };
	struct bs_crypt_request req = {
		.name = "blkstack-test-plain",
		.device = file,
		.type = "plain",
		.keyslot = -1,
		.cipher = "twofish-cbc-essiv:sha256",
		.key_bits = 256,
		.hash = "sha512",
		.offset_sectors = UINT64_C(1) << 40,
		.skip_sectors = 16,
		.sector_size = 4096,
		.read_only = true,
		.discard = true,
	};

	ASSERT_TRUE(asprintf(&key_file, "%s/no-such-key", test_scratch()) > 0);
	req.key_file = key_file;
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -ENOENT);
	ASSERT_CONTAINS(captured(&k),
			"format_plain: 'blkstack-test-plain': plain, cipher "
			"twofish-cbc-essiv:sha256, 256-bit key, hash none (key file), "
			"offset 1099511627776, skip 16, sector size 4096\n");
	ASSERT_TRUE(asprintf(&expected,
			     "open_mapping: 'blkstack-test-plain': cannot open key file "
			     "'%s': No such file or directory\n",
			     key_file) > 0);
	ASSERT_CONTAINS(captured(&k), expected);
	capture_done(&k, c);
}

TEST(crypt_real_close_absent_is_enodev)
{
	_cleanup_free_ char *name = absent_name(), *expected = NULL;
	struct capture k;
	struct bs_ctx *c = capture_ctx(&k, LOG_DEBUG);
	struct bs_real_ops_data d = { .ctx = c, .opts = { .key_fd = -1 } };

	ASSERT_ERR(bs_real_crypt_close(&d, name), -ENODEV);
	ASSERT_TRUE(asprintf(&expected, "close_mapping: '%s': no such mapping is active\n", name) >
		    0);
	ASSERT_CONTAINS(captured(&k), expected);
	capture_done(&k, c);
}

TEST(crypt_real_quiet_below_debug)
{
	_cleanup_free_ char *file = not_luks_file(), *name = absent_name();
	struct capture k;
	struct bs_ctx *c = capture_ctx(&k, LOG_INFO);
	struct bs_real_ops_data d = { .ctx = c, .opts = { .key_fd = -1 } };
	struct bs_crypt_request req = {
		.name = "blkstack-test",
		.device = file,
		.type = "luks",
		.key = "",
		.keyslot = -1,
	};

	/* The same answers; nothing sent that nobody logs. */
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -EINVAL);
	ASSERT_ERR(bs_real_crypt_close(&d, name), -ENODEV);
	ASSERT_STREQ(captured(&k), "");
	capture_done(&k, c);
}

/* A thread that holds the log function's lock from before a crypt call starts its helper
 * until the first message of that call is logged (the log function wakes it first), or
 * until the test wakes it. */
struct holder {
	struct capture *k;
	int wake[2];
	pthread_barrier_t held;
	pthread_t thread;
};

static void *hold_run(void *userdata)
{
	struct holder *h = userdata;
	char b;

	pthread_mutex_lock(&h->k->lock);
	pthread_barrier_wait(&h->held);
	(void)!read(h->wake[0], &b, 1);
	pthread_mutex_unlock(&h->k->lock);
	return NULL;
}

static void hold_start(struct holder *h)
{
	ASSERT_OK(-pthread_barrier_init(&h->held, NULL, 2));
	ASSERT_OK(-pthread_create(&h->thread, NULL, hold_run, h));
	pthread_barrier_wait(&h->held);
}

static void hold_end(struct holder *h)
{
	ASSERT_EQ(write(h->wake[1], "t", 1), 1);
	ASSERT_OK(-pthread_join(h->thread, NULL));
	ASSERT_OK(-pthread_barrier_destroy(&h->held));
}

/* The failure guard's end: this test and every process it started, such as a child stuck on
 * a lock, which would otherwise keep the runner waiting for the test's report. */
static void guard_expired(_unused_ int sig)
{
	static const char msg[] = "the crypt call is still blocked: deadlock\n";

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)kill(0, SIGKILL);
}

/*
 * The issue this design answers: a lock held by another thread when the helper is started.
 * A child of fork() that ran libcryptsetup and logged would inherit this lock taken, with
 * nobody to release it, and block for ever; the exec'd helper has no such lock, and what
 * it says is logged here once the other thread lets go.
 */
TEST(crypt_real_ops_while_another_thread_holds_the_log_lock)
{
	_cleanup_free_ char *file = not_luks_file(), *name = absent_name();
	struct capture k;
	struct bs_ctx *c = capture_ctx(&k, LOG_DEBUG);
	struct bs_real_ops_data d = { .ctx = c, .opts = { .key_fd = -1 } };
	struct bs_crypt_request req = {
		.name = "blkstack-test",
		.device = file,
		.type = "luks",
		.key = "passphrase",
		.key_size = strlen("passphrase"),
		.keyslot = -1,
	};
	struct holder h = { .k = &k };

	ASSERT_OK(pipe2(h.wake, O_CLOEXEC));
	k.wake_fd = h.wake[1];
	/* Only a guard, so that a deadlock fails the test (SIGKILL) instead of hanging it;
	 * nothing here depends on how long anything takes. */
	ASSERT_OK(setpgid(0, 0));
	ASSERT_TRUE(signal(SIGALRM, guard_expired) != SIG_ERR);
	alarm(120);

	hold_start(&h);
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -EINVAL);
	hold_end(&h);
	hold_start(&h);
	ASSERT_ERR(bs_real_crypt_close(&d, name), -ENODEV);
	hold_end(&h);
	alarm(0);

	ASSERT_CONTAINS(captured(&k), "' is not a LUKS device of that version");
	ASSERT_CONTAINS(captured(&k), "no such mapping is active");
	close(h.wake[0]);
	close(h.wake[1]);
	capture_done(&k, c);
}

struct parallel_call {
	struct bs_real_ops_data *d;
	const char *file, *name;
	int open_r, close_r;
};

static void *parallel_run(void *userdata)
{
	struct parallel_call *p = userdata;
	struct bs_crypt_request req = {
		.name = "blkstack-test",
		.device = p->file,
		.type = "luks",
		.key = "passphrase",
		.key_size = strlen("passphrase"),
		.keyslot = -1,
	};

	p->open_r = bs_real_crypt_open(p->d, &req);
	p->close_r = bs_real_crypt_close(p->d, p->name);
	return NULL;
}

/* As the executor's workers call them: several at once, each with a helper of its own. */
TEST(crypt_real_ops_from_several_threads)
{
	_cleanup_free_ char *file = not_luks_file(), *name = absent_name();
	struct capture k;
	struct bs_ctx *c = capture_ctx(&k, LOG_DEBUG);
	struct bs_real_ops_data d = { .ctx = c, .opts = { .key_fd = -1 } };
	struct parallel_call calls[4];
	pthread_t threads[ELEMENTSOF(calls)];

	for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
		calls[i] = (struct parallel_call){ .d = &d, .file = file, .name = name };
		ASSERT_OK(-pthread_create(&threads[i], NULL, parallel_run, &calls[i]));
	}
	for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
		ASSERT_OK(-pthread_join(threads[i], NULL));
		ASSERT_ERR(calls[i].open_r, -EINVAL);
		ASSERT_ERR(calls[i].close_r, -ENODEV);
	}
	ASSERT_EQ(count_substrings(captured(&k), "is not a LUKS device of that version"),
		  ELEMENTSOF(calls));
	capture_done(&k, c);
}

/* The passphrase reaches the helper over its socket only: not in the command line or the
 * environment that other users read in /proc. And the helper has no descriptor of ours but
 * the socket, even one without O_CLOEXEC, and cannot be dumped. */
TEST(crypt_real_helper_sees_no_key_in_argv_or_environ)
{
	static const char canary[] = "canary-6f1c2d9e-passphrase";
	_cleanup_free_ char *file = not_luks_file(), *dump = NULL, *cmdline = NULL,
			    *environ_dump = NULL, *fds = NULL, *dumpable = NULL;
	struct capture k;
	struct bs_ctx *c = capture_ctx(&k, LOG_DEBUG);
	struct bs_real_ops_data d = { .ctx = c, .opts = { .key_fd = -1 } };
	struct bs_crypt_request req = {
		.name = "blkstack-test",
		.device = file,
		.type = "luks",
		.keyslot = -1,
	};
	size_t n_cmdline, n_environ, n;
	char *key = NULL;
	int stray[2];

	ASSERT_TRUE(asprintf(&dump, "%s/dump", test_scratch()) > 0);
	test_mkdir_p(test_scratch(), "dump");
	ASSERT_OK(setenv("TEST_CRYPT_HELPER_DUMP", dump, 1));
	/* As a --key-fd given by a shell is: inherited, not CLOEXEC. */
	ASSERT_OK(pipe2(stray, 0));

	ASSERT_OK(bs_secret_new(strlen(canary), &key));
	memcpy(key, canary, strlen(canary));
	req.key = key;
	req.key_size = strlen(canary);
	ASSERT_ERR(bs_real_crypt_open(&d, &req), -EINVAL);
	bs_secret_free(key);

	cmdline = read_dump(dump, "cmdline", &n_cmdline);
	environ_dump = read_dump(dump, "environ", &n_environ);
	fds = read_dump(dump, "fds", &n);
	dumpable = read_dump(dump, "dumpable", &n);

	/* argv is the program and the helper's argument, and nothing else. */
	ASSERT_TRUE(n_cmdline > 0);
	ASSERT_STREQ(cmdline + strlen(cmdline) + 1, "--blkstack-crypt-helper");
	ASSERT_EQ(strlen(cmdline) + 1 + strlen("--blkstack-crypt-helper") + 1, n_cmdline);
	ASSERT_NULL(memmem(cmdline, n_cmdline, canary, strlen(canary)));
	/* The environment is the caller's (the dump's own variable came), without the key. */
	ASSERT_NOTNULL(memmem(environ_dump, n_environ,
			      "TEST_CRYPT_HELPER_DUMP=", strlen("TEST_CRYPT_HELPER_DUMP=")));
	ASSERT_NULL(memmem(environ_dump, n_environ, canary, strlen(canary)));
	/* Standard input, output and error, and the socket. */
	ASSERT_STREQ(fds, "0 1 2 3 ");
	ASSERT_STREQ(dumpable, "0");

	close(stray[0]);
	close(stray[1]);
	capture_done(&k, c);
}
