// ibm,configure-connector served by tern [LoPAPR 13.5.3.5; the rules it keeps: docs/rtas.md]:
// the walk's cursor and the DRC's fragment live in the RTAS state region, in guest memory, so a
// live migration between two calls moves them with the guest and the walk resumes exactly.
//
// A sequence starts when work-area word 1 is 0: tern takes a slot for the DRC index (never the
// work-area address: callers move the buffer), snapshots the fragment from its source, and then
// answers from the snapshot. Every non-final answer stamps the slot's cookie into word 1; a call
// whose cookie matches no slot of that DRC gets -1, never a silent restart. Answers: 2 for the
// first node and children, 1 for later siblings, 3 properties, 4 back up, 0 complete; -2 (call
// again) while the snapshot is being taken; -9003 / -3 from the host on the first call.
//
// drc/walker.cc orchestrates the call; the parts are drc/work-area.h (the work area's layout),
// drc/slot-table.h (slots and their states), drc/room.h (the shared snapshot room), drc/snapshot.h
// (taking the snapshot) and drc/serving.h (answering from it).
#pragma once

#include "drc/work-area.h"
#include "lib/guest-memory.h"
#include "lib/hv.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"
#include "rtas/status.h"

namespace drc {

// One step of the host's own configure-connector walk for `drc_index`, into `work_area` (a
// 4 KiB buffer at a real address the host can write). `first` is true for the first step of a
// replay. Returns the host's answer (2/3/4/0, -2/990x, or an error).
struct FragmentSource {
  rtas::RtasStatus (*step)(void* context, uint32_t drc_index, bool first, uint64_t work_area);
  void* context;
};

// The stateless whole-fragment fetch a host may offer instead (docs/host-abi.md,
// lib::hv::DrcFdt): copies the DRC's fragment, an FDT blob, to `buffer` (`size` bytes; buffer 0
// asks only for the size).
struct FragmentFetch {
  lib::Result<lib::hv::DrcFragment, lib::hv::HcallStatus> (*fetch)(void* context,
                                                                   uint32_t drc_index,
                                                                   uint64_t buffer, uint64_t size);
  void* context;
};

struct WalkContext {
  lib::GuestMemory& memory;
  lib::Span<uint8_t> state;  // the state region
  FragmentSource source;
  uint64_t scratch;              // guest address of a 4 KiB work area for the host's walk
  uint8_t* scratch_host;         // the same, for tern to read
  uint32_t host_steps_per_call;  // bound on host calls per OS call
  FragmentFetch fetch = {nullptr, nullptr};  // used instead of `source` when the host offers it
  uint64_t state_address = 0;                // guest address of the state region (for the fetch)
};

// The OS's call: work area at guest address `work_area` (args[0] | args[1] << 32).
rtas::RtasStatus ConfigureConnector(WalkContext& context, uint64_t work_area);

// Drops the walk of `drc_index` (isolation, unallocation) or every walk (drc_index 0: os-term,
// reboot). Returns how many slots were freed.
uint32_t ForgetWalks(lib::Span<uint8_t> state, uint32_t drc_index);

}  // namespace drc
