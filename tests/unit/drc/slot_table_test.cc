// The walk states of drc/slot-table.h: ChangeState allows exactly the changes drc/walk-slot.h
// lists, and a refused one changes nothing, says so on the console and is an error the caller
// cannot ignore ([[nodiscard]]).
#include "drc/slot-table.h"

#include <gtest/gtest.h>

#include <cstring>

#include "drc/walk-slot.h"
#include "lib/be.h"
#include "tests/console-capture.h"

namespace {

using drc::WalkState;

constexpr WalkState kStates[] = {WalkState::kFree, WalkState::kSnapshotting, WalkState::kDraining,
                                 WalkState::kServing};

bool Listed(WalkState from, WalkState to) {
  if (to == WalkState::kFree) return true;  // a walk may always end
  return (from == WalkState::kFree && to == WalkState::kSnapshotting) ||
         (from == WalkState::kSnapshotting && to == WalkState::kDraining) ||
         (from == WalkState::kDraining && to == WalkState::kSnapshotting) ||
         (from == WalkState::kSnapshotting && to == WalkState::kServing);
}

drc::WalkSlot SlotIn(uint32_t state) {
  drc::WalkSlot slot;
  std::memset(static_cast<void*>(&slot), 0x5a, sizeof(slot));  // every field non-zero
  slot.drc_index = lib::Be32(0x10000008);
  slot.state = lib::Be32(state);
  return slot;
}

TEST(WalkStates, OnlyTheListedChangesAreAllowed) {
  for (WalkState from : kStates) {
    for (WalkState to : kStates) {
      SCOPED_TRACE(std::string(drc::WalkStateName(static_cast<uint32_t>(from))) + " -> " +
                   drc::WalkStateName(static_cast<uint32_t>(to)));
      drc::WalkSlot slot = SlotIn(static_cast<uint32_t>(from));
      const drc::WalkSlot before = slot;
      tests::ConsoleCapture console;
      const auto changed = drc::ChangeState(slot, to);
      if (Listed(from, to)) {
        ASSERT_TRUE(changed.is_ok());
        EXPECT_EQ(drc::StateOf(slot), to);
        EXPECT_EQ(console.text, "");
        if (to == WalkState::kFree) {  // the slot is cleared: no DRC, no room
          EXPECT_EQ(slot.drc_index.value(), 0u);
          EXPECT_EQ(slot.snapshot_capacity.value(), 0u);
        }
      } else {
        ASSERT_TRUE(changed.is_error());
        EXPECT_EQ(changed.error(), drc::SlotError::kRefusedChange);
        EXPECT_EQ(std::memcmp(&slot, &before, sizeof(slot)), 0) << "a refused change changed it";
        EXPECT_TRUE(console.Has("DRC 0x10000008: walk state change refused (from "))
            << console.text;
      }
    }
  }
}

TEST(WalkStates, AnUnknownStateMayOnlyEnd) {
  for (WalkState to : kStates) {
    drc::WalkSlot slot = SlotIn(7);
    tests::ConsoleCapture console;
    EXPECT_EQ(drc::ChangeState(slot, to).is_ok(), to == WalkState::kFree);
    if (to != WalkState::kFree) {
      EXPECT_TRUE(console.Has("(from unknown state to ")) << console.text;
    }
  }
}

}  // namespace
