// net/tftp.h's read against the fake LAN's scripted TFTP server: option negotiation and its
// fallbacks, block numbers wrapping, lost, duplicated and late packets, silent servers, ERROR
// packets, the size limit and the sink, other transfer IDs and hosts, ARP answered meanwhile.
#include "net/tftp.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/console-capture.h"
#include "tests/unit/net/fake-network.h"

namespace {

using net::Ipv4Address;
using net::TftpError;
using tests::Bytes;
using tests::kClientIp;
using tests::kClientMac;
using tests::kServerIp;
using tests::kServerMac;
using tests::kTicksPerMs;

Bytes Pattern(size_t size) {
  Bytes bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(i * 131 + i / 977);
  return bytes;
}

bool IsData(const Bytes& frame, int block = -1) {
  return frame.size() >= 46 && frame[23] == 17 && frame[42] == 0 && frame[43] == 3 &&
         (block < 0 || (frame[44] << 8 | frame[45]) == block);
}

bool IsAck(const tests::SentFrame& frame, int block = -1) {
  return frame.payload.size() == 4 && frame.payload[1] == net::kTftpAck &&
         (block < 0 || (frame.payload[2] << 8 | frame.payload[3]) == block);
}

struct Rig {
  explicit Rig(uint32_t max_frame = 1514) {
    tests::ResetClock();
    lan.device.max_frame = max_frame;
    EXPECT_TRUE(stack
                    .Start(lan.device,
                           {tx.data(), reinterpret_cast<uintptr_t>(tx.data()),
                            static_cast<uint32_t>(tx.size())},
                           {rx.data(), rx.size()}, tests::kFrequency)
                    .is_ok());
    stack.Configure({kClientIp, tests::kMask, tests::kRouterIp});
    request.server = kServerIp;
    request.file = "core.elf";
    request.max_bytes = 64 << 20;
    request.sink = {[](void* self, uint64_t offset, lib::Span<const uint8_t> data) {
                      return static_cast<Rig*>(self)->Write(offset, data);
                    },
                    this};
  }
  bool Write(uint64_t offset, lib::Span<const uint8_t> data) {
    if (offset != file.size()) order_broken = true;
    if (offset >= refuse_at) return false;
    file.insert(file.end(), data.begin(), data.end());
    return true;
  }
  lib::Result<uint64_t, TftpError> Run() {
    const uint64_t start = tests::Now();
    auto result = net::TftpRead(stack, request, report);
    took = tests::Now() - start;
    return result;
  }
  int RrqsSent() const {
    int count = 0;
    for (const tests::SentFrame& f : lan.sent) count += f.port == 69;
    return count;
  }

  tests::FakeNetwork lan;
  std::vector<uint8_t> tx = std::vector<uint8_t>(net::kArpRoom + 1514);
  std::vector<uint8_t> rx = std::vector<uint8_t>(1514);
  net::Stack stack;
  net::TftpRequest request;
  net::TftpReport report;
  Bytes file;
  uint64_t refuse_at = ~uint64_t{0};
  bool order_broken = false;
  uint64_t took = 0;
};

TEST(Tftp, NegotiatedTransfer) {
  Rig rig;
  rig.lan.tftp.files["core.elf"] = Pattern(1 << 20);
  std::vector<std::pair<uint64_t, uint64_t>> progress;
  rig.request.progress = {[](void* out, uint64_t kib, uint64_t total) {
                            static_cast<decltype(progress)*>(out)->push_back({kib, total});
                          },
                          &progress};
  auto result = rig.Run();
  ASSERT_TRUE(result.is_ok()) << net::TftpErrorName(result.error());
  EXPECT_EQ(result.value(), 1u << 20);
  EXPECT_EQ(rig.file, rig.lan.tftp.files["core.elf"]);
  EXPECT_FALSE(rig.order_broken);
  EXPECT_EQ(rig.lan.tftp.options_seen, (std::vector<std::string>{"blksize=1468", "tsize=0"}));
  EXPECT_TRUE(rig.report.options_acknowledged);
  EXPECT_EQ(rig.report.block_size, 1468);
  EXPECT_TRUE(rig.report.size_announced);
  EXPECT_EQ(rig.report.announced_size, 1u << 20);
  EXPECT_EQ(rig.report.server_port, rig.lan.tftp.port);
  EXPECT_EQ(rig.report.retransmissions + rig.report.duplicates + rig.report.out_of_order +
                rig.report.ignored,
            0u);
  EXPECT_FALSE(rig.lan.tftp.active);  // the last block was acknowledged
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), std::make_pair(uint64_t{1024}, uint64_t{1024}));
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_GT(progress[i].first, progress[i - 1].first);
  EXPECT_TRUE(rig.lan.violations.empty()) << rig.lan.violations[0];
  // 715 blocks, each a round trip of 0.2 ms.
  std::printf("[ timing ] TFTP 1 MiB at 1468-byte blocks, 0.1 ms one way: %llu ms, %d DATA\n",
              static_cast<unsigned long long>(rig.took / kTicksPerMs), rig.lan.tftp.data_sent);
  EXPECT_LT(rig.took, 716 * 210 * tests::kTicksPerUs);
}

TEST(Tftp, BlockSizeChoices) {
  Rig small(1000);  // a device with 1000-byte frames: blocks of 1000 - 46
  small.lan.tftp.files["core.elf"] = Pattern(5000);
  ASSERT_TRUE(small.Run().is_ok());
  EXPECT_EQ(small.lan.tftp.options_seen[0], "blksize=954");
  Rig asked;
  asked.lan.tftp.files["core.elf"] = Pattern(5000);
  asked.request.block_size = 1024;  // GRUB's
  ASSERT_TRUE(asked.Run().is_ok());
  EXPECT_EQ(asked.lan.tftp.options_seen[0], "blksize=1024");
  Rig plain;  // 512 needs no option; no tsize either: an RRQ without options
  plain.lan.tftp.files["core.elf"] = Pattern(5000);
  plain.request.block_size = 512;
  plain.request.ask_size = false;
  ASSERT_TRUE(plain.Run().is_ok());
  EXPECT_TRUE(plain.lan.tftp.options_seen.empty());
  EXPECT_FALSE(plain.report.options_acknowledged);
  EXPECT_EQ(plain.file, plain.lan.tftp.files["core.elf"]);
  Rig capped;  // the server offers less than asked
  capped.lan.tftp.files["core.elf"] = Pattern(5000);
  capped.lan.tftp.max_block_size = 700;
  ASSERT_TRUE(capped.Run().is_ok());
  EXPECT_EQ(capped.report.block_size, 700);
  EXPECT_EQ(capped.file, capped.lan.tftp.files["core.elf"]);
}

TEST(Tftp, ServerIgnoringOrRefusingOptions) {
  Rig ignoring;
  ignoring.lan.tftp.options = false;
  ignoring.lan.tftp.files["core.elf"] = Pattern(3000);
  ASSERT_TRUE(ignoring.Run().is_ok());
  EXPECT_FALSE(ignoring.report.options_acknowledged);
  EXPECT_EQ(ignoring.report.block_size, 512);
  EXPECT_EQ(ignoring.lan.tftp.data_sent, 6);
  EXPECT_EQ(ignoring.file, ignoring.lan.tftp.files["core.elf"]);
  Rig refusing;
  refusing.lan.tftp.refuse_options = true;
  refusing.lan.tftp.files["core.elf"] = Pattern(3000);
  ASSERT_TRUE(refusing.Run().is_ok());
  EXPECT_TRUE(refusing.report.options_refused);
  EXPECT_EQ(refusing.RrqsSent(), 2);
  EXPECT_TRUE(refusing.lan.tftp.options_seen.empty());  // the second RRQ asked none
  EXPECT_EQ(refusing.file, refusing.lan.tftp.files["core.elf"]);
  // Two RRQs, two transfer IDs of ours [RFC 1350 4].
  EXPECT_NE(refusing.lan.sent[0].source_port, refusing.lan.sent.back().source_port);
}

TEST(Tftp, EndsAtShortOrEmptyLastBlock) {
  for (size_t size :
       {size_t{0}, size_t{1}, size_t{1467}, size_t{1468}, size_t{2936}, size_t{4000}}) {
    Rig rig;
    rig.lan.tftp.files["core.elf"] = Pattern(size);
    auto result = rig.Run();
    ASSERT_TRUE(result.is_ok()) << size;
    EXPECT_EQ(result.value(), size);
    EXPECT_EQ(rig.file, rig.lan.tftp.files["core.elf"]);
    EXPECT_EQ(static_cast<size_t>(rig.lan.tftp.data_sent), size / 1468 + 1) << size;
    EXPECT_FALSE(rig.lan.tftp.active);
  }
}

// 65535 + 100 blocks of 8 bytes: block numbers wrap to 0 (or to 1).
TEST(Tftp, BlockNumbersWrap) {
  for (bool to_one : {false, true}) {
    Rig rig;
    rig.lan.tftp.max_block_size = 8;
    rig.lan.tftp.wrap_to_one = to_one;
    rig.lan.tftp.files["core.elf"] = Pattern((65535 + 100) * 8 + 3);
    auto result = rig.Run();
    ASSERT_TRUE(result.is_ok()) << to_one << " " << net::TftpErrorName(result.error());
    EXPECT_EQ(rig.file, rig.lan.tftp.files["core.elf"]);
    EXPECT_EQ(rig.report.out_of_order, 0u);
  }
}

// The case a 512-byte-block server hits: a file over 32 MiB.
TEST(Tftp, FileOver32MiBAt512ByteBlocks) {
  Rig rig;
  rig.lan.tftp.options = false;
  rig.lan.tftp.files["core.elf"] = Pattern((32 << 20) + 5000);
  ASSERT_TRUE(rig.Run().is_ok());
  EXPECT_EQ(rig.file.size(), (32u << 20) + 5000);
  EXPECT_TRUE(rig.file == rig.lan.tftp.files["core.elf"]);
  EXPECT_EQ(rig.lan.tftp.data_sent, 65536 + 10);
  std::printf("[ timing ] TFTP 32 MiB at 512-byte blocks, 0.1 ms one way: %llu ms\n",
              static_cast<unsigned long long>(rig.took / kTicksPerMs));
}

TEST(Tftp, LostPacketsAreSentAgain) {
  Rig rig;
  rig.lan.tftp.files["core.elf"] = Pattern(20000);
  bool data_lost = false;
  rig.lan.fault = [&](const tests::SentFrame& frame, int) {
    if (IsData(frame.bytes, 5) && !data_lost) {
      data_lost = true;
      return std::vector<uint64_t>{};
    }
    return std::vector<uint64_t>{0};
  };
  int acks_lost = 0;
  int rrqs = 0;
  rig.lan.client_fault = [&](const tests::SentFrame& frame, int) {
    if (frame.port == 69 && rrqs++ == 0) return false;  // the first RRQ
    if ((IsAck(frame, 0) || IsAck(frame, 9)) && acks_lost < 2) {
      ++acks_lost;
      return false;
    }
    return true;
  };
  auto result = rig.Run();
  ASSERT_TRUE(result.is_ok());
  EXPECT_EQ(rig.file, rig.lan.tftp.files["core.elf"]);
  EXPECT_EQ(rig.report.retransmissions, 4u);  // the RRQ, ACK 0, ACK 4 (DATA 5 lost), ACK 9
  EXPECT_EQ(rig.RrqsSent(), 2);
  EXPECT_GE(rig.took, 4000 * kTicksPerMs);
  EXPECT_LT(rig.took, 4100 * kTicksPerMs);
}

TEST(Tftp, DuplicatedAndLatePackets) {
  Rig rig;
  rig.lan.tftp.files["core.elf"] = Pattern(30000);
  rig.lan.fault = [&](const tests::SentFrame& frame, int) {
    if (IsData(frame.bytes, 3)) return std::vector<uint64_t>{0, 0};            // twice
    if (IsData(frame.bytes, 6)) return std::vector<uint64_t>{0, kTicksPerMs};  // again, late
    return std::vector<uint64_t>{0};
  };
  auto result = rig.Run();
  ASSERT_TRUE(result.is_ok());
  EXPECT_EQ(rig.file, rig.lan.tftp.files["core.elf"]);
  EXPECT_FALSE(rig.order_broken);
  EXPECT_GE(rig.report.duplicates, 1u);
  EXPECT_GE(rig.report.out_of_order, 1u);  // DATA 6 arriving after 7 and later
  EXPECT_EQ(rig.report.retransmissions, 0u);
}

TEST(Tftp, SilentServers) {
  Rig silent;
  silent.lan.tftp.silent = true;
  silent.lan.tftp.files["core.elf"] = Pattern(100);
  EXPECT_EQ(silent.Run().error(), TftpError::kNoAnswer);
  EXPECT_EQ(silent.RrqsSent(), net::kTftpTries);
  EXPECT_GE(silent.took, 10000 * kTicksPerMs);
  EXPECT_LT(silent.took, 10100 * kTicksPerMs);
  std::printf("[ timing ] TFTP, silent server: gives up after %llu ms\n",
              static_cast<unsigned long long>(silent.took / kTicksPerMs));
  Rig stopping;
  stopping.lan.tftp.stop_after = 4;
  stopping.lan.tftp.files["core.elf"] = Pattern(100000);
  stopping.request.tries = 3;
  stopping.request.timeout_ms = 200;
  EXPECT_EQ(stopping.Run().error(), TftpError::kTimeout);
  EXPECT_EQ(stopping.report.bytes, 4u * 1468);
  EXPECT_EQ(stopping.report.retransmissions, 2u);
  EXPECT_LT(stopping.took, 700 * kTicksPerMs);
}

TEST(Tftp, ErrorPacketsAreShown) {
  Rig rig;
  tests::ConsoleCapture console;
  EXPECT_EQ(rig.Run().error(), TftpError::kServerError);
  EXPECT_EQ(rig.report.error_code, net::kTftpFileNotFound);
  EXPECT_STREQ(rig.report.error_message, "File not found");
  EXPECT_TRUE(console.Has("tftp: core.elf: the server says error 1: File not found"))
      << console.text;
  // A message with control characters and too long: cleaned and cut.
  Rig noisy;
  noisy.lan.tftp.not_found_message = std::string("bad\x1b[2Jname\x7f") + std::string(300, 'x');
  EXPECT_EQ(noisy.Run().error(), TftpError::kServerError);
  EXPECT_EQ(std::string(noisy.report.error_message).substr(0, 14), "bad?[2Jname?xx");
  EXPECT_EQ(std::string(noisy.report.error_message).size(), net::kTftpMaxErrorMessage);
  // An ERROR in the middle of the transfer.
  Rig middle;
  middle.lan.tftp.files["core.elf"] = Pattern(50000);
  middle.lan.tftp.error_at_block = 7;
  middle.lan.tftp.error_code = 0;
  middle.lan.tftp.error_message = "disk went away";
  EXPECT_EQ(middle.Run().error(), TftpError::kServerError);
  EXPECT_EQ(middle.report.bytes, 6u * 1468);
  EXPECT_STREQ(middle.report.error_message, "disk went away");
}

TEST(Tftp, SizeLimit) {
  Rig announced;
  announced.lan.tftp.files["core.elf"] = Pattern(10000);
  announced.request.max_bytes = 9999;
  EXPECT_EQ(announced.Run().error(), TftpError::kTooLarge);
  EXPECT_EQ(announced.report.bytes, 0u);  // refused at the OACK's tsize
  EXPECT_EQ(announced.lan.tftp.last_error_code, net::kTftpDiskFull);
  Rig unannounced;  // a server without options: found out at the block that does not fit
  unannounced.lan.tftp.options = false;
  unannounced.lan.tftp.files["core.elf"] = Pattern(10000);
  unannounced.request.max_bytes = 9999;
  EXPECT_EQ(unannounced.Run().error(), TftpError::kTooLarge);
  EXPECT_EQ(unannounced.report.bytes, 19u * 512);
  EXPECT_EQ(unannounced.lan.tftp.errors_received, 1);
  Rig exact;
  exact.lan.tftp.files["core.elf"] = Pattern(10000);
  exact.request.max_bytes = 10000;
  EXPECT_EQ(exact.Run().value(), 10000u);
}

TEST(Tftp, SinkRefusal) {
  Rig rig;
  rig.lan.tftp.files["core.elf"] = Pattern(10000);
  rig.refuse_at = 4 * 1468;
  EXPECT_EQ(rig.Run().error(), TftpError::kSinkRefused);
  EXPECT_EQ(rig.report.bytes, 4u * 1468);
  EXPECT_EQ(rig.lan.tftp.errors_received, 1);
}

TEST(Tftp, OtherTransferIdsAndHosts) {
  Rig rig;
  rig.lan.tftp.files["core.elf"] = Pattern(20000);
  rig.lan.fault = [&](const tests::SentFrame& frame, int) {
    if (IsData(frame.bytes, 4)) {
      const uint16_t client_port = static_cast<uint16_t>(frame.bytes[36] << 8 | frame.bytes[37]);
      const Bytes data = {0, 3, 0, 5, 'x'};
      // The same server from another port, another host, a malformed packet, an unknown opcode.
      rig.lan.Inject(
          tests::UdpFrame(kClientMac, kServerMac, kServerIp, kClientIp, 7777, client_port, data));
      rig.lan.Inject(tests::UdpFrame(kClientMac, tests::kRouterMac, tests::kRouterIp, kClientIp,
                                     rig.lan.tftp.port, client_port, data));
      rig.lan.Inject(tests::UdpFrame(kClientMac, kServerMac, kServerIp, kClientIp,
                                     rig.lan.tftp.port, client_port, {0}));
      rig.lan.Inject(tests::UdpFrame(kClientMac, kServerMac, kServerIp, kClientIp,
                                     rig.lan.tftp.port, client_port, {0, 9, 0, 0}));
    }
    return std::vector<uint64_t>{0};
  };
  ASSERT_TRUE(rig.Run().is_ok());
  EXPECT_EQ(rig.file, rig.lan.tftp.files["core.elf"]);
  EXPECT_EQ(rig.report.ignored, 4u);
  // The stranger was told: ERROR 5 to port 7777 [RFC 1350 4].
  bool told = false;
  for (const tests::SentFrame& f : rig.lan.sent) {
    told |= f.port == 7777 && f.payload.size() >= 4 && f.payload[1] == net::kTftpError &&
            f.payload[3] == net::kTftpUnknownTransferId;
  }
  EXPECT_TRUE(told);
}

TEST(Tftp, UnusableOack) {
  Rig rig;
  rig.lan.tftp.files["core.elf"] = Pattern(1000);
  rig.lan.tftp.max_block_size = 9000;
  rig.request.block_size = 1000;  // the fake server answers min(asked, 9000): make it lie
  rig.lan.fault = [&](const tests::SentFrame& frame, int) {
    if (frame.bytes.size() > 44 && frame.bytes[43] == net::kTftpOack) {
      const Bytes oack = {0, 6, 'b', 'l', 'k', 's', 'i', 'z', 'e', 0, '2', '0', '0', '0', 0};
      rig.lan.Inject(tests::UdpFrame(kClientMac, kServerMac, kServerIp, kClientIp,
                                     rig.lan.tftp.port, rig.lan.tftp.client_port, oack),
                     2 * rig.lan.latency);
      return std::vector<uint64_t>{};
    }
    return std::vector<uint64_t>{0};
  };
  EXPECT_EQ(rig.Run().error(), TftpError::kBadOptions);
  EXPECT_EQ(rig.lan.tftp.last_error_code, net::kTftpBadOptions);
}

TEST(Tftp, AnswersArpDuringTheTransfer) {
  Rig rig;
  rig.lan.tftp.files["core.elf"] = Pattern(100000);
  rig.lan.fault = [&](const tests::SentFrame& frame, int) {
    if (IsData(frame.bytes, 10) || IsData(frame.bytes, 50)) {
      rig.lan.Inject(tests::ArpFrame(1, kServerMac, kServerIp, net::MacAddress{}, kClientIp,
                                     net::MacAddress::Broadcast()));
    }
    return std::vector<uint64_t>{0};
  };
  ASSERT_TRUE(rig.Run().is_ok());
  EXPECT_EQ(rig.stack.stats().arp_answered, 2u);
  EXPECT_EQ(rig.file, rig.lan.tftp.files["core.elf"]);
  EXPECT_TRUE(rig.lan.violations.empty());
}

TEST(Tftp, UnreachableServer) {
  Rig rig;
  rig.lan.answer_arp = false;
  rig.lan.tftp.files["core.elf"] = Pattern(100);
  EXPECT_EQ(rig.Run().error(), TftpError::kUnreachable);
  EXPECT_EQ(rig.report.stack_error, net::StackError::kNoArpAnswer);
  Rig far;
  far.stack.Configure({kClientIp, tests::kMask, Ipv4Address{}});
  far.request.server = Ipv4Address::Of(192, 168, 0, 1);
  EXPECT_EQ(far.Run().error(), TftpError::kUnreachable);
  EXPECT_EQ(far.report.stack_error, net::StackError::kNoRoute);
}

TEST(Tftp, BadRequests) {
  Rig rig;
  auto run = [&](auto change) {
    net::TftpRequest request = rig.request;
    change(request);
    return net::TftpRead(rig.stack, request, rig.report);
  };
  EXPECT_EQ(run([](net::TftpRequest& r) { r.file = ""; }).error(), TftpError::kBadRequest);
  EXPECT_EQ(run([](net::TftpRequest& r) { r.file = lib::StringView("a\0b", 3); }).error(),
            TftpError::kBadRequest);
  const std::string long_name(256, 'n');
  EXPECT_EQ(run([&](net::TftpRequest& r) { r.file = long_name.c_str(); }).error(),
            TftpError::kBadRequest);
  EXPECT_EQ(run([](net::TftpRequest& r) { r.sink.write = nullptr; }).error(),
            TftpError::kBadRequest);
  EXPECT_EQ(run([](net::TftpRequest& r) { r.tries = 0; }).error(), TftpError::kBadRequest);
  EXPECT_EQ(run([](net::TftpRequest& r) { r.block_size = 7; }).error(), TftpError::kBadRequest);
  EXPECT_TRUE(rig.lan.sent.empty());
  rig.stack.Configure({});
  EXPECT_EQ(run([](net::TftpRequest&) {}).error(), TftpError::kNotStarted);
  for (int e = 0; e <= static_cast<int>(TftpError::kSinkRefused); ++e) {
    EXPECT_STRNE(net::TftpErrorName(static_cast<TftpError>(e)), "TFTP error");
  }
}

}  // namespace
