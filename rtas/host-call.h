// Calls into the host's RTAS through KVMPPC_H_RTAS (0xf000), the way QEMU expects them (QEMU
// hw/ppc/spapr_hcall.c: h_rtas, hw/ppc/spapr_rtas.c: spapr_rtas_call): a big-endian block of
// token, nargs, nret, args, rets at a real address, the RTAS status in rets[0].
//
// Tokens are looked up by service name in the tree's /rtas node, where QEMU publishes them.
#pragma once

#include "lib/cell-block.h"
#include "lib/fdt.h"
#include "lib/hv.h"
#include "lib/result.h"
#include "lib/span.h"
#include "rtas/status.h"

namespace rtas {

// The token of RTAS service `service` from `blob`'s /rtas node.
lib::Result<uint32_t, lib::fdt::FdtError> LookupToken(const void* blob, const char* service);

// Error of a forwarded call: the hypervisor refused the hcall (H_PARAMETER for a token it does
// not know), or the call did not fit the block.
enum class HostCallError { kHcallFailed, kTooManyCells };

struct HostCallResult {
  RtasStatus status;  // rets[0]
};

// Calls host RTAS `token` with `args`; on return `rets` (without the status cell) holds
// rets[1..]. Serialized: one block serves every CPU.
lib::Result<HostCallResult, HostCallError> CallHost(uint32_t token, lib::Span<const uint32_t> args,
                                                    lib::Span<uint32_t> rets);

}  // namespace rtas
