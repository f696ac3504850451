// lib::Halt for the firmware: asks the host to stop this vCPU with RTAS stop-self, so a halted
// firmware costs the host nothing and stays inspectable from QEMU's monitor; spins if that fails.
#include "boot/halt.h"

#include "boot/exception.h"
#include "lib/panic.h"
#include "rtas/host-call.h"

namespace lib {

void Halt() {
  if (const void* tree = boot::HaltTree(); tree != nullptr) {
    auto token = rtas::LookupToken(tree, "stop-self");
    int32_t status = 0;
    // stop-self [LoPAPR 7.3.15.1]: returns only if the host refuses.
    if (token.is_ok()) (void)boot::CallHostAlone(token.value(), {}, &status);
  }
  for (;;) {
    asm volatile("or 1,1,1" ::: "memory");  // lowest SMT priority while spinning
  }
}

}  // namespace lib
