// Exception reporting: every interrupt vector the firmware owns saves the CPU state into one
// ExceptionFrame and calls tern_exception(), which prints the vector, SRR0/SRR1 and the registers,
// then powers the machine off through the host's RTAS, so the firmware never hangs silently and
// the VM does not look hung: QEMU exits, and so does whatever runs it. A machine that cannot be
// powered off halts (boot/halt.h). The frame's layout is shared with boot/entry.S.
//
// Until an OS installs its own vectors (Linux does early, after prom_init), they are tern's: an
// exception of the firmware, of a boot loader it entered (GRUB) or of a kernel before it takes
// over ends here. A "reset instead" choice will come with the firmware settings in NVRAM.
#pragma once

#include "lib/span.h"
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

// What follows the report: "tern: powering off" and the host's RTAS power-off [LoPAPR 7.3.9]
// with no wake-up events, its token from `tree`'s /rtas. Returns only when the machine is still
// running (no tree, no token, the hypervisor refused the call or returned), after a line saying
// why; the caller then halts.
void PowerOffAfterException(const void* tree);

// One call of the host's RTAS `token` with `args` and only a status to return [LoPAPR 7.2.8],
// through KVMPPC_H_RTAS and a block of its own, without rtas::CallHost's lock: the stop paths
// (this one, lib::Halt's stop-self) may have interrupted a holder of that lock. They run on one
// CPU, once. False when the hypervisor refused the call (or `args` do not fit); else the status.
bool CallHostAlone(uint32_t token, lib::Span<const uint32_t> args, int32_t* status);

}  // namespace boot

extern "C" [[noreturn]] void tern_exception(const boot::ExceptionFrame* frame);
