#!/usr/bin/env python3
"""`make run` as a user runs it: on a terminal, to the guest's shell, and out again.

Usage: run_test.py --qemu QEMU --root TERN_ROOT --build BUILD --kit GUEST_KIT

Starts `make -C TERN_ROOT run` on a pseudo-terminal (QEMU's -nographic console is the terminal,
as for a person), waits for the guest kit's shell prompt, runs a command in it and checks its
output, then leaves the shell with `exit`, which powers the guest off: make must exit 0.
"""
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

from guest import command_line
from linux_test import KERNEL_ERRORS

PROMPT = "tern-guest:/# "
TIMEOUT = 180  # seconds for each expected output (make may have to build; Linux boots in ~3 s)


class Terminal:
    def __init__(self, command):
        self.command = command
        master, slave = pty.openpty()
        self.process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave,
                                        start_new_session=True)
        os.close(slave)
        self.master = master
        self.output = b""

    def text(self):
        return self.output.decode("utf-8", "replace").replace("\r\n", "\n")

    def _read(self, seconds):
        ready, _, _ = select.select([self.master], [], [], seconds)
        if ready:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # the other side closed
                chunk = b""
            self.output += chunk
            return bool(chunk)
        return True

    def wait_for(self, pattern, start=0):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text()[start:])
            if match:
                return match
            if not self._read(0.2) and self.process.poll() is not None:
                break
        self.fail(f"no /{pattern}/ within {TIMEOUT} s")

    def send(self, text):
        os.write(self.master, text.encode())

    def wait_exit(self):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            self._read(0.2)
            code = self.process.poll()
            if code is not None:
                while self._read(0.1) and select.select([self.master], [], [], 0)[0]:
                    pass
                return code
        self.fail(f"make run did not exit within {TIMEOUT} s of the shell's exit")

    def fail(self, message):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        raise AssertionError(f"{message}\ncommand: {' '.join(self.command)}\n"
                             f"--- terminal ---\n{self.text()}\n--- end ---")


def main():
    parser = command_line(__doc__)
    parser.add_argument("--root", required=True, help="tern's source tree (where the Makefile is)")
    parser.add_argument("--build", required=True, help="the build directory (BUILD=)")
    parser.add_argument("--kit", required=True, help="the guest kit directory (GUEST_KIT=)")
    opts = parser.parse_args()
    terminal = Terminal(["make", "--no-print-directory", "-C", opts.root, "run",
                         f"BUILD={opts.build}", f"QEMU={opts.qemu}", f"GUEST_KIT={opts.kit}"])
    try:
        terminal.wait_for(re.escape(PROMPT))
        start = len(terminal.text())
        # Arithmetic in the guest's shell, and a file only tern's RTAS instantiation creates.
        terminal.send("echo answer-$((6 * 7)); ls /proc/device-tree/rtas/linux,rtas-entry\n")
        terminal.wait_for(r"answer-42\s+/proc/device-tree/rtas/linux,rtas-entry\s", start)
        terminal.wait_for(re.escape(PROMPT), start)
        terminal.send("exit\n")
        code = terminal.wait_exit()
        if code != 0:
            terminal.fail(f"make run exited with {code}")
        bad = KERNEL_ERRORS.search(terminal.text())
        if bad:
            terminal.fail(f"'{bad.group(0)}' on the console")
    except AssertionError as error:
        print(f"FAIL make-run: {error}", file=sys.stderr)
        return 1
    print("make run: the guest's shell answered a command; exit powered the guest off; make "
          "exited 0")
    print("PASS make-run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
