// Controls for the host stand-ins of lib/cpu.h (tests/host-cpu.cc).
#pragma once

#include <cstdint>

#include "lib/cpu.h"

namespace tests {

void SetTimebase(uint64_t value);
// Every ReadTimebase from now on advances the time base by `ticks` after reading it (0, the
// default: it stands still), so that a wait on a device that never answers ends in a bounded
// number of polls (fuzz targets).
void SetTimebaseStep(uint64_t ticks);
// Bytes passed to lib::SyncInstructions so far.
uint64_t SyncedInstructionBytes();

}  // namespace tests
