#!/usr/bin/env python3
"""QEMU tests that boot tern's real image on the pseries machine.

Usage: boot_test.py --qemu QEMU --image tern.bin --payload DIR/trap.elf SCENARIO

Every scenario boots tern on its own; --help lists them.
"""
import gzip
import os
import re
import struct
import sys
import tempfile
import time

from guest import SKIP, Guest, expect, run_scenarios


BANNER = r"tern (\S+): pseries firmware\n"
SUMMARY = (r"tern: memory (\d+) MiB in (\d+) ranges? \(RMA (\d+) MiB\), (\d+) CPUs? "
           r"\((\d+) cores? x (\d+) threads?\), FDT \d+ KiB at 0x[0-9a-f]+\n")


def boot_and_power_off(qemu, image, args):
    guest = Guest(qemu, ["-bios", image, *args])
    guest.wait_for(BANNER)
    summary = guest.wait_for(SUMMARY)
    guest.wait_for(r"tern: no kernel to boot .*\ntern: powering off\n")
    code, seconds = guest.wait_exit()
    expect(code == 0, f"QEMU exited with {code}", guest)
    print(f"powered off after {seconds:.2f} s")
    return guest, summary


def scenario_banner(opts):
    guest, _ = boot_and_power_off(opts.qemu, opts.image, [])
    expect("PANIC" not in guest.text() and "EXCEPTION" not in guest.text(), "unexpected error",
           guest)


def scenario_smp_memory(opts):
    guest, summary = boot_and_power_off(opts.qemu, opts.image, ["-m", "4G", "-smp", "4"])
    memory, ranges, rma, cpus, cores, threads = map(int, summary.groups())
    expect((memory, cpus, cores, threads) == (4096, 4, 4, 1),
           f"summary says {memory} MiB, {cpus} CPUs ({cores} x {threads})", guest)


def scenario_numa(opts):
    args = ["-m", "2G", "-smp", "2",
            "-object", "memory-backend-ram,id=m0,size=1G",
            "-object", "memory-backend-ram,id=m1,size=1G",
            "-numa", "node,memdev=m0,cpus=0", "-numa", "node,memdev=m1,cpus=1"]
    guest, summary = boot_and_power_off(opts.qemu, opts.image, args)
    memory, ranges, rma, cpus, _, _ = map(int, summary.groups())
    expect((memory, ranges, rma, cpus) == (2048, 2, 1024, 2),
           f"summary says {memory} MiB in {ranges} ranges, RMA {rma}, {cpus} CPUs", guest)


def scenario_no_console(opts):
    guest = Guest(opts.qemu, ["-bios", opts.image, "-nodefaults", "-display", "none"])
    code, seconds = guest.wait_exit()
    expect(code == 0, f"QEMU exited with {code}", guest)
    print(f"powered off without a console after {seconds:.2f} s")


def scenario_nics(opts):
    args = ["-nic", "user,model=spapr-vlan,mac=52:54:00:12:34:56",
            "-netdev", "user,id=n1", "-netdev", "user,id=n2",
            "-device", "virtio-net-pci,netdev=n1,mac=52:54:00:ab:cd:ef,romfile=",
            "-device", "virtio-net-pci,netdev=n2,mac=52:54:00:ab:cd:f0,disable-legacy=on,romfile="]
    guest, _ = boot_and_power_off(opts.qemu, opts.image, args)
    text = guest.text()
    for line in (r"tern: net /vdevice/l-lan@[0-9a-f]+: spapr-vlan, MAC 52:54:00:12:34:56\n",
                 r"tern: net /pci@800000020000000/ethernet@[0-9a-f]+: virtio-net, "
                 r"MAC 52:54:00:ab:cd:ef\n",
                 r"tern: net /pci@800000020000000/ethernet@[0-9a-f]+: virtio-net, "
                 r"MAC 52:54:00:ab:cd:f0\n"):
        expect(re.search(line, text) is not None, f"no line matching {line!r}", guest)
    expect(re.search(r"(virtio-net|l-lan).*not used", text) is None and "PANIC" not in text,
           "a NIC was refused", guest)


def register(guest, name):
    match = guest.wait_for(rf"\b{name} +([0-9a-f]{{16}})")
    return int(match.group(1), 16)


def scenario_trap_handoff(opts):
    with tempfile.NamedTemporaryFile(suffix=".initrd") as initrd:
        initrd.write(os.urandom(12345))
        initrd.flush()
        guest = Guest(opts.qemu, ["-bios", opts.image, "-m", "1G", "-kernel", opts.payload,
                                  "-initrd", initrd.name])
        guest.wait_for(BANNER)
        kernel = guest.wait_for(r"tern: kernel at 0x([0-9a-f]+), (\d+) bytes\n")
        rd = guest.wait_for(r"tern: initrd at 0x([0-9a-f]+), (\d+) bytes\n")
        entry = guest.wait_for(r"tern: entering the kernel, client interface at 0x([0-9a-f]+)\n")
        guest.wait_for(r"tern: EXCEPTION 0x700 \(program: trap\)\n")
        guest.wait_for(r"tern: halted\n")
        kernel_start = int(kernel.group(1), 16)
        initrd_start, initrd_size = int(rd.group(1), 16), int(rd.group(2))
        expect(kernel_start == 0x400000, f"kernel at {kernel_start:#x}", guest)
        expect(initrd_size == 12345, f"initrd size {initrd_size}", guest)
        # The trap is the payload's second instruction.
        expect(register(guest, "SRR0") == kernel_start + 4, "SRR0 is not the trap", guest)
        expect(register(guest, "r20") == 0x7e570000, "r20 was not set by the payload", guest)
        expect(register(guest, "r3") == initrd_start, "r3 is not the initrd start", guest)
        expect(register(guest, "r4") == initrd_size, "r4 is not the initrd size", guest)
        expect(register(guest, "r5") == int(entry.group(1), 16),
               "r5 is not the client-interface entry", guest)
        # r1: the client stack the firmware hands over, 16-byte aligned, with a 32-byte frame.
        expect(register(guest, "r1") % 16 == 0, "r1 is not 16-byte aligned", guest)
        # An exception before the OS runs must not leave a VM that looks hung: after the report
        # tern powers the machine off through RTAS, and QEMU exits with 0.
        guest.wait_for(r"tern: powering off\n")
        code, seconds = guest.wait_exit(timeout=30)
        expect(code == 0, f"QEMU exited with {code}", guest)
        print(f"trap reported, machine powered off: QEMU exited after {seconds:.1f} s")


def scenario_system_reset(opts):
    spin = os.path.join(os.path.dirname(opts.payload), "spin.elf")
    guest = Guest(opts.qemu, ["-bios", opts.image, "-m", "1G", "-kernel", spin],
                  monitor_socket=True)
    guest.wait_for(r"tern: entering the kernel")
    time.sleep(0.5)  # let the payload reach its loop
    guest.monitor_command("nmi")
    guest.wait_for(r"tern: EXCEPTION 0x100 \(system reset\)\n")
    guest.wait_for(r"tern: halted\n")
    expect(register(guest, "r20") == 0x5b1e0000, "r20 was not set by the payload", guest)
    srr0 = register(guest, "SRR0")
    expect(0x400000 <= srr0 < 0x400010, f"SRR0 {srr0:#x} is not in the payload's loop", guest)
    expect(guest.text().count("pseries firmware") == 1, "the firmware booted again", guest)
    guest.wait_for(r"tern: powering off\n")
    code, _ = guest.wait_exit(timeout=30)
    expect(code == 0, f"QEMU exited with {code} after the report", guest)


def scenario_rtas_two_bases(opts):
    guest = Guest(opts.qemu, ["-bios", opts.image, "-m", "1G", "-kernel", opts.client])
    size = int(guest.wait_for(r"RTAS-CLIENT: rtas-size 0x([0-9a-f]+)").group(1), 16)
    guest.wait_for(r"RTAS-CLIENT: power-off\n")
    code, _ = guest.wait_exit()
    expect(code == 0, f"QEMU exited with {code}: RTAS power-off did not end the VM", guest)
    text = guest.text()
    made = re.findall(r"instantiate base 0x([0-9a-f]+) claimed 0x([0-9a-f]+) catch (-?\d+) "
                      r"entry 0x([0-9a-f]+)", text)
    expect(len(made) == 2, "two instantiations expected", guest)
    for base, claimed, caught, entry in made:
        base, claimed, entry = int(base, 16), int(claimed, 16), int(entry, 16)
        expect(claimed == base and caught == "0", f"instantiate-rtas at {base:#x} failed", guest)
        # The entry lies past QEMU's part of the area, inside the area the OS reserved.
        expect(base + 0x800 < entry < base + size, f"entry {entry:#x} outside the area", guest)
    calls = re.findall(r"call base 0x([0-9a-f]+) (?:again )?(?:get-time-of-day )?status (-?\d+) "
                       r"year (\d+)", text)
    expect(len(calls) == 3, "three get-time-of-day calls expected", guest)
    for base, status, year in calls:
        expect(status == "0" and int(year) >= 2024, f"get-time-of-day at {base}: {status} {year}",
               guest)
    expect("RTAS-CLIENT: malformed status -3" in text, "a malformed block did not get -3", guest)


# --- Hostile configurations -------------------------------------------------------------------

MiB = 1 << 20
TRAP = 0x7fe00008  # `trap`


def write_elf(path, segments):
    """A 64-bit big-endian PowerPC ELF executable: one PT_LOAD per (paddr, filesz, memsz), each
    starting with a trap. QEMU loads a pseries -kernel segment at (paddr & 0x0fffffff) + 0x400000
    (hw/ppc/spapr.c, translate_kernel_address)."""
    data_offset = 0x10000
    offsets = []
    for _, filesz, _ in segments:
        offsets.append(data_offset)
        data_offset += (filesz + 0xffff) & ~0xffff
    with open(path, "wb") as elf:
        ident = b"\x7fELF" + bytes([2, 2, 1, 0]) + bytes(8)  # ELFCLASS64, ELFDATA2MSB, EV_CURRENT
        elf.write(ident + struct.pack(">HHIQQQIHHHHHH", 2, 21, 1, segments[0][0], 64, 0, 2, 64,
                                      56, len(segments), 64, 0, 0))
        for (paddr, filesz, memsz), offset in zip(segments, offsets):
            elf.write(struct.pack(">IIQQQQQQ", 1, 7, offset, paddr, paddr, filesz, memsz, 0x10000))
        for (_, filesz, _), offset in zip(segments, offsets):
            elf.seek(offset)
            elf.write(struct.pack(">I", TRAP))
        elf.truncate(data_offset)


def qemu_refused(guest, message):
    """True when QEMU itself exited with `message` before running tern."""
    code, _ = guest.wait_exit()
    return code != 0 and message in guest.text() and "pseries firmware" not in guest.text()


def expect_refusal(guest, reason, ranges):
    """tern names the problem and the ranges, powers off, and QEMU exits with 0."""
    guest.wait_for(BANNER)
    guest.wait_for(SUMMARY)
    guest.wait_for(r"tern: cannot boot: " + re.escape(reason) + r"\n")
    detail = guest.wait_for(r"tern: (kernel .*)\ntern: powering off\n")
    expect(re.fullmatch(ranges, detail.group(1)) is not None,
           f"ranges printed: {detail.group(1)!r}, expected /{ranges}/", guest)
    code, seconds = guest.wait_exit()
    expect(code == 0, f"QEMU exited with {code}", guest)
    expect("entering the kernel" not in guest.text(), "tern entered the kernel", guest)
    print(f"refused and powered off after {seconds:.2f} s: {reason}")


TOO_LARGE = "the kernel runs into the hypervisor's device tree: it is too large for this memory"


def scenario_kernel_too_big(opts):
    with tempfile.TemporaryDirectory() as directory:
        # Larger than RAM: QEMU 7.2 and 10.0 load it all the same (what lies past RAM is dropped)
        # and write their tree at RMA - 2 MiB, inside it.
        larger = os.path.join(directory, "larger-than-ram.elf")
        write_elf(larger, [(0, 4, 288 * MiB)])
        guest = Guest(opts.qemu, ["-bios", opts.image, "-m", "256M", "-kernel", larger])
        expect_refusal(guest, TOO_LARGE,
                       r"kernel \[0x400000, 0x12400000\) \(301989888 bytes\), device tree "
                       r"\[0xfe00000, 0xfe[0-9a-f]{5}\), real-mode memory above the firmware "
                       r"\[0x200000, 0x10000000\)")
        # Inside RAM, but 4 KiB into where QEMU writes its tree: the kernel's end is overwritten.
        reaching = os.path.join(directory, "reaching-the-tree.elf")
        size = 0xfe00000 - 0x400000 + 0x1000
        write_elf(reaching, [(0, 4, size)])
        guest = Guest(opts.qemu, ["-bios", opts.image, "-m", "256M", "-kernel", reaching])
        expect_refusal(guest, TOO_LARGE,
                       rf"kernel \[0x400000, 0xfe01000\) \({size} bytes\), device tree "
                       r"\[0xfe00000, 0xfe[0-9a-f]{5}\), real-mode memory above the firmware "
                       r"\[0x200000, 0x10000000\)")


QEMU_ROM_OVERLAP = "Some ROM regions are overlapping"


def scenario_initrd_overlap(opts):
    with tempfile.TemporaryDirectory() as directory:
        # QEMU puts the initrd after the kernel's memory size (the sum of its segments), so a
        # kernel with a second segment 16 MiB up and a 20 MiB initrd overlap.
        kernel = os.path.join(directory, "gap.elf")
        write_elf(kernel, [(0, 4, 0x1000), (0x1000000, 4, 0x1000)])
        initrd = os.path.join(directory, "initrd")
        with open(initrd, "wb") as f:
            f.truncate(20 * MiB)
        guest = Guest(opts.qemu, ["-bios", opts.image, "-m", "1G", "-kernel", kernel,
                                  "-initrd", initrd])
        guest.wait_for(rf"{QEMU_ROM_OVERLAP}|pseries firmware")
        if qemu_refused(guest, QEMU_ROM_OVERLAP):
            text = guest.text()
            expect(re.search(rf"{re.escape(initrd)} \(addresses 0x0*420000 - ", text) and
                   re.search(rf"{re.escape(kernel)} ELF program header segment 1 \(addresses "
                             r"0x0*1400000 - ", text),
                   "QEMU named other overlapping regions", guest)
            print(f"SKIP: this QEMU refuses the overlap itself: {QEMU_ROM_OVERLAP}")
            return SKIP
        expect_refusal(guest, "the initrd overlaps the kernel", r"kernel .*")
        return 0


QEMU_NOT_ELF = "The image is not ELF"


def scenario_not_elf(opts):
    with tempfile.TemporaryDirectory() as directory:
        # A gzip-compressed "kernel", as a vmlinuz is.
        kernel = os.path.join(directory, "vmlinuz")
        with gzip.open(kernel, "wb") as f:
            f.write(struct.pack(">I", TRAP) * 4096)
        guest = Guest(opts.qemu, ["-bios", opts.image, "-m", "1G", "-kernel", kernel])
        guest.wait_for(rf"{QEMU_NOT_ELF}|pseries firmware")
        if qemu_refused(guest, f"error loading {kernel}: {QEMU_NOT_ELF}"):
            print(f"SKIP: this QEMU refuses a -kernel that is not an ELF: {QEMU_NOT_ELF}")
            return SKIP
        guest.wait_for(r"tern: cannot boot: .*\n(.*\n)?tern: powering off\n")
        code, _ = guest.wait_exit()
        expect(code == 0, f"QEMU exited with {code}", guest)
        return 0


FDT_MAX_KIB = 2048  # QEMU's FDT_MAX_SIZE (include/hw/ppc/spapr.h): 2 MiB in 7.2 and 10.0
BIG_TREE_TIMEOUT = 480  # QEMU creates 3072 vCPUs first: about a minute on an idle host


def scenario_big_tree(opts):
    # 3072 CPU cores (QEMU refuses 4096: "error creating device tree ... FDT_ERR_NOSPACE").
    guest = Guest(opts.qemu, ["-bios", opts.image, "-m", "1G", "-smp", "3072"])
    guest.wait_for(BANNER, timeout=BIG_TREE_TIMEOUT)
    summary = guest.wait_for(SUMMARY)
    fdt_kib = int(re.search(r"FDT (\d+) KiB", summary.group(0)).group(1))
    fdt_address = int(re.search(r"FDT \d+ KiB at 0x([0-9a-f]+)", summary.group(0)).group(1), 16)
    room = guest.wait_for(r"tern: the device tree needs (\d+) KiB with room to grow, more than "
                          r"the arena: it lives in \[0x([0-9a-f]+), 0x([0-9a-f]+)\), claimed\n")
    guest.wait_for(r"tern: no kernel to boot .*\ntern: powering off\n")
    code, seconds = guest.wait_exit()
    expect(code == 0, f"QEMU exited with {code}", guest)
    cpus = int(summary.group(4))
    expect(cpus == 3072, f"the summary counts {cpus} CPUs", guest)
    expect(fdt_kib >= 0.9 * FDT_MAX_KIB, f"the tree is only {fdt_kib} KiB", guest)
    needed, start, end = int(room.group(1)), int(room.group(2), 16), int(room.group(3), 16)
    expect(end - start >= needed * 1024, f"{end - start} bytes claimed for {needed} KiB", guest)
    # Above the firmware, clear of QEMU's copy it was built from.
    expect(start >= 0x200000 and end <= fdt_address,
           f"room [{start:#x}, {end:#x}) vs QEMU's tree at {fdt_address:#x}", guest)
    print(f"a {fdt_kib} KiB tree ({100 * fdt_kib / FDT_MAX_KIB:.1f} % of QEMU's limit) in "
          f"[{start:#x}, {end:#x}); powered off after {seconds:.1f} s")


SCENARIOS = {
    "banner": ("the plain `-M pseries -nographic -no-reboot -bios tern.bin`: banner, summary, "
               "power-off, and QEMU exits by itself with status 0", scenario_banner),
    "smp-memory": ("-m 4G -smp 4: the summary counts 4096 MiB and 4 CPUs", scenario_smp_memory),
    "numa": ("two NUMA nodes of 1 GiB: two memory ranges, RMA 1024 MiB", scenario_numa),
    "no-console": ("no vty at all (-nodefaults): tern still powers the machine off",
                   scenario_no_console),
    "nics": ("-nic user (spapr-vlan) and two virtio-net-pci, transitional and modern-only: each "
             "started and listed with its MAC (`tern: net <path>: <driver>, MAC ...`), then the "
             "power-off without a kernel", scenario_nics),
    "trap-handoff": ("-kernel trap.elf -initrd F: tern enters the payload with r3/r4 = the initrd "
                     "and r5 = the client-interface entry, the payload traps, tern reports the "
                     "program interrupt with its registers and powers the machine off: QEMU exits "
                     "with 0", scenario_trap_handoff),
    "system-reset": ("-kernel spin.elf, then the monitor's `nmi`: tern reports a system reset at "
                     "0x100 instead of booting again, and powers off", scenario_system_reset),
    "rtas-two-bases": ("-kernel rtas-client.elf: the client instantiates tern's RTAS at two bases, "
                       "calls get-time-of-day at each (and at the first again), gets -3 for a "
                       "malformed block, and powers the VM off through RTAS",
                       scenario_rtas_two_bases),
    "kernel-too-big": ("-m 256M with a -kernel ELF of 288 MiB, then one whose end reaches where "
                       "QEMU writes its tree: tern says the kernel is too large, prints the "
                       "ranges and powers off (QEMU loads both)", scenario_kernel_too_big),
    "initrd-overlap": ("a -kernel with a second segment 16 MiB up and a 20 MiB -initrd, which "
                       "QEMU places over it: skipped (77) when QEMU itself refuses with \"Some ROM "
                       "regions are overlapping\" naming the two (7.2 and 10.0 do); else tern "
                       "must refuse the overlap and power off", scenario_initrd_overlap),
    "not-elf": ("a gzip-compressed -kernel: skipped (77) when QEMU itself refuses with \"The "
                "image is not ELF\" (7.2 and 10.0 do); else tern must refuse it and power off",
                scenario_not_elf),
    "big-tree": ("-smp 3072: QEMU's tree is over 90 % of its 2 MiB limit; tern builds its live "
                 "copy in a claimed range at the top of real-mode memory below QEMU's copy, "
                 "prints it and powers off", scenario_big_tree),
}


def add_arguments(parser):
    parser.add_argument("--payload", required=True, help="trap.elf; spin.elf sits beside it")
    parser.add_argument("--client", help="the RTAS test client (build/tests/rtas-client.elf)")

if __name__ == "__main__":
    sys.exit(run_scenarios(__doc__, SCENARIOS, add_arguments))
