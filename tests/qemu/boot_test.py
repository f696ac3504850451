#!/usr/bin/env python3
"""QEMU tests that boot tern's real image on the pseries machine.

Usage: boot_test.py --qemu QEMU --image tern.bin --payload DIR/trap.elf SCENARIO

Every scenario boots tern on its own; --help lists them.
"""
import os
import re
import sys
import tempfile
import time

from guest import Guest, expect, run_scenarios


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
        # Halted through the host's stop-self, the vCPU costs the host nothing; a CPU left spinning
        # would burn a host core.
        cpu_seconds = guest.cpu_seconds_over(2.0)
        expect(cpu_seconds < 0.25, f"QEMU used {cpu_seconds:.2f} s of CPU in 2 s: not halted",
               guest)
        print(f"halted: QEMU used {cpu_seconds:.3f} s of CPU in 2 s")
        guest.kill()


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
    guest.kill()


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


SCENARIOS = {
    "banner": ("the plain `-M pseries -nographic -no-reboot -bios tern.bin`: banner, summary, "
               "power-off, and QEMU exits by itself with status 0", scenario_banner),
    "smp-memory": ("-m 4G -smp 4: the summary counts 4096 MiB and 4 CPUs", scenario_smp_memory),
    "numa": ("two NUMA nodes of 1 GiB: two memory ranges, RMA 1024 MiB", scenario_numa),
    "no-console": ("no vty at all (-nodefaults): tern still powers the machine off",
                   scenario_no_console),
    "trap-handoff": ("-kernel trap.elf -initrd F: tern enters the payload with r3/r4 = the initrd "
                     "and r5 = the client-interface entry, the payload traps, tern reports the "
                     "program interrupt with its registers and halts the CPU (QEMU's monitor shows "
                     "it halted)", scenario_trap_handoff),
    "system-reset": ("-kernel spin.elf, then the monitor's `nmi`: tern reports a system reset at "
                     "0x100 instead of booting again", scenario_system_reset),
    "rtas-two-bases": ("-kernel rtas-client.elf: the client instantiates tern's RTAS at two bases, "
                       "calls get-time-of-day at each (and at the first again), gets -3 for a "
                       "malformed block, and powers the VM off through RTAS",
                       scenario_rtas_two_bases),
}


def add_arguments(parser):
    parser.add_argument("--payload", required=True, help="trap.elf; spin.elf sits beside it")
    parser.add_argument("--client", help="the RTAS test client (build/tests/rtas-client.elf)")

if __name__ == "__main__":
    sys.exit(run_scenarios(__doc__, SCENARIOS, add_arguments))
