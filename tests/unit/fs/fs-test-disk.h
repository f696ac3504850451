// A block device over a byte image for fs/'s tests: reads copy from an image of exactly
// blocks * block_size bytes (AddressSanitizer sees any read past it), count requests, and can be
// made to fail at one block.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "block/device.h"

namespace isotest {

struct TestDisk {
  // `image` padded with zeros to whole blocks (and to `min_blocks`).
  TestDisk(std::vector<uint8_t> bytes, uint32_t block_size, uint64_t min_blocks = 0)
      : block_size(block_size), image(std::move(bytes)) {
    uint64_t blocks = (image.size() + block_size - 1) / block_size;
    if (blocks < min_blocks) blocks = min_blocks;
    image.resize(blocks * block_size, 0);
  }

  uint64_t blocks() const { return image.size() / block_size; }

  block::Device Device() {
    block::Device device;
    device.block_size = block_size;
    device.blocks = blocks();
    device.max_transfer_blocks = max_transfer_blocks;
    device.read = &Read;
    device.driver = this;
    return device;
  }

  static lib::Result<void, block::IoError> Read(void* driver, uint64_t lba, uint32_t count,
                                                uint64_t buffer) {
    auto* disk = static_cast<TestDisk*>(driver);
    ++disk->reads;
    if (disk->fail_lba >= lba && disk->fail_lba - lba < count) {
      return lib::Err(block::IoError::kTimeout);
    }
    const uint64_t bytes = uint64_t{count} * disk->block_size;
    if (lba * disk->block_size + bytes > disk->image.size()) {
      ADD_FAILURE() << "read past the image at block " << lba;
      return lib::Err(block::IoError::kOutOfRange);
    }
    std::memcpy(reinterpret_cast<uint8_t*>(buffer), disk->image.data() + lba * disk->block_size,
                bytes);
    return lib::Ok<block::IoError>();
  }

  uint32_t block_size;
  std::vector<uint8_t> image;
  uint32_t max_transfer_blocks = 64;
  uint64_t fail_lba = ~uint64_t{0};
  int reads = 0;
};

}  // namespace isotest
