"""Instructions tern spends per ibm,configure-connector call, counted by callgrind (exact,
repeatable).

tests/bench/walk_bench walks one fragment kind through tern's RTAS dispatcher and walker against
the fake QEMU behind the fake hypervisor, as Linux's dlpar_configure_connector calls it, and
prints one line:
    walk_bench fragment=KIND fragment_bytes=B walks=N calls=C host_calls=H snapshot_bytes=S
It is built optimized and without sanitizers (BUILD/bench) and run under callgrind, collecting
inside rtas::Dispatch; what the fake hypervisor and QEMU spend there (tests::FakeHypervisor::
Dispatch, inclusive) is left out. The rest divided by walks and by calls are the rows. The counts
are of the x86-64 host build, not of the POWER image.
"""
import os
import re
import subprocess
import tempfile

WALKS = 10
# walk_bench's fragment kinds: what a hot-add brings, and the worst case.
KINDS = (
    ("cpu-core", "CPU core"),
    ("pci-device", "PCI device (virtio-net)"),
    ("phb", "PHB"),
    ("pci-bridge", "pci-bridge with a device"),
    ("pci-tree-64k", "64 KiB pci-bridge tree"),
    ("wide-64k", "64 KiB of 4 KiB properties"),
)
ROWS = [row for kind, name in KINDS for row in (
    (f"{kind}/walk", f"configure-connector instructions per walk: {name}", "instructions"),
    (f"{kind}/call", f"configure-connector instructions per call: {name}", "instructions"))]

LINE = re.compile(r"^walk_bench fragment=(\S+) fragment_bytes=(\d+) walks=(\d+) calls=(\d+) "
                  r"host_calls=(\d+) snapshot_bytes=(\d+)$", re.M)
HOST = "tests::FakeHypervisor::Dispatch"


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


def callgrind_inclusive(path, function):
    """Instructions collected in `function` and what it called (callgrind_annotate --inclusive)."""
    run = subprocess.run(["callgrind_annotate", "--inclusive=yes", path], capture_output=True,
                         text=True, check=True)
    for line in run.stdout.splitlines():
        if function in line:
            return int(line.split()[0].replace(",", ""))
    return 0


def parse_walk_line(output):
    match = LINE.search(output)
    if not match:
        raise ValueError(f"walk_bench printed no result line:\n{output}")
    kind, size, walks, calls, host_calls, snapshot = match.groups()
    return {"fragment": kind, "fragment_bytes": int(size), "walks": int(walks),
            "calls": int(calls), "host_calls": int(host_calls), "snapshot_bytes": int(snapshot)}


def walk_instructions(ctx, firmware):
    """{"KIND/walk": instructions per walk, "KIND/call": per OS call} for every fragment kind."""
    bench_dir = build_walk_bench(ctx)
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for kind, name in KINDS:
            ctx.progress(f"callgrind: {name}")
            profile = os.path.join(scratch, f"{kind}.callgrind")
            run = subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}",
                 "--toggle-collect=rtas::Dispatch*", os.path.join(bench_dir, "walk_bench"), kind,
                 str(WALKS)],
                capture_output=True, text=True, timeout=900, cwd=bench_dir)
            if run.returncode != 0:
                raise RuntimeError(f"walk_bench {kind} failed:\n{run.stdout}{run.stderr}")
            walk = parse_walk_line(run.stdout)
            total = callgrind_total(profile)
            if total == 0:
                raise RuntimeError(f"callgrind counted nothing in the {kind} walk")
            tern = total - callgrind_inclusive(profile, HOST)
            results[f"{kind}/walk"] = tern / walk["walks"]
            results[f"{kind}/call"] = tern / walk["calls"]
            ctx.note(f"{walk['fragment_bytes']}-byte fragment, "
                     f"{walk['calls'] // walk['walks']} calls/walk, "
                     f"{walk['snapshot_bytes']}-byte snapshot", row=f"{kind}/walk")
    return results
