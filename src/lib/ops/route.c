/* Waiting for the network: a route to a server, as the kernel would pick it, awaited through
 * rtnetlink's route and address events. */
/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "real.h"
#include "util.h"

/* Addresses reserved for documentation (RFC 5737, RFC 3849): nothing routes them but a
 * default route, so a route to them is what "a default route" means to the kernel. */
#define ANY_SERVER_V4 "192.0.2.1"
#define ANY_SERVER_V6 "2001:db8::1"

/* A name that does not resolve yet (no resolver before the network) is tried again this
 * often, besides on every network event. */
#define RESOLVE_RETRY_USEC (1000ULL * 1000ULL)

/*
 * Whether the kernel has a route to the address: a UDP socket's connect() looks the route up
 * and sends nothing. 1 if it has one, 0 if not, or a negative errno.
 */
static int have_route_to(const struct sockaddr *sa, socklen_t len)
{
	_cleanup_close_ int fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno == EAFNOSUPPORT ? 0 : -errno;
	if (connect(fd, sa, len) == 0)
		return 1;
	if (errno == ENETUNREACH || errno == EHOSTUNREACH || errno == EADDRNOTAVAIL ||
	    errno == EINVAL)
		return 0;
	return -errno;
}

/* 1 if some address of host has a route, 0 if none has, -ENXIO if host does not resolve. */
static int host_routable(const char *host)
{
	const struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *list = NULL;
	int r = 0;

	if (getaddrinfo(host, "9", &hints, &list) != 0)
		return -ENXIO;
	for (struct addrinfo *a = list; a && r == 0; a = a->ai_next)
		r = have_route_to(a->ai_addr, a->ai_addrlen);
	freeaddrinfo(list);
	return r;
}

static int open_route_monitor(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE |
			     RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE,
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int bs_real_wait_route(_unused_ void *userdata, const char *host, uint64_t timeout_usec)
{
	_cleanup_close_ int monitor = -EBADF;
	uint64_t deadline = now_usec() + timeout_usec;
	char buf[8192];
	int r;

	/* Subscribed before the first look, so that a change in between still wakes us. */
	monitor = open_route_monitor();
	if (monitor < 0)
		return monitor;
	for (;;) {
		uint64_t t, wait;
		struct pollfd p = { .fd = monitor, .events = POLLIN };

		if (host)
			r = host_routable(host);
		else {
			r = host_routable(ANY_SERVER_V4);
			if (r == 0)
				r = host_routable(ANY_SERVER_V6);
		}
		if (r > 0)
			return 0;
		if (r < 0 && r != -ENXIO)
			return r;
		t = now_usec();
		if (t >= deadline)
			return r == -ENXIO ? -ENXIO : -ETIMEDOUT;
		wait = deadline - t;
		if (r == -ENXIO)
			wait = MIN(wait, RESOLVE_RETRY_USEC);
		if (poll(&p, 1, (int)((wait + 999) / 1000)) < 0 && errno != EINTR)
			return -errno;
		while (recv(monitor, buf, sizeof(buf), 0) > 0)
			;
	}
}
