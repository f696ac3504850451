#!/usr/bin/env bash
# Fetches libfdt's C sources into DIR (default: ~/.cache/tern/libfdt) from Debian's kernel source
# package, which is the only Debian package that ships them:
#   apt-get download linux-source-6.1   (no root needed; apt checks the package's signed hash)
#   extract only scripts/dtc/libfdt/ from the tarball inside it
#   verify that every file the build uses is there and is libfdt
# About 140 MB is downloaded once, into a temporary directory that is removed afterwards.
#
# With the package installed (its tarball /usr/src/linux-source-6.1.tar.xz present), or with
# --tarball PATH, the sources come from that tarball and nothing is downloaded: the Debian package
# build (debian/rules) works this way, offline, from its linux-source-6.1 Build-Depends.
# Users with a dtc checkout skip all of this: make LIBFDT_SRC=/path/to/dtc/libfdt
#
#   tools/fetch-libfdt.sh [--tarball linux-source-X.tar.xz] [DIR]
set -euo pipefail

tarball=
case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  --tarball) tarball=${2:?--tarball needs a path}; shift 2 ;;
esac
dest=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/tern/libfdt}
package=${LIBFDT_PACKAGE:-linux-source-6.1}
if [ -z "$tarball" ] && [ -f "/usr/src/$package.tar.xz" ]; then
  tarball=/usr/src/$package.tar.xz
fi
files=(fdt.c fdt.h fdt_addresses.c fdt_empty_tree.c fdt_overlay.c fdt_ro.c fdt_rw.c fdt_strerror.c
       fdt_sw.c fdt_wip.c libfdt.h libfdt_env.h libfdt_internal.h)

verify() {  # verify DIR: all files present, and they are libfdt
  local dir=$1 f
  for f in "${files[@]}"; do [ -s "$dir/$f" ] || { echo "missing $f" >&2; return 1; }; done
  grep -q 'uint32_t fdt_next_tag(const void \*fdt, int offset, int \*nextoffset)' "$dir/libfdt.h" || return 1
  grep -q 'FDT_MAGIC' "$dir/fdt.h" || return 1
}

if [ -f "$dest/.complete" ] && verify "$dest" &&
   (cd "$dest" && sha256sum --check --quiet SHA256SUMS >/dev/null 2>&1); then
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$tarball" ]; then
  echo "tern: extracting libfdt's sources from $tarball into $dest" >&2
  [ -f "$tarball" ] || { echo "tern: no such tarball: $tarball" >&2; exit 1; }
  tar -xJ -f "$tarball" -C "$work" --wildcards '*/scripts/dtc/libfdt/*'
  # Where the tarball came from: the installed package that owns it, if any.
  owner=$(dpkg-query -S "$(realpath "$tarball")" 2>/dev/null | cut -d: -f1 | head -1 || true)
  if [ -n "$owner" ]; then
    source_info=$(dpkg-query -W -f 'Package: ${Package}\nVersion: ${Version}\n' "$owner")
  else
    source_info="Tarball: $tarball"
  fi
else
  echo "tern: fetching libfdt sources from Debian's $package into $dest" >&2
  download() { (cd "$work" && apt-get download -q "$package" >&2); }
  if ! download; then
    # A fresh machine may have no package lists yet.
    if [ "$(id -u)" -eq 0 ] && apt-get update -q >&2 && download; then
      :
    else
      echo "tern: 'apt-get download $package' failed; run 'sudo apt-get update' and retry," \
           "or pass LIBFDT_SRC=/path/to/dtc/libfdt" >&2
      exit 1
    fi
  fi
  deb=$(ls "$work"/*.deb)
  inner=$(dpkg-deb -c "$deb" | awk '{print $NF}' | grep -E '^\./usr/src/linux-source-[0-9.]+\.tar\.xz$')
  dpkg-deb --fsys-tarfile "$deb" | tar -xO "$inner" | tar -xJ -C "$work" --wildcards '*/scripts/dtc/libfdt/*'
  source_info=$(dpkg-deb -f "$deb" Package Version)
fi
src=$(echo "$work"/*/scripts/dtc/libfdt)
verify "$src" || { echo "tern: ${tarball:-$deb} does not contain a usable libfdt" >&2; exit 1; }

rm -rf "$dest.new"
mkdir -p "$dest.new"
cp "$src"/* "$dest.new/"
echo "$source_info" > "$dest.new/SOURCE"
(cd "$dest.new" && sha256sum "${files[@]}" > SHA256SUMS)
touch "$dest.new/.complete"
rm -rf "$dest"
mv "$dest.new" "$dest"
echo "tern: libfdt from $(tr '\n' ' ' < "$dest/SOURCE")ready in $dest" >&2
