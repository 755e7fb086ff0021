# Helpers of the blkstack up/down scenarios and benchmarks (busybox sh, sourced inside the
# guest): the configuration in place, blkstack runs with their output kept, and checks of
# the recipe's layers as the kernel sees them (the oracle does not ask blkstack).
. /lib/blkstack-vm/recipe.sh
[ ! -f /job/env ] || . /job/env
RECIPE_FILE=${RECIPE_FILE:-/job/recipe}

# Every recipe comes up below this mount root, as an initramfs mounts /sysroot: fstab's "/"
# at $MOUNT_ROOT, "/srv" at $MOUNT_ROOT/srv.  recipe.sh's mnt_path() uses it through ROOT.
MOUNT_ROOT=/newroot
ROOT=$MOUNT_ROOT
BS_LOG=/run/bsvm/bs
OUT=/run/bsvm/out
CARRY=/job/carry
GRAPH=/var/lib/blkstack/graph.json
PASSFILE=/run/bsvm/passphrases
LAYERS=/run/bsvm/layers
# What boot 1 of the up/down scenario wrote: one "MOUNTPOINT CONTENT" line a filesystem.
FILES=$OUT/files

# Centiseconds since boot (busybox's date has no %N; 10 ms is plenty here).
now_cs() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }
cs_to_s() { awk -v c="$1" 'BEGIN { printf "%.2f\n", c / 100 }'; }

# The recipe's mount points, in recipe order.
recipe_mounts() {
	sed 's/#.*//' "$RECIPE_FILE" | awk '$1 == "fs" { print $4 } $1 == "btrfs" { print $2 }'
}

# The recipe's layers, one "ID DETAIL NEEDS..." line each, in recipe order:
#   blk:NAME (disk, part), md:NAME, crypt:NAME, vg:NAME, lv:VG/NAME, mnt:MOUNTPOINT (DETAIL is
#   the filesystem type), swap:NAME (DETAIL is the id of its device), loop:NAME (DETAIL is the
#   backing file).  NEEDS are ids; a mount also needs the mount it lies on, a loop device the
#   mount holding its file, a key file's mapping the mount holding the key.
recipe_layers() {
	sed 's/#.*//' "$RECIPE_FILE" | awk '
	function ref(n) { return (n in nm) ? nm[n] : "?" n }
	# The mount of the recipe that holds path p (defined above this line), or "".
	function mount_of(p,   m, best) {
		best = ""
		for (m in mnts)
			if ((m == "/" || index(p, m "/") == 1) && length(m) > length(best))
				best = m
		return best == "" ? "" : "mnt:" best
	}
	$1 == "disk" { nm[$2] = "blk:" $2; print nm[$2], "-" }
	$1 == "part" { nm[$2] = "blk:" $2; print nm[$2], "-", ref($3) }
	$1 == "md" {
		nm[$2] = "md:" $2; s = nm[$2] " -"
		for (i = 4; i <= NF; i++) s = s " " ref($i)
		print s
	}
	$1 == "luks" {
		nm[$2] = "crypt:" $2; s = nm[$2] " - " ref($3)
		for (i = 4; i <= NF; i++)
			if ($i ~ /^keyfile=/ && (m = mount_of(substr($i, 9))) != "") s = s " " m
		print s
	}
	$1 == "vg" {
		nm[$2] = "vg:" $2; s = nm[$2] " -"
		for (i = 3; i <= NF; i++) s = s " " ref($i)
		print s
	}
	$1 == "lv" { nm[$2] = "lv:" $2; split($2, a, "/"); print nm[$2], "-", "vg:" a[1] }
	$1 == "fs" { m = mount_of($4); mnts[$4] = 1; print "mnt:" $4, $2, ref($3), m }
	$1 == "btrfs" {
		m = mount_of($2); mnts[$2] = 1; s = "mnt:" $2 " btrfs"
		for (i = 4; i <= NF; i++) s = s " " ref($i)
		print s, m
	}
	$1 == "swap" { print "swap:" $2, ref($2), ref($2) }
	$1 == "loop" { nm[$2] = "loop:" $2; print nm[$2], $3, mount_of($3) }
	'
}

# ids_above ID...: the given ids and every layer of the recipe that needs one of them,
# transitively (what a failure of ID takes down with it).
ids_above() {
	recipe_layers | awk -v start="$*" '
	BEGIN { n = split(start, s, " "); for (i = 1; i <= n; i++) in_set[s[i]] = 1 }
	{ line[NR] = $0 }
	END {
		do {
			changed = 0
			for (l = 1; l <= NR; l++) {
				k = split(line[l], f, " ")
				if (f[1] in in_set) continue
				for (i = 3; i <= k; i++)
					if (f[i] in in_set) { in_set[f[1]] = 1; changed = 1; break }
			}
		} while (changed)
		for (l = 1; l <= NR; l++) { split(line[l], f, " "); if (f[1] in in_set) print f[1] }
	}'
}

# missing_disk: the one disk of the recipe that is not attached (the host left its image
# out); dies unless exactly one is missing.
missing_disk() {
	local serial d missing=""
	for serial in $(sed 's/#.*//' "$RECIPE_FILE" | awk '$1 == "disk" { print $2 }'); do
		disk_by_serial "$serial" >/dev/null || missing="$missing $serial"
	done
	missing=${missing# }
	[ -n "$missing" ] && [ "$missing" = "${missing% *}" ] ||
		die "expected exactly one disk of the recipe left out, not '$missing'"
	echo "$missing"
}

# ---- the kernel's view of one layer -------------------------------------------------------

# The sysfs directory of the device-mapper device NAME whose dm uuid starts with PREFIX.
dm_dir() {
	local d
	for d in /sys/class/block/dm-*; do
		[ "$(cat "$d/dm/name" 2>/dev/null)" = "$1" ] || continue
		case $(cat "$d/dm/uuid" 2>/dev/null) in "$2"*) echo "$d"; return 0 ;; esac
	done
	return 1
}

# The dm name LVM gives VG/LV: each name with its '-' doubled, joined by '-'.
lv_dm_name() { echo "$1" | sed 's/-/--/g; s|/|-|'; }

# The sysfs directory of the running md array whose name (without homehost) is $1.
md_dir() {
	local d
	for d in /sys/class/block/md*; do
		[ -e "$d/md/array_state" ] || continue
		case $(cat "$d/md/array_state") in clear | inactive) continue ;; esac
		mdadm --detail "/dev/${d##*/}" 2>/dev/null |
			grep -Eq "^ *Name : ([^ :]*:)?$1( |\$)" && { echo "$d"; return 0; }
	done
	return 1
}

# mounted_at PATH [FSTYPE]: something (of FSTYPE) is mounted at PATH.
mounted_at() {
	awk -v p="$1" -v t="${2:-}" '{
		for (i = 7; i <= NF && $i != "-"; i++) ;
		if ($5 == p && (t == "" || $(i + 1) == t)) found = 1
	} END { exit !found }' /proc/self/mountinfo
}

# The sysfs directory of the block device a layer id (crypt, lv, md, loop) stands for.
id_sysfs_dir() {
	case $1 in
	crypt:*) dm_dir "${1#crypt:}" CRYPT- ;;
	lv:*) dm_dir "$(lv_dm_name "${1#lv:}")" LVM- ;;
	md:*) md_dir "${1#md:}" ;;
	*) return 1 ;;
	esac
}

# swap_on ID: the device of layer ID is an active swap area (compared by device number:
# /proc/swaps names a device the way swapon was given it).
swap_on() {
	local d want path got
	d=$(id_sysfs_dir "$1") || return 1
	want=$(cat "$d/dev")
	for path in $(awk 'NR > 1 { print $1 }' /proc/swaps); do
		got=$(printf '%d:%d' "0x$(stat -L -c %t "$path")" "0x$(stat -L -c %T "$path")")
		[ "$got" = "$want" ] && return 0
	done
	return 1
}

# loop_on FILE: a loop device is attached to FILE.
loop_on() {
	local l
	for l in /sys/class/block/loop*; do
		[ "$(cat "$l/loop/backing_file" 2>/dev/null)" = "$1" ] && return 0
	done
	return 1
}

# layer_up ID DETAIL: 0 if the layer is up, 1 if not, 2 if the kernel cannot tell (disks,
# partitions, volume groups).
layer_up() {
	case $1 in
	blk:* | vg:*) return 2 ;;
	md:* | crypt:* | lv:*) id_sysfs_dir "$1" >/dev/null ;;
	mnt:*) mounted_at "$(mnt_path "${1#mnt:}")" "$2" ;;
	swap:*) swap_on "$2" ;;
	loop:*) loop_on "$MOUNT_ROOT$2" ;;
	*) die "unknown layer id '$1'" ;;
	esac
}

# check_layers WHAT [ID...]: every layer of the recipe is up, except the ids given, which
# must not be (a failed branch leaves nothing of itself behind).
check_layers() {
	local what=$1 id detail rest missing="" extra="" rc
	shift
	recipe_layers >"$LAYERS"
	while read -r id detail rest; do
		rc=0
		layer_up "$id" "$detail" || rc=$?
		[ $rc -eq 2 ] && continue
		case " $* " in
		*" $id "*) [ $rc -eq 0 ] && extra="$extra $id" ;;
		*) [ $rc -eq 0 ] || missing="$missing $id" ;;
		esac
	done <"$LAYERS"
	[ -z "$missing" ] || die "$what: not up:$missing"
	[ -z "$extra" ] || die "$what: up although it should not be:$extra"
	if [ $# -gt 0 ]; then
		say "$what: every layer of the recipe is up but$(printf ' %s' "$@"), which are not"
	else
		say "$what: every layer of the recipe is up"
	fi
}

# check_show WHAT: blkstack's own graph (show --json, with the mount root) has every layer of
# the recipe as a node that is up, and show says nothing on standard error.
check_show() {
	local what=$1 id detail rest state bad=""
	blkstack --mount-root "$MOUNT_ROOT" show --json >"$BS_LOG/show.json" 2>"$BS_LOG/show.err" ||
		die "$what: blkstack show failed: $(cat "$BS_LOG/show.err")"
	[ ! -s "$BS_LOG/show.err" ] || die "$what: blkstack show warned: $(cat "$BS_LOG/show.err")"
	# "ID STATE" for every node of the pretty-printed JSON.
	awk -F'"' '$2 == "id" && !id { id = $4 } $2 == "state" && id { print id, $4; id = "" }' \
		"$BS_LOG/show.json" >"$BS_LOG/show.states"
	recipe_layers >"$LAYERS"
	while read -r id detail rest; do
		case $id in
		blk:* | loop:*) continue ;;
		swap:*)
			grep -Eq '^swap:[^ ]+ (active|mounted|on)$' "$BS_LOG/show.states" ||
				bad="$bad swap(no active swap node)"
			continue
			;;
		esac
		state=$(awk -v i="$id" '$1 == i { print $2 }' "$BS_LOG/show.states")
		case $state in
		"") bad="$bad $id(no node)" ;;
		absent | present) bad="$bad $id($state)" ;;
		esac
	done <"$LAYERS"
	if [ -n "$bad" ]; then
		sed 's/^/  show| /' "$BS_LOG/show.states" >/dev/console
		die "$what: blkstack show:$bad"
	fi
	say "$what: blkstack show has every layer of the recipe, up"
}

# check_stack_gone: check_nothing_left, once md arrays that were stopped have left sysfs (the
# kernel removes a stopped array's device a moment after mdadm --stop returns).
check_stack_gone() {
	local i=0 l busy
	while [ $i -lt 50 ]; do
		busy=""
		for l in /sys/class/block/md*; do
			[ -e "$l" ] || continue
			case $(cat "$l/md/array_state" 2>/dev/null || echo clear) in
			clear | inactive) busy=1 ;;
			*) busy=""; break ;;
			esac
		done
		[ -n "$busy" ] || break
		usleep 100000
		i=$((i + 1))
	done
	# What a failure below needs to be understood: an array's state, who holds it open.
	for l in /sys/class/block/md*; do
		[ -e "$l" ] || continue
		busy=$(ls -l /proc/[0-9]*/fd 2>/dev/null | grep -c "/dev/${l##*/}\$")
		say "${l##*/} is still there:" \
			"array_state '$(cat "$l/md/array_state" 2>/dev/null)'," \
			"level '$(cat "$l/md/level" 2>/dev/null)', open by $busy descriptor(s)"
	done
	check_nothing_left
}

# ---- blkstack runs --------------------------------------------------------------------------

# updown_setup: the recipe's configuration in the guest's /etc, the mount root, the mount
# points that a root-less recipe has on the guest's own root, the test passphrase, and
# (when the host carried one) the recorded graph.
updown_setup() {
	local m
	command -v blkstack >/dev/null 2>&1 || die "this guest has no blkstack (build it first)"
	[ -d /job/etc ] || die "/job/etc is missing: the recipe's configuration did not travel"
	mkdir -p "$BS_LOG" "$OUT" "${GRAPH%/*}" /etc/blkstack "$MOUNT_ROOT"
	cp -a /job/etc/. /etc/ || die "copying the recipe's configuration to /etc failed"
	printf '%s\n' "$TEST_PASSPHRASE" >"$PASSFILE"
	BS_KEYS=$PASSFILE
	if ! recipe_has_root "$RECIPE_FILE"; then
		for m in $(recipe_mounts); do mkdir -p "$(mnt_path "$m")"; done
	fi
	rm -f "$GRAPH"
	if [ -f "$CARRY/graph.json" ]; then
		cp "$CARRY/graph.json" "$GRAPH"
		say "recorded graph from the previous boot in place ($GRAPH)"
	fi
}

# bs NAME ARG...: runs 'blkstack --mount-root $MOUNT_ROOT ARG...' with descriptor 3 reading
# $BS_KEYS; keeps its output in $BS_LOG/NAME.out and .err, copies both to the console, and
# sets BS_RC and BS_CS (its wall time in centiseconds).
bs() {
	local name=$1 t0
	shift
	say "+ blkstack --mount-root $MOUNT_ROOT $*"
	t0=$(now_cs)
	blkstack --mount-root "$MOUNT_ROOT" "$@" </dev/null >"$BS_LOG/$name.out" \
		2>"$BS_LOG/$name.err" 3<"$BS_KEYS"
	BS_RC=$?
	BS_CS=$(($(now_cs) - t0))
	sed 's/^/  err| /' "$BS_LOG/$name.err" >/dev/console
	sed 's/^/  out| /' "$BS_LOG/$name.out" >/dev/console
	say "blkstack $1 ($name) exited $BS_RC after $(cs_to_s $BS_CS) s"
}

# bs_expect RC NAME ARG...: bs, and the run must exit RC.
bs_expect() {
	local want=$1
	shift
	bs "$@"
	[ "$BS_RC" -eq "$want" ] || die "blkstack ($1) exited $BS_RC, expected $want (output above)"
}

# bs_said NAME PATTERN...: the output of run NAME (either stream) matches every extended
# regular expression given, each somewhere, ignoring case.
bs_said() {
	local name=$1 p
	shift
	for p in "$@"; do
		cat "$BS_LOG/$name.out" "$BS_LOG/$name.err" | grep -Eiq -- "$p" ||
			die "blkstack ($name) did not say anything matching '$p' (output above)"
	done
}

# bs_rounds NAME: how many plans ("round" events) the --json run NAME made.
bs_rounds() { grep -c '"event": *"round"' "$BS_LOG/$1.out" || true; }

# ---- data on the stack --------------------------------------------------------------------

# write_files: a file with unique content on every filesystem of the recipe, listed in $FILES.
write_files() {
	local m content
	: >"$FILES"
	for m in $(recipe_mounts); do
		content="$RECIPE $m $(cat /proc/sys/kernel/random/uuid)"
		printf '%s\n' "$content" >"$(mnt_path "$m")/.bsvm-updown" ||
			die "writing a file on $m failed"
		printf '%s %s\n' "$m" "$content" >>"$FILES"
	done
	sync
	say "wrote a file on each of $(wc -l <"$FILES") filesystems"
}

# check_files LIST [MOUNTPOINT...]: the files of LIST are there with their content, and the
# build's markers too; mount points given are skipped (not mounted in this scenario).
check_files() {
	local list=$1 m content got
	shift
	[ -s "$list" ] || die "no list of files written before ($list)"
	while read -r m content; do
		case " $* " in *" $m "*) continue ;; esac
		got=$(cat "$(mnt_path "$m")/.bsvm-updown" 2>/dev/null) ||
			die "$m: the file written before is missing"
		[ "$got" = "$content" ] ||
			die "$m: the file written before holds '$got', not '$content'"
		[ "$(cat "$(mnt_path "$m")/.bsvm-marker" 2>/dev/null)" = "$RECIPE $m" ] ||
			die "$m: the marker written at build time is missing or wrong"
	done <"$list"
	say "the files written before are all there"
}

# The mappings of the recipe that a passphrase opens (no key file), in recipe order.
recipe_passphrase_mappings() {
	sed 's/#.*//' "$RECIPE_FILE" | awk '$1 == "luks" && $0 !~ /keyfile=/ { print $2 }'
}
