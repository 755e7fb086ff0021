# The recipe interpreter of the VM test tier (busybox sh, sourced inside the guest).
# A recipe is data: one layer per line, each built on names defined above it.  The
# same lines are read three ways:
#   build     make every layer on blank disks, write fstab/crypttab/mdadm.conf/stack.conf
#   assemble  open the stack with hand-written commands (the oracle blkstack is tested against)
#   teardown  close it again, in reverse order
# The line grammar is documented in tests/vm/recipes/README.md.

# Throw-away test secrets: known to every test, never used outside guest disk images.
TEST_PASSPHRASE=blkstack-test
test_keyfile_content() { printf 'blkstack-test-key-%s' "$1"; }
FAST_KDF="--pbkdf pbkdf2 --pbkdf-force-iterations 1000"

# Name table: recipe name -> device path, kept as shell variables.
key_of() { printf 'dev_%s' "$1" | tr -c 'A-Za-z0-9_\n' '_'; }
set_dev() { eval "$(key_of "$1")=\$2"; }
dev_of() {
	local v
	eval "v=\${$(key_of "$1"):-}"
	[ -n "$v" ] || die "recipe line $LINENO_R: '$1' is not defined above"
	echo "$v"
}

# Where mount points live: the recipe's '/' is mounted at $ROOT (a real root after
# switch_root), so every mount point is prefixed with it.
ROOT=${ROOT:-}
CONF=${CONF:-/run/bsvm/etc}

# Where mount point $1 of the recipe is in this guest.
mnt_path() { if [ "$1" = / ]; then echo "${ROOT:-/}"; else echo "$ROOT$1"; fi; }

fs_label() { case "$1" in /) echo root ;; *) echo "${1##*/}" ;; esac; }

uuid_of() { blkid -o value -s UUID "$1" || die "no UUID on $1"; }

mkfs_of() {
	local type=$1 dev=$2 mnt=$3 label
	label=$(fs_label "$mnt")
	case $type in
	ext4) run mkfs.ext4 -q -F -L "$label" "$dev" ;;
	xfs) TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 run mkfs.xfs -q -f -L "$label" "$dev" ;;
	jfs) run mkfs.jfs -q -L "$label" "$dev" ;;
	btrfs) run mkfs.btrfs -q -f -L "$label" "$dev" ;;
	*) die "recipe line $LINENO_R: unknown filesystem type '$type'" ;;
	esac
}

mount_at() {
	local dev=$1 mnt=$2 type=$3
	mkdir -p "$(mnt_path "$mnt")" || die "cannot create mount point $(mnt_path "$mnt")"
	run mount -t "$type" "$dev" "$(mnt_path "$mnt")"
}

# The key for a LUKS mapping: the key file if the recipe gives one and it is reachable
# now, else the known test secret.
luks_key_to() {
	local name=$1 keyfile=$2 out=$3
	if [ -n "$keyfile" ]; then
		# A key file whose filesystem is not mounted yet: the hand-written oracle
		# knows the test key; blkstack must instead order the mount first.
		if [ -f "$ROOT$keyfile" ]; then cp "$ROOT$keyfile" "$out"; else test_keyfile_content "$name" >"$out"; fi
	else
		printf '%s' "$TEST_PASSPHRASE" >"$out"
	fi
}

# ---- one function per line kind and mode -------------------------------------------------

r_disk() { # disk NAME SIZE
	local d
	d=$(disk_by_serial "$1") || die "recipe line $LINENO_R: no disk with serial '$1'"
	set_dev "$1" "$d"
}

r_part() { # part NAME DISK SIZE
	local disk n
	disk=$(dev_of "$2")
	# An md array's /dev/md/NAME is mdadm's symlink; without udev nothing names its
	# partitions there, so they go by the kernel's name (md127p1).
	case $disk in /dev/md/*) disk=$(readlink -f "$disk") || die "recipe line $LINENO_R: $disk is not there" ;; esac
	eval "n=\${parts_$(key_of "$2" | cut -c5-):-0}"
	n=$((n + 1))
	eval "parts_$(key_of "$2" | cut -c5-)=$n"
	case $disk in
	*[0-9]) set_dev "$1" "${disk}p$n" ;;
	*) set_dev "$1" "$disk$n" ;;
	esac
	[ "$MODE" = build ] || return 0
	if [ $n -eq 1 ]; then
		printf 'label: gpt\nsize=%s, name=%s\n' "$3" "$1" | run sfdisk -q "$disk"
	else
		printf 'size=%s, name=%s\n' "$3" "$1" | run sfdisk -q --append "$disk"
	fi
}

r_md() { # md NAME LEVEL MEMBER...
	local name=$1 level=$2 members="" m
	shift 2
	for m in "$@"; do members="$members $(dev_of "$m")"; done
	set_dev "$name" "/dev/md/$name"
	case $MODE in
	build)
		# --assume-clean: a resync of blank test disks would only cost time.
		run mdadm --create "/dev/md/$name" --run --quiet --metadata=1.2 --homehost=guest \
			--name="$name" --level="$level" --raid-devices=$# --assume-clean $members
		mdadm --detail --brief "/dev/md/$name" | sed 's/ *$//' >>"$CONF/mdadm/mdadm.conf"
		;;
	assemble) run mdadm --assemble "/dev/md/$name" $members ;;
	teardown) run mdadm --stop "/dev/md/$name" ;;
	esac
}

r_luks() { # luks NAME DEV [keyfile=PATH]
	local name=$1 dev keyfile="" opt
	dev=$(dev_of "$2")
	shift 2
	for opt in "$@"; do
		case $opt in
		keyfile=*) keyfile=${opt#keyfile=} ;;
		*) die "recipe line $LINENO_R: unknown luks option '$opt'" ;;
		esac
	done
	set_dev "$name" "/dev/mapper/$name"
	case $MODE in
	build)
		if [ -n "$keyfile" ]; then
			test_keyfile_content "$name" >/run/bsvm/key
		else
			printf '%s' "$TEST_PASSPHRASE" >/run/bsvm/key
		fi
		run cryptsetup luksFormat --batch-mode --type luks2 $FAST_KDF --luks2-keyslots-size 1m \
			--key-file /run/bsvm/key "$dev"
		printf '%s UUID=%s %s luks\n' "$name" "$(uuid_of "$dev")" "${keyfile:-none}" >>"$CONF/crypttab"
		[ -z "$keyfile" ] || echo "$name $keyfile" >>/run/bsvm/keyfiles
		run cryptsetup open --key-file /run/bsvm/key "$dev" "$name"
		;;
	assemble)
		luks_key_to "$name" "$keyfile" /run/bsvm/key
		run cryptsetup open --key-file /run/bsvm/key "$dev" "$name"
		;;
	teardown) run cryptsetup close "$name" ;;
	esac
	rm -f /run/bsvm/key
}

r_vg() { # vg NAME PV...
	local name=$1 pvs="" p
	shift
	for p in "$@"; do pvs="$pvs $(dev_of "$p")"; done
	case $MODE in
	build)
		run lvm pvcreate -q -y -ff $pvs
		run lvm vgcreate -q "$name" $pvs
		;;
	teardown) run lvm vgchange -q -an "$name" ;;
	esac
}

r_lv() { # lv VG/NAME SIZE
	set_dev "$1" "/dev/$1"
	case $MODE in
	build) run lvm lvcreate -q -y -L "$2" -n "${1#*/}" "${1%/*}" ;;
	assemble) run lvm lvchange -q -ay "$1" ;;
	teardown) run lvm lvchange -q -an "$1" ;;
	esac
}

r_fs() { # fs TYPE DEV MOUNTPOINT
	local type=$1 dev mnt=$3
	dev=$(dev_of "$2")
	case $MODE in
	build)
		mkfs_of "$type" "$dev" "$mnt"
		printf 'UUID=%s %s %s defaults 0 %s\n' "$(uuid_of "$dev")" "$mnt" "$type" \
			"$([ "$mnt" = / ] && echo 1 || echo 2)" >>"$CONF/fstab"
		mount_at "$dev" "$mnt" "$type"
		echo "$RECIPE $mnt" >"$(mnt_path "$mnt")/.bsvm-marker"
		;;
	assemble)
		mount_at "$dev" "$mnt" "$type"
		[ "$(cat "$(mnt_path "$mnt")/.bsvm-marker" 2>/dev/null)" = "$RECIPE $mnt" ] ||
			die "$mnt: the marker written at build time is missing or wrong"
		;;
	teardown) run umount "$(mnt_path "$mnt")" ;;
	esac
}

r_btrfs() { # btrfs MOUNTPOINT PROFILE DEV...
	local mnt=$1 profile=$2 devs="" d first=""
	shift 2
	for d in "$@"; do
		d=$(dev_of "$d")
		devs="$devs $d"
		[ -n "$first" ] || first=$d
	done
	case $MODE in
	build)
		run mkfs.btrfs -q -f -L "$(fs_label "$mnt")" -d "$profile" -m "$profile" $devs
		printf 'UUID=%s %s btrfs defaults 0 0\n' "$(uuid_of "$first")" "$mnt" >>"$CONF/fstab"
		run btrfs device scan $devs
		mount_at "$first" "$mnt" btrfs
		echo "$RECIPE $mnt" >"$(mnt_path "$mnt")/.bsvm-marker"
		;;
	assemble)
		run btrfs device scan $devs
		mount_at "$first" "$mnt" btrfs
		[ "$(cat "$(mnt_path "$mnt")/.bsvm-marker" 2>/dev/null)" = "$RECIPE $mnt" ] ||
			die "$mnt: the marker written at build time is missing or wrong"
		;;
	teardown)
		run umount "$(mnt_path "$mnt")"
		# Forget the devices, so that nothing of the filesystem stays registered.
		run btrfs device scan --forget $devs
		;;
	esac
}

r_swap() { # swap DEV
	local dev
	dev=$(dev_of "$1")
	case $MODE in
	build)
		run mkswap -q "$dev"
		printf 'UUID=%s none swap sw 0 0\n' "$(uuid_of "$dev")" >>"$CONF/fstab"
		run swapon "$dev"
		;;
	assemble) run swapon "$dev" ;;
	teardown) run swapoff "$dev" ;;
	esac
}

r_loop() { # loop NAME FILE SIZE
	local name=$1 file=$2 dev
	case $MODE in
	build)
		run truncate -s "$3" "$ROOT$file"
		echo "loop $file" >>"$CONF/blkstack/stack.conf"
		;;
	esac
	case $MODE in
	build | assemble)
		dev=$(/sbin/losetup -f --show "$ROOT$file") || die "losetup of $ROOT$file failed"
		say "+ losetup $dev $ROOT$file"
		set_dev "$name" "$dev"
		echo "$dev" >"/run/bsvm/loop-$name"
		;;
	names)
		dev=$(cat "/run/bsvm/loop-$name") || die "loop $name: not attached by this run"
		set_dev "$name" "$dev"
		;;
	teardown) run /sbin/losetup -d "$(dev_of "$name")" ;;
	esac
}

# Runs one recipe line in the current MODE.
recipe_line() {
	local kind=$1
	shift
	case $kind in
	disk | part | md | luks | vg | lv | fs | btrfs | swap | loop) "r_$kind" "$@" ;;
	*) die "recipe line $LINENO_R: unknown kind '$kind'" ;;
	esac
}

# Runs the lines of $1 (numbered "N:text") in the current MODE, in the order given.
recipe_lines() {
	local line
	# A here-document keeps the loop in this shell, so the name table survives it.
	while IFS= read -r line; do
		LINENO_R=${line%%:*}
		set -- ${line#*:}
		recipe_line "$@"
	done <<LINES
$1
LINES
}

# recipe_run MODE FILE: build and assemble read forwards, teardown backwards.  Teardown
# first fills the name table with a forward pass that runs nothing (MODE=names).
recipe_run() {
	local file=$2 lines
	lines=$(sed 's/#.*//' "$file" | grep -n . | grep -v '^[0-9]*:[[:space:]]*$' || true)
	[ -n "$lines" ] || die "recipe $file: empty"
	case $1 in
	build)
		mkdir -p "$CONF/mdadm" "$CONF/blkstack"
		printf '# written by the blkstack VM recipe %s\n' "$RECIPE" >"$CONF/fstab"
		printf '# <target name> <source device> <key file> <options>\n' >"$CONF/crypttab"
		printf 'HOMEHOST <ignore>\n' >"$CONF/mdadm/mdadm.conf"
		;;
	teardown)
		MODE=names
		recipe_lines "$lines"
		lines=$(echo "$lines" | awk '{ a[NR] = $0 } END { for (i = NR; i > 0; i--) print a[i] }')
		;;
	esac
	MODE=$1
	recipe_lines "$lines"
}

# recipe_has_root FILE: whether the recipe makes a root filesystem.
recipe_has_root() {
	sed 's/#.*//' "$1" | grep -Eq '^[[:space:]]*(fs[[:space:]]+[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+/|btrfs[[:space:]]+/)([[:space:]]|$)'
}

# After a build: key files go where crypttab says, now that their filesystems are
# mounted; a recipe with a root gets a userspace on it, so that a later boot can
# switch_root into it; the configuration goes into the root's /etc.
recipe_finish_build() {
	local name path
	if [ -f /run/bsvm/keyfiles ]; then
		while read -r name path; do
			[ -d "$ROOT${path%/*}" ] || mkdir -p "$ROOT${path%/*}"
			test_keyfile_content "$name" >"$ROOT$path"
			chmod 0400 "$ROOT$path"
		done </run/bsvm/keyfiles
	fi
	[ -n "$ROOT" ] || return 0
	say "copying the guest userspace onto the root filesystem"
	for d in bin sbin lib lib64 usr etc; do
		cp -a "/$d" "$ROOT/" || die "copying /$d to the root filesystem failed"
	done
	rm -rf "$ROOT/lib/modules"
	mkdir -p "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/run" "$ROOT/tmp" "$ROOT/root"
	cp -a "$CONF/." "$ROOT/etc/"
}

# The stack is gone: no dm device, no md array, no attached loop device, no swap and
# no mounted block device.  The initramfs mounts none of its own, so any is the stack's.
check_nothing_left() {
	local left="" l
	for l in /sys/class/block/dm-* /sys/class/block/md*; do
		[ -e "$l" ] && left="$left ${l##*/}"
	done
	for l in /sys/class/block/loop*; do
		[ -e "$l/loop/backing_file" ] && left="$left ${l##*/}($(cat "$l/loop/backing_file"))"
	done
	grep -q '^/dev/' /proc/swaps && left="$left swap"
	l=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { print $(i + 2) " on " $5; break } }' \
		/proc/self/mountinfo | grep '^/dev/' | tr '\n' ' ')
	[ -z "$l" ] || left="$left mounts: $l"
	[ -z "$left" ] || die "still present after teardown:$left"
	say "nothing of the stack is left"
}

# The ids blkstack must show for the recipe's layers once they are open, one per line:
# md:NAME, crypt:NAME, vg:NAME, lv:VG/LV, mnt:MOUNTPOINT (where this guest mounts it).
recipe_expected_ids() {
	sed 's/#.*//' "$1" | while read -r kind a b c rest; do
		case $kind in
		md) echo "md:$a" ;;
		luks) echo "crypt:$a" ;;
		vg) echo "vg:$a" ;;
		lv) echo "lv:$a" ;;
		fs) echo "mnt:$(mnt_path "$c")" ;;
		btrfs) echo "mnt:$(mnt_path "$a")" ;;
		swap) echo "swap" ;;
		esac
	done
}

# blkstack's live graph of the open stack has a node for every layer of the recipe, and
# says nothing on standard error.  Skipped (with a note) when the job carries no blkstack.
check_blkstack_show() {
	local id missing=""
	if ! command -v blkstack >/dev/null 2>&1; then
		say "no blkstack in this guest, its graph is not checked"
		return 0
	fi
	blkstack show --inverse >/dev/console 2>/run/bsvm/show.err || die "blkstack show failed: $(cat /run/bsvm/show.err)"
	[ ! -s /run/bsvm/show.err ] || die "blkstack show warned: $(cat /run/bsvm/show.err)"
	blkstack show --json >/run/bsvm/show.json 2>/run/bsvm/show.err || die "blkstack show --json failed"
	for id in $(recipe_expected_ids /job/recipe); do
		if [ "$id" = swap ]; then
			grep -q '"id": "swap:' /run/bsvm/show.json || missing="$missing swap:*"
		else
			grep -q "\"id\": \"$id\"" /run/bsvm/show.json || missing="$missing $id"
		fi
	done
	[ -z "$missing" ] || die "blkstack show lacks:$missing"
	say "blkstack show has every layer of the recipe"
}
