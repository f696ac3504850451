// lib::Halt for host tests: a halt is the end of the process (death tests observe it).
#include <cstdio>
#include <cstdlib>

#include "lib/panic.h"

namespace lib {

void Halt() {
  std::fflush(stdout);
  std::fputs("tern-test: halted\n", stderr);
  std::abort();
}

}  // namespace lib
