#!/usr/bin/env python3
"""QEMU tests that boot Debian's ppc64el Linux on tern (the guest kit, tools/guest-kit.sh).

Usage: linux_test.py --qemu QEMU --image tern.bin --kit GUEST_KIT_DIR SCENARIO

Each boot runs the kit's /init (tests/guest/init), which prints what the kernel sees
(TERN-GUEST: lines) and then powers off or reboots through RTAS; --help lists the scenarios.
Every Linux boot must reach init with no kernel warning, oops or panic on the console, see the
CPUs and memory the machine has, the bootargs QEMU was given and /rtas, and end by itself.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

from guest import SKIP, TIMEOUT, Guest, expect, run_scenarios

KERNEL_ERRORS = re.compile(r"WARNING: CPU:|Oops|Kernel panic|BUG:|Call Trace:|tern: PANIC|"
                           r"tern: EXCEPTION|tern-rtas:|refused|failed: the CAS|FAILED!|"
                           r"reading the clock failed|rtasd: .*error")


def boot(opts, args, append, machine="pseries", firmware=True):
    kit = opts.kit
    command = ["-kernel", os.path.join(kit, "vmlinux"),
               "-initrd", os.path.join(kit, "initramfs.cpio.gz"), "-append", append, *args]
    if firmware:
        command = ["-bios", opts.image, *command]
    return Guest(opts.qemu, command, machine=machine)


def report(guest):
    guest.wait_for(r"TERN-GUEST: report-end")
    values = {}
    for line in guest.text().splitlines():
        match = re.match(r"TERN-GUEST: (\S+) ?(.*)$", line)
        if match:
            values.setdefault(match.group(1), match.group(2))
    return values


def check_linux(opts, args, cpus, memory_mib, test="poweroff", min_memory=0.85, timeout=TIMEOUT):
    """Boots the kit on tern with `args`; returns the guest, ended. `min_memory` is the least
    fraction of RAM MemTotal may be; `timeout` bounds the boot and the end each."""
    append = f"console=hvc0 tern.test={test}"
    guest = boot(opts, args, append)
    guest.wait_for(r"tern \S+: pseries firmware", timeout=timeout)
    guest.wait_for(r"TERN-GUEST: init-reached", timeout=timeout)
    values = report(guest)
    code, seconds = guest.wait_exit(timeout=timeout)
    expect(code == 0, f"QEMU exited with {code}", guest)
    online = int(values.get("cpus-online", "0"))
    memory_kib = int(values.get("mem-total-kib", "0"))
    expect(online == cpus, f"the kernel sees {online} CPUs online, expected {cpus}", guest)
    # MemTotal excludes the kernel image and early reservations: a few percent of RAM.
    expect(min_memory * memory_mib * 1024 <= memory_kib <= memory_mib * 1024,
           f"MemTotal {memory_kib} KiB for {memory_mib} MiB of RAM", guest)
    expect(values.get("cmdline") == append, f"bootargs seen as '{values.get('cmdline')}'", guest)
    expect(values.get("rtas") == "yes", "no /proc/device-tree/rtas", guest)
    errors = [line for line in guest.text().splitlines() if KERNEL_ERRORS.search(line)]
    expect(not errors, "errors on the console:\n" + "\n".join(errors), guest)
    expect(f"TERN-GUEST: {test}" in guest.text(), f"the guest did not run {test}", guest)
    print(f"{cpus} CPUs, MemTotal {memory_kib} KiB; booted and ended in {seconds:.2f} s")
    return guest


def dt_dump(opts, args, firmware):
    machine = "pseries" if firmware else "pseries,x-vof=on"
    guest = boot(opts, args, "console=hvc0 tern.dt-dump tern.test=poweroff", machine, firmware)
    guest.wait_for(r"TERN-DT-END")
    code, _ = guest.wait_exit()
    expect(code == 0, f"QEMU exited with {code}", guest)
    properties = {}
    for line in guest.text().splitlines():
        match = re.match(r"TERN-DT: (\S+) ?([0-9a-f]*)$", line)
        if match:
            properties[match.group(1)] = match.group(2)
    expect(len(properties) > 100, f"only {len(properties)} properties dumped", guest)
    return properties, guest


def as_number(hex_value):
    return int(hex_value, 16) if hex_value else 0


# Differences between tern's and VOF's trees that are by design (docs/device-tree.md): path,
# how to compare.
FIRMWARE_IDENTITY = {
    "/chosen/stdout": "ihandle",        # instance handles are the firmware's own numbers
    "/chosen/stdin": "ihandle",         # tern publishes stdin too (IEEE 1275); VOF does not
    "/memory@0/available": "claims",    # VOF does not count the kernel and initrd as claimed
    "/chosen/linux,initrd-start": "number",  # prom_init writes 64-bit cells; VOF keeps QEMU's
    "/chosen/linux,initrd-end": "number",    # 32-bit ones. The values must agree.
    "/rtas/rtas-size": "not-smaller",   # tern's RTAS area: QEMU's part plus tern's image and state
    "/rtas/linux,rtas-base": "rtas",    # the OS places the larger area lower
    "/rtas/linux,rtas-entry": "rtas",   # tern's entry lies past QEMU's part of the area
}


def scenario_dt_vs_vof(opts):
    args = ["-m", "1G", "-smp", "2"]
    tern, guest = dt_dump(opts, args, firmware=True)
    vof, _ = dt_dump(opts, args, firmware=False)
    problems = []
    for path in sorted(set(tern) | set(vof)):
        rule = FIRMWARE_IDENTITY.get(path)
        if rule in ("ihandle", "claims", "rtas"):
            continue
        if path not in tern or path not in vof:
            problems.append(f"{path}: only under {'tern' if path in tern else 'VOF'}")
        elif rule == "number":
            if as_number(tern[path]) != as_number(vof[path]):
                problems.append(f"{path}: tern {tern[path]} VOF {vof[path]}")
        elif rule == "not-smaller":
            if as_number(tern[path]) < as_number(vof[path]):
                problems.append(f"{path}: tern {tern[path]} is smaller than VOF's {vof[path]}")
        elif tern[path] != vof[path]:
            problems.append(f"{path}: tern {tern[path]} VOF {vof[path]}")
    expect(not problems, "device trees differ:\n" + "\n".join(problems), guest)
    print(f"{len(tern)} properties on tern, {len(vof)} on VOF: equal but for "
          f"{sorted(p for p in FIRMWARE_IDENTITY if p in tern or p in vof)}")


TCG_REFUSES_SMT = "TCG cannot support more than 1 thread/core on a pseries machine"


def scenario_smt(opts):
    args = ["-smp", "4,cores=2,threads=2", "-m", "1G"]
    probe = Guest(opts.qemu, ["-bios", opts.image, *args])
    code, _ = probe.wait_exit()
    # Only QEMU's own refusal (hw/ppc/spapr.c: spapr_set_vsmt_mode under TCG) is a skip; any other
    # failure of the probe, tern's included, is a failure.
    if code != 0 and TCG_REFUSES_SMT in probe.text():
        print("SKIP: this QEMU refuses SMT under TCG:", TCG_REFUSES_SMT)
        return SKIP
    expect(code == 0, f"tern without a kernel did not power off with -smp {args[1]} "
           f"(exit {code})", probe)
    check_linux(opts, args, cpus=4, memory_mib=1024)
    return 0


def scenario_rtas(opts):
    # The OS places RTAS at the top of min(RMA, 768 MiB): for -m 1G just below 0x30000000.
    start, size = 0x2f000000, 0x1000000
    kit = opts.kit
    guest = Guest(opts.qemu, ["-bios", opts.image, "-smp", "2", "-m", "1G",
                              "-kernel", os.path.join(kit, "vmlinux"),
                              "-initrd", os.path.join(kit, "initramfs.cpio.gz"),
                              "-append", "console=hvc0"], monitor_socket=True)
    values = report(guest)
    expect(values.get("cpus-online") == "2", "the second CPU did not start", guest)
    time.sleep(1)  # let rtasd make its first event-scan pass
    with tempfile.TemporaryDirectory() as directory:
        dump = os.path.join(directory, "rtas.dump")
        guest.monitor_command(f'pmemsave {start:#x} {size:#x} "{dump}"')
        guest.send(b"poweroff -f\r")
        code, _ = guest.wait_exit()
        expect(code == 0, f"QEMU exited with {code}", guest)
        result = subprocess.run([opts.dump_tool, "--start", f"{start:#x}", dump],
                                capture_output=True, text=True, timeout=60)
    print(result.stdout)
    expect(result.returncode == 0, f"tern-rtas-dump failed:\n{result.stdout}{result.stderr}",
           guest)
    expect("checks: ok" in result.stdout and "instantiated 1 time" in result.stdout,
           "the state region is not a valid, once-built region", guest)
    calls = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in
             re.finditer(r"^    (\S+)\s+(\d+)\s+(-?\d+)$", result.stdout, re.M)}
    for service, statuses in (("get-time-of-day", {0}), ("start-cpu", {0}),
                              ("query-cpu-stopped-state", {0}), ("event-scan", {0, 1}),
                              ("ibm,nmi-register", {0})):
        expect(service in calls, f"Linux made no {service} call through tern's RTAS", guest)
        expect(calls[service][1] in statuses,
               f"{service} ended with status {calls[service][1]}", guest)
    errors = [line for line in guest.text().splitlines() if KERNEL_ERRORS.search(line)]
    expect(not errors, "errors on the console:\n" + "\n".join(errors), guest)


def dump_rtas(opts, guest, start=0x2f000000, size=0x1000000):
    """Runs tern-rtas-dump on a pmemsave of the RTAS area; returns its output and the calls."""
    with tempfile.TemporaryDirectory() as directory:
        dump = os.path.join(directory, "rtas.dump")
        guest.monitor_command(f'pmemsave {start:#x} {size:#x} "{dump}"')
        result = subprocess.run([opts.dump_tool, "--start", f"{start:#x}", dump],
                                capture_output=True, text=True, timeout=60)
    expect(result.returncode == 0, f"tern-rtas-dump failed:\n{result.stdout}{result.stderr}",
           guest)
    calls = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in
             re.finditer(r"^    (\S+)\s+(\d+)\s+(-?\d+)$", result.stdout, re.M)}
    return result.stdout, calls


def cpus_online(guest, expected):
    """Polls the guest's online CPU list until it reads `expected`."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        start = len(guest.text())
        guest.send(b"echo CPUS-$(cat /sys/devices/system/cpu/online)-END\r")
        match = None
        for _ in range(40):
            match = re.search(r"CPUS-(\S*)-END\n", guest.text()[start:])
            if match:
                break
            time.sleep(0.05)
        if match and match.group(1) == expected:
            return
        time.sleep(0.5)
    guest.fail(f"online CPUs never became {expected}")


def scenario_cpu_hotplug(opts):
    kit = opts.kit
    guest = Guest(opts.qemu, ["-bios", opts.image, "-smp", "1,maxcpus=4", "-m", "1G",
                              "-kernel", os.path.join(kit, "vmlinux"),
                              "-initrd", os.path.join(kit, "initramfs.cpio.gz"),
                              "-append", "console=hvc0"], monitor_socket=True)
    report(guest)
    guest.wait_for(r"tern-guest:/# ")
    core = guest.core_type()
    steps = [(f"device_add {core},core-id=1,id=core1", "0-1"),
             (f"device_add {core},core-id=2,id=core2", "0-2"),
             ("device_del core1", "0,2"),
             (f"device_add {core},core-id=1,id=core1", "0-2"),
             ("device_del core2", "0-1")]
    for command, online in steps:
        # QEMU releases a removed core once the guest has released its connector, a little after
        # the CPU went offline: re-adding the same id waits for that.
        deadline = time.monotonic() + 60
        reply = guest.monitor_command(command)
        while "Duplicate device ID" in reply and time.monotonic() < deadline:
            time.sleep(0.2)
            reply = guest.monitor_command(command)
        expect("Error" not in reply, f"monitor: {command}: {reply}", guest)
        cpus_online(guest, online)
        print(f"{command}: online CPUs {online}")
    output, calls = dump_rtas(opts, guest)
    print(output)
    expect("walk slots: 0 of 8 in use" in output, "a finished walk still holds a slot", guest)
    walks = calls.get("ibm,configure-connector", (0, 0))
    # Three hot-adds: each walk is at least a node, its properties and the final 0.
    expect(walks[0] >= 3 * 10 and walks[1] == 0,
           f"configure-connector through tern: {walks[0]} calls, last status {walks[1]}", guest)
    guest.send(b"poweroff -f\r")
    code, _ = guest.wait_exit()
    expect(code == 0, f"QEMU exited with {code}", guest)
    errors = [line for line in guest.text().splitlines() if KERNEL_ERRORS.search(line)]
    expect(not errors, "errors on the console:\n" + "\n".join(errors), guest)


# --- Hostile configurations -------------------------------------------------------------------

def scenario_small_256m(opts):
    # The kernel's own 40 MiB (text, data, bss) are a sixth of 256 MiB: MemTotal was 204096 KiB
    # (80 %) on QEMU 7.2 and 10.0.
    check_linux(opts, ["-m", "256M"], 1, 256, min_memory=0.75)


SMP64_TIMEOUT = 420  # TCG brings 64 vCPUs up in about 45 s on an idle host


def scenario_smp64(opts):
    guest = check_linux(opts, ["-smp", "64,maxcpus=128", "-m", "2G"], 64, 2048,
                        timeout=SMP64_TIMEOUT)
    guest_text = guest.text()
    expect(re.search(r"tern: \d+ hotplug connectors: 128 CPU,", guest_text) is not None,
           "tern did not count 128 CPU connectors (maxcpus=128)", guest)
    expect("smp: Brought up 1 node, 64 CPUs" in guest_text, "Linux did not bring up 64 CPUs", guest)


def scenario_numa8(opts):
    args = ["-m", "2G", "-smp", "8"]
    for node in range(8):
        args += ["-object", f"memory-backend-ram,id=m{node},size=256M",
                 "-numa", f"node,memdev=m{node},cpus={node},nodeid={node}"]
    guest = check_linux(opts, args, 8, 2048)
    text = guest.text()
    expect(re.search(r"tern: memory 2048 MiB in 8 ranges \(RMA 256 MiB\), 8 CPUs", text)
           is not None, "tern's summary does not show 8 ranges and an RMA of 256 MiB", guest)
    expect("numa: Partition configured for 8 NUMA nodes." in text, "Linux saw no 8 nodes", guest)
    for node in range(8):
        expect(f"numa: Node {node} CPUs: {node}" in text, f"CPU {node} is not on node {node}",
               guest)


def scenario_no_console(opts):
    # No vty: nothing reaches a console, tern's lines and the kit's /init's included (its
    # `exec </dev/console` fails, and the kernel panics as it does on SLOF). busybox's reboot as
    # the initramfs' init proves that Linux reached userspace: tern itself resets the machine only
    # when a client asks it to, and QEMU reports the reset as the shutdown's reason (-no-reboot).
    kit = opts.kit
    guest = Guest(opts.qemu, ["-bios", opts.image, "-nodefaults", "-m", "1G", "-S",
                              "-kernel", os.path.join(kit, "vmlinux"),
                              "-initrd", os.path.join(kit, "initramfs.cpio.gz"),
                              "-append", "rdinit=/bin/reboot -- -f"], qmp=True)
    guest.qmp("cont")
    event = guest.wait_event("SHUTDOWN")
    code, seconds = guest.wait_exit()
    data = event.get("data", {})
    expect(data.get("guest") is True and data.get("reason") == "guest-reset",
           f"the machine ended with {data}, not the guest's reboot", guest)
    expect(code == 0, f"QEMU exited with {code}", guest)
    expect("OS terminated" not in guest.text(), "the guest panicked", guest)
    print(f"Linux rebooted from userspace without a console after {seconds:.2f} s")


def scenario_big_tree(opts):
    # 30 more PHBs (each node with 256 connectors and its interrupt-map) and three 120000-byte
    # strings QEMU copies into the root node (host-serial, host-model, ibm,partition-name): a
    # 635 KiB tree, more than the arena below 0x200000 holds with room to grow. Before tern moved
    # such a tree, merging the CAS answer failed and Linux died in xics.
    filler = "x" * 120000
    args = ["-m", "2G", "-smp", "2", "-M", f"host-serial={filler}", "-M", f"host-model={filler}",
            "-name", f"guest={filler}"]
    for index in range(1, 31):
        args += ["-device", f"spapr-pci-host-bridge,index={index}"]
    guest = check_linux(opts, args, 2, 2048)
    text = guest.text()
    summary = re.search(r"FDT (\d+) KiB", text)
    expect(summary is not None and int(summary.group(1)) > 600, "the tree is not over 600 KiB",
           guest)
    expect(re.search(r"tern: the device tree needs \d+ KiB with room to grow, more than the "
                     r"arena: it lives in \[0x[0-9a-f]+, 0x[0-9a-f]+\), claimed", text)
           is not None, "tern did not move the tree out of the arena", guest)
    expect("tern: merging the CAS update failed" not in text and
           "tern: H_UPDATE_DT refused" not in text, "tern could not handle the tree", guest)


SCENARIOS = {
    "1cpu-1g": ("-smp 1 -m 1G", lambda o: check_linux(o, ["-smp", "1", "-m", "1G"], 1, 1024)),
    "smp4-2g": ("-smp 4 -m 2G (cores)",
                lambda o: check_linux(o, ["-smp", "4", "-m", "2G"], 4, 2048)),
    "smt": ("-smp 4,cores=2,threads=2; skipped (exit 77) only when QEMU itself refuses SMT under "
            "TCG", scenario_smt),
    "small-512m": ("-m 512M", lambda o: check_linux(o, ["-m", "512M"], 1, 512)),
    "large-8g": ("-smp 2 -m 8G", lambda o: check_linux(o, ["-smp", "2", "-m", "8G"], 2, 8192)),
    "small-256m": ("-m 256M: boots to init; MemTotal at least 75 % of RAM (the kernel is 40 MiB)",
                   scenario_small_256m),
    "smp64": ("-smp 64,maxcpus=128 -m 2G: tern counts 128 CPU connectors, Linux brings up 64 CPUs "
              "(about 45 s under TCG)", scenario_smp64),
    "numa8": ("eight NUMA nodes of 256 MiB with a CPU each: tern's summary shows 8 ranges and an "
              "RMA of 256 MiB; Linux configures 8 nodes with CPU n on node n", scenario_numa8),
    "no-console": ("-nodefaults, no vty: tern gives Linux a stdout that discards; the kernel boots "
                   "to userspace, where busybox's reboot ends QEMU (QMP: SHUTDOWN, reason "
                   "guest-reset)", scenario_no_console),
    "big-tree": ("31 PHBs and three 120000-byte root properties, a 635 KiB tree: tern builds its "
                 "live tree in claimed memory at the top of the RMA; CAS, setprop and quiesce "
                 "work on it and Linux boots", scenario_big_tree),
    "reboot": ("`reboot -f` in the guest: RTAS system-reboot; with -no-reboot QEMU exits",
               lambda o: check_linux(o, ["-m", "1G"], 1, 1024, test="reboot")),
    "dt-vs-vof": ("the /proc/device-tree of the same kernel on tern and on VOF, which passes "
                  "QEMU's tree through, must be equal apart from the differences "
                  "docs/device-tree.md lists", scenario_dt_vs_vof),
    "rtas": ("-smp 2 -m 1G: the guest's RTAS calls go through tern's RTAS; a pmemsave of the RTAS "
             "area read by tern-rtas-dump shows a valid state region and the statuses of the "
             "calls Linux made: get-time-of-day, start-cpu, event-scan (no event: 1), "
             "ibm,nmi-register (0: QEMU knew linux,rtas-base from H_UPDATE_DT)", scenario_rtas),
    "cpu-hotplug": ("-smp 1,maxcpus=4: device_add two cores, device_del one, add it again, remove "
                    "the other; Linux onlines and offlines them (the walks go through tern's "
                    "ibm,configure-connector, checked in the RTAS state region), no errors",
                    scenario_cpu_hotplug),
}


def add_arguments(parser):
    parser.add_argument("--kit", required=True, help="guest kit directory (tools/guest-kit.sh)")
    parser.add_argument("--dump-tool", default="tern-rtas-dump", help="build/tools/tern-rtas-dump")

if __name__ == "__main__":
    sys.exit(run_scenarios(__doc__, SCENARIOS, add_arguments))
