# Shell functions the kit builders share (tools/guest-kit.sh, tools/disk-kit.sh,
# tools/install-kit.sh, tools/net-kit.sh); sourced, not run.
# The caller sets `cache` (its cache directory), `apt_opts` (apt-get options with private
# Dir::State::Lists and Dir::Cache under "$cache/apt") and `apt_archs` (the architectures named in
# messages) before calling apt_update or download. The GRUB kits' functions (prepare_grub_kit and
# below) set apt_opts themselves.

log() { echo "tern: $*" >&2; }
die() { log "$*"; exit 1; }

apt_ready=no
# apt_update: reads the package lists into "$cache/apt", once per run.
apt_update() {
  [ "$apt_ready" = no ] || return 0
  mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial"
  log "reading Debian's $apt_archs package lists into $cache/apt"
  # A mirror can fail one index (e.g. bookworm-security mid-sync: "File has unexpected size") and
  # apt-get then exits 100 although the others were read; whether what we need resolves decides.
  apt-get "${apt_opts[@]}" update >&2 ||
    log "warning: apt-get update reported errors; continuing with the lists it did read"
  apt_ready=yes
}

# download DIR PACKAGE[:ARCH]...: apt-get download into DIR (apt checks each file against the
# signed lists).
download() {
  local dir=$1
  shift
  (cd "$dir" && apt-get "${apt_opts[@]}" download "$@" >&2) ||
    die "apt-get download $* failed (check the network and Debian's sources in /etc/apt)"
}

# module_closure TREE MODULE...: prints the paths (relative to TREE, an unpacked
# /lib/modules/<release>) of the MODULEs and of every module they depend on (each module's
# `depends=` in its .modinfo), dependencies before dependants: the order to insmod them in. Names
# compare with '-' as '_', as the kernel compares them. Fails on a module TREE does not have.
module_closure() {
  local tree=$1 path name
  shift
  declare -A closure_path=() closure_seen=()
  while IFS= read -r path; do
    name=${path##*/}
    name=${name%.ko}
    closure_path[${name//-/_}]=$path
  done < <(cd "$tree" && find kernel -name '*.ko')
  closure_visit() {
    local key=${1//-/_} dependency deps
    [ -z "${closure_seen[$key]:-}" ] || return 0
    closure_seen[$key]=1
    [ -n "${closure_path[$key]:-}" ] || die "the kernel package has no module $1"
    deps=$(tr '\0' '\n' <"$tree/${closure_path[$key]}" | sed -n 's/^depends=//p' | head -1)
    for dependency in ${deps//,/ }; do closure_visit "$dependency"; done
    echo "${closure_path[$key]}"
  }
  for name in "$@"; do closure_visit "$name"; done
}

# ---------------------------------------------------------------------------------------------
# The GRUB kits (tools/install-kit.sh, tools/net-kit.sh): Debian's ppc64el installer and GRUB's
# powerpc-ieee1275 platform directory, with GRUB's host tools (grub-common) unpacked to run them.
# The caller sets cache, work (a temporary directory under it), host_arch, installer_package,
# installer_dir, target_packages (ppc64el) and host_packages (host_arch).

# prepare_grub_kit TOOL: downloads the .debs not yet in CACHE_DIR/debs (apt with private lists
# and the architectures ppc64el and the host's), then unpacks the host tools (checking that TOOL
# runs), GRUB's platform directory and the installer.
prepare_grub_kit() {
  apt_opts=(-q -o APT::Architecture="$host_arch" -o APT::Architectures="$host_arch,ppc64el"
            -o Dir::State::Lists="$cache/apt/lists" -o Dir::Cache="$cache/apt/cache"
            -o Debug::NoLocking=1 -o Acquire::Languages=none)
  # As root, apt downloads as the user _apt, who cannot write into root's home.
  [ "$(id -u)" -ne 0 ] || apt_opts+=(-o APT::Sandbox::User=root)

  mkdir -p "$cache/debs"
  local missing=() package
  deb_of "$installer_package" all >/dev/null || missing+=("$installer_package")
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
    deb_of "$installer_package" all >/dev/null ||
      die "apt-get download left no $installer_package .deb"
    for package in "${missing[@]}"; do
      [ "$package" = "$installer_package" ] && continue
      deb_of "${package%%:*}" "${package##*:}" >/dev/null ||
        die "apt-get download left no $package .deb"
    done
  fi

  unpack_host_tools "$1"
  unpack_grub
  unpack_installer
}

# deb_of PACKAGE ARCH: prints the path of the kept .deb (the last by name if several) or fails.
deb_of() {
  local debs=("$cache/debs/$1_"*"_$2.deb")
  [ -f "${debs[-1]}" ] || return 1
  echo "${debs[-1]}"
}

# host_run TOOL ARGS...: runs an unpacked host tool with its unpacked libraries and data.
host_run() {
  local tool=$1
  shift
  LD_LIBRARY_PATH=$host_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
    pkgdatadir=$cache/host/usr/share/grub "$cache/host/$tool" "$@"
}

# unpack_host_tools TOOL: unpacks host_packages into CACHE_DIR/host (again when their .debs
# changed), sets host_libs and checks that usr/bin/TOOL runs.
unpack_host_tools() {
  local tool=$1 package stamp_now
  stamp_now=$(for package in "${host_packages[@]}"; do
                basename "$(deb_of "$package" "$host_arch")"
              done)
  if [ "$(cat "$cache/host/.debs" 2>/dev/null)" != "$stamp_now" ]; then
    rm -rf "$cache/host"
    mkdir "$work/host"
    for package in "${host_packages[@]}"; do
      dpkg-deb -x "$(deb_of "$package" "$host_arch")" "$work/host"
    done
    echo "$stamp_now" >"$work/host/.debs"
    mv "$work/host" "$cache/host"
  fi
  host_libs=$(find "$cache/host" -name '*.so*' -printf '%h\n' | sort -u | paste -sd:)
  host_run "usr/bin/$tool" --version >/dev/null 2>"$work/err" ||
    die "the unpacked $tool does not run: $(cat "$work/err")"
}

# unpack_grub: GRUB's powerpc-ieee1275 platform directory (grub-ieee1275-bin) into CACHE_DIR/grub.
unpack_grub() {
  local deb
  deb=$(deb_of grub-ieee1275-bin ppc64el)
  if [ "$(cat "$cache/grub/.deb" 2>/dev/null)" != "$(basename "$deb")" ]; then
    rm -rf "$cache/grub"
    mkdir "$work/grub-deb"
    dpkg-deb -x "$deb" "$work/grub-deb"
    local file
    for file in kernel.img bootinfo.txt grub.chrp; do
      [ -f "$work/grub-deb/usr/lib/grub/powerpc-ieee1275/$file" ] ||
        die "$deb has no /usr/lib/grub/powerpc-ieee1275/$file"
    done
    mv "$work/grub-deb/usr/lib/grub" "$cache/grub"
    basename "$deb" >"$cache/grub/.deb"
  fi
}

# unpack_installer: the installer's vmlinux and initrd.gz (installer_package, installer_dir) and
# the package's version into CACHE_DIR/installer.
unpack_installer() {
  local deb
  deb=$(deb_of "$installer_package" all)
  if [ "$(cat "$cache/installer/.deb" 2>/dev/null)" != "$(basename "$deb")" ]; then
    rm -rf "$cache/installer"
    mkdir -p "$work/installer-deb" "$work/installer"
    dpkg-deb --fsys-tarfile "$deb" |
      tar -x -C "$work/installer-deb" "./$installer_dir/vmlinux" "./$installer_dir/initrd.gz" ||
      die "$deb has no $installer_dir/vmlinux and initrd.gz"
    mv "$work/installer-deb/$installer_dir/vmlinux" "$work/installer-deb/$installer_dir/initrd.gz" \
      "$work/installer/"
    dpkg-deb -f "$deb" Version >"$work/installer/VERSION"
    basename "$deb" >"$work/installer/.deb"
    mv "$work/installer" "$cache/installer"
    rm -rf "$work/installer-deb"
  fi
}

# write_cpio DIR OUT: DIR as a gzip-compressed newc archive at OUT, the same bytes on every host
# and every run (-R 0:0, fixed mtimes, sorted names; no root needed).
write_cpio() {
  find "$1" -exec touch -h -d @0 {} +
  (cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
     cpio --quiet --null -o -H newc -R 0:0 --reproducible) | gzip -n -9 >"$2"
}
