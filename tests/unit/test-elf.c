/* Unit tests of the shared-library resolver (src/lib/image/elf-deps.h): the host's binaries
 * against ldd as an oracle, sysroots with other layouts, objects crafted here, damaged files. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/elf-deps.h"
#include "strv.h"
#include "tests.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref);

static struct bs_ctx *new_ctx(const char *sysroot)
{
	struct bs_ctx_opts opts = { .sysroot = sysroot };
	struct bs_ctx *c;

	ASSERT_OK(bs_ctx_new(&opts, &c));
	return c;
}

/* ----- Crafted objects ----- */

struct craft {
	bool is32; /* an ELF32 i386 header alone */
	uint16_t type; /* default ET_DYN */
	const char *interp;
	const char *soname;
	const char *runpath;
	const char *rpath;
	const char *needed[4];
};

struct buf {
	uint8_t *p;
	size_t n;
};

static size_t buf_put(struct buf *b, const void *data, size_t n)
{
	size_t at = b->n;

	b->p = realloc(b->p, b->n + n);
	ASSERT_NOTNULL(b->p);
	memcpy(b->p + at, data, n);
	b->n += n;
	return at;
}

static void buf_align(struct buf *b, size_t a)
{
	static const uint8_t zero[8];

	while (b->n % a)
		buf_put(b, zero, 1);
}

#define VBASE 0x400000

/* An ELF64 little-endian x86-64 object: one PT_LOAD mapping the whole file at VBASE, then
 * PT_DYNAMIC and PT_INTERP, the string table, the dynamic section. */
static struct buf craft_elf(const struct craft *cr)
{
	struct buf b = {};
	Elf64_Ehdr eh = {};
	Elf64_Phdr ph[3] = {};
	Elf64_Dyn dyn[12] = {};
	size_t n_dyn = 0, interp_at = 0, str_at, str_len, dyn_at;
	struct buf strtab = {};

	if (cr->is32) {
		Elf32_Ehdr e32 = {};

		memcpy(e32.e_ident, ELFMAG, SELFMAG);
		e32.e_ident[EI_CLASS] = ELFCLASS32;
		e32.e_ident[EI_DATA] = ELFDATA2LSB;
		e32.e_ident[EI_VERSION] = EV_CURRENT;
		e32.e_type = ET_DYN;
		e32.e_machine = EM_386;
		e32.e_version = EV_CURRENT;
		e32.e_ehsize = sizeof(e32);
		buf_put(&b, &e32, sizeof(e32));
		return b;
	}

	buf_put(&strtab, "", 1);
#define STR(s) buf_put(&strtab, (s), strlen(s) + 1)
	for (size_t i = 0; i < ELEMENTSOF(cr->needed) && cr->needed[i]; i++)
		dyn[n_dyn++] = (Elf64_Dyn){ DT_NEEDED, { STR(cr->needed[i]) } };
	if (cr->soname)
		dyn[n_dyn++] = (Elf64_Dyn){ DT_SONAME, { STR(cr->soname) } };
	if (cr->runpath)
		dyn[n_dyn++] = (Elf64_Dyn){ DT_RUNPATH, { STR(cr->runpath) } };
	if (cr->rpath)
		dyn[n_dyn++] = (Elf64_Dyn){ DT_RPATH, { STR(cr->rpath) } };
#undef STR

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = cr->type ? cr->type : ET_DYN;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = cr->interp ? 3 : 2;
	buf_put(&b, &eh, sizeof(eh));
	buf_put(&b, ph, sizeof(Elf64_Phdr) * eh.e_phnum);
	if (cr->interp)
		interp_at = buf_put(&b, cr->interp, strlen(cr->interp) + 1);
	str_at = buf_put(&b, strtab.p, strtab.n);
	str_len = strtab.n;
	free(strtab.p);
	buf_align(&b, 8);
	dyn[n_dyn++] = (Elf64_Dyn){ DT_STRTAB, { VBASE + str_at } };
	dyn[n_dyn++] = (Elf64_Dyn){ DT_STRSZ, { str_len } };
	dyn[n_dyn++] = (Elf64_Dyn){ DT_NULL, { 0 } };
	dyn_at = buf_put(&b, dyn, sizeof(Elf64_Dyn) * n_dyn);

	ph[0] = (Elf64_Phdr){
		.p_type = PT_LOAD, .p_offset = 0, .p_vaddr = VBASE, .p_filesz = b.n, .p_memsz = b.n
	};
	ph[1] = (Elf64_Phdr){ .p_type = PT_DYNAMIC,
			      .p_offset = dyn_at,
			      .p_vaddr = VBASE + dyn_at,
			      .p_filesz = sizeof(Elf64_Dyn) * n_dyn };
	if (cr->interp)
		ph[2] = (Elf64_Phdr){ .p_type = PT_INTERP,
				      .p_offset = interp_at,
				      .p_filesz = strlen(cr->interp) + 1 };
	memcpy(b.p + sizeof(eh), ph, sizeof(Elf64_Phdr) * eh.e_phnum);
	return b;
}

/* Creates dir/relpath with the n bytes at data. Never through a symlink: a sysroot's absolute
 * links point at the host's files, and a test must not write there. An existing file is
 * left as it is. */
static void write_bytes(const char *dir, const char *relpath, const void *data, size_t n)
{
	_cleanup_free_ char *path = NULL, *parent = NULL;
	char real_dir[PATH_MAX], real_parent[PATH_MAX];
	int fd;

	ASSERT_TRUE(asprintf(&path, "%s/%s", dir, relpath) >= 0);
	parent = strdup(path);
	ASSERT_NOTNULL(parent);
	*strrchr(parent, '/') = '\0';
	if (strrchr(relpath, '/')) {
		_cleanup_free_ char *rel_parent =
			strndup(relpath, (size_t)(strrchr(relpath, '/') - relpath));

		ASSERT_NOTNULL(rel_parent);
		test_mkdir_p(dir, rel_parent);
	}
	ASSERT_NOTNULL(realpath(dir, real_dir));
	ASSERT_NOTNULL(realpath(parent, real_parent));
	ASSERT_TRUE(strncmp(real_parent, real_dir, strlen(real_dir)) == 0);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (fd < 0 && errno == EEXIST)
		return;
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, data, n), (ssize_t)n);
	ASSERT_EQ(close(fd), 0);
}

static void write_elf(const char *dir, const char *relpath, const struct craft *cr)
{
	struct buf b = craft_elf(cr);

	write_bytes(dir, relpath, b.p, b.n);
	free(b.p);
}

static void copy_host_file(const char *src, const char *dir, const char *relpath)
{
	_cleanup_free_ char *data = NULL;
	size_t n = 0, allocated = 0;
	FILE *f = fopen(src, "re");

	ASSERT_NOTNULL(f);
	for (;;) {
		size_t k;

		if (allocated - n < 65536) {
			allocated = allocated ? allocated * 2 : 1 << 20;
			data = realloc(data, allocated);
			ASSERT_NOTNULL(data);
		}
		k = fread(data + n, 1, allocated - n, f);
		if (k == 0)
			break;
		n += k;
	}
	fclose(f);
	write_bytes(dir, relpath, data, n);
}

static const struct bs_elf_entry *find(struct bs_elf_closure *cl, const char *path)
{
	const struct bs_elf_entry *e = bs_elf_closure_find(cl, path);

	if (!e)
		test_fail(TEST_FILE, __LINE__, "no entry for %s", path);
	return e;
}

/* ----- The parser ----- */

TEST(parse_crafted)
{
	struct craft cr = { .interp = "/lib64/ld-linux-x86-64.so.2",
			    .soname = "libx.so.1",
			    .runpath = "$ORIGIN/../lib",
			    .rpath = "/ignored",
			    .needed = { "liba.so.1", "libb.so.2" } };
	struct buf b = craft_elf(&cr);
	struct bs_elf_info *info;

	ASSERT_OK(bs_elf_parse(b.p, b.n, &info));
	ASSERT_EQ(info->elf_class, ELFCLASS64);
	ASSERT_EQ(info->machine, EM_X86_64);
	ASSERT_STREQ(info->interp, "/lib64/ld-linux-x86-64.so.2");
	ASSERT_STREQ(info->soname, "libx.so.1");
	ASSERT_STREQ(info->runpath, "$ORIGIN/../lib");
	/* DT_RUNPATH voids DT_RPATH, as in ld.so. */
	ASSERT_NULL(info->rpath);
	ASSERT_EQ(strv_length(info->needed), 2);
	ASSERT_STREQ(info->needed[0], "liba.so.1");
	ASSERT_STREQ(info->needed[1], "libb.so.2");
	bs_elf_info_free(info);
	free(b.p);
}

TEST(parse_truncated_never_reads_past_the_end)
{
	struct craft cr = { .interp = "/lib/ld.so", .runpath = "/r", .needed = { "liba.so" } };
	struct buf b = craft_elf(&cr);

	/* Every prefix, each in a buffer of exactly that size, so ASan sees any overread. */
	for (size_t n = 0; n < b.n; n++) {
		uint8_t *p = malloc(n ? n : 1);
		struct bs_elf_info *info = NULL;
		int r;

		ASSERT_NOTNULL(p);
		memcpy(p, b.p, n);
		r = bs_elf_parse(p, n, &info);
		if (r >= 0)
			bs_elf_info_free(info);
		else
			ASSERT_EQ(r, -ENOEXEC);
		free(p);
	}
	/* The whole file parses; a file cut inside the headers does not. */
	{
		struct bs_elf_info *info;

		ASSERT_OK(bs_elf_parse(b.p, b.n, &info));
		bs_elf_info_free(info);
		ASSERT_ERR(bs_elf_parse(b.p, b.n / 2, &info), -ENOEXEC);
		ASSERT_ERR(bs_elf_parse(b.p, 20, &info), -ENOEXEC);
	}
	free(b.p);
}

TEST(parse_bogus_offsets)
{
	struct craft cr = { .needed = { "liba.so" } };
	struct bs_elf_info *info;
	struct buf b;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	Elf64_Dyn *dyn;

#define FRESH()                                                                                    \
	do {                                                                                       \
		b = craft_elf(&cr);                                                                \
		eh = (Elf64_Ehdr *)b.p;                                                            \
		ph = (Elf64_Phdr *)(b.p + eh->e_phoff);                                            \
		dyn = (Elf64_Dyn *)(b.p + ph[1].p_offset);                                         \
	} while (0)

	/* Program headers past the end, or too many of them. */
	FRESH();
	eh->e_phoff = UINT64_MAX - 8;
	ASSERT_ERR(bs_elf_parse(b.p, b.n, &info), -ENOEXEC);
	free(b.p);
	FRESH();
	eh->e_phnum = 60000;
	ASSERT_ERR(bs_elf_parse(b.p, b.n, &info), -ENOEXEC);
	free(b.p);
	FRESH();
	eh->e_phentsize = 8;
	ASSERT_ERR(bs_elf_parse(b.p, b.n, &info), -ENOEXEC);
	free(b.p);
	/* A dynamic section past the end. */
	FRESH();
	ph[1].p_offset = b.n - 8;
	ASSERT_ERR(bs_elf_parse(b.p, b.n, &info), -ENOEXEC);
	free(b.p);
	FRESH();
	ph[1].p_filesz = UINT64_MAX;
	ASSERT_ERR(bs_elf_parse(b.p, b.n, &info), -ENOEXEC);
	free(b.p);
	/* DT_STRTAB at an address no PT_LOAD maps, or the load's offset out of the file. */
	FRESH();
	dyn[1].d_un.d_ptr = 0x10;
	ASSERT_ERR(bs_elf_parse(b.p, b.n, &info), -ENOEXEC);
	free(b.p);
	FRESH();
	ph[0].p_offset = UINT64_MAX - 2;
	ASSERT_ERR(bs_elf_parse(b.p, b.n, &info), -ENOEXEC);
	free(b.p);
	FRESH();
	ph[0].p_filesz = UINT64_MAX;
	ph[0].p_vaddr = 0;
	dyn[1].d_un.d_ptr = UINT64_MAX - 1;
	ASSERT_ERR(bs_elf_parse(b.p, b.n, &info), -ENOEXEC);
	free(b.p);
	/* A DT_NEEDED beyond DT_STRSZ, or a string without its NUL. */
	FRESH();
	dyn[0].d_un.d_val = 1000;
	ASSERT_ERR(bs_elf_parse(b.p, b.n, &info), -ENOEXEC);
	free(b.p);
	FRESH();
	dyn[2].d_un.d_val = 3; /* DT_STRSZ cuts "liba.so" */
	ASSERT_ERR(bs_elf_parse(b.p, b.n, &info), -ENOEXEC);
	free(b.p);
	/* Not an ELF, another version, a relocatable. */
	ASSERT_ERR(bs_elf_parse("#!/bin/sh\necho hello\n", 21, &info), -ENOEXEC);
	ASSERT_ERR(bs_elf_parse("", 0, &info), -ENOEXEC);
	FRESH();
	eh->e_ident[EI_VERSION] = 2;
	ASSERT_ERR(bs_elf_parse(b.p, b.n, &info), -ENOEXEC);
	free(b.p);
	FRESH();
	eh->e_type = ET_REL;
	ASSERT_ERR(bs_elf_parse(b.p, b.n, &info), -ENOEXEC);
	free(b.p);
	/* PN_XNUM without a section header to hold the count. */
	FRESH();
	eh->e_phnum = PN_XNUM;
	eh->e_shoff = b.n + 100;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	ASSERT_ERR(bs_elf_parse(b.p, b.n, &info), -ENOEXEC);
	free(b.p);
#undef FRESH
}

TEST(parse_big_endian_and_elf32)
{
	/* An ELF32 big-endian header with no segments, built by hand: a PowerPC object. */
	uint8_t h[sizeof(Elf32_Ehdr)] = {
		0x7f, 'E', 'L', 'F', ELFCLASS32, ELFDATA2MSB, EV_CURRENT
	};
	struct bs_elf_info *info;

	h[16] = 0, h[17] = ET_EXEC;
	h[18] = 0, h[19] = EM_PPC;
	h[20] = h[21] = h[22] = 0, h[23] = EV_CURRENT;
	ASSERT_OK(bs_elf_parse(h, sizeof(h), &info));
	ASSERT_EQ(info->elf_class, ELFCLASS32);
	ASSERT_EQ(info->data, ELFDATA2MSB);
	ASSERT_EQ(info->machine, EM_PPC);
	ASSERT_EQ(info->type, ET_EXEC);
	ASSERT_FALSE(info->dynamic);
	ASSERT_NULL(info->needed[0]);
	bs_elf_info_free(info);
}

/* ----- ld.so.conf ----- */

TEST(ld_so_conf_includes_comments_hwcap)
{
	const char *dir = test_tmpdir();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	char **dirs;

	test_write_file(dir, "etc/ld.so.conf",
			"# comment\n/first/lib/ # trailing comment\n"
			"include ld.so.conf.d/*.conf\n"
			"hwcap 0 nosegneg\n"
			"include /etc/abs.conf /etc/missing-*.conf\n"
			"  /last  \n/first/lib\nrelative/ignored\n");
	test_write_file(dir, "etc/ld.so.conf.d/b.conf", "/b\n");
	test_write_file(dir, "etc/ld.so.conf.d/a.conf", "/a\n");
	test_write_file(dir, "etc/ld.so.conf.d/.hidden.conf", "/hidden\n");
	test_write_file(dir, "etc/ld.so.conf.d/c.txt", "/not-conf\n");
	test_write_file(dir, "etc/abs.conf", "/abs=libc6\n");
	c = new_ctx(dir);
	ASSERT_OK(bs_elf_ld_so_conf_dirs(c, &dirs));
	ASSERT_STREQ(dirs[0], "/first/lib");
	ASSERT_STREQ(dirs[1], "/a");
	ASSERT_STREQ(dirs[2], "/b");
	ASSERT_STREQ(dirs[3], "/abs");
	ASSERT_STREQ(dirs[4], "/last");
	ASSERT_NULL(dirs[5]);
	strv_free(dirs);
}

TEST(ld_so_conf_include_cycle_ends)
{
	const char *dir = test_tmpdir();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	char **dirs;

	test_write_file(dir, "etc/ld.so.conf", "include ld.so.conf.d/*\n/x\n");
	test_write_file(dir, "etc/ld.so.conf.d/loop.conf", "include /etc/ld.so.conf\n/y\n");
	c = new_ctx(dir);
	/* ldconfig would loop forever; the nesting cap stops it, each directory once. */
	ASSERT_OK(bs_elf_ld_so_conf_dirs(c, &dirs));
	ASSERT_STREQ(dirs[0], "/x");
	ASSERT_STREQ(dirs[1], "/y");
	ASSERT_NULL(dirs[2]);
	strv_free(dirs);
}

TEST(ld_so_conf_missing_is_empty)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(test_tmpdir());
	char **dirs;

	ASSERT_OK(bs_elf_ld_so_conf_dirs(c, &dirs));
	ASSERT_NULL(dirs[0]);
	strv_free(dirs);
}

/* ----- The search, on crafted objects ----- */

TEST(origin_runpath_is_not_inherited)
{
	const char *dir = test_tmpdir();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;
	const struct bs_elf_missing *m;

	write_elf(dir, "usr/bin/prog",
		  &(struct craft){ .type = ET_EXEC,
				   .runpath = "${ORIGIN}/../private",
				   .needed = { "liba.so" } });
	write_elf(dir, "usr/private/liba.so", &(struct craft){ .needed = { "libb.so" } });
	write_elf(dir, "usr/private/libb.so", &(struct craft){ .soname = "libb.so" });
	c = new_ctx(dir);
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	/* RUNPATH applies to the object's own DT_NEEDED only: libb.so is not found. */
	ASSERT_ERR(bs_elf_closure_add(cl, "/usr/bin/prog", "test"), -ENOENT);
	ASSERT_STREQ(find(cl, "/usr/bin/../private/liba.so")->real_path, "/usr/private/liba.so");
	ASSERT_EQ(bs_elf_closure_n_missing(cl), 1);
	m = bs_elf_closure_missing(cl, 0);
	ASSERT_STREQ(m->name, "libb.so");
	ASSERT_STREQ(m->needed_by, "/usr/bin/../private/liba.so");
	ASSERT_TRUE(strstr(m->searched, "/lib64") != NULL);
	ASSERT_TRUE(strstr(m->searched, "private") == NULL);
}

TEST(origin_rpath_is_inherited)
{
	const char *dir = test_tmpdir();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;
	const struct bs_elf_entry *e;

	write_elf(dir, "usr/bin/prog",
		  &(struct craft){ .type = ET_EXEC,
				   .rpath = "$ORIGIN/../private",
				   .needed = { "liba.so" } });
	write_elf(dir, "usr/private/liba.so", &(struct craft){ .needed = { "libb.so" } });
	write_elf(dir, "usr/private/libb.so", &(struct craft){ .soname = "libb.so" });
	/* Called through a symlink: $ORIGIN of the executable is its real directory. */
	test_symlink(dir, "sbin/prog", "/usr/bin/prog");
	c = new_ctx(dir);
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	ASSERT_OK(bs_elf_closure_add(cl, "/sbin/prog", "test"));
	ASSERT_EQ(bs_elf_closure_n_entries(cl), 3);
	e = bs_elf_closure_entry(cl, 0);
	ASSERT_STREQ(e->path, "/sbin/prog");
	ASSERT_EQ(e->kind, BS_ELF_ENTRY_BINARY);
	ASSERT_STREQ(e->real_path, "/usr/bin/prog");
	ASSERT_STREQ(e->link_target, "/usr/bin/prog");
	ASSERT_STREQ(e->why, "test");
	e = find(cl, "/usr/bin/../private/libb.so");
	ASSERT_STREQ(e->real_path, "/usr/private/libb.so");
	ASSERT_STREQ(e->needed_by[0], "/usr/bin/../private/liba.so");
	ASSERT_NULL(e->link_target);
	ASSERT_EQ(bs_elf_closure_n_links(cl), 1);
	ASSERT_STREQ(bs_elf_closure_link(cl, 0)->path, "/sbin/prog");
}

TEST(wrong_class_and_non_elf_are_skipped)
{
	const char *dir = test_tmpdir();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;

	write_elf(dir, "bin/prog",
		  &(struct craft){ .type = ET_EXEC,
				   .rpath = "/p0:/p32:/pdir:/p64",
				   .needed = { "libb.so" } });
	test_write_file(dir, "p0/libb.so", "INPUT(-lb)\n");
	write_elf(dir, "p32/libb.so", &(struct craft){ .is32 = true });
	test_mkdir_p(dir, "pdir/libb.so");
	write_elf(dir, "p64/libb.so", &(struct craft){});
	c = new_ctx(dir);
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	ASSERT_OK(bs_elf_closure_add(cl, "/bin/prog", NULL));
	ASSERT_EQ(bs_elf_closure_n_entries(cl), 2);
	ASSERT_STREQ(bs_elf_closure_entry(cl, 1)->path, "/p64/libb.so");
	ASSERT_STREQ(bs_elf_closure_entry(cl, 1)->needed_by[0], "/bin/prog");
}

TEST(needed_cycle_terminates)
{
	const char *dir = test_tmpdir();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;
	const struct bs_elf_entry *e;

	write_elf(dir, "bin/prog", &(struct craft){ .type = ET_EXEC, .needed = { "libc1.so" } });
	write_elf(dir, "lib/libc1.so", &(struct craft){ .needed = { "libc2.so", "libc1.so" } });
	write_elf(dir, "lib/libc2.so", &(struct craft){ .needed = { "libc1.so" } });
	c = new_ctx(dir);
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	ASSERT_OK(bs_elf_closure_add(cl, "/bin/prog", "x"));
	ASSERT_EQ(bs_elf_closure_n_entries(cl), 3);
	e = find(cl, "/lib/libc1.so");
	ASSERT_EQ(strv_length(e->needed_by), 3);
	ASSERT_STREQ(e->needed_by[0], "/bin/prog");
	ASSERT_STREQ(e->needed_by[1], "/lib/libc1.so");
	ASSERT_STREQ(e->needed_by[2], "/lib/libc2.so");
}

TEST(interp_soname_satisfies_needed)
{
	const char *dir = test_tmpdir();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;
	const struct bs_elf_entry *e;

	write_elf(dir, "usr/bin/prog",
		  &(struct craft){ .type = ET_EXEC,
				   .interp = "/lib64/ld-linux-x86-64.so.2",
				   .needed = { "libc.so.6" } });
	write_elf(dir, "usr/lib/x86_64-linux-gnu/libc.so.6",
		  &(struct craft){ .soname = "libc.so.6", .needed = { "ld-linux-x86-64.so.2" } });
	write_elf(dir, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		  &(struct craft){ .soname = "ld-linux-x86-64.so.2" });
	/* Debian 12's merged /usr, with absolute links that must resolve inside the sysroot. */
	test_symlink(dir, "lib", "/usr/lib");
	test_symlink(dir, "lib64", "usr/lib64");
	test_symlink(dir, "usr/lib64/ld-linux-x86-64.so.2",
		     "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
	c = new_ctx(dir);
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	ASSERT_OK(bs_elf_closure_add(cl, "/usr/bin/prog", "x"));
	ASSERT_EQ(bs_elf_closure_n_entries(cl), 3);
	e = find(cl, "/lib64/ld-linux-x86-64.so.2");
	ASSERT_EQ(e->kind, BS_ELF_ENTRY_INTERP);
	ASSERT_STREQ(e->real_path, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
	ASSERT_STREQ(e->link_target, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
	ASSERT_STREQ(e->needed_by[0], "/lib/x86_64-linux-gnu/libc.so.6");
	ASSERT_STREQ(e->needed_by[1], "/usr/bin/prog");
	ASSERT_STREQ(find(cl, "/lib/x86_64-linux-gnu/libc.so.6")->real_path,
		     "/usr/lib/x86_64-linux-gnu/libc.so.6");
	ASSERT_EQ(bs_elf_closure_n_links(cl), 3);
	ASSERT_STREQ(bs_elf_closure_link(cl, 0)->path, "/lib");
	ASSERT_STREQ(bs_elf_closure_link(cl, 0)->target, "/usr/lib");
	ASSERT_STREQ(bs_elf_closure_link(cl, 1)->path, "/lib64");
	ASSERT_STREQ(bs_elf_closure_link(cl, 2)->path, "/usr/lib64/ld-linux-x86-64.so.2");
}

TEST(bad_roots)
{
	const char *dir = test_tmpdir();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;
	struct buf b = craft_elf(&(struct craft){ .needed = { "liba.so" } });

	test_write_file(dir, "bin/script", "#!/bin/sh\n");
	write_bytes(dir, "bin/truncated", b.p, b.n - 10);
	free(b.p);
	test_symlink(dir, "bin/loop", "loop");
	c = new_ctx(dir);
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	ASSERT_ERR(bs_elf_closure_add(cl, "/bin/script", NULL), -ENOEXEC);
	ASSERT_ERR(bs_elf_closure_add(cl, "/bin/truncated", NULL), -ENOEXEC);
	ASSERT_ERR(bs_elf_closure_add(cl, "/bin/missing", NULL), -ENOENT);
	ASSERT_ERR(bs_elf_closure_add(cl, "/bin/loop", NULL), -ELOOP);
	ASSERT_ERR(bs_elf_closure_add(cl, "/bin", NULL), -EISDIR);
	ASSERT_EQ(bs_elf_closure_n_entries(cl), 0);
}

/* ----- The host's binaries, with ldd as the oracle ----- */

/* The real paths of what `ldd path` lists, sorted; NULL when ldd cannot be run. The paths
 * as ldd prints them go to *ret_paths. */
static char **ldd_real_paths(const char *path, char ***ret_paths)
{
	_cleanup_free_ char *cmd = NULL;
	char **l = calloc(1, sizeof(char *));
	char line[4096];
	FILE *p;

	ASSERT_NOTNULL(l);
	ASSERT_TRUE(asprintf(&cmd, "ldd %s 2>/dev/null", path) >= 0);
	p = popen(cmd, "re");
	if (!p)
		return strv_free(l);
	while (fgets(line, sizeof(line), p)) {
		char *s = strstrip(line), *arrow = strstr(s, "=> "), *start = NULL, real[PATH_MAX];

		if (arrow)
			start = arrow + 3;
		else if (s[0] == '/')
			start = s; /* the interpreter: "/lib64/ld-linux-x86-64.so.2 (0x...)" */
		if (!start || start[0] != '/')
			continue; /* linux-vdso.so.1, "not found" */
		start[strcspn(start, " \t(")] = '\0';
		if (!strv_contains(*ret_paths, start))
			ASSERT_OK(strv_extend(ret_paths, start));
		ASSERT_NOTNULL(realpath(start, real));
		if (!strv_contains(l, real))
			ASSERT_OK(strv_extend(&l, real));
	}
	if (pclose(p) != 0 || !l[0])
		return strv_free(l);
	strv_sort(l);
	return l;
}

static bool check_against_ldd(const char *path)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx("/");
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;
	_cleanup_strv_free_ char **oracle = NULL, **ours = NULL, **ldd_paths = NULL;
	_cleanup_free_ char *a = NULL, *b = NULL;
	char real_exe[PATH_MAX];

	if (access(path, X_OK) < 0)
		return false;
	oracle = ldd_real_paths(path, &ldd_paths);
	if (!oracle)
		SKIP("ldd cannot be run on %s", path);
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	ASSERT_OK(bs_elf_closure_add(cl, path, "test"));
	ASSERT_NOTNULL(realpath(path, real_exe));
	for (size_t i = 0; i < bs_elf_closure_n_entries(cl); i++) {
		const struct bs_elf_entry *e = bs_elf_closure_entry(cl, i);

		if (e->kind == BS_ELF_ENTRY_BINARY)
			continue;
		if (!strv_contains(ours, e->real_path))
			ASSERT_OK(strv_extend(&ours, e->real_path));
		/* ldd prints the paths of ld.so.cache, which ldconfig fills from the same
		 * directories: a different path to the same file is a note, not a failure. */
		if (!strv_contains(ldd_paths, e->path))
			fprintf(stderr, "note: %s: %s is not a path ldd prints (same file: %s)\n",
				path, e->path, e->real_path);
	}
	strv_sort(ours);
	ASSERT_OK(strv_join(oracle, "\n", &a));
	ASSERT_OK(strv_join(ours, "\n", &b));
	fprintf(stderr, "%s: %zu files, as ldd\n", path, strv_length(ours));
	ASSERT_STREQ(b, a);
	return true;
}

TEST(host_closure_matches_ldd)
{
	if (!check_against_ldd("/usr/sbin/mdadm") && !check_against_ldd("/bin/ls"))
		SKIP("neither /usr/sbin/mdadm nor /bin/ls");
	(void)check_against_ldd("/usr/sbin/cryptsetup");
	(void)check_against_ldd("/sbin/lvm");
}

TEST(host_interpreter_is_included)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx("/");
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;
	const struct bs_elf_entry *e;
	char real[PATH_MAX];

#if !defined(__x86_64__)
	SKIP("the interpreter's path is x86-64's");
#endif
	if (access("/lib64/ld-linux-x86-64.so.2", R_OK) < 0)
		SKIP("no /lib64/ld-linux-x86-64.so.2");
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	ASSERT_OK(bs_elf_closure_add(cl, "/bin/ls", "test"));
	e = find(cl, "/lib64/ld-linux-x86-64.so.2");
	ASSERT_EQ(e->kind, BS_ELF_ENTRY_INTERP);
	ASSERT_NOTNULL(realpath("/lib64/ld-linux-x86-64.so.2", real));
	ASSERT_STREQ(e->real_path, real);
}

/* ----- A sysroot laid out otherwise, from the host's files ----- */

/* Copies /bin/ls into dir/usr/bin/ls, its interpreter to dir/interp (NULL: the same path),
 * and each library into dir/libdir; returns the libraries' names. */
static char **copy_ls(const char *dir, const char *libdir, const char *interp)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx("/");
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;
	char **names = calloc(1, sizeof(char *));

	ASSERT_NOTNULL(names);
	if (access("/bin/ls", X_OK) < 0)
		SKIP("no /bin/ls");
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	ASSERT_OK(bs_elf_closure_add(cl, "/bin/ls", "test"));
	for (size_t i = 0; i < bs_elf_closure_n_entries(cl); i++) {
		const struct bs_elf_entry *e = bs_elf_closure_entry(cl, i);
		_cleanup_free_ char *rel = NULL;
		const char *base = strrchr(e->path, '/') + 1;

		switch (e->kind) {
		case BS_ELF_ENTRY_BINARY:
			copy_host_file(e->real_path, dir, "usr/bin/ls");
			break;
		case BS_ELF_ENTRY_INTERP:
			copy_host_file(e->real_path, dir, interp ? interp : e->path + 1);
			break;
		case BS_ELF_ENTRY_LIBRARY:
			ASSERT_TRUE(asprintf(&rel, "%s/%s", libdir, base) >= 0);
			copy_host_file(e->real_path, dir, rel);
			ASSERT_OK(strv_extend(&names, base));
			break;
		}
	}
	ASSERT_TRUE(names[0] != NULL);
	return names;
}

TEST(sysroot_libraries_from_ld_so_conf)
{
	const char *dir = test_tmpdir();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;
	_cleanup_strv_free_ char **names = copy_ls(dir, "opt/lib", NULL);
	_cleanup_free_ char *gone = NULL;
	const struct bs_elf_missing *m;

	test_write_file(dir, "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n");
	test_write_file(dir, "etc/ld.so.conf.d/x.conf", "# the libraries\n/opt/lib\n");
	c = new_ctx(dir);
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	ASSERT_OK(bs_elf_closure_add(cl, "/usr/bin/ls", "test"));
	for (char **n = names; *n; n++) {
		_cleanup_free_ char *p = NULL;

		ASSERT_TRUE(asprintf(&p, "/opt/lib/%s", *n) >= 0);
		ASSERT_STREQ(find(cl, p)->real_path, p);
	}
	for (size_t i = 0; i < bs_elf_closure_n_entries(cl); i++) {
		const struct bs_elf_entry *e = bs_elf_closure_entry(cl, i);

		if (e->kind == BS_ELF_ENTRY_LIBRARY)
			ASSERT_TRUE(startswith(e->real_path, "/opt/lib/") != NULL);
	}

	/* The host has libc.so.6, the sysroot no longer does. */
	bs_elf_closure_free(TAKE_PTR(cl));
	ASSERT_TRUE(asprintf(&gone, "%s/opt/lib/libc.so.6", dir) >= 0);
	ASSERT_EQ(unlink(gone), 0);
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	ASSERT_ERR(bs_elf_closure_add(cl, "/usr/bin/ls", "test"), -ENOENT);
	ASSERT_TRUE(bs_elf_closure_n_missing(cl) >= 1);
	m = bs_elf_closure_missing(cl, 0);
	ASSERT_STREQ(m->name, "libc.so.6");
	ASSERT_STREQ(m->needed_by, "/usr/bin/ls");
	ASSERT_TRUE(startswith(m->searched, "/opt/lib:") != NULL);
	ASSERT_NULL(bs_elf_closure_find(cl, "/lib/x86_64-linux-gnu/libc.so.6"));
	ASSERT_NULL(bs_elf_closure_find(cl, "/usr/lib/x86_64-linux-gnu/libc.so.6"));
}

TEST(sysroot_merged_usr_with_absolute_links)
{
	const char *dir = test_tmpdir();
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL;
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;
	_cleanup_strv_free_ char **names = NULL;
	_cleanup_free_ char *gone = NULL;

#if !defined(__x86_64__)
	SKIP("the layout is x86-64's");
#endif
	if (access("/lib64/ld-linux-x86-64.so.2", R_OK) < 0)
		SKIP("no /lib64/ld-linux-x86-64.so.2");
	/* The links are made after the copies, which write_bytes() never makes through a
	 * link: /usr/lib64 here would be the host's. */
	names = copy_ls(dir, "usr/lib/x86_64-linux-gnu", "usr/lib64/ld-linux-x86-64.so.2");
	test_symlink(dir, "lib64", "/usr/lib64");
	test_symlink(dir, "lib", "/usr/lib");
	c = new_ctx(dir);
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	ASSERT_OK(bs_elf_closure_add(cl, "/usr/bin/ls", "test"));
	for (char **n = names; *n; n++) {
		_cleanup_free_ char *p = NULL, *real = NULL;

		ASSERT_TRUE(asprintf(&p, "/lib/x86_64-linux-gnu/%s", *n) >= 0);
		ASSERT_TRUE(asprintf(&real, "/usr/lib/x86_64-linux-gnu/%s", *n) >= 0);
		ASSERT_STREQ(find(cl, p)->real_path, real);
	}
	ASSERT_STREQ(find(cl, "/lib64/ld-linux-x86-64.so.2")->real_path,
		     "/usr/lib64/ld-linux-x86-64.so.2");
	ASSERT_STREQ(bs_elf_closure_link(cl, 0)->path, "/lib");
	ASSERT_STREQ(bs_elf_closure_link(cl, 0)->target, "/usr/lib");

	/* Removed from the sysroot, the library is missing, although the host's /usr/lib has
	 * it and the link /lib -> /usr/lib would reach it if followed outside. */
	bs_elf_closure_free(TAKE_PTR(cl));
	ASSERT_TRUE(asprintf(&gone, "%s/usr/lib/x86_64-linux-gnu/libc.so.6", dir) >= 0);
	ASSERT_EQ(unlink(gone), 0);
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	ASSERT_ERR(bs_elf_closure_add(cl, "/usr/bin/ls", "test"), -ENOENT);
	ASSERT_STREQ(bs_elf_closure_missing(cl, 0)->name, "libc.so.6");
}

/* ----- Objects the build linked, with RUNPATH and RPATH ----- */

static void check_built(const char *exe, bool runpath)
{
	const char *dir = test_tmpdir(), *built = getenv("BLKSTACK_ELF_TEST_DIR");
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = NULL, *host = new_ctx("/");
	_cleanup_(bs_elf_closure_freep) struct bs_elf_closure *cl = NULL;
	_cleanup_free_ char *src = NULL, *rel = NULL;
	const struct bs_elf_entry *e;
	int r;

	if (!built)
		SKIP("BLKSTACK_ELF_TEST_DIR is not set");
	/* Copy what the build linked as a system would install it: the program in usr/bin,
	 * its private libraries in usr/private, the host's own libraries where they are. */
	ASSERT_TRUE(asprintf(&src, "%s/%s", built, exe) >= 0);
	ASSERT_OK(bs_elf_closure_new(host, &cl));
	/* In the build tree, the RUNPATH program's libelftest-b.so is not found either. */
	(void)bs_elf_closure_add(cl, src, "test");
	ASSERT_TRUE(bs_elf_closure_n_entries(cl) > 3);
	for (size_t i = 0; i < bs_elf_closure_n_entries(cl); i++) {
		const char *p;

		e = bs_elf_closure_entry(cl, i);
		p = strrchr(e->path, '/') + 1;
		free(rel);
		if (e->kind == BS_ELF_ENTRY_BINARY)
			ASSERT_TRUE(asprintf(&rel, "usr/bin/%s", exe) >= 0);
		else if (startswith(p, "libelftest-"))
			ASSERT_TRUE(asprintf(&rel, "usr/private/%s", p) >= 0);
		else
			/* The host's file under the name the loader looks for. */
			ASSERT_TRUE(asprintf(&rel, "%.*s/%s",
					     (int)(strrchr(e->real_path, '/') - e->real_path - 1),
					     e->real_path + 1, p) >= 0);
		copy_host_file(e->real_path, dir, rel);
		if (e->kind == BS_ELF_ENTRY_INTERP && !streq(e->path, e->real_path))
			copy_host_file(e->real_path, dir, e->path + 1);
	}
	bs_elf_closure_free(TAKE_PTR(cl));
	free(src);
	ASSERT_TRUE(asprintf(&src, "%s/libelftest-b.so", built) >= 0);
	copy_host_file(src, dir, "usr/private/libelftest-b.so");

	c = new_ctx(dir);
	free(rel);
	ASSERT_TRUE(asprintf(&rel, "/usr/bin/%s", exe) >= 0);
	ASSERT_OK(bs_elf_closure_new(c, &cl));
	r = bs_elf_closure_add(cl, rel, "test");
	for (size_t i = 0; i < bs_elf_closure_n_missing(cl); i++)
		fprintf(stderr, "missing %s, needed by %s, in %s\n",
			bs_elf_closure_missing(cl, i)->name,
			bs_elf_closure_missing(cl, i)->needed_by,
			bs_elf_closure_missing(cl, i)->searched);
	if (runpath) {
		/* libelftest-a.so is found through the program's RUNPATH; libelftest-b.so,
		 * which only libelftest-a.so needs, is not. */
		ASSERT_ERR(r, -ENOENT);
		ASSERT_EQ(bs_elf_closure_n_missing(cl), 1);
		ASSERT_STREQ(bs_elf_closure_missing(cl, 0)->name, "libelftest-b.so");
	} else {
		/* The program's RPATH serves its libraries' DT_NEEDED too. */
		ASSERT_OK(r);
		e = find(cl, "/usr/bin/../private/libelftest-b.so");
		ASSERT_STREQ(e->real_path, "/usr/private/libelftest-b.so");
		ASSERT_STREQ(e->needed_by[0], "/usr/bin/../private/libelftest-a.so");
	}
	e = find(cl, "/usr/bin/../private/libelftest-a.so");
	ASSERT_STREQ(e->real_path, "/usr/private/libelftest-a.so");
}

TEST(built_runpath)
{
	check_built("elf-test-runpath", true);
}

TEST(built_rpath)
{
	check_built("elf-test-rpath", false);
}
