// Partition tables (block/partitions.cc): an MBR with its logical chain, or a GPT, as a disk
// holds them, through ReadPartitions and FindPrepPartition. The disk is sparse: the input gives
// its first blocks, every later block reads as zeros, so a table may point anywhere on a disk of
// up to 2^32 blocks. The GPT CRCs can be made right by the harness (flags), so that the fuzzer
// reaches the range checks behind them: a valid CRC proves nothing about the values. Every
// partition tern calls valid must lie on the disk, listed or (GPT entries past the table's room)
// kept as the first PReP among the unlisted ones. Input: flags (bits 0-1: block size 512, 4096,
// 1024, or 520, which no disk has; bit 2: reseal the primary GPT header and array at LBA 1;
// bit 3: the backup at the last block; bits 4-5: scratch blocks - 1), the disk's block count (4
// bytes), then its first blocks.
#include <algorithm>
#include <cstring>
#include <vector>

#include "block/partitions.h"
#include "block/device.h"
#include "lib/be.h"
#include "lib/crc32.h"
#include "tests/fuzz/fuzz-support.h"

namespace {

struct SparseDisk {
  std::vector<uint8_t> data;  // the first blocks; the rest are zeros
  uint32_t block_size = 512;
  uint64_t blocks = 0;

  static lib::Result<void, block::IoError> Read(void* driver, uint64_t lba, uint32_t count,
                                                uint64_t buffer) {
    const auto* disk = static_cast<const SparseDisk*>(driver);
    if (lba > disk->blocks || count > disk->blocks - lba) fuzz::Violation("read past the disk");
    auto* out = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(buffer));
    const uint64_t start = lba * disk->block_size;
    const uint64_t bytes = uint64_t{count} * disk->block_size;
    for (uint64_t i = 0; i < bytes; ++i) {
      out[i] = start + i < disk->data.size() ? disk->data[start + i] : 0;
    }
    return lib::Ok<block::IoError>();
  }
};

// Recomputes the CRCs of the GPT header at `lba` (and of the array it names, when the input holds
// it) as a partitioning tool would write them.
void Reseal(SparseDisk& disk, uint64_t lba) {
  const uint64_t at = lba * disk.block_size;
  if (at + disk.block_size > disk.data.size()) return;
  uint8_t* header = disk.data.data() + at;
  const uint64_t array_lba = lib::LoadLe64(header + 72);
  const uint64_t array_bytes = uint64_t{lib::LoadLe32(header + 80)} * lib::LoadLe32(header + 84);
  if (array_lba < disk.data.size() / disk.block_size &&
      array_bytes <= disk.data.size() - array_lba * disk.block_size) {
    const uint32_t crc = lib::Crc32({disk.data.data() + array_lba * disk.block_size, array_bytes});
    lib::StoreLe32(header + 88, crc);
  }
  const uint32_t header_size = std::min<uint32_t>(lib::LoadLe32(header + 12), disk.block_size);
  lib::StoreLe32(header + 16, 0);
  lib::StoreLe32(header + 16, lib::Crc32({header, header_size}));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input input(data, size);
  const uint8_t flags = input.U8();
  SparseDisk disk;
  constexpr uint32_t kBlockSizes[] = {512, 4096, 1024, 520};
  disk.block_size = kBlockSizes[flags & 3];
  disk.blocks = input.U32();
  disk.data = input.Rest();
  if (disk.data.size() > disk.blocks * disk.block_size)
    disk.data.resize(disk.blocks * disk.block_size);
  if (flags & 4) Reseal(disk, 1);
  if ((flags & 8) && disk.blocks > 0) Reseal(disk, disk.blocks - 1);

  block::Device device;
  device.block_size = disk.block_size;
  device.blocks = disk.blocks;
  device.max_transfer_blocks = 0xffffffffu;
  device.read = SparseDisk::Read;
  device.driver = &disk;
  std::vector<uint8_t> scratch(uint64_t{disk.block_size} * (1 + ((flags >> 4) & 3)));
  block::IoError io_error;
  auto table = block::ReadPartitions(device, {scratch.data(), scratch.size()}, &io_error);
  if (table.is_error()) return 0;
  const block::PartitionTable& t = table.value();
  if (t.count > block::kMaxPartitions) fuzz::Violation("more partitions than the table holds");
  auto on_disk = [&](const block::Partition& p) {
    return p.start_lba <= disk.blocks && p.block_count <= disk.blocks - p.start_lba;
  };
  for (uint32_t i = 0; i < t.count; ++i) {
    const block::Partition& p = t.partitions[i];
    if (p.valid && !on_disk(p)) fuzz::Violation("a valid partition runs past the disk");
  }
  if (t.unlisted != 0 && (t.scheme != block::Scheme::kGpt || t.count != block::kMaxPartitions)) {
    fuzz::Violation("entries left unlisted while the table has room");
  }
  if (t.has_unlisted_prep) {
    const block::Partition& p = t.unlisted_prep;
    if (t.unlisted == 0 || p.gpt_type != block::kPrepGuid) {
      fuzz::Violation("an unlisted PReP partition that is none");
    }
    if (p.valid && !on_disk(p)) fuzz::Violation("a valid unlisted partition runs past the disk");
  }
  auto prep = block::FindPrepPartition(t);
  if (prep.is_ok() && !prep.value().valid) fuzz::Violation("an invalid PReP partition chosen");
  return 0;
}

namespace {

void Entry(std::vector<uint8_t>& sector, int slot, uint8_t boot, uint8_t type, uint32_t first,
           uint32_t count) {
  uint8_t* e = sector.data() + 446 + 16 * slot;
  e[0] = boot;
  e[4] = type;
  lib::StoreLe32(e + 8, first);
  lib::StoreLe32(e + 12, count);
  sector[510] = 0x55;
  sector[511] = 0xaa;
}

std::vector<uint8_t> Header(uint8_t flags, uint32_t blocks) {
  std::vector<uint8_t> out;
  fuzz::PutU8(out, flags);
  fuzz::PutU32(out, blocks);
  return out;
}

// A GPT disk's first blocks (protective MBR, header, an array of 4 entries of 128 bytes), without
// the zeros at their end (the sparse disk reads those anyway).
std::vector<uint8_t> Gpt(uint32_t block_size, uint32_t blocks) {
  const uint32_t array_blocks = 1;
  std::vector<uint8_t> image(uint64_t{block_size} * (2 + array_blocks));
  std::vector<uint8_t> mbr(block_size);
  Entry(mbr, 0, 0, 0xee, 1, blocks - 1);
  std::copy(mbr.begin(), mbr.end(), image.begin());
  uint8_t* header = image.data() + block_size;
  std::memcpy(header, "EFI PART", 8);
  lib::StoreLe32(header + 8, 0x00010000);
  lib::StoreLe32(header + 12, 92);
  lib::StoreLe64(header + 24, 1);
  lib::StoreLe64(header + 32, blocks - 1);
  lib::StoreLe64(header + 40, 2 + array_blocks);
  lib::StoreLe64(header + 48, blocks - 2 - array_blocks);
  lib::StoreLe64(header + 72, 2);
  lib::StoreLe32(header + 80, 4);
  lib::StoreLe32(header + 84, 128);
  uint8_t* entry = image.data() + 2 * block_size;
  std::memcpy(entry, block::kPrepGuid.bytes, 16);
  entry[16] = 1;
  lib::StoreLe64(entry + 32, 2 + array_blocks);
  lib::StoreLe64(entry + 40, 2 + array_blocks + 2047);
  entry += 128;
  for (int i = 0; i < 16; ++i) entry[i] = static_cast<uint8_t>(0x10 + i);  // some data type
  entry[16] = 2;
  lib::StoreLe64(entry + 32, 4096);
  lib::StoreLe64(entry + 40, blocks - 64);
  const uint32_t array_crc = lib::Crc32({image.data() + 2 * block_size, 4 * 128});
  lib::StoreLe32(header + 88, array_crc);
  lib::StoreLe32(header + 16, lib::Crc32({header, 92}));
  while (!image.empty() && image.back() == 0) image.pop_back();
  return image;
}

}  // namespace

void fuzz::MakeSeeds(Seeds& seeds) {
  {  // MBR: PReP, a primary, an extended partition with a chain of two logical ones.
    std::vector<uint8_t> image(512 * 4);
    std::vector<uint8_t> mbr(512);
    Entry(mbr, 0, 0x80, 0x41, 2048, 2048);
    Entry(mbr, 1, 0, 0x83, 4096, 8192);
    Entry(mbr, 2, 0, 0x05, 2, 100000);  // extended from block 2
    std::copy(mbr.begin(), mbr.end(), image.begin());
    std::vector<uint8_t> ebr(512);
    Entry(ebr, 0, 0, 0x83, 20000, 1000);  // relative to this EBR
    Entry(ebr, 1, 0, 0x05, 1, 50000);     // the next EBR, relative to the extended partition
    std::copy(ebr.begin(), ebr.end(), image.begin() + 2 * 512);
    std::vector<uint8_t> last(512);
    Entry(last, 0, 0, 0x83, 100, 1000);
    std::copy(last.begin(), last.end(), image.begin() + 3 * 512);
    std::vector<uint8_t> seed = Header(0, 200000);
    PutBytes(seed, image);
    seeds.Add("mbr-logical", seed);
  }
  std::vector<uint8_t> seed = Header(0x04, 100000);
  PutBytes(seed, Gpt(512, 100000));
  seeds.Add("gpt-512", seed);
}
