// The RTAS service table: one row per service tern knows [LoPAPR 7.3], with the argument and
// return counts it requires. No handlers: the modules that serve or watch a service register
// their own into the RTAS image (rtas/dispatch.h, TERN_RTAS_HANDLERS).
//
// The same table serves the boot firmware (it reads each row's token from QEMU's /rtas, checks
// the two agree, and hands the tokens to the RTAS image), the RTAS image's dispatcher and
// tern-rtas-dump (the per-row call statistics), so the tokens the OS sees and the ones the
// dispatcher answers cannot disagree. Tokens keep QEMU's values.
#pragma once

#include "lib/span.h"
#include "lib/types.h"

namespace rtas {

struct RtasService {
  const char* name;
  int8_t nargs;  // -1: any (the host checks)
  int8_t nret;   // -1: any, otherwise including the status cell
};

lib::Span<const RtasService> Services();
// Row index of `name`, or -1.
int FindService(const char* name);

}  // namespace rtas
