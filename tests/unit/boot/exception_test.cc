#include "boot/exception.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "boot/halt.h"
#include "lib/console.h"
#include "lib/hv.h"
#include "tests/fake-hv.h"
#include "tests/test-data.h"

namespace {

std::string captured;

void Capture() {
  captured.clear();
  lib::ConsoleAttachSink(lib::Sink{
      [](void*, const char* data, size_t size) { captured.append(data, size); }, nullptr});
}

TEST(Exception, NamesEveryArchitectedVector) {
  EXPECT_STREQ(boot::VectorName(0x100), "system reset");
  EXPECT_STREQ(boot::VectorName(0x300), "data storage");
  EXPECT_STREQ(boot::VectorName(0x700), "program");
  EXPECT_STREQ(boot::VectorName(0xf60), "facility unavailable");
  EXPECT_STREQ(boot::VectorName(0x1500), "unknown");
}

TEST(Exception, ReportShowsVectorCauseAndRegisters) {
  Capture();
  boot::ExceptionFrame frame{};
  for (int i = 0; i < 32; ++i) frame.gpr[i] = 0x1000 + i;
  frame.vector = 0x700;
  frame.srr0 = 0x400000;
  frame.srr1 = 0x8000000000001000ull | (1ull << (63 - 46));  // SF, ME and the trap bit
  frame.dar = 0xdead;
  boot::PrintException(frame);
  EXPECT_NE(captured.find("tern: EXCEPTION 0x700 (program: trap)"), std::string::npos) << captured;
  EXPECT_NE(captured.find("SRR0 0000000000400000"), std::string::npos) << captured;
  EXPECT_NE(captured.find("SRR1 8000000000021000"), std::string::npos) << captured;
  EXPECT_NE(captured.find("DAR  000000000000dead"), std::string::npos) << captured;
  EXPECT_NE(captured.find("r0  0000000000001000"), std::string::npos) << captured;
  EXPECT_NE(captured.find("r31 000000000000101f"), std::string::npos) << captured;
}

TEST(Exception, DataStorageHasNoProgramCause) {
  Capture();
  boot::ExceptionFrame frame{};
  frame.vector = 0x300;
  boot::PrintException(frame);
  EXPECT_NE(captured.find("EXCEPTION 0x300 (data storage)\n"), std::string::npos) << captured;
}

using tests::FakeHypervisor;

class PowerOffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeHypervisor::Get().Reset();
    Capture();
  }
  void TearDown() override { lib::ConsoleAttachSink(lib::Sink{nullptr, nullptr}); }
  FakeHypervisor& hv = FakeHypervisor::Get();
};

// After the report, the machine is powered off through the host's RTAS power-off (0x2008 in
// single-cpu.dts) with no wake-up events; here the fake host returns instead of stopping the VM.
TEST_F(PowerOffTest, CallsTheHostsPowerOffWithNoWakeUpEvents) {
  const auto blob = tests::LoadDtb("single-cpu.dtb");
  std::vector<uint32_t> seen{1, 1, 1};
  hv.rtas_services[0x2008] = [&](const std::vector<uint32_t>& args, std::vector<uint32_t>& rets) {
    seen = args;
    EXPECT_TRUE(rets.empty());
    return -1;
  };
  boot::PowerOffAfterException(blob.data());
  EXPECT_EQ(seen, (std::vector<uint32_t>{0, 0}));
  ASSERT_EQ(hv.calls.size(), 1u);
  EXPECT_EQ(hv.calls[0].opcode, lib::hv::KVMPPC_H_RTAS);
  EXPECT_NE(captured.find("tern: powering off\ntern: power-off returned status -1\n"),
            std::string::npos)
      << captured;
}

TEST_F(PowerOffTest, SaysWhyWhenItCannot) {
  boot::PowerOffAfterException(nullptr);
  EXPECT_NE(captured.find("tern: cannot power off before the device tree is read\n"),
            std::string::npos)
      << captured;
  const auto no_rtas = tests::LoadDtb("no-cpus.dtb");
  boot::PowerOffAfterException(no_rtas.data());
  EXPECT_NE(captured.find("tern: cannot power off: /rtas has no power-off token"),
            std::string::npos)
      << captured;
  EXPECT_TRUE(hv.calls.empty());
  const auto blob = tests::LoadDtb("single-cpu.dtb");  // the fake host knows no 0x2008: H_PARAMETER
  boot::PowerOffAfterException(blob.data());
  EXPECT_NE(captured.find("tern: power-off: the hypervisor refused the RTAS call\n"),
            std::string::npos)
      << captured;
}

// The whole exception path as the vectors enter it: the report exactly as before, "tern: halted",
// then the power-off; a host that does not stop the machine leaves it to lib::Halt (on the host:
// the end of the process).
TEST(ExceptionDeathTest, ReportThenPowerOffThenHalt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto blob = tests::LoadDtb("single-cpu.dtb");
  boot::ExceptionFrame frame{};
  frame.vector = 0x700;
  frame.srr0 = 0x400004;
  frame.srr1 = 1ull << (63 - 46);
  frame.gpr[20] = 0x7e570000;
  EXPECT_DEATH(
      {
        FakeHypervisor::Get().Reset();
        FakeHypervisor::Get().rtas_services[0x2008] = [](const std::vector<uint32_t>& args,
                                                         std::vector<uint32_t>&) {
          std::fprintf(stderr, "host: power-off %u %u\n", args.at(0), args.at(1));
          return -1;
        };
        tests::AttachConsoleToStderr();
        boot::SetHaltTree(blob.data());
        tern_exception(&frame);
      },
      "tern: EXCEPTION 0x700 \\(program: trap\\)\n  SRR0 0000000000400004(.|\n)*"
      "r20 000000007e570000(.|\n)*\ntern: halted\ntern: powering off\nhost: power-off 0 0\n"
      "tern: power-off returned status -1\ntern-test: halted");
}

}  // namespace
