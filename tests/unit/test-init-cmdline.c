/* Unit tests of /init's kernel command line parser: quoting, repeats, and what it refuses. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sched.h>
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
			"\"noresume\":false,\"panic\":-1,\"debug\":false,\"break\":[\"resume\"],"
			"\"ip\":null}");
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

/* ---- ip= ---------------------------------------------------------------------------------- */

static void assert_address(struct in_addr a, const char *want)
{
	char buf[INET_ADDRSTRLEN];

	ASSERT_NOTNULL(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
	ASSERT_STREQ(buf, want);
}

TEST(ip_static_form)
{
	struct init_cmdline c =
		parse("ip=192.168.7.20:192.168.7.1:192.168.7.254:255.255.255.0:node1:eth1:off:"
		      "192.168.7.2::192.168.7.3",
		      0, NULL);

	ASSERT_TRUE(c.have_ip);
	ASSERT_FALSE(c.ip.off);
	assert_address(c.ip.client, "192.168.7.20");
	assert_address(c.ip.server, "192.168.7.1");
	assert_address(c.ip.gateway, "192.168.7.254");
	ASSERT_EQ(c.ip.prefix, 24u);
	ASSERT_STREQ(c.ip.hostname, "node1");
	ASSERT_STREQ(c.ip.device, "eth1");
	assert_address(c.ip.dns[0], "192.168.7.2");
	ASSERT_EQ(c.ip.dns[1].s_addr, htonl(INADDR_ANY));
	init_cmdline_done(&c);
}

TEST(ip_defaults_as_the_kernel_has_them)
{
	/* Trailing fields left out, an empty netmask from the address's class, 0.0.0.0 unset. */
	struct init_cmdline c = parse("ip=10.1.2.3:0.0.0.0", 0, NULL);

	assert_address(c.ip.client, "10.1.2.3");
	ASSERT_EQ(c.ip.server.s_addr, htonl(INADDR_ANY));
	ASSERT_EQ(c.ip.gateway.s_addr, htonl(INADDR_ANY));
	ASSERT_EQ(c.ip.prefix, 8u);
	ASSERT_NULL(c.ip.device);
	ASSERT_NULL(c.ip.hostname);
	init_cmdline_done(&c);

	c = parse("ip=172.16.0.9:::::enp0s3 ip=192.168.1.5::::::static", 0, NULL);
	assert_address(c.ip.client, "192.168.1.5");
	ASSERT_EQ(c.ip.prefix, 24u);
	ASSERT_NULL(c.ip.device);
	init_cmdline_done(&c);

	/* A prefix length for the netmask, as dracut also reads it; "none" is static too. */
	c = parse("ip=172.16.0.9::172.16.0.1:20::ens3:none", 0, NULL);
	ASSERT_EQ(c.ip.prefix, 20u);
	ASSERT_STREQ(c.ip.device, "ens3");
	init_cmdline_done(&c);

	c = parse("ip=off", 0, NULL);
	ASSERT_TRUE(c.have_ip);
	ASSERT_TRUE(c.ip.off);
	init_cmdline_done(&c);
}

TEST(ip_refused_forms_keep_the_earlier_value)
{
	static const struct {
		const char *param, *why;
	} bad[] = {
		{ "ip=dhcp", "method 'dhcp' needs a DHCP client" },
		{ "ip=10.0.0.2::::::dhcp", "method 'dhcp' needs a DHCP client" },
		{ "ip=:::::eth0:off", "no client address" },
		{ "ip=10.0.0.300", "'10.0.0.300' is no IPv4 address (client)" },
		{ "ip=10.0.0.2::10.0.0.x", "'10.0.0.x' is no IPv4 address (gateway)" },
		{ "ip=10.0.0.2:::255.0.255.0", "'255.0.255.0' is no netmask" },
		{ "ip=10.0.0.2:::33", "'33' is no netmask" },
		{ "ip=10.0.0.2:::::a/b", "'a/b' is no interface name" },
		{ "ip=10.0.0.2:::::averyverylongname", "is no interface name" },
		{ "ip=[fd00::2]::[fd00::1]:64::eth0:off", "IPv4 only" },
		{ "ip=", "ip= needs a value" },
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_strv_free_ char **problems = NULL;
		_cleanup_free_ char *text = NULL;
		struct init_cmdline c;

		ASSERT_TRUE(asprintf(&text, "ip=10.9.9.9:::24 %s", bad[i].param) >= 0);
		c = parse(text, 1, &problems);
		fprintf(stderr, "ip=: %s\n", bad[i].param);
		ASSERT_NOTNULL(strstr(problems[0], bad[i].why));
		ASSERT_NOTNULL(strstr(problems[0], ", ignoring"));
		assert_address(c.ip.client, "10.9.9.9");
		ASSERT_EQ(c.ip.prefix, 24u);
		init_cmdline_done(&c);
	}
}

TEST(ip_in_the_json)
{
	struct init_cmdline c = parse("ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off", 0, NULL);
	_cleanup_free_ char *json = NULL;

	ASSERT_OK(init_cmdline_to_json(&c, &json));
	ASSERT_NOTNULL(strstr(json, "\"ip\":{\"off\":false,\"client\":\"10.0.2.15\","
				    "\"server\":null,\"gateway\":\"10.0.2.2\",\"prefix\":24,"
				    "\"hostname\":null,\"device\":\"eth0\",\"dns\":[]}"));
	init_cmdline_done(&c);
	c = parse("quiet", 0, NULL);
	free(json);
	json = NULL;
	ASSERT_OK(init_cmdline_to_json(&c, &json));
	ASSERT_NOTNULL(strstr(json, "\"ip\":null"));
	init_cmdline_done(&c);
}

/* Network and UTS namespaces of our own, where the loopback is the only interface: skips
 * where the kernel or the sandbox allows no user namespace. */
static void enter_own_netns(void)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWUTS) < 0)
		SKIP("cannot make a user and network namespace (%s): the interface "
		     "configuration needs one to run unprivileged",
		     strerror(errno));
}

static char *read_text(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "re");
	size_t n;

	ASSERT_NOTNULL(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

/* Whether iface has address want in this namespace. */
static bool has_address(const char *iface, const char *want)
{
	struct ifaddrs *all, *i;
	bool found = false;

	ASSERT_EQ(getifaddrs(&all), 0);
	for (i = all; i; i = i->ifa_next) {
		char buf[INET_ADDRSTRLEN];

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !streq(i->ifa_name, iface))
			continue;
		if (inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf,
			      sizeof(buf)) &&
		    streq(buf, want))
			found = true;
	}
	freeifaddrs(all);
	return found;
}

TEST(ip_configures_the_interface)
{
	struct init_cmdline c =
		parse("ip=10.9.8.7::10.9.8.1:255.255.255.0:bs-test:lo:off", 0, NULL);
	_cleanup_free_ char *dev = NULL, *why = NULL, *routes = NULL;
	char host[128];

	enter_own_netns();
	ASSERT_FALSE(has_address("lo", "10.9.8.7"));
	ASSERT_EQ(init_ip_configure(&c.ip, 5000000ULL, &dev, &why), 0);
	ASSERT_NULL(why);
	ASSERT_STREQ(dev, "lo");
	ASSERT_TRUE(has_address("lo", "10.9.8.7"));
	/* The default route through the gateway: destination 0, gateway 10.9.8.1 (little
	 * endian hex, as /proc/net/route has it). */
	routes = read_text("/proc/net/route");
	ASSERT_NOTNULL(strstr(routes, "lo\t00000000\t0108090A"));
	ASSERT_EQ(gethostname(host, sizeof(host)), 0);
	ASSERT_STREQ(host, "bs-test");
	/* A second run finds the address and the route there already: no error. */
	free(dev);
	dev = NULL;
	ASSERT_EQ(init_ip_configure(&c.ip, 5000000ULL, &dev, &why), 0);
	init_cmdline_done(&c);
}

TEST(ip_names_an_interface_that_never_appears)
{
	struct init_cmdline c = parse("ip=10.9.8.7:::24::bs-nosuch0:off", 0, NULL);
	_cleanup_free_ char *dev = NULL, *why = NULL;

	enter_own_netns();
	ASSERT_EQ(init_ip_configure(&c.ip, 1000000ULL, &dev, &why), -EINVAL);
	ASSERT_NOTNULL(why);
	ASSERT_NOTNULL(strstr(why, "network interface 'bs-nosuch0' did not appear within 1s"));
	ASSERT_NULL(dev);
	init_cmdline_done(&c);
}
