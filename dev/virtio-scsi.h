// virtio-scsi over the virtio 1.0 PCI transport [virtio 1.1 §5.6]: a SCSI host adapter (a
// dev::ScsiTransport) for QEMU's virtio-scsi-pci, which the SCSI layer (dev/scsi.h) turns into
// disks.
//
// One command at a time on the first request queue (queue 2; the control queue 0 and the event
// queue 1 are never set up: the spec asks nothing of them and QEMU serves the request queue
// without them): a chain of the request (virtio_scsi_req_cmd, device-readable), the response
// (virtio_scsi_resp_cmd) and, when the command has data, the data-in buffer, polled to completion
// with a timeout. The request and the response live in the ring memory the caller provides; data
// goes straight into the command's buffer.
//
// QEMU (hw/scsi/virtio-scsi.c: virtio_scsi_device_get, virtio_scsi_handle_cmd_req_prepare;
// checked on 7.2 and 10.0) addresses a LUN as {1, target, 0x40 | lun >> 8, lun & 0xff, 0, 0, 0,
// 0}, answers VIRTIO_SCSI_S_BAD_TARGET for a target with no device, and VIRTIO_SCSI_S_OVERRUN
// (a block::IoError here) when a command's allocation length exceeds its data-in buffer, or when
// a command that transfers data is given no buffer.
//
// A device that offers VIRTIO_F_ACCESS_PLATFORM (iommu_platform=on) is refused, as in virtio-blk.
// The driver registers itself in the driver table (dev/driver.h) for QEMU's virtio-scsi-pci; the
// LUNs it finds become disks through the SCSI layer (dev/scsi.h: ProbeScsiUnits).
#pragma once

#include "dev/pci.h"
#include "dev/scsi-transport.h"
#include "dev/driver.h"
#include "dev/virtio-device.h"
#include "dev/virtio-pci.h"
#include "lib/guest-memory.h"
#include "lib/result.h"
#include "lib/types.h"

namespace dev {

// Ring memory Start needs: guest RAM, 16-aligned (a 4 KiB page is a good choice).
inline constexpr uint64_t kVirtioScsiRingBytes = 1024;
inline constexpr uint64_t kVirtioScsiRingAlignment = 16;
// How long a command may take.
inline constexpr uint64_t kVirtioScsiRequestSeconds = 10;
// Adapters the driver table's pool holds.
inline constexpr int kVirtioScsiInstances = 8;
// The targets and LUNs the transport offers the SCSI layer: the device's max_target and max_lun
// (QEMU: 255 and 16383), bounded by these.
inline constexpr uint32_t kVirtioScsiMaxTarget = 31;
inline constexpr uint32_t kVirtioScsiMaxLun = 7;
// The device configuration's cdb_size and sense_size tern accepts (QEMU's defaults are 32 and
// 96 [virtio 1.1 §5.6.4]): every CDB of ScsiCommand fits, and the request and the response fit
// the ring memory.
inline constexpr uint32_t kVirtioScsiMinCdbSize = 16;
inline constexpr uint32_t kVirtioScsiMaxCdbSize = 255;
inline constexpr uint32_t kVirtioScsiMaxSenseSize = 255;

// The first request queue [virtio 1.1 §5.6.2].
inline constexpr uint16_t kVirtioScsiRequestQueue = 2;

// Responses [virtio 1.1 §5.6.6.1].
inline constexpr uint8_t kVirtioScsiSOk = 0;
inline constexpr uint8_t kVirtioScsiSOverrun = 1;
inline constexpr uint8_t kVirtioScsiSAborted = 2;
inline constexpr uint8_t kVirtioScsiSBadTarget = 3;
inline constexpr uint8_t kVirtioScsiSReset = 4;
inline constexpr uint8_t kVirtioScsiSBusy = 5;
inline constexpr uint8_t kVirtioScsiSTransportFailure = 6;
inline constexpr uint8_t kVirtioScsiSTargetFailure = 7;
inline constexpr uint8_t kVirtioScsiSNexusFailure = 8;
inline constexpr uint8_t kVirtioScsiSFailure = 9;
inline constexpr uint8_t kVirtioScsiSIncorrectLun = 12;

// A virtio SCSI host tern can drive: vendor 0x1af4 with the transitional (0x1004) or the
// virtio 1.0 (0x1040 + 8) device ID [virtio 1.1 §4.1.2].
bool IsVirtioScsi(const PciDevice& pci);

// The unit address of LUN `lun` of `target` in QEMU's boot list for a virtio-scsi disk (QEMU
// hw/ppc/spapr.c: spapr_get_fw_dev_path; checked on 7.2 and 10.0): the path is
// "<PCI device node>/disk@<unit>", no node in between, where <unit> is, in upper-case hex without
// leading zeros, (0x01000000 | target << 16 | lun, with 0x4000 added when lun >= 256) << 32:
// "100000000000000" for target 0 LUN 0, "103000200000000" for target 3 LUN 2. False when the
// target (above 255) or the LUN (above 16383) has no such address, or `size` is too small.
bool VirtioScsiUnitAddress(uint32_t target, uint32_t lun, char* out, size_t size);

class VirtioScsi {
 public:
  constexpr VirtioScsi() = default;
  VirtioScsi(const VirtioScsi&) = delete;
  VirtioScsi& operator=(const VirtioScsi&) = delete;

  // Brings `pci` (found by ScanPhbs, its BARs assigned) up through VirtioDevice::Begin (no
  // optional feature taken: none of VIRTIO_SCSI_F_INOUT, _HOTPLUG, _CHANGE, _T10_PI [virtio 1.1
  // §5.6.3]; tern only reads and does not watch for events), the device configuration
  // (num_queues at least 1, seg_max and max_sectors at least 1, cdb_size and sense_size within
  // the limits above), queue 2 in [ring_address, ring_address + ring_bytes) of `memory`,
  // DRIVER_OK. `pci` and `memory` must outlive the driver. On failure a line naming the device
  // says why, and the device is left reset with decoding and bus mastering off (untouched when it
  // is refused before the driver turned it on). Starting a driver that runs a device stops that
  // device first.
  lib::Result<void, VirtioError> Start(const PciDevice& pci, lib::GuestMemory& memory,
                                       uint64_t ring_address, uint64_t ring_bytes,
                                       uint64_t timebase_frequency);

  // The adapter for the SCSI layer; valid while this driver lives. execute():
  // - IoError::kNotReady before Start succeeded, after ResetForOs, or after a command that timed
  //   out or got a malformed used-ring entry (the device is then reset and used no more);
  // - kOutOfRange for a target or LUN above the transport's bounds, a CDB of 0 or more than 16
  //   bytes, or data_length above max_transfer_bytes();
  // - kBadBuffer for a data-in buffer outside guest RAM;
  // - kTimeout when the device did not answer in kVirtioScsiRequestSeconds;
  // - kBadResponse for a malformed used entry, an unwritten response, a residual above
  //   data_length or a sense_len above the device's sense_size;
  // - kDevice for a response other than OK, BAD_TARGET and INCORRECT_LUN (a line names it);
  // - a ScsiResponse with no_such_target for BAD_TARGET and INCORRECT_LUN;
  // - else the target's status, residual and sense data (the first 32 bytes of it).
  ScsiTransport transport();

  DriverState state() const { return device_.state(); }
  bool running() const { return state() == DriverState::kRunning; }
  // From the device configuration, once started.
  uint32_t request_queues() const { return request_queues_; }  // num_queues
  uint32_t cdb_size() const { return cdb_size_; }
  uint32_t sense_size() const { return sense_size_; }
  // The largest data_length execute() takes: max_sectors 512-byte sectors.
  uint32_t max_transfer_bytes() const { return max_transfer_bytes_; }

  // For the hand-off to the OS: resets the device (VirtioDevice::Stop). Safe to call twice, or on
  // a driver that never started (it then touches nothing).
  lib::Result<void, VirtioError> ResetForOs();

 private:
  static lib::Result<ScsiResponse, block::IoError> ExecuteThunk(void* adapter,
                                                                const ScsiCommand& command);
  static bool UnitAddressThunk(void* adapter, uint32_t target, uint32_t lun, char* out,
                               size_t size);
  lib::Result<ScsiResponse, block::IoError> Execute(const ScsiCommand& command);
  // Puts `command` in the request and clears the response.
  void PrepareRequest(const ScsiCommand& command);
  // The answer to the command in the response.
  lib::Result<ScsiResponse, block::IoError> ReadResponse(const ScsiCommand& command);
  lib::Result<void, VirtioError> BringUp(const PciDevice& pci, uint64_t ring_address,
                                         uint64_t ring_bytes, uint64_t timebase_frequency);
  lib::Result<void, VirtioError> ReadConfig();

  VirtioDevice device_;
  SplitQueue queue_;
  lib::GuestMemory* memory_ = nullptr;
  uint64_t request_address_ = 0;  // virtio_scsi_req_cmd, then virtio_scsi_resp_cmd, in ring memory
  uint64_t response_address_ = 0;
  uint8_t* request_ = nullptr;
  uint8_t* response_ = nullptr;
  uint64_t request_ticks_ = 0;
  uint64_t last_tag_ = 0;  // tags count from 1
  uint32_t request_queues_ = 0;
  uint32_t cdb_size_ = 0;
  uint32_t sense_size_ = 0;
  uint32_t max_transfer_bytes_ = 0;
  uint32_t max_target_ = 0;
  uint32_t max_lun_ = 0;
};

}  // namespace dev
