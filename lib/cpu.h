// The few CPU operations the firmware's logic needs, behind functions so that the logic compiles
// for the host: lib/cpu-ppc64.cc implements them with POWER instructions, tests/host-cpu.cc with
// host equivalents.
#pragma once

#include "lib/types.h"

namespace lib {

// The time base register [Power ISA 3.0B Book II 5.2].
uint64_t ReadTimebase();

// Makes instructions written as data to [address, address + size) visible to instruction fetch
// (dcbst, sync, icbi, isync) [Power ISA 3.0B Book II 1.9].
void SyncInstructions(uintptr_t address, size_t size);

}  // namespace lib
