#include "boot/exception.h"

#include "boot/halt.h"
#include "lib/cell-block.h"
#include "lib/console.h"
#include "lib/hv.h"
#include "lib/panic.h"
#include "rtas/host-call.h"

namespace boot {

const char* VectorName(uint64_t vector) {
  switch (vector) {
    case 0x100: return "system reset";
    case 0x200: return "machine check";
    case 0x300: return "data storage";
    case 0x380: return "data segment";
    case 0x400: return "instruction storage";
    case 0x480: return "instruction segment";
    case 0x500: return "external";
    case 0x600: return "alignment";
    case 0x700: return "program";
    case 0x800: return "floating-point unavailable";
    case 0x900: return "decrementer";
    case 0x980: return "hypervisor decrementer";
    case 0xa00: return "directed privileged doorbell";
    case 0xc00: return "system call";
    case 0xd00: return "trace";
    case 0xe00: return "hypervisor data storage";
    case 0xe20: return "hypervisor instruction storage";
    case 0xe40: return "hypervisor emulation assistance";
    case 0xe60: return "hypervisor maintenance";
    case 0xe80: return "directed hypervisor doorbell";
    case 0xea0: return "hypervisor virtualization";
    case 0xf00: return "performance monitor";
    case 0xf20: return "vector unavailable";
    case 0xf40: return "VSX unavailable";
    case 0xf60: return "facility unavailable";
    case 0xf80: return "hypervisor facility unavailable";
    default: return "unknown";
  }
}

namespace {
// SRR1 bits 42-47 qualify a program interrupt [Power ISA 3.0B Book III 7.5.9].
const char* ProgramCause(uint64_t srr1) {
  if (srr1 & (1ull << (63 - 43))) return "floating-point enabled";
  if (srr1 & (1ull << (63 - 44))) return "illegal instruction";
  if (srr1 & (1ull << (63 - 45))) return "privileged instruction";
  if (srr1 & (1ull << (63 - 46))) return "trap";
  return "unqualified";
}
}  // namespace

void PrintException(const ExceptionFrame& f) {
  lib::Printf("\ntern: EXCEPTION 0x%llx (%s", static_cast<unsigned long long>(f.vector),
              VectorName(f.vector));
  if (f.vector == 0x700) lib::Printf(": %s", ProgramCause(f.srr1));
  lib::Printf(")\n");
  lib::Printf("  SRR0 %016llx  SRR1 %016llx  MSR  %016llx\n",
              static_cast<unsigned long long>(f.srr0), static_cast<unsigned long long>(f.srr1),
              static_cast<unsigned long long>(f.msr));
  lib::Printf("  LR   %016llx  CTR  %016llx  CR   %08llx  XER %08llx\n",
              static_cast<unsigned long long>(f.lr), static_cast<unsigned long long>(f.ctr),
              static_cast<unsigned long long>(f.cr), static_cast<unsigned long long>(f.xer));
  lib::Printf("  DAR  %016llx  DSISR %08llx\n", static_cast<unsigned long long>(f.dar),
              static_cast<unsigned long long>(f.dsisr));
  for (int i = 0; i < 32; i += 4) {
    lib::Printf("  r%-2d %016llx r%-2d %016llx r%-2d %016llx r%-2d %016llx\n", i,
                static_cast<unsigned long long>(f.gpr[i]), i + 1,
                static_cast<unsigned long long>(f.gpr[i + 1]), i + 2,
                static_cast<unsigned long long>(f.gpr[i + 2]), i + 3,
                static_cast<unsigned long long>(f.gpr[i + 3]));
  }
}

namespace {
// The block of CallHostAlone: header, up to 3 arguments and the status.
alignas(8) constinit uint8_t alone_block[lib::kBlockHeaderSize + 4 * 4];
// The tree of SetHaltTree: defined here, with the exception path that reads it, so that the host
// tests build both.
constinit const void* halt_tree = nullptr;
}  // namespace

void SetHaltTree(const void* tree) {
  halt_tree = tree;
}

const void* HaltTree() {
  return halt_tree;
}

bool CallHostAlone(uint32_t token, lib::Span<const uint32_t> args, int32_t* status) {
  if (args.size() > 3) return false;
  lib::CellBlock call;
  call.service = token;
  call.nargs = static_cast<uint32_t>(args.size());
  call.nret = 1;
  for (size_t i = 0; i < args.size(); ++i) call.cells[i] = args[i];
  lib::EncodeBlock(call, alone_block);
  // The firmware runs in real mode at its link address: the pointer is the real address.
  if (lib::hv::ForwardRtas(reinterpret_cast<uintptr_t>(alone_block)).is_error()) return false;
  lib::DecodeBlockRets(alone_block, call);
  *status = static_cast<int32_t>(call.Rets()[0]);
  return true;
}

void PowerOffAfterException(const void* tree) {
  if (tree == nullptr) {
    lib::Printf("tern: cannot power off before the device tree is read\n");
    return;
  }
  auto token = rtas::LookupToken(tree, "power-off");
  if (token.is_error()) {
    lib::Printf("tern: cannot power off: /rtas has no power-off token (%s)\n",
                lib::fdt::FdtErrorName(token.error()));
    return;
  }
  lib::Printf("tern: powering off\n");
  // power-off(power_on_mask_hi, power_on_mask_lo): no wake-up events.
  const uint32_t args[] = {0, 0};
  int32_t status = 0;
  if (!CallHostAlone(token.value(), args, &status)) {
    lib::Printf("tern: power-off: the hypervisor refused the RTAS call\n");
  } else {
    lib::Printf("tern: power-off returned status %d\n", static_cast<int>(status));
  }
}

}  // namespace boot

namespace {
constinit uint32_t exception_depth = 0;
}  // namespace

extern "C" void tern_exception(const boot::ExceptionFrame* frame) {
  // A fault while reporting a fault: the frame was overwritten; stop without touching more state.
  lib::ConsoleTakeOver();
  if (++exception_depth > 1) {
    if (exception_depth == 2) lib::Printf("\ntern: exception while reporting an exception\n");
    lib::Halt();
  }
  boot::PrintException(*frame);
  lib::Printf("tern: halted\n");
  boot::PowerOffAfterException(boot::HaltTree());
  lib::Halt();
}
