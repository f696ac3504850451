#!/usr/bin/env python3
"""Host test of make bench's report writer (tools/benchmarks/report.py, chart.py) on made-up
figures: the ratio math, results.json's figures, results.md's table, rows that are "not yet",
"not measured" or failed, rows one firmware failed (the others' figures kept), and (with
--chart, when matplotlib is importable) that the chart is a PNG. Also the measure table of
tools/bench.py: ids unique, every measure has rows; its rounds for a measure that keeps going
without a firmware that failed; and the network boot measure's TFTP timing on a made-up pcap
capture (tools/benchmarks/netboot.py's TftpWatch).

  report_test.py [--chart]     (CTest: bench_report, bench_chart)
"""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
from benchmarks import make_test, netboot, report, sizes, walk  # noqa: E402

SKIP = 77
META = {"date": "2026-01-01 00:00:00 +0000", "rounds": 3,
        "qemu": {"command": "qemu-system-ppc64", "version": "7.2.22",
                 "version_line": "QEMU emulator version 7.2.22"},
        "firmware": {"tern": {"version": "0.1.0-gabc", "description": "0.1.0-gabc (tern.bin)"}},
        "host": {"description": "2 CPUs"}}


def fake_rows():
    boot = report.Row("boot-kernel", "boot to init, -kernel", "s", ("tern", "slof", "vof"),
                      "7.2.22")
    for tern, slof, vof in ((2.0, 8.0, 2.0), (3.0, 10.0, 2.5), (2.5, 12.0, 5.0)):
        boot.add("tern", tern)
        boot.add("slof", slof)
        boot.add("vof", vof)
    disk = report.Row("disk/root", "disk boot: to mounted root", "s", ("tern", "slof"), "7.2.22")
    disk.add("tern", 9.0)
    disk.add("slof", 18.0)
    pci = report.Row("hotplug-pci", "hot-add: PCI device", "ms", ("tern", "slof", "vof"))
    pci.status = report.NOT_YET
    make = report.Row("make-test", "make test wall time", "s", ("tern",))
    make.status = "not measured (BENCH_MAKE_TEST=1)"
    walks = report.Row("walk/call", "instructions per call", "instructions", ("tern",))
    walks.add("tern", 15679.03)
    walks.notes.append("32 calls/walk")
    broken = report.Row("hotplug-cpu", "hot-add: CPU core", "ms", ("tern", "slof", "vof"))
    broken.add("tern", 400)
    broken.fail("SLOF, round 1: expected /CPUS/ within 60 s\ncommand: qemu ...")
    cd = report.Row("cdrom/dialog", "CD boot: to its first dialog", "s", ("tern", "slof"),
                    "7.2.22")
    cd.add("slof", 30.0)
    cd.add("slof", 32.0)
    cd.fail_firmware("tern", "round 1: expected /Select a language/ within 300 s\ncommand: ...")
    return [boot, disk, pci, make, walks, broken, cd]


class RatioTest(unittest.TestCase):
    def test_ratio_of_medians_and_paired(self):
        boot = fake_rows()[0]
        slof = report.ratio(boot, "slof")
        self.assertAlmostEqual(slof["of_medians"], 2.5 / 10.0)
        self.assertEqual(slof["paired"], [2.0 / 8.0, 3.0 / 10.0, 2.5 / 12.0])
        self.assertAlmostEqual(slof["paired_median"], 0.25)
        vof = report.ratio(boot, "vof")
        self.assertAlmostEqual(vof["of_medians"], 2.5 / 2.5)
        self.assertAlmostEqual(vof["paired_median"], 1.0)

    def test_no_ratio_without_figures_or_with_zero(self):
        rows = fake_rows()
        self.assertIsNone(report.ratio(rows[1], "vof"))  # the disk row has no VOF
        self.assertIsNone(report.ratio(rows[2], "slof"))  # not yet
        zero = report.Row("z", "z", "s", ("tern", "slof"))
        zero.add("tern", 1.0)
        zero.add("slof", 0.0)
        self.assertIsNone(report.ratio(zero, "slof"))


class JsonTest(unittest.TestCase):
    def test_figures_carry_unit_firmware_qemu_rounds_and_statistics(self):
        data = report.to_json(fake_rows(), META)
        json.dumps(data)  # serializable
        self.assertEqual(data["meta"]["qemu"]["version"], "7.2.22")
        boot = data["rows"][0]
        self.assertEqual(boot["status"], "measured")
        tern = boot["figures"][0]
        self.assertEqual((tern["firmware"], tern["unit"], tern["qemu"], tern["rounds"]),
                         ("tern", "s", "7.2.22", 3))
        self.assertEqual((tern["median"], tern["min"], tern["max"]), (2.5, 2.0, 3.0))
        self.assertEqual(tern["values"], [2.0, 3.0, 2.5])
        self.assertAlmostEqual(boot["ratios"]["tern/SLOF"]["of_medians"], 0.25)
        self.assertEqual(set(boot["ratios"]), {"tern/SLOF", "tern/VOF"})

    def test_rows_not_measured_keep_their_status_and_have_no_numbers(self):
        rows = {row["id"]: row for row in report.to_json(fake_rows(), META)["rows"]}
        self.assertEqual(rows["hotplug-pci"]["status"], "not yet")
        self.assertTrue(all(f["median"] is None and f["rounds"] == 0
                            for f in rows["hotplug-pci"]["figures"]))
        self.assertEqual(rows["make-test"]["status"], "not measured (BENCH_MAKE_TEST=1)")
        self.assertEqual(rows["disk/root"]["ratios"], {"tern/SLOF": {
            "of_medians": 0.5, "paired": [0.5], "paired_median": 0.5}})
        self.assertEqual(rows["hotplug-cpu"]["status"],
                         "failed: SLOF, round 1: expected /CPUS/ within 60 s")
        self.assertEqual(rows["hotplug-cpu"]["figures"][0]["values"], [400.0])

    def test_a_firmware_that_failed_keeps_the_others_figures(self):
        rows = {row["id"]: row for row in report.to_json(fake_rows(), META)["rows"]}
        cd = rows["cdrom/dialog"]
        self.assertEqual(cd["status"], "measured")
        tern, slof = cd["figures"]
        self.assertEqual((tern["failed"], tern["values"], tern["median"]),
                         ("round 1: expected /Select a language/ within 300 s", [], None))
        self.assertEqual((slof["failed"], slof["median"], slof["rounds"]), (None, 31.0, 2))
        self.assertEqual(cd["ratios"], {"tern/SLOF": None})
        self.assertIsNone(rows["boot-kernel"]["figures"][0]["failed"])

    def test_written_file_reads_back(self):
        with tempfile.TemporaryDirectory() as scratch:
            path = os.path.join(scratch, "results.json")
            report.write_json(path, fake_rows(), META)
            with open(path) as f:
                self.assertEqual(json.load(f)["rows"][4]["figures"][0]["median"], 15679.03)


class MarkdownTest(unittest.TestCase):
    def setUp(self):
        self.text = report.to_markdown(fake_rows(), META)
        self.lines = {line.split(" | ")[0].lstrip("| "): line
                      for line in self.text.splitlines() if line.startswith("| ")}

    def test_header_and_columns(self):
        self.assertIn("- QEMU: QEMU emulator version 7.2.22", self.text)
        self.assertIn("| measure | unit | tern | SLOF | VOF | tern/SLOF | tern/VOF | notes |",
                      self.text)

    def test_cells(self):
        self.assertEqual(self.lines["boot to init, -kernel"],
                         "| boot to init, -kernel | s | 2.50 (2.00–3.00) | 10.00 (8.00–12.00) | "
                         "2.50 (2.00–5.00) | 0.25 | 1.00 |  |")
        self.assertEqual(self.lines["disk boot: to mounted root"],
                         "| disk boot: to mounted root | s | 9.00 | 18.00 | n/a | 0.50 | n/a |  |")
        self.assertEqual(self.lines["instructions per call"],
                         "| instructions per call | instructions | 15,679 | n/a | n/a | n/a | n/a "
                         "| 32 calls/walk |")

    def test_rows_without_figures(self):
        self.assertEqual(self.lines["hot-add: PCI device"],
                         "| hot-add: PCI device | ms | not yet | — | — | — | — |  |")
        self.assertIn("| make test wall time | s | not measured (BENCH_MAKE_TEST=1) |",
                      self.text)
        self.assertIn("| hot-add: CPU core | ms | failed: SLOF, round 1: expected /CPUS/ within "
                      "60 s |", self.text)

    def test_a_firmware_that_failed(self):
        self.assertEqual(self.lines["CD boot: to its first dialog"],
                         "| CD boot: to its first dialog | s | failed | 31.00 (30.00–32.00) | n/a | "
                         "— | n/a | tern failed: round 1: expected /Select a language/ within "
                         "300 s |")
        row = fake_rows()[0]
        row.fail_firmware("vof", "round 3: QEMU exited")
        line = report.to_markdown([row], META).splitlines()[-1]
        self.assertIn("| 2.50 (2.00–5.00), then failed | 0.25 | 1.00 | VOF failed: round 3: QEMU "
                      "exited |", line)

    def test_chart_footer_names_what_is_not_charted(self):
        from benchmarks import chart
        self.assertEqual(chart.footer(fake_rows()),
                         ["not yet: hot-add: PCI device",
                          "not measured (BENCH_MAKE_TEST=1): make test wall time",
                          "failed: hot-add: CPU core",
                          "failed on tern: CD boot: to its first dialog"])


class MeasureTableTest(unittest.TestCase):
    def test_ids_unique_and_rows_declared(self):
        import bench
        ids = [bench.row_id(m, key) for m in bench.MEASURES for key, _, _ in m.rows]
        self.assertEqual(len(ids), len(set(ids)))
        names = [m.name for m in bench.MEASURES]
        for expected in ("boot-kernel", "disk-virtio-blk", "disk-spapr-vscsi", "cdrom",
                         "netboot", "netboot-installer", "hotplug-cpu", "hotplug-pci",
                         "hotplug-dimm", "bios-size", "rtas-resident", "walk", "make-test"):
            self.assertIn(expected, names)
        self.assertTrue(all(m.rows for m in bench.MEASURES))

    def test_walk_line_and_rtas_header(self):
        line = walk.parse_walk_line("10 walk(s)...\nwalk_bench fragment=phb fragment_bytes=9197 "
                                    "walks=10 calls=290 host_calls=260 snapshot_bytes=9100\n")
        self.assertEqual((line["fragment"], line["walks"], line["calls"], line["fragment_bytes"]),
                         ("phb", 10, 290, 9197))
        with tempfile.TemporaryDirectory() as scratch:
            path = os.path.join(scratch, "rtas.bin")
            header = sizes.IMAGE_HEADER.pack(b"TERNRTAS", 1, 0x100, 0x8000, 4096, 12288, 0, 0, 0)
            with open(path, "wb") as f:
                f.write(header.ljust(4096, b"\0"))
            self.assertEqual(sizes.read_rtas_header(path)["memory_size"], 12288)
            with open(path, "ab") as f:
                f.write(b"\0")  # the file no longer has the size its header claims
            with self.assertRaises(ValueError):
                sizes.read_rtas_header(path)


class KeepGoingTest(unittest.TestCase):
    """tools/bench.py's rounds for a measure that keeps going: tern fails in round 1 and is not run
    again; SLOF is measured in every round."""

    class Context:
        rounds = 3

        def progress(self, text):
            pass

    def test_the_failed_firmware_is_left_out_and_the_others_measured(self):
        import bench
        calls = []

        def measure(ctx, firmware):
            calls.append(firmware)
            if firmware == "tern":
                raise AssertionError("expected /Select a language/ within 300 s\ncommand: qemu")
            return {"grub": 5.0 + len(calls), "dialog": 30.0}

        table = bench.Measure("cd", [("grub", "to GRUB", "s"), ("dialog", "to the dialog", "s")],
                              measure, ("tern", "slof"), keep_going=True)
        rows = [report.Row(bench.row_id(table, key), title, unit, table.firmwares)
                for key, title, unit in table.rows]
        with contextlib.redirect_stderr(io.StringIO()):
            bench.run_measure(self.Context(), table, rows)
        self.assertEqual(calls, ["tern", "slof", "slof", "slof"])
        for row in rows:
            self.assertTrue(row.measured)
            self.assertEqual(row.failures, {"tern": "round 1: expected /Select a language/ "
                                                    "within 300 s"})
            self.assertEqual(len(row.values["slof"]), 3)
            self.assertNotIn("tern", row.values)

    def test_every_firmware_failed_fails_the_rows(self):
        import bench

        def measure(ctx, firmware):
            raise AssertionError(f"{firmware} did not get there")

        table = bench.Measure("cd", [("", "to the dialog", "s")], measure, ("tern", "slof"),
                              keep_going=True)
        rows = [report.Row("cd", "to the dialog", "s", table.firmwares)]
        with contextlib.redirect_stderr(io.StringIO()):
            bench.run_measure(self.Context(), table, rows)
        self.assertEqual(rows[0].status, "failed: tern, round 1: tern did not get there")
        self.assertEqual(rows[0].failures, {})


def pcap_frame(when, source, destination, source_port, destination_port, payload, caplen=256):
    """A pcap record (little-endian, microseconds) of an Ethernet/IPv4/UDP frame, cut at
    `caplen` bytes as filter-dump's maxlen cuts it."""
    import struct
    udp = struct.pack(">HHHH", source_port, destination_port, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(source),
                     bytes(destination))
    frame = b"\xff" * 6 + b"\x52" * 6 + b"\x08\x00" + ip + udp
    seconds, micros = int(when), round((when - int(when)) * 1e6)
    return struct.pack("<IIII", seconds, micros, min(caplen, len(frame)), len(frame)) + \
        frame[:caplen]


class TftpWatchTest(unittest.TestCase):
    """netboot.TftpWatch times a transfer on the wire: read request to the last DATA block."""
    CLIENT, SERVER = (10, 0, 2, 15), (10, 0, 2, 2)

    def capture(self, frames):
        import struct
        scratch = tempfile.mkdtemp()
        path = os.path.join(scratch, "net.pcap")
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 256, 1))
            for frame in frames:
                f.write(frame)
        return path

    def data(self, when, block, size, port=2001):
        import struct
        return pcap_frame(when, self.SERVER, self.CLIENT, 69, port,
                          struct.pack(">HH", 3, block) + b"x" * size)

    def test_grub_style_request_oack_and_blocks(self):
        frames = [pcap_frame(10.0, self.CLIENT, self.SERVER, 2001, 69,
                             b"\0\x01/other.cfg\0octet\0"),
                  self.data(10.1, 1, 100),  # another file's transfer, same port: not counted
                  pcap_frame(11.0, self.CLIENT, self.SERVER, 2001, 69,
                             b"\0\x01/big.img\0octet\0blksize\x001024\0tsize\x000\0"),
                  pcap_frame(11.1, self.SERVER, self.CLIENT, 69, 2001,
                             b"\0\x06blksize\x001024\0tsize\x002600\0"),
                  self.data(11.2, 1, 1024), self.data(11.3, 2, 1024), self.data(13.0, 3, 552),
                  self.data(14.0, 4, 10)]
        path = self.capture(frames)
        watch = netboot.TftpWatch(path, "big.img")
        self.assertAlmostEqual(watch.seconds(), 2.0, places=5)
        self.assertEqual(watch.data_bytes, 2600)
        self.assertEqual(watch.describe(), "blksize asked 1024, used 1024")

    def test_without_options_blocks_are_512_bytes_and_read_as_they_come(self):
        path = self.capture([pcap_frame(1.0, self.CLIENT, self.SERVER, 1234, 69,
                                        b"\0\x01boot.elf\0octet\0"),
                             self.data(1.5, 1, 512, port=1234)])
        watch = netboot.TftpWatch(path, "boot.elf")
        self.assertIsNone(watch.seconds())
        with open(path, "ab") as f:
            f.write(self.data(3.0, 2, 0, port=1234)[:20])  # a record half written
        self.assertIsNone(watch.seconds())
        with open(path, "ab") as f:
            f.write(self.data(3.0, 2, 0, port=1234)[20:])
        self.assertAlmostEqual(watch.seconds(), 2.0, places=5)
        self.assertEqual((watch.data_bytes, watch.describe()),
                         (512, "blksize asked none, used 512"))

    def test_an_error_from_the_server_fails(self):
        import struct
        path = self.capture([pcap_frame(1.0, self.CLIENT, self.SERVER, 1234, 69,
                                        b"\0\x01gone.elf\0octet\0"),
                             pcap_frame(1.1, self.SERVER, self.CLIENT, 69, 1234,
                                        struct.pack(">HH", 5, 1) + b"File not found\0")])
        with self.assertRaisesRegex(AssertionError, "refused gone.elf: File not found"):
            netboot.TftpWatch(path, "gone.elf").seconds()


class TimedCommandTest(unittest.TestCase):
    def test_time_and_failure(self):
        with tempfile.TemporaryDirectory() as scratch:
            log = os.path.join(scratch, "log")
            seconds = make_test.timed_command(["sh", "-c", "sleep 0.2; echo done"], log)
            self.assertTrue(0.2 <= seconds < 10, seconds)
            with open(log) as f:
                self.assertEqual(f.read(), "done\n")
            with self.assertRaisesRegex(RuntimeError, "exited with 3(.|\n)*last words"):
                make_test.timed_command(["sh", "-c", "echo last words; exit 3"], log)


def chart_test():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not importable by this python3: skipped")
        return SKIP
    from benchmarks import chart
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "results.png")
        chart.write_chart(path, fake_rows(), META)
        with open(path, "rb") as f:
            data = f.read()
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or len(data) < 10000:
        print(f"results.png is not a PNG chart ({len(data)} bytes)")
        return 1
    shown = [row.id for row in chart.compared_rows(fake_rows())]
    if shown != ["boot-kernel", "disk/root"]:
        print(f"chart rows {shown}")
        return 1
    print(f"PASS chart ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--chart"]:
        sys.exit(chart_test())
    unittest.main()
