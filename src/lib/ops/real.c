/* The real ops table, and the side effects that are one system call each. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/swap.h>
#include <unistd.h>

#include "libblkstack-private.h"
#include "real.h"
#include "process.h"
#include "util.h"

/* lvm fullreport and mdadm --detail print at most a few MiB even on large systems. */
#define SPAWN_MAX_OUTPUT (64u << 20)

static struct bs_ctx *real_ctx(void *userdata)
{
	return ((struct bs_real_ops_data *)userdata)->ctx;
}

int bs_real_spawn(void *userdata, const char *const argv[], char **ret_stdout)
{
	char *out = NULL;
	int r;

	r = bs_spawn_capture(real_ctx(userdata), argv, SPAWN_MAX_OUTPUT, &out, NULL);
	if (r < 0)
		return r;
	if (ret_stdout)
		*ret_stdout = out;
	else
		free(out);
	return 0;
}

int bs_real_mount(_unused_ void *userdata, const char *source, const char *target,
		  const char *fstype, unsigned long flags, const char *data)
{
	return mount(source, target, fstype, flags, data) < 0 ? -errno : 0;
}

int bs_real_umount(_unused_ void *userdata, const char *target, int flags)
{
	return umount2(target, flags) < 0 ? -errno : 0;
}

int bs_real_swapon(_unused_ void *userdata, const char *path, int flags)
{
	return swapon(path, flags) < 0 ? -errno : 0;
}

int bs_real_swapoff(_unused_ void *userdata, const char *path)
{
	return swapoff(path) < 0 ? -errno : 0;
}

int bs_real_remove_node(_unused_ void *userdata, const char *path)
{
	if (!startswith(path, "/dev/"))
		return -EINVAL;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int bs_real_device_busy(_unused_ void *userdata, const char *path)
{
	int fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno == EBUSY ? 1 : 0;
}

int bs_real_probe_fstype(_unused_ void *userdata, const char *path, char **ret_type)
{
	const char *type = NULL;
	blkid_probe pr;
	int r = 0;

	/* Opened read-only; nothing is written. */
	pr = blkid_new_probe_from_filename(path);
	if (!pr)
		return 0;
	(void)blkid_probe_enable_superblocks(pr, 1);
	(void)blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	if (blkid_do_safeprobe(pr) == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0)
		r = 1;
	*ret_type = r ? strdup(type) : NULL;
	blkid_free_probe(pr);
	if (r && !*ret_type)
		return -ENOMEM;
	return r;
}

int bs_real_reboot(_unused_ void *userdata, int how)
{
	sync();
	return reboot(how) < 0 ? -errno : 0;
}

static const struct bs_ops real_ops = {
	.spawn = bs_real_spawn,
	.mount = bs_real_mount,
	.umount = bs_real_umount,
	.swapon = bs_real_swapon,
	.swapoff = bs_real_swapoff,
	.loop_attach = bs_real_loop_attach,
	.loop_detach = bs_real_loop_detach,
	.btrfs_scan = bs_real_btrfs_scan,
	.crypt_open = bs_real_crypt_open,
	.crypt_close = bs_real_crypt_close,
	.crypt_wipe = bs_real_crypt_wipe,
	.crypt_suspend = bs_real_crypt_suspend,
	.crypt_resume = bs_real_crypt_resume,
	.ask_password = bs_real_ask_password,
	.wait_device = bs_real_wait_device,
	.wait_uevent = bs_real_wait_uevent,
	.remove_node = bs_real_remove_node,
	.watch_uevents = bs_real_watch_uevents,
	.device_busy = bs_real_device_busy,
	.probe_fstype = bs_real_probe_fstype,
	.reboot = bs_real_reboot,
	.load_module = bs_real_load_module,
	.wait_route = bs_real_wait_route,
};

const struct bs_ops *bs_ops_real(void)
{
	return &real_ops;
}
