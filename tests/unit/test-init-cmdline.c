/* Unit tests of /init's kernel command line parser: quoting, repeats, and what it refuses. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cmdline.h"
#include "strv.h"
#include "tests.h"
#include "util.h"

/* Parses text, expecting n_problems problems; the caller calls init_cmdline_done(). */
static struct init_cmdline parse(const char *text, int n_problems, char ***ret_problems)
{
	struct init_cmdline c;
	char **problems = NULL;

	ASSERT_EQ(init_cmdline_parse(text, &c, &problems), n_problems);
	ASSERT_EQ(strv_length(problems), (size_t)n_problems);
	if (ret_problems)
		*ret_problems = problems;
	else
		strv_free(problems);
	return c;
}

TEST(cmdline_defaults)
{
	struct init_cmdline c = parse("BOOT_IMAGE=/vmlinuz console=ttyS0\n", 0, NULL);

	ASSERT_NULL(c.root);
	ASSERT_NULL(c.init);
	ASSERT_EQ(c.read_only, -1);
	ASSERT_FALSE(c.noresume);
	ASSERT_FALSE(c.have_panic);
	ASSERT_FALSE(c.debug);
	ASSERT_EQ(c.breaks, 0u);
	init_cmdline_done(&c);

	c = parse("", 0, NULL);
	ASSERT_NULL(c.root);
	init_cmdline_done(&c);
}

TEST(cmdline_every_parameter)
{
	struct init_cmdline c = parse(
		"root=UUID=5e99935b-84ba-4678-96e5-7d654a978e69 rootflags=noatime,commit=30 "
		"rootfstype=ext4 ro init=/bin/marker resume=/dev/mapper/vg0-swap "
		"resume_offset=4096 noresume panic=-1 blkstack.debug blkstack.break=modules,root "
		"quiet splash",
		0, NULL);

	ASSERT_STREQ(c.root, "UUID=5e99935b-84ba-4678-96e5-7d654a978e69");
	ASSERT_STREQ(c.rootflags, "noatime,commit=30");
	ASSERT_STREQ(c.rootfstype, "ext4");
	ASSERT_EQ(c.read_only, 1);
	ASSERT_STREQ(c.init, "/bin/marker");
	ASSERT_STREQ(c.resume, "/dev/mapper/vg0-swap");
	ASSERT_TRUE(c.have_resume_offset);
	ASSERT_EQ(c.resume_offset, 4096u);
	ASSERT_TRUE(c.noresume);
	ASSERT_TRUE(c.have_panic);
	ASSERT_EQ(c.panic, -1);
	ASSERT_TRUE(c.debug);
	ASSERT_EQ(c.breaks, (1u << INIT_PHASE_MODULES) | (1u << INIT_PHASE_ROOT));
	init_cmdline_done(&c);
}

/* Of the same parameter the last wins, ro and rw included. */
TEST(cmdline_last_wins)
{
	struct init_cmdline c = parse("root=/dev/vda1 ro root=LABEL=root rw panic=5 panic=10 "
				      "init=/sbin/a init=/sbin/b blkstack.break=root "
				      "blkstack.break=switch blkstack.debug=1 blkstack.debug=0",
				      0, NULL);

	ASSERT_STREQ(c.root, "LABEL=root");
	ASSERT_EQ(c.read_only, 0);
	ASSERT_EQ(c.panic, 10);
	ASSERT_STREQ(c.init, "/sbin/b");
	ASSERT_EQ(c.breaks, 1u << INIT_PHASE_SWITCH);
	ASSERT_FALSE(c.debug);
	init_cmdline_done(&c);
}

/* Double quotes group blanks, and are dropped around a value or a whole parameter, as the
 * kernel does; inner ones stay. */
TEST(cmdline_quotes)
{
	struct init_cmdline c =
		parse("root=\"LABEL=my root\" \"rootflags=a b\" rootfstype=x\"y z\"w "
		      "init=\"/sbin/my init\"",
		      0, NULL);

	ASSERT_STREQ(c.root, "LABEL=my root");
	ASSERT_STREQ(c.rootflags, "a b");
	ASSERT_STREQ(c.rootfstype, "x\"y z\"w");
	ASSERT_STREQ(c.init, "/sbin/my init");
	init_cmdline_done(&c);

	/* An unterminated quote runs to the end. */
	c = parse("ro root=\"LABEL=a b", 0, NULL);
	ASSERT_STREQ(c.root, "LABEL=a b");
	ASSERT_EQ(c.read_only, 1);
	init_cmdline_done(&c);
}

/* What follows "--" is init's: not read. Unknown parameters are passed over. */
TEST(cmdline_dashdash_and_unknown)
{
	struct init_cmdline c = parse("foo=bar rd.break x.y=\"1 2\" root=/dev/vda -- root=/dev/vdb "
				      "ro",
				      0, NULL);

	ASSERT_STREQ(c.root, "/dev/vda");
	ASSERT_EQ(c.read_only, -1);
	init_cmdline_done(&c);
}

/* A malformed value is not taken, and says so; the earlier value stays. */
TEST(cmdline_malformed_values)
{
	char **problems = NULL;
	struct init_cmdline c = parse("panic=5 panic=abc root=/dev/vda root= init=sbin/init "
				      "blkstack.break=rot resume_offset=-3 blkstack.debug=maybe "
				      "ro=1 rootflags=",
				      8, &problems);

	ASSERT_EQ(c.panic, 5);
	ASSERT_STREQ(c.root, "/dev/vda");
	ASSERT_NULL(c.init);
	ASSERT_EQ(c.breaks, 0u);
	ASSERT_FALSE(c.have_resume_offset);
	ASSERT_FALSE(c.debug);
	ASSERT_EQ(c.read_only, -1);
	ASSERT_NULL(c.rootflags);
	ASSERT_STREQ(problems[0], "panic=abc is not a number of seconds, ignoring");
	ASSERT_STREQ(problems[1], "root= needs a value, ignoring");
	ASSERT_STREQ(problems[2], "init=sbin/init is not an absolute path, ignoring");
	ASSERT_NOTNULL(strstr(problems[3], "unknown phase 'rot'"));
	ASSERT_NOTNULL(strstr(problems[4], "resume_offset=-3"));
	ASSERT_NOTNULL(strstr(problems[5], "blkstack.debug=maybe"));
	ASSERT_NOTNULL(strstr(problems[6], "ro takes no value"));
	ASSERT_STREQ(problems[7], "rootflags= needs a value, ignoring");
	strv_free(problems);
	init_cmdline_done(&c);
}

TEST(cmdline_bare_break_is_switch)
{
	struct init_cmdline c = parse("blkstack.break", 0, NULL);

	ASSERT_EQ(c.breaks, 1u << INIT_PHASE_SWITCH);
	init_cmdline_done(&c);
}

TEST(cmdline_json)
{
	struct init_cmdline c = parse("root=UUID=x ro panic=-1 blkstack.break=resume", 0, NULL);
	_cleanup_free_ char *j = NULL;

	ASSERT_OK(init_cmdline_to_json(&c, &j));
	ASSERT_STREQ(j, "{\"root\":\"UUID=x\",\"rootflags\":null,\"rootfstype\":null,"
			"\"read_only\":true,\"init\":null,\"resume\":null,\"resume_offset\":null,"
			"\"noresume\":false,\"panic\":-1,\"debug\":false,\"break\":[\"resume\"]}");
	init_cmdline_done(&c);
}

TEST(phase_names_round_trip)
{
	for (int i = 0; i < _INIT_PHASE_MAX; i++)
		ASSERT_EQ(init_phase_from_string(init_phase_to_string(i)), i);
	ASSERT_EQ(init_phase_from_string("nope"), _INIT_PHASE_INVALID);
	ASSERT_NULL(init_phase_to_string(_INIT_PHASE_MAX));
}

/* The installed program: it refuses to run anywhere but as PID 1, and prints how it reads a
 * command line with --test-cmdline. */
static int run_init(const char *args, char **ret_out)
{
	const char *exe = getenv("BLKSTACK_INIT");
	_cleanup_free_ char *cmd = NULL;
	char buf[4096];
	size_t n;
	FILE *p;

	if (!exe)
		SKIP("BLKSTACK_INIT is not set; run through 'meson test'");
	ASSERT_TRUE(asprintf(&cmd, "'%s' %s 2>&1", exe, args) >= 0);
	p = popen(cmd, "re");
	ASSERT_NOTNULL(p);
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	*ret_out = strdup(buf);
	return pclose(p);
}

TEST(init_refuses_outside_an_initramfs)
{
	_cleanup_free_ char *out = NULL;
	int status = run_init("", &out);

	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 1);
	ASSERT_NOTNULL(strstr(out, "blkstack-init runs only as PID 1 of an initramfs"));
}

TEST(init_test_cmdline_prints_json)
{
	const char *dir = test_tmpdir();
	_cleanup_free_ char *out = NULL, *args = NULL;
	int status;

	test_write_file(dir, "cmdline", "root=\"LABEL=my root\" rw init=/bin/marker panic=x\n");
	ASSERT_TRUE(asprintf(&args, "--test-cmdline '%s/cmdline'", dir) >= 0);
	status = run_init(args, &out);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
	ASSERT_NOTNULL(strstr(out, "blkstack-init: kernel command line: panic=x is not a number"));
	ASSERT_NOTNULL(strstr(out,
			      "{\"root\":\"LABEL=my root\",\"rootflags\":null,"
			      "\"rootfstype\":null,\"read_only\":false,\"init\":\"/bin/marker\""));
}
