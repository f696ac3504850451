"""Instructions tern spends in ibm,configure-connector, counted by callgrind (exact, repeatable).

tests/bench/walk_bench walks a fragment through tern's walker against the fake QEMU, as Linux's
dlpar_configure_connector calls it, and prints one line per fixture:
    walk_bench fixture=NAME walks=N calls=C host_calls=H snapshot_bytes=S
It is built optimized and without sanitizers (BUILD/bench) and run under callgrind, collecting only
inside drc::ConfigureConnector; the counts divided by walks and by calls are the rows.
"""
import os
import re
import subprocess
import tempfile

WALKS = 10
# The walker tests' fixtures (tests/data/*.dts): the fragment kinds a hot-add brings.
FIXTURES = (
    ("drc-cpu-core", "CPU core"),
    ("drc-pci-bridge", "PCI bridge with devices"),
    ("drc-deep", "16-level deep tree"),
    ("drc-many-props", "120 properties, LMB-like"),
    ("drc-big-prop", "one 4 KiB property"),
)
ROWS = [row for fixture, kind in FIXTURES for row in (
    (f"{fixture}/walk", f"configure-connector instructions per walk: {kind}", "instructions"),
    (f"{fixture}/call", f"configure-connector instructions per call: {kind}", "instructions"))]

LINE = re.compile(r"^walk_bench fixture=(\S+) walks=(\d+) calls=(\d+) host_calls=(\d+) "
                  r"snapshot_bytes=(\d+)$", re.M)


def build_walk_bench(ctx):
    """Configures tests/ in BUILD/bench (Release, no sanitizers) and builds walk_bench."""
    bench_dir = os.path.join(ctx.build, "bench")
    for command in (["cmake", "-S", os.path.join(ctx.root, "tests"), "-B", bench_dir,
                     "-DCMAKE_BUILD_TYPE=Release", "-DTERN_SANITIZE=OFF",
                     f"-DLIBFDT_SRC={ctx.libfdt}", f"-DTERN_IMAGE={os.path.abspath(ctx.image)}",
                     f"-DQEMU={ctx.qemu}"],
                    ["cmake", "--build", bench_dir, "--target", "walk_bench", "--",
                     "--no-print-directory"]):
        # Quiet unless it fails: the configure step warns about the kits this build has no use for.
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited with {run.returncode}:\n"
                               f"{run.stdout}{run.stderr}")
    return bench_dir


def callgrind_total(path):
    """The event total (instructions) of a callgrind output file."""
    with open(path) as profile:
        text = profile.read()
    match = re.search(r"^totals:\s+(\d+)", text, re.M) or re.search(r"^summary:\s+(\d+)", text,
                                                                     re.M)
    if not match:
        raise ValueError(f"{path}: no totals")
    return int(match.group(1))


def parse_walk_line(output):
    match = LINE.search(output)
    if not match:
        raise ValueError(f"walk_bench printed no result line:\n{output}")
    fixture, walks, calls, host_calls, snapshot = match.groups()
    return {"fixture": fixture, "walks": int(walks), "calls": int(calls),
            "host_calls": int(host_calls), "snapshot_bytes": int(snapshot)}


def walk_instructions(ctx, firmware):
    """{"FIXTURE/walk": instructions per walk, "FIXTURE/call": per OS call} for every fixture."""
    bench_dir = build_walk_bench(ctx)
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for fixture, kind in FIXTURES:
            ctx.progress(f"callgrind: {kind}")
            profile = os.path.join(scratch, f"{fixture}.callgrind")
            run = subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}",
                 "--toggle-collect=drc::ConfigureConnector*",
                 os.path.join(bench_dir, "walk_bench"),
                 os.path.join(bench_dir, "data", f"{fixture}.dtb"), str(WALKS)],
                capture_output=True, text=True, timeout=600)
            if run.returncode != 0:
                raise RuntimeError(f"walk_bench {fixture} failed:\n{run.stdout}{run.stderr}")
            walk = parse_walk_line(run.stdout)
            total = callgrind_total(profile)
            if total == 0:
                raise RuntimeError(f"callgrind counted nothing in {fixture}'s walk")
            results[f"{fixture}/walk"] = total / walk["walks"]
            results[f"{fixture}/call"] = total / walk["calls"]
            ctx.note(f"{walk['calls'] // walk['walks']} calls/walk, "
                     f"{walk['snapshot_bytes']}-byte snapshot", row=f"{fixture}/walk")
    return results
