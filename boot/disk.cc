#include "boot/disk.h"

#include "block/partitions.h"
#include "dev/pci.h"
#include "dev/scsi.h"
#include "dev/virtio-blk.h"
#include "dev/virtio-scsi.h"
#include "dev/vscsi.h"
#include "lib/be.h"
#include "lib/console.h"
#include "lib/cpu.h"
#include "lib/fdt.h"
#include "lib/format.h"
#include "lib/string.h"

namespace boot {

namespace {

constexpr int kMaxDisks = 8;
constexpr uint64_t kRingBytes = 4096;

constinit dev::PciBus pci_bus;
constinit dev::RtasPciConfig rtas_pci;
constinit dev::VirtioBlk drivers[kMaxDisks];
constinit of::Disk disks[kMaxDisks];
constinit bootmgr::BootDevice boot_devices[kMaxDisks];
constinit int disk_count = 0;
constinit int blk_count = 0;  // virtio-blk drivers started
// The drivers' rings and the partition-table reads: firmware memory, at real addresses the
// devices can DMA to. The drivers reach them through their own GuestMemory: the client's one
// refuses writes into the firmware.
alignas(4096) constinit uint8_t rings[kMaxDisks][kRingBytes];
alignas(4096) constinit uint8_t table_scratch[16 * 1024];
constinit lib::GuestMemory firmware_memory;

// SCSI: spapr-vscsi adapters under /vdevice and virtio-scsi adapters on the PHBs, their LUNs.
constexpr int kMaxAdapters = 4;
constinit dev::Vscsi vscsi[kMaxAdapters];
constinit int vscsi_count = 0;
alignas(4096) constinit uint8_t vscsi_work[kMaxAdapters][dev::kVscsiWorkBytes];
constinit dev::VirtioScsi virtio_scsi[kMaxAdapters];
constinit int virtio_scsi_count = 0;
alignas(4096) constinit uint8_t virtio_scsi_rings[kMaxAdapters][kRingBytes];
constinit dev::ScsiTransport transports[2 * kMaxAdapters];
constinit dev::ScsiDisk scsi_disks[kMaxDisks];
constinit int scsi_disk_count = 0;
constinit dev::ScsiScan scan;
alignas(4096) constinit uint8_t scsi_scratch[4096];

const char* NodePath(const of::Tree& tree, of::Phandle node, char (&buffer)[128]) {
  if (tree.Path(node, buffer, sizeof(buffer)).is_error()) {
    buffer[0] = '?';
    buffer[1] = '\0';
  }
  return buffer;
}

// Records the BARs ScanPhbs assigned in each function's node, so that the OS sees the PCI setup
// tern programmed (IEEE 1275 PCI binding: assigned-addresses).
void PublishAssignedAddresses(of::Tree& tree) {
  for (int i = 0; i < pci_bus.device_count; ++i) {
    const dev::PciDevice& device = pci_bus.devices[i];
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

// /aliases disk, disk1, ...: how GRUB (grub-core/disk/ieee1275/ofdisk.c) finds the disks when the
// model names an IBM machine, and the names `disk:2` style paths use.
void PublishAliases(of::Tree& tree) {
  of::Phandle aliases = tree.FindChild(tree.Root(), "aliases");
  if (aliases == 0) {
    auto added = tree.AddNode(tree.Root(), "aliases", 0);
    if (added.is_error()) return;
    aliases = added.value();
  }
  for (int i = 0; i < disk_count; ++i) {
    char name[8] = "disk";
    if (i > 0) (void)lib::FormatToBuffer(name, sizeof(name), "disk%d", i);
    char path[128];
    NodePath(tree, disks[i].node, path);
    (void)tree.SetProperty(aliases, name, path, lib::StrLength(path) + 1);
  }
}

// /options, the node of the firmware's configuration variables [IEEE 1275 7.4.4], with the two
// a boot loader on a vty console reads (GRUB's ofconsole takes its screen size from them; their
// values are text, as configuration variables are).
void PublishOptions(of::Tree& tree) {
  if (tree.FindChild(tree.Root(), "options") != 0) return;
  auto options = tree.AddNode(tree.Root(), "options", 0);
  if (options.is_error()) return;
  (void)tree.SetProperty(options.value(), "screen-#columns", "80", 3);
  (void)tree.SetProperty(options.value(), "screen-#rows", "24", 3);
}

// The LUNs of one SCSI adapter (node `adapter`): a `disk@<unit>` node each, named as QEMU's boot
// list names it (hw/ppc/spapr.c: spapr_get_fw_dev_path), `device_type "block"`; disks that answer
// become tern's disks, CD-ROMs are listed (booting them is not supported).
void AddScsiUnits(of::Tree& tree, of::Phandle adapter, const char* adapter_path,
                  const dev::ScsiTransport& transport, uint64_t timebase_frequency) {
  dev::ScanScsi(transport, firmware_memory, reinterpret_cast<uintptr_t>(scsi_scratch),
                sizeof(scsi_scratch), timebase_frequency, adapter_path, scan);
  for (int i = 0; i < scan.count; ++i) {
    const dev::ScsiUnit& unit = scan.units[i];
    char name[40] = "disk@";
    if (transport.unit_address == nullptr ||
        !transport.unit_address(transport.adapter, unit.target, unit.lun, name + 5,
                                sizeof(name) - 5)) {
      continue;
    }
    char path[128];
    (void)lib::FormatToBuffer(path, sizeof(path), "%s/%s", adapter_path, name);
    if (unit.device_type == dev::kScsiTypeCdrom) {
      lib::Printf("tern: cdrom %s: %s %s (not booted: tern boots disks only)\n", path, unit.vendor,
                  unit.product);
      continue;
    }
    if (!unit.ready || disk_count >= kMaxDisks || scsi_disk_count >= kMaxDisks) continue;
    dev::ScsiDisk& disk = scsi_disks[scsi_disk_count];
    if (disk.Start(transport, firmware_memory, reinterpret_cast<uintptr_t>(scsi_scratch),
                   sizeof(scsi_scratch), unit.target, unit.lun, timebase_frequency, path)
            .is_error()) {
      continue;  // Start said why
    }
    ++scsi_disk_count;
    of::Phandle node = tree.FindChild(adapter, name);
    if (node == 0) {
      auto added = tree.AddNode(adapter, name, 0);
      if (added.is_error()) continue;
      node = added.value();
    }
    const char block[] = "block";
    (void)tree.SetProperty(node, "device_type", block, sizeof(block));
    disks[disk_count++] = of::Disk{node, &disk.disk()};
    lib::Printf(
        "tern: disk %s: %s %s, %llu blocks of %u bytes (%llu MiB)\n", path, unit.vendor,
        unit.product, static_cast<unsigned long long>(disk.disk().blocks), disk.disk().block_size,
        static_cast<unsigned long long>((disk.disk().blocks * disk.disk().block_size) >> 20));
  }
}

void FindVscsiDisks(of::Tree& tree, uint64_t timebase_frequency) {
  dev::VscsiNode nodes[kMaxAdapters];
  const int found = dev::FindVscsiNodes(tree.blob(), nodes, kMaxAdapters);
  for (int i = 0; i < found && vscsi_count < kMaxAdapters; ++i) {
    dev::Vscsi& adapter = vscsi[vscsi_count];
    if (adapter
            .Start(nodes[i], firmware_memory, reinterpret_cast<uintptr_t>(vscsi_work[vscsi_count]),
                   sizeof(vscsi_work[vscsi_count]), timebase_frequency)
            .is_error()) {
      continue;  // Start said why
    }
    dev::ScsiTransport& transport = transports[vscsi_count + virtio_scsi_count];
    transport = adapter.transport();
    ++vscsi_count;
    const of::Phandle node = tree.FindDevice(nodes[i].path);
    if (node != 0) AddScsiUnits(tree, node, nodes[i].path, transport, timebase_frequency);
  }
}

// tern's disks in device-tree order (FDT offsets grow in that order), the order the boot manager
// falls back to.
void SortDisks(const of::Tree& tree) {
  for (int i = 1; i < disk_count; ++i) {
    for (int j = i; j > 0 && tree.OffsetOf(disks[j].node) < tree.OffsetOf(disks[j - 1].node); --j) {
      const of::Disk swap = disks[j];
      disks[j] = disks[j - 1];
      disks[j - 1] = swap;
    }
  }
}

}  // namespace

lib::Span<const of::Disk> FindDisks(of::Tree& tree, lib::GuestMemory& memory,
                                    uint64_t timebase_frequency) {
  firmware_memory = lib::GuestMemory(0, memory.size());
  auto tokens = dev::FindRtasPciConfig(tree.blob());
  if (tokens.is_error()) {
    lib::Printf("tern: no PCI configuration access (%s): no disks\n",
                dev::PciErrorName(tokens.error()));
    return {};
  }
  rtas_pci = tokens.value();
  dev::ScanPhbs(tree.blob(), rtas_pci.Access(), pci_bus);
  PublishAssignedAddresses(tree);
  for (int i = 0; i < pci_bus.device_count && disk_count < kMaxDisks; ++i) {
    const dev::PciDevice& pci = pci_bus.devices[i];
    if (dev::IsVirtioScsi(pci) && virtio_scsi_count < kMaxAdapters) {
      const of::Phandle node = pci.path[0] != '\0' ? tree.FindDevice(pci.path) : 0;
      dev::VirtioScsi& adapter = virtio_scsi[virtio_scsi_count];
      const uint64_t ring = reinterpret_cast<uintptr_t>(virtio_scsi_rings[virtio_scsi_count]);
      if (node == 0 ||
          adapter.Start(pci, firmware_memory, ring, kRingBytes, timebase_frequency).is_error()) {
        continue;
      }
      dev::ScsiTransport& transport = transports[vscsi_count + virtio_scsi_count];
      transport = adapter.transport();
      ++virtio_scsi_count;
      AddScsiUnits(tree, node, pci.path, transport, timebase_frequency);
      continue;
    }
    if (!dev::IsVirtioBlk(pci)) continue;
    const of::Phandle node = pci.path[0] != '\0' ? tree.FindDevice(pci.path) : 0;
    if (node == 0) {
      lib::Printf("tern: %s: virtio-blk without a device-tree node: not used\n", pci.name);
      continue;
    }
    if (blk_count >= kMaxDisks) continue;
    dev::VirtioBlk& driver = drivers[blk_count];
    const uint64_t ring = reinterpret_cast<uintptr_t>(rings[blk_count]);
    if (driver.Start(pci, firmware_memory, ring, kRingBytes, timebase_frequency).is_error()) {
      continue;  // Start said why
    }
    const char block[] = "block";
    (void)tree.SetProperty(node, "device_type", block, sizeof(block));
    ++blk_count;
    disks[disk_count] = of::Disk{node, &driver.disk()};
    const block::Device& disk = driver.disk();
    lib::Printf("tern: disk %s: virtio-blk, %llu blocks of %u bytes (%llu MiB)\n", pci.path,
                static_cast<unsigned long long>(disk.blocks), disk.block_size,
                static_cast<unsigned long long>((disk.blocks * disk.block_size) >> 20));
    ++disk_count;
  }
  FindVscsiDisks(tree, timebase_frequency);
  SortDisks(tree);
  for (int i = 0; i < disk_count; ++i) boot_devices[i] = {disks[i].node, disks[i].device};
  PublishAliases(tree);
  PublishOptions(tree);
  return lib::Span<const of::Disk>(disks, static_cast<size_t>(disk_count));
}

bool FindPartition(const block::Device& disk, uint32_t number, of::Extent& extent) {
  auto table = block::ReadPartitions(disk, table_scratch);
  if (table.is_error()) return false;
  for (uint32_t i = 0; i < table.value().count; ++i) {
    const block::Partition& partition = table.value().partitions[i];
    if (partition.number == number && partition.valid) {
      extent = of::Extent{partition.start_lba, partition.block_count};
      return true;
    }
  }
  return false;
}

lib::Span<const bootmgr::BootDevice> BootDevices() {
  return lib::Span<const bootmgr::BootDevice>(boot_devices, static_cast<size_t>(disk_count));
}

void QuiesceDisks() {
  for (dev::VirtioBlk& driver : drivers) {
    if (!driver.running()) continue;
    if (auto reset = driver.ResetForOs(); reset.is_error()) {
      lib::Printf("tern: virtio-blk reset for the OS failed: %s\n",
                  dev::VirtioErrorName(reset.error()));
    }
  }
  for (int i = 0; i < virtio_scsi_count; ++i) {
    if (auto reset = virtio_scsi[i].ResetForOs(); reset.is_error()) {
      lib::Printf("tern: virtio-scsi reset for the OS failed: %s\n",
                  dev::VirtioErrorName(reset.error()));
    }
  }
  // Linux's ibmvscsi registers its own CRQ: tern's is freed and its TCEs unmapped.
  for (int i = 0; i < vscsi_count; ++i) {
    if (auto reset = vscsi[i].ResetForOs(); reset.is_error()) {
      lib::Printf("tern: %s: hand-off failed: %s\n", vscsi[i].name(),
                  dev::VscsiErrorName(reset.error()));
    }
  }
}

}  // namespace boot
