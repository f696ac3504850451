#include "boot/os-tree.h"

#include "dev/pci-bridge.h"
#include "lib/be.h"
#include "lib/console.h"
#include "lib/format.h"
#include "lib/string.h"

namespace boot {

namespace {

// Bridges waiting to be completed: found on the unchanged tree, written afterwards.
constinit dev::BridgeScan bridge_scan;

void SetString(of::Tree& tree, of::Phandle node, const char* name, const char* value) {
  (void)tree.SetProperty(node, name, value, lib::StrLength(value) + 1);
}

}  // namespace

void PublishAssignedAddresses(of::Tree& tree, const dev::PciBus& bus) {
  for (int i = 0; i < bus.device_count; ++i) {
    const dev::PciDevice& device = bus.devices[i];
    if (device.path[0] == '\0') continue;
    uint8_t cells[dev::kMaxAssignedAddressesBytes];
    auto size = dev::EncodeAssignedAddresses(device, cells);
    const of::Phandle node = tree.FindDevice(device.path);
    if (size.is_error() || size.value() == 0 || node == 0) continue;
    if (tree.SetProperty(node, "assigned-addresses", cells, size.value()).is_error()) {
      lib::Printf("tern: %s: cannot record assigned-addresses\n", device.path);
    }
  }
}

BridgeCount CompletePciBridges(of::Tree& tree, const dev::PciConfigAccess& access) {
  dev::FindIncompleteBridges(tree.blob(), access, bridge_scan);
  BridgeCount count{0, bridge_scan.skipped};
  for (int i = 0; i < bridge_scan.count; ++i) {
    const dev::BridgeNode& bridge = bridge_scan.bridges[i];
    const dev::BridgeProperties properties(bridge);
    const of::Phandle node = tree.FindDevice(bridge.path);
    bool written = node != 0;
    for (const dev::NodeProperty& property : properties.list) {
      if (!written) break;
      written = tree.SetProperty(node, property.name, property.value, property.size).is_ok();
    }
    if (!written) {
      lib::Printf("tern: pci: %s: the tree cannot take its properties: left incomplete\n",
                  bridge.path);
      ++count.skipped;
      continue;
    }
    ++count.completed;
  }
  return count;
}

of::Phandle PublishDevice(of::Tree& tree, const char* path, const char* unit,
                          const char* device_type) {
  of::Phandle node = tree.FindDevice(path);
  if (node != 0 && unit[0] != '\0') {
    of::Phandle child = tree.FindChild(node, unit);
    if (child == 0) {
      auto added = tree.AddNode(node, unit, 0);
      child = added.is_ok() ? added.value() : 0;
    }
    node = child;
  }
  if (node == 0 ||
      tree.SetProperty(node, "device_type", device_type, lib::StrLength(device_type) + 1)
          .is_error()) {
    lib::Printf("tern: %s/%s: the device tree cannot take the device's node: not used\n", path,
                unit);
    return 0;
  }
  return node;
}

void PublishNetworkProperties(of::Tree& tree, of::Phandle node, const net::Device& nic) {
  const lib::Be32 max_frame(nic.max_frame);
  const lib::Be32 address_bits(48);
  const bool ok = tree.SetProperty(node, "mac-address", nic.mac.bytes, 6).is_ok() &&
                  tree.SetProperty(node, "max-frame-size", &max_frame, 4).is_ok() &&
                  tree.SetProperty(node, "address-bits", &address_bits, 4).is_ok() &&
                  (tree.GetProperty(node, "local-mac-address").is_ok() ||
                   tree.SetProperty(node, "local-mac-address", nic.mac.bytes, 6).is_ok());
  if (!ok) lib::Printf("tern: no room in the device tree for a network card's properties\n");
}

void PublishAliases(of::Tree& tree, lib::Span<const bootmgr::BootDevice> devices) {
  of::Phandle aliases = tree.FindChild(tree.Root(), "aliases");
  if (aliases == 0) {
    auto added = tree.AddNode(tree.Root(), "aliases", 0);
    if (added.is_error()) return;
    aliases = added.value();
  }
  size_t counts[3] = {};  // disk, cdrom, net: as bootmgr::BootKind numbers them
  static constexpr const char* kBases[3] = {"disk", "cdrom", "net"};
  for (const bootmgr::BootDevice& device : devices) {
    const size_t kind = static_cast<size_t>(device.kind);
    const char* base = kBases[kind];
    size_t& count = counts[kind];
    char name[16];
    if (count == 0) {
      (void)lib::FormatToBuffer(name, sizeof(name), "%s", base);
    } else {
      (void)lib::FormatToBuffer(name, sizeof(name), "%s%zu", base, count);
    }
    ++count;
    char path[256];
    auto length = tree.Path(device.node, path, sizeof(path));
    if (length.is_error() || length.value() >= sizeof(path)) continue;
    SetString(tree, aliases, name, path);
  }
}

void PublishOptions(of::Tree& tree) {
  if (tree.FindChild(tree.Root(), "options") != 0) return;
  auto options = tree.AddNode(tree.Root(), "options", 0);
  if (options.is_error()) return;
  // Their values are text, as configuration variables are.
  SetString(tree, options.value(), "screen-#columns", "80");
  SetString(tree, options.value(), "screen-#rows", "24");
}

void PublishBootPath(of::Tree& tree, const bootmgr::LoadedClient& loaded) {
  const of::Phandle chosen = tree.FindDevice("/chosen");
  if (loaded.arguments[0] != '\0') SetString(tree, chosen, "bootargs", loaded.arguments);
  if (!loaded.bootp_response.empty() &&
      tree.SetProperty(chosen, "bootp-response", loaded.bootp_response.data(),
                       static_cast<uint32_t>(loaded.bootp_response.size()))
          .is_error()) {
    lib::Printf("tern: no room in the device tree for /chosen/bootp-response\n");
  }
  char path[256];
  auto length = tree.Path(loaded.device, path, sizeof(path));
  if (length.is_error() || length.value() >= sizeof(path)) return;
  char bootpath[256 + bootmgr::kDeviceArgumentsMax];
  const size_t written =
      loaded.device_arguments[0] == '\0'
          ? lib::FormatToBuffer(bootpath, sizeof(bootpath), "%s", path)
          : lib::FormatToBuffer(bootpath, sizeof(bootpath), "%s:%s", path, loaded.device_arguments);
  if (written >= sizeof(bootpath)) return;
  SetString(tree, chosen, "bootpath", bootpath);
}

}  // namespace boot
