/* The one mapping from errno to the exit codes of the blkstack command. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>

#include "exit-code.h"

int exit_code_from_errno(int r)
{
	if (r >= 0)
		return BS_EXIT_SUCCESS;

	switch (r) {
	case -BS_ERRNO_USAGE:
		return BS_EXIT_USAGE;
	case -EBADMSG:
		return BS_EXIT_CONFIG;
	case -ETIMEDOUT:
		return BS_EXIT_TIMEOUT;
	case -EBUSY:
		return BS_EXIT_BUSY;
	case -EKEYREJECTED:
		return BS_EXIT_PIN_MISMATCH;
	default:
		return BS_EXIT_FAILURE;
	}
}
