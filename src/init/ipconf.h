/* The kernel's ip= parameter in its static form, and the interface /init configures from it. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>

/*
 * ip=CLIENT:SERVER:GATEWAY:NETMASK:HOSTNAME:DEVICE:AUTOCONF:DNS0:DNS1:NTP0, as the kernel's
 * Documentation/admin-guide/nfs/nfsroot.rst and klibc's ipconfig read it: trailing fields
 * may be left out, and an empty field takes its default. /init configures only the static
 * form (a client address, and AUTOCONF empty, "off", "none" or "static"); it runs no DHCP
 * client. ip=off and ip=none ask for no configuration at all.
 */
struct init_ip {
	bool off; /* ip=off or ip=none */
	struct in_addr client, server, gateway; /* INADDR_ANY when not given */
	unsigned prefix; /* from NETMASK (dotted or a prefix length), or the address's class */
	char *hostname; /* NULL when not given */
	char *device; /* NULL: the first interface that is not the loopback */
	struct in_addr dns[2];
};

/*
 * Parses the value of ip= into *ret. Returns 0, -ENOMEM, or -EINVAL with a message for the
 * user in *ret_problem (newly allocated; "ip=...: ..."): a malformed address, a netmask that
 * is no mask, a method other than static, or no client address.
 */
int init_ip_parse(const char *value, struct init_ip *ret, char **ret_problem);
void init_ip_done(struct init_ip *ip);

/* ip as a JSON object string, newly allocated: {"off","client","server","gateway","prefix",
 * "hostname","device","dns":[...]}, with null for what was not given; or as the object
 * (NULL when out of memory). */
int init_ip_to_json(const struct init_ip *ip, char **ret);
struct json_object;
struct json_object *init_ip_to_json_object(const struct init_ip *ip);
/* o as compact JSON text, newly allocated; takes o (NULL: -ENOMEM). */
int init_json_to_string(struct json_object *o, char **ret);

/*
 * Configures the interface that ip names, over rtnetlink: waits up to timeout_usec for the
 * device to appear (its driver may still be probing), brings it and the loopback up, adds
 * the address with its prefix, the default route through GATEWAY when one is given, and
 * sets the host name when one is given; then waits, within the same timeout, for the link's
 * carrier (a link without one is reported, not an error: the network layers' own wait
 * names what they cannot reach). An address or route that is already there is no error.
 * Returns 0 with the interface's name in *ret_device; -ENOLINK when it is configured but has
 * no carrier yet, with *ret_device and *ret_problem set; or another negative errno with a
 * message for the user in *ret_problem.
 */
int init_ip_configure(const struct init_ip *ip, unsigned long long timeout_usec, char **ret_device,
		      char **ret_problem);
