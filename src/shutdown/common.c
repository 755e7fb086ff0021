/* What both stages of blkstack's shutdown share: messages, the watchdog, sync, reboot. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "blkstack.h"
#include "fileio.h"
#include "shutdown.h"
#include "util.h"

static const char *prefix = "";

void sd_set_prefix(const char *p)
{
	prefix = p;
}

_printf_(2, 0) static void vsay(bool kmsg, const char *format, va_list ap)
{
	_cleanup_free_ char *m = NULL, *line = NULL;

	if (vasprintf(&m, format, ap) < 0 || asprintf(&line, "%s%s\n", prefix, m) < 0)
		return;
	(void)loop_write(STDERR_FILENO, line, strlen(line));
	if (kmsg) {
		/* One record each; <5> is notice, so that the default console level shows
		 * it once, from the console line above, not twice. */
		int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
		_cleanup_free_ char *rec = NULL;

		if (fd >= 0 && asprintf(&rec, "<5>%s%s\n", prefix, m) >= 0)
			(void)!write(fd, rec, strlen(rec));
		if (fd >= 0)
			close(fd);
	}
}

void sd_say(const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsay(false, format, ap);
	va_end(ap);
}

void sd_say_kmsg(const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsay(true, format, ap);
	va_end(ap);
}

void sd_exec_event(void *userdata, const struct bs_exec_event *ev)
{
	unsigned *n_failed = userdata;

	switch (ev->type) {
	case BS_EXEC_EVENT_DONE:
		sd_say("done %s %s", ev->action, ev->node);
		break;
	case BS_EXEC_EVENT_FAILED:
		if (n_failed)
			(*n_failed)++;
		sd_say("FAILED %s %s: %s", ev->action, ev->node, strna(ev->message));
		break;
	case BS_EXEC_EVENT_BUSY:
		if (ev->round == 1)
			sd_say("busy %s %s: %s (retrying)", ev->action, ev->node, strna(ev->message));
		break;
	case BS_EXEC_EVENT_BLOCKER:
		sd_say("still open: %s %s: %s", ev->action, ev->node, strna(ev->message));
		break;
	case BS_EXEC_EVENT_WARNING:
		sd_say("WARNING: %s %s: %s", strna(ev->action), strna(ev->node), strna(ev->message));
		break;
	default:
		break;
	}
}

int sd_verb_to_reboot(const char *verb, int *ret_how)
{
	int how;

	if (!verb)
		return -EINVAL;
	if (streq(verb, "poweroff"))
		how = RB_POWER_OFF;
	else if (streq(verb, "reboot") || streq(verb, "kexec"))
		how = RB_AUTOBOOT;
	else if (streq(verb, "halt"))
		how = RB_HALT_SYSTEM;
	else
		return -EINVAL;
	if (ret_how)
		*ret_how = how;
	return 0;
}

const char *sd_verb_doing(const char *verb)
{
	int how = RB_HALT_SYSTEM;

	(void)sd_verb_to_reboot(verb, &how);
	return how == RB_POWER_OFF ? "powering off" : how == RB_AUTOBOOT ? "rebooting" : "halting";
}

/* ---- the watchdog ------------------------------------------------------------------------- */

static int watchdog_how = RB_POWER_OFF;
static bool watchdog_sync = true;
static char watchdog_message[160];

/* Only async-signal-safe calls here: write(2), sync(2), reboot(2). */
static void watchdog_fired(_unused_ int sig)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);

	(void)!write(STDERR_FILENO, watchdog_message, strlen(watchdog_message));
	if (fd >= 0) {
		(void)!write(fd, watchdog_message, strlen(watchdog_message));
		close(fd);
	}
	if (watchdog_sync)
		sync();
	(void)reboot(watchdog_how);
	_exit(EXIT_FAILURE);
}

void sd_watchdog_arm(const char *verb, uint64_t timeout_usec, bool sync_first)
{
	unsigned seconds = (unsigned)((timeout_usec + 999999) / 1000000);
	struct sigaction sa = { .sa_handler = watchdog_fired };

	watchdog_how = RB_POWER_OFF;
	watchdog_sync = sync_first;
	(void)sd_verb_to_reboot(verb, &watchdog_how);
	(void)snprintf(watchdog_message, sizeof(watchdog_message),
		       "%stimeout after %u s: %s now\n", prefix, seconds, strna(verb));
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGALRM, &sa, NULL);
	alarm(seconds ? seconds : 1);
}

void sd_watchdog_disarm(void)
{
	alarm(0);
}

int sd_reboot(const char *verb, bool sync_first)
{
	int how, r = sd_verb_to_reboot(verb, &how);

	if (r < 0)
		return r;
	if (sync_first)
		sync();
	return reboot(how) < 0 ? -errno : 0;
}

/* ---- sync -------------------------------------------------------------------------------- */

static int meminfo_field(const char *text, const char *name, uint64_t *ret)
{
	size_t l = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, l) == 0 && p[l] == ':') {
			char *end;

			errno = 0;
			*ret = strtoull(p + l + 1, &end, 10);
			return errno || end == p + l + 1 ? -EINVAL : 0;
		}
	return -EINVAL;
}

int sd_meminfo_dirty(const char *text, uint64_t *ret_dirty_kb, uint64_t *ret_writeback_kb)
{
	int r = meminfo_field(text, "Dirty", ret_dirty_kb);

	return r < 0 ? r : meminfo_field(text, "Writeback", ret_writeback_kb);
}

static int read_meminfo(uint64_t *ret_kb)
{
	char buf[8192];
	uint64_t dirty, writeback;
	ssize_t n;
	int fd, r;

	fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	buf[n] = '\0';
	r = sd_meminfo_dirty(buf, &dirty, &writeback);
	if (r < 0)
		return r;
	*ret_kb = dirty + writeback;
	return 0;
}

int sd_sync_wait(uint64_t timeout_usec, uint64_t *ret_left_kb)
{
	uint64_t deadline = now_usec() + timeout_usec, left = 0;
	int interval_ms = 5, r;

	for (;;) {
		sync();
		r = read_meminfo(&left);
		if (r < 0)
			/* No /proc/meminfo to judge by: the one sync(2) is all there is. */
			return 0;
		if (left == 0)
			return 0;
		if (now_usec() >= deadline) {
			if (ret_left_kb)
				*ret_left_kb = left;
			return -ETIMEDOUT;
		}
		/* Nothing announces that writeback is done; the counters are looked at again,
		 * less often as it drags on. */
		(void)poll(NULL, 0, interval_ms);
		if (interval_ms < 200)
			interval_ms *= 2;
	}
}

/* ---- mountinfo ----------------------------------------------------------------------------- */

void sd_unescape_mountinfo(char *s)
{
	char *w = s;

	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else
			*w++ = *p;
	}
	*w = '\0';
}

/* ---- where the time goes ------------------------------------------------------------------- */

void sd_times_start(struct sd_times *t)
{
	t->start = t->last = now_usec();
	t->text[0] = '\0';
}

void sd_times_mark(struct sd_times *t, const char *phase)
{
	uint64_t now = now_usec();
	size_t l = strlen(t->text);

	(void)snprintf(t->text + l, sizeof(t->text) - l, "%s%s %.2f s", l ? ", " : "", phase,
		       (double)(now - t->last) / 1e6);
	t->last = now;
}

double sd_times_total(const struct sd_times *t)
{
	return (double)(now_usec() - t->start) / 1e6;
}
