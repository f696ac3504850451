// The snapshot room of the walks in progress: the state region's data area, shared (docs/rtas.md).
// A walk starts with no room and takes room as its records come, at least doubling: its snapshot
// moves to the largest gap no other walk's room covers, and when no gap is large enough, the other
// walks' rooms are first compacted towards the data area's start. Snapshots hold offsets relative
// to their own start only, so moving one changes nothing but the slot's room offset.
#pragma once

#include "drc/slot-table.h"
#include "lib/result.h"
#include "lib/types.h"

namespace drc {

enum class RoomError {
  kOverLimit,  // the walk asked for more than its limit
  kNoRoom,     // the other walks in progress hold the rest of the data area
};

// Makes the room of the walk in slot `index` hold at least `needed` bytes (at most `limit`),
// moving its snapshot to a larger gap, and compacting the other walks' rooms first if no gap is
// large enough. Rooms at least double, so a walk moves a few times at most. The other slots are
// checked first (DropCorruptSlots); the caller commits slot `index`, while the slots moved by a
// compaction are committed here.
[[nodiscard]] lib::Result<void, RoomError> EnsureRoom(Region& region, uint32_t index,
                                                      uint32_t needed, uint32_t limit);

}  // namespace drc
