// The hypervisor's boot device tree through every step of boot/main.cc and boot/devices.cc that the
// host build runs: tern_main's console discovery (of::EarlyConsoleUnit), lib::fdt::CheckBlob, the
// machine summary, the claims of the reserve map and payload (which must keep the firmware, the
// payload and every reserve-map entry from the client, in at most ClaimMap::kMaxInUse entries),
// the live tree's room (its footprint,
// the highest free range above the firmware) and copy (of::Tree::Init), the DRC registry, PCI
// bridge completion, the payload checks (boot/layout.h), the RTAS tokens and area plan, the PHBs
// and vscsi adapters the disk scan reads, QEMU's boot order, and /chosen prepared for the client.
// Input: the FDT blob.
#include <libfdt.h>

#include <cstring>
#include <vector>

#include "boot/layout.h"
#include "boot/os-tree.h"
#include "bootmgr/boot-order.h"
#include "dev/pci.h"
#include "dev/probe.h"
#include "dev/spapr-vlan.h"
#include "dev/vscsi.h"
#include "drc/registry.h"
#include "lib/arena.h"
#include "lib/fdt.h"
#include "lib/guest-memory.h"
#include "lib/timeout.h"
#include "of/claims.h"
#include "of/client-interface.h"
#include "of/machine-info.h"
#include "of/tree.h"
#include "rtas/host-call.h"
#include "rtas/instantiate.h"
#include "rtas/services.h"
#include "tests/fake-hv.h"
#include "tests/fuzz/client-rig.h"
#include "tests/fuzz/fuzz-support.h"
#include "tests/host-fixtures.h"

namespace {

constexpr size_t kMaxFdtSize = 2u << 20;  // boot/main.cc: QEMU's FDT_MAX_SIZE
constexpr size_t kTreeSlack = 64u << 10;  // boot/main.cc

// Config space with nothing plugged in: every read answers all ones, as a PHB does for an empty
// slot, so the scan reads each PHB node and enumerates nothing.
dev::PciConfigAccess EmptyBus() {
  dev::PciConfigAccess access;
  access.read = [](void*, uint64_t, uint32_t,
                   uint32_t size) -> lib::Result<uint32_t, dev::PciError> {
    return size == 4 ? 0xffffffffu : (size == 2 ? 0xffffu : 0xffu);
  };
  access.write = [](void*, uint64_t, uint32_t, uint32_t,
                    uint32_t) -> lib::Result<void, dev::PciError> {
    return lib::Ok<dev::PciError>();
  };
  return access;
}

lib::StringView ChosenString(const of::Tree& tree, const char* name) {
  const int chosen = tree.OffsetOf(tree.FindDevice("/chosen"));
  if (chosen < 0) return lib::StringView();
  return lib::fdt::PropertyString(tree.blob(), chosen, name).value_or(lib::StringView());
}

// The fixed part of tern's memory the tree room must stay above (boot/main.cc: __arena_end; the
// firmware's arena ends at 0x200000), and the arena room the live tree may take from it.
constexpr uint64_t kFirmwareEnd = 0x200000;
constexpr uint64_t kArenaRoom = 1u << 20;
constexpr uint64_t kTreeRoomAlign = 1u << 20;  // boot/main.cc
// Where QEMU writes its tree (hw/ppc/spapr.c: min(RMA, 2 GiB) - FDT_MAX_SIZE).
uint64_t HypervisorTreeAddress(uint64_t rma_bytes) {
  const uint64_t top = lib::Min<uint64_t>(rma_bytes, 2ull << 30);
  return top > kMaxFdtSize ? top - kMaxFdtSize : 0;
}

// [start, start + size) as far as it lies below claims.top() is claimed, byte for byte.
bool ClaimedBelowTop(const of::ClaimMap& claims, uint64_t start, uint64_t size) {
  if (size == 0 || start >= claims.top()) return true;
  uint64_t end = size > claims.top() - start ? claims.top() : start + size;
  for (const of::MemoryRange& range : claims.claimed()) {
    if (range.start <= start && start < range.end()) start = range.end();
  }
  return start >= end;
}

// boot::ClaimInUse kept the firmware, the payload and every reserve-map entry from the client,
// in at most kMaxInUse entries of the claim map (the client keeps the rest).
void CheckInUse(const of::ClaimMap& claims, const void* hv_tree, const of::MachineInfo& info) {
  if (claims.in_use_count() > of::ClaimMap::kMaxInUse) {
    fuzz::Violation("in-use ranges take more than their share of the claim map");
  }
  if (!ClaimedBelowTop(claims, 0, kFirmwareEnd) ||
      (info.has_kernel && !ClaimedBelowTop(claims, info.kernel.start, info.kernel.size)) ||
      (info.has_initrd && !ClaimedBelowTop(claims, info.initrd.start, info.initrd.size))) {
    fuzz::Violation("the firmware, the kernel or the initrd is left to the client");
  }
  const int entries = fdt_num_mem_rsv(hv_tree);
  for (int i = 0; i < entries; ++i) {
    uint64_t start = 0;
    uint64_t size = 0;
    if (fdt_get_mem_rsv(hv_tree, i, &start, &size) == 0 && !ClaimedBelowTop(claims, start, size)) {
      fuzz::Violation("a reserve-map entry is left to the client");
    }
  }
}

void Boot(const void* hv_tree) {
  auto checked = lib::fdt::CheckBlob(hv_tree, kMaxFdtSize);
  if (checked.is_error()) return;
  const size_t fdt_size = checked.value();
  auto info = of::ReadMachineInfo(hv_tree);
  if (info.is_error()) return;
  // Every wait tern sets is seconds or milliseconds of this frequency (lib/timeout.h): outside
  // the range, 10 s becomes centuries or a few ticks.
  const uint64_t frequency = info.value().timebase_frequency;
  if (frequency != 0 &&
      (frequency < lib::kMinTimebaseFrequency || frequency > lib::kMaxTimebaseFrequency)) {
    fuzz::Violation("timebase-frequency outside the range timeouts are computed for");
  }
  const uint64_t client_top = lib::Min<uint64_t>(info.value().rma_bytes, 4ull << 30);
  of::ClaimMap claims(client_top);
  boot::ClaimInUse(claims, hv_tree, info.value(), kFirmwareEnd);
  CheckInUse(claims, hv_tree, info.value());
  const uint64_t fdt_address = HypervisorTreeAddress(info.value().rma_bytes);

  // The live tree's room (boot/main.cc Boot): in the arena, or the highest free aligned range
  // above the firmware, which must be free, aligned and inside client memory. The search runs for
  // every tree (the seeds are far smaller than the arena); the room is claimed as tern would.
  const uint64_t footprint = of::Tree::InitFootprint(hv_tree, kTreeSlack);
  const uint64_t tree_room = boot::TreeRoomBytes(footprint);
  const uint64_t room_size = lib::AlignUp(tree_room, kTreeRoomAlign);
  if (auto start = boot::HighestFree(claims, kFirmwareEnd, room_size, kTreeRoomAlign);
      start.is_ok()) {
    const uint64_t at = start.value();
    if (at % kTreeRoomAlign != 0 || at < kFirmwareEnd || at > client_top ||
        room_size > client_top - at || !claims.IsFree(at, room_size)) {
      __builtin_trap();
    }
    if (tree_room > kArenaRoom && claims.Claim(at, room_size, 0).is_error()) __builtin_trap();
  }

  static std::vector<uint8_t> arena_memory(16u << 20);
  lib::Arena arena(reinterpret_cast<uintptr_t>(arena_memory.data()),
                   reinterpret_cast<uintptr_t>(arena_memory.data()) + arena_memory.size());
  of::Tree tree;
  if (tree.Init(hv_tree, arena, kTreeSlack).is_error()) return;
  // of::Tree::InitFootprint is what the room above is sized from.
  if (arena.used() > footprint) __builtin_trap();
  (void)drc::CountConnectors(tree.blob());
  (void)boot::CompletePciBridges(tree, EmptyBus());
  const boot::RealModeLayout layout{kFirmwareEnd, info.value().rma_bytes,
                                    of::AddressRange{fdt_address, fdt_size}};
  (void)boot::CheckPayload(info.value(), layout);

  // The device scan's reading of the tree (boot/devices.cc StartDevices, dev/probe.cc): the
  // PHBs, and the /vdevice nodes a driver matches, parsed as the v-scsi and spapr-vlan drivers
  // do.
  if (dev::FindRtasPciConfig(tree.blob()).is_ok()) {
    static dev::PciBus bus;
    dev::ScanPhbs(tree.blob(), EmptyBus(), bus);
  }
  const int vdevice = fdt_path_offset(tree.blob(), "/vdevice");
  int child = 0;
  if (vdevice >= 0) {
    fdt_for_each_subnode(child, tree.blob(), vdevice) {
      if (dev::MatchNode(dev::Drivers(), tree.blob(), child) != nullptr) {
        (void)dev::ParseVscsiNode(tree.blob(), child);
        (void)dev::ParseSpaprVlanNode(tree.blob(), child);
      }
    }
  }
  bootmgr::BootDevice disks[4] = {};
  size_t disk_count = 0;
  for (int node = fdt_next_node(tree.blob(), -1, nullptr); node >= 0 && disk_count < 4;
       node = fdt_next_node(tree.blob(), node, nullptr)) {
    auto type = lib::fdt::PropertyString(tree.blob(), node, "device_type");
    if (type.is_ok() && type.value() == lib::StringView("block")) {
      // Disks, CD-ROMs and network cards in turn, so that the letters of qemu,boot-device pick
      // among all three.
      static constexpr bootmgr::BootKind kKinds[3] = {
          bootmgr::BootKind::kDisk, bootmgr::BootKind::kCdrom, bootmgr::BootKind::kNetwork};
      disks[disk_count] =
          bootmgr::BootDevice{tree.PhandleAt(node), nullptr, kKinds[disk_count % 3]};
      ++disk_count;
    }
  }
  (void)bootmgr::PlanBootOrder(tree, ChosenString(tree, "qemu,boot-list"),
                               ChosenString(tree, "qemu,boot-device"),
                               lib::Span<const bootmgr::BootDevice>(disks, disk_count));

  // boot/main.cc PrepareRtas.
  static const std::vector<uint8_t> image = tests::MinimalRtasImage();
  static uint32_t tokens[rtas::kMaxServices];
  rtas::InstantiateInputs rtas_inputs{};
  bool have_rtas = false;
  const of::Phandle rtas_node = tree.FindDevice("/rtas");
  if (rtas_node != 0) {
    auto size = lib::fdt::PropertyU32(tree.blob(), tree.OffsetOf(rtas_node), "rtas-size");
    auto plan = size.is_ok() ? rtas::PlanArea({image.data(), image.size()}, size.value())
                             : lib::Result<rtas::AreaPlan, rtas::InstantiateError>(
                                   lib::Err(rtas::InstantiateError::kBadImage));
    if (plan.is_ok()) {
      const auto services = rtas::Services();
      for (size_t i = 0; i < services.size(); ++i) {
        tokens[i] = rtas::LookupToken(tree.blob(), services[i].name).value_or(0);
      }
      rtas_inputs.image = {image.data(), image.size()};
      rtas_inputs.plan = plan.value();
      rtas_inputs.ram_top = client_top;
      rtas_inputs.tokens = tokens;
      rtas_inputs.token_count = static_cast<uint32_t>(services.size());
      (void)lib::fdt::PropertyListContains(tree.blob(), tree.OffsetOf(rtas_node),
                                           "qemu,hypertas-functions", "hcall-drc-fdt");
      have_rtas = true;
    }
  }

  auto console = of::FindConsoleNode(tree.blob());
  of::ClientConfig config;
  config.console_unit = console.is_ok() ? of::FindConsoleUnit(tree.blob()).value() : 0;
  config.timebase_frequency = info.value().timebase_frequency;
  config.rtas = have_rtas ? &rtas_inputs : nullptr;
  config.cas_buffer_size = kMaxFdtSize;
  lib::GuestMemory memory(0, 0);  // Prepare reaches no client memory
  of::ClientInterface client(tree, memory, claims, config);
  (void)client.Prepare(console.is_ok() ? tree.PhandleAt(console.value()) : 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tests::FakeHypervisor::Get().Reset();
  // The tree in guest memory: at least a header's worth of bytes is always there.
  std::vector<uint8_t> blob(lib::Max<size_t>(size, sizeof(fdt_header)));
  if (size > 0) std::memcpy(blob.data(), data, size);
  // tern_main: the console is looked up before anything else. Up to kMaxFdtSize the bytes after
  // the input are guest RAM (zero here); a larger tree's tail is not there, and tern must not
  // read it.
  if (fdt_check_header(blob.data()) == 0) {
    const size_t total = fdt_totalsize(blob.data());
    if (total > blob.size() && total <= kMaxFdtSize) blob.resize(total);
  }
  (void)of::EarlyConsoleUnit(blob.data(), kMaxFdtSize);
  Boot(blob.data());
  return 0;
}

void fuzz::MakeSeeds(Seeds& seeds) {
  for (const char* name : {"of-tree", "cas-initial", "dev-pseries", "drc-tree", "smp-numa",
                           "single-cpu", "boot-disks", "drc-pci-bridge"}) {
    seeds.Add(name, Fixture(name));
  }
}
