// A configure-connector walk in the RTAS state region (rtas/state-region.h): one slot per DRC
// being configured, and the slot's snapshot of the DRC's device-tree fragment (records:
// drc/snapshot-records.h) in its room in the region's data area. The room is taken from the space
// no other walk holds when a sequence starts (kMaxSnapshotSize, more for a fetch) and trimmed to
// the snapshot once it is complete. An ABI like the rest of the region (docs/rtas.md, layout
// version 3): big-endian, offsets only.
#pragma once

#include "lib/be.h"
#include "lib/types.h"
#include "drc/snapshot-records.h"

namespace drc {

// The state of a walk. Every change goes through drc/slot-table.h's ChangeState, which refuses any
// change not listed here (the walk then ends with -1):
//   kFree         -> kSnapshotting  a sequence starts (work-area word 1 = 0)
//   kSnapshotting -> kDraining      the host's walk of the DRC was found mid-way (an abandoned or
//                                   restarted sequence): it is stepped to its end first
//   kDraining     -> kSnapshotting  the host's walk ended: the replay starts from the fragment
//   root;
//                                   or the host offers the fetch (the walk migrated from a host
//                                   without it): the fragment is fetched
//   kSnapshotting -> kServing       the snapshot is complete
//   any           -> kFree          the walk completed, failed, was forgotten or recycled
enum class WalkState : uint32_t {
  kFree = 0,
  kSnapshotting = 1,  // replaying the host's walk (or fetching the fragment) into the snapshot
  kDraining = 2,      // stepping the host's stale walk to its end before replaying
  kServing = 3,       // answering the OS from the snapshot
};

constexpr const char* WalkStateName(uint32_t state) {
  switch (static_cast<WalkState>(state)) {
    case WalkState::kFree: return "free";
    case WalkState::kSnapshotting: return "taking the snapshot";
    case WalkState::kDraining: return "draining the host's stale walk";
    case WalkState::kServing: return "serving";
  }
  return "unknown state";
}

struct WalkSlot {
  lib::Be32 drc_index;          // 0 when free
  lib::Be32 state;              // WalkState
  lib::Be32 cookie;             // stamped into work-area word 1 on every non-final return
  lib::Be32 last_use;           // region-wide use counter at the last call: the oldest is recycled
  lib::Be32 snapshot_offset;    // of the walk's room, from the region start (0 when free)
  lib::Be32 snapshot_capacity;  // bytes of room
  lib::Be32 snapshot_size;      // bytes recorded so far
  lib::Be32 dropped;     // bytes of records the room could not hold: the fragment is too large
  lib::Be32 cursor;      // offset in the snapshot of the next record to serve
  lib::Be32 depth;       // nodes open in the OS's view
  lib::Be32 served;      // answers given with data (the first must be 2)
  lib::Be32 host_depth;  // nodes open in the host's replayed walk
  lib::Be32 host_steps;  // host calls in the current replay
  lib::Be32 replays;     // replays restarted because the host's walk restarted
  lib::Be32 host_busy;   // busy answers: the host's -2 or 990x, fragments changed during a fetch
  lib::Be32 checksum;    // CRC-32 of the 60 bytes before (rtas::CommitSlot)
};
static_assert(sizeof(WalkSlot) == 64);

// The largest snapshot a walk may record (records as drc/snapshot-records.h lays them out, about
// the size of the fragment's FDT structure block): larger fragments are refused with -1. A walk
// that fetches the fragment (docs/host-abi.md) takes as much room again for the blob.
inline constexpr uint32_t kMaxSnapshotSize = 128 * 1024;

}  // namespace drc
