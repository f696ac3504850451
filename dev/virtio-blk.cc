#include "dev/virtio-blk.h"

#include "lib/be.h"
#include "lib/console.h"
#include "lib/string.h"

namespace dev {

namespace {

constexpr uint16_t kVirtioVendor = 0x1af4;
constexpr uint16_t kTransitionalBlk = 0x1001;
constexpr uint16_t kModernBlk = 0x1040 + 2;

// The device configuration [virtio 1.1 §5.2.4].
constexpr uint32_t kCapacity = 0;
constexpr uint32_t kBlkSize = 20;
constexpr uint32_t kDeviceConfigBytes = 24;

// Requests [virtio 1.1 §5.2.6].
constexpr uint32_t kRequestIn = 0;  // VIRTIO_BLK_T_IN
constexpr uint32_t kHeaderBytes = 16;
constexpr uint8_t kStatusOk = 0;
constexpr uint8_t kStatusIoError = 1;
constexpr uint8_t kStatusUnsupported = 2;
constexpr uint8_t kStatusUnwritten = 0xff;  // what tern leaves there for the device to replace

constexpr uint32_t kSectorBytes = 512;
constexpr uint32_t kMaxBlockSize = 16384;
constexpr int kMaxGenerationRetries = 8;

}  // namespace

bool IsVirtioBlk(const PciDevice& pci) {
  return pci.vendor_id == kVirtioVendor &&
         (pci.device_id == kTransitionalBlk || pci.device_id == kModernBlk);
}

lib::Result<void, VirtioError> VirtioBlk::Start(const PciDevice& pci, lib::GuestMemory& memory,
                                                uint64_t ring_address, uint64_t ring_bytes,
                                                uint64_t timebase_frequency) {
  if (enabled_) (void)Stop();  // the device this driver ran before
  running_ = false;
  disk_ = block::Device{};
  pci_ = &pci;
  memory_ = &memory;
  transport_ = VirtioPciTransport{};
  ticks_per_second_ = timebase_frequency;
  if (!IsVirtioBlk(pci)) return lib::Err(VirtioError::kNotVirtioBlk);
  if (auto started = BringUp(ring_address, ring_bytes); started.is_error()) {
    lib::Printf("tern: virtio-blk %s: %s: not used\n", pci.name, VirtioErrorName(started.error()));
    (void)Stop();
    return started;
  }
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioBlk::BringUp(uint64_t ring_address, uint64_t ring_bytes) {
  if (ticks_per_second_ == 0) return lib::Err(VirtioError::kBadArgument);
  if (ring_address % kVirtioBlkRingAlignment != 0 || ring_bytes < kVirtioBlkRingBytes ||
      memory_->Map(ring_address, ring_bytes, false).is_error()) {
    return lib::Err(VirtioError::kBadRingMemory);
  }
  auto transport = FindVirtioPciTransport(*pci_);
  if (transport.is_error()) return lib::Err(transport.error());
  transport_ = transport.value();
  // The header and the status byte follow the rings, 16-aligned.
  static_assert(SplitQueue::Bytes(SplitQueue::kMaxSize) + 16 + kHeaderBytes + 1 <=
                kVirtioBlkRingBytes);
  const uint64_t queue_bytes =
      lib::AlignUp(SplitQueue::Bytes(SplitQueue::kMaxSize), kVirtioBlkRingAlignment);
  header_address_ = ring_address + queue_bytes;
  header_ = memory_->Map(header_address_, kHeaderBytes + 1, false).value();

  if (EnableDevice(*pci_).is_error()) {
    (void)DisableDevice(*pci_);
    return lib::Err(VirtioError::kConfigSpace);
  }
  enabled_ = true;  // from here on, Stop resets the device and turns it off again
  auto accepted = Negotiate();
  if (accepted.is_error()) return lib::Err(accepted.error());
  TERN_TRY(queue_.Start(transport_, 0, *memory_, ring_address, queue_bytes));
  TERN_TRY(ReadGeometry((accepted.value() & kVirtioBlkFBlkSize) != 0));
  TERN_TRY(VirtioWriteStatus(
      transport_, kVirtioAcknowledge | kVirtioDriver | kVirtioFeaturesOk | kVirtioDriverOk));
  disk_.read = ReadBlocks;
  disk_.driver = this;
  running_ = true;
  return lib::Ok<VirtioError>();
}

lib::Result<uint64_t, VirtioError> VirtioBlk::Negotiate() {
  TERN_TRY(VirtioReset(transport_, kVirtioBlkResetSeconds * ticks_per_second_));
  TERN_TRY(VirtioWriteStatus(transport_, kVirtioAcknowledge));
  TERN_TRY(VirtioWriteStatus(transport_, kVirtioAcknowledge | kVirtioDriver));
  auto offered = VirtioDeviceFeatures(transport_);
  if (offered.is_error()) return lib::Err(offered.error());
  if ((offered.value() & kVirtioFVersion1) == 0) return lib::Err(VirtioError::kNoVersion1);
  // Its DMA would go through the PHB's TCE table, which tern does not program.
  const uint64_t platform = offered.value() & kVirtioFAccessPlatform;
  if (platform != 0) return lib::Err(VirtioError::kAccessPlatform);
  const uint64_t accepted = kVirtioFVersion1 | (offered.value() & kVirtioBlkFBlkSize);
  TERN_TRY(VirtioSetDriverFeatures(transport_, accepted));
  TERN_TRY(VirtioWriteStatus(transport_, kVirtioAcknowledge | kVirtioDriver | kVirtioFeaturesOk));
  auto status = VirtioReadStatus(transport_);
  if (status.is_error()) return lib::Err(status.error());
  if ((status.value() & kVirtioFeaturesOk) == 0) return lib::Err(VirtioError::kFeaturesRejected);
  return accepted;
}

lib::Result<void, VirtioError> VirtioBlk::ReadGeometry(bool has_blk_size) {
  if (transport_.device.length < kDeviceConfigBytes) return lib::Err(VirtioError::kBadDeviceConfig);
  // A consistent snapshot of fields wider than one access: the generation must not change
  // around the reads [virtio 1.1 §4.1.4.3.1].
  uint64_t capacity = 0;
  uint32_t blk_size = kSectorBytes;
  bool consistent = false;
  for (int attempt = 0; attempt < kMaxGenerationRetries && !consistent; ++attempt) {
    auto before = VirtioConfigGeneration(transport_);
    auto low = VirtioReadDeviceConfig32(transport_, kCapacity);
    auto high = VirtioReadDeviceConfig32(transport_, kCapacity + 4);
    auto size = VirtioReadDeviceConfig32(transport_, kBlkSize);
    auto after = VirtioConfigGeneration(transport_);
    if (before.is_error() || low.is_error() || high.is_error() || size.is_error() ||
        after.is_error()) {
      return lib::Err(VirtioError::kMmio);
    }
    capacity = (uint64_t{high.value()} << 32) | low.value();
    if (has_blk_size) blk_size = size.value();
    consistent = before.value() == after.value();
  }
  if (!consistent) return lib::Err(VirtioError::kBadDeviceConfig);
  if (!lib::IsPowerOfTwo(blk_size) || blk_size < kSectorBytes || blk_size > kMaxBlockSize) {
    lib::Printf("tern: virtio-blk %s: blk_size %u is not a power of two from 512 to 16384\n",
                pci_->name, blk_size);
    return lib::Err(VirtioError::kBadDeviceConfig);
  }
  disk_.block_size = blk_size;
  disk_.blocks = capacity / (blk_size / kSectorBytes);
  disk_.max_transfer_blocks = kVirtioBlkMaxRequestBytes / blk_size;
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioBlk::Stop() {
  running_ = false;
  // Never turned on, or already reset and turned off: nothing of the device to touch.
  if (!enabled_) return lib::Ok<VirtioError>();
  auto reset = VirtioReset(transport_, kVirtioBlkResetSeconds * ticks_per_second_);
  const bool disabled = DisableDevice(*pci_).is_ok();
  enabled_ = !disabled;
  if (reset.is_error()) {
    lib::Printf("tern: virtio-blk %s: reset: %s\n", pci_->name, VirtioErrorName(reset.error()));
    return reset;
  }
  if (!disabled) {
    lib::Printf("tern: virtio-blk %s: turning bus mastering off: %s\n", pci_->name,
                VirtioErrorName(VirtioError::kConfigSpace));
    return lib::Err(VirtioError::kConfigSpace);
  }
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioBlk::ResetForOs() {
  return Stop();
}

lib::Result<void, block::IoError> VirtioBlk::ReadBlocks(void* driver, uint64_t lba, uint32_t count,
                                                        uint64_t buffer) {
  return static_cast<VirtioBlk*>(driver)->Read(lba, count, buffer);
}

lib::Result<void, block::IoError> VirtioBlk::Read(uint64_t lba, uint32_t count, uint64_t buffer) {
  if (!running_) return lib::Err(block::IoError::kNotReady);
  if (lba > disk_.blocks || count > disk_.blocks - lba)
    return lib::Err(block::IoError::kOutOfRange);
  const uint64_t bytes = uint64_t{count} * disk_.block_size;
  if (bytes == 0) return lib::Ok<block::IoError>();
  // The device writes there: it must be guest RAM. Protection against the client is the
  // caller's (the client interface reads through a bounce buffer of its own).
  if (memory_->Map(buffer, bytes, false).is_error()) return lib::Err(block::IoError::kBadBuffer);
  const uint64_t sectors_per_block = disk_.block_size / kSectorBytes;
  uint64_t sector = lba * sectors_per_block;
  for (uint64_t done = 0; done < bytes;) {
    const auto chunk =
        static_cast<uint32_t>(lib::Min<uint64_t>(bytes - done, kVirtioBlkMaxRequestBytes));
    TERN_TRY(Request(sector, buffer + done, chunk));
    done += chunk;
    sector += chunk / kSectorBytes;
  }
  return lib::Ok<block::IoError>();
}

lib::Result<void, block::IoError> VirtioBlk::Request(uint64_t sector, uint64_t buffer,
                                                     uint32_t bytes) {
  lib::StoreLe32(header_, kRequestIn);
  lib::StoreLe32(header_ + 4, 0);
  lib::StoreLe64(header_ + 8, sector);
  header_[kHeaderBytes] = kStatusUnwritten;
  const VirtqBuffer chain[3] = {
      {header_address_, kHeaderBytes, false},
      {buffer, bytes, true},
      {header_address_ + kHeaderBytes, 1, true},
  };
  auto used = queue_.Run(chain, 3, kVirtioBlkRequestSeconds * ticks_per_second_);
  if (used.is_error()) {
    // The request may still be in the device: reset it, so that nothing lands in the buffer
    // later, and use it no more.
    lib::Printf("tern: virtio-blk %s: read of sector %llu: %s; the device is reset\n", pci_->name,
                static_cast<unsigned long long>(sector), VirtioErrorName(used.error()));
    (void)Stop();
    return lib::Err(used.error() == VirtioError::kTimeout ? block::IoError::kTimeout
                                                          : block::IoError::kBadResponse);
  }
  const uint8_t status = __atomic_load_n(&header_[kHeaderBytes], __ATOMIC_ACQUIRE);
  switch (status) {
    case kStatusOk: return lib::Ok<block::IoError>();
    case kStatusIoError:
    case kStatusUnsupported:
      lib::Printf("tern: virtio-blk %s: read of sector %llu: %s\n", pci_->name,
                  static_cast<unsigned long long>(sector),
                  status == kStatusIoError ? "I/O error" : "unsupported");
      return lib::Err(block::IoError::kDevice);
    default:
      lib::Printf("tern: virtio-blk %s: read of sector %llu: status byte 0x%02x\n", pci_->name,
                  static_cast<unsigned long long>(sector), status);
      return lib::Err(block::IoError::kBadResponse);
  }
}

}  // namespace dev
