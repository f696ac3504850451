// lib::Halt for the firmware: asks the host to stop this vCPU with RTAS stop-self, so a halted
// firmware costs the host nothing and stays inspectable from QEMU's monitor; spins if that fails.
#include "boot/halt.h"

#include "lib/panic.h"
#include "rtas/host-call.h"

namespace boot {
namespace {
constinit const void* halt_tree = nullptr;
}  // namespace

void SetHaltTree(const void* tree) {
  halt_tree = tree;
}

}  // namespace boot

namespace lib {

void Halt() {
  if (boot::halt_tree != nullptr) {
    auto token = rtas::LookupToken(boot::halt_tree, "stop-self");
    if (token.is_ok()) {
      // stop-self [LoPAPR 7.3.15.1]: returns only if the host refuses.
      (void)rtas::CallHost(token.value(), {}, {});
    }
  }
  for (;;) {
    asm volatile("or 1,1,1" ::: "memory");  // lowest SMT priority while spinning
  }
}

}  // namespace lib
