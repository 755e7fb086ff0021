/* Secrets in memory of their own: locked, left out of core dumps, wiped before release. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "ops.h"

/*
 * Each secret is an anonymous mapping of its own rather than heap memory: mlock() and
 * munlock() work on whole pages, so a secret that shared a page with other data would pin
 * that data, and unlocking it would unlock the neighbour's secret too. The mapping starts
 * with a hidden header; the caller gets the bytes after it.
 */
struct secret_header {
	uint32_t magic;
	bool locked;
	size_t mapped; /* bytes mapped, header included: what free wipes and unmaps */
	size_t size; /* bytes the caller asked for */
};

#define SECRET_MAGIC UINT32_C(0x5ec1e7b5)
/* The header is padded so that the secret is aligned for any type. */
#define HEADER_SIZE                                                                                \
	((sizeof(struct secret_header) + alignof(max_align_t) - 1) / alignof(max_align_t) *        \
	 alignof(max_align_t))

/*
 * While any secret is held the process is not dumpable (PR_SET_DUMPABLE 0): no core dump,
 * and no ptrace attach or /proc/PID/mem read by another process of the same user. MADV_DONTDUMP
 * keeps the secret's own pages out of a core; this keeps out what libraries copied from it
 * (a passphrase in stdio's buffer, a key derived from it). The previous setting comes back when
 * the last secret is freed.
 */
static pthread_mutex_t dumpable_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned n_held;
static int dumpable_before = -1;

static void held_one_more(void)
{
	pthread_mutex_lock(&dumpable_lock);
	if (n_held++ == 0) {
		dumpable_before = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	}
	pthread_mutex_unlock(&dumpable_lock);
}

static void held_one_less(void)
{
	pthread_mutex_lock(&dumpable_lock);
	if (n_held > 0 && --n_held == 0 && dumpable_before > 0)
		(void)prctl(PR_SET_DUMPABLE, dumpable_before, 0, 0, 0);
	pthread_mutex_unlock(&dumpable_lock);
}

/*
 * Returns 0 when the pages are locked. When mlock() fails (RLIMIT_MEMLOCK is too low, or
 * the system is out of lockable memory) the secret is still handed out, usable and wiped on
 * free like any other, but it may be swapped out: then this returns 1, so that a caller that
 * can log says so instead of the weakness going unnoticed. Failing instead would leave a
 * system with a low limit unable to boot from an encrypted root at all.
 */
int bs_secret_new(size_t size, char **ret)
{
	struct secret_header *h;
	long page = sysconf(_SC_PAGESIZE);
	size_t mapped;
	void *p;

	if (!ret)
		return -EINVAL;
	if (page <= 0)
		page = 4096;
	/* Header, the secret and its NUL, rounded up to whole pages; refuse sizes that wrap. */
	if (size > SIZE_MAX - HEADER_SIZE - 1 - (size_t)page)
		return -ENOMEM;
	mapped = (HEADER_SIZE + size + 1 + (size_t)page - 1) / (size_t)page * (size_t)page;

	p = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* Best effort: a kernel without MADV_DONTDUMP still gives working memory. */
	(void)madvise(p, mapped, MADV_DONTDUMP);

	/* Anonymous mappings are zeroed, so the secret and the NUL after it are zero already. */
	h = p;
	*h = (struct secret_header){
		.magic = SECRET_MAGIC,
		.locked = mlock(p, mapped) >= 0,
		.mapped = mapped,
		.size = size,
	};
	held_one_more();
	*ret = (char *)p + HEADER_SIZE;
	return h->locked ? 0 : 1;
}

void bs_secret_free(char *p)
{
	struct secret_header *h;
	size_t mapped;
	bool locked;

	if (!p)
		return;
	h = (struct secret_header *)(void *)(p - HEADER_SIZE);
	assert(h->magic == SECRET_MAGIC);
	mapped = h->mapped;
	locked = h->locked;

	/* The header goes too: it says how long the secret was. */
	explicit_bzero(h, mapped);
	if (locked)
		(void)munlock(h, mapped);
	(void)munmap(h, mapped);
	held_one_less();
}
