#include "dev/vscsi.h"

#include <libfdt.h>

#include "lib/be.h"
#include "lib/console.h"
#include "lib/cpu.h"
#include "lib/fdt.h"
#include "lib/format.h"
#include "lib/string.h"

namespace dev {

namespace {

using lib::hv::HcallStatus;

constexpr uint64_t kPage = 4096;
constexpr int kCrqSlot = 0;
constexpr int kIuSlot = 1;
constexpr int kFirstDataSlot = 2;

// CRQ entries [LoPAPR 14.5.4.4; QEMU hw/scsi/viosrp.h struct viosrp_crq]: byte 0 "valid"
// (0x80 a payload, 0xC0 initialization, 0xFF a transport event), byte 1 the format, byte 3 the
// status, bytes 4-5 a timeout in seconds, bytes 6-7 the IU length, bytes 8-15 the IU's bus
// address (the tag in an answer).
constexpr uint8_t kCrqValidMask = 0x80;
constexpr uint8_t kCrqPayload = 0x80;
constexpr uint8_t kCrqInit = 0xc0;
constexpr uint8_t kCrqInitRequest = 0x01;
constexpr uint8_t kCrqInitComplete = 0x02;
constexpr uint8_t kCrqFormatSrp = 0x01;  // VIOSRP_SRP_FORMAT
constexpr uint8_t kCrqStatusOk = 0x00;   // VIOSRP_OK

// SRP information units [T10 SRP r16a §6; QEMU hw/scsi/srp.h].
constexpr uint8_t kSrpLoginReq = 0x00;
constexpr uint8_t kSrpCmd = 0x02;
constexpr uint8_t kSrpLoginRsp = 0xc0;
constexpr uint8_t kSrpRsp = 0xc1;
constexpr uint8_t kSrpLoginRej = 0xc2;
constexpr uint16_t kSrpBufFormatDirect = 1 << 1;
constexpr uint8_t kSrpDataDescDirect = 1;
constexpr uint16_t kSrpLoginReqBytes = 64;
constexpr uint16_t kSrpLoginRspBytes = 52;
constexpr uint16_t kSrpLoginRejBytes = 32;
constexpr uint16_t kSrpCmdBytes = 48 + 16;  // the command, one direct descriptor
constexpr uint16_t kSrpRspBytes = 36;
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
  VscsiNode parsed;
  auto reg = lib::fdt::PropertyU32(fdt, node, "reg");
  if (reg.is_error()) return lib::Err(VscsiError::kBadNode);
  parsed.unit_address = reg.value();
  uint32_t address_cells = 2;
  uint32_t size_cells = 2;
  if (lib::fdt::HasProperty(fdt, node, "ibm,#dma-address-cells")) {
    auto cells = lib::fdt::PropertyU32(fdt, node, "ibm,#dma-address-cells");
    if (cells.is_error()) return lib::Err(VscsiError::kBadNode);
    address_cells = cells.value();
  }
  if (lib::fdt::HasProperty(fdt, node, "ibm,#dma-size-cells")) {
    auto cells = lib::fdt::PropertyU32(fdt, node, "ibm,#dma-size-cells");
    if (cells.is_error()) return lib::Err(VscsiError::kBadNode);
    size_cells = cells.value();
  }
  if (address_cells < 1 || address_cells > 2 || size_cells < 1 || size_cells > 2) {
    return lib::Err(VscsiError::kBadNode);
  }
  auto window = lib::fdt::Property(fdt, node, "ibm,my-dma-window");
  if (window.is_error() || window.value().size() != 4 * (1 + address_cells + size_cells)) {
    return lib::Err(VscsiError::kBadNode);
  }
  const uint8_t* cells = window.value().data();
  parsed.liobn = lib::LoadBe32(cells);
  parsed.window_base = lib::fdt::ReadCells(cells + 4, address_cells);
  parsed.window_size = lib::fdt::ReadCells(cells + 4 + 4 * address_cells, size_cells);
  if (parsed.window_size == 0 || parsed.window_base % kPage != 0 ||
      parsed.window_base + parsed.window_size < parsed.window_base) {
    return lib::Err(VscsiError::kBadNode);
  }
  if (fdt_get_path(fdt, node, parsed.path, sizeof(parsed.path)) != 0) {
    return lib::Err(VscsiError::kBadNode);
  }
  return parsed;
}

int FindVscsiNodes(const void* fdt, VscsiNode* out, int max) {
  const int vdevice = fdt_path_offset(fdt, "/vdevice");
  if (vdevice < 0) return 0;
  int count = 0;
  int node = 0;
  fdt_for_each_subnode(node, fdt, vdevice) {
    if (!lib::fdt::PropertyListContains(fdt, node, "compatible", "IBM,v-scsi")) continue;
    auto parsed = ParseVscsiNode(fdt, node);
    if (parsed.is_error()) {
      char path[kVscsiPathMax];
      if (fdt_get_path(fdt, node, path, sizeof(path)) != 0) path[0] = '\0';
      lib::Printf("tern: %s: %s: not used\n", path, VscsiErrorName(parsed.error()));
      continue;
    }
    if (count == max) {
      lib::Printf("tern: more than %d v-scsi adapters: %s is not used\n", max, parsed.value().path);
      continue;
    }
    out[count++] = parsed.value();
  }
  return count;
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
  if (running_ || crq_registered_ || mapped_tces() > 0) (void)ResetForOs();
  node_ = node;
  memory_ = &memory;
  ticks_per_second_ = timebase_frequency;
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
  running_ = true;
  return lib::Ok<VscsiError>();
}

lib::Result<void, VscsiError> Vscsi::BringUp(uint64_t work_address, uint64_t work_bytes) {
  if (ticks_per_second_ == 0) return lib::Err(VscsiError::kBadArgument);
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

Vscsi::WaitResult Vscsi::NextEntry(uint64_t start, uint64_t limit, CrqEntry& entry) {
  for (;;) {
    uint8_t* slot = crq_ + 16 * next_entry_;
    const uint8_t valid = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if ((valid & kCrqValidMask) != 0) {
      lib::MemCopy(entry.bytes, slot, sizeof(entry.bytes));
      __atomic_store_n(slot, uint8_t{0}, __ATOMIC_RELEASE);  // the entry is free again
      next_entry_ = (next_entry_ + 1) % kCrqEntries;
      return WaitResult::kEntry;
    }
    if (lib::ReadTimebase() - start >= limit) return WaitResult::kTimeout;
  }
}

lib::Result<void, VscsiError> Vscsi::Handshake() {
  const uint64_t start = lib::ReadTimebase();
  const uint64_t limit = kVscsiInitSeconds * ticks_per_second_;
  if (auto sent = lib::hv::SendCrq(node_.unit_address, uint64_t{0xc001} << 48, 0);
      sent.is_error()) {
    lib::Printf("tern: %s: H_SEND_CRQ: %s\n", node_.path, lib::hv::HcallStatusName(sent.error()));
    return lib::Err(VscsiError::kSendCrq);
  }
  // Bounded by the time limit; entries other than the initialization (stale answers, transport
  // events) are skipped.
  for (;;) {
    CrqEntry entry;
    if (NextEntry(start, limit, entry) == WaitResult::kTimeout) {
      lib::Printf("tern: %s: no answer to the CRQ initialization in %llu s\n", node_.path,
                  static_cast<unsigned long long>(kVscsiInitSeconds));
      return lib::Err(VscsiError::kTimeout);
    }
    if (entry.bytes[0] != kCrqInit) continue;
    if (entry.bytes[1] == kCrqInitComplete) return lib::Ok<VscsiError>();
    if (entry.bytes[1] == kCrqInitRequest) {
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
  const uint64_t high = (uint64_t{kCrqPayload} << 56) | (uint64_t{kCrqFormatSrp} << 48) |
                        (uint64_t{static_cast<uint16_t>(kVscsiCommandSeconds)} << 16) | length;
  return lib::hv::SendCrq(node_.unit_address, high, Ioba(kIuSlot));
}

lib::Result<Vscsi::CrqEntry, block::IoError> Vscsi::WaitForAnswer(uint64_t tag, uint64_t start,
                                                                  uint64_t limit) {
  for (;;) {
    CrqEntry entry;
    if (NextEntry(start, limit, entry) == WaitResult::kTimeout)
      return lib::Err(block::IoError::kTimeout);
    if (entry.bytes[0] == kCrqPayload && entry.bytes[1] == kCrqFormatSrp) {
      if (lib::LoadBe64(entry.bytes + 8) == tag) return entry;
      continue;  // the answer to a command given up on
    }
    // The partner reset the connection (0xC0) or went away (0xFF): the command is lost.
    lib::Printf("tern: %s: CRQ message %02x %02x while waiting for an answer\n", node_.path,
                entry.bytes[0], entry.bytes[1]);
    return lib::Err(block::IoError::kDevice);
  }
}

lib::Result<void, VscsiError> Vscsi::Login() {
  const uint64_t tag = next_tag_++;
  lib::MemSet(iu_, 0, kMaxIuBytes);
  iu_[0] = kSrpLoginReq;
  lib::StoreBe64(iu_ + 8, tag);
  lib::StoreBe32(iu_ + 16, kMaxIuBytes);  // the largest IU tern sends
  lib::StoreBe16(iu_ + 24, kSrpBufFormatDirect);
  const uint64_t start = lib::ReadTimebase();
  if (auto sent = SendIu(kSrpLoginReqBytes); sent.is_error()) {
    lib::Printf("tern: %s: H_SEND_CRQ: %s\n", node_.path, lib::hv::HcallStatusName(sent.error()));
    return lib::Err(VscsiError::kSendCrq);
  }
  auto answer = WaitForAnswer(tag, start, kVscsiInitSeconds * ticks_per_second_);
  if (answer.is_error()) {
    return lib::Err(answer.error() == block::IoError::kTimeout ? VscsiError::kTimeout
                                                               : VscsiError::kBadResponse);
  }
  const uint8_t* entry = answer.value().bytes;
  const uint16_t length = lib::LoadBe16(entry + 6);
  uint8_t rsp[kMaxIuBytes];
  if (entry[3] != kCrqStatusOk || length < kSrpLoginRejBytes || length > kMaxIuBytes) {
    return lib::Err(VscsiError::kBadResponse);
  }
  lib::MemCopy(rsp, iu_, length);
  if (lib::LoadBe64(rsp + 8) != tag) return lib::Err(VscsiError::kBadResponse);
  if (rsp[0] == kSrpLoginRej) {
    lib::Printf("tern: %s: SRP_LOGIN_REJ, reason 0x%08x\n", node_.path, lib::LoadBe32(rsp + 4));
    return lib::Err(VscsiError::kLoginRejected);
  }
  if (rsp[0] != kSrpLoginRsp || length < kSrpLoginRspBytes) {
    return lib::Err(VscsiError::kBadResponse);
  }
  const uint32_t request_limit = lib::LoadBe32(rsp + 4);
  const uint32_t max_initiator_iu = lib::LoadBe32(rsp + 16);
  const uint16_t formats = lib::LoadBe16(rsp + 24);
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

lib::Result<ScsiResponse, block::IoError> Vscsi::Execute(const ScsiCommand& command) {
  if (!running_) return lib::Err(block::IoError::kNotReady);
  if (command.target > kVscsiMaxTarget || command.lun > kVscsiMaxLun || command.cdb_length == 0 ||
      command.cdb_length > sizeof(command.cdb) || command.data_length > kVscsiMaxTransferBytes) {
    return lib::Err(block::IoError::kOutOfRange);
  }
  // Map the data buffer, page by page, into the window after the CRQ and IU pages.
  uint64_t data_ioba = 0;
  int data_pages = 0;
  if (command.data_length > 0) {
    if (memory_->Map(command.data, command.data_length, false).is_error()) {
      return lib::Err(block::IoError::kBadBuffer);
    }
    const uint64_t first_page = command.data & ~(kPage - 1);
    data_pages = static_cast<int>(((command.data + command.data_length - 1) / kPage) -
                                  (command.data / kPage) + 1);
    for (int i = 0; i < data_pages; ++i) {
      if (!MapPage(kFirstDataSlot + i, first_page + kPage * i)) {
        lib::Printf("tern: %s: H_PUT_TCE refused the page at 0x%llx\n", node_.path,
                    static_cast<unsigned long long>(first_page + kPage * i));
        for (int j = 0; j < i; ++j) (void)UnmapPage(kFirstDataSlot + j);
        return lib::Err(block::IoError::kBadBuffer);
      }
    }
    data_ioba = Ioba(kFirstDataSlot) + (command.data & (kPage - 1));
  }
  auto unmap_data = [&] {
    for (int i = 0; i < data_pages; ++i) (void)UnmapPage(kFirstDataSlot + i);
  };

  const uint64_t tag = next_tag_++;
  lib::MemSet(iu_, 0, kMaxIuBytes);
  iu_[0] = kSrpCmd;
  lib::StoreBe64(iu_ + 8, tag);
  lib::StoreBe64(iu_ + 20, VscsiSrpLun(command.target, command.lun));
  lib::MemCopy(iu_ + 32, command.cdb, command.cdb_length);
  if (command.data_length > 0) {
    iu_[5] = kSrpDataDescDirect;  // data-in format in the low nibble, no data-out
    iu_[7] = 1;                   // one data-in descriptor
    lib::StoreBe64(iu_ + 48, data_ioba);
    lib::StoreBe32(iu_ + 60, command.data_length);
  }
  const uint64_t start = lib::ReadTimebase();
  if (auto sent = SendIu(kSrpCmdBytes); sent.is_error()) {
    lib::Printf("tern: %s: H_SEND_CRQ: %s\n", node_.path, lib::hv::HcallStatusName(sent.error()));
    unmap_data();
    return lib::Err(block::IoError::kDevice);
  }
  auto answer = WaitForAnswer(tag, start, kVscsiCommandSeconds * ticks_per_second_);
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
    unmap_data();
    Stop();
    return lib::Err(answer.error());
  }
  unmap_data();

  const uint8_t* entry = answer.value().bytes;
  const uint16_t length = lib::LoadBe16(entry + 6);
  if (entry[3] != kCrqStatusOk) {
    lib::Printf("tern: %s: command 0x%02x to target %u LUN %u: adapter status 0x%02x\n", node_.path,
                command.cdb[0], command.target, command.lun, entry[3]);
    return lib::Err(block::IoError::kDevice);
  }
  if (length < kSrpRspBytes || length > kMaxIuBytes) return lib::Err(block::IoError::kBadResponse);
  uint8_t rsp[kMaxIuBytes];
  lib::MemCopy(rsp, iu_, length);
  if (rsp[0] != kSrpRsp || lib::LoadBe64(rsp + 8) != tag)
    return lib::Err(block::IoError::kBadResponse);
  const uint8_t flags = rsp[18];
  const uint32_t available = length - kSrpRspBytes;
  const uint32_t response_bytes = (flags & kRspValid) != 0 ? lib::LoadBe32(rsp + 32) : 0;
  const uint32_t sense_bytes = (flags & kSenseValid) != 0 ? lib::LoadBe32(rsp + 28) : 0;
  if (response_bytes > available || sense_bytes > available - response_bytes ||
      (response_bytes != 0 && response_bytes != 4)) {
    return lib::Err(block::IoError::kBadResponse);
  }
  // Response data [SRP r16a §6.9, table 24]: byte 3 is the RSP_CODE, 0 "no failure".
  if (response_bytes == 4 && rsp[kSrpRspBytes + 3] != 0) {
    lib::Printf("tern: %s: command 0x%02x to target %u LUN %u: SRP response code 0x%02x\n",
                node_.path, command.cdb[0], command.target, command.lun, rsp[kSrpRspBytes + 3]);
    return lib::Err(block::IoError::kDevice);
  }
  ScsiResponse response;
  response.status = rsp[19];
  if ((flags & kDataInUnderflow) != 0) {
    response.residual = lib::LoadBe32(rsp + 24);
    if (response.residual > command.data_length) return lib::Err(block::IoError::kBadResponse);
  }
  // DIOVER (bit 4): the target had more than the buffer took; the buffer is full.
  const uint32_t kept = lib::Min<uint32_t>(sense_bytes, sizeof(response.sense));
  lib::MemCopy(response.sense, rsp + kSrpRspBytes + response_bytes, kept);
  response.sense_length = static_cast<uint8_t>(kept);
  return response;
}

void Vscsi::Stop() {
  (void)ResetForOs();
}

lib::Result<void, VscsiError> Vscsi::ResetForOs() {
  running_ = false;
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

}  // namespace dev
