/* The initramfs image writer: a cpio newc archive built in memory, written compressed. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A struct bs_image collects the entries of an initramfs (directories, files, symbolic links,
 * device nodes) and writes them as one cpio "newc" archive (magic "070701"), the format the
 * kernel unpacks into its rootfs (Documentation/driver-api/early-userspace/buffer-format.rst),
 * compressed through a library: zlib (gzip), liblzma (xz) or libzstd, never a spawned tool.
 *
 * Paths are stored relative ("usr/lib/x", never "/usr/lib/x"): a leading '/' is dropped, "//"
 * is one '/', a trailing '/' is dropped; "." and ".." components, and the empty path (the
 * root itself), are -EINVAL. The parent directories a path implies are added as directories
 * of mode 0755 ("implied"); adding one explicitly later replaces the implied mode.
 *
 * Adding the same path twice is fine when the entries are equal (same type, mode, content,
 * target or device, and secrecy): it stays one entry, and keeps the first reason. A
 * different entry at the same path is -EEXIST, a path below something that is not a
 * directory -ENOTDIR; both are logged with the path.
 *
 * The output is a function of the entries and the arguments of bs_image_write(), never of
 * the order they were added in or of the build host: entries are written sorted by path
 * (bytewise, so each directory comes before what it holds), with uid and gid 0, nlink 1 (2
 * for directories), inode numbers 1, 2, ... in that order, c_maj and c_min 0, check 0 and
 * every mtime the one given. Reproducible builds read SOURCE_DATE_EPOCH: that is the
 * caller's business, which passes the time it chose (or 0) to bs_image_write().
 *
 * Files are read from source_path when the image is written, in chunks, and streamed
 * through the compressor to the output, so neither the whole archive nor its compressed
 * form is held in memory; only bs_image_add_data() content is copied into the image.
 *
 * Functions return 0 or a negative errno. A bs_image is not thread-safe.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bs_ctx;
struct bs_image;

enum bs_image_compression {
	BS_IMAGE_COMPRESSION_NONE,
	BS_IMAGE_COMPRESSION_GZIP, /* zlib, gzip wrapper with a fixed header (no name, mtime 0) */
	BS_IMAGE_COMPRESSION_XZ, /* liblzma, LZMA2 with a CRC32 check, as the kernel's xz wants */
	BS_IMAGE_COMPRESSION_ZSTD, /* libzstd, one frame with its content size and a checksum */
	_BS_IMAGE_COMPRESSION_MAX,
};

/* "none", "gzip", "xz", "zstd"; NULL for anything else. */
const char *bs_image_compression_to_string(enum bs_image_compression c);
/* The reverse; also accepts "gz" and "zst". Returns the value or -EINVAL. */
int bs_image_compression_from_string(const char *s);

/* The level argument of bs_image_write() that picks each compressor's default: gzip 9, xz 6,
 * zstd 19. Otherwise gzip takes 0-9, xz 0-9, zstd 1-19; none takes only the default. */
#define BS_IMAGE_LEVEL_DEFAULT (-1)

/* Entry flags. BS_IMAGE_SECRET marks key material: its mode is forced to 0600, --list
 * shows it, and content copied into the image is wiped when the image is freed. */
#define BS_IMAGE_SECRET (1u << 0)

/* Creates an empty image. c (may be NULL) is where messages are logged; it is referenced. */
int bs_image_new(struct bs_ctx *c, struct bs_image **ret);
struct bs_image *bs_image_free(struct bs_image *img);

/* A directory; only the permission bits of mode (07777) are used. */
int bs_image_add_dir(struct bs_image *img, const char *path, mode_t mode);

/*
 * A regular file whose content is read from source_path (a path of the running system, as
 * open(2) takes it: relative to the working directory, symbolic links followed), with the
 * permission bits of mode and flags (BS_IMAGE_SECRET or 0). It is opened (O_RDONLY,
 * O_CLOEXEC) and checked now: a file that cannot be opened, or is not a regular file, is an
 * error that names it. It is read again by bs_image_write(), which fails if another file
 * took its place or its size changed meanwhile. why says which node or binary needs it (may
 * be NULL), for --list. With BS_IMAGE_SECRET the permission bits are 0600, whatever mode is.
 * Returns -EFBIG for a file larger than newc's 4 GiB - 1.
 */
int bs_image_add_file(struct bs_image *img, const char *path, mode_t mode, const char *source_path,
		      unsigned flags, const char *why);

/* A regular file with the size bytes at data (copied), otherwise as bs_image_add_file(). */
int bs_image_add_data(struct bs_image *img, const char *path, mode_t mode, const void *data,
		      size_t size, unsigned flags, const char *why);

/* A symbolic link to target (non-empty; absolute or relative, stored as given). */
int bs_image_add_symlink(struct bs_image *img, const char *path, const char *target,
			 const char *why);

/* A device node: mode is S_IFCHR or S_IFBLK with permission bits, e.g. /dev/console is
 * ("dev/console", S_IFCHR | 0600, 5, 1). Other types are -EINVAL. */
int bs_image_add_device(struct bs_image *img, const char *path, mode_t mode, unsigned major,
			unsigned minor, const char *why);

/* One entry, as bs_image_get_entry() shows it; the strings are borrowed from the image and
 * valid until it next changes. */
struct bs_image_entry_info {
	const char *path; /* as stored: relative, no leading '/' */
	mode_t mode; /* type and permission bits (S_IFDIR | 0755, ...) */
	uint64_t size; /* bytes of content: file size, or length of the symlink target */
	const char *why; /* why it is there, NULL if not said (and for implied dirs) */
	const char *source; /* the file it is read from, NULL for other entries */
	const char *target; /* a symlink's target, NULL for other entries */
	unsigned major, minor; /* of a device node */
	bool secret; /* BS_IMAGE_SECRET */
	bool implied; /* a parent directory nobody added explicitly */
};

/* The number of entries, and entry i of them in the order they are written (sorted by
 * path); -ERANGE past the end. */
size_t bs_image_n_entries(struct bs_image *img);
int bs_image_get_entry(struct bs_image *img, size_t i, struct bs_image_entry_info *ret);

/* The size of the uncompressed archive that bs_image_write() would write, trailer included. */
uint64_t bs_image_archive_size(struct bs_image *img);

/*
 * Writes the archive, compressed with c at level (BS_IMAGE_LEVEL_DEFAULT or a level of that
 * compressor), to fd, from its current position, with every mtime set to mtime (seconds
 * since the epoch; more than newc's 32 bits is -EOVERFLOW). The archive ends with the
 * "TRAILER!!!" entry, padded to 4 bytes, so further archives may be appended to the file.
 * Returns 0; -EINVAL for a bad compression or level; -EIO or the errno of open/read for a
 * source file that cannot be read or changed size since it was added (logged, naming it);
 * the errno of write(2). On failure, part of the image may have been written.
 */
int bs_image_write(struct bs_image *img, int fd, enum bs_image_compression c, int level,
		   uint64_t mtime);
