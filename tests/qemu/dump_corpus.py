#!/usr/bin/env python3
"""Dumps the device tree QEMU's pseries machine builds for each configuration in a corpus file.

For each line "name | options | expectations..." of CONFIGS it runs
  QEMU -M pseries,dumpdtb=OUT/name.dtb <options>
and writes OUT/manifest.txt with one line per tree: "name.dtb expectations...". QEMU exits right
after the dump, before any firmware runs.
"""
import argparse
import pathlib
import shlex
import subprocess
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qemu", required=True, help="qemu-system-ppc64 to run")
    parser.add_argument("--bios", required=True, help="firmware image to name with -bios")
    parser.add_argument("--configs", required=True, type=pathlib.Path)
    parser.add_argument("--out", required=True, type=pathlib.Path)
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for line in args.configs.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in line.split("|")]
        name, options, expectations = fields[0], fields[1], fields[2:]
        dtb = args.out / f"{name}.dtb"
        command = [args.qemu, "-M", f"pseries,dumpdtb={dtb}", "-bios", args.bios,
                   *shlex.split(options)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0 or not dtb.exists():
            print(f"dump_corpus: {' '.join(command)} failed:\n{result.stderr}", file=sys.stderr)
            return 1
        manifest.append(" ".join([dtb.name, *expectations]))
    (args.out / "manifest.txt").write_text("\n".join(manifest) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
