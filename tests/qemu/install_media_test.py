#!/usr/bin/env python3
"""Install media on tern (issue 21): a distribution's installer from a CD-ROM or an ISO image.

Usage: install_media_test.py --qemu QEMU --image tern.bin --kit INSTALL_KIT --disks DISK_KIT
                             [--bios tern|slof] SCENARIO

The media come from tools/install-kit.sh: debian-installer.iso (Debian 12's ppc64el installer with
GRUB from grub-mkrescue booting it on console=hvc0), missing-file.iso (its /ppc/bootinfo.txt names
\\boot\\grub\\tern-missing.elf, which is not on the disc) and reboot.iso (its GRUB runs `reboot`).
Each image's GRUB prints `TERN-INSTALL: booted <image>.iso` and its $root and $prefix first. The
bootable disk is the disk kit's mbr.img (tools/disk-kit.sh), whose /init prints TERN-DISK: lines
and powers off. A scenario passes on what users see: the installer's first dialog on hvc0, whose
title newt draws (between escape sequences) as "[!!] Select a language"; or the disk's root
mounted (`TERN-DISK: disk-id tern-mbr`) and QEMU exiting by itself with 0. What tern itself
prints about the media is asserted loosely (a `tern:` line naming the device or the missing
file), since its wording is being written. No disk or image is written (snapshot=on, readonly=on).

--bios slof runs a scenario on QEMU's default firmware (no -bios) to check the media and the
scenario itself; CTest runs them on tern. All pass on SLOF 20220719 (QEMU 7.2 and 10.0) but
boot-d and boot-order-dc, which are skipped (77) there: QEMU puts neither -boot d nor -boot
order=... in the guest's device tree (since QEMU 6.1 /chosen/qemu,boot-device is only set for
-boot once=...), so no firmware can see them (SLOF boots the disk). Seconds on SLOF, QEMU 7.2,
two shared cores, from QEMU's start to the installer's first dialog (GRUB after 7) or to QEMU's
exit; QEMU 10.0 takes about as long, a loaded host up to three times as long:
  cdrom-vscsi 29, cdrom-virtio-scsi 29, iso-as-virtio-blk 33, bootindex-cd 33
  blank-disk-then-cd 32 (SLOF: "E3404: Not a bootable device!" for the blank disk)
  boot-once-d 27 (reboot.iso's GRUB, the reset, then the disk)
  missing-file 20 (SLOF: "failed to load CHRP boot loader." and "E3404: Not a bootable
    device!", without the file's name)
  empty-tray 23 (SLOF: "No medium !" and "E3405: No such device")
"""
import os
import re
import subprocess
import sys
import tempfile
import time

from dump_corpus import dump_with_qmp
from guest import SKIP, Guest, expect, run_scenarios

TIMEOUT = 300  # the installer's dialog comes after about 30 s on SLOF; a loaded host is slower
DIALOG = r"\[!!\] Select a language"
# The firmware or a kernel going wrong (linux_test.KERNEL_ERRORS, less the words the installer's
# kernel prints in normal operation).
ERRORS = re.compile(r"tern: PANIC|tern: EXCEPTION|Kernel panic|Oops|BUG:|Call Trace:|"
                    r"WARNING: CPU:")
CD_UNIT = "8000000000000000"  # a scsi-cd at target 0, LUN 0 (QEMU's boot-list unit on vscsi)


def firmware(opts):
    return [] if opts.bios == "slof" else ["-bios", opts.image]


def image(opts, name):
    return os.path.join(opts.kit, f"{name}.iso")


def cd(path, bus=None, bootindex=None, drive="cd"):
    """A scsi-cd holding the ISO at `path` (None: an empty tray) on SCSI bus `bus`."""
    medium = f"file={path},media=cdrom,readonly=on," if path else ""
    device = f"scsi-cd,drive={drive}"
    device += f",bus={bus}" if bus else ""
    device += f",bootindex={bootindex}" if bootindex is not None else ""
    return ["-drive", f"{medium}if=none,id={drive}", "-device", device]


def virtio_disk(path, drive, bootindex=None, readonly=False):
    access = "readonly=on" if readonly else "snapshot=on"
    index = f",bootindex={bootindex}" if bootindex is not None else ""
    return ["-drive", f"file={path},if=none,id={drive},format=raw,{access}",
            "-device", f"virtio-blk-pci,drive={drive}{index}"]


def mbr_disk(opts, bootindex=None):
    """The disk kit's bootable MBR disk on virtio-blk."""
    return virtio_disk(os.path.join(opts.disks, "mbr.img"), "mbr", bootindex)


def check_console(guest, text):
    errors = [line for line in text.splitlines() if ERRORS.search(line)]
    expect(not errors, "errors on the console:\n" + "\n".join(errors), guest)


def grub_saw(text, name):
    """GRUB's $root and $prefix as the image's grub.cfg printed them."""
    start = text.find(f"TERN-INSTALL: booted {name}.iso")
    root = re.search(r"TERN-INSTALL: root ([^\s\x1b]*)", text[start:])
    prefix = re.search(r"TERN-INSTALL: prefix ([^\s\x1b]*)", text[start:])
    if start < 0 or not root or not prefix:
        return "GRUB's root and prefix not printed"
    return f"GRUB's root {root.group(1)}, prefix {prefix.group(1)}"


def installer(opts, args, also=()):
    """Boots with `args` and waits for debian-installer.iso's GRUB and the installer's first
    dialog; every pattern of `also` (multi-line) must be on the console by then."""
    guest = Guest(opts.qemu, [*firmware(opts), "-m", "2G", *args])
    try:
        guest.wait_for(r"TERN-INSTALL: booted debian-installer\.iso", timeout=TIMEOUT)
        grub = time.monotonic() - guest.started
        guest.wait_for(DIALOG, timeout=TIMEOUT)
        seconds = time.monotonic() - guest.started
        text = guest.text()
        check_console(guest, text)
        for pattern in also:
            expect(re.search(pattern, text, re.M), f"no /{pattern}/ on the console", guest)
    finally:
        guest.kill()
    print(f"{opts.bios}: GRUB from the ISO after {grub:.1f} s "
          f"({grub_saw(text, 'debian-installer')}); the installer's first dialog after "
          f"{seconds:.1f} s")


def disk_boots(opts, args, also=(), absent=(), no_reboot=True):
    """Boots with `args`: the disk kit's mbr.img must mount its root and QEMU exit by itself with
    0; every pattern of `also` must be on the console, none of `absent`. Returns the console."""
    guest = Guest(opts.qemu, [*firmware(opts), "-m", "2G", *args], no_reboot=no_reboot)
    code, seconds = guest.wait_exit(timeout=TIMEOUT)
    text = guest.text()
    check_console(guest, text)
    expect(re.search(r"TERN-DISK: root-mounted \S+ \S+", text),
           "Linux did not mount a root file system from the disk", guest)
    found = re.search(r"TERN-DISK: disk-id (\S+)", text)
    expect(found is not None and found.group(1) == "tern-mbr",
           f"booted {found.group(1) if found else 'nothing'}, expected tern-mbr", guest)
    for pattern in also:
        expect(re.search(pattern, text, re.M), f"no /{pattern}/ on the console", guest)
    for pattern in absent:
        expect(not re.search(pattern, text, re.M), f"/{pattern}/ on the console", guest)
    expect(code == 0, f"QEMU exited with {code}", guest)
    return guest, text, seconds


def boot_device(opts, args):
    """/chosen/qemu,boot-device of the tree QEMU builds for `args` (None when absent): the only
    way QEMU's -boot option reaches a pseries firmware."""
    with tempfile.TemporaryDirectory() as directory:
        dtb = os.path.join(directory, "tree.dtb")
        result = subprocess.run([opts.qemu, "-M", f"pseries,dumpdtb={dtb}", "-m", "2G",
                                 "-display", "none", *args], capture_output=True, text=True,
                                timeout=120)
        if "doesn't have an FDT" in result.stderr:  # QEMU 9.0 on: dump a paused machine's tree
            error = dump_with_qmp(opts.qemu, opts.image, ["-m", "2G", *args], dtb)
            expect(error is None, f"QMP dumpdtb failed: {error}", None)
        else:
            expect(os.path.exists(dtb), f"QEMU did not dump its tree:\n{result.stderr}", None)
        found = subprocess.run(["fdtget", "-t", "s", dtb, "/chosen", "qemu,boot-device"],
                               capture_output=True, text=True)
        return found.stdout.strip() if found.returncode == 0 else None


def scenario_cdrom_vscsi(opts):
    installer(opts, ["-cdrom", image(opts, "debian-installer")])


def scenario_cdrom_virtio_scsi(opts):
    installer(opts, ["-device", "virtio-scsi-pci,id=scsi0",
                     *cd(image(opts, "debian-installer"), bus="scsi0.0")])


def scenario_iso_as_virtio_blk(opts):
    installer(opts, virtio_disk(image(opts, "debian-installer"), "iso", readonly=True))


def boot_order_scenario(opts, option, order):
    """-boot `option` with mbr.img and the CD: the CD must boot. Skipped when QEMU does not put
    the order in the guest's tree (then no firmware can follow it)."""
    args = ["-boot", option, "-cdrom", image(opts, "debian-installer"), *mbr_disk(opts)]
    found = boot_device(opts, args)
    if found is None or not found.startswith(order):
        print(f"SKIP: this QEMU does not pass -boot {option} to the guest: "
              f"/chosen/qemu,boot-device is {found!r} (QEMU sets it only for -boot once=...), so "
              f"no firmware can see it")
        return SKIP
    installer(opts, args)
    return 0


def scenario_boot_d(opts):
    return boot_order_scenario(opts, "d", "d")


def scenario_boot_order_dc(opts):
    return boot_order_scenario(opts, "order=dc", "dc")


def scenario_bootindex_cd(opts):
    # bootindex on the scsi-cd only; the bootable disk has none: the CD boots.
    installer(opts, ["-device", "spapr-vscsi,id=vscsi0",
                     *cd(image(opts, "debian-installer"), bus="vscsi0.0", bootindex=1),
                     *mbr_disk(opts)])


def scenario_blank_disk_then_cd(opts):
    # The usual first-install machine: a new, all-zero disk and the installer CD, no -boot.
    with tempfile.TemporaryDirectory() as directory:
        blank = os.path.join(directory, "blank.img")
        with open(blank, "wb") as out:
            out.truncate(64 << 20)
        also = [] if opts.bios == "slof" else [r"^tern: /pci@\w+/scsi@\w+: cannot boot: .+$"]
        installer(opts, [*virtio_disk(blank, "blank"), "-cdrom", image(opts, "debian-installer")],
                  also=also)


def scenario_boot_once_d(opts):
    # -boot once=d: the CD boots first (reboot.iso's GRUB resets the machine), then, with QEMU's
    # normal order back, the disk. QEMU runs without -no-reboot.
    guest, text, seconds = disk_boots(opts, ["-boot", "once=d", "-cdrom", image(opts, "reboot"),
                                             *mbr_disk(opts)], no_reboot=False)
    booted = text.count("TERN-INSTALL: booted reboot.iso")
    expect(booted == 1, f"reboot.iso booted {booted} times, expected once", guest)
    rebooting = text.find("TERN-INSTALL: reboot.iso: rebooting")
    expect(0 <= rebooting < text.index("TERN-DISK: root-mounted"),
           "the disk did not boot after the CD's reboot", guest)
    print(f"{opts.bios}: reboot.iso booted once ({grub_saw(text, 'reboot')}), then the disk; "
          f"QEMU exited after {seconds:.1f} s")


def scenario_missing_file(opts):
    # The CD first in the boot order, its bootinfo.txt naming a file that is not on it; the disk
    # second.
    also = [] if opts.bios == "slof" else [r"^tern: .*tern-missing\.elf.*$"]
    _, text, seconds = disk_boots(
        opts, ["-device", "spapr-vscsi,id=vscsi0",
               *cd(image(opts, "missing-file"), bus="vscsi0.0", bootindex=1),
               *mbr_disk(opts, bootindex=2)],
        also=also, absent=[r"TERN-INSTALL: missing-file\.iso booted"])
    reason = re.search(r"^tern: .*tern-missing\.elf.*$", text, re.M)
    print(f"{opts.bios}: " + (f"'{reason.group(0)}', " if reason else "") +
          f"then the disk booted; QEMU exited after {seconds:.1f} s")


def scenario_empty_tray(opts):
    # A CD-ROM drive without a medium, first in the boot order; the disk second.
    note = rf"^tern: .*@{CD_UNIT}\b.*$"
    guest, text, seconds = disk_boots(opts, ["-device", "spapr-vscsi,id=vscsi0",
                                             *cd(None, bus="vscsi0.0", bootindex=1),
                                             *mbr_disk(opts, bootindex=2)])
    if opts.bios != "slof":
        lines = [line for line in re.findall(note, text, re.M) if "tern: booting" not in line]
        expect(any(re.search(r"medium|tray|empty|no disc|not ready|cannot boot", line, re.I)
                   for line in lines),
               f"no tern line notes the empty tray (lines naming it: {lines})", guest)
    print(f"{opts.bios}: the empty tray passed over, the disk booted; QEMU exited after "
          f"{seconds:.1f} s")


SCENARIOS = {
    "cdrom-vscsi": ("-cdrom debian-installer.iso (a scsi-cd on the default spapr-vscsi): GRUB "
                    "from the CD, the installer's first dialog", scenario_cdrom_vscsi),
    "cdrom-virtio-scsi": ("the ISO in a scsi-cd on virtio-scsi-pci: the installer's first dialog",
                          scenario_cdrom_virtio_scsi),
    "iso-as-virtio-blk": ("the ISO as a virtio-blk-pci disk (ISO 9660 on 512-byte blocks): the "
                          "installer's first dialog", scenario_iso_as_virtio_blk),
    "boot-d": ("-boot d with the CD and a bootable disk (mbr.img): the CD boots; skipped (77) "
               "when QEMU does not pass -boot d to the guest (7.2 and 10.0 do not)",
               scenario_boot_d),
    "boot-order-dc": ("-boot order=dc, the CD and a bootable disk: the CD boots; skipped (77) "
                      "when QEMU does not pass the order to the guest", scenario_boot_order_dc),
    "bootindex-cd": ("bootindex=1 on a scsi-cd (spapr-vscsi), a bootable disk without one: the "
                     "CD boots", scenario_bootindex_cd),
    "blank-disk-then-cd": ("an all-zero virtio-blk disk and -cdrom, no -boot: the blank disk is "
                           "passed over with a one-line reason and the CD boots",
                           scenario_blank_disk_then_cd),
    "boot-once-d": ("-boot once=d, reboot.iso and mbr.img, without -no-reboot: the CD boots "
                    "once (GRUB reboots), then the disk mounts its root and powers off",
                    scenario_boot_once_d),
    "missing-file": ("missing-file.iso (bootindex=1; bootinfo.txt names a file not on the "
                     "disc), then mbr.img: a one-line reason naming the file, the disk boots",
                     scenario_missing_file),
    "empty-tray": ("a scsi-cd without a medium (bootindex=1), then mbr.img: a one-line note for "
                   "the empty tray, the disk boots", scenario_empty_tray),
}


def add_arguments(parser):
    parser.add_argument("--kit", required=True, help="install kit directory (tools/install-kit.sh)")
    parser.add_argument("--disks", required=True, help="disk kit directory (tools/disk-kit.sh)")
    parser.add_argument("--bios", choices=("tern", "slof"), default="tern",
                        help="the firmware: tern (--image, the default) or QEMU's own SLOF")


if __name__ == "__main__":
    sys.exit(run_scenarios(__doc__, SCENARIOS, add_arguments))
