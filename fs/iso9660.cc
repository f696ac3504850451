#include "fs/iso9660.h"

#include "block/deblocker.h"
#include "fs/ascii.h"
#include "lib/string.h"
#include "lib/wire.h"

namespace fs {

using lib::Err;
using lib::Ok;
using lib::Result;

const char* IsoErrorName(IsoError error) {
  switch (error) {
    case IsoError::kBadGeometry: return "device geometry unusable";
    case IsoError::kScratchTooSmall: return "scratch buffer too small";
    case IsoError::kReadFailed: return "device read failed";
    case IsoError::kNotIso9660: return "no ISO 9660 volume descriptor at sector 16";
    case IsoError::kBadDescriptor: return "volume descriptor without CD001 before the terminator";
    case IsoError::kNoPrimary: return "no primary volume descriptor";
    case IsoError::kTooManyDescriptors: return "too many volume descriptors";
    case IsoError::kBadPrimary: return "primary volume descriptor fields out of range";
    case IsoError::kVolumePastDevice: return "volume larger than the device";
    case IsoError::kBadRecord: return "malformed directory record";
    case IsoError::kBadSystemUse: return "malformed Rock Ridge (SUSP) entry";
    case IsoError::kExtentPastEnd: return "extent past the end of the volume";
    case IsoError::kDirectoryTooLarge: return "directory too large";
    case IsoError::kDirectoryLoop: return "directory loop";
    case IsoError::kBadPath: return "bad path component";
    case IsoError::kPathTooDeep: return "path too deep";
    case IsoError::kNotFound: return "file not found";
    case IsoError::kNotADirectory: return "path component is not a directory";
    case IsoError::kIsADirectory: return "path names a directory";
    case IsoError::kMultiExtent: return "file recorded in several extents";
    case IsoError::kInterleaved: return "file recorded interleaved";
  }
  return "ISO 9660 error";
}

namespace {

// ECMA-119 8.1.1, 8.3.1, 8.4.1: volume descriptor types; 8.4.2: the standard identifier.
constexpr uint8_t kTypePrimary = 1;
constexpr uint8_t kTypeTerminator = 255;
constexpr char kStandardId[5] = {'C', 'D', '0', '0', '1'};

// ECMA-119 9.1.6: file flags.
constexpr uint8_t kFlagDirectory = 1 << 1;
constexpr uint8_t kFlagAssociated = 1 << 2;
constexpr uint8_t kFlagMultiExtent = 1 << 7;

// ECMA-119 9.1: a directory record's fixed part, before its file identifier. Both-byte-order
// fields [7.2.3, 7.3.3] are read from their little-endian half.
struct RecordHead {
  uint8_t length;            // 9.1.1 length of directory record
  uint8_t attribute_length;  // 9.1.2 extended attribute record length, in logical blocks
  lib::ULe32 extent;         // 9.1.3 location of extent (logical block number)
  lib::UBe32 extent_be;
  lib::ULe32 data_length;  // 9.1.4
  lib::UBe32 data_length_be;
  uint8_t recorded[7];  // 9.1.5
  uint8_t flags;        // 9.1.6
  uint8_t unit_size;    // 9.1.7 file unit size (interleaved files)
  uint8_t gap_size;     // 9.1.8 interleave gap size
  lib::ULe16 sequence;  // 9.1.9 volume sequence number
  lib::UBe16 sequence_be;
  uint8_t name_length;  // 9.1.10 length of file identifier
};
static_assert(sizeof(RecordHead) == 33);
constexpr uint32_t kRootRecordLength = 34;  // ECMA-119 8.4.18

// ECMA-119 8.4: the Primary Volume Descriptor up to its root directory record.
struct PrimaryHead {
  uint8_t type;     // 8.4.1
  char id[5];       // 8.4.2 "CD001"
  uint8_t version;  // 8.4.3: 1
  uint8_t unused1;
  char system_id[32];  // 8.4.5
  char volume_id[32];  // 8.4.6
  uint8_t unused2[8];
  lib::ULe32 space_size;  // 8.4.8 volume space size, in logical blocks
  lib::UBe32 space_size_be;
  uint8_t unused3[32];
  lib::ULe16 set_size;  // 8.4.10 volume set size
  lib::UBe16 set_size_be;
  lib::ULe16 sequence_number;  // 8.4.11 volume sequence number
  lib::UBe16 sequence_number_be;
  lib::ULe16 block_size;  // 8.4.12 logical block size
  lib::UBe16 block_size_be;
  uint8_t path_table[24];           // 8.4.13 - 8.4.17
  uint8_t root[kRootRecordLength];  // 8.4.18
};
static_assert(sizeof(PrimaryHead) == 190);

// A directory record, checked: every pointer lies inside the record.
struct Record {
  uint32_t length = 0;
  uint64_t extent = 0;
  uint8_t attribute_length = 0;
  uint32_t data_length = 0;
  uint8_t flags = 0;
  uint8_t unit_size = 0;
  uint8_t gap_size = 0;
  const uint8_t* name = nullptr;
  uint32_t name_length = 0;
  const uint8_t* system_use = nullptr;  // 9.1.13
  uint32_t system_use_length = 0;
};

// The record at `at`, of which `available` bytes lie both in its logical sector (a record ends
// in the sector it begins in [ECMA-119 6.8.1.1]) and in its directory's extent.
Result<Record, IsoError> ParseRecord(const uint8_t* at, uint64_t available) {
  if (available < sizeof(RecordHead)) return Err(IsoError::kBadRecord);
  const auto head = lib::LoadWire<RecordHead>(at);
  if (head.length < sizeof(RecordHead) + 1 || head.length > available) {
    return Err(IsoError::kBadRecord);
  }
  if (head.name_length == 0 || sizeof(RecordHead) + head.name_length > head.length) {
    return Err(IsoError::kBadRecord);
  }
  Record record;
  record.length = head.length;
  record.extent = head.extent.value();
  record.attribute_length = head.attribute_length;
  record.data_length = head.data_length.value();
  record.flags = head.flags;
  record.unit_size = head.unit_size;
  record.gap_size = head.gap_size;
  record.name = at + sizeof(RecordHead);
  record.name_length = head.name_length;
  // 9.1.12: a padding byte follows an identifier of even length.
  const uint32_t system_use =
      sizeof(RecordHead) + head.name_length + (head.name_length % 2 == 0 ? 1 : 0);
  if (system_use < record.length) {
    record.system_use = at + system_use;
    record.system_use_length = record.length - system_use;
  }
  return record;
}

// The bytes of a record's data: after its extended attribute record [ECMA-119 9.1.2, 9.5],
// inside the volume.
Result<File, IsoError> DataExtent(const Volume& volume, const Record& record) {
  const uint64_t offset = (record.extent + record.attribute_length) * volume.block_size;
  if (!lib::RangeInside(offset, record.data_length, 0, volume.bytes)) {
    return Err(IsoError::kExtentPastEnd);
  }
  return File{offset, record.data_length};
}

// Reads 2048-byte logical sectors into one of two windows of the caller's scratch buffer (a
// directory's sector, a continuation area's), each of max(block size, 2048) bytes, and keeps
// which sector each window holds.
class SectorReader {
 public:
  SectorReader(const block::Device& device, lib::Span<uint8_t> scratch)
      : device_(device), scratch_(scratch) {}

  block::IoError io_error() const { return io_error_; }

  // The bytes of logical sector `sector` (at most kSectorSize; fewer when the device ends inside
  // it, the rest then zero) in window `window` (0 or 1). The sector must start on the device.
  Result<const uint8_t*, IsoError> Sector(uint64_t sector, uint32_t window) {
    const uint64_t byte = sector * kSectorSize;
    const uint64_t block_size = device_.block_size;
    uint8_t* base = scratch_.data() + window * Window();
    if (byte >= device_.bytes()) return Err(IsoError::kExtentPastEnd);
    if (cached_[window] == sector) return base + byte % block_size;
    const uint64_t lba = byte / block_size;
    const uint64_t whole = block_size >= kSectorSize ? 1 : kSectorSize / block_size;
    const uint64_t count = lib::Min(whole, device_.blocks - lba);
    cached_[window] = kNone;
    auto read = block::ReadBlocks(device_, lba, count, reinterpret_cast<uintptr_t>(base));
    if (read.is_error()) {
      io_error_ = read.error().error;
      return Err(IsoError::kReadFailed);
    }
    lib::MemSet(base + count * block_size, 0, (whole - count) * block_size);
    cached_[window] = sector;
    return base + byte % block_size;
  }

 private:
  static constexpr uint64_t kNone = ~uint64_t{0};
  uint64_t Window() const { return ScratchBytes(device_.block_size) / 2; }

  const block::Device& device_;
  lib::Span<uint8_t> scratch_;
  uint64_t cached_[2] = {kNone, kNone};
  block::IoError io_error_ = block::IoError::kDevice;
};

Result<void, IsoError> CheckDevice(const block::Device& device, lib::Span<uint8_t> scratch) {
  if (block::CheckGeometry(device.block_size, device.blocks).is_error()) {
    return Err(IsoError::kBadGeometry);
  }
  if (scratch.size() < ScratchBytes(device.block_size)) return Err(IsoError::kScratchTooSmall);
  return Ok<IsoError>();
}

// A volume as OpenVolume makes them: on its device, with a logical block size in range.
Result<void, IsoError> CheckVolume(const Volume& volume, lib::Span<uint8_t> scratch) {
  if (volume.device == nullptr) return Err(IsoError::kBadGeometry);
  TERN_TRY(CheckDevice(*volume.device, scratch));
  if (!lib::IsPowerOfTwo(volume.block_size) || volume.block_size < 512 ||
      volume.block_size > kSectorSize || volume.bytes > volume.device->bytes()) {
    return Err(IsoError::kBadGeometry);
  }
  return Ok<IsoError>();
}

void ReportIo(IsoError error, const SectorReader& reader, block::IoError* io_error) {
  if (error == IsoError::kReadFailed && io_error != nullptr) *io_error = reader.io_error();
}

// ---- Volume descriptors ----

// The volume identifier [ECMA-119 8.4.6, d-characters], trailing spaces removed and anything
// unprintable shown as '?'.
void CopyVolumeId(char (&out)[33], const char (&id)[32]) {
  uint32_t length = 32;
  while (length > 0 && (id[length - 1] == ' ' || id[length - 1] == '\0')) --length;
  for (uint32_t i = 0; i < length; ++i) out[i] = (id[i] >= 0x20 && id[i] < 0x7f) ? id[i] : '?';
  out[length] = '\0';
}

// The PVD read from `sector` [ECMA-119 8.4].
Result<Volume, IsoError> ParsePrimary(const uint8_t* bytes, uint64_t sector,
                                      const block::Device& device) {
  const auto pvd = lib::LoadWire<PrimaryHead>(bytes);
  if (pvd.version != 1) return Err(IsoError::kBadPrimary);
  Volume volume;
  volume.device = &device;
  volume.block_size = pvd.block_size.value();
  // 6.2.2: a logical block is 2^(n+9) bytes, no larger than the logical sector.
  if (!lib::IsPowerOfTwo(volume.block_size) || volume.block_size < 512 ||
      volume.block_size > kSectorSize) {
    return Err(IsoError::kBadPrimary);
  }
  volume.bytes = uint64_t{pvd.space_size.value()} * volume.block_size;
  // The volume holds at least the descriptors read so far, and lies on the device.
  if (volume.bytes < (sector + 1) * kSectorSize) return Err(IsoError::kBadPrimary);
  if (volume.bytes > device.bytes()) return Err(IsoError::kVolumePastDevice);
  auto root = ParseRecord(pvd.root, sizeof(pvd.root));
  if (root.is_error()) return Err(IsoError::kBadPrimary);
  const Record& record = root.value();
  if (record.length != kRootRecordLength || record.name_length != 1 || record.name[0] != 0 ||
      (record.flags & kFlagDirectory) == 0) {
    return Err(IsoError::kBadPrimary);
  }
  auto extent = DataExtent(volume, record);
  TERN_TRY(extent);
  volume.root_offset = extent.value().offset;
  volume.root_size = static_cast<uint32_t>(extent.value().size);
  CopyVolumeId(volume.volume_id, pvd.volume_id);
  return volume;
}

// The descriptors from sector 16 [ECMA-119 8.1] up to the first PVD.
Result<Volume, IsoError> ReadDescriptors(SectorReader& reader, const block::Device& device) {
  const uint64_t sectors = device.bytes() / kSectorSize;
  for (uint32_t i = 0; i < kMaxDescriptors; ++i) {
    const uint64_t sector = kFirstDescriptorSector + i;
    if (sector >= sectors) return Err(i == 0 ? IsoError::kNotIso9660 : IsoError::kNoPrimary);
    auto bytes = reader.Sector(sector, 0);
    TERN_TRY(bytes);
    const uint8_t* descriptor = bytes.value();
    if (lib::MemCompare(descriptor + 1, kStandardId, sizeof(kStandardId)) != 0) {
      return Err(i == 0 ? IsoError::kNotIso9660 : IsoError::kBadDescriptor);
    }
    if (descriptor[0] == kTypeTerminator) return Err(IsoError::kNoPrimary);
    if (descriptor[0] == kTypePrimary) return ParsePrimary(descriptor, sector, device);
  }
  return Err(IsoError::kTooManyDescriptors);
}

// SUSP 1.12 5.3: the root directory's first record ("." [ECMA-119 6.8.2.2]) begins its system
// use field with "SP" (length 7, version 1, check bytes BE EF, LEN_SKP) when SUSP is in use.
Result<void, IsoError> DetectRockRidge(SectorReader& reader, Volume& volume) {
  if (volume.root_size == 0) return Ok<IsoError>();
  const uint64_t in_sector = volume.root_offset % kSectorSize;
  auto sector = reader.Sector(volume.root_offset / kSectorSize, 0);
  TERN_TRY(sector);
  const uint8_t* at = sector.value() + in_sector;
  if (at[0] == 0) return Ok<IsoError>();
  auto record = ParseRecord(at, lib::Min<uint64_t>(kSectorSize - in_sector, volume.root_size));
  TERN_TRY(record);
  const Record& dot = record.value();
  const uint8_t* su = dot.system_use;
  if (dot.name_length != 1 || dot.name[0] != 0 || dot.system_use_length < 7) {
    return Ok<IsoError>();
  }
  if (su[0] == 'S' && su[1] == 'P' && su[2] == 7 && su[3] == 1 && su[4] == 0xBE && su[5] == 0xEF) {
    volume.rock_ridge = true;
    volume.susp_skip = su[6];
  }
  return Ok<IsoError>();
}

// ---- Names ----

// An ISO 9660 file identifier without its version number and a trailing '.' [ECMA-119 7.5.1:
// "NAME.EXT;1", "NAME.;1"]; directory identifiers [7.6] have neither.
lib::StringView IsoName(const Record& record) {
  lib::StringView name(reinterpret_cast<const char*>(record.name), record.name_length);
  name = name.Substr(0, name.Find(';'));
  if (!name.empty() && name[name.size() - 1] == '.') name = name.Substr(0, name.size() - 1);
  return name;
}

// The Rock Ridge name of a record, gathered from its NM entries [RRIP 1.12 4.1.4].
struct RockName {
  char bytes[kMaxNameLength];
  uint32_t length = 0;
  bool found = false;           // at least one NM entry
  bool too_long = false;        // longer than kMaxNameLength: matches no path component
  bool self_or_parent = false;  // NM's CURRENT or PARENT flag
};

// A pending continuation area [SUSP 1.12 5.1, "CE"]: its logical block, offset and length.
struct Continuation {
  bool pending = false;
  uint64_t block = 0;
  uint32_t offset = 0;
  uint32_t length = 0;
};

// SUSP 1.12 5.1: a CE entry.
struct ContinuationEntry {
  char signature[2];  // "CE"
  uint8_t length;     // 28
  uint8_t version;    // 1
  lib::ULe32 block;   // location of the continuation area (logical block number)
  lib::UBe32 block_be;
  lib::ULe32 offset;  // its offset in that block
  lib::UBe32 offset_be;
  lib::ULe32 size;  // its length in bytes
  lib::UBe32 size_be;
};
static_assert(sizeof(ContinuationEntry) == 28);

bool IsEntry(const uint8_t* entry, char a, char b) {
  return entry[0] == static_cast<uint8_t>(a) && entry[1] == static_cast<uint8_t>(b);
}

void AddName(RockName& name, const uint8_t* entry, uint32_t length) {
  constexpr uint8_t kCurrent = 1 << 1;
  constexpr uint8_t kParent = 1 << 2;
  name.found = true;
  if ((entry[4] & (kCurrent | kParent)) != 0) name.self_or_parent = true;
  const uint32_t content = length - 5;
  if (content > kMaxNameLength - name.length) {
    name.too_long = true;
    return;
  }
  lib::MemCopy(name.bytes + name.length, entry + 5, content);
  name.length += content;
}

// Reads one system use area [SUSP 1.12 4: entries of signature, length, version, data]: NM
// entries into `name`, a CE entry into `next`. Ends at ST [5.4], at zero padding or where fewer
// than 4 bytes remain; an entry shorter than 4 bytes or running past the area is kBadSystemUse.
Result<void, IsoError> ScanSystemUse(const uint8_t* area, uint32_t size, RockName& name,
                                     Continuation& next) {
  for (uint32_t at = 0; size - at >= 4;) {
    const uint8_t* entry = area + at;
    const uint32_t length = entry[2];
    if (entry[0] == 0 && entry[1] == 0) break;
    if (length < 4 || length > size - at) return Err(IsoError::kBadSystemUse);
    if (IsEntry(entry, 'S', 'T')) break;
    if (IsEntry(entry, 'C', 'E')) {
      if (length != sizeof(ContinuationEntry)) return Err(IsoError::kBadSystemUse);
      const auto ce = lib::LoadWire<ContinuationEntry>(entry);
      next = Continuation{true, ce.block.value(), ce.offset.value(), ce.size.value()};
    } else if (IsEntry(entry, 'N', 'M')) {
      if (length < 5) return Err(IsoError::kBadSystemUse);
      AddName(name, entry, length);
    }
    at += length;
  }
  return Ok<IsoError>();
}

// The record's Rock Ridge name: its system use field after LEN_SKP bytes, then at most
// kMaxContinuations continuation areas, each inside one logical block of the volume [SUSP 1.12
// 5.1], read into the reader's second window.
Result<void, IsoError> ReadRockName(SectorReader& reader, const Volume& volume,
                                    const Record& record, RockName& name) {
  Continuation next;
  if (volume.susp_skip < record.system_use_length) {
    TERN_TRY(ScanSystemUse(record.system_use + volume.susp_skip,
                           record.system_use_length - volume.susp_skip, name, next));
  }
  for (uint32_t hops = 0; next.pending; ++hops) {
    if (hops == kMaxContinuations) return Err(IsoError::kBadSystemUse);
    const Continuation area = next;
    next.pending = false;
    const uint64_t byte = area.block * volume.block_size;
    if (area.offset >= volume.block_size || area.length > volume.block_size - area.offset ||
        !lib::RangeInside(byte, volume.block_size, 0, volume.bytes)) {
      return Err(IsoError::kBadSystemUse);
    }
    auto sector = reader.Sector(byte / kSectorSize, 1);
    TERN_TRY(sector);
    // A logical block lies inside one sector: its size divides the sector's.
    const uint8_t* at = sector.value() + byte % kSectorSize + area.offset;
    TERN_TRY(ScanSystemUse(at, area.length, name, next));
  }
  return Ok<IsoError>();
}

// ---- Directories ----

struct Entry {
  File extent;
  bool directory = false;
};

// Whether `record` is named `wanted`: its Rock Ridge name when it has one, else its ISO name.
Result<bool, IsoError> Matches(SectorReader& reader, const Volume& volume, const Record& record,
                               lib::StringView wanted) {
  if (record.name_length == 1 && record.name[0] <= 1) return false;  // "." and ".." [6.8.2.2]
  if ((record.flags & kFlagAssociated) != 0) return false;
  if (volume.rock_ridge) {
    RockName name;
    TERN_TRY(ReadRockName(reader, volume, record, name));
    if (name.self_or_parent) return false;
    if (name.found) {
      return !name.too_long && EqualsIgnoringCase(lib::StringView(name.bytes, name.length), wanted);
    }
  }
  return EqualsIgnoringCase(IsoName(record), wanted);
}

Result<Entry, IsoError> EntryOf(const Volume& volume, const Record& record) {
  if ((record.flags & kFlagMultiExtent) != 0) return Err(IsoError::kMultiExtent);
  if (record.unit_size != 0 || record.gap_size != 0) return Err(IsoError::kInterleaved);
  auto extent = DataExtent(volume, record);
  TERN_TRY(extent);
  return Entry{extent.value(), (record.flags & kFlagDirectory) != 0};
}

// The entry named `wanted` in `directory` (an extent inside the volume): its records walked
// sector by sector [ECMA-119 6.8.1.1: a zero length byte ends a sector's records].
Result<Entry, IsoError> FindInDirectory(SectorReader& reader, const Volume& volume,
                                        const File& directory, lib::StringView wanted) {
  uint32_t records = 0;
  for (uint64_t at = 0; at < directory.size;) {
    const uint64_t byte = directory.offset + at;
    const uint64_t in_sector = byte % kSectorSize;
    auto sector = reader.Sector(byte / kSectorSize, 0);
    TERN_TRY(sector);
    const uint8_t* record_at = sector.value() + in_sector;
    if (record_at[0] == 0) {
      at += kSectorSize - in_sector;
      continue;
    }
    if (++records > kMaxDirectoryRecords) return Err(IsoError::kDirectoryTooLarge);
    auto record =
        ParseRecord(record_at, lib::Min<uint64_t>(kSectorSize - in_sector, directory.size - at));
    TERN_TRY(record);
    at += record.value().length;
    auto match = Matches(reader, volume, record.value(), wanted);
    TERN_TRY(match);
    if (match.value()) return EntryOf(volume, record.value());
  }
  return Err(IsoError::kNotFound);
}

bool IsSeparator(char c) {
  return c == '\\' || c == '/';
}

// The next component of `path` from `*at` (separators skipped; empty at the path's end).
Result<lib::StringView, IsoError> NextComponent(lib::StringView path, size_t* at) {
  while (*at < path.size() && IsSeparator(path[*at])) ++*at;
  const size_t start = *at;
  while (*at < path.size() && !IsSeparator(path[*at])) ++*at;
  const lib::StringView component = path.Substr(start, *at - start);
  if (component.size() > kMaxNameLength || component == "." || component == "..") {
    return Err(IsoError::kBadPath);
  }
  return component;
}

// Checks every component of `path` before any is looked up: kBadPath, kPathTooDeep.
Result<void, IsoError> CheckPath(lib::StringView path) {
  size_t at = 0;
  for (uint32_t components = 0;; ++components) {
    auto component = NextComponent(path, &at);
    TERN_TRY(component);
    if (component.value().empty()) return Ok<IsoError>();
    if (components == kMaxPathComponents) return Err(IsoError::kPathTooDeep);
  }
}

// Walks `path` (checked by CheckPath) from the root; returns the entry it names.
Result<Entry, IsoError> Walk(SectorReader& reader, const Volume& volume, lib::StringView path) {
  File ancestors[kMaxPathComponents];
  uint32_t depth = 0;
  Entry current{File{volume.root_offset, volume.root_size}, true};
  size_t at = 0;
  for (;;) {
    auto component = NextComponent(path, &at);
    TERN_TRY(component);
    if (component.value().empty()) return current;
    if (!current.directory) return Err(IsoError::kNotADirectory);
    if (depth == kMaxPathComponents) return Err(IsoError::kPathTooDeep);
    if (current.extent.size > kMaxDirectoryBytes) return Err(IsoError::kDirectoryTooLarge);
    for (uint32_t i = 0; i < depth; ++i) {
      if (lib::RangesOverlap(ancestors[i].offset, ancestors[i].size, current.extent.offset,
                             current.extent.size)) {
        return Err(IsoError::kDirectoryLoop);
      }
    }
    ancestors[depth++] = current.extent;
    auto next = FindInDirectory(reader, volume, current.extent, component.value());
    TERN_TRY(next);
    current = next.value();
  }
}

}  // namespace

Result<Volume, IsoError> OpenVolume(const block::Device& device, lib::Span<uint8_t> scratch,
                                    block::IoError* io_error) {
  TERN_TRY(CheckDevice(device, scratch));
  SectorReader reader(device, scratch);
  auto volume = ReadDescriptors(reader, device);
  if (volume.is_ok()) {
    auto rock_ridge = DetectRockRidge(reader, volume.value());
    if (rock_ridge.is_error()) volume = Err(rock_ridge.error());
  }
  if (volume.is_error()) ReportIo(volume.error(), reader, io_error);
  return volume;
}

Result<File, IsoError> Lookup(const Volume& volume, lib::StringView path,
                              lib::Span<uint8_t> scratch, block::IoError* io_error) {
  TERN_TRY(CheckVolume(volume, scratch));
  TERN_TRY(CheckPath(path));
  SectorReader reader(*volume.device, scratch);
  auto entry = Walk(reader, volume, path);
  if (entry.is_error()) {
    ReportIo(entry.error(), reader, io_error);
    return Err(entry.error());
  }
  if (entry.value().directory) return Err(IsoError::kIsADirectory);
  return entry.value().extent;
}

Result<uint64_t, IsoError> ReadFile(const Volume& volume, const File& file, uint64_t position,
                                    lib::Span<uint8_t> out, lib::Span<uint8_t> scratch,
                                    block::IoError* io_error) {
  TERN_TRY(CheckVolume(volume, scratch));
  if (!lib::RangeInside(file.offset, file.size, 0, volume.bytes)) {
    return Err(IsoError::kExtentPastEnd);
  }
  if (position >= file.size) return uint64_t{0};
  const block::Device& device = *volume.device;
  const uint64_t block_size = device.block_size;
  const uint64_t capacity = scratch.size() / block_size;  // at least 2 (ScratchBytes)
  const uint64_t total = lib::Min<uint64_t>(out.size(), file.size - position);
  uint64_t done = 0;
  while (done < total) {
    // Inside the volume, which lies on the device: the blocks exist.
    const uint64_t byte = file.offset + position + done;
    const uint64_t skip = byte % block_size;
    const uint64_t count = lib::Min(capacity, (skip + total - done + block_size - 1) / block_size);
    auto read = block::ReadBlocks(device, byte / block_size, count,
                                  reinterpret_cast<uintptr_t>(scratch.data()));
    if (read.is_error()) {
      if (io_error != nullptr) *io_error = read.error().error;
      return Err(IsoError::kReadFailed);
    }
    const uint64_t n = lib::Min(count * block_size - skip, total - done);
    lib::MemCopy(out.data() + done, scratch.data() + skip, n);
    done += n;
  }
  return done;
}

}  // namespace fs
