# Shared shell helpers of the VM test tier: paths, the cache layout, messages.
# Sourced by the host-side scripts in tests/vm/; never run inside the guest.

set -eu

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$VM_DIR/../.." && pwd)
# Everything downloaded or built for the guest lives here; git ignores it.
VM_CACHE=${BLKSTACK_VM_CACHE:-$TOP/.cache/vm}
mkdir -p "$VM_CACHE"

vm_say() { printf '%s\n' "vm: $*" >&2; }
vm_die() { printf '%s\n' "vm: error: $*" >&2; exit 1; }

# The kernel package that linux-image-amd64 currently points at, read from the
# local apt lists (no download).  Overridable to pin another one.
vm_kernel_pkg() {
	if [ -n "${BLKSTACK_VM_KERNEL_PKG:-}" ]; then
		printf '%s\n' "$BLKSTACK_VM_KERNEL_PKG"
		return
	fi
	local cached
	# A cached kernel is reused as is: a second run must not depend on apt lists.
	cached=$(ls -1d "$VM_CACHE"/kernel/linux-image-*-amd64 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$cached" ] && [ -f "$cached/.complete" ]; then
		basename "$cached"
		return
	fi
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1
}

vm_kernel_dir() { printf '%s\n' "$VM_CACHE/kernel/$(vm_kernel_pkg)"; }

# The build directory whose blkstack travels to the guest: a release build configured with
# --prefix=/usr (tests/run-all, run-tests), so that its install puts /init where the
# contract says, /usr/libexec/blkstack/init.
vm_build_dir() { printf '%s\n' "${BLKSTACK_BUILD:-$TOP/build}"; }

# The paths of the guest's base image, one a line without the leading "./" (cached beside it).
vm_base_list() {
	local list="$VM_CACHE/guest/base.list"
	if [ ! -s "$list" ] || [ "$list" -ot "$VM_CACHE/guest/base.cpio" ]; then
		cpio -it --quiet <"$VM_CACHE/guest/base.cpio" | sed 's|^\./||' >"$list.$$"
		mv "$list.$$" "$list"
	fi
	printf '%s\n' "$list"
}

# vm_stage_blkstack DEST: 'meson install --destdir DEST' of the build, then the host's
# shared libraries that its programs load and that the guest's base image lacks (the test
# harness's own copy, through ldd: the product resolves libraries itself, never so).  The
# base image has usr/lib as a symlink to lib, so the install's usr/lib goes to lib, as
# through that symlink: a cpio entry for a real usr/lib directory would replace it.
# Returns 1 (and stages nothing) when the build has no blkstack; fails when its prefix is
# not /usr.
vm_stage_blkstack() {
	local dest=$1 build stage f lib rel list
	build=$(vm_build_dir)
	[ -x "$build/src/cli/blkstack" ] || return 1
	stage=$(mktemp -d "${TMPDIR:-/tmp}/bsvm-stage.XXXXXX")
	chmod 0755 "$stage"
	# Two guests may start at once: one install at a time writes the build's install log.
	(
		flock 8
		meson install -C "$build" --destdir "$stage" --no-rebuild --quiet >/dev/null
	) 8>"$VM_CACHE/stage.lock" || { rm -rf "$stage"; vm_die "meson install -C $build failed"; }
	if [ ! -x "$stage/usr/bin/blkstack" ]; then
		rm -rf "$stage"
		vm_die "$build is not configured with --prefix=/usr (run: meson configure $build --prefix=/usr)"
	fi
	rm -rf "$stage/usr/include" "$stage/usr/share" "$stage/usr/lib/x86_64-linux-gnu/pkgconfig"
	mkdir -p "$dest/lib"
	if [ -d "$stage/usr/lib" ] && [ ! -L "$stage/usr/lib" ]; then
		cp -a "$stage/usr/lib/." "$dest/lib/"
		rm -rf "$stage/usr/lib"
		ln -s lib "$stage/usr/lib"
	fi
	cp -a "$stage/." "$dest/"
	rm -rf "$stage"
	list=$(vm_base_list)
	for f in $(find "$dest/usr/bin" "$dest/usr/libexec" "$dest/lib" -type f 2>/dev/null); do
		head -c 4 "$f" | grep -q ELF || continue
		for lib in $(LD_LIBRARY_PATH="$dest/lib/x86_64-linux-gnu" ldd "$f" 2>/dev/null |
			grep -o '=> /[^ ]*\|^[[:space:]]*/[^ ]*' | grep -o '/[^ ]*' || true); do
			case $lib in "$dest"/*) continue ;; esac
			case $lib in /usr/lib/*) rel=${lib#/usr/} ;; *) rel=${lib#/} ;; esac
			grep -qxF "$rel" "$list" && continue
			[ -e "$dest/$rel" ] || install -D -m 0755 "$(readlink -f "$lib")" "$dest/$rel"
		done
	done
	return 0
}

# vm_prepare_build: the build of vm_build_dir() exists, is configured with --prefix=/usr
# (reconfigured if its prefix differs) and is up to date.
vm_prepare_build() {
	local build prefix
	build=$(vm_build_dir)
	[ -d "$build" ] || meson setup "$build" -Dbuildtype=release --prefix=/usr >/dev/null
	prefix=$(meson introspect "$build" --buildoptions | python3 -c \
		'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
	if [ "$prefix" != /usr ]; then
		vm_say "reconfiguring $build with --prefix=/usr (it had $prefix)"
		meson configure "$build" --prefix=/usr >/dev/null
	fi
	ninja -C "$build" -j2 >/dev/null
}

# boot_job JOB RECIPE DISKDIR RUNDIR CARRY [run-guest options...]: one boot of a guest job,
# as run-job does it, with the files of directory CARRY (none if "") in the guest's /job/carry.
boot_job() {
	local job=$1 recipe=$2 disks=$3 rundir=$4 carry=$5 name
	shift 5
	name=$(basename "$recipe" .recipe)
	rm -rf "$rundir"
	mkdir -p "$rundir/job"
	install -m 0755 "$VM_DIR/guest/$job" "$rundir/job/run"
	cp "$recipe" "$rundir/job/recipe"
	printf 'RECIPE=%s\n' "$name" >"$rundir/job/env"
	cp -a "$VM_CACHE/recipes/$name/etc" "$rundir/job/etc"
	[ -z "$carry" ] || cp -a "$carry" "$rundir/job/carry"
	"$VM_DIR/run-guest" --job "$rundir/job" --disks "$disks" --log "$rundir/guest.log" \
		--out "$rundir/out" "$@"
}
