// lib/cpu.h for host tests: a settable time base, and no instruction caches to synchronize.
#include "tests/host-cpu.h"

namespace tests {
namespace {
uint64_t timebase = 0;
uint64_t synced_bytes = 0;
}  // namespace

void SetTimebase(uint64_t value) {
  timebase = value;
}
uint64_t SyncedInstructionBytes() {
  return synced_bytes;
}

}  // namespace tests

namespace lib {

uint64_t ReadTimebase() {
  return tests::timebase;
}
void SyncInstructions(uintptr_t, size_t size) {
  tests::synced_bytes += size;
}

}  // namespace lib
