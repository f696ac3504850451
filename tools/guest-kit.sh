#!/usr/bin/env bash
# Builds tern's guest kit: a real Linux to boot on tern, cached outside the tree.
#
#   tools/guest-kit.sh [--print] [CACHE_DIR]
#
# CACHE_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/tern/guest. On success it holds:
#   vmlinux             Debian's ppc64el kernel, the ELF that QEMU's -kernel takes (symbols kept)
#   initramfs.cpio.gz   busybox-static + tests/guest/init as /init (newc cpio, gzip), with the
#                       hotplug tools (below)
#   KERNEL_VERSION      the kernel release (what `uname -r` prints), e.g. 6.1.0-50-powerpc64le
#   modules/<release>/  the kernel modules the initramfs carries (.ko), load-order (dependencies
#                       first) and VMLINUX_SHA256 (the kernel they were taken with)
#   INITRAMFS_STAMP     sha256 of tests/guest/init, this script and the names of the kept .debs:
#                       the initramfs is rebuilt when any changes
#   debs/               the .debs the initramfs is built from (busybox-static, powerpc-ibm-utils
#                       and the libraries drmgr links, about 5 MB), kept to rebuild offline
# --print prints the paths of vmlinux and initramfs.cpio.gz, one per line, and exits 0 if the kit
# is present and current; otherwise it exits 1 and builds nothing. Without --print, stdout is empty.
# A run with the kit present and current does nothing. To fetch a newer kernel, delete CACHE_DIR.
#
# The hotplug tools, for PCI and PHB hotplug the way pseries Linux guests do it (Linux 6.1 leaves
# PCI and PHB hotplug events to user space: arch/powerpc/platforms/pseries/ras.c logs them for
# rtas_errd, which runs drmgr):
#   /usr/sbin/drmgr, /usr/sbin/lsslot   from powerpc-ibm-utils, with every library their ELF
#                       NEEDED entries name, recursively (librtas2, libnuma1, libc6) and the
#                       dynamic loader (/lib64/ld64.so.2), at the paths the packages install them
#   /lib/modules/<release>/  rpaphp and rpadlpar_io (drmgr's kernel side: Debian builds
#                       CONFIG_HOTPLUG_PCI_RPA and _RPA_DLPAR as modules) and the virtio PCI
#                       drivers for network and block devices (CONFIG_VIRTIO_PCI, _NET, _BLK =m),
#                       with their dependencies (each module's depends=); /init loads them
#                       before the interactive shell
#   /var/log, /var/lock drmgr's log and lock directories
#
# How: apt-get update and apt-get download with ppc64el as the only architecture and a private
# package-list and cache directory under CACHE_DIR/apt, so the system's dpkg architectures and apt
# state are never touched (no dpkg --add-architecture, no root needed). The system's sources are
# used as they are. The kernel package is named by the metapackage linux-image-powerpc64le; its
# .deb (~50 MB) is unpacked (./boot and the listed modules) into a temporary directory and deleted
# afterwards. A kit made before the modules were part of it gets them from the package of its own
# kernel release, downloaded again, whose vmlinux must be the kit's. The apt lists are deleted
# too. Progress goes to stderr, prefixed "tern:".
set -euo pipefail

usage() {
  cat <<'EOF'
usage: tools/guest-kit.sh [--print] [CACHE_DIR]

Builds the guest kit for booting a real Linux on tern: Debian's ppc64el kernel (CACHE_DIR/vmlinux)
and an initramfs with busybox and tests/guest/init (CACHE_DIR/initramfs.cpio.gz). The initramfs
also carries the hotplug tools: drmgr and lsslot (powerpc-ibm-utils) with the libraries they link,
and the kernel modules rpaphp, rpadlpar_io, virtio_pci, virtio_net and virtio_blk with their
dependencies, which /init loads before its interactive shell.
CACHE_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/tern/guest.

  --print   print the two paths, one per line, and exit 0 if the kit is present and current;
            exit 1 otherwise (nothing is built)
  --help    this text

The first run downloads about 55 MB from Debian (the kernel package, busybox-static,
powerpc-ibm-utils, librtas2, libnuma1, libc6). Later runs do nothing unless tests/guest/init or
this script changed (then only the initramfs is rebuilt; a kit without the modules downloads its
kernel's package once more for them). Delete CACHE_DIR to fetch a newer kernel.
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
applets=(sh mount echo cat grep awk find sort hexdump sleep setsid cttyhack poweroff reboot insmod)
# drmgr and lsslot, and the packages that hold them and the libraries they link (checked below:
# a NEEDED library none of these packages has stops the build with its name).
userland_packages=(powerpc-ibm-utils librtas2 libnuma1 libc6)
userland_programs=(usr/sbin/drmgr usr/sbin/lsslot)
# The kernel modules /init loads, before their dependencies are added: drmgr's kernel side
# (rpadlpar_io's /sys/bus/pci/slots/control/{add,remove}_slot, rpaphp's slots) and the drivers of
# the virtio PCI devices the hotplug tests add.
kit_modules=(virtio_pci virtio_net virtio_blk rpaphp rpadlpar_io)

# shellcheck source=tools/kit-lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/kit-lib.sh"

stamp() {
  { cat "$init_src" "$script"; (cd "$cache/debs" 2>/dev/null && ls); } | sha256sum | cut -d' ' -f1
}

kernel_present() { [ -s "$cache/vmlinux" ] && [ -s "$cache/KERNEL_VERSION" ]; }
# modules_present: the modules directory of the kit's kernel, taken with this vmlinux.
modules_present() {
  local dir
  kernel_present || return 1
  dir=$cache/modules/$(cat "$cache/KERNEL_VERSION")
  [ -s "$dir/load-order" ] && [ -s "$dir/VMLINUX_SHA256" ] &&
    [ "$(cat "$dir/VMLINUX_SHA256")" = "$(sha256sum <"$cache/vmlinux" | cut -d' ' -f1)" ]
}
kit_current() {
  modules_present && [ -s "$cache/initramfs.cpio.gz" ] && [ -s "$cache/INITRAMFS_STAMP" ] &&
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

readelf=${READELF:-llvm-readelf}
for tool in apt-get apt-cache dpkg-deb cpio gzip flock od sha256sum "$readelf"; do
  command -v "$tool" >/dev/null ||
    die "'$tool' is needed (Debian: apt, dpkg, cpio, gzip, util-linux, coreutils, llvm)"
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

# unpack_kernel DEB DIR: unpacks the kernel package's vmlinux and modules into DIR.
unpack_kernel() {
  mkdir -p "$2"
  dpkg-deb --fsys-tarfile "$1" |
    tar -x -C "$2" --wildcards './boot/vmlinux-*' './lib/modules/*/kernel/*'
}

# take_modules TREE RELEASE VMLINUX_SHA256: copies kit_modules and their dependencies out of the
# unpacked kernel package TREE into CACHE_DIR/modules/RELEASE, with load-order.
take_modules() {
  local tree=$1/lib/modules/$2 dir=$work/modules path paths
  [ -d "$tree/kernel" ] || die "the kernel package has no /lib/modules/$2"
  paths=$(module_closure "$tree" "${kit_modules[@]}")
  mkdir -p "$dir"
  for path in $paths; do
    elf_ppc64le "$tree/$path" || die "$path is not a ppc64le ELF (compressed?)"
    cp "$tree/$path" "$dir/"
    basename "$path" >>"$dir/load-order"
  done
  echo "$3" >"$dir/VMLINUX_SHA256"
  rm -rf "$cache/modules"
  mkdir -p "$cache/modules"
  mv "$dir" "$cache/modules/$2"
  log "kernel modules for $2: $(paste -sd' ' "$cache/modules/$2/load-order")"
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
  unpack_kernel "$deb" "$work/kernel"
  vmlinux=$(echo "$work"/kernel/boot/vmlinux-*)
  [ -f "$vmlinux" ] || die "$deb has no /boot/vmlinux-*"
  elf_ppc64le "$vmlinux" || die "$vmlinux is not a ppc64le ELF (compressed?)"
  release=${vmlinux##*/vmlinux-}
  version=$(dpkg-deb -f "$deb" Version)
  rm -f "$deb"
  take_modules "$work/kernel" "$release" "$(sha256sum <"$vmlinux" | cut -d' ' -f1)"
  mv "$vmlinux" "$cache/vmlinux"
  echo "$release" >"$cache/KERNEL_VERSION.new"
  mv "$cache/KERNEL_VERSION.new" "$cache/KERNEL_VERSION"
  rm -rf "$work/kernel"
  log "kernel $release ($kpkg $version) in $cache/vmlinux"
fi

if ! modules_present; then
  # A kit made before the modules were part of it: its own kernel's package, once more.
  release=$(cat "$cache/KERNEL_VERSION")
  vmlinux_sha=$(sha256sum <"$cache/vmlinux" | cut -d' ' -f1)
  apt_update
  kpkg=linux-image-$release
  apt-cache "${apt_opts[@]}" show "$kpkg:ppc64el" >/dev/null 2>&1 ||
    die "Debian's lists no longer have $kpkg (a newer kernel replaced it); delete $cache to" \
        "fetch the current kernel with its modules"
  log "downloading $kpkg again for its modules (about 50 MB, deleted afterwards)"
  download "$work" "$kpkg:ppc64el"
  deb=$(echo "$work/${kpkg}"_*.deb)
  [ -f "$deb" ] || die "apt-get download left no $kpkg .deb"
  unpack_kernel "$deb" "$work/kernel"
  rm -f "$deb"
  [ "$(sha256sum <"$work/kernel/boot/vmlinux-$release" | cut -d' ' -f1)" = "$vmlinux_sha" ] ||
    die "$kpkg in Debian's lists is not the build in $cache/vmlinux; delete $cache to fetch" \
        "the current kernel with its modules"
  take_modules "$work/kernel" "$release" "$vmlinux_sha"
  rm -rf "$work/kernel"
fi

# newest_deb PACKAGE: the path of the kept .deb of PACKAGE (the last by name), or nothing.
newest_deb() {
  local debs=("$cache/debs/$1"_*.deb)
  [ ! -f "${debs[-1]}" ] || echo "${debs[-1]}"
}
missing=()
for package in busybox-static "${userland_packages[@]}"; do
  [ -n "$(newest_deb "$package")" ] || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_update
  mkdir -p "$cache/debs"
  log "downloading ${missing[*]} (about 4 MB)"
  download "$cache/debs" "${missing[@]}"
  for package in "${missing[@]}"; do
    [ -n "$(newest_deb "$package")" ] || die "apt-get download left no $package .deb"
  done
fi

log "building $cache/initramfs.cpio.gz"
mkdir "$work/busybox" "$work/root" "$work/userland"
busybox_deb=$(newest_deb busybox-static)
dpkg-deb -x "$busybox_deb" "$work/busybox"
elf_ppc64le "$work/busybox/bin/busybox" || die "$busybox_deb has no ppc64le /bin/busybox"
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,root,tmp,etc,var/log,var/lock}
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
for applet in "${applets[@]}"; do ln -s busybox "$root/bin/$applet"; done
install -m 0755 "$init_src" "$root/init"

# The hotplug tools: the programs, every library they need (found by soname in the packages'
# library directories), and the dynamic loader their PT_INTERP names.
for package in "${userland_packages[@]}"; do
  dpkg-deb -x "$(newest_deb "$package")" "$work/userland"
done
# copy_file PATH: copies the packages' file /PATH into the initramfs at the same path; a symbolic
# link is copied as a link, and its target too.
copy_file() {
  local path=$1 target
  [ ! -e "$root/$path" ] && [ ! -L "$root/$path" ] || return 0
  mkdir -p "$root/$(dirname "$path")"
  if [ -L "$work/userland/$path" ]; then
    target=$(readlink "$work/userland/$path")
    cp -P "$work/userland/$path" "$root/$path"
    case $target in
      /*) copy_file "${target#/}" ;;
      *) copy_file "$(dirname "$path")/$target" ;;
    esac
  else
    [ -f "$work/userland/$path" ] || die "no /$path in ${userland_packages[*]}"
    cp "$work/userland/$path" "$root/$path"
  fi
}
library_dirs=(lib/powerpc64le-linux-gnu usr/lib/powerpc64le-linux-gnu)
# copy_needed ELF: copies the libraries ELF's NEEDED entries name, and theirs.
copy_needed() {
  local soname dir found sonames
  sonames=$("$readelf" --needed-libs "$1" | sed -n 's/^ \{1,\}\([^][ ]\{1,\}\)$/\1/p')
  for soname in $sonames; do
    found=
    for dir in "${library_dirs[@]}"; do
      if [ -e "$work/userland/$dir/$soname" ]; then found=$dir/$soname; break; fi
    done
    [ -n "$found" ] || die "$1 needs $soname, which none of ${userland_packages[*]} has"
    [ ! -e "$root/$found" ] || continue
    copy_file "$found"
    copy_needed "$work/userland/$found"
  done
}
for program in "${userland_programs[@]}"; do
  elf_ppc64le "$work/userland/$program" || die "/$program is not a ppc64le ELF"
  copy_file "$program"
  copy_needed "$work/userland/$program"
  interpreter=$("$readelf" --program-headers "$work/userland/$program" |
                  sed -n 's/.*Requesting program interpreter: \(.*\)\]$/\1/p')
  [ -n "$interpreter" ] || die "/$program names no program interpreter"
  copy_file "${interpreter#/}"
done

release=$(cat "$cache/KERNEL_VERSION")
mkdir -p "$root/lib/modules/$release"
cp "$cache/modules/$release/"*.ko "$cache/modules/$release/load-order" \
  "$root/lib/modules/$release/"

# No device nodes: the kernel's built-in initramfs already has /dev/console and /init mounts
# devtmpfs. -R 0:0, fixed mtimes and sorted names make the archive reproducible without root.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
   cpio --quiet --null -o -H newc -R 0:0 --reproducible) | gzip -n -9 >"$cache/initramfs.cpio.gz.new"
mv "$cache/initramfs.cpio.gz.new" "$cache/initramfs.cpio.gz"
stamp >"$cache/INITRAMFS_STAMP"

log "guest kit ready: $cache/vmlinux (Linux $(cat "$cache/KERNEL_VERSION")), $cache/initramfs.cpio.gz" \
    "($(du -k "$cache/initramfs.cpio.gz" | cut -f1) KiB)"
