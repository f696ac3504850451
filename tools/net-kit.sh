#!/usr/bin/env bash
# Builds tern's net kit: a TFTP folder that boots the way a distribution's network install does
# (GRUB's network image from grub-mknetdir, Debian's installer fetched over TFTP), cached outside
# the tree, for QEMU's own DHCP and TFTP server (-netdev user,tftp=CACHE_DIR/tftp,bootfile=...).
#
#   tools/net-kit.sh [--print] [--check] [--grub-timeout SECONDS] [CACHE_DIR]
#
# CACHE_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/tern/net. On success it holds:
#   tftp/                 the TFTP folder (QEMU's tftp=):
#     boot/grub/          what `grub-mknetdir --net-directory=tftp --subdir=boot/grub -d
#                         <grub-ieee1275-bin's powerpc-ieee1275>` lays out, unchanged:
#                         powerpc-ieee1275/core.elf (the DHCP boot file), GRUB's modules, fonts/,
#                         locale/; and boot/grub/grub.cfg, which boots the installer
#     debian-installer/ppc64el/vmlinux, initrd.gz
#                         Debian 12's installer for ppc64el (debian-installer-12-netboot-ppc64el:
#                         its text/ folder is this layout), 44 MiB and 23 MiB. The vmlinux is also
#                         a boot file for the firmware to load directly (a 64-bit little-endian
#                         ELF), the initrd.gz one that is not an ELF
#     tern/linux/         grub-mknetdir --subdir=tern/linux, whose grub.cfg boots the installer's
#                         kernel with its initrd.gz and tern/net-init.cpio.gz: Linux then uses the
#                         NIC itself (see below)
#     tern/reboot/        grub-mknetdir --subdir=tern/reboot, whose grub.cfg runs `reboot` (for
#                         -boot once=n: the network boots once, then the disk)
#     tern/net-init.cpio.gz  /tern/init and /tern/udhcpc.script, added to the installer's
#                         initramfs (GRUB loads both: `initrd A B` concatenates them)
#     tern/probe.txt      one line, for Linux to fetch by TFTP
#   MANIFEST              one line per boot file: <name> <path in tftp/> <bytes> <what it is>;
#                         `missing tern/missing.elf 0 ...` names a boot file that is not there
#   debs/                 the .debs the kit is built from (about 36 MB), kept to rebuild offline
#   host/                 grub-mknetdir unpacked from grub-common with the libraries it links that
#                         a minimal system lacks (libefivar1, libefiboot1, libdevmapper1.02.1)
#   grub/                 GRUB's powerpc-ieee1275 platform directory (from grub-ieee1275-bin)
#   installer/            vmlinux, initrd.gz and VERSION of the installer (the .deb's version)
#   STAMP                 sha256 of the inputs (this script, tools/kit-lib.sh, the .debs, the
#                         options); the folder is rebuilt when it changes
#   check.log             the console of the last --check
#
# Each GRUB's grub.cfg starts with `terminal_output ofconsole` and prints, before anything else,
# one line each (GRUB wraps its output at 80 columns), what the firmware handed it:
#   TERN-NET: booted <installer|linux|reboot>
#   TERN-NET: root <$root>                       (tftp,10.0.2.2) when the firmware gave GRUB the
#   TERN-NET: prefix <$prefix>                   DHCP answer (/chosen/bootp-response)
#   TERN-NET: cmdpath <$cmdpath>
#   TERN-NET: net_default_interface <...>        GRUB's interface, ofnet_<alias or node name>
#   TERN-NET: net_default_server <...>           the DHCP answer's siaddr (10.0.2.2 from QEMU)
#   TERN-NET: net_default_ip <...>               its yiaddr (10.0.2.15)
#   TERN-NET: net_default_mac <...>
#   TERN-NET: boot_file <...>                    $net_<interface>_boot_file, the DHCP file field
# boot/grub/grub.cfg then has one menu entry (timeout --grub-timeout, default 1 s):
#   linux /debian-installer/ppc64el/vmlinux console=hvc0 --- quiet
#   initrd /debian-installer/ppc64el/initrd.gz
# and the installer's first dialog ("[!!] Select a language", drawn by newt on hvc0) follows.
# tern/linux/grub.cfg boots the same kernel with `console=hvc0 rdinit=/tern/init` and both
# initramfs archives; /tern/init (write_init below) loads ibmveth, virtio_pci and virtio_net (the
# installer's modules), brings the NIC up, asks QEMU's DHCP server for a lease with busybox's
# udhcpc, fetches tern/probe.txt and tern/linux/powerpc-ieee1275/core.elf with busybox's tftp, and
# prints TERN-NET-LINUX: lines (write_init has the list), then powers off. tern/reboot/grub.cfg
# prints `TERN-NET: rebooting` and runs `reboot`.
# The DHCP boot file to give QEMU (bootfile=) is the path in tftp/: boot/grub/powerpc-ieee1275/
# core.elf, tern/linux/powerpc-ieee1275/core.elf, tern/reboot/powerpc-ieee1275/core.elf,
# debian-installer/ppc64el/vmlinux; GRUB's core.elf has the prefix /<subdir> built in and takes
# the server from the firmware, so each finds its own grub.cfg. Every build writes the same
# files, byte for byte, from the same .debs.
#
# --print prints the path of tftp/ and exits 0 if the kit is present and current; otherwise it
# exits 1 and builds nothing. Without --print and --check, stdout is empty. A run with the kit
# present and current does nothing.
#
# How: like tools/install-kit.sh (tools/kit-lib.sh's prepare_grub_kit): apt-get update and
# apt-get download with a private package-list and cache directory (CACHE_DIR/apt, deleted
# afterwards) and the architectures ppc64el and the host's, so the system's dpkg architectures and
# apt state are never touched and no root is needed. Nothing is installed: grub-mknetdir
# (grub-common) and the libraries it links are unpacked into CACHE_DIR/host and run from there.
# cpio and gzip (the overlay archive) are the host's. Progress goes to stderr, prefixed "tern:".
set -euo pipefail

usage() {
  cat <<'EOF'
usage: tools/net-kit.sh [--print] [--check] [--grub-timeout SECONDS] [CACHE_DIR]

Builds a TFTP folder for network boot tests with QEMU's own DHCP and TFTP server: GRUB's network
image from grub-mknetdir (powerpc-ieee1275, unchanged) booting Debian 12's ppc64el installer
(debian-installer-12-netboot-ppc64el) fetched over TFTP. CACHE_DIR defaults to
${XDG_CACHE_HOME:-$HOME/.cache}/tern/net and then holds tftp/ (QEMU's tftp=) and MANIFEST, one
line per DHCP boot file (QEMU's bootfile=):
  boot/grub/powerpc-ieee1275/core.elf    GRUB; its grub.cfg boots the installer (console=hvc0)
  tern/linux/powerpc-ieee1275/core.elf   GRUB; boots the installer's kernel with an /init that
                                         brings the NIC up, gets a DHCP lease, fetches by TFTP
  tern/reboot/powerpc-ieee1275/core.elf  GRUB; prints its lines and reboots
  debian-installer/ppc64el/vmlinux       Debian's kernel, for the firmware to load directly
  debian-installer/ppc64el/initrd.gz     not an ELF
Booted, each GRUB prints `TERN-NET: booted <name>`, then $root, $prefix, $cmdpath and GRUB's
net_default_* variables. The header of this script has the details.

  --print               print the tftp/ path and exit 0 if the kit is present and current (built
                        by this script with the same options); exit 1 otherwise (nothing built)
  --check               after building, boot GRUB from the folder with QEMU's default firmware
                        (SLOF) over an spapr-vlan NIC and print the seconds from QEMU's start to
                        GRUB's banner and what GRUB says next; exit 1 if GRUB does not start
                        (QEMU=... picks the emulator; the console goes to CACHE_DIR/check.log)
  --grub-timeout SECONDS  GRUB's menu timeout in the folder's grub.cfg files (default 1)
  --help                this text

The first run downloads about 36 MB from Debian (the installer, 31 MB, and GRUB with its
libraries) and takes about 15 s; nothing is installed. Later runs do nothing unless this script
or an option changed (then the folder is rebuilt offline in a few seconds). Delete CACHE_DIR to
fetch newer packages. Needs cpio and gzip.
Example (QEMU's own DHCP and TFTP server; restrict=on keeps the guest off every other network):
  qemu-system-ppc64 -M pseries -m 2G -nographic -bios build/tern.bin \
      -netdev user,id=n0,restrict=on,tftp=CACHE_DIR/tftp,\
bootfile=boot/grub/powerpc-ieee1275/core.elf \
      -device spapr-vlan,netdev=n0
(or -device virtio-net-pci,netdev=n0,romfile=).
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
cache=${cache:-${XDG_CACHE_HOME:-$HOME/.cache}/tern/net}

script=$(readlink -f "${BASH_SOURCE[0]}")

# Packages by architecture, as tools/install-kit.sh: the installer (Architecture: all), ppc64el's
# GRUB platform directory, and the host's grub-common (grub-mknetdir) with the libraries it links
# that a minimal system lacks.
installer_package=debian-installer-12-netboot-ppc64el
target_packages=(grub-ieee1275-bin)
# GRUB's network images come from GRUB 2.12 (bookworm-backports, as in Debian 13), not Debian 12's
# 2.06-13: that build's ofnet.mod never allocates the path of a network card it finds
# (search_net_devices copies the card's path through the uninitialized first word of a 12-byte
# grub_malloc), so GRUB 2.06 either registers no card ("variable `root' isn't set") or corrupts
# its heap ("free magic is broken at 0x2f766465", "/vde" of "/vdevice/l-lan"), on any firmware.
grub_packages=(grub-ieee1275-bin:ppc64el grub-common)
grub_suite=bookworm-backports
host_packages=(grub-common libefivar1 libefiboot1 libdevmapper1.02.1)
installer_dir=usr/lib/debian-installer/images/12/ppc64el/text/debian-installer/ppc64el
# Where the installer's files go in the TFTP folder (Debian's netboot layout).
installer_tftp=debian-installer/ppc64el
# GRUB network images: the name each grub.cfg prints, and grub-mknetdir's --subdir.
grubs=(installer linux reboot)
declare -A grub_subdir=([installer]=boot/grub [linux]=tern/linux [reboot]=tern/reboot)
platform=powerpc-ieee1275
probe_line="tern net kit: Linux fetched this file by TFTP"

# shellcheck source=tools/kit-lib.sh
. "$(dirname "$script")/kit-lib.sh"

host_arch=$(dpkg --print-architecture)
apt_archs="ppc64el and $host_arch"

# The inputs the folder depends on; the kit is current when STAMP holds this.
stamp() {
  {
    cat "$script" "$(dirname "$script")/kit-lib.sh"
    echo "grub-timeout=$grub_timeout"
    (cd "$cache/debs" 2>/dev/null && ls) || true
  } | sha256sum | cut -d' ' -f1
}
kit_current() {
  local name
  for name in "${grubs[@]}"; do
    [ -s "$cache/tftp/${grub_subdir[$name]}/$platform/core.elf" ] || return 1
  done
  [ -s "$cache/tftp/$installer_tftp/vmlinux" ] && [ -s "$cache/MANIFEST" ] &&
    [ -s "$cache/STAMP" ] && [ "$(cat "$cache/STAMP")" = "$(stamp)" ]
}

if [ -d "$cache" ] && kit_current; then
  [ "$print" = no ] || echo "$cache/tftp"
  [ "$check" = yes ] || exit 0
elif [ "$print" = yes ]; then
  options=
  [ "$grub_timeout" = 1 ] || options+=" --grub-timeout $grub_timeout"
  log "no current net kit in $cache; build it with: tools/net-kit.sh$options $cache"
  exit 1
fi

# ---------------------------------------------------------------------------------------------
# Build.

for tool in apt-get apt-cache dpkg-deb flock sha256sum cpio gzip; do
  command -v "$tool" >/dev/null ||
    die "'$tool' is needed (Debian: apt, dpkg, util-linux, coreutils, cpio, gzip;" \
        "tools/deps.sh run installs them)"
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

  fetch_backports_grub
  prepare_grub_kit grub-mknetdir

  local tftp=$work/tftp name
  mkdir -p "$tftp/$installer_tftp" "$tftp/tern"
  # Hard links where the file system allows: the folder then takes no second copy.
  for name in vmlinux initrd.gz; do
    ln "$cache/installer/$name" "$tftp/$installer_tftp/$name" 2>/dev/null ||
      cp "$cache/installer/$name" "$tftp/$installer_tftp/$name"
  done
  for name in "${grubs[@]}"; do
    make_netdir "$tftp" "$name"
  done
  echo "$probe_line" >"$tftp/tern/probe.txt"
  mkdir "$work/overlay"
  write_overlay "$work/overlay"
  write_cpio "$work/overlay" "$tftp/tern/net-init.cpio.gz"
  write_manifest "$tftp" >"$work/MANIFEST"

  # The new folder replaces the old one; a QEMU serving the old one keeps its open files.
  [ ! -d "$cache/tftp" ] || mv "$cache/tftp" "$work/old-tftp"
  mv "$tftp" "$cache/tftp"
  mv "$work/MANIFEST" "$cache/MANIFEST"
  stamp >"$cache/STAMP"
  log "net kit ready in $cache/tftp (built in $(( $(date +%s) - build_start )) s):" \
      "$(du -sk --apparent-size "$cache/tftp" | cut -f1) KiB," \
      "$(find "$cache/tftp" -type f | wc -l) files"
}

# fetch_backports_grub: GRUB's .debs from $grub_suite into CACHE_DIR/debs when they are not
# there, read with package lists of that suite alone (as tools/fetch-qemu10.sh), so that
# prepare_grub_kit finds them and downloads only the rest from the system's sources.
fetch_backports_grub() {
  local package missing=()
  for package in "${grub_packages[@]}"; do
    local name=${package%%:*} arch=$host_arch
    [ "$name" = "$package" ] || arch=${package##*:}
    compgen -G "$cache/debs/${name}_*~bpo*_$arch.deb" >/dev/null || missing+=("$name:$arch")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  mkdir -p "$cache/debs" "$work/bpo/lists/partial" "$work/bpo/cache/archives/partial"
  echo "deb http://deb.debian.org/debian $grub_suite main" >"$work/bpo/sources.list"
  local bpo_opts=(-q -o Dir::Etc::SourceList="$work/bpo/sources.list"
                  -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists="$work/bpo/lists"
                  -o Dir::Cache="$work/bpo/cache" -o APT::Architecture="$host_arch"
                  -o APT::Architectures="$host_arch,ppc64el" -o Debug::NoLocking=1
                  -o Acquire::Languages=none)
  [ "$(id -u)" -ne 0 ] || bpo_opts+=(-o APT::Sandbox::User=root)
  log "reading $grub_suite's package lists for GRUB 2.12"
  apt-get "${bpo_opts[@]}" update >&2 || log "warning: apt-get update reported errors"
  log "downloading ${missing[*]} from $grub_suite"
  (cd "$cache/debs" && apt-get "${bpo_opts[@]}" download "${missing[@]}" >&2) ||
    die "apt-get download ${missing[*]} from $grub_suite failed"
  # Debian 12's builds of the same packages, from an older kit, must not be picked instead.
  for package in "${grub_packages[@]}"; do
    local name=${package%%:*}
    find "$cache/debs" -name "${name}_*.deb" ! -name '*~bpo*' -delete
  done
}

# make_netdir TFTP NAME: GRUB's network image for NAME in TFTP/<its subdir>, and its grub.cfg.
make_netdir() {
  local tftp=$1 name=$2 subdir=${grub_subdir[$2]}
  host_run usr/bin/grub-mknetdir --net-directory="$tftp" --subdir="$subdir" \
    -d "$cache/grub/$platform" >"$work/mknetdir.log" 2>&1 ||
    die "grub-mknetdir failed for $subdir: $(tail -n 20 "$work/mknetdir.log")"
  [ -s "$tftp/$subdir/$platform/core.elf" ] ||
    die "grub-mknetdir left no $subdir/$platform/core.elf"
  grub_cfg "$name" >"$tftp/$subdir/grub.cfg"
  host_run usr/bin/grub-script-check "$tftp/$subdir/grub.cfg" >"$work/script-check.log" 2>&1 ||
    die "$subdir/grub.cfg: grub-script-check: $(cat "$work/script-check.log")"
}

# grub_cfg NAME: the grub.cfg of GRUB image NAME on stdout.
grub_cfg() {
  cat <<EOF
# Written by tern's tools/net-kit.sh for GRUB's network image "$1" (grub-mknetdir).
terminal_input ofconsole
terminal_output ofconsole
echo "TERN-NET: booted $1"
echo "TERN-NET: root \$root"
echo "TERN-NET: prefix \$prefix"
echo "TERN-NET: cmdpath \$cmdpath"
echo "TERN-NET: net_default_interface \$net_default_interface"
echo "TERN-NET: net_default_server \$net_default_server"
echo "TERN-NET: net_default_ip \$net_default_ip"
echo "TERN-NET: net_default_mac \$net_default_mac"
eval "echo \"TERN-NET: boot_file \\\$net_\${net_default_interface}_boot_file\""
EOF
  case $1 in
    installer)
      cat <<EOF
set default=0
set timeout=$grub_timeout
menuentry 'Debian GNU/Linux 12 installer (ppc64el, text, console=hvc0), over the network' {
	linux /$installer_tftp/vmlinux console=hvc0 --- quiet
	initrd /$installer_tftp/initrd.gz
}
EOF
      ;;
    linux)
      cat <<EOF
set default=0
set timeout=$grub_timeout
menuentry 'Linux, the installer kernel, with tern/net-init.cpio.gz: the NIC in Linux' {
	linux /$installer_tftp/vmlinux console=hvc0 rdinit=/tern/init
	initrd /$installer_tftp/initrd.gz /tern/net-init.cpio.gz
}
EOF
      ;;
    reboot)
      cat <<'EOF'
echo "TERN-NET: rebooting"
reboot
EOF
      ;;
  esac
}

# write_overlay DIR: /tern/init and /tern/udhcpc.script, run by the installer's kernel over the
# installer's own initramfs (its busybox: sh, ip, udhcpc, tftp; its kmod and modules).
write_overlay() {
  mkdir -p "$1/tern"
  write_init >"$1/tern/init"
  write_udhcpc_script >"$1/tern/udhcpc.script"
  chmod 0755 "$1/tern/init" "$1/tern/udhcpc.script"
}

write_init() {
  cat <<'EOF'
#!/bin/sh
# /tern/init of tern's net kit (tools/net-kit.sh), run with rdinit=/tern/init by the Debian
# installer's kernel over the installer's own initramfs. It uses the network the way a system
# would after a network boot, and prints, one whole line each:
#   TERN-NET-LINUX: init-reached
#   TERN-NET-LINUX: modprobe-failed <module>       only if ibmveth, virtio_pci or virtio_net failed
#   TERN-NET-LINUX: interface <name> driver <driver> mac <mac>   e.g. eth0 driver ibmveth
#   TERN-NET-LINUX: no-interface                   instead, when none appeared within 10 s
#   TERN-NET-LINUX: link <name> <operstate>        after `ip link set <name> up`
#   TERN-NET-LINUX: lease ip <ip> mask <mask> server <serverid> siaddr <siaddr> router <router>
#                   boot_file <file>               from udhcpc's lease (none: "-")
#   TERN-NET-LINUX: no-lease                       instead, when DHCP failed
#   TERN-NET-LINUX: tftp <file> bytes <n> [first-line <line>]   each file fetched from the server
#                                                  (the first line of a .txt file)
#   TERN-NET-LINUX: tftp-failed <file>
#   TERN-NET-LINUX: dmesg <line>                   the kernel's lines about the NIC's driver
#   TERN-NET-LINUX: poweroff                       then `poweroff -f`
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
echo "TERN-NET-LINUX: init-reached"
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp /var/lib/udhcp
echo 1 >/proc/sys/kernel/printk

for module in ibmveth virtio_pci virtio_net; do
  modprobe "$module" || echo "TERN-NET-LINUX: modprobe-failed $module"
done

iface=
tries=0
while [ -z "$iface" ] && [ "$tries" -lt 10 ]; do
  for dev in /sys/class/net/*; do
    [ "${dev##*/}" = lo ] || [ ! -e "$dev" ] || { iface=${dev##*/}; break; }
  done
  [ -n "$iface" ] || { sleep 1; tries=$((tries + 1)); }
done

if [ -z "$iface" ]; then
  echo "TERN-NET-LINUX: no-interface"
else
  driver=$(readlink "/sys/class/net/$iface/device/driver")
  mac=$(cat "/sys/class/net/$iface/address")
  echo "TERN-NET-LINUX: interface $iface driver ${driver##*/} mac $mac"
  ip link set "$iface" up
  sleep 1
  echo "TERN-NET-LINUX: link $iface $(cat "/sys/class/net/$iface/operstate")"
  rm -f /tmp/lease
  udhcpc -i "$iface" -n -q -t 5 -T 2 -s /tern/udhcpc.script >/tmp/udhcpc.log 2>&1
  if [ -s /tmp/lease ]; then
    . /tmp/lease
    echo "TERN-NET-LINUX: lease ip $ip mask $mask server $serverid siaddr $siaddr" \
      "router $router boot_file $boot_file"
    for file in tern/probe.txt tern/linux/powerpc-ieee1275/core.elf; do
      rm -f /tmp/fetched
      if tftp -g -r "$file" -l /tmp/fetched "$siaddr" >/tmp/tftp.log 2>&1; then
        line=
        case $file in *.txt) line=" first-line $(head -n 1 /tmp/fetched | cut -c1-60)" ;; esac
        echo "TERN-NET-LINUX: tftp $file bytes $(wc -c </tmp/fetched)$line"
      else
        echo "TERN-NET-LINUX: tftp-failed $file $(tr '\n' ' ' </tmp/tftp.log)"
      fi
    done
  else
    echo "TERN-NET-LINUX: no-lease $(tr '\n' ' ' </tmp/udhcpc.log)"
  fi
  dmesg | grep -i -E "ibmveth|virtio_net|$iface" | while read -r line; do
    echo "TERN-NET-LINUX: dmesg $line"
  done
fi
echo "TERN-NET-LINUX: poweroff"
poweroff -f
while :; do sleep 3600; done
EOF
}

write_udhcpc_script() {
  cat <<'EOF'
#!/bin/sh
# udhcpc's script for /tern/init: configures the address of a lease and writes it to /tmp/lease.
case $1 in
  deconfig) ip addr flush dev "$interface" ;;
  bound|renew)
    ip addr add "$ip/${mask:-24}" dev "$interface"
    {
      echo "ip=$ip"
      echo "mask=${mask:--}"
      echo "serverid=${serverid:--}"
      echo "siaddr=${siaddr:-$serverid}"
      echo "router=${router:--}"
      echo "boot_file=${boot_file:--}"
    } >/tmp/lease ;;
esac
exit 0
EOF
}

# write_manifest TFTP: the MANIFEST, one line per boot file.
write_manifest() {
  local tftp=$1 name file version
  version="$installer_package=$(cat "$cache/installer/VERSION")"
  for name in "${grubs[@]}"; do
    file=${grub_subdir[$name]}/$platform/core.elf
    printf '%s %s %s %s\n' "$name" "$file" "$(stat -c %s "$tftp/$file")" \
      "GRUB (grub-mknetdir --subdir=${grub_subdir[$name]}); its grub.cfg: $name"
  done
  file=$installer_tftp/vmlinux
  printf '%s %s %s %s\n' vmlinux "$file" "$(stat -c %s "$tftp/$file")" \
    "the installer's Linux kernel, an ELF ($version)"
  file=$installer_tftp/initrd.gz
  printf '%s %s %s %s\n' initrd "$file" "$(stat -c %s "$tftp/$file")" \
    "the installer's initrd, not an ELF ($version)"
  printf '%s %s %s %s\n' missing tern/missing.elf 0 "not in the folder"
}

# ---------------------------------------------------------------------------------------------
# Check: GRUB over the network on SLOF.

check_kit() {
  local qemu=${QEMU:-qemu-system-ppc64} console_log=$cache/check.log
  local netdev="user,id=n0,restrict=on,tftp=$cache/tftp"
  netdev+=",bootfile=${grub_subdir[installer]}/$platform/core.elf"
  local command=("$qemu" -M pseries -m 2G -nographic -no-reboot -netdev "$netdev"
                 -device spapr-vlan,netdev=n0)
  # Microseconds (EPOCHREALTIME's decimal separator follows the locale). GRUB's lines come with
  # escape sequences and its prompt without a newline: read in chunks, whatever has arrived after
  # 0.2 s (read keeps a partial chunk when it times out), not lines.
  local start=${EPOCHREALTIME/[.,]/} grub='' seen='' chunk status deadline=0
  : >"$console_log"
  exec 8< <(timeout 120 "${command[@]}" </dev/null 2>&1)
  local qemu_pid=$!
  while :; do
    status=0
    IFS= read -r -d '' -n 256 -t 0.2 -u 8 chunk || status=$?
    printf '%s' "$chunk" >>"$console_log"
    seen=${seen: -2048}$chunk
    if [ -z "$grub" ] && [[ $seen == *"Welcome to GRUB"* ]]; then
      grub=${EPOCHREALTIME/[.,]/}
      deadline=$(( grub + 3000000 ))
    fi
    # GRUB's next lines (its grub.cfg's, or an error) come within a moment.
    if [ -n "$grub" ] && [ "${EPOCHREALTIME/[.,]/}" -gt "$deadline" ]; then break; fi
    if [[ $seen == *"grub rescue>"* ]] || [[ $seen == *"TERN-NET: boot_file"* ]] ||
       [[ $seen == *"Press any key to exit"* ]]; then break; fi
    # 1: end of file (QEMU ended); above 128: the 0.2 s passed.
    if [ "$status" -ne 0 ] && [ "$status" -le 128 ]; then break; fi
  done
  kill "$qemu_pid" 2>/dev/null || true
  exec 8<&-
  if [ -z "$grub" ]; then
    log "GRUB over the network on SLOF: no 'Welcome to GRUB' within 120 s; console in $console_log"
    log "command: ${command[*]}"
    return 1
  fi
  local c=$(( (grub - start) / 10000 )) after
  after=$(tr -d '\r' <"$console_log" | sed -n '/Welcome to GRUB/,$p' |
          sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | grep -v '^\s*$' | sed -n '2,4p' | paste -sd' ')
  printf 'GRUB over spapr-vlan on SLOF: banner after %d.%02d s; then: %s\n' $((c / 100)) \
    $((c % 100)) "${after:-nothing}"
}

if ! { [ -d "$cache" ] && kit_current; }; then
  build_kit
fi
cache=$(cd "$cache" && pwd)
[ "$check" = no ] || check_kit
