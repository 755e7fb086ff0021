/* The exit codes of the blkstack command, and the one mapping from errno to them. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Contract (DESIGN.md, "exit codes"): scripts and tests depend on these values. */
enum {
	BS_EXIT_SUCCESS = 0,
	BS_EXIT_FAILURE = 1,
	BS_EXIT_USAGE = 2,
	BS_EXIT_CONFIG = 3,
	BS_EXIT_TIMEOUT = 4,
	BS_EXIT_BUSY = 5,
	BS_EXIT_PIN_MISMATCH = 6,
};

/* Returned negated by argument parsing for a usage error. It lies above the kernel's errno
 * range (MAX_ERRNO is 4095), so no library error can be mistaken for it. */
#define BS_ERRNO_USAGE 4096

/* Maps a verb's result to the exit code: >= 0 is success; -BS_ERRNO_USAGE is a usage error;
 * -EBADMSG invalid configuration, -ETIMEDOUT a device timeout, -EBUSY busy, -EKEYREJECTED a
 * pin mismatch; any other negative errno is a failure. */
int exit_code_from_errno(int r);
