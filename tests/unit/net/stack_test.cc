// net/stack.h on the fake LAN: starting, ARP answered and asked (retries, deadline, cache, the
// router), frames not for us dropped and counted by reason, UDP out and in, device failures.
#include "net/stack.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/unit/net/fake-network.h"

namespace {

using net::DropReason;
using net::Ipv4Address;
using net::StackError;
using tests::Bytes;
using tests::kClientIp;
using tests::kClientMac;
using tests::kRouterIp;
using tests::kRouterMac;
using tests::kServerIp;
using tests::kServerMac;
using tests::kTicksPerMs;

struct Rig {
  Rig() {
    tests::ResetClock();
    EXPECT_TRUE(stack.Start(lan.device, Tx(), {rx.data(), rx.size()}, tests::kFrequency).is_ok());
  }
  net::Buffer Tx() {
    return net::Buffer{tx.data(), reinterpret_cast<uintptr_t>(tx.data()),
                       static_cast<uint32_t>(tx.size())};
  }
  void Configure() { stack.Configure({kClientIp, tests::kMask, kRouterIp}); }
  // Polls until `ms` of the time base have passed; returns the datagrams for `port`.
  std::vector<Bytes> PollFor(uint64_t ms, uint16_t port = 0) {
    std::vector<Bytes> got;
    const lib::Deadline deadline = stack.AfterMilliseconds(ms);
    while (!deadline.Passed()) {
      net::Datagram datagram;
      auto polled = stack.Poll(port, datagram);
      EXPECT_TRUE(polled.is_ok());
      if (polled.is_ok() && polled.value()) {
        got.emplace_back(datagram.payload.begin(), datagram.payload.end());
      }
    }
    return got;
  }

  tests::FakeNetwork lan;
  std::vector<uint8_t> tx = std::vector<uint8_t>(net::kArpRoom + 1514);
  std::vector<uint8_t> rx = std::vector<uint8_t>(1514);
  net::Stack stack;
};

TEST(Stack, StartChecksItsInputs) {
  tests::ResetClock();
  tests::FakeNetwork lan;
  std::vector<uint8_t> tx(net::kArpRoom + 1514), rx(1514);
  net::Stack stack;
  const net::Buffer buffer{tx.data(), 0x1000, static_cast<uint32_t>(tx.size())};
  const lib::Span<uint8_t> in{rx.data(), rx.size()};
  net::Datagram datagram;
  EXPECT_EQ(stack.Poll(68, datagram).error(), StackError::kNotStarted);
  EXPECT_EQ(stack.SendUdp(kServerIp, 1, 2, 0).error(), StackError::kNotStarted);
  EXPECT_TRUE(stack.UdpPayload().empty());
  net::Device broken = lan.device;
  broken.mac = net::MacAddress::Broadcast();
  EXPECT_EQ(stack.Start(broken, buffer, in, tests::kFrequency).error(), StackError::kBadDevice);
  broken = lan.device;
  broken.max_frame = 100;
  EXPECT_EQ(stack.Start(broken, buffer, in, tests::kFrequency).error(), StackError::kBadDevice);
  broken = lan.device;
  broken.receive = nullptr;
  EXPECT_EQ(stack.Start(broken, buffer, in, tests::kFrequency).error(), StackError::kBadDevice);
  net::Buffer small = buffer;
  small.size = net::kArpRoom + net::kMinMaxFrame - 1;
  EXPECT_EQ(stack.Start(lan.device, small, in, tests::kFrequency).error(),
            StackError::kBufferTooSmall);
  EXPECT_EQ(stack.Start(lan.device, buffer, in.Subspan(0, 589), tests::kFrequency).error(),
            StackError::kBufferTooSmall);
  EXPECT_EQ(stack.Start(lan.device, buffer, in, 999'999).error(), StackError::kBadFrequency);
  EXPECT_EQ(stack.Start(lan.device, buffer, in, 16'000'000'001).error(), StackError::kBadFrequency);
  // Frames are as large as the smallest of the device and the buffers allow.
  ASSERT_TRUE(stack.Start(lan.device, buffer, in.Subspan(0, 1000), tests::kFrequency).is_ok());
  EXPECT_EQ(stack.max_udp_payload(), 1000u - 42);
  small.size = net::kArpRoom + 700;
  ASSERT_TRUE(stack.Start(lan.device, small, in, tests::kFrequency).is_ok());
  EXPECT_EQ(stack.max_udp_payload(), 700u - 42);
  ASSERT_TRUE(stack.Start(lan.device, buffer, in, tests::kFrequency).is_ok());
  EXPECT_EQ(stack.max_udp_payload(), 1472u);
  EXPECT_EQ(stack.UdpPayload().size(), 1472u);
  EXPECT_TRUE(stack.config().address.IsZero());
}

TEST(Stack, AnswersArpForItsAddressOnly) {
  Rig rig;
  const Bytes request =
      tests::ArpFrame(1, kServerMac, kServerIp, net::MacAddress{}, kClientIp, kClientMac);
  rig.lan.Inject(request);
  rig.PollFor(1);
  EXPECT_EQ(rig.stack.stats().arp_answered, 0u);  // no address yet
  rig.Configure();
  rig.lan.Inject(request);
  rig.lan.Inject(tests::ArpFrame(1, kServerMac, kServerIp, net::MacAddress{},
                                 Ipv4Address::Of(10, 0, 2, 99), net::MacAddress::Broadcast()));
  rig.PollFor(1);
  EXPECT_EQ(rig.stack.stats().arp_answered, 1u);
  // The one before the address was configured; the request for another host refreshed the
  // asker's entry [RFC 826, merge_flag], which is not a drop.
  EXPECT_EQ(rig.stack.stats().Dropped(DropReason::kNotForUs), 1u);
  ASSERT_EQ(rig.lan.sent.size(), 1u);
  const tests::SentFrame& reply = rig.lan.sent[0];
  EXPECT_EQ(reply.arp_operation, net::kArpReply);
  EXPECT_EQ(reply.arp_target, kServerIp);
  EXPECT_EQ(std::memcmp(reply.bytes.data(), kServerMac.bytes, 6), 0);  // to the asker
  EXPECT_EQ(std::memcmp(reply.bytes.data() + 22, kClientMac.bytes, 6), 0);
  EXPECT_EQ(reply.bytes.size(), 60u);
  // The asker was learned: no ARP to reach it.
  net::MacAddress mac;
  EXPECT_TRUE(rig.stack.arp_cache().Find(kServerIp, mac));
  EXPECT_TRUE(rig.lan.violations.empty());
}

TEST(Stack, ResolvesWithRetriesAndGivesUp) {
  Rig rig;
  rig.Configure();
  EXPECT_EQ(rig.stack.Resolve(Ipv4Address::Broadcast()).value(), net::MacAddress::Broadcast());
  EXPECT_EQ(rig.stack.Resolve(Ipv4Address::Of(10, 0, 2, 255)).value(),
            net::MacAddress::Broadcast());
  EXPECT_TRUE(rig.lan.sent.empty());
  // The first two requests are lost: the third, 2 s later, is answered.
  rig.lan.client_fault = [](const tests::SentFrame&, int index) { return index >= 2; };
  const uint64_t start = tests::Now();
  EXPECT_EQ(rig.stack.Resolve(kServerIp).value(), kServerMac);
  const uint64_t took = tests::Now() - start;
  EXPECT_GE(took, 2000 * kTicksPerMs);
  EXPECT_LT(took, 2001 * kTicksPerMs);
  EXPECT_EQ(rig.stack.stats().arp_requests, 3u);
  EXPECT_EQ(rig.stack.Resolve(kServerIp).value(), kServerMac);  // cached
  EXPECT_EQ(rig.stack.stats().arp_requests, 3u);
  // Off the link: the router's address.
  rig.lan.client_fault = nullptr;
  EXPECT_EQ(rig.stack.Resolve(Ipv4Address::Of(192, 168, 7, 7)).value(), kRouterMac);
  // Nobody at 10.0.2.77: four requests a second apart, then kNoArpAnswer.
  const uint64_t before = tests::Now();
  EXPECT_EQ(rig.stack.Resolve(Ipv4Address::Of(10, 0, 2, 77)).error(), StackError::kNoArpAnswer);
  EXPECT_GE(tests::Now() - before, 4000 * kTicksPerMs);
  EXPECT_LT(tests::Now() - before, 4001 * kTicksPerMs);
  EXPECT_EQ(rig.stack.stats().arp_requests, 3u + 1 + net::kArpTries);
  // No router, no route; no address, no unicast.
  rig.stack.Configure({kClientIp, tests::kMask, Ipv4Address{}});
  EXPECT_EQ(rig.stack.Resolve(Ipv4Address::Of(192, 168, 7, 8)).error(), StackError::kNoRoute);
  EXPECT_EQ(rig.stack.Resolve(Ipv4Address::Of(224, 0, 0, 1)).error(), StackError::kNoRoute);
  rig.stack.Configure({});
  EXPECT_EQ(rig.stack.Resolve(kServerIp).error(), StackError::kNotConfigured);
  EXPECT_TRUE(rig.lan.violations.empty());
}

TEST(Stack, ArpRepliesForOthersAndProbesAreNotLearned) {
  Rig rig;
  rig.Configure();
  // A reply to someone else, a probe from 0.0.0.0, a gratuitous ARP from an unknown host: none
  // makes an entry.
  rig.lan.Inject(tests::ArpFrame(2, kServerMac, kServerIp, kRouterMac, kRouterIp, kClientMac));
  rig.lan.Inject(tests::ArpFrame(1, kServerMac, Ipv4Address{}, net::MacAddress{}, kClientIp,
                                 net::MacAddress::Broadcast()));
  rig.lan.Inject(tests::ArpFrame(1, kRouterMac, kRouterIp, net::MacAddress{}, kRouterIp,
                                 net::MacAddress::Broadcast()));
  rig.PollFor(1);
  net::MacAddress mac;
  EXPECT_FALSE(rig.stack.arp_cache().Find(kServerIp, mac));
  EXPECT_FALSE(rig.stack.arp_cache().Find(kRouterIp, mac));
  // The probe for our address is answered (RFC 5227 defence is the OS's business), but not learned.
  EXPECT_EQ(rig.stack.stats().arp_answered, 1u);
  // A known neighbour's new address is merged from any ARP packet [RFC 826].
  rig.stack.arp_cache().Insert(kServerIp, kServerMac);
  rig.lan.Inject(tests::ArpFrame(1, kRouterMac, kServerIp, net::MacAddress{}, kRouterIp,
                                 net::MacAddress::Broadcast()));
  rig.PollFor(1);
  ASSERT_TRUE(rig.stack.arp_cache().Find(kServerIp, mac));
  EXPECT_EQ(mac, kRouterMac);
}

TEST(Stack, DropsWhatIsNotForItAndCountsWhy) {
  Rig rig;
  rig.Configure();
  const Bytes ok = tests::UdpFrame(kClientMac, kServerMac, kServerIp, kClientIp, 69, 4000, {1, 2});
  struct Case {
    Bytes frame;
    DropReason reason;
  };
  std::vector<Case> cases;
  cases.push_back({tests::UdpFrame(kServerMac, kServerMac, kServerIp, kClientIp, 69, 4000, {1}),
                   DropReason::kNotForUs});  // another MAC
  cases.push_back({tests::UdpFrame(kClientMac, kServerMac, kServerIp, Ipv4Address::Of(10, 0, 2, 9),
                                   69, 4000, {1}),
                   DropReason::kNotForUs});  // another IP
  cases.push_back({tests::UdpFrame(kClientMac, kServerMac, kServerIp, kClientIp, 69, 4001, {1}),
                   DropReason::kNotForUs});  // another port
  cases.push_back({tests::UdpFrame(kClientMac, kServerMac, kServerIp,
                                   Ipv4Address::Of(224, 0, 0, 251), 5353, 4000, {1}),
                   DropReason::kNotForUs});  // multicast IP
  cases.push_back({tests::EthernetFrame(kClientMac, kServerMac, 0x86dd, Bytes(40)),
                   DropReason::kUnsupported});  // IPv6
  cases.push_back({tests::EthernetFrame(kClientMac, kServerMac, 0x0800,
                                        tests::Ipv4Packet(kServerIp, kClientIp, 1, Bytes(8))),
                   DropReason::kUnsupported});  // ICMP
  Bytes fragment = ok;
  fragment[20] = 0x20;  // MF
  fragment[24] = fragment[25] = 0;
  const uint16_t sum = tests::Checksum(fragment.data() + 14, 20);
  fragment[24] = static_cast<uint8_t>(sum >> 8);
  fragment[25] = static_cast<uint8_t>(sum);
  cases.push_back({fragment, DropReason::kFragment});
  Bytes bad_ip = ok;
  bad_ip[22] ^= 1;  // TTL: the header checksum fails
  cases.push_back({bad_ip, DropReason::kChecksum});
  Bytes bad_udp = ok;
  bad_udp[43] ^= 1;
  cases.push_back({bad_udp, DropReason::kChecksum});
  cases.push_back({Bytes(ok.begin(), ok.begin() + 13), DropReason::kMalformed});
  cases.push_back({Bytes(ok.begin(), ok.begin() + 30), DropReason::kMalformed});
  cases.push_back({Bytes(ok.begin(), ok.begin() + 40), DropReason::kMalformed});
  for (size_t i = 0; i < cases.size(); ++i) {
    const net::StackStats before = rig.stack.stats();
    rig.lan.Inject(cases[i].frame);
    EXPECT_TRUE(rig.PollFor(1, 4000).empty()) << i;
    EXPECT_EQ(rig.stack.stats().Dropped(cases[i].reason), before.Dropped(cases[i].reason) + 1) << i;
  }
  rig.lan.Inject(ok);
  auto got = rig.PollFor(1, 4000);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (Bytes{1, 2}));
  EXPECT_EQ(rig.stack.stats().frames_received, cases.size() + 1);
  // The limited and the subnet's broadcast are ours.
  rig.lan.Inject(tests::UdpFrame(net::MacAddress::Broadcast(), kServerMac, kServerIp,
                                 Ipv4Address::Broadcast(), 69, 4000, {3}));
  rig.lan.Inject(tests::UdpFrame(net::MacAddress::Broadcast(), kServerMac, kServerIp,
                                 Ipv4Address::Of(10, 0, 2, 255), 69, 4000, {4}));
  EXPECT_EQ(rig.PollFor(1, 4000).size(), 2u);
}

TEST(Stack, BeforeConfigurationAnyUnicastAddressIsOurs) {
  Rig rig;  // a DHCP server may send an OFFER to the address it offers [RFC 2131 4.1]
  rig.lan.Inject(tests::UdpFrame(kClientMac, kServerMac, kServerIp, Ipv4Address::Of(10, 0, 2, 42),
                                 67, 68, {9}));
  EXPECT_EQ(rig.PollFor(1, 68).size(), 1u);
  rig.Configure();
  rig.lan.Inject(tests::UdpFrame(kClientMac, kServerMac, kServerIp, Ipv4Address::Of(10, 0, 2, 42),
                                 67, 68, {9}));
  EXPECT_EQ(rig.PollFor(1, 68).size(), 0u);
}

TEST(Stack, SendsUdp) {
  Rig rig;
  // Before configuration: from 0.0.0.0 to the broadcast address, no ARP.
  rig.stack.UdpPayload()[0] = 0x42;
  ASSERT_TRUE(rig.stack.SendUdp(Ipv4Address::Broadcast(), 68, 9, 1).is_ok());
  ASSERT_EQ(rig.lan.sent.size(), 1u);
  EXPECT_EQ(rig.lan.sent[0].bytes.size(), 60u);  // padded
  EXPECT_TRUE(rig.lan.sent[0].source.IsZero());
  EXPECT_EQ(rig.lan.sent[0].payload, Bytes{0x42});
  EXPECT_EQ(rig.stack.SendUdp(kServerIp, 68, 67, 1).error(), StackError::kNotConfigured);
  rig.Configure();
  std::memset(rig.stack.UdpPayload().data(), 7, 1472);
  ASSERT_TRUE(rig.stack.SendUdp(kServerIp, 4000, 69, 1472).is_ok());
  ASSERT_EQ(rig.lan.sent.size(), 3u);  // an ARP request, then the datagram
  EXPECT_EQ(rig.lan.sent[1].arp_operation, net::kArpRequest);
  EXPECT_EQ(rig.lan.sent[2].bytes.size(), 1514u);
  EXPECT_EQ(rig.lan.sent[2].destination, kServerIp);
  EXPECT_EQ(rig.lan.sent[2].source, kClientIp);
  EXPECT_EQ(rig.lan.sent[2].payload, Bytes(1472, 7));
  EXPECT_EQ(rig.stack.SendUdp(kServerIp, 4000, 69, 1473).error(), StackError::kTooLarge);
  EXPECT_EQ(rig.stack.stats().frames_sent, 3u);
  EXPECT_TRUE(rig.lan.violations.empty()) << rig.lan.violations[0];
}

struct FailingDevice {
  static lib::Result<void, net::DeviceError> Send(void* self, const net::Frame&) {
    return lib::Err(static_cast<FailingDevice*>(self)->send_error);
  }
  static lib::Result<uint32_t, net::DeviceError> Receive(void* self, uint8_t*, uint32_t) {
    auto* device = static_cast<FailingDevice*>(self);
    if (device->receive_fails) return lib::Err(net::DeviceError::kDevice);
    return uint32_t{0};
  }
  net::DeviceError send_error = net::DeviceError::kBusy;
  bool receive_fails = false;
};

TEST(Stack, DeviceFailures) {
  tests::ResetClock();
  FailingDevice failing;
  net::Device device{kClientMac, 1514, FailingDevice::Send, FailingDevice::Receive, &failing};
  std::vector<uint8_t> tx(net::kArpRoom + 1514), rx(1514);
  net::Stack stack;
  ASSERT_TRUE(stack
                  .Start(device, {tx.data(), 0x1000, static_cast<uint32_t>(tx.size())},
                         {rx.data(), rx.size()}, tests::kFrequency)
                  .is_ok());
  // A full TX ring loses the frame, as a wire would: the exchange's retransmission covers it.
  EXPECT_TRUE(stack.SendUdp(Ipv4Address::Broadcast(), 68, 67, 10).is_ok());
  EXPECT_EQ(stack.stats().send_busy, 1u);
  EXPECT_EQ(stack.stats().frames_sent, 0u);
  failing.send_error = net::DeviceError::kTimeout;
  EXPECT_EQ(stack.SendUdp(Ipv4Address::Broadcast(), 68, 67, 10).error(), StackError::kDevice);
  EXPECT_EQ(stack.last_device_error(), net::DeviceError::kTimeout);
  failing.receive_fails = true;
  net::Datagram datagram;
  EXPECT_EQ(stack.Poll(68, datagram).error(), StackError::kDevice);
  EXPECT_EQ(stack.last_device_error(), net::DeviceError::kDevice);
  // ARP resolution stops at the first device failure.
  stack.Configure({kClientIp, tests::kMask, Ipv4Address{}});
  EXPECT_EQ(stack.Resolve(kServerIp).error(), StackError::kDevice);
}

}  // namespace
