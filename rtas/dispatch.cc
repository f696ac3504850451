#include "rtas/dispatch.h"

#include "lib/be.h"
#include "lib/console.h"
#include "lib/hv.h"
#include "lib/string.h"
#include "rtas/state-region.h"

// The bounds of the linker section TERN_RTAS_HANDLERS fills: linker/rtas.ld defines them in the
// image; on the host the linker does for any section named like a C identifier. Weak: a program
// that registers nothing has none.
extern "C" {
[[gnu::weak]] extern const rtas::ServiceHandler __start_tern_rtas_handlers[];
[[gnu::weak]] extern const rtas::ServiceHandler __stop_tern_rtas_handlers[];
}

namespace rtas {

lib::Span<const ServiceHandler> RegisteredHandlers() {
  if (__start_tern_rtas_handlers == nullptr || __stop_tern_rtas_handlers == nullptr) return {};
  return lib::Span<const ServiceHandler>(
      __start_tern_rtas_handlers,
      static_cast<size_t>(__stop_tern_rtas_handlers - __start_tern_rtas_handlers));
}

namespace {

void WriteStatus(lib::GuestMemory& memory, uint64_t status_cell, RtasStatus status) {
  uint8_t cell[4];
  lib::StoreBe32(cell, static_cast<uint32_t>(status));
  (void)memory.Write(status_cell, cell, 4);
}

// Forwards the block at `block`, whose status cell is at `status_offset`.
RtasStatus Forward(RtasContext& context, uint64_t block, uint64_t status_offset) {
  auto forwarded = lib::hv::ForwardRtas(block);
  uint8_t status[4] = {};
  if ((forwarded.is_error() && forwarded.error() != lib::hv::HcallStatus::kParameter) ||
      context.memory.Read(block + status_offset, status, 4).is_error()) {
    return RtasStatus::kHardwareError;
  }
  return static_cast<RtasStatus>(lib::LoadBe32(status));
}

const ServiceHandler* HandlerOf(const RtasContext& context, const RtasService& service) {
  for (const ServiceHandler& handler : context.handlers) {
    // The same literal is usually one string after linking: compare addresses first.
    if (handler.service == service.name || lib::StrCompare(handler.service, service.name) == 0) {
      return &handler;
    }
  }
  return nullptr;
}

}  // namespace

RtasStatus ForwardToHost(RtasContext& context, const RtasCall& call) {
  return Forward(context, call.block, lib::kBlockHeaderSize + 4 * uint64_t{call.args.size()});
}

DispatchOutcome Dispatch(RtasContext& context, uint64_t block) {
  lib::GuestMemory& memory = context.memory;
  auto header = lib::ReadBlockHeader(memory, block);
  if (header.is_error()) {
    lib::Printf("tern-rtas: argument block at 0x%llx is outside guest RAM\n",
                static_cast<unsigned long long>(block));
    return DispatchOutcome::kUnreachable;
  }
  lib::CellBlock cells = header.value();
  const uint32_t token = cells.service;
  const uint64_t status_cell = block + cells.RetsOffset();
  // [LoPAPR 7.2.8] a malformed block is a parameter error, reported where the status would go.
  if (!cells.CountsFit() || cells.nret == 0 || !memory.Contains(block, cells.Size())) {
    if (cells.nargs <= lib::kMaxBlockCells && cells.nret > 0)
      WriteStatus(memory, status_cell, RtasStatus::kParameterError);
    return DispatchOutcome::kRejected;
  }

  const lib::Span<const RtasService> services = context.services;
  int row = -1;
  for (size_t i = 0; i < context.tokens.size() && i < services.size(); ++i) {
    if (context.tokens[i] == token && token != 0) row = static_cast<int>(i);
  }
  if (row >= 0) {
    const RtasService& service = services[row];
    if ((service.nargs >= 0 && cells.nargs != uint32_t(service.nargs)) ||
        (service.nret >= 0 && cells.nret != uint32_t(service.nret))) {
      WriteStatus(memory, status_cell, RtasStatus::kParameterError);
      return DispatchOutcome::kRejected;
    }
    if (const ServiceHandler* handler = HandlerOf(context, service); handler != nullptr) {
      if (handler->needs_state) {
        if (auto checked = CheckStateRegion(context.state); checked.is_error()) {
          lib::Printf("tern-rtas: %s: %s\n", service.name, StateErrorName(checked.error()));
          WriteStatus(memory, status_cell, RtasStatus::kHardwareError);
          return DispatchOutcome::kStateCorrupt;
        }
      }
      (void)lib::ReadBlockCells(memory, block, cells);
      const lib::Span<uint32_t> rets = cells.Rets();
      for (uint32_t& ret : rets) ret = 0;
      RtasCall call{token, block, cells.Args(), rets.Subspan(1)};
      const RtasStatus status = handler->handler(context, call);
      rets[0] = static_cast<uint32_t>(status);
      (void)lib::WriteBlockRets(memory, block, cells);
      RecordCall(context.state, static_cast<uint32_t>(row), static_cast<int32_t>(status));
      return DispatchOutcome::kHandled;
    }
  }
  // Forwarded: QEMU reads the block itself and writes the status; for a token it does not know it
  // writes -3 and answers H_PARAMETER.
  const RtasStatus status = Forward(context, block, cells.RetsOffset());
  // -1 is either the host's own answer or a refused hcall, which wrote nothing: write it.
  if (status == RtasStatus::kHardwareError) WriteStatus(memory, status_cell, status);
  if (row >= 0) RecordCall(context.state, static_cast<uint32_t>(row), static_cast<int32_t>(status));
  return DispatchOutcome::kForwarded;
}

}  // namespace rtas
