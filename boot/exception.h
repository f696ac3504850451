// Exception reporting: every interrupt vector the firmware owns saves the CPU state into one
// ExceptionFrame and calls tern_exception(), which prints the vector, SRR0/SRR1 and the registers
// and halts, so the firmware never hangs silently. The layout is shared with boot/entry.S.
#pragma once

#include "lib/types.h"

namespace boot {

struct ExceptionFrame {
  uint64_t gpr[32];
  uint64_t vector;
  uint64_t srr0;
  uint64_t srr1;
  uint64_t lr;
  uint64_t ctr;
  uint64_t cr;
  uint64_t xer;
  uint64_t dar;
  uint64_t dsisr;
  uint64_t msr;
};

// Offsets used by boot/entry.S.
static_assert(__builtin_offsetof(ExceptionFrame, vector) == 256);
static_assert(__builtin_offsetof(ExceptionFrame, msr) == 328);
static_assert(sizeof(ExceptionFrame) == 336);

// The name of interrupt vector `vector` [Power ISA 3.0B Book III 7.5], or "unknown".
const char* VectorName(uint64_t vector);

// Writes the report for `frame` to the console.
void PrintException(const ExceptionFrame& frame);

}  // namespace boot

extern "C" [[noreturn]] void tern_exception(const boot::ExceptionFrame* frame);
