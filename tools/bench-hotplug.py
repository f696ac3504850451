#!/usr/bin/env python3
"""CPU hot-add latency: tern beside SLOF and VOF, in the same run.

Boots the guest kit's Debian kernel with -smp 1,maxcpus=4 on each firmware, then times
`device_add` of a CPU core until the guest lists the new CPU online (the hotplug event, the
DLPAR configure-connector walk through the firmware's RTAS, and the onlining). The firmwares take
turns in each round; the report gives medians and ratios.

  tools/bench-hotplug.py --image build/tern.bin --kit ~/.cache/tern/guest [--rounds 5]
"""
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "qemu"))
from guest import boot_kit, command_line, paired_rounds  # noqa: E402


def online_now(guest):
    start = len(guest.text())
    guest.send(b"echo CPUS-$(cat /sys/devices/system/cpu/online)-END\r")
    for _ in range(200):
        match = re.search(r"CPUS-(\S*)-END\n", guest.text()[start:])
        if match:
            return match.group(1)
        time.sleep(0.005)
    return ""


def hot_add_seconds(opts, firmware):
    guest = boot_kit(opts.qemu, firmware, opts.image, opts.kit, "console=hvc0",
                     ["-m", "1G", "-smp", "1,maxcpus=4"], monitor_socket=True)
    guest.wait_for(r"tern-guest:/# ")
    time.sleep(1)
    started = time.monotonic()
    guest.monitor_command(f"device_add {guest.core_type()},core-id=1,id=core1")
    while online_now(guest) != "0-1":
        if time.monotonic() - started > 60:
            guest.fail("the new CPU never came online")
    seconds = time.monotonic() - started
    guest.send(b"poweroff -f\r")
    guest.wait_exit()
    return seconds


def main():
    parser = command_line(__doc__, kit=True)
    opts = parser.parse_args()
    firmwares = ["tern", "slof", "vof"]
    times = paired_rounds(firmwares, opts.rounds, lambda f: hot_add_seconds(opts, f), 1000, "ms")
    medians = {f: statistics.median(times[f]) for f in firmwares}
    print(f"\nCPU hot-add to online, {opts.rounds} rounds ({opts.qemu}):")
    for firmware in firmwares:
        print(f"  {firmware:5s} median {medians[firmware] * 1000:.0f} ms")
    for other in ("slof", "vof"):
        print(f"  tern/{other}: {medians['tern'] / medians[other]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
