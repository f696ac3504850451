#include "drc/rtas-services.h"

#include "drc/walker.h"
#include "lib/be.h"
#include "lib/hv.h"

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

}  // namespace

RtasStatus ConfigureConnectorService(rtas::RtasContext& context, rtas::RtasCall& call) {
  if (context.scratch_host == nullptr) return RtasStatus::kHardwareError;
  HostWalk walk{&context, call.token};
  WalkContext walker{context.memory,  context.state,        FragmentSource{HostStep, &walk},
                     context.scratch, context.scratch_host, kHostStepsPerCall};
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
