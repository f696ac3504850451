// spapr-vscsi: QEMU's PAPR virtual SCSI adapter (hw/scsi/spapr_vscsi.c), a dev::ScsiTransport.
//
// The adapter is a VIO device under /vdevice: `v-scsi@<reg>`, compatible "IBM,v-scsi",
// `ibm,my-dma-window` = <LIOBN, window base (ibm,#dma-address-cells), window size
// (ibm,#dma-size-cells)> (QEMU hw/ppc/spapr_vio.c: vio_make_devnode, 256 MiB for v-scsi). The
// partner is reached through a command/response queue (CRQ) [LoPAPR 14.5.4.4]: a 4 KiB page of
// 16-byte entries registered with H_REG_CRQ; messages go out with H_SEND_CRQ. The protocol is SRP
// [T10 SRP r16a] carried the way IBM's VSCSI does it (QEMU hw/scsi/viosrp.h): an initialization
// handshake (0xC0 0x01 out, 0xC0 0x02 back), SRP_LOGIN_REQ / SRP_LOGIN_RSP, then one SRP_CMD at a
// time with a direct data-in descriptor, answered by SRP_RSP. The CRQ entry of an SRP message
// carries its length and the bus address of the IU; an answer comes back in the same IU buffer,
// its CRQ entry carrying the tag.
//
// Every address the adapter reads or writes (the CRQ page, the IU, data buffers) is an I/O bus
// address in the device's TCE window, mapped with H_PUT_TCE for the time it is used: the CRQ
// and IU pages while the adapter runs, a data buffer page by page for one command.
// ResetForOs frees the CRQ and unmaps every TCE, so that the OS's driver can register its own.
//
// Limits: one command at a time, at most kVscsiMaxTransferBytes of data each; targets 0..63,
// LUNs 0..31 on channel 0 (QEMU's vscsi_scsi_info). A command that gets no answer in
// kVscsiCommandSeconds stops the adapter (its CRQ is freed and its TCEs unmapped, so that a late
// answer can reach no memory): later commands fail with kNotReady. The driver registers itself in
// the driver table (dev/driver.h) for /vdevice nodes compatible with "IBM,v-scsi", with a pool of
// kVscsiInstances; their LUNs become disks through the SCSI layer (dev/scsi.h: ProbeScsiUnits).
#pragma once

#include "block/device.h"
#include "dev/driver.h"
#include "dev/scsi-transport.h"
#include "dev/vio.h"
#include "lib/guest-memory.h"
#include "lib/hv.h"
#include "lib/result.h"
#include "lib/timeout.h"
#include "lib/types.h"
#include "lib/wire.h"

namespace dev {

enum class VscsiError {
  kBadNode,         // reg or ibm,my-dma-window missing or malformed
  kBadWorkMemory,   // the work area is not 4 KiB-aligned guest RAM of kVscsiWorkBytes
  kWindowTooSmall,  // the DMA window cannot hold the CRQ, the IU and one transfer
  kTce,             // H_PUT_TCE refused a mapping or an unmapping
  kRegisterCrq,     // H_REG_CRQ failed
  kSendCrq,         // H_SEND_CRQ failed
  kFreeCrq,         // H_FREE_CRQ failed
  kTimeout,         // no answer to the initialization or the login in time
  kLoginRejected,   // SRP_LOGIN_REJ, or a login response tern cannot use
  kBadResponse,     // an answer failed a range check
  kBadArgument,     // no time base frequency
};

const char* VscsiErrorName(VscsiError error);

using VscsiNode = VioNode;

// The node (ParseVioNode); kBadNode when it is malformed.
lib::Result<VscsiNode, VscsiError> ParseVscsiNode(const void* fdt, int node);

// The SRP LUN QEMU decodes as channel 0, `target`, `lun` (hw/scsi/spapr_vscsi.c:
// vscsi_device_find, logical unit addressing): 0x8000 | target << 8 | lun in the top 16 bits.
uint64_t VscsiSrpLun(uint32_t target, uint32_t lun);
// The unit address of that LUN's node in QEMU's boot list (hw/ppc/spapr.c:
// spapr_get_fw_dev_path: "disk@%" PRIX64 of the SRP LUN), e.g. "8000000000000000" for target 0
// LUN 0, "8101000000000000" for target 1 LUN 1. False for target > 63, lun > 31, or no room.
bool VscsiUnitAddress(uint32_t target, uint32_t lun, char* out, size_t size);

// The work area Start needs: guest RAM, 4 KiB aligned (the CRQ page, then the IU page).
inline constexpr uint64_t kVscsiWorkBytes = 8192;
inline constexpr uint32_t kVscsiMaxTransferBytes = 64 * 1024;
inline constexpr uint32_t kVscsiMaxTarget = 63;
inline constexpr uint32_t kVscsiMaxLun = 31;
inline constexpr int kVscsiInstances = 8;
// How long the handshake, the login and each command may take.
inline constexpr uint64_t kVscsiInitSeconds = 5;
inline constexpr uint64_t kVscsiCommandSeconds = 10;

// A CRQ entry [LoPAPR 14.5.4.4; QEMU hw/scsi/viosrp.h struct viosrp_crq]: `valid` 0x80 a
// payload, 0xC0 initialization, 0xFF a transport event; the IU's length and bus address (the
// tag in an answer).
struct CrqEntry {
  uint8_t valid;
  uint8_t format;
  uint8_t reserved;
  uint8_t status;
  lib::UBe16 timeout;
  lib::UBe16 iu_length;
  lib::UBe64 iu_data_ptr;
};
static_assert(sizeof(CrqEntry) == 16);

class Vscsi {
 public:
  constexpr Vscsi() = default;
  Vscsi(const Vscsi&) = delete;
  Vscsi& operator=(const Vscsi&) = delete;

  // Maps the CRQ and IU pages of [work_address, work_address + work_bytes) of `memory` into the
  // window, registers the CRQ (freeing a queue left registered first), runs the handshake and
  // the SRP login. `memory` must outlive the driver; `node` is copied. On failure a line naming
  // the adapter says why, and nothing stays registered or mapped. Starting a running driver stops
  // it first.
  lib::Result<void, VscsiError> Start(const VscsiNode& node, lib::GuestMemory& memory,
                                      uint64_t work_address, uint64_t work_bytes,
                                      uint64_t timebase_frequency);

  // The adapter for the SCSI layer (max_target 63, max_lun 31, max_transfer_bytes
  // kVscsiMaxTransferBytes, unit_address VscsiUnitAddress). Valid while the driver lives.
  const ScsiTransport& transport() const { return transport_; }
  DriverState state() const { return state_; }
  bool running() const { return state_ == DriverState::kRunning; }
  const char* name() const { return node_.path; }
  // TCE entries currently mapped (the CRQ and IU pages while running; 0 after ResetForOs).
  int mapped_tces() const;

  // For the hand-off to the OS: H_FREE_CRQ (retried while the host is busy, a bounded number of
  // times) and H_PUT_TCE 0 for every entry still mapped. Safe to call twice, or on a driver that
  // never started. Reports the first failure; keeps going after one.
  lib::Result<void, VscsiError> ResetForOs();

 private:
  static constexpr int kDataPages = kVscsiMaxTransferBytes / 4096 + 1;
  static constexpr int kSlots = 2 + kDataPages;  // CRQ page, IU page, data pages
  static constexpr int kCrqEntries = 4096 / sizeof(CrqEntry);

  enum class WaitResult { kEntry, kTimeout };

  static lib::Result<ScsiResponse, block::IoError> ExecuteCommand(void* adapter,
                                                                  const ScsiCommand& command);
  static bool UnitAddress(void* adapter, uint32_t target, uint32_t lun, char* out, size_t size);
  lib::Result<ScsiResponse, block::IoError> Execute(const ScsiCommand& command);
  // Maps the command's data-in buffer page by page after the CRQ and IU pages; returns its bus
  // address (0 for no data) and the number of pages mapped.
  lib::Result<uint64_t, block::IoError> MapData(const ScsiCommand& command, int& pages);
  void UnmapData(int pages);
  // The SRP_RSP in the IU, answering `command` (`entry` is its CRQ message).
  lib::Result<ScsiResponse, block::IoError> ParseResponse(const ScsiCommand& command,
                                                          const CrqEntry& entry, uint64_t tag);
  lib::Result<void, VscsiError> BringUp(uint64_t work_address, uint64_t work_bytes);
  lib::Result<void, VscsiError> Handshake();
  lib::Result<void, VscsiError> Login();
  // Sends the IU (its first `length` bytes) as an SRP message.
  lib::Result<void, lib::hv::HcallStatus> SendIu(uint16_t length);
  // Takes the next valid CRQ entry into `entry`, waiting until `deadline`.
  WaitResult NextEntry(const lib::Deadline& deadline, CrqEntry& entry);
  // Waits for the SRP answer carrying `tag`, skipping stale answers and reporting others.
  lib::Result<CrqEntry, block::IoError> WaitForAnswer(uint64_t tag, const lib::Deadline& deadline);
  uint64_t Ioba(int slot) const { return node_.window_base + uint64_t{4096} * slot; }
  bool MapPage(int slot, uint64_t real_page);
  bool UnmapPage(int slot);
  void Stop();

  VscsiNode node_;
  lib::GuestMemory* memory_ = nullptr;
  uint64_t timebase_frequency_ = 0;
  uint64_t work_address_ = 0;
  uint8_t* crq_ = nullptr;  // the CRQ page (host view)
  uint8_t* iu_ = nullptr;   // the IU page
  int next_entry_ = 0;
  uint64_t last_tag_ = 0;  // tags count from 1
  bool mapped_[kSlots] = {};
  bool crq_registered_ = false;
  DriverState state_ = DriverState::kIdle;
  ScsiTransport transport_;
};

}  // namespace dev
