/* What the switch to the root filesystem needs that is worth testing on its own. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* path is a regular file this process may execute. */
bool init_is_executable_file(const char *path);

/*
 * Whether path is an executable file as a process chrooted to root would see it: an absolute
 * symbolic link (/sbin/init -> /lib/systemd/systemd) resolves inside root, not in the
 * initramfs. Kernels before openat2() (5.6) get the plain path below root.
 */
bool init_is_executable_in_root(const char *root, const char *path);

/* Removes what dirfd holds, never leaving its filesystem (dev) and never following a symbolic
 * link: an initramfs's files, not what is mounted in it. Closes dirfd. */
void init_remove_tree(int dirfd, dev_t dev);

/*
 * Copies the tree at source into dest (made if missing), never leaving source's filesystem
 * (a mount point below it is left out) and never following a symbolic link: directories,
 * regular files with their modes, symbolic links. Device nodes are left out. skip lists paths
 * relative to source ("lib/modules") left out with all below them. *ret_bytes (may be NULL)
 * is the size of the files copied. Returns 0 or a negative errno (what is copied stays).
 */
int init_copy_tree(const char *source, const char *dest, char *const *skip, uint64_t *ret_bytes);
