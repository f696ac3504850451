// The RTAS state region as tern finds it on a call: bytes the OS could have written, the header's
// and the slots' checksums recomputed (or not) so that the checks behind them run on hostile
// values. Every reader of the region runs on it: the checks, the call statistics, the walks'
// end (set-indicator, os-term), configure-connector continuing or starting a walk (the host a
// well-behaved fake QEMU with a CPU core), and tern-rtas-dump's view of the slots and records.
// The region is an exact-size heap buffer inside guest RAM: AddressSanitizer catches any access
// past it. Input: flags (1 byte), the work area's cookie (4), then the region's bytes.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "drc/snapshot-records.h"
#include "drc/walk-slot.h"
#include "drc/walker.h"
#include "lib/be.h"
#include "lib/guest-memory.h"
#include "rtas/instantiate.h"
#include "rtas/state-region.h"
#include "tests/fake-qemu-cc.h"
#include "tests/fuzz/fuzz-support.h"

namespace {

constexpr uint64_t kWorkArea = 0x1000;
constexpr uint64_t kScratch = 0x3000;
constexpr uint64_t kState = 0x5000;
constexpr uint32_t kDrc = 0x10000008;
// A smaller data area than the image's keeps inputs short; the geometry check accepts any size.
constexpr uint32_t kStateSize = rtas::StateRegionSize(16 * 1024);

// Reads every live slot's records as tern-rtas-dump does: ReadRecord must stay inside the snapshot.
void ReadAllRecords(lib::Span<const uint8_t> region) {
  const auto& header = *reinterpret_cast<const rtas::StateHeader*>(region.data());
  for (uint32_t i = 0; i < header.slot_count.value(); ++i) {
    if (rtas::CheckSlot(region, i).is_error()) continue;
    const auto& slot = *reinterpret_cast<const drc::WalkSlot*>(rtas::SlotBytes(region, i).data());
    const uint64_t end = uint64_t{slot.snapshot_offset.value()} + slot.snapshot_size.value();
    if (end > region.size()) continue;
    const lib::Span<const uint8_t> snapshot(region.data() + slot.snapshot_offset.value(),
                                            slot.snapshot_size.value());
    for (uint32_t at = 0, n = 0; at < snapshot.size() && n < 100000; ++n) {
      auto record = drc::ReadRecord(snapshot, at);
      if (record.is_error()) break;
      if (record.value().size == 0) fuzz::Violation("a record of 0 bytes");
      at += record.value().size;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input input(data, size);
  const uint8_t flags = input.U8();
  const uint32_t cookie = input.U32();
  const uint64_t ram_size = kState + kStateSize;
  std::unique_ptr<uint8_t[]> ram(new uint8_t[ram_size]());
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(ram.get()), ram_size);
  lib::Span<uint8_t> state(ram.get() + kState, kStateSize);
  // A valid region first, then the input's bytes over it from the start.
  if (rtas::InitStateRegion(state, 1).is_error()) std::abort();
  const std::vector<uint8_t> bytes = input.Bytes(kStateSize);
  if (!bytes.empty()) std::memcpy(state.data(), bytes.data(), bytes.size());
  if (flags & 1) {
    if (rtas::CheckStateRegion(state).is_ok() || (flags & 2)) {
      for (uint32_t i = 0; i < rtas::kSlotCount; ++i) {
        if (rtas::SlotBytes(state, i).size() == rtas::kSlotSize) rtas::CommitSlot(state, i);
      }
    }
    rtas::CommitStateRegion(state);
  }
  (void)rtas::CheckAllSlots(state);
  rtas::RecordCall(state, flags >> 2, -1);
  if (rtas::CheckStateRegion(state).is_error()) return 0;  // the dispatcher stops here: -1
  ReadAllRecords(state);
  if (flags & 4) (void)drc::ForgetWalks(state, flags & 8 ? kDrc : 0);

  tests::FakeQemuCc qemu(memory);
  static const std::vector<uint8_t> core = fuzz::Fixture("drc-cpu-core");
  qemu.AddDrc(kDrc, core, tests::DrcState::kLogicalUnisolate, true);
  drc::WalkContext context{
      memory, state, qemu.Source(), kScratch, ram.get() + kScratch, flags & 16 ? 100000u : 3u};
  lib::StoreBe32(ram.get() + kWorkArea, kDrc);
  lib::StoreBe32(ram.get() + kWorkArea + 4, cookie);
  for (int call = 0; call < 200; ++call) {
    if (rtas::CheckStateRegion(state).is_error()) fuzz::Violation("the walker broke the header");
    const int32_t code = static_cast<int32_t>(drc::ConfigureConnector(context, kWorkArea));
    if (code == 0 || (code < 0 && code != -2)) break;
  }
  return 0;
}

void fuzz::MakeSeeds(Seeds& seeds) {
  // Regions as a walk leaves them: fresh, mid-snapshot and serving, each re-checksummed.
  std::vector<uint8_t> ram(kState + kStateSize);
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(ram.data()), ram.size());
  lib::Span<uint8_t> state(ram.data() + kState, kStateSize);
  if (rtas::InitStateRegion(state, 1).is_error()) std::abort();
  tests::FakeQemuCc qemu(memory);
  qemu.AddDrc(kDrc, Fixture("drc-cpu-core"), tests::DrcState::kLogicalUnisolate, true);
  drc::WalkContext context{memory, state, qemu.Source(), kScratch, ram.data() + kScratch, 3};
  lib::StoreBe32(ram.data() + kWorkArea, kDrc);
  for (int call = 0; call < 12; ++call) {
    std::vector<uint8_t> seed;
    PutU8(seed, 1);
    PutBytes(seed, std::vector<uint8_t>(ram.begin() + kWorkArea + 4, ram.begin() + kWorkArea + 8));
    // Header, slots, statistics and the first 4 KiB of the data area.
    PutBytes(seed, std::vector<uint8_t>(state.data(), state.data() + 1088 + 4096));
    if (call % 3 == 0) seeds.Add("walk-call-" + std::to_string(call), seed);
    (void)drc::ConfigureConnector(context, kWorkArea);
  }
}
