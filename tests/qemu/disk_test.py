#!/usr/bin/env python3
"""Booting installed disks on tern: GRUB from a PReP partition, then Linux mounting its root.

Usage: disk_test.py --qemu QEMU --image tern.bin --disks DISK_KIT_DIR [--kit GUEST_KIT_DIR] SCENARIO

The disks come from tools/disk-kit.sh (MBR and GPT images laid out as grub-install does, one
without a PReP partition, one with a damaged table, a second bootable one). Their /init prints
TERN-DISK: lines; a scenario passes when the expected disk's root file system is mounted (its
disk id is read from the mounted root), no disk is written (snapshot=on), nothing on the console
says the kernel or tern went wrong, and QEMU exits by itself. Hostile disks are built at test time
in a temporary directory (no image is kept): small MBR disks whose PReP partition holds a crafted
64-bit big-endian ELFv1 image, and copies of the kit's gpt.img with their GPT rewritten to use
many entries. --help lists the scenarios.
"""
import os
import re
import shutil
import struct
import sys
import tempfile
import zlib

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


def disk_file(path, drive, bootindex=None):
    """QEMU arguments attaching the raw image at `path` on virtio-blk as drive `drive`."""
    index = f",bootindex={bootindex}" if bootindex is not None else ""
    return ["-drive", f"file={path},if=none,id={drive},format=raw,snapshot=on",
            "-device", f"virtio-blk-pci,drive={drive}{index}"]


# ---- hostile disks, built at test time ----

# Where the crafted boot loader lives: its code segment at 0x200000 (file offset 0x1000, 0x1000
# bytes), its data segment at 0x210000 (file offset 0x2000, 0x100 bytes) with the function
# descriptor e_entry names at its start (64-bit PowerPC ELF ABI 1.9, "Function Descriptors").
CODE_ADDRESS = 0x200000
DESCRIPTOR = 0x210000
ILLEGAL_INSTRUCTION = 0x00000000  # a primary opcode of 0: illegal on every Power ISA


def elfv1(code_words=(ILLEGAL_INSTRUCTION,), code=CODE_ADDRESS, entry=DESCRIPTOR):
    """A 64-bit big-endian ELFv1 ET_EXEC image (EM_PPC64, e_flags 1) whose e_entry is `entry`,
    with `code` as the code address of the descriptor at DESCRIPTOR."""
    image = bytearray(0x2100)
    # e_ident, e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize,
    # e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
    struct.pack_into(">4sBBBB8xHHIQQQIHHHHHH", image, 0, b"\x7fELF", 2, 2, 1, 0, 2, 21, 1,
                     entry, 64, 0, 1, 64, 56, 2, 0, 0, 0)
    segments = [(0x1000, CODE_ADDRESS, 0x1000), (0x2000, DESCRIPTOR, 0x100)]
    for i, (offset, address, size) in enumerate(segments):
        # PT_LOAD, RWX, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align
        struct.pack_into(">IIQQQQQQ", image, 64 + 56 * i, 1, 7, offset, address, address, size,
                         size, 0x10000)
    for i, word in enumerate(code_words):
        struct.pack_into(">I", image, 0x1000 + 4 * i, word)
    struct.pack_into(">QQQ", image, 0x2000, code, 0, 0)  # code address, TOC, environment
    return bytes(image)


def prep_disk(directory, name, image):
    """A 4 MiB raw MBR disk whose only partition, an active PReP one (type 0x41, 2 MiB from block
    2048), holds `image`; returns its path."""
    disk = bytearray(4 << 20)
    struct.pack_into("<B3xB3xII", disk, 446, 0x80, 0x41, 2048, 4096)
    disk[510:512] = b"\x55\xaa"
    disk[2048 * 512:2048 * 512 + len(image)] = image
    path = os.path.join(directory, f"{name}.img")
    with open(path, "wb") as out:
        out.write(disk)
    return path


# Each bad descriptor tern must refuse before anything runs, with the reason it prints
# (bootmgr/elf.cc ElfErrorName).
NOT_LOADED_CODE = "ELF entry descriptor's code address outside the loaded segments"
BAD_DESCRIPTORS = [
    ("code-outside-segments", elfv1(code=0x600000), NOT_LOADED_CODE),
    ("code-in-firmware", elfv1(code=0x1800), NOT_LOADED_CODE),  # tern's own boot path
    # e_entry 4 bytes before the data segment's end: the descriptor's 8 bytes run past it
    ("descriptor-past-file-bytes", elfv1(entry=DESCRIPTOR + 0xfc),
     "ELF entry descriptor outside the loaded segments' file bytes"),
]

LINUX_DATA = bytes.fromhex("af3dc60f838472478e793d69d8477de4")  # 0FC63DAF-8483-4772-8E79-...


def rewrite_gpt(path, used, prep_number, entry_count):
    """Rewrites the GPT of `path` (a copy of the kit's gpt.img: PReP as entry 1, the root as
    entry 2) to an array of `entry_count` entries with `used` of them used: the PReP partition
    as entry `prep_number`, the root as entry 2, and small empty partitions (10 blocks each, in
    the free space after the root) in every other entry below `used`; both headers and both
    arrays with correct CRCs (UEFI 2.10 5.3.2), as a partitioning tool writes them."""
    with open(path, "r+b") as disk:
        size = disk.seek(0, os.SEEK_END)
        last = size // 512 - 1
        disk.seek(512)
        header = bytearray(disk.read(512))
        entries_lba, count, entry_size = struct.unpack_from("<QII", header, 72)
        disk.seek(entries_lba * 512)
        old = disk.read(count * entry_size)
        prep, root = old[0:128], old[128:256]
        root_end = struct.unpack_from("<Q", root, 40)[0]
        array_blocks = entry_count * 128 // 512
        backup_array = last - array_blocks
        last_usable = backup_array - 1
        array = bytearray(entry_count * 128)
        array[128 * (prep_number - 1):128 * prep_number] = prep
        array[128:256] = root
        start = root_end + 1
        for index in range(used):
            if index in (1, prep_number - 1):
                continue
            entry = bytearray(128)
            entry[0:16] = LINUX_DATA
            entry[16:32] = struct.pack("<QQ", 0x7465726e00000000 | index, 0x6770740000000000)
            struct.pack_into("<QQ", entry, 32, start, start + 9)
            array[128 * index:128 * (index + 1)] = entry
            start += 10
        assert start - 1 <= last_usable, "no room for the partitions"
        crc = zlib.crc32(array)
        for my_lba, alternate, array_lba in ((1, last, 2), (last, 1, backup_array)):
            struct.pack_into("<IIIIQQQQ", header, 8, 0x00010000, 92, 0, 0, my_lba, alternate,
                             2048, last_usable)
            struct.pack_into("<QIII", header, 72, array_lba, entry_count, 128, crc)
            struct.pack_into("<I", header, 16, zlib.crc32(bytes(header[:92])))
            disk.seek(my_lba * 512)
            disk.write(header)
            disk.seek(array_lba * 512)
            disk.write(array)


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
    expect(len(re.findall(r"tern: /pci\S+: cannot boot: ", text)) == 2,
           "not one reason per disk", guest)
    expect("tern: no kernel to boot (no -kernel) and no device tern could boot\ntern: powering off"
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
                      # QEMU adds an empty CD-ROM at target 2: a one-line note, not an error
                      r"tern: cdrom /vdevice/v-scsi@\S+/disk@8200000000000000: .*no medium in "
                      r"the drive"])


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


def empty_disks(directory, count):
    """QEMU arguments attaching `count` virtio-blk disks of 0 bytes (files in `directory`)."""
    args = []
    for index in range(count):
        path = os.path.join(directory, f"empty{index}.img")
        open(path, "wb").close()
        args += disk_file(path, f"empty{index}")
    return args


def scenario_past_eight_empty_disks(opts):
    # Issue 26: eight (here ten) disks of 0 bytes before the bootable one, which has bootindex=1:
    # the empty ones are refused with a line each and take no driver instance; the ninth boots.
    with tempfile.TemporaryDirectory() as directory:
        args = empty_disks(directory, 10) + disk(opts, "mbr", bootindex=1)
        expect_root(opts, args, "tern-mbr",
                    also=[r"scsi@2: capacity of 0 sectors in blocks of 512 bytes: capacity of "
                          r"less than one block\n"])


def scenario_vscsi_after_eight_virtio(opts):
    # Issue 26: a bootable spapr-vscsi disk after eight virtio-blk disks (unbootable, but
    # usable): all nine are started and listed, and the vscsi disk boots in the default order.
    args = []
    for index in range(8):
        path = os.path.join(opts.disks, "noprep.img")
        args += ["-drive", f"file={path},if=none,id=np{index},format=raw,snapshot=on",
                 "-device", f"virtio-blk-pci,drive=np{index}"]
    args += ["-device", "spapr-vscsi,id=v", *scsi_disk(opts, "mbr", "v.0")]
    guest, text, _ = boot(opts, args)
    listed = re.findall(r"tern: disk /pci@800000020000000/scsi@\w+: virtio-blk", text)
    expect(len(listed) == 8, f"{len(listed)} virtio-blk disks listed, expected 8", guest)
    expect(re.search(r"tern: disk /vdevice/v-scsi@\w+/disk@8000000000000000: ", text),
           "the vscsi disk was not listed", guest)
    expect("tern: booting /vdevice/v-scsi" in text, "the vscsi disk did not boot", guest)
    expect("TERN-DISK: disk-id tern-mbr" in text, "Linux did not mount the vscsi disk's root",
           guest)
    print("eight virtio-blk disks and the vscsi disk listed; the vscsi disk booted")


def scenario_twenty_disks(opts):
    # libvirt guests with 16 and more disks: twenty virtio-blk disks, bootindex on the last.
    args = []
    for index in range(19):
        path = os.path.join(opts.disks, "noprep.img")
        args += ["-drive", f"file={path},if=none,id=np{index},format=raw,snapshot=on",
                 "-device", f"virtio-blk-pci,drive=np{index}"]
    args += disk(opts, "gpt", bootindex=1)
    guest, text, _ = boot(opts, args)
    listed = re.findall(r"tern: disk /pci@80000002000000\d/scsi@\w+: virtio-blk", text)
    expect(len(listed) == 20, f"{len(listed)} virtio-blk disks listed, expected 20", guest)
    expect("TERN-DISK: disk-id tern-gpt" in text, "Linux did not mount the last disk's root",
           guest)
    print("twenty virtio-blk disks listed; the last one (bootindex=1) booted")


def scenario_bad_descriptors_then_good(opts):
    # Three disks with a bad ELFv1 entry descriptor each, then a bootable one: a reason for each,
    # nothing of theirs runs, the fourth boots.
    with tempfile.TemporaryDirectory() as directory:
        args = []
        for index, (name, image, _) in enumerate(BAD_DESCRIPTORS):
            args += disk_file(prep_disk(directory, name, image), f"bad{index}", bootindex=index + 1)
        args += disk(opts, "mbr", bootindex=len(BAD_DESCRIPTORS) + 1)
        reasons = [rf"tern: \S+: cannot boot partition 1: {re.escape(reason)}\n"
                   for _, _, reason in BAD_DESCRIPTORS]
        expect_root(opts, args, "tern-mbr", also=reasons)


def scenario_bad_descriptors_only(opts):
    # Only such disks: a reason for each, then power-off; QEMU exits by itself.
    with tempfile.TemporaryDirectory() as directory:
        args = []
        for index, (name, image, _) in enumerate(BAD_DESCRIPTORS):
            args += disk_file(prep_disk(directory, name, image), f"bad{index}", bootindex=index + 1)
        guest, text, seconds = boot(opts, args)
    found = re.findall(r"tern: \S+: cannot boot partition 1: (.*)\n", text)
    expect(found == [reason for _, _, reason in BAD_DESCRIPTORS],
           f"reasons {found}, not one per disk in boot order", guest)
    expect("tern: booting" not in text, "tern entered a boot loader", guest)
    expect("tern: no kernel to boot (no -kernel) and no device tern could boot\ntern: powering off"
           in text, "tern did not power off after the last disk", guest)
    print(f"three bad ELFv1 descriptors refused; QEMU exited after {seconds:.1f} s")


def scenario_trapping_loader(opts):
    # A boot loader whose first instruction is illegal, entered through a good descriptor: the
    # exception report, then power-off: QEMU exits by itself.
    with tempfile.TemporaryDirectory() as directory:
        path = prep_disk(directory, "illegal", elfv1())
        guest = Guest(opts.qemu, ["-bios", opts.image, "-m", "1G", *disk_file(path, "d0")])
        code, seconds = guest.wait_exit(timeout=TIMEOUT)
    text = guest.text()
    expect(re.search(rf"tern: booting \S+ partition 1: ELF64 big-endian, 2 segments, entry "
                     rf"{CODE_ADDRESS:#x}\n", text), "tern did not enter the descriptor's code",
           guest)
    report = re.search(r"tern: EXCEPTION 0x700 \(program: illegal instruction\)\n"
                       r"  SRR0 ([0-9a-f]{16}) (.|\n)*\ntern: halted\ntern: powering off\n", text)
    expect(report is not None, "no program-interrupt report followed by a power-off", guest)
    expect(int(report.group(1), 16) == CODE_ADDRESS, f"SRR0 {report.group(1)}", guest)
    expect(code == 0, f"QEMU exited with {code}", guest)
    print(f"illegal instruction at {CODE_ADDRESS:#x} reported; QEMU exited after {seconds:.1f} s")


def scenario_gpt_100_entries(opts):
    # #26.6: the kit's GPT disk rewritten to use 100 of its 128 entries, PReP still entry 1.
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "gpt-100.img")
        shutil.copyfile(os.path.join(opts.disks, "gpt.img"), path)
        rewrite_gpt(path, used=100, prep_number=1, entry_count=128)
        expect_root(opts, disk_file(path, "g100", bootindex=1), "tern-gpt",
                    also=[r"tern: booting \S+ partition 1: "])


def scenario_gpt_200_entries(opts):
    # More used entries than tern's partition table lists (128), the PReP partition past them.
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "gpt-200.img")
        shutil.copyfile(os.path.join(opts.disks, "gpt.img"), path)
        rewrite_gpt(path, used=200, prep_number=150, entry_count=256)
        expect_root(opts, disk_file(path, "g200", bootindex=1), "tern-gpt",
                    also=[r"tern: \S+: the GPT has 200 used entries; tern lists the first 128 "
                          r"and looks for the PReP partition among all of them\n",
                          r"tern: booting \S+ partition 150: "])


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
    "bad-descriptors-then-good": ("three PReP partitions holding 64-bit big-endian ELFv1 images "
                                  "with a bad entry descriptor (code outside every segment, code "
                                  "in the firmware, the descriptor past its segment's file "
                                  "bytes): a reason each, then the fourth disk boots",
                                  scenario_bad_descriptors_then_good),
    "bad-descriptors-only": ("only the three bad-descriptor disks: a reason each, then tern "
                             "powers off and QEMU exits", scenario_bad_descriptors_only),
    "trapping-loader": ("a PReP ELFv1 image whose code is an illegal instruction: tern enters the "
                        "descriptor's code, reports the program interrupt (SRR0 there) and powers "
                        "off: QEMU exits by itself", scenario_trapping_loader),
    "gpt-100-entries": ("gpt.img rewritten to use 100 of its 128 GPT entries (both headers and "
                        "arrays with their CRCs), PReP as entry 1: GRUB boots, Linux mounts the "
                        "root", scenario_gpt_100_entries),
    "past-eight-empty-disks": ("ten virtio-blk disks of 0 bytes, then a bootable one with "
                              "bootindex=1: the empty ones are refused and take no place, the "
                              "eleventh boots", scenario_past_eight_empty_disks),
    "vscsi-after-eight-virtio": ("eight virtio-blk disks without a PReP partition, then a bootable "
                                 "spapr-vscsi disk: all nine listed, the vscsi disk boots",
                                 scenario_vscsi_after_eight_virtio),
    "twenty-disks": ("twenty virtio-blk disks, bootindex on the last: all listed, it boots",
                     scenario_twenty_disks),
    "gpt-200-entries": ("gpt.img rewritten to a 256-entry GPT with 200 used, PReP as entry 150, "
                        "past the 128 partitions tern lists: tern says so and boots it, Linux "
                        "mounts the root", scenario_gpt_200_entries),
}


def add_arguments(parser):
    parser.add_argument("--disks", required=True, help="disk kit directory (tools/disk-kit.sh)")
    parser.add_argument("--kit", required=True, help="guest kit directory (tools/guest-kit.sh)")


if __name__ == "__main__":
    sys.exit(run_scenarios(__doc__, SCENARIOS, add_arguments))
