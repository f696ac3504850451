#include "dev/virtio-scsi.h"

#include "lib/be.h"
#include "lib/console.h"
#include "lib/format.h"
#include "lib/string.h"

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
// their cdb and sense arrays, whose sizes are the configuration's cdb_size and sense_size.
constexpr uint32_t kRequestLun = 0;
constexpr uint32_t kRequestTag = 8;
constexpr uint32_t kRequestTaskAttribute = 16;  // then prio, crn
constexpr uint32_t kRequestCdb = 19;
constexpr uint32_t kResponseSenseLength = 0;
constexpr uint32_t kResponseResidual = 4;
constexpr uint32_t kResponseStatus = 10;  // after le16 status_qualifier
constexpr uint32_t kResponseCode = 11;
constexpr uint32_t kResponseSense = 12;
constexpr uint8_t kTaskSimple = 0;            // VIRTIO_SCSI_S_SIMPLE
constexpr uint8_t kResponseUnwritten = 0xff;  // what tern leaves there for the device to replace

// The flat LUN structure QEMU and Linux use (SAM-5 §4.7: a single-level LUN, "flat space"
// addressing, 0x40 in the top two bits of byte 0): LUNs up to 16383.
constexpr uint32_t kMaxEncodableTarget = 255;
constexpr uint32_t kMaxEncodableLun = 0x3fff;

constexpr uint32_t kSectorBytes = 512;
constexpr uint64_t kMaxTransferBytes = uint64_t{1} << 30;
constexpr int kMaxGenerationRetries = 8;

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
  if (enabled_) (void)Stop();  // the device this driver ran before
  running_ = false;
  pci_ = &pci;
  memory_ = &memory;
  transport_ = VirtioPciTransport{};
  ticks_per_second_ = timebase_frequency;
  request_queues_ = cdb_size_ = sense_size_ = max_transfer_bytes_ = 0;
  max_target_ = max_lun_ = 0;
  if (!IsVirtioScsi(pci)) return lib::Err(VirtioError::kNotVirtioScsi);
  if (auto started = BringUp(ring_address, ring_bytes); started.is_error()) {
    lib::Printf("tern: virtio-scsi %s: %s: not used\n", pci.name, VirtioErrorName(started.error()));
    (void)Stop();
    return started;
  }
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioScsi::BringUp(uint64_t ring_address, uint64_t ring_bytes) {
  if (ticks_per_second_ == 0) return lib::Err(VirtioError::kBadArgument);
  if (ring_address % kVirtioScsiRingAlignment != 0 || ring_bytes < kVirtioScsiRingBytes ||
      memory_->Map(ring_address, ring_bytes, false).is_error()) {
    return lib::Err(VirtioError::kBadRingMemory);
  }
  auto transport = FindVirtioPciTransport(*pci_);
  if (transport.is_error()) return lib::Err(transport.error());
  transport_ = transport.value();
  request_address_ = ring_address + kRequestOffset;
  response_address_ = ring_address + kResponseOffset;
  request_ = memory_->Map(request_address_, kRequestCdb + kVirtioScsiMaxCdbSize, false).value();
  response_ =
      memory_->Map(response_address_, kResponseSense + kVirtioScsiMaxSenseSize, false).value();

  if (EnableDevice(*pci_).is_error()) {
    (void)DisableDevice(*pci_);
    return lib::Err(VirtioError::kConfigSpace);
  }
  enabled_ = true;  // from here on, Stop resets the device and turns it off again
  TERN_TRY(Negotiate());
  TERN_TRY(ReadConfig());
  TERN_TRY(
      queue_.Start(transport_, kVirtioScsiRequestQueue, *memory_, ring_address, kRequestOffset));
  TERN_TRY(VirtioWriteStatus(
      transport_, kVirtioAcknowledge | kVirtioDriver | kVirtioFeaturesOk | kVirtioDriverOk));
  running_ = true;
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioScsi::Negotiate() {
  TERN_TRY(VirtioReset(transport_, kVirtioScsiResetSeconds * ticks_per_second_));
  TERN_TRY(VirtioWriteStatus(transport_, kVirtioAcknowledge));
  TERN_TRY(VirtioWriteStatus(transport_, kVirtioAcknowledge | kVirtioDriver));
  auto offered = VirtioDeviceFeatures(transport_);
  if (offered.is_error()) return lib::Err(offered.error());
  if ((offered.value() & kVirtioFVersion1) == 0) return lib::Err(VirtioError::kNoVersion1);
  // Its DMA would go through the PHB's TCE table, which tern does not program.
  if ((offered.value() & kVirtioFAccessPlatform) != 0) {
    return lib::Err(VirtioError::kAccessPlatform);
  }
  // None of VIRTIO_SCSI_F_INOUT, _HOTPLUG, _CHANGE, _T10_PI [virtio 1.1 §5.6.3]: tern only reads
  // and does not watch for events.
  TERN_TRY(VirtioSetDriverFeatures(transport_, kVirtioFVersion1));
  TERN_TRY(VirtioWriteStatus(transport_, kVirtioAcknowledge | kVirtioDriver | kVirtioFeaturesOk));
  auto status = VirtioReadStatus(transport_);
  if (status.is_error()) return lib::Err(status.error());
  if ((status.value() & kVirtioFeaturesOk) == 0) return lib::Err(VirtioError::kFeaturesRejected);
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioScsi::ReadConfig() {
  if (transport_.device.length < kDeviceConfigBytes) {
    return lib::Err(VirtioError::kBadDeviceConfig);
  }
  constexpr uint32_t kFields[] = {kNumQueues, kSegMax, kMaxSectors,         kSenseSize,
                                  kCdbSize,   kMaxLun, kMaxChannelAndTarget};
  constexpr int kFieldCount = sizeof(kFields) / sizeof(kFields[0]);
  uint32_t values[kFieldCount] = {};
  // A consistent snapshot: the generation must not change around the reads [virtio 1.1
  // §4.1.4.3.1].
  bool consistent = false;
  for (int attempt = 0; attempt < kMaxGenerationRetries && !consistent; ++attempt) {
    auto before = VirtioConfigGeneration(transport_);
    if (before.is_error()) return lib::Err(before.error());
    for (int i = 0; i < kFieldCount; ++i) {
      auto value = VirtioReadDeviceConfig32(transport_, kFields[i]);
      if (value.is_error()) return lib::Err(value.error());
      values[i] = value.value();
    }
    auto after = VirtioConfigGeneration(transport_);
    if (after.is_error()) return lib::Err(after.error());
    consistent = before.value() == after.value();
  }
  if (!consistent) return lib::Err(VirtioError::kBadDeviceConfig);
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
        pci_->name, num_queues, seg_max, max_sectors, cdb_size, sense_size, kVirtioScsiMinCdbSize,
        kVirtioScsiMaxCdbSize, kVirtioScsiMaxSenseSize);
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

lib::Result<void, VirtioError> VirtioScsi::Stop() {
  running_ = false;
  // Never turned on, or already reset and turned off: nothing of the device to touch.
  if (!enabled_) return lib::Ok<VirtioError>();
  auto reset = VirtioReset(transport_, kVirtioScsiResetSeconds * ticks_per_second_);
  const bool disabled = DisableDevice(*pci_).is_ok();
  enabled_ = !disabled;
  if (reset.is_error()) {
    lib::Printf("tern: virtio-scsi %s: reset: %s\n", pci_->name, VirtioErrorName(reset.error()));
    return reset;
  }
  if (!disabled) {
    lib::Printf("tern: virtio-scsi %s: turning bus mastering off: %s\n", pci_->name,
                VirtioErrorName(VirtioError::kConfigSpace));
    return lib::Err(VirtioError::kConfigSpace);
  }
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioScsi::ResetForOs() {
  return Stop();
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
  if (!running_) return lib::Err(block::IoError::kNotReady);
  if (command.target > max_target_ || command.lun > max_lun_ || command.cdb_length == 0 ||
      command.cdb_length > sizeof(command.cdb) || command.data_length > max_transfer_bytes_) {
    return lib::Err(block::IoError::kOutOfRange);
  }
  // The device writes there: it must be guest RAM.
  if (command.data_length > 0 &&
      memory_->Map(command.data, command.data_length, false).is_error()) {
    return lib::Err(block::IoError::kBadBuffer);
  }

  const uint32_t request_bytes = kRequestCdb + cdb_size_;
  const uint32_t response_bytes = kResponseSense + sense_size_;
  lib::MemSet(request_, 0, request_bytes);
  request_[kRequestLun] = 1;
  request_[kRequestLun + 1] = static_cast<uint8_t>(command.target);
  request_[kRequestLun + 2] = static_cast<uint8_t>(0x40 | command.lun >> 8);
  request_[kRequestLun + 3] = static_cast<uint8_t>(command.lun);
  lib::StoreLe64(request_ + kRequestTag, next_tag_++);
  request_[kRequestTaskAttribute] = kTaskSimple;
  lib::MemCopy(request_ + kRequestCdb, command.cdb, command.cdb_length);
  lib::MemSet(response_, 0, response_bytes);
  response_[kResponseCode] = kResponseUnwritten;

  // Device-readable first, then the response, then data-in [virtio 1.1 §5.6.6].
  const VirtqBuffer chain[3] = {
      {request_address_, request_bytes, false},
      {response_address_, response_bytes, true},
      {command.data, command.data_length, true},
  };
  const uint16_t count = command.data_length > 0 ? 3 : 2;
  auto used = queue_.Run(chain, count, kVirtioScsiRequestSeconds * ticks_per_second_);
  if (used.is_error()) {
    // The command may still be in the device: reset it, so that nothing lands in the buffer
    // later, and use it no more.
    lib::Printf("tern: virtio-scsi %s: target %u LUN %u command 0x%02x: %s; the device is reset\n",
                pci_->name, command.target, command.lun, command.cdb[0],
                VirtioErrorName(used.error()));
    (void)Stop();
    return lib::Err(used.error() == VirtioError::kTimeout ? block::IoError::kTimeout
                                                          : block::IoError::kBadResponse);
  }

  const uint8_t code = __atomic_load_n(&response_[kResponseCode], __ATOMIC_ACQUIRE);
  ScsiResponse response;
  switch (code) {
    case kVirtioScsiSOk: break;
    case kVirtioScsiSBadTarget:
    case kVirtioScsiSIncorrectLun: response.no_such_target = true; return response;
    case kResponseUnwritten:
      lib::Printf("tern: virtio-scsi %s: target %u LUN %u command 0x%02x: no response written\n",
                  pci_->name, command.target, command.lun, command.cdb[0]);
      return lib::Err(block::IoError::kBadResponse);
    default:
      lib::Printf("tern: virtio-scsi %s: target %u LUN %u command 0x%02x: response %u, %s\n",
                  pci_->name, command.target, command.lun, command.cdb[0], code,
                  ResponseName(code));
      return lib::Err(block::IoError::kDevice);
  }
  const uint32_t sense_length = lib::LoadLe32(response_ + kResponseSenseLength);
  const uint32_t residual = lib::LoadLe32(response_ + kResponseResidual);
  if (sense_length > sense_size_ || residual > command.data_length) {
    lib::Printf(
        "tern: virtio-scsi %s: target %u LUN %u command 0x%02x: sense_len %u (of %u), residual "
        "%u (of %u) out of range\n",
        pci_->name, command.target, command.lun, command.cdb[0], sense_length, sense_size_,
        residual, command.data_length);
    return lib::Err(block::IoError::kBadResponse);
  }
  response.status = response_[kResponseStatus];
  response.residual = residual;
  response.sense_length =
      static_cast<uint8_t>(lib::Min<uint32_t>(sense_length, sizeof(response.sense)));
  lib::MemCopy(response.sense, response_ + kResponseSense, response.sense_length);
  return response;
}

}  // namespace dev
