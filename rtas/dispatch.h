// The RTAS dispatcher, run by the RTAS image for every call the OS makes [LoPAPR 7.2]: validates
// the argument block once, finds the service by token, and either runs the handler a module
// registered for it or forwards the block to the host. Compiled for the host too, where it is
// tested with a fake hypervisor and a byte-array guest memory.
#pragma once

#include "lib/cell-block.h"
#include "lib/guest-memory.h"
#include "lib/span.h"
#include "lib/types.h"
#include "rtas/services.h"
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

// A module's handler for one service of the table (rtas/services.h), by the service's name.
struct ServiceHandler {
  const char* service;
  RtasHandler handler;
  bool needs_state;  // the handler cannot run when the state region fails its checks
};

// Registers a module's handlers into the RTAS image's table:
//   TERN_RTAS_HANDLERS(kDrcHandlers) = {{"ibm,configure-connector", ConfigureConnector, true}};
// Every such array lands in the linker section tern_rtas_handlers (linker/rtas.ld keeps it), so
// the image dispatches to whatever modules it links, and rtas/ names none of them.
#define TERN_RTAS_HANDLERS(name)                                \
  [[gnu::used, gnu::retain, gnu::section("tern_rtas_handlers"), \
    gnu::aligned(8)]] constexpr ::rtas::ServiceHandler name[]

// The handlers registered by the modules linked into this program.
lib::Span<const ServiceHandler> RegisteredHandlers();

struct RtasContext {
  lib::GuestMemory& memory;
  lib::Span<const uint32_t> tokens;  // tokens[i] belongs to services[i]; 0: QEMU has none
  lib::Span<uint8_t> state;          // the state region (rtas/state-region.h)
  lib::Span<const RtasService> services = Services();
  lib::Span<const ServiceHandler> handlers = RegisteredHandlers();
  uint64_t scratch = 0;             // guest address of a 4 KiB buffer for host walks
  uint8_t* scratch_host = nullptr;  // the same buffer, for tern
  uint64_t state_address = 0;       // guest address of the state region
  uint64_t host_features = 0;       // rtas::kHost* bits (rtas/layout.h)
};

// Forwards the OS's call to the host and returns the status the host wrote (-1 if the hcall
// failed).
RtasStatus ForwardToHost(RtasContext& context, const RtasCall& call);

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
