#!/usr/bin/env python3
# Checks blkstack's block-device edges against 'lsblk --sysroot' on every fixture.
# SPDX-License-Identifier: GPL-2.0-or-later
"""
For each fixture (one test case each, named after it) this compares two views of the same
--sysroot tree:

  lsblk --sysroot DIR -J -o NAME,MAJ:MIN,TYPE
      lsblk's default tree: a device's children are its holders, so every child/parent
      pair is an edge (holder devno, needed devno);
  $BLKSTACK_CLI --sysroot DIR show --json
      edges run holder -> needs between node ids; a block-device edge is one whose two
      ends both carry a devno.

They must list the same block devices (by MAJ:MIN) and the same block-device edges, except
where the model adds edges that lsblk lacks.  Each such difference is printed as a
'  note: ...' line that names it:

  VG membership   lsblk puts an LV on the PVs it happens to use; the model has
                  lv -> vg -> pv, and the VG needs every PV (DESIGN.md "The model");
  backing file    a loop device needs the mount that holds its backing file;
  btrfs           a multi-device btrfs needs all its devices;
  mount, swap     a mount needs its device (or btrfs) and the mount it lies under; a swap
                  needs its device.

An lsblk edge that blkstack lacks (directly, or through exactly the VG of that LV), a
blkstack block-device edge that lsblk lacks, a device that only one side lists, or a device
whose lsblk TYPE contradicts its blkstack kind is a disagreement and fails the case; the
'  disagree: ...' lines print both sides.

Output and exit status follow the C harness (tests.c): 'PASS name', 'FAIL name: why',
'SKIP name: reason', then 'N passed, N failed[, N skipped]'; exit 0, 1, or 77 when all
were skipped; one 'pass|fail|skip test-lsblk/NAME [reason]' line per case appended to
$BLKSTACK_TEST_RESULTS when set.

  BLKSTACK_CLI=build/src/cli/blkstack BLKSTACK_FIXTURES=build/tests/unit/fixtures \\
      tests/unit/test-lsblk.py [FIXTURE...]

Without FIXTURE arguments every fixture directory under $BLKSTACK_FIXTURES is checked
(meson passes the names of all fixtures).  BLKSTACK_LSBLK names another lsblk to run.
"""

import json
import os
import shutil
import subprocess
import sys

PROGRAM = "test-lsblk"
EXIT_SKIP = 77
COMMAND_TIMEOUT = 120

# lsblk's TYPE column against the blkstack kinds that may carry it.  nbd, iSCSI and DRBD
# devices are plain disks to lsblk; a dm device without a CRYPT- uuid is 'dm' to lsblk,
# while blkstack may know it from crypttab as a plain crypt mapping.
LSBLK_TYPE_KINDS = {
    "disk": {"disk", "nbd", "iscsi", "drbd"},
    "part": {"part"},
    "loop": {"loop"},
    "crypt": {"crypt"},
    "lvm": {"lv"},
    "mpath": {"mpath"},
    "dm": {"dm", "crypt"},
    "md": {"md"},
    "linear": {"md"},
}

# RAM disks: lsblk leaves them out unless told otherwise with -e/-I.
RAM_DISK_MAJOR = "1"


class Skip(Exception):
    pass


class Broken(Exception):
    """The case cannot be compared at all (a command failed, output unreadable)."""


def command_environment():
    env = {k: v for k, v in os.environ.items() if k != "BLKSTACK_DEBUG"}
    env["LC_ALL"] = "C"
    return env


def run(argv):
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           env=command_environment(), timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Broken(f"'{' '.join(argv)}' did not finish within {COMMAND_TIMEOUT}s")
    except OSError as e:
        raise Broken(f"cannot run '{argv[0]}': {e.strerror}")
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def one_line(text):
    return " ".join(text.split())


# ---- lsblk ---------------------------------------------------------------------------------

def find_lsblk():
    """Returns the lsblk to use, or raises Skip saying why there is none."""
    override = os.environ.get("BLKSTACK_LSBLK")
    if override:
        path = shutil.which(override)
        if not path:
            raise Skip(f"BLKSTACK_LSBLK={override} is not an executable")
    else:
        path = shutil.which("lsblk")
    if not path and not override:  # the usual places, for a PATH without sbin or bin
        for d in ("/usr/bin", "/bin", "/usr/sbin", "/sbin"):
            if os.access(os.path.join(d, "lsblk"), os.X_OK):
                path = os.path.join(d, "lsblk")
                break
    if not path:
        raise Skip("lsblk is not installed (util-linux)")
    try:
        rc, out, err = run([path, "--help"])
    except Broken as e:
        raise Skip(f"lsblk does not run: {e}")
    if "--sysroot" not in out:
        raise Skip(f"{path} has no --sysroot option (util-linux 2.33 or later has it)")
    if "--json" not in out:
        raise Skip(f"{path} has no --json option (util-linux 2.27 or later has it)")
    return path


def normalize_devno(value):
    if value is None:
        return None
    s = str(value).strip()
    parts = s.split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        return None
    return f"{int(parts[0])}:{int(parts[1])}"


def devno_of_lsblk_entry(dev):
    for key, value in dev.items():
        if "".join(c for c in key.lower() if c.isalnum()) == "majmin":
            return normalize_devno(value)
    return None


def read_lsblk(lsblk, sysroot):
    """Returns (devices, edges): devices maps devno to (name, type); edges is a set of
    (holder devno, needed devno)."""
    argv = [lsblk, "--sysroot", sysroot, "-J", "-o", "NAME,MAJ:MIN,TYPE"]
    rc, out, err = run(argv)
    if rc != 0:
        raise Broken(f"lsblk failed (exit {rc}): {one_line(err) or 'no message'}")
    if not out.strip():
        # lsblk prints nothing at all when it finds no device.
        return {}, set()
    try:
        data = json.loads(out)
        top = data["blockdevices"]
    except (ValueError, KeyError, TypeError) as e:
        raise Broken(f"cannot read the output of lsblk -J: {e}")

    devices, edges = {}, set()

    def walk(dev, parent):
        if not isinstance(dev, dict):
            raise Broken(f"lsblk -J: a device is not an object: {dev!r}")
        devno = devno_of_lsblk_entry(dev)
        if devno is None:
            raise Broken(f"lsblk -J: device {dev.get('name')!r} has no usable MAJ:MIN")
        devices[devno] = (str(dev.get("name", "?")), str(dev.get("type", "?")))
        if parent is not None:
            edges.add((devno, parent))
        for child in dev.get("children") or []:
            walk(child, devno)

    for dev in top or []:
        walk(dev, None)
    return devices, edges


# ---- blkstack ------------------------------------------------------------------------------

class Graph:
    def __init__(self, data):
        if not isinstance(data, dict) or data.get("version") != 1:
            raise Broken("show --json: not a version 1 graph")
        self.nodes = {}
        for n in data.get("nodes") or []:
            if not isinstance(n, dict) or not isinstance(n.get("id"), str):
                raise Broken(f"show --json: a node without an id: {n!r}")
            if n["id"] in self.nodes:
                raise Broken(f"show --json: node {n['id']} is listed twice")
            self.nodes[n["id"]] = n
        self.edges = []
        seen = set()
        for e in data.get("edges") or []:
            try:
                edge = (e["holder"], e["needs"])
            except (KeyError, TypeError):
                raise Broken(f"show --json: an edge without holder and needs: {e!r}")
            for end in edge:
                if end not in self.nodes:
                    raise Broken(f"show --json: edge {edge[0]} -> {edge[1]} names unknown "
                                 f"node {end}")
            if edge not in seen:
                seen.add(edge)
                self.edges.append(edge)
        self.roles = {}
        for e in data.get("edges") or []:
            if e.get("role"):
                self.roles.setdefault((e["holder"], e["needs"]), e["role"])
        self.edge_set = seen
        self.by_devno = {}
        for nid, n in self.nodes.items():
            d = normalize_devno(n.get("devno"))
            if d is not None:
                self.by_devno.setdefault(d, []).append(nid)

    def devno(self, nid):
        return normalize_devno(self.nodes[nid].get("devno"))

    def kind(self, nid):
        return self.nodes[nid].get("kind")

    def needs(self, nid):
        return [b for a, b in self.edges if a == nid]

    def holders(self, nid):
        return [a for a, b in self.edges if b == nid]

    def desc(self, nid):
        d = self.devno(nid)
        return f"{nid} ({d})" if d else nid


def read_blkstack(cli, sysroot):
    rc, out, err = run([cli, "--sysroot", sysroot, "show", "--json"])
    if rc != 0:
        raise Broken(f"blkstack show --json failed (exit {rc}): {one_line(err) or 'no message'}")
    try:
        data = json.loads(out)
    except ValueError as e:
        raise Broken(f"blkstack show --json printed no valid JSON: {e}")
    return Graph(data)


# ---- comparison ----------------------------------------------------------------------------

def compare(lsblk_devices, lsblk_edges, g):
    """Returns (notes, disagreements, summary line, counts)."""
    notes, bad = [], []
    covered = set()  # blkstack edges accounted for

    def lsblk_desc(devno):
        ids = g.by_devno.get(devno)
        if ids and len(ids) == 1:
            return g.desc(ids[0])
        n, t = lsblk_devices.get(devno, ("?", "?"))
        return f"{n} ({devno}, lsblk type {t})"

    # Devices: the same set of MAJ:MIN on both sides, one node each, kinds that fit.
    for devno, ids in sorted(g.by_devno.items()):
        if len(ids) > 1:
            bad.append(f"devno {devno} belongs to {len(ids)} blkstack nodes: {', '.join(ids)}")
    for devno in sorted(set(lsblk_devices) - set(g.by_devno)):
        n, t = lsblk_devices[devno]
        bad.append(f"lsblk lists {n} ({devno}, type {t}); blkstack has no node with devno "
                   f"{devno}")
    for devno in sorted(set(g.by_devno) - set(lsblk_devices)):
        ids = ", ".join(g.by_devno[devno])
        if devno.split(":")[0] == RAM_DISK_MAJOR:
            notes.append(f"RAM disk: blkstack has {ids} ({devno}); lsblk leaves RAM disks "
                         "out by default")
        else:
            bad.append(f"blkstack has {ids} ({devno}); lsblk does not list {devno}")
    for devno in sorted(set(lsblk_devices) & set(g.by_devno)):
        n, t = lsblk_devices[devno]
        for nid in g.by_devno[devno]:
            kind = g.kind(nid)
            allowed = LSBLK_TYPE_KINDS.get(t)
            if allowed is None and (t.startswith("raid") or t.startswith("md")):
                allowed = {"md"}
            if allowed is None:
                notes.append(f"type not checked: lsblk type '{t}' of {n} ({devno}) has no "
                             f"known blkstack kind; blkstack says {nid} is '{kind}'")
            elif kind not in allowed:
                bad.append(f"lsblk says {n} ({devno}) is a '{t}'; blkstack says {nid} is "
                           f"a '{kind}'")

    def one_node(devno):
        ids = g.by_devno.get(devno) or []
        return ids[0] if len(ids) == 1 else None

    # lsblk's edges: each must be a blkstack edge, or lv -> vg -> pv through the LV's VG.
    equal = via_vg = 0
    lsblk_pairs_by_ids = set()
    for h, n in sorted(lsblk_edges):
        hid, nid = one_node(h), one_node(n)
        if hid is None or nid is None:
            bad.append(f"lsblk has {lsblk_desc(h)} on {lsblk_desc(n)}; blkstack cannot say, "
                       f"it has no single node for "
                       f"{' and '.join(d for d, i in ((h, hid), (n, nid)) if i is None)}")
            continue
        lsblk_pairs_by_ids.add((hid, nid))
        if (hid, nid) in g.edge_set:
            covered.add((hid, nid))
            equal += 1
            continue
        vgs = [v for v in g.needs(hid) if g.kind(v) == "vg"]
        if g.kind(hid) == "lv" and len(vgs) == 1 and (vgs[0], nid) in g.edge_set:
            vg = vgs[0]
            covered.update({(hid, vg), (vg, nid)})
            via_vg += 1
            notes.append(f"VG membership: lsblk has {g.desc(hid)} on {g.desc(nid)}; "
                         f"blkstack has {hid} -> {vg} -> {nid}")
            continue
        theirs = ", ".join(g.desc(x) for x in g.needs(hid)) or "nothing"
        why = ""
        if g.kind(hid) == "lv" and len(vgs) != 1:
            why = f" (the LV needs {len(vgs)} VGs, not exactly one)"
        elif g.kind(hid) == "lv":
            why = f" (nor does {vgs[0]} need {nid})"
        bad.append(f"lsblk has {g.desc(hid)} on {g.desc(nid)}; blkstack has no edge "
                   f"{hid} -> {nid}{why}; blkstack's {hid} needs: {theirs}")

    # blkstack's block-device edges: lsblk must have each one.
    block_edges = [(a, b) for a, b in g.edges if g.devno(a) and g.devno(b)]
    for a, b in block_edges:
        if (a, b) in lsblk_pairs_by_ids:
            continue
        covered.add((a, b))
        da, db = g.devno(a), g.devno(b)
        theirs = ", ".join(lsblk_desc(n) for h, n in sorted(lsblk_edges) if h == da) or "nothing"
        bad.append(f"blkstack has {g.desc(a)} -> {g.desc(b)}; lsblk has no edge {da} on {db}; "
                   f"lsblk puts {lsblk_desc(da)} on: {theirs}")

    # Every other blkstack edge is a model addition; name each one.
    for vg in sorted(v for v in g.nodes if g.kind(v) == "vg"):
        lvs = [h for h in g.holders(vg) if g.kind(h) == "lv"]
        active = [lv for lv in lvs if g.devno(lv)]
        for pv in g.needs(vg):
            if (vg, pv) in covered:
                continue
            covered.add((vg, pv))
            if not g.devno(pv):
                notes.append(f"VG membership: {vg} needs {g.desc(pv)}, which is not a block "
                             "device now")
            elif not active:
                notes.append(f"VG membership: {vg} needs {g.desc(pv)}, which none of its LVs "
                             f"uses (no LV of {vg} is active)")
            else:
                notes.append(f"VG membership: {vg} needs {g.desc(pv)}, which none of its LVs "
                             "uses")
        for lv in lvs:
            if (lv, vg) in covered:
                continue
            covered.add((lv, vg))
            if not g.devno(lv):
                notes.append(f"VG membership: {lv} -> {vg}; the LV is not active, so lsblk "
                             "has no device for it")
            else:
                notes.append(f"VG membership: {g.desc(lv)} -> {vg}; lsblk puts the LV on no "
                             f"PV of {vg}")

    for a, b in g.edges:
        if (a, b) in covered:
            continue
        ka, kb = g.kind(a), g.kind(b)
        role = g.roles.get((a, b))
        # The lv -> vg and vg -> pv edges were all named above.
        if ka == "loop" and kb == "mount":
            bf = g.nodes[a].get("backing_file")
            label = "backing file"
            text = f"{a} -> {b}" + (f" (holds {bf})" if bf else "")
        elif ka == "btrfs" and g.devno(b):
            label = "multi-device btrfs"
            text = f"{a} needs {g.desc(b)}"
        elif ka == "mount" and kb == "mount":
            label = "mount"
            text = f"{a} lies under {b}"
        elif ka == "mount" and (g.devno(b) or kb == "btrfs"):
            label = "mount"
            text = f"{a} on {g.desc(b)}"
        elif ka == "swap" and g.devno(b):
            label = "swap"
            text = f"{a} on {g.desc(b)}"
        else:
            label = "no model rule names this edge (not a block-device edge, not compared)"
            text = f"{g.desc(a)} -> {g.desc(b)}" + (f" (role {role})" if role else "")
        notes.append(f"{label}: {text}")

    summary = (f"lsblk: {len(lsblk_devices)} devices, {len(lsblk_edges)} edges "
               f"({equal} equal, {via_vg} through a VG); blkstack: {len(g.by_devno)} block "
               f"devices, {len(g.edges)} edges ({len(block_edges)} block-device edges); "
               f"{len(notes)} named differences, {len(bad)} disagreements")
    totals = {"lsblk_edges": len(lsblk_edges), "equal": equal, "via_vg": via_vg,
              "notes": len(notes), "bad": len(bad)}
    return notes, bad, summary, totals


# ---- harness -------------------------------------------------------------------------------

TOTALS = {}


class Results:
    def __init__(self):
        self.fd = -1
        path = os.environ.get("BLKSTACK_TEST_RESULTS")
        if path:
            try:
                self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                                  0o644)
            except OSError as e:
                print(f"{PROGRAM}: cannot open '{path}': {e.strerror}", file=sys.stderr)
                sys.exit(1)

    def record(self, word, name, reason):
        if self.fd < 0:
            return
        # As tests.c: the reason only for a skip; one write() per line.
        line = f"{word} {PROGRAM}/{name}" + (f" {reason}" if word == "skip" else "") + "\n"
        try:
            os.write(self.fd, line.encode())
        except OSError as e:
            print(f"warning: could not append to $BLKSTACK_TEST_RESULTS: {e.strerror}",
                  file=sys.stderr)


def fixture_names(fixtures, argv):
    if argv:
        return argv
    if not fixtures or not os.path.isdir(fixtures):
        return []
    return sorted(d for d in os.listdir(fixtures)
                  if os.path.isdir(os.path.join(fixtures, d, "sys")))


def run_case(name, fixtures, cli, lsblk):
    """Returns (word, reason, lines); lines are printed before the result line."""
    if isinstance(lsblk, Skip):
        return "skip", str(lsblk), []
    if not cli:
        return "skip", "BLKSTACK_CLI is not set; run through 'meson test'", []
    if not fixtures:
        return "skip", "BLKSTACK_FIXTURES is not set; run through 'meson test'", []
    sysroot = os.path.abspath(os.path.join(fixtures, name))
    if not os.path.isdir(os.path.join(sysroot, "sys")):
        return "fail", f"fixture not unpacked: {sysroot}/sys does not exist", []
    try:
        devices, edges = read_lsblk(lsblk, sysroot)
        graph = read_blkstack(cli, sysroot)
    except Broken as e:
        return "fail", str(e), []
    notes, bad, summary, counts = compare(devices, edges, graph)
    for k, v in counts.items():
        TOTALS[k] = TOTALS.get(k, 0) + v
    lines = [f"  note: {n}" for n in notes] + [f"  disagree: {b}" for b in bad]
    lines.append(f"  summary: {summary}")
    if bad:
        s = "" if len(bad) == 1 else "s"
        return "fail", f"{len(bad)} disagreement{s} with lsblk: " + "; ".join(bad), lines
    return "pass", None, lines


def main(argv):
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip())
        return 0
    fixtures = os.environ.get("BLKSTACK_FIXTURES")
    cli = os.environ.get("BLKSTACK_CLI")
    try:
        lsblk = find_lsblk()
    except Skip as e:
        lsblk = e

    results = Results()
    passed = failed = skipped = 0
    for name in fixture_names(fixtures, argv):
        try:
            word, reason, lines = run_case(name, fixtures, cli, lsblk)
        except Exception as e:  # a bug here fails the case, not the whole run
            word, reason, lines = "fail", f"test-lsblk.py: {type(e).__name__}: {e}", []
        reason = one_line(reason) if reason else reason
        for line in lines:
            print(line)
        if word == "pass":
            print(f"PASS {name}")
            passed += 1
        elif word == "skip":
            print(f"SKIP {name}: {reason}")
            skipped += 1
        else:
            print(f"FAIL {name}: {reason}")
            failed += 1
        sys.stdout.flush()
        results.record(word, name, reason)

    if TOTALS:
        print(f"  total: {TOTALS['lsblk_edges']} lsblk edges over the fixtures compared: "
              f"{TOTALS['equal']} equal in blkstack, {TOTALS['via_vg']} through a VG; "
              f"{TOTALS['notes']} differences named, {TOTALS['bad']} disagreements")
    if skipped:
        print(f"{passed} passed, {failed} failed, {skipped} skipped")
    else:
        print(f"{passed} passed, {failed} failed")
    if failed:
        return 1
    if not passed:
        return EXIT_SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
