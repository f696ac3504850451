#!/usr/bin/env bash
# Builds tern's disk kit: bootable test disk images laid out the way grub-install lays out a POWER
# disk (GRUB's core.elf raw in a PReP partition, /boot/grub on an ext4 root), cached outside the
# tree.
#
#   tools/disk-kit.sh [--print] [--check] [--grub-timeout SECONDS] [--guest-kit DIR] [CACHE_DIR]
#
# CACHE_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/tern/disk. On success it holds:
#   mbr.img      MBR: 1 = PReP (type 0x41, bootable flag) holding core.elf, 2 = Linux (0x83) ext4
#   gpt.img      GPT: 1 = PReP (9E1A2D38-C612-4316-AA26-8B49521E5A8B), 2 = Linux filesystem, ext4
#   noprep.img   MBR with only the Linux partition (no PReP: nothing for firmware to boot)
#   corrupt.img  mbr.img with a damaged MBR: 0x55AA signature zeroed, partition entries garbage
#   second.img   like mbr.img with its own disk id and UUIDs (for "boot the second disk" tests)
#   MANIFEST     one line per image: <name> <file> <table: mbr|gpt> <root-fs-uuid> <disk-id>
#   core/<name>.elf   the image's GRUB core.elf (also in its PReP partition and its /boot/grub)
#   initrd.img   the initramfs on every root file system (busybox, kernel modules, /init)
#   debs/        the .debs the kit is built from (about 5 MB), kept to rebuild offline
#   host/        grub-mkimage and sfdisk unpacked from the host architecture's .debs, with libraries
#   grub/        GRUB's powerpc-ieee1275 modules (from grub-ieee1275-bin)
#   kernel/<release>/ the kernel modules /init loads (.ko), load-order, VMLINUX_SHA256
#   STAMP        sha256 of the inputs (this script, the guest kit's kernel, the .debs, the options);
#                the images are rebuilt when it changes
#   check-<image>-<bus>.log  the consoles of the last --check
# Every image is 90 MiB (a sparse file, about 35 MB on disk) of 512-byte sectors. Partitions
# (start+length in sectors):
#   mbr, gpt, second, corrupt  1 = 2048+16384 (8 MiB PReP, core.elf at its start), 2 = 18432+163840
#   noprep                     1 = 2048+163840 (Linux)
# Each root file system (ext4, 4 KiB blocks, label tern-<name>) holds /boot/vmlinux (the guest kit's
# kernel), /boot/initrd.img, /boot/grub/grub.cfg, /boot/grub/powerpc-ieee1275/ (GRUB's modules and
# core.elf, as grub-install leaves them) and /etc/tern-disk-id (the disk id, "tern-<name>"). UUIDs,
# MBR disk signatures and GPT GUIDs are derived from the image names: every host and every rebuild
# gets the same ones.
#
# The boot chain: firmware loads core.elf from the PReP partition; its embedded load.cfg runs
# `search.fs_uuid <uuid> root` and sets prefix=($root)'/boot/grub'; normal.mod reads grub.cfg
# (terminal ofconsole in and out), whose one entry boots /boot/vmlinux with /boot/initrd.img and
# the command line
#   root=UUID=<uuid> ro tern.root=UUID=<uuid> console=hvc0
# /init (write_init below) loads the modules, finds the file system by that UUID and prints, one
# whole line each:
#   TERN-DISK: init-reached
#   TERN-DISK: cmdline <...>               /proc/cmdline as is (GRUB puts BOOT_IMAGE=... first)
#   TERN-DISK: insmod-failed <module>      only if a module failed to load
#   TERN-DISK: root-mounted <dev> <uuid>   e.g. `TERN-DISK: root-mounted /dev/vda2 8bc58229-...`
#   TERN-DISK: disk-id <content>           the first line of /etc/tern-disk-id, e.g. tern-mbr
#   TERN-DISK: root-not-found <uuid>       instead of the two above: not found within 10 s
#   TERN-DISK: mount-failed <dev>          instead of the two above: found, but mount failed
#   TERN-DISK: no-root-argument            the command line has no tern.root=UUID=...
#   TERN-DISK: poweroff                    then `poweroff -f` (QEMU with -no-reboot exits)
#
# --print prints the paths of the five images (mbr, gpt, noprep, corrupt, second), one per line,
# and exits 0 if the kit is present and current; otherwise it exits 1 and builds nothing. Without
# --print and --check, stdout is empty. A run with the kit present and current does nothing.
#
# How: like tools/guest-kit.sh, apt-get update and apt-get download with a private package-list and
# cache directory (CACHE_DIR/apt, deleted afterwards) and the architectures ppc64el and the host's,
# so the system's dpkg architectures and apt state are never touched and no root is needed. Nothing
# is installed: the host tools (grub-mkimage from grub-common, sfdisk from fdisk, and the libraries
# they link that a minimal system may lack: libdevmapper1.02.1, libfdisk1, libsmartcols1,
# libreadline8) are unpacked with dpkg-deb -x into CACHE_DIR/host and run from there with
# LD_LIBRARY_PATH. mkfs.ext4 is the host's (e2fsprogs, Priority: required; -d needs >= 1.43), run
# with a private mke2fs.conf so that every host makes the same file system. The kernel modules come
# from linux-image-<release> (release = the guest kit's KERNEL_VERSION), downloaded again (about
# 50 MB) and deleted once the needed .ko files are copied out; its vmlinux must be the guest kit's
# (else the modules would not match the kernel: the script then says to refresh the guest kit). The
# images are plain files: sfdisk writes the tables, dd writes core.elf and the file system at their
# partitions' offsets (no loop devices, no mount). Progress goes to stderr, prefixed "tern:".
set -euo pipefail

usage() {
  cat <<'EOF'
usage: tools/disk-kit.sh [--print] [--check] [--grub-timeout SECONDS] [--guest-kit DIR] [CACHE_DIR]

Builds test disk images that boot Debian's ppc64el kernel through GRUB the way grub-install sets up
a POWER disk: GRUB's core.elf raw in a PReP partition, /boot/grub and the kernel on an ext4 root.
CACHE_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/tern/disk and then holds:
  mbr.img      MBR: PReP (0x41, bootable) with core.elf + Linux (0x83) ext4 root
  gpt.img      GPT: PReP (9E1A2D38-C612-4316-AA26-8B49521E5A8B) + Linux filesystem ext4 root
  noprep.img   MBR with only the Linux partition (nothing to boot)
  corrupt.img  MBR whose 0x55AA signature is zeroed and whose partition entries are garbage
  second.img   like mbr.img with another disk id and UUIDs
  MANIFEST     per image: <name> <file> <table> <root-fs-uuid> <disk-id>
Booted, the root's /init prints `TERN-DISK: root-mounted <dev> <uuid>`, `TERN-DISK: disk-id
tern-<name>` and `TERN-DISK: poweroff` on the console (hvc0) and powers off; when the root file
system is not found within 10 s it prints `TERN-DISK: root-not-found <uuid>`. The header of this
script lists every line /init prints and the partition layout.

  --print               print the five image paths, one per line, and exit 0 if the kit is present
                        and current (built by this script with the same options); exit 1 otherwise
                        (nothing is built)
  --check               after building, boot mbr.img and gpt.img with QEMU's default firmware (SLOF)
                        on virtio-blk and on spapr-vscsi, and print the seconds from QEMU's start to
                        `TERN-DISK: root-mounted`; exit 1 if any boot fails (QEMU=... picks the
                        emulator; the consoles go to CACHE_DIR/check-<image>-<bus>.log)
  --grub-timeout SECONDS  GRUB's menu timeout in grub.cfg (default 1)
  --guest-kit DIR       the guest kit whose kernel is used (default
                        ${XDG_CACHE_HOME:-$HOME/.cache}/tern/guest); tools/guest-kit.sh builds it
                        first if needed
  --help                this text

The first run downloads about 55 MB from Debian (the kernel package again, for its modules, and
about 5 MB of GRUB, busybox, fdisk and libraries) and takes about 20 s; nothing is installed. Later
runs do nothing unless this script, the guest kit's kernel or an option changed (then the images
are rebuilt offline in about 10 s). Delete CACHE_DIR to fetch newer packages.
Example (QEMU's default firmware, SLOF; with -nodefaults the vty must be added for SLOF, GRUB and
Linux to print to stdio):
  qemu-system-ppc64 -M pseries -m 1G -display none -nodefaults -no-reboot \
    -chardev stdio,id=con,signal=off -device spapr-vty,chardev=con \
    -drive file=CACHE_DIR/mbr.img,if=none,id=d,format=raw,snapshot=on -device virtio-blk-pci,drive=d
spapr-vscsi: -device spapr-vscsi -device scsi-hd,drive=d instead of -device virtio-blk-pci,drive=d
(virtio-scsi: -device virtio-scsi-pci -device scsi-hd,drive=d). `-nographic` in place of
`-display none -nodefaults -chardev ... -device spapr-vty,...` works too: SLOF then picks the
default vty as its console. snapshot=on (or readonly=on) lets several QEMUs share an image; without
it QEMU locks the file for writing. Two disks and bootindex=N on their -device pick the boot disk.
EOF
}

print=no
check=no
grub_timeout=1
guest_kit=
cache=
while [ $# -gt 0 ]; do
  case $1 in
    --print) print=yes ;;
    --check) check=yes ;;
    --grub-timeout)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      grub_timeout=$2
      shift ;;
    --guest-kit)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      guest_kit=$2
      shift ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; exit 2 ;;
    *) [ -z "$cache" ] || { usage >&2; exit 2; }; cache=$1 ;;
  esac
  shift
done
case $grub_timeout in
  ''|*[!0-9]*) echo "tern: --grub-timeout takes a whole number of seconds" >&2; exit 2 ;;
esac
cache=${cache:-${XDG_CACHE_HOME:-$HOME/.cache}/tern/disk}
guest_kit=${guest_kit:-${XDG_CACHE_HOME:-$HOME/.cache}/tern/guest}

script=$(readlink -f "${BASH_SOURCE[0]}")
guest_kit_script=$(dirname "$script")/guest-kit.sh

images=(mbr gpt noprep corrupt second)
# Packages by architecture. The libraries are those grub-mkimage and sfdisk link that are not part
# of every Debian system (libc6, liblzma5, libselinux1, libudev1, libtinfo6, libblkid1 and libuuid1
# are: apt, coreutils, util-linux and bash need them).
target_packages=(grub-ieee1275-bin busybox-static)
host_packages=(grub-common fdisk libdevmapper1.02.1 libfdisk1 libsmartcols1 libreadline8)
# The kernel modules /init loads, before their dependencies are added (from each module's
# `depends=`): the disk drivers QEMU's pseries offers (virtio-blk and virtio-scsi on virtio-pci,
# spapr-vscsi = ibmvscsi), SCSI disks and ext4. Debian's powerpc64le config builds all of them as
# modules (CONFIG_VIRTIO_BLK=m, CONFIG_VIRTIO_PCI=m, CONFIG_SCSI_VIRTIO=m, CONFIG_SCSI_IBMVSCSI=m,
# CONFIG_BLK_DEV_SD=m, CONFIG_EXT4_FS=m; CONFIG_SCSI=y) and does not compress them
# (CONFIG_MODULE_COMPRESS_NONE=y). crc32c_generic and crct10dif_generic provide the crypto
# algorithms that ext4/jbd2 (`softdep=pre: crypto-crc32c`) and crc-t10dif (`softdep=pre:
# crct10dif`) look up at run time; a soft dependency is not in `depends=`, so they are named here.
root_modules=(crc32c_generic crct10dif_generic virtio_pci virtio_blk virtio_scsi ibmvscsi sd_mod
              ext4)
# The applets /init uses (sh runs it).
applets=(sh mount umount cat insmod findfs sleep poweroff dmesg tail)
# Geometry, in 512-byte sectors.
disk_bytes=$((90 * 1024 * 1024))
prep_start=2048
prep_sectors=16384
root_start=18432
root_sectors=163840
prep_guid=9E1A2D38-C612-4316-AA26-8B49521E5A8B
linux_fs_guid=0FC63DAF-8483-4772-8E79-3D69D8477DE4

# shellcheck source=tools/kit-lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/kit-lib.sh"

host_arch=$(dpkg --print-architecture)

# hex_of NAME LENGTH: LENGTH lower-case hex digits derived from NAME (stable across hosts).
hex_of() { printf 'tern-disk-kit:%s' "$1" | sha256sum | cut -c1-"$2"; }
# uuid_of NAME: a version-4-shaped UUID derived from NAME.
uuid_of() {
  local h
  h=$(hex_of "$1" 32)
  printf '%s-%s-4%s-8%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:13:3}" "${h:17:3}" "${h:20:12}"
}
root_uuid() { uuid_of "root:$1"; }
disk_id() { echo "tern-$1"; }
table_of() {
  case $1 in
    gpt) echo gpt ;;
    *) echo mbr ;;
  esac
}

print_paths() { local name; for name in "${images[@]}"; do echo "$cache/$name.img"; done; }

# The inputs the images depend on; the kit is current when STAMP holds this.
stamp() {
  {
    cat "$script"
    echo "grub-timeout=$grub_timeout"
    cat "$guest_kit/KERNEL_VERSION" 2>/dev/null || true
    sha256sum <"$guest_kit/vmlinux" 2>/dev/null || true
    (cd "$cache/debs" 2>/dev/null && ls) || true
  } | sha256sum | cut -d' ' -f1
}
kit_current() {
  local name
  for name in "${images[@]}"; do [ -s "$cache/$name.img" ] || return 1; done
  [ -s "$cache/MANIFEST" ] && [ -s "$cache/STAMP" ] && [ "$(cat "$cache/STAMP")" = "$(stamp)" ]
}

if [ -d "$cache" ] && kit_current; then
  [ "$print" = no ] || print_paths
  [ "$check" = yes ] || exit 0
elif [ "$print" = yes ]; then
  options=
  [ "$grub_timeout" = 1 ] || options+=" --grub-timeout $grub_timeout"
  [ "$guest_kit" = "${XDG_CACHE_HOME:-$HOME/.cache}/tern/guest" ] ||
    options+=" --guest-kit $guest_kit"
  log "no current disk kit in $cache; build it with: tools/disk-kit.sh$options $cache"
  exit 1
fi

# ---------------------------------------------------------------------------------------------
# Build.

mkfs_ext4=$(PATH=$PATH:/usr/sbin:/sbin command -v mkfs.ext4 || true)
[ -n "$mkfs_ext4" ] || die "'mkfs.ext4' is needed (Debian: e2fsprogs)"
for tool in apt-get apt-cache dpkg-deb cpio gzip flock od sha256sum truncate dd; do
  command -v "$tool" >/dev/null ||
    die "'$tool' is needed (Debian: apt, dpkg, cpio, gzip, util-linux, coreutils)"
done

build_kit() {
  # The kernel: the guest kit's.
  if ! "$guest_kit_script" --print "$guest_kit" >/dev/null 2>&1; then
    log "building the guest kit first (its kernel goes on the disks): tools/guest-kit.sh $guest_kit"
    "$guest_kit_script" "$guest_kit"
  fi
  local kernel_release vmlinux_sha
  kernel_release=$(cat "$guest_kit/KERNEL_VERSION")
  vmlinux_sha=$(sha256sum <"$guest_kit/vmlinux" | cut -d' ' -f1)

  mkdir -p "$cache"
  cache=$(cd "$cache" && pwd)
  # One builder at a time; the second one finds the kit built.
  exec 9>"$cache/.lock"
  flock 9
  if kit_current; then return 0; fi

  local build_start
  build_start=$(date +%s)
  work=$(mktemp -d "$cache/.work.XXXXXX")
  trap 'rm -rf "$work" "$cache/apt"' EXIT

  apt_opts=(-q -o APT::Architecture="$host_arch" -o APT::Architectures="$host_arch,ppc64el"
            -o Dir::State::Lists="$cache/apt/lists" -o Dir::Cache="$cache/apt/cache"
            -o Debug::NoLocking=1 -o Acquire::Languages=none)
  # As root, apt downloads as the user _apt, who cannot write into root's home.
  [ "$(id -u)" -ne 0 ] || apt_opts+=(-o APT::Sandbox::User=root)

  # The .debs.
  mkdir -p "$cache/debs"
  local missing=() package
  for package in "${target_packages[@]}"; do
    deb_of "$package" ppc64el >/dev/null || missing+=("$package:ppc64el")
  done
  for package in "${host_packages[@]}"; do
    deb_of "$package" "$host_arch" >/dev/null || missing+=("$package:$host_arch")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt_update
    log "downloading ${missing[*]}"
    download "$cache/debs" "${missing[@]}"
    for package in "${missing[@]}"; do
      deb_of "${package%%:*}" "${package##*:}" >/dev/null ||
        die "apt-get download left no $package .deb"
    done
  fi

  unpack_host_tools
  unpack_grub_modules
  extract_kernel_modules "$kernel_release" "$vmlinux_sha"
  build_initramfs "$kernel_release"

  cat >"$work/mke2fs.conf" <<'EOF'
[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384
[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
	small = {
		inode_ratio = 16384
	}
EOF
  mkdir -p "$cache/core"
  local name
  : >"$work/MANIFEST"
  for name in "${images[@]}"; do
    build_image "$name"
    printf '%s %s %s %s %s\n' "$name" "$name.img" "$(table_of "$name")" "$(root_uuid "$name")" \
      "$(disk_id "$name")" >>"$work/MANIFEST"
  done
  mv "$work/MANIFEST" "$cache/MANIFEST"
  stamp >"$cache/STAMP"
  log "disk kit ready in $cache (built in $(( $(date +%s) - build_start )) s): ${images[*]/%/.img}"
}

apt_archs="ppc64el and $host_arch"

# deb_of PACKAGE ARCH: prints the path of the kept .deb (the last by name if several) or fails.
deb_of() {
  local debs=("$cache/debs/$1_"*"_$2.deb")
  [ -f "${debs[-1]}" ] || return 1
  echo "${debs[-1]}"
}

# elf_ppc64le FILE: succeeds if FILE is an ELF of class 64, little-endian, machine 21 (EM_PPC64).
elf_ppc64le() {
  [ "$(od -An -tx1 -N6 "$1" | tr -d ' \n')" = 7f454c460201 ] &&
    [ "$(od -An -tx1 -j18 -N2 "$1" | tr -d ' \n')" = 1500 ]
}

# host_run TOOL ARGS...: runs an unpacked host tool with its unpacked libraries.
host_run() {
  local tool=$1
  shift
  LD_LIBRARY_PATH=$host_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$cache/host/$tool" "$@"
}

unpack_host_tools() {
  local package stamp_now
  stamp_now=$(for package in "${host_packages[@]}"; do
                basename "$(deb_of "$package" "$host_arch")"
              done)
  if [ "$(cat "$cache/host/.debs" 2>/dev/null)" != "$stamp_now" ]; then
    rm -rf "$cache/host"
    mkdir "$work/host"
    for package in "${host_packages[@]}"; do
      dpkg-deb -x "$(deb_of "$package" "$host_arch")" "$work/host"
    done
    # Only the two tools and the shared libraries are used.
    echo "$stamp_now" >"$work/host/.debs"
    mv "$work/host" "$cache/host"
  fi
  host_libs=$(find "$cache/host" -name '*.so*' -printf '%h\n' | sort -u | paste -sd:)
  host_run usr/bin/grub-mkimage --version >/dev/null 2>"$work/err" ||
    die "the unpacked grub-mkimage does not run: $(cat "$work/err")"
  host_run sbin/sfdisk --version >/dev/null 2>"$work/err" ||
    die "the unpacked sfdisk does not run: $(cat "$work/err")"
}

unpack_grub_modules() {
  local deb
  deb=$(deb_of grub-ieee1275-bin ppc64el)
  if [ "$(cat "$cache/grub/.deb" 2>/dev/null)" != "$(basename "$deb")" ]; then
    rm -rf "$cache/grub"
    mkdir "$work/grub-deb"
    dpkg-deb -x "$deb" "$work/grub-deb"
    [ -f "$work/grub-deb/usr/lib/grub/powerpc-ieee1275/kernel.img" ] ||
      die "$deb has no /usr/lib/grub/powerpc-ieee1275/kernel.img"
    mv "$work/grub-deb/usr/lib/grub" "$cache/grub"
    basename "$deb" >"$cache/grub/.deb"
  fi
}

# extract_kernel_modules RELEASE VMLINUX_SHA256: fills CACHE_DIR/kernel/RELEASE with the modules of
# root_modules and their dependencies and writes load-order (dependencies first).
extract_kernel_modules() {
  local release=$1 vmlinux_sha=$2 dir=$cache/kernel/$1
  if [ "$(cat "$dir/VMLINUX_SHA256" 2>/dev/null)" = "$vmlinux_sha" ] &&
       [ -s "$dir/load-order" ]; then
    return 0
  fi
  rm -rf "$cache/kernel"
  apt_update
  local package=linux-image-$release
  log "downloading $package again for its modules (about 50 MB, deleted afterwards)"
  apt-cache "${apt_opts[@]}" show "$package:ppc64el" >/dev/null 2>&1 ||
    die "Debian's lists no longer have $package (a newer kernel replaced it); refresh the guest" \
        "kit (rm -rf $guest_kit && tools/guest-kit.sh $guest_kit) and run this again"
  mkdir "$work/kdeb" "$work/kernel"
  download "$work/kdeb" "$package:ppc64el"
  local deb
  deb=$(echo "$work/kdeb/${package}"_*.deb)
  [ -f "$deb" ] || die "apt-get download left no $package .deb"
  dpkg-deb --fsys-tarfile "$deb" |
    tar -x -C "$work/kernel" --wildcards './boot/vmlinux-*' "./lib/modules/$release/kernel/*"
  rm -f "$deb"
  [ "$(sha256sum <"$work/kernel/boot/vmlinux-$release" | cut -d' ' -f1)" = "$vmlinux_sha" ] ||
    die "$package in Debian's lists is not the build in $guest_kit/vmlinux; refresh the guest kit" \
        "(rm -rf $guest_kit && tools/guest-kit.sh $guest_kit) so that kernel and modules match"
  # name -> path of every module (names compare with '-' as '_', like the kernel does).
  declare -A module_path=()
  local path name
  while IFS= read -r path; do
    name=${path##*/}
    name=${name%.ko}
    module_path[${name//-/_}]=$path
  done < <(cd "$work/kernel/lib/modules/$release" && find kernel -name '*.ko')
  # Depth-first, dependencies before dependants.
  declare -A visited=()
  local order=()
  visit() {
    local key=${1//-/_} dependency deps
    [ -z "${visited[$key]:-}" ] || return 0
    visited[$key]=1
    [ -n "${module_path[$key]:-}" ] || die "$package has no module $1"
    deps=$(tr '\0' '\n' <"$work/kernel/lib/modules/$release/${module_path[$key]}" |
             sed -n 's/^depends=//p' | head -1)
    for dependency in ${deps//,/ }; do visit "$dependency"; done
    order+=("${module_path[$key]}")
  }
  for name in "${root_modules[@]}"; do visit "$name"; done
  mkdir -p "$work/modules"
  for path in "${order[@]}"; do
    elf_ppc64le "$work/kernel/lib/modules/$release/$path" ||
      die "$path is not a ppc64le ELF (compressed?)"
    cp "$work/kernel/lib/modules/$release/$path" "$work/modules/"
    basename "$path" >>"$work/modules/load-order"
  done
  echo "$vmlinux_sha" >"$work/modules/VMLINUX_SHA256"
  mkdir -p "$cache/kernel"
  mv "$work/modules" "$dir"
  rm -rf "$work/kernel"
  log "kernel modules for $release: $(paste -sd' ' "$dir/load-order")"
}

# The initramfs's /init (busybox ash).
write_init() {
  cat >"$1" <<'EOF'
#!/bin/sh
# /init of tern's disk-kit initramfs, written by tools/disk-kit.sh (whose header lists the lines
# printed here). Loads the disk and file system modules, finds the file system named by
# tern.root=UUID=<uuid> on the kernel command line, mounts it read-only at /mnt, reports and powers
# off.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
# Kernel messages would interleave with the report lines.
echo 1 >/proc/sys/kernel/printk
echo "TERN-DISK: init-reached"
read -r cmdline </proc/cmdline
echo "TERN-DISK: cmdline $cmdline"

finish() {
  echo "TERN-DISK: poweroff"
  poweroff -f
  sleep 10
}

for module in $(cat /lib/modules/load-order); do
  insmod "/lib/modules/$module" || echo "TERN-DISK: insmod-failed ${module%.ko}"
done

uuid=
for word in $cmdline; do
  case $word in
    tern.root=UUID=*) uuid=${word#tern.root=UUID=} ;;
  esac
done
if [ -z "$uuid" ]; then
  echo "TERN-DISK: no-root-argument"
  finish
fi

# SCSI scans and partition reads may finish after insmod returns: look for up to 10 s.
read -r uptime _ </proc/uptime
deadline=$(( ${uptime%.*} + 10 ))
device=
while :; do
  device=$(findfs "UUID=$uuid" 2>/dev/null) && [ -n "$device" ] && break
  read -r uptime _ </proc/uptime
  if [ "${uptime%.*}" -ge "$deadline" ]; then
    echo "TERN-DISK: root-not-found $uuid"
    cat /proc/partitions
    dmesg | tail -n 40
    finish
  fi
  sleep 0.1 2>/dev/null || sleep 1
done

if ! mount -t ext4 -o ro "$device" /mnt; then
  echo "TERN-DISK: mount-failed $device"
  finish
fi
echo "TERN-DISK: root-mounted $device $uuid"
disk_id=
read -r disk_id </mnt/etc/tern-disk-id || :
echo "TERN-DISK: disk-id $disk_id"
umount /mnt
finish
EOF
}

build_initramfs() {
  local release=$1 root=$work/initramfs
  mkdir -p "$root"/{bin,dev,proc,sys,mnt,lib/modules} "$work/busybox"
  dpkg-deb -x "$(deb_of busybox-static ppc64el)" "$work/busybox"
  elf_ppc64le "$work/busybox/bin/busybox" || die "busybox-static has no ppc64le /bin/busybox"
  cp "$work/busybox/bin/busybox" "$root/bin/busybox"
  local applet
  for applet in "${applets[@]}"; do ln -s busybox "$root/bin/$applet"; done
  write_init "$root/init"
  chmod 0755 "$root/init"
  cp "$cache/kernel/$release/"*.ko "$cache/kernel/$release/load-order" "$root/lib/modules/"
  # No device nodes: the kernel's built-in initramfs has /dev/console. -R 0:0, fixed mtimes and
  # sorted names make the archive reproducible without root.
  find "$root" -exec touch -h -d @0 {} +
  (cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
     cpio --quiet --null -o -H newc -R 0:0 --reproducible) | gzip -n -9 >"$work/initrd.img"
  mv "$work/initrd.img" "$cache/initrd.img"
}

# build_image NAME: writes CACHE_DIR/NAME.img and CACHE_DIR/core/NAME.elf.
build_image() {
  local name=$1 uuid id root=$work/root-$1 disk=$work/$1.img
  uuid=$(root_uuid "$name")
  id=$(disk_id "$name")

  # GRUB's core image, as grub-install makes it for powerpc-ieee1275 (util/grub-install.c): the
  # partition map and file system modules of the /boot/grub disk and search_fs_uuid, with a load.cfg
  # that finds /boot/grub by the file system's UUID; everything else is loaded from the prefix.
  cat >"$work/load.cfg" <<EOF
search.fs_uuid $uuid root
set prefix=(\$root)'/boot/grub'
EOF
  local partmap=part_msdos
  [ "$(table_of "$name")" = mbr ] || partmap=part_gpt
  host_run usr/bin/grub-mkimage -O powerpc-ieee1275 -d "$cache/grub/powerpc-ieee1275" \
    -p /boot/grub -c "$work/load.cfg" -o "$work/core.elf" "$partmap" ext2 search_fs_uuid
  [ "$(stat -c %s "$work/core.elf")" -le $((prep_sectors * 512)) ] ||
    die "core.elf exceeds the PReP partition"

  mkdir -p "$root/boot/grub/powerpc-ieee1275" "$root/etc"
  ln "$guest_kit/vmlinux" "$root/boot/vmlinux" 2>/dev/null ||
    cp "$guest_kit/vmlinux" "$root/boot/vmlinux"
  cp "$cache/initrd.img" "$root/boot/initrd.img"
  cp "$cache/grub/powerpc-ieee1275/"*.{mod,lst} "$root/boot/grub/powerpc-ieee1275/"
  cp "$work/core.elf" "$root/boot/grub/powerpc-ieee1275/core.elf"
  echo "$id" >"$root/etc/tern-disk-id"
  cat >"$root/boot/grub/grub.cfg" <<EOF
# Written by tern's tools/disk-kit.sh for the test disk $name.img.
terminal_input ofconsole
terminal_output ofconsole
set default=0
set timeout=$grub_timeout
menuentry 'Debian GNU/Linux (tern test disk $name)' {
	search --no-floppy --fs-uuid --set=root $uuid
	linux /boot/vmlinux root=UUID=$uuid ro tern.root=UUID=$uuid console=hvc0
	initrd /boot/initrd.img
}
EOF
  truncate -s $((root_sectors * 512)) "$work/root.ext4"
  MKE2FS_CONFIG=$work/mke2fs.conf "$mkfs_ext4" -q -F -t ext4 -U "$uuid" -L "tern-$name" \
    -E root_owner=0:0 -d "$root" "$work/root.ext4" >&2
  rm -rf "$root"

  truncate -s "$disk_bytes" "$disk"
  local start=$root_start
  {
    echo "unit: sectors"
    case $name in
      gpt)
        echo "label: gpt"
        echo "label-id: $(uuid_of "disk:$name")"
        echo "start=$prep_start, size=$prep_sectors, type=$prep_guid," \
             "uuid=$(uuid_of "prep:$name"), name=PReP"
        echo "start=$root_start, size=$root_sectors, type=$linux_fs_guid," \
             "uuid=$(uuid_of "part:$name"), name=root" ;;
      noprep)
        start=$prep_start
        echo "label: dos"
        echo "label-id: 0x$(hex_of "disk:$name" 8)"
        echo "start=$prep_start, size=$root_sectors, type=83" ;;
      *)
        echo "label: dos"
        echo "label-id: 0x$(hex_of "disk:$name" 8)"
        echo "start=$prep_start, size=$prep_sectors, type=41, bootable"
        echo "start=$root_start, size=$root_sectors, type=83" ;;
    esac
  } >"$work/table"
  host_run sbin/sfdisk -q --no-reread --no-tell-kernel "$disk" <"$work/table" >&2 ||
    die "sfdisk failed on $name.img"
  if [ "$name" != noprep ]; then
    dd if="$work/core.elf" of="$disk" bs=512 seek=$prep_start conv=notrunc status=none
  fi
  dd if="$work/root.ext4" of="$disk" bs=1M seek=$((start / 2048)) conv=notrunc,sparse status=none
  rm -f "$work/root.ext4"
  if [ "$name" = corrupt ]; then
    # The four 16-byte partition entries (offset 446) become bytes that describe no sane partition
    # (derived from the name, so every build writes the same), and the signature (offset 510) 0000.
    local garbage
    garbage=$(hex_of "garbage-1:$name" 64)$(hex_of "garbage-2:$name" 64)
    printf '%b' "$(printf '%s' "$garbage" | sed 's/../\\x&/g')" |
      dd of="$disk" bs=1 seek=446 count=64 conv=notrunc status=none
    printf '\0\0' | dd of="$disk" bs=1 seek=510 count=2 conv=notrunc status=none
  fi
  mv "$work/core.elf" "$cache/core/$name.elf"
  mv "$disk" "$cache/$name.img"
}

# ---------------------------------------------------------------------------------------------
# Check: boot mbr.img and gpt.img under SLOF.

# boot_once IMAGE BUS: boots IMAGE on BUS (virtio-blk or spapr-vscsi) and prints the seconds from
# QEMU's start to `TERN-DISK: root-mounted`, or fails.
boot_once() {
  local image=$1 bus=$2 qemu=${QEMU:-qemu-system-ppc64} devices console_log
  case $bus in
    virtio-blk) devices=(-device "virtio-blk-pci,drive=d") ;;
    spapr-vscsi) devices=(-device spapr-vscsi -device "scsi-hd,drive=d") ;;
  esac
  console_log=$cache/check-${image%.img}-$bus.log
  local command=("$qemu" -M pseries -m 1G -display none -nodefaults -no-reboot
                 -chardev "stdio,id=con,signal=off" -device "spapr-vty,chardev=con"
                 -drive "file=$cache/$image,if=none,id=d,format=raw,snapshot=on" "${devices[@]}")
  # Microseconds (EPOCHREALTIME's decimal separator follows the locale).
  local start=${EPOCHREALTIME/[.,]/} mounted='' id='' line
  while IFS= read -r line; do
    line=${line%$'\r'}
    printf '%s\n' "$line" >>"$console_log"
    case $line in
      *"TERN-DISK: root-mounted "*) mounted=${EPOCHREALTIME/[.,]/} ;;
      *"TERN-DISK: disk-id "*) id=${line##*TERN-DISK: disk-id } ;;
    esac
  done < <(: >"$console_log"; timeout 120 "${command[@]}" </dev/null 2>&1)
  if [ -z "$mounted" ]; then
    log "$image on $bus: no 'TERN-DISK: root-mounted' within 120 s; console in $console_log"
    log "command: ${command[*]}"
    return 1
  fi
  [ "$id" = "$(disk_id "${image%.img}")" ] ||
    { log "$image on $bus: disk-id '$id', expected $(disk_id "${image%.img}")"; return 1; }
  local centiseconds=$(( (mounted - start) / 10000 ))
  printf '%d.%02d\n' $((centiseconds / 100)) $((centiseconds % 100))
}

check_kit() {
  local image bus seconds failed=0
  for image in mbr.img gpt.img; do
    for bus in virtio-blk spapr-vscsi; do
      if seconds=$(boot_once "$image" "$bus"); then
        echo "$image $bus SLOF: root-mounted after $seconds s"
      else
        echo "$image $bus SLOF: FAILED"
        failed=1
      fi
    done
  done
  return $failed
}

if ! { [ -d "$cache" ] && kit_current; }; then
  build_kit
fi
cache=$(cd "$cache" && pwd)
[ "$check" = no ] || check_kit
