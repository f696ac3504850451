#!/usr/bin/env python3
"""Hot-add latency: tern beside SLOF (and VOF for CPUs), in the same run.

Boots the guest kit's Debian kernel on each firmware and times one hot-add, from QEMU's device_add
(on the monitor) until the guest can use what was added:

  --kind cpu   a CPU core (-smp 1,maxcpus=4), until the guest lists the new CPU online: the
               hotplug event, Linux's DLPAR configure-connector walk through the firmware's RTAS
               and the onlining (firmwares: tern, SLOF, VOF)
  --kind pci   a virtio-net-pci at 00:02.0, until its network interface exists: QEMU's hotplug
               event, drmgr run in the guest on it (as rtas_errd runs it: drmgr -c pci -a -s C16
               -n -V), its configure-connector walk, the bus rescan and virtio_net's probe
               (firmwares: tern, SLOF)
  --kind dimm  a 1 GiB pc-dimm (-m 1G,slots=4,maxmem=4G; its memory-backend-ram made before the
               clock starts), until MemTotal has grown by it: Linux's in-kernel DLPAR, a
               configure-connector walk per 256 MiB LMB, and the onlining (firmwares: tern, SLOF)

For pci and dimm a script runs in the guest before device_add, polling every 20 ms (so it takes
little of the one vCPU): for pci it waits for QEMU's hotplug event (the RAS_HOTPLUG interrupt
count), runs drmgr and waits for the interface; for dimm it waits for MemTotal. It prints a marker
when the device is usable; the time is taken when the marker reaches the console (looked for
every 2 ms). The firmwares take turns in each round; the report gives
each one's times, medians and the ratio. The guest kit must carry drmgr (tools/guest-kit.sh).

  tools/bench-hotplug.py --image build/tern.bin --kit ~/.cache/tern/guest --kind pci [--rounds 5]
"""
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "qemu"))
from guest import boot_kit, command_line, paired_rounds  # noqa: E402

TIMEOUT = 120  # seconds for one hot-add


def online_now(guest):
    start = len(guest.text())
    guest.send(b"echo CPUS-$(cat /sys/devices/system/cpu/online)-END\r")
    for _ in range(200):
        match = re.search(r"CPUS-(\S*)-END\n", guest.text()[start:])
        if match:
            return match.group(1)
        time.sleep(0.005)
    return ""


def cpu_seconds(guest):
    started = time.monotonic()
    guest.monitor_command(f"device_add {guest.core_type()},core-id=1,id=core1")
    while online_now(guest) != "0-1":
        if time.monotonic() - started > TIMEOUT:
            guest.fail("the new CPU never came online")
    return time.monotonic() - started


def marker_seconds(guest, marker, since, start_bytes):
    """Seconds from `since` until `marker` arrives on the console after byte `start_bytes`,
    looking every 2 ms (Guest.wait_for looks every 50 ms, too coarse here)."""
    deadline = since + TIMEOUT
    while time.monotonic() < deadline:
        with guest.lock:
            found = guest.output.find(marker, start_bytes) >= 0
        if found:
            return time.monotonic() - since
        if guest.process.poll() is not None:
            break
        time.sleep(0.002)
    guest.fail(f"no {marker!r} within {TIMEOUT} s")


def waited_seconds(guest, script, monitor_commands):
    """Starts shell `script` in the guest (it waits, then does what is needed, until the device is
    usable), runs `monitor_commands`, and returns the seconds from the first of them until the
    script's marker appears."""
    with guest.lock:
        start_bytes = len(guest.output)
    # The marker is computed by the shell, so the echoed command line never matches it.
    guest.send(f"{script}; echo USABLE-$((6*7))-END\r".encode())
    time.sleep(1)  # the script is waiting
    started = time.monotonic()
    for command in monitor_commands:
        reply = guest.monitor_command(command)
        if "Error" in reply or "error" in reply:
            guest.fail(f"monitor: {command}: {reply}")
    return marker_seconds(guest, b"USABLE-42-END", started, start_bytes)


def poll(condition):
    """A guest loop that waits for `condition`, checking every 20 ms (leaving the vCPU to the
    hot-add)."""
    return f"until {condition}; do sleep 0.02; done"


def pci_seconds(guest):
    # What rtas_errd does: on QEMU's hotplug event (Linux counts it on the RAS_HOTPLUG interrupt
    # and leaves PCI to user space), drmgr -a for the connector; then the driver's interface.
    hotplug_events = "$(awk '/RAS_HOTPLUG/ { print $2 }' /proc/interrupts)"
    script = (f"n={hotplug_events}; {poll(f'[ {hotplug_events} -gt $n ]')}; "
              "drmgr -c pci -a -s C16 -n -V >/tmp/drmgr.log 2>&1; "
              f"{poll('[ -e /sys/class/net/eth0 ]')}")
    return waited_seconds(guest, script, ["device_add virtio-net-pci,id=net1,addr=2,romfile="])


def dimm_seconds(guest):
    before = int(re.search(r"mem-total-kib (\d+)", guest.text()).group(1))
    guest.monitor_command("object_add memory-backend-ram,id=mem1,size=1G")
    mem_total = "$(awk '$1 == \"MemTotal:\" { print $2 }' /proc/meminfo)"
    script = poll(f"[ {mem_total} -ge {before + 1048576 * 95 // 100} ]")
    return waited_seconds(guest, script, ["device_add pc-dimm,id=dimm1,memdev=mem1"])


KINDS = {
    "cpu": (["tern", "slof", "vof"], ["-m", "1G", "-smp", "1,maxcpus=4"], cpu_seconds,
            "CPU hot-add to online"),
    "pci": (["tern", "slof"], ["-m", "1G"], pci_seconds,
            "virtio-net-pci hot-add (device_add, QEMU's event, drmgr) to its interface"),
    "dimm": (["tern", "slof"], ["-m", "1G,slots=4,maxmem=4G"], dimm_seconds,
             "1 GiB pc-dimm hot-add to MemTotal grown"),
}


def hot_add_seconds(opts, firmware):
    _, args, measure, _ = KINDS[opts.kind]
    guest = boot_kit(opts.qemu, firmware, opts.image, opts.kit, "console=hvc0", args,
                     monitor_socket=True)
    try:
        guest.wait_for(r"tern-guest:/# ")
        guest.send(b"echo 1 >/proc/sys/kernel/printk\r")  # no kernel messages in the way
        time.sleep(1)
        seconds = measure(guest)
        guest.send(b"poweroff -f\r")
        guest.wait_exit()
        return seconds
    finally:
        guest.kill()


def main():
    parser = command_line(__doc__, kit=True)
    parser.add_argument("--kind", choices=sorted(KINDS), default="cpu",
                        help="what to hot-add (default cpu)")
    opts = parser.parse_args()
    firmwares, _, _, what = KINDS[opts.kind]
    times = paired_rounds(firmwares, opts.rounds, lambda f: hot_add_seconds(opts, f), 1000, "ms")
    medians = {f: statistics.median(times[f]) for f in firmwares}
    print(f"\n{what}, {opts.rounds} rounds ({opts.qemu}):")
    for firmware in firmwares:
        values = " ".join(f"{t * 1000:.0f}" for t in times[firmware])
        print(f"  {firmware:5s} median {medians[firmware] * 1000:.0f} ms  (all: {values})")
    for other in firmwares[1:]:
        print(f"  tern/{other}: {medians['tern'] / medians[other]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
