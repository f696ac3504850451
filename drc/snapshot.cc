#include "drc/snapshot.h"

#include "drc/fdt-records.h"
#include "drc/room.h"
#include "drc/snapshot-records.h"
#include "drc/work-area.h"
#include "lib/console.h"
#include "lib/string.h"
#include "lib/wire.h"

namespace drc {

using lib::Err;
using rtas::RtasStatus;

namespace {

using Step = lib::Result<Progress, RtasStatus>;

// The snapshot of the walk in slot `index` as a buffer to append one record of `record_size` bytes
// to, with room for it if the data area has some (EnsureRoom); Store() writes the counts back.
struct SlotRecords {
  WalkSlot& slot;
  RecordBuffer buffer;
  SlotRecords(Region& region, uint32_t index, uint32_t record_size)
      : slot(region.slot(index)), buffer{} {
    if (slot.dropped.value() == 0) {
      // No room is not an error yet: the record is counted as dropped (RecordBuffer), and only
      // the host walk's end tells a fragment too large from a replay that restarted (RecordEnd).
      (void)EnsureRoom(region, index, slot.snapshot_size.value() + record_size, kMaxSnapshotSize);
    }
    buffer = {region.at(slot.snapshot_offset.value()), slot.snapshot_capacity.value(),
              slot.snapshot_size.value(), slot.dropped.value()};
  }
  void Store() {
    slot.snapshot_size = lib::Be32(buffer.size);
    slot.dropped = lib::Be32(buffer.dropped);
  }
};

// Starts the replay over: an empty snapshot, the host's walk from its first call.
void ResetReplay(WalkSlot& slot) {
  slot.snapshot_size = lib::Be32(0);
  slot.dropped = lib::Be32(0);
  slot.host_depth = lib::Be32(0);
  slot.host_steps = lib::Be32(0);
}

// Reads the NUL-terminated name at `offset` of the host's work area; 0 when there is none.
uint32_t HostName(const uint8_t* wa, uint32_t offset) {
  if (offset < kDataOffset || offset >= kWorkAreaSize) return 0;
  const uint32_t length = static_cast<uint32_t>(
      lib::StrLengthMax(reinterpret_cast<const char*>(wa + offset), kWorkAreaSize - offset));
  return offset + length < kWorkAreaSize ? length + 1 : 0;
}

Step TooLarge(const WalkSlot& slot) {
  const uint64_t total = uint64_t{slot.snapshot_size.value()} + slot.dropped.value();
  if (total > kMaxSnapshotSize) {
    lib::Printf(
        "tern-rtas: configure-connector: the fragment of DRC 0x%08x is larger than the %u bytes "
        "of snapshot a walk may take\n",
        slot.drc_index.value(), kMaxSnapshotSize);
  } else {
    lib::Printf(
        "tern-rtas: configure-connector: DRC 0x%08x: no snapshot room left for %llu bytes: "
        "other walks in progress hold the rest\n",
        slot.drc_index.value(), static_cast<unsigned long long>(total));
  }
  return Err(RtasStatus::kHardwareError);
}

Step Unusable(const WalkSlot& slot) {
  lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: the host's answer has no name\n",
              slot.drc_index.value());
  return Err(RtasStatus::kHardwareError);
}

// The snapshot is complete: its room shrinks to it, and the OS is served from it.
Step Complete(WalkSlot& slot) {
  slot.snapshot_capacity = slot.snapshot_size;
  if (ChangeState(slot, WalkState::kServing).is_error()) return Err(RtasStatus::kHardwareError);
  return Progress::kDone;
}

// One more busy answer of the host in this walk (the slot's host_busy); false past kMaxHostBusy.
bool CountBusy(WalkSlot& slot) {
  slot.host_busy = lib::Be32(slot.host_busy.value() + 1);
  return slot.host_busy.value() <= kMaxHostBusy;
}

// The fragment changed between the fetch's size query and its copy: the OS is asked to call again,
// which counts as the host being busy, so a fragment that never settles gets -1, not an endless -2.
Step FragmentChanged(WalkSlot& slot) {
  if (CountBusy(slot)) return Progress::kBusy;
  lib::Printf(
      "tern-rtas: configure-connector: DRC 0x%08x: the fragment changed during each of the %u "
      "fetches\n",
      slot.drc_index.value(), kMaxHostBusy);
  return Err(RtasStatus::kHardwareError);
}

// The fragment is copied to the end of the walk's room (twice its size and a page: records name
// every property in full, where the blob shares its names) and converted into records at the
// start. The generation must not change between the size query and the copy; if it does, the OS
// is asked to call again (FragmentChanged).
Step Fetch(WalkContext& context, Region& region, uint32_t index) {
  using lib::hv::HcallStatus;
  WalkSlot& slot = region.slot(index);
  const uint32_t drc_index = slot.drc_index.value();
  auto sized = context.fetch.fetch(context.fetch.context, drc_index, 0, 0);
  if (sized.is_ok() && sized.value().size > kMaxSnapshotSize) {
    lib::Printf(
        "tern-rtas: configure-connector: the fragment of DRC 0x%08x is %llu bytes, more "
        "than %u\n",
        drc_index, static_cast<unsigned long long>(sized.value().size), kMaxSnapshotSize);
    return Err(RtasStatus::kHardwareError);
  }
  const uint32_t blob_size =
      sized.is_ok() ? static_cast<uint32_t>(lib::AlignUp(sized.value().size, 8)) : 0;
  if (sized.is_ok() &&
      EnsureRoom(region, index, 2 * blob_size + 4096, 3 * kMaxSnapshotSize).is_error()) {
    lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: no snapshot room left for %u bytes\n",
                drc_index, 2 * blob_size + 4096);
    return Err(RtasStatus::kHardwareError);
  }
  const uint32_t blob_offset =
      slot.snapshot_offset.value() + slot.snapshot_capacity.value() - blob_size;
  auto copied = sized.is_error()
                    ? sized
                    : context.fetch.fetch(context.fetch.context, drc_index,
                                          context.state_address + blob_offset, blob_size);
  if (copied.is_error()) {
    switch (copied.error()) {
      case HcallStatus::kNotFound: return Err(RtasStatus::kParameterError);
      case HcallStatus::kState: return Err(RtasStatus::kNotConfigurable);
      default: return Err(RtasStatus::kHardwareError);
    }
  }
  if (copied.value().generation != sized.value().generation) return FragmentChanged(slot);
  if (copied.value().size > blob_size) return Err(RtasStatus::kHardwareError);
  auto records =
      FdtToRecords(region.at(blob_offset), static_cast<uint32_t>(copied.value().size),
                   region.at(slot.snapshot_offset.value()),
                   lib::Min(kMaxSnapshotSize, slot.snapshot_capacity.value() - blob_size));
  lib::MemSet(region.at(blob_offset), 0, blob_size);
  if (records.is_error()) {
    lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: %s\n", drc_index,
                FragmentErrorName(records.error()));
    return Err(RtasStatus::kHardwareError);
  }
  slot.snapshot_size = lib::Be32(records.value());
  return Complete(slot);
}

// The host's walk answered -2 or 990x: the step does not count, the OS is asked to call again.
Step HostBusy(WalkSlot& slot) {
  slot.host_steps = lib::Be32(slot.host_steps.value() - 1);
  if (CountBusy(slot)) return Progress::kBusy;
  lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: the host stayed busy for %u calls\n",
              slot.drc_index.value(), kMaxHostBusy);
  return Err(RtasStatus::kHardwareError);
}

// The host's walk failed with `answer`. On the first step, the errors configure-connector defines
// for a connector that cannot be configured (-3 no such index, -9001/-9002/-9003 [LoPAPR
// 13.5.3.5]) are the OS's answer; any other code, and any failure later, is -1 with a message.
Step HostFailed(const WalkSlot& slot, RtasStatus answer, bool first) {
  const int32_t code = static_cast<int32_t>(answer);
  if (first && (code == -3 || code == -9001 || code == -9002 || code == -9003)) return Err(answer);
  if (code != -1) {
    lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: the host answered %d\n",
                slot.drc_index.value(), code);
  }
  return Err(RtasStatus::kHardwareError);
}

// The host's walk is not where the replay left it (it restarted under a migration, or an older
// sequence left it mid-way): step it to its end, then replay from the start.
Step StartDraining(WalkSlot& slot) {
  if (ChangeState(slot, WalkState::kDraining).is_error()) return Err(RtasStatus::kHardwareError);
  slot.replays = lib::Be32(slot.replays.value() + 1);
  return Progress::kMore;
}

// Records the node the host named in its work area `wa`.
Step RecordNode(Region& region, uint32_t index, const uint8_t* wa) {
  WalkSlot& slot = region.slot(index);
  const WorkAreaHead head = lib::LoadWire<WorkAreaHead>(wa);
  const uint32_t name = head.name_offset.value();
  const uint32_t name_size = HostName(wa, name);
  if (name_size == 0) return Unusable(slot);
  SlotRecords records(region, index, NodeRecordSize(name_size));
  AppendNode(records.buffer, wa + name, name_size);
  records.Store();
  slot.host_depth = lib::Be32(slot.host_depth.value() + 1);
  return Progress::kMore;
}

// Records the property the host put in its work area `wa`.
Step RecordProperty(Region& region, uint32_t index, const uint8_t* wa) {
  WalkSlot& slot = region.slot(index);
  const WorkAreaHead head = lib::LoadWire<WorkAreaHead>(wa);
  const uint32_t name = head.name_offset.value();
  const uint32_t name_size = HostName(wa, name);
  const uint32_t length = head.value_length.value();
  const uint32_t value = head.value_offset.value();
  if (name_size == 0) return Unusable(slot);
  // The OS's work area is one 4 KiB page: a property must fit after its name there. The host
  // clips what does not fit, so its value would be wrong: refuse rather than truncate.
  if (value > kWorkAreaSize || length > kWorkAreaSize - value ||
      kDataOffset + name_size + length > kWorkAreaSize) {
    lib::Printf(
        "tern-rtas: configure-connector: property %s of DRC 0x%08x is %u bytes, "
        "more than the 4 KiB work area holds\n",
        reinterpret_cast<const char*>(wa + name), slot.drc_index.value(), length);
    return Err(RtasStatus::kHardwareError);
  }
  SlotRecords records(region, index, PropertyRecordSize(name_size, length));
  AppendProperty(records.buffer, wa + name, name_size, wa + value, length);
  records.Store();
  return Progress::kMore;
}

// Records the end of the innermost node; the end of the root completes the snapshot, unless the
// room could not hold it all. Records that did not fit are counted, not kept, until the host's
// walk ends: only then is it known whether the fragment is too large or the host's walk
// restarted under the replay (which the next answer at the wrong depth reveals).
Step RecordEnd(Region& region, uint32_t index) {
  WalkSlot& slot = region.slot(index);
  SlotRecords records(region, index, kEndRecordSize);
  AppendEnd(records.buffer);
  records.Store();
  slot.host_depth = lib::Be32(slot.host_depth.value() - 1);
  if (slot.host_depth.value() > 0) return Progress::kMore;
  if (slot.dropped.value() > 0) return TooLarge(slot);
  return Complete(slot);
}

// While draining, the host's answers only move its walk on; its end (0, which also resets the
// host's cursor) starts the replay.
Step Drain(WalkSlot& slot, RtasStatus answer, bool first) {
  switch (answer) {
    case RtasStatus::kSuccess:
      if (ChangeState(slot, WalkState::kSnapshotting).is_error()) {
        return Err(RtasStatus::kHardwareError);
      }
      ResetReplay(slot);
      return Progress::kMore;
    case RtasStatus::kNextChild:
    case RtasStatus::kNextProperty:
    case RtasStatus::kPreviousParent: return Progress::kMore;
    default: break;
  }
  if (answer == RtasStatus::kBusy || rtas::IsExtendedDelay(answer)) return HostBusy(slot);
  return HostFailed(slot, answer, first);
}

// Takes one answer of the host's walk into the snapshot. `wa` is the host's work area.
Step Replay(Region& region, uint32_t index, RtasStatus answer, const uint8_t* wa, bool first) {
  WalkSlot& slot = region.slot(index);
  const uint32_t depth = slot.host_depth.value();
  switch (answer) {
    case RtasStatus::kNextChild: return RecordNode(region, index, wa);
    case RtasStatus::kNextProperty:
      // A property outside any node: the host's walk is not the one being replayed.
      if (depth == 0) return StartDraining(slot);
      return RecordProperty(region, index, wa);
    case RtasStatus::kPreviousParent:
      // Backing out of the root (the host answers 0 there): not the walk being replayed.
      if (depth <= 1) return StartDraining(slot);
      return RecordEnd(region, index);
    case RtasStatus::kSuccess:
      // The host answers 0 when its root closes (depth 1 here). Anything else means the host's
      // walk restarted under us (a migration between two host calls) and already ended: replay
      // from the start.
      if (depth != 1) {
        slot.replays = lib::Be32(slot.replays.value() + 1);
        ResetReplay(slot);
        return Progress::kMore;
      }
      return RecordEnd(region, index);
    case RtasStatus::kBusy: return HostBusy(slot);
    case RtasStatus::kNextSibling:
    case RtasStatus::kMoreMemory:
      // QEMU never answers these (it walks siblings as 4 then 2, and fits one page).
      lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: the host answered %d\n",
                  slot.drc_index.value(), static_cast<int>(answer));
      return Err(RtasStatus::kHardwareError);
    default: break;
  }
  if (rtas::IsExtendedDelay(answer)) return HostBusy(slot);
  return HostFailed(slot, answer, first);
}

// Replays the host's walk, at most `host_steps_per_call` host calls.
Step ReplayHostWalk(WalkContext& context, Region& region, uint32_t index) {
  WalkSlot& slot = region.slot(index);
  for (uint32_t n = 0; n < context.host_steps_per_call; ++n) {
    const bool first = slot.host_steps.value() == 0;
    // The scratch work area is shared by every walk, and the host reads the DRC index from its
    // word 0 on every call: set it every time, or another walk's replay advances here.
    if (first) lib::MemSet(context.scratch_host, 0, kWorkAreaSize);
    lib::StoreWire(context.scratch_host + kDrcIndexAt, slot.drc_index);
    const RtasStatus answer =
        context.source.step(context.source.context, slot.drc_index.value(), first, context.scratch);
    slot.host_steps = lib::Be32(slot.host_steps.value() + 1);
    const Step step = StateOf(slot) == WalkState::kDraining
                          ? Drain(slot, answer, first)
                          : Replay(region, index, answer, context.scratch_host, first);
    if (step.is_error() || step.value() != Progress::kMore) return step;
    // A restart under the replay records at most a partial walk and a whole one, both within
    // kMaxSnapshotSize; more than that is a fragment too large, found before the host's end.
    if (slot.dropped.value() > kMaxSnapshotSize) return TooLarge(slot);
    if (slot.host_steps.value() > kMaxHostSteps) {
      lib::Printf(
          "tern-rtas: configure-connector: DRC 0x%08x: the host's walk did not end in %u "
          "steps\n",
          slot.drc_index.value(), kMaxHostSteps);
      return Err(RtasStatus::kHardwareError);
    }
  }
  return Progress::kBusy;
}

}  // namespace

lib::Result<Progress, RtasStatus> TakeSnapshot(WalkContext& context, Region& region,
                                               uint32_t index) {
  if (context.fetch.fetch == nullptr) return ReplayHostWalk(context, region, index);
  // A walk a replay left draining (before a migration to a host that offers the fetch) has no
  // host walk to drain here: it is fetched.
  WalkSlot& slot = region.slot(index);
  if (StateOf(slot) == WalkState::kDraining &&
      ChangeState(slot, WalkState::kSnapshotting).is_error()) {
    return Err(RtasStatus::kHardwareError);
  }
  return Fetch(context, region, index);
}

}  // namespace drc
