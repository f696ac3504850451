// The block contract: a disk (or a CD, or a partition's device) as everything above the drivers
// sees it, whatever carries its blocks (virtio-blk, a SCSI LUN on spapr-vscsi or virtio-scsi).
// Drivers (dev/) fill one in; the boot manager (bootmgr/) and the block package of the client
// interface (of/) read through it, and never know which driver is behind it.
//
// One geometry rule for every device, checked once when a driver starts one (CheckGeometry): a
// block size that is a power of two from 512 to 16384, at least one block, and a size in bytes
// (blocks * block_size) that does not wrap 64 bits. Reads of more than max_transfer_blocks are
// split by the caller (block/deblocker.h), never by the driver.
#pragma once

#include "lib/result.h"
#include "lib/types.h"

namespace block {

enum class IoError {
  kOutOfRange,   // the request runs past the last block, or carries more than max_transfer_blocks
  kBadBuffer,    // the buffer is not in guest RAM (or not where the device can DMA)
  kDevice,       // the device reported an error for this request
  kTimeout,      // the device did not answer in time
  kBadResponse,  // the device's answer failed a range check
  kNotReady,     // the device was never brought up, or has been reset for the OS
};

constexpr const char* IoErrorName(IoError error) {
  switch (error) {
    case IoError::kOutOfRange: return "request past the end of the disk";
    case IoError::kBadBuffer: return "buffer outside guest RAM";
    case IoError::kDevice: return "device error";
    case IoError::kTimeout: return "device timeout";
    case IoError::kBadResponse: return "malformed device response";
    case IoError::kNotReady: return "device not ready";
  }
  return "I/O error";
}

inline constexpr uint32_t kMinBlockSize = 512;
inline constexpr uint32_t kMaxBlockSize = 16384;

enum class GeometryError {
  kBadBlockSize,  // not a power of two from 512 to 16384
  kNoBlocks,      // a capacity of zero blocks (or less than one block)
  kTooLarge,      // blocks * block_size does not fit 64 bits
};

constexpr const char* GeometryErrorName(GeometryError error) {
  switch (error) {
    case GeometryError::kBadBlockSize: return "block size is not a power of two from 512 to 16384";
    case GeometryError::kNoBlocks: return "capacity of less than one block";
    case GeometryError::kTooLarge: return "size in bytes does not fit 64 bits";
  }
  return "bad geometry";
}

// The geometry rule above.
constexpr lib::Result<void, GeometryError> CheckGeometry(uint32_t block_size, uint64_t blocks) {
  if (!lib::IsPowerOfTwo(block_size) || block_size < kMinBlockSize || block_size > kMaxBlockSize) {
    return lib::Err(GeometryError::kBadBlockSize);
  }
  if (blocks == 0) return lib::Err(GeometryError::kNoBlocks);
  if (blocks > ~uint64_t{0} / block_size) return lib::Err(GeometryError::kTooLarge);
  return lib::Ok<GeometryError>();
}

// What a device's medium is, for the boot order (QEMU's -boot letters: c disks, d CD-ROMs) and
// the aliases (disk, cdrom).
enum class Media : uint8_t { kDisk, kCdrom };

// Blocks [first, first + count) of a device: the whole device or one partition.
struct Extent {
  uint64_t first = 0;
  uint64_t count = 0;
};

struct Device {
  uint32_t block_size = 0;           // bytes per block (CheckGeometry)
  uint64_t blocks = 0;               // number of blocks
  uint32_t max_transfer_blocks = 0;  // the most blocks one read may carry (at least 1)
  // Reads `count` (1..max_transfer_blocks) blocks from `lba` into `buffer`, a real
  // (guest-physical) address in guest RAM the device can DMA to.
  lib::Result<void, IoError> (*read)(void* driver, uint64_t lba, uint32_t count,
                                     uint64_t buffer) = nullptr;
  void* driver = nullptr;

  uint64_t bytes() const { return blocks * block_size; }
  Extent whole() const { return Extent{0, blocks}; }

  // One request, checked against the device's end and its max_transfer_blocks.
  lib::Result<void, IoError> Read(uint64_t lba, uint32_t count, uint64_t buffer) const {
    if (read == nullptr) return lib::Err(IoError::kNotReady);
    if (lba > blocks || count > blocks - lba || count > max_transfer_blocks) {
      return lib::Err(IoError::kOutOfRange);
    }
    if (count == 0) return lib::Ok<IoError>();
    return read(driver, lba, count, buffer);
  }
};

// Blocks [extent.first, extent.first + extent.count) of `parent` as a device of their own: a
// partition's device, which a file system reads as it reads a whole disk. The extent must lie in
// the parent (LabelExtent's and ReadPartitions' do); the slice refers to itself and to `parent`,
// so it is neither copied nor outlives the parent.
class SliceDevice {
 public:
  SliceDevice(const Device& parent, Extent extent) : parent_(parent), first_(extent.first) {
    device_.block_size = parent.block_size;
    device_.blocks = extent.count;
    device_.max_transfer_blocks = parent.max_transfer_blocks;
    device_.read = ReadSlice;
    device_.driver = this;
  }
  SliceDevice(const SliceDevice&) = delete;
  SliceDevice& operator=(const SliceDevice&) = delete;

  const Device& device() const { return device_; }

 private:
  static lib::Result<void, IoError> ReadSlice(void* self, uint64_t lba, uint32_t count,
                                              uint64_t buffer) {
    const auto* slice = static_cast<const SliceDevice*>(self);
    return slice->parent_.Read(slice->first_ + lba, count, buffer);
  }

  const Device& parent_;
  uint64_t first_;
  Device device_;
};

}  // namespace block
