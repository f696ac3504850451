// An ISO 9660 reader [ECMA-119, 4th edition (= ISO 9660:2019 without its 1999 additions)] for
// install media: the file system of a CD-ROM, or of an ISO image attached as a disk. It finds
// the Primary Volume Descriptor, walks directories along a path and returns the file's extent;
// the caller reads the file's bytes where it wants them (ReadFile into a firmware buffer, or
// block::ReadBytes into client memory at the extent's byte offset).
//
// Rock Ridge alternate names [IEEE P1282 RRIP 1.12, "NM"; SUSP 1.12 "SP", "CE", "ST"] are
// preferred where the volume uses SUSP (an "SP" entry at the start of the root directory's "."
// record). Joliet's supplementary descriptor, Rock Ridge's relocated directories ("CL"/"RE") and
// ECMA-119 4th edition's enhanced volume descriptor are not read.
//
// Devices: any block::Device that passes block::CheckGeometry (512 for an image on virtio-blk,
// 2048 for a CD-ROM, up to 16384). The volume's logical block size, read from the PVD, is
// independent of it: extents are in logical blocks, volume descriptors and directory records in
// 2048-byte logical sectors [ECMA-119 6.1.2], device reads in device blocks, and none is assumed
// to equal another. Every read goes through block::ReadBlocks into a caller-provided scratch
// buffer (its address is the real address handed to the driver, as for block::ReadPartitions;
// host tests pass a host pointer), of at least ScratchBytes(device.block_size) bytes.
//
// Everything read from the medium is range-checked before use; a hostile image is an error,
// never a crash or an unbounded walk: at most kMaxDescriptors volume descriptors, paths of at
// most kMaxPathComponents components, directories of at most kMaxDirectoryBytes and
// kMaxDirectoryRecords records, at most kMaxContinuations SUSP continuation areas per record, no
// directory whose extent overlaps one of its ancestors', and every extent inside the volume,
// which lies inside the device. Both-byte-order fields [ECMA-119 7.2.3, 7.3.3] are read from
// their little-endian half, as Linux and GRUB read them.
#pragma once

#include "block/device.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace fs {

// ECMA-119 6.1.2: logical sectors of 2048 bytes on every medium whose physical sectors hold at
// most 2048 bytes; the volume descriptor set starts at sector 16 [6.2.1, 8.1].
inline constexpr uint32_t kSectorSize = 2048;
inline constexpr uint64_t kFirstDescriptorSector = 16;

// Bounds (see the header comment). A descriptor set holds a PVD, an El Torito boot record, a
// Joliet SVD and the terminator: 32 is plenty. An installer's deepest boot path
// (\boot\grub\powerpc-ieee1275\core.elf) has 4 components. A directory of 4 MiB holds about
// 16,000 Rock Ridge records (a distribution DVD's largest package directory is under 1 MiB).
inline constexpr uint32_t kMaxDescriptors = 32;
inline constexpr uint32_t kMaxPathComponents = 32;
inline constexpr uint32_t kMaxNameLength = 255;  // a path component, as a Rock Ridge name
inline constexpr uint64_t kMaxDirectoryBytes = uint64_t{4} << 20;
inline constexpr uint32_t kMaxDirectoryRecords = 65536;
inline constexpr uint32_t kMaxContinuations = 8;

// The scratch a reader needs for a device of `device_block_size`: two windows (a directory's
// sector and a continuation area's), each a sector or a device block, whichever is larger.
constexpr uint64_t ScratchBytes(uint32_t device_block_size) {
  return 2 * lib::Max<uint64_t>(device_block_size, kSectorSize);
}

enum class IsoError : uint8_t {
  kBadGeometry,         // the device fails block::CheckGeometry
  kScratchTooSmall,     // less than ScratchBytes(device.block_size)
  kReadFailed,          // the device failed a read (io_error says how)
  kNotIso9660,          // no "CD001" descriptor at sector 16, or a device too small to hold one
  kBadDescriptor,       // a descriptor without "CD001" before the terminator
  kNoPrimary,           // the terminator comes before any Primary Volume Descriptor
  kTooManyDescriptors,  // no PVD or terminator among the first kMaxDescriptors descriptors
  kBadPrimary,          // PVD version, logical block size or volume size out of range
  kVolumePastDevice,    // the volume space size runs past the device's end
  kBadRecord,           // a directory record's length, name length or place is out of range
  kBadSystemUse,        // a SUSP entry's length or a continuation area is out of range
  kExtentPastEnd,       // a file's or directory's extent runs past the volume's end
  kDirectoryTooLarge,   // a directory over kMaxDirectoryBytes or kMaxDirectoryRecords records
  kDirectoryLoop,       // a directory whose extent overlaps one of its ancestors'
  kBadPath,             // a component "." or "..", or longer than kMaxNameLength
  kPathTooDeep,         // more than kMaxPathComponents components
  kNotFound,            // no entry of that name
  kNotADirectory,       // a component before the last names a file
  kIsADirectory,        // the path names a directory, not a file
  kMultiExtent,         // the file is recorded in several extents [ECMA-119 9.1.6 bit 7]
  kInterleaved,         // the file is recorded interleaved [ECMA-119 9.1.7, 9.1.8]
};

const char* IsoErrorName(IsoError error);

// An opened volume. `device` must outlive it.
struct Volume {
  const block::Device* device = nullptr;
  uint32_t block_size = 0;   // logical block size [ECMA-119 8.4.12]: 512, 1024 or 2048
  uint64_t bytes = 0;        // volume space size [8.4.8] in bytes; at most device->bytes()
  uint64_t root_offset = 0;  // the root directory's extent [8.4.18], as a byte offset
  uint32_t root_size = 0;    // and its size in bytes
  bool rock_ridge = false;   // the root's "." record starts with a SUSP "SP" entry
  uint8_t susp_skip = 0;     // SP's LEN_SKP: bytes skipped at the start of each system use field
  char volume_id[33] = {};   // the volume identifier [8.4.6], trailing spaces removed
};

// A file's data: one contiguous extent of the device.
struct File {
  uint64_t offset = 0;  // byte offset of its first byte from the device's start
  uint64_t size = 0;    // bytes (ECMA-119's data length is 32 bits)
};

// Reads the volume descriptors of `device` from sector 16 up to the first PVD [ECMA-119 8.1,
// 8.4]: each must carry "CD001"; a terminator (type 255) before the PVD is kNoPrimary. The PVD
// must be of version 1 with a logical block size of 512, 1024 or 2048 and a volume space size
// that covers the descriptors read and fits the device; its root directory record must be a
// well-formed directory record whose extent lies in the volume. kReadFailed: `*io_error` (when
// not null) holds the device's error.
[[nodiscard]] lib::Result<Volume, IsoError> OpenVolume(const block::Device& device,
                                                       lib::Span<uint8_t> scratch,
                                                       block::IoError* io_error = nullptr);

// The file at `path`: components separated by '\' or '/' (an Open Firmware path as
// `\ppc\bootinfo.txt`, or `/ppc/bootinfo.txt`, `ppc\chrp\yaboot`), a leading separator
// optional and empty components ignored. Each component is compared without regard to ASCII
// case with a record's Rock Ridge name when it has one, else with its ISO 9660 name without its
// version (";1") and a trailing '.' [ECMA-119 7.5.1]. "." and ".." records and associated files
// [9.1.6 bit 2] never match. The first match in the directory wins.
[[nodiscard]] lib::Result<File, IsoError> Lookup(const Volume& volume, lib::StringView path,
                                                 lib::Span<uint8_t> scratch,
                                                 block::IoError* io_error = nullptr);

// Copies up to out.size() bytes of `file` from byte `position` into `out`, through `scratch`
// (read in as many device blocks as it holds); returns the number copied, 0 at or past the end.
// `file` must lie in the volume (kExtentPastEnd otherwise). A device failure is kReadFailed
// (`*io_error` holds the device's error), whatever was copied before it.
[[nodiscard]] lib::Result<uint64_t, IsoError> ReadFile(const Volume& volume, const File& file,
                                                       uint64_t position, lib::Span<uint8_t> out,
                                                       lib::Span<uint8_t> scratch,
                                                       block::IoError* io_error = nullptr);

}  // namespace fs
