// PCI-to-PCI bridges in the device tree, completed for the OS.
//
// QEMU numbers the buses behind the bridges present at boot itself (hw/ppc/spapr_pci.c:
// spapr_phb_pci_enumerate, run as spapr_dt_phb builds each PHB's node: every bridge's primary,
// secondary and subordinate bus registers are set, and the nodes of the devices behind it name
// their bus in `reg`). But a bridge's node gets only what every PCI function gets
// (spapr_dt_pci_device) plus #address-cells, #size-cells and the DRC properties of its slots
// (spapr_dt_pci_bus): SLOF completes it. An OS that probes PCI from the tree sees nothing behind
// such a bridge: Linux on pseries (arch/powerpc/kernel/pci_of_scan.c) takes a node for a bridge
// only with device_type "pci" (of_create_pci_dev), and scans behind it only with `bus-range` and
// `ranges` (of_scan_pci_bridge); devices hot-plugged behind it stay invisible too.
//
// FindIncompleteBridges finds every bridge node (class code 0x0604, a type-1 config header) under
// every PHB, at any depth, that has no device_type yet, and EncodeBridgeProperties gives the
// properties that complete it (the caller, boot/, writes them into the tree):
//   device_type "pci", and `bus-range` <secondary subordinate> as read from the bridge's config
//     space [PCI Bus Binding to IEEE Std 1275-1994, rev 2.1: the properties of a PCI-to-PCI
//     bridge node]
//   `ranges`, empty: a PCI-to-PCI bridge passes bus addresses through unchanged; the bridge's
//     windows are not programmed, so the OS sizes and assigns them (Linux does, as QEMU's
//     /chosen linux,pci-probe-only is 0)
//   #interrupt-cells 1, `interrupt-map-mask` <0x1800 0 0 7> and an `interrupt-map` that swizzles
//     INTx through the bridge [Open Firmware Recommended Practice: Interrupt Mapping 0.9, its
//     PCI-PCI bridge example; PCI-to-PCI Bridge Architecture Specification 1.2, the interrupt
//     binding of devices behind a bridge: INTx pin p of device d is the bridge's pin
//     ((p - 1 + d) mod 4) + 1], so that an interrupt of a device
//     behind it resolves in its parent's interrupt-map (the PHB's, or the bridge's above it)
// A node that already has device_type is left as it is (its firmware or host completed it), and
// the bridges behind it are looked at all the same.
#pragma once

#include "dev/pci.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace dev {

inline constexpr uint32_t kPciPrimaryBus = 0x18;
inline constexpr uint32_t kPciSecondaryBus = 0x19;
inline constexpr uint32_t kPciSubordinateBus = 0x1a;
inline constexpr uint8_t kPciHeaderTypeBridge = 1;
inline constexpr uint32_t kPciClassBridgePci = 0x0604;  // base class 6, subclass 4

// Bridges below bridges deeper than this are reported and left incomplete.
inline constexpr int kMaxBridgeDepth = 8;
// Bridges one scan completes; more are reported and left incomplete.
inline constexpr int kMaxBridges = 64;
inline constexpr size_t kBridgePathMax = 2 * kPciPathMax;

// The interrupt-map: 4 device numbers (modulo 4) x 4 pins, each child unit address (3 cells),
// child pin, parent phandle, parent unit address (3 cells) and parent pin: 9 cells.
inline constexpr size_t kBridgeInterruptMapEntries = 16;
inline constexpr size_t kBridgeInterruptMapBytes = kBridgeInterruptMapEntries * 9 * 4;

// The interrupt-map of the bridge whose config address (phys.hi: bus << 16 | device << 11 |
// function << 8) is `bridge_phys_hi`, whose parent node's phandle is `parent`. `out` must hold
// kBridgeInterruptMapBytes.
lib::Result<void, PciError> EncodeBridgeInterruptMap(uint32_t bridge_phys_hi, uint32_t parent,
                                                     lib::Span<uint8_t> out);

// One bridge node to complete, as read from the tree and the bridge's config space.
struct BridgeNode {
  char path[kBridgePathMax] = {};
  uint32_t phys_hi = 0;         // bus << 16 | device << 11 | function << 8
  uint32_t parent_phandle = 0;  // the node its interrupts resolve in
  uint8_t secondary = 0;
  uint8_t subordinate = 0;
};

struct BridgeScan {
  BridgeNode bridges[kMaxBridges];
  int count = 0;    // bridges to complete
  int skipped = 0;  // bridges reported and left as they were
};

// Finds the incomplete bridge nodes under every PHB of `fdt` (a tree whose nodes all have a
// `phandle`, as of::Tree gives them), reading each bridge's bus numbers through `access`.
// Bridges whose config space cannot be read, whose header is not a bridge's or whose bus numbers
// are not set (secondary above the bridge's own bus, subordinate not below it) are reported on
// the console and skipped, and with them what is behind them. `out` is overwritten.
void FindIncompleteBridges(const void* fdt, const PciConfigAccess& access, BridgeScan& out);

// A property for a node: what dev/ hands its caller to write into the device tree.
struct NodeProperty {
  const char* name = "";
  const void* value = nullptr;
  uint32_t size = 0;
};

// The properties that complete `bridge`, pointing into this object (not copyable).
struct BridgeProperties {
  static constexpr int kCount = 6;
  NodeProperty list[kCount];
  uint8_t bus_range[8] = {};
  uint8_t interrupt_cells[4] = {};
  uint8_t interrupt_map_mask[16] = {};
  uint8_t interrupt_map[kBridgeInterruptMapBytes] = {};

  explicit BridgeProperties(const BridgeNode& bridge);
  BridgeProperties(const BridgeProperties&) = delete;
  BridgeProperties& operator=(const BridgeProperties&) = delete;
};

}  // namespace dev
