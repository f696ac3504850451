// The records a configure-connector snapshot is made of, in the RTAS state region's data area (an
// ABI like the rest of the region: docs/rtas.md, layout version 3). Back to back, unaligned,
// big-endian; each ends with a CRC-32 (IEEE 802.3) of its own bytes before it, so a call checks
// only the record it serves, and a record that changed since it was written is never served:
//   0x01 NODE  u16 name size (with NUL), name, crc
//   0x03 PROP  u16 name size (with NUL), u32 value size, name, value, crc
//   0x04 END   crc (closes the innermost open node)
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"
#include "lib/wire.h"

namespace drc {

// Records lie back to back at any alignment, so their heads' fields do too: they are
// lib::UBe16 / lib::UBe32 (alignment 1; lib/wire.h), which make structs without padding.
enum RecordTag : uint8_t { kNode = 0x01, kProperty = 0x03, kEnd = 0x04 };

// The records' fixed parts, read and written with lib::LoadWire / lib::StoreWire.
struct NodeRecordHead {
  uint8_t tag;  // kNode
  lib::UBe16 name_size;
};
static_assert(sizeof(NodeRecordHead) == 3);

struct PropertyRecordHead {
  uint8_t tag;  // kProperty
  lib::UBe16 name_size;
  lib::UBe32 value_size;
};
static_assert(sizeof(PropertyRecordHead) == 7);

struct EndRecordHead {
  uint8_t tag;  // kEnd
};
static_assert(sizeof(EndRecordHead) == 1);

// Every record's last bytes: the CRC-32 of the bytes before them.
struct RecordCrc {
  lib::UBe32 crc;
};
static_assert(sizeof(RecordCrc) == 4);

inline constexpr uint32_t kRecordCrcSize = sizeof(RecordCrc);

// The bytes each record takes.
constexpr uint32_t NodeRecordSize(uint32_t name_size) {
  return sizeof(NodeRecordHead) + name_size + kRecordCrcSize;
}
constexpr uint32_t PropertyRecordSize(uint32_t name_size, uint32_t value_size) {
  return sizeof(PropertyRecordHead) + name_size + value_size + kRecordCrcSize;
}
inline constexpr uint32_t kEndRecordSize = sizeof(EndRecordHead) + kRecordCrcSize;

// Where records are appended: `capacity` bytes at `data`, `size` used. A record that does not fit
// is not written: `dropped` counts its bytes, and every later record's, so the records kept are
// always a prefix of the walk and a snapshot with dropped bytes is known to be incomplete.
struct RecordBuffer {
  uint8_t* data;
  uint32_t capacity;
  uint32_t size;
  uint32_t dropped;
};

void AppendNode(RecordBuffer& buffer, const uint8_t* name, uint32_t name_size);
void AppendProperty(RecordBuffer& buffer, const uint8_t* name, uint32_t name_size,
                    const uint8_t* value, uint32_t value_size);
void AppendEnd(RecordBuffer& buffer);

// One record, as read back: `name` is NUL-terminated within `name_size` for nodes and properties.
struct Record {
  RecordTag tag;
  const uint8_t* name;
  uint32_t name_size;
  const uint8_t* value;
  uint32_t value_size;
  uint32_t size;  // of the whole record, CRC included
};

enum class RecordError {
  kMalformed,  // an unknown tag, a size past the snapshot's end, a name without its NUL
  kCorrupt,    // the record's CRC does not match its bytes
};

const char* RecordErrorName(RecordError error);

// The record at `offset` of `snapshot`, checked: every size within the snapshot, the CRC intact.
lib::Result<Record, RecordError> ReadRecord(lib::Span<const uint8_t> snapshot, uint32_t offset);

}  // namespace drc
