"""A QEMU pseries guest driven through its console, for tern's QEMU tests."""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

TIMEOUT = 120  # seconds for any one expected output (a Linux boot takes ~2 s, more on a loaded host)


class Guest:
    """A QEMU process whose console (and muxed monitor) is on our pipes."""

    def __init__(self, qemu, args, machine="pseries", monitor_socket=False, qmp=False,
                 no_reboot=True):
        # no_reboot=False: a guest reset reboots the machine instead of ending QEMU.
        self.command = [qemu, "-M", machine, "-nographic", *(["-no-reboot"] if no_reboot else []),
                        *args]
        self.monitor_path = None
        self.qmp_path = None
        self.qmp_file = None
        self.qmp_events = []  # QMP events received so far, oldest first (wait_event takes them)
        self.shell_commands = 0
        if qmp:
            self.qmp_dir = tempfile.TemporaryDirectory()
            self.qmp_path = os.path.join(self.qmp_dir.name, "qmp.sock")
            self.command += ["-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        if monitor_socket:
            # The human monitor on a socket of its own, so the console stays the console.
            self.monitor_dir = tempfile.TemporaryDirectory()
            self.monitor_path = os.path.join(self.monitor_dir.name, "monitor.sock")
            self.command += ["-monitor", f"unix:{self.monitor_path},server=on,wait=off"]
        self.started = time.monotonic()
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output = b""
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            chunk = self.process.stdout.read1(4096)
            if not chunk:
                return
            with self.lock:
                self.output += chunk

    def text(self):
        with self.lock:
            return self.output.decode("utf-8", "replace").replace("\r\n", "\n")

    def wait_for(self, pattern, timeout=TIMEOUT, start=0, flags=0, stop=None):
        """The first match of `pattern` (re `flags`) in the output from offset `start` on; fails
        after `timeout` seconds or when QEMU ended without it, or at once when `stop` (a regular
        expression: what the guest prints when it has given up, a prompt that waits forever)
        matches first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()[start:]
            match = re.search(pattern, text, flags)
            if match:
                return match
            stopped = re.search(stop, text, flags) if stop else None
            if stopped:
                time.sleep(0.5)  # the rest of its line
                text = self.text()[start:]
                line = (text[:stopped.start()].rsplit("\n", 1)[-1] +
                        text[stopped.start():].split("\n", 1)[0])
                self.fail(f"expected /{pattern}/; the guest stopped after "
                          f"{time.monotonic() - self.started:.1f} s: {line.strip()!r}")
            if self.process.poll() is not None:
                self.reader.join(timeout=5)
                match = re.search(pattern, self.text()[start:], flags)
                if match:
                    return match
                self.fail(f"expected /{pattern}/; QEMU exited with {self.process.returncode} "
                          f"after {time.monotonic() - self.started:.1f} s without it")
            time.sleep(0.05)
        self.fail(f"expected /{pattern}/ within {timeout} s")

    def send(self, data):
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def monitor_command(self, command):
        """Runs `command` on the monitor socket (monitor_socket=True) and returns its reply."""
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(self.monitor_path):
            if time.monotonic() > deadline:
                self.fail("the monitor socket never appeared")
            time.sleep(0.05)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(self.monitor_path)
            connection.settimeout(TIMEOUT)
            reply = b""
            while not reply.rstrip().endswith(b"(qemu)"):
                reply += connection.recv(4096)
            connection.sendall(command.encode() + b"\n")
            answer = b""
            while not answer.rstrip().endswith(b"(qemu)"):
                answer += connection.recv(4096)
        return answer.decode("utf-8", "replace")

    def _qmp_connect(self):
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(self.qmp_path):
            if time.monotonic() > deadline:
                self.fail("the QMP socket never appeared")
            time.sleep(0.05)
        self.qmp_socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.qmp_socket.connect(self.qmp_path)
        self.qmp_socket.settimeout(TIMEOUT)
        self.qmp_file = self.qmp_socket.makefile("rw")
        json.loads(self.qmp_file.readline())  # the greeting
        self.qmp("qmp_capabilities")

    def qmp_try(self, command, **arguments):
        """Runs a QMP command (qmp=True); returns ("return", value) or ("error", error dict).
        Events that arrive meanwhile are kept in qmp_events."""
        if self.qmp_file is None:
            self._qmp_connect()
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.qmp_file.write(json.dumps(request) + "\n")
        self.qmp_file.flush()
        while True:
            reply = json.loads(self.qmp_file.readline())
            if "event" in reply:
                self.qmp_events.append(reply)
                continue
            if "error" in reply:
                return "error", reply["error"]
            return "return", reply.get("return")

    def qmp(self, command, **arguments):
        """Runs a QMP command (qmp=True) and returns its "return" value; fails on an error."""
        kind, value = self.qmp_try(command, **arguments)
        if kind == "error":
            self.fail(f"QMP {command}: {value}")
        return value

    def wait_event(self, name, timeout=TIMEOUT, **data):
        """Waits for the QMP event `name` whose data has the items `data` (for example
        wait_event("DEVICE_DELETED", device="net1")), removes it from qmp_events and returns it."""
        if self.qmp_file is None:
            self._qmp_connect()

        def matches(event):
            return event["event"] == name and all(
                event.get("data", {}).get(key) == value for key, value in data.items())

        deadline = time.monotonic() + timeout
        while True:
            for event in self.qmp_events:
                if matches(event):
                    self.qmp_events.remove(event)
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.fail(f"no QMP event {name} {data} within {timeout} s")
            self.qmp_socket.settimeout(remaining)
            try:
                line = self.qmp_file.readline()
            except socket.timeout:
                line = ""
            finally:
                self.qmp_socket.settimeout(TIMEOUT)
            if line:
                reply = json.loads(line)
                if "event" in reply:
                    self.qmp_events.append(reply)

    def shell(self, command, timeout=TIMEOUT):
        """Runs `command` in the guest's interactive shell on the console (busybox sh) and returns
        (exit status, output with stdout and stderr). The output goes through a file, so the
        console's echo of the command line never mixes with it; the markers around it are computed
        by the shell ($((...))), so the echoed command line never matches them. Kernel messages
        on the console can still interleave: lower the console log level first."""
        self.shell_commands += 1
        n = self.shell_commands
        start = len(self.text())
        self.send(f'{{ {command}; }} >/tmp/.tern-out 2>&1; echo "=S=$((0+{n}))=$?="; '
                  f'cat /tmp/.tern-out; echo "=E=$((0+{n}))="\r'.encode())
        match = self.wait_for(rf"=S={n}=(\d+)=\n(.*?)=E={n}=\n", timeout=timeout, start=start,
                              flags=re.S)
        return int(match.group(1)), match.group(2)

    def core_type(self):
        """The CPU core type this machine hot-plugs (power9_v2.0-spapr-cpu-core on QEMU 7.2's
        default CPU, power10_v2.0-spapr-cpu-core on 10.0's), from the monitor or QMP."""
        if self.qmp_path is not None:
            return self.qmp("query-hotpluggable-cpus")[0]["type"]
        match = re.search(r'type: "([^"]+)"', self.monitor_command("info hotpluggable-cpus"))
        if not match:
            self.fail("no hot-pluggable CPU type")
        return match.group(1)

    def monitor(self, command, reply_pattern):
        """Switches the mux to QEMU's monitor (Ctrl-a c) and runs `command`."""
        self.send(b"\x01c")
        self.wait_for(r"\(qemu\) ?$|\(qemu\)")
        start = len(self.text())
        self.send(command.encode() + b"\r")  # the mux's readline takes Enter as CR
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            match = re.search(reply_pattern, self.text()[start:])
            if match:
                return match
            time.sleep(0.05)
        self.fail(f"monitor: '{command}' did not answer /{reply_pattern}/")

    def cpu_seconds_over(self, window):
        """CPU time (user + system) the QEMU process consumes during `window` seconds."""
        def cpu_ticks():
            with open(f"/proc/{self.process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime, stime
        before = cpu_ticks()
        time.sleep(window)
        return (cpu_ticks() - before) / os.sysconf("SC_CLK_TCK")

    def wait_exit(self, timeout=TIMEOUT):
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"QEMU did not exit by itself within {timeout} s")
        self.reader.join(timeout=5)
        return code, time.monotonic() - self.started

    def kill(self):
        if self.qmp_file is not None:
            self.qmp_socket.close()
            self.qmp_file = None
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def fail(self, message):
        self.kill()
        raise AssertionError(f"{message}\ncommand: {' '.join(self.command)}\n"
                             f"--- output ---\n{self.text()}--- end ---")


def expect(condition, message, guest):
    """Fails the scenario with `message` (and the guest's transcript, when there is a guest)."""
    if not condition:
        if guest is None:
            raise AssertionError(message)
        guest.fail(message)


def boot_kit(qemu, firmware, image, kit, append, args=(), monitor_socket=False):
    """Boots the guest kit's kernel on `firmware`: "tern" (the -bios `image`), "vof" or "slof"."""
    command = ["-kernel", os.path.join(kit, "vmlinux"),
               "-initrd", os.path.join(kit, "initramfs.cpio.gz"), "-append", append, *args]
    machine = "pseries,x-vof=on" if firmware == "vof" else "pseries"
    if firmware == "tern":
        command = ["-bios", image, *command]
    return Guest(qemu, command, machine=machine, monitor_socket=monitor_socket)


SKIP = 77  # CTest's SKIP_RETURN_CODE for these scripts
# A scenario's result when it failed the way documented for the firmware it ran on (a --bios slof
# run of a scenario SLOF cannot pass): printed as XFAIL, exit status 0.
XFAIL = "xfail"


def command_line(doc, epilog=None):
    """The argument parser every tern QEMU script starts from: its docstring as the help, and
    --qemu."""
    parser = argparse.ArgumentParser(description=doc, epilog=epilog,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qemu", default="qemu-system-ppc64")
    return parser


def run_scenarios(doc, scenarios, add_arguments):
    """The command line of a QEMU test script: --qemu, --image, the script's own options
    (add_arguments(parser)) and one scenario; prints PASS/FAIL and returns the exit status.

    `scenarios` maps each scenario's name to (description, function): the one list of a script's
    scenarios. --help prints it; --list prints the names, one per line, from which
    tests/CMakeLists.txt registers one CTest test per scenario."""
    if sys.argv[1:] == ["--list"]:
        print("\n".join(scenarios))
        return 0
    lines = ["Scenarios:"]
    width = max(16, *(len(name) + 1 for name in scenarios))
    for name, (description, _) in scenarios.items():
        lines.append(textwrap.fill(description, width=100, initial_indent=f"  {name:<{width}}",
                                   subsequent_indent=" " * (width + 2)))
    parser = command_line(doc, epilog="\n".join(lines))
    parser.add_argument("--image", required=True, help="tern's -bios image")
    add_arguments(parser)
    parser.add_argument("scenario", choices=list(scenarios))
    opts = parser.parse_args()
    try:
        result = scenarios[opts.scenario][1](opts)
    except AssertionError as error:
        print(f"FAIL {opts.scenario}: {error}", file=sys.stderr)
        return 1
    if result == SKIP:
        return SKIP
    if result == XFAIL:
        print(f"XFAIL {opts.scenario}")
        return 0
    print(f"PASS {opts.scenario}")
    return 0
