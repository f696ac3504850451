"""Disk boot: QEMU start to GRUB's first line and to the root file system mounted from the disk.

Boots the disk kit's MBR image (tools/disk-kit.sh: GRUB in a PReP partition, 1 s menu timeout,
an ext4 root whose /init prints "TERN-DISK: root-mounted") without -kernel. GRUB's first line
("Welcome to GRUB!") ends the firmware's part. VOF cannot boot a disk, so these rows have no VOF
figure.
"""
import os
import time

from guest import Guest

BUSES = {
    "virtio-blk": lambda image: ["-drive", f"file={image},if=none,id=d,format=raw,snapshot=on",
                                 "-device", "virtio-blk-pci,drive=d"],
    # pseries' default: the plain -drive is a disk on the spapr-vscsi controller.
    "spapr-vscsi": lambda image: ["-drive", f"file={image},format=raw,snapshot=on"],
}


def disk_boot_seconds(ctx, firmware, bus):
    """{"grub": seconds to GRUB's first line, "root": seconds to the mounted root}."""
    if firmware not in ("tern", "slof"):
        raise ValueError(f"{firmware} cannot boot a disk")
    args = ["-m", "1G", *BUSES[bus](os.path.join(ctx.disks, "mbr.img"))]
    if firmware == "tern":
        args = ["-bios", ctx.image, *args]
    guest = Guest(ctx.qemu, args)
    guest.wait_for(r"Welcome to GRUB", timeout=180)
    grub = time.monotonic() - guest.started
    guest.wait_for(r"TERN-DISK: root-mounted", timeout=180)
    root = time.monotonic() - guest.started
    guest.wait_exit()
    return {"grub": grub, "root": root}
