#include "drc/room.h"

#include "lib/string.h"
#include "rtas/state-region.h"

namespace drc {

using lib::Err;

namespace {

struct Gap {
  uint32_t offset;
  uint32_t size;
};

// The largest stretch of the data area that no live walk's room covers, the room of slot `mine`
// counted as free.
Gap LargestGap(Region& region, uint32_t mine) {
  const uint32_t count = region.slot_count();
  auto holds_room = [&](uint32_t i) {
    return i != mine && StateOf(region.slot(i)) != WalkState::kFree &&
           region.slot(i).snapshot_capacity.value() > 0;
  };
  Gap best{region.data_begin(), 0};
  // A gap starts at the data area's start or at the end of a room, and ends at the next room.
  for (uint32_t candidate = 0; candidate <= count; ++candidate) {
    uint32_t start = region.data_begin();
    if (candidate < count) {
      if (!holds_room(candidate)) continue;
      const WalkSlot& slot = region.slot(candidate);
      start = slot.snapshot_offset.value() + slot.snapshot_capacity.value();
    }
    uint32_t end = region.data_end();
    for (uint32_t i = 0; i < count && end > start; ++i) {
      if (!holds_room(i)) continue;
      const uint32_t room = region.slot(i).snapshot_offset.value();
      const uint32_t room_end = room + region.slot(i).snapshot_capacity.value();
      if (room <= start && room_end > start) end = start;  // inside a room: no gap here
      if (room > start && room < end) end = room;
    }
    if (end > start && end - start > best.size) best = {start, end - start};
  }
  return best;
}

// Slides every live walk's room towards the data area's start, in the order they lie, so that the
// free space is one gap at the end. Rooms that overlap (only a region written by someone else has
// them) stop the compaction where they would be moved past the data area's end.
void Compact(Region& region) {
  uint32_t order[rtas::kSlotCount];
  uint32_t live = 0;
  for (uint32_t i = 0; i < region.slot_count() && live < rtas::kSlotCount; ++i) {
    if (StateOf(region.slot(i)) == WalkState::kFree) continue;
    uint32_t at = live++;
    for (; at > 0 && region.slot(order[at - 1]).snapshot_offset.value() >
                         region.slot(i).snapshot_offset.value();
         --at) {
      order[at] = order[at - 1];
    }
    order[at] = i;
  }
  uint32_t next = region.data_begin();
  for (uint32_t n = 0; n < live; ++n) {
    WalkSlot& slot = region.slot(order[n]);
    const uint32_t capacity = slot.snapshot_capacity.value();
    if (capacity > region.data_end() - next) return;
    if (slot.snapshot_offset.value() > next) {
      lib::MemMove(region.at(next), region.at(slot.snapshot_offset.value()),
                   slot.snapshot_size.value());
      slot.snapshot_offset = lib::Be32(next);
      rtas::CommitSlot(region.bytes, order[n]);
    }
    next = lib::Max(next, slot.snapshot_offset.value() + capacity);
  }
}

}  // namespace

lib::Result<void, RoomError> EnsureRoom(Region& region, uint32_t index, uint32_t needed,
                                        uint32_t limit) {
  WalkSlot& slot = region.slot(index);
  if (needed <= slot.snapshot_capacity.value()) return lib::Ok<RoomError>();
  if (needed > limit) return Err(RoomError::kOverLimit);
  const uint32_t want =
      lib::Min(limit, lib::Max(needed, lib::Max(2 * slot.snapshot_capacity.value(), 4096u)));
  DropCorruptSlots(region, index);  // the other walks' rooms are read below
  Gap gap = LargestGap(region, index);
  if (gap.size < needed) {
    Compact(region);
    gap = LargestGap(region, index);
    if (gap.size < needed) return Err(RoomError::kNoRoom);
  }
  // The gap may contain the walk's own room: the move is an overlapping copy.
  lib::MemMove(region.at(gap.offset), region.at(slot.snapshot_offset.value()),
               slot.snapshot_size.value());
  slot.snapshot_offset = lib::Be32(gap.offset);
  slot.snapshot_capacity = lib::Be32(lib::Min(want, gap.size));
  return lib::Ok<RoomError>();
}

}  // namespace drc
