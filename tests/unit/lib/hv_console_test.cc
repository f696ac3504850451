// lib/hv.h wrappers and the console, against the fake hypervisor.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "lib/console.h"
#include "lib/hv.h"
#include "lib/panic.h"
#include "tests/fake-hv.h"

namespace {

using lib::hv::HcallStatus;
using tests::FakeHypervisor;

class HvTest : public ::testing::Test {
 protected:
  void SetUp() override { FakeHypervisor::Get().Reset(); }
  FakeHypervisor& hv = FakeHypervisor::Get();
};

TEST_F(HvTest, PutTermCharsSplitsIntoSixteenByteCallsPackedBigEndian) {
  const std::string text = "0123456789abcdefXYZ";  // 19 bytes: calls of 16 and 3
  ASSERT_TRUE(lib::hv::PutTermChars(0x71000000, text.data(), text.size()).is_ok());
  ASSERT_EQ(hv.calls.size(), 2u);
  EXPECT_EQ(hv.calls[0].opcode, lib::hv::H_PUT_TERM_CHAR);
  EXPECT_EQ(hv.calls[0].args[0], 0x71000000u);
  EXPECT_EQ(hv.calls[0].args[1], 16u);
  EXPECT_EQ(hv.calls[0].args[2], 0x3031323334353637u);  // '0' in the most significant byte
  EXPECT_EQ(hv.calls[0].args[3], 0x3839616263646566u);
  EXPECT_EQ(hv.calls[1].args[1], 3u);
  EXPECT_EQ(hv.calls[1].args[2], 0x58595a0000000000u);
  EXPECT_EQ(hv.terminal_output[0x71000000], text);
}

TEST_F(HvTest, PutTermCharsRetriesWhileBusyThenFailsCleanly) {
  hv.busy_answers = 3;
  ASSERT_TRUE(lib::hv::PutTermChars(0x71000000, "ok", 2).is_ok());
  EXPECT_EQ(hv.calls.size(), 4u);
  EXPECT_EQ(hv.terminal_output[0x71000000], "ok");

  hv.busy_answers = 1000000;  // a host that never stops being busy: bounded retries
  auto result = lib::hv::PutTermChars(0x71000000, "x", 1);
  ASSERT_TRUE(result.is_error());
  EXPECT_EQ(result.error(), HcallStatus::kBusy);
}

TEST_F(HvTest, PutTermCharsReportsAMissingTerminal) {
  auto result = lib::hv::PutTermChars(0x12345678, "x", 1);
  ASSERT_TRUE(result.is_error());
  EXPECT_EQ(result.error(), HcallStatus::kParameter);
  EXPECT_STREQ(lib::hv::HcallStatusName(result.error()), "H_PARAMETER");
}

TEST_F(HvTest, GetTermCharsUnpacksUpToSixteenBytes) {
  const std::string typed = "hello, firmware! and more";
  hv.terminal_input.assign(typed.begin(), typed.end());
  char buffer[lib::hv::kTermChunk];
  auto first = lib::hv::GetTermChars(0x71000000, buffer);
  ASSERT_TRUE(first.is_ok());
  ASSERT_EQ(first.value(), 16u);
  EXPECT_EQ(std::string(buffer, 16), typed.substr(0, 16));
  auto second = lib::hv::GetTermChars(0x71000000, buffer);
  ASSERT_EQ(second.value(), typed.size() - 16);
  EXPECT_EQ(std::string(buffer, second.value()), typed.substr(16));
  EXPECT_EQ(lib::hv::GetTermChars(0x71000000, buffer).value(), 0u);
}

TEST_F(HvTest, ForwardRtasReportsTheHcallStatus) {
  hv.overrides[lib::hv::KVMPPC_H_RTAS] = [](const FakeHypervisor::Call& call) {
    return lib::hv::HcallReturn{
        call.args[0] == 0x1000 ? HcallStatus::kSuccess : HcallStatus::kParameter, {}};
  };
  EXPECT_TRUE(lib::hv::ForwardRtas(0x1000).is_ok());
  EXPECT_EQ(lib::hv::ForwardRtas(0x2000).error(), HcallStatus::kParameter);
}

TEST_F(HvTest, LogicalCiLoadPassesSizeAndAddressAndKeepsOnlyTheAccessedBytes) {
  hv.overrides[lib::hv::H_LOGICAL_CI_LOAD] = [](const FakeHypervisor::Call& call) {
    // A host that leaves garbage above the accessed bytes.
    return lib::hv::HcallReturn{HcallStatus::kSuccess, {0xdeadbeef00000000u | call.args[0]}};
  };
  auto word = lib::hv::LogicalCiLoad(4, 0x200080001000);
  ASSERT_TRUE(word.is_ok());
  EXPECT_EQ(word.value(), 4u);
  ASSERT_EQ(hv.calls.size(), 1u);
  EXPECT_EQ(hv.calls[0].opcode, 0x3cu);
  EXPECT_EQ(hv.calls[0].args[0], 4u);
  EXPECT_EQ(hv.calls[0].args[1], 0x200080001000u);
  EXPECT_EQ(lib::hv::LogicalCiLoad(1, 0x10).value(), 1u);
  EXPECT_EQ(lib::hv::LogicalCiLoad(2, 0x10).value(), 2u);
  EXPECT_EQ(lib::hv::LogicalCiLoad(8, 0x10).value(), 0xdeadbeef00000008u);
}

TEST_F(HvTest, LogicalCiStorePassesSizeAddressAndValue) {
  ASSERT_TRUE(hv.overrides.empty());
  hv.overrides[lib::hv::H_LOGICAL_CI_STORE] = [](const FakeHypervisor::Call&) {
    return lib::hv::HcallReturn{HcallStatus::kSuccess, {}};
  };
  ASSERT_TRUE(lib::hv::LogicalCiStore(2, 0x210000003000, 0x1234).is_ok());
  ASSERT_EQ(hv.calls.size(), 1u);
  EXPECT_EQ(hv.calls[0].opcode, 0x40u);
  EXPECT_EQ(hv.calls[0].args[0], 2u);
  EXPECT_EQ(hv.calls[0].args[1], 0x210000003000u);
  EXPECT_EQ(hv.calls[0].args[2], 0x1234u);
}

TEST_F(HvTest, LogicalCiAccessesRefuseOddSizesAndReportTheHostsStatus) {
  EXPECT_EQ(lib::hv::LogicalCiLoad(3, 0x10).error(), HcallStatus::kParameter);
  EXPECT_EQ(lib::hv::LogicalCiStore(16, 0x10, 0).error(), HcallStatus::kParameter);
  EXPECT_TRUE(hv.calls.empty());  // refused before the host is asked
  // The fake, like a host without the hcalls, answers H_FUNCTION.
  EXPECT_EQ(lib::hv::LogicalCiLoad(4, 0x10).error(), HcallStatus::kFunction);
  EXPECT_EQ(lib::hv::LogicalCiStore(4, 0x10, 1).error(), HcallStatus::kFunction);
}

// QEMU include/hw/ppc/spapr.h: H_PUT_TCE 0x20, H_REG_CRQ 0xfc, H_FREE_CRQ 0x100, H_SEND_CRQ 0x108.
TEST_F(HvTest, TceAndCrqCallsUseQemusOpcodesAndPassTheirArgumentsInOrder) {
  for (uint64_t opcode :
       {lib::hv::H_PUT_TCE, lib::hv::H_REG_CRQ, lib::hv::H_FREE_CRQ, lib::hv::H_SEND_CRQ}) {
    hv.overrides[opcode] = [](const FakeHypervisor::Call&) {
      return lib::hv::HcallReturn{HcallStatus::kSuccess, {}};
    };
  }
  ASSERT_TRUE(lib::hv::PutTce(0x71000003, 0x2000, 0x7f000 | lib::hv::kTceRead | lib::hv::kTceWrite)
                  .is_ok());
  ASSERT_TRUE(lib::hv::RegisterCrq(0x71000003, 0x1000, 0x1000).is_ok());
  ASSERT_TRUE(lib::hv::SendCrq(0x71000003, 0xc001000000000000, 0x42).is_ok());
  ASSERT_TRUE(lib::hv::FreeCrq(0x71000003).is_ok());
  ASSERT_EQ(hv.calls.size(), 4u);
  EXPECT_EQ(hv.calls[0].opcode, 0x20u);
  EXPECT_EQ(hv.calls[0].args[0], 0x71000003u);
  EXPECT_EQ(hv.calls[0].args[1], 0x2000u);
  EXPECT_EQ(hv.calls[0].args[2], 0x7f003u);
  EXPECT_EQ(hv.calls[1].opcode, 0xfcu);
  EXPECT_EQ(hv.calls[1].args[1], 0x1000u);
  EXPECT_EQ(hv.calls[1].args[2], 0x1000u);
  EXPECT_EQ(hv.calls[2].opcode, 0x108u);
  EXPECT_EQ(hv.calls[2].args[1], 0xc001000000000000u);
  EXPECT_EQ(hv.calls[2].args[2], 0x42u);
  EXPECT_EQ(hv.calls[3].opcode, 0x100u);
  EXPECT_EQ(hv.calls[3].args[0], 0x71000003u);
}

TEST_F(HvTest, TceAndCrqCallsReportTheHostsStatus) {
  hv.overrides[lib::hv::H_REG_CRQ] = [](const FakeHypervisor::Call&) {
    return lib::hv::HcallReturn{HcallStatus::kResource, {}};
  };
  EXPECT_EQ(lib::hv::RegisterCrq(1, 0x1000, 0x1000).error(), HcallStatus::kResource);
  EXPECT_STREQ(lib::hv::HcallStatusName(HcallStatus::kResource), "H_RESOURCE");
  // The fake, like a host without them, answers H_FUNCTION.
  EXPECT_EQ(lib::hv::PutTce(1, 0, 0).error(), HcallStatus::kFunction);
  EXPECT_EQ(lib::hv::FreeCrq(1).error(), HcallStatus::kFunction);
  EXPECT_EQ(lib::hv::SendCrq(1, 0, 0).error(), HcallStatus::kFunction);
}

TEST_F(HvTest, LogicalLanCallsUseQemusOpcodesAndPassTheirArgumentsInOrder) {
  for (uint64_t opcode : {lib::hv::H_REGISTER_LOGICAL_LAN, lib::hv::H_FREE_LOGICAL_LAN,
                          lib::hv::H_ADD_LOGICAL_LAN_BUFFER, lib::hv::H_SEND_LOGICAL_LAN}) {
    hv.overrides[opcode] = [](const FakeHypervisor::Call&) {
      return lib::hv::HcallReturn{HcallStatus::kSuccess, {}};
    };
  }
  ASSERT_TRUE(lib::hv::RegisterLogicalLan(0x71000002, 0, 0x8000020000002000, 0x1000, 0x525400123456)
                  .is_ok());
  ASSERT_TRUE(lib::hv::AddLogicalLanBuffer(0x71000002, 0x8000060000003000).is_ok());
  const uint64_t descriptors[lib::hv::kLogicalLanSendDescriptors] = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(lib::hv::SendLogicalLan(0x71000002, descriptors).is_ok());
  ASSERT_TRUE(lib::hv::FreeLogicalLan(0x71000002).is_ok());
  ASSERT_EQ(hv.calls.size(), 4u);
  EXPECT_EQ(hv.calls[0].opcode, 0x114u);
  const std::array<uint64_t, 9> registered = {0x71000002, 0, 0x8000020000002000, 0x1000,
                                              0x525400123456};
  EXPECT_EQ(hv.calls[0].args, registered);
  EXPECT_EQ(hv.calls[1].opcode, 0x11cu);
  EXPECT_EQ(hv.calls[1].args[1], 0x8000060000003000u);
  EXPECT_EQ(hv.calls[2].opcode, 0x120u);
  const std::array<uint64_t, 9> sent = {0x71000002, 1, 2, 3, 4, 5, 6, 0, 0};  // r11: a new frame
  EXPECT_EQ(hv.calls[2].args, sent);
  EXPECT_EQ(hv.calls[3].opcode, 0x118u);
  EXPECT_EQ(hv.calls[3].args[0], 0x71000002u);
}

TEST_F(HvTest, BusyIsHBusyAndTheLongBusyAnswers) {
  EXPECT_TRUE(lib::hv::IsBusy(HcallStatus::kBusy));
  for (int64_t value = 9900; value <= 9905; ++value) {
    EXPECT_TRUE(lib::hv::IsBusy(static_cast<HcallStatus>(value))) << value;
  }
  for (int64_t value : {0, 2, 9899, 9906, -12}) {
    EXPECT_FALSE(lib::hv::IsBusy(static_cast<HcallStatus>(value))) << value;
  }
  EXPECT_STREQ(lib::hv::HcallStatusName(HcallStatus::kDropped), "H_DROPPED");
  EXPECT_EQ(static_cast<int64_t>(HcallStatus::kDropped), -12);
}

TEST_F(HvTest, ConsoleTranslatesNewlinesAndFlushesEveryPrintf) {
  lib::ConsoleAttachVty(0x71000000);
  EXPECT_TRUE(lib::ConsoleAttached());
  lib::Printf("tern %s\n", "0.1");
  EXPECT_EQ(hv.terminal_output[0x71000000], "tern 0.1\r\n");
  lib::ConsoleWrite("a\nb", 3);
  EXPECT_EQ(hv.terminal_output[0x71000000], "tern 0.1\r\na\r\nb");
  // 40 characters and 2 newlines: 42 bytes in calls of at most 16.
  hv.calls.clear();
  lib::Printf("%s\n%s\n", std::string(20, 'x').c_str(), std::string(20, 'y').c_str());
  EXPECT_EQ(hv.calls.size(), 3u);
  for (const auto& call : hv.calls) EXPECT_LE(call.args[1], 16u);
}

TEST_F(HvTest, ConsoleCountsRefusedWrites) {
  lib::ConsoleAttachVty(0x5555);  // no such terminal
  lib::Printf("lost\n");
  EXPECT_EQ(lib::ConsoleFailedWrites(), 1u);
  EXPECT_TRUE(hv.terminal_output.empty());
}

TEST_F(HvTest, PanicPrintsFileLineAndMessageThenHalts) {
  tests::AttachConsoleToStderr();
  EXPECT_DEATH(TERN_PANIC("bad %s %d", "thing", 7),
               "tern: PANIC at .*hv_console_test.cc:[0-9]+: bad thing 7\n(.|\n)*halted");
  EXPECT_DEATH(TERN_ASSERT(1 + 1 == 3), "assertion failed: 1 \\+ 1 == 3");
}

}  // namespace
