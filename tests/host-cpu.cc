// lib/cpu.h for host tests: a settable time base, and no instruction caches to synchronize.
#include "tests/host-cpu.h"

namespace tests {
namespace {
uint64_t timebase = 0;
uint64_t timebase_step = 0;
uint64_t synced_bytes = 0;
}  // namespace

void SetTimebase(uint64_t value) {
  timebase = value;
}
void SetTimebaseStep(uint64_t ticks) {
  timebase_step = ticks;
}
uint64_t SyncedInstructionBytes() {
  return synced_bytes;
}

}  // namespace tests

namespace lib {

uint64_t ReadTimebase() {
  const uint64_t now = tests::timebase;
  tests::timebase += tests::timebase_step;
  return now;
}
void SyncInstructions(uintptr_t, size_t size) {
  tests::synced_bytes += size;
}

}  // namespace lib
