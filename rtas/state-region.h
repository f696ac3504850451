// The RTAS state region: tern's serializable state in guest memory, migrated by the host
// byte-for-byte with the rest of guest RAM. It is an ABI (host tools read it; docs/rtas.md has the
// layout byte for byte): big-endian, offsets only, no pointers, so it means the same at any base.
//
// Layout version 3 (versions 1 and 2 are refused: their walk slots differ): a 64-byte header, then
// `slot_count` slots of `slot_size` bytes (the configure-connector walks, filled by the DRC code),
// then per-service call statistics (`stats_count` entries of 8 bytes: calls, last status;
// diagnostics for host tools), then the data area the slots' offsets point into. The header
// carries a CRC-32 of itself; every slot ends with a CRC-32 of its other bytes, so a call checks
// the header and the one slot it uses, not the whole table. The statistics are not checked, and
// the data area carries its own checks (per record, drc/snapshot-records.h).
#pragma once

#include "lib/be.h"
#include "lib/crc32.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace rtas {

inline constexpr char kStateMagic[8] = {'T', 'E', 'R', 'N', 'S', 'T', 'A', 'T'};
inline constexpr uint32_t kStateLayoutVersion = 3;

struct StateHeader {
  char magic[8];             // "TERNSTAT"
  lib::Be32 layout_version;  // kStateLayoutVersion
  lib::Be32 header_size;     // sizeof(StateHeader)
  lib::Be32 region_size;     // the whole region, header included
  lib::Be32 generation;      // +1 at every CommitStateRegion (a walk starting or ending)
  lib::Be32 checksum;        // CRC-32 (IEEE 802.3) of the header, this field as 0
  lib::Be32 slot_count;
  lib::Be32 slot_size;
  lib::Be32 slots_offset;  // from the region start
  lib::Be32 data_offset;   // from the region start
  lib::Be32 data_size;
  lib::Be32 instantiations;  // times instantiate-rtas built this region (diagnostics)
  lib::Be32 stats_offset;    // from the region start
  lib::Be32 stats_count;     // one per service-table row
  lib::Be32 reserved;
};

// Per service-table row: how often the OS called it and the status of the last call.
struct ServiceStats {
  lib::Be32 calls;
  lib::Be32 last_status;
};
static_assert(sizeof(StateHeader) == 64);

inline constexpr uint32_t kSlotCount = 8;
inline constexpr uint32_t kSlotSize = 64;
inline constexpr uint32_t kStatsCount = 64;

enum class StateError {
  kTooSmall,  // the region cannot hold a header and its slots
  kBadMagic,
  kBadVersion,
  kBadGeometry,      // sizes and offsets inconsistent with the region
  kBadChecksum,      // the header's
  kBadSlotChecksum,  // a slot's
};

const char* StateErrorName(StateError error);

// CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of `bytes`, continuing from `crc`: lib::Crc32,
// under the name the RTAS code has always used (a using-declaration, so that unqualified calls,
// which also find lib::Crc32 by argument-dependent lookup, name one function).
using lib::Crc32;

// Builds an empty region (all slots free, each with its checksum) in `region`.
lib::Result<void, StateError> InitStateRegion(lib::Span<uint8_t> region, uint32_t instantiations);

// Checks magic, version, geometry and the header's checksum of the region in `region`. The slots
// are checked one at a time by their users (CheckSlot), or all at once by CheckAllSlots.
lib::Result<void, StateError> CheckStateRegion(lib::Span<const uint8_t> region);

// The bytes of slot `index` of a region that passed CheckStateRegion (empty past the table).
lib::Span<uint8_t> SlotBytes(lib::Span<uint8_t> region, uint32_t index);
lib::Span<const uint8_t> SlotBytes(lib::Span<const uint8_t> region, uint32_t index);

// Checks slot `index`'s checksum (its last 4 bytes: CRC-32 of the bytes before them).
lib::Result<void, StateError> CheckSlot(lib::Span<const uint8_t> region, uint32_t index);
// CheckStateRegion, then every slot's checksum.
lib::Result<void, StateError> CheckAllSlots(lib::Span<const uint8_t> region);

// After a change of slot `index`: recomputes its checksum.
void CommitSlot(lib::Span<uint8_t> region, uint32_t index);

// After a change of the header: bumps the generation and recomputes the header's checksum. A
// change of slots alone needs only CommitSlot.
void CommitStateRegion(lib::Span<uint8_t> region);

// Bytes a region of the standard geometry needs with `data_size` bytes of data area.
constexpr uint32_t StateRegionSize(uint32_t data_size) {
  return static_cast<uint32_t>(sizeof(StateHeader)) + kSlotCount * kSlotSize +
         kStatsCount * static_cast<uint32_t>(sizeof(ServiceStats)) + data_size;
}

// Counts a call of service row `row` that ended with `status` (no effect for rows past the table
// or a region whose magic, version or geometry fail their checks; the statistics are outside
// every checksum, so the header's is not computed).
void RecordCall(lib::Span<uint8_t> region, uint32_t row, int32_t status);

}  // namespace rtas
