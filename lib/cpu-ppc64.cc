// POWER implementations of lib/cpu.h. Firmware build only.
#include "lib/cpu.h"

namespace lib {

uint64_t ReadTimebase() {
  uint64_t value;
  asm volatile("mfspr %0, 268" : "=r"(value));
  return value;
}

void SyncInstructions(uintptr_t address, size_t size) {
  constexpr uintptr_t kLine = 32;  // the smallest cache block of any POWER CPU pseries offers
  const uintptr_t end = address + size;
  for (uintptr_t line = address & ~(kLine - 1); line < end; line += kLine) {
    asm volatile("dcbst 0, %0" ::"r"(line) : "memory");
  }
  asm volatile("sync" ::: "memory");
  for (uintptr_t line = address & ~(kLine - 1); line < end; line += kLine) {
    asm volatile("icbi 0, %0" ::"r"(line) : "memory");
  }
  asm volatile("sync; isync" ::: "memory");
}

}  // namespace lib
