/* The image writer's output stream: bytes in, compressed through a library, out to an fd. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "image.h"

struct bs_compressor;

/* The level that level stands for with c: the default for BS_IMAGE_LEVEL_DEFAULT, level
 * itself if c accepts it (see image.h), -EINVAL otherwise (and for an unknown c). */
int bs_compressor_level(enum bs_image_compression c, int level);

/*
 * Starts a stream of c at level (as bs_compressor_level() takes it) that writes to fd.
 * content_size is the number of bytes that will go in: zstd records it in the frame header
 * and fails the stream if the count differs. Deterministic: single-threaded, no names or
 * times in any header. Returns 0, -EINVAL, -ENOMEM or -EIO (the library refused).
 */
int bs_compressor_new(enum bs_image_compression c, int level, uint64_t content_size, int fd,
		      struct bs_compressor **ret);

/* Feeds size bytes in; compressed output is written to fd as it fills a buffer. Returns 0,
 * the errno of write(2), or -EIO for an error of the library. */
int bs_compressor_write(struct bs_compressor *z, const void *data, size_t size);

/* Ends the stream (the compressor's trailer) and writes out everything that is left. */
int bs_compressor_finish(struct bs_compressor *z);

struct bs_compressor *bs_compressor_free(struct bs_compressor *z);
