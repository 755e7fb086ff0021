/* blkstack initramfs: build the image that boots the root set, and only that. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph-load.h"
#include "log.h"
#include "macro.h"
#include "parse.h"
#include "strv.h"
#include "util.h"
#include "verbs.h"

static void initramfs_help(void)
{
	printf("Usage: blkstack [--sysroot DIR] initramfs -o FILE [--kernel VERSION]\n"
	       "                [--compress zstd|xz|gzip|none] [--level N] [--list] [--json]\n"
	       "                [--shell] [--root MOUNTPOINT] [--resume DEV] [--also ID]...\n"
	       "                [--no-pins]\n"
	       "\n"
	       "Build the initramfs for the system below DIR (default /): blkstack's /init, the\n"
	       "manifest, and the modules, binaries, libraries and key files that the root set\n"
	       "needs, and nothing else, with the pins of its layers (read live where the devices\n"
	       "are present, else from DIR" BS_PINS_PATH "). The image is reproducible\n"
	       "(SOURCE_DATE_EPOCH).\n"
	       "\n"
	       "  -o --output FILE        Write the image to FILE (atomically)\n"
	       "     --kernel VERSION     The kernel to build for (default: the running one for /,\n"
	       "                          else the only one in DIR/lib/modules)\n"
	       "     --compress METHOD    zstd (default), xz, gzip or none\n"
	       "     --level N            The compression level (default: the method's best)\n"
	       "     --list               Print each entry: mode, size, path and why\n"
	       "  -J --json               Print the entries, modules and binaries as JSON\n"
	       "     --shell              Add DIR's /bin/sh as a rescue shell\n"
	       "     --root MOUNTPOINT    The root filesystem (default /)\n"
	       "     --resume DEV         The resume device (default: the one the kernel names)\n"
	       "     --also ID            Bring this node, mount point or device up too\n"
	       "     --no-pins            Build even when a crypt layer has no pins (then /init\n"
	       "                          cannot refuse forged devices)\n"
	       "  -h --help               Show this help\n");
}

enum {
	ARG_KERNEL = 0x100,
	ARG_COMPRESS,
	ARG_LEVEL,
	ARG_LIST,
	ARG_SHELL,
	ARG_ROOT,
	ARG_RESUME,
	ARG_ALSO,
	ARG_NO_PINS,
};

const struct verb_options verb_initramfs_options = {
	":ho:J" CLI_GLOBAL_SHORTOPTS,
	(const struct option[]){
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'J' },
		{ "kernel", required_argument, NULL, ARG_KERNEL },
		{ "compress", required_argument, NULL, ARG_COMPRESS },
		{ "level", required_argument, NULL, ARG_LEVEL },
		{ "list", no_argument, NULL, ARG_LIST },
		{ "shell", no_argument, NULL, ARG_SHELL },
		{ "root", required_argument, NULL, ARG_ROOT },
		{ "resume", required_argument, NULL, ARG_RESUME },
		{ "also", required_argument, NULL, ARG_ALSO },
		{ "no-pins", no_argument, NULL, ARG_NO_PINS },
		CLI_GLOBAL_OPTIONS,
		{},
	},
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_needs *, bs_needs_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_initramfs *, bs_initramfs_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_pins *, bs_pins_unref)

static size_t count_recorded(const struct bs_pins *p)
{
	size_t n = 0;

	for (size_t i = 0; i < bs_pins_get_n(p); i++)
		n += bs_pins_get_recorded(p, i);
	return n;
}

/* The pins of the closure: live where the devices are there, else the pins file's. Each crypt
 * layer without pins is named; *ret_unpinned counts them. */
static int closure_pins(struct bs_ctx *ctx, struct bs_needs *n, bool no_pins, struct bs_pins **ret,
			size_t *ret_unpinned)
{
	_cleanup_(bs_pins_unrefp) struct bs_pins *recorded = NULL, *pins = NULL;
	size_t n_crypt = 0;
	int r;

	r = bs_pins_read(ctx, NULL, &recorded);
	if (r < 0 && r != -ENOENT) {
		log_error_errno(r,
				"initramfs: cannot read the pins file '%s': %m; run 'blkstack pin' "
				"again",
				BS_PINS_PATH);
		/* A failure (exit 1), not an error of the configuration (exit 3). */
		return r == -EBADMSG ? -EIO : r;
	}
	r = bs_pins_new_for_needs(n, recorded, &pins);
	if (r < 0)
		return log_error_errno(r, "initramfs: cannot pin the layers: %m");
	for (size_t i = 0; i < bs_pins_get_n_unpinned(pins); i++) {
		if (!bs_pins_is_crypt_unpinned(pins, bs_needs_get_graph(n), i))
			continue;
		n_crypt++;
		log_error("initramfs: %s'%s' has no pins: %s", no_pins ? "warning: " : "",
			  bs_pins_get_unpinned_node(pins, i), bs_pins_get_unpinned_reason(pins, i));
	}
	*ret = TAKE_PTR(pins);
	*ret_unpinned = n_crypt;
	return 0;
}

/* The graph, from what is below the system root: live when it is there (an offline sysroot
 * has no sys/), the recorded graph and the configuration; an error of the configuration
 * refuses the build. */
static int load_graph(struct bs_ctx *ctx, struct bs_graph **ret)
{
	struct bs_problem_list *problems = NULL;
	struct bs_load_opts opts = {
		.flags = BS_LOAD_DEFAULT | BS_LOAD_LIVE_OPTIONAL | BS_LOAD_REFUSE_ERRORS,
	};
	int r;

	r = bs_graph_load(ctx, &opts, ret, &problems);
	if (r >= 0 || r == -EBADMSG)
		cli_print_problems(problems, r == -EBADMSG, opts.flags);
	bs_problem_list_free(problems);
	return r < 0 ? r : 0;
}

static void mode_string(uint32_t mode, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";

	out[0] = S_ISDIR(mode) ? 'd' :
		 S_ISLNK(mode) ? 'l' :
		 S_ISCHR(mode) ? 'c' :
		 S_ISBLK(mode) ? 'b' :
				 '-';
	for (int i = 0; i < 9; i++)
		out[1 + i] = mode & (1u << (8 - i)) ? rwx[i] : '-';
	if (mode & S_ISVTX)
		out[9] = mode & S_IXOTH ? 't' : 'T';
	out[10] = '\0';
}

static void print_list(FILE *f, const struct bs_initramfs *b)
{
	for (size_t i = 0; i < bs_initramfs_get_n_entries(b); i++) {
		const struct bs_initramfs_entry *e = bs_initramfs_get_entry(b, i);
		char mode[11];

		mode_string(e->mode, mode);
		fprintf(f, "%s %10" PRIu64 " %s", mode, e->size, e->path);
		if (e->target)
			fprintf(f, " -> %s", e->target);
		if (e->secret)
			fputs(" [secret]", f);
		if (e->why)
			fprintf(f, "  (%s)", e->why);
		fputc('\n', f);
	}
}

/* Writes the image next to path and renames it over path, so that a reader (a boot loader's
 * update, a running build) never sees half an image. */
static int write_image(struct bs_initramfs *b, const char *path, const char *compression, int level,
		       off_t *ret_size)
{
	_cleanup_free_ char *tmp = NULL;
	bool secret = bs_initramfs_has_secrets(b);
	struct stat st;
	int fd, r;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return log_error_errno(-ENOMEM, "Out of memory");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(-errno, "Failed to create a temporary file beside '%s': %m",
				       path);
	if (fchmod(fd, secret ? 0600 : 0644) < 0) {
		r = log_error_errno(-errno, "Failed to set the mode of '%s': %m", tmp);
		goto fail;
	}
	if (bs_initramfs_get_archive_size(b) > 4 * 1024 * 1024 &&
	    !streq(compression ? compression : "zstd", "none"))
		log_error("compressing %.1f MB with %s...",
			  (double)bs_initramfs_get_archive_size(b) / 1e6,
			  compression ? compression : "zstd");
	r = bs_initramfs_write(b, fd, compression, level);
	if (r < 0) {
		log_error_errno(r, "Failed to write '%s': %m", tmp);
		goto fail;
	}
	if (fsync(fd) < 0 || fstat(fd, &st) < 0) {
		r = log_error_errno(-errno, "Failed to write '%s': %m", tmp);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = log_error_errno(-errno, "Failed to write '%s': %m", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = log_error_errno(-errno, "Failed to rename '%s' to '%s': %m", tmp, path);
		goto fail;
	}
	*ret_size = st.st_size;
	return 0;
fail:
	if (fd >= 0)
		(void)close(fd);
	(void)unlink(tmp);
	return r;
}

int verb_initramfs(struct bs_ctx *ctx, int argc, char **argv)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	_cleanup_(bs_needs_unrefp) struct bs_needs *n = NULL;
	_cleanup_(bs_initramfs_unrefp) struct bs_initramfs *b = NULL;
	_cleanup_(bs_pins_unrefp) struct bs_pins *pins = NULL;
	_cleanup_strv_free_ char **also = NULL;
	const char *output = NULL, *compression = "zstd", *root = NULL, *resume = NULL;
	struct bs_initramfs_opts opts = {};
	bool list = false, json = false, no_pins = false;
	int level = -1, c, r;
	off_t written = 0;
	size_t n_unpinned = 0;

	opterr = 0;
	while ((c = verb_getopt(argc, argv, &verb_initramfs_options)) >= 0) {
		switch (c) {
		case 'h':
			initramfs_help();
			return 0;
		case 'o':
			if (optarg[0] == '\0')
				return log_usage_error("initramfs: -o needs a file name");
			output = optarg;
			break;
		case 'J':
			json = true;
			break;
		case ARG_KERNEL:
			if (optarg[0] == '\0' || strchr(optarg, '/'))
				return log_usage_error("initramfs: '%s' is no kernel version",
						       optarg);
			opts.kernel = optarg;
			break;
		case ARG_COMPRESS:
			if (!strv_contains((char *const[]){ (char *)"zstd", (char *)"xz",
							    (char *)"gzip", (char *)"none", NULL },
					   optarg))
				return log_usage_error("initramfs: unknown compression '%s' "
						       "(zstd, xz, gzip or none)",
						       optarg);
			compression = optarg;
			break;
		case ARG_LEVEL:
			if (safe_atoi(optarg, &level) < 0 || level < 0)
				return log_usage_error("initramfs: '%s' is no compression level",
						       optarg);
			break;
		case ARG_LIST:
			list = true;
			break;
		case ARG_SHELL:
			opts.flags |= BS_INITRAMFS_SHELL;
			break;
		case ARG_ROOT:
			root = optarg;
			break;
		case ARG_RESUME:
			resume = optarg;
			break;
		case ARG_ALSO:
			if (strv_extend(&also, optarg) < 0)
				return log_error_errno(-ENOMEM, "Out of memory");
			break;
		case ARG_NO_PINS:
			no_pins = true;
			break;
		case ':':
			return log_usage_error("initramfs: option '%s' needs an argument",
					       argv[optind - 1]);
		default:
			return log_usage_error("initramfs: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return log_usage_error("initramfs: unexpected argument '%s'", argv[optind]);
	if (!output && !list && !json)
		return log_usage_error(
			"initramfs: name the image with -o FILE (or only --list it)");
	if (list && json)
		return log_usage_error("initramfs: --list and --json exclude each other");
	if (level >= 0 && streq(compression, "none"))
		return log_usage_error("initramfs: --compress none takes no --level");
	if (level > (streq(compression, "zstd") ? 19 : 9) ||
	    (level == 0 && streq(compression, "zstd")))
		return log_usage_error("initramfs: --level %d is out of range for %s (%s)", level,
				       compression, streq(compression, "zstd") ? "1-19" : "0-9");

	r = load_graph(ctx, &g);
	if (r < 0)
		return r;
	/* The library says what root, resume or --also named that it does not know. */
	r = bs_needs_new(g, root, resume, (const char *const *)also, &n);
	if (r < 0)
		return r;
	r = closure_pins(ctx, n, no_pins, &pins, &n_unpinned);
	if (r < 0)
		return r;
	opts.pins = pins;
	/* And why it refuses to build: what is missing, and what to do. */
	r = bs_initramfs_new(n, &opts, &b);
	if (r < 0)
		return log_error_errno(r, "initramfs: no image built");

	if (list)
		print_list(stdout, b);
	else if (json) {
		_cleanup_free_ char *out = NULL;

		r = bs_initramfs_to_json(b, &out);
		if (r < 0)
			return log_error_errno(r, "Failed to format the image's contents: %m");
		puts(out);
	}
	/* An image whose crypt layers have no pins boots whatever stands in their place. */
	if (output && n_unpinned > 0 && !no_pins) {
		log_error("initramfs: no image built: run 'blkstack pin' while the devices are "
			  "present, or build with --no-pins (then /init cannot refuse forged "
			  "devices)");
		return -ENOKEY;
	}
	if (output && n_unpinned > 0)
		log_error("warning: building with --no-pins: /init cannot refuse forged devices in "
			  "place of %zu crypt layer%s",
			  n_unpinned, n_unpinned == 1 ? "" : "s");
	if (output) {
		r = write_image(b, output, compression, level, &written);
		if (r < 0)
			return r;
		if (bs_initramfs_has_secrets(b))
			log_error("warning: '%s' holds key files: it is written mode 0600; keep it "
				  "as secret as the keys",
				  output);
		fprintf(list || json ? stderr : stdout,
			"%s: %zu entries, %" PRIu64 " bytes raw, %" PRIu64 " bytes written (%s), "
			"kernel %s, %zu pins (%zu from the pins file)\n",
			output, bs_initramfs_get_n_entries(b), bs_initramfs_get_archive_size(b),
			(uint64_t)written, compression, strna(bs_initramfs_get_kernel(b)),
			bs_pins_get_n(pins), count_recorded(pins));
	}
	if (fflush(stdout) != 0)
		return log_error_errno(-errno, "Failed to write the output: %m");
	return 0;
}
