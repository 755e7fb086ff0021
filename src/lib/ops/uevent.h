/* Kernel uevents as uevent.c reads them, and the device match it applies, for unit tests. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "libblkstack-private.h"
#include "ops.h"

/* Kernel uevents are at most UEVENT_BUFFER_SIZE (2048) bytes of environment plus the
 * "ACTION@DEVPATH" header; this is well above that. */
#define BS_UEVENT_MAX ((size_t)8192)

/* One kernel uevent; the strings point into the buffer it was parsed from. */
struct bs_uevent {
	const char *action; /* "add", "change", "remove", ... */
	const char *devpath; /* "/devices/pci0000:00/.../block/vdb/vdb1" */
	const char *subsystem; /* "block" */
	const char *devname; /* the path below /dev: "vdb1", "cciss/c0d0"; NULL if none */
	const char *devtype; /* "disk", "partition"; NULL if none */
	const char *kernel_name; /* the last component of devpath, as in sys/class/block */
};

/*
 * Parses a message of the kernel's uevent netlink group: the header "ACTION@DEVPATH" and
 * KEY=VALUE fields, each ended by a NUL, size bytes in all. Nothing past size is read.
 * Returns 0, or -EBADMSG when it is not one: no header, a field cut off before its NUL (the
 * last byte must be NUL), no ACTION, DEVPATH or SUBSYSTEM, or a header that disagrees with
 * them. udev's own messages ("libudev" and a binary header) are -EBADMSG too.
 */
int bs_uevent_parse(const char *buf, size_t size, struct bs_uevent *ret);

/*
 * Reads the next message queued on fd, a NETLINK_KOBJECT_UEVENT socket, into buf
 * (BS_UEVENT_MAX bytes). Returns 1 with *ret set (pointing into buf), 0 when nothing is
 * queued, -ENOBUFS when the socket overflowed and uevents were lost, or another negative
 * errno. Messages that are not the kernel's (sent from a port other than 0: any process may
 * send to a socket directly), cut ones and malformed ones are passed over.
 */
int bs_uevent_receive(struct bs_ctx *c, int fd, char *buf, struct bs_uevent *ret);

/*
 * Whether the block device name (an entry of sys/class/block, "vdb1", "cciss!c0d0") is the
 * one m describes, reading sys/class/block and dev/ below the context's sysroot. The first
 * field of m that is set decides:
 *   serial: sys/class/block/NAME/serial or .../device/serial, blanks stripped, as the sysfs
 *     source reads it (disks only, not partitions);
 *   partuuid, uuid_sub, uuid: what libblkid finds on dev/NAME (PART_ENTRY_UUID, UUID_SUB,
 *     UUID), compared without regard to case; a device of size 0 or a suspended dm device
 *     is not probed;
 *   name: sys/class/block/NAME exists ('/' in m->name stands for '!').
 * Returns 1 if it matches, 0 if not (also when the device cannot be read or probed: that is
 * logged at debug level), -EINVAL if m sets nothing or name is not a kernel name, -ENOMEM.
 */
int bs_device_match_test(struct bs_ctx *c, const char *name, const struct bs_device_match *m);
