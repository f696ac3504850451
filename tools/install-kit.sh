#!/usr/bin/env bash
# Builds tern's install kit: CD images (ISO 9660, as grub-mkrescue makes them for POWER) that boot
# the way a distribution's install media do, cached outside the tree.
#
#   tools/install-kit.sh [--print] [--check] [--grub-timeout SECONDS] [CACHE_DIR]
#
# CACHE_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/tern/install. On success it holds:
#   debian-installer.iso  Debian 12's installer for ppc64el (debian-installer-12-netboot-ppc64el:
#                         text/debian-installer/ppc64el/{vmlinux,initrd.gz}) as /install/vmlinux and
#                         /install/initrd.gz, with GRUB (/boot/grub/powerpc.elf) booting it with
#                         console=hvc0; about 72 MiB
#   missing-file.iso      a small GRUB ISO whose /ppc/bootinfo.txt names
#                         \boot\grub\tern-missing.elf, which is not on the disc (everything else
#                         as grub-mkrescue makes it)
#   reboot.iso            a small GRUB ISO whose grub.cfg prints a line and runs `reboot` (for
#                         -boot once=d: the CD boots once, then the disk)
#   MANIFEST              one line per image: <name> <file> <bytes> <boot file named by
#                         /ppc/bootinfo.txt> <what it boots>
#   debs/                 the .debs the kit is built from (about 36 MB), kept to rebuild offline
#   host/                 grub-mkrescue unpacked from grub-common with the libraries it links that a
#                         minimal system lacks (libefivar1, libefiboot1, libdevmapper1.02.1)
#   grub/                 GRUB's powerpc-ieee1275 platform directory (from grub-ieee1275-bin)
#   installer/            vmlinux, initrd.gz and VERSION of the installer (the .deb's version)
#   STAMP                 sha256 of the inputs (this script, the .debs, the options); the images
#                         are rebuilt when it changes
#   check-<image>.log     the console of the last --check
#
# Every image is what `grub-mkrescue -d <grub-ieee1275-bin>/usr/lib/grub/powerpc-ieee1275` makes:
# ISO 9660 with Rock Ridge and an HFS+ hybrid for Apple machines, /ppc/bootinfo.txt (CHRP: its
# <boot-script> is `boot &device;:\boot\grub\powerpc.elf`), /ppc/chrp/, /System/Library/
# CoreServices/BootX, /boot/grub/powerpc.elf (GRUB's core image, whose embedded config finds the
# disc by its ISO UUID and sets prefix=($root)/boot/grub), GRUB's modules in
# /boot/grub/powerpc-ieee1275/, and the image's own /boot/grub/grub.cfg, which starts with
# `terminal_output ofconsole` and prints, before anything else, three lines (separate: GRUB wraps
# its output at 80 columns):
#   TERN-INSTALL: booted <image name>.iso
#   TERN-INSTALL: root <GRUB's $root>          e.g. ieee1275/cdrom (SLOF's alias for the CD)
#   TERN-INSTALL: prefix <GRUB's $prefix>      e.g. (ieee1275/cdrom)/boot/grub
# debian-installer.iso's grub.cfg then has one menu entry (timeout --grub-timeout, default 1 s):
#   linux /install/vmlinux console=hvc0 --- quiet
#   initrd /install/initrd.gz
# and the installer's first dialog (localechooser, "Select a language") appears on hvc0. The
# installer's text frontend on a serial console is newt with escape sequences; the line the tests
# match is its title, "[!!] Select a language". reboot.iso's grub.cfg prints
#   TERN-INSTALL: reboot.iso: rebooting
# and runs `reboot`. missing-file.iso's grub.cfg (never read by a firmware that follows
# bootinfo.txt) prints `TERN-INSTALL: missing-file.iso booted anyway` and halts.
# The volume ids are TERN_DI, TERN_MISSING and TERN_REBOOT; every file's and directory's date is
# 2024-01-01 00:00:00 UTC (xorriso's --set_all_file_dates) and grub-mkrescue's ISO UUID comes from
# its --modification-date, 2024-01-01-00-00-00-00, so every build writes the same images, byte for
# byte, from the same .debs.
#
# --print prints the paths of the three images, one per line, and exits 0 if the kit is present
# and current; otherwise it exits 1 and builds nothing. Without --print and --check, stdout is
# empty. A run with the kit present and current does nothing.
#
# How: like tools/disk-kit.sh, apt-get update and apt-get download with a private package-list and
# cache directory (CACHE_DIR/apt, deleted afterwards) and the architectures ppc64el and the host's,
# so the system's dpkg architectures and apt state are never touched and no root is needed.
# Nothing is installed: grub-mkrescue (grub-common) and the libraries it links that are not on
# every Debian system are unpacked with dpkg-deb -x into CACHE_DIR/host and run from there with
# LD_LIBRARY_PATH and pkgdatadir pointing there. xorriso, which grub-mkrescue runs to write the
# image, is the host's (Debian: xorriso; tools/deps.sh test installs it). Progress goes to stderr,
# prefixed "tern:".
set -euo pipefail

usage() {
  cat <<'EOF'
usage: tools/install-kit.sh [--print] [--check] [--grub-timeout SECONDS] [CACHE_DIR]

Builds CD images (ISO 9660, made by grub-mkrescue for powerpc-ieee1275 as a distribution's POWER
install media are) for tern's install-media tests. CACHE_DIR defaults to
${XDG_CACHE_HOME:-$HOME/.cache}/tern/install and then holds:
  debian-installer.iso  Debian 12's installer for ppc64el (debian-installer-12-netboot-ppc64el)
                        with GRUB booting it on console=hvc0 (about 72 MiB)
  missing-file.iso      a GRUB ISO whose /ppc/bootinfo.txt names \boot\grub\tern-missing.elf,
                        a file that is not on the disc
  reboot.iso            a GRUB ISO whose grub.cfg runs `reboot` (for -boot once=d)
  MANIFEST              per image: <name> <file> <bytes> <boot file of bootinfo.txt> <what>
Booted, each image's GRUB prints `TERN-INSTALL: booted <image>.iso`, then its $root and $prefix;
debian-installer.iso then boots the installer, whose first dialog is "[!!] Select a language".
The header of this script has the details.

  --print               print the three image paths, one per line, and exit 0 if the kit is
                        present and current (built by this script with the same options); exit 1
                        otherwise (nothing is built)
  --check               after building, boot debian-installer.iso with QEMU's default firmware
                        (SLOF) from -cdrom and print the seconds from QEMU's start to GRUB and to
                        the installer's first dialog; exit 1 if it does not get there (QEMU=...
                        picks the emulator; the console goes to
                        CACHE_DIR/check-debian-installer.log)
  --grub-timeout SECONDS  GRUB's menu timeout in debian-installer.iso's grub.cfg (default 1)
  --help                this text

The first run downloads about 36 MB from Debian (the installer, 31 MB, and GRUB with its libraries)
and takes about 15 s; nothing is installed. Later runs do nothing unless this script or an option
changed (then the images are rebuilt offline in a few seconds). Delete CACHE_DIR to fetch newer
packages. Needs xorriso (Debian: xorriso).
Example (QEMU's default firmware, SLOF; the installer's dialogs appear on this terminal):
  qemu-system-ppc64 -M pseries -m 2G -nographic -cdrom CACHE_DIR/debian-installer.iso
The same CD on virtio-scsi: -device virtio-scsi-pci,id=s -drive file=...,if=none,id=cd,media=cdrom,
readonly=on -device scsi-cd,drive=cd,bus=s.0; as a virtio-blk disk: -drive file=...,if=none,id=d,
format=raw,readonly=on -device virtio-blk-pci,drive=d.
EOF
}

print=no
check=no
grub_timeout=1
cache=
while [ $# -gt 0 ]; do
  case $1 in
    --print) print=yes ;;
    --check) check=yes ;;
    --grub-timeout)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      grub_timeout=$2
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
cache=${cache:-${XDG_CACHE_HOME:-$HOME/.cache}/tern/install}

script=$(readlink -f "${BASH_SOURCE[0]}")

images=(debian-installer missing-file reboot)
# Packages by architecture. debian-installer-12-netboot-ppc64el is Architecture: all (the images of
# the installer for ppc64el); grub-ieee1275-bin is ppc64el's GRUB platform directory. The host's
# grub-mkrescue (grub-common) links libefivar.so.1, libefiboot.so.1 and libdevmapper.so.1.02.1,
# which a minimal system lacks; its other libraries (libc6, liblzma5, libselinux1, libudev1,
# libpcre2-8-0) are on every Debian system.
installer_package=debian-installer-12-netboot-ppc64el
target_packages=(grub-ieee1275-bin)
host_packages=(grub-common libefivar1 libefiboot1 libdevmapper1.02.1)
# Where the installer's files are in its package.
installer_dir=usr/lib/debian-installer/images/12/ppc64el/text/debian-installer/ppc64el
# The file missing-file.iso's bootinfo.txt names instead of powerpc.elf.
missing_file='\boot\grub\tern-missing.elf'
# The files' dates in every image (2024-01-01 00:00:00 UTC) and grub-mkrescue's ISO UUID, which is
# this date (YYYY-MM-DD-hh-mm-ss-cc).
date_epoch=1704067200
iso_date=2024010100000000

# shellcheck source=tools/kit-lib.sh
. "$(dirname "$script")/kit-lib.sh"

host_arch=$(dpkg --print-architecture)

print_paths() { local name; for name in "${images[@]}"; do echo "$cache/$name.iso"; done; }

# The inputs the images depend on; the kit is current when STAMP holds this.
stamp() {
  {
    cat "$script" "$(dirname "$script")/kit-lib.sh"
    echo "grub-timeout=$grub_timeout"
    (cd "$cache/debs" 2>/dev/null && ls) || true
  } | sha256sum | cut -d' ' -f1
}
kit_current() {
  local name
  for name in "${images[@]}"; do [ -s "$cache/$name.iso" ] || return 1; done
  [ -s "$cache/MANIFEST" ] && [ -s "$cache/STAMP" ] && [ "$(cat "$cache/STAMP")" = "$(stamp)" ]
}

if [ -d "$cache" ] && kit_current; then
  [ "$print" = no ] || print_paths
  [ "$check" = yes ] || exit 0
elif [ "$print" = yes ]; then
  options=
  [ "$grub_timeout" = 1 ] || options+=" --grub-timeout $grub_timeout"
  log "no current install kit in $cache; build it with: tools/install-kit.sh$options $cache"
  exit 1
fi

# ---------------------------------------------------------------------------------------------
# Build.

for tool in apt-get apt-cache dpkg-deb flock sha256sum xorriso; do
  command -v "$tool" >/dev/null ||
    die "'$tool' is needed (Debian: apt, dpkg, util-linux, coreutils, xorriso;" \
        "tools/deps.sh test installs them)"
done

build_kit() {
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

  prepare_grub_kit grub-mkrescue

  : >"$work/MANIFEST"
  local name
  for name in "${images[@]}"; do
    build_image "$name"
  done
  mv "$work/MANIFEST" "$cache/MANIFEST"
  stamp >"$cache/STAMP"
  local sizes=()
  for name in "${images[@]}"; do
    sizes+=("$name.iso ($(( $(stat -c %s "$cache/$name.iso") / 1024 )) KiB)")
  done
  log "install kit ready in $cache (built in $(( $(date +%s) - build_start )) s): ${sizes[*]}"
}

apt_archs="ppc64el and $host_arch"
# grub_cfg NAME: the grub.cfg of image NAME on stdout.
grub_cfg() {
  cat <<EOF
# Written by tern's tools/install-kit.sh for $1.iso.
terminal_input ofconsole
terminal_output ofconsole
echo "TERN-INSTALL: booted $1.iso"
echo "TERN-INSTALL: root \$root"
echo "TERN-INSTALL: prefix \$prefix"
EOF
  case $1 in
    debian-installer)
      cat <<EOF
set default=0
set timeout=$grub_timeout
menuentry 'Debian GNU/Linux 12 installer (ppc64el, text, console=hvc0)' {
	linux /install/vmlinux console=hvc0 --- quiet
	initrd /install/initrd.gz
}
EOF
      ;;
    reboot)
      cat <<'EOF'
echo "TERN-INSTALL: reboot.iso: rebooting"
reboot
EOF
      ;;
    missing-file)
      cat <<'EOF'
echo "TERN-INSTALL: missing-file.iso booted anyway"
halt
EOF
      ;;
  esac
}

# build_image NAME: writes CACHE_DIR/NAME.iso and its MANIFEST line.
build_image() {
  local name=$1 tree=$work/tree-$1 platform=$cache/grub/powerpc-ieee1275 volid boot_file what
  boot_file='\boot\grub\powerpc.elf'
  mkdir -p "$tree/boot/grub"
  case $name in
    debian-installer)
      volid=TERN_DI
      what="$installer_package=$(cat "$cache/installer/VERSION")"
      mkdir -p "$tree/install"
      cp "$cache/installer/vmlinux" "$cache/installer/initrd.gz" "$tree/install/" ;;
    missing-file)
      volid=TERN_MISSING
      what='missing-boot-file'
      boot_file=$missing_file
      # grub-mkrescue copies the platform directory's bootinfo.txt to /ppc/bootinfo.txt: a copy
      # of the directory with the boot script naming another file.
      cp -r "$platform" "$work/platform-missing"
      platform=$work/platform-missing
      local escaped=${missing_file//\\/\\\\}
      sed -i "s|boot &device;:\\\\boot\\\\grub\\\\powerpc.elf|boot \&device;:$escaped|" \
        "$platform/bootinfo.txt"
      grep -qF "boot &device;:$missing_file</boot-script>" "$platform/bootinfo.txt" ||
        die "could not rewrite bootinfo.txt's boot-script for missing-file.iso" ;;
    reboot)
      volid=TERN_REBOOT
      what='grub-reboot' ;;
  esac
  grub_cfg "$name" >"$tree/boot/grub/grub.cfg"
  find "$tree" -exec touch -h -d "@$date_epoch" {} +
  # --fonts= --locales= --themes=: GRUB runs on the firmware's console (ofconsole), no gfxterm.
  # Arguments after the tree go to xorriso (-as mkisofs).
  SOURCE_DATE_EPOCH=$date_epoch host_run usr/bin/grub-mkrescue -d "$platform" \
    --fonts= --locales= --themes= --modification-date="$iso_date" \
    -o "$work/$name.iso" "$tree" -volid "$volid" --set_all_file_dates "$iso_date" \
    >"$work/mkrescue.log" 2>&1 ||
    die "grub-mkrescue failed for $name.iso: $(tail -n 20 "$work/mkrescue.log")"
  # What the firmware reads: bootinfo.txt's boot script, and (but for missing-file) the file it
  # names.
  xorriso -indev "$work/$name.iso" -osirrox on -extract /ppc/bootinfo.txt "$work/bootinfo.txt" \
    >/dev/null 2>&1 || die "$name.iso has no /ppc/bootinfo.txt"
  grep -qF "boot &device;:$boot_file</boot-script>" "$work/bootinfo.txt" ||
    die "$name.iso's /ppc/bootinfo.txt does not boot $boot_file"
  local iso_path=${boot_file//\\//}
  if [ "$name" = missing-file ]; then
    ! xorriso -indev "$work/$name.iso" -find "$iso_path" >/dev/null 2>&1 ||
      die "$name.iso has $iso_path, which must be missing"
  fi
  xorriso -indev "$work/$name.iso" -find /boot/grub/powerpc.elf >/dev/null 2>&1 ||
    die "$name.iso has no /boot/grub/powerpc.elf"
  rm -f "$work/bootinfo.txt"
  rm -rf "$tree"
  printf '%s %s %s %s %s\n' "$name" "$name.iso" "$(stat -c %s "$work/$name.iso")" "$boot_file" \
    "$what" >>"$work/MANIFEST"
  mv "$work/$name.iso" "$cache/$name.iso"
}

# ---------------------------------------------------------------------------------------------
# Check: boot debian-installer.iso under SLOF.

check_kit() {
  local qemu=${QEMU:-qemu-system-ppc64} console_log=$cache/check-debian-installer.log
  local command=("$qemu" -M pseries -m 2G -nographic -no-reboot
                 -cdrom "$cache/debian-installer.iso")
  # Microseconds (EPOCHREALTIME's decimal separator follows the locale). The installer's dialog
  # is drawn with escape sequences and without a newline: read in chunks, not lines.
  local start=${EPOCHREALTIME/[.,]/} grub='' dialog='' seen='' chunk
  : >"$console_log"
  exec 8< <(timeout 180 "${command[@]}" </dev/null 2>&1)
  local qemu_pid=$!
  while IFS= read -r -d '' -n 256 -u 8 chunk || [ -n "$chunk" ]; do
    printf '%s' "$chunk" >>"$console_log"
    seen=${seen: -512}$chunk
    if [ -z "$grub" ] && [[ $seen == *"TERN-INSTALL: booted debian-installer.iso"* ]]; then
      grub=${EPOCHREALTIME/[.,]/}
    fi
    if [[ $seen == *"Select a language"* ]]; then
      dialog=${EPOCHREALTIME/[.,]/}
      break
    fi
  done
  kill "$qemu_pid" 2>/dev/null || true
  exec 8<&-
  if [ -z "$dialog" ]; then
    log "debian-installer.iso on SLOF: no 'Select a language' within 180 s; console in $console_log"
    log "command: ${command[*]}"
    return 1
  fi
  seconds() { local c=$(( ($1 - start) / 10000 )); printf '%d.%02d' $((c / 100)) $((c % 100)); }
  echo "debian-installer.iso -cdrom SLOF: GRUB after $( [ -n "$grub" ] && seconds "$grub" ||
        echo '?') s, 'Select a language' after $(seconds "$dialog") s"
}

if ! { [ -d "$cache" ] && kit_current; }; then
  build_kit
fi
cache=$(cd "$cache" && pwd)
[ "$check" = no ] || check_kit
