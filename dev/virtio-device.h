// The life of a virtio 1.0 PCI device as every tern virtio driver drives it, in one place: the
// bring-up up to FEATURES_OK [virtio 1.1 §3.1.1 steps 1-6], a consistent snapshot of the device
// configuration [virtio 1.1 §4.1.4.3.1], the queues, DRIVER_OK, and the reset and turn-off
// before the OS's own driver takes the device (or after a failure). Drivers (virtio-blk,
// virtio-scsi) add only what their device type needs.
#pragma once

#include "dev/driver.h"
#include "dev/pci.h"
#include "dev/virtio-pci.h"
#include "lib/guest-memory.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace dev {

// How long a reset may take [virtio 1.1 §4.1.4.3.2: the driver waits for device_status 0].
inline constexpr uint64_t kVirtioResetSeconds = 1;
// How many times the configuration is read again when its generation changes under the reads.
inline constexpr int kVirtioConfigAttempts = 8;

class VirtioDevice {
 public:
  constexpr VirtioDevice() = default;
  VirtioDevice(const VirtioDevice&) = delete;
  VirtioDevice& operator=(const VirtioDevice&) = delete;

  // Finds `pci`'s virtio structures, turns its memory decoding and bus mastering on (the state
  // becomes kRunning: from here on Stop resets it and turns it off), resets it, sets
  // ACKNOWLEDGE and DRIVER, and negotiates: VIRTIO_F_VERSION_1 required, VIRTIO_F_ACCESS_PLATFORM
  // refused (its DMA would go through the PHB's TCE table, which tern does not program), the bits
  // of `optional` the device offers taken; FEATURES_OK must stay set. Returns the features
  // accepted. A device running under this object is stopped first. `pci` must outlive it.
  lib::Result<uint64_t, VirtioError> Begin(const PciDevice& pci, uint64_t optional,
                                           uint64_t timebase_frequency);
  // The 32-bit device-configuration fields at `offsets` into `values`, read as one consistent
  // snapshot (config_generation unchanged around the reads, at most kVirtioConfigAttempts
  // tries). kBadDeviceConfig when the structure is shorter than `needed` bytes or never holds
  // still.
  lib::Result<void, VirtioError> ReadConfig(uint32_t needed, lib::Span<const uint32_t> offsets,
                                            lib::Span<uint32_t> values);
  // The device-configuration bytes [offset, offset + bytes.size()), one at a time (fields that
  // are not 32-bit aligned, as virtio-net's MAC address), as one consistent snapshot.
  // kBadDeviceConfig when the structure does not hold them or never holds still.
  lib::Result<void, VirtioError> ReadConfigBytes(uint32_t offset, lib::Span<uint8_t> bytes);
  // Queue `index` in [address, address + bytes) of `memory` (SplitQueue::Start).
  lib::Result<void, VirtioError> StartQueue(SplitQueue& queue, uint16_t index,
                                            lib::GuestMemory& memory, uint64_t address,
                                            uint64_t bytes);
  // DRIVER_OK: the device is live.
  lib::Result<void, VirtioError> Ready();
  // Resets the device (waiting at most kVirtioResetSeconds for device_status 0) and turns its
  // decoding and bus mastering off: kRunning -> kStopped. Touches nothing otherwise. A failure is
  // reported on the console with `kind` and the device's name.
  lib::Result<void, VirtioError> Stop(const char* kind);

  DriverState state() const { return state_; }
  const PciDevice* pci() const { return pci_; }
  const VirtioPciTransport& transport() const { return transport_; }

 private:
  lib::Result<uint64_t, VirtioError> Negotiate(uint64_t optional);

  const PciDevice* pci_ = nullptr;
  VirtioPciTransport transport_;
  uint64_t reset_ticks_ = 0;
  DriverState state_ = DriverState::kIdle;
};

}  // namespace dev
