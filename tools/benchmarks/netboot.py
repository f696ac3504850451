"""Network boot: QEMU start to GRUB's banner over the network, and TFTP throughput on the wire.

Everything boots from the net kit's TFTP folder (tools/net-kit.sh) through QEMU's own DHCP and
TFTP server (`-netdev user,restrict=on,tftp=...,bootfile=...`) on an spapr-vlan NIC alone, without
-kernel and without a disk.

- grub: QEMU start to GRUB's banner ("Welcome to GRUB!"), the DHCP boot file being GRUB's network
  image from grub-mknetdir: the firmware's DHCP, its TFTP of core.elf (178 KiB) and the hand-off.
- tftp: the firmware's own TFTP client, on one large file both firmwares load: the DHCP boot file
  is Debian's installer vmlinux (44771 KiB), which the firmware fetches whole before looking at it
  (SLOF then refuses it, "ELF64: VirtAddr(c000000000000000) != PhysAddr(0) not supported", which
  does not matter here). Its size over the time from the read request to the last DATA block.
- initrd, dialog (tern only): GRUB's own TFTP client, through the firmware's network package
  (`read`/`write` of raw frames), loading the installer's initrd.gz (23656 KiB), and QEMU start to
  the installer's first dialog ("[!!] Select a language"). SLOF has no figure: it gives GRUB no
  /chosen/bootp-response, and GRUB's network image stops before it reads its grub.cfg.

The transfers are timed on the wire, not from the console (whose wording differs from firmware to
firmware): QEMU's filter-dump object writes every frame of the NIC's netdev to a pcap file, each
stamped with QEMU's virtual clock (net/dump.c), which runs at the host's pace under TCG, and
TftpWatch follows that file while the guest runs. Both firmwares get the same server, the same
NIC model and the same file; what differs is their TFTP client: block size (SLOF already asks
for 1428 bytes, the most QEMU's server gives, libslirp's TFTP_BLOCKSIZE_MAX), how soon each block
is acknowledged, how the NIC is polled. TFTP is lock-step and QEMU's server never has more than
one block out: on SLOF 20220719 (QEMU 7.2, TCG) a block's DATA-to-ACK time in the guest was 135 us
(median; mean 255 us) against 3 us (mean 7 us) from ACK to the next DATA in QEMU, so the client's
turnaround is nearly all of the time, and the throughput, about 8 MiB/s, is what a faster
firmware can change. A firmware that never gets there fails the measure for itself only
(Measure.keep_going in tools/bench.py): the other firmware's figures stand.
"""
import os
import struct
import tempfile
import time

from guest import Guest

from . import report

GRUB = r"Welcome to GRUB"
DIALOG = r"\[!!\] Select a language"
TIMEOUT = 300
INSTALLER = "boot/grub/powerpc-ieee1275/core.elf"
VMLINUX = "debian-installer/ppc64el/vmlinux"
INITRD = "debian-installer/ppc64el/initrd.gz"
TFTP_PORT = 69
MIB = 1 << 20


class TftpWatch:
    """Follows a pcap file that QEMU's filter-dump is writing and times the first TFTP transfer of
    `filename`: from its read request to its last DATA block (the first shorter than the block
    size the server agreed to, 512 bytes without an OACK). Frames are read as they come; a
    truncated capture (filter-dump's maxlen) is enough, since the UDP header gives each datagram's
    length."""

    def __init__(self, path, filename):
        self.path = path
        self.filename = filename.encode()
        self.offset = 0
        self.order = None  # "<" or ">", from the pcap's magic number
        self.client = None  # (client address, client port) of the read request
        self.started = None  # pcap time of the read request
        self.blksize = 512
        self.finished = None  # pcap time of the last DATA block
        self.data_bytes = 0
        self.blksize_asked = None

    def seconds(self):
        """The transfer's duration once it has ended, else None."""
        self.poll()
        if self.finished is None:
            return None
        return self.finished - self.started

    def poll(self):
        try:
            with open(self.path, "rb") as dump:
                dump.seek(self.offset)
                data = dump.read()
        except FileNotFoundError:
            return
        position = 0
        if self.order is None:
            if len(data) < 24:
                return
            magic = struct.unpack("<I", data[:4])[0]
            self.order = "<" if magic == 0xa1b2c3d4 else ">"
            position = 24
        while self.finished is None and position + 16 <= len(data):
            seconds, micros, caplen, _ = struct.unpack(self.order + "IIII",
                                                       data[position:position + 16])
            if position + 16 + caplen > len(data):
                break
            self.frame(seconds + micros / 1e6, data[position + 16:position + 16 + caplen])
            position += 16 + caplen
        self.offset += position

    def frame(self, when, frame):
        if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            return
        ip = 14 + (frame[14] & 0x0f) * 4
        if len(frame) < ip + 12:
            return
        source, destination = frame[26:30], frame[30:34]
        source_port, destination_port, length = struct.unpack(">HHH", frame[ip:ip + 6])
        payload = frame[ip + 8:]
        opcode = struct.unpack(">H", payload[:2])[0]
        if self.client is None:
            if destination_port == TFTP_PORT and opcode == 1:  # RRQ
                fields = payload[2:].split(b"\0")
                # GRUB asks for "/path", a firmware for "path": the server reads both alike.
                if fields and fields[0].lstrip(b"/") == self.filename.lstrip(b"/"):
                    self.client = (source, source_port)
                    self.started = when
                    options = dict(zip(fields[2::2], fields[3::2]))
                    self.blksize_asked = options.get(b"blksize")
            return
        if (destination, destination_port) != self.client:
            return
        if opcode == 6:  # OACK
            fields = payload[2:].split(b"\0")
            options = dict(zip(fields[0::2], fields[1::2]))
            if b"blksize" in options:
                self.blksize = int(options[b"blksize"])
        elif opcode == 3:  # DATA
            size = length - 8 - 4
            self.data_bytes += size
            if size < self.blksize:
                self.finished = when
        elif opcode == 5:  # ERROR
            message = payload[4:].split(b"\0")[0].decode("ascii", "replace")
            raise AssertionError(f"the TFTP server refused {self.filename.decode()}: {message}")

    def describe(self):
        if self.started is None:
            return f"{self.filename.decode()} never requested"
        asked = self.blksize_asked.decode() if self.blksize_asked else "none"
        return f"blksize asked {asked}, used {self.blksize}"


def firmware_args(ctx, firmware):
    if firmware not in ("tern", "slof"):
        raise ValueError(f"{firmware} has no network boot")
    return ["-bios", ctx.image] if firmware == "tern" else []


def network(ctx, bootfile, dump=None):
    """QEMU's user networking serving the net kit to one spapr-vlan NIC, optionally recorded."""
    tftp = os.path.join(ctx.net_kit, "tftp")
    args = ["-netdev", f"user,id=n0,restrict=on,tftp={tftp},bootfile={bootfile}",
            "-device", "spapr-vlan,netdev=n0"]
    if dump:
        # 256 bytes of each frame: the headers and a read request's file name.
        args += ["-object", f"filter-dump,id=dump0,netdev=n0,file={dump},maxlen=256"]
    return args


def wait_transfer(guest, watch, what):
    """Waits until `watch`'s transfer has ended; its throughput in MiB/s."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        seconds = watch.seconds()
        if seconds is not None:
            size = os.path.getsize(what)
            if watch.data_bytes != size:
                guest.fail(f"TFTP of {what}: {watch.data_bytes} bytes on the wire, the file has "
                           f"{size}")
            return size / MIB / seconds
        if guest.process.poll() is not None:
            guest.fail(f"QEMU exited before the TFTP of {what} ended ({watch.describe()})")
        time.sleep(0.1)
    guest.fail(f"the TFTP of {what} did not end within {TIMEOUT} s ({watch.describe()})")


def timed_transfer(ctx, firmware, bootfile, watched, then=None):
    """Boots `firmware` with `bootfile` as the DHCP boot file, recording the NIC's frames, until
    the TFTP of `watched` (a path in the TFTP folder) has ended, then runs `then(guest)`, if
    given. Returns (MiB/s, the TftpWatch, what `then` returned)."""
    with tempfile.TemporaryDirectory() as directory:
        dump = os.path.join(directory, "net.pcap")
        watch = TftpWatch(dump, watched)
        guest = Guest(ctx.qemu, [*firmware_args(ctx, firmware), "-m", "2G",
                                 *network(ctx, bootfile, dump)])
        try:
            rate = wait_transfer(guest, watch, os.path.join(ctx.net_kit, "tftp", watched))
            after = then(guest) if then else None
        finally:
            guest.kill()
    return rate, watch, after


def seconds_to(guest, pattern):
    guest.wait_for(pattern, timeout=TIMEOUT)
    return time.monotonic() - guest.started


def network_boot(ctx, firmware):
    """{"grub": seconds to GRUB's banner over the network, "tftp": the firmware's TFTP of the
    installer's vmlinux in MiB/s}."""
    guest = Guest(ctx.qemu, [*firmware_args(ctx, firmware), "-m", "2G",
                             *network(ctx, INSTALLER)])
    try:
        grub = seconds_to(guest, GRUB)
    finally:
        guest.kill()
    rate, watch, _ = timed_transfer(ctx, firmware, VMLINUX, VMLINUX)
    ctx.note(f"{report.LABELS[firmware]}: {watch.describe()}", row="tftp")
    return {"grub": grub, "tftp": rate}


def installer_over_network(ctx, firmware):
    """{"initrd": GRUB's TFTP of the installer's initrd.gz in MiB/s, "dialog": seconds to the
    installer's first dialog}, GRUB's network image being the DHCP boot file."""
    for row in ("initrd", "dialog"):
        ctx.note("SLOF: none; GRUB's network image stops there (no /chosen/bootp-response)", row)
    rate, watch, dialog = timed_transfer(ctx, firmware, INSTALLER, INITRD,
                                         then=lambda guest: seconds_to(guest, DIALOG))
    ctx.note(f"GRUB's {watch.describe()}", row="initrd")
    return {"initrd": rate, "dialog": dialog}
