#include "dev/virtio-blk.h"

#include "lib/console.h"
#include "lib/format.h"
#include "lib/string.h"
#include "lib/timeout.h"
#include "lib/wire.h"

namespace dev {

namespace {

constexpr uint16_t kVirtioVendor = 0x1af4;
constexpr uint16_t kTransitionalBlk = 0x1001;
constexpr uint16_t kModernBlk = 0x1040 + 2;

// The device configuration [virtio 1.1 §5.2.4]: le64 capacity (512-byte sectors), ..., le32
// blk_size at 20.
constexpr uint32_t kCapacityLow = 0;
constexpr uint32_t kCapacityHigh = 4;
constexpr uint32_t kBlkSize = 20;
constexpr uint32_t kDeviceConfigBytes = 24;

// struct virtio_blk_req's header [virtio 1.1 §5.2.6]; the data and a status byte follow.
struct RequestHeader {
  lib::Le32 type;
  lib::Le32 reserved;
  lib::Le64 sector;
};
static_assert(sizeof(RequestHeader) == 16);

constexpr uint32_t kRequestIn = 0;  // VIRTIO_BLK_T_IN
constexpr uint8_t kStatusOk = 0;
constexpr uint8_t kStatusIoError = 1;
constexpr uint8_t kStatusUnsupported = 2;
constexpr uint8_t kStatusUnwritten = 0xff;  // what tern leaves there for the device to replace

constexpr uint32_t kSectorBytes = 512;

}  // namespace

bool IsVirtioBlk(const PciDevice& pci) {
  return pci.vendor_id == kVirtioVendor &&
         (pci.device_id == kTransitionalBlk || pci.device_id == kModernBlk);
}

lib::Result<void, VirtioError> VirtioBlk::Start(const PciDevice& pci, lib::GuestMemory& memory,
                                                uint64_t ring_address, uint64_t ring_bytes,
                                                uint64_t timebase_frequency) {
  (void)device_.Stop("virtio-blk");  // the device this driver ran before
  disk_ = block::Device{};
  memory_ = &memory;
  request_ticks_ = lib::SecondsToTicks(kVirtioBlkRequestSeconds, timebase_frequency);
  if (!IsVirtioBlk(pci)) return lib::Err(VirtioError::kNotVirtioBlk);
  if (auto started = BringUp(pci, ring_address, ring_bytes, timebase_frequency);
      started.is_error()) {
    lib::Printf("tern: virtio-blk %s: %s: not used\n", pci.name, VirtioErrorName(started.error()));
    (void)device_.Stop("virtio-blk");
    return started;
  }
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioBlk::BringUp(const PciDevice& pci, uint64_t ring_address,
                                                  uint64_t ring_bytes,
                                                  uint64_t timebase_frequency) {
  if (timebase_frequency == 0) return lib::Err(VirtioError::kBadArgument);
  if (ring_address % kVirtioBlkRingAlignment != 0 || ring_bytes < kVirtioBlkRingBytes ||
      memory_->Map(ring_address, ring_bytes, false).is_error()) {
    return lib::Err(VirtioError::kBadRingMemory);
  }
  // The header and the status byte follow the rings, 16-aligned.
  static_assert(SplitQueue::Bytes(SplitQueue::kMaxSize) + 16 + sizeof(RequestHeader) + 1 <=
                kVirtioBlkRingBytes);
  const uint64_t queue_bytes =
      lib::AlignUp(SplitQueue::Bytes(SplitQueue::kMaxSize), kVirtioBlkRingAlignment);
  header_address_ = ring_address + queue_bytes;
  header_ = memory_->Map(header_address_, sizeof(RequestHeader) + 1, false).value();

  auto accepted = device_.Begin(pci, kVirtioBlkFBlkSize, timebase_frequency);
  if (accepted.is_error()) return lib::Err(accepted.error());
  TERN_TRY(device_.StartQueue(queue_, 0, *memory_, ring_address, queue_bytes));
  TERN_TRY(ReadGeometry((accepted.value() & kVirtioBlkFBlkSize) != 0));
  TERN_TRY(device_.Ready());
  disk_.read = ReadBlocks;
  disk_.driver = this;
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioBlk::ReadGeometry(bool has_blk_size) {
  static constexpr uint32_t kFields[] = {kCapacityLow, kCapacityHigh, kBlkSize};
  uint32_t values[3] = {};
  TERN_TRY(device_.ReadConfig(kDeviceConfigBytes, kFields, values));
  const uint64_t capacity = (uint64_t{values[1]} << 32) | values[0];  // in 512-byte sectors
  const uint32_t blk_size = has_blk_size ? values[2] : kSectorBytes;
  const char* name = device_.pci()->name;
  if (block::CheckGeometry(blk_size, 1).is_error()) {
    lib::Printf("tern: virtio-blk %s: blk_size %u is not a power of two from 512 to 16384\n", name,
                blk_size);
    return lib::Err(VirtioError::kBadDeviceConfig);
  }
  const uint64_t blocks = capacity / (blk_size / kSectorBytes);
  if (auto geometry = block::CheckGeometry(blk_size, blocks); geometry.is_error()) {
    lib::Printf("tern: virtio-blk %s: capacity of %llu sectors in blocks of %u bytes: %s\n", name,
                static_cast<unsigned long long>(capacity), blk_size,
                block::GeometryErrorName(geometry.error()));
    return lib::Err(VirtioError::kBadDeviceConfig);
  }
  disk_.block_size = blk_size;
  disk_.blocks = blocks;
  disk_.max_transfer_blocks = kVirtioBlkMaxRequestBytes / blk_size;
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioBlk::ResetForOs() {
  return device_.Stop("virtio-blk");
}

lib::Result<void, block::IoError> VirtioBlk::ReadBlocks(void* driver, uint64_t lba, uint32_t count,
                                                        uint64_t buffer) {
  return static_cast<VirtioBlk*>(driver)->Read(lba, count, buffer);
}

lib::Result<void, block::IoError> VirtioBlk::Read(uint64_t lba, uint32_t count, uint64_t buffer) {
  if (!running()) return lib::Err(block::IoError::kNotReady);
  if (lba > disk_.blocks || count > disk_.blocks - lba || count > disk_.max_transfer_blocks) {
    return lib::Err(block::IoError::kOutOfRange);
  }
  const uint32_t bytes = count * disk_.block_size;  // at most kVirtioBlkMaxRequestBytes
  if (bytes == 0) return lib::Ok<block::IoError>();
  // The device writes there: it must be guest RAM. Protection against the client is the
  // caller's (the client interface reads through a bounce buffer of its own).
  if (memory_->Map(buffer, bytes, false).is_error()) return lib::Err(block::IoError::kBadBuffer);
  const uint64_t sector = lba * (disk_.block_size / kSectorBytes);
  lib::StoreWire(header_, RequestHeader{lib::Le32(kRequestIn), lib::Le32(0), lib::Le64(sector)});
  header_[sizeof(RequestHeader)] = kStatusUnwritten;
  const VirtqBuffer chain[3] = {
      {header_address_, sizeof(RequestHeader), false},
      {buffer, bytes, true},
      {header_address_ + sizeof(RequestHeader), 1, true},
  };
  const char* name = device_.pci()->name;
  auto used = queue_.Run(chain, 3, request_ticks_);
  if (used.is_error()) {
    // The request may still be in the device: reset it, so that nothing lands in the buffer
    // later, and use it no more.
    lib::Printf("tern: virtio-blk %s: read of sector %llu: %s; the device is reset\n", name,
                static_cast<unsigned long long>(sector), VirtioErrorName(used.error()));
    (void)device_.Stop("virtio-blk");
    return lib::Err(used.error() == VirtioError::kTimeout ? block::IoError::kTimeout
                                                          : block::IoError::kBadResponse);
  }
  const uint8_t status = __atomic_load_n(&header_[sizeof(RequestHeader)], __ATOMIC_ACQUIRE);
  switch (status) {
    case kStatusOk: return lib::Ok<block::IoError>();
    case kStatusIoError:
    case kStatusUnsupported:
      lib::Printf("tern: virtio-blk %s: read of sector %llu: %s\n", name,
                  static_cast<unsigned long long>(sector),
                  status == kStatusIoError ? "I/O error" : "unsupported");
      return lib::Err(block::IoError::kDevice);
    default:
      lib::Printf("tern: virtio-blk %s: read of sector %llu: status byte 0x%02x\n", name,
                  static_cast<unsigned long long>(sector), status);
      return lib::Err(block::IoError::kBadResponse);
  }
}

// ---------------------------------------------------------------------------------------------
// The driver table's entry: QEMU's virtio-blk-pci.

namespace {

struct Instance {
  VirtioBlk driver;
  char description[64] = {};
  DriverState state() const { return driver.state(); }
};

constinit Pool<Instance, kVirtioBlkInstances> pool;

constexpr PciId kIds[] = {{kVirtioVendor, kTransitionalBlk}, {kVirtioVendor, kModernBlk}};

lib::Result<void, ProbeError> Probe(ProbeEnv& env, const ProbeTarget& target) {
  const PciDevice& pci = *target.pci;
  if (target.path[0] == '\0') {
    lib::Printf("tern: %s: virtio-blk without a device-tree node: not used\n", pci.name);
    return lib::Err(ProbeError::kRefused);
  }
  Instance* instance = pool.Take();
  if (instance == nullptr) return lib::Err(ProbeError::kPoolFull);
  DmaLease dma(env.dma);
  const uint64_t ring = dma.Take(kVirtioBlkRingBytes, 64);
  if (ring == 0) {
    lib::Printf("tern: virtio-blk %s: no DMA memory left: not used\n", pci.name);
    return lib::Err(ProbeError::kRefused);
  }
  if (instance->driver.Start(pci, env.memory, ring, kVirtioBlkRingBytes, env.timebase_frequency)
          .is_error()) {
    return lib::Err(ProbeError::kRefused);  // Start said why
  }
  const block::Device& disk = instance->driver.disk();
  (void)lib::FormatToBuffer(instance->description, sizeof(instance->description),
                            "virtio-blk, %llu blocks of %u bytes (%llu MiB)",
                            static_cast<unsigned long long>(disk.blocks), disk.block_size,
                            static_cast<unsigned long long>(disk.bytes() >> 20));
  FoundDevice found;
  found.path = target.path;
  found.block = &disk;
  found.description = instance->description;
  if (!env.sink.add(env.sink.context, found)) {
    (void)instance->driver.ResetForOs();
    return lib::Err(ProbeError::kRefused);  // the sink said why
  }
  dma.Keep();
  return lib::Ok<ProbeError>();
}

void Quiesce() {
  pool.ForEachRunning([](Instance& instance) {
    if (auto reset = instance.driver.ResetForOs(); reset.is_error()) {
      lib::Printf("tern: virtio-blk reset for the OS failed: %s\n", VirtioErrorName(reset.error()));
    }
  });
}

}  // namespace

TERN_DRIVER(kVirtioBlkDriver) = {{"virtio-blk", kIds, nullptr, Probe, Quiesce}};

}  // namespace dev
