/* Reads of system state below the context's system root. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileio.h"
#include "strv.h"
#include "sysroot.h"
#include "util.h"

/* Reads from procfs and sysfs report a size of 0 or 4096, whatever the content. */
#define READ_CHUNK_INITIAL ((size_t)4096)
#define READLINK_INITIAL ((size_t)256)

static const char *relative(const char *relpath)
{
	relpath += strspn(relpath, "/");
	return relpath[0] == '\0' ? "." : relpath;
}

/* Below a sysroot other than "/", symbolic links resolve inside it: a mounted target root's
 * "etc/fstab -> /etc/fstab" means its own fstab, and ".." stops at the sysroot, as with
 * chroot. openat2() does that; a kernel without it (before 5.6) gets plain openat(). */
static int open_in_root(struct bs_ctx *c, const char *relpath, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (strcmp(c->sysroot, "/") == 0)
		return openat(c->root_fd, relpath, flags);
	fd = syscall(SYS_openat2, c->root_fd, relpath, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		return openat(c->root_fd, relpath, flags);
	return (int)fd;
}

int bs_sysroot_open(struct bs_ctx *c, const char *relpath, int flags)
{
	int fd;

	assert(c);
	assert(relpath);

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return -EINVAL;

	fd = open_in_root(c, relative(relpath), flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	return fd;
}

static int read_full_fd(int fd, size_t max_size, char **ret_contents, size_t *ret_size)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, allocated;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;

	/* Refuse what is known to be too big before allocating for it. */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_size)
		return -EFBIG;

	/* Room for the content, the NUL, and the byte that would show the file grew. */
	allocated =
		S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 2 : READ_CHUNK_INITIAL;
	if (allocated > max_size + 2)
		allocated = max_size + 2;

	buf = malloc(allocated);
	if (!buf)
		return -ENOMEM;

	for (;;) {
		ssize_t k;

		if (allocated - size < 2) {
			size_t n = allocated > max_size / 2 ? max_size + 2 : allocated * 2;
			char *p;

			p = realloc(buf, n);
			if (!p)
				return -ENOMEM;
			buf = p;
			allocated = n;
		}

		k = read(fd, buf + size, allocated - size - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;

		size += (size_t)k;
		if (size > max_size)
			return -EFBIG;
	}

	buf[size] = '\0';
	*ret_contents = TAKE_PTR(buf);
	if (ret_size)
		*ret_size = size;
	return 0;
}

int bs_sysroot_read_file_max(struct bs_ctx *c, const char *relpath, size_t max_size,
			     char **ret_contents, size_t *ret_size)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	assert(c);
	assert(relpath);
	assert(ret_contents);
	/* max_size + 2 must not overflow in read_full_fd(). */
	assert(max_size <= SIZE_MAX - 2);

	fd = bs_sysroot_open(c, relpath, O_RDONLY | O_NOCTTY);
	if (fd < 0)
		return fd;

	r = read_full_fd(fd, max_size, ret_contents, ret_size);
	if (r < 0)
		bs_log_debug(c, "reading '%s' below '%s' failed: %s", relpath, c->sysroot,
			     strerror(-r));
	return r;
}

int bs_read_file_path(const char *path, size_t max_size, char **ret_contents, size_t *ret_size)
{
	_cleanup_close_ int fd = -EBADF;

	assert(path);
	assert(ret_contents);
	assert(max_size <= SIZE_MAX - 2);

	fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return read_full_fd(fd, max_size, ret_contents, ret_size);
}

int bs_sysroot_read_file(struct bs_ctx *c, const char *relpath, char **ret_contents,
			 size_t *ret_size)
{
	return bs_sysroot_read_file_max(c, relpath, BS_SYSROOT_READ_MAX, ret_contents, ret_size);
}

int bs_sysroot_read_attr(struct bs_ctx *c, const char *relpath, char **ret)
{
	char *s;
	size_t n;
	int r;

	assert(ret);

	r = bs_sysroot_read_file_max(c, relpath, BS_SYSROOT_ATTR_MAX, &s, &n);
	if (r < 0)
		return r;

	while (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';

	*ret = s;
	return 0;
}

int bs_sysroot_readlink(struct bs_ctx *c, const char *relpath, char **ret)
{
	size_t allocated = READLINK_INITIAL;

	assert(c);
	assert(relpath);
	assert(ret);

	/* readlinkat() truncates silently, so grow until the target fits with room to
	 * spare; the kernel bounds the target length, so this ends. */
	for (;;) {
		_cleanup_free_ char *buf = NULL;
		ssize_t k;

		buf = malloc(allocated);
		if (!buf)
			return -ENOMEM;

		k = readlinkat(c->root_fd, relative(relpath), buf, allocated);
		if (k < 0)
			return -errno;

		if ((size_t)k < allocated) {
			buf[k] = '\0';
			*ret = TAKE_PTR(buf);
			return 0;
		}

		if (allocated > SIZE_MAX / 2)
			return -ENOMEM;
		allocated *= 2;
	}
}

int bs_sysroot_opendir(struct bs_ctx *c, const char *relpath, DIR **ret)
{
	_cleanup_close_ int fd = -EBADF;
	DIR *d;

	assert(ret);

	fd = bs_sysroot_open(c, relpath, O_RDONLY | O_DIRECTORY | O_NOCTTY);
	if (fd < 0)
		return fd;

	d = fdopendir(fd);
	if (!d)
		return -errno;
	TAKE_FD(fd);

	*ret = d;
	return 0;
}

char *bs_sysroot_path_dup(struct bs_ctx *c, const char *relpath)
{
	char *p = NULL;

	assert(c);
	assert(relpath);

	relpath += strspn(relpath, "/");

	/* Avoid "//sys" for the default root, and a trailing '/' for the root itself. */
	if (streq(c->sysroot, "/")) {
		if (strextend(&p, "/", relpath, NULL) < 0)
			return NULL;
		return p;
	}

	if (strextend(&p, c->sysroot, relpath[0] ? "/" : "", relpath, NULL) < 0)
		return NULL;
	return p;
}

int bs_sysroot_write_file_atomic(struct bs_ctx *c, const char *relpath, const void *data,
				 size_t size, mode_t mode)
{
	_cleanup_free_ char *dir = NULL;
	const char *rel, *slash;
	int r;

	assert(c);
	assert(relpath);

	rel = relative(relpath);
	slash = strrchr(rel, '/');
	if (slash) {
		dir = strndup(rel, (size_t)(slash - rel));
		if (!dir)
			return -ENOMEM;
		r = mkdir_p_at(c->root_fd, dir, 0755);
		if (r < 0)
			return r;
	}
	return write_file_atomic_at(c->root_fd, rel, data, size, mode);
}

char *bs_dev_path_dup(const char *kernel_name)
{
	char *path;

	if (asprintf(&path, "/dev/%s", kernel_name) < 0)
		return NULL;
	for (char *p = path; *p; p++)
		if (*p == '!')
			*p = '/';
	return path;
}

int bs_sysfs_serial(bs_attr_reader_fn read_attr, void *userdata, char **ret)
{
	static const char *const paths[] = { "serial", "device/serial" };
	int r;

	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		_cleanup_free_ char *v = NULL;
		const char *stripped;

		r = read_attr(userdata, paths[i], &v);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			continue;
		/* SCSI pads serials with blanks. */
		stripped = strstrip(v);
		if (*stripped == '\0')
			continue;
		*ret = strdup(stripped);
		return *ret ? 1 : -ENOMEM;
	}
	return 0;
}

/* "sys/class/block/../../devices/x" is "sys/devices/x"; path is changed in place. */
static void normalize_path(char *path)
{
	char *out = path, *in = path;

	while (*in) {
		size_t len = strcspn(in, "/");

		if (len == 2 && in[0] == '.' && in[1] == '.') {
			/* Drop the previous component. */
			if (out > path)
				out--;
			while (out > path && out[-1] != '/')
				out--;
		} else if (!(len == 1 && in[0] == '.') && len > 0) {
			memmove(out, in, len);
			out += len;
			*out++ = '/';
		}
		in += len;
		in += strspn(in, "/");
	}
	if (out > path)
		out--;
	*out = '\0';
}

int bs_sysfs_modalias_chain(struct bs_ctx *c, const char *kernel_name, char ***ret)
{
	return bs_sysfs_class_modalias_chain(c, "block", kernel_name, ret);
}

int bs_sysfs_class_modalias_chain(struct bs_ctx *c, const char *class, const char *kernel_name,
				  char ***ret)
{
	_cleanup_free_ char *link = NULL, *target = NULL, *dev = NULL;
	_cleanup_strv_free_ char **chain = NULL;
	size_t n = 0;
	int r;

	assert(c);
	assert(ret);
	if (!kernel_name || kernel_name[0] == '\0' || strchr(kernel_name, '/') ||
	    kernel_name[0] == '.')
		return -EINVAL;

	if (asprintf(&link, "sys/class/%s/%s", class, kernel_name) < 0)
		return -ENOMEM;
	r = bs_sysroot_readlink(c, link, &target);
	if (r < 0)
		return r;
	if (target[0] == '/') {
		dev = strdup(target + 1);
		if (!dev)
			return -ENOMEM;
	} else if (asprintf(&dev, "sys/class/%s/%s", class, target) < 0)
		return -ENOMEM;
	normalize_path(dev);
	if (!startswith(dev, "sys/devices/"))
		return -EINVAL;

	chain = calloc(1, sizeof(char *));
	if (!chain)
		return -ENOMEM;
	/* From the block device up; sys/devices itself has none. */
	for (;;) {
		_cleanup_free_ char *attr = NULL, *modalias = NULL;
		char *slash;

		if (asprintf(&attr, "%s/modalias", dev) < 0)
			return -ENOMEM;
		r = bs_sysroot_read_attr(c, attr, &modalias);
		if (r >= 0 && modalias[0] != '\0' && !strpbrk(modalias, " \t\n")) {
			if (strv_extend(&chain, modalias) < 0)
				return -ENOMEM;
			n++;
		} else if (r == -ENOMEM)
			return r;

		slash = strrchr(dev, '/');
		if (!slash)
			break;
		*slash = '\0';
		if (streq(dev, "sys/devices"))
			break;
	}
	*ret = TAKE_PTR(chain);
	return (int)n;
}
