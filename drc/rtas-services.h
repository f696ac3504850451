// The RTAS services the DRC code serves or watches (rows of rtas/services.cc):
// ibm,configure-connector is tern's own (drc/walker.h); set-indicator, ibm,os-term and
// system-reboot are forwarded to the host, and tern drops the walks they end.
#pragma once

#include "rtas/dispatch.h"
#include "rtas/services.h"

namespace drc {

// Host calls one OS call may make while taking a snapshot; then the OS gets -2.
inline constexpr uint32_t kHostStepsPerCall = 8;
// The scratch buffer the services need (RtasContext::scratch): the host walk's work area, then
// its argument block.
inline constexpr uint32_t kScratchSize = 4096 + 64;

rtas::RtasStatus ConfigureConnectorService(rtas::RtasContext& context, rtas::RtasCall& call);
// set-indicator(type, index, value): isolation (9001) or allocation (9003) of a DRC ends its walk.
rtas::RtasStatus SetIndicatorService(rtas::RtasContext& context, rtas::RtasCall& call);
// ibm,os-term and system-reboot: every walk ends.
rtas::RtasStatus EndAllWalksService(rtas::RtasContext& context, rtas::RtasCall& call);

}  // namespace drc
