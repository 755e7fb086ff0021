/* The image builder: entries by path, implied parents, duplicates, and the newc archive. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "compress.h"
#include "fileio.h"
#include "hashmap.h"
#include "image.h"
#include "libblkstack-private.h"
#include "util.h"

/* newc: "070701", then 13 fields of 8 hex digits; name and data each padded to 4 bytes. */
#define NEWC_MAGIC "070701"
#define NEWC_HEADER_SIZE ((size_t)110)
#define NEWC_TRAILER "TRAILER!!!"
#define NEWC_FIELD_MAX UINT32_MAX
/* Files are copied through a buffer of this size. */
#define READ_CHUNK ((size_t)64 * 1024)
#define PATH_MAX_STORED ((size_t)PATH_MAX - 1)

enum entry_type {
	ENTRY_DIR,
	ENTRY_FILE, /* read from source when written */
	ENTRY_DATA, /* content held in data */
	ENTRY_SYMLINK, /* target in data, NUL-terminated */
	ENTRY_DEVICE,
};

struct entry {
	char *path;
	enum entry_type type;
	mode_t mode; /* type and permission bits */
	uint64_t size;
	char *why;
	char *source;
	dev_t source_dev;
	ino_t source_ino;
	void *data;
	unsigned major, minor;
	bool secret;
	bool implied;
};

struct bs_image {
	struct bs_ctx *ctx;
	struct entry **entries;
	size_t n_entries, allocated;
	struct hashmap *by_path;
	bool sorted;
};

static const char *const compression_names[_BS_IMAGE_COMPRESSION_MAX] = {
	[BS_IMAGE_COMPRESSION_NONE] = "none",
	[BS_IMAGE_COMPRESSION_GZIP] = "gzip",
	[BS_IMAGE_COMPRESSION_XZ] = "xz",
	[BS_IMAGE_COMPRESSION_ZSTD] = "zstd",
};

const char *bs_image_compression_to_string(enum bs_image_compression c)
{
	if ((unsigned)c >= _BS_IMAGE_COMPRESSION_MAX)
		return NULL;
	return compression_names[c];
}

int bs_image_compression_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	for (unsigned i = 0; i < _BS_IMAGE_COMPRESSION_MAX; i++)
		if (streq(s, compression_names[i]))
			return (int)i;
	if (streq(s, "gz"))
		return BS_IMAGE_COMPRESSION_GZIP;
	if (streq(s, "zst"))
		return BS_IMAGE_COMPRESSION_ZSTD;
	return -EINVAL;
}

static struct entry *entry_free(struct entry *e)
{
	if (!e)
		return NULL;
	if (e->data && e->secret)
		explicit_bzero(e->data, e->size);
	free(e->data);
	free(e->path);
	free(e->why);
	free(e->source);
	free(e);
	return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct entry *, entry_free)

int bs_image_new(struct bs_ctx *c, struct bs_image **ret)
{
	struct bs_image *img;
	int r;

	if (!ret)
		return -EINVAL;
	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	r = hashmap_new(HASHMAP_STRING, &img->by_path);
	if (r < 0) {
		free(img);
		return r;
	}
	img->ctx = bs_ctx_ref(c);
	img->sorted = true;
	*ret = img;
	return 0;
}

struct bs_image *bs_image_free(struct bs_image *img)
{
	if (!img)
		return NULL;
	for (size_t i = 0; i < img->n_entries; i++)
		entry_free(img->entries[i]);
	free(img->entries);
	hashmap_free(img->by_path);
	bs_ctx_unref(img->ctx);
	free(img);
	return NULL;
}

/* The stored form of path (see image.h) in *ret, or -EINVAL / -ENAMETOOLONG. */
static int normalize_path(const char *path, char **ret)
{
	_cleanup_free_ char *out = NULL;
	size_t n = 0;
	const char *p;

	if (!path)
		return -EINVAL;
	out = malloc(strlen(path) + 1);
	if (!out)
		return -ENOMEM;
	for (p = path; *p;) {
		size_t len;

		p += strspn(p, "/");
		len = strcspn(p, "/");
		if (len == 0)
			break;
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (n > 0)
			out[n++] = '/';
		memcpy(out + n, p, len);
		n += len;
		p += len;
	}
	if (n == 0)
		return -EINVAL;
	if (n > PATH_MAX_STORED)
		return -ENAMETOOLONG;
	out[n] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

static const char *type_name(const struct entry *e)
{
	switch (e->type) {
	case ENTRY_DIR:
		return "directory";
	case ENTRY_FILE:
	case ENTRY_DATA:
		return "file";
	case ENTRY_SYMLINK:
		return "symlink";
	case ENTRY_DEVICE:
		return "device";
	}
	return "entry";
}

/* Opens a file entry's source, checks that it is still the regular file (device and inode)
 * of the size it was when it was added, and returns the fd. Failures are logged with the file's name. */
static int open_source(struct bs_image *img, const struct entry *e)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	fd = open(e->source, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int r = -errno;

		bs_log_err(img->ctx, "image: cannot open %s (for %s): %s", e->source, e->path,
			   strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		int r = -errno;

		bs_log_err(img->ctx, "image: cannot stat %s: %s", e->source, strerror(-r));
		return r;
	}
	/* Another file at the path (a package upgraded meanwhile) or other content: the image
	 * would not be what was listed. A file rewritten in place at the same size is not
	 * noticed. */
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size || st.st_dev != e->source_dev ||
	    st.st_ino != e->source_ino) {
		bs_log_err(img->ctx, "image: %s changed since it was added (for %s)", e->source,
			   e->path);
		return -EIO;
	}
	return TAKE_FD(fd);
}

/* Whether the content of two regular-file entries of equal size is the same: 1 or 0, or a
 * negative errno from reading a source. */
static int content_equal(struct bs_image *img, const struct entry *a, const struct entry *b)
{
	_cleanup_close_ int fa = -EBADF, fb = -EBADF;
	_cleanup_free_ uint8_t *ba = NULL, *bb = NULL;
	uint64_t off;
	int r;

	if (a->size != b->size)
		return 0;
	if (a->type == ENTRY_DATA && b->type == ENTRY_DATA)
		return a->size == 0 || memcmp(a->data, b->data, a->size) == 0;
	if (a->type == ENTRY_FILE && b->type == ENTRY_FILE &&
	    (streq(a->source, b->source) ||
	     (a->source_dev == b->source_dev && a->source_ino == b->source_ino)))
		return 1;

	if (a->type == ENTRY_FILE) {
		fa = open_source(img, a);
		if (fa < 0)
			return fa;
		ba = malloc(READ_CHUNK);
		if (!ba)
			return -ENOMEM;
	}
	if (b->type == ENTRY_FILE) {
		fb = open_source(img, b);
		if (fb < 0)
			return fb;
		bb = malloc(READ_CHUNK);
		if (!bb)
			return -ENOMEM;
	}
	for (off = 0; off < a->size;) {
		size_t k = (size_t)MIN((uint64_t)READ_CHUNK, a->size - off);
		const uint8_t *pa, *pb;

		if (fa >= 0) {
			r = loop_read_exact(fa, ba, k);
			if (r < 0) {
				bs_log_err(img->ctx, "image: cannot read %s: %s", a->source,
					   strerror(-r));
				return r;
			}
			pa = ba;
		} else
			pa = (const uint8_t *)a->data + off;
		if (fb >= 0) {
			r = loop_read_exact(fb, bb, k);
			if (r < 0) {
				bs_log_err(img->ctx, "image: cannot read %s: %s", b->source,
					   strerror(-r));
				return r;
			}
			pb = bb;
		} else
			pb = (const uint8_t *)b->data + off;
		if (memcmp(pa, pb, k) != 0)
			return 0;
		off += k;
	}
	return 1;
}

/* Whether the entry n may stand where old is: 1 if it is the same, 0 if it conflicts. */
static int entry_equal(struct bs_image *img, const struct entry *old, const struct entry *n)
{
	bool old_reg = IN_SET(old->type, ENTRY_FILE, ENTRY_DATA);
	bool n_reg = IN_SET(n->type, ENTRY_FILE, ENTRY_DATA);

	if (old->mode != n->mode || old->secret != n->secret)
		return 0;
	if (old_reg != n_reg || (!old_reg && old->type != n->type))
		return 0;
	switch (n->type) {
	case ENTRY_DIR:
		return 1;
	case ENTRY_SYMLINK:
		return streq(old->data, n->data);
	case ENTRY_DEVICE:
		return old->major == n->major && old->minor == n->minor;
	case ENTRY_FILE:
	case ENTRY_DATA:
		return content_equal(img, old, n);
	}
	return 0;
}

static int append(struct bs_image *img, struct entry *e)
{
	int r;

	r = ARRAY_RESERVE(img->entries, img->allocated, img->n_entries);
	if (r < 0)
		return r;
	r = hashmap_put_str(img->by_path, e->path, e);
	if (r < 0)
		return r;
	img->entries[img->n_entries++] = e;
	img->sorted = false;
	return 0;
}

/* Checks that every parent of path is a directory or missing (-ENOTDIR otherwise), then
 * adds the missing ones as implied directories. */
static int add_parents(struct bs_image *img, const char *path)
{
	_cleanup_free_ char *p = strdup(path);
	char *slash;
	int r;

	if (!p)
		return -ENOMEM;
	for (slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/')) {
		const struct entry *e;

		*slash = '\0';
		e = hashmap_get_str(img->by_path, p);
		if (e && e->type != ENTRY_DIR) {
			bs_log_err(img->ctx, "image: cannot add %s: %s is a %s, not a directory",
				   path, p, type_name(e));
			return -ENOTDIR;
		}
		*slash = '/';
	}
	for (slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/')) {
		_cleanup_(entry_freep) struct entry *d = NULL;

		*slash = '\0';
		if (!hashmap_get_str(img->by_path, p)) {
			d = calloc(1, sizeof(*d));
			if (!d)
				return -ENOMEM;
			d->path = strdup(p);
			if (!d->path)
				return -ENOMEM;
			d->type = ENTRY_DIR;
			d->mode = S_IFDIR | 0755;
			d->implied = true;
			r = append(img, d);
			if (r < 0)
				return r;
			TAKE_PTR(d);
		}
		*slash = '/';
	}
	return 0;
}

/* Takes e (freed on every path). Its path, type and fields are set; why is copied. */
static int add_entry(struct bs_image *img, struct entry *e_in, const char *why)
{
	_cleanup_(entry_freep) struct entry *e = e_in;
	struct entry *old;
	int r;

	if (why) {
		e->why = strdup(why);
		if (!e->why)
			return -ENOMEM;
	}

	old = hashmap_get_str(img->by_path, e->path);
	if (old) {
		if (old->implied && e->type == ENTRY_DIR) {
			old->mode = e->mode;
			old->implied = false;
			old->why = TAKE_PTR(e->why);
			return 0;
		}
		r = entry_equal(img, old, e);
		if (r < 0)
			return r;
		if (r == 0) {
			bs_log_err(img->ctx,
				   "image: %s added twice with different content: a %s%s%s%s and "
				   "a %s%s%s%s",
				   e->path, type_name(old), old->why ? " (" : "",
				   strempty(old->why), old->why ? ")" : "", type_name(e),
				   e->why ? " (" : "", strempty(e->why), e->why ? ")" : "");
			return -EEXIST;
		}
		if (!old->why && e->why)
			old->why = TAKE_PTR(e->why);
		return 0;
	}

	r = add_parents(img, e->path);
	if (r < 0)
		return r;
	r = append(img, e);
	if (r < 0)
		return r;
	TAKE_PTR(e);
	return 0;
}

static int new_entry(const char *path, enum entry_type type, mode_t mode, struct entry **ret)
{
	_cleanup_(entry_freep) struct entry *e = NULL;
	int r;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = normalize_path(path, &e->path);
	if (r < 0)
		return r;
	e->type = type;
	e->mode = mode;
	*ret = TAKE_PTR(e);
	return 0;
}

int bs_image_add_dir(struct bs_image *img, const char *path, mode_t mode)
{
	struct entry *e;
	int r;

	if (!img || (mode & ~(mode_t)07777))
		return -EINVAL;
	r = new_entry(path, ENTRY_DIR, S_IFDIR | mode, &e);
	if (r < 0)
		return r;
	return add_entry(img, e, NULL);
}

static int check_flags(mode_t mode, unsigned flags, mode_t *ret)
{
	if ((mode & ~(mode_t)07777) || (flags & ~BS_IMAGE_SECRET))
		return -EINVAL;
	*ret = S_IFREG | ((flags & BS_IMAGE_SECRET) ? 0600 : mode);
	return 0;
}

int bs_image_add_file(struct bs_image *img, const char *path, mode_t mode, const char *source_path,
		      unsigned flags, const char *why)
{
	_cleanup_(entry_freep) struct entry *e = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	mode_t m;
	int r;

	if (!img || !source_path || !source_path[0])
		return -EINVAL;
	r = check_flags(mode, flags, &m);
	if (r < 0)
		return r;
	r = new_entry(path, ENTRY_FILE, m, &e);
	if (r < 0)
		return r;

	fd = open(source_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		bs_log_err(img->ctx, "image: cannot read %s (for %s): %s", source_path, e->path,
			   strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		bs_log_err(img->ctx, "image: cannot stat %s: %s", source_path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		bs_log_err(img->ctx, "image: %s (for %s) is not a regular file", source_path,
			   e->path);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	if ((uint64_t)st.st_size > NEWC_FIELD_MAX) {
		bs_log_err(img->ctx, "image: %s is too large for a cpio newc archive", source_path);
		return -EFBIG;
	}
	e->size = (uint64_t)st.st_size;
	e->source_dev = st.st_dev;
	e->source_ino = st.st_ino;
	e->secret = flags & BS_IMAGE_SECRET;
	e->source = strdup(source_path);
	if (!e->source)
		return -ENOMEM;
	return add_entry(img, TAKE_PTR(e), why);
}

int bs_image_add_data(struct bs_image *img, const char *path, mode_t mode, const void *data,
		      size_t size, unsigned flags, const char *why)
{
	_cleanup_(entry_freep) struct entry *e = NULL;
	mode_t m;
	int r;

	if (!img || (!data && size > 0))
		return -EINVAL;
	if ((uint64_t)size > NEWC_FIELD_MAX)
		return -EFBIG;
	r = check_flags(mode, flags, &m);
	if (r < 0)
		return r;
	r = new_entry(path, ENTRY_DATA, m, &e);
	if (r < 0)
		return r;
	e->secret = flags & BS_IMAGE_SECRET;
	e->size = size;
	/* One byte more, so that an empty file has a buffer too. */
	e->data = malloc(size + 1);
	if (!e->data)
		return -ENOMEM;
	if (size > 0)
		memcpy(e->data, data, size);
	return add_entry(img, TAKE_PTR(e), why);
}

int bs_image_add_symlink(struct bs_image *img, const char *path, const char *target,
			 const char *why)
{
	_cleanup_(entry_freep) struct entry *e = NULL;
	int r;

	if (!img || !target || !target[0] || strlen(target) > PATH_MAX_STORED)
		return -EINVAL;
	r = new_entry(path, ENTRY_SYMLINK, S_IFLNK | 0777, &e);
	if (r < 0)
		return r;
	e->data = strdup(target);
	if (!e->data)
		return -ENOMEM;
	e->size = strlen(target);
	return add_entry(img, TAKE_PTR(e), why);
}

int bs_image_add_device(struct bs_image *img, const char *path, mode_t mode, unsigned major,
			unsigned minor, const char *why)
{
	_cleanup_(entry_freep) struct entry *e = NULL;
	int r;

	if (!img || (mode & ~(mode_t)(S_IFMT | 07777)) || !(S_ISCHR(mode) || S_ISBLK(mode)))
		return -EINVAL;
	r = new_entry(path, ENTRY_DEVICE, mode, &e);
	if (r < 0)
		return r;
	e->major = major;
	e->minor = minor;
	return add_entry(img, TAKE_PTR(e), why);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

static void sort_entries(struct bs_image *img)
{
	if (img->sorted)
		return;
	if (img->n_entries > 0)
		qsort(img->entries, img->n_entries, sizeof(img->entries[0]), entry_cmp);
	img->sorted = true;
}

size_t bs_image_n_entries(struct bs_image *img)
{
	return img ? img->n_entries : 0;
}

int bs_image_get_entry(struct bs_image *img, size_t i, struct bs_image_entry_info *ret)
{
	const struct entry *e;

	if (!img || !ret)
		return -EINVAL;
	if (i >= img->n_entries)
		return -ERANGE;
	sort_entries(img);
	e = img->entries[i];
	*ret = (struct bs_image_entry_info){
		.path = e->path,
		.mode = e->mode,
		.size = e->size,
		.why = e->why,
		.source = e->source,
		.target = e->type == ENTRY_SYMLINK ? e->data : NULL,
		.major = e->major,
		.minor = e->minor,
		.secret = e->secret,
		.implied = e->implied,
	};
	return 0;
}

static uint64_t align4(uint64_t n)
{
	return (n + 3) & ~(uint64_t)3;
}

static uint64_t record_size(size_t name_len, uint64_t size)
{
	return align4(NEWC_HEADER_SIZE + name_len + 1) + align4(size);
}

uint64_t bs_image_archive_size(struct bs_image *img)
{
	uint64_t total = record_size(strlen(NEWC_TRAILER), 0);

	if (!img)
		return 0;
	for (size_t i = 0; i < img->n_entries; i++)
		total += record_size(strlen(img->entries[i]->path), img->entries[i]->size);
	return total;
}

static const uint8_t zeros[4];

/* One header and the name after it, padded. */
static int write_header(struct bs_compressor *z, uint32_t ino, uint32_t mode, uint32_t nlink,
			uint32_t mtime, uint32_t size, uint32_t rmajor, uint32_t rminor,
			const char *name)
{
	char h[NEWC_HEADER_SIZE + 1];
	size_t name_size = strlen(name) + 1;
	size_t pad = (size_t)(align4(NEWC_HEADER_SIZE + name_size) - NEWC_HEADER_SIZE - name_size);
	int r;

	/* ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize
	 * check */
	r = snprintf(h, sizeof(h),
		     NEWC_MAGIC "%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x", ino, mode,
		     0u, 0u, nlink, mtime, size, 0u, 0u, rmajor, rminor, (uint32_t)name_size, 0u);
	if (r != (int)NEWC_HEADER_SIZE)
		return -EIO;
	r = bs_compressor_write(z, h, NEWC_HEADER_SIZE);
	if (r >= 0)
		r = bs_compressor_write(z, name, name_size);
	if (r >= 0 && pad > 0)
		r = bs_compressor_write(z, zeros, pad);
	return r;
}

static int write_content(struct bs_image *img, struct bs_compressor *z, const struct entry *e,
			 uint8_t *buf)
{
	_cleanup_close_ int fd = -EBADF;
	size_t pad = (size_t)(align4(e->size) - e->size);
	int r = 0;

	switch (e->type) {
	case ENTRY_DIR:
	case ENTRY_DEVICE:
		return 0;
	case ENTRY_DATA:
	case ENTRY_SYMLINK:
		r = bs_compressor_write(z, e->data, (size_t)e->size);
		break;
	case ENTRY_FILE:
		fd = open_source(img, e);
		if (fd < 0)
			return fd;
		for (uint64_t off = 0; off < e->size;) {
			size_t k = (size_t)MIN((uint64_t)READ_CHUNK, e->size - off);

			r = loop_read_exact(fd, buf, k);
			if (r < 0) {
				bs_log_err(img->ctx, "image: cannot read %s (for %s): %s",
					   e->source, e->path,
					   r == -EIO ? "it is shorter than when it was added" :
						       strerror(-r));
				return r;
			}
			r = bs_compressor_write(z, buf, k);
			if (r < 0)
				return r;
			off += k;
		}
		break;
	}
	if (r >= 0 && pad > 0)
		r = bs_compressor_write(z, zeros, pad);
	return r;
}

int bs_image_write(struct bs_image *img, int fd, enum bs_image_compression c, int level,
		   uint64_t mtime)
{
	struct bs_compressor *z = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	int r;

	if (!img || fd < 0)
		return -EINVAL;
	r = bs_compressor_level(c, level);
	if (r < 0)
		return r;
	if (mtime > NEWC_FIELD_MAX)
		return -EOVERFLOW;
	if (img->n_entries >= NEWC_FIELD_MAX)
		return -EFBIG;
	sort_entries(img);

	buf = malloc(READ_CHUNK);
	if (!buf)
		return -ENOMEM;
	r = bs_compressor_new(c, level, bs_image_archive_size(img), fd, &z);
	if (r < 0)
		return r;

	for (size_t i = 0; i < img->n_entries && r >= 0; i++) {
		const struct entry *e = img->entries[i];

		r = write_header(z, (uint32_t)(i + 1), (uint32_t)e->mode,
				 e->type == ENTRY_DIR ? 2 : 1, (uint32_t)mtime, (uint32_t)e->size,
				 e->major, e->minor, e->path);
		if (r >= 0)
			r = write_content(img, z, e, buf);
	}
	/* The trailer: all zero but nlink 1 and its name, as GNU cpio writes it. */
	if (r >= 0)
		r = write_header(z, 0, 0, 1, 0, 0, 0, 0, NEWC_TRAILER);
	if (r >= 0)
		r = bs_compressor_finish(z);
	if (r < 0)
		bs_log_debug(img->ctx, "image: writing the %s image failed: %s",
			     bs_image_compression_to_string(c), strerror(-r));
	bs_compressor_free(z);
	/* It held the content of secret files last read, maybe. */
	explicit_bzero(buf, READ_CHUNK);
	return r < 0 ? r : 0;
}
