// A disk as the boot manager and the client interface see it, whatever the driver behind it
// (virtio-blk today; spapr-vscsi and virtio-scsi disks next). Drivers fill one in; nothing above
// dev/ knows which driver it talks to.
#pragma once

#include "lib/result.h"
#include "lib/types.h"

namespace dev {

enum class IoError {
  kOutOfRange,   // the request runs past the last block
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

struct BlockDevice {
  uint32_t block_size = 0;  // bytes per block, a power of two from 512 to 16384
  uint64_t blocks = 0;      // number of blocks
  // Reads `count` blocks from `lba` into `buffer`, a real (guest-physical) address in guest RAM.
  lib::Result<void, IoError> (*read)(void* driver, uint64_t lba, uint32_t count,
                                     uint64_t buffer) = nullptr;
  void* driver = nullptr;

  lib::Result<void, IoError> Read(uint64_t lba, uint32_t count, uint64_t buffer) const {
    if (read == nullptr) return lib::Err(IoError::kNotReady);
    if (lba > blocks || count > blocks - lba) return lib::Err(IoError::kOutOfRange);
    return read(driver, lba, count, buffer);
  }
};

}  // namespace dev
