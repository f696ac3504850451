#include "dev/scsi.h"

#include "lib/be.h"
#include "lib/console.h"
#include "lib/cpu.h"
#include "lib/format.h"
#include "lib/string.h"
#include "lib/timeout.h"

namespace dev {

namespace {

// Operation codes [SPC-4 §6, SBC-3 §5].
constexpr uint8_t kOpTestUnitReady = 0x00;
constexpr uint8_t kOpInquiry = 0x12;
constexpr uint8_t kOpReadCapacity10 = 0x25;
constexpr uint8_t kOpRead10 = 0x28;
constexpr uint8_t kOpRead16 = 0x88;
constexpr uint8_t kOpServiceActionIn16 = 0x9e;
constexpr uint8_t kServiceActionReadCapacity16 = 0x10;
constexpr uint8_t kOpReportLuns = 0xa0;

constexpr uint8_t kAscBecomingReady = 0x04;  // LOGICAL UNIT NOT READY [SPC-4 annex D]

constexpr uint32_t kReadCapacity10Bytes = 8;
constexpr uint32_t kReadCapacity16Bytes = 32;
constexpr uint32_t kReadCapacity16Minimum = 12;
constexpr uint32_t kMinBlockSize = block::kMinBlockSize;
constexpr int kReadAttempts = 4;
constexpr int kMaxLunsPerTarget = 64;
// Between TEST UNIT READYs of a unit that is becoming ready: 50 ms, and a spin bound so that a
// time base that does not move cannot hold the firmware.
constexpr uint64_t kBecomingReadyPauseDivisor = 20;
constexpr uint64_t kMaxPauseSpins = uint64_t{1} << 20;

void ClearCdb(ScsiCommand& command, uint8_t length) {
  lib::MemSet(command.cdb, 0, sizeof(command.cdb));
  command.cdb_length = length;
}

// Copies an INQUIRY identification field, trailing spaces dropped, non-printables as '?'.
template <size_t N>
void CopyIdentification(char (&out)[N], const uint8_t* field, size_t size) {
  static_assert(N > 0);
  size_t length = lib::Min(size, N - 1);
  while (length > 0 && field[length - 1] == ' ') --length;
  for (size_t i = 0; i < length; ++i) {
    out[i] = field[i] >= 0x20 && field[i] < 0x7f ? static_cast<char>(field[i]) : '?';
  }
  out[length] = '\0';
}

bool IsTransportFailure(ScsiError error) {
  return error == ScsiError::kTransport || error == ScsiError::kTimeout;
}

void Pause(uint64_t ticks) {
  const uint64_t start = lib::ReadTimebase();
  for (uint64_t spins = 0; spins < kMaxPauseSpins && lib::ReadTimebase() - start < ticks; ++spins) {
  }
}

// "<error>[, sense key K (NAME), ASC xxh ASCQ yyh][, status 0xSS]" for messages.
void Describe(char* out, size_t size, ScsiError error, const ScsiOutcome& outcome) {
  size_t used = lib::FormatToBuffer(out, size, "%s", ScsiErrorName(error));
  if (used >= size) return;
  if (IsTransportFailure(error)) {
    (void)lib::FormatToBuffer(out + used, size - used, " (%s)",
                              block::IoErrorName(outcome.transport_error));
  } else if (outcome.has_sense) {
    (void)lib::FormatToBuffer(out + used, size - used, ", sense key %x (%s), ASC %02xh ASCQ %02xh",
                              outcome.sense.key, SenseKeyName(outcome.sense.key), outcome.sense.asc,
                              outcome.sense.ascq);
  } else if (error == ScsiError::kStatus || error == ScsiError::kCheckCondition) {
    (void)lib::FormatToBuffer(out + used, size - used, ", status 0x%02x", outcome.status);
  }
}

}  // namespace

const char* ScsiErrorName(ScsiError error) {
  switch (error) {
    case ScsiError::kTransport: return "adapter failure";
    case ScsiError::kTimeout: return "no answer in time";
    case ScsiError::kCheckCondition: return "CHECK CONDITION";
    case ScsiError::kStatus: return "unexpected status";
    case ScsiError::kBadData: return "malformed data from the target";
    case ScsiError::kNotReady: return "not ready";
    case ScsiError::kBadCapacity: return "bad capacity";
    case ScsiError::kBadBlockSize: return "bad block size";
    case ScsiError::kBadArgument: return "bad argument";
  }
  return "SCSI error";
}

const char* SenseKeyName(uint8_t key) {
  static constexpr const char* kNames[16] = {
      "NO SENSE",       "RECOVERED ERROR", "NOT READY",      "MEDIUM ERROR",
      "HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT",
      "BLANK CHECK",    "VENDOR SPECIFIC", "COPY ABORTED",   "ABORTED COMMAND",
      "reserved (0xc)", "VOLUME OVERFLOW", "MISCOMPARE",     "COMPLETED",
  };
  return kNames[key & 0xf];
}

void BuildInquiry(ScsiCommand& command, uint16_t allocation_length) {
  ClearCdb(command, 6);
  command.cdb[0] = kOpInquiry;
  lib::StoreBe16(&command.cdb[3], allocation_length);
}

void BuildTestUnitReady(ScsiCommand& command) {
  ClearCdb(command, 6);
  command.cdb[0] = kOpTestUnitReady;
}

void BuildReadCapacity10(ScsiCommand& command) {
  ClearCdb(command, 10);
  command.cdb[0] = kOpReadCapacity10;
}

void BuildReadCapacity16(ScsiCommand& command, uint32_t allocation_length) {
  ClearCdb(command, 16);
  command.cdb[0] = kOpServiceActionIn16;
  command.cdb[1] = kServiceActionReadCapacity16;
  lib::StoreBe32(&command.cdb[10], allocation_length);
}

void BuildRead(ScsiCommand& command, uint64_t lba, uint32_t blocks) {
  if (lba <= 0xffffffffu && blocks <= 0xffffu) {
    ClearCdb(command, 10);
    command.cdb[0] = kOpRead10;
    lib::StoreBe32(&command.cdb[2], static_cast<uint32_t>(lba));
    lib::StoreBe16(&command.cdb[7], static_cast<uint16_t>(blocks));
    return;
  }
  ClearCdb(command, 16);
  command.cdb[0] = kOpRead16;
  lib::StoreBe64(&command.cdb[2], lba);
  lib::StoreBe32(&command.cdb[10], blocks);
}

void BuildReportLuns(ScsiCommand& command, uint32_t allocation_length) {
  ClearCdb(command, 12);
  command.cdb[0] = kOpReportLuns;
  lib::StoreBe32(&command.cdb[6], allocation_length);
}

lib::Result<InquiryData, ScsiError> ParseInquiry(lib::Span<const uint8_t> data) {
  if (data.empty()) return lib::Err(ScsiError::kBadData);
  InquiryData inquiry;
  inquiry.qualifier = data[0] >> 5;
  inquiry.device_type = data[0] & 0x1f;
  if (data.size() >= 2) inquiry.removable = (data[1] & 0x80) != 0;
  // The identification needs the standard 36 bytes, and the target's additional length (byte 4)
  // must say it sent them.
  if (data.size() >= kScsiInquiryBytes && data.size() >= 5 &&
      uint32_t{data[4]} + 5 >= kScsiInquiryBytes) {
    CopyIdentification(inquiry.vendor, data.data() + 8, 8);
    CopyIdentification(inquiry.product, data.data() + 16, 16);
  }
  return inquiry;
}

lib::Result<ReadCapacity10Data, ScsiError> ParseReadCapacity10(lib::Span<const uint8_t> data) {
  if (data.size() < kReadCapacity10Bytes) return lib::Err(ScsiError::kBadData);
  ReadCapacity10Data result;
  const uint32_t last_lba = lib::LoadBe32(data.data());
  result.capacity.block_size = lib::LoadBe32(data.data() + 4);
  if (last_lba == 0xffffffffu) {
    result.needs_16 = true;
  } else {
    result.capacity.blocks = uint64_t{last_lba} + 1;
  }
  return result;
}

lib::Result<ScsiCapacity, ScsiError> ParseReadCapacity16(lib::Span<const uint8_t> data) {
  if (data.size() < kReadCapacity16Minimum) return lib::Err(ScsiError::kBadData);
  const uint64_t last_lba = lib::LoadBe64(data.data());
  if (last_lba == ~uint64_t{0}) return lib::Err(ScsiError::kBadCapacity);
  return ScsiCapacity{last_lba + 1, lib::LoadBe32(data.data() + 8)};
}

lib::Result<void, ScsiError> CheckCapacity(const ScsiCapacity& capacity) {
  // All zeros is how some targets say "nothing there".
  if (capacity.blocks == 0 || capacity.block_size == 0) return lib::Err(ScsiError::kBadCapacity);
  auto geometry = block::CheckGeometry(capacity.block_size, capacity.blocks);
  if (geometry.is_error()) {
    return lib::Err(geometry.error() == block::GeometryError::kBadBlockSize
                        ? ScsiError::kBadBlockSize
                        : ScsiError::kBadCapacity);
  }
  return lib::Ok<ScsiError>();
}

bool DecodeLun(const uint8_t (&field)[8], ScsiLunAddress& out) {
  for (int i = 2; i < 8; ++i) {
    if (field[i] != 0) return false;  // a second level
  }
  out = ScsiLunAddress{};
  switch (field[0] >> 6) {
    case 0:  // peripheral device addressing
      out.bus = field[0] & 0x3f;
      out.lun = field[1];
      return true;
    case 1:  // flat space addressing
      out.lun = (uint32_t{field[0] & 0x3fu} << 8) | field[1];
      return true;
    case 2:  // logical unit addressing
      out.has_target = true;
      out.target = field[0] & 0x3f;
      out.bus = field[1] >> 5;
      out.lun = field[1] & 0x1f;
      return true;
    default:  // extended addressing
      return false;
  }
}

lib::Result<ReportLunsData, ScsiError> ParseReportLuns(lib::Span<const uint8_t> data) {
  if (data.size() < 8) return lib::Err(ScsiError::kBadData);
  ReportLunsData result;
  result.listed = lib::LoadBe32(data.data()) / 8;
  result.entries = lib::Min<uint32_t>(result.listed, static_cast<uint32_t>((data.size() - 8) / 8));
  result.list = data.data() + 8;
  return result;
}

lib::Result<SenseData, ScsiError> ParseSense(lib::Span<const uint8_t> data) {
  if (data.empty()) return lib::Err(ScsiError::kBadData);
  SenseData sense;
  const uint8_t response_code = data[0] & 0x7f;
  switch (response_code) {
    case 0x70:
    case 0x71:
      if (data.size() < 3) return lib::Err(ScsiError::kBadData);
      sense.deferred = response_code == 0x71;
      sense.key = data[2] & 0xf;
      // ASC and ASCQ are bytes 12 and 13: inside both what arrived and the additional length.
      if (data.size() >= 14 && data.size() >= 8 && uint32_t{data[7]} + 8 >= 14) {
        sense.asc = data[12];
        sense.ascq = data[13];
      }
      return sense;
    case 0x72:
    case 0x73:
      if (data.size() < 4) return lib::Err(ScsiError::kBadData);
      sense.descriptor_format = true;
      sense.deferred = response_code == 0x73;
      sense.key = data[1] & 0xf;
      sense.asc = data[2];
      sense.ascq = data[3];
      return sense;
    default: return lib::Err(ScsiError::kBadData);
  }
}

lib::Result<uint32_t, ScsiError> ScsiLun::Execute(ScsiCommand& command, uint64_t buffer,
                                                  uint32_t bytes) {
  outcome_ = ScsiOutcome{};
  command.target = target_;
  command.lun = lun_;
  command.data = bytes == 0 ? 0 : buffer;
  command.data_length = bytes;
  if (transport_->execute == nullptr) {
    outcome_.transport_error = block::IoError::kNotReady;
    return lib::Err(ScsiError::kTransport);
  }
  auto answer = transport_->execute(transport_->adapter, command);
  if (answer.is_error()) {
    outcome_.transport_error = answer.error();
    return lib::Err(answer.error() == block::IoError::kTimeout ? ScsiError::kTimeout
                                                               : ScsiError::kTransport);
  }
  const ScsiResponse& response = answer.value();
  outcome_.status = response.status;
  if (response.sense_length > 0) {
    auto sense = ParseSense(lib::Span<const uint8_t>(
        response.sense, lib::Min<size_t>(response.sense_length, sizeof(response.sense))));
    if (sense.is_ok()) {
      outcome_.has_sense = true;
      outcome_.sense = sense.value();
    }
  }
  if (response.status == kScsiStatusCheckCondition) return lib::Err(ScsiError::kCheckCondition);
  if (response.status != kScsiStatusGood) return lib::Err(ScsiError::kStatus);
  if (response.residual > bytes) return lib::Err(ScsiError::kBadData);
  return bytes - response.residual;
}

lib::Result<lib::Span<const uint8_t>, ScsiError> ScsiLun::Scratch(uint32_t transferred) const {
  if (transferred > scratch_bytes_) return lib::Err(ScsiError::kBadData);
  auto mapped = memory_->Map(scratch_, transferred, false);
  if (mapped.is_error()) return lib::Err(ScsiError::kBadArgument);
  return lib::Span<const uint8_t>(mapped.value(), transferred);
}

lib::Result<InquiryData, ScsiError> ScsiLun::Inquiry() {
  if (scratch_bytes_ < kScsiMinScratchBytes ||
      memory_->Map(scratch_, scratch_bytes_, false).is_error()) {
    return lib::Err(ScsiError::kBadArgument);
  }
  ScsiCommand command;
  BuildInquiry(command, kScsiInquiryBytes);
  auto transferred = Execute(command, scratch_, kScsiInquiryBytes);
  if (transferred.is_error()) return lib::Err(transferred.error());
  auto data = Scratch(transferred.value());
  if (data.is_error()) return lib::Err(data.error());
  return ParseInquiry(data.value());
}

lib::Result<void, ScsiError> ScsiLun::WaitReady(uint64_t timebase_frequency) {
  if (timebase_frequency == 0) return lib::Err(ScsiError::kBadArgument);
  const lib::Deadline deadline = lib::Deadline::AfterSeconds(kScsiReadySeconds, timebase_frequency);
  for (int attempt = 0; attempt < kScsiReadyAttempts; ++attempt) {
    if (attempt > 0 && deadline.Passed()) break;
    ScsiCommand command;
    BuildTestUnitReady(command);
    auto done = Execute(command, 0, 0);
    if (done.is_ok()) return lib::Ok<ScsiError>();
    if (done.error() == ScsiError::kStatus && outcome_.status == kScsiStatusBusy) continue;
    if (done.error() != ScsiError::kCheckCondition || !outcome_.has_sense) {
      return lib::Err(done.error());
    }
    if (outcome_.sense.key == kSenseUnitAttention) continue;
    if (outcome_.sense.key == kSenseNotReady && outcome_.sense.asc == kAscBecomingReady) {
      Pause(timebase_frequency / kBecomingReadyPauseDivisor);
      continue;
    }
    return lib::Err(ScsiError::kCheckCondition);
  }
  return lib::Err(ScsiError::kNotReady);
}

lib::Result<ScsiCapacity, ScsiError> ScsiLun::ReadCapacity() {
  if (scratch_bytes_ < kScsiMinScratchBytes ||
      memory_->Map(scratch_, scratch_bytes_, false).is_error()) {
    return lib::Err(ScsiError::kBadArgument);
  }
  ScsiCommand command;
  BuildReadCapacity10(command);
  auto transferred = Execute(command, scratch_, kReadCapacity10Bytes);
  if (transferred.is_error()) return lib::Err(transferred.error());
  auto data = Scratch(transferred.value());
  if (data.is_error()) return lib::Err(data.error());
  auto short_answer = ParseReadCapacity10(data.value());
  if (short_answer.is_error()) return lib::Err(short_answer.error());
  if (!short_answer.value().needs_16) return short_answer.value().capacity;

  BuildReadCapacity16(command, kReadCapacity16Bytes);
  transferred = Execute(command, scratch_, kReadCapacity16Bytes);
  if (transferred.is_error()) return lib::Err(transferred.error());
  data = Scratch(transferred.value());
  if (data.is_error()) return lib::Err(data.error());
  return ParseReadCapacity16(data.value());
}

lib::Result<ReportLunsData, ScsiError> ScsiLun::ReportLuns() {
  if (scratch_bytes_ < kScsiMinScratchBytes ||
      memory_->Map(scratch_, scratch_bytes_, false).is_error()) {
    return lib::Err(ScsiError::kBadArgument);
  }
  const uint32_t allocation = scratch_bytes_ & ~7u;
  ScsiCommand command;
  BuildReportLuns(command, allocation);
  auto transferred = Execute(command, scratch_, allocation);
  if (transferred.is_error()) return lib::Err(transferred.error());
  auto data = Scratch(transferred.value());
  if (data.is_error()) return lib::Err(data.error());
  return ParseReportLuns(data.value());
}

namespace {

// The LUNs of `target` worth an INQUIRY, into `luns`; returns their count, or a transport error.
lib::Result<int, ScsiError> ListLuns(ScsiLun& lun0, const ScsiTransport& transport,
                                     const char* adapter_name,
                                     uint32_t (&luns)[kMaxLunsPerTarget]) {
  auto report = lun0.ReportLuns();
  if (report.is_error()) {
    if (IsTransportFailure(report.error()) || report.error() == ScsiError::kBadArgument) {
      return lib::Err(report.error());
    }
    luns[0] = 0;  // REPORT LUNS refused: LUN 0 alone
    return 1;
  }
  const ReportLunsData& list = report.value();
  if (list.entries < list.listed) {
    lib::Printf("tern: %s: target %u lists %u LUNs, %u fit in the buffer: using those\n",
                adapter_name, lun0.target(), list.listed, list.entries);
  }
  int count = 0;
  for (uint32_t i = 0; i < list.entries; ++i) {
    uint8_t field[8];
    lib::MemCopy(field, list.list + 8 * i, 8);
    ScsiLunAddress address;
    if (!DecodeLun(field, address) || address.bus != 0 || address.lun > transport.max_lun) continue;
    if (address.has_target && address.target != lun0.target()) continue;
    bool seen = false;
    for (int j = 0; j < count; ++j) seen = seen || luns[j] == address.lun;
    if (seen) continue;
    if (count == kMaxLunsPerTarget) {
      lib::Printf("tern: %s: target %u: more than %d LUNs: the rest are not used\n", adapter_name,
                  lun0.target(), kMaxLunsPerTarget);
      break;
    }
    luns[count++] = address.lun;
  }
  return count;
}

}  // namespace

namespace {

constexpr uint8_t kAscMediumNotPresent = 0x3a;  // MEDIUM NOT PRESENT [SPC-4 annex D]

// TEST UNIT READY and READ CAPACITY of a disk or CD-ROM the scan found, into `found`. A CD-ROM
// whose tray is empty is marked no_medium, silently (the caller says so with its node's name).
// False when the scan must end: the adapter failed.
bool CheckUnit(ScsiLun& unit, uint64_t timebase_frequency, const char* adapter_name,
               ScsiUnit& found) {
  auto ready = unit.WaitReady(timebase_frequency);
  lib::Result<ScsiCapacity, ScsiError> capacity = lib::Err(ScsiError::kNotReady);
  if (ready.is_ok()) capacity = unit.ReadCapacity();
  lib::Result<void, ScsiError> usable = lib::Err(ScsiError::kNotReady);
  if (ready.is_error()) {
    usable = ready;
  } else if (capacity.is_error()) {
    usable = lib::Err(capacity.error());
  } else {
    usable = CheckCapacity(capacity.value());
    found.capacity = capacity.value();
  }
  found.ready = usable.is_ok();
  if (usable.is_ok()) return true;
  const ScsiOutcome& outcome = unit.outcome();
  if (found.device_type == kScsiTypeCdrom && usable.error() == ScsiError::kCheckCondition &&
      outcome.has_sense && outcome.sense.key == kSenseNotReady &&
      outcome.sense.asc == kAscMediumNotPresent) {
    found.no_medium = true;
    return true;
  }
  char why[128];
  Describe(why, sizeof(why), usable.error(), outcome);
  lib::Printf("tern: %s: %s at target %u LUN %u: %s\n", adapter_name,
              found.device_type == kScsiTypeCdrom ? "CD-ROM" : "disk", found.target, found.lun,
              why);
  return !IsTransportFailure(usable.error());
}

}  // namespace

void ScanScsi(const ScsiTransport& transport, lib::GuestMemory& memory, uint64_t scratch,
              uint32_t scratch_bytes, uint64_t timebase_frequency, const char* adapter_name,
              ScsiScan& out) {
  out.count = 0;
  out.truncated = false;
  char why[128];
  for (uint32_t target = 0; target <= transport.max_target; ++target) {
    ScsiLun lun0(transport, memory, scratch, scratch_bytes, target, 0);
    uint32_t luns[kMaxLunsPerTarget];
    auto listed = ListLuns(lun0, transport, adapter_name, luns);
    if (listed.is_error()) {
      Describe(why, sizeof(why), listed.error(), lun0.outcome());
      lib::Printf("tern: %s: REPORT LUNS on target %u: %s; scan ended\n", adapter_name, target,
                  why);
      return;
    }
    for (int i = 0; i < listed.value(); ++i) {
      ScsiLun unit(transport, memory, scratch, scratch_bytes, target, luns[i]);
      auto inquiry = unit.Inquiry();
      if (inquiry.is_error()) {
        if (!IsTransportFailure(inquiry.error())) continue;
        Describe(why, sizeof(why), inquiry.error(), unit.outcome());
        lib::Printf("tern: %s: INQUIRY on target %u LUN %u: %s; scan ended\n", adapter_name, target,
                    luns[i], why);
        return;
      }
      const InquiryData& data = inquiry.value();
      if (data.qualifier != 0) continue;
      if (data.device_type != kScsiTypeDisk && data.device_type != kScsiTypeCdrom) continue;
      if (out.count == kScsiMaxUnits) {
        out.truncated = true;
        lib::Printf("tern: %s: more than %d disks and CD-ROMs: the rest are not used\n",
                    adapter_name, kScsiMaxUnits);
        return;
      }
      ScsiUnit& found = out.units[out.count++];
      found = ScsiUnit{};
      found.target = target;
      found.lun = luns[i];
      found.device_type = data.device_type;
      found.removable = data.removable;
      lib::MemCopy(found.vendor, data.vendor, sizeof(found.vendor));
      lib::MemCopy(found.product, data.product, sizeof(found.product));
      if (!CheckUnit(unit, timebase_frequency, adapter_name, found)) return;
    }
  }
}

lib::Result<void, ScsiError> ScsiDisk::Start(const ScsiTransport& transport,
                                             lib::GuestMemory& memory, uint64_t scratch,
                                             uint32_t scratch_bytes, uint32_t target, uint32_t lun,
                                             uint64_t timebase_frequency, const char* name) {
  disk_ = block::Device{};
  state_ = DriverState::kIdle;
  transport_ = &transport;
  memory_ = &memory;
  target_ = target;
  lun_ = lun;
  (void)lib::FormatToBuffer(name_, sizeof(name_), "%s", name);
  if (transport.execute == nullptr || transport.max_transfer_bytes < kMinBlockSize) {
    lib::Printf("tern: %s: the adapter cannot carry reads: not used\n", name_);
    return lib::Err(ScsiError::kBadArgument);
  }
  ScsiLun unit(transport, memory, scratch, scratch_bytes, target, lun);
  auto ready = unit.WaitReady(timebase_frequency);
  lib::Result<ScsiCapacity, ScsiError> capacity = lib::Err(ScsiError::kNotReady);
  if (ready.is_ok()) capacity = unit.ReadCapacity();
  char why[128];
  if (ready.is_error() || capacity.is_error()) {
    const ScsiError error = ready.is_error() ? ready.error() : capacity.error();
    Describe(why, sizeof(why), error, unit.outcome());
    lib::Printf("tern: %s: %s: not used\n", name_, why);
    return lib::Err(error);
  }
  const ScsiCapacity& geometry = capacity.value();
  TERN_TRY(CheckStartable(geometry, transport.max_transfer_bytes));
  disk_.block_size = geometry.block_size;
  disk_.blocks = geometry.blocks;
  disk_.max_transfer_blocks = transport.max_transfer_bytes / geometry.block_size;
  disk_.read = ReadBlocks;
  disk_.driver = this;
  state_ = DriverState::kRunning;
  return lib::Ok<ScsiError>();
}

lib::Result<void, ScsiError> ScsiDisk::CheckStartable(const ScsiCapacity& geometry,
                                                      uint32_t max_transfer_bytes) const {
  if (auto usable = CheckCapacity(geometry); usable.is_error()) {
    if (usable.error() == ScsiError::kBadBlockSize) {
      lib::Printf("tern: %s: block size %u is not a power of two from 512 to 16384: not used\n",
                  name_, geometry.block_size);
    } else if (geometry.blocks == 0 || geometry.block_size == 0) {
      lib::Printf("tern: %s: capacity of 0 bytes: not used\n", name_);
    } else {
      lib::Printf("tern: %s: %llu blocks of %u bytes: the size does not fit 64 bits: not used\n",
                  name_, static_cast<unsigned long long>(geometry.blocks), geometry.block_size);
    }
    return usable;
  }
  if (max_transfer_bytes < geometry.block_size) {
    lib::Printf(
        "tern: %s: blocks of %u bytes, but the adapter carries %u bytes a command: not used\n",
        name_, geometry.block_size, max_transfer_bytes);
    return lib::Err(ScsiError::kBadArgument);
  }
  return lib::Ok<ScsiError>();
}

lib::Result<void, block::IoError> ScsiDisk::ReadBlocks(void* driver, uint64_t lba, uint32_t count,
                                                       uint64_t buffer) {
  return static_cast<ScsiDisk*>(driver)->Read(lba, count, buffer);
}

lib::Result<void, block::IoError> ScsiDisk::Read(uint64_t lba, uint32_t count, uint64_t buffer) {
  if (state_ != DriverState::kRunning) return lib::Err(block::IoError::kNotReady);
  if (lba > disk_.blocks || count > disk_.blocks - lba || count > disk_.max_transfer_blocks) {
    return lib::Err(block::IoError::kOutOfRange);
  }
  const uint32_t bytes = count * disk_.block_size;  // at most the transport's max_transfer_bytes
  if (bytes == 0) return lib::Ok<block::IoError>();
  if (memory_->Map(buffer, bytes, false).is_error()) return lib::Err(block::IoError::kBadBuffer);
  ScsiLun unit(*transport_, *memory_, 0, 0, target_, lun_);
  ScsiError error = ScsiError::kTransport;
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    ScsiCommand command;
    BuildRead(command, lba, count);
    auto transferred = unit.Execute(command, buffer, bytes);
    if (transferred.is_ok()) {
      if (transferred.value() == bytes) return lib::Ok<block::IoError>();
      lib::Printf("tern: %s: read of block %llu: %u of %u bytes arrived\n", name_,
                  static_cast<unsigned long long>(lba), transferred.value(), bytes);
      return lib::Err(block::IoError::kBadResponse);
    }
    error = transferred.error();
    const ScsiOutcome& outcome = unit.outcome();
    const bool unit_attention = error == ScsiError::kCheckCondition && outcome.has_sense &&
                                outcome.sense.key == kSenseUnitAttention;
    const bool busy = error == ScsiError::kStatus && outcome.status == kScsiStatusBusy;
    if (!unit_attention && !busy) break;
  }
  char why[128];
  Describe(why, sizeof(why), error, unit.outcome());
  lib::Printf("tern: %s: read of block %llu: %s\n", name_, static_cast<unsigned long long>(lba),
              why);
  switch (error) {
    case ScsiError::kTransport:
    case ScsiError::kTimeout: return lib::Err(unit.outcome().transport_error);
    case ScsiError::kBadData: return lib::Err(block::IoError::kBadResponse);
    default: return lib::Err(block::IoError::kDevice);
  }
}

// ---------------------------------------------------------------------------------------------
// An adapter's LUNs, for the driver table.

namespace {

constinit Pool<ScsiDisk, kScsiDiskInstances> disk_pool;
// The scan's results: one adapter is scanned at a time.
constinit ScsiScan scan;

// Starts the disk `unit` found behind `transport` and reports it; true when the sink took it.
bool ReportDisk(ProbeEnv& env, const ScsiTransport& transport, const char* adapter_path,
                uint64_t scratch, const ScsiUnit& unit, const char* unit_name) {
  char path[kScsiNameMax];
  (void)lib::FormatToBuffer(path, sizeof(path), "%s/%s", adapter_path, unit_name);
  ScsiDisk* disk = disk_pool.Take();
  if (disk == nullptr) {
    lib::Printf("tern: %s: more than %d SCSI disks: not used\n", path, kScsiDiskInstances);
    return false;
  }
  if (disk->Start(transport, env.memory, scratch, kScsiScratchBytes, unit.target, unit.lun,
                  env.timebase_frequency, path)
          .is_error()) {
    return false;  // Start said why
  }
  (void)lib::FormatToBuffer(disk->unit, sizeof(disk->unit), "%s", unit_name);
  (void)lib::FormatToBuffer(
      disk->description, sizeof(disk->description), "%s %s, %llu blocks of %u bytes (%llu MiB)",
      unit.vendor, unit.product, static_cast<unsigned long long>(disk->disk().blocks),
      disk->disk().block_size, static_cast<unsigned long long>(disk->disk().bytes() >> 20));
  FoundDevice found;
  found.path = adapter_path;
  found.unit = disk->unit;
  found.block = &disk->disk();
  found.media = unit.device_type == kScsiTypeCdrom ? block::Media::kCdrom : block::Media::kDisk;
  found.description = disk->description;
  if (env.sink.add(env.sink.context, found)) return true;
  disk->Stop();
  return false;
}

}  // namespace

void ScsiDisk::Stop() {
  state_ = DriverState::kStopped;
}

int ProbeScsiUnits(ProbeEnv& env, const ScsiTransport& transport, const char* adapter_path,
                   uint64_t scratch) {
  ScanScsi(transport, env.memory, scratch, kScsiScratchBytes, env.timebase_frequency, adapter_path,
           scan);
  int reported = 0;
  for (int i = 0; i < scan.count; ++i) {
    const ScsiUnit& unit = scan.units[i];
    char name[40] = "disk@";
    if (transport.unit_address == nullptr ||
        !transport.unit_address(transport.adapter, unit.target, unit.lun, name + 5,
                                sizeof(name) - 5)) {
      continue;
    }
    if (unit.no_medium) {
      lib::Printf("tern: cdrom %s/%s: %s %s: no medium in the drive: not used\n", adapter_path,
                  name, unit.vendor, unit.product);
      continue;
    }
    if (unit.ready && ReportDisk(env, transport, adapter_path, scratch, unit, name)) ++reported;
  }
  return reported;
}

}  // namespace dev
