// block/device.h and block/deblocker.h: the geometry rule, reads split by max_transfer_blocks,
// and byte reads at any position into client memory through a bounce buffer.
#include "block/deblocker.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace {

using block::CheckGeometry;
using block::GeometryError;

// A device over a byte vector whose reads are recorded; `fail_at_request` fails that request.
struct RecordingDisk {
  RecordingDisk(uint32_t block_size, uint64_t blocks, uint32_t max_transfer)
      : image(block_size * blocks) {
    for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>(i * 7 + i / 251);
    device.block_size = block_size;
    device.blocks = blocks;
    device.max_transfer_blocks = max_transfer;
    device.read = Read;
    device.driver = this;
  }

  static lib::Result<void, block::IoError> Read(void* driver, uint64_t lba, uint32_t count,
                                                uint64_t buffer) {
    auto* disk = static_cast<RecordingDisk*>(driver);
    disk->requests.push_back({lba, count});
    if (static_cast<int>(disk->requests.size()) == disk->fail_at_request) {
      return lib::Err(block::IoError::kTimeout);
    }
    std::memcpy(reinterpret_cast<void*>(buffer), disk->image.data() + lba * disk->device.block_size,
                uint64_t{count} * disk->device.block_size);
    return lib::Ok<block::IoError>();
  }

  struct Request {
    uint64_t lba;
    uint32_t count;
  };
  std::vector<uint8_t> image;
  std::vector<Request> requests;
  int fail_at_request = 0;
  block::Device device;
};

TEST(Geometry, TheOneRule) {
  EXPECT_TRUE(CheckGeometry(512, 1).is_ok());
  EXPECT_TRUE(CheckGeometry(16384, ~uint64_t{0} / 16384).is_ok());
  EXPECT_EQ(CheckGeometry(256, 10).error(), GeometryError::kBadBlockSize);
  EXPECT_EQ(CheckGeometry(32768, 10).error(), GeometryError::kBadBlockSize);
  EXPECT_EQ(CheckGeometry(1536, 10).error(), GeometryError::kBadBlockSize);
  EXPECT_EQ(CheckGeometry(512, 0).error(), GeometryError::kNoBlocks);
  // A capacity whose bytes wrap 64 bits: virtio-blk's 2^55 sectors, READ CAPACITY(16)'s 2^64 - 1.
  EXPECT_EQ(CheckGeometry(512, uint64_t{1} << 55).error(), GeometryError::kTooLarge);
  EXPECT_EQ(CheckGeometry(4096, ~uint64_t{0}).error(), GeometryError::kTooLarge);
  EXPECT_TRUE(CheckGeometry(512, (uint64_t{1} << 55) - 1).is_ok());
}

TEST(DeviceRead, RefusesMoreThanMaxTransferAndPastTheEnd) {
  RecordingDisk disk(512, 100, 8);
  std::vector<uint8_t> buffer(512 * 16);
  const auto address = reinterpret_cast<uintptr_t>(buffer.data());
  EXPECT_EQ(disk.device.Read(0, 9, address).error(), block::IoError::kOutOfRange);
  EXPECT_EQ(disk.device.Read(95, 6, address).error(), block::IoError::kOutOfRange);
  EXPECT_TRUE(disk.device.Read(92, 8, address).is_ok());
  EXPECT_EQ(disk.requests.size(), 1u);
}

TEST(ReadBlocks, SplitsAtMaxTransfer) {
  RecordingDisk disk(512, 100, 8);
  std::vector<uint8_t> buffer(512 * 20);
  ASSERT_TRUE(
      block::ReadBlocks(disk.device, 3, 20, reinterpret_cast<uintptr_t>(buffer.data())).is_ok());
  ASSERT_EQ(disk.requests.size(), 3u);
  EXPECT_EQ(disk.requests[0].lba, 3u);
  EXPECT_EQ(disk.requests[0].count, 8u);
  EXPECT_EQ(disk.requests[1].lba, 11u);
  EXPECT_EQ(disk.requests[2].lba, 19u);
  EXPECT_EQ(disk.requests[2].count, 4u);
  EXPECT_EQ(std::memcmp(buffer.data(), disk.image.data() + 3 * 512, buffer.size()), 0);
}

TEST(ReadBlocks, NamesTheFailingRequest) {
  RecordingDisk disk(512, 100, 8);
  disk.fail_at_request = 2;
  std::vector<uint8_t> buffer(512 * 20);
  auto read = block::ReadBlocks(disk.device, 3, 20, reinterpret_cast<uintptr_t>(buffer.data()));
  ASSERT_TRUE(read.is_error());
  EXPECT_EQ(read.error().lba, 11u);
  EXPECT_EQ(read.error().error, block::IoError::kTimeout);
}

// Client memory of 64 KiB backed by a vector, and a bounce buffer of 16 KiB.
struct Client {
  Client() : ram(64 * 1024, 0xee), bounce_bytes(16 * 1024) {
    memory = lib::GuestMemory(reinterpret_cast<uintptr_t>(ram.data()), ram.size());
    bounce.host = bounce_bytes.data();
    bounce.address = reinterpret_cast<uintptr_t>(bounce_bytes.data());
    bounce.size = bounce_bytes.size();
  }
  std::vector<uint8_t> ram;
  std::vector<uint8_t> bounce_bytes;
  lib::GuestMemory memory;
  block::Bounce bounce;
};

TEST(ReadBytes, AnyPositionAnyLength) {
  RecordingDisk disk(512, 200, 4);
  Client client;
  const block::Extent extent{10, 150};
  auto read = block::ReadBytes(disk.device, extent, 700, 40000, client.memory, 100, client.bounce);
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(read.value().bytes, 40000u);
  EXPECT_FALSE(read.value().device_failed);
  EXPECT_EQ(std::memcmp(client.ram.data() + 100, disk.image.data() + 10 * 512 + 700, 40000), 0);
  EXPECT_EQ(client.ram[99], 0xee);
  EXPECT_EQ(client.ram[100 + 40000], 0xee);
  for (const auto& request : disk.requests) EXPECT_LE(request.count, 4u);
}

TEST(ReadBytes, ShortAtTheExtentsEnd) {
  RecordingDisk disk(512, 200, 64);
  Client client;
  const block::Extent extent{10, 4};
  auto read = block::ReadBytes(disk.device, extent, 2000, 1000, client.memory, 0, client.bounce);
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(read.value().bytes, 48u);
  auto past = block::ReadBytes(disk.device, extent, 2048, 1000, client.memory, 0, client.bounce);
  ASSERT_TRUE(past.is_ok());
  EXPECT_EQ(past.value().bytes, 0u);
}

// A buffer with less client RAM after it than asked for: the bytes that fit are read.
TEST(ReadBytes, ReadsWhatFitsInClientMemory) {
  RecordingDisk disk(512, 400, 128);
  Client client;
  const uint64_t address = client.ram.size() - 1000;
  auto read = block::ReadBytes(disk.device, disk.device.whole(), 0, 65536, client.memory, address,
                               client.bounce);
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(read.value().bytes, 1000u);
  EXPECT_EQ(std::memcmp(client.ram.data() + address, disk.image.data(), 1000), 0);
  // And up to the first protected byte.
  ASSERT_TRUE(client.memory.Protect(8192, 4096));
  auto before = block::ReadBytes(disk.device, disk.device.whole(), 0, 65536, client.memory, 4096,
                                 client.bounce);
  ASSERT_TRUE(before.is_ok());
  EXPECT_EQ(before.value().bytes, 4096u);
  auto inside = block::ReadBytes(disk.device, disk.device.whole(), 0, 512, client.memory, 9000,
                                 client.bounce);
  ASSERT_TRUE(inside.is_error());
  EXPECT_EQ(inside.error(), block::DeblockError::kBadAddress);
  auto outside = block::ReadBytes(disk.device, disk.device.whole(), 0, 512, client.memory,
                                  client.ram.size(), client.bounce);
  ASSERT_TRUE(outside.is_error());
  EXPECT_EQ(outside.error(), block::DeblockError::kBadAddress);
}

TEST(ReadBytes, DeviceFailureBeforeAndAfterTheFirstByte) {
  RecordingDisk disk(512, 400, 8);
  Client client;
  disk.fail_at_request = 1;
  block::ReadFailure failure;
  auto first = block::ReadBytes(disk.device, disk.device.whole(), 0, 4096, client.memory, 0,
                                client.bounce, &failure);
  ASSERT_TRUE(first.is_error());
  EXPECT_EQ(first.error(), block::DeblockError::kDevice);
  EXPECT_EQ(failure.error, block::IoError::kTimeout);
  disk.requests.clear();
  disk.fail_at_request = 3;  // the bounce holds 32 blocks: 4 requests of 8 each fill it
  auto later =
      block::ReadBytes(disk.device, disk.device.whole(), 0, 32768, client.memory, 0, client.bounce);
  ASSERT_TRUE(later.is_error());  // the first bounce fill failed: nothing was copied
  disk.requests.clear();
  disk.fail_at_request = 6;  // in the second fill
  auto second =
      block::ReadBytes(disk.device, disk.device.whole(), 0, 32768, client.memory, 0, client.bounce);
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(second.value().bytes, 16384u);
  EXPECT_TRUE(second.value().device_failed);
  EXPECT_EQ(second.value().failure.lba, 40u);
}

TEST(ReadBytes, RefusesAnExtentOffTheDevice) {
  RecordingDisk disk(512, 100, 8);
  Client client;
  auto read =
      block::ReadBytes(disk.device, block::Extent{90, 11}, 0, 512, client.memory, 0, client.bounce);
  ASSERT_TRUE(read.is_error());
  EXPECT_EQ(read.error(), block::DeblockError::kBadExtent);
}

}  // namespace
