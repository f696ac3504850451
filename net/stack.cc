#include "net/stack.h"

#include "lib/string.h"
#include "net/ethernet.h"

namespace net {

lib::Result<void, StackError> Stack::Start(const Device& device, const Buffer& tx,
                                           lib::Span<uint8_t> rx, uint64_t timebase_frequency) {
  device_ = nullptr;
  if (device.send == nullptr || device.receive == nullptr ||
      CheckDevice(device.mac, device.max_frame).is_error()) {
    return lib::Err(StackError::kBadDevice);
  }
  if (tx.host == nullptr || tx.size < kArpRoom + kMinMaxFrame || rx.size() < kMinMaxFrame) {
    return lib::Err(StackError::kBufferTooSmall);
  }
  if (timebase_frequency < lib::kMinTimebaseFrequency ||
      timebase_frequency > lib::kMaxTimebaseFrequency) {
    return lib::Err(StackError::kBadFrequency);
  }
  device_ = &device;
  tx_ = tx;
  rx_ = rx;
  frame_limit_ = lib::Min(device.max_frame, tx.size - kArpRoom);
  if (rx.size() < frame_limit_) frame_limit_ = static_cast<uint32_t>(rx.size());
  frequency_ = timebase_frequency;
  config_ = Ipv4Config{};
  arp_.Clear();
  stats_ = StackStats{};
  random_ = lib::ReadTimebase() | 1;
  for (uint8_t byte : device.mac.bytes) random_ = random_ * 0x100000001b3 ^ byte;
  if (random_ == 0) random_ = 1;
  identification_ = static_cast<uint16_t>(Random());
  return lib::Ok<StackError>();
}

uint32_t Stack::Random() {
  random_ ^= random_ << 13;
  random_ ^= random_ >> 7;
  random_ ^= random_ << 17;
  return static_cast<uint32_t>(random_ >> 16);
}

lib::Deadline Stack::AfterMilliseconds(uint64_t milliseconds) const {
  return lib::Deadline::After(lib::MillisecondsToTicks(milliseconds, frequency_));
}

bool Stack::OnLink(Ipv4Address address) const {
  return ((address.value ^ config_.address.value) & config_.netmask.value) == 0;
}

bool Stack::IsSubnetBroadcast(Ipv4Address address) const {
  return !config_.address.IsZero() && OnLink(address) &&
         (address.value | config_.netmask.value) == 0xffffffff;
}

bool Stack::Accepts(Ipv4Address destination) const {
  // Before DHCP has finished, a server may send to the address it offers [RFC 2131 4.1].
  if (config_.address.IsZero()) return !destination.IsMulticast();
  return destination == config_.address || destination.IsBroadcast() ||
         IsSubnetBroadcast(destination);
}

lib::Result<bool, StackError> Stack::Poll(uint16_t port, Datagram& datagram) {
  if (device_ == nullptr) return lib::Err(StackError::kNotStarted);
  auto received = device_->Receive(rx_.data(), frame_limit_);
  if (received.is_error()) {
    last_device_error_ = received.error();
    return lib::Err(StackError::kDevice);
  }
  if (received.value() == 0) return false;
  ++stats_.frames_received;
  auto handled = Handle({rx_.data(), received.value()}, port, datagram);
  if (handled.is_error()) {
    ++stats_.dropped[static_cast<int>(handled.error())];
    return false;
  }
  return handled.value();
}

lib::Result<bool, DropReason> Stack::Handle(lib::Span<const uint8_t> frame, uint16_t port,
                                            Datagram& datagram) {
  auto ethernet = ParseEthernet(frame, device_->mac);
  if (ethernet.is_error()) return lib::Err(ethernet.error());
  if (ethernet.value().header.type.value() == kEtherTypeArp) {
    TERN_TRY(HandleArp(ethernet.value().payload));
    return false;
  }
  auto ip = ParseIpv4(ethernet.value().payload);
  if (ip.is_error()) return lib::Err(ip.error());
  if (!Accepts(ip.value().destination)) return lib::Err(DropReason::kNotForUs);
  if (ip.value().protocol != kIpProtocolUdp) return lib::Err(DropReason::kUnsupported);
  auto udp = ParseUdp(ip.value());
  if (udp.is_error()) return lib::Err(udp.error());
  if (port == 0 || udp.value().destination_port != port) return lib::Err(DropReason::kNotForUs);
  datagram.source_mac = ethernet.value().header.source;
  datagram.source = ip.value().source;
  datagram.destination = ip.value().destination;
  datagram.source_port = udp.value().source_port;
  datagram.port = port;
  datagram.payload = udp.value().payload;
  return true;
}

// RFC 826, "Packet Reception": update a known sender; if the target is us, add the sender and
// answer a request.
lib::Result<void, DropReason> Stack::HandleArp(lib::Span<const uint8_t> payload) {
  auto parsed = ParseArp(payload);
  if (parsed.is_error()) return lib::Err(parsed.error());
  const ArpMessage& message = parsed.value();
  const bool sender_usable = !message.sender_ip.IsZero() && !message.sender_ip.IsBroadcast() &&
                             !message.sender_ip.IsMulticast();
  const bool merged = sender_usable && arp_.Update(message.sender_ip, message.sender_mac);
  if (config_.address.IsZero() || message.target_ip != config_.address) {
    return merged ? lib::Ok<DropReason>() : lib::Err(DropReason::kNotForUs);
  }
  if (sender_usable && !merged) arp_.Insert(message.sender_ip, message.sender_mac);
  if (message.operation == kArpRequest) {
    // A device failure here shows again on the exchange's own next send or poll.
    if (SendArp(kArpReply, message.sender_mac, message.sender_mac, message.sender_ip).is_ok()) {
      ++stats_.arp_answered;
    }
  }
  return lib::Ok<DropReason>();
}

lib::Result<void, StackError> Stack::SendArp(uint16_t operation, const MacAddress& to,
                                             const MacAddress& target_mac, Ipv4Address target_ip) {
  uint8_t* frame = tx_.host;
  WriteEthernetHeader(frame, to, device_->mac, kEtherTypeArp);
  ArpMessage message;
  message.operation = operation;
  message.sender_mac = device_->mac;
  message.sender_ip = config_.address;
  message.target_mac = target_mac;
  message.target_ip = target_ip;
  WriteArp(frame + kEthernetHeaderSize, message);
  return SendFrame(0, kEthernetHeaderSize + kArpPacketSize);
}

lib::Result<void, StackError> Stack::SendFrame(uint32_t offset, uint32_t length) {
  if (length < kMinFrameSize) {
    lib::MemSet(tx_.host + offset + length, 0, kMinFrameSize - length);
    length = kMinFrameSize;
  }
  const Frame frame{tx_.host + offset, tx_.address + offset, length};
  auto sent = device_->Send(frame);
  if (sent.is_error()) {
    if (sent.error() == DeviceError::kBusy) {
      ++stats_.send_busy;  // lost, as on a wire: the exchange retransmits
      return lib::Ok<StackError>();
    }
    last_device_error_ = sent.error();
    return lib::Err(StackError::kDevice);
  }
  ++stats_.frames_sent;
  return lib::Ok<StackError>();
}

lib::Result<MacAddress, StackError> Stack::Resolve(Ipv4Address destination) {
  if (device_ == nullptr) return lib::Err(StackError::kNotStarted);
  if (destination.IsBroadcast() || IsSubnetBroadcast(destination)) return MacAddress::Broadcast();
  if (config_.address.IsZero()) return lib::Err(StackError::kNotConfigured);
  if (destination.IsZero() || destination.IsMulticast()) return lib::Err(StackError::kNoRoute);
  Ipv4Address next_hop = destination;
  if (!OnLink(destination)) {
    if (config_.router.IsZero()) return lib::Err(StackError::kNoRoute);
    next_hop = config_.router;
  }
  MacAddress mac;
  if (arp_.Find(next_hop, mac)) return mac;
  for (int attempt = 0; attempt < kArpTries; ++attempt) {
    TERN_TRY(SendArp(kArpRequest, MacAddress::Broadcast(), MacAddress{}, next_hop));
    ++stats_.arp_requests;
    const lib::Deadline deadline = AfterMilliseconds(kArpIntervalMs);
    while (!deadline.Passed()) {
      Datagram ignored;
      TERN_TRY(Poll(0, ignored));
      if (arp_.Find(next_hop, mac)) return mac;
    }
  }
  return lib::Err(StackError::kNoArpAnswer);
}

lib::Span<uint8_t> Stack::UdpPayload() const {
  if (device_ == nullptr) return {};
  return {tx_.host + kArpRoom + kUdpOverhead, max_udp_payload()};
}

lib::Result<void, StackError> Stack::SendUdp(Ipv4Address destination, uint16_t source_port,
                                             uint16_t destination_port, uint32_t length) {
  if (device_ == nullptr) return lib::Err(StackError::kNotStarted);
  if (length > max_udp_payload()) return lib::Err(StackError::kTooLarge);
  auto mac = Resolve(destination);
  if (mac.is_error()) return lib::Err(mac.error());
  uint8_t* frame = tx_.host + kArpRoom;
  const uint16_t udp_length = static_cast<uint16_t>(kUdpHeaderSize + length);
  WriteUdpHeader(frame + kEthernetHeaderSize + kIpv4HeaderSize, config_.address, destination,
                 source_port, destination_port, static_cast<uint16_t>(length));
  WriteIpv4Header(frame + kEthernetHeaderSize, config_.address, destination, kIpProtocolUdp,
                  udp_length, identification_++);
  WriteEthernetHeader(frame, mac.value(), device_->mac, kEtherTypeIpv4);
  return SendFrame(kArpRoom, kUdpOverhead + length);
}

}  // namespace net
