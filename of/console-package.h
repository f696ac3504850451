// The console instances of /chosen stdout and stdin [IEEE 1275 6.3.2.3 read/write]: the
// hypervisor's vty (H_PUT_TERM_CHAR / H_GET_TERM_CHAR), or, on a machine without one, an
// instance that takes every write and never has input (Linux's prom_init stops with "cannot find
// stdout" when /chosen has none).
#pragma once

#include "of/package.h"

namespace of {

extern const Package kConsolePackage;
extern const Package kDiscardConsole;

}  // namespace of
