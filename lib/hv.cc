#include "lib/hv.h"

#include "lib/be.h"
#include "lib/string.h"

namespace lib::hv {

const char* HcallStatusName(HcallStatus status) {
  switch (status) {
    case HcallStatus::kSuccess: return "H_SUCCESS";
    case HcallStatus::kBusy: return "H_BUSY";
    case HcallStatus::kClosed: return "H_CLOSED";
    case HcallStatus::kHardware: return "H_HARDWARE";
    case HcallStatus::kFunction: return "H_FUNCTION";
    case HcallStatus::kPrivilege: return "H_PRIVILEGE";
    case HcallStatus::kParameter: return "H_PARAMETER";
    case HcallStatus::kBadMode: return "H_BAD_MODE";
    case HcallStatus::kNotFound: return "H_NOT_FOUND";
    case HcallStatus::kDropped: return "H_DROPPED";
    case HcallStatus::kResource: return "H_RESOURCE";
    case HcallStatus::kState: return "H_STATE";
    case HcallStatus::kMultiThreadsActive: return "H_MULTI_THREADS_ACTIVE";
  }
  return "H_(unknown)";
}

namespace {
constexpr int kBusyRetries = 1000;
}  // namespace

Result<void, HcallStatus> PutTermChars(uint64_t unit, const char* data, size_t size) {
  while (size > 0) {
    const size_t n = Min(size, kTermChunk);
    uint8_t chunk[kTermChunk] = {};
    MemCopy(chunk, data, n);
    // The bytes travel in r6/r7, first byte in the most significant byte of r6.
    const uint64_t high = LoadBe64(chunk);
    const uint64_t low = LoadBe64(chunk + 8);
    HcallReturn r{};
    for (int attempt = 0; attempt < kBusyRetries; ++attempt) {
      r = Hcall(H_PUT_TERM_CHAR, {unit, n, high, low});
      if (r.status != HcallStatus::kBusy) break;
    }
    if (r.status != HcallStatus::kSuccess) return Err(r.status);
    data += n;
    size -= n;
  }
  return Ok<HcallStatus>();
}

Result<size_t, HcallStatus> GetTermChars(uint64_t unit, char (&buffer)[kTermChunk]) {
  const HcallReturn r = Hcall(H_GET_TERM_CHAR, {unit});
  if (r.status != HcallStatus::kSuccess) return Err(r.status);
  const size_t count = Min<uint64_t>(r.values[0], kTermChunk);
  for (size_t i = 0; i < count; ++i) {
    const uint64_t word = i < 8 ? r.values[1] : r.values[2];
    buffer[i] = static_cast<char>(word >> (56 - 8 * (i % 8)));
  }
  return count;
}

namespace {
Result<void, HcallStatus> StatusOnly(const HcallReturn& r) {
  if (r.status != HcallStatus::kSuccess) return Err(r.status);
  return Ok<HcallStatus>();
}
}  // namespace

Result<void, HcallStatus> ForwardRtas(uint64_t block) {
  return StatusOnly(Hcall(KVMPPC_H_RTAS, {block}));
}

namespace {
bool IsCiAccessSize(uint64_t size) {
  return size == 1 || size == 2 || size == 4 || size == 8;
}
}  // namespace

Result<uint64_t, HcallStatus> LogicalCiLoad(uint64_t size, uint64_t address) {
  if (!IsCiAccessSize(size)) return Err(HcallStatus::kParameter);
  const HcallReturn r = Hcall(H_LOGICAL_CI_LOAD, {size, address});
  if (r.status != HcallStatus::kSuccess) return Err(r.status);
  // Bits beyond the access size are not the device's: QEMU zero-extends, another host may not.
  return size == 8 ? r.values[0] : r.values[0] & ((uint64_t{1} << (8 * size)) - 1);
}

Result<void, HcallStatus> LogicalCiStore(uint64_t size, uint64_t address, uint64_t value) {
  if (!IsCiAccessSize(size)) return Err(HcallStatus::kParameter);
  return StatusOnly(Hcall(H_LOGICAL_CI_STORE, {size, address, value}));
}

Result<void, HcallStatus> ClientArchitectureSupport(uint64_t vector, uint64_t buffer,
                                                    uint64_t size) {
  return StatusOnly(Hcall(KVMPPC_H_CAS, {vector, buffer, size}));
}

Result<void, HcallStatus> UpdateDeviceTree(uint64_t fdt) {
  return StatusOnly(Hcall(KVMPPC_H_UPDATE_DT, {fdt}));
}

Result<DrcFragment, HcallStatus> DrcFdt(uint32_t drc_index, uint64_t buffer, uint64_t size) {
  const HcallReturn r = Hcall(KVMPPC_H_DRC_FDT, {drc_index, buffer, size});
  if (r.status != HcallStatus::kSuccess) return Err(r.status);
  return DrcFragment{r.values[0], r.values[1]};
}

Result<void, HcallStatus> PutTce(uint64_t liobn, uint64_t ioba, uint64_t tce) {
  return StatusOnly(Hcall(H_PUT_TCE, {liobn, ioba, tce}));
}

Result<void, HcallStatus> RegisterCrq(uint64_t unit, uint64_t queue, uint64_t size) {
  return StatusOnly(Hcall(H_REG_CRQ, {unit, queue, size}));
}

Result<void, HcallStatus> FreeCrq(uint64_t unit) {
  return StatusOnly(Hcall(H_FREE_CRQ, {unit}));
}

Result<void, HcallStatus> SendCrq(uint64_t unit, uint64_t high, uint64_t low) {
  return StatusOnly(Hcall(H_SEND_CRQ, {unit, high, low}));
}

bool IsBusy(HcallStatus status) {
  const auto value = static_cast<int64_t>(status);
  return status == HcallStatus::kBusy || (value >= 9900 && value <= 9905);
}

Result<void, HcallStatus> RegisterLogicalLan(uint64_t unit, uint64_t buffer_list,
                                             uint64_t receive_queue, uint64_t filter_list,
                                             uint64_t mac) {
  return StatusOnly(
      Hcall(H_REGISTER_LOGICAL_LAN, {unit, buffer_list, receive_queue, filter_list, mac}));
}

Result<void, HcallStatus> FreeLogicalLan(uint64_t unit) {
  return StatusOnly(Hcall(H_FREE_LOGICAL_LAN, {unit}));
}

Result<void, HcallStatus> AddLogicalLanBuffer(uint64_t unit, uint64_t descriptor) {
  return StatusOnly(Hcall(H_ADD_LOGICAL_LAN_BUFFER, {unit, descriptor}));
}

// r4 the unit, r5..r10 the descriptors, r11 the continuation token (0: a new frame).
Result<void, HcallStatus> SendLogicalLan(
    uint64_t unit, const uint64_t (&descriptors)[kLogicalLanSendDescriptors]) {
  return StatusOnly(Hcall(H_SEND_LOGICAL_LAN, {unit, descriptors[0], descriptors[1], descriptors[2],
                                               descriptors[3], descriptors[4], descriptors[5], 0}));
}

}  // namespace lib::hv
