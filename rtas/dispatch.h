// The RTAS dispatcher, run by the RTAS image for every call the OS makes [LoPAPR 7.2]: validates
// the argument block once, finds the service by token, and either runs tern's handler or forwards
// the block to the host. Compiled for the host too, where it is tested with a fake hypervisor and
// a byte-array guest memory.
#pragma once

#include "lib/guest-memory.h"
#include "lib/span.h"
#include "lib/types.h"
#include "rtas/services.h"
#include "rtas/status.h"

namespace rtas {

// Most cells of a block: Linux's struct rtas_args has 16.
inline constexpr uint32_t kMaxCells = 16;

struct RtasContext {
  lib::GuestMemory& memory;
  lib::Span<const uint32_t> tokens;  // tokens[i] belongs to services[i]; 0: QEMU has none
  lib::Span<uint8_t> state;          // the state region (rtas/state-region.h)
  lib::Span<const RtasService> services = Services();
  uint64_t scratch = 0;             // guest address of a 4 KiB buffer for host walks
  uint8_t* scratch_host = nullptr;  // the same buffer, for tern
  uint64_t state_address = 0;       // guest address of the state region
  uint64_t host_features = 0;       // rtas::kHost* bits (rtas/layout.h)
};

// Forwards the block to the host and returns the status it wrote (-1 if the hcall failed).
RtasStatus ForwardToHost(RtasContext& context, uint64_t block, uint32_t status_offset);

enum class DispatchOutcome {
  kHandled,       // a tern handler ran
  kForwarded,     // the host handled it
  kRejected,      // bad block or counts: -3 written where possible
  kUnreachable,   // the block is not in guest RAM: nothing written
  kStateCorrupt,  // the state region failed its checks: -1 written
};

// Handles the argument block at guest address `block`. The status always ends up in the block's
// rets[0] unless the block itself is unreachable.
DispatchOutcome Dispatch(RtasContext& context, uint64_t block);

}  // namespace rtas
