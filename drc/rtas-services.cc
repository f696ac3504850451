#include "drc/rtas-services.h"

#include "drc/walker.h"
#include "lib/cell-block.h"
#include "lib/hv.h"
#include "rtas/layout.h"

namespace drc {

using rtas::RtasStatus;

namespace {

// set-indicator's DR indicator types (LoPAPR's dynamic-reconfiguration chapter).
constexpr uint32_t kIsolationState = 9001;
constexpr uint32_t kAllocationState = 9003;

TERN_RTAS_HANDLERS(kHandlers) = {
    {"ibm,configure-connector", ConfigureConnectorService, true},
    {"set-indicator", SetIndicatorService, false},
    {"ibm,os-term", EndAllWalksService, false},
    {"system-reboot", EndAllWalksService, false},
};

// The scratch buffer holds the host walk's work area, then its argument block.
static_assert(kWorkAreaSize + lib::kBlockHeaderSize + 4 * 3 <= rtas::kScratchSize);

struct HostWalk {
  rtas::RtasContext* context;
  uint32_t token;
};

// One step of the host's configure-connector for the replay. Its argument block goes in the
// scratch page after the 4 KiB work area, a real address the host can read.
RtasStatus HostStep(void* opaque, uint32_t, bool, uint64_t work_area) {
  auto& walk = *static_cast<HostWalk*>(opaque);
  uint8_t* bytes = walk.context->scratch_host + kWorkAreaSize;
  lib::CellBlock block;
  block.service = walk.token;
  block.nargs = 2;
  block.nret = 1;
  block.cells[0] = static_cast<uint32_t>(work_area);
  block.cells[1] = static_cast<uint32_t>(work_area >> 32);
  block.cells[2] = static_cast<uint32_t>(RtasStatus::kHardwareError);
  lib::EncodeBlock(block, bytes);
  if (lib::hv::ForwardRtas(walk.context->scratch + kWorkAreaSize).is_error()) {
    return RtasStatus::kHardwareError;
  }
  lib::DecodeBlockRets(bytes, block);
  return static_cast<RtasStatus>(block.Rets()[0]);
}

lib::Result<lib::hv::DrcFragment, lib::hv::HcallStatus> HostFetch(void*, uint32_t drc_index,
                                                                  uint64_t buffer, uint64_t size) {
  return lib::hv::DrcFdt(drc_index, buffer, size);
}

}  // namespace

lib::Span<const rtas::ServiceHandler> RtasHandlers() {
  return lib::Span<const rtas::ServiceHandler>(kHandlers, sizeof(kHandlers) / sizeof(kHandlers[0]));
}

RtasStatus ConfigureConnectorService(rtas::RtasContext& context, rtas::RtasCall& call) {
  if (context.scratch_host == nullptr) return RtasStatus::kHardwareError;
  HostWalk walk{&context, call.token};
  WalkContext walker{context.memory,  context.state,        FragmentSource{HostStep, &walk},
                     context.scratch, context.scratch_host, kHostStepsPerCall};
  if (context.host_features & rtas::kHostDrcFdt) {
    walker.fetch = FragmentFetch{HostFetch, nullptr};
    walker.state_address = context.state_address;
  }
  const uint64_t work_area = call.args[0] | (uint64_t{call.args[1]} << 32);
  return ConfigureConnector(walker, work_area);
}

RtasStatus SetIndicatorService(rtas::RtasContext& context, rtas::RtasCall& call) {
  const RtasStatus status = rtas::ForwardToHost(context, call);
  if (call.args[0] == kIsolationState || call.args[0] == kAllocationState) {
    (void)ForgetWalks(context.state, call.args[1]);
  }
  return status;
}

RtasStatus EndAllWalksService(rtas::RtasContext& context, rtas::RtasCall& call) {
  (void)ForgetWalks(context.state, 0);
  return rtas::ForwardToHost(context, call);
}

}  // namespace drc
