#include "boot/disk.h"

#include "bootmgr/boot-order.h"
#include "bootmgr/elf.h"
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
constinit int disk_count = 0;
constinit int blk_count = 0;  // virtio-blk drivers started
// The drivers' rings and the partition-table reads: firmware memory, at real addresses the
// devices can DMA to. The drivers reach them through their own GuestMemory: the client's one
// refuses writes into the firmware.
alignas(4096) constinit uint8_t rings[kMaxDisks][kRingBytes];
alignas(4096) constinit uint8_t table_scratch[64 * 1024];
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

namespace {

// Reads blocks [first, first + count) of `disk` to real address `address`.
bool ReadExtent(const block::Device& disk, uint64_t first, uint64_t count, uint64_t address,
                const char* path) {
  // A few MiB at a time, so a failure names where it happened.
  const uint64_t chunk = (4u << 20) / disk.block_size;
  for (uint64_t done = 0; done < count; done += chunk) {
    const uint32_t n = static_cast<uint32_t>(lib::Min(chunk, count - done));
    if (auto read = disk.Read(first + done, n, address + done * disk.block_size); read.is_error()) {
      lib::Printf("tern: %s: cannot boot: reading block %llu failed: %s\n", path,
                  static_cast<unsigned long long>(first + done), block::IoErrorName(read.error()));
      return false;
    }
  }
  return true;
}

// Errors of PlanElfLoad that may only mean that more of the partition must be read.
bool NeedsMoreOfTheImage(bootmgr::ElfError error) {
  return error == bootmgr::ElfError::kTruncated || error == bootmgr::ElfError::kBadProgramHeaders ||
         error == bootmgr::ElfError::kSegmentOutsideImage ||
         error == bootmgr::ElfError::kEntryNotLoaded;
}

// Loads the ELF image at the start of `partition` of `disk` (at most kLoaderStagingBytes of it):
// reads it into the staging area, plans, claims and copies its segments.
bool LoadPartition(of::ClientInterface& client, const block::Device& disk,
                   const block::Partition& partition, const of::MachineInfo& info,
                   uint64_t firmware_end, const char* path, LoadedClient& loaded) {
  const uint64_t limit = lib::Min<uint64_t>(info.rma_bytes, lib::GiB(2));
  if (LoaderStaging(info.rma_bytes).size == 0) {
    lib::Printf("tern: %s: cannot boot: %llu MiB of real-mode memory is too little\n", path,
                static_cast<unsigned long long>(limit >> 20));
    return false;
  }
  const uint64_t staging = LoaderStaging(info.rma_bytes).start;
  const uint64_t image_bytes =
      lib::Min<uint64_t>(kLoaderStagingBytes, partition.block_count * uint64_t{disk.block_size});
  of::ClaimMap& claims = client.claims();
  if (claims.Claim(staging, image_bytes, 0).is_error()) {
    lib::Printf("tern: %s: cannot boot: the staging area at 0x%llx is in use\n", path,
                static_cast<unsigned long long>(staging));
    return false;
  }
  const bootmgr::AddressRange forbidden[] = {{0, firmware_end}, {staging, image_bytes}};
  const uint64_t block_size = disk.block_size;
  uint64_t have = 0;
  uint64_t want = lib::Min<uint64_t>(64 * 1024, image_bytes);
  lib::Result<bootmgr::LoadPlan, bootmgr::ElfError> plan = lib::Err(bootmgr::ElfError::kTruncated);
  while (true) {
    const uint64_t blocks_have = have / block_size;
    const uint64_t blocks_want = (want + block_size - 1) / block_size;
    if (!ReadExtent(disk, partition.start_lba + blocks_have, blocks_want - blocks_have,
                    staging + blocks_have * block_size, path)) {
      (void)claims.Release(staging, image_bytes);
      return false;
    }
    have = lib::Min(blocks_want * block_size, image_bytes);
    const lib::Span<const uint8_t> image(reinterpret_cast<const uint8_t*>(staging), have);
    plan = bootmgr::PlanElfLoad(image, limit, forbidden);
    if (plan.is_ok() || !NeedsMoreOfTheImage(plan.error()) || have >= image_bytes) break;
    want = lib::Min(have * 4, image_bytes);
  }
  if (plan.is_error()) {
    lib::Printf("tern: %s: cannot boot partition %u: %s\n", path, partition.number,
                bootmgr::ElfErrorName(plan.error()));
    (void)claims.Release(staging, image_bytes);
    return false;
  }
  const bootmgr::LoadPlan& p = plan.value();
  uint32_t claimed = 0;
  for (; claimed < p.segment_count; ++claimed) {
    const bootmgr::LoadSegment& s = p.segments[claimed];
    if (claims.Claim(s.paddr, s.memsz, 0).is_error()) break;
  }
  bool ok = claimed == p.segment_count;
  if (!ok) {
    lib::Printf("tern: %s: cannot boot: segment %u at 0x%llx overlaps memory in use\n", path,
                claimed, static_cast<unsigned long long>(p.segments[claimed].paddr));
  } else {
    const lib::Span<const uint8_t> image(reinterpret_cast<const uint8_t*>(staging), have);
    if (auto copied = bootmgr::LoadElfSegments(p, image, client.memory()); copied.is_error()) {
      lib::Printf("tern: %s: cannot boot: %s\n", path, bootmgr::ElfErrorName(copied.error()));
      ok = false;
    }
  }
  (void)claims.Release(staging, image_bytes);
  if (!ok) {
    for (uint32_t i = 0; i < claimed; ++i) {
      (void)claims.Release(p.segments[i].paddr, p.segments[i].memsz);
    }
    return false;
  }
  for (uint32_t i = 0; i < p.segment_count; ++i) {
    lib::SyncInstructions(p.segments[i].paddr, p.segments[i].memsz);
  }
  // The client learns what is free from /memory@0 available (GRUB's heap comes from there).
  (void)client.UpdateAvailable();
  loaded.mode32 = !p.is_64bit;
  loaded.entry = p.entry_paddr;
  // A 64-bit big-endian ELFv1 image's entry is a function descriptor: its first doubleword is the
  // code address.
  if (p.is_64bit && !p.is_little_endian && (p.flags & 3) != 2) {
    uint8_t descriptor[8];
    if (client.memory().Read(p.entry_paddr, descriptor, 8).is_error()) return false;
    loaded.entry = lib::LoadBe64(descriptor);
  }
  lib::Printf("tern: booting %s partition %u: ELF%d %s-endian, %u segments, entry 0x%llx\n", path,
              partition.number, p.is_64bit ? 64 : 32, p.is_little_endian ? "little" : "big",
              p.segment_count, static_cast<unsigned long long>(loaded.entry));
  return true;
}

// The property `name` of /chosen as a string without its NUL; empty when absent.
lib::StringView ChosenString(const of::Tree& tree, const char* name) {
  const int chosen = tree.OffsetOf(tree.FindDevice("/chosen"));
  if (chosen < 0) return lib::StringView();
  return lib::fdt::PropertyString(tree.blob(), chosen, name).value_or(lib::StringView());
}

}  // namespace

of::AddressRange LoaderStaging(uint64_t rma_bytes) {
  const uint64_t limit = lib::Min<uint64_t>(rma_bytes, lib::GiB(2));
  if (limit < (64u << 20)) return of::AddressRange{};
  return of::AddressRange{(limit - (40u << 20)) & ~uint64_t{0xffff}, kLoaderStagingBytes};
}

bool LoadFromDisks(of::Tree& tree, of::ClientInterface& client, const of::MachineInfo& info,
                   uint64_t firmware_end, LoadedClient& loaded) {
  of::Phandle nodes[kMaxDisks];
  for (int i = 0; i < disk_count; ++i) nodes[i] = disks[i].node;
  // The views into the tree are used before anything below changes the tree (which may move it).
  const bootmgr::BootOrder order = bootmgr::PlanBootOrder(
      tree, ChosenString(tree, "qemu,boot-list"), ChosenString(tree, "qemu,boot-device"),
      lib::Span<const of::Phandle>(nodes, static_cast<size_t>(disk_count)));
  for (size_t i = 0; i < order.unknown_count; ++i) {
    lib::Printf("tern: boot list entry %.*s: not a disk tern can read\n",
                static_cast<int>(order.unknown[i].size()), order.unknown[i].data());
  }
  for (size_t i = 0; i < order.count; ++i) {
    char path[128];
    NodePath(tree, order.candidates[i], path);
    const block::Device* disk = client.DeviceAt(order.candidates[i]);
    if (disk == nullptr) continue;
    block::IoError io = block::IoError::kDevice;
    auto table = block::ReadPartitions(*disk, table_scratch, &io);
    if (table.is_error()) {
      lib::Printf(
          "tern: %s: cannot boot: %s%s%s\n", path, block::PartitionErrorName(table.error()),
          table.error() == block::PartitionError::kReadFailed ? ": " : "",
          table.error() == block::PartitionError::kReadFailed ? block::IoErrorName(io) : "");
      continue;
    }
    auto prep = block::FindPrepPartition(table.value());
    if (prep.is_error()) {
      lib::Printf("tern: %s: cannot boot: %s\n", path, block::PartitionErrorName(prep.error()));
      continue;
    }
    if (!prep.value().active) {
      lib::Printf("tern: %s: PReP partition %u is not marked active; booting it all the same\n",
                  path, prep.value().number);
    }
    if (!LoadPartition(client, *disk, prep.value(), info, firmware_end, path, loaded)) continue;
    const of::Phandle chosen = tree.FindDevice("/chosen");
    (void)tree.SetProperty(chosen, "bootpath", path, lib::StrLength(path) + 1);
    return true;
  }
  if (order.strict && order.count == 0) {
    lib::Printf("tern: the boot list allows no disk tern can read\n");
  }
  return false;
}

}  // namespace boot
