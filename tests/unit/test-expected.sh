#!/bin/sh
# Compares blkstack's output on every fixture with the reviewed output in tests/expected/:
#   show.txt, show-inverse.txt, show.json   the graph (live, recorded and configured)
#   plan-down-keep-root.txt                 assembled fixtures: 'plan down --all --keep-root'
#   plan-down-srv.txt, plan-down-data.txt   one branch down (ps1: /srv; lvm-swap-loop:
#                                           lv:sys/data), the rest kept
#   plan-up.txt, plan-up-recorded.txt       disks-only fixtures: 'plan up /' ('plan up --all'
#                                           for recipes without a root), from configuration
#                                           alone and with the graph recorded from the
#                                           recipe's assembled fixture
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

# compare NAME FILE SYSROOT ARGS...: one output against its expected file; appends to $why.
compare() {
	name=$1 file=$2 root=$3
	shift 3
	if ! "$cli" --sysroot "$root" "$@" >"$tmp/out" 2>"$tmp/err"; then
		why="$why; '$*' failed: $(head -n 3 "$tmp/err")"
		return
	fi
	[ ! -s "$tmp/err" ] || why="$why; '$*' warned: $(head -n 3 "$tmp/err")"
	if [ "$update" = --update ]; then
		mkdir -p "$expected/$name"
		cp "$tmp/out" "$expected/$name/$file"
	elif ! diff -u "$expected/$name/$file" "$tmp/out" >"$tmp/diff" 2>&1; then
		why="$why; $file differs:
$(head -n 30 "$tmp/diff")"
	fi
}

for dir in "$fixtures"/*/; do
	dir=${dir%/}
	name=$(basename "$dir")
	why=""
	compare "$name" show.txt "$dir" show
	compare "$name" show-inverse.txt "$dir" show --inverse
	compare "$name" show.json "$dir" show --json
	case $name in
	*-assembled)
		compare "$name" plan-down-keep-root.txt "$dir" plan down --all --keep-root
		# One branch taken down while the rest stays: what stays is kept, with why.
		case $name in
		ps1-raid6-lvm-crypt-assembled) compare "$name" plan-down-srv.txt "$dir" plan down /srv ;;
		lvm-swap-loop-assembled) compare "$name" plan-down-data.txt "$dir" plan down lv:sys/data ;;
		esac
		;;
	*-disks)
		target=/
		case $name in rootless-*) target=--all ;; esac
		compare "$name" plan-up.txt "$dir" plan up "$target"
		# The same cold start, with the graph recorded when the stack was last up.
		cp -R "$dir" "$tmp/$name"
		mkdir -p "$tmp/$name/var/lib/blkstack"
		if "$cli" --sysroot "${dir%-disks}-assembled" record \
			--output "$tmp/$name/var/lib/blkstack/graph.json" >/dev/null 2>"$tmp/err"; then
			compare "$name" plan-up-recorded.txt "$tmp/$name" plan up "$target"
		else
			why="$why; record failed: $(head -n 3 "$tmp/err")"
		fi
		rm -rf "${tmp:?}/$name"
		;;
	esac
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
