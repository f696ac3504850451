// Benchmark driver (not a test): walks a fragment through tern's RTAS dispatcher and its
// configure-connector, the way Linux's dlpar_configure_connector calls it, against the fake QEMU
// behind the fake hypervisor's KVMPPC_H_RTAS. The instructions are counted by callgrind
// (tools/bench-walk.sh): everything under rtas::Dispatch, less what the fake hypervisor and QEMU
// spend (tests::FakeHypervisor::Dispatch), is what tern spends.
//
//   walk_bench KIND [WALKS]
//   KIND: cpu-core, pci-device, phb, pci-bridge, pci-tree-64k, wide-64k
// The last line printed is machine-readable:
//   walk_bench fragment=KIND fragment_bytes=B walks=N calls=C host_calls=H snapshot_bytes=S
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "drc/rtas-services.h"
#include "drc/walk-slot.h"
#include "drc/walker.h"
#include "lib/be.h"
#include "rtas/dispatch.h"
#include "rtas/instantiate.h"
#include "rtas/services.h"
#include "rtas/state-region.h"
#include "tests/fake-hv.h"
#include "tests/fake-qemu-cc.h"
#include "tests/fragments.h"
#include "tests/test-data.h"

namespace {

constexpr uint64_t kBlock = 0x800;
constexpr uint64_t kWorkArea = 0x1000;
constexpr uint64_t kScratch = 0x4000;
constexpr uint64_t kState = 0x10000;
constexpr uint32_t kTokenBase = 0x2000;

struct Kind {
  const char* name;
  uint32_t drc_index;
  tests::DrcState state;
  bool name_property;
};

const Kind kKinds[] = {
    {"cpu-core", 0x10000008, tests::DrcState::kLogicalUnisolate, true},
    {"pci-device", 0x40000010, tests::DrcState::kPhysicalUnisolate, false},
    {"phb", 0x20000001, tests::DrcState::kLogicalUnisolate, false},
    {"pci-bridge", 0x40010000, tests::DrcState::kPhysicalUnisolate, false},
    {"pci-tree-64k", 0x40010000, tests::DrcState::kPhysicalUnisolate, false},
    {"wide-64k", 0x20000006, tests::DrcState::kLogicalUnisolate, false},
};

std::vector<uint8_t> Fragment(const std::string& kind) {
  if (kind == "cpu-core") return tests::LoadDtb("drc-cpu-core.dtb");
  if (kind == "pci-device") return tests::LoadDtb("drc-pci-device.dtb");
  if (kind == "phb") return tests::LoadDtb("drc-phb.dtb");
  if (kind == "pci-bridge") return tests::LoadDtb("drc-qemu-pci-bridge.dtb");
  if (kind == "pci-tree-64k") return tests::PciBridgeTree(64 * 1024);
  return tests::WideFragment(16, 4000);  // 16 properties of 4000 bytes: the worst case
}

uint32_t Token(const char* service) {
  return kTokenBase + static_cast<uint32_t>(rtas::FindService(service));
}

}  // namespace

int main(int argc, char** argv) {
  const Kind* kind = nullptr;
  for (const Kind& k : kKinds) {
    if (argc >= 2 && std::strcmp(argv[1], k.name) == 0) kind = &k;
  }
  if (kind == nullptr) {
    std::fprintf(stderr,
                 "usage: walk_bench KIND [WALKS]\n"
                 "KIND: cpu-core, pci-device, phb, pci-bridge, pci-tree-64k, wide-64k\n");
    return 2;
  }
  const int walks = argc > 2 ? std::atoi(argv[2]) : 1;
  std::vector<uint8_t> ram(2 << 20);
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(ram.data()), ram.size());
  tests::FakeHypervisor& hv = tests::FakeHypervisor::Get();
  hv.Reset();
  hv.rtas_guest_base = reinterpret_cast<uintptr_t>(ram.data());
  tests::FakeQemuCc qemu(memory);
  const std::vector<uint8_t> fragment = Fragment(kind->name);
  qemu.AddDrc(kind->drc_index, fragment, kind->state, kind->name_property);
  qemu.Install(hv, Token("ibm,configure-connector"), Token("set-indicator"));

  const uint32_t state_size = rtas::StateRegionSize(rtas::kStateDataSize);
  lib::Span<uint8_t> state(ram.data() + kState, state_size);
  if (rtas::InitStateRegion(state, 1).is_error()) return 1;
  std::vector<uint32_t> tokens;
  for (size_t i = 0; i < rtas::Services().size(); ++i) tokens.push_back(kTokenBase + i);
  rtas::RtasContext context{memory, {tokens.data(), tokens.size()}, state};
  context.handlers = drc::RtasHandlers();
  context.scratch = kScratch;
  context.scratch_host = ram.data() + kScratch;
  context.state_address = kState;

  uint64_t os_calls = 0;
  uint32_t snapshot = 0;
  for (int w = 0; w < walks; ++w) {
    lib::StoreBe32(&ram[kWorkArea], kind->drc_index);
    lib::StoreBe32(&ram[kWorkArea + 4], 0);
    for (;;) {
      lib::StoreBe32(&ram[kBlock], Token("ibm,configure-connector"));
      lib::StoreBe32(&ram[kBlock + 4], 2);
      lib::StoreBe32(&ram[kBlock + 8], 1);
      lib::StoreBe32(&ram[kBlock + 12], static_cast<uint32_t>(kWorkArea));
      lib::StoreBe32(&ram[kBlock + 16], 0);
      (void)rtas::Dispatch(context, kBlock);
      const auto status = static_cast<int32_t>(lib::LoadBe32(&ram[kBlock + 20]));
      ++os_calls;
      const auto& slot = *reinterpret_cast<const drc::WalkSlot*>(state.data() + 64);
      if (w == 0 && status != -2) snapshot = lib::Max(snapshot, slot.snapshot_size.value());
      if (status == 0) break;
      if (status < 0 && status != -2) {
        std::fprintf(stderr, "walk failed with %d\n", status);
        return 1;
      }
    }
  }
  std::printf(
      "%d walk(s) of the %s fragment (%zu bytes): %llu OS calls, %llu host calls, "
      "snapshot %u bytes\n",
      walks, kind->name, fragment.size(), static_cast<unsigned long long>(os_calls),
      static_cast<unsigned long long>(qemu.calls), snapshot);
  std::printf(
      "walk_bench fragment=%s fragment_bytes=%zu walks=%d calls=%llu host_calls=%llu "
      "snapshot_bytes=%u\n",
      kind->name, fragment.size(), walks, static_cast<unsigned long long>(os_calls),
      static_cast<unsigned long long>(qemu.calls), snapshot);
  hv.Reset();
  return 0;
}
