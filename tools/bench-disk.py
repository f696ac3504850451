#!/usr/bin/env python3
"""Disk-boot benchmark: tern beside SLOF, in the same run (VOF cannot boot a disk).

Boots the disk kit's MBR image (tools/disk-kit.sh: GRUB in a PReP partition, 1 s menu timeout,
an ext4 root) on virtio-blk and on spapr-vscsi (the plain -drive) and measures, from starting QEMU, the firmware's part (until GRUB's
first line, "Welcome to GRUB!") and the whole boot (until the guest's /init has mounted the root
from the disk). Rounds alternate the firmwares, as tools/bench-boot.py does.

  tools/bench-disk.py --image build/tern.bin --disks ~/.cache/tern/disk [--rounds 5]
"""
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "qemu"))
from guest import Guest, command_line, paired_rounds  # noqa: E402


BUSES = {
    "virtio-blk": lambda image: ["-drive", f"file={image},if=none,id=d,format=raw,snapshot=on",
                                 "-device", "virtio-blk-pci,drive=d"],
    "spapr-vscsi": lambda image: ["-drive", f"file={image},format=raw,snapshot=on"],
}


def boot(opts, firmware, bus):
    image = os.path.join(opts.disks, "mbr.img")
    args = ["-m", "1G", *BUSES[bus](image)]
    if firmware == "tern":
        args = ["-bios", opts.image, *args]
    guest = Guest(opts.qemu, args)
    guest.wait_for(r"Welcome to GRUB", timeout=180)
    grub = time.monotonic() - guest.started
    guest.wait_for(r"TERN-DISK: root-mounted", timeout=180)
    root = time.monotonic() - guest.started
    guest.wait_exit()
    return grub, root


def main():
    parser = command_line(__doc__)
    parser.add_argument("--image", required=True, help="tern's -bios image")
    parser.add_argument("--disks", required=True, help="disk kit directory")
    parser.add_argument("--rounds", type=int, default=5)
    opts = parser.parse_args()

    firmwares = ["tern", "slof"]
    for bus in BUSES:
        results = {}

        def measure(firmware):
            grub, root = boot(opts, firmware, bus)
            results.setdefault(firmware, []).append((grub, root))
            return root

        print(f"{bus}:")
        paired_rounds(firmwares, opts.rounds, measure)
        print(f"\ndisk boot ({bus}, MBR, GRUB menu 1 s), {opts.rounds} rounds ({opts.qemu}):")
        for index, what in ((0, "QEMU start to GRUB's first line"),
                            (1, "QEMU start to mounted root")):
            medians = {f: statistics.median(r[index] for r in results[f]) for f in firmwares}
            print(f"  {what}:")
            for firmware in firmwares:
                values = [r[index] for r in results[firmware]]
                print(f"    {firmware:5s} median {medians[firmware]:.2f} s  "
                      f"(min {min(values):.2f}, max {max(values):.2f})")
            paired = statistics.median(t[index] / s[index]
                                       for t, s in zip(results["tern"], results["slof"]))
            print(f"    tern/slof: {medians['tern'] / medians['slof']:.2f} (ratio of medians), "
                  f"{paired:.2f} (median of paired ratios)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
