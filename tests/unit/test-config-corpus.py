#!/usr/bin/env python3
# The configuration corpus (tests/config-corpus/) read by blkstack as its peers read it.
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Each file of tests/config-corpus/KIND/ (KIND: fstab, crypttab, mdadm) is one configuration
file as fstab(5), crypttab(5) (Debian's and systemd's) or mdadm.conf(5) describe them. It
starts with a comment saying what the man page expects of it, and a line

  # expect: ok                  no problem
  # expect: warnings [LINE...]  warnings only (on exactly these lines, if given)
  # expect: error LINE...       errors on exactly these lines (warnings may come too)

For each file this builds a bare sysroot (the file as etc/fstab, etc/crypttab or
etc/mdadm/mdadm.conf, an empty sys/class/block and run/blkid/blkid.tab, so the live sources
read nothing) and runs blkstack's check, check --json, check --strict, show --json,
plan up --all and plan down --all on it. It checks:

  - the problems of check --json against the expectation. The expectation is about syntax:
    a device that exists nowhere in a bare sysroot (kind "unresolved") is no part of it;
  - check's exit code: 3 when there is any error (the unresolved ones included), else 0;
    with --strict 3 also for a warning; check --json exits as check does;
  - show --json exits 0 and prints JSON; plan up and down exit 0 or 3;
  - none of the six crashed or printed a sanitizer report.

Output and exit status follow the C harness: 'PASS name', 'FAIL name: why', the closing
'N passed, N failed', results appended to $BLKSTACK_TEST_RESULTS.

  BLKSTACK_CLI=build/src/cli/blkstack tests/unit/test-config-corpus.py tests/config-corpus
"""

import json
import os
import re
import subprocess
import sys
import tempfile

PROGRAM = "test-config-corpus"
TARGETS = {"fstab": "etc/fstab", "crypttab": "etc/crypttab", "mdadm": "etc/mdadm/mdadm.conf"}
EXPECT = re.compile(r"^#\s*expect:\s*(ok|warnings|error)((?:\s+\d+)*)\s*$")
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                       r"runtime error:")
EXIT_CONFIG = 3


def expectation(path):
    """The file's '# expect:' line, from the comments it starts with."""
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line.startswith("#"):
                break
            m = EXPECT.match(line)
            if m:
                return m.group(1), sorted({int(n) for n in m.group(2).split()})
    raise ValueError("no '# expect:' line in the comments the file starts with")


def make_sysroot(tmp, kind, path):
    root = tempfile.mkdtemp(dir=tmp)
    os.makedirs(os.path.join(root, "sys", "class", "block"))
    os.makedirs(os.path.join(root, "run", "blkid"))
    open(os.path.join(root, "run", "blkid", "blkid.tab"), "w").close()
    dest = os.path.join(root, TARGETS[kind])
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(path, "rb") as src, open(dest, "wb") as dst:
        dst.write(src.read())
    return root


def run(cli, sysroot, *args):
    p = subprocess.run([cli, "--sysroot", sysroot, *args], capture_output=True, timeout=120)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    what = "'%s'" % " ".join(args)
    if p.returncode < 0:
        raise RuntimeError("%s died of signal %d: %s" % (what, -p.returncode, err.strip()))
    if SANITIZER.search(err):
        raise RuntimeError("%s: sanitizer report: %s" % (what, err.strip()))
    return p.returncode, out, err


def check_file(cli, tmp, kind, path):
    """Returns a list of what is wrong, and a summary of the problems."""
    wrong = []
    want, lines = expectation(path)
    root = make_sysroot(tmp, kind, path)

    rc_json, out, _ = run(cli, root, "check", "--json")
    problems = json.loads(out)["problems"]
    syntax = [p for p in problems if p["kind"] != "unresolved"]
    errors = sorted({p["line"] or 0 for p in syntax if p["severity"] == "error"})
    warnings = sorted({p["line"] or 0 for p in syntax if p["severity"] == "warning"})
    described = "errors on %s, warnings on %s" % (errors or "no line", warnings or "no line")

    if want == "ok" and (errors or warnings):
        wrong.append("expected no problem, got %s" % described)
    elif want == "warnings" and (errors or not warnings or (lines and warnings != lines)):
        wrong.append("expected warnings%s only, got %s" %
                     (" on %s" % lines if lines else "", described))
    elif want == "error" and errors != lines:
        wrong.append("expected errors on %s, got %s" % (lines, described))

    any_error = any(p["severity"] == "error" for p in problems)
    exit_check = EXIT_CONFIG if any_error else 0
    exit_strict = EXIT_CONFIG if problems else 0
    rc, _, _ = run(cli, root, "check")
    if rc != exit_check:
        wrong.append("check exited %d, not %d" % (rc, exit_check))
    if rc_json != exit_check:
        wrong.append("check --json exited %d, not %d" % (rc_json, exit_check))
    rc, _, _ = run(cli, root, "check", "--strict")
    if rc != exit_strict:
        wrong.append("check --strict exited %d, not %d" % (rc, exit_strict))

    rc, out, err = run(cli, root, "show", "--json")
    if rc != 0:
        wrong.append("show --json exited %d: %s" % (rc, err.strip()))
    else:
        try:
            json.loads(out)
        except ValueError as e:
            wrong.append("show --json printed no JSON: %s" % e)
    for op in ("up", "down"):
        rc, _, err = run(cli, root, "plan", op, "--all")
        if rc not in (0, EXIT_CONFIG):
            wrong.append("plan %s --all exited %d: %s" % (op, rc, err.strip()))
    unresolved = len(problems) - len(syntax)
    return wrong, "%s%s" % (described, ", %d unresolved" % unresolved if unresolved else "")


def main():
    cli = os.environ.get("BLKSTACK_CLI")
    results = os.environ.get("BLKSTACK_TEST_RESULTS")
    if not cli or len(sys.argv) != 2:
        print("usage: BLKSTACK_CLI=PATH %s CORPUS_DIR" % sys.argv[0], file=sys.stderr)
        return 2
    corpus = sys.argv[1]
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

    with tempfile.TemporaryDirectory() as tmp:
        for kind in sorted(TARGETS):
            directory = os.path.join(corpus, kind)
            for name in sorted(os.listdir(directory)):
                case = "%s/%s" % (kind, name)
                try:
                    wrong, summary = check_file(cli, tmp, kind, os.path.join(directory, name))
                except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
                    report(case, False, str(e))
                    continue
                if wrong:
                    report(case, False, "; ".join(wrong))
                else:
                    print("  %s: %s" % (case, summary))
                    report(case, True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
