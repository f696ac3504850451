#include "dev/virtio-scsi.h"

#include "dev/scsi.h"
#include "lib/be.h"
#include "lib/console.h"
#include "lib/format.h"
#include "lib/string.h"
#include "lib/timeout.h"
#include "lib/wire.h"

namespace dev {

namespace {

constexpr uint16_t kVirtioVendor = 0x1af4;
constexpr uint16_t kTransitionalScsi = 0x1004;
constexpr uint16_t kModernScsi = 0x1040 + 8;

// The device configuration, struct virtio_scsi_config [virtio 1.1 §5.6.4].
constexpr uint32_t kNumQueues = 0;
constexpr uint32_t kSegMax = 4;
constexpr uint32_t kMaxSectors = 8;
constexpr uint32_t kSenseSize = 20;
constexpr uint32_t kCdbSize = 24;
constexpr uint32_t kMaxChannelAndTarget = 28;  // le16 max_channel, le16 max_target
constexpr uint32_t kMaxLun = 32;
constexpr uint32_t kDeviceConfigBytes = 36;

// struct virtio_scsi_req_cmd and struct virtio_scsi_resp_cmd [virtio 1.1 §5.6.6.1], without
// their cdb and sense arrays, whose sizes are the configuration's cdb_size and sense_size. The
// request's u8 task_attr, prio and crn follow its head; the CDB starts at byte 19.
struct RequestHead {
  uint8_t lun[8];
  lib::Le64 tag;
};
static_assert(sizeof(RequestHead) == 16);
constexpr uint32_t kRequestTaskAttribute = 16;  // then prio, crn
constexpr uint32_t kRequestCdb = 19;
struct ResponseHead {
  lib::Le32 sense_len;
  lib::Le32 resid;
  lib::Le16 status_qualifier;
  uint8_t status;
  uint8_t response;
};
static_assert(sizeof(ResponseHead) == 12);
constexpr uint32_t kResponseCode = 11;  // ResponseHead::response, written last by the device
constexpr uint32_t kResponseSense = sizeof(ResponseHead);
constexpr uint8_t kTaskSimple = 0;            // VIRTIO_SCSI_S_SIMPLE
constexpr uint8_t kResponseUnwritten = 0xff;  // what tern leaves there for the device to replace

// The flat LUN structure QEMU and Linux use (SAM-5 §4.7: a single-level LUN, "flat space"
// addressing, 0x40 in the top two bits of byte 0): LUNs up to 16383.
constexpr uint32_t kMaxEncodableTarget = 255;
constexpr uint32_t kMaxEncodableLun = 0x3fff;

constexpr uint32_t kSectorBytes = 512;
constexpr uint64_t kMaxTransferBytes = uint64_t{1} << 30;

// Where the request and the response go in the ring memory: after the rings, each 16-aligned.
constexpr uint64_t kRequestOffset =
    lib::AlignUp(SplitQueue::Bytes(SplitQueue::kMaxSize), kVirtioScsiRingAlignment);
constexpr uint64_t kResponseOffset =
    lib::AlignUp(kRequestOffset + kRequestCdb + kVirtioScsiMaxCdbSize, kVirtioScsiRingAlignment);
static_assert(kResponseOffset + kResponseSense + kVirtioScsiMaxSenseSize <= kVirtioScsiRingBytes);

const char* ResponseName(uint8_t response) {
  switch (response) {
    case kVirtioScsiSOverrun: return "OVERRUN (the buffer is smaller than the command's transfer)";
    case kVirtioScsiSAborted: return "ABORTED";
    case kVirtioScsiSReset: return "RESET";
    case kVirtioScsiSBusy: return "BUSY";
    case kVirtioScsiSTransportFailure: return "TRANSPORT_FAILURE";
    case kVirtioScsiSTargetFailure: return "TARGET_FAILURE";
    case kVirtioScsiSNexusFailure: return "NEXUS_FAILURE";
    case kVirtioScsiSFailure: return "FAILURE";
    default: return "an unknown response";
  }
}

}  // namespace

bool IsVirtioScsi(const PciDevice& pci) {
  return pci.vendor_id == kVirtioVendor &&
         (pci.device_id == kTransitionalScsi || pci.device_id == kModernScsi);
}

bool VirtioScsiUnitAddress(uint32_t target, uint32_t lun, char* out, size_t size) {
  if (target > kMaxEncodableTarget || lun > kMaxEncodableLun || out == nullptr) return false;
  uint32_t id = 0x01000000u | target << 16 | lun;
  if (lun >= 256) id |= 0x4000;
  const size_t length =
      lib::FormatToBuffer(out, size, "%llX", static_cast<unsigned long long>(uint64_t{id} << 32));
  return length < size;
}

lib::Result<void, VirtioError> VirtioScsi::Start(const PciDevice& pci, lib::GuestMemory& memory,
                                                 uint64_t ring_address, uint64_t ring_bytes,
                                                 uint64_t timebase_frequency) {
  (void)device_.Stop("virtio-scsi");  // the device this driver ran before
  memory_ = &memory;
  request_ticks_ = lib::SecondsToTicks(kVirtioScsiRequestSeconds, timebase_frequency);
  request_queues_ = cdb_size_ = sense_size_ = max_transfer_bytes_ = 0;
  max_target_ = max_lun_ = 0;
  if (!IsVirtioScsi(pci)) return lib::Err(VirtioError::kNotVirtioScsi);
  if (auto started = BringUp(pci, ring_address, ring_bytes, timebase_frequency);
      started.is_error()) {
    lib::Printf("tern: virtio-scsi %s: %s: not used\n", pci.name, VirtioErrorName(started.error()));
    (void)device_.Stop("virtio-scsi");
    return started;
  }
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioScsi::BringUp(const PciDevice& pci, uint64_t ring_address,
                                                   uint64_t ring_bytes,
                                                   uint64_t timebase_frequency) {
  if (timebase_frequency == 0) return lib::Err(VirtioError::kBadArgument);
  if (ring_address % kVirtioScsiRingAlignment != 0 || ring_bytes < kVirtioScsiRingBytes ||
      memory_->Map(ring_address, ring_bytes, false).is_error()) {
    return lib::Err(VirtioError::kBadRingMemory);
  }
  request_address_ = ring_address + kRequestOffset;
  response_address_ = ring_address + kResponseOffset;
  request_ = memory_->Map(request_address_, kRequestCdb + kVirtioScsiMaxCdbSize, false).value();
  response_ =
      memory_->Map(response_address_, kResponseSense + kVirtioScsiMaxSenseSize, false).value();
  auto accepted = device_.Begin(pci, 0, timebase_frequency);
  if (accepted.is_error()) return lib::Err(accepted.error());
  TERN_TRY(ReadConfig());
  TERN_TRY(
      device_.StartQueue(queue_, kVirtioScsiRequestQueue, *memory_, ring_address, kRequestOffset));
  return device_.Ready();
}

lib::Result<void, VirtioError> VirtioScsi::ReadConfig() {
  static constexpr uint32_t kFields[] = {kNumQueues, kSegMax, kMaxSectors,         kSenseSize,
                                         kCdbSize,   kMaxLun, kMaxChannelAndTarget};
  uint32_t values[7] = {};
  TERN_TRY(device_.ReadConfig(kDeviceConfigBytes, kFields, values));
  const uint32_t num_queues = values[0];
  const uint32_t seg_max = values[1];
  const uint32_t max_sectors = values[2];
  const uint32_t sense_size = values[3];
  const uint32_t cdb_size = values[4];
  const uint32_t max_lun = values[5];
  const uint32_t max_target = values[6] >> 16;
  if (num_queues == 0 || seg_max == 0 || max_sectors == 0 || cdb_size < kVirtioScsiMinCdbSize ||
      cdb_size > kVirtioScsiMaxCdbSize || sense_size > kVirtioScsiMaxSenseSize) {
    lib::Printf(
        "tern: virtio-scsi %s: num_queues %u, seg_max %u, max_sectors %u, cdb_size %u, "
        "sense_size %u: tern needs at least 1, 1, 1, %u to %u, at most %u\n",
        device_.pci()->name, num_queues, seg_max, max_sectors, cdb_size, sense_size,
        kVirtioScsiMinCdbSize, kVirtioScsiMaxCdbSize, kVirtioScsiMaxSenseSize);
    return lib::Err(VirtioError::kBadDeviceConfig);
  }
  request_queues_ = num_queues;
  cdb_size_ = cdb_size;
  sense_size_ = sense_size;
  max_transfer_bytes_ = static_cast<uint32_t>(
      lib::Min<uint64_t>(uint64_t{max_sectors} * kSectorBytes, kMaxTransferBytes));
  max_target_ = lib::Min(max_target, kVirtioScsiMaxTarget);
  max_lun_ = lib::Min(max_lun, kVirtioScsiMaxLun);
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioScsi::ResetForOs() {
  return device_.Stop("virtio-scsi");
}

ScsiTransport VirtioScsi::transport() {
  ScsiTransport transport;
  transport.execute = ExecuteThunk;
  transport.adapter = this;
  transport.max_target = max_target_;
  transport.max_lun = max_lun_;
  transport.unit_address = UnitAddressThunk;
  transport.max_transfer_bytes = max_transfer_bytes_;
  return transport;
}

lib::Result<ScsiResponse, block::IoError> VirtioScsi::ExecuteThunk(void* adapter,
                                                                   const ScsiCommand& command) {
  return static_cast<VirtioScsi*>(adapter)->Execute(command);
}

bool VirtioScsi::UnitAddressThunk(void*, uint32_t target, uint32_t lun, char* out, size_t size) {
  return VirtioScsiUnitAddress(target, lun, out, size);
}

lib::Result<ScsiResponse, block::IoError> VirtioScsi::Execute(const ScsiCommand& command) {
  if (!running()) return lib::Err(block::IoError::kNotReady);
  if (command.target > max_target_ || command.lun > max_lun_ || command.cdb_length == 0 ||
      command.cdb_length > sizeof(command.cdb) || command.data_length > max_transfer_bytes_) {
    return lib::Err(block::IoError::kOutOfRange);
  }
  // The device writes there: it must be guest RAM.
  if (command.data_length > 0 &&
      memory_->Map(command.data, command.data_length, false).is_error()) {
    return lib::Err(block::IoError::kBadBuffer);
  }
  PrepareRequest(command);
  // Device-readable first, then the response, then data-in [virtio 1.1 §5.6.6].
  const VirtqBuffer chain[3] = {
      {request_address_, kRequestCdb + cdb_size_, false},
      {response_address_, kResponseSense + sense_size_, true},
      {command.data, command.data_length, true},
  };
  const uint16_t count = command.data_length > 0 ? 3 : 2;
  auto used = queue_.Run(chain, count, request_ticks_);
  if (used.is_error()) {
    // The command may still be in the device: reset it, so that nothing lands in the buffer
    // later, and use it no more.
    lib::Printf("tern: virtio-scsi %s: target %u LUN %u command 0x%02x: %s; the device is reset\n",
                device_.pci()->name, command.target, command.lun, command.cdb[0],
                VirtioErrorName(used.error()));
    (void)device_.Stop("virtio-scsi");
    return lib::Err(used.error() == VirtioError::kTimeout ? block::IoError::kTimeout
                                                          : block::IoError::kBadResponse);
  }
  return ReadResponse(command);
}

void VirtioScsi::PrepareRequest(const ScsiCommand& command) {
  lib::MemSet(request_, 0, kRequestCdb + cdb_size_);
  RequestHead head{};
  head.lun[0] = 1;
  head.lun[1] = static_cast<uint8_t>(command.target);
  head.lun[2] = static_cast<uint8_t>(0x40 | command.lun >> 8);
  head.lun[3] = static_cast<uint8_t>(command.lun);
  head.tag = lib::Le64(++last_tag_);
  lib::StoreWire(request_, head);
  request_[kRequestTaskAttribute] = kTaskSimple;
  lib::MemCopy(request_ + kRequestCdb, command.cdb, command.cdb_length);
  lib::MemSet(response_, 0, kResponseSense + sense_size_);
  response_[kResponseCode] = kResponseUnwritten;
}

lib::Result<ScsiResponse, block::IoError> VirtioScsi::ReadResponse(const ScsiCommand& command) {
  const char* name = device_.pci()->name;
  const uint8_t code = __atomic_load_n(&response_[kResponseCode], __ATOMIC_ACQUIRE);
  ScsiResponse response;
  switch (code) {
    case kVirtioScsiSOk: break;
    case kVirtioScsiSBadTarget:
    case kVirtioScsiSIncorrectLun: response.no_such_target = true; return response;
    case kResponseUnwritten:
      lib::Printf("tern: virtio-scsi %s: target %u LUN %u command 0x%02x: no response written\n",
                  name, command.target, command.lun, command.cdb[0]);
      return lib::Err(block::IoError::kBadResponse);
    default:
      lib::Printf("tern: virtio-scsi %s: target %u LUN %u command 0x%02x: response %u, %s\n", name,
                  command.target, command.lun, command.cdb[0], code, ResponseName(code));
      return lib::Err(block::IoError::kDevice);
  }
  const auto head = lib::LoadWire<ResponseHead>(response_);
  const uint32_t sense_length = head.sense_len.value();
  const uint32_t residual = head.resid.value();
  if (sense_length > sense_size_ || residual > command.data_length) {
    lib::Printf(
        "tern: virtio-scsi %s: target %u LUN %u command 0x%02x: sense_len %u (of %u), residual "
        "%u (of %u) out of range\n",
        name, command.target, command.lun, command.cdb[0], sense_length, sense_size_, residual,
        command.data_length);
    return lib::Err(block::IoError::kBadResponse);
  }
  response.status = head.status;
  response.residual = residual;
  response.sense_length =
      static_cast<uint8_t>(lib::Min<uint32_t>(sense_length, sizeof(response.sense)));
  lib::MemCopy(response.sense, response_ + kResponseSense, response.sense_length);
  return response;
}

// ---------------------------------------------------------------------------------------------
// The driver table's entry: QEMU's virtio-scsi-pci, its LUNs through the SCSI layer.

namespace {

struct Instance {
  VirtioScsi driver;
  ScsiTransport transport;  // what the SCSI layer's disks hold on to
  DriverState state() const { return driver.state(); }
};

constinit Pool<Instance, kVirtioScsiInstances> pool;

constexpr PciId kIds[] = {{kVirtioVendor, kTransitionalScsi}, {kVirtioVendor, kModernScsi}};

lib::Result<void, ProbeError> Probe(ProbeEnv& env, const ProbeTarget& target) {
  const PciDevice& pci = *target.pci;
  if (target.path[0] == '\0') {
    lib::Printf("tern: %s: virtio-scsi without a device-tree node: not used\n", pci.name);
    return lib::Err(ProbeError::kRefused);
  }
  Instance* instance = pool.Take();
  if (instance == nullptr) return lib::Err(ProbeError::kPoolFull);
  DmaLease dma(env.dma);
  const uint64_t scratch = dma.Take(kScsiScratchBytes, 4096);
  const uint64_t ring = dma.Take(kVirtioScsiRingBytes, 64);
  if (scratch == 0 || ring == 0) {
    lib::Printf("tern: virtio-scsi %s: no DMA memory left: not used\n", pci.name);
    return lib::Err(ProbeError::kRefused);
  }
  VirtioScsi& driver = instance->driver;
  if (driver.Start(pci, env.memory, ring, kVirtioScsiRingBytes, env.timebase_frequency)
          .is_error()) {
    return lib::Err(ProbeError::kRefused);  // Start said why
  }
  instance->transport = driver.transport();
  // An adapter with no usable disk takes no instance (and no memory).
  if (ProbeScsiUnits(env, instance->transport, target.path, scratch) == 0) {
    (void)driver.ResetForOs();
    return lib::Err(ProbeError::kRefused);
  }
  dma.Keep();
  return lib::Ok<ProbeError>();
}

void Quiesce() {
  pool.ForEachRunning([](Instance& instance) {
    if (auto reset = instance.driver.ResetForOs(); reset.is_error()) {
      lib::Printf("tern: virtio-scsi reset for the OS failed: %s\n",
                  VirtioErrorName(reset.error()));
    }
  });
}

}  // namespace

TERN_DRIVER(kVirtioScsiDriver) = {{"virtio-scsi", kIds, nullptr, Probe, Quiesce}};

}  // namespace dev
