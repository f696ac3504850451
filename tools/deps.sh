#!/usr/bin/env bash
# Checks that the Debian packages tern needs are installed; installs the missing ones with apt when
# run as root, otherwise prints the one apt command to run and fails.
#
#   tools/deps.sh build   firmware image: clang, lld, llvm-objcopy, xz (libfdt sources)
#   tools/deps.sh test    build + host tests and QEMU tests: cmake, g++, googletest, dtc,
#                         clang-format, python3, QEMU
#   tools/deps.sh run     build + QEMU, cpio and gzip (the guest kit's initramfs)
#
# QEMU=/path/to/qemu-system-ppc64 in the environment replaces the qemu-system-ppc package.
# CLANG, LLD and OBJCOPY likewise replace clang, lld and llvm.
set -euo pipefail

mode=${1:-build}
missing=()

need_command() {  # need_command COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need_file() {  # need_file PATH PACKAGE
  [ -e "$1" ] || missing+=("$2")
}

need_command "${CLANG:-clang}" clang
need_command "${LLD:-ld.lld}" lld
need_command "${OBJCOPY:-llvm-objcopy}" llvm
need_command xz xz-utils
need_command apt-get apt
case "$mode" in
  test)
    need_command cmake cmake
    need_command c++ g++
    need_file /usr/include/gtest/gtest.h libgtest-dev
    need_command dtc device-tree-compiler
    need_command clang-format clang-format
    need_command python3 python3
    need_command "${QEMU:-qemu-system-ppc64}" qemu-system-ppc
    need_command cpio cpio
    need_command gzip gzip
    ;;
  run)
    need_command "${QEMU:-qemu-system-ppc64}" qemu-system-ppc
    need_command cpio cpio
    need_command gzip gzip
    ;;
  build) ;;
  *) echo "usage: $0 build|test|run" >&2; exit 2 ;;
esac

[ ${#missing[@]} -eq 0 ] && exit 0
# Each package once, in a stable order.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if [ "$(id -u)" -eq 0 ]; then
  echo "tern: installing missing packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
else
  echo "tern: missing packages; install them with:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
