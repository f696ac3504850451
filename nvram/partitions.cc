#include "nvram/partitions.h"

#include "lib/string.h"
#include "nvram/editor.h"

namespace nvram {

using lib::Err;
using lib::Result;

const char* PartitionErrorName(PartitionError error) {
  switch (error) {
    case PartitionError::kBadImageSize:
      return "NVRAM size is not whole 16-byte blocks between 8 KiB and 1 MiB";
    case PartitionError::kBadChecksum: return "partition header checksum mismatch";
    case PartitionError::kZeroLength: return "partition of length 0";
    case PartitionError::kPastEnd: return "partition runs past the end of NVRAM";
  }
  return "NVRAM partition error";
}

namespace {

// The header's bytes 2..15 (length, name) as they lie in NVRAM.
void HeaderTail(const Header& header, uint8_t (&tail)[kHeaderSize - 2]) {
  const uint16_t length = header.length.value();
  tail[0] = static_cast<uint8_t>(length >> 8);
  tail[1] = static_cast<uint8_t>(length);
  for (uint32_t i = 0; i < kNameSize; ++i) tail[2 + i] = static_cast<uint8_t>(header.name[i]);
}

// QEMU hw/nvram/chrp_nvram.h chrp_nvram_finish_partition: a byte sum with end-around carry at
// every step.
uint8_t QemuChecksum(const Header& header) {
  uint8_t tail[kHeaderSize - 2];
  HeaderTail(header, tail);
  uint32_t sum = header.signature;
  for (uint8_t byte : tail) {
    sum += byte;
    sum = (sum + ((sum & 0xff00) >> 8)) & 0xff;
  }
  return static_cast<uint8_t>(sum);
}

// SLOF lib/libnvram/nvram.c calc_partition_header_checksum: a 16-bit byte sum folded once, the
// carry of the fold dropped.
uint8_t SlofChecksum(const Header& header) {
  uint8_t tail[kHeaderSize - 2];
  HeaderTail(header, tail);
  uint16_t sum = header.signature;
  for (uint8_t byte : tail) sum = static_cast<uint16_t>(sum + byte);
  return static_cast<uint8_t>((sum >> 8) + (sum & 0xff));
}

bool ValidImageSize(size_t size) {
  return size % kBlockSize == 0 && size >= kMinImageSize && size <= kMaxImageSize;
}

bool IsBlank(lib::Span<const uint8_t> image) {
  const uint8_t first = image[0];
  if (first != 0x00 && first != 0xff) return false;
  for (uint8_t byte : image) {
    if (byte != first) return false;
  }
  return true;
}

// The header at `offset` (whole inside the image), checked in Linux's order (checksum, then
// length), then against the image's end.
Partition ReadPartition(lib::Span<const uint8_t> image, uint32_t offset) {
  const Header header = lib::LoadWire<Header>(image.data() + offset);
  Partition partition;
  partition.offset = offset;
  partition.blocks = header.length.value();
  partition.signature = header.signature;
  partition.checksum = header.checksum;
  lib::MemCopy(partition.name, header.name, kNameSize);
  const uint8_t big = HeaderChecksum(header, false);
  const uint8_t little = HeaderChecksum(header, true);
  partition.expected_checksum = header.checksum == little ? little : big;
  if (header.checksum != big && header.checksum != little) {
    partition.problem = PartitionError::kBadChecksum;
  } else if (partition.blocks == 0) {
    partition.problem = PartitionError::kZeroLength;
  } else if (partition.size() > image.size() - offset) {
    partition.problem = PartitionError::kPastEnd;
  } else {
    partition.valid = true;
  }
  return partition;
}

// Linux's walk: header after header from offset 0, ending at the image's end or after the first
// bad header (returned, then nothing more).
class Walk {
 public:
  explicit Walk(lib::Span<const uint8_t> image) : image_(image) {}

  bool Next(Partition& partition) {
    if (stopped_ || offset_ >= image_.size()) return false;
    partition = ReadPartition(image_, offset_);
    if (partition.valid) {
      offset_ += partition.size();
    } else {
      stopped_ = true;
    }
    return true;
  }

 private:
  lib::Span<const uint8_t> image_;
  uint32_t offset_ = 0;
  bool stopped_ = false;
};

// What Format needs to know of the whole chain (not only its listed part).
struct Survey {
  uint32_t valid = 0;
  bool has_config = false;
  bool damaged = false;
  Partition damage;
  bool can_carve = false;  // a free partition a common can be carved from
  Partition carve_from;
};

Survey SurveyImage(lib::Span<const uint8_t> image) {
  Survey survey;
  Walk walk(image);
  Partition partition;
  while (walk.Next(partition)) {
    if (!partition.valid) {
      survey.damaged = true;
      survey.damage = partition;
      break;
    }
    ++survey.valid;
    if (partition.signature == kSignatureSystem) survey.has_config = true;
    if (!survey.can_carve && partition.signature == kSignatureFree &&
        partition.blocks >= kConfigBlocks + kOsBlocks) {
      survey.can_carve = true;
      survey.carve_from = partition;
    }
  }
  return survey;
}

// The largest block count in [1, wanted] whose header is portable (HeaderIsPortable). Such
// counts are dense (for tern's names, at most five in a row are not), so the loop is short; a
// 1-block header of each name tern writes is portable (unit-tested).
uint32_t PortableBlocks(uint8_t signature, const char* name, uint32_t wanted) {
  for (uint32_t blocks = wanted; blocks > 1; --blocks) {
    if (HeaderIsPortable(MakeHeader(signature, static_cast<uint16_t>(blocks), name))) {
      return blocks;
    }
  }
  return 1;
}

void WriteHeader(Editor& editor, uint32_t offset, const Header& header) {
  uint8_t bytes[kHeaderSize];
  lib::StoreWire(bytes, header);
  editor.Write(offset, bytes, kHeaderSize);
}

// Free space over `blocks` blocks from `offset`, in as few portable headers as possible.
void WriteFreeSpace(Editor& editor, uint32_t offset, uint32_t blocks) {
  while (blocks > 0) {
    const uint32_t count =
        PortableBlocks(kSignatureFree, kFreeName, lib::Min<uint32_t>(blocks, kMaxBlocks));
    WriteHeader(editor, offset,
                MakeHeader(kSignatureFree, static_cast<uint16_t>(count), kFreeName));
    offset += count * kBlockSize;
    blocks -= count;
  }
}

// The blocks of a new common in `blocks` free blocks: kConfigBlocks, fewer where that would
// leave Linux under kOsBlocks, but at least kMinConfigBlocks (or all there is).
uint32_t ConfigBlocks(uint32_t blocks) {
  if (blocks >= kConfigBlocks + kOsBlocks) return kConfigBlocks;
  if (blocks >= kMinConfigBlocks + kOsBlocks) return blocks - kOsBlocks;
  return lib::Min(blocks, kMinConfigBlocks);
}

// Zeroes [from, end of image) and lays it out as a common (when `with_config`; its data left
// zero, which is an empty variable list) and free space.
void LayOut(Editor& editor, uint32_t from, bool with_config) {
  editor.Fill(from, editor.size() - from, 0);
  uint32_t blocks = (editor.size() - from) / kBlockSize;
  if (with_config) {
    const uint32_t count = PortableBlocks(kSignatureSystem, kConfigName, ConfigBlocks(blocks));
    WriteHeader(editor, from,
                MakeHeader(kSignatureSystem, static_cast<uint16_t>(count), kConfigName));
    from += count * kBlockSize;
    blocks -= count;
  }
  WriteFreeSpace(editor, from, blocks);
}

// A common of kConfigBlocks at the start of the free partition `free`, which keeps the rest.
void Carve(Editor& editor, const Partition& free) {
  WriteHeader(editor, free.offset, MakeHeader(kSignatureSystem, kConfigBlocks, kConfigName));
  editor.Fill(free.data_offset(), kConfigBlocks * kBlockSize - kHeaderSize, 0);
  WriteFreeSpace(editor, free.offset + kConfigBlocks * kBlockSize, free.blocks - kConfigBlocks);
}

}  // namespace

uint8_t HeaderChecksum(const Header& header, bool little_endian_words) {
  uint32_t sum = header.signature + header.length.value();
  for (uint32_t i = 0; i < kNameSize; i += 2) {
    const uint32_t first = static_cast<uint8_t>(header.name[i]);
    const uint32_t second = static_cast<uint8_t>(header.name[i + 1]);
    sum += little_endian_words ? (first | second << 8) : (first << 8 | second);
  }
  sum = ((sum & 0xffff) + (sum >> 16)) & 0xffff;  // "may have spilled into the 3rd byte"
  const uint32_t swapped = (sum >> 8) + (sum << 8);
  return static_cast<uint8_t>(((sum + swapped) >> 8) & 0xff);
}

bool ChecksumMatches(const Header& header) {
  return header.checksum == HeaderChecksum(header, false) ||
         header.checksum == HeaderChecksum(header, true);
}

bool HeaderIsPortable(const Header& header) {
  const uint8_t linux_big = HeaderChecksum(header, false);
  return header.checksum == linux_big && HeaderChecksum(header, true) == linux_big &&
         QemuChecksum(header) == linux_big && SlofChecksum(header) == linux_big;
}

Header MakeHeader(uint8_t signature, uint16_t blocks, lib::StringView name) {
  Header header = {};
  header.signature = signature;
  header.length = lib::UBe16(blocks);
  lib::MemCopy(header.name, name.data(), lib::Min<size_t>(name.size(), kNameSize));
  header.checksum = HeaderChecksum(header, false);
  return header;
}

bool Partition::Is(uint8_t wanted_signature, lib::StringView wanted_name) const {
  if (signature != wanted_signature) return false;
  if (wanted_name.empty()) return true;
  const size_t length = lib::StrLengthMax(name, kNameSize);
  return wanted_name == lib::StringView(name, length);
}

const Partition* PartitionList::Find(uint8_t signature, lib::StringView name) const {
  for (uint32_t i = 0; i < lib::Min(count, kMaxListed); ++i) {
    if (partitions[i].Is(signature, name)) return &partitions[i];
  }
  return nullptr;
}

const Partition* PartitionList::FindConfig() const {
  const Partition* common = Find(kSignatureSystem, kConfigName);
  return common != nullptr ? common : Find(kSignatureSystem);
}

Result<PartitionList, PartitionError> ScanPartitions(lib::Span<const uint8_t> image) {
  if (!ValidImageSize(image.size())) return Err(PartitionError::kBadImageSize);
  // The one list of the call, filled in place and returned without a copy.
  Result<PartitionList, PartitionError> result = PartitionList{};
  PartitionList& list = result.value();
  list.image_size = static_cast<uint32_t>(image.size());
  list.blank = IsBlank(image);
  Walk walk(image);
  Partition partition;
  while (walk.Next(partition)) {
    if (!partition.valid) {
      list.damaged = true;
      list.damage = partition;
    } else if (list.count < kMaxListed) {
      list.partitions[list.count++] = partition;
    } else {
      ++list.unlisted;
    }
  }
  return result;
}

Result<FormatReport, PartitionError> Format(lib::Span<uint8_t> image) {
  if (!ValidImageSize(image.size())) return Err(PartitionError::kBadImageSize);
  const Survey survey = SurveyImage(image);
  FormatReport report;
  report.kept = survey.valid;
  Editor editor(image);
  if (survey.damaged) {
    report.action = survey.damage.offset == 0 ? FormatAction::kFormatted : FormatAction::kRepaired;
    report.blank = survey.damage.offset == 0 && IsBlank(image);
    report.damage = survey.damage;
    report.created_config = !survey.has_config;
    report.config_offset = report.created_config ? survey.damage.offset : 0;
    LayOut(editor, survey.damage.offset, !survey.has_config);
  } else if (!survey.has_config && survey.can_carve) {
    report.action = FormatAction::kAddedConfig;
    report.created_config = true;
    report.config_offset = survey.carve_from.offset;
    Carve(editor, survey.carve_from);
  } else if (!survey.has_config) {
    report.no_config = true;
  }
  report.changed = editor.change();
  return report;
}

}  // namespace nvram
