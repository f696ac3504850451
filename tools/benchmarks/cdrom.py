"""CD boot: QEMU start to GRUB's banner and to the Debian installer's first dialog, from -cdrom.

Boots the install kit's debian-installer.iso (tools/install-kit.sh: Debian 12's ppc64el installer,
GRUB made by grub-mkrescue, 1 s menu timeout, console=hvc0) as QEMU's plain `-cdrom` (a scsi-cd on
the default spapr-vscsi), without -kernel and without a disk. GRUB's banner ("Welcome to GRUB!")
ends the firmware's part; the installer's first dialog ("[!!] Select a language", drawn by newt on
hvc0) is what a person installing a VM waits for. VOF boots no CD, so these rows have no VOF
figure. A firmware that never gets there (QEMU exits, or the time runs out) fails this measure
for itself only: tools/bench.py keeps the other firmware's figures (Measure.keep_going).
"""
import os
import time

from guest import Guest

GRUB = r"Welcome to GRUB"
DIALOG = r"\[!!\] Select a language"
TIMEOUT = 300


def cdrom_boot_seconds(ctx, firmware):
    """{"grub": seconds to GRUB's banner, "dialog": seconds to the installer's first dialog}."""
    if firmware not in ("tern", "slof"):
        raise ValueError(f"{firmware} cannot boot a CD")
    args = ["-m", "2G", "-cdrom", os.path.join(ctx.install_kit, "debian-installer.iso")]
    if firmware == "tern":
        args = ["-bios", ctx.image, *args]
    guest = Guest(ctx.qemu, args)
    try:
        guest.wait_for(GRUB, timeout=TIMEOUT)
        grub = time.monotonic() - guest.started
        guest.wait_for(DIALOG, timeout=TIMEOUT)
        dialog = time.monotonic() - guest.started
    finally:
        guest.kill()  # the installer waits for an answer: QEMU does not exit by itself
    return {"grub": grub, "dialog": dialog}
