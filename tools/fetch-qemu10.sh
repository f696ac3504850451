#!/usr/bin/env bash
# Fetches QEMU 10.0 (Debian's bookworm-backports build) into a private prefix, beside the system's
# QEMU 7.2, and prints the path of a qemu-system-ppc64 wrapper to pass as QEMU=... to make test:
#   make test QEMU=$(tools/fetch-qemu10.sh)
# Nothing is installed: apt downloads with private package lists (the system's sources and dpkg
# state are untouched), dpkg-deb unpacks into DIR (default ~/.cache/tern/qemu-10), and the wrapper
# points QEMU at its own data (-L) and modules (QEMU_MODULE_DIR), without which it would load the
# system QEMU's modules and abort. About 12 MB is downloaded once.
set -euo pipefail

dest=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/tern/qemu-10}
wrapper=$dest/qemu-system-ppc64
if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
  echo "$wrapper"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
echo "deb http://deb.debian.org/debian bookworm-backports main" > "$work/sources.list"
apt=(-q -o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/nonexistent
     -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o Debug::NoLocking=1
     -o Acquire::Languages=none)
[ "$(id -u)" -eq 0 ] && apt+=(-o APT::Sandbox::User=root)
echo "tern: reading bookworm-backports' package lists" >&2
apt-get "${apt[@]}" update >&2
version=$(apt-cache "${apt[@]}" policy qemu-system-ppc | awk '/bookworm-backports/ {print prev} {prev=$1}' | head -1)
case "$version" in
  1:10.*) ;;
  *) echo "tern: bookworm-backports has no QEMU 10 (found '${version:-nothing}')" >&2; exit 1 ;;
esac
echo "tern: fetching QEMU $version" >&2
(cd "$work" && apt-get "${apt[@]}" download qemu-system-ppc="$version" qemu-system-common="$version" \
  qemu-system-data="$version" qemu-system-gui="$version" qemu-system-modules-spice="$version" \
  qemu-system-modules-opengl="$version" >&2)
rm -rf "$dest"
mkdir -p "$dest/root"
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$dest/root"; done
cat > "$wrapper" <<WRAPPER
#!/bin/sh
# QEMU $version from bookworm-backports, unpacked by tools/fetch-qemu10.sh.
export QEMU_MODULE_DIR="$dest/root/usr/lib/x86_64-linux-gnu/qemu"
exec "$dest/root/usr/bin/qemu-system-ppc64" -L "$dest/root/usr/share/qemu" "\$@"
WRAPPER
chmod +x "$wrapper"
"$wrapper" --version | head -1 >&2
echo "$wrapper"
