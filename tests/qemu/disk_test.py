#!/usr/bin/env python3
"""Booting installed disks on tern: GRUB from a PReP partition, then Linux mounting its root.

Usage: disk_test.py --qemu QEMU --image tern.bin --disks DISK_KIT_DIR [--kit GUEST_KIT_DIR] SCENARIO

The disks come from tools/disk-kit.sh (MBR and GPT images laid out as grub-install does, one
without a PReP partition, one with a damaged table, a second bootable one). Their /init prints
TERN-DISK: lines; a scenario passes when the expected disk's root file system is mounted (its
disk id is read from the mounted root), no disk is written (snapshot=on), nothing on the console
says the kernel or tern went wrong, and QEMU exits by itself. --help lists the scenarios.
"""
import os
import re
import sys

from guest import Guest, expect, run_scenarios
from linux_test import KERNEL_ERRORS

TIMEOUT = 180
# What Linux prints when the PCI setup tern left is inconsistent (drivers/pci/setup-res.c,
# arch/powerpc/kernel/pci-common.c).
PCI_CONFLICTS = re.compile(r"can't claim BAR|address space collision|no space for|"
                           r"BAR \d+: failed to assign|Cannot allocate resource")


def disk(opts, name, bus="virtio", bootindex=None, extra=""):
    """QEMU arguments attaching disk image `name` (a tools/disk-kit.sh image)."""
    path = os.path.join(opts.disks, f"{name}.img")
    drive = f"d{name}"
    index = f",bootindex={bootindex}" if bootindex is not None else ""
    return ["-drive", f"file={path},if=none,id={drive},format=raw,snapshot=on",
            "-device", f"virtio-blk-pci,drive={drive}{index}{extra}"]


def scsi_disk(opts, name, bus, bootindex=None, extra=""):
    """QEMU arguments attaching image `name` as a scsi-hd on SCSI bus `bus` (e.g. "v.0")."""
    path = os.path.join(opts.disks, f"{name}.img")
    drive = f"d{name}"
    index = f",bootindex={bootindex}" if bootindex is not None else ""
    return ["-drive", f"file={path},if=none,id={drive},format=raw,snapshot=on",
            "-device", f"scsi-hd,drive={drive},bus={bus}{index}{extra}"]


def boot(opts, args):
    guest = Guest(opts.qemu, ["-bios", opts.image, "-m", "1G", *args])
    code, seconds = guest.wait_exit(timeout=TIMEOUT)
    text = guest.text()
    errors = [line for line in text.splitlines()
              if KERNEL_ERRORS.search(line) or PCI_CONFLICTS.search(line)]
    expect(not errors, "errors on the console:\n" + "\n".join(errors), guest)
    expect(code == 0, f"QEMU exited with {code}", guest)
    return guest, text, seconds


def expect_root(opts, args, disk_id, also=()):
    """Boots and checks that disk `disk_id`'s root was mounted, and that every pattern of `also`
    is on the console."""
    guest, text, seconds = boot(opts, args)
    expect("tern: booting " in text, "tern did not load a boot loader from a disk", guest)
    expect("Welcome to GRUB" in text or "GNU GRUB" in text or "TERN-DISK" in text,
           "GRUB did not run", guest)
    mounted = re.search(r"TERN-DISK: root-mounted (\S+) (\S+)", text)
    expect(mounted is not None, "Linux did not mount a root file system from the disk", guest)
    found = re.search(r"TERN-DISK: disk-id (\S+)", text)
    expect(found is not None and found.group(1) == disk_id,
           f"booted {found.group(1) if found else 'nothing'}, expected {disk_id}", guest)
    for pattern in also:
        expect(re.search(pattern, text), f"no /{pattern}/ on the console", guest)
    booted = re.search(r"tern: booting (\S+) partition (\d+)", text)
    print(f"{disk_id}: tern loaded {booted.group(1)} partition {booted.group(2)}; Linux mounted "
          f"{mounted.group(1)}; QEMU exited after {seconds:.1f} s")


def scenario_mbr(opts):
    expect_root(opts, disk(opts, "mbr"), "tern-mbr")


def scenario_gpt(opts):
    expect_root(opts, disk(opts, "gpt"), "tern-gpt")


def scenario_bootindex(opts):
    # The second disk on the command line has the lower bootindex: it boots.
    expect_root(opts, disk(opts, "mbr", bootindex=2) + disk(opts, "second", bootindex=1),
                "tern-second")


def scenario_no_prep_then_good(opts):
    expect_root(opts, disk(opts, "noprep", bootindex=1) + disk(opts, "mbr", bootindex=2),
                "tern-mbr", also=[r"tern: \S+: cannot boot: .*PReP"])


def scenario_corrupt_then_good(opts):
    expect_root(opts, disk(opts, "corrupt", bootindex=1) + disk(opts, "mbr", bootindex=2),
                "tern-mbr", also=[r"tern: \S+: cannot boot: .*(signature|partition)"])


def scenario_nothing_bootable(opts):
    guest, text, _ = boot(opts, disk(opts, "noprep") + disk(opts, "corrupt"))
    expect(len(re.findall(r"tern: \S+: cannot boot: ", text)) == 2,
           "not one reason per disk", guest)
    expect("tern: no kernel to boot (no -kernel) and no disk tern could boot\ntern: powering off"
           in text, "tern did not say that nothing boots before powering off", guest)
    print("two unbootable disks: a reason for each, then power-off")


def scenario_kernel_wins(opts):
    guest, text, _ = boot(opts, ["-kernel", os.path.join(opts.kit, "vmlinux"),
                                 "-initrd", os.path.join(opts.kit, "initramfs.cpio.gz"),
                                 "-append", "console=hvc0 tern.test=poweroff",
                                 *disk(opts, "mbr", bootindex=1)])
    expect("TERN-GUEST: init-reached" in text and "tern: booting" not in text,
           "with -kernel, tern booted the disk instead of the kernel", guest)
    print("-kernel and a bootable disk: the kernel boots")


def scenario_second_phb(opts):
    # Several disks on two PHBs; the boot list names the one on the second PHB.
    args = ["-device", "spapr-pci-host-bridge,index=1,id=phb1",
            *disk(opts, "mbr", bootindex=2),
            *disk(opts, "second", bootindex=1, extra=",bus=phb1.0"),
            *disk(opts, "gpt")]
    expect_root(opts, args, "tern-second",
                also=[r"tern: disk /pci@800000020000001/\S+: virtio-blk",
                      r"tern: booting /pci@800000020000001/"])


def scenario_iommu_refused(opts):
    # A disk whose DMA must go through the TCE table is refused with a message; the next boots.
    args = [*disk(opts, "second", bootindex=1, extra=",iommu_platform=on,disable-legacy=on"),
            *disk(opts, "mbr", bootindex=2)]
    expect_root(opts, args, "tern-mbr", also=[r"VIRTIO_F_ACCESS_PLATFORM"])


def scenario_vscsi_default(opts):
    # The plain -drive: pseries' default block interface is SCSI, on an spapr-vscsi controller.
    path = os.path.join(opts.disks, "mbr.img")
    expect_root(opts, ["-drive", f"file={path},format=raw,snapshot=on"], "tern-mbr",
                also=[r"tern: disk /vdevice/v-scsi@\S+/disk@8000000000000000: ",
                      # QEMU adds an empty CD-ROM at target 2: found and listed, not booted
                      r"tern: cdrom /vdevice/v-scsi@\S+/disk@8200000000000000: .*not booted"])


def scenario_vscsi_bootindex(opts):
    args = ["-device", "spapr-vscsi,id=v", *scsi_disk(opts, "mbr", "v.0", bootindex=1)]
    expect_root(opts, args, "tern-mbr", also=[r"tern: booting /vdevice/v-scsi@"])


def scenario_vscsi_two_luns(opts):
    args = ["-device", "spapr-vscsi,id=v",
            *scsi_disk(opts, "mbr", "v.0", bootindex=2, extra=",scsi-id=0,lun=0"),
            *scsi_disk(opts, "second", "v.0", bootindex=1, extra=",scsi-id=0,lun=1")]
    expect_root(opts, args, "tern-second")


def scenario_virtio_scsi(opts):
    args = ["-device", "virtio-scsi-pci,id=vs", *scsi_disk(opts, "gpt", "vs.0", bootindex=1)]
    expect_root(opts, args, "tern-gpt", also=[r"tern: disk /pci@800000020000000/\S+: "])


def scenario_vscsi_and_virtio_blk(opts):
    # bootindex chooses between a vscsi disk and a virtio-blk disk, both ways.
    args = ["-device", "spapr-vscsi,id=v", *scsi_disk(opts, "mbr", "v.0", bootindex=2),
            *disk(opts, "second", bootindex=1)]
    expect_root(opts, args, "tern-second")
    args = ["-device", "spapr-vscsi,id=v", *scsi_disk(opts, "mbr", "v.0", bootindex=1),
            *disk(opts, "second", bootindex=2)]
    expect_root(opts, args, "tern-mbr")


SCENARIOS = {
    "mbr": ("MBR disk on virtio-blk: GRUB from the active 0x41 partition, Linux mounts the root",
            scenario_mbr),
    "gpt": ("GPT disk on virtio-blk: the PReP GUID partition, Linux mounts the root", scenario_gpt),
    "bootindex": ("two bootable disks, bootindex on the second: the second boots",
                  scenario_bootindex),
    "no-prep-then-good": ("a disk without a PReP partition first: a one-line reason, then the "
                          "next disk boots", scenario_no_prep_then_good),
    "corrupt-then-good": ("a disk with a damaged partition table first: a one-line reason, then "
                          "the next disk boots", scenario_corrupt_then_good),
    "nothing-bootable": ("only unbootable disks: a reason for each, then tern says so and "
                         "powers off", scenario_nothing_bootable),
    "kernel-wins": ("-kernel with a bootable disk attached: the kernel boots, not the disk",
                    scenario_kernel_wins),
    "second-phb": ("three disks on two PHBs, bootindex on the one on the second PHB: it boots",
                   scenario_second_phb),
    "vscsi-default": ("the plain -drive file= (pseries' default: spapr-vscsi + scsi-hd, and an "
                      "empty CD-ROM, listed): GRUB boots, Linux's ibmvscsi mounts the root",
                      scenario_vscsi_default),
    "vscsi-bootindex": ("explicit spapr-vscsi and scsi-hd with bootindex", scenario_vscsi_bootindex),
    "vscsi-two-luns": ("two LUNs on one vscsi target, bootindex on the second: it boots",
                       scenario_vscsi_two_luns),
    "virtio-scsi": ("a GPT disk on virtio-scsi-pci: GRUB boots, Linux's virtio-scsi mounts the "
                    "root", scenario_virtio_scsi),
    "vscsi-and-virtio-blk": ("a vscsi disk and a virtio-blk disk: bootindex chooses, both ways",
                             scenario_vscsi_and_virtio_blk),
    "iommu-refused": ("a virtio-blk disk with iommu_platform=on is refused with a message; the "
                      "next disk boots", scenario_iommu_refused),
}


def add_arguments(parser):
    parser.add_argument("--disks", required=True, help="disk kit directory (tools/disk-kit.sh)")
    parser.add_argument("--kit", required=True, help="guest kit directory (tools/guest-kit.sh)")


if __name__ == "__main__":
    sys.exit(run_scenarios(__doc__, SCENARIOS, add_arguments))
