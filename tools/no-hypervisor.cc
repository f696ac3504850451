// For host tools that link tern code (the service table pulls in the RTAS handlers): there is no
// hypervisor to call and nothing to halt.
#include <cstdlib>

#include "lib/hv.h"
#include "lib/panic.h"

namespace lib::hv {
HcallReturn Hcall(uint64_t, const uint64_t (&)[kMaxHcallArgs]) {
  return HcallReturn{HcallStatus::kFunction, {}};
}
}  // namespace lib::hv

namespace lib {
void Halt() {
  std::abort();
}
}  // namespace lib
