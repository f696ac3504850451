#include "tests/unit/dev/fake-vscsi.h"

#include <algorithm>
#include <cstring>

#include "lib/be.h"
#include "tests/host-cpu.h"

namespace tests {

using lib::hv::HcallReturn;
using lib::hv::HcallStatus;

namespace {

HcallReturn Status(HcallStatus status) {
  return HcallReturn{status, {}};
}

void PutBe64(uint8_t* bytes, uint64_t value) {
  lib::StoreBe32(bytes, static_cast<uint32_t>(value >> 32));
  lib::StoreBe32(bytes + 4, static_cast<uint32_t>(value));
}

}  // namespace

FakeVscsiHost::FakeVscsiHost(FakeHypervisor& hv, lib::GuestMemory& memory) : memory_(memory) {
  hv.overrides[lib::hv::H_PUT_TCE] = [this](const FakeHypervisor::Call& c) { return PutTce(c); };
  hv.overrides[lib::hv::H_REG_CRQ] = [this](const FakeHypervisor::Call& c) {
    return RegisterCrq(c);
  };
  hv.overrides[lib::hv::H_FREE_CRQ] = [this](const FakeHypervisor::Call& c) { return FreeCrq(c); };
  hv.overrides[lib::hv::H_SEND_CRQ] = [this](const FakeHypervisor::Call& c) { return SendCrq(c); };
}

// QEMU hw/ppc/spapr_iommu.c: h_put_tce, put_tce_emu.
HcallReturn FakeVscsiHost::PutTce(const FakeHypervisor::Call& call) {
  if (call.args[0] != kLiobn) return Status(HcallStatus::kParameter);
  const uint64_t ioba = call.args[1] & ~uint64_t{0xfff};
  if (ioba >= kWindowSize) return Status(HcallStatus::kParameter);
  if (call.args[2] == 0) {
    tces.erase(ioba >> 12);
  } else {
    tces[ioba >> 12] = call.args[2];
  }
  max_data_tces = std::max(max_data_tces, static_cast<int>(tces.size()) - 2);
  return Status(HcallStatus::kSuccess);
}

HcallReturn FakeVscsiHost::RegisterCrq(const FakeHypervisor::Call& call) {
  ++register_calls;
  if (call.args[0] != kUnit) return Status(HcallStatus::kParameter);
  if (call.args[2] < 0x1000 || call.args[2] > 0x10000000 || (call.args[1] & 0xfff) != 0) {
    return Status(HcallStatus::kParameter);
  }
  if (crq_registered || already_registered) return Status(HcallStatus::kResource);
  crq_registered = true;
  crq_address = call.args[1];
  crq_size = call.args[2];
  next_ = 0;
  return Status(HcallStatus::kSuccess);
}

HcallReturn FakeVscsiHost::FreeCrq(const FakeHypervisor::Call& call) {
  if (call.args[0] != kUnit) return Status(HcallStatus::kParameter);
  ++free_crq_calls;
  crq_registered = false;
  already_registered = false;
  crq_address = crq_size = next_ = 0;
  return Status(HcallStatus::kSuccess);
}

bool FakeVscsiHost::Dma(uint64_t ioba, void* data, size_t size, bool write) {
  auto* bytes = static_cast<uint8_t*>(data);
  while (size > 0) {
    const uint64_t offset = ioba & 0xfff;
    const size_t chunk = std::min<size_t>(size, 0x1000 - offset);
    auto entry = tces.find(ioba >> 12);
    const uint64_t needed = write ? lib::hv::kTceWrite : lib::hv::kTceRead;
    if (ioba >= kWindowSize || entry == tces.end() || (entry->second & needed) == 0) {
      violations.push_back("DMA " + std::string(write ? "write" : "read") + " to unmapped bus " +
                           "address 0x" + std::to_string(ioba));
      return false;
    }
    const uint64_t real = (entry->second & ~uint64_t{0xfff}) + offset;
    const bool ok = write ? memory_.Write(real, bytes, chunk).is_ok()
                          : memory_.Read(real, bytes, chunk).is_ok();
    if (!ok) {
      violations.push_back("DMA outside guest RAM at 0x" + std::to_string(real));
      return false;
    }
    ioba += chunk;
    bytes += chunk;
    size -= chunk;
  }
  return true;
}

// QEMU hw/ppc/spapr_vio.c: spapr_vio_send_crq.
void FakeVscsiHost::Deliver(const uint8_t (&entry)[16]) {
  if (!crq_registered) {
    violations.push_back("a CRQ message for an unregistered queue");
    return;
  }
  uint8_t valid = 0;
  if (!Dma(crq_address + next_, &valid, 1, false)) return;
  if (valid != 0) {
    violations.push_back("the CRQ is full: the driver does not free its entries");
    return;
  }
  uint8_t copy[16];
  std::memcpy(copy, entry, 16);
  if (!Dma(crq_address + next_ + 8, copy + 8, 8, true)) return;
  if (!Dma(crq_address + next_, copy, 8, true)) return;
  next_ = (next_ + 16) % crq_size;
}

void FakeVscsiHost::SendIu(uint64_t iu_address, const std::vector<uint8_t>& iu, uint16_t length) {
  if (!Dma(iu_address, const_cast<uint8_t*>(iu.data()), std::min<size_t>(iu.size(), length),
           true)) {
    return;
  }
  uint8_t entry[16] = {
      0x80, 0x01, 0, 0, 0, 0, static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
  std::memcpy(entry + 8, iu.data() + 8, 8);  // the tag
  Deliver(entry);
}

HcallReturn FakeVscsiHost::SendCrq(const FakeHypervisor::Call& call) {
  if (call.args[0] != kUnit) return Status(HcallStatus::kParameter);
  uint8_t message[16];
  PutBe64(message, call.args[1]);
  PutBe64(message + 8, call.args[2]);
  if (message[0] == 0xc0) {
    if (message[1] == 0x01 && answer_init) {
      const uint8_t reply[16] = {0xc0, 0x02};
      Deliver(reply);
    }
    return Status(HcallStatus::kSuccess);
  }
  if (message[0] != 0x80 || message[1] != 0x01) {
    violations.push_back("an unexpected CRQ message");
    return Status(HcallStatus::kSuccess);
  }
  const uint16_t length = lib::LoadBe16(message + 6);
  const uint64_t iu_address = lib::LoadBe64(message + 8);
  if (length > 256) {
    violations.push_back("an IU longer than 256 bytes");
    return Status(HcallStatus::kSuccess);
  }
  std::vector<uint8_t> iu(256, 0);
  if (!Dma(iu_address, iu.data(), length, false)) return Status(HcallStatus::kSuccess);
  if (iu[0] == 0x00) {
    Login(iu_address, iu);
  } else if (iu[0] == 0x02) {
    Command(iu_address, iu);
  } else {
    violations.push_back("an unexpected SRP IU");
  }
  return Status(HcallStatus::kSuccess);
}

// QEMU hw/scsi/spapr_vscsi.c: vscsi_process_login.
void FakeVscsiHost::Login(uint64_t iu_address, std::vector<uint8_t> iu) {
  login_request = iu;
  std::vector<uint8_t> rsp(256, 0);
  std::memcpy(rsp.data() + 8, iu.data() + 8, 8);
  if (reject_login) {
    rsp[0] = 0xc2;
    lib::StoreBe32(rsp.data() + 4, 0x00010001);
    SendIu(iu_address, rsp, 32);
    return;
  }
  rsp[0] = 0xc0;
  lib::StoreBe32(rsp.data() + 4, 22);
  lib::StoreBe32(rsp.data() + 16, 256);
  lib::StoreBe32(rsp.data() + 20, 256);
  rsp[24] = 0;
  rsp[25] = 0x06;  // direct and indirect
  SendIu(iu_address, rsp, 52);
}

// QEMU hw/scsi/spapr_vscsi.c: vscsi_queue_cmd, vscsi_device_find, vscsi_send_rsp.
void FakeVscsiHost::Command(uint64_t iu_address, std::vector<uint8_t> iu) {
  const uint64_t srp_lun = lib::LoadBe64(iu.data() + 20);
  commands.push_back(SrpCommand{srp_lun, iu});
  if (silent) {
    SetTimebase(lib::ReadTimebase() + stall_ticks);
    return;
  }
  uint32_t target = 0;
  uint32_t lun = 0;
  bool addressed = true;
  switch (srp_lun >> 62) {
    case 2:
      target = (srp_lun >> 56) & 0x3f;
      lun = (srp_lun >> 48) & 0x1f;
      addressed = ((srp_lun >> 53) & 0x7) == 0;
      break;
    case 0: lun = (srp_lun >> 48) & 0xff; break;
    default: addressed = false;
  }
  const uint8_t* cdb = iu.data() + 32;
  FakeScsiBus::Answer answer;
  if (addressed) {
    answer = bus.Execute(target, lun, cdb, 16);
  } else {
    answer.status = 0x02;
    answer.sense = {0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0};
  }
  std::vector<uint8_t> rsp(256, 0);
  rsp[0] = 0xc1;
  lib::StoreBe32(rsp.data() + 4, 1);
  std::memcpy(rsp.data() + 8, iu.data() + 8, 8);
  rsp[19] = answer.status;
  uint16_t rsp_length = 36;
  if ((iu[5] & 0xf) == 1 && answer.status == 0) {  // a direct data-in descriptor
    const uint64_t va = lib::LoadBe64(iu.data() + 48);
    const uint32_t length = lib::LoadBe32(iu.data() + 60);
    const size_t transferred = std::min<size_t>(answer.data.size(), length);
    if (transferred > 0 && !Dma(va, answer.data.data(), transferred, true)) return;
    // Residuals: DIUNDER for a buffer left partly empty, DIOVER for data that did not fit.
    if (answer.data.size() < length) {
      rsp[18] |= 1 << 5;
      lib::StoreBe32(rsp.data() + 24, static_cast<uint32_t>(length - answer.data.size()));
    } else if (answer.data.size() > length) {
      rsp[18] |= 1 << 4;
      lib::StoreBe32(rsp.data() + 24, static_cast<uint32_t>(answer.data.size() - length));
    }
  }
  if (!answer.sense.empty()) {
    rsp[18] |= 1 << 1;
    lib::StoreBe32(rsp.data() + 28, static_cast<uint32_t>(answer.sense.size()));
    std::copy(answer.sense.begin(), answer.sense.end(), rsp.begin() + 36);
    rsp_length = static_cast<uint16_t>(36 + answer.sense.size());
  }
  if (mangle_response) mangle_response(rsp, rsp_length);
  for (; stale_answers > 0; --stale_answers) {
    std::vector<uint8_t> old = rsp;
    PutBe64(old.data() + 8, 0xdead0000 + stale_answers);
    SendIu(iu_address, old, 36);
  }
  SendIu(iu_address, rsp, rsp_length);
}

}  // namespace tests
