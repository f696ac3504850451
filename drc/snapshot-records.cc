#include "drc/snapshot-records.h"

#include "lib/crc32.h"
#include "lib/string.h"
#include "lib/wire.h"

namespace drc {

using lib::Err;

const char* RecordErrorName(RecordError error) {
  switch (error) {
    case RecordError::kMalformed: return "malformed snapshot record";
    case RecordError::kCorrupt: return "snapshot record changed since it was written";
  }
  return "snapshot record error";
}

namespace {

// Appends the record made of `pieces` (head, name, value) and its CRC, or drops it whole.
struct Piece {
  const uint8_t* bytes;
  uint32_t size;
};

void Append(RecordBuffer& buffer, const Piece* pieces, int count) {
  uint64_t total = kRecordCrcSize;
  for (int i = 0; i < count; ++i) total += pieces[i].size;
  if (buffer.dropped > 0 || total > buffer.capacity - buffer.size) {
    buffer.dropped +=
        static_cast<uint32_t>(lib::Min<uint64_t>(total, 0xffffffffu - buffer.dropped));
    return;
  }
  uint8_t* out = buffer.data + buffer.size;
  uint32_t crc = 0;
  for (int i = 0; i < count; ++i) {
    lib::MemCopy(out, pieces[i].bytes, pieces[i].size);
    crc = lib::Crc32(lib::Span<const uint8_t>(out, pieces[i].size), crc);
    out += pieces[i].size;
  }
  lib::StoreWire(out, RecordCrc{lib::UBe32(crc)});
  buffer.size += static_cast<uint32_t>(total);
}

}  // namespace

void AppendNode(RecordBuffer& buffer, const uint8_t* name, uint32_t name_size) {
  uint8_t head[sizeof(NodeRecordHead)];
  lib::StoreWire(head, NodeRecordHead{kNode, lib::UBe16(static_cast<uint16_t>(name_size))});
  const Piece pieces[] = {{head, sizeof(head)}, {name, name_size}};
  Append(buffer, pieces, 2);
}

void AppendProperty(RecordBuffer& buffer, const uint8_t* name, uint32_t name_size,
                    const uint8_t* value, uint32_t value_size) {
  uint8_t head[sizeof(PropertyRecordHead)];
  lib::StoreWire(head, PropertyRecordHead{kProperty, lib::UBe16(static_cast<uint16_t>(name_size)),
                                          lib::UBe32(value_size)});
  const Piece pieces[] = {{head, sizeof(head)}, {name, name_size}, {value, value_size}};
  Append(buffer, pieces, 3);
}

void AppendEnd(RecordBuffer& buffer) {
  uint8_t head[sizeof(EndRecordHead)];
  lib::StoreWire(head, EndRecordHead{kEnd});
  const Piece pieces[] = {{head, sizeof(head)}};
  Append(buffer, pieces, 1);
}

lib::Result<Record, RecordError> ReadRecord(lib::Span<const uint8_t> snapshot, uint32_t offset) {
  if (offset >= snapshot.size()) return Err(RecordError::kMalformed);
  const uint8_t* at = snapshot.data() + offset;
  const uint64_t left = snapshot.size() - offset;
  Record record{static_cast<RecordTag>(at[0]), nullptr, 0, nullptr, 0, 0};
  uint64_t head = 0;
  switch (at[0]) {
    case kNode: head = sizeof(NodeRecordHead); break;
    case kProperty: head = sizeof(PropertyRecordHead); break;
    case kEnd: head = sizeof(EndRecordHead); break;
    default: return Err(RecordError::kMalformed);
  }
  if (head + kRecordCrcSize > left) return Err(RecordError::kMalformed);
  if (record.tag == kNode) {
    record.name_size = lib::LoadWire<NodeRecordHead>(at).name_size.value();
  } else if (record.tag == kProperty) {
    const PropertyRecordHead property = lib::LoadWire<PropertyRecordHead>(at);
    record.name_size = property.name_size.value();
    record.value_size = property.value_size.value();
  }
  uint64_t size = head;
  if (record.tag != kEnd) {
    size += uint64_t{record.name_size} + record.value_size;
    if (record.name_size == 0 || size + kRecordCrcSize > left ||
        at[head + record.name_size - 1] != 0) {
      return Err(RecordError::kMalformed);
    }
    record.name = at + head;
    record.value = at + head + record.name_size;
  }
  if (lib::Crc32(lib::Span<const uint8_t>(at, size)) !=
      lib::LoadWire<RecordCrc>(at + size).crc.value()) {
    return Err(RecordError::kCorrupt);
  }
  record.size = static_cast<uint32_t>(size + kRecordCrcSize);
  return record;
}

}  // namespace drc
