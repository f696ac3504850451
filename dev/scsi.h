// The SCSI layer over any dev::ScsiTransport (spapr-vscsi today, virtio-scsi next): CDBs built and
// answers parsed for the few commands a boot needs [SPC-4, SBC-3], sense data decoded, the LUNs
// behind an adapter found, and one LUN turned into a dev::BlockDevice.
//
// Commands' data-in buffers live in caller-provided memory at real addresses the transport can
// reach (`scratch` below). Everything the target returns is range-checked before use. Every wait
// is bounded: TEST UNIT READY is retried at most kScsiReadyAttempts times within
// kScsiReadySeconds; each command's own wait is the transport's.
#pragma once

#include "block/device.h"
#include "dev/driver.h"
#include "dev/scsi-transport.h"
#include "lib/guest-memory.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace dev {

enum class ScsiError {
  kTransport,       // the adapter could not deliver the command, or its answer was malformed
  kTimeout,         // the adapter got no answer in time
  kCheckCondition,  // the target answered CHECK CONDITION (the sense data says why)
  kStatus,          // the target answered another status than GOOD (BUSY, ...)
  kBadData,         // the data the target returned failed a range check
  kNotReady,        // TEST UNIT READY did not succeed within its bounds
  kBadCapacity,     // a capacity of zero blocks, or one past 64 bits
  kBadBlockSize,    // a block size that is not a power of two from 512 to 16384
  kBadArgument,     // a scratch buffer too small or outside memory; no timebase frequency
};

const char* ScsiErrorName(ScsiError error);

// Status codes [SAM-5 §5.3].
inline constexpr uint8_t kScsiStatusGood = 0x00;
inline constexpr uint8_t kScsiStatusCheckCondition = 0x02;
inline constexpr uint8_t kScsiStatusBusy = 0x08;

// Peripheral device types [SPC-4 §6.4.2, table 141].
inline constexpr uint8_t kScsiTypeDisk = 0x00;
inline constexpr uint8_t kScsiTypeCdrom = 0x05;

// Sense keys [SPC-4 §4.5.6, table 45].
inline constexpr uint8_t kSenseNotReady = 0x2;
inline constexpr uint8_t kSenseIllegalRequest = 0x5;
inline constexpr uint8_t kSenseUnitAttention = 0x6;

const char* SenseKeyName(uint8_t key);

// --- CDBs. Each fills command.cdb and command.cdb_length and leaves the rest alone. ---

// INQUIRY, standard data [SPC-4 §6.6]: opcode 0x12, allocation length in bytes 3-4.
void BuildInquiry(ScsiCommand& command, uint16_t allocation_length);
// TEST UNIT READY [SPC-4 §6.37]: six zero bytes.
void BuildTestUnitReady(ScsiCommand& command);
// READ CAPACITY(10) [SBC-3 §5.15]: opcode 0x25, 10 bytes.
void BuildReadCapacity10(ScsiCommand& command);
// READ CAPACITY(16) [SBC-3 §5.16]: SERVICE ACTION IN(16) 0x9e, service action 0x10, allocation
// length in bytes 10-13.
void BuildReadCapacity16(ScsiCommand& command, uint32_t allocation_length);
// READ(10) [SBC-3 §5.11] when `lba` fits 32 bits and `blocks` 16, else READ(16) [SBC-3 §5.13].
// `blocks` must be at least 1.
void BuildRead(ScsiCommand& command, uint64_t lba, uint32_t blocks);
// REPORT LUNS [SPC-4 §6.33]: opcode 0xa0, select report 0, allocation length in bytes 6-9.
void BuildReportLuns(ScsiCommand& command, uint32_t allocation_length);

// --- Answers. ---

// Standard INQUIRY data [SPC-4 §6.6.2]: byte 0 carries the qualifier (bits 5-7; 0: a device is
// connected to this LUN, 1: not now, 3: none can be) and the device type (bits 0-4). The
// identification strings need the full 36 bytes; with fewer they are empty.
struct InquiryData {
  uint8_t qualifier = 0;
  uint8_t device_type = 0;
  bool removable = false;
  char vendor[9] = {};    // bytes 8-15, trailing spaces removed, non-printable bytes as '?'
  char product[17] = {};  // bytes 16-31
};
// kBadData when `data` is empty.
lib::Result<InquiryData, ScsiError> ParseInquiry(lib::Span<const uint8_t> data);

struct ScsiCapacity {
  uint64_t blocks = 0;
  uint32_t block_size = 0;
};
// READ CAPACITY(10) data (8 bytes: the last LBA, the block length). A last LBA of 0xffffffff
// means "use READ CAPACITY(16)": needs_16 is then true and blocks is 0.
struct ReadCapacity10Data {
  ScsiCapacity capacity;
  bool needs_16 = false;
};
lib::Result<ReadCapacity10Data, ScsiError> ParseReadCapacity10(lib::Span<const uint8_t> data);
// READ CAPACITY(16) data (at least 12 bytes: the 64-bit last LBA, the block length).
// kBadCapacity when the last LBA is 2^64 - 1 (the block count does not fit).
lib::Result<ScsiCapacity, ScsiError> ParseReadCapacity16(lib::Span<const uint8_t> data);

// A LUN field as REPORT LUNS lists it [SAM-5 §4.7]: the address method in bits 6-7 of byte 0.
// Peripheral (00b): bus in byte 0 bits 0-5, LUN in byte 1. Flat (01b): a 14-bit LUN. Logical
// unit (10b): target in byte 0 bits 0-5, bus in byte 1 bits 5-7, LUN in bits 0-4 (QEMU's
// spapr-vscsi lists other targets' LUNs that way: hw/scsi/spapr_vscsi.c vscsi_report_luns).
// Only single-level LUNs are decoded: bytes 2-7 must be zero.
struct ScsiLunAddress {
  uint32_t lun = 0;
  uint32_t bus = 0;
  bool has_target = false;  // logical unit addressing names the target too
  uint32_t target = 0;
};
bool DecodeLun(const uint8_t (&field)[8], ScsiLunAddress& out);

// REPORT LUNS parameter data [SPC-4 §6.33.2]: a 4-byte list length, 4 reserved, 8 bytes per LUN.
// `data` is what arrived (maybe less than the list length says: the buffer was too short).
// Returns the number of complete entries in `data`; `listed` is the count the target reported.
struct ReportLunsData {
  uint32_t entries = 0;           // entries present in `data`
  uint32_t listed = 0;            // entries the list length announces
  const uint8_t* list = nullptr;  // the first entry, inside `data`
};
lib::Result<ReportLunsData, ScsiError> ParseReportLuns(lib::Span<const uint8_t> data);

// Sense data [SPC-4 §4.5]: fixed (response code 0x70 current / 0x71 deferred) or descriptor
// (0x72 / 0x73) format. Fixed data needs 3 bytes for the key, and ASC/ASCQ only count when the
// additional length (byte 7) and `data` both reach bytes 12-13; descriptor data needs 4 bytes.
struct SenseData {
  uint8_t key = 0;
  uint8_t asc = 0;
  uint8_t ascq = 0;
  bool deferred = false;
  bool descriptor_format = false;
};
// kBadData for an unknown response code or data too short for the key.
lib::Result<SenseData, ScsiError> ParseSense(lib::Span<const uint8_t> data);

// A capacity tern can use (block::CheckGeometry): kBadCapacity for zero blocks or a block size of
// 0 (READ CAPACITY data of all zeros) or a size in bytes past 64 bits, kBadBlockSize for a block
// size that is not a power of two from 512 to 16384.
lib::Result<void, ScsiError> CheckCapacity(const ScsiCapacity& capacity);

// --- Talking to one LUN. ---

// What the last command of a ScsiLun got, for messages.
struct ScsiOutcome {
  uint8_t status = 0;
  bool has_sense = false;
  SenseData sense;
  block::IoError transport_error = block::IoError::kDevice;  // when the transport failed
};

// Scratch memory for data-in: guest RAM the transport can DMA to, at least this many bytes
// (kScsiScratchBytes is what the adapter drivers give ProbeScsiUnits).
inline constexpr uint32_t kScsiMinScratchBytes = 256;
inline constexpr uint32_t kScsiScratchBytes = 4096;
inline constexpr uint32_t kScsiInquiryBytes = 36;
inline constexpr int kScsiReadyAttempts = 16;
inline constexpr uint64_t kScsiReadySeconds = 10;

class ScsiLun {
 public:
  // `transport` and `memory` must outlive the ScsiLun; [scratch, scratch + scratch_bytes) is
  // guest RAM in `memory` (checked by each command).
  ScsiLun(const ScsiTransport& transport, lib::GuestMemory& memory, uint64_t scratch,
          uint32_t scratch_bytes, uint32_t target, uint32_t lun)
      : transport_(&transport),
        memory_(&memory),
        scratch_(scratch),
        scratch_bytes_(scratch_bytes),
        target_(target),
        lun_(lun) {}

  lib::Result<InquiryData, ScsiError> Inquiry();
  // TEST UNIT READY, retried on UNIT ATTENTION and on NOT READY "becoming ready" (ASC 04h) at
  // most kScsiReadyAttempts times within kScsiReadySeconds of the time base.
  lib::Result<void, ScsiError> WaitReady(uint64_t timebase_frequency);
  // READ CAPACITY(10), then READ CAPACITY(16) when the disk is too large for it. The values are
  // as the target gave them: CheckCapacity judges them.
  lib::Result<ScsiCapacity, ScsiError> ReadCapacity();
  // REPORT LUNS into the scratch buffer (allocation length: the scratch size rounded down to a
  // multiple of 8); the entries stay there until the next command.
  lib::Result<ReportLunsData, ScsiError> ReportLuns();

  // One command with a data-in buffer at real address `buffer` of `bytes` (0: none). GOOD:
  // returns the bytes transferred. Anything else is an error; outcome() says what the target
  // answered.
  lib::Result<uint32_t, ScsiError> Execute(ScsiCommand& command, uint64_t buffer, uint32_t bytes);

  const ScsiOutcome& outcome() const { return outcome_; }
  uint32_t target() const { return target_; }
  uint32_t lun() const { return lun_; }

 private:
  // The scratch buffer's first `bytes` after a command that filled `transferred` of them.
  lib::Result<lib::Span<const uint8_t>, ScsiError> Scratch(uint32_t transferred) const;

  const ScsiTransport* transport_;
  lib::GuestMemory* memory_;
  uint64_t scratch_;
  uint32_t scratch_bytes_;
  uint32_t target_;
  uint32_t lun_;
  ScsiOutcome outcome_;
};

// --- Scanning an adapter. ---

inline constexpr int kScsiMaxUnits = 16;

struct ScsiUnit {
  uint32_t target = 0;
  uint32_t lun = 0;
  uint8_t device_type = 0;  // kScsiTypeDisk or kScsiTypeCdrom
  bool removable = false;
  char vendor[9] = {};
  char product[17] = {};
  // Whether TEST UNIT READY and READ CAPACITY succeeded, and what it said; for a CD-ROM whose
  // tray is empty (NOT READY, MEDIUM NOT PRESENT) no_medium is set instead, and nothing printed.
  bool ready = false;
  bool no_medium = false;
  ScsiCapacity capacity;
};

struct ScsiScan {
  ScsiUnit units[kScsiMaxUnits];
  int count = 0;
  bool truncated = false;  // more disks and CD-ROMs than kScsiMaxUnits
};

// For each target 0..transport.max_target: REPORT LUNS on LUN 0 (LUN 0 alone when the target
// refuses it; LUNs of other targets or buses, above max_lun or in a format DecodeLun does not
// take are skipped), INQUIRY on each LUN; LUNs with qualifier 0 and type disk or CD-ROM are
// listed and get WaitReady and ReadCapacity (MMC CD-ROMs answer both as disks do, with 2048-byte
// blocks). A transport failure (timeout, malformed
// answer, adapter stopped) ends the scan. Lines naming `adapter_name` report truncated LUN lists,
// disks that are not ready and a full list. `out` is overwritten.
void ScanScsi(const ScsiTransport& transport, lib::GuestMemory& memory, uint64_t scratch,
              uint32_t scratch_bytes, uint64_t timebase_frequency, const char* adapter_name,
              ScsiScan& out);

// --- One LUN as a block device. ---

inline constexpr size_t kScsiNameMax = 96;
// Disks (on every adapter together) the SCSI layer's pool holds.
inline constexpr int kScsiDiskInstances = 64;

class ScsiDisk {
 public:
  constexpr ScsiDisk() = default;
  ScsiDisk(const ScsiDisk&) = delete;
  ScsiDisk& operator=(const ScsiDisk&) = delete;

  // Makes LUN `lun` of `target` a block::Device: WaitReady, ReadCapacity (through the scratch
  // buffer, which is not used afterwards), block::CheckGeometry. `name` (copied, truncated to
  // kScsiNameMax - 1) names the disk in messages. A refused disk (a capacity of zero blocks or
  // whose size in bytes does not fit 64 bits, a bad block size, not ready) gets a line saying
  // why. `transport` and `memory` must outlive the disk.
  lib::Result<void, ScsiError> Start(const ScsiTransport& transport, lib::GuestMemory& memory,
                                     uint64_t scratch, uint32_t scratch_bytes, uint32_t target,
                                     uint32_t lun, uint64_t timebase_frequency, const char* name);

  // Reads go out as one command of at most max_transfer_blocks (the transport's
  // max_transfer_bytes; the deblocker splits longer reads), READ(10) or READ(16) as the LBA and
  // count need; UNIT ATTENTION and BUSY are retried a few times. CHECK CONDITION is kDevice, with
  // a line naming the disk, the block and the sense key / ASC / ASCQ.
  const block::Device& disk() const { return disk_; }
  const char* name() const { return name_; }
  uint32_t target() const { return target_; }
  uint32_t lun() const { return lun_; }
  // kRunning from a successful Start; the adapter's own state decides whether reads still work.
  DriverState state() const { return state_; }
  // Gives the disk up (the caller found no use for it): reads fail with kNotReady.
  void Stop();

  // Room for what ProbeScsiUnits reports of the disk (its node's unit name, its console line).
  char unit[40] = {};
  char description[96] = {};

 private:
  static lib::Result<void, block::IoError> ReadBlocks(void* driver, uint64_t lba, uint32_t count,
                                                      uint64_t buffer);
  lib::Result<void, block::IoError> Read(uint64_t lba, uint32_t count, uint64_t buffer);
  // Whether a disk of `geometry` can be read through an adapter carrying `max_transfer_bytes` a
  // command; a line says why not.
  lib::Result<void, ScsiError> CheckStartable(const ScsiCapacity& geometry,
                                              uint32_t max_transfer_bytes) const;

  const ScsiTransport* transport_ = nullptr;
  lib::GuestMemory* memory_ = nullptr;
  uint32_t target_ = 0;
  uint32_t lun_ = 0;
  block::Device disk_;
  char name_[kScsiNameMax] = {};
  DriverState state_ = DriverState::kIdle;
};

// What an adapter driver does with its LUNs: ScanScsi through `transport` (its `scratch` holds
// kScsiScratchBytes), then each disk that starts (ScsiDisk, from the SCSI layer's pool of
// kScsiDiskInstances) is reported to env.sink as a "block" device at the child node
// "disk@<transport.unit_address>" of `adapter_path`, as QEMU's boot list names it (QEMU names a
// scsi-cd so too); CD-ROMs as block::Media::kCdrom. A CD-ROM with no medium gets a one-line note
// and is not reported. Returns how many devices the sink took; `transport` must outlive them.
int ProbeScsiUnits(ProbeEnv& env, const ScsiTransport& transport, const char* adapter_path,
                   uint64_t scratch);

}  // namespace dev
