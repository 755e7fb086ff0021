# The fixture capture (busybox sh, sourced inside the guest): writes a --sysroot tree
# as docs/fixtures.md and DESIGN.md's contract describe it:
#   sys/          the block devices' sysfs directories and the links that reach them
#   proc/self/mountinfo, proc/swaps, proc/mdstat
#   etc/          fstab, crypttab, mdadm/mdadm.conf, blkstack/stack.conf as the build wrote them
#   run/blkid/blkid.tab                  libblkid's cache, as 'blkid -c FILE' writes it
#   run/blkstack/lvm-fullreport.json     what 'lvm fullreport --reportformat json' prints

# Subdirectories of a block device that say nothing about the stack and are large.
CAPTURE_SKIP="power trace mq integrity"

# capture_dir SRC DST DEPTH: regular files copied when readable, symlinks kept as they
# are (relative, so they resolve inside the captured tree), directories followed.
capture_dir() {
	local src=$1 dst=$2 depth=$3 e name
	mkdir -p "$dst"
	for e in "$src"/* ; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		name=${e##*/}
		if [ -L "$e" ]; then
			ln -s "$(readlink "$e")" "$dst/$name"
		elif [ -d "$e" ]; then
			case " $CAPTURE_SKIP " in *" $name "*) continue ;; esac
			[ "$depth" -gt 0 ] && capture_dir "$e" "$dst/$name" $((depth - 1))
		elif [ -f "$e" ] && [ -r "$e" ]; then
			# Write-only and failing attributes are left out, as if absent.
			cat "$e" >"$dst/$name" 2>/dev/null || rm -f "$dst/$name"
		fi
	done
}

# capture_top_files SRC DST: the regular files of one directory, not its subdirectories
# (the parent device behind a disk's 'device' link: vendor, serial and the like).
capture_top_files() {
	local e
	mkdir -p "$2"
	for e in "$1"/*; do
		if [ -L "$e" ]; then
			ln -s "$(readlink "$e")" "$2/${e##*/}" 2>/dev/null
		elif [ -f "$e" ] && [ -r "$e" ]; then
			cat "$e" >"$2/${e##*/}" 2>/dev/null || rm -f "$2/${e##*/}"
		fi
	done
}

capture_sysfs() {
	local out=$1 l real dev
	mkdir -p "$out/sys/class/block" "$out/sys/block" "$out/sys/dev/block"
	for l in /sys/class/block/*; do
		ln -s "$(readlink "$l")" "$out/sys/class/block/${l##*/}"
		real=$(cd -P "$l" && pwd)
		# A partition lives inside its disk's directory and comes with it.
		[ -e "$out$real" ] && continue
		capture_dir "$real" "$out$real" 4
		if [ -e "$real/device" ]; then
			dev=$(cd -P "$real/device" && pwd)
			[ -e "$out$dev/uevent" ] || capture_top_files "$dev" "$out$dev"
		fi
	done
	for l in /sys/block/* /sys/dev/block/*; do
		ln -s "$(readlink "$l")" "$out${l%/*}/${l##*/}"
	done
}

# capture_all OUT ETC: the whole fixture tree under OUT, with the configuration from ETC.
capture_all() {
	local out=$1 etc=$2
	rm -rf "$out"
	mkdir -p "$out/proc/self" "$out/etc" "$out/run/blkid" "$out/run/blkstack"
	capture_sysfs "$out"
	cat /proc/self/mountinfo >"$out/proc/self/mountinfo"
	cat /proc/swaps >"$out/proc/swaps"
	cat /proc/mdstat >"$out/proc/mdstat" 2>/dev/null || : >"$out/proc/mdstat"
	cp -a "$etc/." "$out/etc/"
	# blkid probes every block device and saves its cache there.
	blkid -c "$out/run/blkid/blkid.tab" >/dev/null || say "blkid found nothing to probe"
	[ -s "$out/run/blkid/blkid.tab" ] || die "blkid wrote no cache"
	lvm fullreport --reportformat json >"$out/run/blkstack/lvm-fullreport.json" ||
		die "lvm fullreport failed"
	say "captured $(find "$out/sys" | wc -l) sysfs entries"
}
