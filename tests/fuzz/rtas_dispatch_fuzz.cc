// The RTAS dispatcher (rtas/dispatch.cc): argument blocks the OS passes, anywhere in guest RAM,
// with any token and counts. Guest RAM is an exact-size heap buffer; the fake host reads and
// writes forwarded blocks in it without checks of its own, so a block forwarded without being
// validated is an AddressSanitizer report too. A handler registered here (as modules register
// theirs) covers the handled path, one needing the state region included; the region itself is
// valid (its decoder has a target of its own). Input: a count byte, that many 4-byte block
// addresses, then guest RAM (at most 64 KiB).
#include <algorithm>
#include <memory>
#include <vector>

#include "lib/be.h"
#include "lib/guest-memory.h"
#include "rtas/dispatch.h"
#include "rtas/services.h"
#include "rtas/state-region.h"
#include "tests/fake-hv.h"
#include "tests/fuzz/fuzz-support.h"

namespace {

constexpr uint32_t kTokenBase = 0x2000;  // QEMU's numbering: row i has token 0x2000 + i
constexpr size_t kMaxRam = 64 * 1024;

// Fills every return cell it was given, as a handler may.
rtas::RtasStatus FillReturns(rtas::RtasContext&, rtas::RtasCall& call) {
  for (size_t i = 0; i < call.rets.size(); ++i) call.rets[i] = 0x1000 + static_cast<uint32_t>(i);
  return rtas::RtasStatus::kSuccess;
}
// Forwards the block, as drc/'s handlers do for calls they do not serve.
rtas::RtasStatus Forward(rtas::RtasContext& context, rtas::RtasCall& call) {
  return rtas::ForwardToHost(context, call);
}

}  // namespace

TERN_RTAS_HANDLERS(kFuzzHandlers) = {{"get-time-of-day", FillReturns, false},
                                     {"event-scan", FillReturns, true},
                                     {"set-indicator", Forward, true}};

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tests::FakeHypervisor& hv = tests::FakeHypervisor::Get();
  hv.Reset();
  fuzz::Input input(data, size);
  std::vector<uint64_t> blocks;
  for (int n = input.U8() % 8; n > 0; --n) blocks.push_back(input.U32());
  const std::vector<uint8_t> bytes = input.Bytes(kMaxRam);
  std::unique_ptr<uint8_t[]> ram(new uint8_t[bytes.size() + 1]);
  std::copy(bytes.begin(), bytes.end(), ram.get());
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(ram.get()), bytes.size());

  static std::vector<uint32_t> tokens = [] {
    std::vector<uint32_t> t;
    for (size_t i = 0; i < rtas::Services().size(); ++i) t.push_back(kTokenBase + uint32_t(i));
    t[1] = 0;  // a service QEMU does not offer
    return t;
  }();
  std::vector<uint8_t> state(rtas::StateRegionSize(1024));
  if (rtas::InitStateRegion({state.data(), state.size()}, 1).is_error()) std::abort();
  hv.rtas_guest_base = reinterpret_cast<uintptr_t>(ram.get());
  // The host answers every token it knows, filling the return cells.
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] == 0 || i % 3 == 2) continue;  // and does not know some
    hv.rtas_services[tokens[i]] = [](const std::vector<uint32_t>&, std::vector<uint32_t>& rets) {
      for (size_t r = 0; r < rets.size(); ++r) rets[r] = 0x2000 + static_cast<uint32_t>(r);
      return 0;
    };
  }
  rtas::RtasContext context{memory, lib::Span<const uint32_t>(tokens.data(), tokens.size()),
                            lib::Span<uint8_t>(state.data(), state.size())};
  for (uint64_t block : blocks) (void)rtas::Dispatch(context, block);
  if (rtas::CheckStateRegion({state.data(), state.size()}).is_error()) {
    fuzz::Violation("the dispatcher broke the state region");
  }
  return 0;
}

void fuzz::MakeSeeds(Seeds& seeds) {
  auto block = [](std::vector<uint8_t>& ram, uint32_t at, uint32_t token, uint32_t nargs,
                  uint32_t nret) {
    if (ram.size() < at + 12 + 4 * (nargs + nret)) ram.resize(at + 12 + 4 * (nargs + nret));
    lib::StoreBe32(&ram[at], token);
    lib::StoreBe32(&ram[at + 4], nargs);
    lib::StoreBe32(&ram[at + 8], nret);
    for (uint32_t i = 0; i < nargs; ++i) lib::StoreBe32(&ram[at + 12 + 4 * i], 7 + i);
  };
  const auto token = [](const char* name) {
    return kTokenBase + static_cast<uint32_t>(rtas::FindService(name));
  };
  std::vector<uint8_t> ram(4096);
  block(ram, 0x100, token("get-time-of-day"), 0, 8);
  block(ram, 0x200, token("event-scan"), 4, 1);
  block(ram, 0x300, token("set-indicator"), 3, 1);
  block(ram, 0x400, token("display-character"), 1, 1);
  block(ram, 0x500, 0x2fff, 2, 2);  // a token nobody knows
  std::vector<uint8_t> seed;
  PutU8(seed, 5);
  for (uint32_t at : {0x100u, 0x200u, 0x300u, 0x400u, 0x500u}) PutU32(seed, at);
  PutBytes(seed, ram);
  seeds.Add("services", seed);
  // A block whose counts run past the end of RAM.
  std::vector<uint8_t> edge(64);
  block(edge, 40, token("get-time-of-day"), 0, 8);
  edge.resize(64);
  seed.clear();
  PutU8(seed, 1);
  PutU32(seed, 40);
  PutBytes(seed, edge);
  seeds.Add("block-at-the-end", seed);
}
