// Taking a walk's snapshot: the DRC's fragment recorded into the walk's room in the state region
// (records: drc/snapshot-records.h), over as many OS calls as it takes (-2 in between), before
// the OS is served from it (drc/serving.h). Two sources (docs/rtas.md, docs/host-abi.md):
//   - the host's own configure-connector walk, replayed at most `host_steps_per_call` host calls
//     per OS call. A host walk found mid-way (an abandoned sequence, or one that restarted under a
//     migration) is first stepped to its end (kDraining), then replayed from the fragment's root;
//   - KVMPPC_H_DRC_FDT, the whole-fragment fetch, when the host offers it: one size query and one
//     copy per OS call, converted into records (drc/fdt-records.h).
// Every failure ends the walk: -1 with a `tern-rtas:` message, or the host's own answer when
// configure-connector defines it for the first call (-3, -9001, -9002, -9003).
#pragma once

#include "drc/slot-table.h"
#include "drc/walk-slot.h"
#include "drc/walker.h"
#include "lib/result.h"
#include "lib/types.h"
#include "rtas/status.h"

namespace drc {

// How far a call got in taking the snapshot.
enum class Progress {
  kMore,  // within a call: the host's walk goes on (never returned by TakeSnapshot)
  kDone,  // the snapshot is complete and the walk kServing: serve the OS this call
  kBusy,  // not yet: the OS is asked to call again (-2) with its work area as it is
};

// More host steps than a walk of two kMaxSnapshotSize snapshots of the smallest records (an END
// is 5 bytes) could take: a host whose walk never ends gets -1, not an endless -2.
inline constexpr uint32_t kMaxHostSteps = 4 * kMaxSnapshotSize / 5;

// How many times one walk may answer the OS -2 because the host was busy (the slot's host_busy):
// in the replay, the host's walk answered -2 or 990x (the step does not count); in the fetch, the
// fragment's generation changed between the size query and the copy. The next one ends the walk
// with -1 and a message: a host that stays busy, or a fragment that never settles (issue #26), is
// a hardware error, never an endless -2, which Linux and drmgr would retry for ever. A legitimate
// change costs one retry (the next fetch sees the new generation in both calls), and Linux's
// dlpar_configure_connector calls again at once on -2: the bound has only to stop a host that
// never settles, and caps the work at 10,000 calls of two hcalls and one copy (128 KiB at most).
inline constexpr uint32_t kMaxHostBusy = 10000;

// Takes the snapshot of the walk in slot `index` (kSnapshotting or kDraining) as far as one OS
// call may: kDone or kBusy, or the OS's answer for a walk that failed, which the caller ends.
// Slot `index` is left changed and uncommitted.
lib::Result<Progress, rtas::RtasStatus> TakeSnapshot(WalkContext& context, Region& region,
                                                     uint32_t index);

}  // namespace drc
