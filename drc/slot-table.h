// The configure-connector walks' slots in the RTAS state region (drc/walk-slot.h, docs/rtas.md):
// the region seen as its slot table and data area, the one function that changes a walk's state,
// and finding, taking, recycling, ending and dropping slots. Slots are keyed by DRC index, never by
// work-area address (callers move the buffer). Nothing here reads a snapshot or the OS's memory.
#pragma once

#include "drc/walk-slot.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"
#include "rtas/state-region.h"

namespace drc {

// A state region that passed rtas::CheckStateRegion: its geometry is the one this RTAS lays out,
// so the slot table and the data area lie inside `bytes`.
struct Region {
  lib::Span<uint8_t> bytes;

  rtas::StateHeader& header() { return *reinterpret_cast<rtas::StateHeader*>(bytes.data()); }
  uint32_t slot_count() { return header().slot_count.value(); }
  // Slot `i` (< slot_count()).
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
  uint32_t next_use();
};

enum class SlotError {
  kNoWalk,         // no walk of the DRC has the cookie the OS handed back
  kRefusedChange,  // a change of state drc/walk-slot.h does not list (ChangeState printed it)
};

inline WalkState StateOf(const WalkSlot& slot) {
  return static_cast<WalkState>(slot.state.value());
}

// The one place a walk changes state; the changes allowed are listed in drc/walk-slot.h. Ending a
// walk (any -> kFree) clears the slot, which gives its room back. Any other change is refused:
// nothing changes, a `tern-rtas:` message names it, and the caller ends the walk with -1.
[[nodiscard]] lib::Result<void, SlotError> ChangeState(WalkSlot& slot, WalkState to);

// Whether a walk's room lies in the data area and its counters within its room. Checked on every
// call: the slot's checksum proves only that the slot is what some writer committed.
bool SlotFitsRegion(Region& region, const WalkSlot& slot);

// Checks every slot but `keep` (the caller's, checked when its call began and changed since): one
// that fails its checksum or whose room lies outside the data area is dropped with a message, so
// that no room is ever computed from a value nobody committed. Run before anything reads other
// walks' rooms (a new walk, a room that grows).
void DropCorruptSlots(Region& region, uint32_t keep);

// The slot of the walk the OS's work area names: a new one for `cookie` 0 (the DRC's old slot, a
// free one, or the least recently used one, recycled with a message), else the DRC's live slot
// with that cookie (kNoWalk when there is none). A new walk is kSnapshotting, with no room yet
// and a new cookie; every slot and the header are committed. Comparing an unchecked slot's index
// and cookie is harmless: the caller checks the slot found before using anything else of it.
lib::Result<uint32_t, SlotError> FindWalk(Region& region, uint32_t drc_index, uint32_t cookie);

// Ends the walk of `drc_index`, or every walk for drc_index 0, committing each slot freed and then
// the header. Returns how many were freed.
uint32_t EndWalks(Region& region, uint32_t drc_index);

}  // namespace drc
