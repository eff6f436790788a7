#!/usr/bin/env bash
# Unpacks Debian's arm64 boot chain into a directory for the arm64 boot test
# (internal/agent, TestQEMUARM64ShimGrubKernel), without installing it:
# shim-signed and grub-efi-arm64-signed for arm64 cannot be installed beside
# their amd64 builds, so their packages are downloaded and extracted.
#   scripts/arm64-chain.sh [DIR]   (default .lab/arm64; root, as it adds the
#                                   arm64 architecture to dpkg once)
# DIR then holds usr/lib/shim/shimaa64.efi.signed,
# usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed, boot/vmlinuz-*-arm64
# (signed) and bin/busybox (static, arm64). The emulator and firmware are
# ordinary packages: qemu-system-arm and qemu-efi-aarch64 (scripts/packages.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(realpath -m "${1:-.lab/arm64}")

if [ -e "$dir/usr/lib/shim/shimaa64.efi.signed" ] && [ -e "$dir/bin/busybox" ] &&
  compgen -G "$dir/boot/vmlinuz-*-arm64" >/dev/null &&
  [ -e "$dir/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed" ]; then
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "arm64-chain: run as root (dpkg --add-architecture arm64, apt-get update)" >&2; exit 1; }
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update -qq
fi
# The kernel package the linux-image-arm64 metapackage points at.
kernel=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-[0-9]/ { sub(/:arm64$/, "", $2); print $2; exit }')
[ -n "$kernel" ] || { apt-get update -qq; kernel=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-[0-9]/ { sub(/:arm64$/, "", $2); print $2; exit }'); }
[ -n "$kernel" ] || { echo "arm64-chain: no arm64 kernel package found (apt-cache depends linux-image-arm64:arm64)" >&2; exit 1; }
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
# apt-get download fetches as the _apt user, into the current directory.
chown _apt "$debs" 2>/dev/null || true
echo "== downloading shim-signed, grub-efi-arm64-signed, busybox-static and $kernel for arm64"
(cd "$debs" && apt-get download -q shim-signed:arm64 grub-efi-arm64-signed:arm64 busybox-static:arm64 "$kernel:arm64" >/dev/null)
mkdir -p "$dir"
for deb in "$debs"/*.deb; do
  dpkg-deb -x "$deb" "$dir"
done
echo "== arm64 boot chain in $dir"
