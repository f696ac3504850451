// Loading the boot loader of a disk or a CD when QEMU loaded no -kernel, as SLOF does: the
// devices tern can read are tried in QEMU's boot order (bootmgr/boot-order.h); the first with a
// loadable boot image has it read into a staging area, planned (bootmgr/elf.h), claimed and copied
// to where it runs. The boot image is a disk's PReP partition (GRUB's core.elf), or the file that
// an ISO 9660 volume's \ppc\bootinfo.txt names (bootmgr/chrp-boot.h): a CD is tried as install
// media first, a disk as a disk first. The caller enters the image as an IEEE 1275 client.
#pragma once

#include "block/device.h"
#include "bootmgr/boot-order.h"
#include "lib/guest-memory.h"
#include "lib/span.h"
#include "lib/types.h"
#include "of/claims.h"
#include "of/machine-info.h"
#include "of/tree.h"

namespace bootmgr {

// Where a boot image is read before its segments are copied: below QEMU's FDT, in the 40 MiB QEMU
// leaves to the firmware under min(RMA, 2 GiB) (hw/ppc/spapr.c: FW_OVERHEAD) and, for a larger
// image, below them. A disk's or a CD's image may use 32 MiB (as SLOF); a boot file from the
// network 64 MiB, room for a Linux vmlinux (Debian 12's is 45 MiB).
inline constexpr uint64_t kLoaderStagingBytes = 32u << 20;
inline constexpr uint64_t kNetworkStagingBytes = 64u << 20;
// The area for `bytes` with real-mode memory of `rma_bytes`: 64 KiB-aligned, ending 8 MiB below
// min(RMA, 2 GiB), at most `bytes` long and starting at or above 24 MiB (clear of the firmware
// and of a kernel loaded 4 MiB up); empty under 64 MiB, where no boot image is read. The live
// tree is kept out of the largest one.
of::AddressRange LoaderStaging(uint64_t rma_bytes, uint64_t bytes = kLoaderStagingBytes);

struct LoaderEnv {
  const of::Tree& tree;
  of::ClaimMap& claims;
  lib::GuestMemory& memory;  // the client's: segments are copied through it
  uint64_t rma_bytes = 0;
  uint64_t firmware_end = 0;        // segments may not overlap [0, firmware_end)
  uint64_t timebase_frequency = 0;  // the network's timeouts count it (lib/timeout.h)
};

inline constexpr size_t kBootFileMax = 256;
inline constexpr size_t kDeviceArgumentsMax = 512;

struct LoadedClient {
  uint64_t entry = 0;  // a real address
  bool mode32 = false;
  of::Phandle device = 0;  // the node it was loaded from (/chosen bootpath)
  // The device's arguments in /chosen/bootpath ("<device>:<arguments>"; "" for none): for a file
  // of a disk or a CD the disk-label's ",\boot\grub\powerpc.elf" (GRUB takes its prefix from the
  // file's folder); for a network card the TFTP booting extension's
  // "siaddr,filename,ciaddr,giaddr,bootp-retries,tftp-retries,subnet-mask,blksize" (GRUB's ofnet
  // reads the server and the addresses from them); none for a PReP partition.
  char device_arguments[kDeviceArgumentsMax] = {};
  // The boot arguments bootinfo.txt's boot command gives after the file (/chosen/bootargs), or "".
  char arguments[kBootFileMax] = {};
  // The DHCP or BOOTP reply a network boot was configured by (/chosen/bootp-response), else
  // empty. It stays valid until the next network boot.
  lib::Span<const uint8_t> bootp_response;
};

// Tries `devices` in QEMU's boot order and loads the first bootable one's boot image; prints one
// line per device that cannot be booted and why. False when no device could be loaded; nothing
// stays claimed for a device that failed.
bool LoadFromDevices(LoaderEnv& env, lib::Span<const BootDevice> devices, LoadedClient& loaded);

}  // namespace bootmgr
