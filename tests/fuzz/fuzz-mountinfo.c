/* libFuzzer target: mount nodes from a mountinfo file, as libmount parses it and the mountinfo
 * source places its mounts, with the links derived from them. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "sources/mountinfo.h"
#include "sources/sources.h"

/* libmount reads a path: the input goes into a memfd, reached as /proc/self/fd/N. Only the
 * code of blkstack is instrumented for coverage, not libmount's parser, which util-linux
 * fuzzes itself (libmount/src/fuzz.c); this target covers what blkstack does with what
 * libmount returns: device numbers, sources, /dev paths and mount points. */
static const char *mountinfo_path(int *ret_fd)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("mountinfo", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	*ret_fd = fd;
	return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_graph *g;
	const char *path;
	char *json;
	int fd, r;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	path = mountinfo_path(&fd);
	if (ftruncate(fd, 0) < 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();

	g = fuzz_live_graph();
	r = bs_mountinfo_parse_file(g, path);
	if (r == -ENOMEM)
		abort();
	fuzz_check(bs_graph_link_derived(g));
	fuzz_check(bs_graph_to_json(g, &json));

	free(json);
	bs_graph_unref(g);
	return 0;
}
