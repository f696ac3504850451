#include "dev/pci-bridge.h"

#include <libfdt.h>

#include "lib/be.h"
#include "lib/console.h"
#include "lib/fdt.h"
#include "lib/format.h"

namespace dev {

namespace {

constexpr uint32_t kConfigAddressMask = 0x00ffff00;  // bus, device and function of a phys.hi
constexpr size_t kRegEntryBytes = 20;                // phys.hi, .mid, .lo, size.hi, .lo
constexpr uint32_t kInterruptMapMask[] = {0x1800, 0, 0, 7};  // device number bits 0-1, the pin

void Report(const char* path, const char* what) {
  lib::Printf("tern: pci: %s: %s: nothing behind it is usable\n", path, what);
}

bool IsBridgeNode(const void* fdt, int node) {
  auto class_code = lib::fdt::Property(fdt, node, "class-code");
  return class_code.is_ok() && class_code.value().size() == 4 &&
         (lib::LoadBe32(class_code.value().data()) >> 8) == kPciClassBridgePci;
}

struct Walk {
  const void* fdt;
  PciDevice probe;  // the PHB's access and BUID; bus, device and function set per bridge
  BridgeScan& out;
};

// Reads the bridge at `node` (child of `parent`) into `bridge`; false when it was reported.
bool ReadBridge(Walk& walk, int node, int parent, BridgeNode& bridge) {
  auto reg = lib::fdt::Property(walk.fdt, node, "reg");
  if (reg.is_error() || reg.value().size() < kRegEntryBytes) {
    Report(bridge.path, "no usable reg");
    return false;
  }
  bridge.phys_hi = lib::LoadBe32(reg.value().data()) & kConfigAddressMask;
  bridge.parent_phandle = fdt_get_phandle(walk.fdt, parent);
  PciDevice& config = walk.probe;
  config.bus = static_cast<uint8_t>(bridge.phys_hi >> 16);
  config.device = static_cast<uint8_t>((bridge.phys_hi >> 11) & 0x1f);
  config.function = static_cast<uint8_t>((bridge.phys_hi >> 8) & 0x7);
  auto header = config.ReadConfig(kPciHeaderType, 1);
  auto secondary = config.ReadConfig(kPciSecondaryBus, 1);
  auto subordinate = config.ReadConfig(kPciSubordinateBus, 1);
  if (header.is_error() || secondary.is_error() || subordinate.is_error()) {
    Report(bridge.path, "its config space cannot be read");
    return false;
  }
  char reason[96];
  const uint32_t type = header.value() & ~uint32_t{kPciHeaderMultifunction};
  if (type != kPciHeaderTypeBridge) {
    lib::FormatToBuffer(reason, sizeof(reason), "a bridge's class code, but header type %u", type);
    Report(bridge.path, reason);
    return false;
  }
  if (secondary.value() <= config.bus || subordinate.value() < secondary.value()) {
    lib::FormatToBuffer(reason, sizeof(reason),
                        "bus numbers not set (bus %u, secondary %u, subordinate %u)", config.bus,
                        secondary.value(), subordinate.value());
    Report(bridge.path, reason);
    return false;
  }
  bridge.secondary = static_cast<uint8_t>(secondary.value());
  bridge.subordinate = static_cast<uint8_t>(subordinate.value());
  return true;
}

void FindUnder(Walk& walk, int parent, int depth) {
  int child = 0;
  fdt_for_each_subnode(child, walk.fdt, parent) {
    if (!IsBridgeNode(walk.fdt, child)) continue;
    BridgeNode bridge;
    if (fdt_get_path(walk.fdt, child, bridge.path, sizeof(bridge.path)) != 0) {
      lib::Printf("tern: pci: a bridge's path is longer than %zu bytes: left incomplete\n",
                  sizeof(bridge.path) - 1);
      ++walk.out.skipped;
      continue;
    }
    if (depth == kMaxBridgeDepth) {
      Report(bridge.path, "bridges nested too deep");
      ++walk.out.skipped;
      continue;
    }
    if (lib::fdt::HasProperty(walk.fdt, child, "device_type")) {
      FindUnder(walk, child, depth + 1);  // completed already; bridges below may not be
      continue;
    }
    if (walk.out.count == kMaxBridges) {
      Report(bridge.path, "more bridges than tern completes");
      ++walk.out.skipped;
      continue;
    }
    if (!ReadBridge(walk, child, parent, bridge)) {
      ++walk.out.skipped;
      continue;
    }
    walk.out.bridges[walk.out.count++] = bridge;
    FindUnder(walk, child, depth + 1);
  }
}

}  // namespace

lib::Result<void, PciError> EncodeBridgeInterruptMap(uint32_t bridge_phys_hi, uint32_t parent,
                                                     lib::Span<uint8_t> out) {
  if (out.size() < kBridgeInterruptMapBytes) return lib::Err(PciError::kBufferTooSmall);
  uint8_t* cell = out.data();
  for (uint32_t device = 0; device < 4; ++device) {
    for (uint32_t pin = 1; pin <= 4; ++pin) {
      const uint32_t cells[9] = {device << 11,
                                 0,
                                 0,
                                 pin,
                                 parent,
                                 bridge_phys_hi & kConfigAddressMask,
                                 0,
                                 0,
                                 (pin - 1 + device) % 4 + 1};
      for (uint32_t value : cells) {
        lib::StoreBe32(cell, value);
        cell += 4;
      }
    }
  }
  return lib::Ok<PciError>();
}

void FindIncompleteBridges(const void* fdt, const PciConfigAccess& access, BridgeScan& out) {
  out.count = 0;
  out.skipped = 0;
  Walk walk{fdt, PciDevice{}, out};
  walk.probe.access = access;
  const int root = fdt_path_offset(fdt, "/");
  int phb = 0;
  fdt_for_each_subnode(phb, fdt, root) {
    if (!IsPhbNode(fdt, phb)) continue;
    auto parsed = ParsePhb(fdt, phb);
    if (parsed.is_error()) continue;  // the PCI scan reports malformed PHB nodes
    walk.probe.buid = parsed.value().buid;
    walk.probe.extended_config = parsed.value().extended_config;
    FindUnder(walk, phb, 0);
  }
}

BridgeProperties::BridgeProperties(const BridgeNode& bridge) {
  lib::StoreBe32(bus_range, bridge.secondary);
  lib::StoreBe32(bus_range + 4, bridge.subordinate);
  lib::StoreBe32(interrupt_cells, 1);
  for (size_t i = 0; i < sizeof(kInterruptMapMask) / 4; ++i) {
    lib::StoreBe32(interrupt_map_mask + 4 * i, kInterruptMapMask[i]);
  }
  (void)EncodeBridgeInterruptMap(bridge.phys_hi, bridge.parent_phandle, interrupt_map);
  static constexpr char kPci[] = "pci";
  list[0] = {"device_type", kPci, sizeof(kPci)};
  list[1] = {"bus-range", bus_range, sizeof(bus_range)};
  list[2] = {"ranges", kPci, 0};
  list[3] = {"#interrupt-cells", interrupt_cells, sizeof(interrupt_cells)};
  list[4] = {"interrupt-map-mask", interrupt_map_mask, sizeof(interrupt_map_mask)};
  list[5] = {"interrupt-map", interrupt_map, sizeof(interrupt_map)};
}

}  // namespace dev
