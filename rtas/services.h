// The RTAS service table: one row per service tern knows [LoPAPR 7.3], with the argument and
// return counts it requires and the handler tern runs, or none to forward the call to the host.
//
// The same table serves the boot firmware (it reads each row's token from QEMU's /rtas, checks
// the two agree, and hands the tokens to the RTAS image) and the RTAS image's dispatcher, so the
// tokens the OS sees and the ones the dispatcher answers cannot disagree. Tokens keep QEMU's
// values.
#pragma once

#include "lib/guest-memory.h"
#include "lib/span.h"
#include "lib/types.h"
#include "rtas/status.h"

namespace rtas {

struct RtasCall {
  uint32_t token;
  uint64_t block;  // the argument block's guest address, for handlers that also forward it
  lib::Span<const uint32_t> args;
  lib::Span<uint32_t> rets;  // rets[1..]; the status goes into rets[0] of the block
};

struct RtasContext;
using RtasHandler = RtasStatus (*)(RtasContext& context, RtasCall& call);

struct RtasService {
  const char* name;
  int8_t nargs;              // -1: any (the host checks)
  int8_t nret;               // -1: any, otherwise including the status cell
  RtasHandler handler;       // nullptr: forwarded to the host (KVMPPC_H_RTAS)
  bool needs_state = false;  // the handler cannot run when the state region fails its checks
};

lib::Span<const RtasService> Services();
// Row index of `name`, or -1.
int FindService(const char* name);

}  // namespace rtas
