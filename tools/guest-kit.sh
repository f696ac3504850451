#!/usr/bin/env bash
# Builds tern's guest kit: a real Linux to boot on tern, cached outside the tree.
#
#   tools/guest-kit.sh [--print] [CACHE_DIR]
#
# CACHE_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/tern/guest. On success it holds:
#   vmlinux             Debian's ppc64el kernel, the ELF that QEMU's -kernel takes (symbols kept)
#   initramfs.cpio.gz   busybox-static + tests/guest/init as /init (newc cpio, gzip)
#   KERNEL_VERSION      the kernel release (what `uname -r` prints), e.g. 6.1.0-50-powerpc64le
#   INITRAMFS_STAMP     sha256 of tests/guest/init and this script: the initramfs is rebuilt when
#                       either changes
#   debs/               busybox-static's .deb (1 MB), kept so the initramfs can be rebuilt offline
# --print prints the paths of vmlinux and initramfs.cpio.gz, one per line, and exits 0 if the kit
# is present and current; otherwise it exits 1 and builds nothing. Without --print, stdout is empty.
# A run with the kit present and current does nothing. To fetch a newer kernel, delete CACHE_DIR.
#
# How: apt-get update and apt-get download with ppc64el as the only architecture and a private
# package-list and cache directory under CACHE_DIR/apt, so the system's dpkg architectures and apt
# state are never touched (no dpkg --add-architecture, no root needed). The system's sources are
# used as they are. The kernel package is named by the metapackage linux-image-powerpc64le; its
# .deb (~50 MB) is unpacked (only ./boot) into a temporary directory and deleted afterwards. The
# apt lists are deleted too. Progress goes to stderr, prefixed "tern:".
set -euo pipefail

usage() {
  cat <<'EOF'
usage: tools/guest-kit.sh [--print] [CACHE_DIR]

Builds the guest kit for booting a real Linux on tern: Debian's ppc64el kernel (CACHE_DIR/vmlinux)
and an initramfs with busybox and tests/guest/init (CACHE_DIR/initramfs.cpio.gz).
CACHE_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/tern/guest.

  --print   print the two paths, one per line, and exit 0 if the kit is present and current;
            exit 1 otherwise (nothing is built)
  --help    this text

The first run downloads about 50 MB from Debian. Later runs do nothing unless tests/guest/init or
this script changed (then only the initramfs is rebuilt). Delete CACHE_DIR to fetch a newer kernel.
Example: qemu-system-ppc64 -M pseries -m 1G -nographic -no-reboot -kernel CACHE_DIR/vmlinux \
           -initrd CACHE_DIR/initramfs.cpio.gz -append "console=hvc0 tern.test=poweroff"
EOF
}

print=no
cache=
while [ $# -gt 0 ]; do
  case $1 in
    --print) print=yes ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; exit 2 ;;
    *) [ -z "$cache" ] || { usage >&2; exit 2; }; cache=$1 ;;
  esac
  shift
done
cache=${cache:-${XDG_CACHE_HOME:-$HOME/.cache}/tern/guest}

script=$(readlink -f "${BASH_SOURCE[0]}")
init_src=$(dirname "$script")/../tests/guest/init
metapackage=linux-image-powerpc64le
# The applets /init uses before it installs the rest (`busybox --install -s`).
applets=(sh mount echo cat grep awk find sort hexdump sleep setsid cttyhack poweroff reboot)

# shellcheck source=tools/kit-lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/kit-lib.sh"

stamp() { cat "$init_src" "$script" | sha256sum | cut -d' ' -f1; }

kernel_present() { [ -s "$cache/vmlinux" ] && [ -s "$cache/KERNEL_VERSION" ]; }
kit_current() {
  kernel_present && [ -s "$cache/initramfs.cpio.gz" ] && [ -s "$cache/INITRAMFS_STAMP" ] &&
    [ "$(cat "$cache/INITRAMFS_STAMP")" = "$(stamp)" ]
}
print_paths() { printf '%s\n' "$cache/vmlinux" "$cache/initramfs.cpio.gz"; }

[ -f "$init_src" ] || die "$init_src is missing"
if kit_current; then
  [ "$print" = no ] || print_paths
  exit 0
fi
if [ "$print" = yes ]; then
  log "no current guest kit in $cache; build it with: tools/guest-kit.sh $cache"
  exit 1
fi

for tool in apt-get apt-cache dpkg-deb cpio gzip flock od sha256sum; do
  command -v "$tool" >/dev/null || die "'$tool' is needed (Debian: apt, dpkg, cpio, gzip, util-linux, coreutils)"
done

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
# One builder at a time (make run and make test may start together); the second one finds the kit.
exec 9>"$cache/.lock"
flock 9
if kit_current; then exit 0; fi

# Work in CACHE_DIR so the large files are renamed into place, not copied across filesystems.
work=$(mktemp -d "$cache/.work.XXXXXX")
# The apt lists (~20 MB) are only needed during a download; a run that needs them reads them anew.
trap 'rm -rf "$work" "$cache/apt"' EXIT

apt_opts=(-q -o APT::Architecture=ppc64el -o APT::Architectures=ppc64el
          -o Dir::State::Lists="$cache/apt/lists" -o Dir::Cache="$cache/apt/cache"
          -o Debug::NoLocking=1 -o Acquire::Languages=none)
# As root, apt downloads as the user _apt, who cannot write into root's home; say so up front
# instead of getting a warning per file.
[ "$(id -u)" -ne 0 ] || apt_opts+=(-o APT::Sandbox::User=root)

apt_archs="ppc64el"

# elf_ppc64le FILE: succeeds if FILE is an ELF of class 64, little-endian (7f 'E' 'L' 'F' 02 01),
# for machine 21 (EM_PPC64, bytes 18-19).
elf_ppc64le() {
  [ "$(od -An -tx1 -N6 "$1" | tr -d ' \n')" = 7f454c460201 ] &&
    [ "$(od -An -tx1 -j18 -N2 "$1" | tr -d ' \n')" = 1500 ]
}

if ! kernel_present; then
  apt_update
  kpkg=$(apt-cache "${apt_opts[@]}" depends "$metapackage" 2>/dev/null |
           awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-powerpc64le$/ { print $2; exit }')
  [ -n "$kpkg" ] || die "cannot resolve $metapackage in the ppc64el lists"
  log "downloading $kpkg (the kernel named by $metapackage, about 50 MB)"
  start=$(date +%s)
  download "$work" "$kpkg"
  deb=$(echo "$work/${kpkg}"_*.deb)
  [ -f "$deb" ] || die "apt-get download left no $kpkg .deb"
  log "downloaded $(basename "$deb"): $(du -m "$deb" | cut -f1) MB in $(( $(date +%s) - start )) s"
  # Only ./boot is needed (vmlinux, config, System.map stub); the modules are not unpacked.
  mkdir "$work/kernel"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/kernel" --wildcards './boot/vmlinux-*'
  vmlinux=$(echo "$work"/kernel/boot/vmlinux-*)
  [ -f "$vmlinux" ] || die "$deb has no /boot/vmlinux-*"
  elf_ppc64le "$vmlinux" || die "$vmlinux is not a ppc64le ELF (compressed?)"
  release=${vmlinux##*/vmlinux-}
  version=$(dpkg-deb -f "$deb" Version)
  mv "$vmlinux" "$cache/vmlinux"
  echo "$release" >"$cache/KERNEL_VERSION.new"
  mv "$cache/KERNEL_VERSION.new" "$cache/KERNEL_VERSION"
  rm -f "$deb"
  log "kernel $release ($kpkg $version) in $cache/vmlinux"
fi

# newest_busybox_deb: the path of the kept busybox-static .deb, or nothing.
newest_busybox_deb() {
  local debs=("$cache"/debs/busybox-static_*.deb)
  [ ! -f "${debs[-1]}" ] || echo "${debs[-1]}"
}
busybox_deb=$(newest_busybox_deb)
if [ -z "$busybox_deb" ]; then
  apt_update
  mkdir -p "$cache/debs"
  log "downloading busybox-static (about 1 MB)"
  download "$cache/debs" busybox-static
  busybox_deb=$(newest_busybox_deb)
  [ -n "$busybox_deb" ] || die "apt-get download left no busybox-static .deb"
fi

log "building $cache/initramfs.cpio.gz"
mkdir "$work/busybox" "$work/root"
dpkg-deb -x "$busybox_deb" "$work/busybox"
elf_ppc64le "$work/busybox/bin/busybox" || die "$busybox_deb has no ppc64le /bin/busybox"
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,root,tmp,etc}
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
for applet in "${applets[@]}"; do ln -s busybox "$root/bin/$applet"; done
install -m 0755 "$init_src" "$root/init"
# No device nodes: the kernel's built-in initramfs already has /dev/console and /init mounts
# devtmpfs. -R 0:0, fixed mtimes and sorted names make the archive reproducible without root.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
   cpio --quiet --null -o -H newc -R 0:0 --reproducible) | gzip -n -9 >"$cache/initramfs.cpio.gz.new"
mv "$cache/initramfs.cpio.gz.new" "$cache/initramfs.cpio.gz"
stamp >"$cache/INITRAMFS_STAMP"

log "guest kit ready: $cache/vmlinux (Linux $(cat "$cache/KERNEL_VERSION")), $cache/initramfs.cpio.gz" \
    "($(du -k "$cache/initramfs.cpio.gz" | cut -f1) KiB)"
