"""Sizes: the -bios image of each firmware, and the memory tern's RTAS occupies in the guest."""
import os
import re
import struct
import subprocess

# rtas/layout.h ImageHeader: magic[8], then big-endian u32 version, entry, toc, file_size,
# memory_size (the image's file, .bss and stack, 4 KiB aligned), rela, rela_end, config.
IMAGE_HEADER = struct.Struct(">8s8I")
RTAS_MAGIC = b"TERNRTAS"
IMAGE_HEADER_VERSION = 1

QEMU_FIRMWARE_FILES = {"slof": "slof.bin", "vof": "vof.bin"}


def qemu_data_dirs(qemu):
    """The directories QEMU searches for -bios files, in its order (`qemu -L help`)."""
    output = subprocess.run([qemu, "-L", "help"], capture_output=True, text=True, timeout=60,
                            check=True).stdout
    return [line.strip() for line in output.splitlines() if line.strip()]


def qemu_firmware_path(qemu, firmware):
    """The file QEMU loads for SLOF or VOF (pseries' default -bios, and x-vof=on's)."""
    name = QEMU_FIRMWARE_FILES[firmware]
    for directory in qemu_data_dirs(qemu):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return os.path.realpath(path)
    raise FileNotFoundError(f"{qemu} has no {name} in its data directories")


def bios_image_bytes(ctx, firmware):
    if firmware == "tern":
        return os.path.getsize(ctx.image)
    return os.path.getsize(qemu_firmware_path(ctx.qemu, firmware))


def read_rtas_header(path):
    """rtas.bin's ImageHeader as a dict; ValueError when it is not one, or disagrees with the file."""
    with open(path, "rb") as image:
        data = image.read()
    if len(data) < IMAGE_HEADER.size:
        raise ValueError(f"{path}: {len(data)} bytes, shorter than the image header")
    magic, version, entry, toc, file_size, memory_size, rela, rela_end, config = \
        IMAGE_HEADER.unpack_from(data)
    if magic != RTAS_MAGIC or version != IMAGE_HEADER_VERSION:
        raise ValueError(f"{path}: not a tern RTAS image (magic {magic!r}, version {version})")
    if file_size != len(data) or not file_size <= memory_size < 1 << 24:
        raise ValueError(f"{path}: header says {file_size} bytes in the file and {memory_size} in "
                         f"memory, the file has {len(data)}")
    return {"file_size": file_size, "memory_size": memory_size}


def state_region_bytes(root):
    """The state region's size as rtas/state-region.h and rtas/instantiate.h lay it out: the
    header, the walk slots, the call statistics and the data area (StateRegionSize)."""
    def constant(path, name):
        with open(os.path.join(root, path)) as source:
            match = re.search(rf"{name} =\s*([0-9 *]+);", source.read())
        if not match:
            raise ValueError(f"{path}: no {name}")
        value = 1
        for factor in match.group(1).split("*"):
            value *= int(factor)
        return value
    header, stats = 64, 8  # sizeof(StateHeader), sizeof(ServiceStats)
    return (header + constant("rtas/state-region.h", "kSlotCount") *
            constant("rtas/state-region.h", "kSlotSize") +
            constant("rtas/state-region.h", "kStatsCount") * stats +
            constant("rtas/instantiate.h", "kStateDataSize"))


def rtas_resident_bytes(ctx, firmware):
    """The guest memory tern's RTAS image needs: rtas.bin with its .bss and stack (the header's
    memory_size). The state region and QEMU's own range at the area's base come on top (noted)."""
    header = read_rtas_header(ctx.rtas_image)
    ctx.note(f"rtas.bin {header['file_size']:,} bytes in the file; the state region after it "
             f"{state_region_bytes(ctx.root):,} bytes")
    return header["memory_size"]
