#include "boot/devices.h"

#include "boot/os-tree.h"
#include "dev/driver.h"
#include "dev/pci.h"
#include "dev/probe.h"
#include "lib/console.h"
#include "lib/fdt.h"
#include "lib/format.h"
#include "lib/string.h"

namespace boot {

namespace {

constexpr size_t kPathMax = 128;

// A device a driver reported, kept until the probe ends (the tree must not change while the
// drivers walk it).
struct Found {
  char path[kPathMax] = {};
  char unit[48] = {};
  const char* device_type = nullptr;
  const void* device = nullptr;
  const block::Device* block = nullptr;
  block::Media media = block::Media::kDisk;
  const net::Device* nic = nullptr;  // a network card (block null)
  const char* description = nullptr;
};

constinit dev::PciBus pci_bus;
constinit dev::RtasPciConfig rtas_pci;
constinit Found found[kMaxDevices];
constinit int found_count = 0;
constinit of::Binding bindings[kMaxDevices];
constinit bootmgr::BootDevice boot_devices[kMaxDevices];
constinit int device_count = 0;
// QEMU's boot list, copied out of the tree before the probe.
constinit char boot_list[1024];
// The memory the drivers reach: all of guest RAM, firmware included (kept for as long as the
// drivers run).
constinit lib::GuestMemory firmware_memory;
// Memory the drivers' devices DMA to: rings, CRQ and IU pages, SCSI data-in buffers, NIC
// receive and transmit buffers. Firmware memory, at real addresses; the client's GuestMemory
// refuses writes to it.
alignas(4096) constinit uint8_t dma_memory[256 * 1024];

bool AddFound(void*, const dev::FoundDevice& device) {
  if (found_count == kMaxDevices) {
    lib::Printf("tern: more than %d disks, CD-ROMs and network cards: %s/%s is not used\n",
                kMaxDevices, device.path, device.unit);
    return false;
  }
  Found& entry = found[found_count++];
  (void)lib::FormatToBuffer(entry.path, sizeof(entry.path), "%s", device.path);
  (void)lib::FormatToBuffer(entry.unit, sizeof(entry.unit), "%s", device.unit);
  entry.device_type = device.device_type;
  entry.device = device.net != nullptr ? static_cast<const void*>(device.net) : device.block;
  entry.block = device.block;
  entry.media = device.media;
  entry.nic = device.net;
  entry.description = device.description;
  return true;
}

const char* KindName(bootmgr::BootKind kind) {
  switch (kind) {
    case bootmgr::BootKind::kDisk: return "disk";
    case bootmgr::BootKind::kCdrom: return "cdrom";
    case bootmgr::BootKind::kNetwork: return "net";
  }
  return "device";
}

bootmgr::BootKind KindOf(const Found& entry) {
  if (entry.nic != nullptr) return bootmgr::BootKind::kNetwork;
  return entry.media == block::Media::kCdrom ? bootmgr::BootKind::kCdrom : bootmgr::BootKind::kDisk;
}

// Whether QEMU's boot list names `path` or a node below it ("<path>", "<path>/...",
// "<path>:...").
bool InBootList(void*, const char* path) {
  const lib::StringView list(boot_list);
  const size_t length = lib::StrLength(path);
  for (size_t at = 0; at < list.size();) {
    size_t end = list.Find(' ', at);
    const lib::StringView entry = list.Substr(at, end - at);
    if (entry.StartsWith(lib::StringView(path, length)) &&
        (entry.size() == length || entry[length] == '/' || entry[length] == ':')) {
      return true;
    }
    at = end + 1;
  }
  return false;
}

void CopyBootList(const of::Tree& tree) {
  boot_list[0] = '\0';
  const int chosen = tree.OffsetOf(tree.FindDevice("/chosen"));
  if (chosen < 0) return;
  auto list = lib::fdt::PropertyString(tree.blob(), chosen, "qemu,boot-list");
  if (list.is_error()) return;
  (void)lib::FormatToBuffer(boot_list, sizeof(boot_list), "%.*s",
                            static_cast<int>(list.value().size()), list.value().data());
}

// Publishes what the probe found, in device-tree order (FDT offsets grow in that order), the
// order the boot manager falls back to.
void PublishFound(of::Tree& tree) {
  device_count = 0;
  for (int i = 0; i < found_count; ++i) {
    const Found& entry = found[i];
    const of::Phandle node = PublishDevice(tree, entry.path, entry.unit, entry.device_type);
    if (node == 0) continue;
    const bootmgr::BootKind kind = KindOf(entry);
    lib::Printf("tern: %s %s%s%s: %s\n", KindName(kind), entry.path,
                entry.unit[0] != '\0' ? "/" : "", entry.unit, entry.description);
    if (entry.nic != nullptr) PublishNetworkProperties(tree, node, *entry.nic);
    bindings[device_count] = {node, of::PackageForType(entry.device_type), entry.device};
    boot_devices[device_count] = {node, entry.block, kind, entry.nic};
    ++device_count;
  }
  for (int i = 1; i < device_count; ++i) {
    for (int j = i;
         j > 0 && tree.OffsetOf(boot_devices[j].node) < tree.OffsetOf(boot_devices[j - 1].node);
         --j) {
      const of::Binding binding = bindings[j];
      bindings[j] = bindings[j - 1];
      bindings[j - 1] = binding;
      const bootmgr::BootDevice device = boot_devices[j];
      boot_devices[j] = boot_devices[j - 1];
      boot_devices[j - 1] = device;
    }
  }
}

}  // namespace

void StartDevices(of::Tree& tree, lib::GuestMemory& memory, uint64_t timebase_frequency) {
  auto tokens = dev::FindRtasPciConfig(tree.blob());
  if (tokens.is_ok()) {
    rtas_pci = tokens.value();
    dev::ScanPhbs(tree.blob(), rtas_pci.Access(), pci_bus);
    PublishAssignedAddresses(tree, pci_bus);
  } else {
    lib::Printf("tern: no PCI configuration access (%s): no PCI devices\n",
                dev::PciErrorName(tokens.error()));
  }
  CopyBootList(tree);
  firmware_memory = lib::GuestMemory(0, memory.size());
  static constinit dev::DmaPool dma;
  dma = dev::DmaPool(reinterpret_cast<uintptr_t>(dma_memory), sizeof(dma_memory));
  dev::ProbeEnv env{firmware_memory, timebase_frequency, dma, {AddFound, nullptr}};
  found_count = 0;
  (void)dev::ProbeAll(dev::Drivers(), tree.blob(), pci_bus, env, {InBootList, nullptr});
  PublishFound(tree);
  PublishAliases(tree, BootDevices());
  PublishOptions(tree);
}

lib::Span<const of::Binding> DeviceBindings() {
  return lib::Span<const of::Binding>(bindings, static_cast<size_t>(device_count));
}

lib::Span<const bootmgr::BootDevice> BootDevices() {
  return lib::Span<const bootmgr::BootDevice>(boot_devices, static_cast<size_t>(device_count));
}

void QuiesceDevices() {
  dev::QuiesceAll(dev::Drivers());
}

}  // namespace boot
