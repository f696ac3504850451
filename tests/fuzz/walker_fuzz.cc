// The configure-connector walker (drc/walker.cc) between a hostile host and a hostile OS. The host
// is a script read from the input: each of its steps answers any code and writes any name, value
// offset and length into the shared work area; or, in fetch mode, KVMPPC_H_DRC_FDT returns sizes,
// generations and blob bytes from the input, or (one fetch-mode input in 16) is a host whose
// fragment changes during every copy, whatever the input says. Between two OS calls the input may
// restart the walk, change the cookie, isolate the connector, or change a byte of the state region,
// with or without re-checksumming it (memory the OS can write). Guest RAM is an exact-size heap
// buffer. Invariants: every answer is one configure-connector defines; a region only the walker
// wrote always passes its checks, slots included; in fetch mode, once the input is over, the OS
// calling again on -2 sees the walk end within drc::kMaxHostBusy + 2 calls, never an endless -2
// (issue #26: a fragment that never settles).
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "drc/snapshot.h"
#include "drc/walk-slot.h"
#include "drc/walker.h"
#include "lib/be.h"
#include "lib/guest-memory.h"
#include "rtas/instantiate.h"
#include "rtas/state-region.h"
#include "tests/fuzz/fuzz-support.h"

namespace {

constexpr uint64_t kWorkArea = 0x1000;
constexpr uint64_t kScratch = 0x3000;
constexpr uint64_t kState = 0x5000;
constexpr uint32_t kStateSize = rtas::StateRegionSize(rtas::kStateDataSize);
constexpr uint64_t kRamSize = kState + kStateSize;
constexpr uint32_t kDrc = 0x40000018;
constexpr int kMaxCalls = 3000;

struct Host {
  fuzz::Input* input;
  uint8_t* scratch;  // the host's view of the shared work area
  uint8_t* ram;
  bool unsettled = false;   // KVMPPC_H_DRC_FDT's generation changes on every call
  uint64_t generation = 0;  // the unsettled host's
};

// One step of a host that answers whatever the input says.
rtas::RtasStatus HostStep(void* opaque, uint32_t, bool, uint64_t) {
  Host& host = *static_cast<Host*>(opaque);
  fuzz::Input& in = *host.input;
  static const int32_t kCodes[] = {2, 3, 3, 3, 4, 0, 1, 5, -2, 9900, 9905, -1, -3, -9003, 7};
  const uint8_t pick = in.U8();
  const int32_t code = pick < 15 * 16 ? kCodes[pick % 15] : static_cast<int32_t>(in.U32());
  if (in.Bool()) {  // a well-formed name (and value) at the usual offsets
    lib::StoreBe32(host.scratch + 8, drc::kDataOffset);
    const std::vector<uint8_t> name = in.Bytes(in.U8() % 40);
    if (!name.empty()) std::memcpy(host.scratch + drc::kDataOffset, name.data(), name.size());
    host.scratch[drc::kDataOffset + name.size()] = 0;
    const uint32_t value = drc::kDataOffset + static_cast<uint32_t>(name.size()) + 1;
    const std::vector<uint8_t> bytes = in.Bytes(in.U16() % 4200);
    const uint32_t length =
        static_cast<uint32_t>(std::min<size_t>(bytes.size(), drc::kWorkAreaSize - value));
    if (!bytes.empty()) std::memcpy(host.scratch + value, bytes.data(), length);
    lib::StoreBe32(host.scratch + 12, in.Bool() ? length : in.U32());
    lib::StoreBe32(host.scratch + 16, value);
  } else {  // any words
    lib::StoreBe32(host.scratch + 8, in.U32());
    lib::StoreBe32(host.scratch + 12, in.U32());
    lib::StoreBe32(host.scratch + 16, in.U32());
  }
  return static_cast<rtas::RtasStatus>(code);
}

// KVMPPC_H_DRC_FDT with sizes, generations and bytes from the input.
lib::Result<lib::hv::DrcFragment, lib::hv::HcallStatus> HostFetch(void* opaque, uint32_t,
                                                                  uint64_t buffer, uint64_t size) {
  Host& host = *static_cast<Host*>(opaque);
  fuzz::Input& in = *host.input;
  using lib::hv::HcallStatus;
  static const HcallStatus kErrors[] = {HcallStatus::kNotFound, HcallStatus::kState,
                                        HcallStatus::kParameter, HcallStatus::kHardware};
  // The unsettled host never fails, so that it still answers once the input is over.
  if (!host.unsettled && in.U8() % 16 == 0) return lib::Err(kErrors[in.U8() % 4]);
  lib::hv::DrcFragment fragment{in.U32() % (3 * 128 * 1024), uint64_t{in.U8()} % 2};
  if (host.unsettled) fragment.generation = ++host.generation;
  if (buffer != 0) {
    // The host writes at most what it was given room for, where it was told to (inside RAM).
    if (buffer > kRamSize || size > kRamSize - buffer) fuzz::Violation("fetch buffer outside RAM");
    const std::vector<uint8_t> blob = in.Bytes(std::min<uint64_t>(size, fragment.size));
    if (!blob.empty()) std::memcpy(host.ram + buffer, blob.data(), blob.size());
  }
  return fragment;
}

bool Defined(int32_t code) {
  return (code >= 0 && code <= 4) || code == -1 || code == -2 || code == -3 || code == -9001 ||
         code == -9002 || code == -9003;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input input(data, size);
  std::unique_ptr<uint8_t[]> ram(new uint8_t[kRamSize]());
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(ram.get()), kRamSize);
  lib::Span<uint8_t> state(ram.get() + kState, kStateSize);
  if (rtas::InitStateRegion(state, 1).is_error()) std::abort();
  Host host{&input, ram.get() + kScratch, ram.get()};
  const uint8_t mode = input.U8();
  const uint32_t steps = mode % 4 == 0 ? 100000u : 1u + mode % 9;
  drc::WalkContext context{
      memory, state, drc::FragmentSource{HostStep, &host}, kScratch, ram.get() + kScratch, steps};
  if (mode & 0x80) {
    context.fetch = drc::FragmentFetch{HostFetch, &host};
    context.state_address = kState;
    host.unsettled = input.U8() % 16 == 15;
  }
  lib::StoreBe32(ram.get() + kWorkArea, kDrc);
  bool pristine = true;  // only the walker wrote the region
  int32_t code = 0;
  for (int call = 0; call < kMaxCalls && !input.empty(); ++call) {
    switch (input.U8() % 16) {
      case 0: lib::StoreBe32(ram.get() + kWorkArea + 4, 0); break;            // a new sequence
      case 1: lib::StoreBe32(ram.get() + kWorkArea + 4, input.U32()); break;  // a stale cookie
      case 2: (void)drc::ForgetWalks(state, input.Bool() ? kDrc : 0); break;
      case 3:
      case 4: {  // a byte of the region changes; with case 4 it is re-checksummed
        const uint32_t at = input.U32() % kStateSize;
        state[at] ^= input.U8() | 1;
        if (input.U8() % 4 == 0) {
          for (uint32_t i = 0; i < rtas::kSlotCount; ++i) rtas::CommitSlot(state, i);
          rtas::CommitStateRegion(state);
        }
        pristine = false;
        break;
      }
      default: break;  // the work area handed back as it was
    }
    // The dispatcher's precondition: the region passes its checks (else -1 without a walk).
    if (rtas::CheckStateRegion(state).is_error()) break;
    code = static_cast<int32_t>(drc::ConfigureConnector(context, kWorkArea));
    if (!Defined(code)) fuzz::Violation("an answer configure-connector does not define");
    if (pristine && rtas::CheckAllSlots(state).is_error()) {
      fuzz::Violation("the walker left a region that fails its checks");
    }
  }
  // The OS calls again as long as it is told to. In fetch mode every -2 is a busy answer the walk
  // counts (a slot re-checksummed with any count wraps once at most), and past the input the
  // fetch fails unless the host is unsettled: the walk ends within the bound. (In replay mode the
  // host steps' bound, kMaxHostSteps, takes too many calls for a fuzz run.)
  if (context.fetch.fetch == nullptr || rtas::CheckStateRegion(state).is_error()) return 0;
  for (uint32_t call = 0; code == -2; ++call) {
    if (call == drc::kMaxHostBusy + 2) fuzz::Violation("an endless -2: the walk never ends");
    code = static_cast<int32_t>(drc::ConfigureConnector(context, kWorkArea));
    if (!Defined(code)) fuzz::Violation("an answer configure-connector does not define");
  }
  return 0;
}

void fuzz::MakeSeeds(Seeds& seeds) {
  // A walk of one node with two properties through a well-behaved host, 1 and 8 steps per call;
  // then the same with a restart and a flipped byte.
  for (uint8_t mode : {1, 8, 0}) {
    std::vector<uint8_t> seed;
    PutU8(seed, mode);
    auto answer = [&](uint8_t code_index, const char* name, size_t value) {
      PutU8(seed, code_index);
      PutU8(seed, 1);
      PutU8(seed, static_cast<uint8_t>(std::strlen(name)));
      PutBytes(seed, std::vector<uint8_t>(name, name + std::strlen(name)));
      PutU16(seed, static_cast<uint16_t>(value));
      PutBytes(seed, std::vector<uint8_t>(value, 0x5a));
      PutU8(seed, 1);
    };
    for (int call = 0; call < 12; ++call) {
      PutU8(seed, 15);  // hand the work area back
      if (call == 0) answer(0, "pci@3", 0);
      if (call == 1) answer(1, "reg", 20);
      if (call == 2) answer(1, "vendor-id", 4);
      if (call == 3) answer(5, "", 0);
    }
    seeds.Add("walk-" + std::to_string(mode), seed);
  }
}
