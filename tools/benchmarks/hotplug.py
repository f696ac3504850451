"""Hot-add latency: from the monitor's device_add until the guest has the new device in use.

Each measure boots the guest kit to its shell on one firmware, waits a second for the guest to
settle, and times one hot-add:
  CPU core     QEMU's hotplug event, Linux's DLPAR configure-connector walk through the
               firmware's RTAS (tern's own, or QEMU's behind SLOF and VOF), the onlining; until
               the guest lists the CPU online
  PCI device   a virtio-net-pci at 00:02.0: QEMU's hotplug event, drmgr run in the guest on it as
               rtas_errd runs it (drmgr -c pci -a -s C16 -n -V: its configure-connector walk), the
               bus rescan and virtio_net's probe; until its network interface exists
  1 GiB DIMM   a pc-dimm (-m 1G,slots=4,maxmem=4G, its memory-backend-ram made before the clock
               starts): Linux's in-kernel DLPAR, a configure-connector walk per 256 MiB LMB, the
               onlining; until MemTotal has grown by it
For the PCI device and the DIMM a script in the guest, started before device_add, polls every
20 ms (leaving the vCPU to the hot-add) and prints a marker when the device is usable; the time is
taken when the marker reaches the console (looked for every 2 ms). VOF boots no guest that runs
drmgr's PCI path the same way, so those two compare tern with SLOF.
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


def marker_seconds(guest, marker, since, start_bytes):
    """Seconds from `since` until `marker` arrives on the console after byte `start_bytes`,
    looking every 2 ms (Guest.wait_for looks every 50 ms, too coarse here)."""
    deadline = since + HOT_ADD_TIMEOUT
    while time.monotonic() < deadline:
        with guest.lock:
            found = guest.output.find(marker, start_bytes) >= 0
        if found:
            return time.monotonic() - since
        if guest.process.poll() is not None:
            break
        time.sleep(0.002)
    guest.fail(f"no {marker!r} within {HOT_ADD_TIMEOUT} s")


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
        if "rror" in reply:
            guest.fail(f"monitor: {command}: {reply}")
    return marker_seconds(guest, b"USABLE-42-END", started, start_bytes)


def poll(condition):
    """A guest loop that waits for `condition`, checking every 20 ms."""
    return f"until {condition}; do sleep 0.02; done"


def booted(ctx, firmware, args):
    guest = boot_kit(ctx.qemu, firmware, ctx.image, ctx.kit, "console=hvc0", args,
                     monitor_socket=True)
    guest.wait_for(r"tern-guest:/# ")
    guest.send(b"echo 1 >/proc/sys/kernel/printk\r")  # no kernel messages in the way
    time.sleep(1)
    return guest


def finished(guest, seconds):
    guest.send(b"poweroff -f\r")
    guest.wait_exit()
    return seconds * 1000


def pci_device_hot_add_ms(ctx, firmware):
    """device_add of a virtio-net-pci, drmgr in the guest, until its interface exists (ms)."""
    guest = booted(ctx, firmware, ["-m", "1G"])
    # What rtas_errd does: on QEMU's hotplug event (Linux counts it on the RAS_HOTPLUG interrupt
    # and leaves PCI to user space), drmgr -a for the connector; then the driver's interface.
    events = "$(awk '/RAS_HOTPLUG/ { print $2 }' /proc/interrupts)"
    script = (f"n={events}; {poll(f'[ {events} -gt $n ]')}; "
              "drmgr -c pci -a -s C16 -n -V >/tmp/drmgr.log 2>&1; "
              f"{poll('[ -e /sys/class/net/eth0 ]')}")
    return finished(guest, waited_seconds(guest, script,
                                          ["device_add virtio-net-pci,id=net1,addr=2,romfile="]))


def dimm_hot_add_ms(ctx, firmware):
    """device_add of a 1 GiB pc-dimm until MemTotal has grown by 95 % of it (ms)."""
    guest = booted(ctx, firmware, ["-m", "1G,slots=4,maxmem=4G"])
    before = int(re.search(r"mem-total-kib (\d+)", guest.text()).group(1))
    guest.monitor_command("object_add memory-backend-ram,id=mem1,size=1G")
    mem_total = "$(awk '$1 == \"MemTotal:\" { print $2 }' /proc/meminfo)"
    script = poll(f"[ {mem_total} -ge {before + 1048576 * 95 // 100} ]")
    return finished(guest, waited_seconds(guest, script,
                                          ["device_add pc-dimm,id=dimm1,memdev=mem1"]))
