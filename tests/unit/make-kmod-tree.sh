#!/bin/sh
# Builds the synthetic kernel module tree of test-modules: OUTDIR/lib/modules/0.0.0-test
# with small relocatable ELF objects that depmod takes for modules (a .modinfo section with
# name=, alias= and softdep= strings; exported symbols in __ksymtab_strings, and undefined
# references to the symbols of the modules they depend on, from which depmod computes
# modules.dep), a compressed one, built-in ones (modules.builtin, .modinfo), and a module
# whose file is removed after depmod. Then depmod -b OUTDIR writes the indexes.
#
#   make-kmod-tree.sh CC DEPMOD OUTDIR STAMP
set -eu
cc=$1 depmod=$2 out=$3 stamp=$4
kver=0.0.0-test
mods=$out/lib/modules/$kver
src=$out/src

rm -rf "$out"
mkdir -p "$mods" "$src"

# module RELPATH NAME "EXPORTS" "USES" [MODINFO...]
module() {
	rel=$1 name=$2 exports=$3 uses=$4
	shift 4
	c=$src/$name.c
	{
		echo '#define MI(n, s) static const char n[] __attribute__((section(".modinfo"), used, aligned(1))) = s;'
		echo "MI(mi_name, \"name=$name\")"
		echo 'MI(mi_license, "license=GPL")'
		i=0
		for info in "$@"; do
			i=$((i + 1))
			echo "MI(mi_$i, \"$info\")"
		done
		for e in $exports; do
			echo "void $e(void); void $e(void) {}"
			echo "static const char ks_$e[] __attribute__((section(\"__ksymtab_strings\"), used, aligned(1))) = \"$e\";"
		done
		for u in $uses; do
			echo "extern void $u(void);"
		done
		echo 'int init_module(void); int init_module(void) {'
		for u in $uses; do
			echo "	$u();"
		done
		echo '	return 0; }'
	} >"$c"
	mkdir -p "$(dirname "$mods/$rel")"
	"$cc" -c -O0 -fno-pic -fno-stack-protector -o "$src/$name.o" "$c"
	"$cc" -r -nostdlib -o "$mods/$rel" "$src/$name.o"
	echo "$rel" >>"$mods/modules.order"
}

module kernel/drivers/virtio/virtio_ring.ko virtio_ring vring_fn ""
module kernel/drivers/virtio/virtio.ko virtio virtio_fn vring_fn
module kernel/drivers/virtio/virtio_pci.ko virtio_pci "" "virtio_fn vring_fn" \
	"alias=pci:v00001AF4d*sv*sd*bc*sc*i*"
module kernel/drivers/block/virtio_blk.ko virtio_blk "" "virtio_fn vring_fn" \
	"alias=virtio:d00000002v*"
module kernel/drivers/scsi/sd_mod.ko sd_mod "" "" "alias=scsi:t-0x00*" "alias=scsi:t-0x0E*"
module kernel/drivers/ata/ahci.ko ahci "" "" "alias=pci:v*d*sv*sd*bc01sc06i01*"

module kernel/lib/raid6/raid6_pq.ko raid6_pq raid6_fn ""
module kernel/crypto/xor.ko xor xor_fn ""
module kernel/crypto/async_tx/async_tx.ko async_tx async_tx_fn ""
module kernel/crypto/async_tx/async_xor.ko async_xor async_xor_fn "async_tx_fn xor_fn"
module kernel/crypto/crc32c_generic.ko crc32c_generic "" "" "alias=crypto-crc32c" "alias=crc32c"
module kernel/lib/libcrc32c.ko libcrc32c crc32c_fn "" "softdep=pre: crc32c"
module kernel/drivers/md/md-mod.ko md_mod md_fn ""
module kernel/drivers/md/raid456.ko raid456 "" "raid6_fn async_xor_fn md_fn crc32c_fn" \
	"alias=md-raid6" "alias=md-level-6" "alias=md-raid5" "alias=md-level-5"
module kernel/drivers/md/raid1.ko raid1 "" "md_fn" "alias=md-raid1" "alias=md-level-1"

module kernel/drivers/md/dm-mod.ko dm_mod dm_fn ""
module kernel/drivers/md/dm-crypt.ko dm_crypt "" dm_fn
module kernel/crypto/crypto_simd.ko crypto_simd simd_fn ""
module kernel/arch/x86/crypto/aesni-intel.ko aesni_intel "" simd_fn \
	"alias=crypto-aes" "alias=crypto-xts(aes)"
module kernel/crypto/xts.ko xts "" "" "alias=crypto-xts"
module kernel/crypto/essiv.ko essiv "" "" "alias=crypto-essiv"

module kernel/lib/crc16.ko crc16 crc16_fn ""
module kernel/fs/mbcache.ko mbcache mbcache_fn ""
module kernel/fs/jbd2/jbd2.ko jbd2 jbd2_fn "" "softdep=pre: crypto-crc32c"
module kernel/fs/ext4/ext4.ko ext4 "" "jbd2_fn mbcache_fn crc16_fn" \
	"alias=fs-ext4" "alias=fs-ext3" "softdep=pre: crypto-crc32c"

module kernel/drivers/block/nbd.ko nbd "" ""
module kernel/drivers/net/virtio_net.ko virtio_net "" "virtio_fn vring_fn" \
	"alias=virtio:d00000001v*"
module kernel/test/cyc_a.ko cyc_a "" "" "softdep=pre: cyc_b"
module kernel/test/cyc_b.ko cyc_b "" "" "softdep=pre: cyc_a"
module kernel/test/postmod.ko postmod "" "" "softdep=post: crc16"
module kernel/test/gone.ko gone "" "" "alias=fs-gone"

# Compressed as distributions ship them, where xz is there.
if command -v xz >/dev/null 2>&1; then
	xz --check=crc32 "$mods/kernel/fs/mbcache.ko"
	sed -i 's|^kernel/fs/mbcache.ko$|kernel/fs/mbcache.ko.xz|' "$mods/modules.order"
fi

# Built in: cbc and sha256_generic with their aliases, loop by its name.
printf '%s\n' kernel/crypto/cbc.ko kernel/crypto/sha256_generic.ko kernel/drivers/block/loop.ko \
	>"$mods/modules.builtin"
printf 'cbc.alias=crypto-cbc\0sha256_generic.alias=crypto-sha256\0loop.alias=block-major-7-*\0' \
	>"$mods/modules.builtin.modinfo"

"$depmod" -b "$out" "$kver"
rm -f "$mods/kernel/test/gone.ko"
rm -rf "$src"
touch "$stamp"
