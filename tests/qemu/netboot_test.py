#!/usr/bin/env python3
"""Network boot on tern (issue 22): DHCP and TFTP from QEMU's own server, GRUB's network image,
Debian's installer over the network, a kernel loaded directly, the boot order with NICs.

Usage: netboot_test.py --qemu QEMU --image tern.bin --kit NET_KIT --disks DISK_KIT
                       [--bios tern|slof] SCENARIO

The TFTP folder is the net kit's (tools/net-kit.sh), served by QEMU's user networking (`-netdev
user,restrict=on,tftp=NET_KIT/tftp,bootfile=FILE`: no root, no network namespace, and restrict=on
keeps the guest off every network but QEMU's DHCP and TFTP server, 10.0.2.2). Its DHCP boot
files: GRUB's network image from grub-mknetdir (boot/grub/powerpc-ieee1275/core.elf, booting
Debian 12's ppc64el installer over TFTP), two more GRUB images (tern/linux/...: the installer's
kernel with an /init that uses the NIC and powers off; tern/reboot/...: GRUB reboots), the
installer's vmlinux and initrd.gz. Every GRUB prints `TERN-NET: booted <name>`, then $root,
$prefix and GRUB's net_default_* variables: what the firmware handed it. The bootable disk is the
disk kit's mbr.img (tools/disk-kit.sh), whose /init prints TERN-DISK: lines and powers off. A
scenario passes on what users see: the installer's first dialog on hvc0 ("[!!] Select a
language"), GRUB's lines showing it was booted from the network with the server it was given,
the kernel's banner, Linux's own DHCP lease and TFTP transfer on the NIC, or the disk's root
mounted and QEMU exiting with 0, with tern's own lines for the card and the file.

The kit's GRUB is 2.12 (bookworm-backports, as in Debian 13): Debian 12's GRUB 2.06-13 cannot boot
from the network on any firmware, its ofnet.mod never allocating the path of the card it finds
(tools/net-kit.sh says more): it stops at `error: variable `root' isn't set.` (the card silently
skipped) or `free magic is broken at 0x2f766465` (the path written over its heap).

--bios slof runs a scenario on QEMU's default firmware (no -bios), to check the kit and the
scenario. With GRUB 2.12, SLOF 20220719 passes every scenario but direct-vmlinux, where it
refuses Debian's vmlinux (`ELF64: VirtAddr(c000000000000000) != PhysAddr(0) not supported,
aborting`, `E3403: Bad executable`): XFAIL there (exit status 0); a pass would fail, so that this
list is kept true. Seconds on QEMU 7.2 from QEMU's start, three QEMUs at once on two shared cores
(tern / SLOF): GRUB over spapr-vlan 7.3 / 18.3, the installer's first dialog 43.5 / 97.5 (virtio-net
7.5 / 18.9 and 46.6 / 102.8); linux-spapr-vlan to QEMU's exit 29.5 / 71.1, linux-virtio-net 17.5 /
75.3; boot-once-n 12.1 / 45.4; missing-file 5.0 / 33.8 (SLOF: `E3009 (net) file not found:
tern/missing.elf`), not-elf 6.2 / 30.3 (`E3403: Bad executable:`, `E3406: Client application
returned an error.`); strict-halt 0.2 / 10.9 to the stop; no-server 19.4 (tern's DHCP gives up after
4 tries, about 15 s) / 103.8 (80 s of DHCP, `Giving up after 10 DHCP requests`, `E3001 (net) Could
not get IP address`); direct-vmlinux: the kernel's banner after 1.4 s on tern.
"""
import os
import re
import sys
import time

from guest import SKIP, XFAIL, Guest, expect, run_scenarios
from install_media_test import (DIALOG, boot_device, check_console, disk_boots, firmware,
                                mbr_disk, virtio_disk)

TIMEOUT = 300  # the installer's dialog comes after about 30 s from a CD on SLOF; TFTP adds more
SERVER = "10.0.2.2"  # QEMU's user networking: its DHCP and TFTP server
CLIENT = "10.0.2.15"  # the first address its DHCP server gives
MAC = "52:54:00:12:34:56"  # QEMU's default MAC address for the first NIC
# DHCP boot files in the net kit's TFTP folder.
INSTALLER = "boot/grub/powerpc-ieee1275/core.elf"
LINUX = "tern/linux/powerpc-ieee1275/core.elf"
REBOOT = "tern/reboot/powerpc-ieee1275/core.elf"
VMLINUX = "debian-installer/ppc64el/vmlinux"
INITRD = "debian-installer/ppc64el/initrd.gz"
MISSING = "tern/missing.elf"
# What a firmware or GRUB prints when it has given up and waits: no use waiting any longer.
STOPS = (r"grub rescue>|free magic is broken|Press any key to exit|"
         r"Type 'boot' and press return|Kernel panic")
KERNEL_BANNER = r"\[\s*0\.0+\] Linux version \S+"


def tftp(opts):
    return os.path.join(opts.kit, "tftp")


def netdev(opts, bootfile, name="n0"):
    """QEMU's user networking with the kit's TFTP folder and `bootfile` as the DHCP boot file."""
    return ["-netdev", f"user,id={name},restrict=on,tftp={tftp(opts)},bootfile={bootfile}"]


def nic(kind, name="n0", bootindex=None):
    """-device for a NIC of `kind` (spapr-vlan or virtio-net) on netdev `name`. virtio-net-pci
    without romfile= would want ipxe-qemu's efi-virtio.rom, which pseries never runs."""
    device = {"spapr-vlan": f"spapr-vlan,netdev={name}",
              "virtio-net": f"virtio-net-pci,netdev={name},romfile="}[kind]
    device += f",bootindex={bootindex}" if bootindex is not None else ""
    return ["-device", device]


def grub_saw(text, name):
    """GRUB's variables as the kit's grub.cfg `name` printed them: {"root": ..., ...}."""
    start = text.find(f"TERN-NET: booted {name}")
    if start < 0:
        return {}
    return dict(re.findall(r"TERN-NET: (\w+) ?([^\s\x1b]*)", text[start:]))


def describe(saw):
    keys = ("root", "prefix", "net_default_server", "net_default_ip", "boot_file")
    return ", ".join(f"{key} {saw.get(key) or '(empty)'}" for key in keys)


def grub_over_network(guest, name, bootfile, subdir):
    """Waits for GRUB image `name` to print its lines and checks that the firmware handed it the
    DHCP answer (tern only: SLOF never gets this far). Returns (seconds, its variables)."""
    guest.wait_for(rf"TERN-NET: booted {name}", timeout=TIMEOUT, stop=STOPS)
    seconds = time.monotonic() - guest.started
    guest.wait_for(r"TERN-NET: boot_file", timeout=TIMEOUT, stop=STOPS)
    time.sleep(0.5)  # the rest of the line
    saw = grub_saw(guest.text(), name)
    wanted = {"root": f"tftp,{SERVER}", "prefix": f"(tftp,{SERVER})/{subdir}",
              "net_default_server": SERVER, "net_default_ip": CLIENT, "net_default_mac": MAC,
              "boot_file": bootfile}
    wrong = [f"{key} is {saw.get(key)!r}, not {value!r}" for key, value in wanted.items()
             if saw.get(key) != value]
    expect(not wrong, "GRUB did not get the DHCP answer from the firmware: " + "; ".join(wrong),
           guest)
    return seconds, saw


def installer_over(opts, kind, bootindex=None):
    """GRUB's network image from the kit on a NIC of `kind`, then the installer's first dialog."""
    guest = Guest(opts.qemu, [*firmware(opts), "-m", "2G", *netdev(opts, INSTALLER),
                              *nic(kind, bootindex=bootindex)])
    try:
        grub, saw = grub_over_network(guest, "installer", INSTALLER, "boot/grub")
        guest.wait_for(DIALOG, timeout=TIMEOUT, stop=STOPS)
        seconds = time.monotonic() - guest.started
        check_console(guest, guest.text())
    finally:
        guest.kill()
    print(f"{opts.bios}: GRUB over {kind} after {grub:.1f} s ({describe(saw)}); the installer's "
          f"first dialog after {seconds:.1f} s")


def grub_first(opts, args, kind, also=()):
    """Boots with `args`: GRUB's network image must be what boots (before any disk), given the
    DHCP answer; every pattern of `also` must be on the console by then."""
    guest = Guest(opts.qemu, [*firmware(opts), "-m", "2G", *args])
    try:
        grub, saw = grub_over_network(guest, "installer", INSTALLER, "boot/grub")
        text = guest.text()
        check_console(guest, text)
        expect("TERN-DISK:" not in text, "a disk booted before the network", guest)
        for pattern in also:
            expect(re.search(pattern, text, re.M), f"no /{pattern}/ on the console", guest)
    finally:
        guest.kill()
    print(f"{opts.bios}: GRUB over {kind} after {grub:.1f} s ({describe(saw)})")


def tried(text):
    """The devices SLOF tried, in order ("Trying to load:  from: <device> ...")."""
    return re.findall(r"Trying to load: +from: (\S+)", text)


def scenario_installer_spapr_vlan(opts):
    # The NIC pseries gives `-nic user`; alone, in QEMU's default order.
    installer_over(opts, "spapr-vlan")


def scenario_installer_virtio_net(opts):
    installer_over(opts, "virtio-net")


def linux_uses_nic(opts, kind):
    """GRUB boots Linux over the network; Linux's driver takes the NIC the firmware used, gets a
    DHCP lease and fetches files by TFTP; /init powers off."""
    driver = {"spapr-vlan": "ibmveth", "virtio-net": "virtio_net"}[kind]
    guest = Guest(opts.qemu, [*firmware(opts), "-m", "2G", *netdev(opts, LINUX), *nic(kind)])
    try:
        grub_over_network(guest, "linux", LINUX, "tern/linux")
        guest.wait_for(r"TERN-NET-LINUX: poweroff", timeout=TIMEOUT, stop=STOPS)
        code, seconds = guest.wait_exit(timeout=TIMEOUT)
    finally:
        guest.kill()
    text = guest.text()
    check_console(guest, text)
    lines = "\n".join(re.findall(r"^TERN-NET-LINUX: .*$", text, re.M))
    expect(re.search(rf"^TERN-NET-LINUX: interface \S+ driver {driver} mac {MAC}$", lines, re.M),
           f"Linux's {driver} did not take the NIC:\n{lines}", guest)
    expect(re.search(rf"^TERN-NET-LINUX: lease ip {re.escape(CLIENT)} mask 24 server "
                     rf"{re.escape(SERVER)} ", lines, re.M),
           f"Linux got no DHCP lease from QEMU:\n{lines}", guest)
    with open(os.path.join(tftp(opts), "tern", "probe.txt")) as probe:
        probe_line = probe.readline().strip()
    core_bytes = os.path.getsize(os.path.join(tftp(opts), LINUX))
    for wanted in (f"tftp tern/probe.txt bytes {len(probe_line) + 1} first-line {probe_line}",
                   f"tftp {LINUX} bytes {core_bytes}"):
        expect(f"TERN-NET-LINUX: {wanted}\n" in lines + "\n",
               f"Linux's TFTP did not fetch what the folder has ({wanted}):\n{lines}", guest)
    complaints = [line for line in re.findall(r"^TERN-NET-LINUX: dmesg .*$", lines, re.M)
                  if re.search(r"fail|error|timeout|unable|can't|cannot", line, re.I)]
    expect(not complaints, "the kernel complained about the NIC:\n" + "\n".join(complaints),
           guest)
    expect(code == 0, f"QEMU exited with {code}", guest)
    lease = re.search(r"^TERN-NET-LINUX: lease .*$", lines, re.M).group(0)
    print(f"{opts.bios}: Linux's {driver} after the network boot: {lease[16:]}; QEMU exited "
          f"after {seconds:.1f} s")


def scenario_linux_spapr_vlan(opts):
    linux_uses_nic(opts, "spapr-vlan")


def scenario_linux_virtio_net(opts):
    linux_uses_nic(opts, "virtio-net")


def scenario_bootindex_nic(opts):
    # bootindex=1 on a virtio-net NIC; a bootable disk without one, which the default order
    # would boot first.
    grub_first(opts, [*mbr_disk(opts), *netdev(opts, INSTALLER), *nic("virtio-net", bootindex=1)],
               "virtio-net (bootindex=1)")


def scenario_nic_after_disk(opts):
    # No -boot, no bootindex: a disk without a PReP partition, then the NIC (disks first).
    noprep = virtio_disk(os.path.join(opts.disks, "noprep.img"), "noprep")
    also = [] if opts.bios == "slof" else [r"^tern: /pci@\w+/scsi@\w+: cannot boot: .+$"]
    grub_first(opts, [*noprep, *netdev(opts, INSTALLER), *nic("spapr-vlan")],
               "spapr-vlan after the disk", also=also)


def scenario_boot_once_n(opts):
    # -boot once=n, mbr.img and a NIC: the network boots once (its GRUB reboots), then, with
    # QEMU's normal order back, the disk. QEMU runs without -no-reboot.
    args = ["-boot", "once=n", *mbr_disk(opts), *netdev(opts, REBOOT), *nic("spapr-vlan")]
    found = boot_device(opts, args)
    if found is None or not found.startswith("n"):
        print(f"SKIP: this QEMU does not pass -boot once=n to the guest: "
              f"/chosen/qemu,boot-device is {found!r}")
        return SKIP
    guest = Guest(opts.qemu, [*firmware(opts), "-m", "2G", *args], no_reboot=False)
    try:
        grub, saw = grub_over_network(guest, "reboot", REBOOT, "tern/reboot")
        code, seconds = guest.wait_exit(timeout=TIMEOUT)
    finally:
        guest.kill()
    text = guest.text()
    check_console(guest, text)
    booted = text.count("TERN-NET: booted reboot")
    expect(booted == 1, f"the network booted {booted} times, expected once", guest)
    expect(text.find("TERN-NET: rebooting") < text.find("TERN-DISK: root-mounted"),
           "the disk did not boot after GRUB's reboot", guest)
    found = re.search(r"TERN-DISK: disk-id (\S+)", text)
    expect(found is not None and found.group(1) == "tern-mbr",
           f"booted {found.group(1) if found else 'nothing'}, expected tern-mbr", guest)
    expect(code == 0, f"QEMU exited with {code}", guest)
    print(f"{opts.bios}: GRUB over the network once after {grub:.1f} s ({describe(saw)}), then "
          f"the disk; QEMU exited after {seconds:.1f} s")
    return 0


def scenario_direct_vmlinux(opts):
    # The DHCP boot file is Debian's vmlinux itself: the firmware loads it over TFTP and runs it
    # (no initrd, no command line: the kernel's banner is what users see, then it stops for
    # want of a root file system).
    guest = Guest(opts.qemu, [*firmware(opts), "-m", "2G", *netdev(opts, VMLINUX),
                              *nic("spapr-vlan")])
    try:
        banner = guest.wait_for(KERNEL_BANNER, timeout=TIMEOUT, stop=STOPS).group(0)
        seconds = time.monotonic() - guest.started
        check_console(guest, guest.text())
    finally:
        guest.kill()
    print(f"{opts.bios}: {VMLINUX} over TFTP, '{banner.split('] ', 1)[1]}' after {seconds:.1f} s")


def reason_then_disk(opts, args, reason):
    """Boots with `args`, whose first boot device is a NIC that cannot boot: a `tern:` line
    matching `reason` (not asserted on SLOF), then the disk kit's mbr.img mounts its root and QEMU
    exits with 0."""
    also = [] if opts.bios == "slof" else [reason]
    _, text, seconds = disk_boots(opts, args, also=also, absent=[r"TERN-NET: booted"])
    said = re.search(reason, text, re.M)
    slof = [line.strip() for line in re.findall(r"^.*(?:E3\d\d\d|TFTP error|rror).*$", text,
                                                re.M)] if opts.bios == "slof" else []
    print(f"{opts.bios}: " + (f"'{said.group(0)}', " if said else "") +
          (f"SLOF: {slof}, " if slof else "") +
          f"then the disk booted; QEMU exited after {seconds:.1f} s")


def scenario_missing_file(opts):
    reason_then_disk(opts, [*netdev(opts, MISSING), *nic("spapr-vlan", bootindex=1),
                            *mbr_disk(opts, bootindex=2)], r"^tern: .*tern/missing\.elf.*$")


def scenario_not_elf(opts):
    reason_then_disk(opts, [*netdev(opts, INITRD), *nic("virtio-net", bootindex=1),
                            *mbr_disk(opts, bootindex=2)], r"^tern: .*initrd\.gz.*$")


def scenario_no_server(opts):
    # The NIC's netdev is a hub port with nothing else on the hub: DHCP is never answered.
    reason_then_disk(opts, ["-netdev", "hubport,id=n0,hubid=7", *nic("spapr-vlan", bootindex=1),
                            *mbr_disk(opts, bootindex=2)],
                     r"(?i)^tern: .*l-lan@\w+.*(dhcp|bootp).*$")


def scenario_strict_halt(opts):
    # libvirt's <boot dev='network'/>: bootindex=1 on the NIC and -boot strict=on, so QEMU's boot
    # list ends with HALT. The boot file is missing; the bootable disk, not in the list, must not
    # boot: tern says why and powers off (SLOF waits at its prompt).
    args = ["-boot", "strict=on", *netdev(opts, MISSING), *nic("spapr-vlan", bootindex=1),
            *mbr_disk(opts)]
    guest = Guest(opts.qemu, [*firmware(opts), "-m", "2G", *args])
    try:
        if opts.bios == "slof":
            guest.wait_for(r"Type 'boot' and press return", timeout=TIMEOUT)
            seconds = time.monotonic() - guest.started
        else:
            code, seconds = guest.wait_exit(timeout=TIMEOUT)
            expect(code == 0, f"QEMU exited with {code}", guest)
        text = guest.text()
    finally:
        guest.kill()
    check_console(guest, text)
    expect("TERN-DISK:" not in text, "the disk, not in the strict boot list, booted", guest)
    if opts.bios != "slof":
        expect(re.search(r"^tern: .*tern/missing\.elf.*$", text, re.M),
               "no tern line names the missing boot file", guest)
    print(f"{opts.bios}: the NIC only (tried {tried(text) or 'once'}), the disk left alone; "
          f"stopped after {seconds:.1f} s")


def xfail_on_slof(function, pattern, why):
    """`function` as a scenario that SLOF is documented to fail: on SLOF, a failure whose console
    shows `pattern` is XFAIL (printed with `why` and what SLOF tried), and a pass is a failure,
    since the documentation would then be wrong."""
    def scenario(opts):
        if opts.bios != "slof":
            return function(opts)
        try:
            function(opts)
        except AssertionError as error:
            message, _, console = str(error).partition("--- output ---")
            console = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", console)
            found = re.search(rf"^.*(?:{pattern}).*$", console, re.M)
            if not found:
                raise
            stopped = re.search(r"the guest stopped after ([\d.]+) s", message)
            print(f"slof: {why}: {found.group(0).strip()!r}"
                  f"{' after ' + stopped.group(1) + ' s' if stopped else ''}; "
                  f"devices tried: {', '.join(tried(console)) or 'none'}")
            return XFAIL
        raise AssertionError(f"passes on SLOF, where netboot_test.py says it fails ({why}): "
                             f"update the documentation")
    return scenario


SCENARIOS = {
    "installer-spapr-vlan": ("an spapr-vlan NIC alone, the kit's GRUB (grub-mknetdir) as the DHCP "
                             "boot file: GRUB gets the server from the firmware, fetches its "
                             "grub.cfg, the installer's kernel and initrd: its first dialog",
                             scenario_installer_spapr_vlan),
    "installer-virtio-net": ("the same on a virtio-net-pci NIC",
                             scenario_installer_virtio_net),
    "linux-spapr-vlan": ("GRUB over spapr-vlan boots Linux, whose ibmveth takes the NIC after the "
                         "firmware: a DHCP lease, TFTP transfers, no complaint, power-off",
                         scenario_linux_spapr_vlan),
    "linux-virtio-net": ("the same on virtio-net (Linux's virtio_net)",
                         scenario_linux_virtio_net),
    "bootindex-nic": ("bootindex=1 on a virtio-net NIC, a bootable disk without one: GRUB from "
                      "the network boots first", scenario_bootindex_nic),
    "nic-after-disk": ("no -boot, no bootindex: a disk without a PReP partition (a one-line "
                       "reason), then the NIC boots GRUB", scenario_nic_after_disk),
    "boot-once-n": ("-boot once=n, a NIC and mbr.img, without -no-reboot: the network boots "
                    "once (GRUB reboots), then the disk mounts its root and powers off",
                    scenario_boot_once_n),
    "direct-vmlinux": ("Debian's vmlinux as the DHCP boot file: the firmware loads it over TFTP "
                       "and runs it: the kernel's banner",
                       xfail_on_slof(scenario_direct_vmlinux,
                                     r"ELF64: VirtAddr\(c0+\) != PhysAddr\(0\) not supported",
                                     "SLOF refuses Debian's vmlinux")),
    "missing-file": ("the DHCP boot file is not in the folder (NIC bootindex=1, mbr.img "
                     "bootindex=2): a one-line reason naming it, the disk boots",
                     scenario_missing_file),
    "not-elf": ("the DHCP boot file is the installer's initrd.gz, not an ELF (virtio-net "
                "bootindex=1, mbr.img bootindex=2): a one-line reason, the disk boots",
                scenario_not_elf),
    "no-server": ("a NIC whose netdev goes nowhere (a hub port alone; bootindex=1), mbr.img "
                  "bootindex=2: DHCP gives up in bounded time, a line, the disk boots",
                  scenario_no_server),
    "strict-halt": ("-boot strict=on (libvirt's boot list ends with HALT), the NIC bootindex=1 "
                    "with a missing boot file, a bootable disk not in the list: the disk does "
                    "not boot, the firmware stops (tern powers off)", scenario_strict_halt),
}


def add_arguments(parser):
    parser.add_argument("--kit", required=True, help="net kit directory (tools/net-kit.sh)")
    parser.add_argument("--disks", required=True, help="disk kit directory (tools/disk-kit.sh)")
    parser.add_argument("--bios", choices=("tern", "slof"), default="tern",
                        help="the firmware: tern (--image, the default) or QEMU's own SLOF")


if __name__ == "__main__":
    sys.exit(run_scenarios(__doc__, SCENARIOS, add_arguments))
