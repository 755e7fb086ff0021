/* What both stages of blkstack's shutdown share: messages, stopping processes, sync, reboot. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* ---- messages ---------------------------------------------------------------------------- */

/* Every message starts with prefix ("blkstack shutdown: "); set it first. */
void sd_set_prefix(const char *prefix);
/* One line on standard error (the console, at shutdown), in one write. */
void sd_say(const char *format, ...) _printf_(1, 2);
/* The same line, also written to the kernel log (/dev/kmsg), which outlives the console. */
void sd_say_kmsg(const char *format, ...) _printf_(1, 2);

/* ---- the executor's events --------------------------------------------------------------- */

struct bs_exec_event;
/* A bs_exec_event_fn for both stages: a line for each step done, failed, still open, or a
 * warning; a busy step once, in its first round. userdata, if not NULL, is an unsigned that
 * counts the failed steps. */
void sd_exec_event(void *userdata, const struct bs_exec_event *ev);

/* ---- the verb ---------------------------------------------------------------------------- */

/* "poweroff", "reboot", "halt" (and "kexec", which reboots): 0 with *ret_how (may be NULL) the
 * reboot(2) command, or -EINVAL. */
int sd_verb_to_reboot(const char *verb, int *ret_how);
/* "powering off", "rebooting", "halting". */
const char *sd_verb_doing(const char *verb);

/*
 * The watchdog of a whole stage: after timeout_usec, whatever the stage is doing, the kernel
 * log and the console get "timeout after N s: VERB now", the filesystems are synced if
 * sync_first (as far as one sync(2) goes) and reboot(2) runs. Errors never stop the machine
 * from going down.
 *
 * sync(2) waits for every block device's writeback, and a dm device suspended for its key
 * wipe never completes one: once a mapping may be suspended (stage two's teardown), nothing
 * syncs any more. Stage two syncs before it closes the layers.
 */
void sd_watchdog_arm(const char *verb, uint64_t timeout_usec, bool sync_first);
void sd_watchdog_disarm(void);

/* reboot(2) with verb's command, after sync(2) if sync_first; returns only if reboot(2)
 * failed (not root). */
int sd_reboot(const char *verb, bool sync_first);

/* ---- processes --------------------------------------------------------------------------- */

enum sd_kill_scope {
	/* the processes that hold a file on one of mount_points: an open file, their cwd, root
	 * or executable, or a mapped file */
	SD_KILL_HOLDERS,
	/* every process but the kept ones (the shutdown ramfs, before /oldroot goes) */
	SD_KILL_ALL,
	/* only the root-storage daemons (argv[0][0] == '@'), after root is gone */
	SD_KILL_ROOT_DAEMONS,
};

struct sd_kill_opts {
	enum sd_kill_scope scope;
	char *const *mount_points; /* SD_KILL_HOLDERS: absolute paths, never "/" */
	uint64_t grace_usec; /* SIGTERM, then SIGKILL after this */
	const char *proc; /* the proc filesystem to read: NULL for /proc (tests give a tree) */
	bool dry_run; /* say what would be signalled, signal nothing */
	unsigned *ret_signalled; /* if set: how many processes got SIGTERM */
	bool quiet_kept; /* the kept ones were named already: not again */
};

/*
 * Stops the processes of the scope: SIGTERM to each, then SIGKILL to those still there after
 * the grace period, then waits (through pidfds, never a sleep loop) up to 5 s more for them
 * to be gone, reaping what this process is the parent of (PID 1 is, of every orphan). Never
 * signals itself, PID 1, a kernel thread, or (but for SD_KILL_ROOT_DAEMONS) a process whose
 * argv[0] starts with '@', which systemd's shutdown keeps as well: each of those it names once
 * as kept (with the mount point it holds, if any). Says what it does, naming each process (PID and
 * command) and what it holds. Returns the number of processes still there at the end, or a
 * negative errno when /proc cannot be read.
 */
int sd_kill(const struct sd_kill_opts *o);

/* ---- sync -------------------------------------------------------------------------------- */

/*
 * sync(2) until the Dirty and Writeback figures of /proc/meminfo are both 0, or until
 * timeout_usec: one sync(2) returns when the writes it started are queued, not when the
 * devices have them. Returns 0, or -ETIMEDOUT with *ret_left_kb (may be NULL) what was still
 * dirty or being written.
 */
int sd_sync_wait(uint64_t timeout_usec, uint64_t *ret_left_kb);

/* Reads the Dirty and Writeback lines of a meminfo text: 0, or -EINVAL if one is missing. */
int sd_meminfo_dirty(const char *text, uint64_t *ret_dirty_kb, uint64_t *ret_writeback_kb);

/* ---- the ramfs --------------------------------------------------------------------------- */

#define SD_RAMFS "/run/initramfs"
#define SD_RAMFS_SHUTDOWN SD_RAMFS "/shutdown"

/*
 * Pivots into the shutdown ramfs (SD_RAMFS) as systemd-shutdown does before it runs an
 * exitrd: / becomes the ramfs, the old root stays at /oldroot, and /proc, /sys and /dev move
 * along (/run stays below /oldroot: the ramfs lives in it). Then executes /shutdown with
 * argv. Returns only on failure, with a negative errno (and after saying why).
 */
int sd_pivot_and_exec(char *const argv[]);

/* Unescapes a mount point field of mountinfo (\040 and the like) in place. */
void sd_unescape_mountinfo(char *s);

/* ---- where the time goes ------------------------------------------------------------------- */

struct sd_times {
	uint64_t start, last; /* now_usec() */
	char text[256];       /* "kill 0.00 s, teardown 0.41 s" */
};
void sd_times_start(struct sd_times *t);
/* Adds "PHASE N.NN s" for the time since the last mark (or the start). */
void sd_times_mark(struct sd_times *t, const char *phase);
/* The seconds since the start. */
double sd_times_total(const struct sd_times *t);

/* ---- suspend ------------------------------------------------------------------------------- */

/*
 * Freezes (or thaws) the cgroup v2 subtree cgroup ("user.slice", below /sys/fs/cgroup) through
 * its cgroup.freeze, and waits up to timeout_usec until cgroup.events says it is. -ENOENT
 * when there is no such cgroup or no cgroup v2 freezer, -ETIMEDOUT.
 */
int sd_cgroup_freeze(const char *cgroup, bool freeze, uint64_t timeout_usec);
/* Moves this process to the root cgroup if it lies in cgroup's subtree (freezing it would
 * freeze the suspend itself): 1 if moved, 0 if not in it, or a negative errno. */
int sd_cgroup_leave(const char *cgroup);

/* The suspend stage (blkstack-suspend(8)): /shutdown --suspend-stage or --hook ARGS. Returns
 * the exit status. */
int sd_sleep_main(int argc, char *argv[]);
