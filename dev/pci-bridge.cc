#include "dev/pci-bridge.h"

#include <libfdt.h>

#include "lib/be.h"
#include "lib/console.h"
#include "lib/format.h"

namespace dev {

namespace {

constexpr uint32_t kConfigAddressMask = 0x00ffff00;  // bus, device and function of a phys.hi
constexpr size_t kRegEntryBytes = 20;                // phys.hi, .mid, .lo, size.hi, .lo
constexpr uint32_t kInterruptMapMask[] = {0x1800, 0, 0, 7};  // device number bits 0-1, the pin

void Report(const of::Tree& tree, of::Phandle node, const char* what) {
  char path[2 * kPciPathMax];
  auto length = tree.Path(node, path, sizeof(path));
  if (length.is_error()) path[0] = '\0';
  if (length.is_ok() && length.value() >= sizeof(path)) path[sizeof(path) - 1] = '\0';
  lib::Printf("tern: pci: %s: %s: nothing behind it is usable\n", path, what);
}

bool IsBridgeNode(const of::Tree& tree, of::Phandle node) {
  auto class_code = tree.GetProperty(node, "class-code");
  return class_code.is_ok() && class_code.value().size() == 4 &&
         (lib::LoadBe32(class_code.value().data()) >> 8) == kPciClassBridgePci;
}

struct Walk {
  of::Tree& tree;
  PciDevice probe;  // the PHB's access and BUID; bus, device and function set per bridge
  BridgeCount count;
};

lib::Result<void, lib::fdt::FdtError> SetProperties(of::Tree& tree, of::Phandle node,
                                                    uint32_t phys_hi, of::Phandle parent,
                                                    uint8_t secondary, uint8_t subordinate) {
  const char pci[] = "pci";
  uint8_t bus_range[8];
  lib::StoreBe32(bus_range, secondary);
  lib::StoreBe32(bus_range + 4, subordinate);
  uint8_t one[4];
  lib::StoreBe32(one, 1);
  uint8_t mask[sizeof(kInterruptMapMask)];
  for (size_t i = 0; i < sizeof(kInterruptMapMask) / 4; ++i) {
    lib::StoreBe32(mask + 4 * i, kInterruptMapMask[i]);
  }
  uint8_t map[kBridgeInterruptMapBytes];
  (void)EncodeBridgeInterruptMap(phys_hi, parent, lib::Span<uint8_t>(map, sizeof(map)));
  TERN_TRY(tree.SetProperty(node, "device_type", pci, sizeof(pci)));
  TERN_TRY(tree.SetProperty(node, "bus-range", bus_range, sizeof(bus_range)));
  TERN_TRY(tree.SetProperty(node, "ranges", pci, 0));
  TERN_TRY(tree.SetProperty(node, "#interrupt-cells", one, sizeof(one)));
  TERN_TRY(tree.SetProperty(node, "interrupt-map-mask", mask, sizeof(mask)));
  return tree.SetProperty(node, "interrupt-map", map, sizeof(map));
}

// Completes the bridge `node` under `parent`; false when it was reported and skipped.
bool CompleteBridge(Walk& walk, of::Phandle node, of::Phandle parent) {
  auto reg = walk.tree.GetProperty(node, "reg");
  if (reg.is_error() || reg.value().size() < kRegEntryBytes) {
    Report(walk.tree, node, "no usable reg");
    return false;
  }
  const uint32_t phys_hi = lib::LoadBe32(reg.value().data()) & kConfigAddressMask;
  PciDevice& bridge = walk.probe;
  bridge.bus = static_cast<uint8_t>(phys_hi >> 16);
  bridge.device = static_cast<uint8_t>((phys_hi >> 11) & 0x1f);
  bridge.function = static_cast<uint8_t>((phys_hi >> 8) & 0x7);
  auto header = bridge.ReadConfig(kPciHeaderType, 1);
  auto secondary = bridge.ReadConfig(kPciSecondaryBus, 1);
  auto subordinate = bridge.ReadConfig(kPciSubordinateBus, 1);
  if (header.is_error() || secondary.is_error() || subordinate.is_error()) {
    Report(walk.tree, node, "its config space cannot be read");
    return false;
  }
  char reason[96];
  const uint32_t type = header.value() & ~uint32_t{kPciHeaderMultifunction};
  if (type != kPciHeaderTypeBridge) {
    lib::FormatToBuffer(reason, sizeof(reason), "a bridge's class code, but header type %u", type);
    Report(walk.tree, node, reason);
    return false;
  }
  if (secondary.value() <= bridge.bus || subordinate.value() < secondary.value()) {
    lib::FormatToBuffer(reason, sizeof(reason),
                        "bus numbers not set (bus %u, secondary %u, subordinate %u)", bridge.bus,
                        secondary.value(), subordinate.value());
    Report(walk.tree, node, reason);
    return false;
  }
  if (auto set =
          SetProperties(walk.tree, node, phys_hi, parent, static_cast<uint8_t>(secondary.value()),
                        static_cast<uint8_t>(subordinate.value()));
      set.is_error()) {
    Report(walk.tree, node, lib::fdt::FdtErrorName(set.error()));
    return false;
  }
  return true;
}

void CompleteUnder(Walk& walk, of::Phandle parent, int depth) {
  for (of::Phandle child = walk.tree.Child(parent); child != 0; child = walk.tree.Peer(child)) {
    if (!IsBridgeNode(walk.tree, child)) continue;
    if (depth == kMaxBridgeDepth) {
      Report(walk.tree, child, "bridges nested too deep");
      ++walk.count.skipped;
      continue;
    }
    if (walk.tree.GetProperty(child, "device_type").is_ok()) {
      CompleteUnder(walk, child, depth + 1);  // completed already; bridges below may not be
      continue;
    }
    if (!CompleteBridge(walk, child, parent)) {
      ++walk.count.skipped;
      continue;
    }
    ++walk.count.completed;
    CompleteUnder(walk, child, depth + 1);
  }
}

}  // namespace

lib::Result<void, PciError> EncodeBridgeInterruptMap(uint32_t bridge_phys_hi, of::Phandle parent,
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

BridgeCount CompleteBridgeNodes(of::Tree& tree, const PciConfigAccess& access) {
  Walk walk{tree, PciDevice{}, BridgeCount{}};
  walk.probe.access = access;
  for (of::Phandle phb = tree.Child(tree.Root()); phb != 0; phb = tree.Peer(phb)) {
    const int offset = tree.OffsetOf(phb);
    if (offset < 0 || !IsPhbNode(tree.blob(), offset)) continue;
    auto parsed = ParsePhb(tree.blob(), offset);
    if (parsed.is_error()) continue;  // the PCI scan reports malformed PHB nodes
    walk.probe.buid = parsed.value().buid;
    walk.probe.extended_config = parsed.value().extended_config;
    CompleteUnder(walk, phb, 0);
  }
  return walk.count;
}

}  // namespace dev
