#!/bin/sh
# Compares 'blkstack show' on every fixture with the reviewed output in tests/expected/:
# the tree (show.txt), the inverted tree (show-inverse.txt) and the JSON (show.json).
# Any message on standard error fails the case too: the fixtures are undamaged.
#
#   test-expected.sh FIXTURES_DIR EXPECTED_DIR [--update]
#
# BLKSTACK_CLI is the blkstack binary.  --update rewrites the expected files from the
# current output, for review as a diff.  Harness conventions as tests/unit/tests.h.
set -u
fixtures=$1 expected=$2 update=${3:-}
cli=${BLKSTACK_CLI:?BLKSTACK_CLI must name the blkstack binary}
passed=0 failed=0

record() {
	[ -z "${BLKSTACK_TEST_RESULTS:-}" ] || printf '%s test-expected/%s\n' "$1" "$2" >>"$BLKSTACK_TEST_RESULTS"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for dir in "$fixtures"/*/; do
	name=$(basename "$dir")
	why=""
	for view in show show-inverse show-json; do
		case $view in
		show) args="show" file=show.txt ;;
		show-inverse) args="show --inverse" file=show-inverse.txt ;;
		show-json) args="show --json" file=show.json ;;
		esac
		# shellcheck disable=SC2086
		if ! "$cli" --sysroot "$dir" $args >"$tmp/out" 2>"$tmp/err"; then
			why="$why; '$args' failed: $(head -n 3 "$tmp/err")"
			continue
		fi
		[ ! -s "$tmp/err" ] || why="$why; '$args' warned: $(head -n 3 "$tmp/err")"
		if [ "$update" = --update ]; then
			mkdir -p "$expected/$name"
			cp "$tmp/out" "$expected/$name/$file"
		elif ! diff -u "$expected/$name/$file" "$tmp/out" >"$tmp/diff" 2>&1; then
			why="$why; $file differs:
$(head -n 30 "$tmp/diff")"
		fi
	done
	if [ -z "$why" ]; then
		echo "PASS $name"
		passed=$((passed + 1))
		record pass "$name"
	else
		echo "FAIL $name: ${why#; }"
		failed=$((failed + 1))
		record fail "$name"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
