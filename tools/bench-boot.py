#!/usr/bin/env python3
"""Boot-to-init benchmark: tern beside VOF and SLOF, in the same run.

Boots the guest kit's Debian kernel (tools/guest-kit.sh) on each firmware and measures the wall
time from starting QEMU to the guest's first line from /init ("TERN-GUEST: init-reached"). The
firmwares run in rounds, one boot each per round in a rotating order, so that a noisy moment of
the machine hits all of them alike; the report gives each firmware's median and the ratios of
medians, and each round's ratio, whose median is the paired estimate.

  tools/bench-boot.py --image build/tern.bin --kit ~/.cache/tern/guest [--rounds 5]
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "qemu"))
from guest import boot_kit, command_line, paired_rounds  # noqa: E402


def boot_seconds(opts, firmware):
    guest = boot_kit(opts.qemu, firmware, opts.image, opts.kit,
                     "console=hvc0 tern.test=poweroff", ["-m", opts.memory, "-smp", str(opts.smp)])
    guest.wait_for(r"TERN-GUEST: init-reached")
    seconds = time.monotonic() - guest.started
    guest.wait_exit()
    return seconds


def main():
    parser = command_line(__doc__, kit=True)
    parser.add_argument("--memory", default="1G")
    parser.add_argument("--smp", type=int, default=1)
    opts = parser.parse_args()

    firmwares = ["tern", "vof", "slof"]
    times = paired_rounds(firmwares, opts.rounds, lambda f: boot_seconds(opts, f))

    medians = {f: statistics.median(times[f]) for f in firmwares}
    print(f"\nboot to init, -m {opts.memory} -smp {opts.smp}, {opts.rounds} rounds "
          f"({opts.qemu}):")
    for firmware in firmwares:
        print(f"  {firmware:5s} median {medians[firmware]:.2f} s  "
              f"(min {min(times[firmware]):.2f}, max {max(times[firmware]):.2f})")
    for other in ("vof", "slof"):
        paired = statistics.median(t / o for t, o in zip(times["tern"], times[other]))
        print(f"  tern/{other}: {medians['tern'] / medians[other]:.2f} (ratio of medians), "
              f"{paired:.2f} (median of paired ratios)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
