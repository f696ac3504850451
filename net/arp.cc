#include "net/arp.h"

#include "net/ethernet.h"

namespace net {

lib::Result<ArpMessage, DropReason> ParseArp(lib::Span<const uint8_t> payload) {
  if (payload.size() < kArpPacketSize) return lib::Err(DropReason::kMalformed);
  const auto packet = lib::LoadWire<ArpPacket>(payload.data());
  if (packet.hardware_type.value() != 1 || packet.protocol_type.value() != kEtherTypeIpv4 ||
      packet.hardware_length != 6 || packet.protocol_length != 4) {
    return lib::Err(DropReason::kUnsupported);
  }
  ArpMessage message;
  message.operation = packet.operation.value();
  if (message.operation != kArpRequest && message.operation != kArpReply) {
    return lib::Err(DropReason::kUnsupported);
  }
  message.sender_mac = packet.sender_mac;
  if (message.sender_mac.IsGroup()) return lib::Err(DropReason::kMalformed);
  message.sender_ip = Ipv4Address{packet.sender_ip.value()};
  message.target_mac = packet.target_mac;
  message.target_ip = Ipv4Address{packet.target_ip.value()};
  return message;
}

void WriteArp(uint8_t* out, const ArpMessage& message) {
  ArpPacket packet;
  packet.hardware_type = lib::UBe16(1);
  packet.protocol_type = lib::UBe16(kEtherTypeIpv4);
  packet.hardware_length = 6;
  packet.protocol_length = 4;
  packet.operation = lib::UBe16(message.operation);
  packet.sender_mac = message.sender_mac;
  packet.sender_ip = lib::UBe32(message.sender_ip.value);
  packet.target_mac = message.target_mac;
  packet.target_ip = lib::UBe32(message.target_ip.value);
  lib::StoreWire(out, packet);
}

bool ArpCache::Find(Ipv4Address ip, MacAddress& mac) const {
  for (const Entry& entry : entries_) {
    if (entry.used && entry.ip == ip) {
      mac = entry.mac;
      return true;
    }
  }
  return false;
}

bool ArpCache::Update(Ipv4Address ip, const MacAddress& mac) {
  for (Entry& entry : entries_) {
    if (entry.used && entry.ip == ip) {
      entry.mac = mac;
      return true;
    }
  }
  return false;
}

void ArpCache::Insert(Ipv4Address ip, const MacAddress& mac) {
  if (Update(ip, mac)) return;
  entries_[next_] = Entry{ip, mac, true};
  next_ = (next_ + 1) % kEntries;
}

void ArpCache::Clear() {
  for (Entry& entry : entries_) entry = Entry{};
  next_ = 0;
}

}  // namespace net
