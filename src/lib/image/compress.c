/* The image writer's compressors: zlib (gzip), liblzma (xz) and libzstd, streamed to an fd. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <limits.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "compress.h"
#include "fileio.h"
#include "macro.h"

/* Compressed output is collected in a buffer of this size and written out when it is full. */
#define OUT_BUFFER_SIZE ((size_t)128 * 1024)
/* zlib counts input in uInt; input is fed in pieces no larger than this. */
#define IN_CHUNK_MAX ((size_t)1024 * 1024)

struct bs_compressor {
	enum bs_image_compression type;
	int fd;
	bool finished;

	uint8_t *out;
	size_t out_used;

	z_stream zs;
	bool zs_init;
	gz_header gz;
	lzma_stream xz;
	bool xz_init;
	ZSTD_CCtx *zstd;
};

int bs_compressor_level(enum bs_image_compression c, int level)
{
	switch (c) {
	case BS_IMAGE_COMPRESSION_NONE:
		return level == BS_IMAGE_LEVEL_DEFAULT ? 0 : -EINVAL;
	case BS_IMAGE_COMPRESSION_GZIP:
		if (level == BS_IMAGE_LEVEL_DEFAULT)
			return 9;
		return level >= 0 && level <= 9 ? level : -EINVAL;
	case BS_IMAGE_COMPRESSION_XZ:
		if (level == BS_IMAGE_LEVEL_DEFAULT)
			return 6;
		return level >= 0 && level <= 9 ? level : -EINVAL;
	case BS_IMAGE_COMPRESSION_ZSTD:
		/* Not the --ultra levels: their windows are larger than a small machine's
		 * kernel wants to allocate while it unpacks the initramfs. */
		if (level == BS_IMAGE_LEVEL_DEFAULT)
			return 19;
		return level >= 1 && level <= 19 ? level : -EINVAL;
	default:
		return -EINVAL;
	}
}

static int flush_out(struct bs_compressor *z)
{
	int r = loop_write(z->fd, z->out, z->out_used);

	z->out_used = 0;
	return r;
}

int bs_compressor_new(enum bs_image_compression c, int level, uint64_t content_size, int fd,
		      struct bs_compressor **ret)
{
	struct bs_compressor *z;
	int lvl, r = 0;

	if (!ret || fd < 0)
		return -EINVAL;
	lvl = bs_compressor_level(c, level);
	if (lvl < 0)
		return lvl;

	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->type = c;
	z->fd = fd;
	z->out = malloc(OUT_BUFFER_SIZE);
	if (!z->out) {
		free(z);
		return -ENOMEM;
	}

	switch (c) {
	case BS_IMAGE_COMPRESSION_NONE:
		break;
	case BS_IMAGE_COMPRESSION_GZIP:
		/* windowBits 15 + 16: the gzip wrapper. Its header is set explicitly, all zero
		 * (no name, no comment, mtime 0) and OS "Unix", so that it depends neither on
		 * the time nor on the platform zlib was built for. */
		if (deflateInit2(&z->zs, lvl, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			r = -ENOMEM;
			break;
		}
		z->zs_init = true;
		z->gz.os = 3;
		if (deflateSetHeader(&z->zs, &z->gz) != Z_OK)
			r = -EIO;
		break;
	case BS_IMAGE_COMPRESSION_XZ: {
		/* The kernel's xz decoder knows the CRC32 check and none, not CRC64 (xz's
		 * default), and only the LZMA2 filter (plus BCJ), which is what presets use. */
		lzma_stream init = LZMA_STREAM_INIT;
		lzma_ret lr;

		z->xz = init;
		lr = lzma_easy_encoder(&z->xz, (uint32_t)lvl, LZMA_CHECK_CRC32);
		if (lr != LZMA_OK) {
			r = lr == LZMA_MEM_ERROR ? -ENOMEM : -EIO;
			break;
		}
		z->xz_init = true;
		break;
	}
	case BS_IMAGE_COMPRESSION_ZSTD:
		z->zstd = ZSTD_createCCtx();
		if (!z->zstd) {
			r = -ENOMEM;
			break;
		}
		/* Single-threaded (nbWorkers 0), the frame records the content size and ends
		 * with a checksum, which the kernel's decoder verifies. */
		if (ZSTD_isError(ZSTD_CCtx_setParameter(z->zstd, ZSTD_c_compressionLevel, lvl)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(z->zstd, ZSTD_c_checksumFlag, 1)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(z->zstd, ZSTD_c_contentSizeFlag, 1)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(z->zstd, ZSTD_c_nbWorkers, 0)) ||
		    ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(z->zstd, content_size)))
			r = -EIO;
		break;
	default:
		r = -EINVAL;
	}
	if (r < 0) {
		bs_compressor_free(z);
		return r;
	}
	*ret = z;
	return 0;
}

/* Moves past the consumed bytes of the input; never offsets the NULL input of finishing. */
static void advance(const uint8_t **in, size_t *size, size_t consumed)
{
	if (consumed > 0) {
		*in += consumed;
		*size -= consumed;
	}
}

/* Runs the compressor over in (NULL and 0 when finishing) until it has taken all of it, or
 * until the stream has ended when finishing; writes out full buffers on the way. */
static int run(struct bs_compressor *z, const uint8_t *in, size_t size, bool finish)
{
	for (;;) {
		size_t room = OUT_BUFFER_SIZE - z->out_used;
		uint8_t *o = z->out + z->out_used;
		size_t produced;
		bool done;
		int r;

		switch (z->type) {
		case BS_IMAGE_COMPRESSION_NONE: {
			size_t k = MIN(room, size);

			if (k > 0) {
				memcpy(o, in, k);
				in += k;
				size -= k;
			}
			produced = k;
			done = size == 0;
			break;
		}
		case BS_IMAGE_COMPRESSION_GZIP: {
			int zr;

			z->zs.next_in = (Bytef *)(uintptr_t)in;
			z->zs.avail_in = (uInt)size;
			z->zs.next_out = o;
			z->zs.avail_out = (uInt)room;
			zr = deflate(&z->zs, finish ? Z_FINISH : Z_NO_FLUSH);
			if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
				return -EIO;
			produced = room - z->zs.avail_out;
			advance(&in, &size, size - z->zs.avail_in);
			done = finish ? zr == Z_STREAM_END : size == 0;
			break;
		}
		case BS_IMAGE_COMPRESSION_XZ: {
			lzma_ret lr;

			z->xz.next_in = in;
			z->xz.avail_in = size;
			z->xz.next_out = o;
			z->xz.avail_out = room;
			lr = lzma_code(&z->xz, finish ? LZMA_FINISH : LZMA_RUN);
			if (lr != LZMA_OK && lr != LZMA_STREAM_END && lr != LZMA_BUF_ERROR)
				return lr == LZMA_MEM_ERROR ? -ENOMEM : -EIO;
			produced = room - z->xz.avail_out;
			advance(&in, &size, size - z->xz.avail_in);
			done = finish ? lr == LZMA_STREAM_END : size == 0;
			break;
		}
		case BS_IMAGE_COMPRESSION_ZSTD: {
			ZSTD_inBuffer ib = { .src = in, .size = size };
			ZSTD_outBuffer ob = { .dst = o, .size = room };
			size_t zr;

			zr = ZSTD_compressStream2(z->zstd, &ob, &ib,
						  finish ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(zr))
				return -EIO;
			produced = ob.pos;
			advance(&in, &size, ib.pos);
			done = finish ? zr == 0 : size == 0;
			break;
		}
		default:
			return -EINVAL;
		}

		z->out_used += produced;
		if (z->out_used == OUT_BUFFER_SIZE || (done && finish)) {
			r = flush_out(z);
			if (r < 0)
				return r;
		}
		if (done)
			return 0;
	}
}

int bs_compressor_write(struct bs_compressor *z, const void *data, size_t size)
{
	const uint8_t *p = data;

	if (!z || z->finished || (!data && size > 0))
		return -EINVAL;
	while (size > 0) {
		size_t k = MIN(size, IN_CHUNK_MAX);
		int r = run(z, p, k, false);

		if (r < 0)
			return r;
		p += k;
		size -= k;
	}
	return 0;
}

int bs_compressor_finish(struct bs_compressor *z)
{
	int r;

	if (!z || z->finished)
		return -EINVAL;
	r = run(z, NULL, 0, true);
	if (r < 0)
		return r;
	z->finished = true;
	return 0;
}

struct bs_compressor *bs_compressor_free(struct bs_compressor *z)
{
	if (!z)
		return NULL;
	if (z->zs_init)
		(void)deflateEnd(&z->zs);
	if (z->xz_init)
		lzma_end(&z->xz);
	ZSTD_freeCCtx(z->zstd);
	/* Uncompressed, the buffer may hold key files of the image. */
	if (z->out)
		explicit_bzero(z->out, OUT_BUFFER_SIZE);
	free(z->out);
	free(z);
	return NULL;
}
