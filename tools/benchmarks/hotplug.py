"""Hot-add latency: from the monitor's device_add until the guest has the new device in use.

Each measure boots the guest kit to its shell on one firmware, waits a second for the guest to
settle, and times the hot-add: QEMU's hotplug event, Linux's DLPAR configure-connector walk
through the firmware's RTAS (tern's own, or QEMU's behind SLOF and VOF), and the onlining.
PCI device and DIMM hot-add have no measure yet (tools/bench.py lists them as "not yet").
"""
import re
import time

from guest import boot_kit

HOT_ADD_TIMEOUT = 60  # seconds


def online_cpus(guest):
    """The guest's /sys/devices/system/cpu/online, read through its shell."""
    start = len(guest.text())
    guest.send(b"echo CPUS-$(cat /sys/devices/system/cpu/online)-END\r")
    for _ in range(200):
        match = re.search(r"CPUS-(\S*)-END\n", guest.text()[start:])
        if match:
            return match.group(1)
        time.sleep(0.005)
    return ""


def cpu_core_hot_add_ms(ctx, firmware):
    """device_add of a CPU core until the guest lists CPUs 0-1 online, in milliseconds."""
    guest = boot_kit(ctx.qemu, firmware, ctx.image, ctx.kit, "console=hvc0",
                     ["-m", "1G", "-smp", "1,maxcpus=4"], monitor_socket=True)
    guest.wait_for(r"tern-guest:/# ")
    time.sleep(1)
    core_type = guest.core_type()
    started = time.monotonic()
    guest.monitor_command(f"device_add {core_type},core-id=1,id=core1")
    while online_cpus(guest) != "0-1":
        if time.monotonic() - started > HOT_ADD_TIMEOUT:
            guest.fail("the new CPU never came online")
    seconds = time.monotonic() - started
    guest.send(b"poweroff -f\r")
    guest.wait_exit()
    return seconds * 1000
