# Shell functions the kit builders share (tools/guest-kit.sh, tools/disk-kit.sh); sourced, not run.
# The caller sets `cache` (its cache directory), `apt_opts` (apt-get options with private
# Dir::State::Lists and Dir::Cache under "$cache/apt") and `apt_archs` (the architectures named in
# messages) before calling apt_update or download.

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
