// Benchmark driver (not a test): walks a CPU core's fragment through tern's configure-connector
// against the fake QEMU, the way Linux's dlpar_configure_connector calls it. tools/bench.py
// (tools/benchmarks/walk.py) runs it under callgrind to count instructions per walk and per OS
// call, reading the last line it prints:
//   walk_bench fixture=NAME walks=N calls=C host_calls=H snapshot_bytes=S
//
//   walk_bench FRAGMENT.dtb [WALKS]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "drc/walker.h"
#include "lib/be.h"
#include "rtas/instantiate.h"
#include "rtas/state-region.h"
#include "tests/fake-qemu-cc.h"
#include "tests/test-data.h"

namespace {

constexpr uint32_t kDrc = 0x10000008;
constexpr uint64_t kWorkArea = 0x1000;
constexpr uint64_t kScratch = 0x4000;
constexpr uint64_t kState = 0x10000;

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: walk_bench FRAGMENT.dtb [WALKS]\n");
    return 2;
  }
  const int walks = argc > 2 ? std::atoi(argv[2]) : 1;
  std::vector<uint8_t> ram(1 << 20);
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(ram.data()), ram.size());
  tests::FakeQemuCc qemu(memory);
  qemu.AddDrc(kDrc, tests::ReadFile(argv[1]), tests::DrcState::kLogicalUnisolate, true);
  const uint32_t state_size = rtas::StateRegionSize(rtas::kStateDataSize);
  lib::Span<uint8_t> state(ram.data() + kState, state_size);
  if (rtas::InitStateRegion(state, 1).is_error()) return 1;
  drc::WalkContext context{memory, state, qemu.Source(), kScratch, ram.data() + kScratch, 8};
  uint64_t os_calls = 0;
  uint32_t snapshot = 0;
  for (int w = 0; w < walks; ++w) {
    lib::StoreBe32(&ram[kWorkArea], kDrc);
    lib::StoreBe32(&ram[kWorkArea + 4], 0);
    for (;;) {
      const auto status = static_cast<int32_t>(drc::ConfigureConnector(context, kWorkArea));
      ++os_calls;
      // WalkSlot.snapshot_size of the walk's slot (the first), once the snapshot is complete.
      if (w == 0 && status != -2)
        snapshot = lib::Max(snapshot, lib::LoadBe32(state.data() + 64 + 24));
      if (status == 0) break;
      if (status < 0 && status != -2) {
        std::fprintf(stderr, "walk failed with %d\n", status);
        return 1;
      }
    }
  }
  std::printf(
      "%d walk(s), %llu OS calls (%.1f per walk), %llu host calls, snapshot %u bytes + "
      "64-byte slot\n",
      walks, static_cast<unsigned long long>(os_calls), static_cast<double>(os_calls) / walks,
      static_cast<unsigned long long>(qemu.calls), snapshot);
  std::string fixture = argv[1];
  fixture = fixture.substr(fixture.find_last_of('/') + 1);
  fixture = fixture.substr(0, fixture.rfind(".dtb"));
  std::printf("walk_bench fixture=%s walks=%d calls=%llu host_calls=%llu snapshot_bytes=%u\n",
              fixture.c_str(), walks, static_cast<unsigned long long>(os_calls),
              static_cast<unsigned long long>(qemu.calls), snapshot);
  return 0;
}
