// Serving the OS from a complete snapshot (a walk kServing): each call answers the record at the
// walk's cursor in QEMU's work-area layout (drc/work-area.h: the name at kDataOffset, a property's
// value after its name's NUL) [LoPAPR 13.5.3.5]: 2 for the first node and for children, 1 for a
// node that follows its closed sibling, 3 for properties, 4 to back up, 0 when the fragment's node
// closes. Every call checks the one record it serves (its CRC-32, drc/snapshot-records.h), and the
// sibling node an end leads to, so a record that changed since it was written is never served.
#pragma once

#include "drc/slot-table.h"
#include "drc/walk-slot.h"
#include "lib/guest-memory.h"
#include "lib/result.h"
#include "lib/types.h"
#include "rtas/status.h"

namespace drc {

// Why a call could not be answered from the snapshot.
struct ServeError {
  rtas::RtasStatus status;  // kHardwareError, or kParameterError: the work area is not writable
  const char* problem;      // for kHardwareError: how the snapshot is inconsistent
};

// Answers the OS's next step of the walk in `slot` into its work area at guest address `wa`, and
// moves the slot's cursor, depth and answer count on. On an error the slot is unchanged (the
// work area may hold part of the answer).
lib::Result<rtas::RtasStatus, ServeError> Serve(lib::GuestMemory& memory, Region& region,
                                                WalkSlot& slot, uint64_t wa);

// Writes the walk's cookie into work-area word 1, which the OS hands back on its next call; every
// non-final answer does. A work area that cannot be written was refused before the walk began.
void StampCookie(lib::GuestMemory& memory, uint64_t wa, const WalkSlot& slot);

}  // namespace drc
