/* A recording ops table for the executor's tests: a transcript, and scripted failures. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "ops.h"

/* The passphrase the recorder's LUKS devices accept; any other is a wrong key. */
#define RECORDER_PASSPHRASE "blkstack-test"

struct recorder_rule {
	const char *op;    /* "spawn", "mount", "umount", "crypt-open", "wait-device", ... */
	const char *match; /* a substring of the transcript line; NULL matches every call */
	int error;         /* what the call returns */
	int count;         /* how many calls fail; -1: all */
};

struct recorder {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	FILE *f;
	char *transcript;
	size_t size;
	struct recorder_rule rules[16];
	size_t n_rules;
	/* Answers to ask-password, in order; past the last, -ECANCELED (end of input). */
	const char *answers[8];
	size_t n_answers, next_answer;
	/* crypt-open calls wait until this many are in flight at once (0: none); a wait longer
	 * than 30 s gives up and records it, so a serial executor fails the test, not hangs. */
	unsigned rendezvous;
	unsigned in_flight, max_in_flight, crypt_in_flight;
	bool rendezvous_failed;
	unsigned next_loop;
	/* When set, a umount that succeeds takes its line out of this sysroot's
	 * proc/self/mountinfo, so that the next round's graph no longer has the mount. */
	const char *sysroot;
	/* Calls recorded so far; whether watch_uevents came before any of them, and how often. */
	unsigned n_calls;
	bool watched_first;
	unsigned n_watches;
	/* Whether load-module calls go into the transcript (a test of the drivers' module
	 * loads sets it; the others read the actions alone, and every module loads). */
	bool record_modules;
	/* Called with each line as it is recorded, under the recorder's lock: a test makes
	 * devices appear there, as they do while a run goes on. */
	void (*on_record)(struct recorder *r, const char *line, void *userdata);
	void *on_record_data;
};

void recorder_init(struct recorder *r);
/* Returns the transcript so far (borrowed). */
const char *recorder_transcript(struct recorder *r);
void recorder_done(struct recorder *r);
void recorder_fail(struct recorder *r, const char *op, const char *match, int error, int count);
const struct bs_ops *recorder_ops(void);
