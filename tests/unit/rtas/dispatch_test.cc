// The RTAS dispatcher with crafted argument blocks in a byte-array guest memory and a fake host.
#include "rtas/dispatch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lib/be.h"
#include "lib/console.h"
#include "rtas/layout.h"
#include "rtas/services.h"
#include "rtas/state-region.h"
#include "tests/console-capture.h"
#include "tests/fake-hv.h"

namespace {

using rtas::DispatchOutcome;
using tests::FakeHypervisor;

constexpr uint32_t kTokenBase = 0x2000;  // QEMU's numbering: row i has token 0x2000 + i

uint32_t TokenOf(const char* name) {
  return kTokenBase + static_cast<uint32_t>(rtas::FindService(name));
}

class DispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hv.Reset();
    hv.rtas_guest_base = reinterpret_cast<uintptr_t>(ram.data());
    for (size_t i = 0; i < rtas::Services().size(); ++i) tokens.push_back(kTokenBase + i);
    ASSERT_TRUE(rtas::InitStateRegion({state.data(), state.size()}, 1).is_ok());
    hv.rtas_services[TokenOf("get-time-of-day")] = [](const std::vector<uint32_t>&,
                                                      std::vector<uint32_t>& rets) {
      for (size_t i = 0; i < rets.size(); ++i) rets[i] = 2026 + static_cast<uint32_t>(i);
      return 0;
    };
  }

  // Writes a block at `address`: token, nargs, nret, args, then nret cells of 0xaa.
  void Block(uint64_t address, uint32_t token, uint32_t nargs, uint32_t nret,
             std::vector<uint32_t> args = {}) {
    lib::StoreBe32(&ram[address], token);
    lib::StoreBe32(&ram[address + 4], nargs);
    lib::StoreBe32(&ram[address + 8], nret);
    for (uint32_t i = 0; i < nargs && i < args.size(); ++i) {
      lib::StoreBe32(&ram[address + 12 + 4 * i], args[i]);
    }
    for (uint32_t i = 0; i < nret && address + 12 + 4 * (nargs + i) + 4 <= ram.size(); ++i) {
      lib::StoreBe32(&ram[address + 12 + 4 * (nargs + i)], 0xaaaaaaaa);
    }
  }
  int32_t Cell(uint64_t address) { return static_cast<int32_t>(lib::LoadBe32(&ram[address])); }

  DispatchOutcome Call(uint64_t block) {
    rtas::RtasContext context{memory, lib::Span<const uint32_t>(tokens.data(), tokens.size()),
                              lib::Span<uint8_t>(state.data(), state.size())};
    return rtas::Dispatch(context, block);
  }

  const rtas::ServiceStats& Stats(const char* name) {
    const auto& header = *reinterpret_cast<const rtas::StateHeader*>(state.data());
    const auto* stats =
        reinterpret_cast<const rtas::ServiceStats*>(state.data() + header.stats_offset.value());
    return stats[rtas::FindService(name)];
  }

  FakeHypervisor& hv = FakeHypervisor::Get();
  std::vector<uint8_t> ram = std::vector<uint8_t>(64 * 1024);
  lib::GuestMemory memory{reinterpret_cast<uintptr_t>(ram.data()), ram.size()};
  std::vector<uint32_t> tokens;
  std::vector<uint8_t> state = std::vector<uint8_t>(rtas::StateRegionSize(1024));
};

TEST_F(DispatchTest, ForwardsAValidCallAndCountsIt) {
  Block(0x1000, TokenOf("get-time-of-day"), 0, 8);
  EXPECT_EQ(Call(0x1000), DispatchOutcome::kForwarded);
  EXPECT_EQ(Cell(0x100c), 0);
  EXPECT_EQ(Cell(0x1010), 2026);
  EXPECT_EQ(Cell(0x1028), 2032);
  ASSERT_EQ(hv.calls.size(), 1u);
  EXPECT_EQ(hv.calls[0].opcode, lib::hv::KVMPPC_H_RTAS);
  EXPECT_EQ(hv.calls[0].args[0], 0x1000u);  // the OS's own block, by real address
  EXPECT_EQ(Stats("get-time-of-day").calls.value(), 1u);
  EXPECT_EQ(Stats("get-time-of-day").last_status.value(), 0u);
}

TEST_F(DispatchTest, BlockOutsideRamIsNeitherReadNorWritten) {
  EXPECT_EQ(Call(ram.size()), DispatchOutcome::kUnreachable);
  EXPECT_EQ(Call(ram.size() - 8), DispatchOutcome::kUnreachable);
  EXPECT_EQ(Call(0xffffffff00000000ull), DispatchOutcome::kUnreachable);
  EXPECT_TRUE(hv.calls.empty());
}

TEST_F(DispatchTest, TooManyCellsIsAParameterError) {
  Block(0x1000, TokenOf("get-time-of-day"), 17, 1);
  EXPECT_EQ(Call(0x1000), DispatchOutcome::kRejected);  // status cell beyond 16 args: untouched
  Block(0x2000, TokenOf("get-time-of-day"), 10, 7);
  EXPECT_EQ(Call(0x2000), DispatchOutcome::kRejected);
  EXPECT_EQ(Cell(0x2000 + 12 + 40), -3);
  Block(0x3000, TokenOf("get-time-of-day"), 0, 17);
  EXPECT_EQ(Call(0x3000), DispatchOutcome::kRejected);
  EXPECT_EQ(Cell(0x300c), -3);
  EXPECT_TRUE(hv.calls.empty());
}

TEST_F(DispatchTest, NoReturnCellMeansNothingIsWritten) {
  Block(0x1000, TokenOf("get-time-of-day"), 1, 0, {7});
  const auto before = ram;
  EXPECT_EQ(Call(0x1000), DispatchOutcome::kRejected);
  EXPECT_EQ(ram, before);
  EXPECT_TRUE(hv.calls.empty());
}

TEST_F(DispatchTest, BlockRunningOffTheEndOfRamIsRefused) {
  const uint64_t block = ram.size() - 16;  // header and status fit, the 8 returns do not
  Block(block, TokenOf("get-time-of-day"), 0, 8);
  EXPECT_EQ(Call(block), DispatchOutcome::kRejected);
  EXPECT_EQ(Cell(block + 12), -3);
  EXPECT_TRUE(hv.calls.empty());
}

TEST_F(DispatchTest, WrongCountsForAFixedService) {
  Block(0x1000, TokenOf("power-off"), 1, 1, {0});  // power-off takes 2 arguments
  EXPECT_EQ(Call(0x1000), DispatchOutcome::kRejected);
  EXPECT_EQ(Cell(0x1010), -3);
  Block(0x2000, TokenOf("get-sensor-state"), 2, 1, {9003, 0x10000000});  // needs 2 returns
  EXPECT_EQ(Call(0x2000), DispatchOutcome::kRejected);
  EXPECT_EQ(Cell(0x2014), -3);
  EXPECT_TRUE(hv.calls.empty());
}

TEST_F(DispatchTest, VariableCountServicesAreLeftToTheHost) {
  hv.rtas_services[TokenOf("check-exception")] = [](const std::vector<uint32_t>& args,
                                                    std::vector<uint32_t>&) {
    return args.size() == 6 || args.size() == 7 ? 1 : -3;
  };
  Block(0x1000, TokenOf("check-exception"), 7, 1, {0x500, 0, 0x10000000, 0, 0x2000, 2048, 0});
  EXPECT_EQ(Call(0x1000), DispatchOutcome::kForwarded);
  EXPECT_EQ(Cell(0x1000 + 12 + 28), 1);
}

TEST_F(DispatchTest, UnknownTokenGetsTheHostsAnswer) {
  Block(0x1000, 0x2fff, 0, 1);
  EXPECT_EQ(Call(0x1000), DispatchOutcome::kForwarded);
  EXPECT_EQ(Cell(0x100c), -3);  // written by the host, which answered H_PARAMETER
  ASSERT_EQ(hv.calls.size(), 1u);
}

TEST_F(DispatchTest, AHostThatFailsTheHcallGivesAHardwareError) {
  hv.overrides[lib::hv::KVMPPC_H_RTAS] = [](const FakeHypervisor::Call&) {
    return lib::hv::HcallReturn{lib::hv::HcallStatus::kHardware, {}};
  };
  Block(0x1000, TokenOf("get-time-of-day"), 0, 8);
  EXPECT_EQ(Call(0x1000), DispatchOutcome::kForwarded);
  EXPECT_EQ(Cell(0x100c), -1);
  EXPECT_EQ(static_cast<int32_t>(Stats("get-time-of-day").last_status.value()), -1);
}

TEST_F(DispatchTest, TokensFollowTheTableNotTheNames) {
  // A host whose numbering differs: the dispatcher uses the tokens it was given.
  tokens.assign(tokens.size(), 0);
  tokens[rtas::FindService("power-off")] = 0x3333;
  Block(0x1000, 0x3333, 1, 1, {0});
  EXPECT_EQ(Call(0x1000), DispatchOutcome::kRejected);  // checked as power-off
  EXPECT_EQ(Cell(0x1010), -3);
}

// A service a module handles itself (as drc/ does configure-connector): the handler gets the
// arguments and fills the returns; a corrupt state region makes it -1 without running it.
rtas::RtasStatus Echo(rtas::RtasContext&, rtas::RtasCall& call) {
  call.rets[0] = call.args[0] + 1;
  return rtas::RtasStatus::kSuccess;
}
constexpr rtas::RtasService kOwnServices[] = {{"tern,echo", 1, 2}};
constexpr rtas::ServiceHandler kOwnHandlers[] = {{"tern,echo", Echo, true}};

TEST_F(DispatchTest, OwnHandlerRunsAndAStateRegionThatFailsItsChecksStopsIt) {
  tokens = {0x2100};
  Block(0x1000, 0x2100, 1, 2, {41});
  rtas::RtasContext context{memory, lib::Span<const uint32_t>(tokens.data(), tokens.size()),
                            lib::Span<uint8_t>(state.data(), state.size()),
                            lib::Span<const rtas::RtasService>(kOwnServices, 1),
                            lib::Span<const rtas::ServiceHandler>(kOwnHandlers, 1)};
  EXPECT_EQ(rtas::Dispatch(context, 0x1000), DispatchOutcome::kHandled);
  EXPECT_EQ(Cell(0x1010), 0);
  EXPECT_EQ(Cell(0x1014), 42);
  EXPECT_TRUE(hv.calls.empty());

  tests::ConsoleCapture console;
  state[22] ^= 0xff;  // a header byte (the generation): its checksum no longer matches
  Block(0x1000, 0x2100, 1, 2, {41});
  EXPECT_EQ(rtas::Dispatch(context, 0x1000), DispatchOutcome::kStateCorrupt);
  EXPECT_EQ(Cell(0x1010), -1);
  EXPECT_EQ(Cell(0x1014), static_cast<int32_t>(0xaaaaaaaa));  // the handler did not run
  EXPECT_TRUE(console.Has("tern-rtas: tern,echo: state region checksum mismatch")) << console.text;
}

TEST(ServiceTable, RtasAloneRegistersNoHandlers) {
  // rtas/ names no module: a program that links none of them forwards every call.
  EXPECT_EQ(rtas::RegisteredHandlers().size(), 0u);
}

TEST(ServiceTable, NamesAreUniqueAndCountsPlausible) {
  const auto services = rtas::Services();
  EXPECT_LE(services.size(), static_cast<size_t>(rtas::kMaxServices));
  for (size_t i = 0; i < services.size(); ++i) {
    EXPECT_EQ(rtas::FindService(services[i].name), static_cast<int>(i)) << services[i].name;
    EXPECT_LE(services[i].nargs, 16);
    EXPECT_NE(services[i].nret, 0) << services[i].name << ": every call returns a status";
  }
  EXPECT_EQ(rtas::FindService("no-such-service"), -1);
}

}  // namespace
