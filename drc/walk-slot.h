// A configure-connector walk in the RTAS state region (rtas/state-region.h): one slot per DRC
// being configured, and the slot's snapshot of the DRC's device-tree fragment in the region's data
// area. An ABI like the rest of the region (docs/rtas.md): big-endian, offsets only.
//
// Snapshot records, back to back, unaligned:
//   0x01 NODE  u16 name size (with NUL), name
//   0x03 PROP  u16 name size (with NUL), u32 value size, name, value
//   0x04 END   (closes the innermost open node)
#pragma once

#include "lib/be.h"
#include "lib/types.h"

namespace drc {

enum class SlotPhase : uint32_t {
  kFree = 0,
  kAcquiring = 1,  // replaying the host's walk into the snapshot
  kServing = 2,    // answering the OS from the snapshot
};

struct WalkSlot {
  lib::Be32 drc_index;        // 0: free
  lib::Be32 phase;            // SlotPhase
  lib::Be32 cookie;           // stamped into work-area word 1 on every non-final return
  lib::Be32 last_use;         // region-wide use counter at the last call: the oldest is recycled
  lib::Be32 snapshot_offset;  // from the region start
  lib::Be32 snapshot_capacity;
  lib::Be32 snapshot_size;  // bytes recorded so far
  lib::Be32 snapshot_crc;   // CRC-32 of the snapshot so far, kept as records are added
  lib::Be32 cursor;         // offset in the snapshot of the next record to serve
  lib::Be32 depth;          // nodes open in the OS's view
  lib::Be32 served;         // answers given with data (the first must be 2)
  lib::Be32 host_depth;     // nodes open in the host's replayed walk
  lib::Be32 host_steps;     // host calls in the current replay
  lib::Be32 replays;        // replays restarted because the host's walk restarted
  lib::Be32 draining;       // 1: running the host's stale walk to its end before replaying
  lib::Be32 reserved;
};
static_assert(sizeof(WalkSlot) == 64);

enum RecordTag : uint8_t { kNode = 0x01, kProperty = 0x03, kEnd = 0x04 };

}  // namespace drc
