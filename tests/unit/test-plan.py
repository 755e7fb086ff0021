#!/usr/bin/env python3
# An independent checker of 'blkstack plan' on every fixture, in all three output formats.
# SPDX-License-Identifier: GPL-2.0-or-later
"""
For each fixture this runs the plans that matter for its state and checks them against the
graph that 'blkstack show --json' prints for the same sysroot, with rules written here from
DESIGN.md, not taken from the planner's code:

  assembled fixtures   plan down --all --keep-root, plan down --all
  disks fixtures       plan up --all, and plan up / where the recipe has a root; each once
                       without and once with the graph recorded from the assembled fixture
                       of the same recipe (var/lib/blkstack/graph.json)

Every plan is read three times, from --json, from the text and from --dot, and the three
must say the same steps, nodes, actions and dependencies.  Then:

  order     each step comes after the steps of everything it depends on: for up, the
            nodes it needs, transitively; for down, its holders, transitively;
  content   up: exactly the nodes below the targets that are not open, each with the
            action of its kind; down --all: every open node that has a down action;
            down --keep-root: nothing in or below the root set (/, /usr, active swap)
            but a remount-ro of its mounts, and everything else open is closed.

Output and exit status follow the C harness: 'PASS name', 'FAIL name: why', the closing
'N passed, N failed', results appended to $BLKSTACK_TEST_RESULTS.

  BLKSTACK_CLI=build/src/cli/blkstack BLKSTACK_FIXTURES=build/tests/unit/fixtures \\
      tests/unit/test-plan.py [FIXTURE...]
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROGRAM = "test-plan"

UP_ACTIONS = {
    "md": "md-assemble", "crypt": "crypt-open", "vg": "vg-activate", "lv": "lv-activate",
    "loop": "loop-attach", "btrfs": "btrfs-scan", "mount": "mount", "swap": "swapon",
    "nbd": "nbd-connect", "iscsi": "iscsi-login", "drbd": "drbd-up", "network": "wait-network",
}
DOWN_ACTIONS = {
    "mount": "umount", "swap": "swapoff", "lv": "lv-deactivate", "vg": "vg-deactivate",
    "crypt": "crypt-close", "md": "md-stop", "loop": "loop-detach", "nbd": "nbd-disconnect",
    "iscsi": "iscsi-logout", "drbd": "drbd-down",
}
OPEN = ("active", "mounted")


def run(cli, sysroot, *args):
    p = subprocess.run([cli, "--sysroot", sysroot, *args], capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        raise RuntimeError("blkstack %s exited %d: %s" % (" ".join(args), p.returncode,
                                                          p.stderr.strip()))
    return p.stdout


def parse_json(text):
    d = json.loads(text)
    return {s["id"]: (s["action"], s["node"], tuple(sorted(s["after"]))) for s in d["steps"]}


def parse_text(text):
    steps = {}
    for line in text.splitlines():
        m = re.match(r"^\s+(\d+)\s+(\S+)\s+(\S+)(?:\s+after\s+([\d,]+))?\s*$", line)
        if m:
            after = tuple(sorted(int(x) for x in m.group(4).split(","))) if m.group(4) else ()
            steps[int(m.group(1))] = (m.group(2), m.group(3), after)
    return steps


def parse_dot(text):
    steps, after = {}, {}
    for m in re.finditer(r'^\ts(\d+) \[label="(\d+) (\S+)\\n(.*)"\];$', text, re.M):
        steps[int(m.group(1))] = (m.group(3), m.group(4).replace('\\"', '"'))
    for m in re.finditer(r"^\ts(\d+) -> s(\d+);$", text, re.M):
        after.setdefault(int(m.group(2)), []).append(int(m.group(1)))
    return {i: (a, n, tuple(sorted(after.get(i, ())))) for i, (a, n) in steps.items()}


def closure(start, neighbours):
    seen, stack = set(), list(start)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(neighbours.get(n, ()))
    return seen


def check_plan(graph, op, targets, keep_root, steps):
    """Returns a list of problems with the plan, per the rules in the docstring."""
    problems = []
    nodes = {n["id"]: n for n in graph["nodes"]}
    needs, holders = {}, {}
    for e in graph["edges"]:
        needs.setdefault(e["holder"], []).append(e["needs"])
        holders.setdefault(e["needs"], []).append(e["holder"])

    by_node = {}
    for i, (action, node, after) in steps.items():
        if node not in nodes:
            problems.append("step %d is on '%s', which the graph has not" % (i, node))
        if node in by_node:
            problems.append("two steps on '%s'" % node)
        by_node[node] = i
        for a in after:
            if a not in steps:
                problems.append("step %d waits for step %d, which does not exist" % (i, a))
    if problems:
        return problems

    # Which steps finish before which: the transitive closure of 'after'.
    before = {i: closure(list(steps[i][2]), {j: steps[j][2] for j in steps}) for i in steps}
    for i in steps:
        if i in before[i]:
            problems.append("step %d waits for itself through a cycle" % i)

    # Order: what a step depends on in the graph must have finished first.
    deps_of = needs if op == "up" else holders
    for node, i in by_node.items():
        for other in closure(deps_of.get(node, []), deps_of) - {node}:
            j = by_node.get(other)
            if j is not None and j not in before[i]:
                problems.append("step %d (%s %s) does not wait for step %d (%s %s)" %
                                (i, steps[i][0], node, j, steps[j][0], other))

    # Content.
    if op == "up":
        below = closure(targets, needs)
        want = {}
        for n in below:
            kind, state = nodes[n]["kind"], nodes[n]["state"]
            if kind in ("disk", "part", "dm", "mpath"):
                if state == "absent":
                    want[n] = "wait-device"
            elif state not in OPEN and not (kind == "mount" and state == "mounted"):
                want[n] = UP_ACTIONS[kind]
    elif targets:
        # The closure above the targets, then every layer whose holders all go (a mount or
        # swap never goes that way), minus what a holder that stays still needs.
        going = closure(targets, holders)
        changed = True
        while changed:
            changed = False
            for n, node in nodes.items():
                hs = holders.get(n, [])
                if (n not in going and node["state"] in OPEN and hs and
                        node["kind"] in DOWN_ACTIONS and node["kind"] not in ("mount", "swap") and
                        all(h in going for h in hs)):
                    going.add(n)
                    changed = True
        changed = True
        while changed:
            changed = False
            for n in list(going):
                if any(h not in going and nodes[h]["state"] in OPEN for h in holders.get(n, [])):
                    going.discard(n)
                    changed = True
        want = {n: DOWN_ACTIONS[nodes[n]["kind"]] for n in going
                if nodes[n]["state"] in OPEN and nodes[n]["kind"] in DOWN_ACTIONS}
    else:
        root_set = set()
        if keep_root:
            tops = [n for n in ("mnt:/", "mnt:/usr") if n in nodes and
                    nodes[n]["state"] == "mounted"]
            tops += [n for n in nodes if nodes[n]["kind"] == "swap" and
                     nodes[n]["state"] == "active"]
            root_set = closure(tops, needs)
        want = {}
        for n, node in nodes.items():
            if node["state"] not in OPEN:
                continue
            if n in root_set:
                if node["kind"] == "mount":
                    want[n] = "remount-ro"
            elif node["kind"] in DOWN_ACTIONS:
                want[n] = DOWN_ACTIONS[node["kind"]]
    got = {node: steps[i][0] for node, i in by_node.items()}
    for n in sorted(set(want) | set(got)):
        if want.get(n) != got.get(n):
            problems.append("'%s': expected %s, the plan has %s" %
                            (n, want.get(n, "no step"), got.get(n, "no step")))
    return problems


def plan_case(cli, sysroot, op, targets, keep_root):
    args = ["plan", op] + (targets if targets else ["--all"]) + (["--keep-root"] if keep_root else [])
    graph = json.loads(run(cli, sysroot, "show", "--json"))
    forms = {
        "json": parse_json(run(cli, sysroot, *args, "--json")),
        "text": parse_text(run(cli, sysroot, *args)),
        "dot": parse_dot(run(cli, sysroot, *args, "--dot")),
    }
    problems = []
    for name in ("text", "dot"):
        if forms[name] != forms["json"]:
            problems.append("--%s and the JSON disagree: %s against %s" %
                            (name, sorted(forms[name].items()), sorted(forms["json"].items())))
    if targets is None:
        if op == "up":
            have_config = any("config" in n["sources"] for n in graph["nodes"])
            targets = [n["id"] for n in graph["nodes"]
                       if (("config" in n["sources"] and n["kind"] in
                            ("mount", "swap", "crypt", "md", "loop", "nbd", "iscsi", "drbd")
                            and "noauto" not in (n.get("options") or "").split(","))
                           if have_config else n["kind"] in ("mount", "swap"))]
        else:
            targets = []
    else:
        targets = ["mnt:" + t if t.startswith("/") else t for t in targets]
    problems += check_plan(graph, op, targets, keep_root, forms["json"])
    return " ".join(args), problems, len(forms["json"])


def record(cli, assembled, sysroot):
    dest = os.path.join(sysroot, "var", "lib", "blkstack", "graph.json")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    run(cli, assembled, "record", "--output", dest)


def main():
    cli = os.environ.get("BLKSTACK_CLI")
    fixtures = os.environ.get("BLKSTACK_FIXTURES")
    results = os.environ.get("BLKSTACK_TEST_RESULTS")
    names = sys.argv[1:] or sorted(os.listdir(fixtures))
    passed = failed = 0

    def report(name, ok, why=""):
        nonlocal passed, failed
        print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)), flush=True)
        if ok:
            passed += 1
        else:
            failed += 1
        if results:
            with open(results, "a") as f:
                f.write("%s %s/%s\n" % ("pass" if ok else "fail", PROGRAM, name))

    has_record = subprocess.run([cli, "record", "--help"], capture_output=True).returncode == 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            fixture = os.path.join(fixtures, name)
            cases = []
            if name.endswith("-assembled"):
                cases = [(fixture, "down", None, True), (fixture, "down", None, False)]
                # Each mount but /, and each LV, taken down on its own.
                graph = json.loads(run(cli, fixture, "show", "--json"))
                for n in graph["nodes"]:
                    if n["state"] in OPEN and n["kind"] in ("mount", "lv") and n["id"] != "mnt:/":
                        cases.append((fixture, "down", [n["id"]], False))
            else:
                recorded = os.path.join(tmp, name + "+recorded")
                assembled = os.path.join(fixtures, name[:-len("-disks")] + "-assembled")
                has_root = not name.startswith("rootless-")
                for root in ([fixture] + ([recorded] if has_record else [])):
                    if root == recorded:
                        shutil.copytree(fixture, recorded, symlinks=True)
                        record(cli, assembled, recorded)
                    cases.append((root, "up", None, False))
                    if has_root:
                        cases.append((root, "up", ["/"], False))
            for sysroot, op, targets, keep_root in cases:
                label = "%s%s" % (name, "+recorded" if sysroot.endswith("+recorded") else "")
                try:
                    what, problems, n = plan_case(cli, sysroot, op, targets, keep_root)
                except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
                    report("%s: plan %s" % (label, op), False, str(e))
                    continue
                case = "%s: %s" % (label, what)
                if problems:
                    report(case, False, "; ".join(problems))
                else:
                    print("  %s: %d steps, order and content as the graph says" % (case, n))
                    report(case, True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
