#include "drc/slot-table.h"

#include "lib/console.h"
#include "lib/string.h"

namespace drc {

using lib::Err;

uint32_t Region::next_use() {
  uint32_t latest = 0;
  for (uint32_t i = 0; i < slot_count(); ++i) latest = lib::Max(latest, slot(i).last_use.value());
  return latest + 1;
}

lib::Result<void, SlotError> ChangeState(WalkSlot& slot, WalkState to) {
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
  if (!allowed) {
    lib::Printf(
        "tern-rtas: configure-connector: DRC 0x%08x: walk state change refused (from %s to %s)\n",
        slot.drc_index.value(), WalkStateName(static_cast<uint32_t>(from)),
        WalkStateName(static_cast<uint32_t>(to)));
    return Err(SlotError::kRefusedChange);
  }
  if (to == WalkState::kFree) lib::MemSet(&slot, 0, sizeof(slot));
  slot.state = lib::Be32(static_cast<uint32_t>(to));
  return lib::Ok<SlotError>();
}

bool SlotFitsRegion(Region& region, const WalkSlot& slot) {
  const uint64_t end = uint64_t{slot.snapshot_offset.value()} + slot.snapshot_capacity.value();
  return slot.snapshot_size.value() <= slot.snapshot_capacity.value() &&
         slot.snapshot_offset.value() >= region.data_begin() && end <= region.data_end() &&
         slot.cursor.value() <= slot.snapshot_size.value();
}

void DropCorruptSlots(Region& region, uint32_t keep) {
  for (uint32_t i = 0; i < region.slot_count(); ++i) {
    if (i == keep) continue;
    WalkSlot& slot = region.slot(i);
    const bool intact = rtas::CheckSlot(region.bytes, i).is_ok();
    if (intact && (StateOf(slot) == WalkState::kFree || SlotFitsRegion(region, slot))) continue;
    lib::Printf("tern-rtas: configure-connector: walk slot %u is corrupt (%s): dropped\n", i,
                intact ? "room outside the data area" : "checksum mismatch");
    // Ending a walk is never refused; were it, the slot is left as it is, uncommitted.
    if (ChangeState(slot, WalkState::kFree).is_ok()) rtas::CommitSlot(region.bytes, i);
  }
}

namespace {

uint32_t NewCookie(Region& region, uint32_t slot_index) {
  // Unique among live slots: the slot number and the region's generation, which every start and
  // end of a walk advances.
  const uint32_t cookie = (region.header().generation.value() << 4) | (slot_index + 1);
  return cookie == 0 ? 1 : cookie;
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

// The slot a new sequence on `drc_index` takes: its old one, a free one, or the least recently
// used (recycled with a message). Every slot is checked first (DropCorruptSlots).
uint32_t ChooseSlot(Region& region, uint32_t drc_index) {
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
  return chosen;
}

// Starts a sequence on `drc_index` in the slot ChooseSlot gives. The walk starts with no room;
// records get room as they come (drc/room.h).
lib::Result<uint32_t, SlotError> TakeSlot(Region& region, uint32_t drc_index) {
  const uint32_t chosen = ChooseSlot(region, drc_index);
  WalkSlot& slot = region.slot(chosen);
  lib::Result<void, SlotError> started = ChangeState(slot, WalkState::kFree);
  if (started.is_ok()) started = ChangeState(slot, WalkState::kSnapshotting);
  if (started.is_ok()) {
    slot.drc_index = lib::Be32(drc_index);
    slot.snapshot_offset = lib::Be32(region.data_begin());
    slot.cookie = lib::Be32(NewCookie(region, chosen));
  }
  for (uint32_t i = 0; i < region.slot_count(); ++i) rtas::CommitSlot(region.bytes, i);
  rtas::CommitStateRegion(region.bytes);  // the next walk's cookie differs
  if (started.is_error()) return Err(started.error());
  return chosen;
}

}  // namespace

lib::Result<uint32_t, SlotError> FindWalk(Region& region, uint32_t drc_index, uint32_t cookie) {
  if (cookie == 0) return TakeSlot(region, drc_index);
  for (uint32_t i = 0; i < region.slot_count(); ++i) {
    const WalkSlot& slot = region.slot(i);
    if (StateOf(slot) != WalkState::kFree && slot.drc_index.value() == drc_index &&
        slot.cookie.value() == cookie) {
      return i;
    }
  }
  return Err(SlotError::kNoWalk);
}

uint32_t EndWalks(Region& region, uint32_t drc_index) {
  uint32_t freed = 0;
  for (uint32_t i = 0; i < region.slot_count(); ++i) {
    WalkSlot& slot = region.slot(i);
    if (StateOf(slot) == WalkState::kFree) continue;
    if (drc_index != 0 && slot.drc_index.value() != drc_index) continue;
    // Ending a walk is never refused; were it, the walk is left as it is (ChangeState said so).
    if (ChangeState(slot, WalkState::kFree).is_error()) continue;
    rtas::CommitSlot(region.bytes, i);
    ++freed;
  }
  if (freed > 0) rtas::CommitStateRegion(region.bytes);
  return freed;
}

}  // namespace drc
