/* What the libFuzzer targets share: the input cap, a quiet context, and a small live graph. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <syslog.h>

#include "blkstack.h"
#include "graph.h"
#include "macro.h"

/* Inputs above this are skipped, as util-linux's libmount/src/fuzz.c does: far above the
 * files of any fixture, and small enough that runs stay fast and the fuzzer works on
 * structure, not size. */
#define FUZZ_INPUT_MAX ((size_t)64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Formats each message as a log function would, and drops it: the formats and their
 * arguments are exercised too, and the output stays quiet. */
_printf_(6, 0) static inline void fuzz_log(_unused_ void *userdata, _unused_ int priority,
					   _unused_ const char *file, _unused_ int line,
					   _unused_ const char *fn, const char *format,
					   va_list args)
{
	char buf[1024];

	(void)vsnprintf(buf, sizeof(buf), format, args);
}

/* The context of every run, made once: the library keeps no state in it between runs but
 * the system root ("/", through which nothing is read here) and the log settings. */
static inline struct bs_ctx *fuzz_ctx(void)
{
	static struct bs_ctx *ctx;

	if (!ctx) {
		if (bs_ctx_new(NULL, &ctx) < 0)
			abort();
		bs_ctx_set_log_fn(ctx, fuzz_log, NULL);
		(void)bs_ctx_set_log_priority(ctx, LOG_DEBUG);
	}
	return ctx;
}

/* data as the parsers get a file: a copy with a NUL after it. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		abort();
	if (size > 0)
		memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

static inline void fuzz_check(int r)
{
	if (r < 0)
		abort();
}

static inline struct bs_node *fuzz_device(struct bs_graph *g, enum bs_node_kind kind,
					  const char *id, const char *name, unsigned maj,
					  unsigned min)
{
	struct bs_node *n;

	fuzz_check(bs_graph_ensure_node(g, kind, id, &n));
	fuzz_check(bs_node_set_block(n, name, makedev(maj, min)));
	bs_node_add_source(n, BS_SOURCE_LIVE);
	bs_node_raise_state(n, kind == BS_NODE_DISK || kind == BS_NODE_PART ? BS_STATE_PRESENT :
									      BS_STATE_ACTIVE);
	return n;
}

/*
 * A small live graph like the fixtures' (their device numbers, names and identities), for
 * the parsers that attach what they read to block devices: a disk with two partitions, an
 * md array on a second disk, two dm-crypt mappings, a loop device and the root mount.
 */
static inline struct bs_graph *fuzz_live_graph(void)
{
	struct bs_node *vda, *vda1, *vda2, *vdb, *md, *data, *root, *loop, *mnt;
	struct bs_graph *g;

	fuzz_check(bs_graph_new(fuzz_ctx(), &g));
	vda = fuzz_device(g, BS_NODE_DISK, "blk:vda", "vda", 254, 0);
	fuzz_check(bs_node_set_attr(vda, BS_ATTR_SERIAL, "lsl"));
	vda1 = fuzz_device(g, BS_NODE_PART, "blk:vda1", "vda1", 254, 1);
	fuzz_check(
		bs_node_set_attr(vda1, BS_ATTR_PARTUUID, "f6e92a1e-7ac4-774e-8918-54fbf72a5d18"));
	fuzz_check(bs_node_set_attr(vda1, BS_ATTR_UUID, "1f715f15-0d42-498d-8853-afa160c5c52d"));
	fuzz_check(bs_node_set_attr(vda1, BS_ATTR_FSTYPE, "ext4"));
	vda2 = fuzz_device(g, BS_NODE_PART, "blk:vda2", "vda2", 254, 2);
	fuzz_check(
		bs_node_set_attr(vda2, BS_ATTR_PARTUUID, "6506e9ad-8ef1-094f-a96f-e1a9e2bacc03"));
	fuzz_check(bs_node_set_attr(vda2, BS_ATTR_FSTYPE, "crypto_LUKS"));
	vdb = fuzz_device(g, BS_NODE_DISK, "blk:vdb", "vdb", 254, 16);
	fuzz_check(bs_node_set_attr(vdb, BS_ATTR_SERIAL, "ps1b"));
	fuzz_check(bs_node_set_attr(vdb, BS_ATTR_UUID_SUB, "6547b599-6200-1b73-1ed3-c43a7c0eaceb"));
	fuzz_check(bs_node_set_attr(vdb, BS_ATTR_FSTYPE, "linux_raid_member"));
	md = fuzz_device(g, BS_NODE_MD, "md:sys", "md127", 9, 127);
	fuzz_check(bs_node_set_attr(md, BS_ATTR_MD_NAME, "sys"));
	fuzz_check(bs_node_set_attr(md, BS_ATTR_MD_UUID, "f278e03c:a31aa7bd:a0e88e06:eaa17cd6"));
	fuzz_check(bs_node_set_attr(md, BS_ATTR_FSTYPE, "LVM2_member"));
	data = fuzz_device(g, BS_NODE_CRYPT, "crypt:cryptdata", "dm-0", 253, 0);
	fuzz_check(bs_node_set_attr(data, BS_ATTR_DM_NAME, "cryptdata"));
	root = fuzz_device(g, BS_NODE_CRYPT, "crypt:cryptroot", "dm-2", 253, 2);
	fuzz_check(bs_node_set_attr(root, BS_ATTR_DM_NAME, "cryptroot"));
	fuzz_check(bs_node_set_attr(root, BS_ATTR_UUID, "5e99935b-84ba-4678-96e5-7d654a978e69"));
	fuzz_check(bs_node_set_attr(root, BS_ATTR_FSTYPE, "ext4"));
	loop = fuzz_device(g, BS_NODE_LOOP, "blk:loop0", "loop0", 7, 0);
	fuzz_check(bs_node_set_attr(loop, BS_ATTR_BACKING_FILE, "/data/disk.img"));

	fuzz_check(bs_graph_ensure_node(g, BS_NODE_MOUNT, "mnt:/", &mnt));
	bs_node_add_source(mnt, BS_SOURCE_LIVE);
	bs_node_raise_state(mnt, BS_STATE_MOUNTED);
	fuzz_check(bs_node_add_mountpoint(mnt, "/"));
	fuzz_check(bs_node_add_mountpoint(root, "/"));

	fuzz_check(bs_graph_add_edge(g, vda1, vda, "parent"));
	fuzz_check(bs_graph_add_edge(g, vda2, vda, "parent"));
	fuzz_check(bs_graph_add_edge(g, md, vdb, "member"));
	fuzz_check(bs_graph_add_edge(g, data, vda2, "backing"));
	fuzz_check(bs_graph_add_edge(g, root, md, "backing"));
	fuzz_check(bs_graph_add_edge(g, mnt, root, "device"));
	return g;
}
