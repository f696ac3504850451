#!/usr/bin/env python3
"""Dumps the device tree QEMU's pseries machine builds for each configuration in a corpus file.

For each line "name | options | expectations..." of CONFIGS it runs
  QEMU -M pseries,dumpdtb=OUT/name.dtb <options>
and writes OUT/manifest.txt with one line per tree: "name.dtb expectations...". QEMU exits right
after the dump, before any firmware runs. Newer QEMU (9.0 on) takes that dump before pseries has
built its tree ("This machine doesn't have an FDT"); then the machine is started paused (-S) and
the tree is dumped with the QMP command dumpdtb, which is the same tree the firmware would get.
"""
import argparse
import json
import os
import pathlib
import shlex
import socket
import subprocess
import sys
import tempfile
import time


def dump_with_qmp(qemu, bios, options, dtb):
    """Starts the machine paused and dumps its tree with QMP dumpdtb; returns an error or None."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "qmp.sock")
        process = subprocess.Popen([qemu, "-M", "pseries", "-bios", bios, "-S", "-display", "none",
                                    "-qmp", f"unix:{path},server=on,wait=off",
                                    *[o for o in options if o != "-nographic"]],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(600):
                if os.path.exists(path) or process.poll() is not None:
                    break
                time.sleep(0.05)
            if process.poll() is not None:
                return process.stderr.read()
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.connect(path)
                stream = connection.makefile("rw")
                stream.readline()
                for request in ({"execute": "qmp_capabilities"},
                                {"execute": "dumpdtb", "arguments": {"filename": str(dtb)}}):
                    stream.write(json.dumps(request) + "\n")
                    stream.flush()
                    while True:
                        reply = json.loads(stream.readline())
                        if "event" not in reply:
                            break
                    if "error" in reply:
                        return str(reply["error"])
            return None
        finally:
            process.kill()
            process.wait()


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
        if "doesn't have an FDT" in result.stderr:
            error = dump_with_qmp(args.qemu, args.bios, shlex.split(options), dtb)
            if error is not None:
                print(f"dump_corpus: {name}: QMP dumpdtb failed: {error}", file=sys.stderr)
                return 1
        elif result.returncode != 0 or not dtb.exists():
            print(f"dump_corpus: {' '.join(command)} failed:\n{result.stderr}", file=sys.stderr)
            return 1
        manifest.append(" ".join([dtb.name, *expectations]))
    (args.out / "manifest.txt").write_text("\n".join(manifest) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
