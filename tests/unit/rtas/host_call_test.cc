#include "rtas/host-call.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/fake-hv.h"
#include "tests/test-data.h"

namespace {

using tests::FakeHypervisor;

class HostCallTest : public ::testing::Test {
 protected:
  void SetUp() override { FakeHypervisor::Get().Reset(); }
  FakeHypervisor& hv = FakeHypervisor::Get();
};

TEST_F(HostCallTest, LooksUpTokensByServiceName) {
  auto blob = tests::LoadDtb("single-cpu.dtb");
  EXPECT_EQ(rtas::LookupToken(blob.data(), "power-off").value(), 0x2008u);
  EXPECT_EQ(rtas::LookupToken(blob.data(), "stop-self").value(), 0x2005u);
  EXPECT_EQ(rtas::LookupToken(blob.data(), "ibm,no-such-call").error(),
            lib::fdt::FdtError::kNotFound);
  auto no_rtas = tests::LoadDtb("no-cpus.dtb");
  EXPECT_EQ(rtas::LookupToken(no_rtas.data(), "power-off").error(), lib::fdt::FdtError::kNotFound);
}

TEST_F(HostCallTest, BuildsTheBlockTheHostExpectsAndReturnsItsAnswers) {
  std::vector<uint32_t> seen;
  hv.rtas_services[0x201d] = [&](const std::vector<uint32_t>& args, std::vector<uint32_t>& rets) {
    seen = args;
    EXPECT_EQ(rets.size(), 1u);
    rets[0] = 2;  // get-sensor-state: state 2
    return 0;
  };
  const uint32_t args[] = {9003, 0x10000001};
  uint32_t rets[1] = {};
  auto result = rtas::CallHost(0x201d, args, rets);
  ASSERT_TRUE(result.is_ok());
  EXPECT_EQ(result.value().status, rtas::RtasStatus::kSuccess);
  EXPECT_EQ(seen, (std::vector<uint32_t>{9003, 0x10000001}));
  EXPECT_EQ(rets[0], 2u);
  ASSERT_EQ(hv.calls.size(), 1u);
  EXPECT_EQ(hv.calls[0].opcode, lib::hv::KVMPPC_H_RTAS);
}

TEST_F(HostCallTest, PassesNegativeStatusesThrough) {
  hv.rtas_services[0x2008] = [](const std::vector<uint32_t>&, std::vector<uint32_t>&) {
    return -3;
  };
  const uint32_t args[] = {0};  // power-off with the wrong nargs
  auto result = rtas::CallHost(0x2008, args, {});
  ASSERT_TRUE(result.is_ok());
  EXPECT_EQ(result.value().status, rtas::RtasStatus::kParameterError);
}

TEST_F(HostCallTest, UnknownTokenIsAnHcallFailure) {
  auto result = rtas::CallHost(0x2fff, {}, {});
  ASSERT_TRUE(result.is_error());
  EXPECT_EQ(result.error(), rtas::HostCallError::kHcallFailed);
}

TEST_F(HostCallTest, RefusesBlocksThatDoNotFit) {
  uint32_t args[lib::kMaxBlockCells] = {};
  auto result = rtas::CallHost(0x2008, args, {});  // 16 args + the status cell
  ASSERT_TRUE(result.is_error());
  EXPECT_EQ(result.error(), rtas::HostCallError::kTooManyCells);
  EXPECT_TRUE(hv.calls.empty());
}

}  // namespace
