/* Unit tests of the initramfs image writer: read back by a newc parser of the test's own. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "blkstack.h"
#include "image/image.h"
#include "tests.h"

/* ---- reading images back, independently of the writer ---- */

struct blob {
	uint8_t *data;
	size_t size;
};

static void blob_append(struct blob *b, const void *p, size_t n)
{
	b->data = realloc(b->data, b->size + n + 1);
	ASSERT_NOTNULL(b->data);
	memcpy(b->data + b->size, p, n);
	b->size += n;
}

static struct blob read_fd(int fd)
{
	struct blob b = {};
	uint8_t buf[65536];
	ssize_t k;

	ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		blob_append(&b, buf, (size_t)k);
	ASSERT_EQ(k, 0);
	if (!b.data)
		blob_append(&b, "", 0);
	return b;
}

static struct blob gunzip(const struct blob *in)
{
	struct blob out = {};
	z_stream zs = {};
	uint8_t buf[65536];
	int r;

	ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = in->data;
	zs.avail_in = (uInt)in->size;
	do {
		zs.next_out = buf;
		zs.avail_out = sizeof(buf);
		r = inflate(&zs, Z_NO_FLUSH);
		ASSERT_TRUE(r == Z_OK || r == Z_STREAM_END);
		blob_append(&out, buf, sizeof(buf) - zs.avail_out);
	} while (r != Z_STREAM_END);
	ASSERT_EQ(zs.avail_in, 0);
	inflateEnd(&zs);
	return out;
}

static struct blob unxz(const struct blob *in)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_stream_flags flags;
	struct blob out = {};
	uint8_t buf[65536];
	lzma_ret r;

	/* The check must be one the kernel's decoder knows: CRC32 (or none), not CRC64. */
	ASSERT_TRUE(in->size >= LZMA_STREAM_HEADER_SIZE);
	ASSERT_EQ(lzma_stream_header_decode(&flags, in->data), LZMA_OK);
	ASSERT_EQ(flags.check, LZMA_CHECK_CRC32);

	ASSERT_EQ(lzma_stream_decoder(&s, UINT64_MAX, 0), LZMA_OK);
	s.next_in = in->data;
	s.avail_in = in->size;
	do {
		s.next_out = buf;
		s.avail_out = sizeof(buf);
		r = lzma_code(&s, LZMA_FINISH);
		ASSERT_TRUE(r == LZMA_OK || r == LZMA_STREAM_END);
		blob_append(&out, buf, sizeof(buf) - s.avail_out);
	} while (r != LZMA_STREAM_END);
	ASSERT_EQ(s.avail_in, 0);
	lzma_end(&s);
	return out;
}

static struct blob unzstd(const struct blob *in)
{
	ZSTD_DStream *d = ZSTD_createDStream();
	ZSTD_inBuffer ib = { .src = in->data, .size = in->size };
	unsigned long long content = ZSTD_getFrameContentSize(in->data, in->size);
	struct blob out = {};
	uint8_t buf[65536];
	size_t r;

	ASSERT_NOTNULL(d);
	do {
		ZSTD_outBuffer ob = { .dst = buf, .size = sizeof(buf) };

		r = ZSTD_decompressStream(d, &ob, &ib);
		ASSERT_FALSE(ZSTD_isError(r));
		blob_append(&out, buf, ob.pos);
	} while (r != 0);
	ASSERT_EQ(ib.pos, in->size);
	/* The frame records the size of what it holds. */
	ASSERT_EQ(content, out.size);
	ZSTD_freeDStream(d);
	return out;
}

static struct blob decompress(enum bs_image_compression c, const struct blob *in)
{
	switch (c) {
	case BS_IMAGE_COMPRESSION_GZIP:
		return gunzip(in);
	case BS_IMAGE_COMPRESSION_XZ:
		return unxz(in);
	case BS_IMAGE_COMPRESSION_ZSTD:
		return unzstd(in);
	default: {
		struct blob b = {};

		blob_append(&b, in->data, in->size);
		return b;
	}
	}
}

struct cpio_entry {
	char name[4096];
	uint32_t ino, mode, uid, gid, nlink, mtime, size, maj, min, rmaj, rmin, check;
	const uint8_t *data;
};

struct cpio {
	struct cpio_entry e[64];
	size_t n;
};

static uint32_t hex8(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		int c = p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else {
			ASSERT_TRUE(!"not a hex digit in a newc header");
			return 0;
		}
		v = v << 4 | (uint32_t)d;
	}
	return v;
}

static void assert_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(p[i], 0);
}

/* Parses a whole newc archive by the kernel's buffer-format rules: 110-byte header, name
 * with its NUL, padding to 4 (zero bytes), data, padding to 4, up to TRAILER!!!, which must
 * end the buffer. The trailer is not among the entries. */
static void parse_newc(const struct blob *b, struct cpio *out)
{
	size_t off = 0;

	out->n = 0;
	for (;;) {
		struct cpio_entry *e = &out->e[out->n];
		uint32_t f[13];
		size_t name_end, data_end;

		ASSERT_TRUE(off % 4 == 0);
		ASSERT_TRUE(off + 110 <= b->size);
		ASSERT_TRUE(memcmp(b->data + off, "070701", 6) == 0);
		for (int i = 0; i < 13; i++)
			f[i] = hex8(b->data + off + 6 + 8 * i);
		e->ino = f[0], e->mode = f[1], e->uid = f[2], e->gid = f[3], e->nlink = f[4];
		e->mtime = f[5], e->size = f[6], e->maj = f[7], e->min = f[8], e->rmaj = f[9];
		e->rmin = f[10], e->check = f[12];
		ASSERT_TRUE(f[11] >= 2 && f[11] <= sizeof(e->name));
		ASSERT_TRUE(off + 110 + f[11] <= b->size);
		memcpy(e->name, b->data + off + 110, f[11]);
		ASSERT_EQ(e->name[f[11] - 1], '\0');
		ASSERT_EQ(strlen(e->name), f[11] - 1);
		name_end = (off + 110 + f[11] + 3) & ~(size_t)3;
		assert_zero(b->data + off + 110 + f[11], name_end - (off + 110 + f[11]));
		data_end = (name_end + e->size + 3) & ~(size_t)3;
		ASSERT_TRUE(data_end <= b->size);
		e->data = b->data + name_end;
		assert_zero(b->data + name_end + e->size, data_end - name_end - e->size);
		off = data_end;
		if (strcmp(e->name, "TRAILER!!!") == 0) {
			ASSERT_EQ(e->size, 0);
			break;
		}
		ASSERT_TRUE(out->n + 1 < ELEMENTSOF(out->e));
		out->n++;
	}
	ASSERT_EQ(off, b->size);
}

static const struct cpio_entry *find(const struct cpio *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].name, name) == 0)
			return &c->e[i];
	return NULL;
}

/* ---- helpers ---- */

static int new_memfd(void)
{
	int fd = memfd_create("image", MFD_CLOEXEC);

	ASSERT_TRUE(fd >= 0);
	return fd;
}

static struct blob write_image(struct bs_image *img, enum bs_image_compression c, uint64_t mtime)
{
	int fd = new_memfd();
	struct blob b;

	ASSERT_OK(bs_image_write(img, fd, c, BS_IMAGE_LEVEL_DEFAULT, mtime));
	b = read_fd(fd);
	close(fd);
	return b;
}

struct log_capture {
	char text[4096];
};

_printf_(6, 0) static void capture_log(void *userdata, int priority _unused_,
				       const char *file _unused_, int line _unused_,
				       const char *fn _unused_, const char *format, va_list args)
{
	struct log_capture *cap = userdata;
	size_t n = strlen(cap->text);

	(void)vsnprintf(cap->text + n, sizeof(cap->text) - n, format, args);
	n = strlen(cap->text);
	if (n + 1 < sizeof(cap->text))
		strcat(cap->text, "\n");
}

static struct bs_image *new_image(struct log_capture *cap)
{
	struct bs_image *img = NULL;
	struct bs_ctx *c = NULL;

	ASSERT_OK(unsetenv("BLKSTACK_DEBUG"));
	ASSERT_OK(bs_ctx_new(NULL, &c));
	if (cap)
		bs_ctx_set_log_fn(c, capture_log, cap);
	ASSERT_OK(bs_image_new(c, &img));
	bs_ctx_unref(c);
	return img;
}

static char *path_in(const char *dir, const char *name)
{
	char *p = NULL;

	ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* A file of n pseudo-random bytes (larger than the writer's buffers when n is). */
static char *make_big_file(const char *dir, const char *name, size_t n, uint32_t seed)
{
	char *p = path_in(dir, name);
	uint8_t *buf = malloc(n);
	int fd;

	ASSERT_NOTNULL(buf);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		/* Half of it compressible, so every compressor has work of both kinds. */
		buf[i] = (i / 4096) % 2 ? (uint8_t)(seed >> 16) : (uint8_t)(i % 7);
	}
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, buf, n), (ssize_t)n);
	close(fd);
	free(buf);
	return p;
}

static const enum bs_image_compression all_compressions[] = {
	BS_IMAGE_COMPRESSION_NONE,
	BS_IMAGE_COMPRESSION_GZIP,
	BS_IMAGE_COMPRESSION_XZ,
	BS_IMAGE_COMPRESSION_ZSTD,
};

/* The image most tests use: each kind of entry, one large file, added in one of two
 * orders. */
static struct bs_image *sample_image(const char *dir, bool reverse)
{
	struct bs_image *img = new_image(NULL);
	char *big = path_in(dir, "big");
	char *small = path_in(dir, "small");
	static const char key[] = "0123456789abcdef";

	if (access(big, F_OK) != 0) {
		free(make_big_file(dir, "big", 300 * 1024 + 3, 42));
		test_write_file(dir, "small", "#!/bin/sh\necho hi\n");
	}
	if (!reverse) {
		ASSERT_OK(bs_image_add_dir(img, "/dev", 0755));
		ASSERT_OK(
			bs_image_add_device(img, "/dev/console", S_IFCHR | 0600, 5, 1, "console"));
		ASSERT_OK(bs_image_add_file(img, "/usr/lib/big.so", 0644, big, 0, "mdadm"));
		ASSERT_OK(bs_image_add_file(img, "/init", 0755, small, 0, "init"));
		ASSERT_OK(bs_image_add_symlink(img, "/lib", "usr/lib", "merged /usr"));
		ASSERT_OK(bs_image_add_data(img, "/etc/keys/root.key", 0644, key, 16,
					    BS_IMAGE_SECRET, "luks-root"));
		ASSERT_OK(bs_image_add_data(img, "/etc/empty", 0644, NULL, 0, 0, NULL));
	} else {
		ASSERT_OK(bs_image_add_data(img, "etc/empty", 0644, NULL, 0, 0, NULL));
		ASSERT_OK(bs_image_add_data(img, "etc/keys/root.key", 0644, key, 16,
					    BS_IMAGE_SECRET, "luks-root"));
		ASSERT_OK(bs_image_add_symlink(img, "lib", "usr/lib", "merged /usr"));
		ASSERT_OK(bs_image_add_file(img, "init", 0755, small, 0, "init"));
		ASSERT_OK(bs_image_add_file(img, "usr//lib/big.so", 0644, big, 0, "mdadm"));
		ASSERT_OK(bs_image_add_device(img, "dev/console", S_IFCHR | 0600, 5, 1, "console"));
		ASSERT_OK(bs_image_add_dir(img, "dev/", 0755));
	}
	free(big);
	free(small);
	return img;
}

static void check_sample(const struct cpio *c, const char *dir, uint32_t mtime)
{
	static const char *const names[] = { "dev",	  "dev/console",   "etc",
					     "etc/empty", "etc/keys",	   "etc/keys/root.key",
					     "init",	  "lib",	   "usr",
					     "usr/lib",	  "usr/lib/big.so" };
	const struct cpio_entry *e;
	struct blob big = {};
	char *p;
	int fd;

	ASSERT_EQ(c->n, ELEMENTSOF(names));
	for (size_t i = 0; i < c->n; i++) {
		ASSERT_STREQ(c->e[i].name, names[i]);
		ASSERT_EQ(c->e[i].ino, i + 1);
		ASSERT_EQ(c->e[i].uid, 0);
		ASSERT_EQ(c->e[i].gid, 0);
		ASSERT_EQ(c->e[i].mtime, mtime);
		ASSERT_EQ(c->e[i].maj, 0);
		ASSERT_EQ(c->e[i].min, 0);
		ASSERT_EQ(c->e[i].check, 0);
		ASSERT_EQ(c->e[i].nlink, S_ISDIR(c->e[i].mode) ? 2 : 1);
	}

	ASSERT_NOTNULL(e = find(c, "dev/console"));
	ASSERT_EQ(e->mode, S_IFCHR | 0600);
	ASSERT_EQ(e->rmaj, 5);
	ASSERT_EQ(e->rmin, 1);
	ASSERT_EQ(e->size, 0);

	ASSERT_NOTNULL(e = find(c, "usr/lib"));
	ASSERT_EQ(e->mode, S_IFDIR | 0755);
	ASSERT_EQ(e->size, 0);

	ASSERT_NOTNULL(e = find(c, "lib"));
	ASSERT_EQ(e->mode, S_IFLNK | 0777);
	ASSERT_EQ(e->size, 7);
	ASSERT_TRUE(memcmp(e->data, "usr/lib", 7) == 0);

	ASSERT_NOTNULL(e = find(c, "etc/keys/root.key"));
	ASSERT_EQ(e->mode, S_IFREG | 0600);
	ASSERT_EQ(e->size, 16);
	ASSERT_TRUE(memcmp(e->data, "0123456789abcdef", 16) == 0);

	ASSERT_NOTNULL(e = find(c, "etc/empty"));
	ASSERT_EQ(e->mode, S_IFREG | 0644);
	ASSERT_EQ(e->size, 0);

	ASSERT_NOTNULL(e = find(c, "init"));
	ASSERT_EQ(e->mode, S_IFREG | 0755);
	ASSERT_EQ(e->size, strlen("#!/bin/sh\necho hi\n"));
	ASSERT_TRUE(memcmp(e->data, "#!/bin/sh\necho hi\n", e->size) == 0);

	ASSERT_NOTNULL(e = find(c, "usr/lib/big.so"));
	p = path_in(dir, "big");
	fd = open(p, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	big = read_fd(fd);
	close(fd);
	free(p);
	ASSERT_EQ(e->size, big.size);
	ASSERT_TRUE(memcmp(e->data, big.data, big.size) == 0);
	free(big.data);
}

/* ---- tests ---- */

TEST(round_trip_every_compression)
{
	const char *dir = test_tmpdir();

	for (size_t i = 0; i < ELEMENTSOF(all_compressions); i++) {
		struct bs_image *img = sample_image(dir, false);
		struct blob raw = write_image(img, all_compressions[i], 1700000000);
		struct blob plain = decompress(all_compressions[i], &raw);
		struct cpio *c = calloc(1, sizeof(*c));

		ASSERT_NOTNULL(c);
		ASSERT_EQ(plain.size, bs_image_archive_size(img));
		parse_newc(&plain, c);
		check_sample(c, dir, 1700000000);
		if (all_compressions[i] == BS_IMAGE_COMPRESSION_GZIP) {
			/* No name, no time, OS "Unix": the header depends on nothing. */
			ASSERT_EQ(raw.data[0], 0x1f);
			ASSERT_EQ(raw.data[1], 0x8b);
			ASSERT_EQ(raw.data[3], 0);
			assert_zero(raw.data + 4, 4);
			ASSERT_EQ(raw.data[9], 3);
		}
		free(c);
		free(raw.data);
		free(plain.data);
		bs_image_free(img);
	}
}

TEST(reproducible_whatever_the_order)
{
	const char *dir = test_tmpdir();

	for (size_t i = 0; i < ELEMENTSOF(all_compressions); i++) {
		struct bs_image *a = sample_image(dir, false), *b = sample_image(dir, true);
		struct blob ba = write_image(a, all_compressions[i], 1234);
		struct blob bb = write_image(b, all_compressions[i], 1234);
		struct blob bc = write_image(a, all_compressions[i], 1235);

		ASSERT_EQ(ba.size, bb.size);
		ASSERT_TRUE(memcmp(ba.data, bb.data, ba.size) == 0);
		/* Another mtime is another image. */
		ASSERT_TRUE(ba.size != bc.size || memcmp(ba.data, bc.data, ba.size) != 0);
		free(ba.data);
		free(bb.data);
		free(bc.data);
		bs_image_free(a);
		bs_image_free(b);
	}
}

TEST(list_is_sorted_and_says_why)
{
	const char *dir = test_tmpdir();
	struct bs_image *img = sample_image(dir, true);
	struct bs_image_entry_info info;
	size_t n = bs_image_n_entries(img);

	ASSERT_EQ(n, 11);
	for (size_t i = 1; i < n; i++) {
		struct bs_image_entry_info prev;

		ASSERT_OK(bs_image_get_entry(img, i - 1, &prev));
		ASSERT_OK(bs_image_get_entry(img, i, &info));
		ASSERT_TRUE(strcmp(prev.path, info.path) < 0);
	}
	ASSERT_ERR(bs_image_get_entry(img, n, &info), -ERANGE);

	ASSERT_OK(bs_image_get_entry(img, 5, &info));
	ASSERT_STREQ(info.path, "etc/keys/root.key");
	ASSERT_EQ(info.mode, S_IFREG | 0600);
	ASSERT_TRUE(info.secret);
	ASSERT_FALSE(info.implied);
	ASSERT_STREQ(info.why, "luks-root");
	ASSERT_EQ(info.size, 16);

	ASSERT_OK(bs_image_get_entry(img, 4, &info));
	ASSERT_STREQ(info.path, "etc/keys");
	ASSERT_TRUE(info.implied);
	ASSERT_NULL(info.why);
	ASSERT_FALSE(info.secret);

	ASSERT_OK(bs_image_get_entry(img, 0, &info));
	ASSERT_STREQ(info.path, "dev");
	ASSERT_FALSE(info.implied);

	ASSERT_OK(bs_image_get_entry(img, 7, &info));
	ASSERT_STREQ(info.path, "lib");
	ASSERT_STREQ(info.target, "usr/lib");
	ASSERT_STREQ(info.why, "merged /usr");

	ASSERT_OK(bs_image_get_entry(img, 10, &info));
	ASSERT_STREQ(info.path, "usr/lib/big.so");
	ASSERT_EQ(info.size, 300 * 1024 + 3);
	ASSERT_STREQ(info.why, "mdadm");
	ASSERT_NOTNULL(info.source);
	bs_image_free(img);
}

TEST(implied_parents)
{
	struct bs_image *img = new_image(NULL);
	struct bs_image_entry_info info;
	struct blob b;
	struct cpio *c = calloc(1, sizeof(*c));

	ASSERT_NOTNULL(c);
	ASSERT_OK(bs_image_add_data(img, "a/b/c/file", 0644, "x", 1, 0, NULL));
	ASSERT_EQ(bs_image_n_entries(img), 4);
	ASSERT_OK(bs_image_get_entry(img, 1, &info));
	ASSERT_STREQ(info.path, "a/b");
	ASSERT_EQ(info.mode, S_IFDIR | 0755);
	ASSERT_TRUE(info.implied);

	/* Adding an implied directory explicitly sets its mode; then it is no longer implied
	 * and another mode for it conflicts. */
	ASSERT_OK(bs_image_add_dir(img, "a/b", 0700));
	ASSERT_OK(bs_image_get_entry(img, 1, &info));
	ASSERT_EQ(info.mode, S_IFDIR | 0700);
	ASSERT_FALSE(info.implied);
	ASSERT_OK(bs_image_add_dir(img, "/a/b/", 0700));
	ASSERT_ERR(bs_image_add_dir(img, "a/b", 0755), -EEXIST);
	ASSERT_EQ(bs_image_n_entries(img), 4);

	/* Sorted bytewise: "a-b" sorts between "a" and "a/b", and every parent still comes
	 * before what it holds. */
	ASSERT_OK(bs_image_add_data(img, "a-b", 0644, "y", 1, 0, NULL));
	b = write_image(img, BS_IMAGE_COMPRESSION_NONE, 0);
	parse_newc(&b, c);
	ASSERT_EQ(c->n, 5);
	ASSERT_STREQ(c->e[0].name, "a");
	ASSERT_STREQ(c->e[1].name, "a-b");
	ASSERT_STREQ(c->e[2].name, "a/b");
	ASSERT_EQ(c->e[2].mode, S_IFDIR | 0700);
	ASSERT_STREQ(c->e[3].name, "a/b/c");
	ASSERT_STREQ(c->e[4].name, "a/b/c/file");
	free(b.data);
	free(c);
	bs_image_free(img);
}

TEST(paths_are_relative_and_safe)
{
	struct bs_image *img = new_image(NULL);
	struct bs_image_entry_info info;

	ASSERT_ERR(bs_image_add_dir(img, "/", 0755), -EINVAL);
	ASSERT_ERR(bs_image_add_dir(img, "", 0755), -EINVAL);
	ASSERT_ERR(bs_image_add_dir(img, "a/../b", 0755), -EINVAL);
	ASSERT_ERR(bs_image_add_dir(img, "..", 0755), -EINVAL);
	ASSERT_ERR(bs_image_add_dir(img, "./a", 0755), -EINVAL);
	ASSERT_ERR(bs_image_add_data(img, "/x/..", 0644, "x", 1, 0, NULL), -EINVAL);
	ASSERT_ERR(bs_image_add_symlink(img, "/l", "", NULL), -EINVAL);
	ASSERT_ERR(bs_image_add_dir(img, "d", S_IFDIR | 0755), -EINVAL);
	ASSERT_ERR(bs_image_add_device(img, "dev/x", S_IFREG | 0600, 1, 1, NULL), -EINVAL);
	ASSERT_ERR(bs_image_add_data(img, "f", 0644, "x", 1, 1u << 5, NULL), -EINVAL);
	ASSERT_EQ(bs_image_n_entries(img), 0);

	/* Names that merely start with dots are names. */
	ASSERT_OK(bs_image_add_data(img, "//..a/.b//", 0644, "x", 1, 0, NULL));
	ASSERT_OK(bs_image_get_entry(img, 0, &info));
	ASSERT_STREQ(info.path, "..a");
	ASSERT_OK(bs_image_get_entry(img, 1, &info));
	ASSERT_STREQ(info.path, "..a/.b");
	bs_image_free(img);
}

TEST(duplicates)
{
	const char *dir = test_tmpdir();
	struct log_capture cap = {};
	struct bs_image *img = new_image(&cap);
	char *one, *same, *other;

	test_write_file(dir, "one", "content\n");
	test_write_file(dir, "same", "content\n");
	test_write_file(dir, "other", "CONTENT\n");
	one = path_in(dir, "one");
	same = path_in(dir, "same");
	other = path_in(dir, "other");

	ASSERT_OK(bs_image_add_file(img, "bin/x", 0755, one, 0, "first"));
	/* The same file again, a file with the same content, the same bytes as data. */
	ASSERT_OK(bs_image_add_file(img, "/bin/x", 0755, one, 0, "second"));
	ASSERT_OK(bs_image_add_file(img, "bin/x", 0755, same, 0, NULL));
	ASSERT_OK(bs_image_add_data(img, "bin/x", 0755, "content\n", 8, 0, NULL));
	ASSERT_EQ(bs_image_n_entries(img), 2);
	ASSERT_EQ(cap.text[0], '\0');

	/* Other content, another mode, another type, a secret copy: conflicts. */
	ASSERT_ERR(bs_image_add_file(img, "bin/x", 0755, other, 0, "third"), -EEXIST);
	ASSERT_NOTNULL(strstr(cap.text, "bin/x"));
	ASSERT_NOTNULL(strstr(cap.text, "first"));
	ASSERT_NOTNULL(strstr(cap.text, "third"));
	ASSERT_ERR(bs_image_add_data(img, "bin/x", 0755, "content", 7, 0, NULL), -EEXIST);
	ASSERT_ERR(bs_image_add_file(img, "bin/x", 0644, one, 0, NULL), -EEXIST);
	ASSERT_ERR(bs_image_add_file(img, "bin/x", 0755, one, BS_IMAGE_SECRET, NULL), -EEXIST);
	ASSERT_ERR(bs_image_add_symlink(img, "bin/x", "y", NULL), -EEXIST);
	ASSERT_ERR(bs_image_add_dir(img, "bin/x", 0755), -EEXIST);
	/* An implied directory takes the mode it is then added with, once. */
	ASSERT_OK(bs_image_add_dir(img, "bin", 0700));
	ASSERT_ERR(bs_image_add_dir(img, "bin", 0755), -EEXIST);

	/* Symlinks and devices: equal is fine, different conflicts. */
	ASSERT_OK(bs_image_add_symlink(img, "sbin", "bin", NULL));
	ASSERT_OK(bs_image_add_symlink(img, "sbin", "bin", "again"));
	ASSERT_ERR(bs_image_add_symlink(img, "sbin", "usr/bin", NULL), -EEXIST);
	ASSERT_OK(bs_image_add_device(img, "dev/console", S_IFCHR | 0600, 5, 1, NULL));
	ASSERT_OK(bs_image_add_device(img, "dev/console", S_IFCHR | 0600, 5, 1, NULL));
	ASSERT_ERR(bs_image_add_device(img, "dev/console", S_IFBLK | 0600, 5, 1, NULL), -EEXIST);
	ASSERT_ERR(bs_image_add_device(img, "dev/console", S_IFCHR | 0600, 5, 2, NULL), -EEXIST);

	/* Nothing goes below something that is not a directory. */
	cap.text[0] = '\0';
	ASSERT_ERR(bs_image_add_data(img, "bin/x/y", 0644, "z", 1, 0, NULL), -ENOTDIR);
	ASSERT_NOTNULL(strstr(cap.text, "bin/x/y"));
	ASSERT_ERR(bs_image_add_dir(img, "sbin/z/w", 0755), -ENOTDIR);
	ASSERT_EQ(bs_image_n_entries(img), 5);

	free(one);
	free(same);
	free(other);
	bs_image_free(img);
}

TEST(secret_is_0600_and_marked)
{
	const char *dir = test_tmpdir();
	struct bs_image *img = new_image(NULL);
	struct bs_image_entry_info info;
	struct cpio *c = calloc(1, sizeof(*c));
	struct blob b;
	char *key;

	ASSERT_NOTNULL(c);
	test_write_file(dir, "key", "secret");
	key = path_in(dir, "key");
	ASSERT_OK(bs_image_add_file(img, "etc/luks/a.key", 0644, key, BS_IMAGE_SECRET, "a"));
	ASSERT_OK(bs_image_add_data(img, "etc/luks/b.key", 0444, "k", 1, BS_IMAGE_SECRET, "b"));
	ASSERT_OK(bs_image_add_data(img, "etc/luks/c", 0444, "k", 1, 0, "b"));
	ASSERT_OK(bs_image_get_entry(img, 2, &info));
	ASSERT_STREQ(info.path, "etc/luks/a.key");
	ASSERT_TRUE(info.secret);
	ASSERT_EQ(info.mode, S_IFREG | 0600);
	ASSERT_OK(bs_image_get_entry(img, 3, &info));
	ASSERT_TRUE(info.secret);
	ASSERT_EQ(info.mode, S_IFREG | 0600);
	ASSERT_OK(bs_image_get_entry(img, 4, &info));
	ASSERT_FALSE(info.secret);
	ASSERT_EQ(info.mode, S_IFREG | 0444);

	b = write_image(img, BS_IMAGE_COMPRESSION_NONE, 0);
	parse_newc(&b, c);
	ASSERT_EQ(find(c, "etc/luks/a.key")->mode, S_IFREG | 0600);
	ASSERT_EQ(find(c, "etc/luks/b.key")->mode, S_IFREG | 0600);
	ASSERT_TRUE(memcmp(find(c, "etc/luks/a.key")->data, "secret", 6) == 0);
	free(b.data);
	free(c);
	free(key);
	bs_image_free(img);
}

TEST(unreadable_source_is_named)
{
	const char *dir = test_tmpdir();
	struct log_capture cap = {};
	struct bs_image *img = new_image(&cap);
	char *missing = path_in(dir, "no-such-file");
	char *shrinks = path_in(dir, "shrinks");
	char *locked = path_in(dir, "locked");
	int fd;

	ASSERT_ERR(bs_image_add_file(img, "x", 0644, missing, 0, NULL), -ENOENT);
	ASSERT_NOTNULL(strstr(cap.text, missing));

	cap.text[0] = '\0';
	ASSERT_ERR(bs_image_add_file(img, "x", 0644, dir, 0, NULL), -EISDIR);
	ASSERT_NOTNULL(strstr(cap.text, dir));

	if (geteuid() != 0) {
		test_write_file(dir, "locked", "x");
		ASSERT_OK(chmod(locked, 0));
		cap.text[0] = '\0';
		ASSERT_ERR(bs_image_add_file(img, "x", 0644, locked, 0, NULL), -EACCES);
		ASSERT_NOTNULL(strstr(cap.text, locked));
	}
	ASSERT_EQ(bs_image_n_entries(img), 0);

	/* A file that shrinks after it was added fails the write, naming it. */
	test_write_file(dir, "shrinks", "0123456789");
	ASSERT_OK(bs_image_add_file(img, "x", 0644, shrinks, 0, NULL));
	ASSERT_OK(truncate(shrinks, 3));
	cap.text[0] = '\0';
	fd = new_memfd();
	ASSERT_ERR(bs_image_write(img, fd, BS_IMAGE_COMPRESSION_ZSTD, BS_IMAGE_LEVEL_DEFAULT, 0),
		   -EIO);
	ASSERT_NOTNULL(strstr(cap.text, shrinks));
	close(fd);

	/* So does one replaced by another file, even of the same size. */
	ASSERT_OK(truncate(shrinks, 10));
	bs_image_free(img);
	img = new_image(&cap);
	ASSERT_OK(bs_image_add_file(img, "x", 0644, shrinks, 0, NULL));
	test_write_file(dir, "new", "abcdefghij");
	{
		char *p = path_in(dir, "new");

		ASSERT_OK(rename(p, shrinks));
		free(p);
	}
	cap.text[0] = '\0';
	fd = new_memfd();
	ASSERT_ERR(bs_image_write(img, fd, BS_IMAGE_COMPRESSION_NONE, BS_IMAGE_LEVEL_DEFAULT, 0),
		   -EIO);
	ASSERT_NOTNULL(strstr(cap.text, shrinks));
	close(fd);
	free(missing);
	free(shrinks);
	free(locked);
	bs_image_free(img);
}

TEST(write_checks_arguments)
{
	struct bs_image *img = new_image(NULL);
	int fd = new_memfd();

	ASSERT_OK(bs_image_add_dir(img, "d", 0755));
	ASSERT_ERR(bs_image_write(img, fd, BS_IMAGE_COMPRESSION_NONE, BS_IMAGE_LEVEL_DEFAULT,
				  UINT64_C(1) << 32),
		   -EOVERFLOW);
	ASSERT_ERR(bs_image_write(img, fd, _BS_IMAGE_COMPRESSION_MAX, BS_IMAGE_LEVEL_DEFAULT, 0),
		   -EINVAL);
	ASSERT_ERR(bs_image_write(img, fd, BS_IMAGE_COMPRESSION_ZSTD, 20, 0), -EINVAL);
	ASSERT_ERR(bs_image_write(img, fd, BS_IMAGE_COMPRESSION_GZIP, 10, 0), -EINVAL);
	ASSERT_ERR(bs_image_write(img, fd, BS_IMAGE_COMPRESSION_NONE, 3, 0), -EINVAL);
	ASSERT_EQ(lseek(fd, 0, SEEK_END), 0);
	ASSERT_OK(bs_image_write(img, fd, BS_IMAGE_COMPRESSION_XZ, 0, UINT32_MAX));
	ASSERT_OK(bs_image_write(img, fd, BS_IMAGE_COMPRESSION_GZIP, 1, 0));

	ASSERT_EQ(bs_image_compression_from_string("zst"), BS_IMAGE_COMPRESSION_ZSTD);
	ASSERT_EQ(bs_image_compression_from_string("xz"), BS_IMAGE_COMPRESSION_XZ);
	ASSERT_ERR(bs_image_compression_from_string("lz4"), -EINVAL);
	ASSERT_STREQ(bs_image_compression_to_string(BS_IMAGE_COMPRESSION_GZIP), "gzip");
	ASSERT_NULL(bs_image_compression_to_string(_BS_IMAGE_COMPRESSION_MAX));
	close(fd);
	bs_image_free(img);
}

TEST(empty_image_is_a_trailer)
{
	struct bs_image *img = new_image(NULL);
	struct blob b = write_image(img, BS_IMAGE_COMPRESSION_NONE, 0);
	struct cpio *c = calloc(1, sizeof(*c));

	ASSERT_NOTNULL(c);
	ASSERT_EQ(b.size, 124);
	parse_newc(&b, c);
	ASSERT_EQ(c->n, 0);
	free(b.data);
	free(c);
	bs_image_free(img);
}

/* ---- the command-line tools as independent oracles ---- */

static bool have_tool(const char *name)
{
	char *cmd = NULL;
	int r;

	ASSERT_TRUE(asprintf(&cmd, "command -v %s >/dev/null 2>&1", name) > 0);
	r = system(cmd);
	free(cmd);
	return r == 0;
}

static void save(const char *path, const struct blob *b)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, b->data, b->size), (ssize_t)b->size);
	close(fd);
}

static int run_sh(const char *fmt, ...) _printf_(1, 2);
static int run_sh(const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	ASSERT_TRUE(vasprintf(&cmd, fmt, ap) > 0);
	va_end(ap);
	r = system(cmd);
	free(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

TEST(tools_decompress_it)
{
	static const char *const tools[] = { [BS_IMAGE_COMPRESSION_GZIP] = "gzip",
					     [BS_IMAGE_COMPRESSION_XZ] = "xz",
					     [BS_IMAGE_COMPRESSION_ZSTD] = "zstd" };
	const char *dir = test_tmpdir();
	struct bs_image *img = sample_image(dir, false);
	struct blob plain = write_image(img, BS_IMAGE_COMPRESSION_NONE, 99);
	char *plain_path = path_in(dir, "image.cpio");
	unsigned tried = 0;

	save(plain_path, &plain);
	for (size_t i = 1; i < ELEMENTSOF(all_compressions); i++) {
		enum bs_image_compression c = all_compressions[i];
		struct blob b;
		char *p;

		if (!have_tool(tools[c]))
			continue;
		b = write_image(img, c, 99);
		p = path_in(dir, "image.z");
		save(p, &b);
		ASSERT_EQ(run_sh("%s -d -c <'%s' | cmp -s - '%s'", tools[c], p, plain_path), 0);
		tried++;
		free(p);
		free(b.data);
	}
	if (tried == 0)
		SKIP("none of gzip, xz, zstd is installed");
	free(plain_path);
	free(plain.data);
	bs_image_free(img);
}

TEST(gnu_cpio_reads_it)
{
	const char *dir = test_tmpdir();
	struct bs_image *img;
	struct blob plain;
	char *img_path, *out_path, *list_path;
	const char *expected;

	if (!have_tool("cpio"))
		SKIP("cpio is not installed");
	img = sample_image(dir, false);
	plain = write_image(img, BS_IMAGE_COMPRESSION_NONE, 99);
	img_path = path_in(dir, "image.cpio");
	list_path = path_in(dir, "list");
	save(img_path, &plain);

	/* The listing, in the archive's order. */
	ASSERT_EQ(run_sh("cpio -i -t --quiet <'%s' >'%s' 2>/dev/null", img_path, list_path), 0);
	{
		int fd = open(list_path, O_RDONLY | O_CLOEXEC);
		struct blob l;

		ASSERT_TRUE(fd >= 0);
		l = read_fd(fd);
		close(fd);
		l.data[l.size] = '\0';
		expected = "dev\ndev/console\netc\netc/empty\netc/keys\netc/keys/root.key\ninit\n"
			   "lib\nusr\nusr/lib\nusr/lib/big.so\n";
		ASSERT_STREQ((char *)l.data, expected);
		free(l.data);
	}

	/* Unpacked (without the device node, which needs privileges), the files are the
	 * files. */
	out_path = path_in(dir, "out");
	test_mkdir_p(dir, "out");
	ASSERT_EQ(run_sh("cd '%s' && cpio -i -d --quiet --no-absolute-filenames "
			 "--nonmatching 'dev/console' <'%s' 2>/dev/null",
			 out_path, img_path),
		  0);
	ASSERT_EQ(run_sh("cmp -s '%s/usr/lib/big.so' '%s/big'", out_path, dir), 0);
	ASSERT_EQ(run_sh("cmp -s '%s/init' '%s/small'", out_path, dir), 0);
	ASSERT_EQ(run_sh("[ \"$(readlink '%s/lib')\" = usr/lib ]", out_path), 0);
	ASSERT_EQ(run_sh("[ \"$(stat -c %%a '%s/etc/keys/root.key')\" = 600 ]", out_path), 0);
	free(out_path);
	free(img_path);
	free(list_path);
	free(plain.data);
	bs_image_free(img);
}
