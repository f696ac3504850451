// block/partitions.h: MBR (primary and logical partitions), GPT (primary and backup), and the
// choice of the PReP partition, on disk images built here byte by byte. The disk's read callback
// copies from an exact-size image, so AddressSanitizer reports any read the checks let past it.
#include "block/partitions.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "lib/crc32.h"

namespace {

using block::Partition;
using block::PartitionError;
using block::PartitionTable;
using block::Scheme;

// A disk backed by a byte vector; `fail_lba` makes any read touching that block fail.
struct TestDisk {
  TestDisk(uint32_t block_size, uint64_t blocks)
      : block_size(block_size), image(block_size * blocks, 0) {}

  uint64_t blocks() const { return image.size() / block_size; }
  uint8_t* block(uint64_t lba) { return image.data() + lba * block_size; }

  block::Device Device() {
    block::Device device;
    device.block_size = block_size;
    device.blocks = blocks();
    device.max_transfer_blocks = 0xffffffffu;
    device.read = &ReadBlocks;
    device.driver = this;
    return device;
  }

  static lib::Result<void, block::IoError> ReadBlocks(void* driver, uint64_t lba, uint32_t count,
                                                      uint64_t buffer) {
    auto* disk = static_cast<TestDisk*>(driver);
    ++disk->reads;
    if (disk->fail_lba >= lba && disk->fail_lba - lba < count) {
      return lib::Err(block::IoError::kTimeout);
    }
    const uint64_t bytes = uint64_t{count} * disk->block_size;
    if (lba * disk->block_size + bytes > disk->image.size()) {
      ADD_FAILURE() << "read past the image at " << lba;
      return lib::Err(block::IoError::kOutOfRange);
    }
    std::memcpy(reinterpret_cast<uint8_t*>(buffer), disk->image.data() + lba * disk->block_size,
                bytes);
    return lib::Ok<block::IoError>();
  }

  uint32_t block_size;
  std::vector<uint8_t> image;
  uint64_t fail_lba = ~uint64_t{0};
  int reads = 0;
};

void PutLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutLe64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// An MBR-style entry (MBR or EBR) in `sector`, and the 0x55AA signature.
void SetEntry(uint8_t* sector, int slot, uint8_t boot, uint8_t type, uint32_t start,
              uint32_t count) {
  uint8_t* entry = sector + 446 + 16 * slot;
  entry[0] = boot;
  entry[4] = type;
  PutLe32(entry + 8, start);
  PutLe32(entry + 12, count);
  sector[510] = 0x55;
  sector[511] = 0xAA;
}

struct ReadOutcome {
  lib::Result<PartitionTable, PartitionError> result;
  block::IoError io_error;
};

ReadOutcome Read(TestDisk& disk, size_t scratch_blocks = 2) {
  std::vector<uint8_t> scratch(scratch_blocks * disk.block_size);
  const block::Device device = disk.Device();
  block::IoError io_error = block::IoError::kDevice;
  auto result = block::ReadPartitions(device, {scratch.data(), scratch.size()}, &io_error);
  return ReadOutcome{result, io_error};
}

PartitionTable ReadOk(TestDisk& disk, size_t scratch_blocks = 2) {
  auto outcome = Read(disk, scratch_blocks);
  EXPECT_TRUE(outcome.result.is_ok()) << block::PartitionErrorName(
      outcome.result.is_ok() ? PartitionError::kNoPrepPartition : outcome.result.error());
  return outcome.result.value_or(PartitionTable{});
}

PartitionError ReadError(TestDisk& disk, size_t scratch_blocks = 2) {
  auto outcome = Read(disk, scratch_blocks);
  EXPECT_TRUE(outcome.result.is_error());
  return outcome.result.is_error() ? outcome.result.error() : PartitionError::kNoPrepPartition;
}

std::vector<uint32_t> Numbers(const PartitionTable& table) {
  std::vector<uint32_t> numbers;
  for (uint32_t i = 0; i < table.count; ++i) numbers.push_back(table.partitions[i].number);
  return numbers;
}

const Partition* Find(const PartitionTable& table, uint32_t number) {
  for (uint32_t i = 0; i < table.count; ++i) {
    if (table.partitions[i].number == number) return &table.partitions[i];
  }
  return nullptr;
}

// ---- MBR ----

TEST(Mbr, PrimariesAreNumberedByTheirSlot) {
  TestDisk disk(512, 1000);
  SetEntry(disk.block(0), 0, 0x80, 0x41, 1, 100);
  SetEntry(disk.block(0), 1, 0x00, 0x83, 101, 500);
  SetEntry(disk.block(0), 3, 0x00, 0x82, 601, 399);  // slot 3 (number 3) empty
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(table.scheme, Scheme::kMbr);
  EXPECT_EQ(Numbers(table), (std::vector<uint32_t>{1, 2, 4}));
  const Partition& prep = table.partitions[0];
  EXPECT_TRUE(prep.valid);
  EXPECT_TRUE(prep.active);
  EXPECT_EQ(prep.mbr_type, 0x41);
  EXPECT_EQ(prep.start_lba, 1u);
  EXPECT_EQ(prep.block_count, 100u);
  EXPECT_FALSE(table.partitions[1].active);
  EXPECT_EQ(table.partitions[2].start_lba, 601u);
  EXPECT_EQ(table.partitions[2].block_count, 399u);  // ends exactly at the disk's end
  EXPECT_TRUE(table.partitions[2].valid);
  EXPECT_FALSE(table.chain_incomplete);
}

TEST(Mbr, EntriesWithoutTypeOrSizeAreEmpty) {
  TestDisk disk(512, 100);
  SetEntry(disk.block(0), 0, 0, 0x00, 1, 10);  // no type
  SetEntry(disk.block(0), 1, 0, 0x83, 1, 0);   // no size
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(table.scheme, Scheme::kMbr);
  EXPECT_EQ(table.count, 0u);
}

// Builds an extended partition at [ext, ext + ext_size) in slot 1 whose EBRs sit at `ebrs`
// (absolute LBAs); EBR i holds a logical partition of `size` blocks 1 block after it.
void BuildChain(TestDisk& disk, uint32_t ext, uint32_t ext_size, const std::vector<uint32_t>& ebrs,
                uint32_t size, uint8_t link_type = 0x05) {
  SetEntry(disk.block(0), 1, 0, 0x05, ext, ext_size);
  for (size_t i = 0; i < ebrs.size(); ++i) {
    uint8_t* ebr = disk.block(ebrs[i]);
    SetEntry(ebr, 0, 0, 0x83, 1, size);
    if (i + 1 < ebrs.size()) SetEntry(ebr, 1, 0, link_type, ebrs[i + 1] - ext, size + 1);
  }
}

TEST(Mbr, LogicalChainOfThreeIsNumberedFromFive) {
  TestDisk disk(512, 1000);
  SetEntry(disk.block(0), 0, 0, 0x83, 1, 99);
  BuildChain(disk, 100, 900, {100, 300, 500}, 50, 0x0F);
  // The last EBR's unused slots 2 and 3 hold garbage that must be ignored.
  SetEntry(disk.block(500), 2, 0x12, 0x83, 0xffffffff, 0xffffffff);
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(Numbers(table), (std::vector<uint32_t>{1, 2, 5, 6, 7}));
  EXPECT_EQ(Find(table, 2)->mbr_type, 0x05);  // the extended partition itself
  for (uint32_t number = 5; number <= 7; ++number) {
    const Partition* logical = Find(table, number);
    ASSERT_NE(logical, nullptr);
    EXPECT_TRUE(logical->valid);
    EXPECT_EQ(logical->start_lba, 100u + 200u * (number - 5) + 1);  // relative to its own EBR
    EXPECT_EQ(logical->block_count, 50u);
  }
  EXPECT_FALSE(table.chain_incomplete);
}

TEST(Mbr, AnEbrWithoutALogicalPartitionTakesNoNumber) {
  TestDisk disk(512, 1000);
  BuildChain(disk, 100, 900, {100, 300, 500}, 50);
  std::memset(disk.block(300) + 446, 0, 16);  // EBR 2: only the link
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(Numbers(table), (std::vector<uint32_t>{2, 5, 6}));
  EXPECT_EQ(Find(table, 6)->start_lba, 501u);
}

TEST(Mbr, LoopingChainStopsAndKeepsWhatItFound) {
  TestDisk disk(512, 1000);
  BuildChain(disk, 100, 900, {100, 300}, 50);
  SetEntry(disk.block(300), 1, 0, 0x05, 0, 10);  // back to the first EBR
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(Numbers(table), (std::vector<uint32_t>{2, 5, 6}));
  EXPECT_TRUE(table.chain_incomplete);
  EXPECT_EQ(table.chain_error, PartitionError::kChainLoop);
  EXPECT_LE(disk.reads, 4);
  // No PReP partition found before the break: the break is the reason given.
  auto prep = block::FindPrepPartition(table);
  ASSERT_TRUE(prep.is_error());
  EXPECT_EQ(prep.error(), PartitionError::kChainLoop);
}

TEST(Mbr, SelfLinkedEbrIsALoop) {
  TestDisk disk(512, 1000);
  BuildChain(disk, 100, 900, {100}, 50);
  SetEntry(disk.block(100), 1, 0, 0x05, 0, 10);
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(Numbers(table), (std::vector<uint32_t>{2, 5}));
  EXPECT_EQ(table.chain_error, PartitionError::kChainLoop);
}

TEST(Mbr, ChainLongerThanTheHopLimitStops) {
  const uint32_t hops = block::kMaxEbrHops + 5;
  TestDisk disk(512, 10 + hops);
  std::vector<uint32_t> ebrs;
  for (uint32_t i = 0; i < hops; ++i) ebrs.push_back(10 + i);
  BuildChain(disk, 10, hops, ebrs, 1);
  for (uint32_t lba : ebrs) std::memset(disk.block(lba) + 446, 0, 16);  // links only
  const PartitionTable table = ReadOk(disk);
  EXPECT_TRUE(table.chain_incomplete);
  EXPECT_EQ(table.chain_error, PartitionError::kChainTooLong);
  EXPECT_EQ(disk.reads, 1 + static_cast<int>(block::kMaxEbrHops));
}

TEST(Mbr, EbrLinkPastTheDiskEndStopsTheChain) {
  TestDisk disk(512, 1000);
  BuildChain(disk, 100, 900, {100, 300}, 50);
  SetEntry(disk.block(300), 1, 0, 0x05, 5000, 10);
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(Numbers(table), (std::vector<uint32_t>{2, 5, 6}));
  EXPECT_TRUE(table.chain_incomplete);
  EXPECT_EQ(table.chain_error, PartitionError::kEntryPastEnd);
}

TEST(Mbr, EbrLinkOutsideTheExtendedPartitionStopsTheChain) {
  TestDisk disk(512, 1000);
  BuildChain(disk, 100, 400, {100, 300}, 50);
  SetEntry(disk.block(300), 1, 0, 0x05, 450, 10);  // LBA 550: on the disk, past the container
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(table.chain_error, PartitionError::kEntryBadRange);
  EXPECT_EQ(Numbers(table), (std::vector<uint32_t>{2, 5, 6}));
}

TEST(Mbr, EbrWithoutSignatureStopsTheChain) {
  TestDisk disk(512, 1000);
  BuildChain(disk, 100, 900, {100, 300, 500}, 50);
  disk.block(300)[511] = 0;
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(Numbers(table), (std::vector<uint32_t>{2, 5}));
  EXPECT_EQ(table.chain_error, PartitionError::kNoSignature);
}

TEST(Mbr, UnreadableEbrStopsTheChainWithTheDevicesError) {
  TestDisk disk(512, 1000);
  BuildChain(disk, 100, 900, {100, 300, 500}, 50);
  disk.fail_lba = 300;
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(Numbers(table), (std::vector<uint32_t>{2, 5}));
  EXPECT_EQ(table.chain_error, PartitionError::kReadFailed);
  EXPECT_EQ(table.chain_io_error, block::IoError::kTimeout);
}

TEST(Mbr, LogicalPartitionsOutsideTheirContainerAreInvalid) {
  TestDisk disk(512, 1000);
  BuildChain(disk, 100, 400, {100, 300}, 50);
  SetEntry(disk.block(100), 0, 0, 0x83, 0, 10);   // starts on its own EBR
  SetEntry(disk.block(300), 0, 0, 0x41, 1, 300);  // ends past the extended partition
  const PartitionTable table = ReadOk(disk);
  ASSERT_EQ(Numbers(table), (std::vector<uint32_t>{2, 5, 6}));
  EXPECT_FALSE(Find(table, 5)->valid);
  EXPECT_EQ(Find(table, 5)->problem, PartitionError::kEntryBadRange);
  EXPECT_FALSE(Find(table, 6)->valid);
  EXPECT_EQ(Find(table, 6)->problem, PartitionError::kEntryBadRange);
  // The only PReP partition is invalid: its problem is the reason.
  auto prep = block::FindPrepPartition(table);
  ASSERT_TRUE(prep.is_error());
  EXPECT_EQ(prep.error(), PartitionError::kEntryBadRange);
}

TEST(Mbr, TooManyLogicalPartitionsStopTheChainAtTheLimit) {
  const uint32_t logicals = block::kMaxPartitions + 3;
  TestDisk disk(512, 10 + 2 * logicals);
  std::vector<uint32_t> ebrs;
  for (uint32_t i = 0; i < logicals; ++i) ebrs.push_back(10 + 2 * i);
  BuildChain(disk, 10, 2 * logicals, ebrs, 1);
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(table.count, block::kMaxPartitions);
  EXPECT_TRUE(table.chain_incomplete);
  EXPECT_EQ(table.chain_error, PartitionError::kTooManyPartitions);
  EXPECT_EQ(table.partitions[table.count - 1].number, 4 + block::kMaxPartitions - 1);
}

TEST(Mbr, MissingSignatureIsNoTable) {
  TestDisk disk(512, 100);
  SetEntry(disk.block(0), 0, 0x80, 0x41, 1, 10);
  disk.block(0)[510] = 0;
  EXPECT_EQ(ReadError(disk), PartitionError::kNoSignature);
  disk.block(0)[510] = 0x55;
  disk.block(0)[511] = 0x55;
  EXPECT_EQ(ReadError(disk), PartitionError::kNoSignature);
}

TEST(Mbr, BootSectorWithOtherBootIndicatorsIsNoTable) {
  TestDisk disk(512, 100);
  SetEntry(disk.block(0), 0, 0x80, 0x41, 1, 10);
  SetEntry(disk.block(0), 2, 0x12, 0x00, 0, 0);
  EXPECT_EQ(ReadError(disk), PartitionError::kNotPartitionTable);
}

TEST(Mbr, TruncatedDiskMakesTheEntriesPastItsEndInvalid) {
  TestDisk disk(512, 500);  // the table was written for a disk of 1000 blocks
  SetEntry(disk.block(0), 0, 0x80, 0x41, 1, 100);
  SetEntry(disk.block(0), 1, 0, 0x83, 101, 899);
  SetEntry(disk.block(0), 2, 0, 0x83, 4000, 10);  // starts past the end
  const PartitionTable table = ReadOk(disk);
  ASSERT_EQ(Numbers(table), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_TRUE(table.partitions[0].valid);
  EXPECT_FALSE(table.partitions[1].valid);
  EXPECT_EQ(table.partitions[1].problem, PartitionError::kEntryPastEnd);
  EXPECT_EQ(table.partitions[2].problem, PartitionError::kEntryPastEnd);
  // A PReP partition past the end is never chosen, and its problem is the reason.
  SetEntry(disk.block(0), 0, 0x80, 0x41, 450, 100);
  auto prep = block::FindPrepPartition(ReadOk(disk));
  ASSERT_TRUE(prep.is_error());
  EXPECT_EQ(prep.error(), PartitionError::kEntryPastEnd);
}

TEST(Mbr, ExtendedPartitionPastTheEndIsNotFollowed) {
  TestDisk disk(512, 500);
  BuildChain(disk, 100, 900, {100, 300}, 50);
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(Numbers(table), (std::vector<uint32_t>{2}));
  EXPECT_TRUE(table.chain_incomplete);
  EXPECT_EQ(table.chain_error, PartitionError::kEntryPastEnd);
  EXPECT_EQ(disk.reads, 1);
}

TEST(Mbr, FourKibBlocksCountInBlocks) {
  TestDisk disk(4096, 256);
  SetEntry(disk.block(0), 0, 0x80, 0x41, 1, 2);  // 8 KiB
  BuildChain(disk, 10, 246, {10, 20}, 5);
  const PartitionTable table = ReadOk(disk, 1);
  EXPECT_EQ(Numbers(table), (std::vector<uint32_t>{1, 2, 5, 6}));
  EXPECT_EQ(Find(table, 1)->block_count, 2u);
  EXPECT_EQ(Find(table, 6)->start_lba, 21u);
  // The signature is at byte 510 of the first block, not at the end of the 4 KiB block.
  EXPECT_EQ(disk.block(0)[510], 0x55);
}

TEST(Mbr, UnreadableFirstBlockCarriesTheDevicesError) {
  TestDisk disk(512, 100);
  SetEntry(disk.block(0), 0, 0x80, 0x41, 1, 10);
  disk.fail_lba = 0;
  auto outcome = Read(disk);
  ASSERT_TRUE(outcome.result.is_error());
  EXPECT_EQ(outcome.result.error(), PartitionError::kReadFailed);
  EXPECT_EQ(outcome.io_error, block::IoError::kTimeout);
}

TEST(Disk, GeometryAndScratchAreChecked) {
  TestDisk disk(512, 100);
  SetEntry(disk.block(0), 0, 0x80, 0x41, 1, 10);
  EXPECT_EQ(ReadError(disk, 0), PartitionError::kScratchTooSmall);
  std::vector<uint8_t> scratch(16384);
  for (uint32_t bad_size : {0u, 256u, 1000u, 32768u}) {
    block::Device device = disk.Device();
    device.block_size = bad_size;
    auto result = block::ReadPartitions(device, {scratch.data(), scratch.size()});
    ASSERT_TRUE(result.is_error());
    EXPECT_EQ(result.error(), PartitionError::kBadGeometry) << bad_size;
  }
  block::Device empty = disk.Device();
  empty.blocks = 0;
  auto result = block::ReadPartitions(empty, {scratch.data(), scratch.size()});
  ASSERT_TRUE(result.is_error());
  EXPECT_EQ(result.error(), PartitionError::kBadGeometry);
  // A device no driver brought up is a read failure.
  block::Device unready = disk.Device();
  unready.read = nullptr;
  block::IoError io_error = block::IoError::kDevice;
  result = block::ReadPartitions(unready, {scratch.data(), scratch.size()}, &io_error);
  ASSERT_TRUE(result.is_error());
  EXPECT_EQ(result.error(), PartitionError::kReadFailed);
  EXPECT_EQ(io_error, block::IoError::kNotReady);
}

// ---- GPT ----

constexpr block::Guid kLinuxData =
    block::GuidFromFields(0x0FC63DAF, 0x8483, 0x4772, 0x8E793D69D8477DE4ull);

TEST(Guid, PrepGuidHasTheMixedEndianDiskBytes) {
  const uint8_t on_disk[16] = {0x38, 0x2D, 0x1A, 0x9E, 0x12, 0xC6, 0x16, 0x43,
                               0xAA, 0x26, 0x8B, 0x49, 0x52, 0x1E, 0x5A, 0x8B};
  EXPECT_EQ(std::memcmp(block::kPrepGuid.bytes, on_disk, 16), 0);
  EXPECT_TRUE(block::kPrepGuid != kLinuxData);
  EXPECT_TRUE(block::Guid{}.IsZero());
  EXPECT_FALSE(block::kPrepGuid.IsZero());
}

struct GptEntry {
  uint32_t index;  // position in the array (number - 1)
  block::Guid type;
  uint64_t first;
  uint64_t last;
  uint64_t attributes = 0;
};

struct GptLayout {
  uint32_t entry_count = 128;
  uint32_t entry_size = 128;
};

uint64_t ArrayBlocks(const TestDisk& disk, const GptLayout& layout) {
  return (uint64_t{layout.entry_count} * layout.entry_size + disk.block_size - 1) / disk.block_size;
}

void SealHeader(TestDisk& disk, uint64_t lba) {
  uint8_t* header = disk.block(lba);
  PutLe32(header + 16, 0);
  PutLe32(header + 16, lib::Crc32({header, 92}));
}

// Writes a protective MBR, the primary GPT (header at 1, array at 2) and the backup (array just
// before the header at the last block), both with correct CRCs.
void BuildGpt(TestDisk& disk, const std::vector<GptEntry>& entries, GptLayout layout = {}) {
  SetEntry(disk.block(0), 0, 0, 0xEE, 1, static_cast<uint32_t>(disk.blocks() - 1));
  const uint64_t array_blocks = ArrayBlocks(disk, layout);
  std::vector<uint8_t> array(array_blocks * disk.block_size, 0);
  for (const GptEntry& entry : entries) {
    uint8_t* e = array.data() + uint64_t{entry.index} * layout.entry_size;
    std::memcpy(e, entry.type.bytes, 16);
    for (int i = 0; i < 16; ++i) e[16 + i] = static_cast<uint8_t>(entry.index + i);
    PutLe64(e + 32, entry.first);
    PutLe64(e + 40, entry.last);
    PutLe64(e + 48, entry.attributes);
  }
  const uint32_t array_crc =
      lib::Crc32({array.data(), uint64_t{layout.entry_count} * layout.entry_size});
  const uint64_t last = disk.blocks() - 1;
  const uint64_t backup_array = last - array_blocks;
  for (const auto& [header_lba, alternate, array_lba] :
       {std::tuple{uint64_t{1}, last, uint64_t{2}}, std::tuple{last, uint64_t{1}, backup_array}}) {
    uint8_t* header = disk.block(header_lba);
    std::memcpy(header, "EFI PART", 8);
    PutLe32(header + 8, 0x00010000);
    PutLe32(header + 12, 92);
    PutLe64(header + 24, header_lba);
    PutLe64(header + 32, alternate);
    PutLe64(header + 40, 2 + array_blocks);
    PutLe64(header + 48, backup_array - 1);
    for (int i = 0; i < 16; ++i) header[56 + i] = static_cast<uint8_t>(0xd0 + i);
    PutLe64(header + 72, array_lba);
    PutLe32(header + 80, layout.entry_count);
    PutLe32(header + 84, layout.entry_size);
    PutLe32(header + 88, array_crc);
    SealHeader(disk, header_lba);
    if (!array.empty()) std::memcpy(disk.block(array_lba), array.data(), array.size());
  }
}

std::vector<GptEntry> StandardEntries() {
  return {{0, block::kPrepGuid, 34, 34 + 2047},
          {1, kLinuxData, 2082, 4095, 1ull << 60},
          {3, kLinuxData, 4096, 8000}};
}

void ExpectStandardTable(const PartitionTable& table) {
  EXPECT_EQ(table.scheme, Scheme::kGpt);
  ASSERT_EQ(Numbers(table), (std::vector<uint32_t>{1, 2, 4}));
  const Partition& prep = table.partitions[0];
  EXPECT_TRUE(prep.valid);
  EXPECT_TRUE(prep.active);
  EXPECT_TRUE(prep.gpt_type == block::kPrepGuid);
  EXPECT_EQ(prep.start_lba, 34u);
  EXPECT_EQ(prep.block_count, 2048u);  // last LBA inclusive
  EXPECT_TRUE(table.partitions[1].gpt_type == kLinuxData);
  EXPECT_EQ(table.partitions[1].gpt_attributes, 1ull << 60);
  EXPECT_EQ(table.partitions[2].start_lba, 4096u);
  EXPECT_EQ(table.partitions[2].block_count, 3905u);
}

TEST(Gpt, GoodTableIsReadFromThePrimary) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, StandardEntries());
  const PartitionTable table = ReadOk(disk);
  ExpectStandardTable(table);
  EXPECT_FALSE(table.used_backup_gpt);
  auto prep = block::FindPrepPartition(table);
  ASSERT_TRUE(prep.is_ok());
  EXPECT_EQ(prep.value().number, 1u);
  EXPECT_TRUE(prep.value().active);
}

TEST(Gpt, ArrayIsReadInPiecesThroughAOneBlockScratch) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, StandardEntries());
  disk.reads = 0;
  ExpectStandardTable(ReadOk(disk, 1));
  EXPECT_EQ(disk.reads, 2 + 32);  // MBR, header, 32 array blocks one by one
  disk.reads = 0;
  ExpectStandardTable(ReadOk(disk, 64));
  EXPECT_EQ(disk.reads, 3);
}

TEST(Gpt, BadPrimaryHeaderCrcFallsBackToTheBackup) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, StandardEntries());
  disk.block(1)[40] ^= 1;  // first usable LBA, under the CRC
  const PartitionTable table = ReadOk(disk);
  ExpectStandardTable(table);
  EXPECT_TRUE(table.used_backup_gpt);
  EXPECT_EQ(table.primary_gpt_error, PartitionError::kGptHeaderCrc);
}

TEST(Gpt, BothHeadersBadIsAnError) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, StandardEntries());
  disk.block(1)[40] ^= 1;
  disk.block(9999)[40] ^= 1;
  EXPECT_EQ(ReadError(disk), PartitionError::kGptHeaderCrc);
  // The error is the primary's even when the backup fails differently.
  std::memset(disk.block(9999), 0, 512);
  EXPECT_EQ(ReadError(disk), PartitionError::kGptHeaderCrc);
}

TEST(Gpt, BadArrayCrcFallsBackToTheBackupArray) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, StandardEntries());
  disk.block(2)[40] ^= 1;  // inside entry 0 of the primary array
  const PartitionTable table = ReadOk(disk);
  ExpectStandardTable(table);
  EXPECT_TRUE(table.used_backup_gpt);
  EXPECT_EQ(table.primary_gpt_error, PartitionError::kGptEntriesCrc);
  // Both arrays damaged (here in an unused entry's bytes: the CRC covers them all).
  disk.block(9999 - 32 + 31)[500] ^= 1;
  EXPECT_EQ(ReadError(disk), PartitionError::kGptEntriesCrc);
}

TEST(Gpt, HeaderFieldsAreCheckedEvenUnderAValidCrc) {
  struct Case {
    uint32_t offset;
    uint64_t value;
    int width;
    PartitionError error;
  };
  const Case cases[] = {
      {8, 0x00020000, 4, PartitionError::kGptBadHeader},  // revision 2.0
      {12, 91, 4, PartitionError::kGptBadHeader},         // header size below 92
      {12, 513, 4, PartitionError::kGptBadHeader},        // header size above the block
      {24, 2, 8, PartitionError::kGptBadHeader},          // MyLBA not where it was read
      {40, 1, 8, PartitionError::kGptBadHeader},          // usable range holds LBA 1
      {40, 9980, 8, PartitionError::kGptBadHeader},       // first usable above last usable
      {48, 9999, 8, PartitionError::kGptBadHeader},       // usable range holds the last LBA
      {48, 10000, 8, PartitionError::kTruncated},         // last usable past the disk
      {72, 9990, 8, PartitionError::kTruncated},          // array past the disk
      {72, 100, 8, PartitionError::kGptBadHeader},        // array inside the usable range
      {72, 0, 8, PartitionError::kGptBadHeader},          // array over the MBR
      {72, 1, 8, PartitionError::kGptBadHeader},          // array over the primary header
      {72, 9968, 8, PartitionError::kGptBadHeader},       // array over the backup header
      {80, 1025, 4, PartitionError::kGptBadHeader},       // too many entries
      {84, 100, 4, PartitionError::kGptBadHeader},        // entry size below 128
      {84, 384, 4, PartitionError::kGptBadHeader},        // entry size not 128 x 2^n
      {84, 8192, 4, PartitionError::kGptBadHeader},       // entry size above tern's bound
  };
  for (const Case& c : cases) {
    TestDisk disk(512, 10000);
    BuildGpt(disk, StandardEntries());
    for (uint64_t lba : {uint64_t{1}, uint64_t{9999}}) {
      uint8_t* header = disk.block(lba);
      if (c.width == 4) PutLe32(header + c.offset, static_cast<uint32_t>(c.value));
      if (c.width == 8) PutLe64(header + c.offset, c.value);
      if (c.offset == 24 && lba == 9999) PutLe64(header + 24, 9998);
      SealHeader(disk, lba);
    }
    EXPECT_EQ(ReadError(disk), c.error) << "offset " << c.offset << " value " << c.value;
  }
}

TEST(Gpt, TruncatedDiskLosesItsBackupAndIsRefused) {
  TestDisk full(512, 10000);
  BuildGpt(full, StandardEntries());
  TestDisk disk(512, 5000);
  std::memcpy(disk.image.data(), full.image.data(), disk.image.size());
  EXPECT_EQ(ReadError(disk), PartitionError::kTruncated);
  // A disk too small to hold a GPT header at all.
  TestDisk tiny(512, 1);
  SetEntry(tiny.block(0), 0, 0, 0xEE, 1, 100);
  EXPECT_EQ(ReadError(tiny), PartitionError::kTruncated);
}

TEST(Gpt, GrownDiskStillReadsItsPrimary) {
  TestDisk small(512, 10000);
  BuildGpt(small, StandardEntries());
  TestDisk disk(512, 20000);  // the backup is no longer at the last block
  std::memcpy(disk.image.data(), small.image.data(), small.image.size());
  const PartitionTable table = ReadOk(disk);
  ExpectStandardTable(table);
  EXPECT_FALSE(table.used_backup_gpt);
}

TEST(Gpt, EntriesOutsideTheUsableRangeAreInvalid) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, {{0, block::kPrepGuid, 20, 100},  // starts before the first usable LBA
                  {1, kLinuxData, 9000, 12000},    // past the disk's end
                  {2, kLinuxData, 500, 400},       // ends before it starts
                  {3, block::kPrepGuid, 100, 200}});
  const PartitionTable table = ReadOk(disk);
  ASSERT_EQ(Numbers(table), (std::vector<uint32_t>{1, 2, 3, 4}));
  EXPECT_EQ(table.partitions[0].problem, PartitionError::kEntryBadRange);
  EXPECT_FALSE(table.partitions[0].valid);
  EXPECT_EQ(table.partitions[1].problem, PartitionError::kEntryPastEnd);
  EXPECT_EQ(table.partitions[2].problem, PartitionError::kEntryBadRange);
  EXPECT_TRUE(table.partitions[3].valid);
  auto prep = block::FindPrepPartition(table);
  ASSERT_TRUE(prep.is_ok());
  EXPECT_EQ(prep.value().number, 4u);
}

TEST(Gpt, LargerEntriesAndFewerOfThem) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, {{0, kLinuxData, 100, 199}, {5, block::kPrepGuid, 300, 399}}, {16, 256});
  const PartitionTable table = ReadOk(disk, 1);
  ASSERT_EQ(Numbers(table), (std::vector<uint32_t>{1, 6}));
  EXPECT_EQ(table.partitions[1].start_lba, 300u);
}

TEST(Gpt, EntriesLargerThanABlockAreReadByTheirFirstBlock) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, {{0, kLinuxData, 100, 199}, {2, block::kPrepGuid, 300, 399}}, {4, 1024});
  const PartitionTable table = ReadOk(disk, 1);
  ASSERT_EQ(Numbers(table), (std::vector<uint32_t>{1, 3}));
  EXPECT_TRUE(table.partitions[1].gpt_type == block::kPrepGuid);
}

// `count` used entries from index 0 on, of 10 blocks each from block 300, all Linux data but
// those at `prep_indexes`.
std::vector<GptEntry> ManyEntries(uint32_t count, std::vector<uint32_t> prep_indexes = {}) {
  std::vector<GptEntry> entries;
  for (uint32_t i = 0; i < count; ++i) {
    bool prep = false;
    for (uint32_t index : prep_indexes) prep = prep || index == i;
    entries.push_back({i, prep ? block::kPrepGuid : kLinuxData, 300 + 10u * i, 300 + 10u * i + 9});
  }
  return entries;
}

// #26.6: a standard GPT's 128 entries, all used, are all listed.
TEST(Gpt, AStandardArrayOf128UsedEntriesIsListedWhole) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, ManyEntries(128, {0}));
  const PartitionTable table = ReadOk(disk);
  ASSERT_EQ(table.count, 128u);
  EXPECT_EQ(table.unlisted, 0u);
  EXPECT_EQ(table.partitions[127].number, 128u);
  EXPECT_EQ(table.partitions[127].start_lba, 300u + 1270);
  auto prep = block::FindPrepPartition(table);
  ASSERT_TRUE(prep.is_ok());
  EXPECT_EQ(prep.value().number, 1u);
}

// The disk: 100 used entries, PReP first (refused whole as "too many partitions" before).
TEST(Gpt, HundredUsedEntriesWithThePrepFirst) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, ManyEntries(100, {0}));
  for (size_t scratch_blocks : {1, 2, 64}) {
    const PartitionTable table = ReadOk(disk, scratch_blocks);
    EXPECT_EQ(table.count, 100u);
    auto prep = block::FindPrepPartition(table);
    ASSERT_TRUE(prep.is_ok());
    EXPECT_EQ(prep.value().number, 1u);
  }
}

// More used entries than the table lists (kMaxGptEntries of them, 300 used): every entry is read
// (the array's CRC covers them all), the first 128 are listed, the rest counted, and the PReP
// partition is found among them.
TEST(Gpt, ThePrepPartitionIsFoundPastTheListedEntries) {
  TestDisk disk(512, 10000);
  const GptLayout layout{block::kMaxGptEntries, 128};
  BuildGpt(disk, ManyEntries(300, {249}), layout);
  PartitionTable table = ReadOk(disk, 4);
  EXPECT_EQ(table.count, block::kMaxPartitions);
  EXPECT_EQ(table.unlisted, 300u - block::kMaxPartitions);
  EXPECT_EQ(table.partitions[block::kMaxPartitions - 1].number, block::kMaxPartitions);
  ASSERT_TRUE(table.has_unlisted_prep);
  auto prep = block::FindPrepPartition(table);
  ASSERT_TRUE(prep.is_ok());
  EXPECT_EQ(prep.value().number, 250u);
  EXPECT_EQ(prep.value().start_lba, 300u + 2490);
  EXPECT_TRUE(prep.value().valid);

  // A listed PReP entry still comes first, as entry order says.
  BuildGpt(disk, ManyEntries(300, {5, 249}), layout);
  EXPECT_EQ(block::FindPrepPartition(ReadOk(disk)).value().number, 6u);

  // Past the table, an invalid PReP entry gives way to a later valid one...
  std::vector<GptEntry> entries = ManyEntries(300, {200, 249});
  entries[200].last = 20000;  // past the disk's end
  BuildGpt(disk, entries, layout);
  table = ReadOk(disk);
  EXPECT_EQ(table.unlisted_prep.number, 250u);
  EXPECT_EQ(block::FindPrepPartition(table).value().number, 250u);
  // ... and when it is the only one, its problem is the reason.
  entries = ManyEntries(300, {200});
  entries[200].last = 20000;
  BuildGpt(disk, entries, layout);
  auto none = block::FindPrepPartition(ReadOk(disk));
  ASSERT_TRUE(none.is_error());
  EXPECT_EQ(none.error(), PartitionError::kEntryPastEnd);
  // No PReP entry anywhere.
  BuildGpt(disk, ManyEntries(300), layout);
  table = ReadOk(disk);
  EXPECT_FALSE(table.has_unlisted_prep);
  EXPECT_EQ(block::FindPrepPartition(table).error(), PartitionError::kNoPrepPartition);
}

// The unlisted entries are still checked: a flipped bit in the last entry of the array fails its
// CRC, and the backup is read.
TEST(Gpt, UnlistedEntriesAreCoveredByTheArrayCrc) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, ManyEntries(300, {249}), {block::kMaxGptEntries, 128});
  // The array starts at block 2, four entries a block: entry 1023 (unused) is the last of block
  // 2 + 255.
  disk.block(2 + 255)[3 * 128 + 40] ^= 1;
  const PartitionTable table = ReadOk(disk);
  EXPECT_TRUE(table.used_backup_gpt);
  EXPECT_EQ(table.primary_gpt_error, PartitionError::kGptEntriesCrc);
  EXPECT_EQ(block::FindPrepPartition(table).value().number, 250u);
}

TEST(Gpt, FourKibBlocks) {
  TestDisk disk(4096, 2000);
  BuildGpt(disk, {{0, block::kPrepGuid, 6, 6 + 255}, {1, kLinuxData, 262, 1900}});
  for (size_t scratch_blocks : {1, 2, 8}) {
    const PartitionTable table = ReadOk(disk, scratch_blocks);
    ASSERT_EQ(Numbers(table), (std::vector<uint32_t>{1, 2}));
    EXPECT_EQ(table.partitions[0].start_lba, 6u);
    EXPECT_EQ(table.partitions[0].block_count, 256u);
  }
  // The header CRC covers header_size bytes, not the whole 4 KiB block.
  disk.block(1)[4000] ^= 0xff;
  EXPECT_FALSE(ReadOk(disk).used_backup_gpt);
}

TEST(Gpt, ProtectiveEntryAnywhereMeansGptAndHidesTheMbrEntries) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, {{0, kLinuxData, 100, 199}});
  // A hybrid MBR: a 0x41 entry beside the protective one in slot 2.
  std::memset(disk.block(0) + 446, 0, 64);
  SetEntry(disk.block(0), 0, 0x80, 0x41, 100, 100);
  SetEntry(disk.block(0), 2, 0, 0xEE, 1, 9999);
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(table.scheme, Scheme::kGpt);
  ASSERT_EQ(table.count, 1u);
  EXPECT_TRUE(table.partitions[0].gpt_type == kLinuxData);
  auto prep = block::FindPrepPartition(table);
  ASSERT_TRUE(prep.is_error());
  EXPECT_EQ(prep.error(), PartitionError::kNoPrepPartition);
}

TEST(Gpt, ProtectiveMbrWithoutAGptIsAnError) {
  TestDisk disk(512, 10000);
  SetEntry(disk.block(0), 0, 0, 0xEE, 1, 9999);
  EXPECT_EQ(ReadError(disk), PartitionError::kGptNoSignature);
}

TEST(Gpt, UnreadablePrimaryUsesTheBackup) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, StandardEntries());
  disk.fail_lba = 1;
  const PartitionTable table = ReadOk(disk);
  EXPECT_TRUE(table.used_backup_gpt);
  EXPECT_EQ(table.primary_gpt_error, PartitionError::kReadFailed);
  // With the backup damaged too, the primary's read error and its device error are reported.
  disk.block(9999)[40] ^= 1;
  auto outcome = Read(disk);
  ASSERT_TRUE(outcome.result.is_error());
  EXPECT_EQ(outcome.result.error(), PartitionError::kReadFailed);
  EXPECT_EQ(outcome.io_error, block::IoError::kTimeout);
  // An unreadable block inside the primary array: the backup again.
  disk.block(9999)[40] ^= 1;
  disk.fail_lba = 20;
  const PartitionTable from_backup = ReadOk(disk);
  EXPECT_TRUE(from_backup.used_backup_gpt);
  EXPECT_EQ(from_backup.primary_gpt_error, PartitionError::kReadFailed);
}

TEST(Gpt, EmptyEntryArrayIsAnEmptyTable) {
  TestDisk disk(512, 10000);
  BuildGpt(disk, {}, {0, 128});
  const PartitionTable table = ReadOk(disk);
  EXPECT_EQ(table.scheme, Scheme::kGpt);
  EXPECT_EQ(table.count, 0u);
  EXPECT_FALSE(table.used_backup_gpt);
}

// ---- PReP selection ----

TEST(Prep, ActivePartitionIsPreferred) {
  TestDisk disk(512, 1000);
  SetEntry(disk.block(0), 0, 0x00, 0x41, 1, 10);
  SetEntry(disk.block(0), 1, 0x00, 0x83, 11, 100);
  SetEntry(disk.block(0), 2, 0x80, 0x41, 111, 10);
  auto prep = block::FindPrepPartition(ReadOk(disk));
  ASSERT_TRUE(prep.is_ok());
  EXPECT_EQ(prep.value().number, 3u);
  EXPECT_TRUE(prep.value().active);
}

TEST(Prep, InactivePartitionIsAcceptedAndFlagged) {
  TestDisk disk(512, 1000);
  SetEntry(disk.block(0), 0, 0x80, 0x83, 11, 100);  // the active one is not PReP
  SetEntry(disk.block(0), 1, 0x00, 0x41, 1, 10);
  SetEntry(disk.block(0), 3, 0x00, 0x41, 200, 10);
  auto prep = block::FindPrepPartition(ReadOk(disk));
  ASSERT_TRUE(prep.is_ok());
  EXPECT_EQ(prep.value().number, 2u);  // the first of the inactive ones
  EXPECT_FALSE(prep.value().active);
  EXPECT_EQ(prep.value().start_lba, 1u);
  EXPECT_EQ(prep.value().block_count, 10u);
}

TEST(Prep, LogicalPartitionCanBeThePrepPartition) {
  TestDisk disk(512, 1000);
  BuildChain(disk, 100, 900, {100, 300}, 50);
  SetEntry(disk.block(300), 0, 0x80, 0x41, 1, 50);
  auto prep = block::FindPrepPartition(ReadOk(disk));
  ASSERT_TRUE(prep.is_ok());
  EXPECT_EQ(prep.value().number, 6u);
  EXPECT_EQ(prep.value().start_lba, 301u);
}

TEST(Prep, NoPrepPartitionIsAnError) {
  TestDisk disk(512, 1000);
  SetEntry(disk.block(0), 0, 0x80, 0x83, 1, 100);
  auto prep = block::FindPrepPartition(ReadOk(disk));
  ASSERT_TRUE(prep.is_error());
  EXPECT_EQ(prep.error(), PartitionError::kNoPrepPartition);
  EXPECT_EQ(block::FindPrepPartition(PartitionTable{}).error(), PartitionError::kNoPrepPartition);
}

TEST(Prep, TypeByteAndGuidBelongToTheirOwnScheme) {
  PartitionTable table;
  table.scheme = Scheme::kGpt;
  table.count = 1;
  table.partitions[0].number = 1;
  table.partitions[0].valid = true;
  table.partitions[0].active = true;
  table.partitions[0].mbr_type = 0x41;  // means nothing on a GPT disk
  EXPECT_TRUE(block::FindPrepPartition(table).is_error());
  table.scheme = Scheme::kMbr;
  table.partitions[0].mbr_type = 0x83;
  table.partitions[0].gpt_type = block::kPrepGuid;  // nor this on an MBR disk
  EXPECT_TRUE(block::FindPrepPartition(table).is_error());
}

TEST(Names, EveryErrorHasADistinctName) {
  std::vector<std::string> names;
  for (int e = 0; e <= static_cast<int>(PartitionError::kNoPrepPartition); ++e) {
    const std::string name = block::PartitionErrorName(static_cast<PartitionError>(e));
    EXPECT_NE(name, "partition table error") << e;
    for (const std::string& other : names) EXPECT_NE(name, other);
    names.push_back(name);
  }
}

}  // namespace
