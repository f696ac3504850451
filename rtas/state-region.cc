#include "rtas/state-region.h"

#include "lib/string.h"

namespace rtas {

using lib::Err;
using lib::Ok;
using lib::Result;

const char* StateErrorName(StateError error) {
  switch (error) {
    case StateError::kTooSmall: return "state region too small";
    case StateError::kBadMagic: return "state region magic missing";
    case StateError::kBadVersion:
      static_assert(kStateLayoutVersion == 3, "say the version this RTAS reads");
      return "state region layout version is not 3, the only one this RTAS reads";
    case StateError::kBadGeometry: return "state region sizes inconsistent";
    case StateError::kBadChecksum: return "state region checksum mismatch";
    case StateError::kBadSlotChecksum: return "walk slot checksum mismatch";
  }
  return "state region error";
}

namespace {

// The header's checksum: CRC-32 of the header with the checksum field taken as 0.
uint32_t HeaderChecksum(lib::Span<const uint8_t> region) {
  uint8_t header[sizeof(StateHeader)];
  lib::MemCopy(header, region.data(), sizeof(header));
  lib::MemSet(header + __builtin_offsetof(StateHeader, checksum), 0, 4);
  return Crc32(lib::Span<const uint8_t>(header, sizeof(header)));
}

// A slot's checksum: CRC-32 of all its bytes but the last 4, which hold it.
uint32_t SlotChecksum(lib::Span<const uint8_t> slot) {
  return Crc32(slot.Subspan(0, slot.size() - 4));
}

const StateHeader& Header(lib::Span<const uint8_t> region) {
  return *reinterpret_cast<const StateHeader*>(region.data());
}

}  // namespace

Result<void, StateError> InitStateRegion(lib::Span<uint8_t> region, uint32_t instantiations) {
  const uint32_t fixed = StateRegionSize(0);
  if (region.size() < fixed || region.size() > 0xffffffffu) return Err(StateError::kTooSmall);
  lib::MemSet(region.data(), 0, region.size());
  auto& header = *reinterpret_cast<StateHeader*>(region.data());
  lib::MemCopy(header.magic, kStateMagic, sizeof(kStateMagic));
  header.layout_version = lib::Be32(kStateLayoutVersion);
  header.header_size = lib::Be32(sizeof(StateHeader));
  header.region_size = lib::Be32(static_cast<uint32_t>(region.size()));
  header.slot_count = lib::Be32(kSlotCount);
  header.slot_size = lib::Be32(kSlotSize);
  header.slots_offset = lib::Be32(sizeof(StateHeader));
  header.stats_offset = lib::Be32(sizeof(StateHeader) + kSlotCount * kSlotSize);
  header.stats_count = lib::Be32(kStatsCount);
  header.data_offset = lib::Be32(fixed);
  header.data_size = lib::Be32(static_cast<uint32_t>(region.size()) - fixed);
  header.instantiations = lib::Be32(instantiations);
  for (uint32_t i = 0; i < kSlotCount; ++i) CommitSlot(region, i);
  CommitStateRegion(region);
  return Ok<StateError>();
}

namespace {

// Magic, version and geometry: what makes every offset of the header safe to use.
Result<void, StateError> CheckGeometry(lib::Span<const uint8_t> region) {
  if (region.size() < sizeof(StateHeader)) return Err(StateError::kTooSmall);
  const StateHeader& header = Header(region);
  if (lib::MemCompare(header.magic, kStateMagic, sizeof(kStateMagic)) != 0) {
    return Err(StateError::kBadMagic);
  }
  if (header.layout_version.value() != kStateLayoutVersion) return Err(StateError::kBadVersion);
  const uint64_t slots_end = uint64_t{header.slots_offset.value()} +
                             uint64_t{header.slot_count.value()} * header.slot_size.value();
  const uint64_t stats_end = uint64_t{header.stats_offset.value()} +
                             uint64_t{header.stats_count.value()} * sizeof(ServiceStats);
  const uint64_t data_end = uint64_t{header.data_offset.value()} + header.data_size.value();
  // Layout version 3 has one placement of its tables, the one InitStateRegion writes: any other
  // offset (a misaligned one included: the tables are read as structures) is refused.
  if (header.header_size.value() != sizeof(StateHeader) ||
      header.region_size.value() != region.size() ||
      header.slots_offset.value() != sizeof(StateHeader) ||
      header.slot_count.value() != kSlotCount || header.slot_size.value() != kSlotSize ||
      header.stats_offset.value() != sizeof(StateHeader) + kSlotCount * kSlotSize ||
      header.stats_count.value() != kStatsCount ||
      header.data_offset.value() != StateRegionSize(0) || slots_end > header.stats_offset.value() ||
      stats_end > header.data_offset.value() || data_end != header.region_size.value()) {
    return Err(StateError::kBadGeometry);
  }
  return Ok<StateError>();
}

}  // namespace

Result<void, StateError> CheckStateRegion(lib::Span<const uint8_t> region) {
  if (auto geometry = CheckGeometry(region); geometry.is_error()) return geometry;
  if (HeaderChecksum(region) != Header(region).checksum.value()) {
    return Err(StateError::kBadChecksum);
  }
  return Ok<StateError>();
}

lib::Span<const uint8_t> SlotBytes(lib::Span<const uint8_t> region, uint32_t index) {
  const StateHeader& header = Header(region);
  if (index >= header.slot_count.value()) return {};
  const uint32_t size = header.slot_size.value();
  return region.Subspan(header.slots_offset.value() + index * size, size);
}

lib::Span<uint8_t> SlotBytes(lib::Span<uint8_t> region, uint32_t index) {
  const lib::Span<const uint8_t> slot = SlotBytes(lib::Span<const uint8_t>(region), index);
  return {const_cast<uint8_t*>(slot.data()), slot.size()};
}

Result<void, StateError> CheckSlot(lib::Span<const uint8_t> region, uint32_t index) {
  const lib::Span<const uint8_t> slot = SlotBytes(region, index);
  if (slot.size() < 8) return Err(StateError::kBadGeometry);
  if (SlotChecksum(slot) != lib::LoadBe32(slot.data() + slot.size() - 4)) {
    return Err(StateError::kBadSlotChecksum);
  }
  return Ok<StateError>();
}

Result<void, StateError> CheckAllSlots(lib::Span<const uint8_t> region) {
  if (auto checked = CheckStateRegion(region); checked.is_error()) return checked;
  for (uint32_t i = 0; i < Header(region).slot_count.value(); ++i) {
    if (auto checked = CheckSlot(region, i); checked.is_error()) return checked;
  }
  return Ok<StateError>();
}

void CommitSlot(lib::Span<uint8_t> region, uint32_t index) {
  const lib::Span<uint8_t> slot = SlotBytes(region, index);
  if (slot.size() < 8) return;
  lib::StoreBe32(slot.data() + slot.size() - 4, SlotChecksum(slot));
}

void CommitStateRegion(lib::Span<uint8_t> region) {
  auto& header = *reinterpret_cast<StateHeader*>(region.data());
  header.generation = lib::Be32(header.generation.value() + 1);
  header.checksum = lib::Be32(HeaderChecksum(region));
}

}  // namespace rtas

namespace rtas {

void RecordCall(lib::Span<uint8_t> region, uint32_t row, int32_t status) {
  // The statistics are outside every checksum: only the offsets that place them must be sound.
  if (CheckGeometry(region).is_error()) return;
  const StateHeader& header = Header(region);
  if (row >= header.stats_count.value()) return;
  auto* stats = reinterpret_cast<ServiceStats*>(region.data() + header.stats_offset.value());
  stats[row].calls = lib::Be32(stats[row].calls.value() + 1);
  stats[row].last_status = lib::Be32(static_cast<uint32_t>(status));
}

}  // namespace rtas
