// The deblocker: reads of any length from a block device, split into requests of at most the
// device's max_transfer_blocks (the only place a read is split), and byte-granular reads at any
// position of an extent, through a bounce buffer, into memory a client owns. SLOF's
// slof/fs/packages/deblocker.fs plays the same part for its disk packages [IEEE 1275 3.8.3, the
// "deblocker" support package].
#pragma once

#include "block/device.h"
#include "lib/guest-memory.h"
#include "lib/result.h"
#include "lib/types.h"

namespace block {

// Where a read failed: the device's error and the first block of the request it failed.
struct ReadFailure {
  IoError error = IoError::kDevice;
  uint64_t lba = 0;
};

// Reads blocks [lba, lba + count) of `device` to real address `buffer` (DMA-able guest RAM), in
// requests of at most max_transfer_blocks.
lib::Result<void, ReadFailure> ReadBlocks(const Device& device, uint64_t lba, uint64_t count,
                                          uint64_t buffer);

// A firmware buffer the device reads into before bytes are copied out: `address` is its real
// address, `host` the same bytes for the firmware; `size` a multiple of kMaxBlockSize.
struct Bounce {
  uint8_t* host = nullptr;
  uint64_t address = 0;
  uint64_t size = 0;
};

enum class DeblockError {
  kDevice,      // the device failed before any byte was copied (failure says how)
  kBadAddress,  // nothing at the destination is writable client memory
  kBadExtent,   // the extent does not lie on the device, or the bounce buffer is unusable
};

struct ByteRead {
  uint64_t bytes = 0;          // copied to the destination
  bool device_failed = false;  // the read stopped early at a device error (after `bytes`)
  ReadFailure failure;         // that error
};

// Reads up to `size` bytes at byte `position` of `extent` of `device` into client memory at
// `address` of `memory`. Stops early at the extent's end, at the first byte of the destination
// that is not writable (GuestMemory::WritableBytes: the bytes that fit are read), or at a device
// error after some bytes were copied (device_failed). A position at or past the end reads 0
// bytes.
lib::Result<ByteRead, DeblockError> ReadBytes(const Device& device, Extent extent,
                                              uint64_t position, uint64_t size,
                                              lib::GuestMemory& memory, uint64_t address,
                                              const Bounce& bounce, ReadFailure* failure = nullptr);

}  // namespace block
