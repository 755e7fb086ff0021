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
