// Panic and assertions for firmware bugs (never for bad input from the hypervisor or an OS: that
// gets an error result). A panic prints "PANIC at file:line: message" on the console and halts.
#pragma once

#include "lib/types.h"

namespace lib {

[[noreturn]] void Panic(const char* file, int line, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

// Stops this CPU for good. Firmware: asks the host to stop the vCPU, else spins; host: aborts.
[[noreturn]] void Halt();

}  // namespace lib

#define TERN_PANIC(...) ::lib::Panic(__FILE__, __LINE__, __VA_ARGS__)
#define TERN_ASSERT(condition) \
  ((condition) ? static_cast<void>(0) : TERN_PANIC("assertion failed: %s", #condition))
