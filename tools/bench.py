#!/usr/bin/env python3
"""tern's benchmark (`make bench`): tern beside SLOF and VOF, one run, one report.

Runs every measure in MEASURES below, printing progress as it goes, and writes into OUT
(default BUILD/bench):
  results.json  every figure: unit, firmware, QEMU version, rounds, the values, median, min, max;
                the ratios tern/SLOF and tern/VOF (of the medians, and per round)
  results.md    the same as a table
  results.png   the ratios as a chart (matplotlib: Debian's python3-matplotlib)

Timed measures run ROUNDS rounds; each round runs every firmware once, in an order that rotates
from round to round (tern SLOF VOF, SLOF VOF tern, ...), so a noisy moment of the machine hits all
firmwares alike. Exact measures (sizes, instruction counts) run once. A firmware's failure ends
the measure for all of them, but for measures that keep going (cdrom, netboot,
netboot-installer): there the firmware that failed is reported "failed" in its cells and left out
of the later rounds, and the others go on.
Nothing about the figures is asserted: the exit status is 1 only when a measure failed to run (on
any firmware) or the chart could not be drawn. Timings on a shared machine are noisy: compare the
ratios of one run.

Measures (--list prints their names, --only NAME,... runs some):
  boot-kernel       QEMU start to the guest kit's /init, with -kernel
  disk-virtio-blk   no -kernel: QEMU start to GRUB's first line and to the root mounted from the
  disk-spapr-vscsi  disk kit's MBR disk (tern and SLOF; VOF boots no disk)
  cdrom             no -kernel: QEMU start to GRUB's banner and to the Debian installer's first
                    dialog from the install kit's debian-installer.iso on -cdrom (tern and SLOF)
  netboot           network boot from the net kit (QEMU's DHCP and TFTP server, spapr-vlan):
                    QEMU start to GRUB's banner (grub-mknetdir's image), and the firmware's TFTP
                    of a 44 MiB boot file in MiB/s, timed on the wire (tern and SLOF)
  netboot-installer GRUB's TFTP of the installer's initrd through the firmware's NIC (MiB/s), and
                    QEMU start to the installer's first dialog over the network (tern: SLOF's
                    GRUB stops before)
  hotplug-cpu       device_add of a CPU core until the guest lists it online
  hotplug-pci       device_add of a virtio-net-pci, drmgr in the guest, until its interface exists
                    (tern and SLOF)
  hotplug-dimm      device_add of a 1 GiB pc-dimm until MemTotal has grown (tern and SLOF)
  bios-size         the -bios image: tern.bin, QEMU's slof.bin and vof.bin
  rtas-resident     guest memory tern's RTAS image takes (rtas.bin + .bss + stack)
  walk              instructions per configure-connector walk and per call, per fragment kind
                    (callgrind on tests/bench/walk_bench through the dispatcher, exact)
  make-test         wall time of `make test`: only with --make-test (BENCH_MAKE_TEST=1)

A new measure is one function f(ctx, firmware) -> number (or {row key: number}) in a module of
tools/benchmarks/, and one Measure(...) line in MEASURES.

  tools/bench.py --image build/tern.bin --kit ~/.cache/tern/guest --disks ~/.cache/tern/disk \\
      --install-kit ~/.cache/tern/install --net-kit ~/.cache/tern/net \\
      --libfdt ~/.cache/tern/libfdt [--rounds 5] \\
      [--make-test] [--only boot-kernel,walk]
"""
import argparse
import functools
import hashlib
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
from benchmarks import (boot, cdrom, chart, disk, hotplug, make_test, netboot,  # noqa: E402
                        report, sizes, walk)

ALL = ("tern", "slof", "vof")


@dataclass
class Measure:
    name: str
    rows: list  # [(key, title, unit)]; key "" for a measure of one row, else the key it returns
    function: object  # f(ctx, firmware) -> number or {key: number}; None: "not yet"
    firmwares: tuple = ALL
    repeat: bool = True  # timings: ROUNDS interleaved rounds; exact figures: one run
    uses_qemu: bool = True  # the figures depend on the QEMU under test
    skip: object = None  # ctx -> None to run, or the status to report instead
    # True: a firmware that fails is reported failed on the rows and left out of later rounds,
    # the others go on; False: the first failure fails the measure's rows for every firmware.
    keep_going: bool = False


def one(title, unit):
    return [("", title, unit)]


MEASURES = [
    Measure("boot-kernel", one("boot to init, -kernel", "s"), boot.boot_to_init_seconds),
    Measure("disk-virtio-blk",
            [("grub", "disk boot, virtio-blk: to GRUB", "s"),
             ("root", "disk boot, virtio-blk: to mounted root", "s")],
            functools.partial(disk.disk_boot_seconds, bus="virtio-blk"), ("tern", "slof")),
    Measure("disk-spapr-vscsi",
            [("grub", "disk boot, spapr-vscsi: to GRUB", "s"),
             ("root", "disk boot, spapr-vscsi: to mounted root", "s")],
            functools.partial(disk.disk_boot_seconds, bus="spapr-vscsi"), ("tern", "slof")),
    Measure("cdrom",
            [("grub", "CD boot (-cdrom, Debian installer): to GRUB", "s"),
             ("dialog", "CD boot (-cdrom, Debian installer): to its first dialog", "s")],
            cdrom.cdrom_boot_seconds, ("tern", "slof"), keep_going=True),
    Measure("netboot",
            [("grub", "network boot (spapr-vlan, grub-mknetdir's GRUB): to GRUB", "s"),
             ("tftp", "firmware's TFTP: the installer's vmlinux (44 MiB) as the DHCP boot file",
              "MiB/s")],
            netboot.network_boot, ("tern", "slof"), keep_going=True),
    Measure("netboot-installer",
            [("initrd", "GRUB's TFTP over the firmware's NIC: the installer's initrd (23 MiB)",
              "MiB/s"),
             ("dialog", "network boot (spapr-vlan): to the installer's first dialog", "s")],
            netboot.installer_over_network, ("tern",), keep_going=True),
    Measure("hotplug-cpu", one("hot-add: CPU core", "ms"), hotplug.cpu_core_hot_add_ms),
    Measure("hotplug-pci", one("hot-add: PCI device (virtio-net, drmgr)", "ms"),
            hotplug.pci_device_hot_add_ms, ("tern", "slof")),
    Measure("hotplug-dimm", one("hot-add: 1 GiB DIMM", "ms"), hotplug.dimm_hot_add_ms,
            ("tern", "slof")),
    Measure("bios-size", one("-bios image size", "bytes"), sizes.bios_image_bytes, repeat=False),
    Measure("rtas-resident", one("RTAS resident size (rtas.bin + .bss + stack)", "bytes"),
            sizes.rtas_resident_bytes, ("tern",), repeat=False, uses_qemu=False),
    Measure("walk", walk.ROWS, walk.walk_instructions, ("tern",), repeat=False, uses_qemu=False),
    Measure("make-test", one("make test wall time", "s"), make_test.make_test_seconds, ("tern",),
            repeat=False,
            skip=lambda ctx: None if ctx.make_test else "not measured (BENCH_MAKE_TEST=1)"),
]


def row_id(measure, key):
    return measure.name if key == "" else f"{measure.name}/{key}"


class Context:
    """What a measure function gets: the paths and QEMU, progress and notes."""

    def __init__(self, opts):
        self.qemu = opts.qemu
        self.image = os.path.abspath(opts.image)
        self.rtas_image = os.path.abspath(opts.rtas_image or
                                          os.path.join(os.path.dirname(opts.image), "rtas.bin"))
        self.kit = opts.kit and os.path.abspath(opts.kit)
        self.disks = opts.disks and os.path.abspath(opts.disks)
        self.install_kit = opts.install_kit and os.path.abspath(opts.install_kit)
        self.net_kit = opts.net_kit and os.path.abspath(opts.net_kit)
        self.libfdt = opts.libfdt and os.path.abspath(opts.libfdt)
        self.build = os.path.abspath(opts.build)
        self.out = os.path.abspath(opts.out or os.path.join(opts.build, "bench"))
        self.rounds = opts.rounds
        self.make_test = opts.make_test
        self.root = ROOT
        self.started = time.monotonic()
        self.rows = {}  # row id -> report.Row, of the measure running now
        self.measure = None

    def progress(self, text):
        elapsed = int(time.monotonic() - self.started)
        print(f"  {elapsed // 60:3d}:{elapsed % 60:02d}  {text}", flush=True)

    def note(self, text, row=""):
        """Attaches `text` to the current measure's row `row` (its key; "" for a one-row
        measure), once."""
        notes = self.rows[row_id(self.measure, row)].notes
        if text not in notes:
            notes.append(text)


def qemu_version(qemu):
    line = subprocess.run([qemu, "--version"], capture_output=True, text=True, timeout=60,
                          check=True).stdout.splitlines()[0]
    words = line.split()
    version = words[words.index("version") + 1] if "version" in words else line
    return version, line


def tern_version(image):
    """The version string in the image's identification block (boot/entry.S: "TERN", a 32-bit
    block version, the NUL-terminated version string)."""
    with open(image, "rb") as f:
        head = f.read(256)
    if head[:4] != b"TERN":
        return "unknown (no identification block)"
    return head[8:].split(b"\0", 1)[0].decode("ascii", "replace")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def describe_firmwares(ctx):
    described = {"tern": {"image": ctx.image, "version": tern_version(ctx.image),
                          "sha256": sha256(ctx.image)}}
    described["tern"]["description"] = (f"{described['tern']['version']} ({ctx.image}, "
                                        f"sha256 {described['tern']['sha256'][:12]})")
    for firmware in ("slof", "vof"):
        try:
            path = sizes.qemu_firmware_path(ctx.qemu, firmware)
            described[firmware] = {"image": path, "sha256": sha256(path)}
            how = "-M pseries,x-vof=on" if firmware == "vof" else "-M pseries, no -bios"
            described[firmware]["description"] = (f"QEMU's {path} ({how}, sha256 "
                                                  f"{described[firmware]['sha256'][:12]})")
        except (OSError, subprocess.SubprocessError) as error:
            described[firmware] = {"image": None, "description": f"not found: {error}"}
    return described


def describe_host():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "load_average_start": os.getloadavg()[0]}


def run_measure(ctx, measure, rows):
    """Fills `rows` (this measure's report rows) by running the measure; a failure marks them (or,
    for a measure that keeps going, marks that firmware on them)."""
    ctx.measure = measure
    ctx.rows = {row.id: row for row in rows}
    rounds = ctx.rounds if measure.repeat else 1
    firmwares = list(measure.firmwares)
    failed = {}  # firmware -> "where: error", for a measure that keeps going
    for number in range(rounds):
        shift = number % len(firmwares)
        for firmware in firmwares[shift:] + firmwares[:shift]:
            if firmware in failed:
                continue
            try:
                result = measure.function(ctx, firmware)
            except Exception as error:  # a failed boot (AssertionError), a tool that failed...
                where = f"{report.LABELS[firmware]}, round {number + 1}"
                print(f"  {measure.name} failed ({where}):\n{error}", file=sys.stderr)
                if not isinstance(error, (AssertionError, RuntimeError)):
                    traceback.print_exc()
                if not measure.keep_going:
                    for row in rows:
                        row.fail(f"{where}: {error}")
                    return
                failed[firmware] = f"{where}: {error}"
                ctx.progress(f"round {number + 1}/{rounds} {report.LABELS[firmware]:4s}  failed; "
                             f"left out of the later rounds")
                for row in rows:
                    row.fail_firmware(firmware, f"round {number + 1}: {error}")
                continue
            values = result if isinstance(result, dict) else {"": result}
            for key, _, _ in measure.rows:
                if key not in values:
                    for row in rows:
                        row.fail(f"the measure returned no '{key}'")
                    return
            shown = []
            for (key, _, unit), row in zip(measure.rows, rows):
                row.add(firmware, values[key])
                shown.append(f"{key + ' ' if key else ''}{report.format_number(values[key], unit)}"
                             f" {unit}")
            label = f"round {number + 1}/{rounds} " if measure.repeat else ""
            ctx.progress(f"{label}{report.LABELS[firmware]:4s}  " +
                         ", ".join(shown[:4]) + (" ..." if len(shown) > 4 else ""))
    if failed and len(failed) == len(firmwares):  # nothing measured: the measure failed
        for row in rows:
            row.failures.clear()
            row.fail(next(iter(failed.values())))


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qemu", default=os.environ.get("QEMU", "qemu-system-ppc64"),
                        help="the emulator (default: $QEMU or qemu-system-ppc64)")
    parser.add_argument("--image", default="build/tern.bin", help="tern's -bios image")
    parser.add_argument("--rtas-image", help="rtas.bin (default: beside --image)")
    parser.add_argument("--kit", help="guest kit directory (tools/guest-kit.sh)")
    parser.add_argument("--disks", help="disk kit directory (tools/disk-kit.sh)")
    parser.add_argument("--install-kit", help="install kit directory (tools/install-kit.sh)")
    parser.add_argument("--net-kit", help="net kit directory (tools/net-kit.sh)")
    parser.add_argument("--libfdt", help="libfdt sources, for walk_bench's build")
    parser.add_argument("--build", default="build", help="the build directory (default build)")
    parser.add_argument("--out", help="where the report goes (default BUILD/bench)")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "5")),
                        help="rounds of the timed measures (default: $BENCH_ROUNDS or 5)")
    parser.add_argument("--make-test", action="store_true",
                        default=os.environ.get("BENCH_MAKE_TEST", "") not in ("", "0"),
                        help="also time `make test` (default: on when BENCH_MAKE_TEST=1)")
    parser.add_argument("--only", help="comma-separated measure names to run (others: left out)")
    parser.add_argument("--list", action="store_true", help="print the measures' names and exit")
    opts = parser.parse_args()
    if opts.rounds < 1:
        parser.error("--rounds must be at least 1")
    return parser, opts


def main():
    parser, opts = parse_arguments()
    if opts.list:
        print("\n".join(measure.name for measure in MEASURES))
        return 0
    selected = set(opts.only.split(",")) if opts.only else None
    unknown = (selected or set()) - {measure.name for measure in MEASURES}
    if unknown:
        parser.error(f"unknown measures: {', '.join(sorted(unknown))} (--list names them)")
    needs = {"--kit": (opts.kit, ("boot-kernel", "hotplug-cpu", "hotplug-pci", "hotplug-dimm")),
             "--disks": (opts.disks, ("disk-virtio-blk", "disk-spapr-vscsi")),
             "--install-kit": (opts.install_kit, ("cdrom",)),
             "--net-kit": (opts.net_kit, ("netboot", "netboot-installer")),
             "--libfdt": (opts.libfdt, ("walk",))}
    for flag, (value, names) in needs.items():
        if not value and any(selected is None or name in selected for name in names):
            parser.error(f"{flag} is needed by {', '.join(names)}")

    ctx = Context(opts)
    os.makedirs(ctx.out, exist_ok=True)
    version, version_line = qemu_version(ctx.qemu)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "rounds": ctx.rounds,
            "qemu": {"command": ctx.qemu, "version": version, "version_line": version_line},
            "firmware": describe_firmwares(ctx), "host": describe_host()}
    json_path = os.path.join(ctx.out, "results.json")
    md_path = os.path.join(ctx.out, "results.md")
    png_path = os.path.join(ctx.out, "results.png")

    all_rows = []
    for measure in MEASURES:
        all_rows.append([report.Row(row_id(measure, key), title, unit, measure.firmwares,
                                    version if measure.uses_qemu else None)
                         for key, title, unit in measure.rows])
    print(f"tern bench: QEMU {version} ({ctx.qemu}), {ctx.rounds} round(s), "
          f"tern {meta['firmware']['tern']['version']}; report in {ctx.out}", flush=True)

    def write_reports():
        rows = [row for rows in all_rows for row in rows]
        host = meta["host"]
        host["load_average_end"] = os.getloadavg()[0]
        host["description"] = (f"{host['cpus']} CPUs ({host['cpu_model']}), load average "
                               f"{host['load_average_start']:.2f} at the start, "
                               f"{host['load_average_end']:.2f} at the end")
        report.write_json(json_path, rows, meta)
        report.write_markdown(md_path, rows, meta)
        return rows

    for number, (measure, rows) in enumerate(zip(MEASURES, all_rows), 1):
        header = f"[{number}/{len(MEASURES)}] {measure.name}"
        status = None
        if selected is not None and measure.name not in selected:
            status = "not measured (--only)"
        elif measure.function is None:
            status = report.NOT_YET
        elif measure.skip is not None:
            status = measure.skip(ctx)
        if status is not None:
            for row in rows:
                row.status = status
            print(f"{header}: {status}", flush=True)
            continue
        print(f"{header}: {', '.join(row.title for row in rows[:2])}"
              f"{' ...' if len(rows) > 2 else ''}", flush=True)
        run_measure(ctx, measure, rows)
        write_reports()

    rows = write_reports()
    failed = [row.id for row in rows if row.status.startswith("failed")]
    failed += [f"{row.id} ({' and '.join(report.LABELS[f] for f in row.failures)})"
               for row in rows if row.measured and row.failures]
    code = 1 if failed else 0
    try:
        chart.write_chart(png_path, rows, meta)
        print(f"wrote {json_path}, {md_path} and {png_path}")
    except ImportError as error:
        print(f"wrote {json_path} and {md_path}; no chart: {error} (tools/deps.sh bench installs "
              f"python3-matplotlib; run this script with Debian's /usr/bin/python3)",
              file=sys.stderr)
        code = 1
    print()
    with open(md_path) as table:
        print(table.read())
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
