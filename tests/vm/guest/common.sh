# Helpers shared by the guest-side job scripts of the VM test tier (busybox sh).

# Debian's busybox shell runs its own applets before anything on PATH (VM-NOTES), and
# its mount, losetup, swapon, mkswap and blkid differ from util-linux's.  Functions
# come before applets, so these pin the real tools.
for _t in /bin/mount /bin/umount /bin/lsblk /bin/findmnt /sbin/losetup /sbin/swapon \
	/sbin/swapoff /sbin/mkswap /sbin/blkid /sbin/wipefs /sbin/sfdisk /sbin/switch_root; do
	eval "${_t##*/}() { $_t \"\$@\"; }"
done
unset _t

say() { printf '%s\n' "bsvm: $*" >/dev/console; }
die() { say "FAILED: $*"; exit 1; }

# Runs a command, echoing it to the log first so that a failure shows what ran.
run() {
	say "+ $*"
	"$@" || die "command failed ($?): $*"
}

# The virtio disk whose serial is $1 (the host names each disk image's serial).
disk_by_serial() {
	for d in /sys/block/vd*; do
		[ "$(cat "$d/serial" 2>/dev/null)" = "$1" ] && { echo "/dev/${d##*/}"; return 0; }
	done
	return 1
}

# Sends a directory to the host through the second serial port, as base64 of a tar.gz.
send_out() {
	[ -d "$1" ] || die "nothing to send: $1 is missing"
	stty -F /dev/ttyS1 raw -echo 2>/dev/null
	tar -C "$1" -cf - . | gzip -1 | base64 >/dev/ttyS1
	say "sent $(du -sk "$1" | cut -f1) KiB of results"
}

# Sends a directory to the host on the spare disk that run-guest --out-disk attaches (serial
# bsvm-out), as a tar: for what is too big for the serial port (an initramfs image).
send_out_disk() {
	local d
	[ -d "$1" ] || die "nothing to send: $1 is missing"
	d=$(disk_by_serial bsvm-out) || die "no output disk (run-guest --out-disk) to send $1 on"
	tar -C "$1" -cf "$d" . || die "writing the results to $d failed"
	sync
	say "sent $(du -sk "$1" | cut -f1) KiB of results on $d"
}

# Ends the run: the marker is what the host reads to tell pass from fail.
finish() {
	sync
	echo "@@BSVM-RESULT rc=$1@@" >/dev/console
	poweroff -f
	# poweroff -f cannot fail in a healthy guest; if it did, panic so QEMU exits.
	echo o >/proc/sysrq-trigger
}
