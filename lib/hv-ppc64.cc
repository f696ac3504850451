// The only place tern executes `sc 1`. Firmware build only; see lib/hv.h.
#include "lib/hv.h"

namespace lib::hv {

HcallReturn Hcall(uint64_t opcode, const uint64_t (&args)[kMaxHcallArgs]) {
  register uint64_t r3 asm("r3") = opcode;
  register uint64_t r4 asm("r4") = args[0];
  register uint64_t r5 asm("r5") = args[1];
  register uint64_t r6 asm("r6") = args[2];
  register uint64_t r7 asm("r7") = args[3];
  register uint64_t r8 asm("r8") = args[4];
  register uint64_t r9 asm("r9") = args[5];
  register uint64_t r10 asm("r10") = args[6];
  register uint64_t r11 asm("r11") = args[7];
  register uint64_t r12 asm("r12") = args[8];
  // [LoPAPR 14.5.3]: r0, r3-r12, CTR, XER and CR0/1/5/6/7 are volatile across an hcall.
  asm volatile("sc 1"
               : "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6), "+r"(r7), "+r"(r8), "+r"(r9), "+r"(r10),
                 "+r"(r11), "+r"(r12)
               :
               : "r0", "ctr", "xer", "cr0", "cr1", "cr5", "cr6", "cr7", "memory");
  return HcallReturn{static_cast<HcallStatus>(r3), {r4, r5, r6, r7, r8, r9, r10, r11, r12}};
}

// tern_hcall_rtas_leaf(r3 = RTAS block): KVMPPC_H_RTAS without a stack frame, for the RTAS
// entry's stop-self path (rtas/entry.S), which must not hold the entry lock or use the RTAS stack
// while the host stops the CPU. Clobbers what an hcall clobbers; LR is preserved by the hcall.
asm(R"(
  .text
  .globl tern_hcall_rtas_leaf
  .hidden tern_hcall_rtas_leaf
  .type tern_hcall_rtas_leaf, @function
tern_hcall_rtas_leaf:
  mr 4, 3
  li 3, 0
  ori 3, 3, 0xf000
  sc 1
  blr
  .size tern_hcall_rtas_leaf, . - tern_hcall_rtas_leaf
)");

}  // namespace lib::hv
