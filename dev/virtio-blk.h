// virtio-blk over the virtio 1.0 PCI transport [virtio 1.1 §5.2]: a block::Device that reads a
// QEMU virtio-blk-pci disk at boot.
//
// One request at a time on queue 0: a chain of three descriptors (the 16-byte header, the data,
// the status byte), polled to completion with a timeout. Data goes straight into the caller's
// buffer (no bounce): a request carries at most kVirtioBlkMaxRequestBytes (the disk's
// max_transfer_blocks; the deblocker splits longer reads). The rings, the header and the status
// byte live in ring memory the caller provides. The driver registers itself in the driver table
// for QEMU's virtio-blk-pci (dev/driver.h), with a pool of kVirtioBlkInstances.
//
// A device that offers VIRTIO_F_ACCESS_PLATFORM (-device virtio-blk-pci,iommu_platform=on) is
// refused: its DMA would go through the PHB's TCE table, which tern does not program.
#pragma once

#include "block/device.h"
#include "dev/pci.h"
#include "dev/driver.h"
#include "dev/virtio-device.h"
#include "dev/virtio-pci.h"
#include "lib/guest-memory.h"
#include "lib/result.h"
#include "lib/types.h"

namespace dev {

// Ring memory Start needs: guest RAM, 16-aligned (a 4 KiB page is a good choice).
inline constexpr uint64_t kVirtioBlkRingBytes = 1024;
inline constexpr uint64_t kVirtioBlkRingAlignment = 16;
// Disks the driver table's pool holds (libvirt guests with 16 and more disks exist).
inline constexpr int kVirtioBlkInstances = 32;
// Data bytes of one request.
inline constexpr uint32_t kVirtioBlkMaxRequestBytes = 64 * 1024;
// How long a request may take.
inline constexpr uint64_t kVirtioBlkRequestSeconds = 10;

// Feature bits of the block device [virtio 1.1 §5.2.3].
inline constexpr uint64_t kVirtioBlkFBlkSize = uint64_t{1} << 6;

// A virtio block device tern can drive: vendor 0x1af4 with the transitional (0x1001) or the
// virtio 1.0 (0x1040 + 2) device ID [virtio 1.1 §4.1.2].
bool IsVirtioBlk(const PciDevice& pci);

class VirtioBlk {
 public:
  constexpr VirtioBlk() = default;
  VirtioBlk(const VirtioBlk&) = delete;
  VirtioBlk& operator=(const VirtioBlk&) = delete;

  // Brings `pci` (found by ScanPhbs, its BARs assigned) up through VirtioDevice::Begin (features:
  // VIRTIO_BLK_F_BLK_SIZE taken when offered), queue 0 in [ring_address, ring_address +
  // ring_bytes) of `memory`, the capacity and block size (block::CheckGeometry: a disk smaller
  // than one block, or whose size in bytes does not fit 64 bits, is refused), DRIVER_OK. `pci` and
  // `memory` must outlive the driver. On failure a line naming the device says why, and the
  // device is left reset with decoding and bus mastering off (untouched when it is refused before
  // the driver turned it on). Starting a driver that runs a device stops that device first.
  lib::Result<void, VirtioError> Start(const PciDevice& pci, lib::GuestMemory& memory,
                                       uint64_t ring_address, uint64_t ring_bytes,
                                       uint64_t timebase_frequency);

  // The disk: block_size is the device's blk_size (else 512), blocks the capacity in those
  // blocks, max_transfer_blocks what one request carries (kVirtioBlkMaxRequestBytes). After
  // ResetForOs, or after a request that timed out or got a malformed answer (the device is then
  // reset), reads fail with kNotReady.
  const block::Device& disk() const { return disk_; }
  DriverState state() const { return device_.state(); }
  bool running() const { return state() == DriverState::kRunning; }

  // For the hand-off to the OS: resets the device (VirtioDevice::Stop). Safe to call twice, or on
  // a driver that never started (it then touches nothing).
  lib::Result<void, VirtioError> ResetForOs();

 private:
  static lib::Result<void, block::IoError> ReadBlocks(void* driver, uint64_t lba, uint32_t count,
                                                      uint64_t buffer);
  lib::Result<void, block::IoError> Read(uint64_t lba, uint32_t count, uint64_t buffer);
  lib::Result<void, VirtioError> BringUp(const PciDevice& pci, uint64_t ring_address,
                                         uint64_t ring_bytes, uint64_t timebase_frequency);
  lib::Result<void, VirtioError> ReadGeometry(bool has_blk_size);

  VirtioDevice device_;
  SplitQueue queue_;
  lib::GuestMemory* memory_ = nullptr;
  uint64_t header_address_ = 0;  // the request header, then the status byte, in ring memory
  uint8_t* header_ = nullptr;
  uint64_t request_ticks_ = 0;
  block::Device disk_;
};

}  // namespace dev
