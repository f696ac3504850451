// A fake spapr-vscsi host for dev_test, on tests/fake-hv's overrides: H_PUT_TCE into a TCE table
// for the adapter's window, H_REG_CRQ / H_FREE_CRQ / H_SEND_CRQ as QEMU's hw/ppc/spapr_vio.c
// implements them (the queue reached through the window; an entry written second half first and
// only into a free slot), and the partner as hw/scsi/spapr_vscsi.c answers: the initialization
// handshake, SRP_LOGIN_REQ, SRP_CMD against a tests::FakeScsiBus with the LUN decoded as
// vscsi_device_find does, data and the SRP_RSP written through the TCEs. Every DMA to an address
// the table does not map (or maps without the needed permission) is recorded as a violation.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/guest-memory.h"
#include "tests/fake-hv.h"
#include "tests/unit/dev/fake-scsi.h"

namespace tests {

class FakeVscsiHost {
 public:
  static constexpr uint32_t kUnit = 0x71000003;
  static constexpr uint32_t kLiobn = 0x71000003;
  static constexpr uint64_t kWindowSize = 0x10000000;

  FakeVscsiHost(FakeHypervisor& hv, lib::GuestMemory& memory);

  FakeScsiBus bus;
  std::vector<std::string> violations;
  std::map<uint64_t, uint64_t> tces;  // by page index in the window; only nonzero entries
  int max_data_tces = 0;              // the most TCEs mapped at once
  bool crq_registered = false;
  uint64_t crq_address = 0;
  uint64_t crq_size = 0;
  int free_crq_calls = 0;
  int register_calls = 0;
  bool already_registered = false;  // H_REG_CRQ answers H_RESOURCE until an H_FREE_CRQ

  // Knobs.
  bool answer_init = true;
  bool reject_login = false;
  bool silent = false;  // SRP_CMDs get no answer; the time base jumps stall_ticks
  uint64_t stall_ticks = 0;
  int stale_answers = 0;  // before the next answer, this many answers with old tags
  // Changes an SRP_RSP (the IU bytes and the length the CRQ entry announces) before it is sent.
  std::function<void(std::vector<uint8_t>& iu, uint16_t& length)> mangle_response;

  struct SrpCommand {
    uint64_t srp_lun;
    std::vector<uint8_t> iu;
  };
  std::vector<SrpCommand> commands;
  std::vector<uint8_t> login_request;

 private:
  lib::hv::HcallReturn PutTce(const FakeHypervisor::Call& call);
  lib::hv::HcallReturn RegisterCrq(const FakeHypervisor::Call& call);
  lib::hv::HcallReturn FreeCrq(const FakeHypervisor::Call& call);
  lib::hv::HcallReturn SendCrq(const FakeHypervisor::Call& call);
  bool Dma(uint64_t ioba, void* data, size_t size, bool write);
  void Deliver(const uint8_t (&entry)[16]);
  void SendIu(uint64_t iu_address, const std::vector<uint8_t>& iu, uint16_t length);
  void Login(uint64_t iu_address, std::vector<uint8_t> iu);
  void Command(uint64_t iu_address, std::vector<uint8_t> iu);

  lib::GuestMemory& memory_;
  uint64_t next_ = 0;
};

}  // namespace tests
