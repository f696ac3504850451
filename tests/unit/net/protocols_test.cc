// net/'s parsers and writers one by one: Ethernet, ARP and its cache, the Internet checksum,
// IPv4, UDP, DHCP messages and options, TFTP packets and OACK options; every malformed packet
// refused with the reason the stack counts it under.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "net/arp.h"
#include "net/dhcp.h"
#include "net/ethernet.h"
#include "net/ipv4.h"
#include "net/tftp.h"
#include "net/udp.h"
#include "tests/unit/net/fake-network.h"

namespace {

using net::DropReason;
using net::Ipv4Address;
using tests::Bytes;
using tests::kClientIp;
using tests::kClientMac;
using tests::kServerIp;
using tests::kServerMac;

lib::Span<const uint8_t> View(const Bytes& bytes) {
  return {bytes.data(), bytes.size()};
}

Bytes Text(const std::string& text) {
  return Bytes(text.begin(), text.end());
}

TEST(Checksum, Rfc1071) {
  // RFC 1071 4.1's example: the sum of 0001 f203 f4f5 f6f7 is 0xddf2.
  const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(net::ChecksumFold(net::ChecksumAdd(0, bytes)), static_cast<uint16_t>(~0xddf2));
  // An odd length pads with a zero byte.
  const uint8_t odd[] = {0x12, 0x34, 0x56};
  EXPECT_EQ(net::ChecksumFold(net::ChecksumAdd(0, odd)), static_cast<uint16_t>(~(0x1234 + 0x5600)));
  // Long runs of 0xff never overflow.
  Bytes ones(65536, 0xff);
  EXPECT_EQ(net::ChecksumFold(net::ChecksumAdd(0, View(ones))), 0);
  EXPECT_EQ(net::ChecksumFold(0), 0xffff);
}

TEST(Ipv4Address, DottedQuadAndClass) {
  EXPECT_EQ(net::ParseDottedQuad("10.0.2.2").value(), kServerIp);
  EXPECT_EQ(net::ParseDottedQuad("255.255.255.255").value(), Ipv4Address::Broadcast());
  EXPECT_EQ(net::ParseDottedQuad("010.0.2.2").value(), kServerIp);
  for (const char* bad : {"", "10.0.2", "10.0.2.2.", "10..2.2", "256.0.0.1", "10.0.2.2 ",
                          "1.2.3.4444", "a.b.c.d", "-1.0.0.0", "10.0.2.2x"}) {
    EXPECT_TRUE(net::ParseDottedQuad(bad).is_error()) << bad;
  }
  EXPECT_EQ(net::ClassfulMask(Ipv4Address::Of(10, 1, 2, 3)), Ipv4Address::Of(255, 0, 0, 0));
  EXPECT_EQ(net::ClassfulMask(Ipv4Address::Of(172, 16, 0, 1)), Ipv4Address::Of(255, 255, 0, 0));
  EXPECT_EQ(net::ClassfulMask(Ipv4Address::Of(192, 168, 1, 1)), Ipv4Address::Of(255, 255, 255, 0));
  EXPECT_TRUE(Ipv4Address::Of(224, 0, 0, 1).IsMulticast());
  EXPECT_FALSE(Ipv4Address::Of(223, 255, 255, 255).IsMulticast());
}

TEST(Ethernet, ForUsBroadcastOrNothing) {
  const Bytes frame = tests::EthernetFrame(kClientMac, kServerMac, 0x0800, Bytes(46, 1));
  auto parsed = net::ParseEthernet(View(frame), kClientMac);
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed.value().header.source, kServerMac);
  EXPECT_EQ(parsed.value().payload.size(), 46u);
  const Bytes broadcast =
      tests::EthernetFrame(net::MacAddress::Broadcast(), kServerMac, 0x0806, Bytes(28));
  EXPECT_TRUE(net::ParseEthernet(View(broadcast), kClientMac).is_ok());
  const Bytes other = tests::EthernetFrame(kServerMac, kClientMac, 0x0800, Bytes(46));
  EXPECT_EQ(net::ParseEthernet(View(other), kClientMac).error(), DropReason::kNotForUs);
  const net::MacAddress multicast{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};
  const Bytes group = tests::EthernetFrame(multicast, kServerMac, 0x0800, Bytes(46));
  EXPECT_EQ(net::ParseEthernet(View(group), kClientMac).error(), DropReason::kNotForUs);
  for (uint16_t type : {0x86dd, 0x8100, 0x0060, 0x05dc}) {  // IPv6, VLAN, 802.3 lengths
    const Bytes frame2 = tests::EthernetFrame(kClientMac, kServerMac, type, Bytes(46));
    EXPECT_EQ(net::ParseEthernet(View(frame2), kClientMac).error(), DropReason::kUnsupported);
  }
  for (size_t size = 0; size < 14; ++size) {
    Bytes short_frame(frame.begin(), frame.begin() + size);
    EXPECT_EQ(net::ParseEthernet(View(short_frame), kClientMac).error(), DropReason::kMalformed);
  }
  EXPECT_TRUE(net::ParseEthernet({frame.data(), 14}, kClientMac).is_ok());  // no payload at all
}

TEST(Device, TheContract) {
  EXPECT_TRUE(net::CheckDevice(kClientMac, 1514).is_ok());
  EXPECT_TRUE(net::CheckDevice(kClientMac, 590).is_ok());
  EXPECT_EQ(net::CheckDevice(kClientMac, 589).error(), net::DeviceCheckError::kBadMaxFrame);
  EXPECT_EQ(net::CheckDevice(kClientMac, 65536).error(), net::DeviceCheckError::kBadMaxFrame);
  EXPECT_EQ(net::CheckDevice(net::MacAddress{}, 1514).error(), net::DeviceCheckError::kBadMac);
  EXPECT_EQ(net::CheckDevice(net::MacAddress::Broadcast(), 1514).error(),
            net::DeviceCheckError::kBadMac);
  net::Device device;
  uint8_t buffer[64];
  EXPECT_EQ(device.Receive(buffer, 64).error(), net::DeviceError::kNotReady);
  EXPECT_EQ(device.Send(net::Frame{buffer, 0, 60}).error(), net::DeviceError::kNotReady);
  // A driver claiming a frame longer than the buffer is caught.
  device.receive = [](void*, uint8_t*, uint32_t capacity) {
    return lib::Result<uint32_t, net::DeviceError>(capacity + 1);
  };
  EXPECT_EQ(device.Receive(buffer, 64).error(), net::DeviceError::kBadResponse);
  device.send = [](void*, const net::Frame&) { return lib::Ok<net::DeviceError>(); };
  device.max_frame = 1514;
  EXPECT_EQ(device.Send(net::Frame{buffer, 0, 13}).error(), net::DeviceError::kBadFrame);
  EXPECT_EQ(device.Send(net::Frame{buffer, 0, 1515}).error(), net::DeviceError::kBadFrame);
  EXPECT_TRUE(device.Send(net::Frame{buffer, 0, 60}).is_ok());
  for (int e = 0; e <= static_cast<int>(net::DeviceError::kBadResponse); ++e) {
    EXPECT_STRNE(net::DeviceErrorName(static_cast<net::DeviceError>(e)), "network device error");
  }
}

Bytes ArpPayload(const Bytes& frame) {
  return Bytes(frame.begin() + 14, frame.end());
}

TEST(Arp, Packets) {
  const Bytes request = ArpPayload(
      tests::ArpFrame(1, kServerMac, kServerIp, net::MacAddress{}, kClientIp, kClientMac));
  auto parsed = net::ParseArp(View(request));
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed.value().operation, net::kArpRequest);
  EXPECT_EQ(parsed.value().sender_mac, kServerMac);
  EXPECT_EQ(parsed.value().sender_ip, kServerIp);
  EXPECT_EQ(parsed.value().target_ip, kClientIp);
  uint8_t written[28];
  net::WriteArp(written, parsed.value());
  EXPECT_EQ(std::memcmp(written, request.data(), 28), 0);
  EXPECT_EQ(net::ParseArp({request.data(), 27}).error(), DropReason::kMalformed);
  auto broken = [&](size_t at, uint8_t value) {
    Bytes copy = request;
    copy[at] = value;
    return net::ParseArp(View(copy));
  };
  EXPECT_EQ(broken(1, 6).error(), DropReason::kUnsupported);     // hardware type 6 (IEEE 802)
  EXPECT_EQ(broken(2, 0x86).error(), DropReason::kUnsupported);  // protocol 0x86dd
  EXPECT_EQ(broken(4, 8).error(), DropReason::kUnsupported);     // hardware length
  EXPECT_EQ(broken(5, 16).error(), DropReason::kUnsupported);    // protocol length
  EXPECT_EQ(broken(7, 3).error(), DropReason::kUnsupported);     // RARP request
  EXPECT_EQ(broken(8, 0x01).error(), DropReason::kMalformed);    // group sender MAC
  EXPECT_TRUE(broken(7, 2).is_ok());
}

TEST(Arp, CacheKeepsTheLatestFour) {
  net::ArpCache cache;
  net::MacAddress mac;
  EXPECT_FALSE(cache.Find(kServerIp, mac));
  EXPECT_FALSE(cache.Update(kServerIp, kServerMac));  // only known entries are updated
  EXPECT_FALSE(cache.Find(kServerIp, mac));
  for (uint8_t i = 1; i <= 5; ++i) {
    cache.Insert(Ipv4Address::Of(10, 0, 2, i), net::MacAddress{{2, 0, 0, 0, 0, i}});
  }
  EXPECT_FALSE(cache.Find(Ipv4Address::Of(10, 0, 2, 1), mac));  // the oldest went
  ASSERT_TRUE(cache.Find(Ipv4Address::Of(10, 0, 2, 5), mac));
  EXPECT_EQ(mac.bytes[5], 5);
  EXPECT_TRUE(cache.Update(Ipv4Address::Of(10, 0, 2, 3), kServerMac));
  ASSERT_TRUE(cache.Find(Ipv4Address::Of(10, 0, 2, 3), mac));
  EXPECT_EQ(mac, kServerMac);
  cache.Insert(Ipv4Address::Of(10, 0, 2, 3), kClientMac);  // an update, not a new entry
  EXPECT_TRUE(cache.Find(Ipv4Address::Of(10, 0, 2, 2), mac));
  cache.Clear();
  EXPECT_FALSE(cache.Find(Ipv4Address::Of(10, 0, 2, 5), mac));
}

// Recomputes an IPv4 header's checksum after a test changed it.
void Reseal(Bytes& packet) {
  const size_t length = size_t{packet[0] & 0xfu} * 4;
  packet[10] = packet[11] = 0;
  const uint16_t sum = tests::Checksum(packet.data(), std::min(length, packet.size()));
  packet[10] = static_cast<uint8_t>(sum >> 8);
  packet[11] = static_cast<uint8_t>(sum);
}

TEST(Ipv4, EveryMalformedHeader) {
  const Bytes payload = Text("hello");
  Bytes packet = tests::Ipv4Packet(kServerIp, kClientIp, 17, payload);
  auto parsed = net::ParseIpv4(View(packet));
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed.value().source, kServerIp);
  EXPECT_EQ(parsed.value().destination, kClientIp);
  EXPECT_EQ(parsed.value().protocol, 17);
  EXPECT_EQ(parsed.value().payload.size(), 5u);
  // Ethernet padding after the datagram is cut off.
  Bytes padded = packet;
  padded.resize(46);
  EXPECT_EQ(net::ParseIpv4(View(padded)).value().payload.size(), 5u);
  auto changed = [&](size_t at, uint8_t value, bool reseal = true) {
    Bytes copy = packet;
    copy[at] = value;
    if (reseal) Reseal(copy);
    return net::ParseIpv4(View(copy));
  };
  EXPECT_EQ(changed(0, 0x65).error(), DropReason::kMalformed);  // version 6
  EXPECT_EQ(changed(0, 0x44).error(), DropReason::kMalformed);  // header of 16 bytes
  EXPECT_EQ(changed(0, 0x4f).error(), DropReason::kMalformed);  // header past the packet
  EXPECT_EQ(changed(3, 19).error(), DropReason::kMalformed);    // total under the header
  EXPECT_EQ(changed(3, 26).error(), DropReason::kMalformed);    // total past the bytes
  EXPECT_EQ(changed(8, 1, false).error(), DropReason::kChecksum);
  EXPECT_EQ(changed(11, packet[11] ^ 0x80, false).error(), DropReason::kChecksum);
  EXPECT_EQ(changed(6, 0x20).error(), DropReason::kFragment);  // more fragments
  EXPECT_EQ(changed(7, 0x01).error(), DropReason::kFragment);  // a later fragment
  EXPECT_EQ(changed(6, 0x1f).error(), DropReason::kFragment);
  EXPECT_TRUE(changed(6, 0x40).is_ok());  // DF alone is a whole datagram
  EXPECT_TRUE(changed(6, 0x00).is_ok());
  EXPECT_EQ(changed(12, 255).is_ok(), true);
  Bytes broadcast_source = packet;
  std::memset(broadcast_source.data() + 12, 0xff, 4);
  Reseal(broadcast_source);
  EXPECT_EQ(net::ParseIpv4(View(broadcast_source)).error(), DropReason::kMalformed);
  Bytes multicast_source = packet;
  multicast_source[12] = 239;
  Reseal(multicast_source);
  EXPECT_EQ(net::ParseIpv4(View(multicast_source)).error(), DropReason::kMalformed);
  for (size_t size = 0; size < 20; ++size) {
    EXPECT_EQ(net::ParseIpv4({packet.data(), size}).error(), DropReason::kMalformed);
  }
  // A header with options (IHL 6) is read past them.
  Bytes options = packet;
  options.insert(options.begin() + 20, {1, 1, 1, 0});
  options[0] = 0x46;
  options[3] = static_cast<uint8_t>(options.size());
  Reseal(options);
  auto with_options = net::ParseIpv4(View(options));
  ASSERT_TRUE(with_options.is_ok());
  EXPECT_EQ(with_options.value().payload[0], 'h');
}

TEST(Ipv4, WrittenHeaderChecks) {
  uint8_t header[20];
  net::WriteIpv4Header(header, kClientIp, kServerIp, 17, 100, 0xbeef);
  EXPECT_EQ(tests::Checksum(header, 20), 0);
  EXPECT_EQ(header[0], 0x45);
  EXPECT_EQ(header[2] << 8 | header[3], 120);
  EXPECT_EQ(header[8], 64);
  Bytes packet(header, header + 20);
  packet.resize(120);
  EXPECT_TRUE(net::ParseIpv4(View(packet)).is_ok());
}

net::Ipv4Packet PacketOf(const Bytes& udp, Ipv4Address from = kServerIp,
                         Ipv4Address to = kClientIp) {
  net::Ipv4Packet packet;
  packet.source = from;
  packet.destination = to;
  packet.protocol = 17;
  packet.payload = View(udp);
  return packet;
}

TEST(Udp, LengthsAndChecksums) {
  const Bytes udp = tests::UdpDatagram(kServerIp, kClientIp, 69, 50000, Text("data"));
  auto parsed = net::ParseUdp(PacketOf(udp));
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed.value().source_port, 69);
  EXPECT_EQ(parsed.value().destination_port, 50000);
  EXPECT_EQ(parsed.value().payload.size(), 4u);
  // The checksum covers the pseudo-header: another destination address fails it.
  EXPECT_EQ(net::ParseUdp(PacketOf(udp, kServerIp, kServerIp)).error(), DropReason::kChecksum);
  Bytes flipped = udp;
  flipped[9] ^= 1;
  EXPECT_EQ(net::ParseUdp(PacketOf(flipped)).error(), DropReason::kChecksum);
  Bytes unchecked = flipped;  // no checksum: accepted as is [RFC 768]
  unchecked[6] = unchecked[7] = 0;
  EXPECT_TRUE(net::ParseUdp(PacketOf(unchecked)).is_ok());
  Bytes longer = unchecked;  // bytes after `length` are not the datagram's
  longer.push_back(7);
  EXPECT_EQ(net::ParseUdp(PacketOf(longer)).value().payload.size(), 4u);
  auto with_length = [&](uint16_t length) {
    Bytes copy = unchecked;
    copy[4] = static_cast<uint8_t>(length >> 8);
    copy[5] = static_cast<uint8_t>(length);
    return net::ParseUdp(PacketOf(copy));
  };
  EXPECT_EQ(with_length(7).error(), DropReason::kMalformed);
  EXPECT_EQ(with_length(13).error(), DropReason::kMalformed);
  EXPECT_EQ(with_length(0xffff).error(), DropReason::kMalformed);
  EXPECT_EQ(with_length(8).value().payload.size(), 0u);
  EXPECT_EQ(net::ParseUdp(PacketOf(Bytes(udp.begin(), udp.begin() + 7))).error(),
            DropReason::kMalformed);
  Bytes port_zero = unchecked;
  port_zero[0] = port_zero[1] = 0;
  EXPECT_EQ(net::ParseUdp(PacketOf(port_zero)).error(), DropReason::kMalformed);
}

TEST(Udp, WrittenChecksumIsNeverZero) {
  // A payload whose sum makes the checksum 0 is sent with 0xffff [RFC 768].
  for (uint16_t word = 0; word < 0xffff; word += 0x101) {
    uint8_t datagram[10] = {
        0, 68, 0, 67, 0, 10, 0, 0, static_cast<uint8_t>(word >> 8), static_cast<uint8_t>(word)};
    net::WriteUdpHeader(datagram, kClientIp, kServerIp, 68, 67, 2);
    EXPECT_NE(datagram[6] << 8 | datagram[7], 0);
    const Bytes bytes(datagram, datagram + 10);
    EXPECT_TRUE(net::ParseUdp(PacketOf(bytes, kClientIp, kServerIp)).is_ok());
  }
}

// A BOOTREPLY to transaction 0x1234 for kClientMac, with `options` after the cookie (none when
// `cookie` is false).
Bytes Reply(const Bytes& options, bool cookie = true) {
  Bytes m(236, 0);
  m[0] = 2;
  m[1] = 1;
  m[2] = 6;
  m[6] = 0x12;
  m[7] = 0x34;
  m[16] = 10, m[17] = 0, m[18] = 2, m[19] = 15;  // yiaddr
  m[20] = 10, m[21] = 0, m[22] = 2, m[23] = 2;   // siaddr
  std::memcpy(&m[28], kClientMac.bytes, 6);
  std::memcpy(&m[44], "server-name", 11);
  std::memcpy(&m[108], "boot/file", 9);
  if (cookie) m.insert(m.end(), {99, 130, 83, 99});
  m.insert(m.end(), options.begin(), options.end());
  return m;
}

lib::Result<net::DhcpReply, DropReason> ParseReply(const Bytes& m) {
  return net::ParseDhcpReply(View(m), 0x1234, kClientMac);
}

TEST(DhcpMessages, ReplyFieldsAndOptions) {
  const Bytes m = Reply({53,  1,   5,  54,  4,   10,  0,   2,  2,   1,   4,   255, 255, 255, 0,
                         3,   8,   10, 0,   2,   1,   10,  0,  2,   9,   6,   4,   10,  0,   2,
                         3,   12,  4,  'h', 'o', 's', 't', 66, 9,   '1', '0', '.', '0', '.', '2',
                         '.', '4', 0,  0,   200, 2,   7,   7,  255, 1,   2,   3});
  auto parsed = ParseReply(m);
  ASSERT_TRUE(parsed.is_ok());
  const net::DhcpReply& r = parsed.value();
  EXPECT_EQ(r.type, net::kDhcpAck);
  EXPECT_EQ(r.your_address, kClientIp);
  EXPECT_EQ(r.next_server, kServerIp);
  EXPECT_EQ(r.server_id, kServerIp);
  EXPECT_EQ(r.netmask, tests::kMask);
  EXPECT_EQ(r.router, Ipv4Address::Of(10, 0, 2, 1));  // the first of two
  EXPECT_EQ(r.dns, Ipv4Address::Of(10, 0, 2, 3));
  EXPECT_TRUE(r.host_name == "host");
  EXPECT_TRUE(r.tftp_server == "10.0.2.4");  // its trailing NUL cut
  EXPECT_TRUE(r.boot_file == "boot/file");
  EXPECT_TRUE(r.server_name == "server-name");
  const net::DhcpLease lease = net::LeaseFrom(r);
  EXPECT_FALSE(lease.bootp);
  EXPECT_EQ(lease.boot_server, Ipv4Address::Of(10, 0, 2, 4));  // option 66 first
  EXPECT_STREQ(lease.boot_file, "boot/file");
  EXPECT_STREQ(lease.host_name, "host");
  EXPECT_STREQ(lease.tftp_server, "10.0.2.4");
  EXPECT_STREQ(lease.server_name, "server-name");
}

TEST(DhcpMessages, BootServerAndFileChoice) {
  // Option 67 before `file`; siaddr before a name in sname; the server identifier last.
  auto lease = [](const Bytes& options, uint8_t siaddr_last, const char* sname) {
    Bytes m = Reply(options);
    m[23] = siaddr_last;
    if (siaddr_last == 0) m[20] = m[21] = m[22] = 0;
    std::memset(&m[44], 0, 64);
    std::memcpy(&m[44], sname, std::strlen(sname));
    return net::LeaseFrom(ParseReply(m).value());
  };
  auto l1 = lease({67, 4, 'c', 'o', 'r', 'e', 66, 4, 't', 'f', 't', 'p'}, 2, "");
  EXPECT_STREQ(l1.boot_file, "core");
  EXPECT_EQ(l1.boot_server, kServerIp);  // 66 is a name (no DNS): siaddr
  auto l2 = lease({54, 4, 10, 0, 2, 7}, 0, "10.0.2.8");
  EXPECT_EQ(l2.boot_server, Ipv4Address::Of(10, 0, 2, 8));
  auto l3 = lease({54, 4, 10, 0, 2, 7}, 0, "tftp.example");
  EXPECT_EQ(l3.boot_server, Ipv4Address::Of(10, 0, 2, 7));
  auto l4 = lease({}, 0, "");
  EXPECT_TRUE(l4.boot_server.IsZero());
  EXPECT_TRUE(l4.bootp);
  EXPECT_EQ(l4.netmask, Ipv4Address::Of(255, 0, 0, 0));  // 10/8 without option 1
  // A long host name is cut, never overrun.
  Bytes name = {12, 200};
  name.insert(name.end(), 200, 'x');
  auto l5 = lease(name, 2, "");
  EXPECT_EQ(std::strlen(l5.host_name), sizeof(l5.host_name) - 1);
}

TEST(DhcpMessages, OverloadedFileAndSname) {
  Bytes m = Reply({52, 1, 3, 53, 1, 2, 255});
  std::memset(&m[44], 0, 64 + 128);
  const uint8_t in_file[] = {67, 5, 'v', 'm', 'l', 'i', 'n', 255};
  std::memcpy(&m[108], in_file, sizeof(in_file));
  const uint8_t in_sname[] = {0, 0, 54, 4, 10, 0, 2, 9, 255};
  std::memcpy(&m[44], in_sname, sizeof(in_sname));
  auto parsed = ParseReply(m);
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_TRUE(parsed.value().boot_file == "vmlin");
  EXPECT_EQ(parsed.value().server_id, Ipv4Address::Of(10, 0, 2, 9));
  EXPECT_TRUE(parsed.value().server_name.empty());  // sname holds options, not a name
  // Overload 1: only `file` holds options; sname is still a name.
  Bytes file_only = m;
  file_only[242] = 1;
  std::memcpy(&file_only[44], "name", 5);
  auto parsed1 = ParseReply(file_only);
  ASSERT_TRUE(parsed1.is_ok());
  EXPECT_TRUE(parsed1.value().server_name == "name");
  // An overload option inside an overloaded field, or a second one, is refused.
  Bytes nested = m;
  const uint8_t again[] = {52, 1, 1, 255};
  std::memcpy(&nested[108], again, sizeof(again));
  EXPECT_EQ(ParseReply(nested).error(), DropReason::kMalformed);
  EXPECT_EQ(ParseReply(Reply({52, 1, 1, 52, 1, 2})).error(), DropReason::kMalformed);
  EXPECT_EQ(ParseReply(Reply({52, 1, 4})).error(), DropReason::kMalformed);
  // An option running past the end of `file` is refused.
  Bytes past = m;
  past[108 + 126] = 12;
  past[108 + 127] = 9;
  past[108 + 7] = 0;  // the end option becomes padding
  EXPECT_EQ(ParseReply(past).error(), DropReason::kMalformed);
}

TEST(DhcpMessages, EveryMalformedReply) {
  EXPECT_TRUE(ParseReply(Reply({})).is_ok());
  EXPECT_TRUE(ParseReply(Reply({}, false)).is_ok());  // BOOTP without a vendor area
  EXPECT_TRUE(ParseReply(Reply({0, 0, 0})).is_ok());  // padding only, no end
  Bytes short_reply = Reply({});
  short_reply.resize(235);
  EXPECT_EQ(ParseReply(short_reply).error(), DropReason::kMalformed);
  Bytes request = Reply({});
  request[0] = 1;
  EXPECT_EQ(ParseReply(request).error(), DropReason::kNotForUs);
  Bytes other_xid = Reply({});
  other_xid[7] = 0x35;
  EXPECT_EQ(ParseReply(other_xid).error(), DropReason::kNotForUs);
  Bytes other_client = Reply({});
  other_client[33] ^= 1;
  EXPECT_EQ(ParseReply(other_client).error(), DropReason::kNotForUs);
  Bytes token_ring = Reply({});
  token_ring[1] = 6;
  EXPECT_EQ(ParseReply(token_ring).error(), DropReason::kMalformed);
  Bytes long_address = Reply({});
  long_address[2] = 16;
  EXPECT_EQ(ParseReply(long_address).error(), DropReason::kMalformed);
  // A wrong cookie: the vendor area is not options (a BOOTP vendor area, RFC 951).
  Bytes cookie = Reply({53, 1, 5});
  cookie[239] = 0;
  EXPECT_EQ(ParseReply(cookie).value().type, net::kDhcpNone);
  const Bytes bad_options[] = {
      {53},                      // no length
      {53, 2, 5},                // past the end
      {53, 2, 5, 5},             // a type of two bytes
      {53, 1, 0},                // type 0
      {53, 1, 9},                // type 9
      {1, 3, 255, 255, 255},     // a mask of three bytes
      {1, 4, 255, 0, 255, 0},    // a mask with a hole
      {3, 0},                    // no router
      {3, 6, 1, 2, 3, 4, 5, 6},  // a router and a half
      {6, 3, 1, 2, 3},           // a DNS server of 3 bytes
      {54, 5, 1, 2, 3, 4, 5},    // server id
      {12, 0},                   // empty host name
      {66, 1, 0},                // a name that is only its NUL
      {67, 0},                   // empty boot file
      {52, 0},                   // overload without a value
      {200, 10, 1, 2},           // an unknown option past the end
  };
  for (const Bytes& options : bad_options) {
    EXPECT_EQ(ParseReply(Reply(options)).error(), DropReason::kMalformed)
        << "option " << int{options[0]};
  }
  EXPECT_TRUE(ParseReply(Reply({200, 0, 201, 2, 1, 2})).is_ok());  // unknown ones skipped
  EXPECT_TRUE(ParseReply(Reply({1, 4, 0, 0, 0, 0})).is_ok());      // a zero mask is contiguous
}

TEST(DhcpMessages, WrittenRequests) {
  uint8_t out[300];
  net::DhcpRequestFields fields;
  fields.xid = 0xdeadbeef;
  fields.secs = 3;
  fields.mac = kClientMac;
  EXPECT_EQ(net::WriteDhcpRequest({out, 299}, fields), 0u);
  ASSERT_EQ(net::WriteDhcpRequest(out, fields), 300u);
  const Bytes discover(out, out + 300);
  EXPECT_EQ(discover[0], 1);
  EXPECT_EQ(discover[4], 0xde);
  EXPECT_EQ(discover[9], 3);
  EXPECT_EQ(discover[10], 0x80);  // BROADCAST
  EXPECT_EQ(std::memcmp(&discover[28], kClientMac.bytes, 6), 0);
  const Bytes expected_options = {99, 130, 83, 99, 53, 1, 1,  57, 2,  2,
                                  64, 55,  6,  1,  3,  6, 12, 66, 67, 255};
  EXPECT_EQ(Bytes(discover.begin() + 236, discover.begin() + 256), expected_options);
  EXPECT_EQ(discover[299], 0);
  fields.type = net::kDhcpRequest;
  fields.requested = kClientIp;
  fields.server = kServerIp;
  ASSERT_EQ(net::WriteDhcpRequest(out, fields), 300u);
  const Bytes request_options = {50, 4, 10, 0, 2, 15, 54, 4, 10, 0, 2, 2, 255};
  EXPECT_EQ(Bytes(out + 255, out + 268), request_options);
}

TEST(TftpPackets, Packets) {
  const Bytes data = {0, 3, 0xff, 0xfe, 'a', 'b'};
  auto parsed = net::ParseTftp(View(data));
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed.value().opcode, net::kTftpData);
  EXPECT_EQ(parsed.value().block, 0xfffe);
  EXPECT_EQ(parsed.value().data.size(), 2u);
  const Bytes error = {0, 5, 0, 1, 'n', 'o', 0, 'x', 'y'};
  EXPECT_EQ(net::ParseTftp(View(error)).value().data.size(), 2u);  // up to the NUL
  const Bytes unterminated = {0, 5, 0, 1, 'n', 'o'};
  EXPECT_EQ(net::ParseTftp(View(unterminated)).value().data.size(), 2u);
  EXPECT_EQ(net::ParseTftp(View(Bytes{0, 6})).value().data.size(), 0u);  // OACK of nothing
  for (const Bytes& bad : {Bytes{}, Bytes{0}, Bytes{0, 3, 0}, Bytes{0, 4, 1}, Bytes{0, 5, 0}}) {
    EXPECT_EQ(net::ParseTftp(View(bad)).error(), DropReason::kMalformed);
  }
  for (uint16_t opcode : {0, 1, 2, 7, 0x100}) {
    const Bytes other = {static_cast<uint8_t>(opcode >> 8), static_cast<uint8_t>(opcode), 0, 0};
    EXPECT_EQ(net::ParseTftp(View(other)).error(), DropReason::kUnsupported);
  }
}

lib::Result<net::TftpOptions, DropReason> Oack(const std::string& options, uint16_t block = 1468,
                                               bool size = true) {
  const Bytes bytes(options.begin(), options.end());
  return net::ParseOack(View(bytes), block, size);
}

TEST(TftpPackets, OackOptions) {
  using namespace std::string_literals;
  auto both = Oack(
      "blksize\0"s
      "1024\0"s
      "tsize\0"s
      "123456\0"s);
  ASSERT_TRUE(both.is_ok());
  EXPECT_EQ(both.value().block_size, 1024);
  EXPECT_TRUE(both.value().has_size);
  EXPECT_EQ(both.value().size, 123456u);
  EXPECT_EQ(Oack("BlkSize\0"s
                 "8\0"s)
                .value()
                .block_size,
            8);                                  // names in any case
  EXPECT_EQ(Oack(""s).value().block_size, 512);  // nothing acknowledged
  EXPECT_EQ(Oack("tsize\0"s
                 "18446744073709551615\0"s)
                .value()
                .size,
            ~uint64_t{0});
  const std::string bad[] = {
      "blksize\0"s
      "1469\0"s,  // more than asked
      "blksize\0"s
      "7\0"s,  // under 8
      "blksize\0"s
      "\0"s,  // empty value
      "blksize\0"s
      "1o24\0"s,  // not a number
      "blksize\0"s
      "1024"s,     // no NUL
      "blksize"s,  // no value
      "timeout\0"s
      "5\0"s,  // not asked for
      "tsize\0"s
      "18446744073709551616\0"s,  // over 64 bits
      "tsize\0"s
      "-1\0"s,
  };
  for (const std::string& options : bad) {
    EXPECT_EQ(Oack(options).error(), DropReason::kMalformed) << options;
  }
  EXPECT_EQ(Oack("blksize\0"s
                 "512\0"s,
                 0)
                .error(),
            DropReason::kMalformed);  // not asked
  EXPECT_EQ(Oack("tsize\0"s
                 "5\0"s,
                 1468, false)
                .error(),
            DropReason::kMalformed);
}

TEST(TftpPackets, WrittenPackets) {
  uint8_t out[64];
  const uint32_t length = net::WriteTftpRrq(out, "a/b", 1468, true);
  const std::string expected(
      "\0\1a/b\0octet\0blksize\0"
      "1468\0tsize\0"
      "0\0",
      33);
  ASSERT_EQ(length, expected.size());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), length), expected);
  EXPECT_EQ(net::WriteTftpRrq(out, "a/b", 0, false), 12u);
  EXPECT_EQ(net::WriteTftpRrq({out, 30}, "a/b", 1468, true), 0u);  // does not fit
  EXPECT_EQ(net::WriteTftpAck(out, 0xabcd), 4u);
  EXPECT_EQ(out[2], 0xab);
  EXPECT_EQ(net::WriteTftpError(out, 3, "full"), 9u);
  EXPECT_EQ(out[8], 0);
  EXPECT_EQ(net::WriteTftpError({out, 8}, 3, "full"), 0u);
}

}  // namespace
