#include "drc/walker.h"

#include "drc/serving.h"
#include "drc/slot-table.h"
#include "drc/snapshot.h"
#include "drc/walk-slot.h"
#include "drc/work-area.h"
#include "lib/console.h"
#include "lib/wire.h"
#include "rtas/state-region.h"

namespace drc {

using rtas::RtasStatus;

uint32_t ForgetWalks(lib::Span<uint8_t> state, uint32_t drc_index) {
  if (rtas::CheckStateRegion(state).is_error()) return 0;
  Region region{state};
  return EndWalks(region, drc_index);
}

namespace {

// Ends the walk in slot `index` with the OS's answer `status` (-1 if the walk could not end).
RtasStatus EndWalk(Region& region, uint32_t index, RtasStatus status) {
  const bool ended = ChangeState(region.slot(index), WalkState::kFree).is_ok();
  region.commit_and_advance(index);
  return ended ? status : RtasStatus::kHardwareError;
}

// Ends the walk in slot `index` as corrupt: -1 and a console message, never a silent restart.
RtasStatus Corrupt(Region& region, uint32_t index, uint32_t drc_index, const char* what) {
  lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: %s\n", drc_index, what);
  return EndWalk(region, index, RtasStatus::kHardwareError);
}

// The walk the OS's work area names, checked: its slot's checksum, its room within the data area.
// The slot count when there is none to go on with (a message said why, a corrupt walk ended): the
// OS's answer is -1.
uint32_t CheckedWalk(Region& region, uint32_t drc_index, uint32_t cookie) {
  auto found = FindWalk(region, drc_index, cookie);
  if (found.is_error()) {
    if (found.error() == SlotError::kNoWalk) {
      lib::Printf(
          "tern-rtas: configure-connector: DRC 0x%08x: no walk with cookie 0x%08x "
          "(stale or abandoned work area)\n",
          drc_index, cookie);
    }
    return region.slot_count();
  }
  const uint32_t index = found.value();
  if (auto checked = rtas::CheckSlot(region.bytes, index); checked.is_error()) {
    (void)Corrupt(region, index, drc_index, rtas::StateErrorName(checked.error()));
    return region.slot_count();
  }
  if (!SlotFitsRegion(region, region.slot(index))) {
    (void)Corrupt(region, index, drc_index, "walk state outside its room");
    return region.slot_count();
  }
  return index;
}

}  // namespace

RtasStatus ConfigureConnector(WalkContext& context, uint64_t wa) {
  uint8_t bytes[sizeof(WorkAreaHead)];
  if (context.memory.Read(wa, bytes, sizeof(bytes)).is_error() ||
      !context.memory.Map(wa, kWorkAreaSize, true).is_ok()) {
    return RtasStatus::kParameterError;
  }
  const WorkAreaHead head = lib::LoadWire<WorkAreaHead>(bytes);
  const uint32_t drc_index = head.drc_index.value();
  if (drc_index == 0) return RtasStatus::kParameterError;
  Region region{context.state};
  const uint32_t index = CheckedWalk(region, drc_index, head.cookie.value());
  if (index == region.slot_count()) return RtasStatus::kHardwareError;
  WalkSlot& slot = region.slot(index);
  slot.last_use = lib::Be32(region.next_use());

  switch (StateOf(slot)) {
    case WalkState::kSnapshotting:
    case WalkState::kDraining: {
      auto progress = TakeSnapshot(context, region, index);
      if (progress.is_error()) return EndWalk(region, index, progress.error());
      if (progress.value() != Progress::kDone) {
        region.commit(index);
        StampCookie(context.memory, wa, slot);
        return RtasStatus::kBusy;  // -2: call again with the work area as it is
      }
      break;
    }
    case WalkState::kServing: break;
    case WalkState::kFree:
    default: return Corrupt(region, index, drc_index, "corrupt walk state");
  }
  auto served = Serve(context.memory, region, slot, wa);
  if (served.is_error() && served.error().status == RtasStatus::kHardwareError) {
    return Corrupt(region, index, drc_index, served.error().problem);
  }
  if (served.is_error()) {  // the work area cannot be written: the walk stays where it was
    region.commit(index);
    return served.error().status;
  }
  if (served.value() == RtasStatus::kSuccess) return EndWalk(region, index, RtasStatus::kSuccess);
  StampCookie(context.memory, wa, slot);
  region.commit(index);
  return served.value();
}

}  // namespace drc
