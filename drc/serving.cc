#include "drc/serving.h"

#include "drc/snapshot-records.h"
#include "drc/work-area.h"
#include "lib/wire.h"

namespace drc {

using lib::Err;
using rtas::RtasStatus;

namespace {

// Writes the words of `head` from byte `first` up to byte `end` into the OS's work area.
bool WriteWords(lib::GuestMemory& memory, uint64_t wa, const WorkAreaHead& head, uint32_t first,
                uint32_t end) {
  uint8_t bytes[sizeof(WorkAreaHead)];
  lib::StoreWire(bytes, head);
  return memory.Write(wa + first, bytes + first, end - first).is_ok();
}

// Writes a node's name into the OS's work area as QEMU lays it out: word 2, then the name.
bool WriteNode(lib::GuestMemory& memory, uint64_t wa, const uint8_t* name, uint32_t name_size) {
  WorkAreaHead head{};
  head.name_offset = lib::Be32(kDataOffset);
  return WriteWords(memory, wa, head, kNameOffsetAt, kNameOffsetAt + 4) &&
         memory.Write(wa + kDataOffset, name, name_size).is_ok();
}

// The OS's view of the walk while it is served: where the next record is and how many nodes are
// open. An answer moves it on only when the work area was written. `problem` says why an answer
// is kHardwareError.
struct Cursor {
  lib::Span<const uint8_t> snapshot;
  uint32_t at;
  uint32_t depth;
  const char* problem;

  // The record at `offset`, checked (drc/snapshot-records.h), or nothing with `problem` set.
  bool Read(uint32_t offset, Record& record) {
    auto read = ReadRecord(snapshot, offset);
    if (read.is_error()) {
      problem = RecordErrorName(read.error());
      return false;
    }
    record = read.value();
    return true;
  }
  RtasStatus Inconsistent(const char* what) {
    problem = what;
    return RtasStatus::kHardwareError;
  }
};

// Opens the node `record` at the cursor: 2 (next child), or `answer` for a sibling.
RtasStatus ServeNode(lib::GuestMemory& memory, uint64_t wa, Cursor& cursor, const Record& record,
                     RtasStatus answer) {
  if (!WriteNode(memory, wa, record.name, record.name_size)) return RtasStatus::kParameterError;
  cursor.at += record.size;
  ++cursor.depth;
  return answer;
}

// The property `record` at the cursor: 3 (next property), words 2 to 4, the name, the value.
RtasStatus ServeProperty(lib::GuestMemory& memory, uint64_t wa, Cursor& cursor,
                         const Record& record) {
  if (cursor.depth == 0) return cursor.Inconsistent("a property outside any node");
  if (kDataOffset + record.name_size + record.value_size > kWorkAreaSize) {
    return cursor.Inconsistent("a property larger than the work area");
  }
  WorkAreaHead head{};
  head.name_offset = lib::Be32(kDataOffset);
  head.value_length = lib::Be32(record.value_size);
  head.value_offset = lib::Be32(kDataOffset + record.name_size);
  if (!WriteWords(memory, wa, head, kNameOffsetAt, sizeof(WorkAreaHead)) ||
      memory.Write(wa + kDataOffset, record.name, record.name_size).is_error() ||
      memory.Write(wa + kDataOffset + record.name_size, record.value, record.value_size)
          .is_error()) {
    return RtasStatus::kParameterError;
  }
  cursor.at += record.size;
  return RtasStatus::kNextProperty;
}

// The end of the innermost node: 0 when it is the root's (configuration complete), 1 when a
// sibling opens next (one answer for both [LoPAPR 13.5.3.5]), else 4 (previous parent).
RtasStatus ServeEnd(lib::GuestMemory& memory, uint64_t wa, Cursor& cursor, const Record& record) {
  if (cursor.depth == 0) return cursor.Inconsistent("an end outside any node");
  const uint32_t after = cursor.at + record.size;
  if (cursor.depth == 1) {
    if (after != cursor.snapshot.size()) return cursor.Inconsistent("records after the root's end");
    cursor.at = after;
    --cursor.depth;
    return RtasStatus::kSuccess;
  }
  Record next;
  if (after < cursor.snapshot.size() && cursor.snapshot[after] == kNode &&
      !cursor.Read(after, next)) {
    return RtasStatus::kHardwareError;
  }
  cursor.at = after;
  --cursor.depth;
  if (after < cursor.snapshot.size() && cursor.snapshot[after] == kNode) {
    return ServeNode(memory, wa, cursor, next, RtasStatus::kNextSibling);
  }
  return RtasStatus::kPreviousParent;
}

}  // namespace

lib::Result<RtasStatus, ServeError> Serve(lib::GuestMemory& memory, Region& region, WalkSlot& slot,
                                          uint64_t wa) {
  Cursor cursor{{region.at(slot.snapshot_offset.value()), slot.snapshot_size.value()},
                slot.cursor.value(),
                slot.depth.value(),
                "the snapshot ends before the fragment"};
  Record record;
  RtasStatus answer = RtasStatus::kHardwareError;
  if (cursor.Read(cursor.at, record)) {
    switch (record.tag) {
      // The first data answer is always a node: 2.
      case kNode: answer = ServeNode(memory, wa, cursor, record, RtasStatus::kNextChild); break;
      case kProperty: answer = ServeProperty(memory, wa, cursor, record); break;
      case kEnd: answer = ServeEnd(memory, wa, cursor, record); break;
    }
  }
  if (answer == RtasStatus::kHardwareError || answer == RtasStatus::kParameterError) {
    return Err(ServeError{answer, cursor.problem});
  }
  slot.cursor = lib::Be32(cursor.at);
  slot.depth = lib::Be32(cursor.depth);
  slot.served = lib::Be32(slot.served.value() + 1);
  return answer;
}

void StampCookie(lib::GuestMemory& memory, uint64_t wa, const WalkSlot& slot) {
  uint8_t stamp[sizeof(lib::Be32)];
  lib::StoreWire(stamp, slot.cookie);
  (void)memory.Write(wa + kCookieAt, stamp, sizeof(stamp));
}

}  // namespace drc
