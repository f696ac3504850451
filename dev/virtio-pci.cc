#include "dev/virtio-pci.h"

#include "dev/mmio.h"
#include "lib/be.h"
#include "lib/cpu.h"
#include "lib/string.h"
#include "lib/timeout.h"

namespace dev {

const char* VirtioErrorName(VirtioError error) {
  switch (error) {
    case VirtioError::kNotVirtioBlk: return "not a virtio block device";
    case VirtioError::kNotVirtioScsi: return "not a virtio SCSI host";
    case VirtioError::kNotVirtioNet: return "not a virtio network device";
    case VirtioError::kNoMac: return "device does not offer VIRTIO_NET_F_MAC";
    case VirtioError::kConfigSpace: return "PCI config-space access failed";
    case VirtioError::kNoModernInterface: return "no usable virtio 1.0 PCI capabilities";
    case VirtioError::kBadCapability: return "malformed PCI capability list";
    case VirtioError::kMmio: return "device register access failed";
    case VirtioError::kResetTimeout: return "device did not finish its reset";
    case VirtioError::kNoVersion1: return "device does not offer VIRTIO_F_VERSION_1";
    case VirtioError::kAccessPlatform:
      return "the device offers VIRTIO_F_ACCESS_PLATFORM (iommu_platform=on), and tern does not "
             "map TCEs yet";
    case VirtioError::kFeaturesRejected: return "device rejected the features";
    case VirtioError::kBadQueue: return "virtqueue unusable";
    case VirtioError::kBadRingMemory: return "ring memory unusable";
    case VirtioError::kBadDeviceConfig: return "device configuration out of range";
    case VirtioError::kBadArgument: return "invalid argument";
    case VirtioError::kTimeout: return "device timeout";
    case VirtioError::kBadUsedEntry: return "malformed used-ring entry";
  }
  return "virtio error";
}

// ---------------------------------------------------------------------------------------------
// Capabilities.

namespace {

constexpr uint32_t kCapabilityBytes = 16;        // struct virtio_pci_cap
constexpr uint32_t kNotifyCapabilityBytes = 20;  // struct virtio_pci_notify_cap
constexpr int kMaxCapabilities = 48;             // (256 - 64) / 4: a longer list loops

// The region [offset, offset + length) of `pci`'s BAR `bar`, when that is an assigned memory BAR
// holding it whole.
bool MapRegion(const PciDevice& pci, uint32_t bar, uint32_t offset, uint32_t length,
               VirtioRegion& region) {
  if (bar >= kPciBarCount) return false;
  const PciBar& b = pci.bars[bar];
  if (!b.assigned || b.kind == PciBarKind::kIo || b.kind == PciBarKind::kNone) return false;
  if (!lib::RangeInside(offset, length, 0, b.size)) return false;
  region.address = b.cpu_address + offset;
  region.length = length;
  return true;
}

}  // namespace

lib::Result<VirtioPciTransport, VirtioError> FindVirtioPciTransport(const PciDevice& pci) {
  auto status = pci.ReadConfig(kPciStatus, 2);
  if (status.is_error()) return lib::Err(VirtioError::kConfigSpace);
  if ((status.value() & kPciStatusCapabilities) == 0) {
    return lib::Err(VirtioError::kNoModernInterface);
  }
  auto pointer = pci.ReadConfig(kPciCapabilityPointer, 1);
  if (pointer.is_error()) return lib::Err(VirtioError::kConfigSpace);
  VirtioPciTransport transport;
  transport.pci = &pci;
  uint32_t at = pointer.value() & 0xfc;  // the low two bits are reserved [PCI 3.0 §6.7]
  int hops = 0;
  for (; at != 0 && hops < kMaxCapabilities; ++hops) {
    if (at < 0x40 || at + 4 > kPciConfigSize) return lib::Err(VirtioError::kBadCapability);
    auto header = pci.ReadConfig(at, 4);
    if (header.is_error()) return lib::Err(VirtioError::kConfigSpace);
    const uint32_t id = header.value() & 0xff;
    const uint32_t next = (header.value() >> 8) & 0xfc;
    const uint32_t length = (header.value() >> 16) & 0xff;
    const uint32_t type = header.value() >> 24;
    if (id == kPciCapabilityVendor && length >= kCapabilityBytes && at + length <= kPciConfigSize) {
      auto bar = pci.ReadConfig(at + 4, 1);
      auto offset = pci.ReadConfig(at + 8, 4);
      auto size = pci.ReadConfig(at + 12, 4);
      if (bar.is_error() || offset.is_error() || size.is_error()) {
        return lib::Err(VirtioError::kConfigSpace);
      }
      VirtioRegion region;
      if (MapRegion(pci, bar.value(), offset.value(), size.value(), region)) {
        switch (type) {
          case kVirtioPciCommonCfg:
            if (transport.common.length == 0 && region.length >= kVirtioCommonSize) {
              transport.common = region;
            }
            break;
          case kVirtioPciNotifyCfg:
            if (transport.notify.length == 0 && region.length >= 2 &&
                length >= kNotifyCapabilityBytes) {
              auto multiplier = pci.ReadConfig(at + 16, 4);
              if (multiplier.is_error()) return lib::Err(VirtioError::kConfigSpace);
              transport.notify = region;
              transport.notify_off_multiplier = multiplier.value();
            }
            break;
          case kVirtioPciIsrCfg:
            if (transport.isr.length == 0 && region.length >= 1) transport.isr = region;
            break;
          case kVirtioPciDeviceCfg:
            if (transport.device.length == 0 && region.length >= 1) transport.device = region;
            break;
          default: break;  // the PCI configuration access and later types are not used
        }
      }
    }
    at = next;
  }
  if (at != 0) return lib::Err(VirtioError::kBadCapability);  // more than can fit: a loop
  if (transport.common.length == 0 || transport.notify.length == 0) {
    return lib::Err(VirtioError::kNoModernInterface);
  }
  return transport;
}

// ---------------------------------------------------------------------------------------------
// The common configuration.

namespace {

lib::Result<void, VirtioError> Write8(uint64_t address, uint8_t value) {
  if (MmioWrite8(address, value).is_error()) return lib::Err(VirtioError::kMmio);
  return lib::Ok<VirtioError>();
}
lib::Result<void, VirtioError> Write16(uint64_t address, uint16_t value) {
  if (MmioWriteLe16(address, value).is_error()) return lib::Err(VirtioError::kMmio);
  return lib::Ok<VirtioError>();
}
lib::Result<void, VirtioError> Write32(uint64_t address, uint32_t value) {
  if (MmioWriteLe32(address, value).is_error()) return lib::Err(VirtioError::kMmio);
  return lib::Ok<VirtioError>();
}
// A 64-bit field as two 32-bit halves, low first (virtio 1.1 §4.1.3.1).
lib::Result<void, VirtioError> Write64(uint64_t address, uint64_t value) {
  TERN_TRY(Write32(address, static_cast<uint32_t>(value)));
  return Write32(address + 4, static_cast<uint32_t>(value >> 32));
}
lib::Result<uint8_t, VirtioError> Read8(uint64_t address) {
  auto value = MmioRead8(address);
  if (value.is_error()) return lib::Err(VirtioError::kMmio);
  return value.value();
}
lib::Result<uint16_t, VirtioError> Read16(uint64_t address) {
  auto value = MmioReadLe16(address);
  if (value.is_error()) return lib::Err(VirtioError::kMmio);
  return value.value();
}
lib::Result<uint32_t, VirtioError> Read32(uint64_t address) {
  auto value = MmioReadLe32(address);
  if (value.is_error()) return lib::Err(VirtioError::kMmio);
  return value.value();
}

}  // namespace

lib::Result<uint8_t, VirtioError> VirtioReadStatus(const VirtioPciTransport& transport) {
  return Read8(transport.common.address + kVirtioCommonDeviceStatus);
}

lib::Result<void, VirtioError> VirtioWriteStatus(const VirtioPciTransport& transport,
                                                 uint8_t status) {
  return Write8(transport.common.address + kVirtioCommonDeviceStatus, status);
}

lib::Result<void, VirtioError> VirtioReset(const VirtioPciTransport& transport,
                                           uint64_t timeout_ticks) {
  TERN_TRY(VirtioWriteStatus(transport, 0));
  const lib::Deadline deadline = lib::Deadline::After(timeout_ticks);
  for (;;) {
    auto status = VirtioReadStatus(transport);
    if (status.is_error()) return lib::Err(status.error());
    if (status.value() == 0) return lib::Ok<VirtioError>();
    if (deadline.Passed()) return lib::Err(VirtioError::kResetTimeout);
  }
}

lib::Result<uint64_t, VirtioError> VirtioDeviceFeatures(const VirtioPciTransport& transport) {
  const uint64_t common = transport.common.address;
  uint64_t features = 0;
  for (uint32_t word = 0; word < 2; ++word) {
    TERN_TRY(Write32(common + kVirtioCommonDeviceFeatureSelect, word));
    auto bits = Read32(common + kVirtioCommonDeviceFeature);
    if (bits.is_error()) return lib::Err(bits.error());
    features |= uint64_t{bits.value()} << (32 * word);
  }
  return features;
}

lib::Result<void, VirtioError> VirtioSetDriverFeatures(const VirtioPciTransport& transport,
                                                       uint64_t features) {
  const uint64_t common = transport.common.address;
  for (uint32_t word = 0; word < 2; ++word) {
    TERN_TRY(Write32(common + kVirtioCommonDriverFeatureSelect, word));
    TERN_TRY(Write32(common + kVirtioCommonDriverFeature,
                     static_cast<uint32_t>(features >> (32 * word))));
  }
  return lib::Ok<VirtioError>();
}

lib::Result<uint8_t, VirtioError> VirtioConfigGeneration(const VirtioPciTransport& transport) {
  return Read8(transport.common.address + kVirtioCommonConfigGeneration);
}

lib::Result<uint32_t, VirtioError> VirtioReadDeviceConfig32(const VirtioPciTransport& transport,
                                                            uint32_t offset) {
  if (!lib::RangeInside(offset, 4, 0, transport.device.length)) {
    return lib::Err(VirtioError::kBadDeviceConfig);
  }
  return Read32(transport.device.address + offset);
}

lib::Result<uint8_t, VirtioError> VirtioReadDeviceConfig8(const VirtioPciTransport& transport,
                                                          uint32_t offset) {
  if (!lib::RangeInside(offset, 1, 0, transport.device.length)) {
    return lib::Err(VirtioError::kBadDeviceConfig);
  }
  return Read8(transport.device.address + offset);
}

// ---------------------------------------------------------------------------------------------
// The split virtqueue.

namespace {

constexpr uint16_t kDescNext = 1;          // VIRTQ_DESC_F_NEXT
constexpr uint16_t kDescWrite = 2;         // VIRTQ_DESC_F_WRITE
constexpr uint16_t kAvailNoInterrupt = 1;  // VIRTQ_AVAIL_F_NO_INTERRUPT: tern polls

// The ring indexes are shared with the device: read and written whole, never byte by byte.
uint16_t LoadIndex(const uint8_t* at) {
  const uint16_t raw = __atomic_load_n(reinterpret_cast<const uint16_t*>(at), __ATOMIC_ACQUIRE);
  return lib::LoadLe16(&raw);
}
void StoreIndex(uint8_t* at, uint16_t value) {
  uint16_t raw = 0;
  lib::StoreLe16(&raw, value);
  __atomic_store_n(reinterpret_cast<uint16_t*>(at), raw, __ATOMIC_RELEASE);
}

}  // namespace

lib::Result<void, VirtioError> SplitQueue::Start(const VirtioPciTransport& transport,
                                                 uint16_t index, lib::GuestMemory& memory,
                                                 uint64_t address, uint64_t bytes) {
  const uint64_t common = transport.common.address;
  TERN_TRY(Write16(common + kVirtioCommonQueueSelect, index));
  auto maximum = Read16(common + kVirtioCommonQueueSize);
  if (maximum.is_error()) return lib::Err(maximum.error());
  // The largest power of two the device and tern both allow; a chain needs kMaxChain entries.
  uint16_t size = kMaxSize;
  while (size > maximum.value()) size = static_cast<uint16_t>(size / 2);
  if (size < kMaxChain) return lib::Err(VirtioError::kBadQueue);

  if (address % 16 != 0 || bytes < Bytes(size)) return lib::Err(VirtioError::kBadRingMemory);
  // The rings are firmware memory, which may be protected against the client's writes: the
  // check here is that the device can reach them, in guest RAM.
  auto ring = memory.Map(address, Bytes(size), false);
  if (ring.is_error()) return lib::Err(VirtioError::kBadRingMemory);
  const uint64_t available = address + sizeof(VirtqDesc) * size;
  const uint64_t used = lib::AlignUp(available + 6 + 2u * size, 4);

  auto notify_off = Read16(common + kVirtioCommonQueueNotifyOff);
  if (notify_off.is_error()) return lib::Err(notify_off.error());
  const uint64_t notify_offset = uint64_t{notify_off.value()} * transport.notify_off_multiplier;
  if (!lib::RangeInside(notify_offset, 2, 0, transport.notify.length)) {
    return lib::Err(VirtioError::kBadQueue);
  }

  lib::MemSet(ring.value(), 0, Bytes(size));
  descriptors_ = ring.value();
  available_ = ring.value() + (available - address);
  used_ = ring.value() + (used - address);
  lib::StoreLe16(available_, kAvailNoInterrupt);
  notify_address_ = transport.notify.address + notify_offset;
  index_ = index;
  size_ = size;
  next_available_ = 0;
  last_used_ = 0;
  for (uint32_t& length : lengths_) length = 0;

  TERN_TRY(Write16(common + kVirtioCommonQueueSize, size));
  TERN_TRY(Write64(common + kVirtioCommonQueueDesc, address));
  TERN_TRY(Write64(common + kVirtioCommonQueueDriver, available));
  TERN_TRY(Write64(common + kVirtioCommonQueueDevice, used));
  // The rings must be in memory before the device may look at them.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return Write16(common + kVirtioCommonQueueEnable, 1);
}

lib::Result<uint32_t, VirtioError> SplitQueue::Run(const VirtqBuffer* chain, uint16_t count,
                                                   uint64_t timeout_ticks) {
  if (size_ == 0 || count == 0 || count > kMaxChain) return lib::Err(VirtioError::kBadArgument);
  uint64_t writable = 0;
  for (uint16_t i = 0; i < count; ++i) {
    uint16_t flags = chain[i].device_writes ? kDescWrite : 0;
    if (i + 1 < count) flags |= kDescNext;
    const VirtqDesc descriptor{lib::Le64(chain[i].address), lib::Le32(chain[i].length),
                               lib::Le16(flags),
                               lib::Le16(static_cast<uint16_t>(i + 1 < count ? i + 1 : 0))};
    lib::StoreWire(descriptors_ + sizeof(VirtqDesc) * i, descriptor);
    if (chain[i].device_writes) writable += chain[i].length;
  }
  // The chain's head (descriptor 0) into the next available slot, then the index that hands it
  // to the device [virtio 1.1 §2.6.13].
  lib::StoreLe16(available_ + 4 + 2 * (next_available_ % size_), 0);
  ++next_available_;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  StoreIndex(available_ + 2, next_available_);
  // Everything above must reach memory before the device is told (hwsync).
  __atomic_thread_fence(__ATOMIC_SEQ_CST);

  const lib::Deadline deadline = lib::Deadline::After(timeout_ticks);
  TERN_TRY(Write16(notify_address_, index_));
  uint16_t used_index = LoadIndex(used_ + 2);
  while (used_index == last_used_) {
    if (deadline.Passed()) return lib::Err(VirtioError::kTimeout);
    used_index = LoadIndex(used_ + 2);
  }
  // One request was outstanding: the device may have used exactly one.
  if (static_cast<uint16_t>(used_index - last_used_) != 1) {
    return lib::Err(VirtioError::kBadUsedEntry);
  }
  const auto element =
      lib::LoadWire<VirtqUsedElem>(used_ + 4 + sizeof(VirtqUsedElem) * (last_used_ % size_));
  last_used_ = used_index;
  if (element.id.value() != 0 || element.len.value() > writable) {
    return lib::Err(VirtioError::kBadUsedEntry);
  }
  return element.len.value();
}

lib::Result<void, VirtioError> SplitQueue::Offer(uint16_t id, uint64_t address, uint32_t length) {
  if (size_ == 0 || id >= size_ || length == 0 || lengths_[id] != 0) {
    return lib::Err(VirtioError::kBadArgument);
  }
  const VirtqDesc descriptor{lib::Le64(address), lib::Le32(length), lib::Le16(kDescWrite),
                             lib::Le16(0)};
  lib::StoreWire(descriptors_ + sizeof(VirtqDesc) * id, descriptor);
  lengths_[id] = length;
  lib::StoreLe16(available_ + 4 + 2 * (next_available_ % size_), id);
  ++next_available_;
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> SplitQueue::Notify() {
  if (size_ == 0) return lib::Err(VirtioError::kBadArgument);
  // The descriptors and ring entries before the index that hands them over, and all of it before
  // the device is told [virtio 1.1 §2.6.13].
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  StoreIndex(available_ + 2, next_available_);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return Write16(notify_address_, index_);
}

uint16_t SplitQueue::outstanding() const {
  uint16_t count = 0;
  for (uint16_t id = 0; id < size_; ++id) count += lengths_[id] != 0 ? 1 : 0;
  return count;
}

lib::Result<bool, VirtioError> SplitQueue::TakeUsed(Used& used) {
  if (size_ == 0) return lib::Err(VirtioError::kBadArgument);
  const uint16_t used_index = LoadIndex(used_ + 2);
  if (used_index == last_used_) return false;
  if (static_cast<uint16_t>(used_index - last_used_) > outstanding()) {
    return lib::Err(VirtioError::kBadUsedEntry);
  }
  const auto element =
      lib::LoadWire<VirtqUsedElem>(used_ + 4 + sizeof(VirtqUsedElem) * (last_used_ % size_));
  ++last_used_;
  const uint32_t id = element.id.value();
  if (id >= size_ || lengths_[id] == 0 || element.len.value() > lengths_[id]) {
    return lib::Err(VirtioError::kBadUsedEntry);
  }
  lengths_[id] = 0;
  used = Used{static_cast<uint16_t>(id), element.len.value()};
  return true;
}

}  // namespace dev
