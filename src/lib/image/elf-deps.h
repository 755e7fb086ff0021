/* The shared libraries a binary needs, found from its ELF headers as the dynamic loader would
 * find them inside the system root; for the initramfs. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libblkstack-private.h"

/*
 * The parser: what the loader reads of one ELF file, from a buffer of size bytes that may be
 * anything (it comes from a foreign or damaged sysroot). Every offset, address and string is
 * bounds-checked; ELF32 and ELF64, little- and big-endian.
 */

/* Caps on what one file may declare, far above any real object: a DT_NEEDED list, and a
 * program header table. */
#define BS_ELF_NEEDED_MAX 4096
#define BS_ELF_PHNUM_MAX 65535

struct bs_elf_info {
	uint8_t elf_class; /* ELFCLASS32 or ELFCLASS64 */
	uint8_t data; /* ELFDATA2LSB or ELFDATA2MSB */
	uint16_t type; /* e_type: ET_EXEC or ET_DYN */
	uint16_t machine; /* e_machine */
	bool dynamic; /* has a PT_DYNAMIC segment */
	bool nodeflib; /* DF_1_NODEFLIB: the cache and the default directories are not searched */
	char *interp; /* PT_INTERP, or NULL */
	char *soname; /* DT_SONAME, or NULL */
	char *runpath; /* DT_RUNPATH, or NULL */
	char *rpath; /* DT_RPATH, or NULL; always NULL when there is a DT_RUNPATH, as in ld.so */
	char **needed; /* DT_NEEDED in order, NULL-terminated (never NULL itself) */
};

/* Parses the ELF image at data. Returns 0 with *ret, -ENOEXEC when it is not an executable or
 * shared object (ET_EXEC, ET_DYN) or is malformed (truncated, offsets or strings out of
 * bounds, a dynamic section whose string table no loadable segment maps), -ENOMEM. Objects
 * without PT_DYNAMIC (static binaries) parse with no dependencies. */
int bs_elf_parse(const void *data, size_t size, struct bs_elf_info **ret);
struct bs_elf_info *bs_elf_info_free(struct bs_elf_info *info);

/*
 * The closure: every file that the loader opens to start the binaries added to it, inside
 * the context's system root, never running ldd or the binary. For each added binary, as
 * glibc's ld.so does it for one process:
 *
 *   - its PT_INTERP (the program interpreter), whose DT_SONAME then satisfies DT_NEEDED;
 *   - its DT_NEEDED, breadth first; a name already loaded (as a DT_NEEDED name, a DT_SONAME,
 *     or the same file) is not searched again, and names with '/' are paths, not searched;
 *   - each name is searched in: the DT_RPATH of the object that needs it, then of the object
 *     that loaded that one and so on up to the executable (only while the object needing it
 *     has no DT_RUNPATH; an object with DT_RUNPATH has no DT_RPATH); then that object's own
 *     DT_RUNPATH; then the directories of etc/ld.so.conf with its includes (what ldconfig
 *     puts in ld.so.cache); then the default directories (unless DF_1_NODEFLIB). The
 *     environment (LD_LIBRARY_PATH, LD_PRELOAD) is not the image's and is not read;
 *   - a candidate counts when it is a regular file that parses as an ELF object of the class,
 *     byte order and machine of the executable; other files are skipped and the search goes
 *     on, as ld.so does;
 *   - in RPATH and RUNPATH, $ORIGIN is the directory of the object inside the sysroot (of the
 *     executable's real path, as the kernel's /proc/self/exe; of the path the loader opened
 *     for a library), $LIB is "lib/TRIPLET" when the sysroot has Debian's multiarch directory
 *     usr/lib/TRIPLET for the machine, else "lib64" (ELF64) or "lib" (ELF32), and $PLATFORM
 *     is the machine's AT_PLATFORM name (x86_64, aarch64, i686, ...). Both spellings, $NAME
 *     and ${NAME}, are expanded; other '$' are kept;
 *   - the default directories are, in order, /lib/TRIPLET and /usr/lib/TRIPLET (Debian's
 *     multiarch, for the machines with a known triplet), then /lib64 and /usr/lib64 (ELF64),
 *     or /lib32 and /usr/lib32 (ELF32), then /lib and /usr/lib.
 *
 * Every path is resolved inside the system root, component by component, so that absolute
 * symlinks (a merged /usr's /lib -> usr/lib, or /lib -> /usr/lib) stay inside it; the
 * symlinks met on the way are reported, so that an image can reproduce every path.
 */

enum bs_elf_entry_kind {
	BS_ELF_ENTRY_BINARY, /* added with bs_elf_closure_add() */
	BS_ELF_ENTRY_INTERP, /* a binary's PT_INTERP */
	BS_ELF_ENTRY_LIBRARY, /* found for a DT_NEEDED */
};

struct bs_elf_entry {
	enum bs_elf_entry_kind kind;
	/* As the loader opens it: the added path, the PT_INTERP, or directory + "/" + the
	 * DT_NEEDED name (unnormalized: "$ORIGIN/../lib" gives "/usr/bin/../lib/libx.so.1"). */
	char *path;
	/* The file itself, every symlink resolved inside the sysroot; absolute, normalized. */
	char *real_path;
	/* The target of path's last component as stored, when that is a symlink; else NULL. */
	char *link_target;
	/* The loader paths of the objects whose DT_NEEDED or PT_INTERP named it, sorted and
	 * unique; empty for a binary. */
	char **needed_by;
	/* The "why" of the first bs_elf_closure_add() that reached it. */
	char *why;
};

/* A symlink met while resolving any path of the closure: the image needs it to reproduce
 * that path. path is the link's own location with no symlink above it. */
struct bs_elf_link {
	char *path;
	char *target; /* as stored */
};

/* A DT_NEEDED that no directory satisfies. */
struct bs_elf_missing {
	char *name;
	char *needed_by; /* the loader path of the object that needs it */
	char *searched; /* the directories searched, ':'-separated, in order */
};

struct bs_elf_closure;

int bs_elf_closure_new(struct bs_ctx *c, struct bs_elf_closure **ret);
struct bs_elf_closure *bs_elf_closure_free(struct bs_elf_closure *cl);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_elf_closure *, bs_elf_closure_free);

/*
 * Adds path (inside the sysroot, e.g. "/usr/sbin/mdadm") and everything it needs. why says
 * which need brought it in (it is kept on the entries it adds). Returns 0 on success;
 * -ENOENT or -ENOTDIR when path does not exist, -ENOEXEC when it is no ELF object (scripts
 * are the caller's), -EACCES, -ENOMEM; and -ENOENT when one of its libraries was not found,
 * after the search of all the others: each such library is then in bs_elf_closure_missing().
 * What was found stays in the closure either way.
 */
int bs_elf_closure_add(struct bs_elf_closure *cl, const char *path, const char *why);

/* The results so far, sorted by path (bytewise), each path once. Borrowed from the closure,
 * valid until the next bs_elf_closure_add() or the free. */
size_t bs_elf_closure_n_entries(const struct bs_elf_closure *cl);
const struct bs_elf_entry *bs_elf_closure_entry(const struct bs_elf_closure *cl, size_t i);
size_t bs_elf_closure_n_links(const struct bs_elf_closure *cl);
const struct bs_elf_link *bs_elf_closure_link(const struct bs_elf_closure *cl, size_t i);
/* In the order they were found. */
size_t bs_elf_closure_n_missing(const struct bs_elf_closure *cl);
const struct bs_elf_missing *bs_elf_closure_missing(const struct bs_elf_closure *cl, size_t i);

/* The entry whose loader path is path, or NULL. */
const struct bs_elf_entry *bs_elf_closure_find(const struct bs_elf_closure *cl, const char *path);

/* The directories of etc/ld.so.conf and its includes inside the sysroot, in order, each
 * once, NULL-terminated; a missing ld.so.conf gives an empty list. For tests and messages. */
int bs_elf_ld_so_conf_dirs(struct bs_ctx *c, char ***ret);
