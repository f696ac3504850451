#include "boot/exception.h"

#include <gtest/gtest.h>

#include <string>

#include "lib/console.h"

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

}  // namespace
