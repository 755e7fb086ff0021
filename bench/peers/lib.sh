# Shared helpers of bench/peers/*, bench/initramfs-size and bench/boot-time: the cache
# directory, the kernel, messages.  Sourced; never run alone.
set -eu -o pipefail

PEERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$PEERS_DIR/../.." && pwd)
# The benchmarks' cache: chroots, peer images, disks.  Outside the tree; never committed.
CACHE=${BLKSTACK_BENCH_CACHE:-/work/cache/bench-chroot}
# The VM tier's cache: the kernel and the guest image.
VM_CACHE=${BLKSTACK_VM_CACHE:-/work/cache/vm}
export BLKSTACK_VM_CACHE=$VM_CACHE
RECIPE=$TOP/tests/vm/recipes/ps2-raid5-crypt-lvm.recipe

say() { printf '%s\n' "bench: $*" >&2; }
die() { printf '%s\n' "bench: error: $*" >&2; exit 1; }

# The kernel package of the VM tier (its cached kernel), e.g. linux-image-6.1.0-57-amd64.
bench_kernel_pkg() {
	local pkg
	pkg=$(bash -c 'source "$1/tests/vm/lib.sh"; vm_kernel_pkg' _ "$TOP")
	[ -n "$pkg" ] || die "no kernel package: run tests/vm/fetch-kernel first"
	printf '%s\n' "$pkg"
}
bench_kver() { bench_kernel_pkg | sed 's/^linux-image-//'; }

IT=$CACHE/chroot-itools
DR=$CACHE/chroot-dracut
IMAGES=$CACHE/images

# chroot_run DIR CMD...: CMD inside the chroot DIR with /proc and /sys mounted (as an
# installer's chroot has them), unmounted after.  Never the host's /dev: the chroot's /dev is
# debootstrap's, with no block device node, so nothing inside can reach a host disk.
# With CHROOT_DEVRUN=1, /dev and /run are mounted too, as in an installer's chroot, but as
# empty tmpfs: /dev gets only null, zero, full, random, urandom, tty, console and ptmx.
chroot_run() {
	local dir=$1 rc=0 n
	shift
	mount -t proc proc "$dir/proc"
	mount -t sysfs -o ro sysfs "$dir/sys"
	if [ "${CHROOT_DEVRUN:-0}" = 1 ]; then
		mount -t tmpfs -o mode=0755,nosuid tmpfs "$dir/dev"
		mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$dir/run"
		for n in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0" \
			"console 5 1" "ptmx 5 2"; do
			mknod -m 0666 "$dir/dev/${n%% *}" c ${n#* }
		done
	fi
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 chroot "$dir" "$@" || rc=$?
	[ "${CHROOT_DEVRUN:-0}" != 1 ] || umount "$dir/run" "$dir/dev"
	umount "$dir/sys" "$dir/proc"
	return $rc
}

# The kernel modules this stack needs to bring root up, by name (modprobe resolves the
# dependencies): the virtio disk, the RAID5 personality, dm-crypt with the LUKS header's
# cipher aes-xts-plain64 (AES itself is built in; xts asks for ecb), the kernel crypto API
# for userspace that cryptsetup decrypts the keyslot with, LVM's linear target (in dm-mod),
# and root's xfs with the crc32c it asks for.  Independent of blkstack's own resolution.
STACK_MODULES="virtio_pci virtio_blk raid456 dm_mod dm_crypt xts ecb algif_skcipher crc32c_generic xfs"

# stack_module_paths ROOT: the module files of STACK_MODULES with their dependencies, in
# load order, as paths below ROOT/lib/modules/KVER ("kernel/drivers/...ko").
stack_module_paths() {
	local root=$1 kver
	kver=$(bench_kver)
	modprobe -d "$root" -S "$kver" --show-depends -a $STACK_MODULES |
		awk '$1 == "insmod" { print $2 }' | sed "s|^$root/*lib/modules/$kver/||" | awk '!seen[$0]++'
}
