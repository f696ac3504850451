// The virtio 1.0 PCI transport ("Virtio Over PCI Bus", modern interface only) and one split
// virtqueue, for the drivers in dev/ (virtio-blk, virtio-scsi).
//
// QEMU's virtio-*-pci devices on pseries are transitional by default (disable-legacy=auto is "on"
// only on PCIe ports, disable-modern=false since QEMU 2.7): they expose the legacy I/O BAR and
// the modern capabilities in a 64-bit prefetchable memory BAR (BAR 4: common at 0, ISR at
// 0x1000, device at 0x2000, notify at 0x3000 with a multiplier of 4; QEMU
// hw/virtio/virtio-pci.c: virtio_pci_device_plugged). tern uses only the modern interface.
//
// Registers are reached with H_LOGICAL_CI_* (dev/mmio.h), each at its own width: QEMU accepts
// 1-4 byte accesses to these structures, so 64-bit fields are written as two 32-bit halves
// (virtio 1.1 §4.1.3.1). The rings live in guest RAM the caller provides, little-endian.
#pragma once

#include "dev/pci.h"
#include "lib/guest-memory.h"
#include "lib/wire.h"
#include "lib/result.h"
#include "lib/types.h"

namespace dev {

enum class VirtioError {
  kNotVirtioBlk,       // not a virtio block device (vendor 0x1af4, device 0x1001 or 0x1042)
  kNotVirtioScsi,      // not a virtio SCSI host (vendor 0x1af4, device 0x1004 or 0x1048)
  kNotVirtioNet,       // not a virtio network device (vendor 0x1af4, device 0x1000 or 0x1041)
  kNoMac,              // a network device that does not offer VIRTIO_NET_F_MAC
  kConfigSpace,        // a PCI config-space access failed
  kNoModernInterface,  // no usable common or notification structure (a legacy-only device)
  kBadCapability,      // the capability list is malformed (a loop, a pointer out of range)
  kMmio,               // an H_LOGICAL_CI_LOAD / H_LOGICAL_CI_STORE failed
  kResetTimeout,       // device_status did not read 0 after a reset
  kNoVersion1,         // VIRTIO_F_VERSION_1 is not offered
  kAccessPlatform,     // VIRTIO_F_ACCESS_PLATFORM is offered: DMA would go through TCEs
  kFeaturesRejected,   // FEATURES_OK did not stay set
  kBadQueue,           // the queue is missing or too small, or its notify address is outside
  kBadRingMemory,      // the ring memory is not in guest RAM, too small or misaligned
  kBadDeviceConfig,    // the device configuration is out of range, or kept changing
  kBadArgument,        // a timebase frequency of 0
  kTimeout,            // the device did not complete a request in time
  kBadUsedEntry,       // a used-ring entry failed its range check
};

const char* VirtioErrorName(VirtioError error);

// Device status bits [virtio 1.1 §2.1].
inline constexpr uint8_t kVirtioAcknowledge = 1;
inline constexpr uint8_t kVirtioDriver = 2;
inline constexpr uint8_t kVirtioDriverOk = 4;
inline constexpr uint8_t kVirtioFeaturesOk = 8;
inline constexpr uint8_t kVirtioNeedsReset = 64;
inline constexpr uint8_t kVirtioFailed = 128;

// Reserved feature bits [virtio 1.1 §6].
inline constexpr uint64_t kVirtioFVersion1 = uint64_t{1} << 32;
inline constexpr uint64_t kVirtioFAccessPlatform = uint64_t{1} << 33;

// The PCI capability of a virtio structure [virtio 1.1 §4.1.4]: vendor-specific (0x09), its
// cfg_type.
inline constexpr uint8_t kPciCapabilityVendor = 0x09;
inline constexpr uint8_t kVirtioPciCommonCfg = 1;
inline constexpr uint8_t kVirtioPciNotifyCfg = 2;
inline constexpr uint8_t kVirtioPciIsrCfg = 3;
inline constexpr uint8_t kVirtioPciDeviceCfg = 4;
inline constexpr uint8_t kVirtioPciPciCfg = 5;

// Offsets in the common configuration structure [virtio 1.1 §4.1.4.3].
inline constexpr uint32_t kVirtioCommonDeviceFeatureSelect = 0x00;
inline constexpr uint32_t kVirtioCommonDeviceFeature = 0x04;
inline constexpr uint32_t kVirtioCommonDriverFeatureSelect = 0x08;
inline constexpr uint32_t kVirtioCommonDriverFeature = 0x0c;
inline constexpr uint32_t kVirtioCommonNumQueues = 0x12;
inline constexpr uint32_t kVirtioCommonDeviceStatus = 0x14;
inline constexpr uint32_t kVirtioCommonConfigGeneration = 0x15;
inline constexpr uint32_t kVirtioCommonQueueSelect = 0x16;
inline constexpr uint32_t kVirtioCommonQueueSize = 0x18;
inline constexpr uint32_t kVirtioCommonQueueEnable = 0x1c;
inline constexpr uint32_t kVirtioCommonQueueNotifyOff = 0x1e;
inline constexpr uint32_t kVirtioCommonQueueDesc = 0x20;
inline constexpr uint32_t kVirtioCommonQueueDriver = 0x28;
inline constexpr uint32_t kVirtioCommonQueueDevice = 0x30;
inline constexpr uint32_t kVirtioCommonSize = 0x38;  // the virtio 1.0 structure

// A virtio structure: [address, address + length) at a real address inside an assigned memory
// BAR.
struct VirtioRegion {
  uint64_t address = 0;
  uint32_t length = 0;
};

// Where one device's structures are. `pci` must outlive it.
struct VirtioPciTransport {
  const PciDevice* pci = nullptr;
  VirtioRegion common;
  VirtioRegion notify;
  VirtioRegion isr;     // length 0: absent (tern polls and never reads it)
  VirtioRegion device;  // length 0: absent
  uint32_t notify_off_multiplier = 0;
};

// Walks `pci`'s capability list (at most 48 entries, each inside the 256-byte header) and takes
// the first usable instance of each structure (virtio 1.1 §4.1.4.1: one in an assigned memory
// BAR, inside the BAR, at least as long as the driver needs). The common and notification
// structures are required.
lib::Result<VirtioPciTransport, VirtioError> FindVirtioPciTransport(const PciDevice& pci);

// The common configuration.
lib::Result<uint8_t, VirtioError> VirtioReadStatus(const VirtioPciTransport& transport);
lib::Result<void, VirtioError> VirtioWriteStatus(const VirtioPciTransport& transport,
                                                 uint8_t status);
// Writes 0 to device_status and waits, at most `timeout_ticks` of the time base, until it reads
// 0 (virtio 1.1 §4.1.4.3.2).
lib::Result<void, VirtioError> VirtioReset(const VirtioPciTransport& transport,
                                           uint64_t timeout_ticks);
lib::Result<uint64_t, VirtioError> VirtioDeviceFeatures(const VirtioPciTransport& transport);
lib::Result<void, VirtioError> VirtioSetDriverFeatures(const VirtioPciTransport& transport,
                                                       uint64_t features);
lib::Result<uint8_t, VirtioError> VirtioConfigGeneration(const VirtioPciTransport& transport);
// A 32-bit field, or one byte, of the device-specific structure, checked against its length.
lib::Result<uint32_t, VirtioError> VirtioReadDeviceConfig32(const VirtioPciTransport& transport,
                                                            uint32_t offset);
lib::Result<uint8_t, VirtioError> VirtioReadDeviceConfig8(const VirtioPciTransport& transport,
                                                          uint32_t offset);

// The split virtqueue's wire structures [virtio 1.1 §2.6.5, §2.6.8]: a descriptor, and an entry
// of the used ring. The available and used rings start with le16 flags and le16 idx.
struct VirtqDesc {
  lib::Le64 addr;
  lib::Le32 len;
  lib::Le16 flags;
  lib::Le16 next;
};
static_assert(sizeof(VirtqDesc) == 16);
struct VirtqUsedElem {
  lib::Le32 id;
  lib::Le32 len;
};
static_assert(sizeof(VirtqUsedElem) == 8);

// One descriptor of a chain: a guest-physical buffer, device-writable or not.
struct VirtqBuffer {
  uint64_t address = 0;
  uint32_t length = 0;
  bool device_writes = false;
};

// One split virtqueue [virtio 1.1 §2.6] in caller memory, used in one of two ways:
// - one request at a time (Run): a chain always starts at descriptor 0, and exactly one used
//   entry is expected per request;
// - as a pool of single device-writable buffers (Offer, Notify, TakeUsed; a receive queue):
//   descriptor `id` is buffer `id`, the device returns them in any order, and each used entry is
//   checked against the buffers it holds.
class SplitQueue {
 public:
  static constexpr uint16_t kMaxSize = 16;
  static constexpr uint16_t kMaxChain = 4;
  // Bytes of the descriptor table, available ring and used ring for `size` entries, with the
  // alignments of virtio 1.1 §2.6 (16, 2, 4).
  static constexpr uint64_t Bytes(uint16_t size) {
    return lib::AlignUp(sizeof(VirtqDesc) * size + 6u + 2u * size, 4) + 6u +
           sizeof(VirtqUsedElem) * size;
  }

  constexpr SplitQueue() = default;

  // Sets up queue `index` of the device in guest RAM [address, address + bytes) (16-aligned,
  // checked against `memory`) with min(the device's maximum, kMaxSize) entries, and enables it.
  lib::Result<void, VirtioError> Start(const VirtioPciTransport& transport, uint16_t index,
                                       lib::GuestMemory& memory, uint64_t address, uint64_t bytes);

  // Publishes `chain` (1 to kMaxChain buffers), notifies the device, and waits at most
  // `timeout_ticks` of the time base for its used entry; returns the entry's len after checking
  // its id and that len is at most the device-writable bytes of the chain.
  lib::Result<uint32_t, VirtioError> Run(const VirtqBuffer* chain, uint16_t count,
                                         uint64_t timeout_ticks);

  // A buffer's return [virtio 1.1 §2.6.8]: its descriptor and the bytes the device wrote.
  struct Used {
    uint16_t id = 0;
    uint32_t length = 0;
  };
  // Buffer `id` (< size()) of `length` bytes at `address` into the available ring, for the
  // device to write; it learns of it at the next Notify. kBadArgument for an id out of range or
  // a buffer the device holds already.
  lib::Result<void, VirtioError> Offer(uint16_t id, uint64_t address, uint32_t length);
  // Tells the device about the buffers offered since the last Notify.
  lib::Result<void, VirtioError> Notify();
  // The next buffer the device returned, if any (never waits). kBadUsedEntry when the used index
  // moved past more buffers than the device holds, or the entry names a buffer it does not hold,
  // or a length over the buffer's.
  lib::Result<bool, VirtioError> TakeUsed(Used& used);
  // Buffers the device holds (offered, not yet returned).
  uint16_t outstanding() const;

  uint16_t size() const { return size_; }

 private:
  uint8_t* descriptors_ = nullptr;  // host views of the rings
  uint8_t* available_ = nullptr;
  uint8_t* used_ = nullptr;
  uint64_t notify_address_ = 0;
  uint16_t index_ = 0;
  uint16_t size_ = 0;
  uint16_t next_available_ = 0;      // avail->idx as last published
  uint16_t last_used_ = 0;           // used->idx as last consumed
  uint32_t lengths_[kMaxSize] = {};  // pool use: each buffer's length, 0 when the driver has it
};

}  // namespace dev
