"""Boot to init with -kernel: QEMU start to the guest kit's /init ("TERN-GUEST: init-reached").

The guest kit (tools/guest-kit.sh) is Debian's ppc64el kernel with a busybox initramfs; /init
prints its line as soon as it runs, then powers the guest off (tern.test=poweroff).
"""
import time

from guest import boot_kit


def boot_to_init_seconds(ctx, firmware):
    guest = boot_kit(ctx.qemu, firmware, ctx.image, ctx.kit, "console=hvc0 tern.test=poweroff",
                     ["-m", "1G", "-smp", "1"])
    guest.wait_for(r"TERN-GUEST: init-reached")
    seconds = time.monotonic() - guest.started
    guest.wait_exit()
    return seconds
