#!/usr/bin/env python3
"""Prints which firmware folder includes which, and checks the layering.

  tools/include-graph.py [--check] [--root DIR]

The firmware's folders form layers (docs/architecture.md): lib at the bottom; rtas, block, net
and nvram on lib; drc on rtas; fs on block; of and dev on rtas, block and net (of on fs and nvram
too); bootmgr on of, fs, net, nvram and block; boot on everything. A
folder may include its own headers and those of the layers below it. With --check, exits 1 when
a file includes a folder its layer may not, or when two folders include each other, and names the
file.
"""
import argparse
import os
import re
import sys

# Each folder and the folders it may include (besides itself).
ALLOWED = {
    "lib": set(),
    "rtas": {"lib"},
    "block": {"lib"},
    "net": {"lib"},
    "nvram": {"lib"},
    "drc": {"lib", "rtas"},
    "fs": {"lib", "block"},
    "of": {"lib", "rtas", "block", "fs", "net", "nvram"},
    "dev": {"lib", "rtas", "block", "net"},
    "bootmgr": {"lib", "rtas", "block", "fs", "net", "nvram", "of"},
    "boot": {"lib", "rtas", "block", "fs", "net", "nvram", "drc", "of", "dev", "bootmgr"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z]+)/')


def edges(root):
    found = {}
    for folder in ALLOWED:
        directory = os.path.join(root, folder)
        for name in sorted(os.listdir(directory)):
            if not name.endswith((".cc", ".h")):
                continue
            path = os.path.join(directory, name)
            for number, line in enumerate(open(path, encoding="utf-8"), 1):
                match = INCLUDE.match(line)
                if match and match.group(1) != folder and match.group(1) in ALLOWED:
                    found.setdefault((folder, match.group(1)), []).append(
                        f"{folder}/{name}:{number}")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail on a forbidden include")
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    args = parser.parse_args()
    found = edges(args.root)
    for folder in ALLOWED:
        targets = sorted(to for (src, to) in found if src == folder)
        print(f"{folder:8s} -> {' '.join(targets) if targets else '(nothing)'}")
    problems = []
    for (src, to), where in sorted(found.items()):
        if to not in ALLOWED[src]:
            problems.append(f"{src}/ may not include {to}/: {', '.join(where)}")
        if (to, src) in found and src < to:
            problems.append(f"{src}/ and {to}/ include each other")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if args.check and problems else 0


if __name__ == "__main__":
    sys.exit(main())
