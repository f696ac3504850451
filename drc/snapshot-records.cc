#include "drc/snapshot-records.h"

#include "lib/be.h"
#include "lib/crc32.h"
#include "lib/string.h"

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

// Appends the record made of `pieces` (header, name, value) and its CRC, or drops it whole.
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
  lib::StoreBe32(out, crc);
  buffer.size += static_cast<uint32_t>(total);
}

}  // namespace

void AppendNode(RecordBuffer& buffer, const uint8_t* name, uint32_t name_size) {
  uint8_t head[3] = {kNode};
  lib::StoreBe16(head + 1, static_cast<uint16_t>(name_size));
  const Piece pieces[] = {{head, 3}, {name, name_size}};
  Append(buffer, pieces, 2);
}

void AppendProperty(RecordBuffer& buffer, const uint8_t* name, uint32_t name_size,
                    const uint8_t* value, uint32_t value_size) {
  uint8_t head[7] = {kProperty};
  lib::StoreBe16(head + 1, static_cast<uint16_t>(name_size));
  lib::StoreBe32(head + 3, value_size);
  const Piece pieces[] = {{head, 7}, {name, name_size}, {value, value_size}};
  Append(buffer, pieces, 3);
}

void AppendEnd(RecordBuffer& buffer) {
  const uint8_t tag = kEnd;
  const Piece pieces[] = {{&tag, 1}};
  Append(buffer, pieces, 1);
}

lib::Result<Record, RecordError> ReadRecord(lib::Span<const uint8_t> snapshot, uint32_t offset) {
  if (offset >= snapshot.size()) return Err(RecordError::kMalformed);
  const uint8_t* at = snapshot.data() + offset;
  const uint64_t left = snapshot.size() - offset;
  Record record{static_cast<RecordTag>(at[0]), nullptr, 0, nullptr, 0, 0};
  uint64_t head = 1;
  switch (at[0]) {
    case kNode: head = 3; break;
    case kProperty: head = 7; break;
    case kEnd: head = 1; break;
    default: return Err(RecordError::kMalformed);
  }
  if (head + kRecordCrcSize > left) return Err(RecordError::kMalformed);
  uint64_t size = head;
  if (record.tag != kEnd) {
    record.name_size = lib::LoadBe16(at + 1);
    if (record.tag == kProperty) record.value_size = lib::LoadBe32(at + 3);
    size += uint64_t{record.name_size} + record.value_size;
    if (record.name_size == 0 || size + kRecordCrcSize > left ||
        at[head + record.name_size - 1] != 0) {
      return Err(RecordError::kMalformed);
    }
    record.name = at + head;
    record.value = at + head + record.name_size;
  }
  if (lib::Crc32(lib::Span<const uint8_t>(at, size)) != lib::LoadBe32(at + size)) {
    return Err(RecordError::kCorrupt);
  }
  record.size = static_cast<uint32_t>(size + kRecordCrcSize);
  return record;
}

}  // namespace drc
