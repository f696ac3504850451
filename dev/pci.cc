#include "dev/pci.h"

#include <libfdt.h>

#include "lib/be.h"
#include "lib/console.h"
#include "lib/fdt.h"
#include "lib/format.h"
#include "lib/string.h"
#include "rtas/host-call.h"

namespace dev {

const char* PciErrorName(PciError error) {
  switch (error) {
    case PciError::kNoRtasService: return "no ibm,read-pci-config / ibm,write-pci-config in /rtas";
    case PciError::kConfigAccess: return "config-space access refused";
    case PciError::kBadAccess: return "invalid config-space access";
    case PciError::kBadPhbNode: return "malformed PHB node";
    case PciError::kNoMemoryWindow: return "PHB without a 32-bit memory window";
    case PciError::kBufferTooSmall: return "buffer too small";
  }
  return "PCI error";
}

namespace {

// ---------------------------------------------------------------------------------------------
// Config space through RTAS.

lib::Result<uint32_t, PciError> RtasRead(void* context, uint64_t buid, uint32_t config_address,
                                         uint32_t size) {
  const auto* tokens = static_cast<const RtasPciConfig*>(context);
  const uint32_t args[4] = {config_address, static_cast<uint32_t>(buid >> 32),
                            static_cast<uint32_t>(buid), size};
  uint32_t rets[1] = {};
  auto called = rtas::CallHost(tokens->read_token, args, rets);
  if (called.is_error() || called.value().status != rtas::RtasStatus::kSuccess) {
    return lib::Err(PciError::kConfigAccess);
  }
  return rets[0];
}

lib::Result<void, PciError> RtasWrite(void* context, uint64_t buid, uint32_t config_address,
                                      uint32_t size, uint32_t value) {
  const auto* tokens = static_cast<const RtasPciConfig*>(context);
  const uint32_t args[5] = {config_address, static_cast<uint32_t>(buid >> 32),
                            static_cast<uint32_t>(buid), size, value};
  auto called = rtas::CallHost(tokens->write_token, args, lib::Span<uint32_t>());
  if (called.is_error() || called.value().status != rtas::RtasStatus::kSuccess) {
    return lib::Err(PciError::kConfigAccess);
  }
  return lib::Ok<PciError>();
}

bool ValidAccess(uint32_t reg, uint32_t size, bool extended_config) {
  if (size != 1 && size != 2 && size != 4) return false;
  const uint32_t limit = extended_config ? kPciExtendedConfigSize : kPciConfigSize;
  return reg % size == 0 && reg < limit;
}

}  // namespace

PciConfigAccess RtasPciConfig::Access() {
  return PciConfigAccess{RtasRead, RtasWrite, this};
}

lib::Result<RtasPciConfig, PciError> FindRtasPciConfig(const void* fdt) {
  auto read = rtas::LookupToken(fdt, "ibm,read-pci-config");
  auto write = rtas::LookupToken(fdt, "ibm,write-pci-config");
  if (read.is_error() || write.is_error()) return lib::Err(PciError::kNoRtasService);
  RtasPciConfig config;
  config.read_token = read.value();
  config.write_token = write.value();
  return config;
}

lib::Result<uint32_t, PciError> PciDevice::ReadConfig(uint32_t reg, uint32_t size) const {
  if (!ValidAccess(reg, size, extended_config)) return lib::Err(PciError::kBadAccess);
  if (access.read == nullptr) return lib::Err(PciError::kConfigAccess);
  auto value =
      access.read(access.context, buid, PciConfigAddress(bus, device, function, reg), size);
  if (value.is_error()) return value;
  // Bits beyond the access are not the register's, whatever the host left there.
  return size == 4 ? value.value() : value.value() & ((uint32_t{1} << (8 * size)) - 1);
}

lib::Result<void, PciError> PciDevice::WriteConfig(uint32_t reg, uint32_t size,
                                                   uint32_t value) const {
  if (!ValidAccess(reg, size, extended_config)) return lib::Err(PciError::kBadAccess);
  if (access.write == nullptr) return lib::Err(PciError::kConfigAccess);
  return access.write(access.context, buid, PciConfigAddress(bus, device, function, reg), size,
                      value);
}

// ---------------------------------------------------------------------------------------------
// The PHB nodes.

namespace {

constexpr uint32_t kPciAddressCells = 3;  // phys.hi, phys.mid, phys.lo [PCI Bus Binding]
constexpr uint32_t kSpaceShift = 24;
constexpr uint32_t kSpaceMask = 0x3;
constexpr uint32_t kSpaceIo = 1;
constexpr uint32_t kSpaceMem32 = 2;
constexpr uint32_t kSpaceMem64 = 3;
constexpr uint32_t kPhysNonRelocatable = 0x80000000;
constexpr uint32_t kPhysPrefetchable = 0x40000000;
constexpr uint64_t k4GiB = uint64_t{1} << 32;
// Bus address 0 reads as "not assigned" to some OSes; no BAR is placed there.
constexpr uint64_t kLowestBusAddress = 0x1000;

void NodePath(const void* fdt, int node, char (&path)[kPciPathMax]) {
  if (fdt_get_path(fdt, node, path, sizeof(path)) != 0) path[0] = '\0';
}

lib::Result<void, PciError> AddWindow(PciPhb& phb, uint32_t space, uint64_t pci_base,
                                      uint64_t cpu_base, uint64_t size) {
  if (size == 0 || pci_base + size < pci_base || cpu_base + size < cpu_base) {
    return lib::Err(PciError::kBadPhbNode);
  }
  PciWindow* window = nullptr;
  switch (space) {
    case kSpaceIo:
      if (pci_base + size > k4GiB) return lib::Err(PciError::kBadPhbNode);
      window = &phb.io;
      break;
    case kSpaceMem32:
      if (pci_base + size > k4GiB) return lib::Err(PciError::kBadPhbNode);
      window = &phb.mem32;
      break;
    case kSpaceMem64: window = &phb.mem64; break;
    default: return lib::Ok<PciError>();  // config space: not a window
  }
  if (window->size != 0) return lib::Ok<PciError>();  // the first of each kind is used
  window->pci_base = pci_base;
  window->cpu_base = cpu_base;
  window->size = size;
  window->next = lib::Max(pci_base, kLowestBusAddress);
  return lib::Ok<PciError>();
}

}  // namespace

bool IsPhbNode(const void* fdt, int node) {
  auto type = lib::fdt::PropertyString(fdt, node, "device_type");
  return type.is_ok() && type.value() == "pci" &&
         lib::fdt::PropertyListContains(fdt, node, "compatible", "IBM,Logical_PHB");
}

lib::Result<PciPhb, PciError> ParsePhb(const void* fdt, int node) {
  const int parent = fdt_parent_offset(fdt, node);
  if (parent < 0) return lib::Err(PciError::kBadPhbNode);
  const uint32_t parent_address_cells = lib::fdt::AddressCells(fdt, parent);
  const uint32_t address_cells = lib::fdt::AddressCells(fdt, node);
  const uint32_t size_cells = lib::fdt::SizeCells(fdt, node);
  if (address_cells != kPciAddressCells || (size_cells != 1 && size_cells != 2) ||
      (parent_address_cells != 1 && parent_address_cells != 2)) {
    return lib::Err(PciError::kBadPhbNode);
  }
  PciPhb phb;
  NodePath(fdt, node, phb.path);

  // `reg`: the BUID in the parent's address cells (QEMU: <BUID 0>, spapr_dt_phb's bus_reg).
  auto reg = lib::fdt::Property(fdt, node, "reg");
  if (reg.is_error() || reg.value().size() < 4 * parent_address_cells) {
    return lib::Err(PciError::kBadPhbNode);
  }
  phb.buid = lib::fdt::ReadCells(reg.value().data(), parent_address_cells);

  // `ranges`: (PCI address, parent address, size) triples.
  auto ranges = lib::fdt::Property(fdt, node, "ranges");
  const size_t entry = 4 * (kPciAddressCells + parent_address_cells + size_cells);
  if (ranges.is_error() || ranges.value().empty() || ranges.value().size() % entry != 0) {
    return lib::Err(PciError::kBadPhbNode);
  }
  for (size_t at = 0; at < ranges.value().size(); at += entry) {
    const uint8_t* cells = ranges.value().data() + at;
    const uint32_t space = (lib::LoadBe32(cells) >> kSpaceShift) & kSpaceMask;
    const uint64_t pci_base = lib::LoadBe64(cells + 4);
    const uint64_t cpu_base = lib::fdt::ReadCells(cells + 12, parent_address_cells);
    const uint64_t size = lib::fdt::ReadCells(cells + 12 + 4 * parent_address_cells, size_cells);
    TERN_TRY(AddWindow(phb, space, pci_base, cpu_base, size));
  }
  if (phb.mem32.size == 0) return lib::Err(PciError::kNoMemoryWindow);
  phb.extended_config =
      lib::fdt::PropertyU32(fdt, node, "ibm,pci-config-space-type").value_or(0) == 1;
  return phb;
}

// ---------------------------------------------------------------------------------------------
// Enumeration and BAR sizing.

namespace {

struct Scan {
  const void* fdt;
  int phb_node;
  PciBus& bus;
  uint8_t phb_index;
  bool full_reported;
};

void Report(const PciDevice& device, const char* what, PciError error) {
  lib::Printf("tern: pci: %s: %s: %s\n", device.name, what, PciErrorName(error));
}

// The child node QEMU made for `device`: its `reg` starts with the function's config address
// (QEMU hw/ppc/spapr_pci.c: populate_resource_props).
void FindNode(const void* fdt, int phb_node, PciDevice& device) {
  const uint32_t location = PciConfigAddress(device.bus, device.device, device.function, 0);
  int child = 0;
  fdt_for_each_subnode(child, fdt, phb_node) {
    auto reg = lib::fdt::Property(fdt, child, "reg");
    if (reg.is_error() || reg.value().size() < 4) continue;
    if ((lib::LoadBe32(reg.value().data()) & 0x00ffff00) == location) {
      NodePath(fdt, child, device.path);
      return;
    }
  }
}

// Writes all-ones to the BAR at `reg` and reads back what sticks, restoring the old value
// [PCI Local Bus 3.0 §6.2.5.1].
lib::Result<uint32_t, PciError> ProbeBar(const PciDevice& device, uint32_t reg) {
  auto original = device.ReadConfig(reg, 4);
  if (original.is_error()) return original;
  TERN_TRY(device.WriteConfig(reg, 4, 0xffffffff));
  auto probed = device.ReadConfig(reg, 4);
  TERN_TRY(device.WriteConfig(reg, 4, original.value()));
  return probed;
}

// Sizes every BAR of a type-0 header; decoding must be off while the BARs hold all-ones.
lib::Result<void, PciError> SizeBars(PciDevice& device) {
  for (int index = 0; index < kPciBarCount; ++index) {
    const uint32_t reg = kPciBar0 + 4 * static_cast<uint32_t>(index);
    auto probed = ProbeBar(device, reg);
    if (probed.is_error()) return lib::Err(probed.error());
    const uint32_t low = probed.value();
    if (low == 0) continue;  // not implemented
    PciBar bar;
    if ((low & 0x1) != 0) {
      uint32_t mask = low & ~uint32_t{0x3};
      bar.kind = PciBarKind::kIo;
      bar.io_16bit = (mask >> 16) == 0;
      if (bar.io_16bit) mask |= 0xffff0000;
      bar.size = static_cast<uint32_t>(~mask + 1);
    } else {
      const uint32_t type = (low >> 1) & 0x3;
      bar.prefetchable = (low & 0x8) != 0;
      if (type == 0x2) {
        if (index + 1 == kPciBarCount) {
          lib::Printf("tern: pci: %s: BAR %d: a 64-bit BAR in the last slot: not used\n",
                      device.name, index);
          continue;
        }
        auto high = ProbeBar(device, reg + 4);
        if (high.is_error()) return lib::Err(high.error());
        const uint64_t mask = (uint64_t{high.value()} << 32) | (low & ~uint32_t{0xf});
        bar.kind = PciBarKind::kMem64;
        bar.size = ~mask + 1;
        if (lib::IsPowerOfTwo(bar.size)) {
          device.bars[index] = bar;
        } else {
          lib::Printf("tern: pci: %s: BAR %d: size mask 0x%llx is not a power of two: not used\n",
                      device.name, index, static_cast<unsigned long long>(mask));
        }
        ++index;  // the upper half is part of this BAR
        continue;
      }
      if (type == 0x3) {
        lib::Printf("tern: pci: %s: BAR %d: reserved memory type: not used\n", device.name, index);
        continue;
      }
      bar.kind = PciBarKind::kMem32;  // type 1 (below 1 MiB, PCI 2.x) is placed like a 32-bit one
      bar.size = static_cast<uint32_t>(~(low & ~uint32_t{0xf}) + 1);
    }
    if (!lib::IsPowerOfTwo(bar.size)) {
      lib::Printf("tern: pci: %s: BAR %d: size mask 0x%x is not a power of two: not used\n",
                  device.name, index, low);
      continue;
    }
    device.bars[index] = bar;
  }
  return lib::Ok<PciError>();
}

// Reads the identity of one function and sizes its BARs; returns false when it is not usable.
bool AddFunction(Scan& scan, const PciConfigAccess& access, uint8_t device_number, uint8_t function,
                 uint16_t vendor_id) {
  PciBus& bus = scan.bus;
  const PciPhb& phb = bus.phbs[scan.phb_index];
  if (bus.device_count == PciBus::kMaxDevices) {
    if (!scan.full_reported) {
      lib::Printf("tern: pci: more than %d functions: %s 00:%02x.%x and later ones not scanned\n",
                  PciBus::kMaxDevices, phb.path, device_number, function);
    }
    scan.full_reported = true;
    return false;
  }
  PciDevice& device = bus.devices[bus.device_count];
  device = PciDevice{};
  device.access = access;
  device.buid = phb.buid;
  device.extended_config = phb.extended_config;
  device.phb = scan.phb_index;
  device.device = device_number;
  device.function = function;
  device.vendor_id = vendor_id;
  FindNode(scan.fdt, scan.phb_node, device);
  if (device.path[0] != '\0') {
    lib::MemCopy(device.name, device.path, sizeof(device.name));
  } else {
    lib::FormatToBuffer(device.name, sizeof(device.name), "pci@%llx/%x,%x",
                        static_cast<unsigned long long>(phb.buid), device_number, function);
  }

  auto device_id = device.ReadConfig(kPciDeviceId, 2);
  auto revision_class = device.ReadConfig(kPciRevisionClass, 4);
  auto header = device.ReadConfig(kPciHeaderType, 1);
  auto command = device.ReadConfig(kPciCommand, 2);
  if (device_id.is_error() || revision_class.is_error() || header.is_error() ||
      command.is_error()) {
    Report(device, "reading its config space", PciError::kConfigAccess);
    return false;
  }
  device.device_id = static_cast<uint16_t>(device_id.value());
  device.revision = static_cast<uint8_t>(revision_class.value());
  device.class_code = revision_class.value() >> 8;
  device.header_type = static_cast<uint8_t>(header.value() & ~kPciHeaderMultifunction);
  if (device.header_type != 0) {
    lib::Printf("tern: pci: %s: header type %u (a bridge): nothing behind it is scanned\n",
                device.name, device.header_type);
    return false;
  }
  // Decoding off while the BARs are sized, and until a driver turns it on.
  const uint16_t off = kPciCommandIo | kPciCommandMemory | kPciCommandBusMaster;
  if (auto written = device.WriteConfig(kPciCommand, 2, command.value() & ~uint32_t{off});
      written.is_error()) {
    Report(device, "turning decoding off", written.error());
    return false;
  }
  if (auto sized = SizeBars(device); sized.is_error()) {
    Report(device, "sizing its BARs", sized.error());
    return false;
  }
  ++bus.device_count;
  return true;
}

void ScanBus0(Scan& scan, const PciConfigAccess& access) {
  PciDevice probe;
  probe.access = access;
  probe.buid = scan.bus.phbs[scan.phb_index].buid;
  for (uint8_t device = 0; device < 32; ++device) {
    for (uint8_t function = 0; function < 8; ++function) {
      probe.device = device;
      probe.function = function;
      // QEMU answers -1 (hardware error) for a function that does not exist
      // (rtas_ibm_read_pci_config); real hardware reads all-ones.
      auto vendor = probe.ReadConfig(kPciVendorId, 2);
      const bool present = vendor.is_ok() && vendor.value() != 0xffff && vendor.value() != 0x0000;
      if (!present) {
        if (function == 0) break;  // every device implements function 0
        continue;
      }
      if (function == 0) {
        auto header = probe.ReadConfig(kPciHeaderType, 1);
        (void)AddFunction(scan, access, device, 0, static_cast<uint16_t>(vendor.value()));
        if (header.is_error() || (header.value() & kPciHeaderMultifunction) == 0) break;
      } else {
        (void)AddFunction(scan, access, device, function, static_cast<uint16_t>(vendor.value()));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// BAR assignment.

// The windows a BAR may go to, in order of preference.
int CandidateWindows(PciPhb& phb, const PciBar& bar, PciWindow* (&windows)[2]) {
  switch (bar.kind) {
    case PciBarKind::kIo: windows[0] = &phb.io; return 1;
    case PciBarKind::kMem32: windows[0] = &phb.mem32; return 1;
    case PciBarKind::kMem64:
      windows[0] = bar.prefetchable ? &phb.mem64 : &phb.mem32;
      windows[1] = bar.prefetchable ? &phb.mem32 : &phb.mem64;
      return 2;
    case PciBarKind::kNone: break;
  }
  return 0;
}

bool Place(PciWindow& window, PciBar& bar) {
  if (window.size == 0) return false;
  const uint64_t address = lib::AlignUp(window.next, bar.size);
  if (address < window.next ||
      !lib::RangeInside(address, bar.size, window.pci_base, window.pci_base + window.size)) {
    return false;
  }
  if (bar.kind == PciBarKind::kIo && bar.io_16bit && address + bar.size > 0x10000) return false;
  bar.pci_address = address;
  bar.cpu_address = window.cpu_base + (address - window.pci_base);
  bar.assigned = true;
  window.next = address + bar.size;
  return true;
}

lib::Result<void, PciError> ProgramBar(const PciDevice& device, int index, const PciBar& bar) {
  const uint32_t reg = kPciBar0 + 4 * static_cast<uint32_t>(index);
  TERN_TRY(device.WriteConfig(reg, 4, static_cast<uint32_t>(bar.pci_address)));
  if (bar.kind == PciBarKind::kMem64) {
    TERN_TRY(device.WriteConfig(reg + 4, 4, static_cast<uint32_t>(bar.pci_address >> 32)));
  }
  return lib::Ok<PciError>();
}

// Largest BAR first, each aligned to its size: no space is lost between BARs of one window.
void AssignBars(PciBus& bus, uint8_t phb_index) {
  PciPhb& phb = bus.phbs[phb_index];
  uint8_t tried[PciBus::kMaxDevices] = {};  // bit i: BAR i has had its turn
  for (;;) {
    PciDevice* chosen_device = nullptr;
    int chosen = -1;
    for (int d = 0; d < bus.device_count; ++d) {
      PciDevice& device = bus.devices[d];
      if (device.phb != phb_index) continue;
      for (int i = 0; i < kPciBarCount; ++i) {
        const PciBar& bar = device.bars[i];
        if (bar.kind == PciBarKind::kNone || (tried[d] & (1u << i)) != 0) continue;
        if (chosen_device == nullptr || bar.size > chosen_device->bars[chosen].size) {
          chosen_device = &device;
          chosen = i;
        }
      }
    }
    if (chosen_device == nullptr) break;
    tried[chosen_device - bus.devices] |= static_cast<uint8_t>(1u << chosen);
    PciBar& bar = chosen_device->bars[chosen];
    PciWindow* windows[2] = {};
    const int count = CandidateWindows(phb, bar, windows);
    bool placed = false;
    for (int w = 0; w < count && !placed; ++w) placed = Place(*windows[w], bar);
    if (!placed) {
      lib::Printf("tern: pci: %s: BAR %d (0x%llx bytes) does not fit the windows of %s\n",
                  chosen_device->name, chosen, static_cast<unsigned long long>(bar.size), phb.path);
      continue;
    }
    if (auto programmed = ProgramBar(*chosen_device, chosen, bar); programmed.is_error()) {
      Report(*chosen_device, "programming a BAR", programmed.error());
      bar.assigned = false;
    }
  }
}

}  // namespace

void ScanPhbs(const void* fdt, const PciConfigAccess& access, PciBus& bus) {
  bus.phb_count = 0;
  bus.device_count = 0;
  bool full_reported = false;
  int node = 0;
  fdt_for_each_subnode(node, fdt, 0) {
    if (!IsPhbNode(fdt, node)) continue;
    char path[kPciPathMax];
    NodePath(fdt, node, path);
    if (bus.phb_count == PciBus::kMaxPhbs) {
      lib::Printf("tern: pci: more than %d PHBs: %s not scanned\n", PciBus::kMaxPhbs, path);
      continue;
    }
    auto phb = ParsePhb(fdt, node);
    if (phb.is_error()) {
      lib::Printf("tern: pci: %s: %s: not scanned\n", path, PciErrorName(phb.error()));
      continue;
    }
    const auto index = static_cast<uint8_t>(bus.phb_count++);
    bus.phbs[index] = phb.value();
    Scan scan{fdt, node, bus, index, full_reported};
    ScanBus0(scan, access);
    full_reported = scan.full_reported;
    AssignBars(bus, index);
  }
}

// ---------------------------------------------------------------------------------------------
// assigned-addresses and the command register.

lib::Result<size_t, PciError> EncodeAssignedAddresses(const PciDevice& device,
                                                      lib::Span<uint8_t> out) {
  size_t used = 0;
  for (int index = 0; index < kPciBarCount; ++index) {
    const PciBar& bar = device.bars[index];
    if (!bar.assigned) continue;
    if (out.size() - used < kAssignedAddressBytes) return lib::Err(PciError::kBufferTooSmall);
    uint32_t space = kSpaceMem32;
    if (bar.kind == PciBarKind::kIo) space = kSpaceIo;
    if (bar.kind == PciBarKind::kMem64) space = kSpaceMem64;
    const uint32_t phys_hi = kPhysNonRelocatable | (bar.prefetchable ? kPhysPrefetchable : 0) |
                             (space << kSpaceShift) |
                             PciConfigAddress(device.bus, device.device, device.function,
                                              kPciBar0 + 4 * static_cast<uint32_t>(index));
    uint8_t* cells = out.data() + used;
    lib::StoreBe32(cells, phys_hi);
    lib::StoreBe32(cells + 4, static_cast<uint32_t>(bar.pci_address >> 32));
    lib::StoreBe32(cells + 8, static_cast<uint32_t>(bar.pci_address));
    lib::StoreBe32(cells + 12, static_cast<uint32_t>(bar.size >> 32));
    lib::StoreBe32(cells + 16, static_cast<uint32_t>(bar.size));
    used += kAssignedAddressBytes;
  }
  return used;
}

lib::Result<void, PciError> EnableDevice(const PciDevice& device) {
  uint16_t enable = kPciCommandBusMaster;
  for (const PciBar& bar : device.bars) {
    if (!bar.assigned) continue;
    enable |= bar.kind == PciBarKind::kIo ? kPciCommandIo : kPciCommandMemory;
  }
  auto command = device.ReadConfig(kPciCommand, 2);
  if (command.is_error()) return lib::Err(command.error());
  return device.WriteConfig(kPciCommand, 2, command.value() | enable);
}

lib::Result<void, PciError> DisableDevice(const PciDevice& device) {
  auto command = device.ReadConfig(kPciCommand, 2);
  if (command.is_error()) return lib::Err(command.error());
  const uint16_t off = kPciCommandIo | kPciCommandMemory | kPciCommandBusMaster;
  return device.WriteConfig(kPciCommand, 2, command.value() & ~uint32_t{off});
}

}  // namespace dev
