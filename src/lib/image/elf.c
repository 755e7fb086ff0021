/* The shared-library closure of binaries inside the system root, from their ELF headers: the
 * parser, the search as ld.so does it, ld.so.conf, and path resolution inside the sysroot. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf-deps.h"
#include "hashmap.h"
#include "strv.h"
#include "sysroot.h"
#include "util.h"

/* As the kernel's MAXSYMLINKS for one path resolution. */
#define CHASE_LINKS_MAX 40
/* ld.so.conf includes nested deeper than this are ignored (ldconfig would loop forever on an
 * include cycle). */
#define CONF_DEPTH_MAX 16

/* ----- The parser ----- */

struct reader {
	const uint8_t *p;
	size_t size;
	bool msb;
	bool is64;
};

/* Reads an unsigned field of width bytes (1, 2, 4 or 8) at off, in the file's byte order. */
static bool rd(const struct reader *r, uint64_t off, size_t width, uint64_t *ret)
{
	uint64_t v = 0;

	if (off > r->size || r->size - off < width)
		return false;
	for (size_t i = 0; i < width; i++) {
		size_t k = r->msb ? i : width - 1 - i;

		v = (v << 8) | r->p[off + k];
	}
	*ret = v;
	return true;
}

/* A field of an ELF structure at base, for either class: its offset and width. */
#define FIELD(r, base, type, field, ret)                                                           \
	((r)->is64 ? rd((r), (base) + offsetof(Elf64_##type, field),                               \
			sizeof(((Elf64_##type *)NULL)->field), (ret)) :                            \
		     rd((r), (base) + offsetof(Elf32_##type, field),                               \
			sizeof(((Elf32_##type *)NULL)->field), (ret)))

#define SIZEOF(r, type) ((r)->is64 ? sizeof(Elf64_##type) : sizeof(Elf32_##type))

struct load_seg {
	uint64_t vaddr, offset, filesz;
};

struct bs_elf_info *bs_elf_info_free(struct bs_elf_info *info)
{
	if (!info)
		return NULL;
	free(info->interp);
	free(info->soname);
	free(info->runpath);
	free(info->rpath);
	strv_free(info->needed);
	free(info);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_elf_info *, bs_elf_info_free);

/* The NUL-terminated string at [off, off + limit) of the file, copied. */
static int string_at(const struct reader *r, uint64_t off, uint64_t limit, char **ret)
{
	const uint8_t *nul;
	char *s;

	if (off > r->size || limit > r->size - off || limit == 0)
		return -ENOEXEC;
	nul = memchr(r->p + off, '\0', (size_t)limit);
	if (!nul)
		return -ENOEXEC;
	s = strndup((const char *)r->p + off, (size_t)(nul - (r->p + off)));
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* The file extent of the string table at address addr: through the PT_LOAD that maps it. */
static int map_strtab(const struct reader *r, const struct load_seg *loads, size_t n_loads,
		      uint64_t addr, uint64_t strsz, bool has_strsz, uint64_t *ret_off,
		      uint64_t *ret_len)
{
	for (size_t i = 0; i < n_loads; i++) {
		uint64_t delta, off, len;

		if (addr < loads[i].vaddr || addr - loads[i].vaddr >= loads[i].filesz)
			continue;
		delta = addr - loads[i].vaddr;
		if (loads[i].offset > UINT64_MAX - delta)
			return -ENOEXEC;
		off = loads[i].offset + delta;
		if (off >= r->size)
			return -ENOEXEC;
		len = MIN(loads[i].filesz - delta, (uint64_t)r->size - off);
		if (has_strsz)
			len = MIN(len, strsz);
		*ret_off = off;
		*ret_len = len;
		return 0;
	}
	return -ENOEXEC;
}

/* The string at offset idx of the string table [off, off + len). */
static int dyn_string(const struct reader *r, uint64_t off, uint64_t len, uint64_t idx, char **ret)
{
	if (idx >= len)
		return -ENOEXEC;
	return string_at(r, off + idx, len - idx, ret);
}

int bs_elf_parse(const void *data, size_t size, struct bs_elf_info **ret)
{
	_cleanup_(bs_elf_info_freep) struct bs_elf_info *info = NULL;
	_cleanup_free_ struct load_seg *loads = NULL;
	_cleanup_free_ uint64_t *needed = NULL;
	struct reader r = { .p = data, .size = size };
	const uint8_t *id = data;
	uint64_t type, machine, version, phoff, phentsize, phnum;
	uint64_t interp_off = 0, interp_len = 0, dyn_off = 0, dyn_len = 0;
	uint64_t strtab = 0, strsz = 0, soname = 0, runpath = 0, rpath = 0, flags1 = 0;
	bool has_interp = false, has_dyn = false, has_strtab = false, has_strsz = false;
	bool has_soname = false, has_runpath = false, has_rpath = false;
	size_t n_loads = 0, n_needed = 0, needed_allocated = 0;
	uint64_t str_off = 0, str_len = 0;
	int k;

	assert(data || size == 0);
	assert(ret);

	if (size < EI_NIDENT || memcmp(id, ELFMAG, SELFMAG) != 0)
		return -ENOEXEC;
	if (!IN_SET(id[EI_CLASS], ELFCLASS32, ELFCLASS64) ||
	    !IN_SET(id[EI_DATA], ELFDATA2LSB, ELFDATA2MSB) || id[EI_VERSION] != EV_CURRENT)
		return -ENOEXEC;
	r.is64 = id[EI_CLASS] == ELFCLASS64;
	r.msb = id[EI_DATA] == ELFDATA2MSB;
	if (size < SIZEOF(&r, Ehdr))
		return -ENOEXEC;

	if (!FIELD(&r, 0, Ehdr, e_type, &type) || !FIELD(&r, 0, Ehdr, e_machine, &machine) ||
	    !FIELD(&r, 0, Ehdr, e_version, &version) || !FIELD(&r, 0, Ehdr, e_phoff, &phoff) ||
	    !FIELD(&r, 0, Ehdr, e_phentsize, &phentsize) || !FIELD(&r, 0, Ehdr, e_phnum, &phnum))
		return -ENOEXEC;
	if (!IN_SET(type, ET_EXEC, ET_DYN) || version != EV_CURRENT)
		return -ENOEXEC;

	if (phnum == PN_XNUM) {
		/* The real count is in the first section header's sh_info. */
		uint64_t shoff, shentsize;

		if (!FIELD(&r, 0, Ehdr, e_shoff, &shoff) ||
		    !FIELD(&r, 0, Ehdr, e_shentsize, &shentsize) || shentsize < SIZEOF(&r, Shdr) ||
		    !FIELD(&r, shoff, Shdr, sh_info, &phnum))
			return -ENOEXEC;
	}
	if (phnum > BS_ELF_PHNUM_MAX)
		return -ENOEXEC;
	if (phnum > 0) {
		if (phentsize < SIZEOF(&r, Phdr) || phoff > size ||
		    phnum * phentsize > (uint64_t)size - phoff)
			return -ENOEXEC;
		loads = calloc((size_t)phnum, sizeof(*loads));
		if (!loads)
			return -ENOMEM;
	}

	for (uint64_t i = 0; i < phnum; i++) {
		uint64_t base = phoff + i * phentsize, ptype, off, filesz, vaddr;

		if (!FIELD(&r, base, Phdr, p_type, &ptype) ||
		    !FIELD(&r, base, Phdr, p_offset, &off) ||
		    !FIELD(&r, base, Phdr, p_filesz, &filesz) ||
		    !FIELD(&r, base, Phdr, p_vaddr, &vaddr))
			return -ENOEXEC;
		switch (ptype) {
		case PT_LOAD:
			loads[n_loads++] = (struct load_seg){ vaddr, off, filesz };
			break;
		case PT_INTERP:
			if (!has_interp) {
				has_interp = true;
				interp_off = off;
				interp_len = filesz;
			}
			break;
		case PT_DYNAMIC:
			if (!has_dyn) {
				has_dyn = true;
				dyn_off = off;
				dyn_len = filesz;
			}
			break;
		default:
			break;
		}
	}

	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;
	info->elf_class = id[EI_CLASS];
	info->data = id[EI_DATA];
	info->type = (uint16_t)type;
	info->machine = (uint16_t)machine;
	info->dynamic = has_dyn;
	info->needed = calloc(1, sizeof(char *));
	if (!info->needed)
		return -ENOMEM;

	if (has_interp) {
		k = string_at(&r, interp_off, interp_len, &info->interp);
		if (k < 0)
			return k;
		if (info->interp[0] == '\0')
			return -ENOEXEC;
	}

	if (!has_dyn) {
		*ret = TAKE_PTR(info);
		return 0;
	}

	if (dyn_off > size || dyn_len > (uint64_t)size - dyn_off)
		return -ENOEXEC;
	for (uint64_t i = 0, n = dyn_len / SIZEOF(&r, Dyn); i < n; i++) {
		uint64_t off = dyn_off + i * SIZEOF(&r, Dyn), tag, val;

		if (!FIELD(&r, off, Dyn, d_tag, &tag) || !FIELD(&r, off, Dyn, d_un.d_val, &val))
			return -ENOEXEC;
		if (tag == DT_NULL)
			break;
		switch (tag) {
		case DT_NEEDED:
			if (n_needed >= BS_ELF_NEEDED_MAX)
				return -ENOEXEC;
			if (ARRAY_RESERVE(needed, needed_allocated, n_needed) < 0)
				return -ENOMEM;
			needed[n_needed++] = val;
			break;
		case DT_STRTAB:
			has_strtab = true;
			strtab = val;
			break;
		case DT_STRSZ:
			has_strsz = true;
			strsz = val;
			break;
		case DT_SONAME:
			has_soname = true;
			soname = val;
			break;
		case DT_RUNPATH:
			has_runpath = true;
			runpath = val;
			break;
		case DT_RPATH:
			has_rpath = true;
			rpath = val;
			break;
		case DT_FLAGS_1:
			flags1 = val;
			break;
		default:
			break;
		}
	}
	info->nodeflib = (flags1 & DF_1_NODEFLIB) != 0;

	if (n_needed == 0 && !has_soname && !has_runpath && !has_rpath) {
		*ret = TAKE_PTR(info);
		return 0;
	}
	if (!has_strtab)
		return -ENOEXEC;
	k = map_strtab(&r, loads, n_loads, strtab, strsz, has_strsz, &str_off, &str_len);
	if (k < 0)
		return k;

	for (size_t i = 0; i < n_needed; i++) {
		char *s;

		k = dyn_string(&r, str_off, str_len, needed[i], &s);
		if (k < 0)
			return k;
		k = strv_push(&info->needed, s);
		if (k < 0) {
			free(s);
			return k;
		}
	}
	if (has_soname) {
		k = dyn_string(&r, str_off, str_len, soname, &info->soname);
		if (k < 0)
			return k;
	}
	/* As ld.so's elf_get_dynamic_info(): DT_RUNPATH voids DT_RPATH. */
	if (has_runpath) {
		k = dyn_string(&r, str_off, str_len, runpath, &info->runpath);
		if (k < 0)
			return k;
	} else if (has_rpath) {
		k = dyn_string(&r, str_off, str_len, rpath, &info->rpath);
		if (k < 0)
			return k;
	}

	*ret = TAKE_PTR(info);
	return 0;
}

/* ----- Paths inside the sysroot ----- */

struct link_list {
	char **paths;
	char **targets;
};

static void link_list_done(struct link_list *l)
{
	l->paths = strv_free(l->paths);
	l->targets = strv_free(l->targets);
}

/* a + "/" + b, without doubling the slash when a is "/" or "". */
static char *path_join(const char *a, const char *b)
{
	char *p;
	size_t n = strlen(a);

	while (n > 0 && a[n - 1] == '/')
		n--;
	while (*b == '/')
		b++;
	if (asprintf(&p, "%.*s/%s", (int)n, a, b) < 0)
		return NULL;
	return p;
}

/* The directory part of an absolute path: "/usr/bin/ls" is "/usr/bin", "/ls" is "/". */
static char *path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/*
 * The real path of path below the system root: every symlink resolved by hand, component by
 * component, absolute targets from the sysroot's own root, ".." stopping there, as the
 * loader inside a chroot of it would resolve them. Each link met is appended to links (its
 * location with no link above it, and its target as stored), if links is not NULL.
 */
static int chase(struct bs_ctx *c, const char *path, char **ret, struct link_list *links)
{
	_cleanup_free_ char *done = strdup(""), *todo = strdup(path);
	unsigned n_links = 0;
	const char *p;
	int r;

	if (!done || !todo)
		return -ENOMEM;
	p = todo;
	for (;;) {
		_cleanup_free_ char *comp = NULL, *cand = NULL, *target = NULL;
		size_t n;

		p += strspn(p, "/");
		if (*p == '\0')
			break;
		n = strcspn(p, "/");
		comp = strndup(p, n);
		if (!comp)
			return -ENOMEM;
		p += n;
		if (streq(comp, "."))
			continue;
		if (streq(comp, "..")) {
			char *slash = strrchr(done, '/');

			if (slash)
				*slash = '\0';
			continue;
		}
		if (asprintf(&cand, "%s/%s", done, comp) < 0)
			return -ENOMEM;
		r = bs_sysroot_readlink(c, cand, &target);
		if (r == -EINVAL) {
			/* Not a symlink: a file or directory that exists. */
			free(done);
			done = TAKE_PTR(cand);
			continue;
		}
		if (r < 0)
			return r;
		if (++n_links > CHASE_LINKS_MAX)
			return -ELOOP;
		if (target[0] == '\0')
			return -ENOENT;
		if (links) {
			r = strv_extend(&links->paths, cand);
			if (r < 0)
				return r;
			r = strv_extend(&links->targets, target);
			if (r < 0)
				return r;
		}
		{
			char *next;

			if (asprintf(&next, "%s/%s", target, p) < 0)
				return -ENOMEM;
			free(todo);
			todo = next;
			p = todo;
		}
		if (target[0] == '/')
			done[0] = '\0';
	}

	if (done[0] == '\0') {
		*ret = strdup("/");
		return *ret ? 0 : -ENOMEM;
	}
	*ret = TAKE_PTR(done);
	return 0;
}

/* ----- ld.so.conf ----- */

static int conf_parse(struct bs_ctx *c, const char *file, unsigned depth, char ***dirs);

/* Expands the glob pattern (absolute) inside the sysroot: each component with a wildcard is
 * matched against its directory's entries, as glob(3) would, sorted; calls conf_parse() on
 * every match. */
static int conf_glob(struct bs_ctx *c, const char *prefix, const char *rest, unsigned depth,
		     char ***dirs)
{
	_cleanup_free_ char *comp = NULL;
	_cleanup_strv_free_ char **matches = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	size_t n;
	int r;

	rest += strspn(rest, "/");
	if (*rest == '\0')
		return conf_parse(c, prefix[0] ? prefix : "/", depth, dirs);
	n = strcspn(rest, "/");
	comp = strndup(rest, n);
	if (!comp)
		return -ENOMEM;
	rest += n;

	if (!strpbrk(comp, "*?[")) {
		_cleanup_free_ char *next = path_join(prefix, comp);

		if (!next)
			return -ENOMEM;
		return conf_glob(c, next, rest, depth, dirs);
	}

	r = bs_sysroot_opendir(c, prefix[0] ? prefix : "/", &d);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (fnmatch(comp, de->d_name, FNM_PERIOD) != 0)
			continue;
		r = strv_extend(&matches, de->d_name);
		if (r < 0)
			return r;
	}
	if (!matches)
		return 0;
	strv_sort(matches);
	for (char **m = matches; *m; m++) {
		_cleanup_free_ char *next = path_join(prefix, *m);

		if (!next)
			return -ENOMEM;
		r = conf_glob(c, next, rest, depth, dirs);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One file as ldconfig's parse_conf() reads it: '#' comments, "include PATTERN..." (relative
 * to the file's directory), "hwcap" lines ignored, otherwise one directory per line. */
static int conf_parse(struct bs_ctx *c, const char *file, unsigned depth, char ***dirs)
{
	_cleanup_free_ char *text = NULL, *dir = NULL;
	char *line, *save = NULL;
	int r;

	if (depth > CONF_DEPTH_MAX) {
		bs_log_warn(c, "%s: includes nested too deep, ignored", file);
		return 0;
	}
	r = bs_sysroot_read_file(c, file, &text, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		bs_log_debug(c, "%s: not read: %s", file, strerror(-r));
		return 0;
	}
	dir = path_dirname(file);
	if (!dir)
		return -ENOMEM;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#'), *s, *eq;
		size_t n;

		if (hash)
			*hash = '\0';
		s = strstrip(line);
		if (*s == '\0')
			continue;
		if (strncasecmp(s, "include", 7) == 0 && (s[7] == ' ' || s[7] == '\t')) {
			char *save2 = NULL;

			for (char *pat = strtok_r(s + 8, " \t", &save2); pat;
			     pat = strtok_r(NULL, " \t", &save2)) {
				_cleanup_free_ char *abs =
					pat[0] == '/' ? strdup(pat) : path_join(dir, pat);

				if (!abs)
					return -ENOMEM;
				r = conf_glob(c, "", abs, depth + 1, dirs);
				if (r < 0)
					return r;
			}
			continue;
		}
		if (strncasecmp(s, "hwcap", 5) == 0 && (s[5] == ' ' || s[5] == '\t'))
			continue;
		/* libc5's "DIR=TYPE" form: the type is dropped. */
		eq = strchr(s, '=');
		if (eq)
			*eq = '\0';
		s = strstrip(s);
		n = strlen(s);
		while (n > 1 && s[n - 1] == '/')
			s[--n] = '\0';
		if (s[0] != '/') {
			bs_log_debug(c, "%s: relative directory '%s' ignored", file, s);
			continue;
		}
		if (strv_contains(*dirs, s))
			continue;
		r = strv_extend(dirs, s);
		if (r < 0)
			return r;
	}
	return 0;
}

int bs_elf_ld_so_conf_dirs(struct bs_ctx *c, char ***ret)
{
	_cleanup_strv_free_ char **dirs = calloc(1, sizeof(char *));
	int r;

	assert(c);
	assert(ret);
	if (!dirs)
		return -ENOMEM;
	r = conf_parse(c, "/etc/ld.so.conf", 0, &dirs);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(dirs);
	return 0;
}

/* ----- Machines ----- */

/* Debian's multiarch triplet and the AT_PLATFORM of a machine, or NULL. */
static const char *machine_triplet(const struct bs_elf_info *i)
{
	bool is64 = i->elf_class == ELFCLASS64, msb = i->data == ELFDATA2MSB;

	switch (i->machine) {
	case EM_X86_64:
		return is64 ? "x86_64-linux-gnu" : "x86_64-linux-gnux32";
	case EM_386:
		return "i386-linux-gnu";
	case EM_AARCH64:
		return is64 && !msb ? "aarch64-linux-gnu" : NULL;
	case EM_ARM:
		return msb ? NULL : "arm-linux-gnueabihf";
	case EM_RISCV:
		return is64 ? "riscv64-linux-gnu" : NULL;
	case EM_PPC64:
		return msb ? "powerpc64-linux-gnu" : "powerpc64le-linux-gnu";
	case EM_S390:
		return is64 ? "s390x-linux-gnu" : NULL;
	default:
		return NULL;
	}
}

static const char *machine_platform(const struct bs_elf_info *i)
{
	switch (i->machine) {
	case EM_X86_64:
		return "x86_64";
	case EM_386:
		return "i686";
	case EM_AARCH64:
		return "aarch64";
	case EM_ARM:
		return "v7l";
	case EM_RISCV:
		return i->elf_class == ELFCLASS64 ? "riscv64" : "riscv32";
	case EM_S390:
		return "s390x";
	default:
		return NULL;
	}
}

/* ----- The closure ----- */

/* One file of the sysroot, parsed once. */
struct object {
	char *real_path;
	struct bs_elf_info *info; /* NULL when it is no usable ELF object */
	int error; /* why info is NULL */
};

struct bs_elf_closure {
	struct bs_ctx *ctx;
	bool conf_read;
	char **conf_dirs;

	struct hashmap *objects; /* real path -> struct object */
	struct object **object_list;
	size_t n_objects, objects_allocated;

	struct hashmap *entries; /* loader path -> struct bs_elf_entry */
	struct bs_elf_entry **entry_list;
	size_t n_entries, entries_allocated;

	struct hashmap *links; /* link path -> struct bs_elf_link */
	struct bs_elf_link **link_list;
	size_t n_links, links_allocated;

	struct bs_elf_missing *missing;
	size_t n_missing, missing_allocated;
};

/* One object loaded into the process of one binary, as ld.so's link map. */
struct loaded {
	struct object *obj;
	char *path; /* as the loader opened it */
	char *origin; /* $ORIGIN */
	size_t loader; /* the object whose DT_NEEDED loaded it; SIZE_MAX for none */
};

struct process {
	struct bs_elf_closure *cl;
	const struct bs_elf_info *exe;
	const char *why;
	char *lib; /* $LIB */
	char **defaults; /* the default directories */
	struct loaded *items;
	size_t n_items, items_allocated;
	char **names; /* keys of by_name, owned */
	struct hashmap *by_name; /* DT_NEEDED name or DT_SONAME -> index + 1 */
	struct hashmap *by_real; /* real path -> index + 1 */
	bool any_missing;
};

int bs_elf_closure_new(struct bs_ctx *c, struct bs_elf_closure **ret)
{
	struct bs_elf_closure *cl;

	assert(c);
	assert(ret);

	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	cl->ctx = c;
	if (hashmap_new(HASHMAP_STRING, &cl->objects) < 0 ||
	    hashmap_new(HASHMAP_STRING, &cl->entries) < 0 ||
	    hashmap_new(HASHMAP_STRING, &cl->links) < 0) {
		bs_elf_closure_free(cl);
		return -ENOMEM;
	}
	*ret = cl;
	return 0;
}

struct bs_elf_closure *bs_elf_closure_free(struct bs_elf_closure *cl)
{
	if (!cl)
		return NULL;
	hashmap_free(cl->objects);
	hashmap_free(cl->entries);
	hashmap_free(cl->links);
	for (size_t i = 0; i < cl->n_objects; i++) {
		free(cl->object_list[i]->real_path);
		bs_elf_info_free(cl->object_list[i]->info);
		free(cl->object_list[i]);
	}
	free(cl->object_list);
	for (size_t i = 0; i < cl->n_entries; i++) {
		struct bs_elf_entry *e = cl->entry_list[i];

		free(e->path);
		free(e->real_path);
		free(e->link_target);
		strv_free(e->needed_by);
		free(e->why);
		free(e);
	}
	free(cl->entry_list);
	for (size_t i = 0; i < cl->n_links; i++) {
		free(cl->link_list[i]->path);
		free(cl->link_list[i]->target);
		free(cl->link_list[i]);
	}
	free(cl->link_list);
	for (size_t i = 0; i < cl->n_missing; i++) {
		free(cl->missing[i].name);
		free(cl->missing[i].needed_by);
		free(cl->missing[i].searched);
	}
	free(cl->missing);
	strv_free(cl->conf_dirs);
	free(cl);
	return NULL;
}

/* Reads and parses the regular file at real_path (already resolved); mapped, not read, so
 * that a large library costs only the pages of its headers. */
static int parse_file(struct bs_ctx *c, const char *real_path, struct bs_elf_info **ret)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	void *p;
	int r;

	fd = bs_sysroot_open(c, real_path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -ENOEXEC;
	if (st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX)
		return -ENOEXEC;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r = bs_elf_parse(p, (size_t)st.st_size, ret);
	(void)munmap(p, (size_t)st.st_size);
	return r;
}

/* The object at real_path, parsed the first time it is asked for. */
static int get_object(struct bs_elf_closure *cl, const char *real_path, struct object **ret)
{
	struct object *o = hashmap_get_str(cl->objects, real_path);
	int r;

	if (o) {
		*ret = o;
		return 0;
	}
	if (ARRAY_RESERVE(cl->object_list, cl->objects_allocated, cl->n_objects) < 0)
		return -ENOMEM;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->real_path = strdup(real_path);
	if (!o->real_path) {
		free(o);
		return -ENOMEM;
	}
	r = parse_file(cl->ctx, real_path, &o->info);
	if (r == -ENOMEM) {
		free(o->real_path);
		free(o);
		return r;
	}
	if (r < 0) {
		bs_log_debug(cl->ctx, "%s: not a usable ELF object: %s", real_path, strerror(-r));
		o->info = NULL;
		o->error = r;
	}
	if (hashmap_put_str(cl->objects, o->real_path, o) < 0) {
		bs_elf_info_free(o->info);
		free(o->real_path);
		free(o);
		return -ENOMEM;
	}
	cl->object_list[cl->n_objects++] = o;
	*ret = o;
	return 0;
}

static int add_links(struct bs_elf_closure *cl, const struct link_list *links)
{
	for (size_t i = 0; links->paths && links->paths[i]; i++) {
		struct bs_elf_link *l;

		if (hashmap_get_str(cl->links, links->paths[i]))
			continue;
		if (ARRAY_RESERVE(cl->link_list, cl->links_allocated, cl->n_links) < 0)
			return -ENOMEM;
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		l->path = strdup(links->paths[i]);
		l->target = strdup(links->targets[i]);
		if (!l->path || !l->target || hashmap_put_str(cl->links, l->path, l) < 0) {
			free(l->path);
			free(l->target);
			free(l);
			return -ENOMEM;
		}
		cl->link_list[cl->n_links++] = l;
	}
	return 0;
}

/* The target of path's last component when it is a symlink, else NULL in *ret. */
static int last_link(struct bs_ctx *c, const char *path, char **ret)
{
	_cleanup_free_ char *dir = path_dirname(path), *real_dir = NULL, *p = NULL;
	const char *base = strrchr(path, '/');
	int r;

	*ret = NULL;
	if (!dir)
		return -ENOMEM;
	base = base ? base + 1 : path;
	if (*base == '\0' || streq(base, ".") || streq(base, ".."))
		return 0;
	r = chase(c, dir, &real_dir, NULL);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	p = path_join(real_dir, base);
	if (!p)
		return -ENOMEM;
	r = bs_sysroot_readlink(c, p, ret);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		*ret = NULL;
	return 0;
}

/* Records path (with its real path) in the results, or adds needed_by to its entry. */
static int add_entry(struct bs_elf_closure *cl, enum bs_elf_entry_kind kind, const char *path,
		     const char *real_path, const char *needed_by, const char *why)
{
	struct bs_elf_entry *e = hashmap_get_str(cl->entries, path);
	int r;

	if (!e) {
		if (ARRAY_RESERVE(cl->entry_list, cl->entries_allocated, cl->n_entries) < 0)
			return -ENOMEM;
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->kind = kind;
		e->path = strdup(path);
		e->real_path = strdup(real_path);
		e->why = strdup(strempty(why));
		e->needed_by = calloc(1, sizeof(char *));
		r = e->path && e->real_path && e->why && e->needed_by ? 0 : -ENOMEM;
		if (r == 0)
			r = last_link(cl->ctx, path, &e->link_target);
		if (r == 0)
			r = hashmap_put_str(cl->entries, e->path, e);
		if (r < 0) {
			free(e->path);
			free(e->real_path);
			free(e->why);
			free(e->link_target);
			strv_free(e->needed_by);
			free(e);
			return r;
		}
		cl->entry_list[cl->n_entries++] = e;
	} else if (kind < e->kind) {
		/* A binary that is also some other binary's library stays a binary. */
		e->kind = kind;
	}
	if (needed_by && !strv_contains(e->needed_by, needed_by)) {
		r = strv_extend(&e->needed_by, needed_by);
		if (r < 0)
			return r;
		strv_sort(e->needed_by);
	}
	return 0;
}

static int add_missing(struct bs_elf_closure *cl, const char *name, const char *needed_by,
		       char **searched)
{
	struct bs_elf_missing *m;
	_cleanup_free_ char *s = NULL;

	for (size_t i = 0; i < cl->n_missing; i++)
		if (streq(cl->missing[i].name, name) && streq(cl->missing[i].needed_by, needed_by))
			return 0;
	if (strv_join(searched, ":", &s) < 0)
		return -ENOMEM;
	if (ARRAY_RESERVE(cl->missing, cl->missing_allocated, cl->n_missing) < 0)
		return -ENOMEM;
	m = &cl->missing[cl->n_missing];
	m->name = strdup(name);
	m->needed_by = strdup(needed_by);
	m->searched = TAKE_PTR(s);
	if (!m->name || !m->needed_by) {
		free(m->name);
		free(m->needed_by);
		free(m->searched);
		return -ENOMEM;
	}
	cl->n_missing++;
	bs_log_debug(cl->ctx, "%s, needed by %s, not found in %s", name, needed_by, m->searched);
	return 0;
}

static bool same_machine(const struct bs_elf_info *a, const struct bs_elf_info *b)
{
	return a->elf_class == b->elf_class && a->data == b->data && a->machine == b->machine;
}

/*
 * s with the dynamic string tokens expanded for an object whose $ORIGIN is origin: $ORIGIN,
 * $LIB, $PLATFORM, spelled $NAME or ${NAME}. *ret is NULL when s names a token that has no
 * value here ($PLATFORM of an unknown machine): ld.so drops such an element.
 */
static int expand_dst(const struct process *pr, const char *s, const char *origin, char **ret)
{
	static const char *const names[] = { "ORIGIN", "LIB", "PLATFORM" };
	_cleanup_free_ char *out = strdup("");

	if (!out)
		return -ENOMEM;
	*ret = NULL;
	while (*s) {
		const char *dollar = strchr(s, '$'), *value = NULL;
		size_t skip = 0;
		char *t;

		if (!dollar) {
			if (strextend(&out, s, NULL) < 0)
				return -ENOMEM;
			break;
		}
		t = strndup(s, (size_t)(dollar - s));
		if (!t || strextend(&out, t, NULL) < 0) {
			free(t);
			return -ENOMEM;
		}
		free(t);
		for (size_t i = 0; i < ELEMENTSOF(names); i++) {
			size_t n = strlen(names[i]);
			const char *name = dollar + 1;
			bool brace = *name == '{';

			if (brace)
				name++;
			if (strncmp(name, names[i], n) != 0)
				continue;
			if (brace ? name[n] != '}' :
				    (name[n] == '_' || isalnum((unsigned char)name[n])))
				continue;
			skip = (size_t)(name - dollar) + n + (brace ? 1 : 0);
			value = i == 0 ? origin : i == 1 ? pr->lib : machine_platform(pr->exe);
			if (!value)
				return 0;
			break;
		}
		if (skip == 0) {
			/* Not a token: kept as it is. */
			if (strextend(&out, "$", NULL) < 0)
				return -ENOMEM;
			s = dollar + 1;
			continue;
		}
		if (strextend(&out, value, NULL) < 0)
			return -ENOMEM;
		s = dollar + skip;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

/* Appends the directories of a ':'-separated RPATH or RUNPATH, expanded, to dirs. */
static int add_path_list(const struct process *pr, const char *list, const char *origin,
			 char ***dirs)
{
	_cleanup_strv_free_ char **parts = NULL;
	int r;

	r = strv_split(list, ":", &parts);
	if (r < 0)
		return r;
	for (char **p = parts; p && *p; p++) {
		_cleanup_free_ char *d = NULL;

		r = expand_dst(pr, *p, origin, &d);
		if (r < 0)
			return r;
		if (!d)
			continue;
		if (d[0] != '/') {
			/* Relative to the loader's working directory: nothing an image has. */
			bs_log_debug(pr->cl->ctx, "relative search directory '%s' ignored", d);
			continue;
		}
		r = strv_extend(dirs, d);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The directories that ld.so searches for a DT_NEEDED of the loaded object li, in order. */
static int search_dirs(const struct process *pr, size_t li, char ***ret)
{
	const struct loaded *l = &pr->items[li];
	_cleanup_strv_free_ char **dirs = calloc(1, sizeof(char *));
	bool main_seen = false;
	int r;

	if (!dirs)
		return -ENOMEM;
	if (!l->obj->info->runpath) {
		for (size_t i = li; i != SIZE_MAX; i = pr->items[i].loader) {
			const struct loaded *a = &pr->items[i];

			if (i == 0)
				main_seen = true;
			if (a->obj->info->rpath) {
				r = add_path_list(pr, a->obj->info->rpath, a->origin, &dirs);
				if (r < 0)
					return r;
			}
		}
		if (!main_seen && pr->items[0].obj->info->rpath) {
			r = add_path_list(pr, pr->items[0].obj->info->rpath, pr->items[0].origin,
					  &dirs);
			if (r < 0)
				return r;
		}
	} else {
		r = add_path_list(pr, l->obj->info->runpath, l->origin, &dirs);
		if (r < 0)
			return r;
	}
	if (!l->obj->info->nodeflib) {
		for (char **d = pr->cl->conf_dirs; d && *d; d++) {
			r = strv_extend(&dirs, *d);
			if (r < 0)
				return r;
		}
		for (char **d = pr->defaults; d && *d; d++) {
			r = strv_extend(&dirs, *d);
			if (r < 0)
				return r;
		}
	}
	*ret = TAKE_PTR(dirs);
	return 0;
}

/*
 * Tries path as the loader would open it: resolves it inside the sysroot, and accepts it when
 * it is an ELF object for the process's machine. Returns 1 with the object and the real path,
 * 0 when it does not count (missing, or another kind of file), or a negative errno.
 */
static int try_path(struct process *pr, const char *path, struct object **ret_obj, char **ret_real)
{
	_cleanup_(link_list_done) struct link_list links = {};
	_cleanup_free_ char *real = NULL;
	struct object *o;
	int r;

	r = chase(pr->cl->ctx, path, &real, &links);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0;
	r = get_object(pr->cl, real, &o);
	if (r < 0)
		return r;
	if (!o->info)
		return 0;
	if (!same_machine(o->info, pr->exe)) {
		bs_log_debug(pr->cl->ctx, "%s: skipped, another class or machine", path);
		return 0;
	}
	r = add_links(pr->cl, &links);
	if (r < 0)
		return r;
	*ret_obj = o;
	*ret_real = TAKE_PTR(real);
	return 1;
}

static int process_add(struct process *pr, struct object *o, const char *path, const char *origin,
		       size_t loader)
{
	struct loaded *l;

	if (ARRAY_RESERVE(pr->items, pr->items_allocated, pr->n_items) < 0)
		return -ENOMEM;
	l = &pr->items[pr->n_items];
	*l = (struct loaded){ .obj = o, .loader = loader };
	l->path = strdup(path);
	l->origin = origin ? strdup(origin) : path_dirname(path);
	if (!l->path || !l->origin) {
		free(l->path);
		free(l->origin);
		return -ENOMEM;
	}
	pr->n_items++;
	if (hashmap_put_str(pr->by_real, o->real_path, (void *)(uintptr_t)pr->n_items) < 0)
		return -ENOMEM;
	return 0;
}

static int process_name(struct process *pr, const char *name, size_t idx)
{
	char *k;

	if (!name || hashmap_get_str(pr->by_name, name))
		return 0;
	k = strdup(name);
	if (!k)
		return -ENOMEM;
	if (strv_push(&pr->names, k) < 0) {
		free(k);
		return -ENOMEM;
	}
	return hashmap_put_str(pr->by_name, k, (void *)(uintptr_t)(idx + 1));
}

static void process_done(struct process *pr)
{
	for (size_t i = 0; i < pr->n_items; i++) {
		free(pr->items[i].path);
		free(pr->items[i].origin);
	}
	free(pr->items);
	hashmap_free(pr->by_name);
	hashmap_free(pr->by_real);
	strv_free(pr->names);
	strv_free(pr->defaults);
	free(pr->lib);
}

static int process_setup(struct process *pr)
{
	const char *triplet = machine_triplet(pr->exe);
	bool is64 = pr->exe->elf_class == ELFCLASS64;
	int r;

	pr->defaults = calloc(1, sizeof(char *));
	if (!pr->defaults)
		return -ENOMEM;
	if (triplet) {
		_cleanup_free_ char *lib = NULL, *usr = NULL, *real = NULL;

		if (asprintf(&lib, "/lib/%s", triplet) < 0 ||
		    asprintf(&usr, "/usr/lib/%s", triplet) < 0)
			return -ENOMEM;
		if (strv_extend(&pr->defaults, lib) < 0 || strv_extend(&pr->defaults, usr) < 0)
			return -ENOMEM;
		r = chase(pr->cl->ctx, usr, &real, NULL);
		if (r == -ENOMEM)
			return r;
		if (r >= 0) {
			_cleanup_close_ int fd =
				bs_sysroot_open(pr->cl->ctx, real, O_RDONLY | O_DIRECTORY);

			if (fd >= 0 && asprintf(&pr->lib, "lib/%s", triplet) < 0)
				return -ENOMEM;
		}
	}
	if (!pr->lib) {
		pr->lib = strdup(is64 ? "lib64" : "lib");
		if (!pr->lib)
			return -ENOMEM;
	}
	for (const char *const *d = is64 ? (const char *const[]){ "/lib64", "/usr/lib64", "/lib",
								  "/usr/lib", NULL } :
					   (const char *const[]){ "/lib32", "/usr/lib32", "/lib",
								  "/usr/lib", NULL };
	     *d; d++)
		if (strv_extend(&pr->defaults, *d) < 0)
			return -ENOMEM;
	if (hashmap_new(HASHMAP_STRING, &pr->by_name) < 0 ||
	    hashmap_new(HASHMAP_STRING, &pr->by_real) < 0)
		return -ENOMEM;
	return 0;
}

/* Finds and loads the DT_NEEDED name of the loaded object li. */
static int process_needed(struct process *pr, size_t li, const char *name)
{
	_cleanup_strv_free_ char **dirs = NULL;
	_cleanup_free_ char *path = NULL, *real = NULL;
	const char *requester = pr->items[li].path;
	struct object *o = NULL;
	uintptr_t v;
	int r = 0;

	v = (uintptr_t)hashmap_get_str(pr->by_name, name);
	if (v > 0)
		return add_entry(pr->cl, BS_ELF_ENTRY_LIBRARY, pr->items[v - 1].path,
				 pr->items[v - 1].obj->real_path, requester, pr->why);

	if (strchr(name, '/')) {
		/* A path, not searched; relative ones are taken from the root. */
		r = expand_dst(pr, name, pr->items[li].origin, &path);
		if (r < 0)
			return r;
		if (path) {
			char *abs = path[0] == '/' ? NULL : path_join("/", path);

			if (path[0] != '/') {
				if (!abs)
					return -ENOMEM;
				free(path);
				path = abs;
			}
			r = try_path(pr, path, &o, &real);
			if (r < 0)
				return r;
		}
		dirs = calloc(1, sizeof(char *));
		if (!dirs)
			return -ENOMEM;
	} else {
		r = search_dirs(pr, li, &dirs);
		if (r < 0)
			return r;
		for (char **d = dirs; *d; d++) {
			free(path);
			path = path_join(*d, name);
			if (!path)
				return -ENOMEM;
			r = try_path(pr, path, &o, &real);
			if (r < 0)
				return r;
			if (r > 0)
				break;
		}
	}

	if (r == 0) {
		pr->any_missing = true;
		return add_missing(pr->cl, name, requester, dirs);
	}

	v = (uintptr_t)hashmap_get_str(pr->by_real, real);
	if (v > 0) {
		/* The same file under another name: ld.so maps it once. */
		r = process_name(pr, name, v - 1);
		if (r < 0)
			return r;
		return add_entry(pr->cl, BS_ELF_ENTRY_LIBRARY, path, real, requester, pr->why);
	}
	r = process_add(pr, o, path, NULL, li);
	if (r < 0)
		return r;
	r = process_name(pr, name, pr->n_items - 1);
	if (r < 0)
		return r;
	r = process_name(pr, o->info->soname, pr->n_items - 1);
	if (r < 0)
		return r;
	return add_entry(pr->cl, BS_ELF_ENTRY_LIBRARY, path, real, requester, pr->why);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp((*(struct bs_elf_entry *const *)a)->path,
		      (*(struct bs_elf_entry *const *)b)->path);
}

static int cmp_link(const void *a, const void *b)
{
	return strcmp((*(struct bs_elf_link *const *)a)->path,
		      (*(struct bs_elf_link *const *)b)->path);
}

static int closure_add(struct process *pr, const char *path)
{
	struct bs_elf_closure *cl = pr->cl;
	_cleanup_(link_list_done) struct link_list links = {};
	_cleanup_free_ char *real = NULL, *origin = NULL;
	struct object *o;
	int r;

	r = chase(cl->ctx, path, &real, &links);
	if (r < 0)
		return r;
	r = get_object(cl, real, &o);
	if (r < 0)
		return r;
	if (!o->info)
		return o->error;
	r = add_links(cl, &links);
	if (r < 0)
		return r;
	pr->exe = o->info;
	r = process_setup(pr);
	if (r < 0)
		return r;

	/* The executable's $ORIGIN is its real directory, as /proc/self/exe gives it. */
	origin = path_dirname(real);
	if (!origin)
		return -ENOMEM;
	r = process_add(pr, o, path, origin, SIZE_MAX);
	if (r < 0)
		return r;
	r = process_name(pr, o->info->soname, 0);
	if (r < 0)
		return r;
	r = add_entry(cl, BS_ELF_ENTRY_BINARY, path, real, NULL, pr->why);
	if (r < 0)
		return r;

	if (o->info->interp) {
		_cleanup_free_ char *ireal = NULL;
		struct object *io = NULL;

		r = try_path(pr, o->info->interp, &io, &ireal);
		if (r < 0)
			return r;
		if (r == 0) {
			pr->any_missing = true;
			r = add_missing(cl, o->info->interp, path, (char *[]){ NULL });
			if (r < 0)
				return r;
		} else if (!hashmap_get_str(pr->by_real, ireal)) {
			r = process_add(pr, io, o->info->interp, NULL, SIZE_MAX);
			if (r < 0)
				return r;
			r = process_name(pr, o->info->interp, pr->n_items - 1);
			if (r < 0)
				return r;
			r = process_name(pr, io->info->soname, pr->n_items - 1);
			if (r < 0)
				return r;
			r = add_entry(cl, BS_ELF_ENTRY_INTERP, o->info->interp, ireal, path,
				      pr->why);
			if (r < 0)
				return r;
		}
	}

	/* Breadth first, as ld.so's _dl_map_object_deps(): the list grows as it is walked. */
	for (size_t i = 0; i < pr->n_items; i++)
		for (size_t k = 0; pr->items[i].obj->info->needed[k]; k++) {
			r = process_needed(pr, i, pr->items[i].obj->info->needed[k]);
			if (r < 0)
				return r;
		}
	return pr->any_missing ? -ENOENT : 0;
}

int bs_elf_closure_add(struct bs_elf_closure *cl, const char *path, const char *why)
{
	_cleanup_free_ char *abs = NULL;
	struct process pr = { .cl = cl, .why = why };
	int r;

	assert(cl);
	assert(path);

	if (!cl->conf_read) {
		r = bs_elf_ld_so_conf_dirs(cl->ctx, &cl->conf_dirs);
		if (r < 0)
			return r;
		cl->conf_read = true;
	}
	abs = path[0] == '/' ? strdup(path) : path_join("/", path);
	if (!abs)
		return -ENOMEM;

	r = closure_add(&pr, abs);
	process_done(&pr);

	if (cl->n_entries > 1)
		qsort(cl->entry_list, cl->n_entries, sizeof(*cl->entry_list), cmp_entry);
	if (cl->n_links > 1)
		qsort(cl->link_list, cl->n_links, sizeof(*cl->link_list), cmp_link);
	if (r < 0 && r != -ENOENT)
		bs_log_debug(cl->ctx, "%s: %s", abs, strerror(-r));
	return r;
}

size_t bs_elf_closure_n_entries(const struct bs_elf_closure *cl)
{
	return cl->n_entries;
}

const struct bs_elf_entry *bs_elf_closure_entry(const struct bs_elf_closure *cl, size_t i)
{
	return i < cl->n_entries ? cl->entry_list[i] : NULL;
}

size_t bs_elf_closure_n_links(const struct bs_elf_closure *cl)
{
	return cl->n_links;
}

const struct bs_elf_link *bs_elf_closure_link(const struct bs_elf_closure *cl, size_t i)
{
	return i < cl->n_links ? cl->link_list[i] : NULL;
}

size_t bs_elf_closure_n_missing(const struct bs_elf_closure *cl)
{
	return cl->n_missing;
}

const struct bs_elf_missing *bs_elf_closure_missing(const struct bs_elf_closure *cl, size_t i)
{
	return i < cl->n_missing ? &cl->missing[i] : NULL;
}

const struct bs_elf_entry *bs_elf_closure_find(const struct bs_elf_closure *cl, const char *path)
{
	return hashmap_get_str(cl->entries, path);
}
