#!/bin/sh
# The library's boundaries, checked on its sources with grep (docs/HACKING.md, "What may
# include what"): each rule is one test case, and a line that breaks it fails the case,
# naming the file and the line.
#   - the model (graph.c, graph.h, kind.c, kind.h) includes nothing from sources/, layers/
#     or ops/;
#   - the planner (plan.c, plan.h) includes nothing that reads the system (sysroot.h, the
#     sources, the ops) and no driver;
#   - no driver (layers/) includes a source's header or names a path under /etc;
#   - the ops (ops/) include no driver and no source;
#   - the sources (sources/) include no driver and nothing of the executor;
#   - the image builder (image/) includes no source, driver, op or executor header.
#
#   test-boundaries.sh SRC_LIB_DIR
set -u
lib=$1
passed=0 failed=0

record() {
	[ -z "${BLKSTACK_TEST_RESULTS:-}" ] || printf '%s test-boundaries/%s\n' "$1" "$2" >>"$BLKSTACK_TEST_RESULTS"
}

# rule NAME PATTERN FILES...: no line of FILES matches the extended regular expression.
rule() {
	name=$1 pattern=$2
	shift 2
	hits=$(cd "$lib" && grep -nE "$pattern" "$@" 2>/dev/null)
	if [ -z "$hits" ]; then
		echo "PASS $name"
		record pass "$name"
		passed=$((passed + 1))
	else
		echo "FAIL $name:"
		echo "$hits" | sed 's/^/    /'
		record fail "$name"
		failed=$((failed + 1))
	fi
}

sources_h='#include "(sources/)?(config|sources|mountinfo|recorded|lvm-report|fs-options|libmount-util)\.h"'
drivers_h='#include "(layers/)?(layers|crypt|spawn-util)\.h"'
ops_h='#include "(ops/)?(ops|real|uevent|process)\.h"'
exec_h='#include "exec(-internal)?\.h"'

rule model-knows-no-source "$sources_h|$drivers_h|$ops_h|#include \"sysroot\.h\"" \
	graph.c graph.h kind.c kind.h
rule planner-reads-nothing "$sources_h|$drivers_h|$ops_h|#include \"sysroot\.h\"|$exec_h" \
	plan.c plan.h
rule drivers-read-no-configuration "$sources_h|\"/?etc/" $(cd "$lib" && ls layers/*.c layers/*.h)
rule ops-know-no-layer "$drivers_h|$sources_h|$exec_h" $(cd "$lib" && ls ops/*.c ops/*.h)
rule sources-never-act "$drivers_h|$exec_h" $(cd "$lib" && ls sources/*.c sources/*.h)
rule image-stands-alone "$sources_h|$drivers_h|$ops_h|$exec_h" $(cd "$lib" && ls image/*.c image/*.h)

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
