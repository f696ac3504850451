#!/usr/bin/env python3
"""Lists the longest functions of tern's firmware sources, or checks that none is too long.

  tools/function-lengths.py [--top N] [--max LINES] [--allow NAME ...] [FOLDER ...]

A function is counted from the first line of its signature to its closing brace, as
clang-format lays them out (.clang-format is checked in): a definition at namespace or class
level whose signature ends with `{`, closed by `}` at the signature's indentation. With --max,
exits 1 when a function not named by --allow is longer, listing it. The default folders are the
firmware's (the Makefile's MODULES).
"""
import argparse
import os
import re
import sys

FOLDERS = ["boot", "lib", "block", "fs", "net", "nvram", "of", "rtas", "drc", "bootmgr", "dev"]
NOT_FUNCTIONS = re.compile(
    r'^\s*(if|for|while|switch|do|else|namespace|struct|class|enum|union|return|case)\b'
    r'|^extern "C" \{|=\s*\{$')


def functions(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if not lines[i].rstrip().endswith("{"):
            i += 1
            continue
        # The signature may span lines: walk back to its first line (after a blank line, a
        # comment, a preprocessor line, a label, or a line ending a statement or a block).
        start = i
        while start > 0:
            previous = lines[start - 1].rstrip()
            if (not previous.strip() or previous.strip().startswith("//") or previous.startswith("#")
                    or previous.endswith((";", "}", "{", ":"))):
                break
            start -= 1
        first = lines[start]
        indent = len(first) - len(first.lstrip())
        signature = " ".join(l.strip() for l in lines[start:i + 1])
        head = signature.split("(")[0]
        if (indent > 2 or "(" not in signature or NOT_FUNCTIONS.search(first) or "=" in head):
            i += 1
            continue
        closing = re.compile(r"^" + " " * indent + r"\}")
        end = i + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        if end >= len(lines):
            i += 1
            continue
        yield head.split()[-1], path, start + 1, end - start + 1
        i = end + 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--top", type=int, default=10, help="how many to list (default 10)")
    parser.add_argument("--max", type=int, help="fail when a function is longer than this")
    parser.add_argument("--allow", action="append", default=[],
                        help="a function name --max does not apply to")
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("folders", nargs="*", default=FOLDERS)
    args = parser.parse_args()
    found = []
    for folder in args.folders:
        directory = os.path.join(args.root, folder)
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            if name.endswith(".cc"):
                found.extend(functions(os.path.join(directory, name)))
    found.sort(key=lambda f: -f[3])
    for name, path, line, length in found[:args.top]:
        print(f"{length:5d}  {name}  {os.path.relpath(path, args.root)}:{line}")
    if args.max is not None:
        over = [f for f in found if f[3] > args.max and f[0].split("::")[-1] not in args.allow]
        for name, path, line, length in over:
            print(f"too long: {name} ({length} lines > {args.max}) "
                  f"{os.path.relpath(path, args.root)}:{line}", file=sys.stderr)
        return 1 if over else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
