// net/dhcp.h's exchange against the fake LAN's scripted DHCP server: the whole exchange and its
// time, lost, duplicated and stale packets, a server that never answers, BOOTP-only servers,
// NAKs, malformed and oversized replies.
#include "net/dhcp.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "tests/unit/net/fake-network.h"

namespace {

using net::DhcpError;
using net::Ipv4Address;
using tests::Bytes;
using tests::kClientIp;
using tests::kClientMac;
using tests::kServerIp;
using tests::kServerMac;
using tests::kTicksPerMs;

// The DHCP message type (option 53) of a frame from the server, 0 for BOOTP, -1 for not DHCP.
int DhcpType(const Bytes& frame) {
  if (frame.size() < 42 + 240 || frame[12] != 0x08 || frame[13] != 0x00 || frame[37] != 68) {
    return -1;
  }
  for (size_t at = 42 + 240; at + 2 < frame.size() && frame[at] != 255;) {
    if (frame[at] == 0) {
      ++at;
      continue;
    }
    if (frame[at] == 53) return frame[at + 2];
    at += 2 + frame[at + 1];
  }
  return 0;
}

struct Rig {
  Rig() {
    tests::ResetClock();
    EXPECT_TRUE(stack
                    .Start(lan.device,
                           {tx.data(), reinterpret_cast<uintptr_t>(tx.data()),
                            static_cast<uint32_t>(tx.size())},
                           {rx.data(), rx.size()}, tests::kFrequency)
                    .is_ok());
    settings.packet = {packet.data(), packet.size()};
    // Every DHCP reply the server sends, to compare with what is kept.
    lan.fault = [this](const tests::SentFrame& frame, int) {
      if (DhcpType(frame.bytes) >= 0) replies.push_back(frame.bytes);
      return std::vector<uint64_t>{0};
    };
  }
  lib::Result<net::DhcpLease, DhcpError> Run() {
    start = tests::Now();
    auto result = net::RunDhcp(stack, settings);
    took = tests::Now() - start;
    return result;
  }
  // The UDP payload of the last reply of `type` the server sent.
  Bytes LastReply(int type) const {
    for (auto it = replies.rbegin(); it != replies.rend(); ++it) {
      if (DhcpType(*it) == type) {
        const size_t length = size_t{(*it)[38]} << 8 | (*it)[39];
        return Bytes(it->begin() + 42, it->begin() + 34 + length);
      }
    }
    return {};
  }
  int DiscoversSent() const {
    int count = 0;
    for (const tests::SentFrame& f : lan.sent)
      count += f.port == 67 && f.payload.size() > 242 && f.payload[242] == net::kDhcpDiscover;
    return count;
  }

  tests::FakeNetwork lan;
  std::vector<uint8_t> tx = std::vector<uint8_t>(net::kArpRoom + 1514);
  std::vector<uint8_t> rx = std::vector<uint8_t>(1514);
  std::vector<uint8_t> packet = std::vector<uint8_t>(1472);
  net::Stack stack;
  net::DhcpSettings settings;
  std::vector<Bytes> replies;
  uint64_t start = 0;
  uint64_t took = 0;
};

TEST(Dhcp, FullExchange) {
  Rig rig;
  rig.lan.dhcp.boot_file_option = "grub/core.elf";
  auto lease = rig.Run();
  ASSERT_TRUE(lease.is_ok()) << net::DhcpErrorName(lease.error());
  const net::DhcpLease& l = lease.value();
  EXPECT_FALSE(l.bootp);
  EXPECT_EQ(l.address, kClientIp);
  EXPECT_EQ(l.netmask, tests::kMask);
  EXPECT_EQ(l.router, kServerIp);
  EXPECT_EQ(l.dns, Ipv4Address::Of(10, 0, 2, 3));
  EXPECT_EQ(l.server_id, kServerIp);
  EXPECT_EQ(l.next_server, kServerIp);
  EXPECT_EQ(l.boot_server, kServerIp);
  EXPECT_STREQ(l.boot_file, "grub/core.elf");
  EXPECT_STREQ(l.host_name, "tern-guest");
  // The ACK is kept whole, byte for byte: what /chosen/bootp-response gets.
  const Bytes ack = rig.LastReply(net::kDhcpAck);
  ASSERT_EQ(l.packet_length, ack.size());
  EXPECT_EQ(Bytes(rig.packet.begin(), rig.packet.begin() + l.packet_length), ack);
  // The stack is configured: it answers ARP for its new address.
  EXPECT_EQ(rig.stack.config().address, kClientIp);
  EXPECT_EQ(rig.stack.config().router, kServerIp);
  EXPECT_EQ(rig.lan.dhcp.discovers, 1);
  EXPECT_EQ(rig.lan.dhcp.requests, 1);
  EXPECT_TRUE(rig.lan.violations.empty()) << rig.lan.violations[0];
  // Two round trips of 0.2 ms: nothing waits but the network.
  std::printf("[ timing ] DHCP, no loss, 0.1 ms one way: %llu us\n",
              static_cast<unsigned long long>(rig.took / tests::kTicksPerUs));
  EXPECT_LT(rig.took, 450 * tests::kTicksPerUs);
  rig.lan.Inject(tests::ArpFrame(1, kServerMac, kServerIp, net::MacAddress{}, kClientIp,
                                 net::MacAddress::Broadcast()));
  net::Datagram datagram;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(rig.stack.Poll(0, datagram).is_ok());
  EXPECT_EQ(rig.stack.stats().arp_answered, 1u);
}

TEST(Dhcp, LostDiscoversAreSentAgainWithBackoff) {
  Rig rig;
  std::vector<uint64_t> times;
  rig.lan.client_fault = [&](const tests::SentFrame& frame, int) {
    if (frame.port == 67 && frame.payload[242] == net::kDhcpDiscover) times.push_back(frame.time);
    return times.size() > 2;  // the first two DISCOVERs are lost
  };
  auto lease = rig.Run();
  ASSERT_TRUE(lease.is_ok());
  ASSERT_EQ(times.size(), 3u);
  // 4 s then 8 s, each within +-1 s [RFC 2131 4.1].
  const uint64_t first = times[1] - times[0], second = times[2] - times[1];
  EXPECT_GE(first, 3000 * kTicksPerMs);
  EXPECT_LE(first, 5001 * kTicksPerMs);
  EXPECT_GE(second, 7000 * kTicksPerMs);
  EXPECT_LE(second, 9001 * kTicksPerMs);
  // `secs` counts from the first DISCOVER.
  const Bytes& third = rig.lan.sent[2].payload;
  EXPECT_GE(third[8] << 8 | third[9], 10);
}

TEST(Dhcp, LostOfferAndLostAck) {
  Rig rig;
  bool dropped = false;
  rig.lan.fault = [&](const tests::SentFrame& frame, int) {
    if (DhcpType(frame.bytes) == net::kDhcpOffer && !dropped) {
      dropped = true;
      return std::vector<uint64_t>{};
    }
    return std::vector<uint64_t>{0};
  };
  auto lease = rig.Run();
  ASSERT_TRUE(lease.is_ok());
  EXPECT_EQ(rig.lan.dhcp.discovers, 2);
  EXPECT_EQ(rig.lan.dhcp.requests, 1);  // the first OFFER was lost; the second's ACK arrived
  // Now lose the first ACK: the REQUEST is sent again.
  Rig again;
  bool lost = false;
  again.lan.fault = [&](const tests::SentFrame& frame, int) {
    if (DhcpType(frame.bytes) == net::kDhcpAck && !lost) {
      lost = true;
      return std::vector<uint64_t>{};
    }
    return std::vector<uint64_t>{0};
  };
  ASSERT_TRUE(again.Run().is_ok());
  EXPECT_EQ(again.lan.dhcp.discovers, 1);
  EXPECT_EQ(again.lan.dhcp.requests, 2);
  EXPECT_GE(again.took, 3000 * kTicksPerMs);
}

TEST(Dhcp, DuplicatedAndStaleReplies) {
  Rig rig;
  rig.lan.fault = [&](const tests::SentFrame& frame, int) {
    if (DhcpType(frame.bytes) >= 0) rig.replies.push_back(frame.bytes);
    return std::vector<uint64_t>{0, 0, 50 * tests::kTicksPerUs};  // every frame three times
  };
  // A stale OFFER of another transaction, and one for another client, arrive first.
  Bytes stale(300, 0);
  stale[0] = 2, stale[1] = 1, stale[2] = 6, stale[4] = 0x5a;
  std::memcpy(&stale[28], kClientMac.bytes, 6);
  stale.insert(stale.begin() + 236, {99, 130, 83, 99, 53, 1, 2, 54, 4, 10, 0, 2, 9, 255});
  stale.resize(300);
  rig.lan.Inject(tests::UdpFrame(net::MacAddress::Broadcast(), kServerMac,
                                 Ipv4Address::Of(10, 0, 2, 9), Ipv4Address::Broadcast(), 67, 68,
                                 stale));
  auto lease = rig.Run();
  ASSERT_TRUE(lease.is_ok());
  EXPECT_EQ(lease.value().server_id, kServerIp);
  EXPECT_EQ(rig.lan.dhcp.requests, 1);
  EXPECT_TRUE(rig.lan.violations.empty());
}

TEST(Dhcp, ServerThatNeverAnswers) {
  Rig rig;
  rig.lan.dhcp.mode = tests::DhcpServer::Mode::kSilent;
  auto lease = rig.Run();
  EXPECT_EQ(lease.error(), DhcpError::kNoAnswer);
  EXPECT_EQ(rig.DiscoversSent(), net::kDhcpTries);
  // 4 + 8 + 16 + 32 s, each +-1 s.
  EXPECT_GE(rig.took, 56000 * kTicksPerMs);
  EXPECT_LE(rig.took, 64001 * kTicksPerMs);
  std::printf("[ timing ] DHCP, no server: gives up after %llu ms\n",
              static_cast<unsigned long long>(rig.took / kTicksPerMs));
  EXPECT_TRUE(rig.stack.config().address.IsZero());
  // Fewer tries, shorter first wait: bounded by the settings.
  Rig quick;
  quick.lan.dhcp.mode = tests::DhcpServer::Mode::kSilent;
  quick.settings.tries = 2;
  quick.settings.first_timeout_ms = 100;
  EXPECT_EQ(quick.Run().error(), DhcpError::kNoAnswer);
  EXPECT_LE(quick.took, 351 * kTicksPerMs);
}

TEST(Dhcp, BootpOnlyServer) {
  Rig rig;
  rig.lan.dhcp.mode = tests::DhcpServer::Mode::kBootp;
  rig.lan.dhcp.send_mask = false;
  auto lease = rig.Run();
  ASSERT_TRUE(lease.is_ok()) << net::DhcpErrorName(lease.error());
  EXPECT_TRUE(lease.value().bootp);
  EXPECT_EQ(lease.value().address, kClientIp);
  EXPECT_EQ(lease.value().netmask, Ipv4Address::Of(255, 0, 0, 0));  // class A, as GRUB does
  EXPECT_STREQ(lease.value().boot_file, "boot/grub/powerpc-ieee1275/core.elf");
  EXPECT_EQ(lease.value().boot_server, kServerIp);
  const Bytes reply = rig.LastReply(0);
  EXPECT_EQ(Bytes(rig.packet.begin(), rig.packet.begin() + lease.value().packet_length), reply);
  // Taken at the end of the first wait: DHCP servers had their chance.
  EXPECT_GE(rig.took, 3000 * kTicksPerMs);
  EXPECT_LE(rig.took, 5001 * kTicksPerMs);
  EXPECT_EQ(rig.DiscoversSent(), 1);
  std::printf("[ timing ] BOOTP-only server: %llu ms (the first DISCOVER's wait)\n",
              static_cast<unsigned long long>(rig.took / kTicksPerMs));
}

TEST(Dhcp, DhcpIsPreferredToBootp) {
  Rig rig;
  // A BOOTP server answers too, faster than the DHCP server.
  rig.lan.latency = 2 * kTicksPerMs;
  Bytes bootp(300, 0);
  bootp[0] = 2, bootp[1] = 1, bootp[2] = 6;
  std::memcpy(&bootp[28], kClientMac.bytes, 6);
  bootp[16] = 10, bootp[17] = 0, bootp[18] = 2, bootp[19] = 77;
  rig.lan.client_fault = [&](const tests::SentFrame& frame, int) {
    if (frame.port == 67 && frame.payload[242] == net::kDhcpDiscover) {
      std::copy(frame.payload.begin() + 4, frame.payload.begin() + 8, bootp.begin() + 4);
      rig.lan.Inject(tests::UdpFrame(net::MacAddress::Broadcast(), tests::kRouterMac,
                                     tests::kRouterIp, Ipv4Address::Broadcast(), 67, 68, bootp),
                     kTicksPerMs);
    }
    return true;
  };
  auto lease = rig.Run();
  ASSERT_TRUE(lease.is_ok());
  EXPECT_FALSE(lease.value().bootp);
  EXPECT_EQ(lease.value().address, kClientIp);
}

TEST(Dhcp, NakStartsOver) {
  Rig rig;
  rig.lan.dhcp.naks = 1;
  auto lease = rig.Run();
  ASSERT_TRUE(lease.is_ok());
  EXPECT_EQ(rig.lan.dhcp.discovers, 2);
  EXPECT_EQ(rig.lan.dhcp.requests, 2);
  Rig refusing;
  refusing.lan.dhcp.naks = 100;
  EXPECT_EQ(refusing.Run().error(), DhcpError::kRefused);
  EXPECT_EQ(refusing.lan.dhcp.requests, net::kDhcpMaxNaks + 1);
  // A NAK from another server is not ours to obey [RFC 2131 3.1.5].
  Rig other;
  other.lan.dhcp.naks = 1;
  other.lan.fault = [&](const tests::SentFrame& frame, int) {
    if (DhcpType(frame.bytes) != net::kDhcpNak) return std::vector<uint64_t>{0};
    Bytes changed = frame.bytes;
    changed[42 + 240 + 3 + 5] = 99;  // the server identifier's last byte
    changed[40] = changed[41] = 0;   // no UDP checksum
    other.lan.Inject(changed, 2 * other.lan.latency);
    return std::vector<uint64_t>{};
  };
  ASSERT_TRUE(other.Run().is_ok());
  EXPECT_EQ(other.lan.dhcp.discovers, 1);
  EXPECT_EQ(other.lan.dhcp.requests, 2);
}

TEST(Dhcp, OfferWithoutAck) {
  Rig rig;
  rig.lan.client_fault = [](const tests::SentFrame& frame, int) {
    return !(frame.port == 67 && frame.payload[242] == net::kDhcpRequest);
  };
  rig.settings.first_timeout_ms = 500;
  EXPECT_EQ(rig.Run().error(), DhcpError::kNoAck);
}

TEST(Dhcp, MalformedAndOversizedReplies) {
  Rig rig;
  rig.lan.dhcp.extra_options = {1, 3, 255, 255, 0};  // a mask of three bytes
  rig.settings.first_timeout_ms = 100;
  EXPECT_EQ(rig.Run().error(), DhcpError::kMalformedReplies);
  EXPECT_EQ(rig.stack.stats().frames_received, static_cast<uint64_t>(net::kDhcpTries));
  // A reply longer than the caller's buffer is dropped; option 57 told the server so.
  Rig small;
  small.settings.packet = {small.packet.data(), net::kMinDhcpMessage};
  small.settings.first_timeout_ms = 100;
  small.lan.dhcp.extra_options = Bytes(300, 0);  // padding: a 600-byte reply
  EXPECT_EQ(small.Run().error(), DhcpError::kMalformedReplies);
  const Bytes& discover = small.lan.sent[0].payload;
  EXPECT_EQ(discover[245] << 8 | discover[246], 576);  // option 57
  // An offer of a broadcast address is no offer.
  Rig broadcast;
  broadcast.lan.dhcp.offer = Ipv4Address::Broadcast();
  broadcast.settings.first_timeout_ms = 100;
  EXPECT_EQ(broadcast.Run().error(), DhcpError::kMalformedReplies);
  // Replies from a port other than 67 are not DHCP.
  Rig port;
  port.settings.first_timeout_ms = 100;
  port.lan.fault = [&](const tests::SentFrame& frame, int) {
    Bytes changed = frame.bytes;
    changed[35] = 68;               // from port 68
    changed[40] = changed[41] = 0;  // no UDP checksum
    port.lan.Inject(changed, 2 * port.lan.latency);
    return std::vector<uint64_t>{};
  };
  EXPECT_EQ(port.Run().error(), DhcpError::kNoAnswer);
}

TEST(Dhcp, BadSettingsAndStoppedStack) {
  Rig rig;
  net::DhcpSettings settings = rig.settings;
  settings.packet = {rig.packet.data(), net::kMinDhcpMessage - 1};
  EXPECT_EQ(net::RunDhcp(rig.stack, settings).error(), DhcpError::kBadSettings);
  settings = rig.settings;
  settings.tries = 0;
  EXPECT_EQ(net::RunDhcp(rig.stack, settings).error(), DhcpError::kBadSettings);
  net::Stack stopped;
  EXPECT_EQ(net::RunDhcp(stopped, rig.settings).error(), DhcpError::kNotStarted);
  for (int e = 0; e <= static_cast<int>(DhcpError::kRefused); ++e) {
    EXPECT_STRNE(net::DhcpErrorName(static_cast<DhcpError>(e)), "DHCP error");
  }
}

}  // namespace
