/* Unit tests of the configuration sources: the parsers, the merge into the graph, the problems
 * with their exact messages, cycles, and 'blkstack check'. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <dirent.h>
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "blkstack.h"
#include "exit-code.h"
#include "graph.h"
#include "sources/config.h"
#include "sources/sources.h"
#include "strv.h"
#include "test-graph.h"
#include "tests.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_ctx *, bs_ctx_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bs_graph *, bs_graph_unref)

/* ---- helpers ----------------------------------------------------------------------------- */

/* Every warning and error the library logged in this test, one per line. */
static char *logged;

_printf_(6, 0) static void capture_log(_unused_ void *userdata, int priority,
				       _unused_ const char *file, _unused_ int line,
				       _unused_ const char *fn, const char *format, va_list args)
{
	char *message = NULL;

	if (priority > LOG_WARNING)
		return;
	if (vasprintf(&message, format, args) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	if (strextend(&logged, message, "\n", NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	free(message);
}

/* Appends text to the file root/relpath, creating it and its directories if missing (git
 * keeps no empty etc/blkstack/ in a fixture). */
static void append_file(const char *root, const char *relpath, const char *text)
{
	_cleanup_free_ char *path = NULL, *dir = strdup(relpath);
	_cleanup_fclose_ FILE *f = NULL;
	char *slash;

	ASSERT_NOTNULL(dir);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		test_mkdir_p(root, dir);
	}
	if (strextend(&path, root, "/", relpath, NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	f = fopen(path, "ae");
	if (!f)
		test_fail(TEST_FILE, __LINE__, "fopen('%s'): %m", path);
	ASSERT_TRUE(fputs(text, f) >= 0);
}

static struct bs_ctx *new_ctx(const char *sysroot)
{
	struct bs_ctx_opts opts = { .sysroot = sysroot };
	struct bs_ctx *c = NULL;

	ASSERT_OK(unsetenv("BLKSTACK_DEBUG"));
	ASSERT_OK(bs_ctx_new(&opts, &c));
	bs_ctx_set_log_fn(c, capture_log, NULL);
	return c;
}

/* The problems of the last configuration read by this test (each test is a process). */
static struct bs_problem_list *last_problems;

/* add_config with a fresh problem list in last_problems: -EBADMSG if it has problems. */
static int add_config(struct bs_graph *g)
{
	int r;

	bs_problem_list_free(last_problems);
	ASSERT_OK(bs_problem_list_new(&last_problems));
	r = bs_graph_add_config(g, last_problems);
	return r < 0 ? r : bs_problem_list_get_n(last_problems) > 0 ? -EBADMSG : 0;
}

static const char *problem_text(size_t i)
{
	return bs_problem_get_text(bs_problem_list_get(last_problems, i));
}

/* The graph of sysroot, live and configured; add_config's result in *ret_r. */
static struct bs_graph *config_graph(const char *sysroot, int *ret_r)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(sysroot);
	struct bs_graph *g = NULL;

	ASSERT_OK(bs_graph_new(c, &g));
	(void)bs_graph_add_live(g);
	*ret_r = add_config(g);
	return g;
}

/* The same, expecting no problem. */
static struct bs_graph *clean_graph(const char *sysroot)
{
	int r;
	struct bs_graph *g = config_graph(sysroot, &r);

	if (r != 0)
		test_fail(TEST_FILE, __LINE__, "bs_graph_add_config() = %d, first problem: %s", r,
			  strna(problem_text(0)));
	return g;
}

/* The problems of a problem list, one per line, for comparing with what is expected. */
static char *problem_texts(const struct bs_problem_list *l)
{
	char *s = NULL;

	if (strextend(&s, "", NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	for (size_t i = 0; i < l->n_problems; i++)
		if (strextend(&s, l->problems[i].text, "\n", NULL) < 0)
			test_fail(TEST_FILE, __LINE__, "out of memory");
	return s;
}

static char *graph_problem_texts(_unused_ const struct bs_graph *g)
{
	char *s = NULL;

	if (strextend(&s, "", NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	for (size_t i = 0; i < bs_problem_list_get_n(last_problems); i++)
		if (strextend(&s, problem_text(i), "\n", NULL) < 0)
			test_fail(TEST_FILE, __LINE__, "out of memory");
	return s;
}

/* "ROOT/REL:LINE: MESSAGE\n", the form problems take. */
_printf_(3, 4) static char *expect_at(const char *root, const char *rel, const char *format, ...)
{
	_cleanup_free_ char *message = NULL;
	char *s = NULL;
	va_list ap;

	va_start(ap, format);
	if (vasprintf(&message, format, ap) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	va_end(ap);
	if (asprintf(&s, "%s/%s:%s\n", root, rel, message) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	return s;
}

/* ---- crypttab ---------------------------------------------------------------------------- */

#define PARSE(fn, text, ret, problems) fn("F", (text), strlen(text), (ret), (problems))

TEST(crypttab_fields_and_options)
{
	const char *text = "# comment\n"
			   "\n"
			   "root UUID=43c1b2e4-cd43-4bbd-949e-e440504cddf6 none luks,discard\n"
			   "  swap\t/dev/vdb1 /dev/urandom "
			   "plain,swap,cipher=aes-xts-plain64,size=512,hash=sha256,offset=8,"
			   "skip=2,sector-size=4096\n"
			   "data PARTUUID=1234 /etc/keys/data.key "
			   "keyfile-offset=4,keyfile-size=64,key-slot=3,tries=0,header=/boot/"
			   "data.hdr,_netdev,noauto,nofail,timeout=2min,x-systemd.device-timeout="
			   "10\n"
			   "usb LABEL=a\\040b - tcrypt,veracrypt,tmp,check=blkid,checkargs=ext4\n"
			   "ks /dev/sda3 usbkey keyscript=/lib/cryptsetup/scripts/passdev\n";
	_cleanup_(bs_crypttab_freep) struct bs_crypttab *t = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;
	const struct bs_crypttab_entry *e;

	ASSERT_OK(PARSE(bs_crypttab_parse, text, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems, "");
	ASSERT_EQ(t->n_entries, 5);

	e = &t->entries[0];
	ASSERT_EQ(e->line, 3);
	ASSERT_STREQ(e->name, "root");
	ASSERT_STREQ(e->source, "UUID=43c1b2e4-cd43-4bbd-949e-e440504cddf6");
	ASSERT_NULL(e->key_file);
	ASSERT_STREQ(e->options, "luks,discard");
	ASSERT_EQ(e->type, BS_CRYPT_TYPE_LUKS);
	ASSERT_EQ(e->flags, BS_CRYPTTAB_DISCARD);
	ASSERT_EQ(e->keyslot, -1);
	ASSERT_EQ(e->tries, -1);

	e = &t->entries[1];
	ASSERT_STREQ(e->name, "swap");
	ASSERT_STREQ(e->key_file, "/dev/urandom");
	ASSERT_EQ(e->type, BS_CRYPT_TYPE_PLAIN);
	ASSERT_TRUE(e->flags & BS_CRYPTTAB_SWAP);
	ASSERT_STREQ(e->cipher, "aes-xts-plain64");
	ASSERT_STREQ(e->hash, "sha256");
	ASSERT_EQ(e->key_size, 512);
	ASSERT_EQ(e->offset, 8);
	ASSERT_EQ(e->skip, 2);
	ASSERT_EQ(e->sector_size, 4096);

	e = &t->entries[2];
	ASSERT_STREQ(e->key_file, "/etc/keys/data.key");
	ASSERT_EQ(e->keyfile_offset, 4);
	ASSERT_EQ(e->keyfile_size, 64);
	ASSERT_EQ(e->keyslot, 3);
	ASSERT_EQ(e->tries, 0);
	ASSERT_STREQ(e->header, "/boot/data.hdr");
	ASSERT_EQ(e->flags, BS_CRYPTTAB_NETDEV | BS_CRYPTTAB_NOAUTO | BS_CRYPTTAB_NOFAIL);
	ASSERT_EQ(e->timeout_usec, 120 * 1000000ULL);

	e = &t->entries[3];
	ASSERT_STREQ(e->source, "LABEL=a b");
	ASSERT_NULL(e->key_file);
	ASSERT_EQ(e->type, BS_CRYPT_TYPE_TCRYPT);
	ASSERT_TRUE(e->flags & BS_CRYPTTAB_VERACRYPT);
	ASSERT_STREQ(e->tmp_fstype, "ext4");
	ASSERT_STREQ(e->check, "blkid");
	ASSERT_STREQ(e->checkargs, "ext4");

	/* With a keyscript the key field is the script's argument, not a path. */
	e = &t->entries[4];
	ASSERT_STREQ(e->key_file, "usbkey");
	ASSERT_STREQ(e->keyscript, "/lib/cryptsetup/scripts/passdev");
	bs_problem_list_done(&pl);
}

TEST(crypttab_every_debian_option_is_known)
{
	/* Each option of Debian's crypttab(5), with a valid value where it takes one. */
	const char *text =
		"a /dev/vda none cipher=aes-xts-plain64,size=256,sector-size=512,hash=sha1,"
		"offset=0,skip=0,keyfile-offset=0,keyfile-size=32,keyslot=0,key-slot=1,"
		"header=/dev/vdb,verify,readonly,read-only,tries=3,discard,luks,"
		"same-cpu-crypt,submit-from-crypt-cpus,no-read-workqueue,no-write-workqueue,"
		"swap,tmp=ext2,check,checkargs=x,initramfs,noearly,noauto,loud,quiet,"
		"keyscript=/bin/cat\n"
		"b /dev/vda none plain\n"
		"c /dev/vda none bitlk\n"
		"d /dev/vda none tcrypt,veracrypt,tcrypt-veracrypt,tcrypthidden,tcrypt-hidden\n"
		"e /dev/vda none nofail,_netdev,x-systemd.after=foo,x-initrd.attach,headless=yes,"
		"tcrypt-system,veracrypt-pim=5,keyfile-erase,timeout=0,tpm2-device=auto\n";
	_cleanup_(bs_crypttab_freep) struct bs_crypttab *t = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_crypttab_parse, text, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems, "");
	ASSERT_EQ(t->n_entries, 5);
	bs_problem_list_done(&pl);
}

TEST(crypttab_errors)
{
	const char *text = "a /dev/vda none discrad\n"
			   "b /dev/vda none tries=many\n"
			   "c /dev/vda none size=13\n"
			   "d /dev/vda none sector-size=1000\n"
			   "e /dev/vda none keyslot=32\n"
			   "f /dev/vda none luks,plain\n"
			   "g /dev/vda none cipher\n"
			   "h /dev/vda none discard=yes\n"
			   "i\n"
			   "j foo none\n"
			   "k /dev/vda relative/key luks\n"
			   "l/m /dev/vda\n"
			   "n /dev/vda none luks # comment\n"
			   "o /dev/vda none timeout=soon\n"
			   "a /dev/vdb\n"
			   "p /dev/vda none frobnicate\n"
			   "q /dev/vda none luks\n";
	_cleanup_(bs_crypttab_freep) struct bs_crypttab *t = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_crypttab_parse, text, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems,
		     "F:1: unknown option 'discrad' (did you mean 'discard'?), ignoring\n"
		     "F:2: option 'tries' needs a number of tries (0: no limit), got 'many'\n"
		     "F:3: option 'size' needs a multiple of 8 bits, got '13'\n"
		     "F:4: option 'sector-size' needs a power of two from 512 to 4096, got "
		     "'1000'\n"
		     "F:5: option 'keyslot' needs a key slot from 0 to 31, got '32'\n"
		     "F:6: options 'luks' and 'plain' conflict\n"
		     "F:7: option 'cipher' needs a value ('cipher=...')\n"
		     "F:8: option 'discard' takes no value, got 'discard=yes'\n"
		     "F:9: expected at least 2 fields (name and source device), got only 'i'\n"
		     "F:10: source device 'foo' is neither an absolute path nor UUID=, LABEL=, "
		     "PARTUUID= or PARTLABEL=\n"
		     "F:11: key file 'relative/key' is not an absolute path (or 'none', or "
		     "PATH:DEVICE for a file on a device)\n"
		     "F:12: mapping name 'l/m' must be a plain file name\n"
		     "F:13: unexpected 5th field '#' (the fields are name, source device, key file "
		     "and options; a comment must be on a line of its own)\n"
		     "F:14: option 'timeout' needs a time span such as '90', '30s' or '2min', got "
		     "'soon'\n"
		     "F:15: mapping name 'a' is already used by line 1\n"
		     "F:16: unknown option 'frobnicate', ignoring\n");
	/* Only the lines without errors are entries; a bad line still takes its name. An
	 * unknown option is a warning: its line is used without it. */
	ASSERT_EQ(t->n_entries, 3);
	ASSERT_STREQ(t->entries[0].name, "a");
	ASSERT_EQ(t->entries[0].flags, 0);
	ASSERT_STREQ(t->entries[1].name, "p");
	ASSERT_STREQ(t->entries[2].name, "q");
	ASSERT_EQ(t->entries[2].line, 17);
	bs_problem_list_done(&pl);
}

/* ---- fstab ------------------------------------------------------------------------------- */

TEST(fstab_entries)
{
	const char *text = "# /etc/fstab\n"
			   "UUID=5e99935b-84ba-4678-96e5-7d654a978e69 / ext4 defaults 0 1\n"
			   "\n"
			   "LABEL=my\\040data /srv//data/ ext4 "
			   "noauto,nofail,x-systemd.requires=/dev/vdc,x-systemd.requires=foo.mount,"
			   "x-systemd.requires-mounts-for=/var/lib 0 2\n"
			   "UUID=7a061c57-2d2e-4ffd-acd2-f617d3971f79 none swap sw 0 0\n"
			   "server:/export /nfs nfs _netdev 0 0\n"
			   "proc /proc proc defaults 0 0\n"
			   "/srv/a /mnt/a none bind,ro\n";
	_cleanup_(bs_fstab_freep) struct bs_fstab *t = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;
	const struct bs_fstab_entry *e;

	ASSERT_OK(PARSE(bs_fstab_parse, text, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems, "");
	ASSERT_EQ(t->n_entries, 6);

	e = &t->entries[0];
	ASSERT_EQ(e->line, 2);
	ASSERT_STREQ(e->source, "UUID=5e99935b-84ba-4678-96e5-7d654a978e69");
	ASSERT_STREQ(e->target, "/");
	ASSERT_STREQ(e->fstype, "ext4");
	ASSERT_EQ(e->flags, 0);

	e = &t->entries[1];
	ASSERT_EQ(e->line, 4);
	ASSERT_STREQ(e->source, "LABEL=my data");
	ASSERT_STREQ(e->target, "/srv/data");
	ASSERT_EQ(e->flags, BS_FSTAB_NOAUTO | BS_FSTAB_NOFAIL);
	ASSERT_EQ(strv_length(e->requires), 2);
	ASSERT_STREQ(e->requires[0], "/dev/vdc");
	ASSERT_STREQ(e->requires[1], "foo.mount");
	ASSERT_EQ(strv_length(e->requires_mounts_for), 1);
	ASSERT_STREQ(e->requires_mounts_for[0], "/var/lib");

	ASSERT_EQ(t->entries[2].flags, BS_FSTAB_SWAP);
	ASSERT_EQ(t->entries[3].flags, BS_FSTAB_NETDEV | BS_FSTAB_NETFS);
	ASSERT_EQ(t->entries[4].flags, BS_FSTAB_PSEUDOFS);
	/* libmount takes the type "none" of a bind mount for a pseudo filesystem. */
	ASSERT_EQ(t->entries[5].flags, BS_FSTAB_BIND | BS_FSTAB_READONLY | BS_FSTAB_PSEUDOFS);
	bs_problem_list_done(&pl);
}

TEST(fstab_errors)
{
	const char *text = "UUID=abc\n"
			   "/dev/vda1 /data ext4 defaults 0 2\n"
			   "/dev/vda2 /data/ ext4 defaults 0 2\n"
			   "/dev/vda1 /x ext4 defaults zero 2\n"
			   "/dev/vda1 /y ext4 defaults 0 1 # comment\n"
			   "/dev/vda1 relative ext4 defaults\n"
			   "/dev/vda1 /z ext4 x-systemd.requires,noauto\n"
			   "UUID= /e ext4\n"
			   "/dev/vdb none swap sw\n"
			   "/dev/vdb none swap sw\n";
	_cleanup_(bs_fstab_freep) struct bs_fstab *t = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_fstab_parse, text, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems,
		     "F:1: expected at least 3 fields (device, mount point and type), got 1\n"
		     "F:3: mount point '/data' is already claimed by line 2\n"
		     "F:4: dump field 'zero' is not a number\n"
		     "F:6: mount point 'relative' is not an absolute path\n"
		     "F:7: option 'x-systemd.requires' needs a value\n"
		     "F:8: device 'UUID=' has an empty value\n"
		     "F:10: swap device '/dev/vdb' is already listed by line 9\n");
	/* Line 5's comment after the sixth field is one, as libmount reads it. */
	ASSERT_EQ(t->n_entries, 3);
	ASSERT_STREQ(t->entries[1].target, "/y");
	bs_problem_list_done(&pl);
}

/* ---- mdadm.conf -------------------------------------------------------------------------- */

TEST(mdadm_conf_arrays)
{
	const char *text =
		"# mdadm.conf\n"
		"DEVICE partitions\n"
		"homehost <system>\n"
		"MAILADDR root\n"
		"ARRAY /dev/md/sys metadata=1.2 name=guest:sys\n"
		"# a comment inside the continued line\n"
		"   UUID=F278E03C:A31AA7BD:A0E88E06:EAA17CD6 level=raid6 num-devices=4\n"
		"arr /dev/md0 devices=/dev/vda1,/dev/vdb1 spares=1\n"
		"ARRAY data uuid=8c53c459-4bd1-18d5-a166-bc0192963a46 \"name=host:my data\"\n"
		"ARRAY /dev/md/imsm0 metadata=imsm UUID=12345678:12345678:12345678:12345678\n"
		"ARRAY /dev/md/vol0 container=/dev/md/imsm0 member=0 "
		"UUID=87654321:87654321:87654321:87654321\n"
		"ARRAY <ignore> uuid=00000000:00000000:00000000:00000001\n"
		"CREATE owner=root\n"
		"POL domain=x\n";
	_cleanup_(bs_mdadm_conf_freep) struct bs_mdadm_conf *c = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;
	const struct bs_mdadm_array *a;

	ASSERT_OK(PARSE(bs_mdadm_conf_parse, text, &c, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems, "");
	ASSERT_STREQ(c->homehost, "<system>");
	ASSERT_EQ(c->n_arrays, 5);

	a = &c->arrays[0];
	ASSERT_EQ(a->line, 5);
	ASSERT_STREQ(a->device, "/dev/md/sys");
	ASSERT_STREQ(a->uuid, "f278e03c-a31a-a7bd-a0e8-8e06eaa17cd6");
	ASSERT_STREQ(a->name, "guest:sys");
	ASSERT_STREQ(a->metadata, "1.2");
	ASSERT_STREQ(a->level, "raid6");
	ASSERT_EQ(a->num_devices, 4);
	ASSERT_STREQ(bs_mdadm_array_short_name(a), "sys");

	a = &c->arrays[1];
	ASSERT_STREQ(a->device, "/dev/md0");
	ASSERT_NULL(a->uuid);
	ASSERT_EQ(strv_length(a->devices), 2);
	ASSERT_STREQ(a->devices[1], "/dev/vdb1");
	ASSERT_EQ(a->spares, 1);
	ASSERT_NULL(bs_mdadm_array_short_name(a));

	a = &c->arrays[2];
	ASSERT_STREQ(a->device, "data");
	ASSERT_STREQ(a->name, "host:my data");
	ASSERT_STREQ(bs_mdadm_array_short_name(a), "my data");

	a = &c->arrays[4];
	ASSERT_STREQ(a->container, "/dev/md/imsm0");
	ASSERT_STREQ(a->member, "0");
	bs_problem_list_done(&pl);
}

TEST(mdadm_conf_errors)
{
	const char *text = "ARRAY /dev/md0 metadata=1.2\n"
			   "ARRY /dev/md1 uuid=1:2\n"
			   "ARRAY /dev/md/x uuid=zz\n"
			   "ARRAY /dev/md/y level=raid7 num-devices=four name=y\n"
			   "ARRAY /dev/md/z uuid=00000000:a31aa7bd:a0e88e06:eaa17cd6\n"
			   "  nmae=q\n"
			   "ARRAY /dev/md/a uuid=f278e03c:a31aa7bd:a0e88e06:eaa17cd6\n"
			   "ARRAY /dev/md/b uuid=f278e03c:a31aa7bd:a0e88e06:eaa17cd6\n"
			   "ARRAY /dev/sda name=s\n"
			   "ARRAY metadata=1.2\n"
			   " spares=1\n"
			   "de /dev/sda\n";
	_cleanup_(bs_mdadm_conf_freep) struct bs_mdadm_conf *c = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_mdadm_conf_parse, text, &c, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(
		problems,
		"F:1: ARRAY '/dev/md0' has no identity: give uuid=, name=, devices= or "
		"super-minor=\n"
		"F:2: unknown keyword 'ARRY' (did you mean 'ARRAY'?), ignoring\n"
		"F:3: bad uuid 'zz' (expected 32 hex digits, as in "
		"'uuid=f278e03c:a31aa7bd:a0e88e06:eaa17cd6')\n"
		"F:4: unknown RAID level 'raid7' (did you mean 'raid0'?), ignoring\n"
		"F:4: 'num-devices=' needs a non-negative integer, got 'four'\n"
		"F:6: unknown word 'nmae=q' on ARRAY line (did you mean 'name='?), ignoring\n"
		"F:8: array uuid 'f278e03c-a31a-a7bd-a0e8-8e06eaa17cd6' is already used by "
		"line 7\n"
		"F:9: '/dev/sda' is not a valid md device name (use /dev/md/NAME or /dev/mdN)\n"
		"F:10: ARRAY line has no identity: give uuid=, name=, devices= or "
		"super-minor=\n"
		"F:12: unknown keyword 'de', ignoring\n");
	/* Unknown words and keywords are warnings: the array of line 5 stays. */
	ASSERT_EQ(c->n_arrays, 2);
	ASSERT_STREQ(c->arrays[0].device, "/dev/md/z");
	ASSERT_NULL(c->arrays[0].name);
	ASSERT_STREQ(c->arrays[1].device, "/dev/md/a");
	bs_problem_list_done(&pl);
}

/* ---- stack.conf -------------------------------------------------------------------------- */

TEST(stack_conf_entries)
{
	const char *text = "# layers no standard file describes\n"
			   "loop /data/disk.img\n"
			   "loop /srv//my\\040disk.img ro,offset=1M,sector-size=4096  # a comment\n"
			   "nbd nbd0 server.example:10809 export1\n"
			   "nbd backup [fd00::1] ro,timeout=30s,connections=4\n"
			   "nbd ro 10.0.0.1:1234 - ro\n"
			   "nbd tlsdev host ex tls,certfile=/etc/nbd/c.pem\n"
			   "iscsi lun0 iqn.2004-01.org.example:disk1 10.0.0.2 lun=1,iface=eth0\n"
			   "after mnt:/srv crypt:cryptsrv\n";
	_cleanup_(bs_stack_conf_freep) struct bs_stack_conf *c = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;
	const struct bs_stack_entry *e;

	ASSERT_OK(PARSE(bs_stack_conf_parse, text, &c, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems, "");
	ASSERT_EQ(c->n_entries, 8);

	e = &c->entries[0];
	ASSERT_EQ(e->kind, BS_STACK_LOOP);
	ASSERT_STREQ(e->path, "/data/disk.img");
	ASSERT_NULL(e->options);

	e = &c->entries[1];
	ASSERT_STREQ(e->path, "/srv/my disk.img");
	ASSERT_EQ(e->flags, BS_STACK_READONLY);
	ASSERT_EQ(e->offset, 1024 * 1024);
	ASSERT_EQ(e->sector_size, 4096);

	e = &c->entries[2];
	ASSERT_EQ(e->kind, BS_STACK_NBD);
	ASSERT_STREQ(e->name, "nbd0");
	ASSERT_STREQ(e->host, "server.example");
	ASSERT_EQ(e->port, 10809);
	ASSERT_STREQ(e->target, "export1");

	/* One field after the server: options when it reads as options. */
	e = &c->entries[3];
	ASSERT_STREQ(e->host, "fd00::1");
	ASSERT_EQ(e->port, 0);
	ASSERT_NULL(e->target);
	ASSERT_EQ(e->flags, BS_STACK_READONLY);
	ASSERT_EQ(e->timeout_sec, 30);
	ASSERT_EQ(e->connections, 4);

	e = &c->entries[4];
	ASSERT_STREQ(e->name, "ro");
	ASSERT_NULL(e->target);
	ASSERT_EQ(e->flags, BS_STACK_READONLY);

	e = &c->entries[5];
	ASSERT_STREQ(e->target, "ex");
	ASSERT_EQ(strv_length(e->files), 1);
	ASSERT_STREQ(e->files[0], "/etc/nbd/c.pem");

	e = &c->entries[6];
	ASSERT_EQ(e->kind, BS_STACK_ISCSI);
	ASSERT_STREQ(e->target, "iqn.2004-01.org.example:disk1");
	ASSERT_STREQ(e->host, "10.0.0.2");
	ASSERT_EQ(e->lun, 1);
	ASSERT_STREQ(e->iface, "eth0");

	e = &c->entries[7];
	ASSERT_EQ(e->kind, BS_STACK_AFTER);
	ASSERT_STREQ(e->first, "mnt:/srv");
	ASSERT_STREQ(e->second, "crypt:cryptsrv");
	bs_problem_list_done(&pl);
}

TEST(stack_conf_errors)
{
	const char *text = "lop /x\n"
			   "loop data/disk.img\n"
			   "loop /srv/c.img rw\n"
			   "loop /srv/a.img\n"
			   "loop /srv//a.img ro\n"
			   "loop /srv/b.img offset=lots\n"
			   "nbd nbd1 server:99999\n"
			   "nbd bad/name host\n"
			   "nbd x\n"
			   "iscsi s1 foo host\n"
			   "after mnt:/a\n"
			   "after crypt:a crypt:a\n"
			   "drbd r0\n"
			   "timeout md:sys\n"
			   "timeout md:sys 0\n"
			   "timeout md:sys soon\n";
	_cleanup_(bs_stack_conf_freep) struct bs_stack_conf *c = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_stack_conf_parse, text, &c, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems,
		     "F:1: unknown kind 'lop' (did you mean 'loop'?)\n"
		     "F:2: loop file 'data/disk.img' is not an absolute path\n"
		     "F:3: unknown loop option 'rw' (did you mean 'ro'?), ignoring\n"
		     "F:5: loop file '/srv/a.img' is already declared by line 4\n"
		     "F:6: loop option 'offset' needs a number of bytes (K, M, G allowed), got "
		     "'lots'\n"
		     "F:7: nbd server 'server:99999' has a bad port '99999' (1 to 65535)\n"
		     "F:8: nbd name 'bad/name' may hold only letters, digits, '_', '.' and '-'\n"
		     "F:9: 'nbd' needs a name and a server (nbd NAME HOST[:PORT] [EXPORT] "
		     "[OPTIONS])\n"
		     "F:10: 'foo' is not an iSCSI target name (iqn., eui. or naa.)\n"
		     "F:11: 'after' needs exactly two node ids (after ID ID), got 1\n"
		     "F:12: 'after' needs two different nodes, got 'crypt:a' twice\n"
		     "F:13: 'drbd r0' needs its device as drbd.conf gives it "
		     "('device=/dev/drbdN' or 'minor=N')\n"
		     "F:14: 'timeout' needs a node id and seconds (timeout ID SECONDS), got 1 "
		     "fields\n"
		     "F:15: 'timeout': '0' is not a number of seconds from 1 to 86400\n"
		     "F:16: 'timeout': 'soon' is not a number of seconds from 1 to 86400\n");
	/* An unknown option is a warning: the loop file of line 3 is declared without it. */
	ASSERT_EQ(c->n_entries, 2);
	ASSERT_STREQ(c->entries[0].path, "/srv/c.img");
	ASSERT_EQ(c->entries[0].flags, 0);
	ASSERT_STREQ(c->entries[1].path, "/srv/a.img");
	bs_problem_list_done(&pl);
}

/* ---- the peers' syntax ------------------------------------------------------------------- */

/* fstab(5): a tag's value may be quoted, as libblkid (and systemd) read it; libmount keeps
 * the quotes in the source it hands out, blkstack takes the tag as libblkid does. */
TEST(fstab_quoted_tags)
{
	const char *text = "UUID=\"5e99935b-84ba-4678-96e5-7d654a978e69\" / ext4 defaults 0 1\n"
			   "LABEL=\"foo\\040bar\" /mnt/a ext4 defaults 0 2\n"
			   "PARTUUID='0b1c2d3e-01' /mnt/b ext4 defaults 0 2\n"
			   "PARTLABEL=\"data\" /mnt/c xfs defaults\n"
			   "UUID=\"\" /mnt/d ext4 defaults 0 2\n"
			   "LABEL=\"open /mnt/e ext4 defaults 0 2\n";
	_cleanup_(bs_fstab_freep) struct bs_fstab *t = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_fstab_parse, text, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems, "F:5: device 'UUID=\"\"' has an empty value\n"
			       "F:6: device 'LABEL=\"open' has no closing quote\n");
	ASSERT_EQ(t->n_entries, 4);
	ASSERT_STREQ(t->entries[0].source, "UUID=5e99935b-84ba-4678-96e5-7d654a978e69");
	ASSERT_STREQ(t->entries[1].source, "LABEL=foo bar");
	ASSERT_STREQ(t->entries[2].source, "PARTUUID=0b1c2d3e-01");
	ASSERT_STREQ(t->entries[3].source, "PARTLABEL=data");
	bs_problem_list_done(&pl);
}

/* libmount reads six fields and stops: a comment after the sixth is one (mount -a and
 * systemd's fstab-generator read fstab through libmount), anything else there is ignored
 * by them too, a warning here. Before the sixth field, '#' is read as a field. */
TEST(fstab_comment_after_the_sixth_field)
{
	const char *text = "/dev/vda1 / ext4 defaults 0 1 # the root filesystem\n"
			   "/dev/vda2 /srv ext4 defaults 0 2 #no blank after the hash\n"
			   "/dev/vda3 /var ext4 defaults 0 2 extra words\n"
			   "/dev/vda4 /home ext4 defaults # a comment too early\n"
			   "/dev/vda5 /opt ext4 defaults 0 # too early as well\n";
	_cleanup_(bs_fstab_freep) struct bs_fstab *t = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_fstab_parse, text, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems,
		     "F:3: unexpected 7th field 'extra' (libmount reads 6 and ignores the rest), "
		     "ignoring\n"
		     "F:4: dump field '#' is not a number (a comment may follow the 6th field "
		     "only)\n"
		     "F:5: pass field '#' is not a number (a comment may follow the 6th field "
		     "only)\n");
	ASSERT_EQ(pl.problems[0].severity, BS_PROBLEM_WARNING);
	ASSERT_EQ(t->n_entries, 3);
	ASSERT_STREQ(t->entries[0].target, "/");
	ASSERT_STREQ(t->entries[1].target, "/srv");
	ASSERT_STREQ(t->entries[2].target, "/var");
	bs_problem_list_done(&pl);
}

/* fstab has no quoting of blanks: libmount splits LABEL="my disk" into two fields. */
TEST(fstab_blanks_in_quotes_are_explained)
{
	const char *text = "LABEL=\"my disk\" /mnt ext4 defaults 0 0\n"
			   "LABEL=\"my disk\" /mnt2 ext4\n"
			   "/dev/vda1 /x ext4 defaults,x-systemd.wanted-by='a b.service' 0 2\n"
			   "LABEL=Bob's /home/bob ext4 defaults 0 2 # Bob's 'home disk'\n";
	_cleanup_(bs_fstab_freep) struct bs_fstab *t = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_fstab_parse, text, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems,
		     "F:1: 'LABEL=\"my disk\"': fstab has no quoting of blanks, every blank ends a "
		     "field; write a blank as \\040 (LABEL=my\\040disk)\n"
		     "F:2: 'LABEL=\"my disk\"': fstab has no quoting of blanks, every blank ends a "
		     "field; write a blank as \\040 (LABEL=my\\040disk)\n"
		     "F:3: 'defaults,x-systemd.wanted-by='a b.service'': fstab has no quoting of "
		     "blanks, every blank ends a field; write a blank as \\040 "
		     "(defaults,x-systemd.wanted-by=a\\040b.service)\n");
	/* A quote inside a word opens nothing, and a comment is no field. */
	ASSERT_EQ(t->n_entries, 1);
	ASSERT_STREQ(t->entries[0].source, "LABEL=Bob's");
	bs_problem_list_done(&pl);
}

/* crypttab: systemd (fstab_node_to_udev_node()) and Debian (blkid -t) unquote a tag's value,
 * in the source and in the device of a key file PATH:DEVICE. */
TEST(crypttab_quoted_tags)
{
	const char *text = "a UUID=\"43c1b2e4-cd43-4bbd-949e-e440504cddf6\" none luks\n"
			   "b LABEL='my\\040disk' /keys/b.key:UUID=\"1f715f15-0d42\" luks\n"
			   "c PARTUUID=\"\" none\n";
	_cleanup_(bs_crypttab_freep) struct bs_crypttab *t = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_crypttab_parse, text, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems, "F:3: source device 'PARTUUID=' is neither an absolute path nor "
			       "UUID=, LABEL=, PARTUUID= or PARTLABEL=\n");
	ASSERT_EQ(t->n_entries, 2);
	ASSERT_STREQ(t->entries[0].source, "UUID=43c1b2e4-cd43-4bbd-949e-e440504cddf6");
	ASSERT_STREQ(t->entries[1].source, "LABEL=my disk");
	ASSERT_STREQ(t->entries[1].key_device, "UUID=1f715f15-0d42");
	ASSERT_STREQ(t->entries[1].key_device_path, "/keys/b.key");
	bs_problem_list_done(&pl);
}

/* systemd's crypttab(5): "-" or "none" in the options field is no options. */
TEST(crypttab_no_options)
{
	const char *text = "a /dev/vda none -\n"
			   "b /dev/vdb - none\n"
			   "c /dev/vdc /etc/c.key -\n";
	_cleanup_(bs_crypttab_freep) struct bs_crypttab *t = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_crypttab_parse, text, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems, "");
	ASSERT_EQ(t->n_entries, 3);
	for (size_t i = 0; i < 3; i++) {
		ASSERT_NULL(t->entries[i].options);
		ASSERT_EQ(t->entries[i].type, BS_CRYPT_TYPE_AUTO);
		ASSERT_EQ(t->entries[i].flags, 0);
	}
	ASSERT_NULL(t->entries[1].key_file);
	ASSERT_STREQ(t->entries[2].key_file, "/etc/c.key");
	bs_problem_list_done(&pl);
}

/* systemd's PATH:DEVICE key field: the key file at PATH inside the filesystem on DEVICE,
 * which systemd mounts for it; DEVICE is what follows the last ':' when it is a device. */
TEST(crypttab_key_file_on_a_device)
{
	const char *text = "a /dev/vda /keyfile:LABEL=keydev luks\n"
			   "b /dev/vdb keys/b.key:UUID=1f715f15-0d42-498d-8853-afa160c5c52d\n"
			   "c /dev/vdc /etc/keys/c:d.key:/dev/disk/by-id/usb-stick-part1\n"
			   "d /dev/vdd /dev/disk/by-path/pci-0000:00:1d.0-usb-0:1:1.0 plain\n"
			   "e /dev/vde :LABEL=keydev\n"
			   "f /dev/vdf relative.key:notadevice\n"
			   "g /dev/vdg usb:LABEL=x keyscript=/lib/cryptsetup/scripts/passdev\n";
	_cleanup_(bs_crypttab_freep) struct bs_crypttab *t = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;
	const struct bs_crypttab_entry *e;

	ASSERT_OK(PARSE(bs_crypttab_parse, text, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems,
		     "F:5: key file ':LABEL=keydev' names the device 'LABEL=keydev' but no file "
		     "on it\n"
		     "F:6: key file 'relative.key:notadevice' is not an absolute path (or 'none', "
		     "or PATH:DEVICE for a file on a device)\n");
	ASSERT_EQ(t->n_entries, 5);

	/* The field stays whole in key_file: a reader that knows no key_device must not take
	 * PATH for a file on the root filesystem. */
	e = &t->entries[0];
	ASSERT_STREQ(e->key_file, "/keyfile:LABEL=keydev");
	ASSERT_STREQ(e->key_device, "LABEL=keydev");
	ASSERT_STREQ(e->key_device_path, "/keyfile");
	e = &t->entries[1];
	ASSERT_STREQ(e->key_device, "UUID=1f715f15-0d42-498d-8853-afa160c5c52d");
	ASSERT_STREQ(e->key_device_path, "keys/b.key");
	e = &t->entries[2];
	ASSERT_STREQ(e->key_device, "/dev/disk/by-id/usb-stick-part1");
	ASSERT_STREQ(e->key_device_path, "/etc/keys/c:d.key");
	/* Colons in a path, with no device after the last one: a key file. */
	e = &t->entries[3];
	ASSERT_STREQ(e->key_file, "/dev/disk/by-path/pci-0000:00:1d.0-usb-0:1:1.0");
	ASSERT_NULL(e->key_device);
	/* With a keyscript, the field is the script's argument. */
	e = &t->entries[4];
	ASSERT_STREQ(e->key_file, "usb:LABEL=x");
	ASSERT_NULL(e->key_device);
	bs_problem_list_done(&pl);
}

/* systemd's tcrypt-keyfile= (repeatable; a TrueCrypt volume's key files, which make it one)
 * and keyfile-timeout= (how long to wait for the key device). */
TEST(crypttab_tcrypt_keyfile_and_keyfile_timeout)
{
	const char *text =
		"a /dev/vda none tcrypt-keyfile=/etc/k1,tcrypt-keyfile=/etc/k2,tcrypt-hidden\n"
		"b /dev/vdb /k:LABEL=keys luks,keyfile-timeout=10s\n"
		"c /dev/vdc /k:LABEL=keys keyfile-timeout\n"
		"d /dev/vdd none tcrypt-keyfile=rel\n"
		"e /dev/vde none luks,tcrypt-keyfile=/etc/k\n"
		"f /dev/vdf /k:LABEL=keys keyfile-timeout=soon\n"
		"g /dev/vdg /k keyfile-erase=no,allow-discards,keyslot=2\n";
	_cleanup_(bs_crypttab_freep) struct bs_crypttab *t = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;
	const struct bs_crypttab_entry *e;

	ASSERT_OK(PARSE(bs_crypttab_parse, text, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems,
		     "F:4: option 'tcrypt-keyfile' needs an absolute path, got 'rel'\n"
		     "F:5: options 'luks' and 'tcrypt-keyfile' conflict\n"
		     "F:6: option 'keyfile-timeout' needs a time span such as '90', '30s' or "
		     "'2min', got 'soon'\n");
	ASSERT_EQ(t->n_entries, 4);
	e = &t->entries[0];
	ASSERT_EQ(e->type, BS_CRYPT_TYPE_TCRYPT);
	ASSERT_EQ(strv_length(e->tcrypt_keyfiles), 2);
	ASSERT_STREQ(e->tcrypt_keyfiles[0], "/etc/k1");
	ASSERT_STREQ(e->tcrypt_keyfiles[1], "/etc/k2");
	ASSERT_EQ(e->flags, BS_CRYPTTAB_TCRYPT_HIDDEN);
	e = &t->entries[1];
	ASSERT_EQ(e->flags, BS_CRYPTTAB_KEYFILE_TIMEOUT);
	ASSERT_EQ(e->keyfile_timeout_usec, 10 * 1000000ULL);
	e = &t->entries[2];
	ASSERT_EQ(e->flags, BS_CRYPTTAB_KEYFILE_TIMEOUT);
	ASSERT_EQ(e->keyfile_timeout_usec, 0);
	e = &t->entries[3];
	ASSERT_EQ(e->flags, BS_CRYPTTAB_DISCARD);
	ASSERT_EQ(e->keyslot, 2);
	bs_problem_list_done(&pl);
}

/* Debian's scripts decode each field with printf '%b': \0 and up to three octal digits
 * (crypttab(5): "\0num"). test0\0045crypt is the mapping test0%crypt, not test0, a \004 and
 * 5crypt. What Debian and systemd read differently is an error. */
TEST(crypttab_octal_escapes)
{
	const char *text =
		"test0\\0045crypt /dev/vda none luks\n"
		"sp\\040ace LABEL=my\\0040disk /keys/a\\0134b.key cipher=aes\\054discard\n"
		"bs\\134x /dev/vdb none\n"
		"t\\ta /dev/vdc none\n"
		"h\\x41 /dev/vdd none\n"
		"nul\\0 /dev/vde none\n"
		"n3 /dev/vdf none tries=\\000\n"
		"q\\q /dev/vdg none\n"
		"short\\12 /dev/vdh none\n"
		"end /dev/vdi none luks\\\n"
		"big\\0777 /dev/vdj none\n";
	_cleanup_(bs_crypttab_freep) struct bs_crypttab *t = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_crypttab_parse, text, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems,
		     "F:5: mapping name 'h\\x41': '\\x' is no escape that both Debian and systemd "
		     "read (write a byte as \\0 and three octal digits, \\0040 for a space)\n"
		     "F:6: mapping name 'nul\\0': '\\0' is no escape that both Debian and systemd "
		     "read (write a byte as \\0 and three octal digits, \\0040 for a space)\n"
		     "F:7: options 'tries=\\000': '\\000' is no escape that both Debian and "
		     "systemd read (write a byte as \\0 and three octal digits, \\0040 for a "
		     "space)\n"
		     "F:8: mapping name 'q\\q': '\\q' is no escape that both Debian and systemd "
		     "read (write a byte as \\0 and three octal digits, \\0040 for a space)\n"
		     "F:9: mapping name 'short\\12': '\\1' is no escape that both Debian and "
		     "systemd read (write a byte as \\0 and three octal digits, \\0040 for a "
		     "space)\n"
		     "F:10: options 'luks\\': '\\' is no escape that both Debian and systemd read "
		     "(write a byte as \\0 and three octal digits, \\0040 for a space)\n"
		     "F:11: mapping name 'big\\0777': '\\0777' is no escape that both Debian and "
		     "systemd read (write a byte as \\0 and three octal digits, \\0040 for a "
		     "space)\n");
	ASSERT_EQ(t->n_entries, 4);
	ASSERT_STREQ(t->entries[0].name, "test0%crypt");
	ASSERT_STREQ(t->entries[1].name, "sp ace");
	ASSERT_STREQ(t->entries[1].source, "LABEL=my disk");
	ASSERT_STREQ(t->entries[1].key_file, "/keys/a\\b.key");
	/* Both peers decode the options field before they split it at commas. */
	ASSERT_STREQ(t->entries[1].cipher, "aes");
	ASSERT_EQ(t->entries[1].flags, BS_CRYPTTAB_DISCARD);
	ASSERT_STREQ(t->entries[2].name, "bs\\x");
	ASSERT_STREQ(t->entries[3].name, "t\ta");
	bs_problem_list_done(&pl);
}

/* mdadm's match_keyword(): case-insensitive, any prefix of at least three letters, the first
 * keyword of its list that matches. DEVICES is the keyword's own spelling. */
TEST(mdadm_conf_keywords_as_mdadm_matches_them)
{
	const char *text = "DEVICES /dev/sd*\n"
			   "DEVICE partitions\n"
			   "dev containers\n"
			   "devic /dev/vd*\n"
			   "MAIL root\n"
			   "MAILF blkstack@example.org\n"
			   "PRO /usr/sbin/handle-md-event\n"
			   "PROBING ddf_extended\n"
			   "ENCRYPTION_NO_VERIFY sata_opal\n"
			   "MONITORDELAY 60\n"
			   "PART-POLICY type=disk path=pci-0000:00:1f.2-ata-* action=spare\n"
			   "SYSFS name=sys sync_speed_max=1000000\n"
			   "homecluster <none>\n"
			   "AUTO +imsm -all\n"
			   "HOMEHOST <ignore> myhost\n"
			   "DE /dev/sda\n"
			   "DEVICESS /dev/sda\n"
			   "ARRAYS /dev/md0 uuid=f278e03c:a31aa7bd:a0e88e06:eaa17cd6\n"
			   "IMSM_DISABLE_OROM yes\n"
			   "ARR /dev/md/a uuid=f278e03c:a31aa7bd:a0e88e06:eaa17cd6\n";
	_cleanup_(bs_mdadm_conf_freep) struct bs_mdadm_conf *c = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_mdadm_conf_parse, text, &c, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems,
		     "F:16: unknown keyword 'DE', ignoring\n"
		     "F:17: unknown keyword 'DEVICESS' (did you mean 'DEVICES'?), ignoring\n"
		     "F:18: unknown keyword 'ARRAYS' (did you mean 'ARRAY'?), ignoring\n"
		     "F:19: unknown keyword 'IMSM_DISABLE_OROM', ignoring\n");
	for (size_t i = 0; i < pl.n_problems; i++)
		ASSERT_EQ(pl.problems[i].severity, BS_PROBLEM_WARNING);
	ASSERT_STREQ(c->homehost, "myhost");
	ASSERT_EQ(c->n_arrays, 1);
	ASSERT_STREQ(c->arrays[0].device, "/dev/md/a");
	bs_problem_list_done(&pl);
}

/* A word given twice on an ARRAY line and its continuation lines: mdadm keeps the first
 * uuid=, name=, devices= and device (and says so) and takes the last member= or level=. The
 * array stays, with a warning. */
TEST(mdadm_conf_word_given_twice)
{
	const char *text = "ARRAY /dev/md/a uuid=f278e03c:a31aa7bd:a0e88e06:eaa17cd6 name=a\n"
			   "   uuid=11111111:11111111:11111111:11111111 name=b level=raid1\n"
			   "   /dev/md/other level=raid6 num-devices=4 num-devices=5\n"
			   "ARRAY /dev/md/v container=/dev/md/imsm0 member=0 member=1\n"
			   "ARRAY /dev/md/x devices=/dev/vda devices=/dev/vdb super-minor=1\n"
			   "   super-minor=2 spares=x\n";
	_cleanup_(bs_mdadm_conf_freep) struct bs_mdadm_conf *c = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;
	const struct bs_mdadm_array *a;

	ASSERT_OK(PARSE(bs_mdadm_conf_parse, text, &c, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems,
		     "F:2: 'uuid=' is given twice, ignoring "
		     "'uuid=11111111:11111111:11111111:11111111'\n"
		     "F:2: 'name=' is given twice, ignoring 'name=b'\n"
		     "F:3: only one device per ARRAY line: '/dev/md/a' and '/dev/md/other', "
		     "ignoring '/dev/md/other'\n"
		     "F:3: 'level=' is given twice, ignoring the earlier one (mdadm takes the "
		     "last, 'level=raid6')\n"
		     "F:3: 'num-devices=' is given twice, ignoring the earlier one (mdadm takes "
		     "the last, 'num-devices=5')\n"
		     "F:4: 'member=' is given twice, ignoring the earlier one (mdadm takes the "
		     "last, 'member=1')\n"
		     "F:5: 'devices=' is given twice, ignoring 'devices=/dev/vdb'\n"
		     "F:6: 'super-minor=' is given twice, ignoring 'super-minor=2'\n"
		     "F:6: 'spares=' needs a non-negative integer, got 'x'\n");
	/* The last array has an error (a number that is none): it is left out. */
	ASSERT_EQ(c->n_arrays, 2);
	a = &c->arrays[0];
	ASSERT_STREQ(a->device, "/dev/md/a");
	ASSERT_STREQ(a->uuid, "f278e03c-a31a-a7bd-a0e8-8e06eaa17cd6");
	ASSERT_STREQ(a->name, "a");
	ASSERT_STREQ(a->level, "raid6");
	ASSERT_EQ(a->num_devices, 5);
	a = &c->arrays[1];
	ASSERT_STREQ(a->member, "1");
	bs_problem_list_done(&pl);
}

/* mdadm's conf_word(): a quote not closed runs to the end of the line; a line indented before
 * any keyword line starts one (its first word is the keyword). */
TEST(mdadm_conf_words_as_mdadm_splits_them)
{
	const char *text = "   ARRAY /dev/md/a uuid=f278e03c:a31aa7bd:a0e88e06:eaa17cd6\n"
			   "ARRAY /dev/md/b \"name=host:b and more\n"
			   "  uuid=11111111:11111111:11111111:11111111\n";
	_cleanup_(bs_mdadm_conf_freep) struct bs_mdadm_conf *c = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_mdadm_conf_parse, text, &c, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems, "");
	ASSERT_EQ(c->n_arrays, 2);
	ASSERT_STREQ(c->arrays[0].device, "/dev/md/a");
	ASSERT_STREQ(c->arrays[1].name, "host:b and more");
	ASSERT_STREQ(c->arrays[1].uuid, "11111111-1111-1111-1111-111111111111");
	bs_problem_list_done(&pl);

	/* An indented first line whose first word is no keyword is an unknown keyword. */
	bs_mdadm_conf_free(TAKE_PTR(c));
	ASSERT_OK(PARSE(bs_mdadm_conf_parse, "  spares=1\nARRAY /dev/md/c name=c\n", &c, &pl));
	problems = mfree(problems);
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems, "F:1: unknown keyword 'spares=1', ignoring\n");
	ASSERT_EQ(c->n_arrays, 1);
	bs_problem_list_done(&pl);
}

/* stack.conf is blkstack's own file: an unknown option is a warning (the layer is declared
 * with the options known), an unknown kind an error (nothing of the line can be read). */
TEST(stack_conf_unknown_option_is_a_warning)
{
	const char *text = "loop /srv/a.img ro,frobnicate,partscn\n"
			   "nbd n0 server export tls,persit\n"
			   "iscsi i0 iqn.2004-01.org.example:disk1 10.0.0.2 lun=1,ifaec=eth0\n"
			   "lopp /srv/b.img\n";
	_cleanup_(bs_stack_conf_freep) struct bs_stack_conf *c = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_stack_conf_parse, text, &c, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems,
		     "F:1: unknown loop option 'frobnicate', ignoring\n"
		     "F:1: unknown loop option 'partscn' (did you mean 'partscan'?), ignoring\n"
		     "F:2: unknown nbd option 'persit' (did you mean 'persist'?), ignoring\n"
		     "F:3: unknown iscsi option 'ifaec' (did you mean 'iface'?), ignoring\n"
		     "F:4: unknown kind 'lopp' (did you mean 'loop'?)\n");
	ASSERT_EQ(pl.problems[4].severity, BS_PROBLEM_ERROR);
	ASSERT_EQ(c->n_entries, 3);
	ASSERT_EQ(c->entries[0].flags, BS_STACK_READONLY);
	ASSERT_EQ(c->entries[1].flags, BS_STACK_TLS);
	ASSERT_STREQ(c->entries[1].target, "export");
	ASSERT_EQ(c->entries[2].lun, 1);
	bs_problem_list_done(&pl);
}

/* A warning's text says ", ignoring" once, whether the message says so itself or not, and
 * no error says it: the front end that goes on adds it (cli_print_problems()). */
TEST(problem_texts_say_ignoring_once)
{
	static const char crypttab[] = "a /dev/vda none frob\nb /dev/v\0db none\n";
	const char *fstab = "/dev/vda / ext4 defaults 0 1 more\n/dev/vdb\n";
	const char *mdadm = "ARRAY /dev/md/a uuid=f278e03c:a31aa7bd:a0e88e06:eaa17cd6 frob=1\n"
			    "  uuid=11111111:11111111:11111111:11111111 /dev/md/b member=0 "
			    "member=1 level=x\nFROB\n";
	const char *stack = "loop /a.img frob\n";
	_cleanup_(bs_crypttab_freep) struct bs_crypttab *t = NULL;
	_cleanup_(bs_fstab_freep) struct bs_fstab *f = NULL;
	_cleanup_(bs_mdadm_conf_freep) struct bs_mdadm_conf *m = NULL;
	_cleanup_(bs_stack_conf_freep) struct bs_stack_conf *s = NULL;
	struct bs_problem_list pl = {};
	size_t n_warnings = 0;

	ASSERT_OK(bs_crypttab_parse("F", crypttab, sizeof(crypttab) - 1, &t, &pl));
	ASSERT_OK(PARSE(bs_fstab_parse, fstab, &f, &pl));
	ASSERT_OK(PARSE(bs_mdadm_conf_parse, mdadm, &m, &pl));
	ASSERT_OK(PARSE(bs_stack_conf_parse, stack, &s, &pl));
	ASSERT_EQ(pl.n_problems, 11);
	for (size_t i = 0; i < pl.n_problems; i++) {
		const char *text = pl.problems[i].text, *first = strstr(text, "ignoring");

		if (pl.problems[i].severity == BS_PROBLEM_WARNING) {
			n_warnings++;
			ASSERT_NOTNULL(first);
			ASSERT_NULL(strstr(first + 1, "ignoring"));
		} else
			ASSERT_NULL(first);
	}
	ASSERT_EQ(n_warnings, 9);
	bs_problem_list_done(&pl);
}

/* drbd: the device by path or minor, disks as device specs, flags; unknown options warn and
 * the line stays. */
TEST(stack_conf_drbd_entries)
{
	const char *text = "drbd r0 device=/dev/drbd0,primary,disk=/dev/vdb,disk=PARTUUID=ab-1\n"
			   "drbd r1 minor=3,noauto,disk=/dev/vdb\n"
			   "drbd r.2 minor=12,device=/dev/drbd12,nofail,verify-alg=sha1,primay\n";
	_cleanup_(bs_stack_conf_freep) struct bs_stack_conf *c = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;
	const struct bs_stack_entry *e;

	ASSERT_OK(PARSE(bs_stack_conf_parse, text, &c, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems, "F:3: unknown drbd option 'verify-alg', ignoring\n"
			       "F:3: unknown drbd option 'primay' (did you mean 'primary'?), "
			       "ignoring\n");
	ASSERT_EQ(pl.problems[0].severity, BS_PROBLEM_WARNING);
	ASSERT_EQ(pl.problems[1].kind, BS_PROBLEM_UNKNOWN);
	ASSERT_EQ(c->n_entries, 3);

	e = &c->entries[0];
	ASSERT_EQ(e->kind, BS_STACK_DRBD);
	ASSERT_STREQ(bs_stack_kind_to_string(e->kind), "drbd");
	ASSERT_STREQ(e->name, "r0");
	ASSERT_EQ(e->minor, 0);
	ASSERT_EQ(e->flags, BS_STACK_PRIMARY);
	ASSERT_EQ(strv_length(e->disks), 2);
	ASSERT_STREQ(e->disks[0], "/dev/vdb");
	ASSERT_STREQ(e->disks[1], "PARTUUID=ab-1");
	ASSERT_STREQ(e->options, "device=/dev/drbd0,primary,disk=/dev/vdb,disk=PARTUUID=ab-1");

	e = &c->entries[1];
	ASSERT_STREQ(e->name, "r1");
	ASSERT_EQ(e->minor, 3);
	ASSERT_EQ(e->flags, BS_STACK_NOAUTO);

	e = &c->entries[2];
	ASSERT_STREQ(e->name, "r.2");
	ASSERT_EQ(e->minor, 12);
	ASSERT_EQ(e->flags, BS_STACK_NOFAIL);
	ASSERT_NULL(e->disks);
	bs_problem_list_done(&pl);
}

TEST(stack_conf_drbd_errors)
{
	const char *text = "drbd\n"
			   "drbd r0 device=/dev/drbd0 extra\n"
			   "drbd r/0 minor=0\n"
			   "drbd r1\n"
			   "drbd r2 device=/dev/sda\n"
			   "drbd r3 minor=1048576\n"
			   "drbd r4 device=/dev/drbd1,minor=2\n"
			   "drbd r5 minor=5,primary=yes\n"
			   "drbd r6 minor=6,disk=vdb\n"
			   "drbd r7 minor=7,device=\n"
			   "drbd r8 minor=8,minor=9\n"
			   "drbd r9 minor=10,bogus\n"
			   "drbd r9 minor=11\n"
			   "drbd r10 minor=x,bogus\n"
			   "drbd r11 device=/dev/drbd01\n";
	_cleanup_(bs_stack_conf_freep) struct bs_stack_conf *c = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(PARSE(bs_stack_conf_parse, text, &c, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems,
		     "F:1: 'drbd' needs a resource name (drbd RESOURCE device=/dev/drbdN "
		     "[OPTIONS])\n"
		     "F:2: unexpected 4th field 'extra' (drbd RESOURCE OPTIONS)\n"
		     "F:3: drbd resource name 'r/0' may hold only letters, digits, '_', '.' and "
		     "'-'\n"
		     "F:4: 'drbd r1' needs its device as drbd.conf gives it ('device=/dev/drbdN' "
		     "or 'minor=N')\n"
		     "F:5: drbd option 'device' needs the device as /dev/drbdN, got '/dev/sda'\n"
		     "F:6: drbd option 'minor' needs a minor from 0 to 1048575, got '1048576'\n"
		     "F:7: drbd options 'device=/dev/drbd1' and 'minor=2' name two devices\n"
		     "F:8: drbd option 'primary' takes no value, got 'primary=yes'\n"
		     "F:9: drbd option 'disk' needs a device (UUID=, LABEL=, PARTUUID=, ... or "
		     "/dev/...), got 'vdb'\n"
		     "F:10: drbd option 'device' needs a value ('device=...')\n"
		     "F:11: drbd option 'minor' is given twice ('8', '9')\n"
		     "F:12: unknown drbd option 'bogus', ignoring\n"
		     "F:13: drbd resource 'r9' is already declared by line 12\n"
		     "F:14: drbd option 'minor' needs a minor from 0 to 1048575, got 'x'\n"
		     "F:14: unknown drbd option 'bogus', ignoring\n"
		     "F:15: drbd option 'device' needs the device as /dev/drbdN, got "
		     "'/dev/drbd01'\n");
	ASSERT_EQ(c->n_entries, 1);
	ASSERT_STREQ(c->entries[0].name, "r9");
	ASSERT_EQ(c->entries[0].minor, 10);
	bs_problem_list_done(&pl);
}

/* ---- helpers and odd input --------------------------------------------------------------- */

TEST(config_helpers)
{
	const char *const words[] = { "discard", "luks", "plain", "readonly", NULL };
	char buf[37], path[] = "//a//b/", root[] = "///", ord[16];
	uint64_t v;

	ASSERT_STREQ(bs_config_suggest("discrad", words), "discard");
	ASSERT_STREQ(bs_config_suggest("lusk", words), "luks");
	ASSERT_STREQ(bs_config_suggest("readnoly", words), "readonly");
	ASSERT_NULL(bs_config_suggest("zzzzzz", words));
	ASSERT_NULL(bs_config_suggest("", words));

	ASSERT_STREQ(bs_md_uuid_normalize("F278E03C:A31AA7BD:A0E88E06:EAA17CD6", buf),
		     "f278e03c-a31a-a7bd-a0e8-8e06eaa17cd6");
	ASSERT_STREQ(bs_md_uuid_normalize("f278e03c-a31a-a7bd-a0e8-8e06eaa17cd6", buf),
		     "f278e03c-a31a-a7bd-a0e8-8e06eaa17cd6");
	ASSERT_NULL(bs_md_uuid_normalize("f278e03c:a31aa7bd:a0e88e06", buf));
	ASSERT_NULL(bs_md_uuid_normalize("g278e03c:a31aa7bd:a0e88e06:eaa17cd6", buf));
	ASSERT_NULL(bs_md_uuid_normalize("f278e03c:a31aa7bd:a0e88e06:eaa17cd60", buf));

	ASSERT_STREQ(bs_config_path_simplify(path), "/a/b");
	ASSERT_STREQ(bs_config_path_simplify(root), "/");

	ASSERT_OK(bs_config_parse_timespan("90", &v));
	ASSERT_EQ(v, 90000000);
	ASSERT_OK(bs_config_parse_timespan("500ms", &v));
	ASSERT_EQ(v, 500000);
	ASSERT_OK(bs_config_parse_timespan("2min", &v));
	ASSERT_EQ(v, 120000000);
	ASSERT_ERR(bs_config_parse_timespan("2 min", &v), -EINVAL);
	ASSERT_ERR(bs_config_parse_timespan("-1", &v), -EINVAL);

	ASSERT_OK(bs_config_parse_size("4KiB", &v));
	ASSERT_EQ(v, 4096);
	ASSERT_OK(bs_config_parse_size("1M", &v));
	ASSERT_EQ(v, 1048576);
	ASSERT_ERR(bs_config_parse_size("1X", &v), -EINVAL);

	ASSERT_TRUE(bs_config_is_device_spec("UUID=x"));
	ASSERT_TRUE(bs_config_is_device_spec("/dev/vda"));
	ASSERT_FALSE(bs_config_is_device_spec("UUID="));
	ASSERT_FALSE(bs_config_is_device_spec("vda"));

	ASSERT_STREQ(bs_config_ordinal(1, ord), "1st");
	ASSERT_STREQ(bs_config_ordinal(12, ord), "12th");
	ASSERT_STREQ(bs_config_ordinal(23, ord), "23rd");
}

TEST(parsers_take_any_bytes)
{
	/* NUL bytes, a line without a newline at the end, CRLF, a line past the cap. */
	static const char odd[] = "a /dev/vda none luks\r\nb /dev/v\0da\nc /dev/vdc";
	_cleanup_free_ char *long_line = malloc(BS_CONFIG_LINE_MAX + 16);
	_cleanup_(bs_crypttab_freep) struct bs_crypttab *t = NULL;
	_cleanup_(bs_fstab_freep) struct bs_fstab *f = NULL;
	_cleanup_(bs_mdadm_conf_freep) struct bs_mdadm_conf *m = NULL;
	_cleanup_(bs_stack_conf_freep) struct bs_stack_conf *s = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;

	ASSERT_OK(bs_crypttab_parse("F", odd, sizeof(odd) - 1, &t, &pl));
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems, "F:2: line holds a NUL byte\n");
	ASSERT_EQ(t->n_entries, 2);
	ASSERT_STREQ(t->entries[0].options, "luks");
	ASSERT_STREQ(t->entries[1].source, "/dev/vdc");
	bs_problem_list_done(&pl);

	ASSERT_NOTNULL(long_line);
	memset(long_line, 'x', BS_CONFIG_LINE_MAX + 15);
	long_line[BS_CONFIG_LINE_MAX + 15] = '\0';
	ASSERT_OK(PARSE(bs_fstab_parse, long_line, &f, &pl));
	ASSERT_OK(PARSE(bs_mdadm_conf_parse, long_line, &m, &pl));
	ASSERT_OK(PARSE(bs_stack_conf_parse, long_line, &s, &pl));
	ASSERT_EQ(pl.n_problems, 3);
	ASSERT_STREQ(pl.problems[0].text, "F:1: line is too long");
	bs_problem_list_done(&pl);

	/* Nothing at all. */
	bs_fstab_free(f);
	f = NULL;
	ASSERT_OK(bs_fstab_parse("F", NULL, 0, &f, &pl));
	ASSERT_EQ(f->n_entries, 0);
	ASSERT_EQ(pl.n_problems, 0);
}

TEST(cycles_one_per_tangle)
{
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx("/");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct bs_problem_list pl = {};
	_cleanup_free_ char *problems = NULL;
	/* a -> b -> c -> a and c -> d -> c share c: one tangle. e -> f -> e is another, g -> a
	 * leads into one and is on none, h is alone. */
	static const char *const edges[][2] = {
		{ "mnt:/a", "mnt:/b" }, { "mnt:/b", "mnt:/c" }, { "mnt:/c", "mnt:/a" },
		{ "mnt:/c", "mnt:/d" }, { "mnt:/d", "mnt:/c" }, { "mnt:/e", "mnt:/f" },
		{ "mnt:/f", "mnt:/e" }, { "mnt:/g", "mnt:/a" }, { "mnt:/h", "mnt:/g" },
	};
	struct bs_node *x, *y;

	ASSERT_OK(bs_graph_new(c, &g));
	for (size_t i = 0; i < ELEMENTSOF(edges); i++) {
		ASSERT_OK(bs_graph_ensure_node(g, BS_NODE_MOUNT, edges[i][0], &x));
		ASSERT_OK(bs_graph_ensure_node(g, BS_NODE_MOUNT, edges[i][1], &y));
		ASSERT_OK(bs_graph_add_edge(g, x, y, "after"));
	}
	/* The configured edge names the line, and the cycle is printed from its holder. */
	x = bs_graph_find_node(g, "mnt:/f");
	ASSERT_NOTNULL(x->needs[0]->origin_file = strdup("stack.conf"));
	x->needs[0]->origin_line = 7;

	ASSERT_EQ(bs_graph_find_cycles(g, &pl), 2);
	problems = problem_texts(&pl);
	ASSERT_STREQ(problems, "dependency cycle: mnt:/a -> mnt:/b -> mnt:/c -> mnt:/a\n"
			       "stack.conf:7: dependency cycle: mnt:/f -> mnt:/e -> mnt:/f\n");
	bs_problem_list_done(&pl);
}

/* ---- the fixtures merged ----------------------------------------------------------------- */

TEST(every_fixture_merges_without_problems)
{
	const char *fixtures = getenv("BLKSTACK_FIXTURES");
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	unsigned n = 0;

	if (!fixtures)
		SKIP("BLKSTACK_FIXTURES is not set; run through 'meson test'");
	d = opendir(fixtures);
	ASSERT_NOTNULL(d);
	while ((de = readdir(d))) {
		_cleanup_free_ char *root = NULL;
		_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		root = test_fixture(de->d_name);
		g = clean_graph(root);
		/* Each has a root or /srv mount configured. */
		bool has_config_mount = false;
		for (size_t i = 0; i < bs_graph_get_n_nodes(g); i++) {
			struct bs_node *node = bs_graph_get_node(g, i);

			has_config_mount |= bs_node_get_kind(node) == BS_NODE_MOUNT &&
					    (bs_node_get_sources(node) & BS_SOURCE_CONFIG);
		}
		if (!has_config_mount)
			test_fail(TEST_FILE, __LINE__, "%s: no configured mount", de->d_name);
		n++;
	}
	if (n == 0)
		SKIP("no fixture has been captured");
	ASSERT_NULL(logged);
}

TEST(ps1_assembled_configured_nodes_are_the_live_ones)
{
	_cleanup_free_ char *root = test_fixture("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = clean_graph(root);
	const unsigned both = BS_SOURCE_LIVE | BS_SOURCE_CONFIG;
	struct bs_node *n;

	n = get_node(g, "mnt:/");
	ASSERT_EQ(bs_node_get_sources(n), both);
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_MOUNTED);
	/* What is mounted stays what the live system says. */
	ASSERT_STREQ(bs_node_get_attr(n, "source"), "/dev/mapper/cryptroot");
	ASSERT_STREQ(bs_node_get_attr(n, "options"), "rw,relatime,stripe=1024");
	ASSERT_EQ(bs_node_get_n_needs(n), 1);
	ASSERT_STREQ(need_role(g, "mnt:/", "crypt:cryptroot"), "device");

	ASSERT_EQ(bs_node_get_sources(get_node(g, "mnt:/srv")), both);
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "mnt:/srv")), 2);

	n = get_node(g, "crypt:cryptroot");
	ASSERT_EQ(bs_node_get_sources(n), both);
	ASSERT_STREQ(bs_node_get_attr(n, "source"), "UUID=43c1b2e4-cd43-4bbd-949e-e440504cddf6");
	ASSERT_STREQ(bs_node_get_attr(n, "options"), "luks");
	ASSERT_EQ(bs_node_get_n_needs(n), 1);
	ASSERT_STREQ(need_role(g, "crypt:cryptroot", "lv:vg0/root"), "backing");
	ASSERT_EQ(bs_node_get_sources(get_node(g, "crypt:cryptsrv")), both);

	/* mdadm.conf's array is md127, found by its uuid. */
	n = get_node(g, "md:sys");
	ASSERT_EQ(bs_node_get_sources(n), both);
	ASSERT_STREQ(bs_node_get_name(n), "md127");
	ASSERT_EQ(bs_node_get_n_needs(n), 4);

	/* What no configuration names stays live only. */
	ASSERT_EQ(bs_node_get_sources(get_node(g, "lv:vg0/root")), BS_SOURCE_LIVE);
	for (size_t i = 0; i < bs_graph_get_n_nodes(g); i++)
		ASSERT_NULL(bs_node_get_unresolved(bs_graph_get_node(g, i)));
	ASSERT_NULL(bs_graph_find_node(g, "net:online"));
}

TEST(ps1_disks_array_from_mdadm_conf_and_closed_layers)
{
	_cleanup_free_ char *root = test_fixture("ps1-raid6-lvm-crypt-disks");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = clean_graph(root);
	struct bs_node *n;

	n = get_node(g, "md:sys");
	ASSERT_EQ(bs_node_get_kind(n), BS_NODE_MD);
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
	ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_CONFIG);
	ASSERT_STREQ(bs_node_get_attr(n, "md_uuid"), "f278e03c-a31a-a7bd-a0e8-8e06eaa17cd6");
	ASSERT_STREQ(bs_node_get_attr(n, "md_name"), "sys");
	ASSERT_EQ(bs_node_get_n_needs(n), 4);
	ASSERT_STREQ(need_role(g, "md:sys", "blk:vda"), "member");
	ASSERT_STREQ(need_role(g, "md:sys", "blk:vdb"), "member");
	ASSERT_STREQ(need_role(g, "md:sys", "blk:vdc"), "member");
	ASSERT_STREQ(need_role(g, "md:sys", "blk:vdd"), "member");
	ASSERT_NULL(bs_node_get_unresolved(n));

	/* The LUKS devices and filesystems are inside the array, which is closed. */
	n = get_node(g, "crypt:cryptroot");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
	ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_CONFIG);
	ASSERT_STREQ(bs_node_get_attr(n, "dm_name"), "cryptroot");
	ASSERT_STREQ(bs_node_get_unresolved(n), "UUID=43c1b2e4-cd43-4bbd-949e-e440504cddf6");
	ASSERT_EQ(bs_node_get_n_needs(n), 0);

	n = get_node(g, "mnt:/");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
	ASSERT_STREQ(bs_node_get_unresolved(n), "UUID=5e99935b-84ba-4678-96e5-7d654a978e69");
	ASSERT_STREQ(bs_node_get_attr(n, "fstype"), "ext4");
	ASSERT_STREQ(bs_node_get_attr(n, "options"), "defaults");

	/* A configured mount needs the mount below its mount point, as a live one does. */
	ASSERT_STREQ(need_role(g, "mnt:/srv", "mnt:/"), "mountpoint");
	ASSERT_STREQ(bs_node_get_unresolved(get_node(g, "mnt:/srv")),
		     "UUID=69523846-419d-4f11-aa45-46f0a1ae063d");
}

TEST(ps3_disks_array_of_closed_crypt_members)
{
	_cleanup_free_ char *root = test_fixture("ps3-crypt-raid10-lvm-disks");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = clean_graph(root);
	struct bs_node *n;

	/* The members are the crypt mappings, not open: nothing shows the md uuid. */
	n = get_node(g, "md:r10");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
	ASSERT_EQ(bs_node_get_n_needs(n), 0);
	ASSERT_STREQ(bs_node_get_unresolved(n), "UUID=c653a3bb-61bc-b977-4041-544ad9642e8d");

	/* The crypt mappings are on the LUKS disks, which are there. */
	ASSERT_STREQ(need_role(g, "crypt:crypta", "blk:vda"), "backing");
	ASSERT_STREQ(need_role(g, "crypt:cryptb", "blk:vdb"), "backing");
	ASSERT_STREQ(need_role(g, "crypt:cryptc", "blk:vdc"), "backing");
	ASSERT_NULL(bs_node_get_unresolved(get_node(g, "crypt:crypta")));
}

TEST(lvm_swap_loop_disks_loop_file_key_file_and_swap)
{
	_cleanup_free_ char *root = test_fixture("lvm-swap-loop-disks");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = clean_graph(root);
	struct bs_node *n;

	n = get_node(g, "loop:/data/disk.img");
	ASSERT_EQ(bs_node_get_kind(n), BS_NODE_LOOP);
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
	ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_CONFIG);
	ASSERT_STREQ(bs_node_get_attr(n, "backing_file"), "/data/disk.img");
	ASSERT_STREQ(need_role(g, "loop:/data/disk.img", "mnt:/data"), "backing-file");

	/* The key file is on the root filesystem. */
	ASSERT_STREQ(need_role(g, "crypt:cryptdata", "mnt:/"), "key-file");
	ASSERT_STREQ(bs_node_get_unresolved(get_node(g, "crypt:cryptdata")),
		     "UUID=e4505057-fdd8-4af8-b5d5-a0120458c3ac");

	/* /boot is on a partition that is there; the rest is inside the inactive LVs. */
	ASSERT_STREQ(need_role(g, "mnt:/boot", "blk:vda1"), "device");
	ASSERT_STREQ(need_role(g, "mnt:/data/loop", "mnt:/data"), "mountpoint");

	/* A swap device not visible yet goes by the name the line gives it. */
	n = get_node(g, "swap:UUID=7a061c57-2d2e-4ffd-acd2-f617d3971f79");
	ASSERT_EQ(bs_node_get_kind(n), BS_NODE_SWAP);
	ASSERT_STREQ(bs_node_get_unresolved(n), "UUID=7a061c57-2d2e-4ffd-acd2-f617d3971f79");
}

TEST(lvm_swap_loop_assembled_loop_file_is_the_live_loop)
{
	_cleanup_free_ char *root = test_fixture("lvm-swap-loop-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = clean_graph(root);

	ASSERT_NULL(bs_graph_find_node(g, "loop:/data/disk.img"));
	ASSERT_EQ(bs_node_get_sources(get_node(g, "blk:loop0")), BS_SOURCE_LIVE | BS_SOURCE_CONFIG);
	ASSERT_EQ(bs_node_get_sources(get_node(g, "swap:lv:sys/swap")),
		  BS_SOURCE_LIVE | BS_SOURCE_CONFIG);
	ASSERT_STREQ(need_role(g, "crypt:cryptdata", "mnt:/"), "key-file");
	ASSERT_STREQ(need_role(g, "crypt:cryptdata", "lv:sys/data"), "backing");
	ASSERT_STREQ(need_role(g, "mnt:/data/loop", "blk:loop0"), "device");
}

TEST(btrfs_assembled_mount_needs_the_filesystem)
{
	_cleanup_free_ char *root = test_fixture("btrfs-2crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = clean_graph(root);
	const char *btrfs = "btrfs:aa54b249-4104-47b4-a99c-105749d0eb68";

	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "mnt:/")), 1);
	ASSERT_STREQ(need_role(g, "mnt:/", btrfs), "device");
	ASSERT_EQ(bs_node_get_sources(get_node(g, "crypt:crypt1")),
		  BS_SOURCE_LIVE | BS_SOURCE_CONFIG);
}

TEST(recorded_graph_resolves_the_cold_start)
{
	_cleanup_free_ char *assembled = test_fixture("ps1-raid6-lvm-crypt-assembled");
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-disks");
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(assembled);
	_cleanup_(bs_graph_unrefp) struct bs_graph *live = NULL, *g = NULL;
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c2 = new_ctx(root);
	_cleanup_free_ char *json = NULL;

	ASSERT_OK(bs_graph_new(c, &live));
	ASSERT_OK(bs_graph_add_live(live));
	ASSERT_OK(bs_graph_to_json(live, &json));
	test_write_file(root, "var/lib/blkstack/graph.json", json);

	ASSERT_OK(bs_graph_new(c2, &g));
	ASSERT_OK(bs_graph_add_live(g));
	ASSERT_OK(bs_graph_add_recorded(g));
	ASSERT_EQ(add_config(g), 0);

	ASSERT_STREQ(need_role(g, "mnt:/", "crypt:cryptroot"), "device");
	ASSERT_STREQ(need_role(g, "crypt:cryptroot", "lv:vg0/root"), "backing");
	ASSERT_STREQ(need_role(g, "mnt:/srv", "crypt:cryptsrv"), "device");
	ASSERT_EQ(bs_node_get_sources(get_node(g, "md:sys")),
		  BS_SOURCE_CONFIG | BS_SOURCE_RECORDED);
	for (size_t i = 0; i < bs_graph_get_n_nodes(g); i++)
		ASSERT_NULL(bs_node_get_unresolved(bs_graph_get_node(g, i)));
}

/* ---- references, network, ordering ------------------------------------------------------- */

TEST(references_network_and_ordering)
{
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	append_file(root, "etc/fstab",
		    "/dev/mapper/cryptnet /net ext4 _netdev,x-systemd.requires=/dev/vda1,"
		    "x-systemd.requires=data-loop.mount,x-systemd.requires-mounts-for=/boot/x 0 2\n"
		    "/dev/nbd3 /nbd ext4 x-systemd.requires=systemd-cryptsetup@cryptdata.service,"
		    "x-systemd.requires=network-online.target 0 2\n"
		    "srv:/e /nfs nfs defaults 0 0\n"
		    "/data/disk.img /img ext4 loop 0 0\n"
		    "/data/sub /mnt/bind none bind 0 0\n"
		    "tmpfs /tmp tmpfs defaults 0 0\n");
	append_file(root, "etc/crypttab",
		    "cryptnet /dev/disk/by-id/virtio-x /boot/keys/net.key "
		    "luks,_netdev,header=/data/net.hdr\n"
		    "cryptfile /data/vault.img /dev/urandom plain,swap\n");
	append_file(root, "etc/blkstack/stack.conf",
		    "nbd nbd3 server\n"
		    "iscsi disk1 iqn.2004-01.org.example:disk1 10.0.0.2:3261\n"
		    "after mnt:/nfs mnt:/data\n");
	g = clean_graph(root);

	/* net:online, for network layers and _netdev entries. */
	ASSERT_EQ(bs_node_get_kind(get_node(g, "net:online")), BS_NODE_NETWORK);
	ASSERT_STREQ(need_role(g, "blk:nbd3", "net:online"), "network");
	ASSERT_STREQ(need_role(g, "iscsi:disk1", "net:online"), "network");
	ASSERT_STREQ(need_role(g, "mnt:/nfs", "net:online"), "network");
	ASSERT_STREQ(need_role(g, "mnt:/net", "net:online"), "network");
	ASSERT_STREQ(need_role(g, "crypt:cryptnet", "net:online"), "network");
	ASSERT_STREQ(bs_node_get_attr(get_node(g, "iscsi:disk1"), "source"),
		     "iscsi://10.0.0.2:3261/iqn.2004-01.org.example:disk1");
	ASSERT_STREQ(bs_node_get_attr(get_node(g, "blk:nbd3"), "source"), "nbd://server/");

	/* x-systemd.requires= by path, unit and target; requires-mounts-for. */
	ASSERT_STREQ(need_role(g, "mnt:/net", "crypt:cryptnet"), "device");
	ASSERT_STREQ(need_role(g, "mnt:/net", "blk:vda1"), "requires");
	ASSERT_STREQ(need_role(g, "mnt:/net", "mnt:/data/loop"), "requires");
	ASSERT_STREQ(need_role(g, "mnt:/net", "mnt:/boot"), "requires-mounts-for");
	ASSERT_STREQ(need_role(g, "mnt:/nbd", "blk:nbd3"), "device");
	ASSERT_STREQ(need_role(g, "mnt:/nbd", "crypt:cryptdata"), "requires");
	ASSERT_STREQ(need_role(g, "mnt:/nbd", "net:online"), "network");
	ASSERT_STREQ(need_role(g, "mnt:/img", "mnt:/data"), "backing-file");
	ASSERT_STREQ(need_role(g, "mnt:/mnt/bind", "mnt:/data"), "bind");
	/* Not a layer. */
	ASSERT_NULL(bs_graph_find_node(g, "mnt:/tmp"));

	/* Key file and detached header on mounts; a by-id source not there yet. */
	ASSERT_STREQ(need_role(g, "crypt:cryptnet", "mnt:/boot"), "key-file");
	ASSERT_STREQ(need_role(g, "crypt:cryptnet", "mnt:/data"), "header");
	ASSERT_STREQ(bs_node_get_unresolved(get_node(g, "crypt:cryptnet")),
		     "/dev/disk/by-id/virtio-x");
	/* A source file is on a mount; a random key needs nothing. */
	ASSERT_STREQ(need_role(g, "crypt:cryptfile", "mnt:/data"), "backing-file");
	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "crypt:cryptfile")), 1);

	ASSERT_STREQ(need_role(g, "mnt:/nfs", "mnt:/data"), "after");
	ASSERT_EQ(bs_node_get_sources(get_node(g, "mnt:/nfs")), BS_SOURCE_CONFIG);
}

/* ---- drbd: the resource is the node, by its minor ----------------------------------------- */

/* A system below the test's directory, in NAME, with the disk vdb; up: the DRBD device drbd0
 * on it, mounted at /srv, as the kernel shows it (the resource's name nowhere). */
static char *drbd_system(const char *name, bool up, const char *stack_conf)
{
	static const char *tmp;
	char *root = NULL;

	if (!tmp)
		tmp = test_tmpdir();
	ASSERT_TRUE(asprintf(&root, "%s/%s", tmp, name) >= 0);
	test_mkdir_p(tmp, name);
	test_write_file(root, "sys/devices/virtual/block/vdb/dev", "254:16\n");
	test_write_file(root, "sys/devices/virtual/block/vdb/size", "16384\n");
	test_symlink(root, "sys/class/block/vdb", "../../devices/virtual/block/vdb");
	test_write_file(root, "proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
	test_write_file(root, "etc/fstab", "/dev/drbd0 /srv ext4 defaults 0 2\n");
	if (stack_conf)
		test_write_file(root, "etc/blkstack/stack.conf", stack_conf);
	if (!up) {
		test_write_file(root, "proc/self/mountinfo", "1 1 0:2 / / rw - rootfs rootfs rw\n");
		test_write_file(root, "run/blkid/blkid.tab",
				"<device TYPE=\"drbd\">/dev/vdb</device>\n");
		return root;
	}
	test_write_file(root, "sys/devices/virtual/block/drbd0/dev", "147:0\n");
	test_write_file(root, "sys/devices/virtual/block/drbd0/size", "16136\n");
	test_symlink(root, "sys/class/block/drbd0", "../../devices/virtual/block/drbd0");
	test_symlink(root, "sys/devices/virtual/block/drbd0/slaves/vdb", "../../vdb");
	test_write_file(root, "proc/self/mountinfo",
			"1 1 0:2 / / rw - rootfs rootfs rw\n"
			"30 1 147:0 / /srv rw,relatime - ext4 /dev/drbd0 rw\n");
	test_write_file(root, "run/blkid/blkid.tab",
			"<device TYPE=\"drbd\">/dev/vdb</device>\n"
			"<device TYPE=\"ext4\" UUID=\"f0\">/dev/drbd0</device>\n");
	return root;
}

static const struct bs_drbd_config *drbd_config_of(const struct bs_graph *g, const char *id)
{
	struct bs_node *n = get_node(g, id);

	ASSERT_NOTNULL(n->config);
	ASSERT_NOTNULL(n->config->drbd);
	return n->config->drbd;
}

/* The node is drbd:RESOURCE whether the device is up or not: the live drbd0, which sysfs can
 * only call blk:drbd0, is renamed by the minor the line names. */
TEST(drbd_node_is_its_resource_up_or_down)
{
	const char *conf = "drbd r0 device=/dev/drbd0,primary,disk=/dev/vdb\n";
	_cleanup_free_ char *down = drbd_system("down", false, conf);
	_cleanup_free_ char *up = drbd_system("up", true, conf);
	_cleanup_free_ char *bare = drbd_system("bare", true, NULL);
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = clean_graph(down), *h = clean_graph(up),
						   *k = clean_graph(bare);
	const struct bs_drbd_config *c;
	_cleanup_free_ char *json = NULL;
	struct bs_node *n;

	n = get_node(g, "drbd:r0");
	ASSERT_EQ(bs_node_get_kind(n), BS_NODE_DRBD);
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ABSENT);
	ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_CONFIG);
	ASSERT_STREQ(need_role(g, "drbd:r0", "net:online"), "network");
	ASSERT_STREQ(need_role(g, "drbd:r0", "blk:vdb"), "backing");
	ASSERT_STREQ(need_role(g, "mnt:/srv", "drbd:r0"), "device");
	ASSERT_STREQ(bs_node_get_attr(n, "options"), "device=/dev/drbd0,primary,disk=/dev/vdb");
	c = drbd_config_of(g, "drbd:r0");
	ASSERT_STREQ(c->resource, "r0");
	ASSERT_EQ(c->minor, 0);
	ASSERT_TRUE(c->primary);
	ASSERT_NULL(bs_graph_find_node(g, "blk:drbd0"));

	n = get_node(h, "drbd:r0");
	ASSERT_EQ(bs_node_get_state(n), BS_STATE_ACTIVE);
	ASSERT_EQ(bs_node_get_sources(n), BS_SOURCE_LIVE | BS_SOURCE_CONFIG);
	ASSERT_STREQ(bs_node_get_name(n), "drbd0");
	ASSERT_STREQ(need_role(h, "drbd:r0", "blk:vdb"), "backing");
	ASSERT_STREQ(need_role(h, "drbd:r0", "net:online"), "network");
	ASSERT_STREQ(need_role(h, "mnt:/srv", "drbd:r0"), "device");
	ASSERT_TRUE(drbd_config_of(h, "drbd:r0")->primary);
	/* The kernel name is no id any more, not even in what is printed. */
	ASSERT_NULL(bs_graph_find_node(h, "blk:drbd0"));
	ASSERT_OK(bs_graph_to_json(h, &json));
	ASSERT_NULL(strstr(json, "blk:drbd0"));

	/* No line names it: the kernel's name, and no resource to act on. */
	n = get_node(k, "blk:drbd0");
	ASSERT_EQ(bs_node_get_kind(n), BS_NODE_DRBD);
	ASSERT_NULL(n->config);
	ASSERT_STREQ(need_role(k, "mnt:/srv", "blk:drbd0"), "device");
}

/* The record is written from the live graph alone, where the device is blk:drbd0: after a
 * reboot, with the device down, it is the resource's node again, with the disk and the mount
 * the record knows (the line names no disk=). */
TEST(drbd_recorded_device_is_its_resource_after_a_reboot)
{
	const char *conf = "drbd r0 minor=0\n";
	_cleanup_free_ char *up = drbd_system("up", true, conf);
	_cleanup_free_ char *down = drbd_system("down", false, conf);
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(up), *c2 = new_ctx(down);
	_cleanup_(bs_graph_unrefp) struct bs_graph *live = NULL, *g = NULL;
	_cleanup_free_ char *json = NULL;

	ASSERT_OK(bs_graph_new(c, &live));
	ASSERT_OK(bs_graph_add_live(live));
	ASSERT_NOTNULL(bs_graph_find_node(live, "blk:drbd0"));
	ASSERT_OK(bs_graph_to_json(live, &json));
	test_write_file(down, "var/lib/blkstack/graph.json", json);

	ASSERT_OK(bs_graph_new(c2, &g));
	ASSERT_OK(bs_graph_add_live(g));
	ASSERT_OK(bs_graph_add_recorded(g));
	ASSERT_EQ(add_config(g), 0);
	ASSERT_EQ(bs_node_get_sources(get_node(g, "drbd:r0")),
		  BS_SOURCE_RECORDED | BS_SOURCE_CONFIG);
	ASSERT_EQ(bs_node_get_state(get_node(g, "drbd:r0")), BS_STATE_ABSENT);
	ASSERT_STREQ(need_role(g, "drbd:r0", "blk:vdb"), "backing");
	ASSERT_STREQ(need_role(g, "mnt:/srv", "drbd:r0"), "device");
	ASSERT_NULL(bs_graph_find_node(g, "blk:drbd0"));
	ASSERT_NULL(bs_node_get_unresolved(get_node(g, "mnt:/srv")));
}

TEST(problem_drbd_device_of_two_resources)
{
	_cleanup_free_ char *root =
		drbd_system("x", false, "drbd r0 minor=0\ndrbd r1 device=/dev/drbd0\n");
	int r;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = config_graph(root, &r);

	ASSERT_EQ(r, -EBADMSG);
	ASSERT_NOTNULL(strstr(problem_text(0),
			      "stack.conf:2: '/dev/drbd0' is the device of 'drbd:r0' already"));
	ASSERT_NULL(bs_graph_find_node(g, "drbd:r1"));
}

TEST(arrays_by_devices_and_containers)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-disks");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;

	append_file(root, "etc/mdadm/mdadm.conf",
		    "ARRAY /dev/md/imsm0 metadata=imsm devices=/dev/vd[ab]\n"
		    "ARRAY /dev/md0 container=/dev/md/imsm0 member=0\n"
		    "ARRAY /dev/md/listed devices=/dev/vdc,/dev/vdq\n");
	append_file(root, "etc/fstab",
		    "/dev/md0 /vol ext4 defaults 0 2\n"
		    "LABEL=my\\040disk /label ext4 defaults 0 2\n");
	g = clean_graph(root);

	ASSERT_EQ(bs_node_get_n_needs(get_node(g, "md:imsm0")), 2);
	ASSERT_STREQ(need_role(g, "md:imsm0", "blk:vda"), "member");
	ASSERT_STREQ(need_role(g, "md:imsm0", "blk:vdb"), "member");
	/* An array known by its device path only goes by its kernel name. */
	ASSERT_STREQ(need_role(g, "md:md0", "md:imsm0"), "container");
	ASSERT_STREQ(need_role(g, "mnt:/vol", "md:md0"), "device");
	ASSERT_STREQ(need_role(g, "md:listed", "blk:vdc"), "member");
	ASSERT_STREQ(bs_node_get_unresolved(get_node(g, "md:listed")), "/dev/vdq");
	/* A blank inside a reference is escaped, as fstab does. */
	ASSERT_STREQ(bs_node_get_unresolved(get_node(g, "mnt:/label")), "LABEL=my\\040disk");
}

/* ---- problems on broken sysroots --------------------------------------------------------- */

/* add_config on a copy of fixture with text appended to relpath: -EBADMSG and exactly the
 * problems expected (each "REL:LINE: MESSAGE" below the copy). */
static void check_broken(const char *name, const char *relpath, const char *text,
			 const char *expected_rel, unsigned line, const char *message)
{
	_cleanup_free_ char *root = test_fixture_copy(name), *expected = NULL, *got = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	char line_s[16];
	int r;

	append_file(root, relpath, text);
	g = config_graph(root, &r);
	ASSERT_ERR(r, -EBADMSG);
	snprintf(line_s, sizeof(line_s), "%u", line);
	expected = expect_at(root, expected_rel, "%s: %s", line_s, message);
	got = graph_problem_texts(g);
	ASSERT_STREQ(got, expected);
	ASSERT_EQ(bs_problem_list_get_n(last_problems), 1);
}

TEST(problem_malformed_fstab_line)
{
	check_broken("ps1-raid6-lvm-crypt-assembled", "etc/fstab", "/dev/vdz\n", "etc/fstab", 4,
		     "expected at least 3 fields (device, mount point and type), got 1");
}

/* relpath of a copy of fixture replaced by text: exactly one problem, the warning message at
 * line, and the graph of the rest as without it. */
static struct bs_graph *check_warned(const char *name, const char *relpath, const char *text,
				     unsigned line, const char *message, char **ret_root)
{
	_cleanup_free_ char *root = test_fixture_copy(name), *expected = NULL, *got = NULL;
	const struct bs_problem *p;
	struct bs_graph *g;
	char line_s[16];
	int r;

	test_write_file(root, relpath, text);
	g = config_graph(root, &r);
	ASSERT_ERR(r, -EBADMSG);
	snprintf(line_s, sizeof(line_s), "%u", line);
	expected = expect_at(root, relpath, "%s: %s", line_s, message);
	got = graph_problem_texts(g);
	ASSERT_STREQ(got, expected);
	ASSERT_EQ(bs_problem_list_get_n(last_problems), 1);
	p = bs_problem_list_get(last_problems, 0);
	ASSERT_EQ(bs_problem_get_severity(p), BS_PROBLEM_WARNING);
	ASSERT_EQ(bs_problem_get_kind(p), BS_PROBLEM_UNKNOWN);
	if (ret_root)
		*ret_root = TAKE_PTR(root);
	return g;
}

/* Debian skips an option it does not know and systemd warns: a warning, and the line is
 * used without the option. */
TEST(problem_unknown_crypttab_option)
{
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = check_warned(
		"ps1-raid6-lvm-crypt-assembled", "etc/crypttab",
		"cryptroot UUID=43c1b2e4-cd43-4bbd-949e-e440504cddf6 none luks\n"
		"cryptsrv UUID=cba7c8ce-287c-4a7c-a274-039c169de03e none luks,discrad\n",
		2, "unknown option 'discrad' (did you mean 'discard'?), ignoring", NULL);

	ASSERT_EQ(bs_node_get_sources(get_node(g, "crypt:cryptsrv")),
		  BS_SOURCE_LIVE | BS_SOURCE_CONFIG);
	ASSERT_STREQ(bs_node_get_attr(get_node(g, "crypt:cryptsrv"), "options"), "luks,discrad");
}

TEST(problem_bad_number)
{
	check_broken("ps1-raid6-lvm-crypt-assembled", "etc/crypttab",
		     "cryptx /dev/vdz none luks,tries=-1\n", "etc/crypttab", 4,
		     "option 'tries' needs a number of tries (0: no limit), got '-1'");
}

TEST(problem_array_without_identity)
{
	check_broken("ps1-raid6-lvm-crypt-assembled", "etc/mdadm/mdadm.conf",
		     "ARRAY /dev/md/other metadata=1.2\n", "etc/mdadm/mdadm.conf", 3,
		     "ARRAY '/dev/md/other' has no identity: give uuid=, name=, devices= or "
		     "super-minor=");
}

TEST(problem_unknown_stack_kind)
{
	check_broken("lvm-swap-loop-assembled", "etc/blkstack/stack.conf", "lopo /data/b.img\n",
		     "etc/blkstack/stack.conf", 2, "unknown kind 'lopo' (did you mean 'loop'?)");
}

TEST(problem_relative_loop_path)
{
	check_broken("lvm-swap-loop-assembled", "etc/blkstack/stack.conf", "loop data/b.img\n",
		     "etc/blkstack/stack.conf", 2,
		     "loop file 'data/b.img' is not an absolute path");
}

TEST(problem_duplicate_mount_point)
{
	check_broken("ps1-raid6-lvm-crypt-assembled", "etc/fstab",
		     "/dev/mapper/cryptsrv /srv/ ext4 defaults 0 2\n", "etc/fstab", 4,
		     "mount point '/srv' is already claimed by line 3");
}

TEST(problem_duplicate_crypt_name)
{
	check_broken("ps1-raid6-lvm-crypt-assembled", "etc/crypttab",
		     "cryptroot /dev/vdz none luks\n", "etc/crypttab", 4,
		     "mapping name 'cryptroot' is already used by line 2");
}

TEST(problem_after_names_no_node)
{
	check_broken("lvm-swap-loop-assembled", "etc/blkstack/stack.conf",
		     "after mnt:/dta crypt:cryptdata\n", "etc/blkstack/stack.conf", 2,
		     "'after': no node 'mnt:/dta' (did you mean 'mnt:/data'?)");
}

TEST(problem_array_of_that_name_has_another_uuid)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled"),
			    *expected = NULL, *got = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	int r;

	test_write_file(root, "etc/mdadm/mdadm.conf",
			"ARRAY /dev/md/sys name=guest:sys "
			"UUID=11111111:11111111:11111111:11111111\n");
	g = config_graph(root, &r);
	ASSERT_ERR(r, -EBADMSG);
	expected = expect_at(root, "etc/mdadm/mdadm.conf",
			     "1: array 'md:sys' has uuid 'f278e03c-a31a-a7bd-a0e8-8e06eaa17cd6', "
			     "not '11111111-1111-1111-1111-111111111111'");
	got = graph_problem_texts(g);
	ASSERT_STREQ(got, expected);
	ASSERT_EQ(bs_node_get_sources(get_node(g, "md:sys")), BS_SOURCE_LIVE);
}

TEST(problem_reference_nothing_provides)
{
	/* Everything is open: a UUID that nothing has cannot be inside a closed layer. */
	check_broken("ps1-raid6-lvm-crypt-assembled", "etc/fstab",
		     "UUID=deadbeef-0000-4000-8000-000000000000 /home ext4 defaults 0 2\n",
		     "etc/fstab", 4,
		     "'UUID=deadbeef-0000-4000-8000-000000000000' matches no device, layer or "
		     "recorded graph entry");
}

/* Problems are typed: "not there yet" is told from a wrong configuration without reading the
 * message, and the reference is the spec as written. */
TEST(problems_carry_kind_severity_and_reference)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	const struct bs_problem *p;
	int r;

	append_file(root, "etc/fstab",
		    "UUID=deadbeef-0000-4000-8000-000000000000 /home ext4 defaults 0 2\n"
		    "/dev/vdz\n"
		    "/dev/vdy /srv ext4 defaults 0 2\n");
	g = config_graph(root, &r);
	ASSERT_ERR(r, -EBADMSG);
	ASSERT_EQ(bs_problem_list_get_n(last_problems), 3);
	p = bs_problem_list_get(last_problems, 0);
	ASSERT_EQ(bs_problem_get_kind(p), BS_PROBLEM_UNRESOLVED);
	ASSERT_EQ(bs_problem_get_severity(p), BS_PROBLEM_ERROR);
	ASSERT_STREQ(bs_problem_get_reference(p), "UUID=deadbeef-0000-4000-8000-000000000000");
	ASSERT_EQ(bs_problem_get_line(p), 4);
	p = bs_problem_list_get(last_problems, 1);
	ASSERT_EQ(bs_problem_get_kind(p), BS_PROBLEM_INVALID);
	ASSERT_NULL(bs_problem_get_reference(p));
	p = bs_problem_list_get(last_problems, 2);
	ASSERT_EQ(bs_problem_get_kind(p), BS_PROBLEM_DUPLICATE);
	ASSERT_EQ(bs_problem_list_count(last_problems, BS_PROBLEM_ERROR), 3);
	ASSERT_EQ(bs_problem_list_count(last_problems, BS_PROBLEM_WARNING), 0);
	ASSERT_STREQ(bs_problem_kind_to_string(BS_PROBLEM_UNRESOLVED), "unresolved");
	ASSERT_NULL(bs_problem_list_get(last_problems, 3));
}

/* The loader's policy: refusing errors, waiting for what is not there yet, and strictness. */
TEST(loader_policy_refuses_errors_and_waits_for_unresolved)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_ctx_unrefp) struct bs_ctx *c = new_ctx(root);
	struct bs_problem_list *problems = NULL;
	struct bs_graph *g = NULL;
	struct bs_load_opts o = { .flags = BS_LOAD_DEFAULT | BS_LOAD_REFUSE_ERRORS };

	append_file(root, "etc/fstab",
		    "UUID=deadbeef-0000-4000-8000-000000000000 /home ext4 defaults 0 2\n");
	ASSERT_ERR(bs_graph_load(c, &o, &g, &problems), -EBADMSG);
	ASSERT_NULL(g);
	ASSERT_EQ(bs_problem_list_get_n(problems), 1);
	problems = bs_problem_list_free(problems);

	/* For the executor, a device that is not there is one to wait for. */
	o.flags |= BS_LOAD_WAIT_UNRESOLVED;
	ASSERT_OK(bs_graph_load(c, &o, &g, &problems));
	ASSERT_NOTNULL(bs_graph_find_node(g, "mnt:/home"));
	ASSERT_EQ(bs_problem_list_get_n(problems), 1);
	g = bs_graph_unref(g);
	problems = bs_problem_list_free(problems);

	/* Without a policy, everything loads and the problems are the caller's to print. */
	o.flags = BS_LOAD_DEFAULT;
	ASSERT_OK(bs_graph_load(c, &o, &g, NULL));
	g = bs_graph_unref(g);

	/* The live graph alone reads no configuration. */
	o.flags = BS_LOAD_LIVE;
	ASSERT_OK(bs_graph_load(c, &o, &g, &problems));
	ASSERT_NULL(bs_graph_find_node(g, "mnt:/home"));
	ASSERT_EQ(bs_problem_list_get_n(problems), 0);
	g = bs_graph_unref(g);
	problems = bs_problem_list_free(problems);

	/* A manifest needs a path, and comes instead of the record. */
	o.flags = BS_LOAD_LIVE | BS_LOAD_MANIFEST;
	ASSERT_ERR(bs_graph_load(c, &o, &g, NULL), -EINVAL);
}

TEST(problem_cycle_of_after_lines)
{
	check_broken("ps1-raid6-lvm-crypt-assembled", "etc/blkstack/stack.conf",
		     "after crypt:cryptroot crypt:cryptsrv\n"
		     "after crypt:cryptsrv crypt:cryptroot\n",
		     "etc/blkstack/stack.conf", 1,
		     "dependency cycle: crypt:cryptroot -> crypt:cryptsrv -> crypt:cryptroot");
}

TEST(problem_cycle_key_file_on_its_own_filesystem)
{
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-assembled"), *expected = NULL,
			    *got = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	int r;

	/* /data is on cryptdata: its key cannot be on /data. */
	test_write_file(root, "etc/crypttab",
			"# <target name> <source device> <key file> <options>\n"
			"cryptdata UUID=e4505057-fdd8-4af8-b5d5-a0120458c3ac "
			"/data/keys/cryptdata.key luks\n");
	g = config_graph(root, &r);
	ASSERT_ERR(r, -EBADMSG);
	expected = expect_at(root, "etc/crypttab",
			     "2: dependency cycle: crypt:cryptdata -> mnt:/data -> "
			     "crypt:cryptdata");
	got = graph_problem_texts(g);
	ASSERT_STREQ(got, expected);
}

TEST(problems_all_reported_in_file_order)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-disks"), *got = NULL,
			    *expected = NULL, *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	int r;

	append_file(root, "etc/blkstack/stack.conf", "after mnt:/srv crypt:cryptsvr\n");
	append_file(root, "etc/mdadm/mdadm.conf", "ARRAY /dev/md/q level=raid9 name=q\n");
	append_file(root, "etc/crypttab", "cryptq /dev/vdq none lusk\n");
	append_file(root, "etc/fstab", "/dev/vdq /q ext4 defaults 0 x\n");
	g = config_graph(root, &r);
	ASSERT_ERR(r, -EBADMSG);
	a = expect_at(root, "etc/fstab", "4: pass field 'x' is not a number");
	b = expect_at(root, "etc/crypttab",
		      "4: unknown option 'lusk' (did you mean 'luks'?), ignoring");
	c = expect_at(root, "etc/mdadm/mdadm.conf",
		      "3: unknown RAID level 'raid9' (did you mean 'raid0'?), ignoring");
	d = expect_at(root, "etc/blkstack/stack.conf",
		      "1: 'after': no node 'crypt:cryptsvr' (did you mean 'crypt:cryptsrv'?)");
	ASSERT_OK(strextend(&expected, a, b, c, d, NULL));
	got = graph_problem_texts(g);
	ASSERT_STREQ(got, expected);

	/* The rest is merged regardless. */
	ASSERT_NOTNULL(bs_graph_find_node(g, "md:sys"));
	ASSERT_NOTNULL(bs_graph_find_node(g, "crypt:cryptroot"));
}

TEST(unreadable_file_is_a_problem)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled"),
			    *path = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	char *expected = NULL;
	int r;

	/* A directory where the file should be reads as EISDIR, whoever runs the test. */
	if (strextend(&path, root, "/etc/crypttab", NULL) < 0)
		test_fail(TEST_FILE, __LINE__, "out of memory");
	ASSERT_OK(unlink(path));
	ASSERT_OK(mkdir(path, 0755));
	g = config_graph(root, &r);
	ASSERT_ERR(r, -EBADMSG);
	ASSERT_OK(asprintf(&expected, "%s: cannot read: %s", path, strerror(EISDIR)));
	ASSERT_STREQ(problem_text(0), expected);
	free(expected);
}

/* ---- blkstack check ---------------------------------------------------------------------- */

static struct test_cli_result run_check(const char *sysroot, const char *extra)
{
	_cleanup_free_ char *opt = NULL;

	ASSERT_OK(asprintf(&opt, "--sysroot=%s", sysroot));
	return TEST_RUN_CLI(opt, "check", extra);
}

TEST(check_cli_ok)
{
	_cleanup_free_ char *root = test_fixture("ps1-raid6-lvm-crypt-assembled");
	struct test_cli_result r = run_check(root, NULL);

	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_STREQ(r.out, "configuration OK\n");
	ASSERT_STREQ(r.err, "");
	free(r.out);
	free(r.err);
}

TEST(check_cli_notes_what_closed_layers_hide)
{
	_cleanup_free_ char *root = test_fixture("ps3-crypt-raid10-lvm-disks");
	struct test_cli_result r = run_check(root, NULL);

	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_TRUE(startswith(r.out, "note: md:r10 needs "
				      "'UUID=c653a3bb-61bc-b977-4041-544ad9642e8d', not visible "
				      "now (it may lie inside a layer still closed)\n"));
	ASSERT_TRUE(strstr(r.out, "\nconfiguration OK\n"));
	free(r.out);
	free(r.err);
}

TEST(check_cli_prints_every_problem_and_exits_3)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled"), *a = NULL,
			    *b = NULL, *expected = NULL;
	struct test_cli_result r;

	append_file(root, "etc/crypttab", "cryptx /dev/vdz none tries=x\n");
	append_file(root, "etc/blkstack/stack.conf", "loop rel.img\n");
	r = run_check(root, NULL);
	ASSERT_EQ(r.exit_code, BS_EXIT_CONFIG);
	a = expect_at(root, "etc/crypttab",
		      "4: option 'tries' needs a number of tries (0: no limit), got 'x'");
	b = expect_at(root, "etc/blkstack/stack.conf",
		      "1: loop file 'rel.img' is not an absolute path");
	ASSERT_OK(strextend(&expected, a, b, "2 problems in the configuration\n", NULL));
	ASSERT_STREQ(r.out, expected);
	free(r.out);
	free(r.err);
}

TEST(check_cli_json)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled"),
			    *expected = NULL;
	struct test_cli_result r;

	append_file(root, "etc/fstab", "/dev/vdz\n");
	r = run_check(root, "--json");
	ASSERT_EQ(r.exit_code, BS_EXIT_CONFIG);
	ASSERT_OK(
		asprintf(&expected,
			 "{\n"
			 "  \"problems\": [\n"
			 "    {\n"
			 "      \"file\": \"%s/etc/fstab\",\n"
			 "      \"line\": 4,\n"
			 "      \"kind\": \"invalid\",\n"
			 "      \"severity\": \"error\",\n"
			 "      \"reference\": null,\n"
			 "      \"message\": \"expected at least 3 fields (device, mount point and "
			 "type), got 1\"\n"
			 "    }\n"
			 "  ]\n"
			 "}\n",
			 root));
	ASSERT_STREQ(r.out, expected);
	free(r.out);
	free(r.err);

	r = run_check(root, "--frob");
	ASSERT_EQ(r.exit_code, BS_EXIT_USAGE);
	free(r.out);
	free(r.err);
}

TEST(by_label_with_a_cut_escape_is_read_safely)
{
	/* "\x4" lacks its second hex digit: not an escape, and never read past the string. */
	check_broken(
		"ps1-raid6-lvm-crypt-assembled", "etc/fstab",
		"/dev/disk/by-label/ab\\x4 /mnt/x ext4 defaults 0 0\n", "etc/fstab", 4,
		"'/dev/disk/by-label/ab\\x4' matches no device, layer or recorded graph entry");
}

TEST(swap_entry_is_linked_once)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	int r;

	/* One unresolved device and one unresolved requirement: two problems, not four. */
	append_file(root, "etc/fstab",
		    "UUID=deadbeef-0000-0000-0000-000000000000 none swap "
		    "sw,x-systemd.requires=/nonexist 0 0\n");
	g = config_graph(root, &r);
	ASSERT_ERR(r, -EBADMSG);
	ASSERT_EQ(bs_problem_list_get_n(last_problems), 2);
}

/* stack.conf "timeout ID SECONDS" sets the node's device timeout; a wrong id is named. */
TEST(stack_conf_timeout_sets_the_node)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-disks"), *got = NULL,
			    *expected = NULL;
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	int r;

	append_file(root, "etc/blkstack/stack.conf", "timeout md:sys 5\n");
	g = config_graph(root, &r);
	ASSERT_OK(r);
	ASSERT_STREQ(bs_node_get_attr(bs_graph_find_node(g, "md:sys"), "timeout"), "5");
	bs_graph_unref(TAKE_PTR(g));

	append_file(root, "etc/blkstack/stack.conf", "timeout md:sis 5\n");
	g = config_graph(root, &r);
	ASSERT_ERR(r, -EBADMSG);
	expected = expect_at(root, "etc/blkstack/stack.conf",
			     "2: 'timeout': no node 'md:sis' (did you mean 'md:sys'?)");
	got = graph_problem_texts(g);
	ASSERT_STREQ(got, expected);
}

/* Drivers read what the configuration said from the node, parsed once at load: the crypt
 * request's parameters, the loop options, the mount and swap options. */
TEST(configuration_is_typed_data_on_the_nodes)
{
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	const struct bs_layer_config *c;
	int r;

	test_write_file(root, "etc/crypttab",
			"cryptdata UUID=e4505057-fdd8-4af8-b5d5-a0120458c3ac "
			"/etc/keys/cryptdata.key luks,tries=5,keyfile-offset=4,discard,readonly\n");
	test_write_file(root, "etc/blkstack/stack.conf",
			"loop /data/disk.img ro,offset=1M,sizelimit=2G,sector-size=4096,partscan\n");
	test_write_file(root, "etc/fstab",
			"UUID=5c6c96df-813e-4985-a201-f5faa820967a / ext4 defaults 0 1\n"
			"UUID=1f715f15-0d42-498d-8853-afa160c5c52d /boot ext4 ro,noatime,nofail 0 2\n"
			"UUID=7a061c57-2d2e-4ffd-acd2-f617d3971f79 none swap sw,pri=5,discard 0 0\n"
			"UUID=43689da4-7051-4d1b-9a62-ea9b0ed4f4db /data ext4 defaults 0 2\n"
			"UUID=9fb94082-840b-464e-a978-07b233a8d412 /data/loop ext4 defaults 0 2\n");
	g = config_graph(root, &r);
	ASSERT_OK(r);

	c = bs_graph_find_node(g, "crypt:cryptdata")->config;
	ASSERT_NOTNULL(c);
	ASSERT_TRUE(strstr(c->file, "/etc/crypttab") != NULL);
	ASSERT_EQ(c->line, 1);
	ASSERT_NOTNULL(c->crypt);
	ASSERT_EQ(c->crypt->mode, BS_CRYPT_MODE_LUKS);
	ASSERT_STREQ(c->crypt->key_file, "/etc/keys/cryptdata.key");
	ASSERT_EQ(c->crypt->tries, 5u);
	ASSERT_EQ(c->crypt->keyfile_offset, 4);
	ASSERT_TRUE(c->crypt->discard);
	ASSERT_TRUE(c->crypt->read_only);
	ASSERT_NULL(c->crypt->unsupported);

	c = bs_graph_find_node(g, "blk:loop0")->config;
	ASSERT_NOTNULL(c);
	ASSERT_NOTNULL(c->loop);
	ASSERT_TRUE(c->loop->read_only);
	ASSERT_EQ(c->loop->offset, (uint64_t)1 << 20);
	ASSERT_EQ(c->loop->sizelimit, (uint64_t)2 << 30);
	ASSERT_EQ(c->loop->sector_size, 4096u);
	ASSERT_TRUE(c->loop->partscan);
	ASSERT_FALSE(c->loop->direct_io);

	c = bs_graph_find_node(g, "mnt:/boot")->config;
	ASSERT_NOTNULL(c);
	ASSERT_NOTNULL(c->mount);
	ASSERT_EQ(c->mount->flags & (MS_RDONLY | MS_NOATIME), (unsigned long)(MS_RDONLY | MS_NOATIME));
	ASSERT_EQ(c->line, 2);

	c = bs_graph_find_node(g, "swap:lv:sys/swap")->config;
	ASSERT_NOTNULL(c);
	ASSERT_TRUE(c->has_swap_flags);
	ASSERT_TRUE(c->swap_flags & SWAP_FLAG_PREFER);
	ASSERT_TRUE(c->swap_flags & SWAP_FLAG_DISCARD);
	ASSERT_EQ(c->swap_flags & SWAP_FLAG_PRIO_MASK, 5);

	/* A node no line describes has none. */
	ASSERT_NULL(bs_graph_find_node(g, "vg:sys")->config);
}

/* A bad swap or mount option is found when the graph is read, at its line, not when the
 * step runs. */
TEST(bad_swap_option_is_a_problem_of_fstab)
{
	check_broken("lvm-swap-loop-assembled", "etc/fstab", "/dev/vda2 none swap pri=high 0 0\n",
		     "etc/fstab", 7,
		     "bad swap option 'pri=high' (pri= takes -1 to 32767, discard= takes once or "
		     "pages)");
}

/* A crypttab line blkstack does not open says so on the node, and why. */
TEST(unsupported_crypttab_line_is_marked_on_the_node)
{
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	const struct bs_node *n;
	int r;

	test_write_file(root, "etc/crypttab",
			"cryptdata UUID=e4505057-fdd8-4af8-b5d5-a0120458c3ac none "
			"luks,keyscript=/lib/cryptsetup/scripts/passdev\n");
	g = config_graph(root, &r);
	ASSERT_OK(r);
	n = bs_graph_find_node(g, "crypt:cryptdata");
	ASSERT_NOTNULL(n->config->crypt->unsupported);
	ASSERT_TRUE(strstr(n->config->crypt->unsupported, "keyscript") != NULL);
}

/* ---- the peers' syntax, merged and checked ----------------------------------------------- */

/* A quoted root UUID (fstab(5), libblkid) and quoted crypttab tags resolve like unquoted ones:
 * check has nothing to say. */
TEST(quoted_tags_resolve)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct test_cli_result r;

	test_write_file(root, "etc/fstab",
			"UUID=\"5e99935b-84ba-4678-96e5-7d654a978e69\" / ext4 defaults 0 1\n"
			"LABEL='srv' /srv btrfs defaults 0 2\n");
	test_write_file(root, "etc/crypttab",
			"cryptroot UUID=\"43c1b2e4-cd43-4bbd-949e-e440504cddf6\" none luks\n"
			"cryptsrv UUID='cba7c8ce-287c-4a7c-a274-039c169de03e' - luks\n");
	g = clean_graph(root);
	ASSERT_STREQ(need_role(g, "mnt:/", "crypt:cryptroot"), "device");
	ASSERT_STREQ(need_role(g, "crypt:cryptroot", "lv:vg0/root"), "backing");
	ASSERT_STREQ(need_role(g, "crypt:cryptsrv", "lv:vg0/srv"), "backing");

	r = run_check(root, NULL);
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_STREQ(r.out, "configuration OK\n");
	test_cli_result_done(&r);
}

/* systemd's PATH:DEVICE: the mapping needs the device that holds its key file (role
 * "key-file"), resolved like any device spec, and not the mount of a file PATH. */
TEST(key_file_on_a_device_is_an_edge)
{
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-assembled");
	_cleanup_(bs_graph_unrefp) struct bs_graph *g = NULL;
	struct bs_node *n;
	int r;

	test_write_file(root, "etc/crypttab",
			"cryptdata UUID=e4505057-fdd8-4af8-b5d5-a0120458c3ac "
			"/keys/data.key:LABEL=\"boot\" luks,keyfile-timeout=30s\n");
	g = clean_graph(root);
	n = get_node(g, "crypt:cryptdata");
	ASSERT_STREQ(need_role(g, "crypt:cryptdata", "blk:vda1"), "key-file");
	ASSERT_NULL(need_role(g, "crypt:cryptdata", "mnt:/"));
	ASSERT_STREQ(need_role(g, "crypt:cryptdata", "lv:sys/data"), "backing");
	ASSERT_EQ(bs_node_get_n_needs(n), 2);
	bs_graph_unref(TAKE_PTR(g));

	/* A key device that nothing provides is unresolved, like a source. */
	test_write_file(root, "etc/crypttab",
			"cryptdata UUID=e4505057-fdd8-4af8-b5d5-a0120458c3ac "
			"keys/data.key:PARTUUID=00000000-0000-0000-0000-000000000000 luks\n");
	g = config_graph(root, &r);
	ASSERT_ERR(r, -EBADMSG);
	ASSERT_EQ(bs_problem_list_get_n(last_problems), 1);
	ASSERT_EQ(bs_problem_get_kind(bs_problem_list_get(last_problems, 0)),
		  BS_PROBLEM_UNRESOLVED);
	ASSERT_STREQ(bs_problem_get_reference(bs_problem_list_get(last_problems, 0)),
		     "PARTUUID=00000000-0000-0000-0000-000000000000");
}

/* mdadm's full spelling DEVICES, PROBING and a comment after fstab's sixth field are what the
 * peers accept: no problem at all. */
TEST(peer_syntax_checks_clean)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled");
	struct test_cli_result r;

	test_write_file(root, "etc/mdadm/mdadm.conf",
			"DEVICES /dev/vd*\n"
			"PROBING ddf_extended\n"
			"HOMEHOST <ignore>\n"
			"ARRAY /dev/md/sys metadata=1.2 name=guest:sys\n"
			"      UUID=f278e03c:a31aa7bd:a0e88e06:eaa17cd6\n");
	test_write_file(root, "etc/fstab",
			"UUID=5e99935b-84ba-4678-96e5-7d654a978e69 / ext4 defaults 0 1 # root\n"
			"UUID=69523846-419d-4f11-aa45-46f0a1ae063d /srv btrfs defaults 0 2 #srv\n");
	r = run_check(root, NULL);
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_STREQ(r.out, "configuration OK\n");
	test_cli_result_done(&r);
}

/* Warnings only: check exits 0, and 3 with --strict; the load is not refused. */
TEST(check_cli_warnings_exit_0_and_3_with_strict)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled"), *a = NULL,
			    *b = NULL, *expected = NULL;
	struct test_cli_result r;

	test_write_file(root, "etc/crypttab",
			"cryptroot UUID=43c1b2e4-cd43-4bbd-949e-e440504cddf6 none luks,discrad\n"
			"cryptsrv UUID=cba7c8ce-287c-4a7c-a274-039c169de03e none luks\n");
	append_file(root, "etc/mdadm/mdadm.conf", "MAILADR root\n");
	a = expect_at(root, "etc/crypttab",
		      "1: unknown option 'discrad' (did you mean 'discard'?), ignoring");
	b = expect_at(root, "etc/mdadm/mdadm.conf",
		      "3: unknown keyword 'MAILADR' (did you mean 'MAILADDR'?), ignoring");

	r = run_check(root, NULL);
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_OK(strextend(&expected, a, b, "configuration OK, 2 warnings\n", NULL));
	ASSERT_STREQ(r.out, expected);
	test_cli_result_done(&r);

	r = run_check(root, "--strict");
	ASSERT_EQ(r.exit_code, BS_EXIT_CONFIG);
	expected = mfree(expected);
	ASSERT_OK(strextend(&expected, a, b,
			    "configuration OK, 2 warnings (errors with --strict)\n", NULL));
	ASSERT_STREQ(r.out, expected);
	test_cli_result_done(&r);

	r = run_check(root, "--json");
	ASSERT_EQ(r.exit_code, BS_EXIT_SUCCESS);
	ASSERT_TRUE(strstr(r.out, "\"kind\": \"unknown\",\n      \"severity\": \"warning\""));
	test_cli_result_done(&r);

	/* A warning and an error: 3 either way. */
	append_file(root, "etc/fstab", "/dev/vdz\n");
	r = run_check(root, NULL);
	ASSERT_EQ(r.exit_code, BS_EXIT_CONFIG);
	ASSERT_TRUE(strstr(r.out, "\n3 problems in the configuration (1 error, 2 warnings)\n"));
	test_cli_result_done(&r);
}

/* A front end that goes on past a problem says ", ignoring" once, for errors as for
 * warnings. */
TEST(show_says_ignoring_once)
{
	_cleanup_free_ char *root = test_fixture_copy("ps1-raid6-lvm-crypt-assembled"), *opt = NULL;
	struct test_cli_result r;
	char *line, *save = NULL;
	size_t n = 0;

	append_file(root, "etc/crypttab", "cryptx /dev/vda none frob\n");
	append_file(root, "etc/fstab", "/dev/vdz\n");
	append_file(root, "etc/mdadm/mdadm.conf",
		    "ARRAY /dev/md/sys uuid=f278e03c:a31aa7bd:a0e88e06:eaa17cd6 "
		    "uuid=f278e03c:a31aa7bd:a0e88e06:eaa17cd6\n");
	ASSERT_OK(asprintf(&opt, "--sysroot=%s", root));
	r = TEST_RUN_CLI(opt, "show");
	for (line = strtok_r(r.err, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *first = strstr(line, "ignoring");

		if (!first)
			continue;
		n++;
		ASSERT_NULL(strstr(first + 1, "ignoring"));
	}
	ASSERT_TRUE(n >= 3);
	test_cli_result_done(&r);
}
