#include "dev/vscsi.h"

#include "dev/scsi.h"

#include "lib/be.h"
#include "lib/console.h"
#include "lib/cpu.h"
#include "lib/format.h"
#include "lib/string.h"
#include "lib/timeout.h"
#include "lib/wire.h"

namespace dev {

namespace {

using lib::hv::HcallStatus;

constexpr uint64_t kPage = 4096;
constexpr int kCrqSlot = 0;
constexpr int kIuSlot = 1;
constexpr int kFirstDataSlot = 2;

// CRQ messages [LoPAPR 14.5.4.4; QEMU hw/scsi/viosrp.h]: CrqEntry in dev/vscsi.h.
constexpr uint8_t kCrqValidMask = 0x80;
constexpr uint8_t kCrqPayload = 0x80;
constexpr uint8_t kCrqInit = 0xc0;
constexpr uint8_t kCrqInitRequest = 0x01;
constexpr uint8_t kCrqInitComplete = 0x02;
constexpr uint8_t kCrqFormatSrp = 0x01;  // VIOSRP_SRP_FORMAT
constexpr uint8_t kCrqStatusOk = 0x00;   // VIOSRP_OK

// SRP information units [T10 SRP r16a §6; QEMU hw/scsi/srp.h], big-endian.
constexpr uint8_t kSrpLoginReq = 0x00;
constexpr uint8_t kSrpCmd = 0x02;
constexpr uint8_t kSrpLoginRsp = 0xc0;
constexpr uint8_t kSrpRsp = 0xc1;
constexpr uint8_t kSrpLoginRej = 0xc2;
constexpr uint16_t kSrpBufFormatDirect = 1 << 1;
constexpr uint8_t kSrpDataDescDirect = 1;

struct SrpLoginReq {
  uint8_t opcode;
  uint8_t reserved1[7];
  lib::UBe64 tag;
  lib::UBe32 req_it_iu_len;
  uint8_t reserved2[4];
  lib::UBe16 req_buf_fmt;
  uint8_t req_flags;
  uint8_t reserved3[5];
  uint8_t initiator_port_id[16];
  uint8_t target_port_id[16];
};
static_assert(sizeof(SrpLoginReq) == 64);

// SRP_LOGIN_RSP and SRP_LOGIN_REJ share their first 16 bytes: the opcode, a 32-bit field
// (req_lim_delta, or the rejection's reason) and the tag.
struct SrpLoginRsp {
  uint8_t opcode;
  uint8_t reserved1[3];
  lib::UBe32 req_lim_delta;  // SRP_LOGIN_REJ: reason
  lib::UBe64 tag;
  lib::UBe32 max_it_iu_len;
  lib::UBe32 max_ti_iu_len;
  lib::UBe16 buf_fmt;
  uint8_t rsp_flags;
  uint8_t reserved2[25];
};
static_assert(sizeof(SrpLoginRsp) == 52);
constexpr uint16_t kSrpLoginRejBytes = 32;

struct SrpCmd {
  uint8_t opcode;
  uint8_t sol_not;
  uint8_t reserved1[3];
  uint8_t buf_fmt;  // data-out format in the high nibble, data-in in the low one
  uint8_t data_out_desc_cnt;
  uint8_t data_in_desc_cnt;
  lib::UBe64 tag;
  uint8_t reserved2[4];
  lib::UBe64 lun;
  uint8_t reserved3;
  uint8_t task_attr;
  uint8_t reserved4;
  uint8_t add_cdb_len;
  uint8_t cdb[16];
};
static_assert(sizeof(SrpCmd) == 48);
// A direct data descriptor (struct srp_direct_buf), after the command.
struct SrpDirectBuf {
  lib::UBe64 va;
  lib::UBe32 key;
  lib::UBe32 len;
};
static_assert(sizeof(SrpDirectBuf) == 16);
constexpr uint16_t kSrpCmdBytes = sizeof(SrpCmd) + sizeof(SrpDirectBuf);

struct SrpRsp {
  uint8_t opcode;
  uint8_t sol_not;
  uint8_t reserved1[2];
  lib::UBe32 req_lim_delta;
  lib::UBe64 tag;
  uint8_t reserved2[2];
  uint8_t flags;
  uint8_t status;
  lib::UBe32 data_out_res_cnt;
  lib::UBe32 data_in_res_cnt;
  lib::UBe32 sense_data_len;
  lib::UBe32 resp_data_len;
};
static_assert(sizeof(SrpRsp) == 36);
constexpr uint16_t kMaxIuBytes = 256;  // QEMU hw/scsi/viosrp.h SRP_MAX_IU_LEN
// SRP_RSP flags.
constexpr uint8_t kRspValid = 1 << 0;
constexpr uint8_t kSenseValid = 1 << 1;
constexpr uint8_t kDataInUnderflow = 1 << 5;

constexpr int kFreeCrqAttempts = 100;

}  // namespace

const char* VscsiErrorName(VscsiError error) {
  switch (error) {
    case VscsiError::kBadNode: return "malformed v-scsi node";
    case VscsiError::kBadWorkMemory: return "work memory not 4 KiB-aligned guest RAM";
    case VscsiError::kWindowTooSmall: return "DMA window too small";
    case VscsiError::kTce: return "H_PUT_TCE failed";
    case VscsiError::kRegisterCrq: return "H_REG_CRQ failed";
    case VscsiError::kSendCrq: return "H_SEND_CRQ failed";
    case VscsiError::kFreeCrq: return "H_FREE_CRQ failed";
    case VscsiError::kTimeout: return "no answer in time";
    case VscsiError::kLoginRejected: return "SRP login rejected";
    case VscsiError::kBadResponse: return "malformed answer";
    case VscsiError::kBadArgument: return "bad argument";
  }
  return "v-scsi error";
}

lib::Result<VscsiNode, VscsiError> ParseVscsiNode(const void* fdt, int node) {
  auto parsed = ParseVioNode(fdt, node);
  if (parsed.is_error()) return lib::Err(VscsiError::kBadNode);
  return parsed.value();
}

uint64_t VscsiSrpLun(uint32_t target, uint32_t lun) {
  return uint64_t{0x8000u | ((target & 0x3f) << 8) | (lun & 0x1f)} << 48;
}

bool VscsiUnitAddress(uint32_t target, uint32_t lun, char* out, size_t size) {
  if (target > kVscsiMaxTarget || lun > kVscsiMaxLun || size == 0) return false;
  const size_t length = lib::FormatToBuffer(
      out, size, "%llX", static_cast<unsigned long long>(VscsiSrpLun(target, lun)));
  return length < size;
}

int Vscsi::mapped_tces() const {
  int count = 0;
  for (bool mapped : mapped_) count += mapped ? 1 : 0;
  return count;
}

bool Vscsi::MapPage(int slot, uint64_t real_page) {
  if (lib::hv::PutTce(node_.liobn, Ioba(slot), real_page | lib::hv::kTceRead | lib::hv::kTceWrite)
          .is_error()) {
    return false;
  }
  mapped_[slot] = true;
  return true;
}

bool Vscsi::UnmapPage(int slot) {
  if (lib::hv::PutTce(node_.liobn, Ioba(slot), 0).is_error()) return false;
  mapped_[slot] = false;
  return true;
}

lib::Result<void, VscsiError> Vscsi::Start(const VscsiNode& node, lib::GuestMemory& memory,
                                           uint64_t work_address, uint64_t work_bytes,
                                           uint64_t timebase_frequency) {
  if (running() || crq_registered_ || mapped_tces() > 0) (void)ResetForOs();
  node_ = node;
  memory_ = &memory;
  timebase_frequency_ = timebase_frequency;
  transport_ = ScsiTransport{};
  if (auto started = BringUp(work_address, work_bytes); started.is_error()) {
    lib::Printf("tern: %s: %s: not used\n", node_.path, VscsiErrorName(started.error()));
    Stop();
    return started;
  }
  transport_.execute = ExecuteCommand;
  transport_.adapter = this;
  transport_.max_target = kVscsiMaxTarget;
  transport_.max_lun = kVscsiMaxLun;
  transport_.max_transfer_bytes = kVscsiMaxTransferBytes;
  transport_.unit_address = UnitAddress;
  state_ = DriverState::kRunning;
  return lib::Ok<VscsiError>();
}

lib::Result<void, VscsiError> Vscsi::BringUp(uint64_t work_address, uint64_t work_bytes) {
  if (timebase_frequency_ == 0) return lib::Err(VscsiError::kBadArgument);
  if (node_.window_size < uint64_t{kSlots} * kPage) return lib::Err(VscsiError::kWindowTooSmall);
  if (work_address % kPage != 0 || work_bytes < kVscsiWorkBytes ||
      memory_->Map(work_address, kVscsiWorkBytes, false).is_error()) {
    return lib::Err(VscsiError::kBadWorkMemory);
  }
  work_address_ = work_address;
  crq_ = memory_->Map(work_address, kPage, false).value();
  iu_ = memory_->Map(work_address + kPage, kPage, false).value();
  lib::MemSet(crq_, 0, kPage);  // every entry free
  lib::MemSet(iu_, 0, kPage);
  next_entry_ = 0;
  if (!MapPage(kCrqSlot, work_address) || !MapPage(kIuSlot, work_address + kPage)) {
    return lib::Err(VscsiError::kTce);
  }
  auto registered = lib::hv::RegisterCrq(node_.unit_address, Ioba(kCrqSlot), kPage);
  if (registered.is_error() && registered.error() == HcallStatus::kResource) {
    // A queue left registered (by an earlier boot stage): take it away and register ours.
    (void)lib::hv::FreeCrq(node_.unit_address);
    registered = lib::hv::RegisterCrq(node_.unit_address, Ioba(kCrqSlot), kPage);
  }
  // H_CLOSED: registered, the partner not there yet; the handshake waits for it.
  if (registered.is_error() && registered.error() != HcallStatus::kClosed) {
    lib::Printf("tern: %s: H_REG_CRQ: %s\n", node_.path,
                lib::hv::HcallStatusName(registered.error()));
    return lib::Err(VscsiError::kRegisterCrq);
  }
  crq_registered_ = true;
  TERN_TRY(Handshake());
  return Login();
}

Vscsi::WaitResult Vscsi::NextEntry(const lib::Deadline& deadline, CrqEntry& entry) {
  for (;;) {
    uint8_t* slot = crq_ + sizeof(CrqEntry) * next_entry_;
    const uint8_t valid = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if ((valid & kCrqValidMask) != 0) {
      entry = lib::LoadWire<CrqEntry>(slot);
      __atomic_store_n(slot, uint8_t{0}, __ATOMIC_RELEASE);  // the entry is free again
      next_entry_ = (next_entry_ + 1) % kCrqEntries;
      return WaitResult::kEntry;
    }
    if (deadline.Passed()) return WaitResult::kTimeout;
  }
}

lib::Result<void, VscsiError> Vscsi::Handshake() {
  const lib::Deadline deadline =
      lib::Deadline::AfterSeconds(kVscsiInitSeconds, timebase_frequency_);
  if (auto sent = lib::hv::SendCrq(node_.unit_address, uint64_t{0xc001} << 48, 0);
      sent.is_error()) {
    lib::Printf("tern: %s: H_SEND_CRQ: %s\n", node_.path, lib::hv::HcallStatusName(sent.error()));
    return lib::Err(VscsiError::kSendCrq);
  }
  // Bounded by the time limit; entries other than the initialization (stale answers, transport
  // events) are skipped.
  for (;;) {
    CrqEntry entry;
    if (NextEntry(deadline, entry) == WaitResult::kTimeout) {
      lib::Printf("tern: %s: no answer to the CRQ initialization in %llu s\n", node_.path,
                  static_cast<unsigned long long>(kVscsiInitSeconds));
      return lib::Err(VscsiError::kTimeout);
    }
    if (entry.valid != kCrqInit) continue;
    if (entry.format == kCrqInitComplete) return lib::Ok<VscsiError>();
    if (entry.format == kCrqInitRequest) {
      // The partner initializes too: it waits for our completion.
      if (lib::hv::SendCrq(node_.unit_address, uint64_t{0xc002} << 48, 0).is_error()) {
        return lib::Err(VscsiError::kSendCrq);
      }
      return lib::Ok<VscsiError>();
    }
  }
}

lib::Result<void, HcallStatus> Vscsi::SendIu(uint16_t length) {
  __atomic_thread_fence(__ATOMIC_RELEASE);  // the IU before the message that points at it
  CrqEntry message{};
  message.valid = kCrqPayload;
  message.format = kCrqFormatSrp;
  message.timeout = lib::UBe16(static_cast<uint16_t>(kVscsiCommandSeconds));
  message.iu_length = lib::UBe16(length);
  uint8_t bytes[sizeof(CrqEntry)];
  lib::StoreWire(bytes, message);
  return lib::hv::SendCrq(node_.unit_address, lib::LoadBe64(bytes), Ioba(kIuSlot));
}

lib::Result<CrqEntry, block::IoError> Vscsi::WaitForAnswer(uint64_t tag,
                                                           const lib::Deadline& deadline) {
  for (;;) {
    CrqEntry entry;
    if (NextEntry(deadline, entry) == WaitResult::kTimeout) {
      return lib::Err(block::IoError::kTimeout);
    }
    if (entry.valid == kCrqPayload && entry.format == kCrqFormatSrp) {
      if (entry.iu_data_ptr.value() == tag) return entry;
      continue;  // the answer to a command given up on
    }
    // The partner reset the connection (0xC0) or went away (0xFF): the command is lost.
    lib::Printf("tern: %s: CRQ message %02x %02x while waiting for an answer\n", node_.path,
                entry.valid, entry.format);
    return lib::Err(block::IoError::kDevice);
  }
}

lib::Result<void, VscsiError> Vscsi::Login() {
  const uint64_t tag = ++last_tag_;
  lib::MemSet(iu_, 0, kMaxIuBytes);
  SrpLoginReq request{};
  request.opcode = kSrpLoginReq;
  request.tag = lib::UBe64(tag);
  request.req_it_iu_len = lib::UBe32(kMaxIuBytes);  // the largest IU tern sends
  request.req_buf_fmt = lib::UBe16(kSrpBufFormatDirect);
  lib::StoreWire(iu_, request);
  const lib::Deadline deadline =
      lib::Deadline::AfterSeconds(kVscsiInitSeconds, timebase_frequency_);
  if (auto sent = SendIu(sizeof(SrpLoginReq)); sent.is_error()) {
    lib::Printf("tern: %s: H_SEND_CRQ: %s\n", node_.path, lib::hv::HcallStatusName(sent.error()));
    return lib::Err(VscsiError::kSendCrq);
  }
  auto answer = WaitForAnswer(tag, deadline);
  if (answer.is_error()) {
    return lib::Err(answer.error() == block::IoError::kTimeout ? VscsiError::kTimeout
                                                               : VscsiError::kBadResponse);
  }
  const uint16_t length = answer.value().iu_length.value();
  if (answer.value().status != kCrqStatusOk || length < kSrpLoginRejBytes || length > kMaxIuBytes) {
    return lib::Err(VscsiError::kBadResponse);
  }
  uint8_t bytes[kMaxIuBytes] = {};
  lib::MemCopy(bytes, iu_, length);  // the partner's answer, held still while it is checked
  const auto response = lib::LoadWire<SrpLoginRsp>(bytes);
  if (response.tag.value() != tag) return lib::Err(VscsiError::kBadResponse);
  if (response.opcode == kSrpLoginRej) {
    lib::Printf("tern: %s: SRP_LOGIN_REJ, reason 0x%08x\n", node_.path,
                response.req_lim_delta.value());
    return lib::Err(VscsiError::kLoginRejected);
  }
  if (response.opcode != kSrpLoginRsp || length < sizeof(SrpLoginRsp)) {
    return lib::Err(VscsiError::kBadResponse);
  }
  const uint32_t request_limit = response.req_lim_delta.value();
  const uint32_t max_initiator_iu = response.max_it_iu_len.value();
  const uint16_t formats = response.buf_fmt.value();
  if (request_limit == 0 || max_initiator_iu < kSrpCmdBytes ||
      (formats & kSrpBufFormatDirect) == 0) {
    lib::Printf("tern: %s: SRP login: request limit %u, IU limit %u, formats 0x%04x\n", node_.path,
                request_limit, max_initiator_iu, formats);
    return lib::Err(VscsiError::kLoginRejected);
  }
  return lib::Ok<VscsiError>();
}

lib::Result<ScsiResponse, block::IoError> Vscsi::ExecuteCommand(void* adapter,
                                                                const ScsiCommand& command) {
  return static_cast<Vscsi*>(adapter)->Execute(command);
}

bool Vscsi::UnitAddress(void*, uint32_t target, uint32_t lun, char* out, size_t size) {
  return VscsiUnitAddress(target, lun, out, size);
}

lib::Result<uint64_t, block::IoError> Vscsi::MapData(const ScsiCommand& command, int& pages) {
  pages = 0;
  if (command.data_length == 0) return uint64_t{0};
  if (memory_->Map(command.data, command.data_length, false).is_error()) {
    return lib::Err(block::IoError::kBadBuffer);
  }
  const uint64_t first_page = command.data & ~(kPage - 1);
  const int count = static_cast<int>(((command.data + command.data_length - 1) / kPage) -
                                     (command.data / kPage) + 1);
  for (int i = 0; i < count; ++i) {
    if (!MapPage(kFirstDataSlot + i, first_page + kPage * i)) {
      lib::Printf("tern: %s: H_PUT_TCE refused the page at 0x%llx\n", node_.path,
                  static_cast<unsigned long long>(first_page + kPage * i));
      UnmapData(i);
      return lib::Err(block::IoError::kBadBuffer);
    }
  }
  pages = count;
  return Ioba(kFirstDataSlot) + (command.data & (kPage - 1));
}

void Vscsi::UnmapData(int pages) {
  for (int i = 0; i < pages; ++i) (void)UnmapPage(kFirstDataSlot + i);
}

lib::Result<ScsiResponse, block::IoError> Vscsi::Execute(const ScsiCommand& command) {
  if (!running()) return lib::Err(block::IoError::kNotReady);
  if (command.target > kVscsiMaxTarget || command.lun > kVscsiMaxLun || command.cdb_length == 0 ||
      command.cdb_length > sizeof(command.cdb) || command.data_length > kVscsiMaxTransferBytes) {
    return lib::Err(block::IoError::kOutOfRange);
  }
  int pages = 0;
  auto data = MapData(command, pages);
  if (data.is_error()) return lib::Err(data.error());
  const uint64_t tag = ++last_tag_;
  lib::MemSet(iu_, 0, kMaxIuBytes);
  SrpCmd srp{};
  srp.opcode = kSrpCmd;
  srp.tag = lib::UBe64(tag);
  srp.lun = lib::UBe64(VscsiSrpLun(command.target, command.lun));
  lib::MemCopy(srp.cdb, command.cdb, command.cdb_length);
  if (command.data_length > 0) {
    srp.buf_fmt = kSrpDataDescDirect;  // data-in, no data-out
    srp.data_in_desc_cnt = 1;
    lib::StoreWire(iu_ + sizeof(SrpCmd), SrpDirectBuf{lib::UBe64(data.value()), lib::UBe32(0),
                                                      lib::UBe32(command.data_length)});
  }
  lib::StoreWire(iu_, srp);
  const lib::Deadline deadline =
      lib::Deadline::AfterSeconds(kVscsiCommandSeconds, timebase_frequency_);
  if (auto sent = SendIu(kSrpCmdBytes); sent.is_error()) {
    lib::Printf("tern: %s: H_SEND_CRQ: %s\n", node_.path, lib::hv::HcallStatusName(sent.error()));
    UnmapData(pages);
    return lib::Err(block::IoError::kDevice);
  }
  auto answer = WaitForAnswer(tag, deadline);
  UnmapData(pages);
  if (answer.is_error()) {
    if (answer.error() == block::IoError::kTimeout) {
      lib::Printf(
          "tern: %s: command 0x%02x to target %u LUN %u: no answer in %llu s; the "
          "adapter is stopped\n",
          node_.path, command.cdb[0], command.target, command.lun,
          static_cast<unsigned long long>(kVscsiCommandSeconds));
    }
    // The command may still be in the partner: free the queue and unmap every page, so that
    // nothing it does later reaches memory.
    Stop();
    return lib::Err(answer.error());
  }
  return ParseResponse(command, answer.value(), tag);
}

lib::Result<ScsiResponse, block::IoError> Vscsi::ParseResponse(const ScsiCommand& command,
                                                               const CrqEntry& entry,
                                                               uint64_t tag) {
  const uint16_t length = entry.iu_length.value();
  if (entry.status != kCrqStatusOk) {
    lib::Printf("tern: %s: command 0x%02x to target %u LUN %u: adapter status 0x%02x\n", node_.path,
                command.cdb[0], command.target, command.lun, entry.status);
    return lib::Err(block::IoError::kDevice);
  }
  if (length < sizeof(SrpRsp) || length > kMaxIuBytes)
    return lib::Err(block::IoError::kBadResponse);
  uint8_t bytes[kMaxIuBytes] = {};
  lib::MemCopy(bytes, iu_, length);  // the partner's answer, held still while it is checked
  const auto rsp = lib::LoadWire<SrpRsp>(bytes);
  if (rsp.opcode != kSrpRsp || rsp.tag.value() != tag)
    return lib::Err(block::IoError::kBadResponse);
  const uint32_t available = length - sizeof(SrpRsp);
  const uint32_t response_bytes = (rsp.flags & kRspValid) != 0 ? rsp.resp_data_len.value() : 0;
  const uint32_t sense_bytes = (rsp.flags & kSenseValid) != 0 ? rsp.sense_data_len.value() : 0;
  if (response_bytes > available || sense_bytes > available - response_bytes ||
      (response_bytes != 0 && response_bytes != 4)) {
    return lib::Err(block::IoError::kBadResponse);
  }
  const uint8_t* data = bytes + sizeof(SrpRsp);
  // Response data [SRP r16a §6.9, table 24]: byte 3 is the RSP_CODE, 0 "no failure".
  if (response_bytes == 4 && data[3] != 0) {
    lib::Printf("tern: %s: command 0x%02x to target %u LUN %u: SRP response code 0x%02x\n",
                node_.path, command.cdb[0], command.target, command.lun, data[3]);
    return lib::Err(block::IoError::kDevice);
  }
  ScsiResponse response;
  response.status = rsp.status;
  if ((rsp.flags & kDataInUnderflow) != 0) {
    response.residual = rsp.data_in_res_cnt.value();
    if (response.residual > command.data_length) return lib::Err(block::IoError::kBadResponse);
  }
  // DIOVER (bit 4): the target had more than the buffer took; the buffer is full.
  const uint32_t kept = lib::Min<uint32_t>(sense_bytes, sizeof(response.sense));
  lib::MemCopy(response.sense, data + response_bytes, kept);
  response.sense_length = static_cast<uint8_t>(kept);
  return response;
}

void Vscsi::Stop() {
  (void)ResetForOs();
}

lib::Result<void, VscsiError> Vscsi::ResetForOs() {
  if (running() || crq_registered_ || mapped_tces() > 0) state_ = DriverState::kStopped;
  lib::Result<void, VscsiError> result = lib::Ok<VscsiError>();
  if (crq_registered_) {
    auto freed = lib::hv::FreeCrq(node_.unit_address);
    for (int attempt = 1;
         attempt < kFreeCrqAttempts && freed.is_error() && freed.error() == HcallStatus::kBusy;
         ++attempt) {
      freed = lib::hv::FreeCrq(node_.unit_address);
    }
    if (freed.is_ok()) {
      crq_registered_ = false;
    } else {
      lib::Printf("tern: %s: H_FREE_CRQ: %s\n", node_.path,
                  lib::hv::HcallStatusName(freed.error()));
      result = lib::Err(VscsiError::kFreeCrq);
    }
  }
  for (int slot = 0; slot < kSlots; ++slot) {
    if (mapped_[slot] && !UnmapPage(slot)) {
      lib::Printf("tern: %s: H_PUT_TCE could not unmap bus address 0x%llx\n", node_.path,
                  static_cast<unsigned long long>(Ioba(slot)));
      if (result.is_ok()) result = lib::Err(VscsiError::kTce);
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The driver table's entry: spapr-vscsi adapters under /vdevice, their LUNs through the SCSI
// layer.

namespace {

struct Instance {
  Vscsi driver;
  DriverState state() const { return driver.state(); }
};

constinit Pool<Instance, kVscsiInstances> pool;

lib::Result<void, ProbeError> Probe(ProbeEnv& env, const ProbeTarget& target) {
  auto node = ParseVscsiNode(target.fdt, target.node);
  if (node.is_error()) {
    lib::Printf("tern: %s: %s: not used\n", target.path, VscsiErrorName(node.error()));
    return lib::Err(ProbeError::kRefused);
  }
  Instance* instance = pool.Take();
  if (instance == nullptr) return lib::Err(ProbeError::kPoolFull);
  // The CRQ and IU pages, then the SCSI layer's data-in buffer.
  DmaLease dma(env.dma);
  const uint64_t work = dma.Take(kVscsiWorkBytes, kPage);
  const uint64_t scratch = dma.Take(kScsiScratchBytes, kPage);
  if (work == 0 || scratch == 0) {
    lib::Printf("tern: %s: no DMA memory left: not used\n", target.path);
    return lib::Err(ProbeError::kRefused);
  }
  Vscsi& driver = instance->driver;
  if (driver.Start(node.value(), env.memory, work, kVscsiWorkBytes, env.timebase_frequency)
          .is_error()) {
    return lib::Err(ProbeError::kRefused);  // Start said why
  }
  // An adapter with no usable disk takes no instance (and no memory).
  if (ProbeScsiUnits(env, driver.transport(), driver.name(), scratch) == 0) {
    (void)driver.ResetForOs();
    return lib::Err(ProbeError::kRefused);
  }
  dma.Keep();
  return lib::Ok<ProbeError>();
}

void Quiesce() {
  // Linux's ibmvscsi registers its own CRQ: tern's is freed and its TCEs unmapped.
  pool.ForEachRunning([](Instance& instance) {
    if (auto reset = instance.driver.ResetForOs(); reset.is_error()) {
      lib::Printf("tern: %s: hand-off failed: %s\n", instance.driver.name(),
                  VscsiErrorName(reset.error()));
    }
  });
}

}  // namespace

TERN_DRIVER(kVscsiDriver) = {{"spapr-vscsi", {}, "IBM,v-scsi", Probe, Quiesce}};

}  // namespace dev
