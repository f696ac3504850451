// RTAS status values [LoPAPR 7.2.8, Table 7.5 "RTAS Status Word Values"].
#pragma once

#include "lib/types.h"

namespace rtas {

enum class RtasStatus : int32_t {
  kSuccess = 0,
  kNoErrorsFound = 1,  // check-exception / event-scan: nothing to report
  kHardwareError = -1,
  kBusy = -2,
  kParameterError = -3,  // also "not supported" and "no such indicator"
  kNotConfigurable = -9003,
};

}  // namespace rtas
