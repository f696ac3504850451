#!/usr/bin/env python3
"""Tests of what `make install` installs and of the one version string.

Usage: install_test.py --qemu QEMU --image build/tern.bin --root TREE --dump-tool TOOL
                       --libfdt LIBFDT_SRC SCENARIO

`make install` runs in TREE with BUILD = the image's directory and TERN_VERSION = the one that
build was made with (BUILD/version.h), so it installs the files that are already built. The deb
scenario builds the Debian packages from a copy of TREE in a temporary directory (about a minute
on two cores).
"""
import os
import re
import stat
import subprocess
import tempfile

from guest import SKIP, Guest, expect, run_scenarios

BANNER = r"\ntern (\S+): pseries firmware\n"


def built_version(build):
    with open(os.path.join(build, "version.h")) as header:
        match = re.search(r'#define TERN_VERSION_STRING "([^"]*)"', header.read())
    expect(match is not None, f"no version in {build}/version.h", None)
    return match.group(1)


def make(opts, *arguments):
    build = os.path.dirname(os.path.abspath(opts.image))
    command = ["make", "--no-print-directory", "-C", opts.root, f"BUILD={build}",
               f"LIBFDT_SRC={opts.libfdt}", f"TERN_VERSION={built_version(build)}", *arguments]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    expect(run.returncode == 0,
           f"{' '.join(command)} exited with {run.returncode}:\n{run.stdout}{run.stderr}", None)
    return run.stdout


def installed_files(destdir):
    """{path under destdir: mode} of every file (and symlink) there."""
    found = {}
    for directory, _, files in os.walk(destdir):
        for name in files:
            path = os.path.join(directory, name)
            found[os.path.relpath(path, destdir)] = stat.S_IMODE(os.lstat(path).st_mode)
    return found


def same_bytes(a, b):
    with open(a, "rb") as first, open(b, "rb") as second:
        return first.read() == second.read()


def expected_files(opts, prefix):
    """The files `make install PREFIX=prefix` must install, with their modes."""
    p = prefix.strip("/")
    docs = sorted(name for name in os.listdir(os.path.join(opts.root, "docs"))
                  if name.endswith(".md"))
    files = {f"{p}/share/qemu/tern.bin": 0o644, f"{p}/share/tern/tern.elf": 0o644,
             f"{p}/bin/tern-rtas-dump": 0o755, f"{p}/share/man/man1/tern-rtas-dump.1": 0o644,
             f"{p}/share/doc/tern/README.md": 0o644}
    files.update({f"{p}/share/doc/tern/docs/{name}": 0o644 for name in docs})
    return files


def scenario_files(opts):
    build = os.path.dirname(os.path.abspath(opts.image))
    for prefix in ("/usr", "/usr/local"):
        with tempfile.TemporaryDirectory() as destdir:
            arguments = [f"DESTDIR={destdir}"] + ([f"PREFIX={prefix}"] if prefix == "/usr" else [])
            make(opts, "install", *arguments)
            found = installed_files(destdir)
            expected = expected_files(opts, prefix)
            expect(found == expected,
                   f"PREFIX={prefix}: installed {sorted(found.items())}, expected "
                   f"{sorted(expected.items())}", None)
            p = os.path.join(destdir, prefix.strip("/"))
            for installed, built in (("share/qemu/tern.bin", "tern.bin"),
                                     ("share/tern/tern.elf", "tern.elf"),
                                     ("bin/tern-rtas-dump", "tools/tern-rtas-dump")):
                expect(same_bytes(os.path.join(p, installed), os.path.join(build, built)),
                       f"{installed} differs from {build}/{built}", None)
            version = subprocess.run([os.path.join(p, "bin/tern-rtas-dump"), "--version"],
                                     capture_output=True, text=True, timeout=30).stdout
            expect(version == f"tern-rtas-dump {built_version(build)}\n",
                   f"the installed tern-rtas-dump says {version!r}", None)
            make(opts, "uninstall", *arguments)
            left = installed_files(destdir)
            expect(not left, f"PREFIX={prefix}: make uninstall left {sorted(left)}", None)
            print(f"PREFIX={prefix}: {len(found)} files installed, all removed by uninstall")


def scenario_version(opts):
    tool = subprocess.run([opts.dump_tool, "--version"], capture_output=True, text=True,
                          timeout=30)
    expect(tool.returncode == 0, f"tern-rtas-dump --version exited with {tool.returncode}", None)
    match = re.fullmatch(r"tern-rtas-dump (\S+)\n", tool.stdout)
    expect(match is not None, f"tern-rtas-dump --version printed {tool.stdout!r}", None)
    tool_version = match.group(1)
    # The image's identification block (boot/entry.S): "TERN", a 32-bit version, the string.
    with open(opts.image, "rb") as image:
        head = image.read(256)
    expect(head[:4] == b"TERN", "tern.bin has no identification block", None)
    image_version = head[8:].split(b"\0", 1)[0].decode()
    guest = Guest(opts.qemu, ["-bios", opts.image])
    banner = guest.wait_for(BANNER).group(1)
    guest.kill()
    expect(banner == tool_version == image_version,
           f"banner '{banner}', tern-rtas-dump '{tool_version}', image '{image_version}'", guest)
    print(f"version {banner} in the banner, the image and tern-rtas-dump --version")


def deb_field(deb, field):
    return subprocess.run(["dpkg-deb", "-f", deb, field], capture_output=True, text=True,
                          check=True).stdout.strip()


def deb_files(deb):
    """The regular files and links a .deb installs, without the leading './'."""
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                             check=True).stdout
    return {line.split()[5][2:] for line in listing.splitlines() if not line.startswith("d")}


def scenario_deb(opts):
    deps = subprocess.run([os.path.join(opts.root, "tools/deps.sh"), "package"],
                          env={**os.environ, "TERN_DEPS_INSTALL": "no"}, capture_output=True,
                          text=True)
    if deps.returncode != 0:
        print(f"SKIP: the packaging tools are not installed ({deps.stderr.strip()})")
        return SKIP
    changelog = subprocess.run(["dpkg-parsechangelog", "-l",
                                os.path.join(opts.root, "debian/changelog"), "-S", "Version"],
                               capture_output=True, text=True, check=True).stdout.strip()
    host_arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                               check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as out:
        build = subprocess.run([os.path.join(opts.root, "tools/build-deb.sh"), out],
                               capture_output=True, text=True, timeout=1200)
        expect(build.returncode == 0, f"tools/build-deb.sh failed:\n{build.stdout}{build.stderr}",
               None)
        print(build.stdout.strip())
        firmware = os.path.join(out, f"tern-firmware_{changelog}_all.deb")
        tools = os.path.join(out, f"tern-tools_{changelog}_{host_arch}.deb")
        for deb in (firmware, tools):
            expect(os.path.isfile(deb), f"no {os.path.basename(deb)} in {sorted(os.listdir(out))}",
                   None)
        expect(deb_field(firmware, "Architecture") == "all", "tern-firmware is not arch all", None)
        expect(deb_field(firmware, "Built-Using").startswith("linux (= "),
               "tern-firmware has no Built-Using: linux", None)
        docs = {f"usr/share/doc/tern-firmware/docs/{name}"
                for name in os.listdir(os.path.join(opts.root, "docs")) if name.endswith(".md")}
        files = {re.sub(r"\.gz$", "", name) for name in deb_files(firmware)}
        expected = {"usr/share/qemu/tern.bin", "usr/share/tern/tern.elf",
                    "usr/share/doc/tern-firmware/README.md",
                    "usr/share/doc/tern-firmware/changelog",
                    "usr/share/doc/tern-firmware/copyright",
                    "usr/share/lintian/overrides/tern-firmware", *docs}
        expect(files == expected, f"tern-firmware holds {sorted(files)}, expected "
               f"{sorted(expected)}", None)
        tool_files = deb_files(tools)
        expect({"usr/bin/tern-rtas-dump", "usr/share/man/man1/tern-rtas-dump.1.gz"} <= tool_files,
               f"tern-tools holds {sorted(tool_files)}", None)
        unpacked = os.path.join(out, "root")
        for deb in (firmware, tools):
            subprocess.run(["dpkg-deb", "-x", deb, unpacked], check=True)
        with open(os.path.join(unpacked, "usr/share/qemu/tern.bin"), "rb") as image:
            image_version = image.read(256)[8:].split(b"\0", 1)[0].decode()
        tool_version = subprocess.run([os.path.join(unpacked, "usr/bin/tern-rtas-dump"),
                                       "--version"], capture_output=True, text=True).stdout
        expect(image_version == changelog and tool_version == f"tern-rtas-dump {changelog}\n",
               f"changelog {changelog}, image {image_version}, tool {tool_version!r}", None)
        print(f"tern-firmware and tern-tools {changelog}: files and versions as expected")


SCENARIOS = {
    "files": ("make install DESTDIR=tmp, with PREFIX=/usr and with the default /usr/local: exactly "
              "tern.bin in share/qemu, tern.elf in share/tern, bin/tern-rtas-dump (0755) and its "
              "man page, README.md and docs/*.md in share/doc/tern, the same bytes as the build; "
              "the installed tern-rtas-dump runs; make uninstall removes every file",
              scenario_files),
    "version": ("the banner tern prints on QEMU, the image's identification block and "
                "tern-rtas-dump --version carry the same version string", scenario_version),
    "deb": ("tools/build-deb.sh (make deb) builds tern-firmware (arch all, Built-Using linux) and "
            "tern-tools (the host's arch) offline; their files are the expected ones and the "
            "image and tern-rtas-dump carry the changelog's version; skipped (77) when "
            "`tools/deps.sh package`'s packages are missing", scenario_deb),
}


def add_arguments(parser):
    parser.add_argument("--root", required=True, help="the source tree (where the Makefile is)")
    parser.add_argument("--dump-tool", required=True, help="build/tools/tern-rtas-dump")
    parser.add_argument("--libfdt", required=True, help="LIBFDT_SRC the build used")


if __name__ == "__main__":
    raise SystemExit(run_scenarios(__doc__, SCENARIOS, add_arguments))
