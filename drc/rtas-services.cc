#include "drc/rtas-services.h"

#include "drc/walker.h"
#include "lib/be.h"
#include "lib/hv.h"
#include "rtas/layout.h"

namespace drc {

using rtas::RtasStatus;

namespace {

constexpr uint32_t kIsolationState = 9001;
constexpr uint32_t kAllocationState = 9003;

struct HostWalk {
  rtas::RtasContext* context;
  uint32_t token;
};

// One step of the host's configure-connector for the replay. Its argument block goes in the
// scratch page after the 4 KiB work area, a real address the host can read.
int32_t HostStep(void* opaque, uint32_t, bool, uint64_t work_area) {
  auto& walk = *static_cast<HostWalk*>(opaque);
  uint8_t* block = walk.context->scratch_host + kWorkAreaSize;
  lib::StoreBe32(block, walk.token);
  lib::StoreBe32(block + 4, 2);
  lib::StoreBe32(block + 8, 1);
  lib::StoreBe32(block + 12, static_cast<uint32_t>(work_area));
  lib::StoreBe32(block + 16, static_cast<uint32_t>(work_area >> 32));
  lib::StoreBe32(block + 20, static_cast<uint32_t>(RtasStatus::kHardwareError));
  const uint64_t address = walk.context->scratch + kWorkAreaSize;
  if (lib::hv::ForwardRtas(address).is_error()) {
    return static_cast<int32_t>(RtasStatus::kHardwareError);
  }
  return static_cast<int32_t>(lib::LoadBe32(block + 20));
}

int64_t HostFetch(void*, uint32_t drc_index, uint64_t buffer, uint64_t size,
                  uint64_t& fragment_size, uint64_t& generation) {
  const auto r = lib::hv::Hcall(lib::hv::KVMPPC_H_DRC_FDT, {drc_index, buffer, size});
  fragment_size = r.values[0];
  generation = r.values[1];
  return static_cast<int64_t>(r.status);
}

}  // namespace

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
  const RtasStatus status = rtas::ForwardToHost(context, call.block, 12 + 4 * 3);
  if (call.args[0] == kIsolationState || call.args[0] == kAllocationState) {
    (void)ForgetWalks(context.state, call.args[1]);
  }
  return status;
}

RtasStatus EndAllWalksService(rtas::RtasContext& context, rtas::RtasCall& call) {
  (void)ForgetWalks(context.state, 0);
  return rtas::ForwardToHost(context, call.block, 12 + 4 * static_cast<uint32_t>(call.args.size()));
}

}  // namespace drc
