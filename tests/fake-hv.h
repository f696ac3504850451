// A scripted stand-in for the hypervisor, behind lib/hv.h's Hcall(), for host tests.
//
// It implements the console hcalls and KVMPPC_H_RTAS well enough for the code under test, records
// every call, and lets a test override any opcode. On the host, the "real address" of an RTAS
// argument block is the host pointer to it.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/hv.h"

namespace tests {

class FakeHypervisor {
 public:
  struct Call {
    uint64_t opcode;
    std::array<uint64_t, lib::hv::kMaxHcallArgs> args;
  };
  using Handler = std::function<lib::hv::HcallReturn(const Call&)>;
  // An RTAS service: receives the argument cells, fills the return cells after the status, and
  // returns the status cell.
  using RtasService =
      std::function<int32_t(const std::vector<uint32_t>& args, std::vector<uint32_t>& rets)>;

  // The one instance Hcall() talks to; Reset() between tests.
  static FakeHypervisor& Get();
  void Reset();

  lib::hv::HcallReturn Dispatch(uint64_t opcode, const uint64_t (&args)[lib::hv::kMaxHcallArgs]);

  // Units that exist as virtual terminals (QEMU: the vty's reg). Unit 0 means the first one.
  std::vector<uint64_t> vty_units{0x71000000};
  std::map<uint64_t, std::string> terminal_output;
  std::deque<char> terminal_input;
  int busy_answers = 0;  // the next N H_PUT_TERM_CHAR calls answer H_BUSY

  std::map<uint32_t, RtasService> rtas_services;  // by token
  // Host address of guest address 0 for KVMPPC_H_RTAS blocks (0: blocks are host pointers).
  uintptr_t rtas_guest_base = 0;
  std::map<uint64_t, Handler> overrides;  // by opcode
  std::vector<Call> calls;
  bool record_calls = true;  // false: `calls` stays empty (fuzz targets make millions)

 private:
  lib::hv::HcallReturn PutTermChar(const Call& call);
  lib::hv::HcallReturn GetTermChar(const Call& call);
  lib::hv::HcallReturn Rtas(const Call& call);
};

// Sends lib's console output to stderr, where death tests look for panic messages.
void AttachConsoleToStderr();

}  // namespace tests
