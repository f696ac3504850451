"""The wall time of `make test`: the incremental build, the kits' checks and all of CTest."""
import os
import subprocess
import time


def timed_command(command, log_path, cwd=None):
    """Runs `command` with its output in `log_path`; returns its wall time in seconds, or raises
    RuntimeError with the log's tail when it fails."""
    started = time.monotonic()
    with open(log_path, "w") as log:
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=cwd).returncode
    seconds = time.monotonic() - started
    if code != 0:
        with open(log_path) as log:
            tail = "".join(log.readlines()[-20:])
        raise RuntimeError(f"{' '.join(command)} exited with {code} (log {log_path}):\n{tail}")
    return seconds


def make_test_seconds(ctx, firmware):
    log_path = os.path.join(ctx.out, "make-test.log")
    ctx.note(f"log in {log_path}")
    return timed_command(["make", "test", f"QEMU={ctx.qemu}", f"BUILD={ctx.build}",
                          f"LIBFDT_SRC={ctx.libfdt}", f"GUEST_KIT={ctx.kit}",
                          f"DISK_KIT={ctx.disks}"], log_path, cwd=ctx.root)
