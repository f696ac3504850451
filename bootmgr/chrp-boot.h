// Finding the boot loader of install media, as CHRP firmware does [CHRP system binding to IEEE
// 1275, "Boot Information File"]: an ISO 9660 volume on the whole device (a CD-ROM, or an ISO
// image attached as a disk), its \ppc\bootinfo.txt, and the file that file's boot script names
// (fs/chrp-bootinfo.h says which forms are followed). The loader (bootmgr/loader.h) loads that
// file as it loads a PReP partition.
#pragma once

#include "block/device.h"
#include "fs/chrp-bootinfo.h"
#include "fs/iso9660.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace bootmgr {

enum class ChrpBootError : uint8_t {
  kNoVolume,         // no ISO 9660 volume on the device (not an error for a disk)
  kBadVolume,        // the volume cannot be read: `iso` says why
  kNoBootInfo,       // the volume has no \ppc\bootinfo.txt
  kBadBootInfoFile,  // \ppc\bootinfo.txt cannot be read: `iso` says why
  kBadBootScript,    // its boot script cannot be followed: `bootinfo` says why
  kPartition,        // the script names a partition of the medium: tern reads whole media only
  kBadBootFile,      // the file the script names cannot be found: `iso` says why
  kScratchTooSmall,  // less than ChrpScratchBytes(device.block_size)
};

struct ChrpBootFailure {
  ChrpBootError error = ChrpBootError::kNoVolume;
  fs::IsoError iso = fs::IsoError::kNotIso9660;
  fs::BootInfoError bootinfo = fs::BootInfoError::kNotBootInfo;
  block::IoError io = block::IoError::kDevice;  // when iso is kReadFailed
};

struct ChrpBoot {
  fs::Volume volume;
  fs::BootScript script;  // filled in once bootinfo.txt is parsed, also when the file is missing
  fs::File file;          // the boot file's bytes on the device
};

// The scratch FindChrpBoot needs for a device of `block_size`: the boot information text and the
// ISO 9660 reader's windows.
constexpr uint64_t ChrpScratchBytes(uint32_t block_size) {
  return fs::kMaxBootInfoBytes + fs::ScratchBytes(block_size);
}

// Opens the volume of `device`, reads and parses \ppc\bootinfo.txt and looks up the file its
// boot script names. `scratch` (at least ChrpScratchBytes) is where the device reads to: a real
// address the device can DMA to in the firmware, a host buffer in tests.
[[nodiscard]] lib::Result<void, ChrpBootFailure> FindChrpBoot(const block::Device& device,
                                                              lib::Span<uint8_t> scratch,
                                                              ChrpBoot& found);

// One line's reason (no newline) for `failure`, into `buffer`: "no \ppc\bootinfo.txt",
// "\boot\grub\powerpc.elf (named by \ppc\bootinfo.txt): no entry of that name", ...
void DescribeChrpFailure(const ChrpBootFailure& failure, const ChrpBoot& found, char* buffer,
                         size_t size);

}  // namespace bootmgr
