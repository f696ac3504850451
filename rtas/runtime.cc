// The RTAS image's C++ entry, called by rtas/entry.S with the argument block and the image's own
// address, on the RTAS stack, in 64-bit real mode, with the entry lock held. RTAS image only. The
// services it runs itself are the ones the linked modules registered (TERN_RTAS_HANDLERS).
#include "lib/console.h"
#include "lib/guest-memory.h"
#include "rtas/dispatch.h"
#include "rtas/layout.h"

extern "C" rtas::ImageConfig tern_rtas_config;

namespace {
constinit bool console_attached = false;
// Handlers' scratch (rtas/layout.h): the host's configure-connector walk writes here.
alignas(4096) constinit uint8_t scratch[rtas::kScratchSize];
}  // namespace

extern "C" void tern_rtas_call(uint64_t block, uint64_t image_address) {
  const rtas::ImageConfig& config = tern_rtas_config;
  if (!console_attached) {
    lib::ConsoleAttachVty(config.console_unit.value());
    console_attached = true;
  }
  const uint64_t area_base = config.area_base.value();
  lib::GuestMemory memory(0, config.ram_top.value());
  // Buffers the OS passes must not overlap the RTAS area itself.
  (void)memory.Protect(area_base, config.state_offset.value() + config.state_size.value());
  uint32_t tokens[rtas::kMaxServices];
  const uint32_t count = lib::Min<uint32_t>(config.service_count.value(), rtas::kMaxServices);
  for (uint32_t i = 0; i < count; ++i) tokens[i] = config.tokens[i].value();
  auto* state =
      reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(area_base + config.state_offset.value()));
  rtas::RtasContext context{memory, lib::Span<const uint32_t>(tokens, count),
                            lib::Span<uint8_t>(state, config.state_size.value())};
  context.scratch = reinterpret_cast<uintptr_t>(scratch);
  context.scratch_host = scratch;
  context.state_address = area_base + config.state_offset.value();
  context.host_features = config.host_features.value();
  (void)rtas::Dispatch(context, block);
  (void)image_address;
}

namespace lib {

// A firmware bug inside RTAS: the message is out; the CPU stays here, holding the RTAS lock, so
// no further call can run on corrupted state.
void Halt() {
  for (;;) asm volatile("or 1,1,1" ::: "memory");
}

}  // namespace lib
