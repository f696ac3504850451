#!/usr/bin/env bash
# Builds tern's Debian packages (debian/: tern-firmware, Architecture all, and tern-tools,
# Architecture any) the Debian way, `dpkg-buildpackage -b -us -uc`, from a copy of this tree in
# OUT/tern-VERSION (without build/ and .git), so the .deb files and the build logs land in OUT and
# the tree itself is untouched. The build is offline (debian/rules: libfdt from linux-source-6.1's
# tarball, no QEMU); `tools/deps.sh package` (make deb runs it) installs what it needs.
# Prints the packages, their sizes and how long the build took.
#
#   tools/build-deb.sh [OUT]      (default build/deb; make deb)
set -euo pipefail

case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/build/deb}" && cd "${1:-$root/build/deb}" && pwd)
version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
src=$out/tern-$version

rm -rf "$src" "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
mkdir -p "$src"
# The tree as it is now (committed or not), without build outputs and git's data.
tar -C "$root" --exclude=./build --exclude=./.git --exclude=__pycache__ -cf - . | tar -C "$src" -xf -

SECONDS=0
(cd "$src" && dpkg-buildpackage -b -us -uc) > "$out/build.log" 2>&1 || {
  tail -40 "$out/build.log" >&2
  echo "tern: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
  exit 1
}
seconds=$SECONDS
rm -rf "$src"
echo "tern: built in $seconds s (log $out/build.log):"
for deb in "$out"/*.deb; do
  printf '  %s  %s bytes, %s KiB installed\n' "$deb" "$(stat -c %s "$deb")" \
    "$(dpkg-deb -f "$deb" Installed-Size)"
done
