#!/bin/sh
# Unpacks committed fixtures into the build tree for the unit tests: DEST/NAME per fixture.
# SPDX-License-Identifier: GPL-2.0-or-later
#   unpack-fixtures.sh FIXTURES DEST STAMP NAME...
# FIXTURES is tests/fixtures of the source tree; STAMP is touched when all are unpacked, so
# that meson reruns this only when a fixture changes.
set -eu
[ $# -ge 3 ] || { echo "usage: unpack-fixtures.sh FIXTURES DEST STAMP NAME..." >&2; exit 2; }
fixtures=$1 dest=$2 stamp=$3
shift 3
mkdir -p "$dest"
for name in "$@"; do
	"$fixtures/unpack" "$name" "$dest"
done
: >"$stamp"
