// Controls for the host stand-ins of lib/cpu.h (tests/host-cpu.cc).
#pragma once

#include <cstdint>

#include "lib/cpu.h"

namespace tests {

void SetTimebase(uint64_t value);
// Bytes passed to lib::SyncInstructions so far.
uint64_t SyncedInstructionBytes();

}  // namespace tests
