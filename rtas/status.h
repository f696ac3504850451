// RTAS status values [LoPAPR 7.2.8, Table 7.5 "RTAS Status Word Values"], and the answers of
// ibm,configure-connector [LoPAPR 13.5.3.5], which share the status word.
#pragma once

#include "lib/types.h"

namespace rtas {

enum class RtasStatus : int32_t {
  kSuccess = 0,        // for configure-connector: configuration complete
  kNoErrorsFound = 1,  // check-exception / event-scan: nothing to report
  kHardwareError = -1,
  kBusy = -2,            // call again
  kParameterError = -3,  // also "not supported" and "no such indicator"
  kNotConfigurable = -9003,
  // ibm,configure-connector's answers with data in the work area.
  kNextSibling = 1,
  kNextChild = 2,
  kNextProperty = 3,
  kPreviousParent = 4,
  kMoreMemory = 5,  // never answered by tern: Linux treats it as an error
  // Extended delay: call again after 10^(status - 9900) ms.
  kExtendedDelayFirst = 9900,
  kExtendedDelayLast = 9905,
};

constexpr bool IsExtendedDelay(RtasStatus status) {
  return status >= RtasStatus::kExtendedDelayFirst && status <= RtasStatus::kExtendedDelayLast;
}

}  // namespace rtas
