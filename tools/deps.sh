#!/usr/bin/env bash
# Checks that the Debian packages tern needs are installed; installs the missing ones with apt when
# run as root, otherwise prints the one apt command to run and fails. Packages are installed with
# --no-install-recommends, so every package a mode relies on is listed here, Recommends included.
#
#   tools/deps.sh build   the firmware image and tern-rtas-dump
#   tools/deps.sh run     build + what `make run` needs to boot the guest kit in QEMU
#   tools/deps.sh test    build + run + the host unit tests and the QEMU tests
#   tools/deps.sh bench   test + callgrind and matplotlib for make bench's counts and chart
#   tools/deps.sh package build + what make deb needs to build the Debian packages offline
#
# What each package is for (the mode that first needs it in brackets):
#   clang, lld, llvm [build]  compiler, linker (ld.lld) and llvm-objcopy for the big-endian image;
#                             clang also builds tern-rtas-dump on the host; llvm-readelf
#                             finds the libraries drmgr needs for the guest kit [run]
#   xz-utils [build]          unpacks linux-source-6.1's tarball, where libfdt's sources come from
#   apt [build]               apt-get download of linux-source-6.1 (and, for run, the guest kit)
#   qemu-system-ppc [run]     qemu-system-ppc64, the pseries machine (QEMU=... replaces it)
#   seabios [run]             vgabios-stdvga.bin: pseries adds a VGA device by default, even with
#                             -nographic, and QEMU refuses to start without its ROM. It is only a
#                             Recommends of qemu-system-ppc, so --no-install-recommends leaves it out
#   cpio, gzip [run]          build the guest kit's initramfs (tools/guest-kit.sh) and the net
#                             kit's /tern/init archive (tools/net-kit.sh; its grub-mknetdir is
#                             unpacked from grub-common's .deb, as install-kit.sh's grub-mkrescue)
#   cmake, g++ [test]         the CTest project in tests/ (GoogleTest, ASan, UBSan)
#   libclang-rt-dev [test]    clang's runtime libraries: libFuzzer and clang's ASan/UBSan, for the
#                             fuzz targets (tests/fuzz, built with clang++ -fsanitize=fuzzer). Only
#                             a Recommends of clang (through libclang-common-14-dev), so
#                             --no-install-recommends leaves it out
#   libgtest-dev [test]       GoogleTest's headers and sources
#   device-tree-compiler [test] dtc compiles the .dts fixtures
#   clang-format [test]       the format check (CTest clang_format)
#   python3 [test]            the QEMU test harness (tests/qemu/*.py) and the benchmarks
#   e2fsprogs [test]          mkfs.ext4 -d makes the disk kit's root file systems without mounting
#                             (tools/disk-kit.sh). Priority required, so nearly always present; the
#                             kit's other tools (grub-mkimage, sfdisk) are unpacked from their .debs
#   xorriso [test]            writes the install kit's ISO 9660 images: grub-mkrescue runs it
#                             (tools/install-kit.sh; grub-mkrescue itself and the libraries it
#                             links, libefivar1 and libefiboot1, are unpacked from their .debs)
#   valgrind [bench]          callgrind counts the walker's instructions (tools/benchmarks/walk.py)
#   python3-matplotlib [bench] draws make bench's chart (results.png), for Debian's /usr/bin/python3
#   debhelper, dpkg-dev [package] dh and dpkg-buildpackage build the packages (debian/, make deb)
#   build-essential [package] dpkg-buildpackage requires it of every build (Debian policy 4.2)
#   linux-source-6.1 [package] its /usr/src tarball gives libfdt's sources without a download
#                             (tools/fetch-libfdt.sh uses an installed tarball before apt)
# Not needed: ipxe-qemu (option ROMs of PCI NICs: the tests give virtio-net-pci romfile=, and
# pseries firmware never runs one), dnsmasq (the network boot tests use QEMU's own DHCP and TFTP
# server, -netdev user,tftp=,bootfile=), qemu-utils (the disk kit's images are raw files, made
# without qemu-img), grub-common and fdisk (tools/disk-kit.sh, tools/install-kit.sh and
# tools/net-kit.sh unpack them), mtools (grub-mkrescue needs mformat only for EFI images, not
# for powerpc-ieee1275), qemu-system-gui (tests and make run use -nographic). dpkg, tar,
# coreutils and util-linux (flock) are essential on Debian and always present.
#
# TERN_DEPS_INSTALL=no in the environment: never install, only report what is missing and fail
# (debian/rules sets it: a package build gets its tools from Build-Depends, never from the network).
#
# QEMU=/path/to/qemu-system-ppc64 in the environment replaces the qemu-system-ppc package (seabios
# is still installed: Debian's QEMU 10 from bookworm-backports, unpacked by tools/fetch-qemu10.sh,
# reads the same /usr/share/seabios). CLANG, CLANGXX, LLD and OBJCOPY likewise replace clang, lld
# and llvm.
set -euo pipefail

mode=${1:-build}
missing=()

need_command() {  # need_command COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need_file() {  # need_file PATH PACKAGE
  [ -e "$1" ] || missing+=("$2")
}

need_build() {
  need_command "${CLANG:-clang}" clang
  need_command "${LLD:-ld.lld}" lld
  need_command "${OBJCOPY:-llvm-objcopy}" llvm
  need_command xz xz-utils
  need_command apt-get apt
}
need_run() {
  need_build
  need_command "${QEMU:-qemu-system-ppc64}" qemu-system-ppc
  need_file /usr/share/seabios/vgabios-stdvga.bin seabios
  need_command cpio cpio
  need_command gzip gzip
}
# libFuzzer's runtime in clang's runtime directory (clang itself is checked by need_build).
need_fuzzer_runtime() {
  local clang=${CLANG:-clang} dir
  command -v "$clang" >/dev/null 2>&1 || return 0
  dir=$("$clang" --print-runtime-dir 2>/dev/null) || dir=
  [ -n "$dir" ] && [ -e "$dir/libclang_rt.fuzzer-$(uname -m).a" ] || missing+=(libclang-rt-dev)
}
need_test() {
  need_run
  need_command cmake cmake
  need_command c++ g++
  need_command "${CLANGXX:-clang++}" clang
  need_fuzzer_runtime
  need_file /usr/include/gtest/gtest.h libgtest-dev
  need_command dtc device-tree-compiler
  need_command clang-format clang-format
  need_command python3 python3
  # /sbin, not PATH: a user's PATH usually lacks the sbin directories (with merged /usr, /sbin is
  # a link to /usr/sbin, so the path holds either way).
  need_file /sbin/mkfs.ext4 e2fsprogs
  need_command xorriso xorriso
}

case "$mode" in
  build) need_build ;;
  run) need_run ;;
  test) need_test ;;
  bench)
    need_test
    need_command valgrind valgrind
    need_file /usr/lib/python3/dist-packages/matplotlib/__init__.py python3-matplotlib ;;
  package)
    need_build
    need_command dh debhelper
    need_command dpkg-buildpackage dpkg-dev
    need_file /usr/share/build-essential/list build-essential
    need_file /usr/src/linux-source-6.1.tar.xz linux-source-6.1 ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 build|run|test|bench|package" >&2; exit 2 ;;
esac

[ ${#missing[@]} -eq 0 ] && exit 0
# Each package once, in a stable order.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if [ "$(id -u)" -eq 0 ] && [ "${TERN_DEPS_INSTALL:-yes}" != no ]; then
  echo "tern: installing missing packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
else
  echo "tern: missing packages; install them with:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
