/* Compiler attributes, cleanup helpers and ownership macros used throughout blkstack. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _fallthrough_ __attribute__((__fallthrough__))
#define _printf_(format_index, first_arg) __attribute__((format(printf, format_index, first_arg)))
#define _sentinel_ __attribute__((sentinel))
#define _noreturn_ __attribute__((noreturn))
#define _public_ __attribute__((visibility("default")))

/* Fails to compile when given a pointer instead of an array, which sizeof would accept silently. */
#define MIN(a, b)                                                                                  \
	__extension__({                                                                            \
		const __typeof__(a) _min_a_ = (a);                                                 \
		const __typeof__(b) _min_b_ = (b);                                                 \
		_min_a_ < _min_b_ ? _min_a_ : _min_b_;                                             \
	})

#define MAX(a, b)                                                                                  \
	__extension__({                                                                            \
		const __typeof__(a) _max_a_ = (a);                                                 \
		const __typeof__(b) _max_b_ = (b);                                                 \
		_max_a_ > _max_b_ ? _max_a_ : _max_b_;                                             \
	})

/* Whether x equals one of the arguments after it. */
#define IN_SET(x, ...)                                                                             \
	__extension__({                                                                            \
		const __typeof__(x) _in_set_x_ = (x);                                              \
		const __typeof__(x) _in_set_l_[] = { __VA_ARGS__ };                                \
		bool _in_set_found_ = false;                                                       \
		for (size_t _i_ = 0; _i_ < sizeof(_in_set_l_) / sizeof(_in_set_l_[0]); _i_++)      \
			if (_in_set_l_[_i_] == _in_set_x_)                                         \
				_in_set_found_ = true;                                             \
		_in_set_found_;                                                                    \
	})

#define ELEMENTSOF(x)                                                                              \
	(__builtin_choose_expr(!__builtin_types_compatible_p(__typeof__(x), __typeof__(&*(x))),    \
			       sizeof(x) / sizeof((x)[0]), (void)0))

/* Hands ownership on: yields the value and clears the variable so its cleanup does nothing. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _take_ptr_ = (p);                                                    \
		(p) = NULL;                                                                        \
		_take_ptr_;                                                                        \
	})

#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _take_fd_ = (fd);                                                              \
		(fd) = -EBADF;                                                                     \
		_take_fd_;                                                                         \
	})

/* Defines funcp(type *p), a cleanup function that calls func(*p) unless *p is NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			(void)func(*p);                                                            \
	}

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* Closes fd if it is open, keeping errno; returns -EBADF for "fd = safe_close(fd)". */
static inline int safe_close(int fd)
{
	int saved_errno;

	if (fd < 0)
		return -EBADF;
	saved_errno = errno;
	(void)close(fd);
	errno = saved_errno;
	return -EBADF;
}

/* Cleanup runs after the return value is computed, but callers may still read errno. */
static inline void closep(int *fd)
{
	int saved_errno;

	if (*fd < 0)
		return;

	saved_errno = errno;
	(void)close(*fd);
	errno = saved_errno;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose)
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)
