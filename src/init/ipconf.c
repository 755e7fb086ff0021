/* ip= in its static form: parsed as the kernel documents it, applied over rtnetlink. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <json-c/json.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipconf.h"
#include "macro.h"
#include "parse.h"
#include "strv.h"
#include "util.h"

/* The fields of ip=, in their order. */
enum {
	F_CLIENT,
	F_SERVER,
	F_GATEWAY,
	F_NETMASK,
	F_HOSTNAME,
	F_DEVICE,
	F_AUTOCONF,
	F_DNS0,
	F_DNS1,
	F_NTP0,
	_F_MAX,
};

/* The kernel's host name limit (__NEW_UTS_LEN). */
#define HOSTNAME_MAX 64

void init_ip_done(struct init_ip *ip)
{
	if (!ip)
		return;
	free(ip->hostname);
	free(ip->device);
	*ip = (struct init_ip){};
}

_printf_(2, 3) static int fail_with(char **ret_problem, const char *format, ...)
{
	va_list ap;
	char *m;
	int k;

	va_start(ap, format);
	k = vasprintf(&m, format, ap);
	va_end(ap);
	if (k < 0)
		return -ENOMEM;
	if (ret_problem)
		*ret_problem = m;
	else
		free(m);
	return -EINVAL;
}

/* What the kernel and klibc call a static configuration, in the method field. */
static bool method_is_static(const char *m)
{
	return !*m || streq(m, "off") || streq(m, "none") || streq(m, "static");
}

/* The methods the kernel's ipconfig and klibc's know, and dracut's spellings of DHCP. */
static bool is_method_name(const char *m)
{
	static const char *const names[] = { "on",     "any",	"dhcp",	 "bootp",   "rarp",
					     "both",   "dhcp6", "auto6", "either6", "ibft",
					     "static", "off",	"none" };

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (streq(names[i], m))
			return true;
	return false;
}

/* An address field: empty and "0.0.0.0" leave it unset, as the kernel has it. */
static int parse_address(const char *field, struct in_addr *ret)
{
	struct in_addr a;

	if (!*field) {
		ret->s_addr = htonl(INADDR_ANY);
		return 0;
	}
	if (inet_pton(AF_INET, field, &a) != 1)
		return -EINVAL;
	*ret = a;
	return 0;
}

/* A netmask, dotted (255.255.255.0) or as a prefix length (24): its prefix length. */
static int parse_netmask(const char *field, unsigned *ret)
{
	struct in_addr a;
	uint32_t n, m;

	if (safe_atou32(field, &n) == 0) {
		if (n > 32)
			return -EINVAL;
		*ret = n;
		return 0;
	}
	if (inet_pton(AF_INET, field, &a) != 1)
		return -EINVAL;
	m = ntohl(a.s_addr);
	/* Contiguous ones from the top: ~m + 1 is a power of two (or 0 for /0). */
	if ((~m & (~m + 1)) != 0)
		return -EINVAL;
	*ret = (unsigned)__builtin_popcount(m);
	return 0;
}

/* The prefix the kernel's ipconfig takes when NETMASK is left out: the address's class. */
static unsigned class_prefix(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	if ((h & 0x80000000u) == 0)
		return 8;
	if ((h & 0xc0000000u) == 0x80000000u)
		return 16;
	return 24;
}

int init_ip_parse(const char *value, struct init_ip *ret, char **ret_problem)
{
	_cleanup_(init_ip_done) struct init_ip ip = {};
	_cleanup_free_ char *copy = NULL;
	char *fields[_F_MAX] = {}, *p;
	size_t n = 0;

	if (!value || !*value)
		return fail_with(ret_problem, "ip= needs a value");
	if (streq(value, "off") || streq(value, "none")) {
		init_ip_done(ret);
		*ret = (struct init_ip){ .off = true };
		return 0;
	}
	if (value[0] == '[')
		return fail_with(ret_problem,
				 "ip=%s: /init configures IPv4 only; give the static form "
				 "ip=CLIENT::GATEWAY:NETMASK::DEVICE:off",
				 value);

	copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	/* Fields after the tenth (NTP0) are the kernel's to ignore, and ours. */
	for (p = copy; n < _F_MAX; n++) {
		fields[n] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (n < _F_MAX)
		n++;
	for (size_t i = n; i < _F_MAX; i++)
		fields[i] = (char *)"";

	/* A value of one word may be a method alone, as the kernel knows them: ip=dhcp. */
	if (n == 1 && is_method_name(fields[F_CLIENT])) {
		fields[F_AUTOCONF] = fields[F_CLIENT];
		fields[F_CLIENT] = (char *)"";
	}
	if (!method_is_static(fields[F_AUTOCONF]))
		return fail_with(ret_problem,
				 "ip=%s: method '%s' needs a DHCP client, and /init runs none; "
				 "give the static form ip=CLIENT::GATEWAY:NETMASK::DEVICE:off",
				 value, fields[F_AUTOCONF]);

	if (parse_address(fields[F_CLIENT], &ip.client) < 0)
		return fail_with(ret_problem, "ip=%s: '%s' is no IPv4 address (client)", value,
				 fields[F_CLIENT]);
	if (ip.client.s_addr == htonl(INADDR_ANY))
		return fail_with(ret_problem,
				 "ip=%s: no client address; the static form is "
				 "ip=CLIENT::GATEWAY:NETMASK::DEVICE:off",
				 value);
	if (parse_address(fields[F_SERVER], &ip.server) < 0)
		return fail_with(ret_problem, "ip=%s: '%s' is no IPv4 address (server)", value,
				 fields[F_SERVER]);
	if (parse_address(fields[F_GATEWAY], &ip.gateway) < 0)
		return fail_with(ret_problem, "ip=%s: '%s' is no IPv4 address (gateway)", value,
				 fields[F_GATEWAY]);
	for (int i = 0; i < 2; i++)
		if (parse_address(fields[F_DNS0 + i], &ip.dns[i]) < 0)
			return fail_with(ret_problem, "ip=%s: '%s' is no IPv4 address (dns%d)",
					 value, fields[F_DNS0 + i], i);
	if (!*fields[F_NETMASK])
		ip.prefix = class_prefix(ip.client);
	else if (parse_netmask(fields[F_NETMASK], &ip.prefix) < 0)
		return fail_with(ret_problem,
				 "ip=%s: '%s' is no netmask (give 255.255.255.0, or a prefix "
				 "length such as 24)",
				 value, fields[F_NETMASK]);

	if (strlen(fields[F_HOSTNAME]) > HOSTNAME_MAX)
		return fail_with(ret_problem, "ip=%s: the host name is longer than %d bytes", value,
				 HOSTNAME_MAX);
	if (strlen(fields[F_DEVICE]) >= IFNAMSIZ || strchr(fields[F_DEVICE], '/'))
		return fail_with(ret_problem, "ip=%s: '%s' is no interface name", value,
				 fields[F_DEVICE]);
	if ((*fields[F_HOSTNAME] && !(ip.hostname = strdup(fields[F_HOSTNAME]))) ||
	    (*fields[F_DEVICE] && !(ip.device = strdup(fields[F_DEVICE]))))
		return -ENOMEM;

	init_ip_done(ret);
	*ret = ip;
	ip = (struct init_ip){};
	return 0;
}

static json_object *address_or_null(struct in_addr a)
{
	char buf[INET_ADDRSTRLEN];

	if (a.s_addr == htonl(INADDR_ANY) || !inet_ntop(AF_INET, &a, buf, sizeof(buf)))
		return NULL;
	return json_object_new_string(buf);
}

json_object *init_ip_to_json_object(const struct init_ip *ip)
{
	json_object *o = json_object_new_object(), *dns = json_object_new_array();

	if (!o || !dns)
		goto oom;
	for (int i = 0; i < 2; i++)
		if (ip->dns[i].s_addr != htonl(INADDR_ANY) &&
		    json_object_array_add(dns, address_or_null(ip->dns[i])) < 0)
			goto oom;
	if (json_object_object_add(o, "off", json_object_new_boolean(ip->off)) < 0 ||
	    json_object_object_add(o, "client", address_or_null(ip->client)) < 0 ||
	    json_object_object_add(o, "server", address_or_null(ip->server)) < 0 ||
	    json_object_object_add(o, "gateway", address_or_null(ip->gateway)) < 0 ||
	    json_object_object_add(o, "prefix",
				   ip->off ? NULL : json_object_new_int((int)ip->prefix)) < 0 ||
	    json_object_object_add(o, "hostname",
				   ip->hostname ? json_object_new_string(ip->hostname) : NULL) <
		    0 ||
	    json_object_object_add(o, "device",
				   ip->device ? json_object_new_string(ip->device) : NULL) < 0)
		goto oom;
	if (json_object_object_add(o, "dns", dns) < 0)
		goto oom;
	return o;
oom:
	json_object_put(dns);
	json_object_put(o);
	return NULL;
}

int init_json_to_string(json_object *o, char **ret)
{
	char *s;

	if (!o)
		return -ENOMEM;
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int init_ip_to_json(const struct init_ip *ip, char **ret)
{
	return init_json_to_string(init_ip_to_json_object(ip), ret);
}

/* ---- rtnetlink ---------------------------------------------------------------------------- */

struct nl_request {
	struct nlmsghdr h;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	};
	char attrs[128];
};

static void nl_add_attr(struct nl_request *req, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)req + NLMSG_ALIGN(req->h.nlmsg_len));

	assert(NLMSG_ALIGN(req->h.nlmsg_len) + RTA_SPACE(len) <= sizeof(*req));
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	req->h.nlmsg_len = NLMSG_ALIGN(req->h.nlmsg_len) + RTA_SPACE(len);
}

/* Sends req and reads the kernel's acknowledgement: 0, or its negative errno. */
static int nl_call(int fd, struct nl_request *req)
{
	static unsigned seq;
	char buf[1024];
	ssize_t k;

	req->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->h.nlmsg_seq = ++seq;
	if (send(fd, req, req->h.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h;

		k = recv(fd, buf, sizeof(buf), 0);
		if (k < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)k); h = NLMSG_NEXT(h, k)) {
			if (h->nlmsg_seq != req->h.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
				return -EBADMSG;
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		}
	}
}

static int nl_open(unsigned groups)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
	struct timeval tv = { .tv_sec = 5 };
	int fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	/* The kernel answers at once; a reply that never comes must not hold the boot. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int link_up(int fd, int ifindex)
{
	struct nl_request req = {
		.h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		       .nlmsg_type = RTM_NEWLINK },
		.ifi = { .ifi_family = AF_UNSPEC,
			 .ifi_index = ifindex,
			 .ifi_flags = IFF_UP,
			 .ifi_change = IFF_UP },
	};

	return nl_call(fd, &req);
}

static int add_address(int fd, int ifindex, struct in_addr a, unsigned prefix)
{
	struct nl_request req = {
		.h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
		       .nlmsg_type = RTM_NEWADDR,
		       .nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE },
		.ifa = { .ifa_family = AF_INET,
			 .ifa_prefixlen = (unsigned char)prefix,
			 .ifa_scope = RT_SCOPE_UNIVERSE,
			 .ifa_index = (unsigned)ifindex },
	};

	nl_add_attr(&req, IFA_LOCAL, &a, sizeof(a));
	nl_add_attr(&req, IFA_ADDRESS, &a, sizeof(a));
	if (prefix < 31) {
		struct in_addr b = { .s_addr = a.s_addr | htonl(~0u >> prefix) };

		nl_add_attr(&req, IFA_BROADCAST, &b, sizeof(b));
	}
	return nl_call(fd, &req);
}

static int add_default_route(int fd, int ifindex, struct in_addr gateway)
{
	uint32_t oif = (uint32_t)ifindex;
	struct nl_request req = {
		.h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
		       .nlmsg_type = RTM_NEWROUTE,
		       .nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE },
		.rt = { .rtm_family = AF_INET,
			.rtm_table = RT_TABLE_MAIN,
			.rtm_protocol = RTPROT_BOOT,
			.rtm_scope = RT_SCOPE_UNIVERSE,
			.rtm_type = RTN_UNICAST },
	};

	nl_add_attr(&req, RTA_GATEWAY, &gateway, sizeof(gateway));
	nl_add_attr(&req, RTA_OIF, &oif, sizeof(oif));
	return nl_call(fd, &req);
}

/* ---- waiting for the device and its carrier ----------------------------------------------- */

static int interface_flags(const char *name, short *ret)
{
	struct ifreq ifr = {};
	_cleanup_close_ int fd = -EBADF;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	*ret = ifr.ifr_flags;
	return 0;
}

/* The interface named, or the first that is not a loopback: its index and name, or 0. */
static int find_interface(const char *want, char **ret_name)
{
	struct if_nameindex *all = if_nameindex();
	int found = 0;

	if (!all)
		return -errno;
	for (struct if_nameindex *i = all; i->if_index; i++) {
		short flags;

		if (want ? !streq(i->if_name, want) :
			   interface_flags(i->if_name, &flags) < 0 || (flags & IFF_LOOPBACK))
			continue;
		found = (int)i->if_index;
		if (!(*ret_name = strdup(i->if_name)))
			found = -ENOMEM;
		break;
	}
	if_freenameindex(all);
	return found;
}

/* Waits on the link monitor until something changes or the deadline passes: 1, or 0 then. */
static int wait_link_event(int monitor, unsigned long long deadline)
{
	unsigned long long t = now_usec();
	struct pollfd p = { .fd = monitor, .events = POLLIN };
	char buf[4096];
	int r;

	if (t >= deadline)
		return 0;
	r = poll(&p, 1, (int)((deadline - t + 999) / 1000));
	if (r <= 0)
		return 0;
	while (recv(monitor, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	return 1;
}

int init_ip_configure(const struct init_ip *ip, unsigned long long timeout_usec, char **ret_device,
		      char **ret_problem)
{
	_cleanup_close_ int fd = -EBADF, monitor = -EBADF;
	_cleanup_free_ char *name = NULL;
	unsigned long long deadline = now_usec() + timeout_usec;
	char client[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	int ifindex, lo, r;
	short flags;

	if (!ip || ip->off)
		return -EINVAL;
	(void)inet_ntop(AF_INET, &ip->client, client, sizeof(client));
	(void)inet_ntop(AF_INET, &ip->gateway, gw, sizeof(gw));

	fd = nl_open(0);
	monitor = nl_open(RTMGRP_LINK);
	if (fd < 0 || monitor < 0)
		return fail_with(ret_problem, "cannot open a netlink socket: %s",
				 strerror(-(fd < 0 ? fd : monitor)));

	/* Subscribed before the first look: a device that appears in between still wakes us. */
	while ((ifindex = find_interface(ip->device, &name)) == 0) {
		if (wait_link_event(monitor, deadline))
			continue;
		if (ip->device)
			return fail_with(ret_problem,
					 "network interface '%s' did not appear within %llus; is "
					 "its driver in the image?",
					 ip->device, timeout_usec / 1000000);
		return fail_with(ret_problem,
				 "no network interface appeared within %llus; is its driver in "
				 "the image?",
				 timeout_usec / 1000000);
	}
	if (ifindex < 0)
		return ifindex;

	lo = (int)if_nametoindex("lo");
	if (lo > 0)
		(void)link_up(fd, lo);
	r = link_up(fd, ifindex);
	if (r < 0)
		return fail_with(ret_problem, "cannot bring %s up: %s", name, strerror(-r));
	r = add_address(fd, ifindex, ip->client, ip->prefix);
	if (r < 0 && r != -EEXIST)
		return fail_with(ret_problem, "cannot give %s the address %s/%u: %s", name, client,
				 ip->prefix, strerror(-r));
	if (ip->gateway.s_addr != htonl(INADDR_ANY)) {
		r = add_default_route(fd, ifindex, ip->gateway);
		if (r < 0 && r != -EEXIST)
			return fail_with(ret_problem,
					 "cannot add the default route through %s on %s: %s", gw,
					 name, strerror(-r));
	}
	if (ip->hostname && sethostname(ip->hostname, strlen(ip->hostname)) < 0)
		return fail_with(ret_problem, "cannot set the host name '%s': %m", ip->hostname);

	/* The carrier: a link that has none yet is reported by the caller, not refused here. */
	r = 0;
	while (interface_flags(name, &flags) == 0 && !(flags & IFF_RUNNING))
		if (!wait_link_event(monitor, deadline)) {
			r = fail_with(ret_problem,
				      "%s has no carrier after %llus (is its cable in?)", name,
				      timeout_usec / 1000000);
			if (r == -EINVAL)
				r = -ENOLINK;
			break;
		}
	if (ret_device)
		*ret_device = TAKE_PTR(name);
	return r;
}
