# Shared helpers of the benchmarks that run in the VM tier's guest (bench/luks-unlock,
# bench/up-time): the release build that travels to the guest, and a job directory.
# Sourced from the top of the tree; never run alone.
source tests/vm/lib.sh
set -o pipefail

log() { printf '%s\n' "$*" >&2; }

# bench_build DIR: a release build of blkstack in DIR, built now, for the guest.
bench_build() {
	local dir=$1 type
	if [ ! -f "$dir/build.ninja" ]; then
		log "== meson setup $dir -Dbuildtype=release"
		meson setup "$dir" -Dbuildtype=release >&2
	fi
	type=$(meson introspect "$dir" --buildoptions | python3 -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))')
	[ "$type" = release ] ||
		log "WARNING: $dir is a '$type' build, not release; its figures are not to report"
	log "== ninja -C $dir"
	ninja -C "$dir" >&2
	"$dir/src/cli/blkstack" --help | grep -Eq '^  up ' ||
		vm_die "the blkstack in $dir has no 'up' verb yet; nothing to measure"
	export BLKSTACK_BUILD=$(realpath "$dir")
	"$VM_DIR/setup-host"
	"$VM_DIR/build-guest"
}

# bench_job JOB RUNDIR REPS [RECIPE]: RUNDIR/job for run-guest, with the guest job JOB
# (tests/vm/guest/JOB), the number of repetitions, and the recipe and its built
# configuration when one is given.
bench_job() {
	local job=$1 rundir=$2 reps=$3 recipe=${4:-} name=bench
	rm -rf "$rundir"
	mkdir -p "$rundir/job"
	install -m 0755 "$VM_DIR/guest/$job" "$rundir/job/run"
	echo "$reps" >"$rundir/job/reps"
	if [ -n "$recipe" ]; then
		name=$(basename "$recipe" .recipe)
		cp "$recipe" "$rundir/job/recipe"
		cp -a "$VM_CACHE/recipes/$name/etc" "$rundir/job/etc"
	fi
	printf 'RECIPE=%s\n' "$name" >"$rundir/job/env"
}

# The blkstack measured, for the results: the commit, and whether src/ or include/ differ.
bench_commit() {
	local dirty=""
	git diff --quiet HEAD -- src include || dirty=" with uncommitted changes"
	echo "blkstack: release build of $(git rev-parse --short HEAD)$dirty"
}

# The machine, for the results: CPU model and count, memory, kernel, QEMU.
bench_machine() {
	printf '%s vCPUs (%s), %s GiB, Linux %s, %s, accel %s\n' "$(nproc)" \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
		"$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" "$(uname -r)" \
		"$(qemu-system-x86_64 --version | head -n 1)" "${BLKSTACK_VM_ACCEL:-tcg}"
}
