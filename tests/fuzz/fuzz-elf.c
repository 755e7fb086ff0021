/* libFuzzer target: the ELF parser of the shared-library resolver (src/lib/image/elf-deps.h). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <elf.h>
#include <errno.h>

#include "fuzz.h"
#include "image/elf-deps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_elf_info *info = NULL;
	uint8_t *copy;
	size_t n = 0;
	int r;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	/* Exactly size bytes, with nothing after them, as a file of that size is mapped: any
	 * read past the end is ASan's. */
	copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	if (size > 0)
		memcpy(copy, data, size);
	r = bs_elf_parse(copy, size, &info);
	if (r < 0) {
		if (r != -ENOEXEC && r != -ENOMEM)
			abort();
		free(copy);
		return 0;
	}

	/* What a parsed object promises the resolver. */
	if (!IN_SET(info->elf_class, ELFCLASS32, ELFCLASS64) ||
	    !IN_SET(info->data, ELFDATA2LSB, ELFDATA2MSB) || !IN_SET(info->type, ET_EXEC, ET_DYN))
		abort();
	if (!info->needed || (info->runpath && info->rpath))
		abort();
	if (info->interp && (info->interp[0] == '\0' || strlen(info->interp) >= size))
		abort();
	for (char **s = info->needed; *s; s++)
		if (strlen(*s) >= size || ++n > BS_ELF_NEEDED_MAX)
			abort();
	if ((info->soname && strlen(info->soname) >= size) ||
	    (info->runpath && strlen(info->runpath) >= size) ||
	    (info->rpath && strlen(info->rpath) >= size))
		abort();

	bs_elf_info_free(info);
	free(copy);
	return 0;
}
