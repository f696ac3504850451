#include "block/deblocker.h"

#include "lib/string.h"

namespace block {

lib::Result<void, ReadFailure> ReadBlocks(const Device& device, uint64_t lba, uint64_t count,
                                          uint64_t buffer) {
  if (device.max_transfer_blocks == 0) return lib::Err(ReadFailure{IoError::kNotReady, lba});
  for (uint64_t done = 0; done < count;) {
    const auto n =
        static_cast<uint32_t>(lib::Min<uint64_t>(count - done, device.max_transfer_blocks));
    if (auto read = device.Read(lba + done, n, buffer + done * device.block_size);
        read.is_error()) {
      return lib::Err(ReadFailure{read.error(), lba + done});
    }
    done += n;
  }
  return lib::Ok<ReadFailure>();
}

lib::Result<ByteRead, DeblockError> ReadBytes(const Device& device, Extent extent,
                                              uint64_t position, uint64_t size,
                                              lib::GuestMemory& memory, uint64_t address,
                                              const Bounce& bounce, ReadFailure* failure) {
  const uint64_t block_size = device.block_size;
  if (extent.first > device.blocks || extent.count > device.blocks - extent.first ||
      bounce.size < block_size || block_size == 0) {
    return lib::Err(DeblockError::kBadExtent);
  }
  const uint64_t end = extent.count * block_size;  // no wrap: CheckGeometry bounds blocks
  ByteRead result;
  if (position >= end || size == 0) return result;
  size = lib::Min(size, end - position);
  const uint64_t writable = memory.WritableBytes(address, size);
  if (writable == 0) return lib::Err(DeblockError::kBadAddress);
  size = writable;
  const uint64_t bounce_blocks = bounce.size / block_size;
  while (result.bytes < size) {
    const uint64_t at = position + result.bytes;
    const uint64_t block = at / block_size;
    const uint64_t skip = at % block_size;
    const uint64_t blocks = lib::Min(bounce_blocks, extent.count - block);
    auto read = ReadBlocks(device, extent.first + block, blocks, bounce.address);
    if (read.is_error()) {
      if (failure != nullptr) *failure = read.error();
      if (result.bytes == 0) return lib::Err(DeblockError::kDevice);
      result.device_failed = true;
      result.failure = read.error();
      return result;
    }
    const uint64_t n = lib::Min(blocks * block_size - skip, size - result.bytes);
    if (memory.Write(address + result.bytes, bounce.host + skip, n).is_error()) {
      if (result.bytes == 0) return lib::Err(DeblockError::kBadAddress);
      return result;  // checked above: only a change of the protections lands here
    }
    result.bytes += n;
  }
  return result;
}

}  // namespace block
