// The RTAS services the DRC code serves or watches, registered into the RTAS image's table with
// TERN_RTAS_HANDLERS (rtas/dispatch.h): ibm,configure-connector is tern's own (drc/walker.h);
// set-indicator, ibm,os-term and system-reboot are forwarded to the host, and tern drops the walks
// they end.
#pragma once

#include "rtas/dispatch.h"

namespace drc {

// Host calls one OS call may make while taking a snapshot; then the OS gets -2.
inline constexpr uint32_t kHostStepsPerCall = 8;

rtas::RtasStatus ConfigureConnectorService(rtas::RtasContext& context, rtas::RtasCall& call);
// set-indicator(type, index, value): isolation (9001) or allocation (9003) of a DRC ends its walk.
rtas::RtasStatus SetIndicatorService(rtas::RtasContext& context, rtas::RtasCall& call);
// ibm,os-term and system-reboot: every walk ends.
rtas::RtasStatus EndAllWalksService(rtas::RtasContext& context, rtas::RtasCall& call);

// The rows drc/ registers (for tests that build a dispatcher context by hand).
lib::Span<const rtas::ServiceHandler> RtasHandlers();

}  // namespace drc
