#include "drc/walker.h"

#include "drc/fdt-records.h"
#include "drc/walk-slot.h"
#include "lib/be.h"
#include "lib/console.h"
#include "lib/string.h"
#include "rtas/state-region.h"

namespace drc {

using rtas::RtasStatus;

namespace {

struct Region {
  lib::Span<uint8_t> bytes;
  rtas::StateHeader& header() { return *reinterpret_cast<rtas::StateHeader*>(bytes.data()); }
  uint32_t slot_count() { return header().slot_count.value(); }
  // Slot `i` (< slot_count()) of a region that passed rtas::CheckStateRegion: its geometry is the
  // one this RTAS lays out, so the table lies inside the region.
  WalkSlot& slot(uint32_t i) {
    return *reinterpret_cast<WalkSlot*>(bytes.data() + header().slots_offset.value() +
                                        i * sizeof(WalkSlot));
  }
  uint8_t* at(uint32_t offset) { return bytes.data() + offset; }
  uint32_t data_begin() { return header().data_offset.value(); }
  uint32_t data_end() { return header().data_offset.value() + header().data_size.value(); }
  // After a call changed slot `index`: only its checksum is recomputed; the header changes (its
  // generation) only when a walk starts or ends (commit_and_advance).
  void commit(uint32_t index) { rtas::CommitSlot(bytes, index); }
  void commit_and_advance(uint32_t index) {
    rtas::CommitSlot(bytes, index);
    rtas::CommitStateRegion(bytes);
  }
  // A use count later than every walk's: the least recently used walk has the lowest. Reading
  // other slots' counts unchecked is harmless: they only order the recycling.
  uint32_t next_use() {
    uint32_t latest = 0;
    for (uint32_t i = 0; i < slot_count(); ++i) latest = lib::Max(latest, slot(i).last_use.value());
    return latest + 1;
  }
};

WalkState StateOf(const WalkSlot& slot) {
  return static_cast<WalkState>(slot.state.value());
}

// The one place a walk changes state; the transitions are listed in drc/walk-slot.h. Ending a walk
// (any -> kFree) clears the slot and gives its room back. Returns false, changing nothing, for any
// other change.
bool ChangeState(WalkSlot& slot, WalkState to) {
  const WalkState from = StateOf(slot);
  bool allowed = false;
  switch (to) {
    case WalkState::kFree: allowed = true; break;
    case WalkState::kSnapshotting:
      allowed = from == WalkState::kFree || from == WalkState::kDraining;
      break;
    case WalkState::kDraining: allowed = from == WalkState::kSnapshotting; break;
    case WalkState::kServing: allowed = from == WalkState::kSnapshotting; break;
  }
  if (!allowed) return false;
  if (to == WalkState::kFree) lib::MemSet(&slot, 0, sizeof(slot));
  slot.state = lib::Be32(static_cast<uint32_t>(to));
  return true;
}

// Whether a walk's room lies in the data area and its counters within its room. Checked on every
// call: the slot's checksum proves only that the slot is what some writer committed.
bool SlotFitsRegion(Region& region, WalkSlot& slot) {
  const uint64_t end = uint64_t{slot.snapshot_offset.value()} + slot.snapshot_capacity.value();
  return slot.snapshot_size.value() <= slot.snapshot_capacity.value() &&
         slot.snapshot_offset.value() >= region.data_begin() && end <= region.data_end() &&
         slot.cursor.value() <= slot.snapshot_size.value();
}

uint32_t NewCookie(Region& region, uint32_t slot_index) {
  // Unique among live slots: the slot number and the region's generation, which every start and
  // end of a walk advances.
  const uint32_t cookie = (region.header().generation.value() << 4) | (slot_index + 1);
  return cookie == 0 ? 1 : cookie;
}

// Checks every slot but `keep` (the caller's, checked when its call began and changed since): one
// that fails its checksum or whose room lies outside the data area is dropped with a message, so
// that no room is ever computed from a value nobody committed. Run before anything reads other
// walks' rooms (a new walk, a room that grows).
void DropCorruptSlots(Region& region, uint32_t keep) {
  for (uint32_t i = 0; i < region.slot_count(); ++i) {
    if (i == keep) continue;
    WalkSlot& slot = region.slot(i);
    const bool intact = rtas::CheckSlot(region.bytes, i).is_ok();
    if (intact && (StateOf(slot) == WalkState::kFree || SlotFitsRegion(region, slot))) continue;
    lib::Printf("tern-rtas: configure-connector: walk slot %u is corrupt (%s): dropped\n", i,
                intact ? "room outside the data area" : "checksum mismatch");
    (void)ChangeState(slot, WalkState::kFree);
    rtas::CommitSlot(region.bytes, i);
  }
}

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
// free space is one gap at the end. Snapshots hold offsets relative to their start only. Rooms
// that overlap (only a region written by someone else has them) stop the compaction where they
// would be moved past the data area's end.
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

// Makes the room of the walk in slot `index` hold at least `needed` bytes (at most `limit`),
// moving its snapshot to a larger gap, and compacting the other walks' rooms first if no gap is
// large enough. Rooms at least double, so a walk moves a few times at most. Returns false when
// `needed` is over `limit` or the data area has no room left.
bool EnsureRoom(Region& region, uint32_t index, uint32_t needed, uint32_t limit) {
  WalkSlot& slot = region.slot(index);
  if (needed <= slot.snapshot_capacity.value()) return true;
  if (needed > limit) return false;
  const uint32_t want =
      lib::Min(limit, lib::Max(needed, lib::Max(2 * slot.snapshot_capacity.value(), 4096u)));
  DropCorruptSlots(region, index);  // the other walks' rooms are read below
  Gap gap = LargestGap(region, index);
  if (gap.size < needed) {
    Compact(region);
    gap = LargestGap(region, index);
    if (gap.size < needed) return false;
  }
  // The gap may contain the walk's own room: the move is an overlapping copy.
  lib::MemMove(region.at(gap.offset), region.at(slot.snapshot_offset.value()),
               slot.snapshot_size.value());
  slot.snapshot_offset = lib::Be32(gap.offset);
  slot.snapshot_capacity = lib::Be32(lib::Min(want, gap.size));
  return true;
}

// The live walk used least recently; the slot count when there is none.
uint32_t OldestWalk(Region& region) {
  uint32_t oldest = region.slot_count();
  for (uint32_t i = 0; i < region.slot_count(); ++i) {
    if (StateOf(region.slot(i)) == WalkState::kFree) continue;
    if (oldest == region.slot_count() ||
        region.slot(i).last_use.value() < region.slot(oldest).last_use.value()) {
      oldest = i;
    }
  }
  return oldest;
}

// Takes a slot for a new sequence on `drc_index`: its old one, a free one, or the least recently
// used (recycled with a message). The walk starts with no room; records get room as they come
// (EnsureRoom). Every slot is checked first (DropCorruptSlots).
uint32_t TakeSlot(Region& region, uint32_t drc_index) {
  const uint32_t count = region.slot_count();
  DropCorruptSlots(region, count);
  uint32_t chosen = count;
  for (uint32_t i = 0; i < count && chosen == count; ++i) {
    const WalkSlot& slot = region.slot(i);
    if (StateOf(slot) != WalkState::kFree && slot.drc_index.value() == drc_index) chosen = i;
  }
  for (uint32_t i = 0; i < count && chosen == count; ++i) {
    if (StateOf(region.slot(i)) == WalkState::kFree) chosen = i;
  }
  if (chosen == count) {
    chosen = OldestWalk(region);
    lib::Printf("tern-rtas: configure-connector: recycling the abandoned walk of DRC 0x%08x\n",
                region.slot(chosen).drc_index.value());
  }
  WalkSlot& slot = region.slot(chosen);
  (void)ChangeState(slot, WalkState::kFree);
  (void)ChangeState(slot, WalkState::kSnapshotting);
  slot.drc_index = lib::Be32(drc_index);
  slot.snapshot_offset = lib::Be32(region.data_begin());
  slot.cookie = lib::Be32(NewCookie(region, chosen));
  for (uint32_t i = 0; i < count; ++i) rtas::CommitSlot(region.bytes, i);
  rtas::CommitStateRegion(region.bytes);  // the next walk's cookie differs
  return chosen;
}

// The snapshot of the walk in slot `index` as a buffer to append one record of `record_size` bytes
// to, with room for it if the data area has some (EnsureRoom); Store() writes the counts back.
struct SlotRecords {
  WalkSlot& slot;
  RecordBuffer buffer;
  SlotRecords(Region& region, uint32_t index, uint32_t record_size)
      : slot(region.slot(index)), buffer{} {
    if (slot.dropped.value() == 0) {
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

// More host steps than a walk of two kMaxSnapshotSize snapshots of the smallest records (an END
// is 5 bytes) could take: a host whose walk never ends gets -1, not an endless -2.
constexpr uint32_t kMaxHostSteps = 4 * kMaxSnapshotSize / 5;

// How far one call got in taking the snapshot; on kFailed, `failure` is the OS's answer.
enum class Progress { kMore, kDone, kBusy, kFailed };

Progress Fail(RtasStatus& failure, RtasStatus status) {
  failure = status;
  return Progress::kFailed;
}

Progress TooLarge(const WalkSlot& slot, RtasStatus& failure) {
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
  return Fail(failure, RtasStatus::kHardwareError);
}

Progress Unusable(const WalkSlot& slot, RtasStatus& failure) {
  lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: the host's answer has no name\n",
              slot.drc_index.value());
  return Fail(failure, RtasStatus::kHardwareError);
}

// The snapshot is complete: its room shrinks to it, and the OS is served from it.
Progress Complete(WalkSlot& slot) {
  slot.snapshot_capacity = slot.snapshot_size;
  (void)ChangeState(slot, WalkState::kServing);
  return Progress::kDone;
}

// Takes the snapshot with the host's whole-fragment fetch: the blob is copied to the end of the
// walk's room (twice its size and a page: records name every property in full, where the blob
// shares its names) and converted into records at the start. The generation must not change
// between the size query and the copy; if it does, the OS is asked to call again.
Progress Fetch(WalkContext& context, Region& region, uint32_t index, RtasStatus& failure) {
  using lib::hv::HcallStatus;
  WalkSlot& slot = region.slot(index);
  const uint32_t drc_index = slot.drc_index.value();
  auto sized = context.fetch.fetch(context.fetch.context, drc_index, 0, 0);
  if (sized.is_ok() && sized.value().size > kMaxSnapshotSize) {
    lib::Printf(
        "tern-rtas: configure-connector: the fragment of DRC 0x%08x is %llu bytes, more "
        "than %u\n",
        drc_index, static_cast<unsigned long long>(sized.value().size), kMaxSnapshotSize);
    return Fail(failure, RtasStatus::kHardwareError);
  }
  const uint32_t blob_size =
      sized.is_ok() ? static_cast<uint32_t>(lib::AlignUp(sized.value().size, 8)) : 0;
  if (sized.is_ok() && !EnsureRoom(region, index, 2 * blob_size + 4096, 3 * kMaxSnapshotSize)) {
    lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: no snapshot room left for %u bytes\n",
                drc_index, 2 * blob_size + 4096);
    return Fail(failure, RtasStatus::kHardwareError);
  }
  const uint32_t blob_offset =
      slot.snapshot_offset.value() + slot.snapshot_capacity.value() - blob_size;
  auto copied = sized.is_error()
                    ? sized
                    : context.fetch.fetch(context.fetch.context, drc_index,
                                          context.state_address + blob_offset, blob_size);
  if (copied.is_error()) {
    switch (copied.error()) {
      case HcallStatus::kNotFound: return Fail(failure, RtasStatus::kParameterError);
      case HcallStatus::kState: return Fail(failure, RtasStatus::kNotConfigurable);
      default: return Fail(failure, RtasStatus::kHardwareError);
    }
  }
  // Changed between the two calls: call again.
  if (copied.value().generation != sized.value().generation) return Progress::kBusy;
  if (copied.value().size > blob_size) return Fail(failure, RtasStatus::kHardwareError);
  auto records =
      FdtToRecords(region.at(blob_offset), static_cast<uint32_t>(copied.value().size),
                   region.at(slot.snapshot_offset.value()),
                   lib::Min(kMaxSnapshotSize, slot.snapshot_capacity.value() - blob_size));
  lib::MemSet(region.at(blob_offset), 0, blob_size);
  if (records.is_error()) {
    lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: %s\n", drc_index,
                FragmentErrorName(records.error()));
    return Fail(failure, RtasStatus::kHardwareError);
  }
  slot.snapshot_size = lib::Be32(records.value());
  return Complete(slot);
}

// The host answered -2 or 990x: the OS is asked to call again (the step does not count), at most
// kMaxHostBusy times in one walk: a host that stays busy gets -1, not an endless -2.
constexpr uint32_t kMaxHostBusy = 10000;

Progress HostBusy(WalkSlot& slot, RtasStatus& failure) {
  slot.host_steps = lib::Be32(slot.host_steps.value() - 1);
  slot.host_busy = lib::Be32(slot.host_busy.value() + 1);
  if (slot.host_busy.value() <= kMaxHostBusy) return Progress::kBusy;
  lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: the host stayed busy for %u calls\n",
              slot.drc_index.value(), kMaxHostBusy);
  return Fail(failure, RtasStatus::kHardwareError);
}

// The host's walk failed with `answer`. On the first step, the errors configure-connector defines
// for a connector that cannot be configured (-3 no such index, -9001/-9002/-9003 [LoPAPR
// 13.5.3.5]) are the OS's answer; any other code, and any failure later, is -1 with a message.
Progress HostFailed(WalkSlot& slot, RtasStatus answer, bool first, RtasStatus& failure) {
  const int32_t code = static_cast<int32_t>(answer);
  if (first && (code == -3 || code == -9001 || code == -9002 || code == -9003)) {
    return Fail(failure, answer);
  }
  if (code != -1) {
    lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: the host answered %d\n",
                slot.drc_index.value(), code);
  }
  return Fail(failure, RtasStatus::kHardwareError);
}

// The host's walk is not where the replay left it (it restarted under a migration, or an older
// sequence left it mid-way): step it to its end, then replay from the start.
Progress StartDraining(WalkSlot& slot) {
  (void)ChangeState(slot, WalkState::kDraining);
  slot.replays = lib::Be32(slot.replays.value() + 1);
  return Progress::kMore;
}

// Records the node the host named in its work area `wa`.
Progress RecordNode(Region& region, uint32_t index, const uint8_t* wa, RtasStatus& failure) {
  WalkSlot& slot = region.slot(index);
  const uint32_t name = lib::LoadBe32(wa + 8);
  const uint32_t name_size = HostName(wa, name);
  if (name_size == 0) return Unusable(slot, failure);
  SlotRecords records(region, index, NodeRecordSize(name_size));
  AppendNode(records.buffer, wa + name, name_size);
  records.Store();
  slot.host_depth = lib::Be32(slot.host_depth.value() + 1);
  return Progress::kMore;
}

// Records the property the host put in its work area `wa`.
Progress RecordProperty(Region& region, uint32_t index, const uint8_t* wa, RtasStatus& failure) {
  WalkSlot& slot = region.slot(index);
  const uint32_t name = lib::LoadBe32(wa + 8);
  const uint32_t name_size = HostName(wa, name);
  const uint32_t length = lib::LoadBe32(wa + 12);
  const uint32_t value = lib::LoadBe32(wa + 16);
  if (name_size == 0) return Unusable(slot, failure);
  // The OS's work area is one 4 KiB page: a property must fit after its name there. The host
  // clips what does not fit, so its value would be wrong: refuse rather than truncate.
  if (value > kWorkAreaSize || length > kWorkAreaSize - value ||
      kDataOffset + name_size + length > kWorkAreaSize) {
    lib::Printf(
        "tern-rtas: configure-connector: property %s of DRC 0x%08x is %u bytes, "
        "more than the 4 KiB work area holds\n",
        reinterpret_cast<const char*>(wa + name), slot.drc_index.value(), length);
    return Fail(failure, RtasStatus::kHardwareError);
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
Progress RecordEnd(Region& region, uint32_t index, RtasStatus& failure) {
  WalkSlot& slot = region.slot(index);
  SlotRecords records(region, index, kEndRecordSize);
  AppendEnd(records.buffer);
  records.Store();
  slot.host_depth = lib::Be32(slot.host_depth.value() - 1);
  if (slot.host_depth.value() > 0) return Progress::kMore;
  if (slot.dropped.value() > 0) return TooLarge(slot, failure);
  return Complete(slot);
}

// While draining, the host's answers only move its walk on; its end (0, which also resets the
// host's cursor) starts the replay.
Progress Drain(WalkSlot& slot, RtasStatus answer, bool first, RtasStatus& failure) {
  switch (answer) {
    case RtasStatus::kSuccess:
      (void)ChangeState(slot, WalkState::kSnapshotting);
      ResetReplay(slot);
      return Progress::kMore;
    case RtasStatus::kNextChild:
    case RtasStatus::kNextProperty:
    case RtasStatus::kPreviousParent: return Progress::kMore;
    default: break;
  }
  if (answer == RtasStatus::kBusy || rtas::IsExtendedDelay(answer)) {
    return HostBusy(slot, failure);
  }
  return HostFailed(slot, answer, first, failure);
}

// Takes one answer of the host's walk into the snapshot. `wa` is the host's work area.
Progress Replay(Region& region, uint32_t index, RtasStatus answer, const uint8_t* wa, bool first,
                RtasStatus& failure) {
  WalkSlot& slot = region.slot(index);
  const uint32_t depth = slot.host_depth.value();
  switch (answer) {
    case RtasStatus::kNextChild: return RecordNode(region, index, wa, failure);
    case RtasStatus::kNextProperty:
      // A property outside any node: the host's walk is not the one being replayed.
      if (depth == 0) return StartDraining(slot);
      return RecordProperty(region, index, wa, failure);
    case RtasStatus::kPreviousParent:
      // Backing out of the root (the host answers 0 there): not the walk being replayed.
      if (depth <= 1) return StartDraining(slot);
      return RecordEnd(region, index, failure);
    case RtasStatus::kSuccess:
      // The host answers 0 when its root closes (depth 1 here). Anything else means the host's
      // walk restarted under us (a migration between two host calls) and already ended: replay
      // from the start.
      if (depth != 1) {
        slot.replays = lib::Be32(slot.replays.value() + 1);
        ResetReplay(slot);
        return Progress::kMore;
      }
      return RecordEnd(region, index, failure);
    case RtasStatus::kBusy: return HostBusy(slot, failure);
    case RtasStatus::kNextSibling:
    case RtasStatus::kMoreMemory:
      // QEMU never answers these (it walks siblings as 4 then 2, and fits one page).
      lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: the host answered %d\n",
                  slot.drc_index.value(), static_cast<int>(answer));
      return Fail(failure, RtasStatus::kHardwareError);
    default: break;
  }
  if (rtas::IsExtendedDelay(answer)) return HostBusy(slot, failure);
  return HostFailed(slot, answer, first, failure);
}

// Takes the snapshot: with the host's fetch when it offers one, otherwise by replaying the host's
// walk, at most `host_steps_per_call` host calls per OS call.
Progress TakeSnapshot(WalkContext& context, Region& region, uint32_t index, RtasStatus& failure) {
  if (context.fetch.fetch != nullptr) return Fetch(context, region, index, failure);
  WalkSlot& slot = region.slot(index);
  for (uint32_t n = 0; n < context.host_steps_per_call; ++n) {
    const bool first = slot.host_steps.value() == 0;
    // The scratch work area is shared by every walk, and the host reads the DRC index from its
    // word 0 on every call: set it every time, or another walk's replay advances here.
    if (first) lib::MemSet(context.scratch_host, 0, kWorkAreaSize);
    lib::StoreBe32(context.scratch_host, slot.drc_index.value());
    const RtasStatus answer =
        context.source.step(context.source.context, slot.drc_index.value(), first, context.scratch);
    slot.host_steps = lib::Be32(slot.host_steps.value() + 1);
    const Progress progress =
        StateOf(slot) == WalkState::kDraining
            ? Drain(slot, answer, first, failure)
            : Replay(region, index, answer, context.scratch_host, first, failure);
    if (progress != Progress::kMore) return progress;
    // A restart under the replay records at most a partial walk and a whole one, both within
    // kMaxSnapshotSize; more than that is a fragment too large, found before the host's end.
    if (slot.dropped.value() > kMaxSnapshotSize) return TooLarge(slot, failure);
    if (slot.host_steps.value() > kMaxHostSteps) {
      lib::Printf(
          "tern-rtas: configure-connector: DRC 0x%08x: the host's walk did not end in %u "
          "steps\n",
          slot.drc_index.value(), kMaxHostSteps);
      return Fail(failure, RtasStatus::kHardwareError);
    }
  }
  return Progress::kBusy;
}

// Writes a name (and a value) into the OS's work area as QEMU lays them out.
bool WriteNode(lib::GuestMemory& memory, uint64_t wa, const uint8_t* name, uint32_t name_size) {
  uint8_t offset[4];
  lib::StoreBe32(offset, kDataOffset);
  return memory.Write(wa + 8, offset, 4).is_ok() &&
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

// The property `record` at the cursor: 3 (next property).
RtasStatus ServeProperty(lib::GuestMemory& memory, uint64_t wa, Cursor& cursor,
                         const Record& record) {
  if (cursor.depth == 0) return cursor.Inconsistent("a property outside any node");
  if (kDataOffset + record.name_size + record.value_size > kWorkAreaSize) {
    return cursor.Inconsistent("a property larger than the work area");
  }
  uint8_t cells[12];
  lib::StoreBe32(cells, kDataOffset);
  lib::StoreBe32(cells + 4, record.value_size);
  lib::StoreBe32(cells + 8, kDataOffset + record.name_size);
  if (memory.Write(wa + 8, cells, 12).is_error() ||
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

// Answers the OS's next step from the snapshot, checking the record it serves (and the sibling
// node an end leads to): kHardwareError with `cursor.problem` when they are inconsistent,
// kParameterError when the OS's work area cannot be written.
RtasStatus Serve(WalkContext& context, Region& region, WalkSlot& slot, uint64_t wa,
                 const char*& problem) {
  Cursor cursor{{region.at(slot.snapshot_offset.value()), slot.snapshot_size.value()},
                slot.cursor.value(),
                slot.depth.value(),
                "the snapshot ends before the fragment"};
  Record record;
  RtasStatus answer = RtasStatus::kHardwareError;
  if (cursor.Read(cursor.at, record)) {
    switch (record.tag) {
      // The first data answer is always a node: 2.
      case kNode:
        answer = ServeNode(context.memory, wa, cursor, record, RtasStatus::kNextChild);
        break;
      case kProperty: answer = ServeProperty(context.memory, wa, cursor, record); break;
      case kEnd: answer = ServeEnd(context.memory, wa, cursor, record); break;
    }
  }
  problem = cursor.problem;
  if (answer == RtasStatus::kHardwareError || answer == RtasStatus::kParameterError) return answer;
  slot.cursor = lib::Be32(cursor.at);
  slot.depth = lib::Be32(cursor.depth);
  slot.served = lib::Be32(slot.served.value() + 1);
  return answer;
}

}  // namespace

uint32_t ForgetWalks(lib::Span<uint8_t> state, uint32_t drc_index) {
  if (rtas::CheckStateRegion(state).is_error()) return 0;
  Region region{state};
  uint32_t freed = 0;
  for (uint32_t i = 0; i < region.slot_count(); ++i) {
    WalkSlot& slot = region.slot(i);
    if (StateOf(slot) != WalkState::kFree &&
        (drc_index == 0 || slot.drc_index.value() == drc_index)) {
      (void)ChangeState(slot, WalkState::kFree);
      rtas::CommitSlot(state, i);
      ++freed;
    }
  }
  if (freed > 0) rtas::CommitStateRegion(state);
  return freed;
}

namespace {

// The slot of the walk the OS's work area names: a new one for cookie 0, else the DRC's slot with
// that cookie; the slot count when there is none. Comparing an unchecked slot's index and cookie
// is harmless: the slot found is checked before anything else of it is used.
uint32_t FindWalk(Region& region, uint32_t drc_index, uint32_t cookie) {
  if (cookie == 0) return TakeSlot(region, drc_index);
  for (uint32_t i = 0; i < region.slot_count(); ++i) {
    const WalkSlot& slot = region.slot(i);
    if (StateOf(slot) != WalkState::kFree && slot.drc_index.value() == drc_index &&
        slot.cookie.value() == cookie) {
      return i;
    }
  }
  return region.slot_count();
}

// Ends the walk in slot `index` with the OS's answer `status`.
RtasStatus EndWalk(Region& region, uint32_t index, RtasStatus status) {
  (void)ChangeState(region.slot(index), WalkState::kFree);
  region.commit_and_advance(index);
  return status;
}

// Ends the walk in slot `index` as corrupt: -1 and a console message, never a silent restart.
RtasStatus Corrupt(Region& region, uint32_t index, uint32_t drc_index, const char* what) {
  lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: %s\n", drc_index, what);
  return EndWalk(region, index, RtasStatus::kHardwareError);
}

// Stamps the walk's cookie into work-area word 1: the OS hands it back on its next call.
void StampCookie(lib::GuestMemory& memory, uint64_t wa, const WalkSlot& slot) {
  uint8_t stamp[4];
  lib::StoreBe32(stamp, slot.cookie.value());
  (void)memory.Write(wa + 4, stamp, 4);
}

}  // namespace

RtasStatus ConfigureConnector(WalkContext& context, uint64_t wa) {
  uint8_t head[8];
  if (context.memory.Read(wa, head, sizeof(head)).is_error() ||
      !context.memory.Map(wa, kWorkAreaSize, true).is_ok()) {
    return RtasStatus::kParameterError;
  }
  const uint32_t drc_index = lib::LoadBe32(head);
  const uint32_t cookie = lib::LoadBe32(head + 4);
  if (drc_index == 0) return RtasStatus::kParameterError;
  Region region{context.state};

  const uint32_t index = FindWalk(region, drc_index, cookie);
  if (index == region.slot_count()) {
    lib::Printf(
        "tern-rtas: configure-connector: DRC 0x%08x: no walk with cookie 0x%08x "
        "(stale or abandoned work area)\n",
        drc_index, cookie);
    return RtasStatus::kHardwareError;
  }
  if (auto checked = rtas::CheckSlot(region.bytes, index); checked.is_error()) {
    return Corrupt(region, index, drc_index, rtas::StateErrorName(checked.error()));
  }
  WalkSlot& slot = region.slot(index);
  if (!SlotFitsRegion(region, slot)) {
    return Corrupt(region, index, drc_index, "walk state outside its room");
  }
  slot.last_use = lib::Be32(region.next_use());

  switch (StateOf(slot)) {
    case WalkState::kSnapshotting:
    case WalkState::kDraining: {
      RtasStatus failure = RtasStatus::kHardwareError;
      const Progress progress = TakeSnapshot(context, region, index, failure);
      if (progress == Progress::kFailed) return EndWalk(region, index, failure);
      if (progress != Progress::kDone) {
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
  const char* problem = nullptr;
  const RtasStatus result = Serve(context, region, slot, wa, problem);
  if (result == RtasStatus::kHardwareError) return Corrupt(region, index, drc_index, problem);
  if (result == RtasStatus::kSuccess) return EndWalk(region, index, result);
  if (result != RtasStatus::kParameterError) StampCookie(context.memory, wa, slot);
  region.commit(index);
  return result;
}

}  // namespace drc
