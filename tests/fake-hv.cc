#include "tests/fake-hv.h"

#include <cstdio>

#include "lib/be.h"
#include "lib/console.h"

namespace tests {

using lib::hv::HcallReturn;
using lib::hv::HcallStatus;

FakeHypervisor& FakeHypervisor::Get() {
  static FakeHypervisor instance;
  return instance;
}

void FakeHypervisor::Reset() {
  *this = FakeHypervisor();
}

HcallReturn FakeHypervisor::Dispatch(uint64_t opcode,
                                     const uint64_t (&args)[lib::hv::kMaxHcallArgs]) {
  Call call{opcode, {}};
  for (int i = 0; i < lib::hv::kMaxHcallArgs; ++i) call.args[i] = args[i];
  if (record_calls) calls.push_back(call);
  if (auto it = overrides.find(opcode); it != overrides.end()) return it->second(call);
  switch (opcode) {
    case lib::hv::H_PUT_TERM_CHAR: return PutTermChar(call);
    case lib::hv::H_GET_TERM_CHAR: return GetTermChar(call);
    case lib::hv::KVMPPC_H_RTAS: return Rtas(call);
    default: return HcallReturn{HcallStatus::kFunction, {}};
  }
}

namespace {
bool Known(const std::vector<uint64_t>& units, uint64_t unit) {
  if (unit == 0) return !units.empty();
  for (uint64_t u : units) {
    if (u == unit) return true;
  }
  return false;
}
}  // namespace

HcallReturn FakeHypervisor::PutTermChar(const Call& call) {
  if (!Known(vty_units, call.args[0]) || call.args[1] > 16) {
    return HcallReturn{HcallStatus::kParameter, {}};
  }
  if (busy_answers > 0) {
    --busy_answers;
    return HcallReturn{HcallStatus::kBusy, {}};
  }
  std::string& out = terminal_output[call.args[0]];
  for (uint64_t i = 0; i < call.args[1]; ++i) {
    const uint64_t word = i < 8 ? call.args[2] : call.args[3];
    out.push_back(static_cast<char>(word >> (56 - 8 * (i % 8))));
  }
  return HcallReturn{HcallStatus::kSuccess, {}};
}

HcallReturn FakeHypervisor::GetTermChar(const Call& call) {
  if (!Known(vty_units, call.args[0])) return HcallReturn{HcallStatus::kParameter, {}};
  HcallReturn r{HcallStatus::kSuccess, {}};
  uint64_t count = 0;
  while (count < 16 && !terminal_input.empty()) {
    const uint64_t byte = static_cast<uint8_t>(terminal_input.front());
    terminal_input.pop_front();
    r.values[count < 8 ? 1 : 2] |= byte << (56 - 8 * (count % 8));
    ++count;
  }
  r.values[0] = count;
  return r;
}

HcallReturn FakeHypervisor::Rtas(const Call& call) {
  // Cells are read and written byte-wise: like QEMU's ldl_be_phys, alignment-agnostic.
  auto* block = reinterpret_cast<uint8_t*>(rtas_guest_base + static_cast<uintptr_t>(call.args[0]));
  auto cell = [block](uint32_t i) { return block + 4 * uintptr_t{i}; };
  const uint32_t token = lib::LoadBe32(cell(0));
  const uint32_t nargs = lib::LoadBe32(cell(1));
  const uint32_t nret = lib::LoadBe32(cell(2));
  auto it = rtas_services.find(token);
  if (it == rtas_services.end()) {
    if (nret > 0) lib::StoreBe32(cell(3 + nargs), static_cast<uint32_t>(-3));
    return HcallReturn{HcallStatus::kParameter, {}};
  }
  std::vector<uint32_t> args(nargs);
  for (uint32_t i = 0; i < nargs; ++i) args[i] = lib::LoadBe32(cell(3 + i));
  std::vector<uint32_t> rets(nret > 0 ? nret - 1 : 0);
  const int32_t status = it->second(args, rets);
  if (nret > 0) lib::StoreBe32(cell(3 + nargs), static_cast<uint32_t>(status));
  for (size_t i = 0; i < rets.size(); ++i) {
    lib::StoreBe32(cell(3 + nargs + 1 + static_cast<uint32_t>(i)), rets[i]);
  }
  return HcallReturn{HcallStatus::kSuccess, {}};
}

void AttachConsoleToStderr() {
  lib::ConsoleAttachSink(lib::Sink{
      [](void*, const char* data, size_t size) { std::fwrite(data, 1, size, stderr); }, nullptr});
}

}  // namespace tests

namespace lib::hv {

HcallReturn Hcall(uint64_t opcode, const uint64_t (&args)[kMaxHcallArgs]) {
  return tests::FakeHypervisor::Get().Dispatch(opcode, args);
}

}  // namespace lib::hv
