// Stopping the boot CPU for good (lib::Halt in the firmware build).
#pragma once

namespace boot {

// The tree Halt() reads the host's stop-self token from; until it is set, Halt() spins.
void SetHaltTree(const void* tree);

}  // namespace boot
