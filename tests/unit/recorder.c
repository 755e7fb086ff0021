/* A recording ops table for the executor's tests: a transcript, and scripted failures. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "recorder.h"

void recorder_init(struct recorder *r)
{
	*r = (struct recorder){};
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->f = open_memstream(&r->transcript, &r->size);
}

const char *recorder_transcript(struct recorder *r)
{
	pthread_mutex_lock(&r->lock);
	fflush(r->f);
	pthread_mutex_unlock(&r->lock);
	return r->transcript ? r->transcript : "";
}

void recorder_done(struct recorder *r)
{
	if (r->f)
		fclose(r->f);
	free(r->transcript);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
}

void recorder_fail(struct recorder *r, const char *op, const char *match, int error, int count)
{
	if (r->n_rules < sizeof(r->rules) / sizeof(r->rules[0]))
		r->rules[r->n_rules++] = (struct recorder_rule){ op, match, error, count };
}

/* Records "OP ARGS", applies the first rule that matches, and appends " -> ERROR" when the
 * call fails. Returns 0 or the scripted error. Holds the lock. */
_printf_(3, 0) static int record_locked(struct recorder *r, const char *op, const char *format,
					va_list ap)
{
	char *args = NULL, *line = NULL;
	int error = 0;

	r->n_calls++;
	if (vasprintf(&args, format, ap) < 0)
		return -ENOMEM;
	if (asprintf(&line, "%s %s", op, args) < 0) {
		free(args);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->n_rules; i++) {
		struct recorder_rule *rule = &r->rules[i];

		if (strcmp(rule->op, op) != 0 || rule->count == 0 ||
		    (rule->match && !strstr(line, rule->match)))
			continue;
		if (rule->count > 0)
			rule->count--;
		error = rule->error;
		break;
	}
	if (error)
		fprintf(r->f, "%s -> %s\n", line, strerrorname_np(-error));
	else
		fprintf(r->f, "%s\n", line);
	if (r->on_record)
		r->on_record(r, line, r->on_record_data);
	free(args);
	free(line);
	return error;
}

static int record(struct recorder *r, const char *op, const char *format, ...) _printf_(3, 4);
static int record(struct recorder *r, const char *op, const char *format, ...)
{
	va_list ap;
	int error;

	pthread_mutex_lock(&r->lock);
	va_start(ap, format);
	error = record_locked(r, op, format, ap);
	va_end(ap);
	pthread_mutex_unlock(&r->lock);
	return error;
}

static int rec_spawn(void *u, const char *const argv[], char **ret_stdout)
{
	char *line = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&line, &size);
	int r;

	for (size_t i = 0; argv[i]; i++)
		fprintf(f, "%s%s", i ? " " : "", argv[i]);
	fclose(f);
	r = record(u, "spawn", "%s", line);
	free(line);
	if (r < 0)
		return r;
	if (ret_stdout) {
		/* What the tools print that drivers read back: lvm's VG check is complete, mdadm's
		 * --detail names a kernel device. */
		if (strcmp(argv[0], "lvm") == 0 && argv[1] && strcmp(argv[1], "vgs") == 0) {
			size_t last = 0;

			while (argv[last + 1])
				last++;
			if (asprintf(ret_stdout,
				     "{\"report\":[{\"vg\":[{\"vg_name\":\"%s\",\"pv_count\":\"1\","
				     "\"vg_missing_pv_count\":\"0\"}]}]}",
				     argv[last]) < 0)
				*ret_stdout = NULL;
		} else if (strcmp(argv[0], "mdadm") == 0)
			*ret_stdout = strdup("MD_DEVNAME=rec\nMD_LEVEL=raid1\nMD_DEVICES=1\n");
		else
			*ret_stdout = strdup("");
		if (!*ret_stdout)
			return -ENOMEM;
	}
	return 0;
}

static int rec_mount(void *u, const char *source, const char *target, const char *fstype,
		     unsigned long flags, const char *data)
{
	return record(u, "mount", "%s %s %s flags=%#lx data=%s", source ? source : "-", target,
		      fstype ? fstype : "-", flags, data && *data ? data : "-");
}

/* Drops the mountinfo lines of mount point target below r->sysroot. */
static void drop_mount(struct recorder *r, const char *target)
{
	char *path = NULL, *text = NULL, *out = NULL, *line, *save = NULL;
	size_t size = 0, out_size = 0;
	FILE *f, *o;

	if (asprintf(&path, "%s/proc/self/mountinfo", r->sysroot) < 0)
		return;
	f = fopen(path, "re");
	if (f) {
		o = open_memstream(&text, &size);
		for (int c; o && (c = fgetc(f)) != EOF;)
			fputc(c, o);
		if (o)
			fclose(o);
		fclose(f);
	}
	o = text ? open_memstream(&out, &out_size) : NULL;
	for (line = text ? strtok_r(text, "\n", &save) : NULL; o && line;
	     line = strtok_r(NULL, "\n", &save)) {
		char mp[4096];

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp(mp, target) == 0)
			continue;
		fprintf(o, "%s\n", line);
	}
	if (o) {
		fclose(o);
		f = fopen(path, "we");
		if (f) {
			fputs(out, f);
			fclose(f);
		}
	}
	free(out);
	free(text);
	free(path);
}

static int rec_umount(void *u, const char *target, int flags)
{
	struct recorder *r = u;
	int e = record(u, "umount", "%s flags=%#x", target, (unsigned)flags);

	if (e == 0 && r->sysroot) {
		pthread_mutex_lock(&r->lock);
		drop_mount(r, target);
		pthread_mutex_unlock(&r->lock);
	}
	return e;
}

static int rec_swapon(void *u, const char *path, int flags)
{
	return record(u, "swapon", "%s flags=%#x", path, (unsigned)flags);
}

static int rec_swapoff(void *u, const char *path)
{
	return record(u, "swapoff", "%s", path);
}

static int rec_loop_attach(void *u, const char *file, const struct bs_loop_options *o,
			   char **ret_device)
{
	struct recorder *r = u;
	int e = record(r, "loop-attach", "%s%s%s%s%s%s", file, o->read_only ? " ro" : "",
		       o->offset ? " offset" : "", o->sizelimit ? " sizelimit" : "",
		       o->partscan ? " partscan" : "", o->direct_io ? " direct-io" : "");

	if (e < 0)
		return e;
	pthread_mutex_lock(&r->lock);
	e = asprintf(ret_device, "/dev/loop%u", 100 + r->next_loop++);
	pthread_mutex_unlock(&r->lock);
	return e < 0 ? -ENOMEM : 0;
}

static int rec_loop_detach(void *u, const char *device)
{
	return record(u, "loop-detach", "%s", device);
}

static int rec_btrfs_scan(void *u, const char *device, bool *ret_complete)
{
	int e = record(u, "btrfs-scan", "%s", device);

	if (e == 0)
		*ret_complete = true;
	return e;
}

static int rec_crypt_open(void *u, const struct bs_crypt_request *req)
{
	struct recorder *r = u;
	int e;
	bool wrong = !req->key_file && (req->key_size != strlen(RECORDER_PASSPHRASE) ||
					memcmp(req->key, RECORDER_PASSPHRASE, req->key_size) != 0);

	pthread_mutex_lock(&r->lock);
	r->in_flight++;
	r->crypt_in_flight++;
	if (r->in_flight > r->max_in_flight)
		r->max_in_flight = r->in_flight;
	pthread_cond_broadcast(&r->cond);
	if (r->rendezvous > 0) {
		struct timespec deadline;

		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 30;
		while (r->crypt_in_flight < r->rendezvous && !r->rendezvous_failed)
			if (pthread_cond_timedwait(&r->cond, &r->lock, &deadline) == ETIMEDOUT)
				r->rendezvous_failed = true;
		if (r->crypt_in_flight >= r->rendezvous)
			r->rendezvous = 0; /* met: the later ones go on */
	}
	pthread_mutex_unlock(&r->lock);

	e = record(r, "crypt-open", "%s %s %s %s%s", req->name, req->device, req->type,
		   req->key_file ? req->key_file :
		   wrong	 ? "wrong-passphrase" :
				   "passphrase",
		   req->pinned_digest ? " pinned-digest" : "");
	if (e == 0 && wrong)
		e = -EPERM;
	pthread_mutex_lock(&r->lock);
	r->in_flight--;
	r->crypt_in_flight--;
	pthread_mutex_unlock(&r->lock);
	return e;
}

static int rec_crypt_close(void *u, const char *name)
{
	return record(u, "crypt-close", "%s", name);
}

static int rec_crypt_wipe(void *u, const char *name)
{
	return record(u, "crypt-wipe", "%s", name);
}

static int rec_ask_password(void *u, const char *prompt, char **ret_secret, size_t *ret_size)
{
	struct recorder *r = u;
	const char *answer = NULL;
	int e = record(r, "ask-password", "%s", prompt);

	if (e < 0)
		return e;
	pthread_mutex_lock(&r->lock);
	if (r->next_answer < r->n_answers)
		answer = r->answers[r->next_answer++];
	pthread_mutex_unlock(&r->lock);
	if (!answer)
		return -ECANCELED;
	e = bs_secret_new(strlen(answer), ret_secret);
	if (e < 0)
		return e;
	memcpy(*ret_secret, answer, strlen(answer));
	*ret_size = strlen(answer);
	return 0;
}

static int rec_wait_device(void *u, const struct bs_device_match *m, uint64_t timeout_usec,
			   char **ret_name)
{
	int e = record(u, "wait-device", "%s timeout=%llus", m->id,
		       (unsigned long long)(timeout_usec / 1000000));

	if (e < 0)
		return e;
	*ret_name = strdup(m->name ? m->name : "appeared");
	return *ret_name ? 0 : -ENOMEM;
}

/* Not in the transcript (every run starts with it): a test reads watched_first instead. */
static int rec_watch_uevents(void *u)
{
	struct recorder *r = u;

	pthread_mutex_lock(&r->lock);
	r->watched_first = r->n_calls == 0;
	r->n_watches++;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static int rec_wait_uevent(void *u, uint64_t timeout_usec)
{
	int e = record(u, "wait-uevent", "timeout=%llus",
		       (unsigned long long)(timeout_usec / 1000000));

	/* Nothing ever appears in a fixture. */
	return e < 0 ? e : -ETIMEDOUT;
}

static int rec_remove_node(void *u, const char *path)
{
	return record(u, "remove-node", "%s", path);
}

/* Busy only when a rule says so ("device-busy", "/dev/mapper/x", -EBUSY): the error is the
 * answer, not a failure of the probe. */
static int rec_device_busy(void *u, const char *path)
{
	return record(u, "device-busy", "%s", path) < 0 ? 1 : 0;
}

/* No filesystem is found unless a rule fails the probe. */
static int rec_probe_fstype(void *u, const char *path, char **ret_type)
{
	*ret_type = NULL;
	return record(u, "probe-fstype", "%s", path);
}

static int rec_reboot(void *u, int how)
{
	return record(u, "reboot", "%#x", (unsigned)how);
}

/* Every module is there unless a rule says otherwise. */
static int rec_load_module(void *u, const char *name)
{
	struct recorder *r = u;

	return r->record_modules ? record(u, "load-module", "%s", name) : 0;
}

/* A route is there unless a rule says otherwise ("wait-route", "HOST", -ETIMEDOUT). */
static int rec_wait_route(void *u, const char *host, uint64_t timeout_usec)
{
	return record(u, "wait-route", "%s timeout=%llus", host ? host : "(default)",
		      (unsigned long long)(timeout_usec / 1000000));
}

static const struct bs_ops ops = {
	.spawn = rec_spawn,
	.mount = rec_mount,
	.umount = rec_umount,
	.swapon = rec_swapon,
	.swapoff = rec_swapoff,
	.loop_attach = rec_loop_attach,
	.loop_detach = rec_loop_detach,
	.btrfs_scan = rec_btrfs_scan,
	.crypt_open = rec_crypt_open,
	.crypt_close = rec_crypt_close,
	.crypt_wipe = rec_crypt_wipe,
	.ask_password = rec_ask_password,
	.wait_device = rec_wait_device,
	.watch_uevents = rec_watch_uevents,
	.wait_uevent = rec_wait_uevent,
	.remove_node = rec_remove_node,
	.device_busy = rec_device_busy,
	.probe_fstype = rec_probe_fstype,
	.reboot = rec_reboot,
	.load_module = rec_load_module,
	.wait_route = rec_wait_route,
};

const struct bs_ops *recorder_ops(void)
{
	return &ops;
}
