/* Writing files: whole and atomic replacement, and creating directory trees. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Creates the directory path below dirfd (AT_FDCWD: the working directory), and each of its
 * missing parents, with mode (less the umask). Directories that exist already are fine,
 * also when reached through a symlink. Returns 0, -ENOTDIR if a component exists and is
 * not a directory, or the errno of mkdirat().
 */
int mkdir_p_at(int dirfd, const char *path, mode_t mode);

/*
 * Replaces path below dirfd (AT_FDCWD: the working directory) with the size bytes at data.
 * They are written to a new temporary file in the same directory, flushed with fsync(), and
 * renamed over path; then the directory is flushed. Readers see the old file or the whole
 * new one, also after a crash, never a part. The file gets mode (less the umask); a symlink
 * at path is replaced, not followed. The directory must exist.
 *
 * Returns 0, -EINVAL for an empty path or one ending in '/', or the errno of the step that
 * failed; then the temporary file is gone and path is as it was.
 */
int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t size, mode_t mode);

/* Writes all size bytes of data to fd, through short writes and EINTR. Returns 0 or a
 * negative errno (-EIO if the descriptor takes nothing). */
int loop_write(int fd, const void *data, size_t size);
/* Reads exactly size bytes into buf, or fails: -EIO if the file ends early. */
int loop_read_exact(int fd, void *buf, size_t size);
/* Reads fd to its end (a pipe, a /proc file that has no size to tell) into *ret, newly
 * allocated and NUL-terminated, its length in *ret_size (may be NULL); -EFBIG past max
 * bytes. */
int read_fd_all(int fd, size_t max, char **ret, size_t *ret_size);

/* Puts standard input, output and error on the terminal at path (/dev/console), line-buffering
 * stdout; leaves them as they are when it cannot be opened. For a PID 1 that the kernel may
 * have started without them. */
void stdio_on_console(const char *path);

/* Reads up to size - 1 bytes of the small file name below dirfd (a /proc or /sys file, which
 * has no size to tell) into buf, NUL-terminated, cut at the first newline if cut_line. Returns
 * the length, or a negative errno. */
int read_small_at(int dirfd, const char *name, char *buf, size_t size, bool cut_line);
