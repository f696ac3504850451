#include "dev/virtio-device.h"

#include "lib/console.h"
#include "lib/timeout.h"

namespace dev {

lib::Result<uint64_t, VirtioError> VirtioDevice::Begin(const PciDevice& pci, uint64_t optional,
                                                       uint64_t timebase_frequency) {
  if (state_ == DriverState::kRunning) (void)Stop("virtio");
  if (timebase_frequency == 0) return lib::Err(VirtioError::kBadArgument);
  auto transport = FindVirtioPciTransport(pci);
  if (transport.is_error()) return lib::Err(transport.error());
  pci_ = &pci;
  transport_ = transport.value();
  reset_ticks_ = lib::SecondsToTicks(kVirtioResetSeconds, timebase_frequency);
  if (EnableDevice(pci).is_error()) {
    (void)DisableDevice(pci);
    return lib::Err(VirtioError::kConfigSpace);
  }
  state_ = DriverState::kRunning;
  return Negotiate(optional);
}

lib::Result<uint64_t, VirtioError> VirtioDevice::Negotiate(uint64_t optional) {
  TERN_TRY(VirtioReset(transport_, reset_ticks_));
  TERN_TRY(VirtioWriteStatus(transport_, kVirtioAcknowledge));
  TERN_TRY(VirtioWriteStatus(transport_, kVirtioAcknowledge | kVirtioDriver));
  auto offered = VirtioDeviceFeatures(transport_);
  if (offered.is_error()) return lib::Err(offered.error());
  if ((offered.value() & kVirtioFVersion1) == 0) return lib::Err(VirtioError::kNoVersion1);
  if ((offered.value() & kVirtioFAccessPlatform) != 0) {
    return lib::Err(VirtioError::kAccessPlatform);
  }
  const uint64_t accepted = kVirtioFVersion1 | (offered.value() & optional);
  TERN_TRY(VirtioSetDriverFeatures(transport_, accepted));
  TERN_TRY(VirtioWriteStatus(transport_, kVirtioAcknowledge | kVirtioDriver | kVirtioFeaturesOk));
  auto status = VirtioReadStatus(transport_);
  if (status.is_error()) return lib::Err(status.error());
  if ((status.value() & kVirtioFeaturesOk) == 0) return lib::Err(VirtioError::kFeaturesRejected);
  return accepted;
}

namespace {

// `read` between two reads of config_generation, until the two agree [virtio 1.1 §4.1.4.3.1].
template <class Read>
lib::Result<void, VirtioError> Consistently(const VirtioPciTransport& transport, Read read) {
  for (int attempt = 0; attempt < kVirtioConfigAttempts; ++attempt) {
    auto before = VirtioConfigGeneration(transport);
    if (before.is_error()) return lib::Err(before.error());
    TERN_TRY(read());
    auto after = VirtioConfigGeneration(transport);
    if (after.is_error()) return lib::Err(after.error());
    if (before.value() == after.value()) return lib::Ok<VirtioError>();
  }
  return lib::Err(VirtioError::kBadDeviceConfig);
}

}  // namespace

lib::Result<void, VirtioError> VirtioDevice::ReadConfig(uint32_t needed,
                                                        lib::Span<const uint32_t> offsets,
                                                        lib::Span<uint32_t> values) {
  if (transport_.device.length < needed || values.size() < offsets.size()) {
    return lib::Err(VirtioError::kBadDeviceConfig);
  }
  return Consistently(transport_, [&]() -> lib::Result<void, VirtioError> {
    for (size_t i = 0; i < offsets.size(); ++i) {
      auto value = VirtioReadDeviceConfig32(transport_, offsets[i]);
      if (value.is_error()) return lib::Err(value.error());
      values[i] = value.value();
    }
    return lib::Ok<VirtioError>();
  });
}

lib::Result<void, VirtioError> VirtioDevice::ReadConfigBytes(uint32_t offset,
                                                             lib::Span<uint8_t> bytes) {
  if (!lib::RangeInside(offset, bytes.size(), 0, transport_.device.length)) {
    return lib::Err(VirtioError::kBadDeviceConfig);
  }
  return Consistently(transport_, [&]() -> lib::Result<void, VirtioError> {
    for (size_t i = 0; i < bytes.size(); ++i) {
      auto value = VirtioReadDeviceConfig8(transport_, offset + static_cast<uint32_t>(i));
      if (value.is_error()) return lib::Err(value.error());
      bytes[i] = value.value();
    }
    return lib::Ok<VirtioError>();
  });
}

lib::Result<void, VirtioError> VirtioDevice::StartQueue(SplitQueue& queue, uint16_t index,
                                                        lib::GuestMemory& memory, uint64_t address,
                                                        uint64_t bytes) {
  return queue.Start(transport_, index, memory, address, bytes);
}

lib::Result<void, VirtioError> VirtioDevice::Ready() {
  return VirtioWriteStatus(
      transport_, kVirtioAcknowledge | kVirtioDriver | kVirtioFeaturesOk | kVirtioDriverOk);
}

lib::Result<void, VirtioError> VirtioDevice::Stop(const char* kind) {
  // Never turned on, or already reset and turned off: nothing of the device to touch.
  if (state_ != DriverState::kRunning) return lib::Ok<VirtioError>();
  auto reset = VirtioReset(transport_, reset_ticks_);
  const bool disabled = DisableDevice(*pci_).is_ok();
  state_ = DriverState::kStopped;
  if (reset.is_error()) {
    lib::Printf("tern: %s %s: reset: %s\n", kind, pci_->name, VirtioErrorName(reset.error()));
    return reset;
  }
  if (!disabled) {
    lib::Printf("tern: %s %s: turning bus mastering off: %s\n", kind, pci_->name,
                VirtioErrorName(VirtioError::kConfigSpace));
    return lib::Err(VirtioError::kConfigSpace);
  }
  return lib::Ok<VirtioError>();
}

}  // namespace dev
