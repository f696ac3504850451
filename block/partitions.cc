#include "block/partitions.h"

#include "block/deblocker.h"
#include "lib/be.h"
#include "lib/crc32.h"
#include "lib/string.h"

namespace block {

using lib::Err;
using lib::Ok;
using lib::Result;

const char* PartitionErrorName(PartitionError error) {
  switch (error) {
    case PartitionError::kBadGeometry: return "disk geometry unusable (block size or count)";
    case PartitionError::kScratchTooSmall: return "scratch buffer smaller than one block";
    case PartitionError::kReadFailed: return "disk read failed";
    case PartitionError::kTruncated: return "partition table runs past the disk's end";
    case PartitionError::kNoSignature: return "no 0x55AA boot signature";
    case PartitionError::kNotPartitionTable: return "boot sector without a partition table";
    case PartitionError::kEntryPastEnd: return "partition runs past the disk's end";
    case PartitionError::kEntryBadRange: return "partition outside its container";
    case PartitionError::kChainLoop: return "logical partition chain loops";
    case PartitionError::kChainTooLong: return "logical partition chain too long";
    case PartitionError::kTooManyPartitions: return "too many partitions";
    case PartitionError::kGptNoSignature: return "no GPT header";
    case PartitionError::kGptBadHeader: return "GPT header fields out of range";
    case PartitionError::kGptHeaderCrc: return "GPT header CRC mismatch";
    case PartitionError::kGptEntriesCrc: return "GPT partition array CRC mismatch";
    case PartitionError::kNoPrepPartition: return "no PReP boot partition";
  }
  return "partition table error";
}

namespace {

// UEFI 2.10 §5.2.1, Table 5.1 and 5.2: the MBR's four 16-byte entries and its signature.
constexpr uint32_t kMbrEntriesOffset = 446;
constexpr uint32_t kMbrEntrySize = 16;
constexpr uint32_t kMbrSignatureOffset = 510;
constexpr uint8_t kBootIndicatorActive = 0x80;

// UEFI 2.10 §5.3.2, Table 5.5: GPT header fields (little-endian).
constexpr char kGptSignature[8] = {'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T'};
constexpr uint32_t kGptRevisionOffset = 8;
constexpr uint32_t kGptHeaderSizeOffset = 12;
constexpr uint32_t kGptHeaderCrcOffset = 16;
constexpr uint32_t kGptMyLbaOffset = 24;
constexpr uint32_t kGptFirstUsableOffset = 40;
constexpr uint32_t kGptLastUsableOffset = 48;
constexpr uint32_t kGptEntriesLbaOffset = 72;
constexpr uint32_t kGptEntryCountOffset = 80;
constexpr uint32_t kGptEntrySizeOffset = 84;
constexpr uint32_t kGptEntriesCrcOffset = 88;
constexpr uint32_t kGptMinHeaderSize = 92;
constexpr uint32_t kGptMinEntrySize = 128;
// UEFI 2.10 §5.3.3, Table 5.6: GPT partition entry fields used here.
constexpr uint32_t kGptEntryStartOffset = 32;
constexpr uint32_t kGptEntryEndOffset = 40;
constexpr uint32_t kGptEntryAttributesOffset = 48;
constexpr uint32_t kGptEntryUsedBytes = 56;

// Reads blocks into the caller's scratch buffer; every request is checked against the disk first.
class BlockReader {
 public:
  BlockReader(const Device& disk, lib::Span<uint8_t> scratch) : disk_(disk), scratch_(scratch) {}

  uint32_t block_size() const { return disk_.block_size; }
  uint64_t blocks() const { return disk_.blocks; }
  // Whole blocks the scratch buffer holds (at least 1, checked by ReadPartitions).
  uint32_t capacity() const {
    return static_cast<uint32_t>(lib::Min<size_t>(scratch_.size() / disk_.block_size, 0xffff));
  }
  IoError io_error() const { return io_error_; }
  void set_io_error(IoError error) { io_error_ = error; }

  // Reads `count` (<= capacity()) blocks from `lba`; returns the scratch buffer holding them.
  Result<const uint8_t*, PartitionError> Read(uint64_t lba, uint32_t count) {
    if (count == 0 || count > capacity()) TERN_PANIC("block read of %u blocks", count);
    if (lba >= disk_.blocks || count > disk_.blocks - lba) return Err(PartitionError::kTruncated);
    auto read = ReadBlocks(disk_, lba, count, reinterpret_cast<uintptr_t>(scratch_.data()));
    if (read.is_error()) {
      io_error_ = read.error().error;
      return Err(PartitionError::kReadFailed);
    }
    return static_cast<const uint8_t*>(scratch_.data());
  }

 private:
  const Device& disk_;
  lib::Span<uint8_t> scratch_;
  IoError io_error_ = IoError::kDevice;
};

Result<void, PartitionError> Append(PartitionTable& table, const Partition& partition) {
  if (table.count == kMaxPartitions) return Err(PartitionError::kTooManyPartitions);
  table.partitions[table.count++] = partition;
  return Ok<PartitionError>();
}

bool IsPrep(const PartitionTable& table, const Partition& partition) {
  return (table.scheme == Scheme::kMbr && partition.mbr_type == kMbrTypePrep) ||
         (table.scheme == Scheme::kGpt && partition.gpt_type == kPrepGuid);
}

// Empties `table` in place (it is large: no temporary copy) for a table of `scheme`.
void Clear(PartitionTable& table, Scheme scheme) {
  table.scheme = scheme;
  table.count = 0;
  table.chain_incomplete = false;
  table.unlisted = 0;
  table.has_unlisted_prep = false;
}

// ---- MBR ----

struct MbrEntry {
  uint8_t boot_indicator;
  uint8_t type;
  uint32_t start;  // LBA, relative to the structure's base
  uint32_t count;  // blocks
};

MbrEntry MbrEntryAt(const uint8_t* sector, uint32_t slot) {
  const uint8_t* entry = sector + kMbrEntriesOffset + slot * kMbrEntrySize;
  return MbrEntry{entry[0], entry[4], lib::LoadLe32(entry + 8), lib::LoadLe32(entry + 12)};
}

bool HasBootSignature(const uint8_t* sector) {
  return sector[kMbrSignatureOffset] == 0x55 && sector[kMbrSignatureOffset + 1] == 0xAA;
}

bool IsEmpty(const MbrEntry& entry) {
  return entry.type == 0 || entry.count == 0;
}

bool IsExtended(uint8_t type) {
  return type == 0x05 || type == 0x0F || type == 0x85;
}

// A partition from an MBR or EBR entry whose start is relative to `base`, checked against the disk
// and against its container [container_start, container_end).
Partition MbrPartition(uint32_t number, const MbrEntry& entry, uint64_t base, uint64_t disk_blocks,
                       uint64_t container_start, uint64_t container_end) {
  Partition partition;
  partition.number = number;
  partition.active = entry.boot_indicator == kBootIndicatorActive;
  partition.mbr_type = entry.type;
  partition.start_lba = base + entry.start;  // both < 2^33: no wrap
  partition.block_count = entry.count;
  const uint64_t end = partition.start_lba + partition.block_count;
  if (end > disk_blocks) {
    partition.problem = PartitionError::kEntryPastEnd;
  } else if (partition.start_lba < container_start || end > container_end) {
    partition.problem = PartitionError::kEntryBadRange;
  } else {
    partition.valid = true;
  }
  return partition;
}

struct ChainWalk {
  uint32_t hops = 0;
  uint64_t visited[kMaxEbrHops] = {};
  uint32_t next_number = 5;
};

void EndChain(PartitionTable& table, PartitionError error, const BlockReader& reader) {
  table.chain_incomplete = true;
  table.chain_error = error;
  if (error == PartitionError::kReadFailed) table.chain_io_error = reader.io_error();
}

// Follows the EBR chain of the extended partition [start, start + count), appending its logical
// partitions; a broken chain ends the walk and is recorded in the table.
void WalkLogicalChain(BlockReader& reader, PartitionTable& table, ChainWalk& walk,
                      uint64_t extended_start, uint64_t extended_count) {
  const uint64_t extended_end = extended_start + extended_count;
  uint64_t ebr = extended_start;
  while (true) {
    if (walk.hops == kMaxEbrHops) return EndChain(table, PartitionError::kChainTooLong, reader);
    for (uint32_t i = 0; i < walk.hops; ++i) {
      if (walk.visited[i] == ebr) return EndChain(table, PartitionError::kChainLoop, reader);
    }
    walk.visited[walk.hops++] = ebr;

    auto sector = reader.Read(ebr, 1);
    if (sector.is_error()) return EndChain(table, sector.error(), reader);
    if (!HasBootSignature(sector.value())) {
      return EndChain(table, PartitionError::kNoSignature, reader);
    }
    // Entries 2 and 3 of an EBR are unused (and sometimes garbage): only 0 and 1 are read, the
    // first non-extended one as the logical partition, the first extended one as the link.
    bool has_logical = false;
    bool has_link = false;
    MbrEntry logical{};
    MbrEntry link{};
    for (uint32_t slot = 0; slot < 2; ++slot) {
      const MbrEntry entry = MbrEntryAt(sector.value(), slot);
      if (IsEmpty(entry)) continue;
      if (IsExtended(entry.type)) {
        if (!has_link) link = entry;
        has_link = true;
      } else {
        if (!has_logical) logical = entry;
        has_logical = true;
      }
    }
    if (has_logical) {
      // The logical partition starts after its EBR and stays inside the extended partition.
      Partition partition =
          MbrPartition(walk.next_number++, logical, ebr, reader.blocks(), ebr + 1, extended_end);
      auto appended = Append(table, partition);
      if (appended.is_error()) return EndChain(table, appended.error(), reader);
    }
    if (!has_link) return;
    const uint64_t next = extended_start + link.start;
    if (next >= reader.blocks()) return EndChain(table, PartitionError::kEntryPastEnd, reader);
    if (next >= extended_end) return EndChain(table, PartitionError::kEntryBadRange, reader);
    ebr = next;
  }
}

Result<void, PartitionError> ReadGpt(BlockReader& reader, PartitionTable& table);

// Reads the MBR (and its logical chains) into `table`, or the GPT behind a protective entry.
Result<void, PartitionError> ReadMbr(BlockReader& reader, PartitionTable& table) {
  auto sector = reader.Read(0, 1);
  TERN_TRY(sector);
  if (!HasBootSignature(sector.value())) return Err(PartitionError::kNoSignature);
  MbrEntry entries[4];
  bool protective = false;
  for (uint32_t slot = 0; slot < 4; ++slot) {
    entries[slot] = MbrEntryAt(sector.value(), slot);
    const uint8_t indicator = entries[slot].boot_indicator;
    if (indicator != 0 && indicator != kBootIndicatorActive) {
      return Err(PartitionError::kNotPartitionTable);
    }
    if (entries[slot].type == kMbrTypeProtective) protective = true;
  }
  // UEFI 2.10 §5.2.3: a 0xEE entry marks a GPT disk; a hybrid MBR's other entries are ignored.
  if (protective) return ReadGpt(reader, table);

  Clear(table, Scheme::kMbr);
  for (uint32_t slot = 0; slot < 4; ++slot) {
    if (IsEmpty(entries[slot])) continue;
    TERN_TRY(Append(table,
                    MbrPartition(slot + 1, entries[slot], 0, reader.blocks(), 0, reader.blocks())));
  }
  // Each extended primary in slot order; logical partitions are numbered on across them.
  ChainWalk walk;
  const uint32_t primaries = table.count;
  for (uint32_t i = 0; i < primaries && !table.chain_incomplete; ++i) {
    const Partition primary = table.partitions[i];
    if (!IsExtended(primary.mbr_type)) continue;
    if (!primary.valid) {
      // Its logical partitions are out of reach: say so, as for a chain broken further on.
      EndChain(table, primary.problem, reader);
      continue;
    }
    WalkLogicalChain(reader, table, walk, primary.start_lba, primary.block_count);
  }
  return Ok<PartitionError>();
}

// ---- GPT ----

struct GptHeader {
  uint64_t first_usable;
  uint64_t last_usable;
  uint64_t entries_lba;
  uint32_t entry_count;
  uint32_t entry_size;
  uint32_t entries_crc;
};

// Checks the header in `block`, read from `lba` (UEFI 2.10 §5.3.2: signature, header CRC, MyLBA;
// and every field tern uses, range-checked against the disk).
Result<GptHeader, PartitionError> CheckGptHeader(const uint8_t* block, uint64_t lba,
                                                 uint32_t block_size, uint64_t blocks) {
  if (lib::MemCompare(block, kGptSignature, sizeof(kGptSignature)) != 0) {
    return Err(PartitionError::kGptNoSignature);
  }
  const uint32_t header_size = lib::LoadLe32(block + kGptHeaderSizeOffset);
  if (header_size < kGptMinHeaderSize || header_size > block_size) {
    return Err(PartitionError::kGptBadHeader);
  }
  const uint8_t zero[4] = {};
  uint32_t crc = lib::Crc32({block, kGptHeaderCrcOffset});
  crc = lib::Crc32({zero, sizeof(zero)}, crc);
  crc = lib::Crc32({block + kGptHeaderCrcOffset + 4, header_size - kGptHeaderCrcOffset - 4}, crc);
  if (crc != lib::LoadLe32(block + kGptHeaderCrcOffset)) return Err(PartitionError::kGptHeaderCrc);

  // Revision 1.x (0x00010000 in every UEFI 2.x); a later major revision may change the layout.
  if ((lib::LoadLe32(block + kGptRevisionOffset) >> 16) != 1) {
    return Err(PartitionError::kGptBadHeader);
  }
  if (lib::LoadLe64(block + kGptMyLbaOffset) != lba) return Err(PartitionError::kGptBadHeader);

  GptHeader header;
  header.first_usable = lib::LoadLe64(block + kGptFirstUsableOffset);
  header.last_usable = lib::LoadLe64(block + kGptLastUsableOffset);
  header.entries_lba = lib::LoadLe64(block + kGptEntriesLbaOffset);
  header.entry_count = lib::LoadLe32(block + kGptEntryCountOffset);
  header.entry_size = lib::LoadLe32(block + kGptEntrySizeOffset);
  header.entries_crc = lib::LoadLe32(block + kGptEntriesCrcOffset);

  // LBA 0 holds the MBR, LBA 1 the primary header, the last LBA the backup header: the usable
  // range and the array lie between them, apart from each other.
  if (header.last_usable >= blocks) return Err(PartitionError::kTruncated);
  if (header.first_usable < 2 || header.first_usable > header.last_usable ||
      header.last_usable == blocks - 1) {
    return Err(PartitionError::kGptBadHeader);
  }
  // Entries of 128 x 2^n bytes (UEFI 2.10 §5.3.2), tern's bounds on size and count.
  if (header.entry_size < kGptMinEntrySize || header.entry_size > kMaxGptEntrySize ||
      !lib::IsPowerOfTwo(header.entry_size) || header.entry_count > kMaxGptEntries) {
    return Err(PartitionError::kGptBadHeader);
  }
  const uint64_t array_bytes = uint64_t{header.entry_count} * header.entry_size;
  const uint64_t array_blocks = (array_bytes + block_size - 1) / block_size;
  if (header.entries_lba >= blocks || array_blocks > blocks - header.entries_lba) {
    return Err(PartitionError::kTruncated);
  }
  const uint64_t array_end = header.entries_lba + array_blocks;
  if (array_blocks != 0 &&
      (header.entries_lba < 2 || array_end > blocks - 1 ||
       (header.entries_lba <= header.last_usable && header.first_usable < array_end))) {
    return Err(PartitionError::kGptBadHeader);
  }
  return header;
}

// The partition of GPT entry `index` (its first kGptEntryUsedBytes bytes at `entry`).
Partition GptPartition(uint32_t index, const uint8_t* entry, const GptHeader& header,
                       uint64_t blocks) {
  Partition partition;
  partition.number = index + 1;
  partition.active = true;
  lib::MemCopy(partition.gpt_type.bytes, entry, sizeof(partition.gpt_type.bytes));
  const uint64_t first = lib::LoadLe64(entry + kGptEntryStartOffset);
  const uint64_t last = lib::LoadLe64(entry + kGptEntryEndOffset);  // inclusive
  partition.gpt_attributes = lib::LoadLe64(entry + kGptEntryAttributesOffset);
  partition.start_lba = first;
  partition.block_count = first <= last ? last - first + 1 : 0;
  if (first >= blocks || last >= blocks) {
    partition.problem = PartitionError::kEntryPastEnd;
  } else if (first > last || first < header.first_usable || last > header.last_usable) {
    partition.problem = PartitionError::kEntryBadRange;
  } else {
    partition.valid = true;
  }
  return partition;
}

// A used GPT entry the table has no room for: counted, and kept when it is the first PReP entry
// past the table (or the first valid one after invalid ones), which FindPrepPartition considers.
void KeepUnlisted(PartitionTable& table, const Partition& partition) {
  ++table.unlisted;
  if (!IsPrep(table, partition)) return;
  if (!table.has_unlisted_prep || (!table.unlisted_prep.valid && partition.valid)) {
    table.unlisted_prep = partition;
    table.has_unlisted_prep = true;
  }
}

// Reads and checks the GPT whose header is at `lba` into `table`, then its entry array, in pieces
// of as many blocks as the scratch holds. An entry's first kGptEntryUsedBytes bytes never
// straddle a block: entries and blocks are powers of two of at least 128 and 512 bytes, so an
// entry either lies inside one block or starts one.
Result<void, PartitionError> ReadGptAt(BlockReader& reader, uint64_t lba, PartitionTable& table) {
  auto block = reader.Read(lba, 1);
  TERN_TRY(block);
  auto checked = CheckGptHeader(block.value(), lba, reader.block_size(), reader.blocks());
  TERN_TRY(checked);
  const GptHeader header = checked.value();

  Clear(table, Scheme::kGpt);
  const uint64_t array_bytes = uint64_t{header.entry_count} * header.entry_size;
  uint64_t done = 0;  // bytes of the array read so far
  uint32_t next_entry = 0;
  uint32_t crc = 0;
  while (done < array_bytes) {
    const uint64_t remaining_blocks =
        (array_bytes - done + reader.block_size() - 1) / reader.block_size();
    const uint32_t count =
        static_cast<uint32_t>(lib::Min<uint64_t>(remaining_blocks, reader.capacity()));
    auto chunk = reader.Read(header.entries_lba + done / reader.block_size(), count);
    TERN_TRY(chunk);
    const uint64_t chunk_bytes =
        lib::Min<uint64_t>(uint64_t{count} * reader.block_size(), array_bytes - done);
    crc = lib::Crc32({chunk.value(), static_cast<size_t>(chunk_bytes)}, crc);
    for (; next_entry < header.entry_count; ++next_entry) {
      const uint64_t at = uint64_t{next_entry} * header.entry_size;
      if (at >= done + chunk_bytes) break;
      TERN_ASSERT(at - done + kGptEntryUsedBytes <= chunk_bytes);
      const Partition partition =
          GptPartition(next_entry, chunk.value() + (at - done), header, reader.blocks());
      if (partition.gpt_type.IsZero()) continue;  // unused (UEFI 2.10 §5.3.3: type GUID zero)
      if (Append(table, partition).is_error()) KeepUnlisted(table, partition);
    }
    done += chunk_bytes;
  }
  if (crc != header.entries_crc) return Err(PartitionError::kGptEntriesCrc);
  return Ok<PartitionError>();
}

// UEFI 2.10 §5.3.2: the primary header at LBA 1; when it (or its array) fails, the backup at the
// disk's last block.
Result<void, PartitionError> ReadGpt(BlockReader& reader, PartitionTable& table) {
  auto primary = ReadGptAt(reader, 1, table);
  if (primary.is_ok()) return primary;
  const IoError primary_io_error = reader.io_error();
  auto backup = ReadGptAt(reader, reader.blocks() - 1, table);
  if (backup.is_ok()) {
    table.used_backup_gpt = true;
    table.primary_gpt_error = primary.error();
    return backup;
  }
  reader.set_io_error(primary_io_error);
  return Err(primary.error());
}

}  // namespace

Result<PartitionTable, PartitionError> ReadPartitions(const Device& disk,
                                                      lib::Span<uint8_t> scratch,
                                                      IoError* io_error) {
  if (CheckGeometry(disk.block_size, disk.blocks).is_error()) {
    return Err(PartitionError::kBadGeometry);
  }
  if (scratch.size() < disk.block_size) return Err(PartitionError::kScratchTooSmall);
  BlockReader reader(disk, scratch);
  PartitionError error;
  {
    // The one table of the call, filled in place and returned without a copy: the only return
    // in its scope returns it.
    Result<PartitionTable, PartitionError> table = PartitionTable{};
    auto read = ReadMbr(reader, table.value());
    if (read.is_ok()) return table;
    error = read.error();
  }
  if (error == PartitionError::kReadFailed && io_error != nullptr) *io_error = reader.io_error();
  return Err(error);
}

Result<Partition, PartitionError> FindPrepPartition(const PartitionTable& table) {
  const Partition* inactive = nullptr;
  const Partition* invalid = nullptr;
  const uint32_t listed = lib::Min(table.count, kMaxPartitions);
  // The listed partitions in table order, then (GPT) the first PReP entry past them.
  for (uint32_t i = 0; i <= listed; ++i) {
    if (i == listed && !table.has_unlisted_prep) break;
    const Partition& partition = i < listed ? table.partitions[i] : table.unlisted_prep;
    if (!IsPrep(table, partition)) continue;
    if (!partition.valid) {
      if (invalid == nullptr) invalid = &partition;
    } else if (partition.active) {
      return partition;
    } else if (inactive == nullptr) {
      inactive = &partition;
    }
  }
  if (inactive != nullptr) return *inactive;
  if (invalid != nullptr) return Err(invalid->problem);
  if (table.chain_incomplete) return Err(table.chain_error);
  return Err(PartitionError::kNoPrepPartition);
}

}  // namespace block
