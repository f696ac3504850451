#include "rtas/dispatch.h"

#include "lib/be.h"
#include "lib/console.h"
#include "lib/hv.h"
#include "rtas/state-region.h"

namespace rtas {

namespace {

void WriteStatus(lib::GuestMemory& memory, uint64_t status_cell, RtasStatus status) {
  uint8_t cell[4];
  lib::StoreBe32(cell, static_cast<uint32_t>(status));
  (void)memory.Write(status_cell, cell, 4);
}

}  // namespace

RtasStatus ForwardToHost(RtasContext& context, uint64_t block, uint32_t status_offset) {
  auto forwarded = lib::hv::ForwardRtas(block);
  uint8_t status[4] = {};
  if ((forwarded.is_error() && forwarded.error() != lib::hv::HcallStatus::kParameter) ||
      context.memory.Read(block + status_offset, status, 4).is_error()) {
    return RtasStatus::kHardwareError;
  }
  return static_cast<RtasStatus>(lib::LoadBe32(status));
}

DispatchOutcome Dispatch(RtasContext& context, uint64_t block) {
  lib::GuestMemory& memory = context.memory;
  uint8_t header[12];
  if (memory.Read(block, header, sizeof(header)).is_error()) {
    lib::Printf("tern-rtas: argument block at 0x%llx is outside guest RAM\n",
                static_cast<unsigned long long>(block));
    return DispatchOutcome::kUnreachable;
  }
  const uint32_t token = lib::LoadBe32(header);
  const uint32_t nargs = lib::LoadBe32(header + 4);
  const uint32_t nret = lib::LoadBe32(header + 8);
  const uint64_t status_cell = block + 12 + 4 * uint64_t{nargs};
  // [LoPAPR 7.2.8] a malformed block is a parameter error, reported where the status would go.
  if (nargs > kMaxCells || nret > kMaxCells || nargs + nret > kMaxCells || nret == 0 ||
      !memory.Contains(block, 12 + 4 * uint64_t{nargs + nret})) {
    if (nargs <= kMaxCells && nret > 0)
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
    if ((service.nargs >= 0 && nargs != uint32_t(service.nargs)) ||
        (service.nret >= 0 && nret != uint32_t(service.nret))) {
      WriteStatus(memory, status_cell, RtasStatus::kParameterError);
      return DispatchOutcome::kRejected;
    }
    if (service.handler != nullptr) {
      if (service.needs_state) {
        if (auto checked = CheckStateRegion(context.state); checked.is_error()) {
          lib::Printf("tern-rtas: %s: %s\n", service.name, StateErrorName(checked.error()));
          WriteStatus(memory, status_cell, RtasStatus::kHardwareError);
          return DispatchOutcome::kStateCorrupt;
        }
      }
      uint8_t cells[kMaxCells * 4];
      (void)memory.Read(block + 12, cells, 4 * (nargs + nret));
      uint32_t args[kMaxCells];
      uint32_t rets[kMaxCells] = {};
      for (uint32_t i = 0; i < nargs; ++i) args[i] = lib::LoadBe32(cells + 4 * i);
      RtasCall call{token, block, lib::Span<const uint32_t>(args, nargs),
                    lib::Span<uint32_t>(rets, nret - 1)};
      const RtasStatus status = service.handler(context, call);
      lib::StoreBe32(cells + 4 * nargs, static_cast<uint32_t>(status));
      for (uint32_t i = 1; i < nret; ++i) lib::StoreBe32(cells + 4 * (nargs + i), rets[i - 1]);
      (void)memory.Write(status_cell, cells + 4 * nargs, 4 * nret);
      RecordCall(context.state, static_cast<uint32_t>(row), static_cast<int32_t>(status));
      return DispatchOutcome::kHandled;
    }
  }
  // Forwarded: QEMU reads the block itself and writes the status; for a token it does not know it
  // writes -3 and answers H_PARAMETER.
  const RtasStatus status = ForwardToHost(context, block, 12 + 4 * nargs);
  // -1 is either the host's own answer or a refused hcall, which wrote nothing: write it.
  if (status == RtasStatus::kHardwareError) WriteStatus(memory, status_cell, status);
  if (row >= 0) RecordCall(context.state, static_cast<uint32_t>(row), static_cast<int32_t>(status));
  return DispatchOutcome::kForwarded;
}

}  // namespace rtas
