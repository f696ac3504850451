#include "tests/unit/net/fake-network.h"

#include <algorithm>
#include <cstring>

#include "lib/cpu.h"
#include "tests/host-cpu.h"

namespace tests {
namespace {

uint16_t Be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void Put16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void Put32(Bytes& out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v));
}
void PutMac(Bytes& out, const net::MacAddress& mac) {
  out.insert(out.end(), mac.bytes, mac.bytes + 6);
}
void PutString(Bytes& out, const std::string& s) {
  out.insert(out.end(), s.begin(), s.end());
  out.push_back(0);
}

// The IPv4 address of a DHCP option value of 4 bytes, or 0.
uint32_t FindOption(const Bytes& message, uint8_t code, Bytes* value = nullptr) {
  for (size_t at = 240; at < message.size();) {
    const uint8_t c = message[at];
    if (c == 0) {
      ++at;
      continue;
    }
    if (c == 255 || at + 1 >= message.size()) break;
    const uint8_t length = message[at + 1];
    if (at + 2 + length > message.size()) break;
    if (c == code) {
      if (value != nullptr)
        value->assign(message.begin() + at + 2, message.begin() + at + 2 + length);
      return length == 4 ? Be32(&message[at + 2]) : length == 1 ? message[at + 2] : 1;
    }
    at += 2 + length;
  }
  return 0;
}

}  // namespace

uint16_t Checksum(const uint8_t* bytes, size_t size, uint32_t sum) {
  for (size_t i = 0; i < size; i += 2) {
    sum += static_cast<uint32_t>(bytes[i] << 8 | (i + 1 < size ? bytes[i + 1] : 0));
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

Bytes EthernetFrame(const net::MacAddress& to, const net::MacAddress& from, uint16_t type,
                    const Bytes& payload) {
  Bytes frame;
  frame.reserve(14 + std::max<size_t>(payload.size(), 46));
  PutMac(frame, to);
  PutMac(frame, from);
  Put16(frame, type);
  frame.insert(frame.end(), payload.begin(), payload.end());
  if (frame.size() < 60) frame.resize(60);
  return frame;
}

Bytes Ipv4Packet(net::Ipv4Address from, net::Ipv4Address to, uint8_t protocol,
                 const Bytes& payload) {
  Bytes packet = {0x45, 0};
  packet.reserve(20 + payload.size());
  Put16(packet, static_cast<uint16_t>(20 + payload.size()));
  Put16(packet, 0x1234);
  Put16(packet, 0x4000);  // DF
  packet.push_back(64);
  packet.push_back(protocol);
  Put16(packet, 0);
  Put32(packet, from.value);
  Put32(packet, to.value);
  const uint16_t sum = Checksum(packet.data(), 20);
  packet[10] = static_cast<uint8_t>(sum >> 8);
  packet[11] = static_cast<uint8_t>(sum);
  packet.insert(packet.end(), payload.begin(), payload.end());
  return packet;
}

Bytes UdpDatagram(net::Ipv4Address from, net::Ipv4Address to, uint16_t from_port, uint16_t to_port,
                  const Bytes& payload) {
  Bytes datagram;
  datagram.reserve(8 + payload.size());
  Put16(datagram, from_port);
  Put16(datagram, to_port);
  Put16(datagram, static_cast<uint16_t>(8 + payload.size()));
  Put16(datagram, 0);
  datagram.insert(datagram.end(), payload.begin(), payload.end());
  Bytes pseudo;
  Put32(pseudo, from.value);
  Put32(pseudo, to.value);
  Put16(pseudo, 17);
  Put16(pseudo, static_cast<uint16_t>(datagram.size()));
  uint32_t sum = static_cast<uint16_t>(~Checksum(pseudo.data(), pseudo.size()));
  uint16_t checksum = Checksum(datagram.data(), datagram.size(), sum);
  if (checksum == 0) checksum = 0xffff;
  datagram[6] = static_cast<uint8_t>(checksum >> 8);
  datagram[7] = static_cast<uint8_t>(checksum);
  return datagram;
}

Bytes UdpFrame(const net::MacAddress& to, const net::MacAddress& from, net::Ipv4Address from_ip,
               net::Ipv4Address to_ip, uint16_t from_port, uint16_t to_port, const Bytes& payload) {
  return EthernetFrame(
      to, from, 0x0800,
      Ipv4Packet(from_ip, to_ip, 17, UdpDatagram(from_ip, to_ip, from_port, to_port, payload)));
}

Bytes ArpFrame(uint16_t operation, const net::MacAddress& sender_mac, net::Ipv4Address sender_ip,
               const net::MacAddress& target_mac, net::Ipv4Address target_ip,
               const net::MacAddress& to) {
  Bytes arp = {0, 1, 8, 0, 6, 4};
  Put16(arp, operation);
  PutMac(arp, sender_mac);
  Put32(arp, sender_ip.value);
  PutMac(arp, target_mac);
  Put32(arp, target_ip.value);
  return EthernetFrame(to, sender_mac, 0x0806, arp);
}

void ResetClock(uint64_t start) {
  SetTimebase(start);
  SetTimebaseStep(kTicksPerUs);
}

uint64_t Now() {
  return lib::ReadTimebase();
}

FakeNetwork::FakeNetwork() {
  device.mac = kClientMac;
  device.max_frame = net::kEthernetFrameSize;
  device.send = Send;
  device.receive = Receive;
  device.driver = this;
}

void FakeNetwork::Inject(const Bytes& frame, uint64_t delay) {
  queue_.push_back(Pending{Now() + delay, order_++, frame});
}

lib::Result<uint32_t, net::DeviceError> FakeNetwork::Receive(void* driver, uint8_t* buffer,
                                                             uint32_t capacity) {
  auto* net = static_cast<FakeNetwork*>(driver);
  const uint64_t now = Now();
  auto first = std::min_element(net->queue_.begin(), net->queue_.end(),
                                [](const Pending& a, const Pending& b) {
                                  return a.due != b.due ? a.due < b.due : a.order < b.order;
                                });
  if (first == net->queue_.end() || first->due > now) {
    // Nothing due: the time a polling loop would spin until the next arrival (at most 1 ms).
    const uint64_t next =
        first == net->queue_.end() ? now + kTicksPerMs : std::min(first->due, now + kTicksPerMs);
    SetTimebase(next);
    return uint32_t{0};
  }
  Bytes frame = std::move(first->bytes);
  net->queue_.erase(first);
  // Longer than the buffer: dropped, as the contract says; empty: nothing (a test's own frame).
  if (frame.size() > capacity || frame.empty()) return uint32_t{0};
  std::memcpy(buffer, frame.data(), frame.size());
  ++net->received_by_firmware;
  return static_cast<uint32_t>(frame.size());
}

lib::Result<void, net::DeviceError> FakeNetwork::Send(void* driver, const net::Frame& frame) {
  auto* net = static_cast<FakeNetwork*>(driver);
  if (reinterpret_cast<uintptr_t>(frame.bytes) != frame.address) {
    net->violations.push_back("frame address is not the frame's real address");
  }
  SentFrame sent;
  sent.bytes.assign(frame.bytes, frame.bytes + frame.length);
  sent.time = Now();
  net->FromClient(std::move(sent));
  return lib::Ok<net::DeviceError>();
}

// Parses and checks a frame of the firmware's, then hands it to the server it is for.
void FakeNetwork::FromClient(SentFrame frame) {
  const Bytes& b = frame.bytes;
  if (b.size() < 60 || b.size() > 1514) violations.push_back("frame length out of range");
  if (b.size() < 14) return;
  if (!std::equal(b.begin() + 6, b.begin() + 12, kClientMac.bytes)) {
    violations.push_back("source MAC is not the device's");
  }
  frame.type = Be16(&b[12]);
  if (frame.type == 0x0806 && b.size() >= 42) {
    frame.arp_operation = Be16(&b[20]);
    frame.arp_target = net::Ipv4Address{Be32(&b[38])};
  } else if (frame.type == 0x0800 && b.size() >= 42) {
    const uint8_t* ip = &b[14];
    const uint16_t total = Be16(ip + 2);
    if (ip[0] != 0x45 || Checksum(ip, 20) != 0 || total + 14u > b.size() ||
        (Be16(ip + 6) & 0x3fff)) {
      violations.push_back("bad IPv4 header");
    }
    frame.source = net::Ipv4Address{Be32(ip + 12)};
    frame.destination = net::Ipv4Address{Be32(ip + 16)};
    const uint8_t* udp = ip + 20;
    const uint16_t length = Be16(udp + 4);
    Bytes pseudo;
    Put32(pseudo, frame.source.value);
    Put32(pseudo, frame.destination.value);
    Put16(pseudo, 17);
    Put16(pseudo, length);
    const uint32_t sum = static_cast<uint16_t>(~Checksum(pseudo.data(), pseudo.size()));
    if (length + 20u != total || Be16(udp + 6) == 0 || Checksum(udp, length, sum) != 0) {
      violations.push_back("bad UDP datagram");
    }
    frame.source_port = Be16(udp);
    frame.port = Be16(udp + 2);
    frame.payload.assign(udp + 8, udp + std::min<size_t>(length, b.size() - 34));
  }
  sent.push_back(frame);
  if (client_fault && !client_fault(frame, client_frames_++)) return;
  if (frame.type == 0x0806) AnswerArp(frame);
  if (frame.type == 0x0800 && frame.port == 67) AnswerDhcp(frame);
  if (frame.type == 0x0800 && (frame.port == 69 || frame.port == tftp.port)) AnswerTftp(frame);
}

void FakeNetwork::ServerSends(const Bytes& frame) {
  SentFrame parsed;
  parsed.bytes = frame;
  std::vector<uint64_t> delays = {0};
  if (fault) delays = fault(parsed, server_frames_);
  ++server_frames_;
  for (uint64_t delay : delays) Inject(frame, 2 * latency + delay);  // there and back
}

void FakeNetwork::AnswerArp(const SentFrame& frame) {
  if (!answer_arp || frame.arp_operation != 1) return;
  const net::MacAddress& mac = frame.arp_target == kServerIp   ? kServerMac
                               : frame.arp_target == kRouterIp ? kRouterMac
                                                               : net::MacAddress{};
  if (mac.IsZero()) return;
  const net::Ipv4Address sender{Be32(&frame.bytes[28])};
  ServerSends(ArpFrame(2, mac, frame.arp_target, kClientMac, sender, kClientMac));
}

void FakeNetwork::AnswerDhcp(const SentFrame& frame) {
  const Bytes& m = frame.payload;
  if (m.size() < 240 || m[0] != 1) return violations.push_back("bad DHCP request");
  if (m.size() < 300) violations.push_back("DHCP request shorter than a BOOTREQUEST");
  if (!(Be16(&m[10]) & 0x8000)) violations.push_back("DHCP request without BROADCAST");
  if (frame.destination != net::Ipv4Address::Broadcast() || frame.source_port != 68) {
    violations.push_back("DHCP request not broadcast from port 68");
  }
  const uint32_t type = FindOption(m, 53);
  if (type == 1) ++dhcp.discovers;
  if (type == 3) {
    ++dhcp.requests;
    if (FindOption(m, 50) != dhcp.offer.value || FindOption(m, 54) != dhcp.server.value) {
      violations.push_back("REQUEST without the offered address and the server");
    }
  }
  if (dhcp.mode == DhcpServer::Mode::kSilent || (type != 1 && type != 3)) return;
  if (dhcp.mode == DhcpServer::Mode::kBootp && type != 1) return;
  Bytes reply(236, 0);
  reply[0] = 2;
  reply[1] = 1;
  reply[2] = 6;
  std::copy(m.begin() + 4, m.begin() + 12, reply.begin() + 4);  // xid, secs, flags
  const bool nak = type == 3 && dhcp.naks > 0;
  if (nak) --dhcp.naks;
  for (int i = 0; i < 4 && !nak; ++i) {
    reply[16 + i] = static_cast<uint8_t>(dhcp.offer.value >> (24 - 8 * i));
    reply[20 + i] = static_cast<uint8_t>(dhcp.siaddr.value >> (24 - 8 * i));
  }
  std::copy(m.begin() + 28, m.begin() + 44, reply.begin() + 28);  // chaddr
  std::copy(dhcp.sname.begin(), dhcp.sname.end(), reply.begin() + 44);
  std::copy(dhcp.boot_file.begin(), dhcp.boot_file.end(), reply.begin() + 108);
  Bytes options = {99, 130, 83, 99};
  if (dhcp.mode == DhcpServer::Mode::kDhcp) {
    options.insert(options.end(), {53, 1, static_cast<uint8_t>(nak ? 6 : type == 1 ? 2 : 5)});
    options.insert(options.end(), {54, 4});
    Put32(options, dhcp.server.value);
  }
  if (!nak) {
    if (dhcp.send_mask) options.insert(options.end(), {1, 4, 255, 255, 255, 0});
    if (dhcp.send_router) options.insert(options.end(), {3, 4, 10, 0, 2, 2});
    options.insert(options.end(), {6, 4, 10, 0, 2, 3});
    auto add_string = [&](uint8_t code, const std::string& s) {
      if (s.empty()) return;
      options.push_back(code);
      options.push_back(static_cast<uint8_t>(s.size()));
      options.insert(options.end(), s.begin(), s.end());
    };
    add_string(12, dhcp.host_name);
    add_string(66, dhcp.tftp_server_option);
    add_string(67, dhcp.boot_file_option);
    options.insert(options.end(), dhcp.extra_options.begin(), dhcp.extra_options.end());
  }
  options.push_back(255);
  reply.insert(reply.end(), options.begin(), options.end());
  if (reply.size() < 300) reply.resize(300);
  ServerSends(UdpFrame(net::MacAddress::Broadcast(), kServerMac, dhcp.server,
                       net::Ipv4Address::Broadcast(), 67, 68, reply));
}

void FakeNetwork::SendTftpError(uint16_t code, const std::string& message, uint16_t to_port) {
  Bytes packet;
  Put16(packet, 5);
  Put16(packet, code);
  PutString(packet, message);
  ServerSends(UdpFrame(kClientMac, kServerMac, kServerIp, tftp.client, tftp.port, to_port, packet));
}

// DATA block `next_block` (counted from 1) of the current file.
void FakeNetwork::SendTftpBlock() {
  const Bytes& file = tftp.files[tftp.file];
  const uint64_t count = tftp.next_block;
  if (tftp.error_at_block >= 0 && count == static_cast<uint64_t>(tftp.error_at_block)) {
    tftp.active = false;
    return SendTftpError(tftp.error_code, tftp.error_message, tftp.client_port);
  }
  if (tftp.stop_after >= 0 && tftp.data_sent >= tftp.stop_after) return;
  const uint64_t start = (count - 1) * tftp.block_size;
  const uint64_t size =
      std::min<uint64_t>(tftp.block_size, file.size() - std::min(start, file.size()));
  const uint16_t number = tftp.wrap_to_one ? static_cast<uint16_t>((count - 1) % 65535 + 1)
                                           : static_cast<uint16_t>(count);
  Bytes packet;
  Put16(packet, 3);
  Put16(packet, number);
  packet.insert(packet.end(), file.begin() + start, file.begin() + start + size);
  ++tftp.data_sent;
  ServerSends(UdpFrame(kClientMac, kServerMac, kServerIp, tftp.client, tftp.port, tftp.client_port,
                       packet));
}

void FakeNetwork::AnswerTftp(const SentFrame& frame) {
  const Bytes& p = frame.payload;
  if (tftp.silent || p.size() < 2) return;
  const uint16_t opcode = Be16(&p[0]);
  if (frame.port == 69 && opcode == 1) {
    ++tftp.rrqs;
    std::vector<std::string> strings;
    std::string current;
    for (size_t i = 2; i < p.size(); ++i) {
      if (p[i] == 0) {
        strings.push_back(current);
        current.clear();
      } else {
        current.push_back(static_cast<char>(p[i]));
      }
    }
    if (!current.empty() || strings.size() < 2 || strings[1] != "octet" || strings.size() % 2) {
      violations.push_back("malformed RRQ");
    }
    tftp.client = frame.source;
    tftp.client_port = frame.source_port;
    tftp.file = strings.empty() ? "" : strings[0];
    tftp.options_seen.clear();
    uint32_t asked_block = 0;
    bool asked_size = false;
    for (size_t i = 2; i + 1 < strings.size(); i += 2) {
      tftp.options_seen.push_back(strings[i] + "=" + strings[i + 1]);
      if (strings[i] == "blksize") asked_block = static_cast<uint32_t>(std::stoul(strings[i + 1]));
      if (strings[i] == "tsize") asked_size = true;
    }
    auto found = tftp.files.find(tftp.file);
    if (found == tftp.files.end())
      return SendTftpError(1, tftp.not_found_message, frame.source_port);
    const bool any = asked_block != 0 || asked_size;
    if (any && tftp.refuse_options) return SendTftpError(8, "no options", frame.source_port);
    tftp.active = true;
    tftp.block_size = 512;
    if (tftp.options && any) {
      Bytes oack;
      Put16(oack, 6);
      if (asked_block != 0) {
        tftp.block_size = std::min<uint32_t>(asked_block, tftp.max_block_size);
        PutString(oack, "blksize");
        PutString(oack, std::to_string(tftp.block_size));
      }
      if (asked_size) {
        PutString(oack, "tsize");
        PutString(oack, std::to_string(found->second.size()));
      }
      tftp.next_block = 0;
      return ServerSends(UdpFrame(kClientMac, kServerMac, kServerIp, tftp.client, tftp.port,
                                  tftp.client_port, oack));
    }
    tftp.next_block = 1;
    return SendTftpBlock();
  }
  if (frame.port != tftp.port) return;
  if (opcode == 5) {
    ++tftp.errors_received;
    tftp.last_error_code = p.size() >= 4 ? Be16(&p[2]) : 0;
    tftp.active = false;
    return;
  }
  if (opcode != 4 || p.size() < 4 || !tftp.active || frame.source_port != tftp.client_port) return;
  // The ACK of the last block sent releases the next; the ACK of the one before gets the last
  // block again (QEMU's slirp answers every ACK n with block n + 1).
  const uint16_t acked = Be16(&p[2]);
  const Bytes& file = tftp.files[tftp.file];
  auto number = [&](uint64_t count) {
    return tftp.wrap_to_one && count != 0 ? static_cast<uint16_t>((count - 1) % 65535 + 1)
                                          : static_cast<uint16_t>(count);
  };
  const uint64_t sent_count = tftp.next_block;
  if (acked == number(sent_count)) {
    if (sent_count != 0 && sent_count * tftp.block_size > file.size()) {
      tftp.active = false;  // the final block is acknowledged
      return;
    }
    tftp.next_block = sent_count + 1;
    return SendTftpBlock();
  }
  if (sent_count >= 1 && acked == number(sent_count - 1)) SendTftpBlock();
}

}  // namespace tests
