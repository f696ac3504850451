// PCI on the host bridges (PHBs) QEMU's pseries machine describes: the PHBs from the device tree,
// config space through RTAS, bus 0 of each PHB enumerated, BARs sized and assigned inside the
// PHB's windows, and the `assigned-addresses` the OS reads.
//
// What QEMU gives (QEMU hw/ppc/spapr_pci.c: spapr_dt_phb, spapr_dt_pci_device; checked on the
// trees QEMU 7.2.22 and 10.0.2 dump): one root node `pci@<BUID>` per PHB, device_type "pci",
// compatible "IBM,Logical_PHB", #address-cells 3, #size-cells 2, `reg` = <BUID (2 cells) 0 0>,
// `ranges` = an I/O window (PCI 0, 64 KiB), a 32-bit memory window (PCI 0x80000000, 2 GiB) and a
// 64-bit one (identity mapped, 1 TiB); for PHB 0 at CPU 0x200000000000, 0x200080000000 and
// 0x210000000000. Every device present at boot has a child node whose `reg` starts with its
// config address; QEMU assigns no BAR: the firmware does.
//
// Limits: PciBus holds kMaxPhbs PHBs and kMaxDevices functions. Only bus 0 of each PHB is scanned:
// a PCI bridge is reported and skipped, with nothing behind it. Expansion ROM BARs are not
// assigned. No heap: the caller owns the PciBus.
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace dev {

enum class PciError {
  kNoRtasService,   // /rtas lacks ibm,read-pci-config or ibm,write-pci-config
  kConfigAccess,    // the host refused a config-space read or write
  kBadAccess,       // a config access of a size other than 1, 2, 4, misaligned, or out of range
  kBadPhbNode,      // a PHB node's reg, ranges or #cells are not what the PCI binding says
  kNoMemoryWindow,  // a PHB without a usable 32-bit memory window
  kBufferTooSmall,  // the assigned-addresses buffer cannot hold every assigned BAR
};

const char* PciErrorName(PciError error);

// Config-space registers [PCI Local Bus Specification 3.0 §6.1, §6.2.5, §6.7].
inline constexpr uint32_t kPciVendorId = 0x00;
inline constexpr uint32_t kPciDeviceId = 0x02;
inline constexpr uint32_t kPciCommand = 0x04;
inline constexpr uint32_t kPciStatus = 0x06;
inline constexpr uint32_t kPciRevisionClass = 0x08;  // revision in bits 0-7, class code above
inline constexpr uint32_t kPciHeaderType = 0x0e;
inline constexpr uint32_t kPciBar0 = 0x10;
inline constexpr uint32_t kPciCapabilityPointer = 0x34;
inline constexpr uint16_t kPciCommandIo = 0x1;
inline constexpr uint16_t kPciCommandMemory = 0x2;
inline constexpr uint16_t kPciCommandBusMaster = 0x4;
inline constexpr uint16_t kPciStatusCapabilities = 0x10;
inline constexpr uint8_t kPciHeaderMultifunction = 0x80;
inline constexpr int kPciBarCount = 6;
inline constexpr uint32_t kPciConfigSize = 256;
inline constexpr uint32_t kPciExtendedConfigSize = 4096;

// The config_addr argument of ibm,read-pci-config / ibm,write-pci-config (LoPAPR, RTAS PCI
// configuration calls):
// bus << 16 | device << 11 | function << 8 | register bits 0-7, with register bits 8-11 (PCIe
// extended config space) in bits 28-31 (QEMU hw/ppc/spapr_pci.c: rtas_pci_cfgaddr).
constexpr uint32_t PciConfigAddress(uint32_t bus, uint32_t device, uint32_t function,
                                    uint32_t reg) {
  return ((reg & 0xf00) << 20) | ((bus & 0xff) << 16) | ((device & 0x1f) << 11) |
         ((function & 0x7) << 8) | (reg & 0xff);
}

// How config space is reached: the RTAS implementation below, or a test's fake. `size` is 1, 2
// or 4 and `config_address` is PciConfigAddress(...); read returns the register's value.
struct PciConfigAccess {
  lib::Result<uint32_t, PciError> (*read)(void* context, uint64_t buid, uint32_t config_address,
                                          uint32_t size) = nullptr;
  lib::Result<void, PciError> (*write)(void* context, uint64_t buid, uint32_t config_address,
                                       uint32_t size, uint32_t value) = nullptr;
  void* context = nullptr;
};

// Config space through the host's RTAS (rtas::CallHost): ibm,read-pci-config (config_addr,
// BUID high, BUID low, size -> status, value) and ibm,write-pci-config (config_addr, BUID high,
// BUID low, size, value -> status) (LoPAPR, RTAS PCI configuration calls); QEMU hw/ppc/spapr_pci.c:
// rtas_ibm_read_pci_config, rtas_ibm_write_pci_config. Access() refers to this object, which
// must outlive every use of the access.
struct RtasPciConfig {
  uint32_t read_token = 0;
  uint32_t write_token = 0;
  PciConfigAccess Access();
};

// The two tokens from `fdt`'s /rtas node.
lib::Result<RtasPciConfig, PciError> FindRtasPciConfig(const void* fdt);

inline constexpr size_t kPciPathMax = 64;

// One window of a PHB's `ranges`: bus addresses [pci_base, pci_base + size) reached by the CPU at
// [cpu_base, cpu_base + size). size 0: the PHB has no such window.
struct PciWindow {
  uint64_t pci_base = 0;
  uint64_t cpu_base = 0;
  uint64_t size = 0;
  uint64_t next = 0;  // the lowest bus address not yet assigned
};

struct PciPhb {
  uint64_t buid = 0;             // from `reg`: the BUID RTAS config calls name the PHB by
  PciWindow io;                  // ranges space code 01
  PciWindow mem32;               // ranges space code 10
  PciWindow mem64;               // ranges space code 11
  bool extended_config = false;  // `ibm,pci-config-space-type` 1: 4 KiB of config space
  char path[kPciPathMax] = {};
};

enum class PciBarKind : uint8_t { kNone, kIo, kMem32, kMem64 };

struct PciBar {
  PciBarKind kind = PciBarKind::kNone;
  bool prefetchable = false;
  bool io_16bit = false;  // an I/O BAR that decodes 16 address bits only
  bool assigned = false;
  uint64_t size = 0;
  uint64_t pci_address = 0;  // what the BAR holds once assigned
  uint64_t cpu_address = 0;  // the real address the CPU reaches it at (H_LOGICAL_CI_*)
};

// One function on bus 0 of a PHB. A 64-bit BAR is described at its lower index; the upper one
// stays kNone.
struct PciDevice {
  PciConfigAccess access;
  uint64_t buid = 0;
  bool extended_config = false;
  uint8_t phb = 0;  // index into PciBus::phbs
  uint8_t bus = 0;
  uint8_t device = 0;
  uint8_t function = 0;
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint8_t revision = 0;
  uint8_t header_type = 0;  // without the multifunction bit
  uint32_t class_code = 0;  // base class << 16 | subclass << 8 | programming interface
  PciBar bars[kPciBarCount];
  // The function's node in the scanned tree ("" when QEMU made none), and a name for messages:
  // the path, or "pci@<BUID>/<device>,<function>".
  char path[kPciPathMax] = {};
  char name[kPciPathMax] = {};

  lib::Result<uint32_t, PciError> ReadConfig(uint32_t reg, uint32_t size) const;
  lib::Result<void, PciError> WriteConfig(uint32_t reg, uint32_t size, uint32_t value) const;
};

struct PciBus {
  static constexpr int kMaxPhbs = 8;
  static constexpr int kMaxDevices = 64;
  PciPhb phbs[kMaxPhbs];
  int phb_count = 0;
  PciDevice devices[kMaxDevices];
  int device_count = 0;
};

// Whether node `node` of `fdt` is a PHB as QEMU describes one: device_type "pci", compatible
// "IBM,Logical_PHB".
bool IsPhbNode(const void* fdt, int node);

// Reads PHB node `node` of `fdt`: BUID, windows, config-space type. Windows are checked: each
// inside 64-bit arithmetic, the 32-bit one below 4 GiB of bus space.
lib::Result<PciPhb, PciError> ParsePhb(const void* fdt, int node);

// Finds every PHB under `fdt`'s root, enumerates bus 0 of each through `access`, sizes the BARs
// of every function found and assigns them (the largest first, each aligned to its size:
// 64-bit prefetchable BARs in the 64-bit window, the others in the 32-bit or I/O window, never at
// bus address 0) and programs them. Memory and I/O decoding and bus mastering are left off for
// every function: EnableDevice turns them on for a device the firmware drives. What it cannot
// use (a malformed PHB node, a device whose config space fails, a BAR that does not fit, more
// than the limits) it reports on the console and skips. `bus` is overwritten.
void ScanPhbs(const void* fdt, const PciConfigAccess& access, PciBus& bus);

// The `assigned-addresses` of `device` (PCI Bus Binding to IEEE 1275, rev 2.1: the physical
// address format and the `assigned-addresses` property; Linux arch/powerpc/kernel/pci_of_scan.c:
// of_pci_parse_addrs reads it, as pseries probes PCI from the tree): for
// each assigned BAR, phys.hi (n = 1, p = the BAR's prefetchable bit, space code, bus, device,
// function, BAR register), phys.mid/lo = its bus address, size.hi/lo = its size: 5 big-endian
// cells. Returns the bytes written to `out` (0 for a device with no assigned BAR).
inline constexpr size_t kAssignedAddressBytes = 20;
inline constexpr size_t kMaxAssignedAddressesBytes = kPciBarCount * kAssignedAddressBytes;
lib::Result<size_t, PciError> EncodeAssignedAddresses(const PciDevice& device,
                                                      lib::Span<uint8_t> out);

// Turns on memory decoding (and I/O decoding when an I/O BAR is assigned) and bus mastering:
// only for a device the firmware drives, and only while it does.
lib::Result<void, PciError> EnableDevice(const PciDevice& device);
// Turns decoding and bus mastering off again.
lib::Result<void, PciError> DisableDevice(const PciDevice& device);

}  // namespace dev
