/* The drivers that spawn tools (md, lvm, nbd, iscsi, drbd): their parsers, and their commands as
 * the recording ops table sees them. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "blkstack.h"
#include "exec-harness.h"
#include "layers/spawn-util.h"
#include "lvm-name.h"
#include "ops/real.h"
#include "recorder.h"
#include "tests.h"
#include "util.h"

/* ---- md ---------------------------------------------------------------------------------- */

TEST(md_level_from_sysfs_and_mdadm_conf)
{
	ASSERT_EQ(bs_md_level_from_string("raid6"), BS_MD_RAID6);
	ASSERT_EQ(bs_md_level_from_string("RAID5"), BS_MD_RAID5);
	ASSERT_EQ(bs_md_level_from_string("10"), BS_MD_RAID10);
	ASSERT_EQ(bs_md_level_from_string("mirror"), BS_MD_RAID1);
	ASSERT_EQ(bs_md_level_from_string("linear"), BS_MD_LINEAR);
	ASSERT_EQ(bs_md_level_from_string("-1"), BS_MD_LINEAR);
	ASSERT_EQ(bs_md_level_from_string("container"), _BS_MD_LEVEL_INVALID);
	ASSERT_EQ(bs_md_level_from_string("raid7"), _BS_MD_LEVEL_INVALID);
	ASSERT_EQ(bs_md_level_from_string(NULL), _BS_MD_LEVEL_INVALID);
	ASSERT_STREQ(bs_md_level_to_string(BS_MD_RAID10), "raid10");
	ASSERT_NULL(bs_md_level_to_string(_BS_MD_LEVEL_INVALID));
}

TEST(md_degraded_quorum_per_level)
{
	ASSERT_EQ(bs_md_degraded_quorum(BS_MD_RAID1, 2), 1u);
	ASSERT_EQ(bs_md_degraded_quorum(BS_MD_RAID1, 3), 1u);
	ASSERT_EQ(bs_md_degraded_quorum(BS_MD_RAID4, 3), 2u);
	ASSERT_EQ(bs_md_degraded_quorum(BS_MD_RAID5, 4), 3u);
	ASSERT_EQ(bs_md_degraded_quorum(BS_MD_RAID6, 4), 2u);
	ASSERT_EQ(bs_md_degraded_quorum(BS_MD_RAID10, 4), 3u);
	/* No redundancy, nothing to spend. */
	ASSERT_EQ(bs_md_degraded_quorum(BS_MD_RAID0, 4), 0u);
	ASSERT_EQ(bs_md_degraded_quorum(BS_MD_LINEAR, 2), 0u);
	ASSERT_EQ(bs_md_degraded_quorum(_BS_MD_LEVEL_INVALID, 4), 0u);
	ASSERT_EQ(bs_md_degraded_quorum(BS_MD_RAID1, 1), 0u);
	ASSERT_EQ(bs_md_degraded_quorum(BS_MD_RAID5, 0), 0u);
}

TEST(md_uuid_in_mdadm_form)
{
	char buf[36];

	ASSERT_STREQ(bs_md_uuid_to_mdadm("f278e03c-a31a-a7bd-a0e8-8e06eaa17cd6", buf),
		     "f278e03c:a31aa7bd:a0e88e06:eaa17cd6");
	ASSERT_STREQ(bs_md_uuid_to_mdadm("F278E03C:A31AA7BD:A0E88E06:EAA17CD6", buf),
		     "f278e03c:a31aa7bd:a0e88e06:eaa17cd6");
	ASSERT_NULL(bs_md_uuid_to_mdadm("f278e03c", buf));
	ASSERT_NULL(bs_md_uuid_to_mdadm(NULL, buf));
}

TEST(md_device_path)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
	char *x = NULL;

	ASSERT_OK(bs_md_device_path("md:sys", "sys", &a));
	ASSERT_STREQ(a, "/dev/md/sys");
	ASSERT_OK(bs_md_device_path("md:f278e03c-a31a-a7bd-a0e8-8e06eaa17cd6", NULL, &b));
	ASSERT_STREQ(b, "/dev/md/f278e03c-a31a-a7bd-a0e8-8e06eaa17cd6");
	ASSERT_OK(bs_md_device_path("md:md0", NULL, &c));
	ASSERT_STREQ(c, "/dev/md0");
	ASSERT_ERR(bs_md_device_path("md:..", NULL, &x), -EINVAL);
	ASSERT_ERR(bs_md_device_path("md:a/b", NULL, &x), -EINVAL);
	ASSERT_ERR(bs_md_device_path("vg:x", NULL, &x), -EINVAL);
	ASSERT_NULL(x);
}

/* ---- lvm --------------------------------------------------------------------------------- */

TEST(lvm_names)
{
	_cleanup_free_ char *a = NULL, *b = NULL;

	ASSERT_TRUE(lvm_name_is_valid("vg0"));
	ASSERT_TRUE(lvm_name_is_valid("my-vg_1.x+"));
	ASSERT_FALSE(lvm_name_is_valid("-vg"));
	ASSERT_FALSE(lvm_name_is_valid("a/b"));
	ASSERT_FALSE(lvm_name_is_valid(".."));
	ASSERT_FALSE(lvm_name_is_valid(""));
	ASSERT_FALSE(lvm_name_is_valid(NULL));

	ASSERT_OK(lvm_dm_name_join("vg0", "root", &a));
	ASSERT_STREQ(a, "vg0-root");
	ASSERT_OK(lvm_dm_name_join("vg-0", "my--lv", &b));
	ASSERT_STREQ(b, "vg--0-my----lv");
}

static int vgs(const char *text, const char *vg, unsigned *pvs, unsigned *missing)
{
	return bs_lvm_vgs_parse(text, strlen(text), vg, pvs, missing);
}

TEST(lvm_vgs_report)
{
	unsigned pvs = 99, missing = 99;

	/* lvm 2.03.16 prints every value as a string. */
	ASSERT_OK(
		vgs("{\n  \"report\": [\n    {\n      \"vg\": [\n        {\"vg_name\":\"vg0\", "
		    "\"pv_count\":\"3\", \"vg_missing_pv_count\":\"1\"}\n      ]\n    }\n  ]\n}\n",
		    "vg0", &pvs, &missing));
	ASSERT_EQ(pvs, 3u);
	ASSERT_EQ(missing, 1u);
	/* json_std prints numbers. */
	ASSERT_OK(vgs("{\"report\":[{\"vg\":[{\"vg_name\":\"a\",\"pv_count\":1,"
		      "\"vg_missing_pv_count\":0},{\"vg_name\":\"b\",\"pv_count\":2,"
		      "\"vg_missing_pv_count\":0}]}]}",
		      "b", &pvs, &missing));
	ASSERT_EQ(pvs, 2u);
	ASSERT_EQ(missing, 0u);

	ASSERT_ERR(vgs("{\"report\":[{\"vg\":[]}]}", "vg0", &pvs, &missing), -ENOENT);
	ASSERT_ERR(vgs("{\"report\":[{\"vg\":[{\"vg_name\":\"vg0\",\"pv_count\":\"x\","
		       "\"vg_missing_pv_count\":\"0\"}]}]}",
		       "vg0", &pvs, &missing),
		   -EBADMSG);
	ASSERT_ERR(vgs("{\"report\":[{\"vg\":[{\"vg_name\":\"vg0\",\"pv_count\":\"1\"}]}]}", "vg0",
		       &pvs, &missing),
		   -EBADMSG);
	ASSERT_ERR(vgs("{\"report\":[{\"vg\":[{\"vg_name\":\"vg0\",\"pv_count\":-1,"
		       "\"vg_missing_pv_count\":0}]}]}",
		       "vg0", &pvs, &missing),
		   -EBADMSG);
	ASSERT_ERR(vgs("", "vg0", &pvs, &missing), -EBADMSG);
	ASSERT_ERR(vgs("{\"report\":", "vg0", &pvs, &missing), -EBADMSG);
	ASSERT_ERR(vgs("[1,2]", "vg0", &pvs, &missing), -EBADMSG);
	ASSERT_ERR(vgs("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		       "vg0", &pvs, &missing),
		   -EBADMSG);
}

/* ---- network layers ---------------------------------------------------------------------- */

TEST(remote_uri)
{
	_cleanup_free_ char *h1 = NULL, *r1 = NULL, *h2 = NULL, *r2 = NULL, *h3 = NULL, *r3 = NULL;
	char *h = NULL, *r = NULL;
	uint16_t port = 1;

	ASSERT_OK(
		bs_remote_uri_parse("nbd://storage.example:10810/vm/disk", "nbd", &h1, &port, &r1));
	ASSERT_STREQ(h1, "storage.example");
	ASSERT_EQ(port, 10810);
	ASSERT_STREQ(r1, "vm/disk");
	ASSERT_OK(bs_remote_uri_parse("nbd://host/", "nbd", &h2, &port, &r2));
	ASSERT_STREQ(h2, "host");
	ASSERT_EQ(port, 0);
	ASSERT_STREQ(r2, "");
	ASSERT_OK(bs_remote_uri_parse("iscsi://[2001:db8::1]:3261/iqn.2004-01.org.example:backup",
				      "iscsi", &h3, &port, &r3));
	ASSERT_STREQ(h3, "2001:db8::1");
	ASSERT_EQ(port, 3261);
	ASSERT_STREQ(r3, "iqn.2004-01.org.example:backup");

	ASSERT_ERR(bs_remote_uri_parse("iscsi://host/x", "nbd", &h, &port, &r), -EINVAL);
	ASSERT_ERR(bs_remote_uri_parse("nbd://host", "nbd", &h, &port, &r), -EINVAL);
	ASSERT_ERR(bs_remote_uri_parse("nbd://:10809/x", "nbd", &h, &port, &r), -EINVAL);
	ASSERT_ERR(bs_remote_uri_parse("nbd://host:0/x", "nbd", &h, &port, &r), -EINVAL);
	ASSERT_ERR(bs_remote_uri_parse("nbd://host:65536/x", "nbd", &h, &port, &r), -EINVAL);
	ASSERT_ERR(bs_remote_uri_parse("nbd://host:/x", "nbd", &h, &port, &r), -EINVAL);
	ASSERT_ERR(bs_remote_uri_parse("nbd://[::1/x", "nbd", &h, &port, &r), -EINVAL);
	ASSERT_ERR(bs_remote_uri_parse("nbd://[::1]x/x", "nbd", &h, &port, &r), -EINVAL);
	/* It would be taken for an option of nbd-client. */
	ASSERT_ERR(bs_remote_uri_parse("nbd://-host/x", "nbd", &h, &port, &r), -EINVAL);
	ASSERT_ERR(bs_remote_uri_parse(NULL, "nbd", &h, &port, &r), -EINVAL);
	ASSERT_NULL(h);
	ASSERT_NULL(r);
}

TEST(options_get)
{
	_cleanup_free_ char *t = NULL, *l = NULL, *e = NULL;
	char *v = (char *)"untouched";

	ASSERT_EQ(bs_options_get("ro,timeout=30,lun=2,lun=3", "timeout", &t), 1);
	ASSERT_STREQ(t, "30");
	ASSERT_EQ(bs_options_get("ro,timeout=30,lun=2,lun=3", "lun", &l), 1);
	ASSERT_STREQ(l, "3");
	ASSERT_EQ(bs_options_get("ro,,timeout=30", "ro", &v), 1);
	ASSERT_NULL(v);
	ASSERT_EQ(bs_options_get("iface=", "iface", &e), 1);
	ASSERT_STREQ(e, "");
	ASSERT_EQ(bs_options_get("rot,timeouts=1", "ro", &v), 0);
	ASSERT_EQ(bs_options_get("rot,timeouts=1", "timeout", &v), 0);
	ASSERT_EQ(bs_options_get(NULL, "ro", &v), 0);
}

TEST(nbd_client_output)
{
	_cleanup_free_ char *a = NULL;
	char *x = NULL;

	ASSERT_EQ(bs_nbd_parse_connected("Warning: the oldstyle protocol is no longer supported.\n"
					 "Negotiation: ..size = 1024MB\nConnected /dev/nbd3\n",
					 &a),
		  1);
	ASSERT_STREQ(a, "nbd3");
	ASSERT_EQ(bs_nbd_parse_connected("Negotiation: ..size = 1024MB\n", &x), 0);
	ASSERT_EQ(bs_nbd_parse_connected("Connected /dev/../sda\n", &x), 0);
	ASSERT_EQ(bs_nbd_parse_connected("Connected /dev/sda\n", &x), 0);
	ASSERT_EQ(bs_nbd_parse_connected("", &x), 0);
	ASSERT_NULL(x);
}

static const char session_p3[] = "iSCSI Transport Class version 2.0-870\n"
				 "version 2.1.8\n"
				 "Target: iqn.2004-01.org.example:other (non-flash)\n"
				 "\tCurrent Portal: 192.0.2.11:3260,1\n"
				 "\t\tHost Number: 2\tState: running\n"
				 "\t\tscsi2 Channel 00 Id 0 Lun: 0\n"
				 "\t\t\tAttached scsi disk sdb\t\tState: running\n"
				 "Target: iqn.2004-01.org.example:backup (non-flash)\n"
				 "\tCurrent Portal: 192.0.2.10:3260,1\n"
				 "\tPersistent Portal: 192.0.2.10:3260,1\n"
				 "\t\t************************\n"
				 "\t\tAttached SCSI devices:\n"
				 "\t\t************************\n"
				 "\t\tHost Number: 3\tState: running\n"
				 "\t\tscsi3 Channel 00 Id 0 Lun: 0\n"
				 "\t\t\tAttached scsi disk sdc\t\tState: running\n"
				 "\t\tscsi3 Channel 00 Id 0 Lun: 1\n"
				 "\t\t\tAttached scsi disk sdd\t\tState: running\n"
				 "\t\tscsi3 Channel 00 Id 0 Lun: 2\n";

TEST(iscsi_session_disks)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
	char *x = NULL;

	ASSERT_EQ(bs_iscsi_find_disk(session_p3, "iqn.2004-01.org.example:backup", 0, &a), 1);
	ASSERT_STREQ(a, "sdc");
	ASSERT_EQ(bs_iscsi_find_disk(session_p3, "iqn.2004-01.org.example:backup", 1, &b), 1);
	ASSERT_STREQ(b, "sdd");
	ASSERT_EQ(bs_iscsi_find_disk(session_p3, "iqn.2004-01.org.example:other", 0, &c), 1);
	ASSERT_STREQ(c, "sdb");
	/* LUN 2 is there, its disk not yet. */
	ASSERT_EQ(bs_iscsi_find_disk(session_p3, "iqn.2004-01.org.example:backup", 2, &x), 0);
	ASSERT_EQ(bs_iscsi_find_disk(session_p3, "iqn.2004-01.org.example:back", 0, &x), 0);
	ASSERT_EQ(bs_iscsi_find_disk("iscsiadm: No active sessions.\n", "iqn.x", 0, &x), 0);
	ASSERT_NULL(x);
}

/* ---- the drivers, through the executor and the recorder ----------------------------------- */

/* ps1: RAID6 from four disks, assembled by uuid in mdadm's form; then the VG is checked and
 * only the LVs the plan needs are activated. */
TEST(driver_commands_up)
{
	_cleanup_free_ char *root = fixture_with_record("ps1-raid6-lvm-crypt");
	const char *t;
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	t = recorder_transcript(&rec);
	ASSERT_NOTNULL(strstr(t, "spawn mdadm --assemble /dev/md/sys "
				 "--uuid=f278e03c:a31aa7bd:a0e88e06:eaa17cd6 /dev/vda /dev/vdb "
				 "/dev/vdc /dev/vdd\n"));
	ASSERT_NOTNULL(strstr(t, "spawn lvm vgs --reportformat json -o "
				 "vg_name,pv_count,vg_missing_pv_count vg0\n"));
	ASSERT_NOTNULL(strstr(t, "spawn lvm lvchange -ay -K vg0/root\n"));
	ASSERT_NULL(strstr(t, "vgchange"));
	ASSERT_NULL(strstr(t, "--run"));
	ASSERT_NULL(strstr(run.events, "DEGRADED"));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* One RAID6 member gone: started with --run and a loud warning; three gone: refused, naming
 * them. */
TEST(driver_md_degraded_and_refused)
{
	_cleanup_free_ char *root = fixture_with_record("ps1-raid6-lvm-crypt");
	const char *m;
	struct recorder rec;
	struct exec_run run;

	fixture_remove(root, "sys/class/block/vdd");
	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	recorder_fail(&rec, "wait-device", "blk:vdd", -ETIMEDOUT, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_NOTNULL(strstr(recorder_transcript(&rec),
			      "spawn mdadm --assemble /dev/md/sys "
			      "--uuid=f278e03c:a31aa7bd:a0e88e06:eaa17cd6 --run /dev/vda /dev/vdb "
			      "/dev/vdc\n"));
	ASSERT_NOTNULL(strstr(run.events, "md:sys: starting DEGRADED (raid6, 3 of 4 members) "
					  "without blk:vdd after 90 s; it survives 1 more failed "
					  "member"));
	exec_run_done(&run);
	recorder_done(&rec);

	fixture_remove(root, "sys/class/block/vdc");
	fixture_remove(root, "sys/class/block/vdb");
	recorder_init(&rec);
	rec.answers[rec.n_answers++] = RECORDER_PASSPHRASE;
	recorder_fail(&rec, "wait-device", "blk:vdb", -ETIMEDOUT, -1);
	recorder_fail(&rec, "wait-device", "blk:vdc", -ETIMEDOUT, -1);
	recorder_fail(&rec, "wait-device", "blk:vdd", -ETIMEDOUT, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_TRUE(run.r < 0);
	ASSERT_NULL(strstr(recorder_transcript(&rec), "mdadm --assemble"));
	m = exec_run_message(&run, "md-assemble", "md:sys");
	ASSERT_NOTNULL(m);
	ASSERT_NOTNULL(strstr(m, "3 of 4 members missing"));
	ASSERT_NOTNULL(strstr(m, "blk:vdb, blk:vdc, blk:vdd"));
	ASSERT_NOTNULL(strstr(m, "raid6 needs at least 2"));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* mdadm fails: the step says which command and what to check. */
TEST(driver_md_assemble_fails)
{
	_cleanup_free_ char *root = fixture_with_record("ps1-raid6-lvm-crypt");
	const char *m;
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	recorder_fail(&rec, "spawn", "mdadm --assemble", -EPROTO, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_EQ(run.r, -EPROTO);
	m = exec_run_message(&run, "md-assemble", "md:sys");
	ASSERT_NOTNULL(m);
	ASSERT_NOTNULL(strstr(m, "'mdadm --assemble /dev/md/sys' failed"));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* nbd and iscsi from stack.conf: nbd-client with the device, the export and the options;
 * iscsiadm's record, login, and the LUN's disk looked for until the uevent wait times out. */
TEST(driver_network_commands)
{
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-disks");
	const char *t, *m;
	struct recorder rec;
	struct exec_run run;

	test_write_file(
		root, "etc/blkstack/stack.conf",
		"nbd nbd0 storage.example:10810 vm-disk ro,timeout=1min,connections=2\n"
		"nbd vm [2001:db8::1]\n"
		"iscsi backup iqn.2004-01.org.example:backup 192.0.2.10 lun=1,iface=eth1\n");
	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP,
		 .targets = (const char *const[]){ "blk:nbd0", "nbd:vm", "iscsi:backup", NULL },
		 .ops = recorder_ops(), .ops_data = &rec);
	t = recorder_transcript(&rec);
	/* net:online first: a route to each server, once each, within the one timeout. */
	ASSERT_NOTNULL(strstr(t, "wait-route storage.example timeout=90s\n"
				 "wait-route 192.0.2.10 timeout="));
	ASSERT_NOTNULL(strstr(t, "\nwait-route 2001:db8::1 timeout="));
	ASSERT_NULL(strstr(t, "wait-route (default)"));
	ASSERT_TRUE(strstr(t, "wait-route 192.0.2.10") < strstr(t, "spawn nbd-client"));
	ASSERT_NOTNULL(strstr(t, "spawn nbd-client storage.example 10810 /dev/nbd0 --name vm-disk "
				 "--readonly --connections 2 --timeout 60\n"));
	ASSERT_EQ(exec_run_status(&run, "nbd-connect", "blk:nbd0"), (int)BS_EXEC_DONE);
	/* The kernel picks the device; the recorder's nbd-client does not say which. */
	ASSERT_NOTNULL(strstr(t, "spawn nbd-client 2001:db8::1 10809\n"));
	m = exec_run_message(&run, "nbd-connect", "nbd:vm");
	ASSERT_NOTNULL(m);
	ASSERT_NOTNULL(strstr(m, "did not say which device"));

	ASSERT_NOTNULL(strstr(t, "spawn iscsiadm -m node -T iqn.2004-01.org.example:backup -p "
				 "192.0.2.10:3260 -I eth1\n"
				 "spawn iscsiadm -m node -T iqn.2004-01.org.example:backup -p "
				 "192.0.2.10:3260 -I eth1 --login\n"
				 "spawn iscsiadm -m session -P 3\n"
				 "wait-uevent timeout="));
	ASSERT_NOTNULL(strstr(strstr(t, "wait-uevent"), "\nspawn iscsiadm -m session -P 3\n"));
	m = exec_run_message(&run, "iscsi-login", "iscsi:backup");
	ASSERT_NOTNULL(m);
	ASSERT_NOTNULL(strstr(m, "no disk of LUN 1 appeared within 90 s"));
	exec_run_done(&run);
	recorder_done(&rec);

	/* iscsiadm has no record of the target: one is added, then logged in to. */
	recorder_init(&rec);
	recorder_fail(&rec, "spawn", "iscsiadm -m node", -EPROTO, 1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP,
		 .targets = (const char *const[]){ "iscsi:backup", NULL }, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_NOTNULL(strstr(recorder_transcript(&rec),
			      "spawn iscsiadm -m node -T iqn.2004-01.org.example:backup -p "
			      "192.0.2.10:3260 -I eth1 -> EPROTO\n"
			      "spawn iscsiadm -m node -T iqn.2004-01.org.example:backup -p "
			      "192.0.2.10:3260 -I eth1 -o new\n"
			      "spawn iscsiadm -m node -T iqn.2004-01.org.example:backup -p "
			      "192.0.2.10:3260 -I eth1 --login\n"));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* A server with no route: its layer is not started, and the message names the server, the
 * layer, and what to do; only the layers the run brings up count. */
TEST(network_waits_for_a_route_to_the_server)
{
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-disks");
	const char *t, *m;
	struct recorder rec;
	struct exec_run run;

	test_write_file(root, "etc/blkstack/stack.conf",
			"nbd nbd0 10.1.1.1 root-disk\n"
			"nbd nbd1 storage.example vm-disk noauto\n"
			"timeout net:online 7\n");
	recorder_init(&rec);
	recorder_fail(&rec, "wait-route", "10.1.1.1", -ETIMEDOUT, 1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP,
		 .targets = (const char *const[]){ "blk:nbd0", NULL }, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_TRUE(run.r < 0);
	t = recorder_transcript(&rec);
	ASSERT_STREQ(t, "wait-route 10.1.1.1 timeout=7s -> ETIMEDOUT\n");
	m = exec_run_message(&run, "wait-network", "net:online");
	ASSERT_NOTNULL(m);
	ASSERT_NOTNULL(strstr(m, "no route to '10.1.1.1' (the server of blk:nbd0) after 7s"));
	ASSERT_NOTNULL(strstr(m, "'timeout net:online SECONDS' in stack.conf"));
	exec_run_done(&run);
	recorder_done(&rec);

	recorder_init(&rec);
	recorder_fail(&rec, "wait-route", "storage.example", -ENXIO, 1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP,
		 .targets = (const char *const[]){ "blk:nbd1", NULL }, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_TRUE(run.r < 0);
	m = exec_run_message(&run, "wait-network", "net:online");
	ASSERT_NOTNULL(m);
	ASSERT_NOTNULL(strstr(m, "the server 'storage.example' of blk:nbd1 does not resolve"));
	ASSERT_NULL(strstr(recorder_transcript(&rec), "nbd-client"));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* Below root, nbd-client is a root-storage daemon ("@", kept through the kill phase) that
 * reconnects (--persist); elsewhere it is neither. */
TEST(nbd_below_root_is_a_root_storage_daemon)
{
	_cleanup_free_ char *root = test_fixture_copy("lvm-swap-loop-disks");
	struct recorder rec;
	struct exec_run run;
	const char *t;

	test_write_file(root, "etc/blkstack/stack.conf",
			"nbd nbd0 10.1.1.1 root-disk\n"
			"nbd nbd1 10.1.1.1 data-disk\n");
	test_write_file(root, "etc/fstab",
			"/dev/nbd0 / ext4 defaults 0 1\n"
			"/dev/nbd1 /srv ext4 defaults 0 2\n");
	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP,
		 .targets = (const char *const[]){ "blk:nbd0", "blk:nbd1", NULL },
		 .ops = recorder_ops(), .ops_data = &rec);
	t = recorder_transcript(&rec);
	ASSERT_NOTNULL(strstr(t, "spawn @nbd-client 10.1.1.1 10809 /dev/nbd0 --name root-disk "
				 "--persist\n"));
	ASSERT_NOTNULL(strstr(t, "spawn nbd-client 10.1.1.1 10809 /dev/nbd1 --name data-disk\n"));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* The real wait, in a network namespace of our own where only the loopback exists. */
TEST(real_wait_route_follows_the_kernel)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		SKIP("cannot make a user and network namespace (%s): the route wait needs one "
		     "to run unprivileged",
		     strerror(errno));
	/* lo down: not even 127.0.0.1 has a route; no default route either. */
	ASSERT_EQ(bs_real_wait_route(NULL, "127.0.0.1", 0), -ETIMEDOUT);
	ASSERT_EQ(bs_real_wait_route(NULL, NULL, 0), -ETIMEDOUT);
	ASSERT_EQ(bs_real_wait_route(NULL, "no-such-host.invalid", 0), -ENXIO);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ASSERT_EQ(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
	ASSERT_EQ(bs_real_wait_route(NULL, "127.0.0.1", 1000000), 0);
	ASSERT_EQ(bs_real_wait_route(NULL, "localhost", 1000000), 0);
	/* lo up gives no default route. */
	ASSERT_EQ(bs_real_wait_route(NULL, NULL, 0), -ETIMEDOUT);
}

/* The kind table is complete: every kind has an entry, every action a name that reads back,
 * and every action a kind names has a driver. */
TEST(kind_table_names_a_driver_for_every_action)
{
	for (int a = BS_ACTION_NONE + 1; a < _BS_ACTION_MAX; a++) {
		ASSERT_NOTNULL(bs_action_to_string(a));
		ASSERT_EQ(bs_action_from_string(bs_action_to_string(a)), a);
	}
	ASSERT_NULL(bs_action_to_string(BS_ACTION_NONE));
	ASSERT_EQ(bs_action_from_string("no-such-action"), _BS_ACTION_INVALID);

	for (int k = 0; k < _BS_NODE_KIND_MAX; k++) {
		const struct bs_kind *kind = bs_kind_get(k);

		ASSERT_NOTNULL(kind);
		if (kind->up != BS_ACTION_NONE)
			ASSERT_NOTNULL(bs_layer_find_action(kind->up, NULL));
		if (kind->down != BS_ACTION_NONE)
			ASSERT_NOTNULL(bs_layer_find_action(kind->down, NULL));
		if (kind->keep_root != BS_ACTION_NONE)
			ASSERT_NOTNULL(bs_layer_find_action(kind->keep_root, NULL));
	}
	ASSERT_NULL(bs_kind_get(_BS_NODE_KIND_MAX));
}

/* "Is this device busy" is an op, so a test scripts it: mdadm --stop fails and the array is
 * held open, and the step is busy (not failed) and retried; without a holder it is a plain
 * failure of the tool. */
TEST(driver_md_stop_busy_is_scripted_through_the_ops)
{
	_cleanup_free_ char *root = test_fixture("rootless-ps1-raid6-lvm-crypt-assembled");
	struct recorder rec;
	struct exec_run run;
	const char *m;

	recorder_init(&rec);
	recorder_fail(&rec, "spawn", "mdadm --stop", -EPROTO, -1);
	recorder_fail(&rec, "device-busy", "/dev/md127", -EBUSY, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(run.r, -EBUSY);
	ASSERT_EQ(exec_run_status(&run, "md-stop", "md:sys"), BS_EXEC_BUSY);
	m = exec_run_message(&run, "md-stop", "md:sys");
	ASSERT_NOTNULL(m);
	/* The last pass names what holds it, once ("held by", not "held by: held by"). */
	ASSERT_STREQ(m, "still open: held by vg:vg0");
	ASSERT_NOTNULL(strstr(recorder_transcript(&rec), "device-busy /dev/md127 -> EBUSY"));
	exec_run_done(&run);
	recorder_done(&rec);

	recorder_init(&rec);
	recorder_fail(&rec, "spawn", "mdadm --stop", -EPROTO, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(exec_run_status(&run, "md-stop", "md:sys"), BS_EXEC_FAILED);
	exec_run_done(&run);
	recorder_done(&rec);
}

/* ---- drbd -------------------------------------------------------------------------------- */

/* A system in the test's directory with the disk vdb under DRBD resource r0 (stack.conf's
 * line conf), /dev/drbd0 in fstab at /srv, and a default route. up: drbd0 is there, holding
 * vdb, and mounted. */
static char *drbd_root(bool up, const char *conf)
{
	char *root = strdup(test_tmpdir());

	ASSERT_NOTNULL(root);
	test_write_file(root, "sys/devices/virtual/block/vdb/dev", "254:16\n");
	test_write_file(root, "sys/devices/virtual/block/vdb/size", "16384\n");
	test_symlink(root, "sys/class/block/vdb", "../../devices/virtual/block/vdb");
	test_write_file(root, "proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
	test_write_file(root, "etc/fstab", "/dev/drbd0 /srv ext4 defaults 0 2\n");
	if (conf)
		test_write_file(root, "etc/blkstack/stack.conf", conf);
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

/* The index of step ACTION NODE in p; fails the test if there is none. */
static size_t plan_step(const struct bs_plan *p, const char *action, const char *node)
{
	for (size_t i = 0; i < bs_plan_get_n_steps(p); i++)
		if (streq(bs_plan_get_step_action(p, i), action) &&
		    streq(bs_node_get_id(bs_plan_get_step_node(p, i)), node))
			return i;
	test_fail(TEST_FILE, __LINE__, "no step %s %s", action, node);
}

static bool step_waits_for(const struct bs_plan *p, size_t i, size_t j)
{
	for (size_t k = 0; k < bs_plan_get_step_n_after(p, i); k++)
		if (bs_plan_get_step_after(p, i, k) == j)
			return true;
	return false;
}

/* up --all: the network, then the resource (up and promoted), then the mount on it. */
TEST(drbd_up_after_the_network_before_its_mount)
{
	_cleanup_free_ char *root =
		drbd_root(false, "drbd r0 device=/dev/drbd0,disk=/dev/vdb,primary\n");
	struct bs_ctx *c = ctx_on_sysroot(root, NULL);
	struct bs_graph *g = NULL;
	struct bs_plan *p = NULL;
	size_t net, up, mount;
	const char *t, *ev;
	struct recorder rec;
	struct exec_run run;

	ASSERT_OK(bs_graph_load(c, NULL, &g, NULL));
	ASSERT_OK(bs_plan_new(g, BS_PLAN_UP, NULL, 0, &p));
	ASSERT_EQ(bs_plan_get_n_steps(p), 3);
	net = plan_step(p, "wait-network", "net:online");
	up = plan_step(p, "drbd-up", "drbd:r0");
	mount = plan_step(p, "mount", "mnt:/srv");
	ASSERT_TRUE(step_waits_for(p, up, net));
	ASSERT_TRUE(step_waits_for(p, mount, up));
	bs_plan_unref(p);
	bs_graph_unref(g);
	bs_ctx_unref(c);

	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_EQ(run.r, 0);
	t = recorder_transcript(&rec);
	ASSERT_CONTAINS(t, "spawn drbdadm up r0\n"
			   "spawn drbdadm primary r0\n"
			   "mount /dev/drbd0 /srv ext4 flags=0 data=-\n");
	ev = strstr(run.events, "done wait-network net:online\n");
	ASSERT_NOTNULL(ev);
	ASSERT_NOTNULL(strstr(ev, "start drbd-up drbd:r0\n"));
	ASSERT_EQ(exec_run_status(&run, "drbd-up", "drbd:r0"), (int)BS_EXEC_DONE);
	exec_run_done(&run);
	recorder_done(&rec);
}

/* Without 'primary' it stays Secondary; noauto leaves it to a named target. */
TEST(drbd_up_secondary_and_noauto)
{
	_cleanup_free_ char *root = drbd_root(false, "drbd r0 minor=0\n");
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP,
		 .targets = (const char *const[]){ "drbd:r0", NULL }, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(run.r, 0);
	/* drbd names no server here: a default route is what it waits for. */
	ASSERT_STREQ(recorder_transcript(&rec), "wait-route (default) timeout=90s\n"
						"spawn drbdadm up r0\n");
	exec_run_done(&run);
	recorder_done(&rec);

	test_write_file(root, "etc/blkstack/stack.conf", "drbd r0 minor=0,noauto\n");
	test_write_file(root, "etc/fstab", "");
	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_EQ(run.r, 0);
	ASSERT_NULL(strstr(recorder_transcript(&rec), "drbdadm"));
	exec_run_done(&run);
	recorder_done(&rec);
}

/* down --all: the mount, then secondary and down. */
TEST(drbd_down_after_its_mount)
{
	_cleanup_free_ char *root = drbd_root(true, "drbd r0 device=/dev/drbd0,primary\n");
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(run.r, 0);
	ASSERT_CONTAINS(recorder_transcript(&rec), "umount /srv flags=0\n"
						   "spawn drbdadm secondary r0\n"
						   "spawn drbdadm down r0\n");
	ASSERT_EQ(exec_run_status(&run, "drbd-down", "drbd:r0"), (int)BS_EXEC_DONE);
	exec_run_done(&run);
	recorder_done(&rec);
}

TEST(drbd_missing_drbdadm_is_named)
{
	_cleanup_free_ char *root = drbd_root(false, "drbd r0 device=/dev/drbd0\n");
	struct recorder rec;
	struct exec_run run;
	const char *m;

	recorder_init(&rec);
	recorder_fail(&rec, "spawn", "drbdadm", -ENOENT, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_ERR(run.r, -ENOENT);
	m = exec_run_message(&run, "drbd-up", "drbd:r0");
	ASSERT_NOTNULL(m);
	ASSERT_STREQ(m, "'drbdadm' is not installed (not found in PATH); drbd-up of 'drbd:r0' "
			"needs it");
	ASSERT_EQ(exec_run_status(&run, "mount", "mnt:/srv"), (int)BS_EXEC_SKIPPED);
	exec_run_done(&run);
	recorder_done(&rec);

	/* drbdadm fails: which command, and what to check. */
	recorder_init(&rec);
	recorder_fail(&rec, "spawn", "drbdadm up", -EPROTO, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_UP, .ops = recorder_ops(), .ops_data = &rec);
	ASSERT_CONTAINS(exec_run_message(&run, "drbd-up", "drbd:r0"),
			"'drbdadm up r0' failed (see its message)");
	exec_run_done(&run);
	recorder_done(&rec);
}

/* Held open: secondary refuses, and the step is busy (retried, then reported), not failed;
 * refused without a holder, it is the tool's failure. */
TEST(drbd_down_busy_is_busy)
{
	_cleanup_free_ char *root = drbd_root(true, "drbd r0 device=/dev/drbd0,primary\n");
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	recorder_fail(&rec, "spawn", "drbdadm secondary", -EPROTO, -1);
	recorder_fail(&rec, "device-busy", "/dev/drbd0", -EBUSY, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN,
		 .targets = (const char *const[]){ "drbd:r0", NULL }, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_ERR(run.r, -EBUSY);
	ASSERT_EQ(exec_run_status(&run, "drbd-down", "drbd:r0"), (int)BS_EXEC_BUSY);
	ASSERT_CONTAINS(recorder_transcript(&rec), "device-busy /dev/drbd0 -> EBUSY");
	ASSERT_NULL(strstr(recorder_transcript(&rec), "drbdadm down"));
	exec_run_done(&run);
	recorder_done(&rec);

	recorder_init(&rec);
	recorder_fail(&rec, "spawn", "drbdadm down", -EPROTO, -1);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(exec_run_status(&run, "drbd-down", "drbd:r0"), (int)BS_EXEC_FAILED);
	ASSERT_CONTAINS(exec_run_message(&run, "drbd-down", "drbd:r0"),
			"'drbdadm down r0' failed (see its message)");
	exec_run_done(&run);
	recorder_done(&rec);
}

/* A live drbd0 that no line names: the kernel does not say its resource, so the step says
 * where to name it, and runs nothing. */
TEST(drbd_unnamed_device_says_to_name_it)
{
	_cleanup_free_ char *root = drbd_root(true, NULL);
	struct recorder rec;
	struct exec_run run;

	recorder_init(&rec);
	EXEC_RUN(&run, .sysroot = root, .op = BS_PLAN_DOWN, .ops = recorder_ops(),
		 .ops_data = &rec);
	ASSERT_EQ(exec_run_status(&run, "drbd-down", "blk:drbd0"), (int)BS_EXEC_FAILED);
	ASSERT_STREQ(exec_run_message(&run, "drbd-down", "blk:drbd0"),
		     "which DRBD resource 'blk:drbd0' is, the kernel does not say; name it in "
		     "stack.conf ('drbd RESOURCE device=/dev/drbd0')");
	ASSERT_NULL(strstr(recorder_transcript(&rec), "drbdadm"));
	exec_run_done(&run);
	recorder_done(&rec);
}
